/* Catalogue row XSA-332/XSA-391 on the frontend side: the real netfront
 * (the library `stagenet front` runs, driven the way its queue threads
 * drive it) against a scripted backend domain (tests/common/peer_back.c)
 * that kicks one queue's event channels as fast as it can with no work
 * behind the kicks. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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
#include "common/main.h"
#include "common/peer_back.h"
#include "plat/fault.h"
#include "plat/late_eoi.h"
#include "proto/loop.h"
#include "stagenet/front.h"

struct storm {
	struct fake_back *fb;
	pthread_t th;
	int stop;
	unsigned long kicks;
};

static void *storm_main(void *arg)
{
	struct storm *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		fb_kick(s->fb, 0);
		__atomic_fetch_add(&s->kicks, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void fill(struct sn_pkt *p, uint32_t len, unsigned int seed)
{
	memset(p->data, 0, 14);
	p->data[12] = 0x88;
	p->data[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		p->data[i] = (uint8_t)(seed * 31 + i * 7);
	p->len = len;
	p->flags = 0;
}

static bool check(const struct sn_pkt *p, uint32_t len, unsigned int seed)
{
	if (p->len != len)
		return false;
	for (uint32_t i = 14; i < len; i++)
		if (p->data[i] != (uint8_t)(seed * 31 + i * 7))
			return false;
	return true;
}

/* The scripted backend's keys for devid 0 of fe, then the frontend opened
 * and taken through the backend's InitWait (it answers with its keys). */
static void front_open(struct fake_back *fb, struct sn_plat *be, struct sn_plat *fe,
		       const struct fb_features *f, const struct sn_front_cfg *cfg,
		       struct sn_front **nic)
{
	enum sn_front_event ev;

	memset(fb, 0, sizeof(*fb));
	fb_init(fb, be, fe->domid, 0, f);
	assert_int_equal(sn_front_open(fe, cfg, nic), 0);
	assert_int_equal(sn_front_poll_ctrl(*nic, &ev), 0);
	fb_set_state(fb, XenbusStateInitWait);
	assert_int_equal(sn_front_poll_ctrl(*nic, &ev), 0);
}

struct closer {
	struct sn_front *nic;
	pthread_t th;
};

static void *close_main(void *arg)
{
	struct closer *c = arg;

	sn_front_close(c->nic, 10000);
	return NULL;
}

/* Two queues with split channels; the backend storms queue 0.  The queue
 * loop (arm + sleep on the fd, as `stagenet front` does) must:
 *  - do bounded work per wake-up: each wait returns within its timeout,
 *    and each arm takes each of the queue's two ports at most once however
 *    fast the peer kicks (pending bits coalesce, nothing is queued per
 *    kick, and a port is re-enabled only after the drain);
 *  - count the wake-ups with nothing behind them (spurious_events), on
 *    the stormed queue only;
 *  - keep serving: packets on both queues go out and come back intact
 *    while the storm runs;
 *  - stay responsive to shutdown: close, started mid-storm, reaches
 *    Closing at once. */
static void xsa332_391_front_event_storm(void **state)
{
	struct fb_features f = { .max_queues = 2, .split = true };
	struct sn_front_cfg cfg = { .devid = 0, .queues = 2 };
	struct sn_plat *fe = sn_test_dom_open(20, &(struct sn_test_dom){ .ram_pages = 8192 });
	struct sn_plat *be = sn_test_dom_open(21, &(struct sn_test_dom){ .ram_pages = 8192 });
	struct fake_back fb;
	struct sn_front *nic;
	struct storm s = { .fb = &fb };
	uint8_t *mem;
	struct sn_pkt pk[4] = { 0 }, *pp[4];
	unsigned int arms = 0, waits = 0, sent = 0, got = 0;
	int64_t worst = 0, end;

	(void)state;
	sn_test_pkts_alloc(&mem, pk, pp, 4);
	front_open(&fb, be, fe, &f, &cfg, &nic);
	assert_int_equal(fb_fe_state(&fb), XenbusStateConnected);
	fb_connect(&fb);
	fb_set_state(&fb, XenbusStateConnected);
	fb_poll_front(nic, SN_FRONT_EV_RECONNECTED, 500);
	assert_int_equal(sn_front_num_queues(nic), 2);

	assert_int_equal(pthread_create(&s.th, NULL, storm_main, &s), 0);
	while (__atomic_load_n(&s.kicks, __ATOMIC_RELAXED) < 1000)
		poll(NULL, 0, 1);
	end = sn_test_now_us() + 400000;
	/* At least 160 waits: once the storm is throttled (late EOI) most
	 * waits sleep out their 10 ms instead of waking at once. */
	while (sn_test_now_us() < end || waits < 160) {
		int64_t t0 = sn_test_now_us(), dt;
		int rc = sn_front_queue_wait(nic, 0, 10, 0);

		dt = sn_test_now_us() - t0;
		assert_true(rc >= 0);
		arms++;
		waits++;
		if (dt > worst)
			worst = dt;
		/* Real work in the middle of the storm, on both queues. */
		if (waits % 8 == 0) {
			uint16_t q = (uint16_t)(sent % 2);

			fill(pp[0], 100 + sent, sent);
			assert_int_equal(sn_front_tx_burst(nic, q, pp, 1), 1);
			assert_int_equal(fb_echo(&fb, q), 1);
			for (int tries = 0; tries < 1000; tries++) {
				int n = sn_front_rx_burst(nic, q, pp + 1, 1);

				assert_true(n >= 0);
				if (n == 1) {
					assert_true(check(pp[1], 100 + sent, sent));
					pp[1]->cap = SN_PKT_BUF_SIZE;
					got++;
					break;
				}
				sn_front_queue_wait(nic, q, 1, 0);
				arms += q == 0;
			}
			/* Collect the TX response too: no work is left
			 * behind, so the storm's kicks are all spurious. */
			assert_true(sn_front_tx_burst(nic, q, pp, 0) >= 0);
			sent++;
		}
	}
	/* Shutdown mid-storm: the control path is not starved. */
	{
		struct closer c = { .nic = nic };
		int64_t t0 = sn_test_now_us();

		assert_int_equal(pthread_create(&c.th, NULL, close_main, &c), 0);
		while (fb_fe_state(&fb) != XenbusStateClosing && sn_test_now_us() - t0 < 2000000)
			poll(NULL, 0, 1);
		assert_int_equal(fb_fe_state(&fb), XenbusStateClosing);
		__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
		pthread_join(s.th, NULL);

		struct sn_qstats *q0 = sn_front_queue_stats(nic, 0);
		struct sn_qstats *q1 = sn_front_queue_stats(nic, 1);
		uint64_t recv0 = q0->v[SN_QS_notify_recv];
		uint64_t spur0 = q0->v[SN_QS_spurious_events];

		if (getenv("SN_TEST_VERBOSE"))
			fprintf(stderr, "kicks %lu arms %u notify_recv %llu spurious %llu "
				"worst wait %lld us, %u/%u echoed\n", s.kicks, arms,
				(unsigned long long)recv0, (unsigned long long)spur0,
				(long long)worst, got, sent);
		/* Most wake-ups found nothing: each was counted. */
		assert_true(spur0 > arms / 4);
		assert_int_equal(q1->v[SN_QS_spurious_events], 0);
		/* Coalesced: far fewer events than kicks, and at most one
		 * per port (two: split tx/rx) per arm, however fast the
		 * peer kicks. */
		assert_true(recv0 < s.kicks / 4);
		if (recv0 > 2u * arms)
			fail_msg("%llu events taken in %u arms: unbounded work per wake-up",
				 (unsigned long long)recv0, arms);
		assert_true(worst < 500000); /* a 10 ms wait never takes 0.5 s */
		assert_true(sent > 10);
		assert_int_equal(got, sent);
		assert_int_equal(q0->v[SN_QS_fatal_errors], 0);
		assert_false(sn_front_queue_broken(nic, 0));
		fb_disconnect(&fb);
		fb_set_state(&fb, XenbusStateClosed);
		pthread_join(c.th, NULL);
	}
	be->ops->evt_close(fb.evt);
	sn_plat_close(fe);
	sn_plat_close(be);
	free(mem);
}

/* The same storm made deterministic: the fault wrapper around the
 * frontend's platform makes almost every evt_pending call find a fresh
 * spurious event (95 %), as a peer kicking between our unmask and our next
 * look would.  One arm (what each wake-up of the queue loop runs) must
 * still take a bounded number of events, never chase the storm. */
static void xsa332_391_front_event_storm_injected(void **state)
{
	struct fb_features f = { .max_queues = 1, .split = true };
	struct sn_front_cfg cfg = { .devid = 0, .queues = 1 };
	struct sn_plat *fe;
	struct sn_plat *be = sn_test_dom_open(23, &(struct sn_test_dom){ .ram_pages = 8192 });
	struct sn_fault_cfg fc = { .seed = 391 };
	struct fake_back fb;
	struct sn_front *nic;
	struct sn_fault_stats fs;
	uint64_t recv, spur;
	unsigned int arms = 0;

	(void)state;
	fe = sn_test_dom_open(22, &(struct sn_test_dom){ .ram_pages = 8192,
						   .fault_wrap = true });
	front_open(&fb, be, fe, &f, &cfg, &nic);
	fb_connect(&fb);
	fb_set_state(&fb, XenbusStateConnected);
	fb_poll_front(nic, SN_FRONT_EV_RECONNECTED, 500);

	fc.rule[SN_FAULT_EVENT].rate_ppm = 950000;
	assert_int_equal(sn_fault_configure(fe, &fc), 0);
	for (; arms < 2000; arms++)
		assert_true(sn_front_queue_arm(nic, 0) >= 0);
	assert_int_equal(sn_fault_configure(fe, NULL), 0);
	assert_int_equal(sn_fault_stats_get(fe, &fs), 0);
	recv = sn_front_queue_stats(nic, 0)->v[SN_QS_notify_recv];
	spur = sn_front_queue_stats(nic, 0)->v[SN_QS_spurious_events];
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "injected %llu, arms %u, taken %llu, spurious %llu\n",
			(unsigned long long)fs.injected[SN_FAULT_EVENT], arms,
			(unsigned long long)recv, (unsigned long long)spur);
	/* At most a handful per arm (the queue's two ports, and the few a
	 * storm can slip in before the drain stops looking). */
	if (recv > 4u * arms)
		fail_msg("%llu events taken in %u arms: the drain chases the storm",
			 (unsigned long long)recv, arms);
	assert_true(spur > arms / 2);
	/* Still serving afterwards. */
	{
		uint8_t *mem;
		struct sn_pkt pk[2] = { 0 }, *pp[2];

		sn_test_pkts_alloc(&mem, pk, pp, 2);
		fill(pp[0], 300, 5);
		assert_int_equal(sn_front_tx_burst(nic, 0, pp, 1), 1);
		assert_int_equal(fb_echo(&fb, 0), 1);
		for (int tries = 0; tries < 100; tries++) {
			if (sn_front_rx_burst(nic, 0, pp + 1, 1) == 1)
				break;
			poll(NULL, 0, 1);
		}
		assert_true(check(pp[1], 300, 5));
		free(mem);
	}
	fb_disconnect(&fb);
	fb_set_state(&fb, XenbusStateClosed);
	sn_front_close(nic, 2000);
	be->ops->evt_close(fb.evt);
	sn_plat_close(fe);
	sn_plat_close(be);
}

/* Late EOI on the frontend: the backend storms queue 0 in a tight loop
 * with no response behind its kicks while queue 1 echoes packets.  The
 * queue waits the way `stagenet front` does right after work (spin
 * SN_IDLE_POLL_US, arm, sleep).  Past SN_EVT_SPURIOUS_THRESHOLD spurious
 * wake-ups in a row queue 0 spins no more after one (spurious_polls stays
 * at the threshold) and its channel stays masked (evt_throttled counts
 * every spurious event past the threshold); queue 1 delivers every packet,
 * and queue 0 still serves once the storm ends. */
static void xsa332_front_storm_throttled(void **state)
{
	struct fb_features f = { .max_queues = 2, .split = true };
	struct sn_front_cfg cfg = { .devid = 0, .queues = 2 };
	struct sn_plat *fe = sn_test_dom_open(24, &(struct sn_test_dom){ .ram_pages = 8192 });
	struct sn_plat *be = sn_test_dom_open(25, &(struct sn_test_dom){ .ram_pages = 8192 });
	struct fake_back fb;
	struct sn_front *nic;
	struct storm s = { .fb = &fb };
	uint8_t *mem;
	struct sn_pkt pk[2] = { 0 }, *pp[2];
	unsigned int sent = 0, got = 0;
	uint64_t spur, polls, throttled;

	(void)state;
	sn_test_pkts_alloc(&mem, pk, pp, 2);
	front_open(&fb, be, fe, &f, &cfg, &nic);
	fb_connect(&fb);
	fb_set_state(&fb, XenbusStateConnected);
	fb_poll_front(nic, SN_FRONT_EV_RECONNECTED, 500);
	assert_int_equal(sn_front_num_queues(nic), 2);

	assert_int_equal(pthread_create(&s.th, NULL, storm_main, &s), 0);
	for (unsigned int w = 0; w < 200; w++) {
		assert_true(sn_front_queue_wait(nic, 0, 10, SN_IDLE_POLL_US) >= 0);
		if (w % 10)
			continue;
		fill(pp[0], 200 + sent, sent);
		assert_int_equal(sn_front_tx_burst(nic, 1, pp, 1), 1);
		assert_int_equal(fb_echo(&fb, 1), 1);
		for (int tries = 0; tries < 1000; tries++) {
			int n = sn_front_rx_burst(nic, 1, pp + 1, 1);

			assert_true(n >= 0);
			if (n == 1) {
				assert_true(check(pp[1], 200 + sent, sent));
				pp[1]->cap = SN_PKT_BUF_SIZE;
				got++;
				break;
			}
			sn_front_queue_wait(nic, 1, 1, 0);
		}
		assert_true(sn_front_tx_burst(nic, 1, pp, 0) >= 0);
		sent++;
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s.th, NULL);
	spur = sn_front_queue_stats(nic, 0)->v[SN_QS_spurious_events];
	polls = sn_front_queue_stats(nic, 0)->v[SN_QS_spurious_polls];
	throttled = sn_front_queue_stats(nic, 0)->v[SN_QS_evt_throttled];
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "kicks %lu spurious %llu polls %llu throttled %llu, %u/%u echoed\n",
			s.kicks, (unsigned long long)spur, (unsigned long long)polls,
			(unsigned long long)throttled, got, sent);
	assert_true(spur > SN_EVT_SPURIOUS_THRESHOLD);
	if (polls > SN_EVT_SPURIOUS_THRESHOLD)
		fail_msg("%llu spins for %llu spurious events: each empty kick buys one",
			 (unsigned long long)polls, (unsigned long long)spur);
	assert_true(throttled + SN_EVT_SPURIOUS_THRESHOLD >= spur);
	assert_int_equal(got, sent);
	assert_int_equal(sent, 20);
	/* Queue 0 still serves: the ring is read whatever the channel. */
	fill(pp[0], 300, 9);
	assert_int_equal(sn_front_tx_burst(nic, 0, pp, 1), 1);
	assert_int_equal(fb_echo(&fb, 0), 1);
	for (int tries = 0; tries < 1000; tries++) {
		if (sn_front_rx_burst(nic, 0, pp + 1, 1) == 1)
			break;
		sn_front_queue_wait(nic, 0, 1, 0);
	}
	assert_true(check(pp[1], 300, 9));
	fb_disconnect(&fb);
	fb_set_state(&fb, XenbusStateClosed);
	sn_front_close(nic, 2000);
	be->ops->evt_close(fb.evt);
	sn_plat_close(fe);
	sn_plat_close(be);
	free(mem);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xsa332_391_front_event_storm),
		cmocka_unit_test(xsa332_391_front_event_storm_injected),
		cmocka_unit_test(xsa332_front_storm_throttled),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
