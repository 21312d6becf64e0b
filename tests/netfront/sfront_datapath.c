/* Netfront with staging grants against the crafted backend: it offers a
 * control ring (common/peer_back_ctrl.c) and serves the data rings
 * (common/peer_back.c) by memcpy through its standing mappings for staged
 * grefs and by grant copy for the others: byte-exact both ways, both policies, 1 and
 * 4 queues; fallbacks said once and counted; header slots leak nothing
 * (XSA-403); orderly close deletes every mapping. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/main.h"
#include "common/peer_back.h"
#include "front/staging.h"
#include "common/peer_back_ctrl.h"
#include "stagenet/front.h"

struct tctx {
	struct sn_plat *fe, *be;
	struct fake_back fb;
	struct tback tb;
	bool tb_on;
	struct sn_front *nic;
	uint8_t *mem;
	struct sn_pkt pk[8];
	struct sn_pkt *pp[8];
};

static int ctx_setup(void **state)
{
	static uint16_t next = 2;
	struct tctx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->be = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 16384 });
	t->fe = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 16384 });
	sn_test_pkts_alloc(&t->mem, t->pk, t->pp, 8);
	*state = t;
	return 0;
}

/* Orderly close while the backend still answers its control ring: every
 * staged mapping must be deleted (DEL) before the frontend says Closing. */
static void close_nic(struct tctx *t)
{
	if (!t->nic)
		return;
	fb_set_state(&t->fb, XenbusStateClosed);
	sn_front_close(t->nic, 2000);
	t->nic = NULL;
	if (t->tb_on)
		assert_int_equal(tb_count(&t->tb), 0);
	fb_disconnect(&t->fb);
	tb_stop(&t->tb);
	t->tb_on = false;
}

static int ctx_teardown(void **state)
{
	struct tctx *t = *state;

	close_nic(t);
	if (t->fb.evt)
		t->be->ops->evt_close(t->fb.evt);
	sn_plat_close(t->fe);
	sn_plat_close(t->be);
	free(t->mem);
	free(t);
	return 0;
}

/* A staged gref's standing mapping, or NULL (normal path); arg: the
 * struct tctx (struct fake_back.staged). */
static uint8_t *staged(void *arg, uint32_t ref)
{
	struct tctx *t = arg;

	return t->tb_on ? tb_addr(&t->tb, ref) : NULL;
}

struct bring {
	enum sn_front_staging_policy policy;
	uint16_t queues;
	bool ctrl_ring;    /* backend advertises feature-ctrl-ring */
	uint32_t table;    /* backend's GREF table per queue; 0: NOT_SUPPORTED */
	uint32_t pages;    /* frontend staging_pages */
};

static void bring_up(struct tctx *t, const struct bring *br)
{
	struct fb_features f = {
		.max_queues = br->queues > 1 ? br->queues : 0,
		.keys.k[SN_PEER_CTRL_RING] = br->ctrl_ring ? SN_PEER_ON : SN_PEER_OMIT,
	};
	struct sn_front_cfg cfg = { .devid = 0, .queues = br->queues, .staging = br->policy,
				    .staging_pages = br->pages };
	enum sn_front_event ev;
	char *v;

	fb_init(&t->fb, t->be, t->fe->domid, 0, &f);
	t->fb.staged = staged;
	t->fb.staged_arg = t;
	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	fb_set_state(&t->fb, XenbusStateInitWait);
	assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateConnected);
	fb_connect(&t->fb);
	v = fb_fe_read(&t->fb, "ctrl-ring-ref");
	if (br->ctrl_ring && br->policy != SN_STAGING_OFF) {
		assert_non_null(v);
		t->tb.max = br->table;
		t->tb.nq = t->fb.nq;
		tb_start(&t->tb, t->be, t->fe->domid, t->fb.fe);
		t->tb_on = true;
	} else {
		/* No control ring wanted or offered: no keys either. */
		assert_null(v);
	}
	free(v);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_RECONNECTED, 200);
}

/* Echo every TX packet of queue qi into its RX ring (staged grefs through
 * the control-ring peer's mappings); these tests send no GSO, so no extra
 * slot shifts the counts. */
static int echo(struct tctx *t, uint16_t qi)
{
	int n = fb_echo(&t->fb, qi);

	assert_int_equal(t->fb.st.gso_pkts, 0);
	return n;
}

static void fill(struct sn_pkt *p, uint32_t len, unsigned int seed)
{
	uint32_t i;

	memset(p->data, 0xff, 6);
	memset(p->data + 6, 0x02, 6);
	p->data[12] = 0x88;
	p->data[13] = 0xb5;
	for (i = 14; i < len; i++)
		p->data[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
	p->len = len;
	p->flags = 0;
}

static uint64_t qstat(struct tctx *t, uint16_t q, enum sn_qstat c)
{
	return sn_front_queue_stats(t->nic, q)->v[c];
}

/* One packet of len through queue q and back, byte-exact. */
static void round_trip(struct tctx *t, uint16_t q, uint32_t len, unsigned int seed)
{
	static uint8_t ref[65536];
	unsigned int tries;
	int n = 0;

	fill(t->pp[0], len, seed);
	memcpy(ref, t->pp[0]->data, len);
	assert_int_equal(sn_front_tx_burst(t->nic, q, t->pp, 1), 1);
	assert_int_equal(echo(t, q), 1);
	t->pp[1]->cap = SN_PKT_BUF_SIZE;
	for (tries = 0; tries < 100 && n == 0; tries++)
		n = sn_front_rx_burst(t->nic, q, t->pp + 1, 1);
	assert_int_equal(n, 1);
	assert_int_equal(t->pp[1]->len, len);
	assert_memory_equal(t->pp[1]->data, ref, len);
	/* Collect the TX responses so staged slots go back to the pool. */
	assert_true(sn_front_tx_burst(t->nic, q, t->pp, 0) >= 0);
}

static const uint32_t sizes[] = { 60, 64, 255, 256, 257, 1514, 4096, 4097, 9000, 65535 };

static void traffic(struct tctx *t, uint16_t nq, unsigned int rounds)
{
	unsigned int r, i;
	uint16_t q;

	for (r = 0; r < rounds; r++)
		for (q = 0; q < nq; q++)
			for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
				round_trip(t, q, sizes[i], r * 100 + i + q);
}

/* ---- page policy --------------------------------------------------------- */

static void page_64_bytes_take_no_grant_op(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 1, .ctrl_ring = true,
			    .table = 1024 };

	bring_up(t, &br);
	assert_true(sn_front_queue_staged(t->nic, 0));
	assert_int_equal(tb_count(&t->tb), SN_STAGING_PAGE_PAGES);
	round_trip(t, 0, 64, 1);
	/* Both directions through staged buffers: the backend did no grant
	 * copy at all, the frontend counted the slots as staged. */
	assert_int_equal(t->fb.st.tx_copied, 0);
	assert_int_equal(t->fb.st.rx_copied, 0);
	assert_int_equal(t->fb.st.tx_staged, 1);
	assert_int_equal(t->fb.st.rx_staged, 1);
	assert_int_equal(qstat(t, 0, SN_QS_staged_slots), 2);
	assert_int_equal(qstat(t, 0, SN_QS_unstaged_slots), 0);
	assert_int_equal(qstat(t, 0, SN_QS_memcpy_bytes), 128);
	assert_int_equal(sn_front_staging_fallbacks(t->nic), 0);
}

static void page_byte_exact_one_queue(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 1, .ctrl_ring = true,
			    .table = 1024 };

	bring_up(t, &br);
	/* Enough rounds to cycle every staged RX page and TX slot. */
	traffic(t, 1, 30);
	assert_int_equal(t->fb.st.tx_copied, 0);
	assert_int_equal(t->fb.st.rx_copied, 0);
	assert_true(t->fb.st.tx_staged > 0 && t->fb.st.rx_staged > 0);
	assert_int_equal(qstat(t, 0, SN_QS_unstaged_slots), 0);
}

static void page_byte_exact_four_queues(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 4, .ctrl_ring = true,
			    .table = 1024 };
	uint16_t q;

	bring_up(t, &br);
	assert_int_equal(sn_front_num_queues(t->nic), 4);
	for (q = 0; q < 4; q++)
		assert_true(sn_front_queue_staged(t->nic, q));
	assert_int_equal(tb_count(&t->tb), 4 * SN_STAGING_PAGE_PAGES);
	traffic(t, 4, 3);
	assert_int_equal(t->fb.st.tx_copied, 0);
	assert_int_equal(t->fb.st.rx_copied, 0);
}

/* A pool smaller than a ring: when staged pages run out, packets take the
 * normal path and still arrive intact. */
static void page_small_pool_mixes_paths(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 1, .ctrl_ring = true,
			    .table = 6 };

	bring_up(t, &br);
	assert_int_equal(tb_count(&t->tb), 6);
	traffic(t, 1, 2);
	/* 65535 bytes need 16 pages, more than the 3 TX pages staged. */
	assert_true(t->fb.st.tx_copied > 0);
	assert_true(t->fb.st.tx_staged > 0);
	assert_true(t->fb.st.rx_copied > 0);
	assert_true(t->fb.st.rx_staged > 0);
	assert_true(qstat(t, 0, SN_QS_unstaged_slots) > 0);
}

/* ---- header policy ------------------------------------------------------- */

static void header_stages_first_256_bytes(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_HEADER, .queues = 1, .ctrl_ring = true,
			    .table = 1024 };
	uint8_t *m;

	bring_up(t, &br);
	assert_int_equal(tb_count(&t->tb), SN_STAGING_HDR_PAGES);
	round_trip(t, 0, 64, 1);
	assert_int_equal(t->fb.st.tx_staged, 1);
	assert_int_equal(t->fb.st.tx_copied, 0);
	/* RX keeps normal pages under the header policy. */
	assert_int_equal(t->fb.st.rx_copied, 1);
	assert_int_equal(t->fb.st.last_off % SN_STAGING_HDR_SLOT, 0);
	/* XSA-403: the backend's view of the slot's page holds the packet
	 * bytes and nothing else (zero outside the slot's packet). */
	m = staged(t, t->fb.st.last_gref);
	assert_non_null(m);
	for (unsigned int i = 0; i < SN_PAGE_SIZE; i++) {
		if (i >= t->fb.st.last_off && i < t->fb.st.last_off + 64u)
			continue;
		assert_int_equal(m[i], 0);
	}

	round_trip(t, 0, 1514, 2);
	/* 256 staged + 1258 granted: one staged and one copied TX slot. */
	assert_int_equal(t->fb.st.tx_staged, 2);
	assert_int_equal(t->fb.st.tx_copied, 1);
	assert_int_equal(qstat(t, 0, SN_QS_staged_slots), 2);
}

static void header_byte_exact_one_and_four_queues(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_HEADER, .queues = 4, .ctrl_ring = true,
			    .table = 1024 };

	bring_up(t, &br);
	traffic(t, 4, 2);
	close_nic(t);
	memset(&t->fb.st, 0, sizeof(t->fb.st));
	memset(&t->tb, 0, sizeof(t->tb));
	if (t->fb.evt)
		t->be->ops->evt_close(t->fb.evt);
	br.queues = 1;
	bring_up(t, &br);
	/* 300 rounds of 10 sizes: the 256 header slots are reused. */
	traffic(t, 1, 30);
	assert_int_equal(t->fb.st.tx_staged, 300);
}

/* ---- fallbacks and interop ----------------------------------------------- */

static void fallback_not_supported_counted(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 4, .ctrl_ring = true,
			    .table = 0 };
	uint16_t q;

	bring_up(t, &br);
	for (q = 0; q < 4; q++)
		assert_false(sn_front_queue_staged(t->nic, q));
	assert_int_equal(sn_front_staging_fallbacks(t->nic), 4);
	/* Asked once, not once per queue. */
	assert_int_equal(t->tb.n_req, 1);
	traffic(t, 4, 1);
	assert_int_equal(t->fb.st.tx_staged + t->fb.st.rx_staged, 0);
	assert_true(qstat(t, 0, SN_QS_unstaged_slots) > 0);
	assert_int_equal(qstat(t, 0, SN_QS_staged_slots), 0);
}

static void fallback_no_ctrl_ring(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_HEADER, .queues = 1, .ctrl_ring = false };

	bring_up(t, &br);
	assert_false(sn_front_queue_staged(t->nic, 0));
	assert_int_equal(sn_front_staging_fallbacks(t->nic), 1);
	traffic(t, 1, 1);
	assert_int_equal(qstat(t, 0, SN_QS_staged_slots), 0);
}

static void staging_off_with_staging_backend(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_OFF, .queues = 4, .ctrl_ring = true,
			    .table = 1024 };

	bring_up(t, &br);
	assert_int_equal(sn_front_staging_fallbacks(t->nic), 0);
	traffic(t, 4, 1);
	assert_int_equal(t->fb.st.tx_staged + t->fb.st.rx_staged, 0);
	assert_int_equal(qstat(t, 0, SN_QS_staged_slots), 0);
}

/* The backend goes away without answering DEL (it went Closing): the pool
 * is released through the revoke alone, and the mappings it dropped leave
 * nothing quarantined. */
static void backend_gone_releases_pool_by_revoke(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 1, .ctrl_ring = true,
			    .table = 1024, .pages = 32 };
	enum sn_front_event ev = SN_FRONT_EV_NONE;
	int i;

	bring_up(t, &br);
	traffic(t, 1, 1);
	/* A backend disconnects: rings, control ring, staged mappings. */
	fb_disconnect(&t->fb);
	tb_stop(&t->tb);
	t->tb_on = false;
	fb_set_state(&t->fb, XenbusStateClosing);
	for (i = 0; i < 100 && ev != SN_FRONT_EV_DOWN; i++) {
		assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
		if (ev != SN_FRONT_EV_DOWN)
			poll(NULL, 0, 2);
	}
	assert_int_equal(ev, SN_FRONT_EV_DOWN);
	assert_false(sn_front_queue_staged(t->nic, 0));
	assert_int_equal(sn_front_quarantined(t->nic), 0);
}

/* Same, but the backend keeps one staged page mapped (it lies about having
 * disconnected): that page is quarantined, never freed. */
static void backend_gone_but_still_mapping_quarantines(void **state)
{
	struct tctx *t = *state;
	struct bring br = { .policy = SN_STAGING_PAGE, .queues = 1, .ctrl_ring = true,
			    .table = 1024, .pages = 32 };
	enum sn_front_event ev = SN_FRONT_EV_NONE;
	void *keep_addr;
	int16_t st;
	int i;

	bring_up(t, &br);
	traffic(t, 1, 1);
	/* Forget one mapping in the table so tb_stop leaves it mapped. */
	pthread_mutex_lock(&t->tb.lock);
	keep_addr = t->tb.ent[0].addr;
	t->tb.ent[0] = t->tb.ent[--t->tb.nent];
	pthread_mutex_unlock(&t->tb.lock);
	fb_disconnect(&t->fb);
	tb_stop(&t->tb);
	t->tb_on = false;
	fb_set_state(&t->fb, XenbusStateClosing);
	for (i = 0; i < 100 && ev != SN_FRONT_EV_DOWN; i++) {
		assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
		if (ev != SN_FRONT_EV_DOWN)
			poll(NULL, 0, 2);
	}
	assert_int_equal(ev, SN_FRONT_EV_DOWN);
	assert_true(sn_front_quarantined(t->nic) >= 1);
	assert_int_equal(t->be->ops->gnt_unmap(t->be, 1, &keep_addr, &st), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, ctx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(page_64_bytes_take_no_grant_op),
		T(page_byte_exact_one_queue),
		T(page_byte_exact_four_queues),
		T(page_small_pool_mixes_paths),
		T(header_stages_first_256_bytes),
		T(header_byte_exact_one_and_four_queues),
		T(fallback_not_supported_counted),
		T(fallback_no_ctrl_ring),
		T(staging_off_with_staging_backend),
		T(backend_gone_releases_pool_by_revoke),
		T(backend_gone_but_still_mapping_quarantines),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
