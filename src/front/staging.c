/* Netfront staging pool (see staging.h): GET/ADD on Connected, DEL at
 * teardown, and the rule that a page leaves the pool only when the backend
 * confirmed the DEL and the platform could revoke its grant.  At the end, a
 * NIC's pools across its connects: one per queue at Connected, all deleted
 * at an orderly close, the fallback to normal grants said once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "front/log.h"
#include "front/nic.h"
#include "front/staging.h"
#include "proto/slots.h"

/* A pool is carved from at most two platform allocations: TX pages
 * (granted read-only) and RX pages (writable); block b holds pool pages
 * [first, first + count).  Blocks are what the platform frees whole. */
struct stblock {
	uint8_t *addr;
	uint32_t count, first;
};

struct staging_priv {
	struct sn_front_staging s; /* must be first */
	struct stblock blk[2];
	unsigned int nblk;
};

const char *sn_front_staging_policy_name(enum sn_front_staging_policy p)
{
	switch (p) {
	case SN_STAGING_HEADER:
		return "header";
	case SN_STAGING_PAGE:
		return "page";
	case SN_STAGING_PERSIST:
		return "persist";
	default:
		return "off";
	}
}

int sn_front_staging_policy_parse(const char *s, enum sn_front_staging_policy *out)
{
	if (!strcasecmp(s, "header"))
		*out = SN_STAGING_HEADER;
	else if (!strcasecmp(s, "page"))
		*out = SN_STAGING_PAGE;
	else if (!strcasecmp(s, "persist"))
		*out = SN_STAGING_PERSIST;
	else if (!strcasecmp(s, "off"))
		*out = SN_STAGING_OFF;
	else
		return -EINVAL;
	return 0;
}

static void count_ctrl(struct sn_front_staging *s, int rc, uint32_t status)
{
	if (!s->st)
		return;
	sn_qstat_add(s->st, SN_QS_ctrl_requests, 1);
	if (rc || status != XEN_NETIF_CTRL_STATUS_SUCCESS)
		sn_qstat_add(s->st, SN_QS_ctrl_errors, 1);
}

static int status_err(uint32_t status)
{
	switch (status) {
	case XEN_NETIF_CTRL_STATUS_SUCCESS:
		return 0;
	case XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER:
		return -EINVAL;
	default:
		return -EPROTO;
	}
}

static int block_alloc(struct staging_priv *sp, uint16_t be_domid, uint32_t count,
		       bool rx)
{
	struct sn_front_staging *s = &sp->s;
	struct stblock *b = &sp->blk[sp->nblk];
	uint32_t *refs, i;
	void *addr = NULL;
	int rc;

	refs = calloc(count, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	rc = s->p->ops->shr_alloc(s->p, be_domid, count, rx, refs, &addr);
	if (rc) {
		free(refs);
		return rc;
	}
	/* XSA-403: the platform promises zeroed pages, but what reaches the
	 * backend is this pool's responsibility; from here on only packet
	 * bytes are ever written into these pages. */
	memset(addr, 0, (size_t)count * SN_PAGE_SIZE);
	b->addr = addr;
	b->count = count;
	b->first = s->npages;
	for (i = 0; i < count; i++) {
		struct sn_front_stpage *pg = &s->pages[s->npages++];

		pg->addr = (uint8_t *)addr + (size_t)i * SN_PAGE_SIZE;
		pg->gref = refs[i];
		pg->rx = rx;
		pg->state = SN_STPAGE_NONE;
	}
	sp->nblk++;
	free(refs);
	return 0;
}

/* Register pages [first, first + n) in messages of at most 512 entries.
 * ADD is all or nothing, so a refused message leaves its pages NONE; a
 * message without an answer leaves them UNKNOWN (maybe mapped). */
static int pages_add(struct sn_front_staging *s, uint32_t first, uint32_t n)
{
	struct xen_netif_gref *ents;
	uint32_t done = 0, i;
	int rc = 0;

	ents = calloc(SN_CTRL_GREFS_PER_PAGE, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	while (done < n) {
		uint32_t chunk = n - done, status = 0;

		if (chunk > SN_CTRL_GREFS_PER_PAGE)
			chunk = SN_CTRL_GREFS_PER_PAGE;
		for (i = 0; i < chunk; i++) {
			const struct sn_front_stpage *pg = &s->pages[first + done + i];

			ents[i].ref = pg->gref;
			/* TX pages are only read by the backend: ask for a
			 * read-only mapping, matching their grant. */
			ents[i].flags = pg->rx ? 0 : XEN_NETIF_CTRLF_GREF_readonly;
			ents[i].status = 0;
		}
		rc = sn_front_ctrl_gref_add(s->ctrl, s->queue, ents, chunk, &status);
		count_ctrl(s, rc, status);
		if (rc) {
			for (i = 0; i < chunk; i++)
				s->pages[first + done + i].state = SN_STPAGE_UNKNOWN;
			break;
		}
		rc = status_err(status);
		if (rc)
			break;
		for (i = 0; i < chunk; i++)
			s->pages[first + done + i].state = SN_STPAGE_ADDED;
		done += chunk;
	}
	free(ents);
	return rc;
}

/* DEL every page the backend holds or may hold.  Only an explicit SUCCESS
 * for an entry makes its page NONE again; a refused entry (in flight on a
 * ring, or the backend lies) and every entry of an unanswered message stay
 * held. */
static void pages_del(struct sn_front_staging *s)
{
	struct xen_netif_gref *ents;
	uint32_t *idx;
	uint32_t i = 0;

	ents = calloc(SN_CTRL_GREFS_PER_PAGE, sizeof(*ents));
	idx = calloc(SN_CTRL_GREFS_PER_PAGE, sizeof(*idx));
	if (!ents || !idx)
		goto out;
	while (i < s->npages) {
		uint32_t n = 0, status = 0, removed = 0, k;
		int rc;

		for (; i < s->npages && n < SN_CTRL_GREFS_PER_PAGE; i++) {
			if (s->pages[i].state == SN_STPAGE_NONE)
				continue;
			ents[n].ref = s->pages[i].gref;
			ents[n].flags = s->pages[i].rx ? 0 : XEN_NETIF_CTRLF_GREF_readonly;
			idx[n++] = i;
		}
		if (!n)
			break;
		rc = sn_front_ctrl_gref_del(s->ctrl, s->queue, ents, n, &status, &removed);
		count_ctrl(s, rc, status);
		if (rc)
			continue; /* no answer: everything in it stays held */
		for (k = 0; k < n; k++)
			if (ents[k].status == XEN_NETIF_CTRL_STATUS_SUCCESS)
				s->pages[idx[k]].state = SN_STPAGE_NONE;
	}
out:
	free(ents);
	free(idx);
}

/* Return NONE pages to the platform.  A whole block goes back in one call;
 * a block with held pages returns its NONE pages one by one where the
 * platform allows it (the emulator does; real Xen's gntalloc frees whole
 * blocks only, so there they stay allocated).  shr_free itself quarantines
 * a page whose grant is still pinned.  Returns pages kept back. */
static uint32_t pages_release(struct staging_priv *sp)
{
	struct sn_front_staging *s = &sp->s;
	uint32_t kept = 0, i;
	unsigned int b;

	for (b = 0; b < sp->nblk; b++) {
		struct stblock *blk = &sp->blk[b];
		uint32_t held = 0;
		int rc;

		for (i = 0; i < blk->count; i++)
			if (s->pages[blk->first + i].state != SN_STPAGE_NONE)
				held++;
		if (!held) {
			rc = s->p->ops->shr_free(s->p, blk->addr, blk->count);
			if (rc == -EBUSY) {
				/* Which pages were pinned is the platform's
				 * business; count the block as kept back. */
				kept += blk->count;
			}
			continue;
		}
		kept += held;
		for (i = 0; i < blk->count; i++) {
			struct sn_front_stpage *pg = &s->pages[blk->first + i];

			if (pg->state != SN_STPAGE_NONE)
				continue; /* never freed: the backend may hold it */
			if (s->p->ops->shr_free(s->p, pg->addr, 1))
				kept++;
		}
	}
	return kept;
}

uint32_t sn_front_staging_destroy(struct sn_front_staging *s, bool peer_gone)
{
	struct staging_priv *sp = (struct staging_priv *)s;
	uint32_t kept, i;

	if (!s)
		return 0;
	/* Replacement grants first: the platform never frees a page that
	 * still carries one (it would hand the peer's access on). */
	for (i = 0; i < s->nslots; i++) {
		struct sn_front_stslot *sl = &s->slots[i];

		if (!sl->extra_ref)
			continue;
		if (s->p->ops->shr_revoke(s->p, sl->extra_ref) && i < s->npages)
			s->pages[i].state = SN_STPAGE_UNKNOWN;
		sl->extra_ref = 0;
	}
	if (peer_gone) {
		/* The backend disconnected, which ends every mapping it had
		 * (README "Staging grants"), and its control ring with it:
		 * nobody is left to answer a DEL.  The revoke inside shr_free
		 * is the proof that counts: a grant still mapped cannot be
		 * revoked, and the platform quarantines its page instead of
		 * freeing it. */
		for (i = 0; i < s->npages; i++)
			s->pages[i].state = SN_STPAGE_NONE;
	} else {
		pages_del(s);
	}
	kept = pages_release(sp);
	free(s->pages);
	free(s->slots);
	free(s->tx_free);
	free(s->rx_free);
	free(sp);
	return kept;
}

static int slots_build(struct sn_front_staging *s, uint32_t tx_pages, uint32_t rx_pages)
{
	uint32_t per_page = SN_PAGE_SIZE / s->slot_size, i, k, n = 0;

	s->tx_total = tx_pages * per_page;
	s->rx_total = rx_pages; /* RX always posts whole pages */
	s->nslots = s->tx_total + s->rx_total;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	s->tx_free = calloc(s->tx_total ? s->tx_total : 1, sizeof(uint32_t));
	s->rx_free = calloc(s->rx_total ? s->rx_total : 1, sizeof(uint32_t));
	if (!s->slots || !s->tx_free || !s->rx_free)
		return -ENOMEM;
	for (i = 0; i < tx_pages; i++) {
		for (k = 0; k < per_page; k++, n++) {
			s->slots[n].ptr = s->pages[i].addr + k * s->slot_size;
			s->slots[n].gref = s->pages[i].gref;
			s->slots[n].off = (uint16_t)(k * s->slot_size);
		}
	}
	for (i = 0; i < rx_pages; i++, n++) {
		s->slots[n].ptr = s->pages[tx_pages + i].addr;
		s->slots[n].gref = s->pages[tx_pages + i].gref;
		s->slots[n].off = 0;
	}
	/* Stacks filled so the lowest index is taken first (easier to read
	 * in a trace; the order has no other meaning). */
	for (i = 0; i < s->tx_total; i++)
		s->tx_free[i] = s->tx_total - 1 - i;
	s->tx_nfree = s->tx_total;
	for (i = 0; i < s->rx_total; i++)
		s->rx_free[i] = s->tx_total + s->rx_total - 1 - i;
	s->rx_nfree = s->rx_total;
	return 0;
}

int sn_front_staging_create(struct sn_plat *p, struct sn_front_ctrl *ctrl,
			    uint16_t be_domid, uint16_t queue,
			    const struct sn_front_staging_cfg *cfg,
			    struct sn_qstats *st, struct sn_front_staging **out)
{
	struct staging_priv *sp;
	struct sn_front_staging *s;
	uint32_t want, avail = 0, status = 0, tx_pages, rx_pages;
	int rc;

	*out = NULL;
	if (!cfg || cfg->policy == SN_STAGING_OFF ||
	    (!ctrl && cfg->policy != SN_STAGING_PERSIST))
		return -EINVAL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	s = &sp->s;
	s->p = p;
	s->ctrl = ctrl;
	s->st = st;
	s->queue = queue;
	s->policy = cfg->policy;
	s->slot_size = cfg->policy == SN_STAGING_HEADER ? SN_STAGING_HDR_SLOT : SN_PAGE_SIZE;
	s->be_domid = be_domid;
	if (cfg->policy == SN_STAGING_PERSIST) {
		/* No control ring: the backend learns the pool one flagged
		 * slot at a time, and a full table costs only its grant
		 * path (README "Persist flags"). */
		s->persist = cfg->persist;
		s->churn_pct = cfg->churn_pct;
		avail = UINT32_MAX;
		goto sized;
	}

	rc = sn_front_ctrl_gref_size(ctrl, queue, &avail, &status);
	count_ctrl(s, rc, status);
	if (!rc)
		rc = status_err(status);
	if (rc)
		goto err;
sized:
	want = cfg->max_pages;
	if (!want)
		want = cfg->policy == SN_STAGING_HEADER ? SN_STAGING_HDR_PAGES
							: SN_STAGING_PAGE_PAGES;
	/* GET answers the table's maximum (netif.h; an older stagenet
	 * answered what is free, the same on an empty table).  The table is
	 * empty here: one pool per queue per connection, DELed at teardown,
	 * and the backend starts every connection with empty tables.  Never
	 * ask for more than the answer, or the all-or-nothing ADD fails
	 * outright; should entries be left over anyway, the ADD fails, the
	 * queue runs on grant copies and nothing stays half-mapped. */
	if (avail < want)
		want = avail;
	if (!want) {
		rc = -ENOSPC;
		goto err;
	}
	if (cfg->policy == SN_STAGING_HEADER) {
		tx_pages = want;
		rx_pages = 0;
	} else {
		/* Half for RX, at most one ring's worth; TX takes the rest
		 * (a large packet spends several pages). */
		rx_pages = want / 2;
		if (rx_pages > SN_RX_RING_SIZE)
			rx_pages = SN_RX_RING_SIZE;
		tx_pages = want - rx_pages;
	}

	s->pages = calloc(want, sizeof(*s->pages));
	if (!s->pages) {
		rc = -ENOMEM;
		goto err;
	}
	if (tx_pages && (rc = block_alloc(sp, be_domid, tx_pages, false)))
		goto err_pool;
	if (rx_pages && (rc = block_alloc(sp, be_domid, rx_pages, true)))
		goto err_pool;
	rc = slots_build(s, tx_pages, rx_pages);
	if (rc)
		goto err_pool;
	if (cfg->policy != SN_STAGING_PERSIST) {
		rc = pages_add(s, 0, s->npages);
		if (rc)
			goto err_pool;
	}
	*out = s;
	return 0;

err_pool:
	/* DELs whatever was added; pages it cannot confirm stay allocated. */
	sn_front_staging_destroy(s, false);
	return rc;
err:
	free(sp);
	return rc;
}

void sn_front_staging_setup(struct sn_plat *p, struct sn_front_ctrl *ctrl,
			    uint16_t be_domid, uint16_t nq,
			    const struct sn_front_staging_cfg *cfg,
			    struct sn_qstats *const *st,
			    struct sn_front_staging **pools,
			    const struct sn_front_log *log,
			    struct sn_front_staging_report *rep)
{
	bool give_up = false;
	uint16_t q;

	memset(rep, 0, sizeof(*rep));
	for (q = 0; q < nq; q++)
		pools[q] = NULL;
	if (!cfg || cfg->policy == SN_STAGING_OFF)
		return;
	for (q = 0; q < nq; q++) {
		struct sn_qstats *qs = st ? st[q] : NULL;
		int rc = -EOPNOTSUPP;

		/* A backend that does not know GREF mapping for one queue
		 * knows it for none, and a control ring that went silent or
		 * lied stays that way: ask once, not nq times (each silent
		 * exchange costs a timeout). */
		if (!give_up)
			rc = sn_front_staging_create(p, ctrl, be_domid, q, cfg, qs, &pools[q]);
		if (rc == -EOPNOTSUPP || rc == -ETIMEDOUT || rc == -EPROTO || rc == -EIO ||
		    (ctrl && sn_front_ctrl_broken(ctrl)))
			give_up = true;
		if (!rc) {
			rep->staged++;
			continue;
		}
		if (!rep->fallbacks) {
			rep->first_err = rc;
			rep->first_q = q;
		}
		rep->fallbacks++;
	}
	if (rep->fallbacks)
		sn_front_logf(log, "staging grants (%s) unavailable on %u of %u queues "
			      "(queue %u: %s); those queues use the normal grant path",
			      sn_front_staging_policy_name(cfg->policy), rep->fallbacks, nq,
			      rep->first_q,
			      rep->first_err == -EOPNOTSUPP ? "backend answered NOT_SUPPORTED"
							    : strerror(-rep->first_err));
}

/* ---- a NIC's pools across connects (front/nic.h) ---------------------- */

void sn_front_queue_unstage(struct sn_front_queue *q, bool peer_gone)
{
	unsigned int i;
	uint32_t kept;

	if (!q->staging)
		return;
	kept = sn_front_staging_destroy(q->staging, peer_gone);
	q->staging = NULL;
	/* Requests still on the rings name grefs that are now deleted (and
	 * revoked, or quarantined): their answers take the normal path. */
	for (i = 0; i < SN_TX_RING_SIZE; i++)
		q->tx_stage[i] = -1;
	for (i = 0; i < SN_RX_RING_SIZE; i++)
		q->rx_stage[i] = -1;
	if (kept)
		atomic_fetch_add(&q->nic->quarantined, kept);
}

/* Orderly close: the datapath stops and every pool is deleted while the
 * backend is still connected and can answer DEL (after Closing it unmaps
 * everything and its control ring is gone). */
void sn_front_staging_release_all(struct sn_front *nic)
{
	uint16_t i;

	for (i = 0; i < nic->nq; i++) {
		struct sn_front_queue *q = &nic->q[i];

		pthread_mutex_lock(&q->lock);
		/* A persist pool has nothing to DEL: the backend unmaps it
		 * when it disconnects, and go_down frees it after that. */
		if (q->staging && q->staging->policy != SN_STAGING_PERSIST) {
			q->up = false;
			/* Collect what the backend has answered so those
			 * buffers are no longer in flight when DEL comes. */
			if (q->tx_sring && !atomic_load(&q->broken))
				sn_front_tx_gc(q);
			sn_front_queue_unstage(q, false);
		}
		pthread_mutex_unlock(&q->lock);
	}
}

void sn_front_staging_fallback(struct sn_front *nic, uint16_t queues, const char *why)
{
	atomic_fetch_add(&nic->staging_fallbacks, queues);
	if (nic->staging_said)
		return;
	nic->staging_said = true;
	sn_front_logf(&nic->cfg.log, "vif %u: staging grants (%s) unavailable: %s; "
		      "using the normal grant path", nic->devid,
		      sn_front_staging_policy_name(nic->cfg.staging), why);
}

/* Backend Connected: register a pool per queue, then post RX buffers
 * (staged ones first) on the queues that waited for it. */
void sn_front_staging_connect(struct sn_front *nic)
{
	struct sn_front_staging *pools[SN_FRONT_MAX_QUEUES] = { 0 };
	struct sn_front_staging_cfg scfg = { .policy = nic->cfg.staging,
					     .max_pages = nic->cfg.staging_pages,
					     .persist = nic->persist_on,
					     .churn_pct = nic->cfg.persist_churn_pct };
	struct sn_qstats *st[SN_FRONT_MAX_QUEUES];
	struct sn_front_staging_report rep = { 0 };
	uint16_t i;

	if (nic->ctrl || nic->cfg.staging == SN_STAGING_PERSIST) {
		for (i = 0; i < nic->nq; i++)
			st[i] = nic->q[i].st;
		sn_front_staging_setup(nic->plat, nic->ctrl, nic->be_domid, nic->nq, &scfg, st,
				       pools, nic->staging_said ? NULL : &nic->cfg.log, &rep);
		if (rep.fallbacks) {
			nic->staging_said = true;
			atomic_fetch_add(&nic->staging_fallbacks, rep.fallbacks);
		}
	}
	for (i = 0; i < nic->nq; i++) {
		struct sn_front_queue *q = &nic->q[i];

		pthread_mutex_lock(&q->lock);
		q->staging = pools[i];
		if (q->rx_deferred) {
			q->rx_deferred = false;
			sn_front_rx_refill(q);
		}
		pthread_mutex_unlock(&q->lock);
	}
}

/* ---- persist churn (README "Persist flags") ---------------------------- */

/* Retire n slots of [first, first + count), round robin from *cursor. */
static void churn_mark(struct sn_front_staging *s, uint32_t first, uint32_t count,
		       uint32_t *cursor, uint64_t n)
{
	for (uint32_t tries = 0; n && tries < count; tries++) {
		struct sn_front_stslot *sl = &s->slots[first + *cursor];

		*cursor = (*cursor + 1) % count;
		if (sl->pstate != SN_STSLOT_KEEP)
			continue;
		sl->pstate = SN_STSLOT_RETIRE;
		n--;
	}
}

void sn_front_staging_churn(struct sn_front_staging *s)
{
	const uint32_t first[2] = { 0, s->tx_total }, count[2] = { s->tx_total, s->rx_total };
	struct timespec ts;
	uint64_t now, dt;

	if (!s->persist || !s->churn_pct || !s->nslots)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (!s->churn_last_ms) {
		s->churn_last_ms = now;
		return;
	}
	if (now - s->churn_last_ms < 10)
		return;
	/* A gap longer than a second (idle queue) is not made up. */
	dt = now - s->churn_last_ms > 1000 ? 1000 : now - s->churn_last_ms;
	s->churn_last_ms = now;
	/* TX and RX slots each churn at the rate, so a one-way load sees
	 * its own half retired at churn_pct.  Slots per ms = count * pct /
	 * 100000; the remainder carries over so low rates come out right
	 * over a second. */
	for (int h = 0; h < 2; h++) {
		if (!count[h])
			continue;
		s->churn_acc[h] += (uint64_t)count[h] * s->churn_pct * dt;
		churn_mark(s, first[h], count[h], &s->churn_cursor[h],
			   s->churn_acc[h] / 100000u);
		s->churn_acc[h] %= 100000u;
	}
}

void sn_front_staging_replace(struct sn_front_staging *s, int idx)
{
	struct sn_front_stslot *sl = &s->slots[idx];
	uint32_t ref = 0;

	sl->pstate = SN_STSLOT_KEEP;
	if (s->st)
		sn_qstat_add(s->st, SN_QS_persist_retired, 1);
	if (s->p->ops->shr_grant(s->p, s->be_domid, sl->ptr, (uint32_t)idx >= s->tx_total,
				 &ref))
		return;
	/* The old replacement grant ends here: the backend unmapped it
	 * before answering the flag-less use.  If it did not, the revoke
	 * fails and the platform keeps the page from being freed later. */
	if (sl->extra_ref)
		(void)s->p->ops->shr_revoke(s->p, sl->extra_ref);
	sl->extra_ref = ref;
	sl->gref = ref;
}
