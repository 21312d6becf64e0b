/* The fault-injection platform (src/plat/fault.c) over two emulated
 * domains: each fault kind is injected exactly as configured (on the Nth
 * element exactly, at a rate approximately and reproducibly), a failed
 * element never reaches the hypervisor, and un-faulted ops pass through. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/dom.h"
#include "common/host_fixture.h"
#include "plat/fault.h"

#define PG SN_PAGE_SIZE

struct pair {
	struct sn_plat *g;  /* granter, unwrapped */
	struct sn_plat *b;  /* backend: fault wrapper around an emu domain */
	struct sn_plat *gw; /* granter wrapped too (revoke/free faults) */
	uint16_t gid, bid;
};

static const struct sn_test_dom small = { .ram_pages = 64, .gnttab_entries = 256 };

static int pair_setup(void **state)
{
	static uint16_t next = 40;
	struct pair *pr = calloc(1, sizeof(*pr));

	assert_non_null(pr);
	pr->gid = next++;
	pr->bid = next++;
	pr->g = sn_test_dom_open(pr->gid, &small);
	pr->b = sn_test_dom_open(pr->bid, &(struct sn_test_dom){ .ram_pages = 64,
								  .gnttab_entries = 256,
								  .fault_wrap = true });
	assert_int_equal(sn_fault_wrap(pr->g, NULL, &pr->gw), 0);
	*state = pr;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *pr = *state;

	sn_plat_close(pr->b);
	sn_plat_close(pr->gw); /* closes pr->g: the wrapper owns it */
	free(pr);
	return 0;
}

static void fill(void *buf, size_t len, unsigned int seed)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static sn_copy_seg seg_from(uint16_t domid, uint32_t ref, uint16_t off,
			    void *dst, uint16_t len)
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

static struct sn_fault_stats stats(struct sn_plat *p)
{
	struct sn_fault_stats st;

	assert_int_equal(sn_fault_stats_get(p, &st), 0);
	return st;
}

static void fault_wrap_passes_through_unchanged(void **state)
{
	struct pair *pr = *state;
	uint8_t out[4][256], zero[256] = { 0 };
	uint32_t refs[2], extra;
	uint16_t dom[2] = { pr->gid, pr->gid };
	int16_t st[2];
	void *page, *maps[2];
	sn_copy_seg s[4];

	assert_true(sn_fault_is(pr->b));
	assert_false(sn_fault_is(pr->g));
	assert_ptr_equal(sn_fault_inner(pr->gw), pr->g);
	assert_int_equal(pr->b->domid, pr->bid);
	assert_int_equal(pr->b->kind, SN_PLAT_EMU);
	assert_ptr_equal(pr->gw->xs, pr->g->xs);

	assert_int_equal(pr->gw->ops->shr_alloc(pr->gw, pr->bid, 2, true, refs, &page), 0);
	fill(page, 2 * PG, 1);
	memset(out, 0, sizeof(out));
	s[0] = seg_from(pr->gid, refs[0], 0, out[0], 256);
	s[1] = seg_from(pr->gid, refs[1], 100, out[1], 256);
	s[2] = seg_from(pr->gid, 255, 0, out[2], 256); /* never granted */
	s[3] = seg_from(pr->gid, refs[1], PG - 256, out[3], 256);
	assert_int_equal(sn_gnt_copy(pr->b, 4, s), 0);
	assert_int_equal(s[0].status, GNTST_okay);
	assert_int_equal(s[1].status, GNTST_okay);
	assert_int_not_equal(s[2].status, GNTST_okay); /* the inner verdict */
	assert_int_equal(s[3].status, GNTST_okay);
	assert_memory_equal(out[0], page, 256);
	assert_memory_equal(out[1], (uint8_t *)page + PG + 100, 256);
	assert_memory_equal(out[2], zero, 256);
	/* A malformed batch is rejected by the inner platform as before. */
	s[0].source.foreign.offset = PG - 10;
	assert_int_equal(sn_gnt_copy(pr->b, 1, s), -EINVAL);

	assert_int_equal(pr->b->ops->gnt_map(pr->b, 2, dom, refs, true, maps, st), 0);
	assert_int_equal(st[0], GNTST_okay);
	assert_int_equal(st[1], GNTST_okay);
	assert_memory_equal(maps[1], (uint8_t *)page + PG, PG);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 2, maps, st), 0);
	assert_int_equal(st[0], GNTST_okay);
	assert_int_equal(st[1], GNTST_okay);

	assert_int_equal(pr->gw->ops->shr_grant(pr->gw, pr->bid, page, false, &extra), 0);
	assert_int_equal(pr->gw->ops->shr_revoke(pr->gw, extra), 0);
	assert_int_equal(pr->gw->ops->shr_free(pr->gw, page, 2), 0);

	struct sn_fault_stats b = stats(pr->b), g = stats(pr->gw);

	assert_int_equal(b.seen[SN_FAULT_COPY], 5);
	assert_int_equal(b.seen[SN_FAULT_MAP], 2);
	assert_int_equal(b.seen[SN_FAULT_UNMAP], 2);
	assert_int_equal(g.seen[SN_FAULT_REVOKE], 1);
	assert_int_equal(g.seen[SN_FAULT_FREE], 1);
	for (int k = 0; k < SN_FAULT_NR; k++) {
		assert_int_equal(b.injected[k], 0);
		assert_int_equal(g.injected[k], 0);
	}
}

static void fault_copy_nth_segment_exactly(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_cfg cfg = { .seed = 1 };
	uint8_t out[5][64];
	uint32_t ref;
	void *page;
	sn_copy_seg s[5];

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ref, &page), 0);
	fill(page, PG, 2);
	cfg.rule[SN_FAULT_COPY].nth = 3;
	cfg.rule[SN_FAULT_COPY].status = GNTST_bad_gntref;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);

	for (int round = 0; round < 2; round++) {
		memset(out, 0xee, sizeof(out));
		for (int i = 0; i < 5; i++)
			s[i] = seg_from(pr->gid, ref, (uint16_t)(i * 64), out[i], 64);
		assert_int_equal(sn_gnt_copy(pr->b, 5, s), 0);
		for (int i = 0; i < 5; i++) {
			if (round == 0 && i == 2) {
				/* Failed: the chosen code, and no byte moved. */
				assert_int_equal(s[i].status, GNTST_bad_gntref);
				assert_int_equal(out[i][0], 0xee);
				assert_int_equal(out[i][63], 0xee);
			} else {
				assert_int_equal(s[i].status, GNTST_okay);
				assert_memory_equal(out[i], (uint8_t *)page + i * 64, 64);
			}
		}
	}
	assert_int_equal(stats(pr->b).injected[SN_FAULT_COPY], 1);

	/* every: segments 2, 4, 6, ... of the stream, across batches. */
	cfg.rule[SN_FAULT_COPY].every = true;
	cfg.rule[SN_FAULT_COPY].nth = 2;
	cfg.rule[SN_FAULT_COPY].status = 0; /* default code */
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5; i++)
			s[i] = seg_from(pr->gid, ref, 0, out[i], 64);
		assert_int_equal(sn_gnt_copy(pr->b, 5, s), 0);
		for (int i = 0; i < 5; i++) {
			int n = round * 5 + i + 1;

			assert_int_equal(s[i].status,
					 n % 2 ? GNTST_okay : GNTST_general_error);
		}
	}
	assert_int_equal(stats(pr->b).injected[SN_FAULT_COPY], 1 + 5);

	/* max caps the injections. */
	cfg.rule[SN_FAULT_COPY].nth = 1;
	cfg.rule[SN_FAULT_COPY].max = 2;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	for (int i = 0; i < 5; i++)
		s[i] = seg_from(pr->gid, ref, 0, out[i], 64);
	assert_int_equal(sn_gnt_copy(pr->b, 5, s), 0);
	assert_int_not_equal(s[0].status, GNTST_okay);
	assert_int_not_equal(s[1].status, GNTST_okay);
	for (int i = 2; i < 5; i++)
		assert_int_equal(s[i].status, GNTST_okay);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), 0);
}

/* Runs `total` one-byte copies through wrapper p, recording which failed. */
static unsigned int copy_pattern(struct sn_plat *p, uint16_t gid, uint32_t ref,
				 uint8_t *failed, unsigned int total)
{
	sn_copy_seg s[100];
	uint8_t out[100];
	unsigned int n = 0;

	for (unsigned int done = 0; done < total; done += 100) {
		for (int i = 0; i < 100; i++)
			s[i] = seg_from(gid, ref, 0, &out[i], 1);
		assert_int_equal(sn_gnt_copy(p, 100, s), 0);
		for (int i = 0; i < 100; i++) {
			failed[done + i] = s[i].status != GNTST_okay;
			n += failed[done + i];
		}
	}
	return n;
}

static void fault_copy_rate_is_approximate_and_reproducible(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_cfg cfg = { .seed = 42 };
	static uint8_t a[10000], b[10000], c[10000];
	unsigned int na, nb, nc;
	uint32_t ref;
	void *page;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ref, &page), 0);
	cfg.rule[SN_FAULT_COPY].rate_ppm = 100000; /* 10 % */
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	na = copy_pattern(pr->b, pr->gid, ref, a, 10000);
	/* 10000 draws at p = 0.1: sigma = 30; +-200 is over 6 sigma. */
	assert_in_range(na, 800, 1200);
	assert_int_equal(stats(pr->b).injected[SN_FAULT_COPY], na);

	/* Same seed: the same elements fail. */
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	nb = copy_pattern(pr->b, pr->gid, ref, b, 10000);
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, sizeof(a));
	/* Another seed: a different pattern at the same rate. */
	cfg.seed = 43;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	nc = copy_pattern(pr->b, pr->gid, ref, c, 10000);
	assert_in_range(nc, 800, 1200);
	assert_memory_not_equal(a, c, sizeof(a));
	/* 1 %: the "under 1 % random grant failures". */
	cfg.rule[SN_FAULT_COPY].rate_ppm = 10000;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	nc = copy_pattern(pr->b, pr->gid, ref, c, 10000);
	assert_in_range(nc, 40, 160);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), 0);
}

static void fault_map_nth_element_and_others_mapped(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_cfg cfg = { .seed = 3 };
	uint16_t dom[4];
	uint32_t refs[4];
	int16_t st[4], ust[4];
	void *page, *maps[4], *live[3];
	int nl = 0;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 4, true, refs, &page), 0);
	fill(page, 4 * PG, 5);
	for (int i = 0; i < 4; i++)
		dom[i] = pr->gid;
	cfg.rule[SN_FAULT_MAP].nth = 2;
	cfg.rule[SN_FAULT_MAP].status = GNTST_no_device_space;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	memset(maps, 0x5a, sizeof(maps));
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 4, dom, refs, false, maps, st), 0);
	for (int i = 0; i < 4; i++) {
		if (i == 1) {
			assert_int_equal(st[i], GNTST_no_device_space);
			assert_null(maps[i]);
			continue;
		}
		assert_int_equal(st[i], GNTST_okay);
		assert_memory_equal(maps[i], (uint8_t *)page + i * PG, PG);
		live[nl++] = maps[i];
	}
	assert_int_equal(stats(pr->b).injected[SN_FAULT_MAP], 1);
	/* The failed element was never mapped, so its page is not pinned:
	 * it can be revoked now; the mapped ones cannot. */
	uint32_t r1;

	assert_int_equal(pr->g->ops->shr_grant(pr->g, pr->bid, (uint8_t *)page + PG,
					       false, &r1), 0);
	assert_int_equal(pr->g->ops->shr_revoke(pr->g, r1), 0);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 3, live, ust), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ust[i], GNTST_okay);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 4), 0);
}

static void fault_unmap_leaves_page_mapped(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_cfg cfg = { .seed = 4 };
	uint16_t dom = pr->gid;
	uint32_t ref;
	int16_t st;
	void *page, *map;

	assert_int_equal(pr->g->ops->shr_alloc(pr->g, pr->bid, 1, false, &ref, &page), 0);
	fill(page, PG, 6);
	assert_int_equal(pr->b->ops->gnt_map(pr->b, 1, &dom, &ref, false, &map, &st), 0);
	assert_int_equal(st, GNTST_okay);
	cfg.rule[SN_FAULT_UNMAP].nth = 1;
	cfg.rule[SN_FAULT_UNMAP].status = GNTST_general_error;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &map, &st), 0);
	assert_int_equal(st, GNTST_general_error);
	assert_int_equal(stats(pr->b).injected[SN_FAULT_UNMAP], 1);
	/* As on Xen, the page is still mapped and pinned: the granter
	 * cannot take it back, and the mapping still reads its bytes. */
	assert_memory_equal(map, page, PG);
	assert_int_equal(pr->g->ops->shr_free(pr->g, page, 1), -EBUSY);
	/* The retry (nth was one-shot) goes through and frees the pin. */
	assert_int_equal(pr->b->ops->gnt_unmap(pr->b, 1, &map, &st), 0);
	assert_int_equal(st, GNTST_okay);
}

static void fault_revoke_and_free_busy(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_cfg cfg = { .seed = 5 };
	uint8_t out[32];
	uint32_t ref, extra;
	void *page;
	sn_copy_seg s;

	assert_int_equal(pr->gw->ops->shr_alloc(pr->gw, pr->bid, 1, false, &ref, &page), 0);
	fill(page, PG, 7);
	assert_int_equal(pr->gw->ops->shr_grant(pr->gw, pr->bid, page, false, &extra), 0);
	cfg.rule[SN_FAULT_REVOKE].nth = 1;
	cfg.rule[SN_FAULT_FREE].nth = 1;
	assert_int_equal(sn_fault_configure(pr->gw, &cfg), 0);
	assert_int_equal(pr->gw->ops->shr_revoke(pr->gw, extra), -EBUSY);
	/* The grant stays active: the peer can still copy through it. */
	s = seg_from(pr->gid, extra, 0, out, sizeof(out));
	assert_int_equal(sn_gnt_copy(pr->b, 1, &s), 0);
	assert_int_equal(s.status, GNTST_okay);
	assert_memory_equal(out, page, sizeof(out));
	assert_int_equal(pr->gw->ops->shr_revoke(pr->gw, extra), 0);
	s = seg_from(pr->gid, extra, 0, out, sizeof(out));
	assert_int_equal(sn_gnt_copy(pr->b, 1, &s), 0);
	assert_int_not_equal(s.status, GNTST_okay);

	assert_int_equal(pr->gw->ops->shr_free(pr->gw, page, 1), -EBUSY);
	s = seg_from(pr->gid, ref, 0, out, sizeof(out));
	assert_int_equal(sn_gnt_copy(pr->b, 1, &s), 0);
	assert_int_equal(s.status, GNTST_okay);
	assert_int_equal(pr->gw->ops->shr_free(pr->gw, page, 1), 0);

	struct sn_fault_stats g = stats(pr->gw);

	assert_int_equal(g.injected[SN_FAULT_REVOKE], 1);
	assert_int_equal(g.injected[SN_FAULT_FREE], 1);
	assert_int_equal(g.seen[SN_FAULT_REVOKE], 2);
	assert_int_equal(g.seen[SN_FAULT_FREE], 2);
}

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static bool wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN);
}

static void fault_spurious_events_burst_and_real_events(void **state)
{
	struct pair *pr = *state;
	struct sn_evtchn *be, *ge;
	int bport, gport, fd;

	assert_int_equal(pr->b->ops->evt_open(pr->b, &be), 0);
	assert_int_equal(pr->g->ops->evt_open(pr->g, &ge), 0);
	fd = pr->b->ops->evt_fd(be);
	/* Queued before any port exists: held back, the fd stays quiet. */
	assert_int_equal(sn_fault_evt_inject(pr->b, be, 2), 0);
	assert_false(readable(fd));
	assert_int_equal(pr->b->ops->evt_pending(be), -EAGAIN);
	bport = pr->b->ops->evt_alloc_unbound(be, pr->gid);
	assert_true(bport >= 0);
	gport = pr->g->ops->evt_bind_interdomain(ge, pr->bid, (sn_port_t)bport);
	assert_true(gport >= 0);
	assert_true(readable(fd));
	assert_int_equal(sn_fault_evt_inject(pr->b, be, 1), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(readable(fd));
		assert_int_equal(pr->b->ops->evt_pending(be), bport);
		assert_int_equal(pr->b->ops->evt_unmask(be, (sn_port_t)bport), 0);
	}
	assert_int_equal(pr->b->ops->evt_pending(be), -EAGAIN);
	assert_false(readable(fd));
	assert_int_equal(stats(pr->b).injected[SN_FAULT_EVENT], 3);

	/* A real event still arrives through the same fd. */
	assert_int_equal(pr->g->ops->evt_notify(ge, (sn_port_t)gport), 0);
	assert_true(wait_readable(fd));
	assert_int_equal(pr->b->ops->evt_pending(be), bport);
	assert_int_equal(pr->b->ops->evt_pending(be), -EAGAIN);
	assert_int_equal(pr->b->ops->evt_unmask(be, (sn_port_t)bport), 0);
	assert_false(readable(fd));

	/* nth: the 4th evt_pending call queues a burst of 5. */
	struct sn_fault_cfg cfg = { .seed = 9 };

	cfg.rule[SN_FAULT_EVENT].nth = 4;
	cfg.rule[SN_FAULT_EVENT].burst = 5;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pr->b->ops->evt_pending(be), -EAGAIN);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pr->b->ops->evt_pending(be), bport);
	assert_int_equal(pr->b->ops->evt_pending(be), -EAGAIN);
	assert_int_equal(stats(pr->b).injected[SN_FAULT_EVENT], 3 + 5);

	/* rate: a storm that sustains itself while the loop polls. */
	cfg.rule[SN_FAULT_EVENT].nth = 0;
	cfg.rule[SN_FAULT_EVENT].burst = 1;
	cfg.rule[SN_FAULT_EVENT].rate_ppm = 250000;
	assert_int_equal(sn_fault_configure(pr->b, &cfg), 0);
	unsigned int got = 0;

	for (int i = 0; i < 4000; i++)
		got += pr->b->ops->evt_pending(be) >= 0;
	/* Each call draws once: about 1000 spurious events, all reported. */
	struct sn_fault_stats st = stats(pr->b);

	assert_in_range(st.injected[SN_FAULT_EVENT] - 8, 850, 1150);
	assert_in_range(got, st.injected[SN_FAULT_EVENT] - 8 - 1,
			st.injected[SN_FAULT_EVENT] - 8);

	assert_int_equal(pr->b->ops->evt_unbind(be, (sn_port_t)bport), 0);
	pr->b->ops->evt_close(be);
	pr->g->ops->evt_close(ge);
}

static void fault_wrap_rejects_bad_args(void **state)
{
	struct pair *pr = *state;
	struct sn_fault_stats st;
	struct sn_plat *out = NULL;

	assert_int_equal(sn_fault_wrap(NULL, NULL, &out), -EINVAL);
	assert_null(out);
	assert_int_equal(sn_fault_configure(pr->g, NULL), -EINVAL);
	assert_int_equal(sn_fault_stats_get(pr->g, &st), -EINVAL);
	assert_null(sn_fault_inner(pr->g));
	/* Wrapping a wrapper composes. */
	struct sn_plat *inner = sn_test_dom_open((uint16_t)(pr->bid + 500), &small), *w1, *w2;
	struct sn_fault_cfg cfg = { .seed = 1 };

	assert_int_equal(sn_fault_wrap(inner, NULL, &w1), 0);
	cfg.rule[SN_FAULT_REVOKE].nth = 1;
	assert_int_equal(sn_fault_wrap(w1, &cfg, &w2), 0);
	assert_int_equal(w2->ops->shr_revoke(w2, 12345), -EBUSY);
	assert_int_equal(stats(w1).seen[SN_FAULT_REVOKE], 0);
	sn_plat_close(w2); /* closes w1 and inner: LSan checks it */
}

int main(void)
{
#define PAIR(t) cmocka_unit_test_setup_teardown(t, pair_setup, pair_teardown)
	const struct CMUnitTest tests[] = {
		PAIR(fault_wrap_passes_through_unchanged),
		PAIR(fault_copy_nth_segment_exactly),
		PAIR(fault_copy_rate_is_approximate_and_reproducible),
		PAIR(fault_map_nth_element_and_others_mapped),
		PAIR(fault_unmap_leaves_page_mapped),
		PAIR(fault_revoke_and_free_busy),
		PAIR(fault_spurious_events_burst_and_real_events),
		PAIR(fault_wrap_rejects_bad_args),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
