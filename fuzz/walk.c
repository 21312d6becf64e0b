/* Hostile-ring walkers (see walk.h). */
#include <string.h>

#include "walk.h"

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c))                                               \
			return #c;                                      \
	} while (0)

const char *walk_tx_ring(struct netif_tx_back_ring *r, struct walk_tx *out)
{
	struct sn_txpkt pkt;

	memset(out, 0, sizeof(*out));
	for (;; out->iters++) {
		RING_IDX p = sn_tx_back_req_prod(r);
		unsigned int avail = sn_tx_back_unconsumed(r, p);
		RING_IDX before = r->req_cons;

		/* Every iteration consumes >= 1 slot and at most a ring's
		 * worth is ever outstanding: no spin (XSA-39). */
		CHECK(out->iters <= RING_SIZE(r));
		if (sn_txreq_parse_ring(r, p, &pkt) == -EAGAIN) {
			CHECK(avail == 0);
			return NULL;
		}
		if (pkt.verdict == SN_TXREQ_FATAL) {
			/* Rogue: nothing consumed, nothing answered. */
			CHECK(r->req_cons == before);
			CHECK(r->rsp_prod_pvt == before);
			out->fatal = true;
			out->reason = pkt.reason;
			return NULL;
		}
		CHECK(!sn_tx_back_prod_overflow(r, p));
		CHECK(pkt.cons == before);
		CHECK(pkt.nr_slots >= 1 && pkt.nr_slots <= avail);
		CHECK(pkt.nr_data >= 1 && pkt.nr_data <= SN_TX_MAX_DATA_SLOTS);
		CHECK(pkt.nr_data + pkt.nr_extras == pkt.nr_slots ||
		      sn_txpkt_is_mcast(&pkt));
		if (pkt.verdict == SN_TXREQ_OK && !sn_txpkt_is_mcast(&pkt)) {
			uint32_t sum = 0;

			CHECK(pkt.slot[0].size >= SN_ETH_HLEN);
			CHECK(pkt.nr_data <= 1 + SN_TX_LEGACY_SLOTS_MAX);
			for (unsigned int k = 0; k < pkt.nr_data; k++) {
				CHECK((uint32_t)pkt.slot[k].offset +
				      pkt.slot[k].size <= SN_PAGE_SIZE);
				sum += pkt.slot[k].size;
			}
			CHECK(sum == pkt.total_len);
			for (unsigned int k = 0; k < pkt.nr_data; k++)
				sn_txpkt_respond_slot(r, &pkt, k, NETIF_RSP_OKAY);
			sn_txpkt_respond_extras(r, &pkt);
			out->ok++;
		} else {
			sn_txpkt_respond_all(r, &pkt,
					     pkt.verdict == SN_TXREQ_OK ?
					     NETIF_RSP_OKAY : NETIF_RSP_ERROR);
			out->dropped += pkt.verdict != SN_TXREQ_OK;
			out->ok += pkt.verdict == SN_TXREQ_OK;
		}
		r->req_cons += pkt.nr_slots;
		out->slots += pkt.nr_slots;
		/* One response per consumed slot, each written whole: the
		 * bytes after the 4-byte response are zero (XSA-216). */
		CHECK(r->rsp_prod_pvt == r->req_cons);
		for (RING_IDX i = before; i != r->req_cons; i++) {
			const uint8_t *slot = sn_tx_slot(r->sring, r->nr_ents, i);

			for (size_t b = sizeof(struct netif_tx_response);
			     b < sizeof(union netif_tx_sring_entry); b++)
				CHECK(slot[b] == 0);
		}
		sn_tx_back_push(r);
	}
}

const char *walk_rx_ring(struct netif_rx_front_ring *r, struct walk_rx *out)
{
	struct sn_rxpkt pkt;

	memset(out, 0, sizeof(*out));
	for (;; out->iters++) {
		RING_IDX p = sn_rx_front_rsp_prod(r);
		RING_IDX avail = p - r->rsp_cons;
		RING_IDX posted = r->req_prod_pvt - r->rsp_cons;

		CHECK(out->iters <= RING_SIZE(r));
		if (sn_rxrsp_parse_ring(r, p, &pkt) == -EAGAIN) {
			CHECK(avail == 0);
			return NULL;
		}
		if (pkt.verdict == SN_RXRSP_BROKEN) {
			/* Only a backend answering more than we posted. */
			CHECK(avail > posted);
			out->broken = true;
			return NULL;
		}
		CHECK(avail <= posted);
		CHECK(pkt.nr_slots >= 1 && pkt.nr_slots <= avail);
		CHECK(pkt.nr_recorded <= SN_RX_MAX_DATA_SLOTS);
		CHECK(pkt.nr_recorded <= pkt.nr_data);
		if (pkt.verdict == SN_RXRSP_OK) {
			uint32_t sum = 0;

			CHECK(pkt.nr_recorded == pkt.nr_data);
			CHECK(pkt.nr_data + pkt.nr_extras == pkt.nr_slots);
			for (unsigned int k = 0; k < pkt.nr_data; k++) {
				CHECK(pkt.slot[k].status >= 0);
				CHECK((uint32_t)pkt.slot[k].offset +
				      (uint32_t)pkt.slot[k].status <= SN_PAGE_SIZE);
				sum += (uint32_t)pkt.slot[k].status;
			}
			CHECK(sum == pkt.len);
			out->ok++;
		} else {
			out->errors++;
		}
		r->rsp_cons += pkt.nr_slots;
		out->slots += pkt.nr_slots;
	}
}

const char *walk_txrsp_ring(struct netif_tx_front_ring *r,
			    struct sn_idmap *pending, struct walk_txrsp *out)
{
	struct sn_idmap done = { { 0 } };
	RING_IDX p = sn_tx_front_rsp_prod(r);

	memset(out, 0, sizeof(*out));
	if (sn_tx_front_rsp_overflow(r, p)) {
		/* More responses than requests (XSA-405): broken before any
		 * slot is read. */
		out->broken = true;
		out->why = SN_TXRSP_BAD_ID;
		return NULL;
	}
	CHECK((RING_IDX)(p - r->rsp_cons) <=
	      (RING_IDX)(r->req_prod_pvt - r->rsp_cons));
	for (; r->rsp_cons != p; r->rsp_cons++) {
		struct netif_tx_response rsp;
		enum sn_txrsp_result res;
		bool was;

		sn_tx_front_copy_rsp(r, r->rsp_cons, &rsp);
		was = rsp.id < SN_TX_RING_SIZE && sn_idmap_test(pending, rsp.id);
		res = sn_txrsp_check(&rsp, RING_SIZE(r), pending);
		if (sn_txrsp_is_broken(res)) {
			CHECK(!was || rsp.id >= RING_SIZE(r));
			out->broken = true;
			out->why = res;
			return NULL;
		}
		if (res == SN_TXRSP_SKIP) {
			out->skipped++;
			continue;
		}
		/* Completed: it was in flight, is no longer, only once. */
		CHECK(was && rsp.id < RING_SIZE(r));
		CHECK(!sn_idmap_test(pending, rsp.id));
		CHECK(!sn_idmap_test(&done, rsp.id));
		sn_idmap_set(&done, rsp.id);
		if (res == SN_TXRSP_DONE)
			out->done++;
		else
			out->done_error++;
	}
	return NULL;
}
