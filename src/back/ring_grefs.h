/* The grefs of a vif's own ring pages: every queue's TX and RX ring and the
 * control ring.  The backend never writes through one of them as a buffer
 * or a gref list, nor reads a table (gref list, hash key, hash mapping)
 * from one: otherwise a frontend (or a fuzzer) can make the backend write
 * per-entry statuses or packet bytes over the very ring slots it answers
 * in.  The rule compares grefs; README "Security model" says why that is
 * the check Xen allows and what a second grant of the same page does. */
#ifndef SN_BACK_RING_GREFS_H
#define SN_BACK_RING_GREFS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "stagenet/back.h"

#define SN_BACK_RING_GREFS_MAX (2u * SN_BACK_MAX_QUEUES + 1u)

struct sn_back_ring_grefs {
	uint32_t ref[SN_BACK_RING_GREFS_MAX];
	unsigned int n;
};

/* At most 33 entries: a linear scan is cheaper than anything smarter. */
static inline bool sn_back_ring_gref(const struct sn_back_ring_grefs *r,
				     uint32_t gref)
{
	if (!r)
		return false;
	for (unsigned int i = 0; i < r->n; i++)
		if (r->ref[i] == gref)
			return true;
	return false;
}

/* Append gref; -ENOSPC past the maximum (more queues than the backend
 * supports never reach here). */
static inline int sn_back_ring_grefs_add(struct sn_back_ring_grefs *r,
					 uint32_t gref)
{
	if (r->n >= SN_BACK_RING_GREFS_MAX)
		return -ENOSPC;
	r->ref[r->n++] = gref;
	return 0;
}

#endif /* SN_BACK_RING_GREFS_H */
