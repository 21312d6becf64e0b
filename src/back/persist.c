/* The persist flag's decision for one data slot (README "Persist flags"):
 * hit, first-sight map, retirement or the normal grant path, and the
 * batched unmap of retired entries.  The table is the queue's staging
 * table (staging.c): one table, one lookup for both designs. */
#include <errno.h>

#include "back/common.h"

struct sn_gref_ent *sn_back_persist_slot(struct sn_back_queue *q,
					 struct sn_gref_ent *hit, uint32_t gref,
					 bool flagged, bool writable)
{
	struct sn_back_gref_table *t = q->grefs;
	struct sn_gref_ent *e;
	int rc;

	if (!t)
		return hit;
	if (hit) {
		/* Within a batch the last slot naming the gref decides:
		 * flag on keeps the mapping, flag off unmaps it once the
		 * batch is done. */
		if (flagged)
			sn_gref_table_retire_cancel(t, gref);
		else if (!sn_gref_table_retire_mark(t, hit))
			sn_back_count(q, SN_QS_persist_refused, 1);
		return hit;
	}
	if (!flagged)
		return NULL;
	/* A ring page mapped as a buffer would take packet bytes over ring
	 * slots (ring_grefs.h): never persisted; the caller's normal path
	 * refuses or copies it as it does today. */
	if (sn_back_ring_gref(&q->vif->rings, gref)) {
		sn_back_count(q, SN_QS_persist_refused, 1);
		return NULL;
	}
	rc = sn_gref_table_persist(t, gref, writable, &e);
	if (!rc) {
		sn_back_count(q, SN_QS_persist_maps, 1);
		sn_back_count(q, SN_QS_grant_maps, 1);
		return e;
	}
	/* Never an error for the packet: the slot takes the grant path, which
	 * fails on its own if the gref is bad. */
	sn_back_count(q, rc == -ENOSPC ? SN_QS_persist_table_full :
					 SN_QS_persist_refused, 1);
	return NULL;
}

void sn_back_persist_flush(struct sn_back_queue *q)
{
	uint32_t n;

	if (!q->grefs || !q->grefs->nretire)
		return;
	n = sn_gref_table_retire_flush(q->grefs);
	if (n) {
		sn_back_count(q, SN_QS_persist_unmaps, n);
		sn_back_count(q, SN_QS_grant_unmaps, n);
	}
}
