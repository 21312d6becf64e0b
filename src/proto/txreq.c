/* Backend TX packet parser (see txreq.h).  The rule order below is Linux
 * netback's, because a frontend tuned against Linux expects the same packet
 * to be dropped, accepted or judged rogue the same way here. */
#include <errno.h>
#include <string.h>

#include "proto/txreq.h"

static const char *const reason_str[SN_TXREQ_R_COUNT] = {
	[SN_TXREQ_R_NONE] = "ok",
	[SN_TXREQ_R_TOO_MANY_SLOTS] = "too many slots (19-20 continuations)",
	[SN_TXREQ_R_SLOT_OVERSIZE] = "slot size exceeds remaining packet size",
	[SN_TXREQ_R_RUNT] = "first slot shorter than an Ethernet header",
	[SN_TXREQ_R_RING_OVERFLOW] = "impossible number of requests",
	[SN_TXREQ_R_MISSING_EXTRA] = "missing extra info",
	[SN_TXREQ_R_BAD_EXTRA_TYPE] = "invalid extra type",
	[SN_TXREQ_R_MISSING_SLOTS] = "asked for more slots than published",
	[SN_TXREQ_R_MALICIOUS_SLOTS] = "malicious frontend using 21+ slots",
	[SN_TXREQ_R_SLOT_CROSSES_PAGE] = "continuation crosses page boundary",
	[SN_TXREQ_R_FIRST_CROSSES_PAGE] = "first slot crosses page boundary",
	[SN_TXREQ_R_BAD_GSO] = "invalid GSO extra",
};

const char *sn_txreq_reason_str(enum sn_txreq_reason reason)
{
	if ((unsigned int)reason >= SN_TXREQ_R_COUNT)
		return "unknown";
	return reason_str[reason];
}

const char *sn_txreq_verdict_str(enum sn_txreq_verdict verdict)
{
	switch (verdict) {
	case SN_TXREQ_OK:
		return "ok";
	case SN_TXREQ_DROP:
		return "drop";
	case SN_TXREQ_FATAL:
		return "fatal";
	}
	return "unknown";
}

static void set_verdict(struct sn_txpkt *pkt, enum sn_txreq_verdict v,
			enum sn_txreq_reason r)
{
	pkt->verdict = v;
	pkt->reason = r;
}

static void slot_from_req(struct sn_txslot *s,
			  const struct netif_tx_request *req)
{
	s->gref = req->gref;
	s->offset = req->offset;
	s->size = req->size;
	s->id = req->id;
	s->flags = req->flags;
}

/*
 * One walk for both entry points.  always_inline so that, called with the
 * ring copy function, the per-slot call collapses to a direct load (no
 * function pointer on the datapath), while tests can still pass their own
 * instrumented copy function.
 */
static inline __attribute__((always_inline)) int
parse(sn_txreq_copy_fn *copy, void *ctx, RING_IDX cons, unsigned int avail,
      struct sn_txpkt *pkt)
{
	struct netif_tx_request first, req;
	struct netif_extra_info x;
	enum sn_txreq_reason drop = SN_TXREQ_R_NONE;
	unsigned int work = avail;
	RING_IDX idx = cons;
	uint16_t remaining;
	unsigned int n;

	pkt->cons = cons;
	pkt->nr_slots = 0;
	pkt->nr_extras = 0;
	pkt->nr_data = 0;
	pkt->nr_frags = 0;
	pkt->extra_mask = 0;
	set_verdict(pkt, SN_TXREQ_OK, SN_TXREQ_R_NONE);
	if (!work)
		return -EAGAIN;

	copy(ctx, idx++, &first);
	work--;
	pkt->nr_slots = 1;
	pkt->nr_data = 1;
	pkt->total_len = first.size;
	pkt->flags = first.flags;
	slot_from_req(&pkt->slot[0], &first);

	if (first.flags & NETTXF_extra_info) {
		do {
			/* A frontend publishes whole packets; a chain that
			 * runs past req_prod is a protocol violation. */
			if (!work) {
				set_verdict(pkt, SN_TXREQ_FATAL,
					    SN_TXREQ_R_MISSING_EXTRA);
				return 0;
			}
			copy(ctx, idx++, &req);
			work--;
			pkt->nr_slots++;
			pkt->nr_extras++;
			sn_extra_from_txreq(&req, &x);
			if (!sn_extra_type_valid(x.type)) {
				set_verdict(pkt, SN_TXREQ_FATAL,
					    SN_TXREQ_R_BAD_EXTRA_TYPE);
				return 0;
			}
			/* An XDP extra (Linux) asks nothing of netback on
			 * TX: kept like any other and then ignored. */
			pkt->extra[x.type] = x;
			pkt->extra_mask |= (uint8_t)SN_EXTRA_BIT(x.type);
		} while (x.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	}

	/* Linux answers a multicast dummy before looking at its size or
	 * more_data: any continuation slots become the next "packet". */
	if (sn_txpkt_is_mcast(pkt))
		return 0;

	remaining = first.size;
	if (first.flags & NETTXF_more_data) {
		n = 0;
		do {
			if (n >= work) {
				set_verdict(pkt, SN_TXREQ_FATAL,
					    SN_TXREQ_R_MISSING_SLOTS);
				return 0;
			}
			if (n >= SN_TX_FATAL_SLOTS) {
				set_verdict(pkt, SN_TXREQ_FATAL,
					    SN_TXREQ_R_MALICIOUS_SLOTS);
				return 0;
			}
			/* 19th and 20th continuation: legal on the wire but
			 * beyond what any backend must take; consume the
			 * whole packet and drop it. */
			if (!drop && n >= SN_TX_LEGACY_SLOTS_MAX)
				drop = SN_TXREQ_R_TOO_MANY_SLOTS;

			copy(ctx, idx++, &req);
			pkt->nr_slots++;
			slot_from_req(&pkt->slot[1 + n], &req);
			pkt->nr_data = 2 + n;

			/* A frame >= 64 KiB overflowed the u16 size field;
			 * buggy but not malicious frontends do that. */
			if (!drop && req.size > remaining)
				drop = SN_TXREQ_R_SLOT_OVERSIZE;
			remaining = (uint16_t)(remaining - req.size);
			n++;

			/* Checked even on a packet already being dropped:
			 * a grant is never allowed to span pages. */
			if (!sn_slot_in_page(req.offset, req.size)) {
				set_verdict(pkt, SN_TXREQ_FATAL,
					    SN_TXREQ_R_SLOT_CROSSES_PAGE);
				return 0;
			}
			if (req.size)
				pkt->nr_frags++;
		} while (req.flags & NETTXF_more_data);

		if (drop) {
			set_verdict(pkt, SN_TXREQ_DROP, drop);
			return 0;
		}
	}
	pkt->slot[0].size = remaining;

	if (remaining < SN_ETH_HLEN) {
		set_verdict(pkt, SN_TXREQ_DROP, SN_TXREQ_R_RUNT);
		return 0;
	}
	if (!sn_slot_in_page(first.offset, remaining)) {
		set_verdict(pkt, SN_TXREQ_FATAL,
			    SN_TXREQ_R_FIRST_CROSSES_PAGE);
		return 0;
	}
	if (sn_txpkt_has_extra(pkt, XEN_NETIF_EXTRA_TYPE_GSO)) {
		uint16_t mss;
		uint8_t type;

		if (sn_extra_gso_decode(&pkt->extra[XEN_NETIF_EXTRA_TYPE_GSO],
					&mss, &type)) {
			set_verdict(pkt, SN_TXREQ_FATAL, SN_TXREQ_R_BAD_GSO);
			return 0;
		}
	}
	return 0;
}

int sn_txreq_parse(sn_txreq_copy_fn *copy, void *ctx, RING_IDX cons,
		   unsigned int avail, struct sn_txpkt *pkt)
{
	return parse(copy, ctx, cons, avail, pkt);
}

static void copy_from_ring(void *ctx, RING_IDX idx,
			   struct netif_tx_request *out)
{
	sn_tx_back_copy_req(ctx, idx, out);
}

int sn_txreq_parse_ring(const struct netif_tx_back_ring *r, RING_IDX prod,
			struct sn_txpkt *pkt)
{
	if (sn_tx_back_prod_overflow(r, prod)) {
		memset(pkt, 0, sizeof(*pkt));
		pkt->cons = r->req_cons;
		set_verdict(pkt, SN_TXREQ_FATAL, SN_TXREQ_R_RING_OVERFLOW);
		return 0;
	}
	return parse(copy_from_ring, (void *)r, r->req_cons,
		     sn_tx_back_unconsumed(r, prod), pkt);
}

static void put_rsp(struct netif_tx_back_ring *r, uint16_t id,
		    int16_t status)
{
	struct netif_tx_response rsp = { .id = id, .status = status };

	sn_tx_back_put_rsp(r, &rsp);
}

void sn_txpkt_respond_slot(struct netif_tx_back_ring *r,
			   const struct sn_txpkt *pkt, unsigned int k,
			   int16_t status)
{
	if (k < pkt->nr_data)
		put_rsp(r, pkt->slot[k].id, status);
}

void sn_txpkt_respond_extras(struct netif_tx_back_ring *r,
			     const struct sn_txpkt *pkt)
{
	unsigned int i;

	/* The id of an extra slot means nothing; send 0 rather than
	 * whatever the slot held. */
	for (i = 0; i < pkt->nr_extras; i++)
		put_rsp(r, 0, NETIF_RSP_NULL);
}

void sn_txpkt_respond_all(struct netif_tx_back_ring *r,
			  const struct sn_txpkt *pkt, int16_t status)
{
	unsigned int k;

	sn_txpkt_respond_slot(r, pkt, 0, status);
	sn_txpkt_respond_extras(r, pkt);
	for (k = 1; k < pkt->nr_data; k++)
		sn_txpkt_respond_slot(r, pkt, k, status);
}
