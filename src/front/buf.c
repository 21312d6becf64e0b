/* Netfront buffer pages and their grants: a page is granted to the
 * backend per use (or, where the platform cannot, once at allocation), and
 * a grant the backend still holds at revoke time quarantines the page for
 * good: it never carries other data again. */
#include <errno.h>

#include "front/nic.h"

int sn_front_buf_revoke(struct sn_front_queue *q, struct sn_front_buf *b)
{
	struct sn_plat *p = q->nic->plat;
	int rc;

	if (!b->inflight)
		return 0;
	b->inflight = false;
	if (q->nic->no_shr_grant)
		return 0; /* persistent alloc grant: nothing to end per use */
	rc = p->ops->shr_revoke(p, b->gref);
	if (rc == 0)
		return 0;
	/* Still pinned (or the revoke failed outright): the backend may yet
	 * read or write the page, so it must never carry other data. */
	b->quarantined = true;
	atomic_fetch_add(&q->nic->quarantined, 1);
	return -EBUSY;
}

int sn_front_buf_alloc(struct sn_front *nic, struct sn_front_buf *b, bool writable)
{
	void *page;
	int rc;

	/* With per-use grants the page's standing grant goes to ourselves:
	 * the backend reaches a buffer only while a request names it. */
	rc = nic->plat->ops->shr_alloc(nic->plat,
				       nic->no_shr_grant ? nic->be_domid : nic->plat->domid,
				       1, writable, &b->alloc_ref, &page);
	if (rc)
		return rc;
	b->page = page;
	b->inflight = false;
	b->quarantined = false;
	return 0;
}

int sn_front_buf_grant(struct sn_front_queue *q, struct sn_front_buf *b,
		       bool writable)
{
	struct sn_front *nic = q->nic;
	int rc;

	if (!nic->no_shr_grant) {
		rc = nic->plat->ops->shr_grant(nic->plat, nic->be_domid, b->page,
					       writable, &b->gref);
		if (rc == -EOPNOTSUPP)
			nic->no_shr_grant = true;
		else if (rc)
			return rc;
	}
	if (nic->no_shr_grant)
		b->gref = b->alloc_ref;
	b->inflight = true;
	return 0;
}

int sn_front_buf_replace(struct sn_front_queue *q, struct sn_front_buf *b,
			 bool writable)
{
	struct sn_plat *p = q->nic->plat;

	/* The platform keeps the old page quarantined (its grant is still
	 * live); we only need a fresh one. */
	if (b->page)
		p->ops->shr_free(p, b->page, 1);
	b->page = NULL;
	return sn_front_buf_alloc(q->nic, b, writable);
}

void sn_front_buf_release(struct sn_front_queue *q, struct sn_front_buf *b)
{
	struct sn_plat *p = q->nic->plat;

	if (!b->page)
		return;
	if (b->inflight)
		sn_front_buf_revoke(q, b);
	/* One more try at a grant that was still pinned: the backend may have
	 * let go since.  If not, shr_free quarantines the page itself. */
	if (b->quarantined && !q->nic->no_shr_grant && p->ops->shr_revoke(p, b->gref) == 0)
		b->quarantined = false;
	if (p->ops->shr_free(p, b->page, 1) == -EBUSY && !b->quarantined)
		atomic_fetch_add(&q->nic->quarantined, 1);
	b->page = NULL;
	b->quarantined = false;
}

void sn_front_ring_release(struct sn_front_queue *q, void **sring)
{
	struct sn_plat *p = q->nic->plat;

	if (!*sring)
		return;
	/* shr_free quarantines a page the backend still maps. */
	if (p->ops->shr_free(p, *sring, 1) == -EBUSY)
		atomic_fetch_add(&q->nic->quarantined, 1);
	*sring = NULL;
}

void sn_front_buf_probe(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	uint32_t ref, g;
	void *page;

	if (p->ops->shr_alloc(p, p->domid, 1, false, &ref, &page))
		return;
	if (p->ops->shr_grant(p, nic->be_domid, page, false, &g) == -EOPNOTSUPP)
		nic->no_shr_grant = true;
	else
		p->ops->shr_revoke(p, g);
	p->ops->shr_free(p, page, 1);
}
