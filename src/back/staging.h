/* The per-queue staging table: grefs the frontend asked us to keep mapped,
 * over the control ring (ADD_GREF_MAPPING) or by persist flags on the data
 * rings (persist.c), keyed by gref, so the datapath can memcpy through a
 * standing mapping instead of a grant copy or map/unmap (README "Staging
 * grants", "Persist flags"). */
#ifndef SN_BACK_STAGING_H
#define SN_BACK_STAGING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "stagenet/plat.h"

/* Entries per queue when `--staging-max` is not given: two rings' worth of
 * 256 slots each plus headroom for header-only pools (4 x 256).  0 turns
 * the feature off (GET/ADD/DEL answer NOT_SUPPORTED). */
#define SN_BACK_STAGING_DEFAULT 1024u
/* Largest accepted --staging-max: every entry is a standing mapping (an
 * mmap on the emulated host, a maptrack entry on Xen). */
#define SN_BACK_STAGING_LIMIT 65536u

/* One staged gref.  `state` (SN_GREF_LIVE or 0) is written by the control
 * path; `refs`, the in-flight count, only by the queue's datapath thread,
 * with plain loads and stores: no locked instruction per slot.  The two
 * sides order "announce, then look" against each other as Dekker's
 * algorithm does, the datapath with a compiler barrier only and the rare
 * writer with a process-wide barrier (membarrier) that stands in for the
 * datapath's missing fence (sn_gref_table_get, del_locked).  gref is
 * atomic because a lookup reads it while the control path may reuse the
 * entry; addr and readonly are published by the release store of `state`
 * and read only after an acquire on it. */
#define SN_GREF_LIVE 1u
struct sn_gref_ent {
	_Atomic uint32_t state;
	_Atomic uint32_t refs;
	_Atomic uint32_t gref;
	bool readonly;
	/* Mapped by a persist-flagged slot (not by ADD): a slot naming it
	 * without the flag unmaps it (sn_gref_table_retire_mark). */
	bool persist;
	void *addr;
};

/* Persist entries a slot dropped the flag on, unmapped after the batch:
 * at most one per data slot of a TX batch (32 x 19) or an RX batch
 * (32 x 17), flushed after every batch. */
#define SN_GREF_RETIRE_MAX 1024u

struct sn_back_gref_table {
	struct sn_plat *plat;
	uint16_t domid; /* the granting frontend */
	uint32_t max;
	/* Serialises add/del/unmap_all (the writers).  Lookups never take
	 * it: they tolerate a concurrent writer by at worst missing an entry
	 * that is being added, moved or removed, which sends that slot down
	 * the normal grant path (registration is only an optimisation). */
	pthread_mutex_t lock;
	_Atomic uint32_t count; /* live entries */
	struct sn_gref_ent *ent; /* max entries, stable addresses */
	uint32_t *free_stack;    /* indices of unused entries (writers only) */
	uint32_t nfree;
	/* Open-addressing index: 1 + entry index, 0 = empty.  Capacity is a
	 * power of two >= 2 * max, so probe chains stay short. */
	_Atomic uint32_t *idx;
	uint32_t mask;
	/* Random odd multiplier: grefs come from the frontend, so the hash
	 * is keyed to keep a hostile frontend from choosing colliding grefs
	 * and turning lookups linear. */
	uint32_t mult;
	unsigned int shift;
	/* membarrier(PRIVATE_EXPEDITED) is registered: the datapath may skip
	 * its fence.  Without it (old kernel, seccomp) the datapath fences. */
	bool asym;
	/* Datapath only (the queue's one thread): grefs whose persist entry
	 * a slot of the current batch named without the flag. */
	uint32_t retire[SN_GREF_RETIRE_MAX];
	uint32_t nretire;
};

/* ADD entry: what the frontend's xen_netif_gref list says, privately
 * copied. */
struct sn_gref_add {
	uint32_t gref;
	bool readonly;
};

/* max in 1..SN_BACK_STAGING_LIMIT.  Allocates everything the table will
 * ever need; nothing is allocated on the datapath. */
int sn_gref_table_create(struct sn_plat *plat, uint16_t fe_domid, uint32_t max,
			 struct sn_back_gref_table **out);
/* Unmaps whatever is still mapped, frees. */
void sn_gref_table_destroy(struct sn_back_gref_table *t);

static inline uint32_t sn_gref_table_count(const struct sn_back_gref_table *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

/* Free entries: what one more ADD may still take. */
static inline uint32_t sn_gref_table_free(const struct sn_back_gref_table *t)
{
	return t->max - sn_gref_table_count(t);
}

/* All or nothing.  One gnt_map call per permission class (the platform
 * maps a batch with one permission): one for the writable entries, one
 * for the read-only ones.  Returns 0, or with nothing changed:
 * -EINVAL n == 0, -ENOSPC more than the free entries, -EEXIST a
 * duplicate within the list or a gref already present, -EIO some entry
 * could not be mapped (every entry that did map is unmapped again; the
 * failed ones' GNTST codes are in map_status when it is not NULL).
 * -ENOMEM if scratch memory cannot be had. */
int sn_gref_table_add(struct sn_back_gref_table *t, uint32_t n,
		      const struct sn_gref_add *ents, int16_t *map_status);

/* Removes each gref that is present and not in flight, unmapping the
 * removed ones in one gnt_unmap call.  status[i] gets
 * XEN_NETIF_CTRL_STATUS_SUCCESS or _INVALID_PARAMETER (not present, or
 * still in flight: the entry stays).  Returns the number removed. */
uint32_t sn_gref_table_del(struct sn_back_gref_table *t, uint32_t n,
			   const uint32_t *grefs, uint16_t *status);

/* Datapath lookup, from the queue's one datapath thread only: the entry
 * for gref if present and its permission fits (writable = we will write
 * into it, so a read-only entry does not fit), with its in-flight count
 * raised; NULL otherwise.  O(1) expected, no allocation, no lock, no
 * locked instruction.  Every non-NULL result needs sn_gref_table_put. */
struct sn_gref_ent *sn_gref_table_get(struct sn_back_gref_table *t,
				      uint32_t gref, bool writable);

/* The datapath thread, the count's only writer. */
static inline void sn_gref_table_put(struct sn_gref_ent *e)
{
	/* Release: our reads/writes of the page complete before DEL may
	 * see the count drop and unmap it. */
	atomic_store_explicit(&e->refs, atomic_load_explicit(&e->refs, memory_order_relaxed) - 1,
			      memory_order_release);
}

/* Persist flag, first sight of gref (README "Persist flags"): map it
 * (writable for RX, read-only for TX), insert it as a persist entry and
 * return it in *out with its in-flight reference taken, as get does.  With
 * nothing changed: -EEXIST the gref is present (with a permission that
 * does not fit, or being removed), -ENOSPC the table is full, -EIO the map
 * failed.  Takes the writers' lock: first sight is not the steady state. */
int sn_gref_table_persist(struct sn_back_gref_table *t, uint32_t gref,
			  bool writable, struct sn_gref_ent **out);

/* A slot named held entry e without the flag: if e is a persist entry,
 * remember to unmap it after the batch (only a slot's own batch can
 * decide: a later slot with the flag cancels it).  ADDed entries are left
 * alone, only DEL removes them.  false when the list is full (the entry
 * then stays mapped). */
bool sn_gref_table_retire_mark(struct sn_back_gref_table *t,
			       const struct sn_gref_ent *e);
/* A flagged slot hit gref: it stays persisted after all. */
void sn_gref_table_retire_cancel(struct sn_back_gref_table *t, uint32_t gref);
/* After the batch's references are dropped, before its responses are
 * published: unmap the marked persist entries in one gnt_unmap call.
 * Returns the number unmapped.  An entry still in flight stays marked. */
uint32_t sn_gref_table_retire_flush(struct sn_back_gref_table *t);

/* Teardown: unmap every entry (one gnt_unmap call).  The datapath must be
 * stopped: an entry still in flight is unmapped anyway and counted in the
 * return value (which is otherwise 0) as a caller bug. */
uint32_t sn_gref_table_unmap_all(struct sn_back_gref_table *t);

#endif /* SN_BACK_STAGING_H */
