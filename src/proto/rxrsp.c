/* Frontend validation of backend-written responses (see rxrsp.h).  An RX
 * error drops one packet but keeps consuming the whole chain, as netfront
 * does, so one bad packet cannot desynchronise the ring. */
#include <errno.h>
#include <string.h>

#include "proto/rxrsp.h"

static const char *const reason_str[SN_RXRSP_R_COUNT] = {
	[SN_RXRSP_R_NONE] = "ok",
	[SN_RXRSP_R_BAD_STATUS] = "negative status",
	[SN_RXRSP_R_CROSSES_PAGE] = "offset + size crosses page boundary",
	[SN_RXRSP_R_MISSING_EXTRA] = "missing extra info",
	[SN_RXRSP_R_BAD_EXTRA_TYPE] = "invalid extra type",
	[SN_RXRSP_R_MISSING_SLOTS] = "need more slots",
	[SN_RXRSP_R_TOO_MANY_SLOTS] = "too many slots",
	[SN_RXRSP_R_RING_OVERFLOW] = "illegal number of responses",
};

const char *sn_rxrsp_reason_str(enum sn_rxrsp_reason reason)
{
	if ((unsigned int)reason >= SN_RXRSP_R_COUNT)
		return "unknown";
	return reason_str[reason];
}

/* First problem wins: it is the one worth a counter and a log line. */
static void note_error(struct sn_rxpkt *pkt, enum sn_rxrsp_reason r)
{
	if (pkt->reason == SN_RXRSP_R_NONE) {
		pkt->verdict = SN_RXRSP_ERROR;
		pkt->reason = r;
	}
}

static void check_data(struct sn_rxpkt *pkt,
		       const struct netif_rx_response *rsp)
{
	if (rsp->status < 0)
		note_error(pkt, SN_RXRSP_R_BAD_STATUS);
	else if (!sn_slot_in_page(rsp->offset, (uint32_t)rsp->status))
		note_error(pkt, SN_RXRSP_R_CROSSES_PAGE);
	else
		pkt->len += (uint32_t)rsp->status;
}

static void record(struct sn_rxpkt *pkt, const struct netif_rx_response *rsp)
{
	struct sn_rxslot *s;

	if (pkt->nr_recorded >= SN_RX_MAX_DATA_SLOTS)
		return;
	s = &pkt->slot[pkt->nr_recorded++];
	s->id = rsp->id;
	s->offset = rsp->offset;
	s->flags = rsp->flags;
	s->status = rsp->status;
}

/* always_inline: see txreq.c, same reason. */
static inline __attribute__((always_inline)) int
parse(sn_rxrsp_copy_fn *copy, void *ctx, RING_IDX cons, unsigned int avail,
      struct sn_rxpkt *pkt)
{
	struct netif_rx_response rsp;
	struct netif_extra_info x;
	unsigned int max;
	RING_IDX idx = cons;

	pkt->verdict = SN_RXRSP_OK;
	pkt->reason = SN_RXRSP_R_NONE;
	pkt->cons = cons;
	pkt->nr_slots = 0;
	pkt->nr_extras = 0;
	pkt->nr_data = 0;
	pkt->nr_recorded = 0;
	pkt->len = 0;
	pkt->extra_mask = 0;
	if (!avail)
		return -EAGAIN;

	copy(ctx, idx++, &rsp);
	pkt->nr_slots = 1;
	pkt->nr_data = 1;
	pkt->flags = rsp.flags;
	record(pkt, &rsp);
	/* A small first slot may have been copied out by the backend, which
	 * then spends one more slot on the rest (netfront's allowance). */
	max = XEN_NETIF_NR_SLOTS_MIN + (rsp.status <= SN_RX_COPY_THRESHOLD);

	if (rsp.flags & NETRXF_extra_info) {
		struct netif_rx_response e;

		do {
			if (idx - cons >= avail) {
				note_error(pkt, SN_RXRSP_R_MISSING_EXTRA);
				break;
			}
			copy(ctx, idx++, &e);
			pkt->nr_slots++;
			pkt->nr_extras++;
			sn_extra_from_rxrsp(&e, &x);
			if (!sn_extra_type_valid(x.type)) {
				note_error(pkt, SN_RXRSP_R_BAD_EXTRA_TYPE);
			} else {
				pkt->extra[x.type] = x;
				pkt->extra_mask |= (uint8_t)SN_EXTRA_BIT(x.type);
			}
		} while (x.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}

	check_data(pkt, &rsp);
	while (rsp.flags & NETRXF_more_data) {
		if (idx - cons >= avail) {
			note_error(pkt, SN_RXRSP_R_MISSING_SLOTS);
			break;
		}
		copy(ctx, idx++, &rsp);
		pkt->nr_slots++;
		pkt->nr_data++;
		record(pkt, &rsp);
		check_data(pkt, &rsp);
	}

	if (pkt->nr_data > max)
		note_error(pkt, SN_RXRSP_R_TOO_MANY_SLOTS);
	return 0;
}

int sn_rxrsp_parse(sn_rxrsp_copy_fn *copy, void *ctx, RING_IDX cons,
		   unsigned int avail, struct sn_rxpkt *pkt)
{
	return parse(copy, ctx, cons, avail, pkt);
}

static void copy_from_ring(void *ctx, RING_IDX idx,
			   struct netif_rx_response *out)
{
	sn_rx_front_copy_rsp(ctx, idx, out);
}

int sn_rxrsp_parse_ring(const struct netif_rx_front_ring *r, RING_IDX prod,
			struct sn_rxpkt *pkt)
{
	if (sn_rx_front_rsp_overflow(r, prod)) {
		memset(pkt, 0, sizeof(*pkt));
		pkt->cons = r->rsp_cons;
		pkt->verdict = SN_RXRSP_BROKEN;
		pkt->reason = SN_RXRSP_R_RING_OVERFLOW;
		return 0;
	}
	return parse(copy_from_ring, (void *)r, r->rsp_cons,
		     prod - r->rsp_cons, pkt);
}

enum sn_txrsp_result sn_txrsp_check(const struct netif_tx_response *rsp,
				    unsigned int ring_size,
				    struct sn_idmap *pending)
{
	if (rsp->status == NETIF_RSP_NULL)
		return SN_TXRSP_SKIP;
	if (ring_size > SN_TX_RING_SIZE)
		ring_size = SN_TX_RING_SIZE;
	/* The id indexes frontend arrays: never trust it before this. */
	if (rsp->id >= ring_size)
		return SN_TXRSP_BAD_ID;
	if (pending) {
		if (!sn_idmap_test(pending, rsp->id))
			return SN_TXRSP_NOT_PENDING;
		sn_idmap_clear(pending, rsp->id);
	}
	return rsp->status == NETIF_RSP_OKAY ? SN_TXRSP_DONE :
					       SN_TXRSP_DONE_ERROR;
}

const char *sn_txrsp_result_str(enum sn_txrsp_result r)
{
	switch (r) {
	case SN_TXRSP_DONE:
		return "ok";
	case SN_TXRSP_DONE_ERROR:
		return "error status";
	case SN_TXRSP_SKIP:
		return "null";
	case SN_TXRSP_BAD_ID:
		return "response has incorrect id";
	case SN_TXRSP_NOT_PENDING:
		return "response for inactive request";
	}
	return "unknown";
}
