/* Netfront staging pool: per queue, buffers granted once and registered
 * with the backend over the control ring (ADD_GREF_MAPPING), so the
 * backend reaches them by memcpy through a standing mapping instead of a
 * grant operation per packet.  Set-up on Connected, the O(1) take/give the
 * datapath uses, and a teardown that never frees a page the backend may
 * still hold (XSA-396). */
#ifndef SN_FRONT_STAGING_H
#define SN_FRONT_STAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "front/ctrl.h"
#include "proto/prefetch.h"
#include "stagenet/front.h"
#include "stagenet/stats.h"

/* enum sn_front_staging_policy is public: stagenet/front.h. */

#define SN_STAGING_HDR_SLOT 256u
#define SN_STAGING_HDR_PAGES 16u
/* Page policy default: one ring's worth for RX plus as many for TX. */
#define SN_STAGING_PAGE_PAGES 512u

struct sn_front_staging_cfg {
	enum sn_front_staging_policy policy;
	/* Pages per queue wanted; 0 = the policy's default above.  The pool
	 * is min(this, the backend's GET answer); persist asks no GET. */
	uint32_t max_pages;
	/* Persist: flags agreed with the backend (else the pool is reused
	 * without them), and the churn in percent of the pool per second. */
	bool persist;
	uint32_t churn_pct;
};

/* A persist slot's retirement (churn): its next request goes without the
 * flag (the backend unmaps it), and when that use comes back the slot gets
 * a new grant (sn_front_staging_replace). */
enum {
	SN_STSLOT_KEEP = 0,
	SN_STSLOT_RETIRE,      /* next use: no flag */
	SN_STSLOT_RETIRE_SENT, /* posted without the flag: replace on give */
};

/* One staged buffer: a slot of slot_size bytes at (gref, off). */
struct sn_front_stslot {
	uint8_t *ptr;
	uint32_t gref;
	uint16_t off;
	bool busy; /* handed out by take, not yet given back */
	uint8_t pstate;     /* SN_STSLOT_* (persist churn) */
	uint32_t extra_ref; /* gref from a replacement (shr_grant), 0 none */
};

/* Where a pool page stands with the backend.  Only NONE pages may ever be
 * returned to the platform. */
enum sn_front_stpage_state {
	SN_STPAGE_NONE = 0, /* not registered (never added, or DEL succeeded) */
	SN_STPAGE_ADDED,    /* ADD succeeded: the backend maps it */
	SN_STPAGE_UNKNOWN,  /* ADD/DEL outcome unknown (no answer): assume held */
};

struct sn_front_stpage {
	uint8_t *addr;
	uint32_t gref;
	bool rx; /* writable, for RX; TX pages are granted read-only */
	uint8_t state;
};

struct sn_front_staging {
	struct sn_plat *p;
	struct sn_front_ctrl *ctrl;
	struct sn_qstats *st;
	uint16_t queue;
	uint16_t be_domid;
	enum sn_front_staging_policy policy;
	uint32_t slot_size;
	/* Persist (README "Persist flags"): whether requests carry the flag,
	 * and the churn state (sn_front_staging_churn). */
	bool persist;
	uint32_t churn_pct;
	uint64_t churn_acc[2], churn_last_ms; /* [0] TX slots, [1] RX */
	uint32_t churn_cursor[2];

	uint32_t npages;
	struct sn_front_stpage *pages;
	uint32_t nslots;
	struct sn_front_stslot *slots;
	/* Free slots as two stacks of indices, so take and give are O(1)
	 * and never allocate.  Slots [0, tx_total) are TX (read-only
	 * grants), [tx_total, nslots) RX (whole writable pages). */
	uint32_t *tx_free, tx_nfree, tx_total;
	uint32_t *rx_free, rx_nfree, rx_total;
};

/* Why a queue runs without staging (sn_front_staging_create's result). */
struct sn_front_staging_report {
	uint16_t staged;    /* queues with a pool */
	uint16_t fallbacks; /* queues on the normal path because of a failure */
	int first_err;      /* first failure (-EOPNOTSUPP: NOT_SUPPORTED) */
	uint16_t first_q;
};

/* Build queue q's pool: GET, allocate min(GET, cfg) pages zeroed, ADD them
 * (<= 512 per message).  0 with *out set; -EOPNOTSUPP when the backend
 * answered NOT_SUPPORTED, -ENOSPC when its table has no room, -EPROTO for
 * another refusal, or a transport/-ENOMEM error.  On failure whatever was
 * added is deleted again and *out is NULL. */
int sn_front_staging_create(struct sn_plat *p, struct sn_front_ctrl *ctrl,
			    uint16_t be_domid, uint16_t queue,
			    const struct sn_front_staging_cfg *cfg,
			    struct sn_qstats *st, struct sn_front_staging **out);
/* DEL every registered page (the caller has stopped the rings first) and
 * free the pages whose DEL succeeded and whose grant the platform could
 * revoke; all others are never freed.  peer_gone: the backend has already
 * disconnected (Closing/Closed, or back in InitWait), so no DEL can be
 * answered; pages are then freed only where the revoke succeeds.  Returns
 * the pages kept back. */
uint32_t sn_front_staging_destroy(struct sn_front_staging *s, bool peer_gone);

/* Connected: create a pool for each of nq queues.  Any failure leaves that
 * queue on the normal path (rep->fallbacks; the failed request also counts
 * in that queue's ctrl_errors) and is reported in exactly one line through
 * log (NULL: not at all) for the whole call; NOT_SUPPORTED, no answer or a
 * broken ring stops asking for the other queues.  pools[i] is NULL for
 * queues without staging.  st may be NULL, and so may st[i]. */
void sn_front_staging_setup(struct sn_plat *p, struct sn_front_ctrl *ctrl,
			    uint16_t be_domid, uint16_t nq,
			    const struct sn_front_staging_cfg *cfg,
			    struct sn_qstats *const *st,
			    struct sn_front_staging **pools,
			    const struct sn_front_log *log,
			    struct sn_front_staging_report *rep);

const char *sn_front_staging_policy_name(enum sn_front_staging_policy p);
/* "header" / "page" / "off". */
int sn_front_staging_policy_parse(const char *s,
				  enum sn_front_staging_policy *out);

/* Persist: retire the slots churn_pct asks for since the last call
 * (rate-limited to one look at the clock per call, a few marks per tick). */
void sn_front_staging_churn(struct sn_front_staging *s);
/* A slot whose flag-less use came back: grant its page anew (the old
 * replacement grant ended), or keep the gref where the platform cannot
 * grant per use (gntalloc): the backend then maps it again on the next
 * flagged use, which costs it the same map and unmap. */
void sn_front_staging_replace(struct sn_front_staging *s, int idx);

/* --- datapath (the queue's owner thread; no locking, no allocation) --- */

/* A free TX / RX slot index, or -1 when the pool has none left. */
static inline int sn_front_staging_tx_take(struct sn_front_staging *s)
{
	uint32_t i;

	if (!s->tx_nfree)
		return -1;
	i = s->tx_free[--s->tx_nfree];
	s->slots[i].busy = true;
	return (int)i;
}

static inline int sn_front_staging_rx_take(struct sn_front_staging *s)
{
	uint32_t i;

	if (!s->rx_nfree)
		return -1;
	i = s->rx_free[--s->rx_nfree];
	s->slots[i].busy = true;
	return (int)i;
}

/* Ask for the lines the next n TX takes will write (LIFO: the top of the
 * free stack), exclusive: the backend's core read them last. */
static inline void sn_front_staging_tx_prefetch(const struct sn_front_staging *s,
						unsigned int n, bool have_prefetchw)
{
	for (unsigned int i = 0; i < n && i < s->tx_nfree; i++)
		sn_prefetch_w(have_prefetchw, s->slots[s->tx_free[s->tx_nfree - 1 - i]].ptr);
}

/* Give a slot back once the backend is done with it (TX response, RX
 * response consumed).  A slot that is not out is ignored: our own
 * bookkeeping bug must not corrupt the free stacks. */
static inline void sn_front_staging_give(struct sn_front_staging *s, int idx)
{
	struct sn_front_stslot *sl;

	if (idx < 0 || (uint32_t)idx >= s->nslots)
		return;
	sl = &s->slots[idx];
	if (!sl->busy)
		return;
	sl->busy = false;
	if (sl->pstate == SN_STSLOT_RETIRE_SENT)
		sn_front_staging_replace(s, idx);
	if ((uint32_t)idx < s->tx_total)
		s->tx_free[s->tx_nfree++] = (uint32_t)idx;
	else
		s->rx_free[s->rx_nfree++] = (uint32_t)idx;
}

/* Whether the request naming slot idx carries the persist flag; a slot
 * marked for retirement goes out once without it. */
static inline bool sn_front_staging_flag(struct sn_front_staging *s, int idx)
{
	struct sn_front_stslot *sl = &s->slots[idx];

	if (!s->persist)
		return false;
	if (sl->pstate == SN_STSLOT_RETIRE) {
		sl->pstate = SN_STSLOT_RETIRE_SENT;
		return false;
	}
	return true;
}

static inline const struct sn_front_stslot *
sn_front_staging_slot(const struct sn_front_staging *s, int idx)
{
	return &s->slots[idx];
}

#endif /* SN_FRONT_STAGING_H */
