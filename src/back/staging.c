/* The per-queue staging table (see staging.h): a fixed pool of entries and
 * an open-addressing index over it, written by the control path under a
 * mutex, read lock-free by the queue's datapath. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "back/staging.h"
#include "proto/ring.h"


static uint32_t random_odd(const void *salt)
{
	uint32_t r = 0;

	/* A missing entropy source only weakens collision resistance, it
	 * breaks nothing: fall back to the clock and an address. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)(uintptr_t)salt;
	}
	return r | 1u;
}

static inline uint32_t home_of(const struct sn_back_gref_table *t, uint32_t gref)
{
	return (uint32_t)(gref * t->mult) >> t->shift & t->mask;
}

int sn_gref_table_create(struct sn_plat *plat, uint16_t fe_domid, uint32_t max,
			 struct sn_back_gref_table **out)
{
	struct sn_back_gref_table *t;
	unsigned int bits = 1;
	int rc;

	if (max == 0 || max > SN_BACK_STAGING_LIMIT)
		return -EINVAL;
	while ((1u << bits) < 2 * max)
		bits++;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->plat = plat;
	t->domid = fe_domid;
	t->max = max;
	t->mask = (1u << bits) - 1;
	t->shift = 32 - bits;
	t->mult = random_odd(t);
	/* Idempotent per process; refused by kernels before 4.14. */
	t->asym = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	rc = pthread_mutex_init(&t->lock, NULL);
	if (rc) {
		free(t);
		return -rc;
	}
	t->ent = calloc(max, sizeof(*t->ent));
	t->free_stack = calloc(max, sizeof(*t->free_stack));
	t->idx = calloc((size_t)t->mask + 1, sizeof(*t->idx));
	if (!t->ent || !t->free_stack || !t->idx) {
		rc = -ENOMEM;
		goto err;
	}
	for (uint32_t i = 0; i < max; i++)
		t->free_stack[i] = max - 1 - i; /* entry 0 handed out first */
	t->nfree = max;
	*out = t;
	return 0;

err:
	free(t->idx);
	free(t->free_stack);
	free(t->ent);
	pthread_mutex_destroy(&t->lock);
	free(t);
	return rc;
}

void sn_gref_table_destroy(struct sn_back_gref_table *t)
{
	if (!t)
		return;
	sn_gref_table_unmap_all(t);
	free(t->idx);
	free(t->free_stack);
	free(t->ent);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* Writers only (lock held): index position of gref, or -1. */
static int64_t find_pos(const struct sn_back_gref_table *t, uint32_t gref)
{
	uint32_t i = home_of(t, gref);

	for (;;) {
		uint32_t v = atomic_load_explicit(&t->idx[i], memory_order_relaxed);

		if (!v)
			return -1;
		if (atomic_load_explicit(&t->ent[v - 1].gref,
					 memory_order_relaxed) == gref)
			return i;
		i = (i + 1) & t->mask;
	}
}

static void index_insert(struct sn_back_gref_table *t, uint32_t gref, uint32_t e)
{
	uint32_t i = home_of(t, gref);

	/* Never full: capacity >= 2 * max. */
	while (atomic_load_explicit(&t->idx[i], memory_order_relaxed))
		i = (i + 1) & t->mask;
	atomic_store_explicit(&t->idx[i], e + 1, memory_order_release);
}

/* Backward-shift deletion: no tombstones, so chains never degrade.  A
 * lookup racing the shift may miss an entry for a moment (harmless, see
 * the lock comment in staging.h); it can never find a wrong one, since it
 * re-checks the gref after taking its reference. */
static void index_remove(struct sn_back_gref_table *t, uint32_t pos)
{
	uint32_t i = pos, j;

	for (j = (i + 1) & t->mask;; j = (j + 1) & t->mask) {
		uint32_t v = atomic_load_explicit(&t->idx[j], memory_order_relaxed);
		uint32_t home;

		if (!v)
			break;
		home = home_of(t, atomic_load_explicit(&t->ent[v - 1].gref,
						       memory_order_relaxed));
		/* Move j back into the hole unless its home lies cyclically
		 * in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			atomic_store_explicit(&t->idx[i], v, memory_order_release);
			i = j;
		}
	}
	atomic_store_explicit(&t->idx[i], 0, memory_order_release);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Map the entries of one permission class with one gnt_map call. */
static int map_class(struct sn_back_gref_table *t, uint32_t n,
		     const struct sn_gref_add *ents, bool readonly,
		     uint32_t *pos, uint16_t *doms, uint32_t *refs,
		     void **addrs, int16_t *st, void **addr_out,
		     int16_t *st_out)
{
	uint32_t k = 0;
	int rc;

	for (uint32_t i = 0; i < n; i++) {
		if (ents[i].readonly != readonly)
			continue;
		pos[k] = i;
		doms[k] = t->domid;
		refs[k] = ents[i].gref;
		addrs[k] = NULL;
		st[k] = GNTST_general_error;
		k++;
	}
	if (!k)
		return 0;
	rc = t->plat->ops->gnt_map(t->plat, k, doms, refs, !readonly, addrs, st);
	for (uint32_t j = 0; j < k; j++) {
		bool ok = !rc && st[j] == GNTST_okay && addrs[j];

		addr_out[pos[j]] = ok ? addrs[j] : NULL;
		st_out[pos[j]] = ok ? GNTST_okay :
				 (st[j] != GNTST_okay ? st[j] : GNTST_general_error);
		/* A failed call may still have mapped some: keep them so the
		 * caller unmaps them. */
		if (rc && st[j] == GNTST_okay && addrs[j])
			addr_out[pos[j]] = addrs[j];
	}
	return rc;
}

int sn_gref_table_add(struct sn_back_gref_table *t, uint32_t n,
		      const struct sn_gref_add *ents, int16_t *map_status)
{
	uint32_t *sorted = NULL, *pos = NULL, *refs = NULL;
	uint16_t *doms = NULL;
	void **addrs = NULL, **mapped = NULL;
	int16_t *st = NULL, *st_out = NULL;
	bool failed = false;
	int rc;

	if (n == 0)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	if (n > t->nfree) {
		rc = -ENOSPC;
		goto out;
	}
	sorted = malloc(n * sizeof(*sorted));
	pos = malloc(n * sizeof(*pos));
	refs = malloc(n * sizeof(*refs));
	doms = malloc(n * sizeof(*doms));
	addrs = malloc(n * sizeof(*addrs));
	mapped = calloc(n, sizeof(*mapped));
	st = malloc(n * sizeof(*st));
	st_out = malloc(n * sizeof(*st_out));
	if (!sorted || !pos || !refs || !doms || !addrs || !mapped || !st ||
	    !st_out) {
		rc = -ENOMEM;
		goto out;
	}

	/* Duplicates within the list would map one grant twice and leave a
	 * second, unreachable entry pinning it. */
	for (uint32_t i = 0; i < n; i++)
		sorted[i] = ents[i].gref;
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	for (uint32_t i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1]) {
			rc = -EEXIST;
			goto out;
		}
	for (uint32_t i = 0; i < n; i++)
		if (find_pos(t, ents[i].gref) >= 0) {
			rc = -EEXIST;
			goto out;
		}

	rc = map_class(t, n, ents, false, pos, doms, refs, addrs, st, mapped,
		       st_out);
	if (!rc)
		rc = map_class(t, n, ents, true, pos, doms, refs, addrs, st,
			       mapped, st_out);
	else
		for (uint32_t i = 0; i < n; i++)
			if (ents[i].readonly)
				st_out[i] = GNTST_general_error;
	for (uint32_t i = 0; i < n; i++)
		if (rc || !mapped[i])
			failed = true;
	if (map_status)
		memcpy(map_status, st_out, n * sizeof(*st_out));
	if (failed) {
		uint32_t k = 0;

		/* All or nothing: give back what did map. */
		for (uint32_t i = 0; i < n; i++)
			if (mapped[i])
				addrs[k++] = mapped[i];
		if (k)
			t->plat->ops->gnt_unmap(t->plat, k, addrs, st);
		rc = -EIO;
		goto out;
	}

	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = t->free_stack[--t->nfree];
		struct sn_gref_ent *ent = &t->ent[e];

		ent->addr = mapped[i];
		ent->readonly = ents[i].readonly;
		atomic_store_explicit(&ent->gref, ents[i].gref,
				      memory_order_relaxed);
		/* Publishes addr/readonly/gref to a lookup that acquires
		 * state. */
		atomic_store_explicit(&ent->state, SN_GREF_LIVE, memory_order_release);
		index_insert(t, ents[i].gref, e);
	}
	atomic_fetch_add_explicit(&t->count, n, memory_order_relaxed);
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	free(st_out);
	free(st);
	free(mapped);
	free(addrs);
	free(doms);
	free(refs);
	free(pos);
	free(sorted);
	return rc;
}

/* Remove each gref that is present, not in flight and (persist_only) a
 * persist entry; unmap the removed ones in one gnt_unmap call.  status may
 * be NULL.  Lock held. */
/* The writer's half of the Dekker pairing with sn_gref_table_get: after
 * it, every datapath thread either sees the states stored before it or
 * has its in-flight counts visible to the loads after it.  False: no
 * such guarantee could be had (the caller keeps every entry). */
static bool writer_barrier(const struct sn_back_gref_table *t)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!t->asym)
		return true; /* the datapath fences itself */
	return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

static uint32_t del_locked(struct sn_back_gref_table *t, uint32_t n,
			   const uint32_t *grefs, uint16_t *status,
			   bool persist_only, void **addrs, int16_t *st)
{
	uint32_t removed = 0, killed = 0;
	bool safe;

	if (!addrs || !st) {
		for (uint32_t i = 0; status && i < n; i++)
			status[i] = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		return 0;
	}
	/* First every candidate dies (no lookup can return it from now on),
	 * then one barrier for the whole list, then the ones a datapath
	 * still holds come back to life: in flight, they stay. */
	for (uint32_t i = 0; i < n; i++) {
		int64_t p = find_pos(t, grefs[i]);
		struct sn_gref_ent *ent;
		uint32_t live = SN_GREF_LIVE;

		addrs[i] = NULL;
		if (status)
			status[i] = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		if (p < 0)
			continue;
		ent = &t->ent[atomic_load_explicit(&t->idx[p], memory_order_relaxed) - 1];
		if (persist_only && !ent->persist)
			continue;
		/* A duplicate in the list finds it dead already. */
		if (!atomic_compare_exchange_strong_explicit(&ent->state, &live, 0,
							     memory_order_seq_cst,
							     memory_order_relaxed))
			continue;
		addrs[i] = ent;
		killed++;
	}
	safe = killed && writer_barrier(t);
	for (uint32_t i = 0; killed && i < n; i++) {
		struct sn_gref_ent *ent = addrs[i];
		uint32_t e;

		if (!ent)
			continue;
		/* Acquire: the datapath's page accesses before its put are
		 * done before we unmap. */
		if (!safe || atomic_load_explicit(&ent->refs, memory_order_acquire)) {
			atomic_store_explicit(&ent->state, SN_GREF_LIVE, memory_order_release);
			continue;
		}
		e = (uint32_t)(ent - t->ent);
		index_remove(t, (uint32_t)find_pos(t, atomic_load_explicit(&ent->gref,
									    memory_order_relaxed)));
		/* removed <= i: this overwrites only slots already read. */
		addrs[removed++] = ent->addr;
		ent->addr = NULL;
		ent->persist = false;
		t->free_stack[t->nfree++] = e;
		if (status)
			status[i] = XEN_NETIF_CTRL_STATUS_SUCCESS;
	}
	if (removed) {
		atomic_fetch_sub_explicit(&t->count, removed, memory_order_relaxed);
		t->plat->ops->gnt_unmap(t->plat, removed, addrs, st);
	}
	return removed;
}

uint32_t sn_gref_table_del(struct sn_back_gref_table *t, uint32_t n,
			   const uint32_t *grefs, uint16_t *status)
{
	void **addrs;
	int16_t *st;
	uint32_t removed;

	addrs = malloc((n ? n : 1) * sizeof(*addrs));
	st = malloc((n ? n : 1) * sizeof(*st));
	pthread_mutex_lock(&t->lock);
	removed = del_locked(t, n, grefs, status, false, addrs, st);
	pthread_mutex_unlock(&t->lock);
	free(st);
	free(addrs);
	return removed;
}

int sn_gref_table_persist(struct sn_back_gref_table *t, uint32_t gref,
			  bool writable, struct sn_gref_ent **out)
{
	uint16_t dom = t->domid;
	int16_t st = GNTST_general_error;
	void *addr = NULL;
	struct sn_gref_ent *ent;
	uint32_t e;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&t->lock);
	if (find_pos(t, gref) >= 0) {
		rc = -EEXIST;
		goto out;
	}
	if (!t->nfree) {
		rc = -ENOSPC;
		goto out;
	}
	rc = t->plat->ops->gnt_map(t->plat, 1, &dom, &gref, writable, &addr, &st);
	if (rc || st != GNTST_okay || !addr) {
		if (!rc && st == GNTST_okay && addr)
			t->plat->ops->gnt_unmap(t->plat, 1, &addr, &st);
		rc = -EIO;
		goto out;
	}
	e = t->free_stack[--t->nfree];
	ent = &t->ent[e];
	ent->addr = addr;
	ent->readonly = !writable;
	ent->persist = true;
	atomic_store_explicit(&ent->gref, gref, memory_order_relaxed);
	/* Live with our one in-flight reference (we are the datapath, the
	 * count's only writer, and the entry was free, so no lookup holds
	 * it): no DEL can unmap it under the slot that is about to use it. */
	atomic_store_explicit(&ent->refs, 1u, memory_order_relaxed);
	atomic_store_explicit(&ent->state, SN_GREF_LIVE, memory_order_release);
	index_insert(t, gref, e);
	atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
	*out = ent;
	rc = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool sn_gref_table_retire_mark(struct sn_back_gref_table *t,
			       const struct sn_gref_ent *e)
{
	if (!e->persist)
		return true;
	if (t->nretire >= SN_GREF_RETIRE_MAX)
		return false;
	t->retire[t->nretire++] = atomic_load_explicit(&e->gref, memory_order_relaxed);
	return true;
}

void sn_gref_table_retire_cancel(struct sn_back_gref_table *t, uint32_t gref)
{
	uint32_t i = 0;

	/* Linear, but only while the batch has retirements pending (churn,
	 * not the steady state). */
	while (i < t->nretire) {
		if (t->retire[i] == gref)
			t->retire[i] = t->retire[--t->nretire];
		else
			i++;
	}
}

uint32_t sn_gref_table_retire_flush(struct sn_back_gref_table *t)
{
	void *addrs[SN_GREF_RETIRE_MAX];
	int16_t st[SN_GREF_RETIRE_MAX];
	uint16_t status[SN_GREF_RETIRE_MAX];
	uint32_t removed, n = t->nretire, keep = 0;

	if (!n)
		return 0;
	pthread_mutex_lock(&t->lock);
	removed = del_locked(t, n, t->retire, status, true, addrs, st);
	pthread_mutex_unlock(&t->lock);
	/* Still in flight (a reference this thread does not hold: none
	 * today, but a later batch must not lose the retirement), or gone
	 * already (a duplicate mark, a DEL): only the first kind stays. */
	for (uint32_t i = 0; i < n; i++) {
		struct sn_gref_ent *e;

		if (status[i] == XEN_NETIF_CTRL_STATUS_SUCCESS)
			continue;
		e = sn_gref_table_get(t, t->retire[i], false);
		if (!e)
			continue;
		if (e->persist)
			t->retire[keep++] = t->retire[i];
		sn_gref_table_put(e);
	}
	t->nretire = keep;
	return removed;
}

struct sn_gref_ent *sn_gref_table_get(struct sn_back_gref_table *t,
				      uint32_t gref, bool writable)
{
	uint32_t i = home_of(t, gref);

	/* Bounded by the capacity even if a writer keeps the index busy. */
	for (uint32_t probes = 0; probes <= t->mask; probes++) {
		uint32_t v = atomic_load_explicit(&t->idx[i], memory_order_acquire);
		struct sn_gref_ent *e;
		uint32_t r;

		if (!v)
			return NULL;
		e = &t->ent[v - 1];
		if (atomic_load_explicit(&e->gref, memory_order_relaxed) != gref) {
			i = (i + 1) & t->mask;
			continue;
		}
		r = atomic_load_explicit(&e->refs, memory_order_relaxed);
		if (r == UINT32_MAX)
			return NULL;
		/* Announce, then look (Dekker, against del_locked's kill then
		 * barrier then count): either DEL sees this count, or we see
		 * its kill.  The CPU may still order our load before our
		 * store; DEL's membarrier closes that, so only the compiler
		 * needs holding here. */
		atomic_store_explicit(&e->refs, r + 1, memory_order_relaxed);
		if (t->asym)
			atomic_signal_fence(memory_order_seq_cst);
		else
			atomic_thread_fence(memory_order_seq_cst);
		/* The entry may have died, or been deleted and reused for
		 * another gref since our gref check; the acquire makes the
		 * current gref, addr and permission visible. */
		if (atomic_load_explicit(&e->state, memory_order_acquire) != SN_GREF_LIVE ||
		    atomic_load_explicit(&e->gref, memory_order_relaxed) != gref ||
		    (writable && e->readonly)) {
			sn_gref_table_put(e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

uint32_t sn_gref_table_unmap_all(struct sn_back_gref_table *t)
{
	uint32_t busy = 0, k = 0;
	void **addrs;
	int16_t *st;

	pthread_mutex_lock(&t->lock);
	addrs = malloc(t->max * sizeof(*addrs));
	st = malloc(t->max * sizeof(*st));
	for (uint32_t e = 0; e < t->max; e++) {
		struct sn_gref_ent *ent = &t->ent[e];
		uint32_t s = atomic_exchange_explicit(&ent->state, 0,
						      memory_order_acquire);

		if (s != SN_GREF_LIVE)
			continue;
		/* The datapath has stopped (the caller joined it). */
		if (atomic_load_explicit(&ent->refs, memory_order_acquire))
			busy++;
		atomic_store_explicit(&ent->refs, 0, memory_order_relaxed);
		if (addrs && st) {
			addrs[k++] = ent->addr;
		} else {
			int16_t one;

			t->plat->ops->gnt_unmap(t->plat, 1, &ent->addr, &one);
		}
		ent->addr = NULL;
		ent->persist = false;
	}
	if (k)
		t->plat->ops->gnt_unmap(t->plat, k, addrs, st);
	t->nretire = 0;
	memset((void *)t->idx, 0, ((size_t)t->mask + 1) * sizeof(*t->idx));
	for (uint32_t i = 0; i < t->max; i++)
		t->free_stack[i] = t->max - 1 - i;
	t->nfree = t->max;
	atomic_store_explicit(&t->count, 0, memory_order_relaxed);
	pthread_mutex_unlock(&t->lock);
	free(st);
	free(addrs);
	return busy;
}
