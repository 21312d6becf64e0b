/* Frontend-side validation of what the backend writes: an RX response
 * chain (Linux netfront xennet_get_responses/xennet_get_extras rules) and
 * single TX responses (XSA-405: bad or inactive ids mean a broken device). */
#ifndef SN_PROTO_RXRSP_H
#define SN_PROTO_RXRSP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/extra.h"
#include "proto/ring.h"
#include "proto/slots.h"

enum sn_rxrsp_verdict {
	SN_RXRSP_OK,		/* deliver */
	SN_RXRSP_ERROR,		/* drop, recycle all nr_slots buffers, count */
	SN_RXRSP_BROKEN,	/* backend is lying: stop using the device */
};

/* Why: one counter per value; the first problem found is reported. */
enum sn_rxrsp_reason {
	SN_RXRSP_R_NONE,
	/* errors (packet dropped) */
	SN_RXRSP_R_BAD_STATUS,		/* status < 0 (backend copy failed) */
	SN_RXRSP_R_CROSSES_PAGE,	/* offset + status > page */
	SN_RXRSP_R_MISSING_EXTRA,	/* extra chain runs past rsp_prod */
	SN_RXRSP_R_BAD_EXTRA_TYPE,	/* extra type 0 or >= MAX */
	SN_RXRSP_R_MISSING_SLOTS,	/* more_data runs past rsp_prod */
	SN_RXRSP_R_TOO_MANY_SLOTS,	/* > NR_SLOTS_MIN (+1 if first small) */
	/* broken */
	SN_RXRSP_R_RING_OVERFLOW,	/* more responses than requests */
	SN_RXRSP_R_COUNT
};

struct sn_rxslot {
	uint16_t id;
	uint16_t offset;
	uint16_t flags;		/* NETRXF_* */
	int16_t status;		/* bytes in this slot, < 0 = error */
};

/* Ring layout as on TX: data slot 0 at cons, nr_extras extra slots, then
 * the continuation data slots.  All nr_slots buffers (extras included)
 * go back to the frontend's pool whatever the verdict.  Only the first
 * SN_RX_MAX_DATA_SLOTS data slots are recorded; a longer chain is an
 * error anyway. */
struct sn_rxpkt {
	enum sn_rxrsp_verdict verdict;
	enum sn_rxrsp_reason reason;
	RING_IDX cons;
	unsigned int nr_slots;		/* ring slots consumed */
	unsigned int nr_extras;
	unsigned int nr_data;		/* data slots in the chain */
	unsigned int nr_recorded;	/* valid entries in slot[] */
	uint32_t len;			/* sum of data slot statuses (if OK) */
	uint16_t flags;			/* first response's NETRXF_* */
	uint8_t extra_mask;		/* SN_EXTRA_BIT(type) of extras seen */
	struct netif_extra_info extra[XEN_NETIF_EXTRA_TYPE_MAX];
	struct sn_rxslot slot[SN_RX_MAX_DATA_SLOTS];
};

typedef void sn_rxrsp_copy_fn(void *ctx, RING_IDX idx,
			      struct netif_rx_response *out);

/* Parse the response chain at cons with avail responses published.
 * 0 with *pkt filled, -EAGAIN if avail is 0.  Each slot copied once. */
int sn_rxrsp_parse(sn_rxrsp_copy_fn *copy, void *ctx, RING_IDX cons,
		   unsigned int avail, struct sn_rxpkt *pkt);

/* Same from a front ring at rsp_cons, given an rsp_prod read with
 * sn_rx_front_rsp_prod(); more responses than posted requests gives
 * verdict BROKEN. */
int sn_rxrsp_parse_ring(const struct netif_rx_front_ring *r, RING_IDX prod,
			struct sn_rxpkt *pkt);

static inline RING_IDX sn_rxpkt_slot_idx(const struct sn_rxpkt *pkt,
					 unsigned int k)
{
	return k ? pkt->cons + pkt->nr_extras + k : pkt->cons;
}

static inline bool sn_rxpkt_has_extra(const struct sn_rxpkt *pkt,
				      unsigned int type)
{
	return type < XEN_NETIF_EXTRA_TYPE_MAX &&
	       (pkt->extra_mask & SN_EXTRA_BIT(type));
}

const char *sn_rxrsp_reason_str(enum sn_rxrsp_reason reason);

/* --- TX responses --------------------------------------------------- */

/* Ids the frontend has in flight, one bit per id < SN_TX_RING_SIZE. */
struct sn_idmap {
	uint64_t w[SN_TX_RING_SIZE / 64];
};

static inline void sn_idmap_set(struct sn_idmap *m, unsigned int id)
{
	m->w[id / 64] |= UINT64_C(1) << (id % 64);
}

static inline void sn_idmap_clear(struct sn_idmap *m, unsigned int id)
{
	m->w[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

static inline bool sn_idmap_test(const struct sn_idmap *m, unsigned int id)
{
	return m->w[id / 64] >> (id % 64) & 1;
}

enum sn_txrsp_result {
	SN_TXRSP_DONE,		/* id completed with NETIF_RSP_OKAY */
	SN_TXRSP_DONE_ERROR,	/* id completed, any other status: count it */
	SN_TXRSP_SKIP,		/* NETIF_RSP_NULL: an extra slot's answer */
	SN_TXRSP_BAD_ID,	/* id >= ring size: broken device */
	SN_TXRSP_NOT_PENDING,	/* id not in flight (duplicate): broken */
};

/* Classify one privately copied tx response.  With pending != NULL the id
 * must be in flight and is cleared, so a second answer for it is caught.
 * ring_size must not exceed SN_TX_RING_SIZE. */
enum sn_txrsp_result sn_txrsp_check(const struct netif_tx_response *rsp,
				    unsigned int ring_size,
				    struct sn_idmap *pending);

static inline bool sn_txrsp_is_broken(enum sn_txrsp_result r)
{
	return r == SN_TXRSP_BAD_ID || r == SN_TXRSP_NOT_PENDING;
}

const char *sn_txrsp_result_str(enum sn_txrsp_result r);

#endif /* SN_PROTO_RXRSP_H */
