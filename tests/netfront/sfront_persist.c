/* `--staging persist` (README "Persist flags"): the real netfront against
 * the real netback in this process, persist x persist (byte-exact both
 * ways, 1 and 2 queues, steady-state 64-byte traffic with no grant
 * operation), persist x a staging backend without the feature, persist x
 * Linux mode, and churn (retired buffers unmapped and replaced, no
 * leak); then against the crafted backend, what goes on the rings: no
 * flag and no padding without the backend's key, both with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/peer_back.h"
#include "front/nic.h"
#include "front/staging.h"

#define NPKTS 300u

static const uint32_t sizes[] = { 60, 64, 300, 1514, 4096, 4097, 9000, 65535 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
static bool only_64;

static uint32_t pkt_len(unsigned int i)
{
	return only_64 ? 64 : sizes[i % NSIZES];
}

static int ctx_setup(void **state)
{
	*state = sn_test_world_open(16384, pkt_len);
	return 0;
}

static uint64_t fsum(struct sn_test_world *t, uint16_t nq, enum sn_qstat c)
{
	uint64_t s = 0;

	for (uint16_t q = 0; q < nq; q++)
		s += sn_front_queue_stats(t->nic, q)->v[c];
	return s;
}

static uint64_t bsum(struct sn_test_world *t, uint16_t nq, enum sn_qstat c)
{
	struct sn_qstats st;
	uint64_t s = 0;

	for (uint16_t q = 0; q < nq; q++) {
		assert_int_equal(sn_back_vif_stats(t->b.back, t->fe->domid, 0, q, &st), 0);
		s += st.v[c];
	}
	return s;
}

static void connect(struct sn_test_world *t, uint16_t nq, uint32_t churn)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = nq, .staging = SN_STAGING_PERSIST,
				    .persist_churn_pct = churn };

	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	assert_int_equal(sn_front_connect(t->nic, 10000), 0);
	assert_int_equal(sn_front_num_queues(t->nic), nq);
}

/* RX: the backend's port makes its frames (to_make per queue, set before
 * the backend starts, or flood); this receives npkts per queue of them. */
static void run(struct sn_test_world *t, uint16_t nq, bool rx, unsigned int npkts)
{
	if (rx) {
		sn_test_guest_rx(t->nic, t->pp, nq, npkts, 30000);
		return;
	}
	t->b.sh.got = 0;
	sn_test_guest_tx(t->nic, &t->b, t->pp, nq, npkts, 30000);
	for (uint16_t q = 0; q < nq; q++)
		assert_true(sn_front_tx_burst(t->nic, q, t->pp, 0) >= 0);
}

enum back_kind { BACK_PERSIST, BACK_NO_PERSIST, BACK_LINUX };

static void start_back(struct sn_test_world *t, enum back_kind k)
{
	struct sn_back_cfg cfg = { .plat = t->be, .max_queues = 4 };

	cfg.persist_off = k == BACK_NO_PERSIST;
	if (k == BACK_LINUX) {
		cfg.staging_off = true;
		cfg.tx_path = SN_BACK_TX_LINUX;
	}
	sn_test_back_start_cfg(&t->b, &cfg);
}

static void run_case(void **state, enum back_kind k, uint16_t nq, bool rx)
{
	struct sn_test_world *t = *state;

	only_64 = false;
	if (rx)
		t->b.sh.to_make = NPKTS;
	start_back(t, k);
	connect(t, nq, 0);
	run(t, nq, rx, NPKTS);
	for (uint16_t q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_stats(t->nic, q)->v[SN_QS_fatal_errors], 0);
	/* The pool is used either way (staged_slots on the frontend); the
	 * backend keeps mappings only where both sides agreed. */
	assert_true(fsum(t, nq, SN_QS_staged_slots) > 0);
	if (k == BACK_PERSIST) {
		assert_true(bsum(t, nq, SN_QS_persist_maps) > 0);
		assert_true(bsum(t, nq, SN_QS_staged_slots) > 0);
	} else {
		assert_int_equal(bsum(t, nq, SN_QS_persist_maps), 0);
		assert_int_equal(bsum(t, nq, SN_QS_staged_slots), 0);
		assert_true(bsum(t, nq, SN_QS_grant_copies) + bsum(t, nq, SN_QS_grant_maps) > 0);
	}
	assert_int_equal(bsum(t, nq, SN_QS_persist_unmaps), 0);
}

#define CASE(name, k, nq, rx)                 \
	static void name(void **state)        \
	{                                     \
		run_case(state, k, nq, rx);   \
	}

CASE(persist_x_persist_tx_1q, BACK_PERSIST, 1, false)
CASE(persist_x_persist_rx_1q, BACK_PERSIST, 1, true)
CASE(persist_x_persist_tx_2q, BACK_PERSIST, 2, false)
CASE(persist_x_persist_rx_2q, BACK_PERSIST, 2, true)
CASE(persist_x_no_persist_tx_1q, BACK_NO_PERSIST, 1, false)
CASE(persist_x_no_persist_rx_2q, BACK_NO_PERSIST, 2, true)
CASE(persist_x_linux_tx_2q, BACK_LINUX, 2, false)
CASE(persist_x_linux_rx_1q, BACK_LINUX, 1, true)

/* Receive until every queue got at least want frames since the call
 * (bursts may bring more) and, if total, exactly total in all; every frame
 * intact and on its queue.  Returns the number received. */
static unsigned int rx_until(struct sn_test_world *t, uint16_t nq, unsigned int want,
			     unsigned int total)
{
	int64_t deadline = sn_test_now_ms() + 30000;
	unsigned int got = 0, qgot[4] = { 0 };
	bool done = false;

	while (!done && sn_test_now_ms() < deadline) {
		done = true;
		for (uint16_t q = 0; q < nq; q++) {
			int n = sn_front_rx_burst(t->nic, q, t->pp, 32);

			assert_true(n >= 0);
			for (int i = 0; i < n; i++) {
				assert_true(sn_test_pattern_ok(t->pp[i]->data, t->pp[i]->len));
				assert_int_equal(t->pp[i]->queue, q);
				t->pp[i]->cap = SN_PKT_BUF_SIZE;
			}
			got += (unsigned int)n;
			qgot[q] += (unsigned int)n;
			done &= qgot[q] >= want;
		}
		done &= !total || got >= total;
		sn_front_queue_wait(t->nic, 0, 5, 1);
	}
	assert_true(done);
	return got;
}

struct ops {
	uint64_t copies, maps, unmaps, staged;
};

static struct ops ops_now(struct sn_test_world *t, uint16_t nq)
{
	return (struct ops){ bsum(t, nq, SN_QS_grant_copies), bsum(t, nq, SN_QS_grant_maps),
			     bsum(t, nq, SN_QS_grant_unmaps), bsum(t, nq, SN_QS_staged_slots) };
}

/* Pool pages of the first nq queues: the most first-sight maps a persist
 * backend may ever do for this frontend, however much traffic it sees. */
static uint64_t pool_pages(struct sn_test_world *t, uint16_t nq)
{
	uint64_t n = 0;

	for (uint16_t q = 0; q < nq; q++)
		if (t->nic->q[q].staging)
			n += t->nic->q[q].staging->npages;
	return n;
}

/* After warm-up (every pool page seen once), 64-byte traffic both ways
 * costs the backend no grant operation at all. */
static void persist_64_steady_state_no_grant_ops(void **state)
{
	struct sn_test_world *t = *state;
	unsigned int got;
	uint64_t fstaged;
	struct ops a, b;

	only_64 = true;
	t->b.sh.to_make = 1200;
	start_back(t, BACK_PERSIST);
	connect(t, 2, 0);
	/* More than the 256 pool pages each queue posts. */
	got = rx_until(t, 2, 300, 0);
	a = ops_now(t, 2);
	fstaged = fsum(t, 2, SN_QS_staged_slots);
	/* Warm-up: maps only, one per pool page at most. */
	assert_int_equal(a.copies, 0);
	assert_int_equal(a.maps, bsum(t, 2, SN_QS_persist_maps));
	assert_true(a.maps > 0 && a.maps <= 2 * 256);
	assert_int_equal(rx_until(t, 2, 0, 2400 - got), 2400 - got);
	b = ops_now(t, 2);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(b.maps - a.maps, 0);
	assert_int_equal(b.unmaps - a.unmaps, 0);
	/* The backend runs ahead of what we took (answers in the ring):
	 * count what arrived staged here. */
	assert_int_equal(fsum(t, 2, SN_QS_staged_slots) - fstaged, 2400 - got);

	/* TX takes its slots from a stack (the last freed first), so how
	 * many distinct pages a run touches depends on how many requests are
	 * in flight, which the scheduler decides: a later run may still see
	 * a page for the first time.  What must hold is that no page is ever
	 * mapped twice and nothing is copied or unmapped: maps stay within
	 * the pool however many packets pass (the per-packet path would map
	 * 1200 times here). */
	run(t, 2, false, 600);
	a = ops_now(t, 2);
	assert_int_equal(a.copies, 0);
	run(t, 2, false, 600);
	b = ops_now(t, 2);
	assert_int_equal(b.copies - a.copies, 0);
	assert_true(b.maps <= pool_pages(t, 2));
	assert_int_equal(b.maps, bsum(t, 2, SN_QS_persist_maps));
	assert_int_equal(b.unmaps - a.unmaps, 0);
	assert_int_equal(b.staged - a.staged, 600);
	/* No control ring was involved at all. */
	assert_int_equal(bsum(t, 2, SN_QS_ctrl_requests), 0);
	assert_int_equal(fsum(t, 2, SN_QS_unstaged_slots), 0);
}

/* Churn: buffers retired (sent once without the flag, unmapped by the
 * backend, re-granted) while traffic flows; everything arrives intact and
 * the teardown finds nothing mapped (the world's teardown revokes). */
static void churn_retires_and_replaces(void **state)
{
	struct sn_test_world *t = *state;
	int64_t end;

	only_64 = false;
	t->b.sh.flood = true;
	start_back(t, BACK_PERSIST);
	connect(t, 1, 100);
	end = sn_test_now_ms() + 1500;
	while (sn_test_now_ms() < end || fsum(t, 1, SN_QS_persist_retired) == 0) {
		run(t, 1, false, 64);
		rx_until(t, 1, 64, 0);
		assert_true(sn_test_now_ms() < end + 20000);
	}
	assert_true(fsum(t, 1, SN_QS_persist_retired) > 0);
	assert_true(bsum(t, 1, SN_QS_persist_unmaps) > 0);
	/* Unmapped ones are mapped again on their next flagged use. */
	assert_true(bsum(t, 1, SN_QS_persist_maps) > bsum(t, 1, SN_QS_persist_unmaps));
	assert_int_equal(fsum(t, 1, SN_QS_fatal_errors), 0);
	assert_int_equal(sn_front_quarantined(t->nic), 0);
}

/* ---- what goes on the rings (crafted backend) ---------------------------- */

static void bring_up(struct fb_world *w, bool offer)
{
	struct fb_features f = { .keys.k[SN_PEER_PERSIST] = offer ? SN_PEER_ON : SN_PEER_OMIT };
	struct sn_front_cfg cfg = { .devid = 0, .queues = 1, .staging = SN_STAGING_PERSIST };
	enum sn_front_event ev;

	fb_init(&w->fb, w->be, w->fe->domid, 0, &f);
	assert_int_equal(sn_front_open(w->fe, &cfg, &w->nic), 0);
	fb_set_state(&w->fb, XenbusStateInitWait);
	assert_int_equal(sn_front_poll_ctrl(w->nic, &ev), 0);
	assert_int_equal(fb_fe_state(&w->fb), XenbusStateConnected);
	fb_connect(&w->fb);
	fb_set_state(&w->fb, XenbusStateConnected);
	fb_poll_front(w->nic, SN_FRONT_EV_RECONNECTED, 200);
}

static void on_the_rings(void **state, bool offer)
{
	struct fb_world *w = *state;
	struct fb_queue *q;
	char *v;
	RING_IDX i, prod;
	unsigned int seen = 0;

	bring_up(w, offer);
	v = fb_fe_read(&w->fb, "request-persistent-grefs");
	if (offer) {
		assert_non_null(v);
		assert_string_equal(v, "1");
	} else {
		assert_null(v);
	}
	free(v);
	q = &w->fb.q[0];
	/* RX buffers posted at connect: pool pages, flagged in the padding
	 * only with agreement. */
	prod = sn_rx_back_req_prod(&q->rx);
	assert_true(prod - q->rx.req_cons > 0);
	for (i = q->rx.req_cons; i != prod; i++) {
		struct netif_rx_request r;

		sn_rx_back_copy_req(&q->rx, i, &r);
		assert_int_equal(r.pad, offer ? SN_NETRXF_persist : 0);
	}
	/* TX: three packets, every request flagged only with agreement. */
	for (unsigned int k = 0; k < 3; k++) {
		memset(w->pp[k]->data, 0x11 * (k + 1), 64);
		w->pp[k]->len = 64;
		w->pp[k]->flags = 0;
	}
	assert_int_equal(sn_front_tx_burst(w->nic, 0, w->pp, 3), 3);
	prod = sn_tx_back_req_prod(&q->tx);
	for (i = q->tx.req_cons; i != prod; i++, seen++) {
		struct netif_tx_request r;

		sn_tx_back_copy_req(&q->tx, i, &r);
		assert_int_equal(!!(r.flags & SN_NETTXF_persist), offer);
	}
	assert_int_equal(seen, 3);
	/* And the backend that ignores them serves them all. */
	assert_int_equal(fb_echo(&w->fb, 0), 3);
}

static void crafted_back_without_feature_gets_no_flags(void **state)
{
	on_the_rings(state, false);
}

static void crafted_back_with_feature_gets_flags(void **state)
{
	on_the_rings(state, true);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, sn_test_world_teardown)
#define F(f) cmocka_unit_test_setup_teardown(f, fb_world_setup, fb_world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(persist_x_persist_tx_1q),
		T(persist_x_persist_rx_1q),
		T(persist_x_persist_tx_2q),
		T(persist_x_persist_rx_2q),
		T(persist_x_no_persist_tx_1q),
		T(persist_x_no_persist_rx_2q),
		T(persist_x_linux_tx_2q),
		T(persist_x_linux_rx_1q),
		T(persist_64_steady_state_no_grant_ops),
		T(churn_retires_and_replaces),
		F(crafted_back_without_feature_gets_no_flags),
		F(crafted_back_with_feature_gets_flags),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
