/* Grant copy, map and share between emulated domains: every GNTST code a
 * backend can meet, isolation between domains, revoke-vs-pin, with domains
 * as contexts in one thread, as threads, and as separate processes. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/dom.h"
#include "common/host_fixture.h"
#include "plat/emu/emu.h"

#define RAM_PAGES 64u
#define GT_ENTRIES 256u
#define PG SN_PAGE_SIZE

static struct sn_test_host host;

/* Small domains, so the tests reach the grant table's and RAM's limits. */
static const struct sn_test_dom small = { .ram_pages = RAM_PAGES,
					  .gnttab_entries = GT_ENTRIES };

static void dom_close(struct sn_plat *p)
{
	/* Idempotent; emu_close is expected to call them too. */
	sn_emu_gnt_fini((struct sn_emu *)p);
	sn_emu_shr_fini((struct sn_emu *)p);
	sn_plat_close(p);
}

static struct sn_emu *emu(struct sn_plat *p)
{
	return (struct sn_emu *)p;
}

static uint16_t gflags(struct sn_plat *granter, uint32_t ref)
{
	return __atomic_load_n(&emu(granter)->gt.entries[ref].flags, __ATOMIC_SEQ_CST);
}

static void fill(void *buf, size_t len, unsigned int seed)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static sn_copy_seg seg_from(uint16_t domid, uint32_t ref, uint16_t off, void *dst, uint16_t len)
{
	sn_copy_seg s;

	memset(&s, 0, sizeof(s));
	s.source.foreign.domid = domid;
	s.source.foreign.ref = ref;
	s.source.foreign.offset = off;
	s.dest.virt = dst;
	s.len = len;
	s.flags = GNTCOPY_source_gref;
	s.status = 99;
	return s;
}

static sn_copy_seg seg_to(uint16_t domid, uint32_t ref, uint16_t off, void *src, uint16_t len)
{
	sn_copy_seg s;

	memset(&s, 0, sizeof(s));
	s.dest.foreign.domid = domid;
	s.dest.foreign.ref = ref;
	s.dest.foreign.offset = off;
	s.source.virt = src;
	s.len = len;
	s.flags = GNTCOPY_dest_gref;
	s.status = 99;
	return s;
}

struct pair {
	struct sn_plat *g; /* granter (frontend) */
	struct sn_plat *b; /* backend */
	uint16_t gid, bid;
};

static int pair_setup(void **state)
{
	static uint16_t next = 10;
	struct pair *pr = calloc(1, sizeof(*pr));

	assert_non_null(pr);
	pr->gid = next++;
	pr->bid = next++;
	pr->g = sn_test_dom_open(pr->gid, &small);
	pr->b = sn_test_dom_open(pr->bid, &small);
	*state = pr;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *pr = *state;

	dom_close(pr->b);
	dom_close(pr->g);
	free(pr);
	return 0;
}

static void copy_reads_granted_page_byte_exact(void **state)
{
	struct pair *pr = *state;
	uint8_t out[1500];
	uint32_t ref;
	void *page;
	sn_copy_seg s;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ref, &page), 0);
	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	fill(page, PG, 1);
	memset(out, 0, sizeof(out));
	s = seg_from(pr->gid, ref, 100, out, sizeof(out));
	assert_int_equal(sn_gnt_copy(pr->b, 1, &s), 0);
	assert_int_equal(s.status, GNTST_okay);
	assert_memory_equal(out, (uint8_t *)page + 100, sizeof(out));
	/* Pinned only for the duration of the copy. */
	assert_int_equal(gflags(pr->g, ref), GTF_permit_access | GTF_readonly);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), 0);
}

static void copy_writes_rw_grant_but_not_ro_grant(void **state)
{
	struct pair *pr = *state;
	uint8_t in[700], zero[700] = { 0 };
	uint32_t rw, ro;
	void *prw, *pro;
	sn_copy_seg s[2];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &rw, &prw), 0);
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ro, &pro), 0);
	fill(in, sizeof(in), 2);
	s[0] = seg_to(pr->gid, rw, PG - sizeof(in), in, sizeof(in));
	s[1] = seg_to(pr->gid, ro, 0, in, sizeof(in));
	assert_int_equal(sn_gnt_copy(pr->b, 2, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
	assert_int_equal(s[1].status, GNTST_general_error); /* write-pin a r/o grant */
	assert_memory_equal((uint8_t *)prw + PG - sizeof(in), in, sizeof(in));
	assert_memory_equal(pro, zero, sizeof(zero));
	assert_int_equal(gflags(pr->g, rw), GTF_permit_access);
	assert_int_equal(gflags(pr->g, ro), GTF_permit_access | GTF_readonly);
}

static void copy_mixed_batch_fails_only_bad_segments(void **state)
{
	struct pair *pr = *state;
	uint32_t refs[2], other, revoked, ro;
	uint8_t out[8][64], in[64];
	void *page, *pro;
	sn_copy_seg s[8];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 2, true, refs, &page), 0);
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ro, &pro), 0);
	fill(page, 2 * PG, 3);
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid + 100, page, true, &other), 0);
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, page, true, &revoked), 0);
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, revoked), 0);
	fill(in, sizeof(in), 4);
	memset(out, 0xee, sizeof(out));

	s[0] = seg_from(pr->gid, refs[0], 10, out[0], 64);
	s[1] = seg_from(pr->gid, GT_ENTRIES, 0, out[1], 64);  /* beyond table */
	s[2] = seg_from(pr->gid, other, 0, out[2], 64);       /* granted to another domain */
	s[3] = seg_from(pr->gid, revoked, 0, out[3], 64);     /* revoked */
	s[4] = seg_to(pr->gid, ro, 0, in, 64);                /* write to r/o */
	s[5] = seg_from(777, refs[0], 0, out[5], 64);         /* no such domain */
	s[6] = seg_from(pr->gid, 3, 0, out[6], 64);           /* reserved, never granted */
	s[7] = seg_from(pr->gid, refs[1], 4000, out[7], 64);
	s[7].len = 97;
	assert_int_equal(sn_gnt_copy(pr->b, 8, s), -EINVAL); /* 4000 + 97 > page */
	for (int i = 0; i < 8; i++)
		assert_int_equal((uint8_t)out[i][0], 0xee); /* nothing copied */
	s[7].len = 64;
	s[7].source.foreign.offset = PG - 64;
	assert_int_equal(sn_gnt_copy(pr->b, 8, s), 0);

	assert_int_equal(s[0].status, GNTST_okay);
	assert_int_equal(s[1].status, GNTST_bad_gntref);
	assert_int_equal(s[2].status, GNTST_general_error);
	assert_int_equal(s[3].status, GNTST_general_error);
	assert_int_equal(s[4].status, GNTST_general_error);
	assert_int_equal(s[5].status, GNTST_bad_domain);
	assert_int_equal(s[6].status, GNTST_general_error);
	assert_int_equal(s[7].status, GNTST_okay);
	assert_memory_equal(out[0], (uint8_t *)page + 10, 64);
	assert_memory_equal(out[7], (uint8_t *)page + 2 * PG - 64, 64);
	for (int i = 1; i <= 6; i++)
		if (i != 4)
			assert_int_equal((uint8_t)out[i][0], 0xee);
	assert_int_equal(((uint8_t *)pro)[0], 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(gflags(pr->g, refs[i]), GTF_permit_access);
}

static void copy_rejects_malformed_batches(void **state)
{
	struct pair *pr = *state;
	uint8_t buf[64];
	uint32_t ref;
	void *page;
	sn_copy_seg s[2];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &ref, &page), 0);
	assert_int_equal(sn_gnt_copy(pr->b, 0, NULL), 0); /* QEMU's probe */
	s[0] = seg_from(pr->gid, ref, 0, buf, 64);
	s[0].flags = 0; /* local -> local */
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), -EINVAL);
	s[0].flags = GNTCOPY_source_gref | GNTCOPY_dest_gref;
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), -EINVAL);
	s[0] = seg_to(pr->gid, ref, PG - 63, buf, 64); /* dest side crosses */
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), -EINVAL);
	s[0] = seg_to(pr->gid, ref, PG - 64, buf, 64);
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
}

static void copy_reports_bad_page_for_frame_beyond_granter_ram(void **state)
{
	struct pair *pr = *state;
	grant_entry_v1_t *ent;
	uint8_t buf[16];
	uint32_t ref;
	void *page;
	sn_copy_seg s;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &ref, &page), 0);
	/* A hostile granter rewrites the frame behind our back. */
	ent = &emu(pr->g)->gt.entries[ref];
	__atomic_store_n(&ent->frame, RAM_PAGES + 5, __ATOMIC_SEQ_CST);
	s = seg_from(pr->gid, ref, 0, buf, sizeof(buf));
	assert_int_equal(sn_gnt_copy(pr->b, 1, &s), 0);
	assert_int_equal(s.status, GNTST_bad_page);
	assert_int_equal(gflags(pr->g, ref), GTF_permit_access);
	__atomic_store_n(&ent->frame, UINT32_MAX, __ATOMIC_SEQ_CST);
	void *addr = NULL;
	int16_t st;
	uint16_t gid = pr->gid;
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, &gid, &ref, false, &addr, &st), 0);
	assert_int_equal(st, GNTST_bad_page);
	assert_null(addr);
	assert_int_equal(gflags(pr->g, ref), GTF_permit_access);
}

static void copy_splits_large_batches_across_two_granters(void **state)
{
	struct pair *pr = *state;
	struct sn_plat *g2 = sn_test_dom_open(pr->gid + 200, &small);
	enum { N = 150, LEN = 40 };
	uint32_t r1[4], r2[4];
	void *p1, *p2;
	static uint8_t out[N][LEN];
	static sn_copy_seg s[N];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 4, false, r1, &p1), 0);
	assert_int_equal(g2->ops->shr_alloc(g2, pr->bid, 4, false, r2, &p2), 0);
	fill(p1, 4 * PG, 5);
	fill(p2, 4 * PG, 6);
	for (int i = 0; i < N; i++) {
		bool two = i % 3 == 1;
		uint16_t off = (uint16_t)((i * 97) % (PG - LEN));

		s[i] = seg_from(two ? pr->gid + 200 : pr->gid, two ? r2[i % 4] : r1[i % 4], off,
				out[i], LEN);
	}
	assert_int_equal(sn_gnt_copy(pr->b, N, s), 0);
	for (int i = 0; i < N; i++) {
		bool two = i % 3 == 1;
		const uint8_t *src = (const uint8_t *)(two ? p2 : p1) + (size_t)(i % 4) * PG +
				     (i * 97) % (PG - LEN);

		assert_int_equal(s[i].status, GNTST_okay);
		assert_memory_equal(out[i], src, LEN);
	}
	dom_close(g2);
}

static void isolation_only_granted_pages_are_reachable(void **state)
{
	struct pair *pr = *state;
	uint32_t refs[2], mine;
	uint8_t buf[32];
	void *page;
	sn_copy_seg s[3];

	/* Page 0 granted to someone else, page 1 to us: our ref to page 1
	 * must not reach page 0 whatever offset we pass. */
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid + 50, 2, true, refs, &page), 0);
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, (uint8_t *)page + PG, false, &mine),
			 0);
	fill(page, 2 * PG, 7);
	s[0] = seg_from(pr->gid, refs[0], 0, buf, sizeof(buf));
	s[1] = seg_from(pr->gid, refs[1], 0, buf, sizeof(buf));
	s[2] = seg_to(pr->gid, mine, 0, buf, sizeof(buf));
	assert_int_equal(sn_gnt_copy(pr->b, 3, s), 0);
	assert_int_equal(s[0].status, GNTST_general_error);
	assert_int_equal(s[1].status, GNTST_general_error);
	assert_int_equal(s[2].status, GNTST_general_error); /* read-only to us */
	s[0] = seg_from(pr->gid, mine, 0, buf, sizeof(buf));
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
	assert_memory_equal(buf, (uint8_t *)page + PG, sizeof(buf));
}

static void map_gives_shared_page_with_grant_permissions(void **state)
{
	struct pair *pr = *state;
	uint32_t refs[2], ro;
	uint16_t doms[2] = { pr->gid, pr->gid };
	void *addrs[2], *page, *pro, *bad;
	int16_t st[2];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 2, true, refs, &page), 0);
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ro, &pro), 0);
	fill(page, 2 * PG, 8);
	fill(pro, PG, 9);
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 2, doms, refs, true, addrs, st), 0);
	assert_int_equal(st[0], GNTST_okay);
	assert_int_equal(st[1], GNTST_okay);
	assert_memory_equal(addrs[1], (uint8_t *)page + PG, PG);
	memset(addrs[0], 0x5a, 100);
	assert_int_equal(((uint8_t *)page)[99], 0x5a);
	assert_int_equal(gflags(pr->g, refs[0]), GTF_permit_access | GTF_reading | GTF_writing);

	/* Writable map of a read-only grant: refused, nothing pinned. */
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, doms, &ro, true, &bad, st), 0);
	assert_int_equal(st[0], GNTST_general_error);
	assert_null(bad);
	assert_int_equal(gflags(pr->g, ro), GTF_permit_access | GTF_readonly);
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, doms, &ro, false, &bad, st), 0);
	assert_int_equal(st[0], GNTST_okay);
	assert_memory_equal(bad, pro, PG);
	assert_int_equal(gflags(pr->g, ro), GTF_permit_access | GTF_readonly | GTF_reading);

	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 2, addrs, st), 0);
	assert_int_equal(st[0], GNTST_okay);
	assert_int_equal(st[1], GNTST_okay);
	assert_int_equal(gflags(pr->g, refs[0]), GTF_permit_access);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &bad, st), 0);
	assert_int_equal(gflags(pr->g, ro), GTF_permit_access | GTF_readonly);
	/* Unknown (and already unmapped) addresses. */
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &bad, st), 0);
	assert_int_equal(st[0], GNTST_bad_virt_addr);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &page, st), 0);
	assert_int_equal(st[0], GNTST_bad_virt_addr);
}

static void revoke_and_free_wait_for_unmap(void **state)
{
	struct pair *pr = *state;
	uint16_t dom = pr->gid;
	uint32_t ref, extra;
	void *page, *m, *m2, *got[RAM_PAGES];
	uint32_t got_refs[RAM_PAGES];
	int16_t st;
	int n = 0;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &ref, &page), 0);
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, page, true, &extra), 0);
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, &dom, &extra, true, &m, &st), 0);
	assert_int_equal(st, GNTST_okay);
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, extra), -EBUSY);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &m, &st), 0);
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, extra), 0);
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, extra), -EINVAL); /* not ours any more */
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, ref), -EINVAL);   /* shr_free's job */
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, 2), -EINVAL);

	/* Free while mapped: quarantined, never handed out again... */
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, &dom, &ref, true, &m2, &st), 0);
	assert_int_equal(st, GNTST_okay);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), -EBUSY);
	assert_int_equal(gflags(pr->g, ref), GTF_permit_access | GTF_reading | GTF_writing);
	while (n < (int)RAM_PAGES &&
	       pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &got_refs[n], &got[n]) == 0) {
		assert_ptr_not_equal(got[n], page);
		n++;
	}
	assert_int_equal(n, RAM_PAGES - 1);
	/* ...until the backend unmaps and a later call retries the revoke. */
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &m2, &st), 0);
	assert_int_equal(pr->g->ops->shr_free(pr->g, got[0], 1), 0);
	assert_int_equal(gflags(pr->g, ref), 0);
	assert_int_equal(emu(pr->g)->ram_used[((uint8_t *)page - emu(pr->g)->ram) / PG], 0);
	for (int i = 1; i < n; i++)
		assert_int_equal(pr->g->ops->shr_free(pr->g, got[i], 1), 0);
}

static void shr_rejects_pages_it_does_not_own(void **state)
{
	struct pair *pr = *state;
	uint8_t stack_page[64] = { 0 };
	uint32_t ref;
	void *page;

	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, stack_page, true, &ref), -EINVAL);
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, emu(pr->g)->ram + PG * RAM_PAGES, true,
					       &ref),
			 -EINVAL);
	/* Inside RAM but free. */
	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, emu(pr->g)->ram + PG * 7, true, &ref),
			 -EINVAL);
	assert_int_equal(pr->g->ops->shr_free(pr->g, emu(pr->g)->ram + PG * 7, 1), -EINVAL);
	assert_int_equal(pr->g->ops->shr_free(pr->g, stack_page, 1), -EINVAL);
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, RAM_PAGES + 1, true, &ref, &page),
			 -EINVAL);
	/* Freed pages come back zeroed. */
	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &ref, &page), 0);
	memset(page, 0xff, PG);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), 0);
	for (uint32_t i = 0; i < RAM_PAGES; i++) {
		void *p2;

		assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, true, &ref, &p2), 0);
		assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
		if (p2 == page) {
			for (size_t k = 0; k < PG; k++)
				assert_int_equal(((uint8_t *)p2)[k], 0);
			return;
		}
	}
	fail_msg("freed page never handed out again");
}

/* --- domains as threads ----------------------------------------------------- */

struct thr {
	uint16_t gid, bid;
	pthread_barrier_t bar;
	uint32_t refs[4];
	uint8_t *page;
	int result;
};

static void *granter_thread(void *arg)
{
	struct thr *t = arg;
	struct sn_plat *g = sn_test_dom_open(t->gid, &small);
	void *page;

	assert_int_equal(g->ops->shr_alloc(g, t->bid, 4, true, t->refs, &page), 0);
	t->page = page;
	fill(page, 4 * PG, 10);
	pthread_barrier_wait(&t->bar); /* grants published */
	pthread_barrier_wait(&t->bar); /* backend done */
	t->result = g->ops->shr_free(g, page, 4);
	dom_close(g);
	return NULL;
}

static void domains_as_threads_copy_and_map(void **state)
{
	struct thr t = { .gid = 60, .bid = 61 };
	struct sn_plat *b;
	uint16_t doms[4] = { 60, 60, 60, 60 };
	uint8_t out[4][PG], in[PG];
	void *addrs[4];
	int16_t st[4];
	sn_copy_seg s[4];
	pthread_t th;

	(void)state;
	pthread_barrier_init(&t.bar, NULL, 2);
	b = sn_test_dom_open(t.bid, &small);
	assert_int_equal(pthread_create(&th, NULL, granter_thread, &t), 0);
	pthread_barrier_wait(&t.bar);
	for (int i = 0; i < 4; i++)
		s[i] = seg_from(t.gid, t.refs[i], 0, out[i], PG);
	assert_int_equal(sn_gnt_copy(b, 4, s), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s[i].status, GNTST_okay);
		assert_memory_equal(out[i], t.page + (size_t)i * PG, PG);
	}
	fill(in, PG, 11);
	s[0] = seg_to(t.gid, t.refs[3], 0, in, PG);
	assert_int_equal(sn_gnt_copy(b, 1, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
	assert_int_equal(b->ops->gnt_map(b, 4, doms, t.refs, false, addrs, st), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(st[i], GNTST_okay);
	assert_memory_equal(addrs[3], in, PG);
	assert_int_equal(b->ops->gnt_unmap(b, 4, addrs, st), 0);
	pthread_barrier_wait(&t.bar);
	pthread_join(th, NULL);
	assert_int_equal(t.result, 0);
	pthread_barrier_destroy(&t.bar);
	dom_close(b);
}

/* --- domains as processes --------------------------------------------------- */

struct msg {
	uint32_t refs[3]; /* rw, rw, ro */
	int32_t rc;
};

static int rd_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t r = read(fd, (uint8_t *)buf + got, len - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* The child is the granter domain; it reports through exit codes. */
static int child_granter(uint16_t gid, uint16_t bid, int rfd, int wfd)
{
	struct sn_plat *g;
	struct msg m = { 0 };
	uint8_t expect[PG];
	void *page, *pro;
	char cmd;

	if (sn_test_dom_try(gid, &small, &g))
		return 10;
	if (g->ops->shr_alloc(g, bid, 2, true, m.refs, &page) ||
	    g->ops->shr_alloc(g, bid, 1, false, &m.refs[2], &pro))
		return 11;
	fill(page, 2 * PG, 20);
	fill(pro, PG, 21);
	if (write(wfd, &m, sizeof(m)) != sizeof(m))
		return 12;
	/* 'r': the parent has refs[0] mapped: our revoke must fail. */
	if (rd_full(rfd, &cmd, 1) || cmd != 'r')
		return 13;
	m.rc = g->ops->shr_free(g, page, 1);
	if (write(wfd, &m, sizeof(m)) != sizeof(m))
		return 14;
	/* 'c': unmapped and written through copy: check, then free. */
	if (rd_full(rfd, &cmd, 1) || cmd != 'c')
		return 15;
	fill(expect, PG, 22);
	if (memcmp((uint8_t *)page + PG, expect, PG))
		return 16;
	m.rc = g->ops->shr_free(g, page, 2);
	if (write(wfd, &m, sizeof(m)) != sizeof(m))
		return 17;
	sn_emu_shr_fini((struct sn_emu *)g);
	sn_plat_close(g);
	return 0;
}

static void domains_as_processes_copy_map_and_die(void **state)
{
	const uint16_t gid = 70, bid = 71;
	int to_child[2], to_parent[2], status;
	struct sn_plat *b;
	struct msg m;
	uint8_t out[PG], in[PG], expect[PG];
	uint16_t dom = gid;
	void *addr;
	int16_t st;
	sn_copy_seg s[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		_exit(child_granter(gid, bid, to_child[0], to_parent[1]));
	}
	close(to_child[0]);
	close(to_parent[1]);
	b = sn_test_dom_open(bid, &small);
	assert_int_equal(rd_full(to_parent[0], &m, sizeof(m)), 0);

	s[0] = seg_from(gid, m.refs[2], 0, out, PG);
	fill(in, PG, 22);
	s[1] = seg_to(gid, m.refs[1], 0, in, PG);
	assert_int_equal(sn_gnt_copy(b, 2, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
	assert_int_equal(s[1].status, GNTST_okay);
	fill(expect, PG, 21);
	assert_memory_equal(out, expect, PG);
	s[0] = seg_to(gid, m.refs[2], 0, in, 16);
	assert_int_equal(sn_gnt_copy(b, 1, s), 0);
	assert_int_equal(s[0].status, GNTST_general_error);

	assert_int_equal(b->ops->gnt_map(b, 1, &dom, &m.refs[0], true, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);
	fill(expect, PG, 20);
	assert_memory_equal(addr, expect, PG);
	assert_int_equal(write(to_child[1], "r", 1), 1);
	assert_int_equal(rd_full(to_parent[0], &m, sizeof(m)), 0);
	assert_int_equal(m.rc, -EBUSY);
	assert_int_equal(b->ops->gnt_unmap(b, 1, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);
	assert_int_equal(write(to_child[1], "c", 1), 1);
	assert_int_equal(rd_full(to_parent[0], &m, sizeof(m)), 0);
	assert_int_equal(m.rc, 0); /* the quarantined page is released too */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The granter is gone: its grants are unusable. */
	s[0] = seg_from(gid, m.refs[2], 0, out, 16);
	assert_int_equal(sn_gnt_copy(b, 1, s), 0);
	assert_int_equal(s[0].status, GNTST_bad_domain);
	close(to_child[1]);
	close(to_parent[0]);
	dom_close(b);
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return sn_test_host_start(&host) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sn_test_host_stop(&host);
	return 0;
}

int main(void)
{
#define PAIR(t) cmocka_unit_test_setup_teardown(t, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		PAIR(copy_reads_granted_page_byte_exact),
		PAIR(copy_writes_rw_grant_but_not_ro_grant),
		PAIR(copy_mixed_batch_fails_only_bad_segments),
		PAIR(copy_rejects_malformed_batches),
		PAIR(copy_reports_bad_page_for_frame_beyond_granter_ram),
		PAIR(copy_splits_large_batches_across_two_granters),
		PAIR(isolation_only_granted_pages_are_reachable),
		PAIR(map_gives_shared_page_with_grant_permissions),
		PAIR(revoke_and_free_wait_for_unmap),
		PAIR(shr_rejects_pages_it_does_not_own),
		cmocka_unit_test(domains_as_threads_copy_and_map),
		cmocka_unit_test(domains_as_processes_copy_map_and_die),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
