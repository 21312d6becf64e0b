/* The granter's side of the emulated host: hand out pages of this domain's
 * RAM memfd, fill grant entries the way a Xen guest does, and revoke them
 * only when no peer holds a pin; pages that cannot be revoked are
 * quarantined instead of reused (Linux's deferred end_foreign_access). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat/emu/emu.h"
#include "plat/emu/grant_rules.h"

/* ref_owner[] tag for a ref made by shr_grant (an extra grant of a page);
 * refs without it are shr_alloc's own and only shr_free ends them. */
#define REF_EXTRA 0x80000000u

enum { PAGE_FREE = 0, PAGE_USED = 1, PAGE_QUARANTINED = 2 }; /* e->ram_used[] */

/* Bookkeeping peers cannot touch: our grant table is shared with them
 * read-write (the emulated hypervisor runs in their process), so whether a
 * ref is ours to revoke or free is decided only from this private copy. */
struct sn_emu_shr {
	/* Under ram_lock. */
	uint32_t *page_ref;   /* [ram_pages] shr_alloc's ref for the page, 0 none */
	uint32_t *page_extra; /* [ram_pages] live shr_grant refs of the page */
	uint32_t *quar;       /* quarantined pages, retried by later calls */
	uint32_t nr_quar;
	/* Under gt_lock. */
	uint32_t *ref_owner;  /* [nr_entries] (page + 1) | REF_EXTRA?, 0 free */
	uint32_t *ref_free;   /* stack of revoked refs to reuse */
	uint32_t nr_ref_free;
};

static void shr_destroy(struct sn_emu_shr *s)
{
	if (!s)
		return;
	free(s->page_ref);
	free(s->page_extra);
	free(s->quar);
	free(s->ref_owner);
	free(s->ref_free);
	free(s);
}

static struct sn_emu_shr *shr_get(struct sn_emu *e)
{
	/* Acquire pairs with the release store below: a thread that sees
	 * the pointer sees the zeroed arrays behind it. */
	struct sn_emu_shr *s = __atomic_load_n(&e->shr, __ATOMIC_ACQUIRE);

	if (s)
		return s;
	pthread_mutex_lock(&e->ram_lock);
	s = e->shr;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (s) {
			s->page_ref = calloc(e->ram_pages, sizeof(uint32_t));
			s->page_extra = calloc(e->ram_pages, sizeof(uint32_t));
			s->quar = calloc(e->ram_pages, sizeof(uint32_t));
			s->ref_owner = calloc(e->gt.nr_entries, sizeof(uint32_t));
			s->ref_free = calloc(e->gt.nr_entries, sizeof(uint32_t));
			if (!s->page_ref || !s->page_extra || !s->quar || !s->ref_owner ||
			    !s->ref_free) {
				shr_destroy(s);
				s = NULL;
			}
		}
		if (s)
			__atomic_store_n(&e->shr, s, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&e->ram_lock);
	return s;
}

void sn_emu_shr_fini(struct sn_emu *e)
{
	shr_destroy(e->shr);
	e->shr = NULL;
}

/* Caller holds gt_lock. */
static int ref_alloc(struct sn_emu *e, struct sn_emu_shr *s, uint32_t owner, uint32_t *ref)
{
	uint32_t r;

	if (s->nr_ref_free)
		r = s->ref_free[--s->nr_ref_free];
	else if (e->gt_next_free < e->gt.nr_entries)
		r = e->gt_next_free++;
	else
		return -ENOSPC;
	s->ref_owner[r] = owner;
	*ref = r;
	return 0;
}

/* Caller holds gt_lock; the entry is revoked (flags 0). */
static void ref_release(struct sn_emu_shr *s, uint32_t ref)
{
	s->ref_owner[ref] = 0;
	s->ref_free[s->nr_ref_free++] = ref;
}

/* Caller holds ram_lock.  Try to end shr_alloc's grant of a page and,
 * once no grant of it remains, make it allocatable again. */
static bool page_try_release(struct sn_emu *e, struct sn_emu_shr *s, uint32_t page)
{
	uint32_t ref = s->page_ref[page];

	if (ref && sn_gt_revoke(&e->gt.entries[ref]) == 0) {
		pthread_mutex_lock(&e->gt_lock);
		ref_release(s, ref);
		pthread_mutex_unlock(&e->gt_lock);
		s->page_ref[page] = 0;
	}
	if (s->page_ref[page] || s->page_extra[page])
		return false;
	e->ram_used[page] = PAGE_FREE;
	return true;
}

/* Caller holds ram_lock. */
static void quarantine_retry(struct sn_emu *e, struct sn_emu_shr *s)
{
	for (uint32_t i = 0; i < s->nr_quar;) {
		if (page_try_release(e, s, s->quar[i]))
			s->quar[i] = s->quar[--s->nr_quar];
		else
			i++;
	}
}

/* Caller holds ram_lock.  First fit from the hint; runs do not wrap. */
static int pages_find(struct sn_emu *e, uint32_t count, uint32_t *first)
{
	uint32_t n = e->ram_pages, run = 0, start = 0;

	for (uint64_t k = 0; k < (uint64_t)n + count; k++) {
		uint32_t pg = (uint32_t)((e->ram_hint + k) % n);

		if (pg == 0)
			run = 0;
		if (e->ram_used[pg] != PAGE_FREE) {
			run = 0;
			continue;
		}
		if (!run)
			start = pg;
		if (++run == count) {
			*first = start;
			return 0;
		}
	}
	return -ENOMEM;
}

int sn_emu_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count, bool writable,
		     uint32_t *refs, void **addr)
{
	struct sn_emu *e = (struct sn_emu *)p;
	struct sn_emu_shr *s;
	uint32_t first, i;
	uint8_t *base;
	int rc;

	if (!count || count > e->ram_pages || !refs || !addr)
		return -EINVAL;
	s = shr_get(e);
	if (!s)
		return -ENOMEM;

	pthread_mutex_lock(&e->ram_lock);
	quarantine_retry(e, s);
	rc = pages_find(e, count, &first);
	if (rc)
		goto out_ram;
	pthread_mutex_lock(&e->gt_lock);
	for (i = 0; i < count; i++) {
		rc = ref_alloc(e, s, first + i + 1, &refs[i]);
		if (rc)
			break;
	}
	if (rc) {
		/* Never published: the entries are still flags 0. */
		while (i--)
			ref_release(s, refs[i]);
		pthread_mutex_unlock(&e->gt_lock);
		goto out_ram;
	}
	pthread_mutex_unlock(&e->gt_lock);
	for (i = 0; i < count; i++) {
		e->ram_used[first + i] = PAGE_USED;
		s->page_ref[first + i] = refs[i];
	}
	e->ram_hint = (first + count) % e->ram_pages;
	pthread_mutex_unlock(&e->ram_lock);

	/* A freed page keeps what its last user wrote; no grantee may see
	 * that, so scrub before the grant makes it reachable. */
	base = e->ram + (size_t)first * SN_PAGE_SIZE;
	memset(base, 0, (size_t)count * SN_PAGE_SIZE);
	for (i = 0; i < count; i++)
		sn_gt_grant(&e->gt.entries[refs[i]], domid, first + i, !writable);
	*addr = base;
	return 0;

out_ram:
	pthread_mutex_unlock(&e->ram_lock);
	return rc;
}

/* Pages whose grant a peer still pins are quarantined, as are pages that
 * still carry shr_grant refs the caller has not revoked: reusing either
 * would hand a peer's access to the next owner of the page. */
int sn_emu_shr_free(struct sn_plat *p, void *addr, uint32_t count)
{
	struct sn_emu *e = (struct sn_emu *)p;
	uintptr_t off = (uintptr_t)addr - (uintptr_t)e->ram;
	struct sn_emu_shr *s;
	uint32_t first;
	int rc = 0;

	if (!count || (uintptr_t)addr < (uintptr_t)e->ram || off % SN_PAGE_SIZE ||
	    off / SN_PAGE_SIZE >= e->ram_pages || count > e->ram_pages - off / SN_PAGE_SIZE)
		return -EINVAL;
	s = shr_get(e);
	if (!s)
		return -ENOMEM;
	first = (uint32_t)(off / SN_PAGE_SIZE);

	pthread_mutex_lock(&e->ram_lock);
	for (uint32_t i = 0; i < count; i++) {
		if (e->ram_used[first + i] == PAGE_FREE) {
			rc = -EINVAL;
			goto out;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t pg = first + i;

		if (e->ram_used[pg] == PAGE_QUARANTINED) {
			/* Already queued by an earlier call: retried below. */
			rc = -EBUSY;
			continue;
		}
		if (!page_try_release(e, s, pg)) {
			e->ram_used[pg] = PAGE_QUARANTINED;
			s->quar[s->nr_quar++] = pg;
			rc = -EBUSY;
		}
	}
	quarantine_retry(e, s);
	if (rc == -EBUSY) {
		rc = 0;
		for (uint32_t i = 0; i < count; i++)
			if (e->ram_used[first + i] == PAGE_QUARANTINED)
				rc = -EBUSY;
	}
out:
	pthread_mutex_unlock(&e->ram_lock);
	return rc;
}

/* Any address inside an allocated page names that page (a fragment's
 * address is fine). */
int sn_emu_shr_grant(struct sn_plat *p, uint16_t domid, const void *page, bool writable,
		     uint32_t *ref)
{
	struct sn_emu *e = (struct sn_emu *)p;
	uintptr_t off = (uintptr_t)page - (uintptr_t)e->ram;
	struct sn_emu_shr *s;
	uint32_t pg, r;
	int rc;

	if (!ref || (uintptr_t)page < (uintptr_t)e->ram || off / SN_PAGE_SIZE >= e->ram_pages)
		return -EINVAL;
	s = shr_get(e);
	if (!s)
		return -ENOMEM;
	pg = (uint32_t)(off / SN_PAGE_SIZE);

	pthread_mutex_lock(&e->ram_lock);
	if (e->ram_used[pg] != PAGE_USED) {
		rc = -EINVAL; /* free or quarantined: not the caller's page */
		goto out;
	}
	pthread_mutex_lock(&e->gt_lock);
	rc = ref_alloc(e, s, (pg + 1) | REF_EXTRA, &r);
	pthread_mutex_unlock(&e->gt_lock);
	if (rc)
		goto out;
	s->page_extra[pg]++;
	/* Published under ram_lock so a concurrent shr_free of the page sees
	 * page_extra and quarantines it rather than racing the grant. */
	sn_gt_grant(&e->gt.entries[r], domid, pg, !writable);
	*ref = r;
out:
	pthread_mutex_unlock(&e->ram_lock);
	return rc;
}

int sn_emu_shr_revoke(struct sn_plat *p, uint32_t ref)
{
	struct sn_emu *e = (struct sn_emu *)p;
	struct sn_emu_shr *s;
	uint32_t owner, pg;
	int rc;

	if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= e->gt.nr_entries)
		return -EINVAL;
	s = shr_get(e);
	if (!s)
		return -ENOMEM;

	pthread_mutex_lock(&e->ram_lock);
	pthread_mutex_lock(&e->gt_lock);
	owner = s->ref_owner[ref];
	if (!(owner & REF_EXTRA)) {
		rc = -EINVAL; /* not a live shr_grant ref of ours */
		goto out_gt;
	}
	rc = sn_gt_revoke(&e->gt.entries[ref]);
	if (rc)
		goto out_gt;
	ref_release(s, ref);
	pthread_mutex_unlock(&e->gt_lock);

	pg = (owner & ~REF_EXTRA) - 1;
	s->page_extra[pg]--;
	/* The last extra grant of a quarantined page may be what held it. */
	if (e->ram_used[pg] == PAGE_QUARANTINED && !s->page_extra[pg] &&
	    page_try_release(e, s, pg)) {
		for (uint32_t i = 0; i < s->nr_quar; i++) {
			if (s->quar[i] == pg) {
				s->quar[i] = s->quar[--s->nr_quar];
				break;
			}
		}
	}
	pthread_mutex_unlock(&e->ram_lock);
	return 0;

out_gt:
	pthread_mutex_unlock(&e->gt_lock);
	pthread_mutex_unlock(&e->ram_lock);
	return rc;
}
