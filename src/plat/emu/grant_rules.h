/* The grant-entry rules of the emulated hypervisor on one v1 entry: pin and
 * unpin (Xen's _set_status_v1 and its release), grant and revoke (the guest
 * side, as Linux's gnttab does it).  Pure functions on a sn_emu_gt_view so
 * tests can drive every rule on a plain in-memory table. */
#ifndef STAGENET_EMU_GRANT_RULES_H
#define STAGENET_EMU_GRANT_RULES_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "plat/emu/emu.h"

/* Xen gives up when "retries++ == 4": five cmpxchg attempts in all. */
#define SN_GT_PIN_RETRIES 4
/* How long a pin waits for the entry lock.  Holders keep it for a few
 * instructions; only a holder descheduled meanwhile (or, on a plain table
 * whose lock lives in active[], a granter scribbling on it) keeps it
 * longer, and then the pin fails like an unstable entry instead of
 * stalling the caller's datapath. */
#define SN_GT_PIN_LOCK_NS (10 * 1000 * 1000)
/* Unpin waits longer: giving up leaves the entry pinned (the safe side:
 * the granter cannot reuse the page), but it leaks the pin.  The emulated
 * host's locks are the grantee's own (sn_emu_gt_view.locks), so a granter
 * cannot make an unpin wait at all: this bound only matters if one of the
 * grantee's threads stalls mid-pin, and each expiry is counted. */
#define SN_GT_UNPIN_LOCK_NS (1000 * 1000 * 1000)
/* A granter's revoke loses a cmpxchg only to a pinner or to a peer
 * scribbling on the table; bound it so a hostile peer cannot hang us. */
#define SN_GT_REVOKE_TRIES 64

/* flags and domid are one 32-bit word so a pin validates the domid in the
 * same atomic step that sets GTF_reading (Xen's grant_combo). */
union sn_gt_combo {
	uint32_t raw;
	struct {
		uint16_t flags;
		domid_t domid;
	};
};

/* Test hook: called before every pin cmpxchg, so a test can play a racing
 * granter deterministically.  NULL in production (folded away inline). */
typedef void (*sn_gt_race_fn)(grant_entry_v1_t *ent, void *arg);

static inline uint32_t *sn_gt_word(grant_entry_v1_t *ent)
{
	return (uint32_t *)(void *)ent;
}

static inline uint64_t sn_gt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The lock of entry ref: the grantee's private stripe when the view has
 * them, never a word the granter can hold. */
static inline _Atomic uint32_t *sn_gt_lock_of(const struct sn_emu_gt_view *gt, uint32_t ref)
{
	return gt->locks ? &gt->locks[ref % SN_EMU_PIN_LOCKS] : &gt->active[ref].lock;
}

static inline bool sn_gt_lock(_Atomic uint32_t *lock, uint64_t budget_ns)
{
	uint64_t deadline = 0;

	for (unsigned int i = 0;; i++) {
		uint32_t free_ = 0;

		/* Acquire: the pin counters and entry flags we read next were
		 * last written by the previous holder before its release. */
		if (atomic_load_explicit(lock, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(lock, &free_, 1, memory_order_acquire,
							  memory_order_relaxed))
			return true;
		if (i < 64)
			continue;
		if (!deadline)
			deadline = sn_gt_now_ns() + budget_ns;
		else if (sn_gt_now_ns() > deadline)
			return false;
		sched_yield();
	}
}

static inline void sn_gt_unlock(_Atomic uint32_t *lock)
{
	/* Release: our counter and flag updates are visible to the next
	 * holder before it sees the lock free. */
	atomic_store_explicit(lock, 0, memory_order_release);
}

/* Pin entry `ref` for domain `self`: set GTF_reading (and GTF_writing for
 * write access) with a bounded cmpxchg loop that re-validates type, domid
 * and readonly on every attempt, then count the pin.  Returns a GNTST_*
 * code; on failure nothing changed.  *lock_timeout (if given) is set when
 * the failure was the entry lock's bound. */
static inline int16_t sn_gt_pin_do(const struct sn_emu_gt_view *gt, uint32_t ref, domid_t self,
				   bool write, sn_gt_race_fn race, void *arg, bool *lock_timeout)
{
	grant_entry_v1_t *ent;
	struct sn_emu_active *act;
	_Atomic uint32_t *lock;
	union sn_gt_combo cur, want;
	int16_t rc = GNTST_okay;

	if (ref >= gt->nr_entries)
		return GNTST_bad_gntref;
	ent = &gt->entries[ref];
	act = &gt->active[ref];
	lock = sn_gt_lock_of(gt, ref);
	if (!sn_gt_lock(lock, SN_GT_PIN_LOCK_NS)) {
		if (lock_timeout)
			*lock_timeout = true;
		return GNTST_general_error;
	}

	/* Acquire pairs with the granter's release store of flags: domid
	 * (same word) and frame (read by the caller after the pin) are the
	 * values the granter wrote before publishing the type. */
	cur.raw = __atomic_load_n(sn_gt_word(ent), __ATOMIC_ACQUIRE);
	for (unsigned int retries = 0;; retries++) {
		/* Xen checks type and domid only when the entry is not yet
		 * pinned; checking always is stricter and only differs for a
		 * granter that rewrote a pinned entry, which Xen ignores and
		 * we refuse. */
		if ((cur.flags & GTF_type_mask) != GTF_permit_access || cur.domid != self) {
			rc = GNTST_general_error; /* Xen: "Bad flags or dom" */
			goto out;
		}
		want = cur;
		want.flags |= GTF_reading;
		if (write) {
			if (cur.flags & GTF_readonly) {
				rc = GNTST_general_error; /* "write-pin a r/o grant" */
				goto out;
			}
			want.flags |= GTF_writing;
		}
		if (race)
			race(ent, arg);
		/* Acq_rel: on success the page accesses that follow cannot be
		 * hoisted above the pin; on failure cur gets the fresh word. */
		if (__atomic_compare_exchange_n(sn_gt_word(ent), &cur.raw, want.raw, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
		if (retries == SN_GT_PIN_RETRIES) {
			rc = GNTST_general_error; /* "Shared grant entry is unstable" */
			goto out;
		}
	}
	if (write)
		atomic_fetch_add_explicit(&act->wr_pins, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&act->rd_pins, 1, memory_order_relaxed);
out:
	sn_gt_unlock(lock);
	return rc;
}

static inline int16_t sn_gt_pin_ex(const struct sn_emu_gt_view *gt, uint32_t ref, domid_t self,
				   bool write, sn_gt_race_fn race, void *arg)
{
	return sn_gt_pin_do(gt, ref, self, write, race, arg, NULL);
}

static inline int16_t sn_gt_pin(const struct sn_emu_gt_view *gt, uint32_t ref, domid_t self,
				bool write)
{
	return sn_gt_pin_ex(gt, ref, self, write, NULL, NULL);
}

/* The frame of a pinned entry, read once: the granter may rewrite it at
 * any time, so the caller validates this copy and uses nothing else. */
static inline uint32_t sn_gt_frame(const struct sn_emu_gt_view *gt, uint32_t ref)
{
	return __atomic_load_n(&gt->entries[ref].frame, __ATOMIC_RELAXED);
}

/* Drop one pin; the last pin of a kind clears its flag.  The counters live
 * in the granter's memory, so a corrupted count saturates at zero instead
 * of wrapping (only the granter's own revokes can suffer from it).
 * Returns false when the lock's bound ran out and the pin was left. */
static inline bool sn_gt_unpin_entry(grant_entry_v1_t *ent, struct sn_emu_active *act,
				     _Atomic uint32_t *lock, bool write)
{
	uint32_t rd, wr;
	uint16_t clear = 0;

	if (!sn_gt_lock(lock, SN_GT_UNPIN_LOCK_NS))
		return false; /* stays pinned: the page is never reused under us */
	rd = atomic_load_explicit(&act->rd_pins, memory_order_relaxed);
	wr = atomic_load_explicit(&act->wr_pins, memory_order_relaxed);
	if (write && wr)
		wr--;
	else if (!write && rd)
		rd--;
	atomic_store_explicit(&act->rd_pins, rd, memory_order_relaxed);
	atomic_store_explicit(&act->wr_pins, wr, memory_order_relaxed);
	if (!wr)
		clear |= GTF_writing;
	if (!rd && !wr)
		clear |= GTF_reading;
	/* Release: every access we made to the page (the copy syscall or the
	 * munmap) is done before the granter can see the flag clear and
	 * revoke.  fetch_and never loses to a concurrent flags change. */
	if (clear)
		__atomic_fetch_and(&ent->flags, (uint16_t)~clear, __ATOMIC_RELEASE);
	sn_gt_unlock(lock);
	return true;
}

static inline bool sn_gt_unpin(const struct sn_emu_gt_view *gt, uint32_t ref, bool write)
{
	return sn_gt_unpin_entry(&gt->entries[ref], &gt->active[ref], sn_gt_lock_of(gt, ref),
				 write);
}

/* Granter: publish a grant the Xen way, domid and frame first, then the
 * type.  The entry must be free (flags 0, not pinned). */
static inline void sn_gt_grant(grant_entry_v1_t *ent, domid_t domid, uint32_t frame,
			       bool readonly)
{
	__atomic_store_n(&ent->domid, domid, __ATOMIC_RELAXED);
	__atomic_store_n(&ent->frame, frame, __ATOMIC_RELAXED);
	/* Release: a pinner that sees the type also sees domid and frame. */
	__atomic_store_n(&ent->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

/* Granter: end a grant.  Succeeds (flags -> 0) only while neither
 * GTF_reading nor GTF_writing is set; -EBUSY means the peer still holds
 * it (a mapping or a copy in flight) and the page must not be reused. */
static inline int sn_gt_revoke(grant_entry_v1_t *ent)
{
	uint16_t flags = __atomic_load_n(&ent->flags, __ATOMIC_RELAXED);

	for (unsigned int i = 0; i < SN_GT_REVOKE_TRIES; i++) {
		if (flags & (GTF_reading | GTF_writing))
			return -EBUSY;
		/* Acquire on success: the peer's last access to the page
		 * (released by its unpin) happens before we reuse it. */
		if (__atomic_compare_exchange_n(&ent->flags, &flags, 0, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
	}
	return -EBUSY;
}

#endif
