/* Backend TX packet parser: walks one packet (first request, extras,
 * continuation requests) exactly as Linux netback validates it
 * (xenvif_tx_build_gops / xenvif_get_extras / xenvif_count_requests) and
 * describes it in private memory.  Every slot is copied once. */
#ifndef SN_PROTO_TXREQ_H
#define SN_PROTO_TXREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/extra.h"
#include "proto/ring.h"
#include "proto/slots.h"

enum sn_txreq_verdict {
	SN_TXREQ_OK,	/* build and send the packet */
	SN_TXREQ_DROP,	/* answer every slot ERROR (extras NULL), consume */
	SN_TXREQ_FATAL,	/* rogue frontend: disable the vif, answer nothing */
};

/* Why: one counter per value.  Order groups drops before fatals. */
enum sn_txreq_reason {
	SN_TXREQ_R_NONE,
	/* drops (non-fatal) */
	SN_TXREQ_R_TOO_MANY_SLOTS,	/* 19th or 20th continuation slot */
	SN_TXREQ_R_SLOT_OVERSIZE,	/* continuation > what remains of size */
	SN_TXREQ_R_RUNT,		/* first slot shorter than ETH_HLEN */
	/* fatal */
	SN_TXREQ_R_RING_OVERFLOW,	/* req_prod beyond the ring (XSA-39) */
	SN_TXREQ_R_MISSING_EXTRA,	/* extra chain runs past req_prod */
	SN_TXREQ_R_BAD_EXTRA_TYPE,	/* extra type 0 or >= MAX */
	SN_TXREQ_R_MISSING_SLOTS,	/* more_data runs past req_prod */
	SN_TXREQ_R_MALICIOUS_SLOTS,	/* a 21st continuation slot */
	SN_TXREQ_R_SLOT_CROSSES_PAGE,	/* continuation offset+size > page */
	SN_TXREQ_R_FIRST_CROSSES_PAGE,	/* first offset+size > page */
	SN_TXREQ_R_BAD_GSO,		/* GSO size 0 or unknown GSO type */
	SN_TXREQ_R_COUNT
};

/* One data slot as the frontend sent it, privately copied.  For slot 0
 * size is the first fragment's own length (total minus the others), as
 * netback computes it. */
struct sn_txslot {
	grant_ref_t gref;
	uint16_t offset;
	uint16_t size;
	uint16_t id;
	uint16_t flags;		/* NETTXF_* */
};

/* Ring layout of a packet: data slot 0 at cons, its nr_extras extra slots
 * right after, then data slots 1..nr_data-1.  Every one of the nr_slots
 * consumed slots gets one response: data slots OKAY/ERROR with their id,
 * extra slots NETIF_RSP_NULL. */
struct sn_txpkt {
	enum sn_txreq_verdict verdict;
	enum sn_txreq_reason reason;
	RING_IDX cons;			/* ring index of the first request */
	unsigned int nr_slots;		/* ring slots read (= to consume) */
	unsigned int nr_extras;
	unsigned int nr_data;		/* valid entries in slot[] */
	unsigned int nr_frags;		/* non-empty continuation slots */
	uint32_t total_len;		/* first request's size field */
	uint16_t flags;			/* first request's NETTXF_* */
	uint8_t extra_mask;		/* SN_EXTRA_BIT(type) of extras seen */
	/* indexed by type; the last extra of a type wins (as in Linux) */
	struct netif_extra_info extra[XEN_NETIF_EXTRA_TYPE_MAX];
	struct sn_txslot slot[SN_TX_MAX_DATA_SLOTS];
};

/* Copies ring slot idx into *out; must read the shared slot exactly once. */
typedef void sn_txreq_copy_fn(void *ctx, RING_IDX idx,
			      struct netif_tx_request *out);

/* Parse the packet at ring index cons, with avail requests readable from
 * there (XEN_RING_NR_UNCONSUMED_REQUESTS).  0 with *pkt filled (look at
 * pkt->verdict), or -EAGAIN when avail is 0.  Nothing is consumed. */
int sn_txreq_parse(sn_txreq_copy_fn *copy, void *ctx, RING_IDX cons,
		   unsigned int avail, struct sn_txpkt *pkt);

/* Same, straight from a back ring at req_cons, given a req_prod the caller
 * read with sn_tx_back_req_prod().  Also applies the ring-level XSA-39
 * check (verdict FATAL, reason RING_OVERFLOW). */
int sn_txreq_parse_ring(const struct netif_tx_back_ring *r, RING_IDX prod,
			struct sn_txpkt *pkt);

/* Ring index of data slot k. */
static inline RING_IDX sn_txpkt_slot_idx(const struct sn_txpkt *pkt,
					 unsigned int k)
{
	return k ? pkt->cons + pkt->nr_extras + k : pkt->cons;
}

/* A zero-size continuation slot: answered OKAY at once and never turned
 * into a fragment (XSA-448). */
static inline bool sn_txpkt_slot_empty(const struct sn_txpkt *pkt,
				       unsigned int k)
{
	return k && !pkt->slot[k].size;
}

/* A multicast filter request: a dummy first request carrying MCAST_ADD/DEL
 * extras and no data; netback answers it (OKAY/ERROR + NULLs) and moves on
 * without reading continuation slots. */
static inline bool sn_txpkt_is_mcast(const struct sn_txpkt *pkt)
{
	return pkt->extra_mask & (SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_MCAST_ADD) |
				  SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_MCAST_DEL));
}

static inline bool sn_txpkt_has_extra(const struct sn_txpkt *pkt,
				      unsigned int type)
{
	return type < XEN_NETIF_EXTRA_TYPE_MAX &&
	       (pkt->extra_mask & SN_EXTRA_BIT(type));
}

/* Responses are written at rsp_prod_pvt, fully zero-padded; the caller
 * pushes.  respond_slot answers data slot k; respond_extras writes one
 * NULL per extra slot; respond_all answers the whole packet with status
 * (the drop path, xenvif_tx_err). */
void sn_txpkt_respond_slot(struct netif_tx_back_ring *r,
			   const struct sn_txpkt *pkt, unsigned int k,
			   int16_t status);
void sn_txpkt_respond_extras(struct netif_tx_back_ring *r,
			     const struct sn_txpkt *pkt);
void sn_txpkt_respond_all(struct netif_tx_back_ring *r,
			  const struct sn_txpkt *pkt, int16_t status);

const char *sn_txreq_reason_str(enum sn_txreq_reason reason);
const char *sn_txreq_verdict_str(enum sn_txreq_verdict verdict);

#endif /* SN_PROTO_TXREQ_H */
