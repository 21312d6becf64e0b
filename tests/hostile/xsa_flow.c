/* The real netback and the real netfront in this process, as two emulated
 * domains, with traffic flowing in both directions:
 *   xsa424_*     drops from the XSA-392 limits while traffic flows: no
 *                deadlock, no data race (this file is run under TSan by
 *                `make check-tsan`)
 *   fault_1pct_* under 1 % random grant-copy and grant-map failures (the
 *                fault wrapper around the backend's platform, plus spurious
 *                events on the frontend's), a long gen -> sink run in every
 *                mode and both directions: every packet is delivered intact
 *                or counted as a drop with a reason, on both sides.
 * `test_hostile_xsa_flow <glob>` runs the cases whose name matches. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/main.h"
#include "plat/fault.h"
#include "stagenet/back.h"
#include "stagenet/front.h"

#define NQ 2u

static const uint32_t sizes[] = { 60, 64, 128, 300, 1514, 4096, 4097, 9000, 20000, 65535 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Sizes of the frames the backend's test port makes (guest RX): every
 * size in the fault runs, capped at 9000 in the XSA-424 flood. */
static uint32_t len_every(unsigned int i)
{
	return sizes[i % NSIZES];
}

static uint32_t len_flood(unsigned int i)
{
	return sizes[i % NSIZES] > 9000 ? 9000 : sizes[i % NSIZES];
}

/* ---- the world: two domains, the backend thread, the NIC ------------------ */

struct world {
	struct sn_plat *fe, *be;     /* the wrappers (or plain domains) */
	struct sn_test_back b;       /* its test port checks guest TX, makes guest RX */
	struct sn_front *nic;
};

static void world_up(struct world *w, const struct sn_back_cfg *tweak,
		     enum sn_front_staging_policy pol, bool wrap)
{
	static uint16_t next = 30;
	struct sn_back_cfg bc = *tweak;
	char cmd[512];

	w->be = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 16384,
						     .fault_wrap = wrap });
	w->fe = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 16384,
						     .fault_wrap = wrap });
	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 "
		 "--backend-domid %u --mtu 9000 --queues %u", getenv("SN_STAGENET"),
		 w->fe->domid, w->be->domid, NQ);
	assert_int_equal(system(cmd), 0);
	bc.plat = w->be;
	bc.max_queues = NQ;
	sn_test_back_start_cfg(&w->b, &bc);
	sn_test_front_connect(w->fe, &w->nic, NQ, pol);
	for (uint16_t q = 0; q < NQ; q++)
		assert_int_equal(sn_front_queue_staged(w->nic, q), pol != SN_STAGING_OFF);
}

static void world_down(struct world *w)
{
	sn_front_close(w->nic, 5000);
	sn_test_back_stop(&w->b);
	sn_plat_close(w->fe);
	sn_plat_close(w->be);
}

static uint64_t fsum(struct world *w, enum sn_qstat c)
{
	uint64_t s = 0;

	for (uint16_t q = 0; q < NQ; q++)
		s += __atomic_load_n(&sn_front_queue_stats(w->nic, q)->v[c], __ATOMIC_RELAXED);
	return s;
}

static uint64_t bsum(struct world *w, enum sn_qstat c)
{
	struct sn_qstats st;
	uint64_t s = 0;

	for (uint16_t q = 0; q < NQ; q++) {
		assert_int_equal(sn_back_vif_stats(w->b.back, w->fe->domid, 0, q, &st), 0);
		s += st.v[c];
	}
	return s;
}

struct bufs {
	uint8_t *mem;
	struct sn_pkt pk[32];
	struct sn_pkt *pp[32];
};

/* ---- XSA-424 --------------------------------------------------------------- */

struct fthread {
	struct world *w;
	uint16_t q;
	pthread_t th;
	_Atomic bool *stop;
	uint64_t sent, rx_ok, rx_bad;
};

/* One frontend queue thread: sends steadily, but takes RX only every few
 * milliseconds, so the backend's RX backlog fills (drops at the cap) and
 * its head packet waits for slots (drops after rx_drain_ms). */
static void *fthread_main(void *arg)
{
	struct fthread *f = arg;
	struct bufs b = { 0 };
	int64_t next_rx = 0;

	sn_test_pkts_alloc(&b.mem, b.pk, b.pp, 32);
	while (!atomic_load(f->stop)) {
		unsigned int n = 8;
		int r;

		for (unsigned int i = 0; i < n; i++) {
			uint32_t len = sizes[(f->sent + i) % 6];

			sn_test_pattern(b.pp[i]->data, len, (uint32_t)(f->sent + i));
			b.pp[i]->len = len;
			b.pp[i]->flags = 0;
		}
		r = sn_front_tx_burst(f->w->nic, f->q, b.pp, n);
		assert_true(r >= 0);
		f->sent += (uint64_t)r;
		if (sn_test_now_ms() >= next_rx) {
			r = sn_front_rx_burst(f->w->nic, f->q, b.pp, 4);
			assert_true(r >= 0);
			for (int i = 0; i < r; i++) {
				if (sn_test_pattern_ok(b.pp[i]->data, b.pp[i]->len))
					f->rx_ok++;
				else
					f->rx_bad++;
				b.pp[i]->cap = SN_PKT_BUF_SIZE;
			}
			next_rx = sn_test_now_ms() + 3;
		}
		sn_front_queue_wait(f->w->nic, f->q, 1, 20);
	}
	free(b.mem);
	return NULL;
}

/* Both queues flooded with guest RX from a tap-like port while the
 * frontend sends and drains RX slowly: the backlog cap and the head-drain
 * rule drop packets (counted) on the queue threads, while the control
 * thread's introspection runs alongside; then the frontend closes and the
 * backend is destroyed in the middle of the flood.  Nothing may hang
 * (a watchdog alarm fails the test) and, under TSan, nothing may race. */
static void xsa424_drops_while_traffic_flows(void **state)
{
	struct sn_back_cfg bc = { .rx_queue_pkts = 8, .rx_queue_bytes = 48 * 1024,
				  .rx_drain_ms = 2, .tx_path = SN_BACK_TX_LINUX };
	struct world w = { 0 };
	struct fthread ft[NQ];
	_Atomic bool stop = false;
	uint64_t full, noslots, tx_sent = 0, rx_ok = 0, rx_bad = 0;
	FILE *devnull = fopen("/dev/null", "w");
	int64_t end;

	(void)state;
	assert_non_null(devnull);
	alarm(60); /* a deadlock ends the run here, as a failure */
	w.b.sh.flood = true;
	w.b.sh.len = len_flood;
	world_up(&w, &bc, SN_STAGING_OFF, false);
	for (uint16_t q = 0; q < NQ; q++) {
		ft[q] = (struct fthread){ .w = &w, .q = q, .stop = &stop };
		assert_int_equal(pthread_create(&ft[q].th, NULL, fthread_main, &ft[q]), 0);
	}
	/* At least 1.5 s, and on until the backlog has overflowed at least
	 * once (a sanitizer build floods ten times slower), within a bound
	 * well inside the alarm: the drops, not the time, are under test. */
	end = sn_test_now_ms() + 1500;
	for (int64_t hard_end = end + 30000; sn_test_now_ms() < hard_end;) {
		/* The control side reads counters while the queues drop. */
		uint64_t seen = bsum(&w, SN_QS_rx_drop_queue_full);

		sn_back_print_stats(w.b.back, devnull);
		if (seen && sn_test_now_ms() >= end)
			break;
		poll(NULL, 0, 5);
	}
	atomic_store(&stop, true);
	for (uint16_t q = 0; q < NQ; q++) {
		pthread_join(ft[q].th, NULL);
		tx_sent += ft[q].sent;
		rx_ok += ft[q].rx_ok;
		rx_bad += ft[q].rx_bad;
	}
	full = bsum(&w, SN_QS_rx_drop_queue_full);
	noslots = bsum(&w, SN_QS_rx_drop_no_slots);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "tx sent %llu got %llu; rx made %llu ok %llu; "
			"drops queue_full %llu no_slots %llu\n",
			(unsigned long long)tx_sent, (unsigned long long)w.b.sh.got,
			(unsigned long long)w.b.sh.made, (unsigned long long)rx_ok,
			(unsigned long long)full, (unsigned long long)noslots);
	assert_true(full > 0);
	assert_true(rx_ok > 0);
	assert_int_equal(rx_bad, 0);
	assert_true(tx_sent > 0);
	assert_true(w.b.sh.got > 0);
	assert_int_equal(w.b.sh.bad, 0);
	assert_int_equal(bsum(&w, SN_QS_fatal_errors), 0);
	assert_int_equal(fsum(&w, SN_QS_fatal_errors), 0);
	/* Teardown while the flood still runs: the queue threads are joined
	 * in the middle of their drops. */
	world_down(&w);
	alarm(0);
	fclose(devnull);
}

/* ---- 1 % grant failures, gen -> sink, every mode ------------------------------ */

#define FAULT_PKTS 20000u

/* Staging page: every slot staged (no grant op left to fail, the run
 * proves staged traffic is unaffected); staging header: the first 256
 * bytes staged on TX, the rest and all of RX through grant ops. */
enum mode { M_COPY, M_LINUX, M_STAGING, M_STAGING_HDR };

static void arm_faults(struct world *w)
{
	struct sn_fault_cfg bcfg = { .seed = 0x1234 }, fcfg = { .seed = 0x4321 };

	bcfg.rule[SN_FAULT_COPY].rate_ppm = 10000;
	bcfg.rule[SN_FAULT_MAP].rate_ppm = 10000;
	/* Spurious events on the frontend too: noise, never a drop. */
	fcfg.rule[SN_FAULT_EVENT].rate_ppm = 10000;
	assert_int_equal(sn_fault_configure(w->be, &bcfg), 0);
	assert_int_equal(sn_fault_configure(w->fe, &fcfg), 0);
}

static void disarm_faults(struct world *w)
{
	assert_int_equal(sn_fault_configure(w->be, NULL), 0);
	assert_int_equal(sn_fault_configure(w->fe, NULL), 0);
}

static void fault_run(enum mode m, bool rx)
{
	struct sn_back_cfg bc = { .tx_path = m == M_LINUX ? SN_BACK_TX_LINUX :
							    SN_BACK_TX_COPY };
	struct world w = { 0 };
	struct bufs b = { 0 };
	struct sn_fault_stats fs;
	uint64_t sent = 0, ok = 0, bad = 0;
	int64_t deadline;

	alarm(240);
	sn_test_pkts_alloc(&b.mem, b.pk, b.pp, 32);
	w.b.sh.len = len_every;
	w.b.sh.to_make = rx ? FAULT_PKTS / NQ : 0;
	world_up(&w, &bc, m == M_STAGING ? SN_STAGING_PAGE :
		 m == M_STAGING_HDR ? SN_STAGING_HEADER : SN_STAGING_OFF, true);
	/* Armed after the handshake: a failed ring map only fails the
	 * connect, and staging must be up to be tested. */
	arm_faults(&w);
	deadline = sn_test_now_ms() + 120000;
	if (!rx) {
		while (sent < FAULT_PKTS && sn_test_now_ms() < deadline) {
			uint16_t q = (uint16_t)((sent / 32) % NQ);
			unsigned int n = 0;
			int r;

			while (n < 32 && sent + n < FAULT_PKTS) {
				uint32_t len = sizes[(sent + n) % NSIZES];

				sn_test_pattern(b.pp[n]->data, len, (uint32_t)(sent + n));
				b.pp[n]->len = len;
				b.pp[n]->flags = 0;
				n++;
			}
			r = sn_front_tx_burst(w.nic, q, b.pp, n);
			assert_true(r >= 0);
			sent += (unsigned int)r;
			if ((unsigned int)r < n)
				sn_front_queue_wait(w.nic, q, 5, 20);
		}
		assert_int_equal(sent, FAULT_PKTS);
		/* Wait for the backend to account for every packet, and for
		 * every response to come back; give up once nothing moved for
		 * 3 s (the asserts below then say what is missing). */
		uint64_t last = UINT64_MAX;
		int64_t moved = sn_test_now_ms();

		while (sn_test_now_ms() < deadline && sn_test_now_ms() - moved < 3000) {
			uint64_t bdone = bsum(&w, SN_QS_tx_pkts) +
					 bsum(&w, SN_QS_tx_drop_grant) +
					 bsum(&w, SN_QS_tx_drop_malformed) +
					 bsum(&w, SN_QS_tx_drop_port);

			if (bdone + fsum(&w, SN_QS_tx_drop_malformed) != last) {
				last = bdone + fsum(&w, SN_QS_tx_drop_malformed);
				moved = sn_test_now_ms();
			}

			for (uint16_t q = 0; q < NQ; q++)
				assert_true(sn_front_tx_burst(w.nic, q, b.pp, 0) >= 0);
			if (bdone == FAULT_PKTS &&
			    fsum(&w, SN_QS_tx_drop_malformed) ==
			    bsum(&w, SN_QS_tx_drop_grant) + bsum(&w, SN_QS_tx_drop_malformed))
				break;
			poll(NULL, 0, 5);
		}
	} else {
		int64_t moved = sn_test_now_ms();

		while (sn_test_now_ms() < deadline && sn_test_now_ms() - moved < 3000) {
			bool any = false;

			for (uint16_t q = 0; q < NQ; q++) {
				int n = sn_front_rx_burst(w.nic, q, b.pp, 32);

				assert_true(n >= 0);
				for (int i = 0; i < n; i++) {
					if (sn_test_pattern_ok(b.pp[i]->data, b.pp[i]->len))
						ok++;
					else
						bad++;
					b.pp[i]->cap = SN_PKT_BUF_SIZE;
				}
				any |= n > 0;
			}
			if (any)
				moved = sn_test_now_ms();
			if (w.b.sh.made == FAULT_PKTS &&
			    bsum(&w, SN_QS_rx_pkts) + bsum(&w, SN_QS_rx_drop_grant) +
			    bsum(&w, SN_QS_rx_drop_queue_full) +
			    bsum(&w, SN_QS_rx_drop_no_slots) +
			    bsum(&w, SN_QS_rx_drop_port) == FAULT_PKTS &&
			    fsum(&w, SN_QS_rx_pkts) + fsum(&w, SN_QS_rx_drop_grant) +
			    fsum(&w, SN_QS_rx_drop_port) ==
			    bsum(&w, SN_QS_rx_pkts) + bsum(&w, SN_QS_rx_drop_grant))
				break;
			if (!any)
				sn_front_queue_wait(w.nic, 0, 2, 20);
		}
	}
	disarm_faults(&w);
	assert_int_equal(sn_fault_stats_get(w.be, &fs), 0);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "mode %d %s: faults copy %llu/%llu map %llu/%llu; "
			"back tx %llu drop_grant %llu | rx %llu drop_grant %llu "
			"qfull %llu noslots %llu; front tx %llu err %llu rx %llu "
			"drop %llu; sink %llu/%llu\n", m, rx ? "rx" : "tx",
			(unsigned long long)fs.injected[SN_FAULT_COPY],
			(unsigned long long)fs.seen[SN_FAULT_COPY],
			(unsigned long long)fs.injected[SN_FAULT_MAP],
			(unsigned long long)fs.seen[SN_FAULT_MAP],
			(unsigned long long)bsum(&w, SN_QS_tx_pkts),
			(unsigned long long)bsum(&w, SN_QS_tx_drop_grant),
			(unsigned long long)bsum(&w, SN_QS_rx_pkts),
			(unsigned long long)bsum(&w, SN_QS_rx_drop_grant),
			(unsigned long long)bsum(&w, SN_QS_rx_drop_queue_full),
			(unsigned long long)bsum(&w, SN_QS_rx_drop_no_slots),
			(unsigned long long)fsum(&w, SN_QS_tx_pkts),
			(unsigned long long)fsum(&w, SN_QS_tx_drop_malformed),
			(unsigned long long)fsum(&w, SN_QS_rx_pkts),
			(unsigned long long)fsum(&w, SN_QS_rx_drop_grant),
			(unsigned long long)(rx ? ok : w.b.sh.got),
			(unsigned long long)(rx ? bad : w.b.sh.bad));
	assert_int_equal(fsum(&w, SN_QS_fatal_errors), 0);
	assert_int_equal(bsum(&w, SN_QS_fatal_errors), 0);
	if (!rx) {
		/* Frontend: every packet it queued was answered, OKAY or
		 * ERROR.  Backend: each delivered or dropped with a reason.
		 * Port: every delivered packet intact. */
		uint64_t b_drop = bsum(&w, SN_QS_tx_drop_grant) +
				  bsum(&w, SN_QS_tx_drop_malformed) +
				  bsum(&w, SN_QS_tx_drop_port);

		assert_int_equal(fsum(&w, SN_QS_tx_pkts), FAULT_PKTS);
		assert_int_equal(bsum(&w, SN_QS_tx_pkts) + b_drop, FAULT_PKTS);
		assert_int_equal(fsum(&w, SN_QS_tx_drop_malformed),
				 bsum(&w, SN_QS_tx_drop_grant) +
				 bsum(&w, SN_QS_tx_drop_malformed));
		assert_int_equal(w.b.sh.got, bsum(&w, SN_QS_tx_pkts));
		assert_int_equal(w.b.sh.bad, 0);
		if (m != M_STAGING)
			assert_true(bsum(&w, SN_QS_tx_drop_grant) > 0);
	} else {
		uint64_t b_drop = bsum(&w, SN_QS_rx_drop_grant) +
				  bsum(&w, SN_QS_rx_drop_queue_full) +
				  bsum(&w, SN_QS_rx_drop_no_slots) +
				  bsum(&w, SN_QS_rx_drop_port);

		assert_int_equal(w.b.sh.made, FAULT_PKTS);
		assert_int_equal(bsum(&w, SN_QS_rx_pkts) + b_drop, FAULT_PKTS);
		/* A packet whose copy failed is still answered (error
		 * status): the frontend counts it as its drop. */
		assert_int_equal(fsum(&w, SN_QS_rx_pkts) + fsum(&w, SN_QS_rx_drop_grant) +
				 fsum(&w, SN_QS_rx_drop_port),
				 bsum(&w, SN_QS_rx_pkts) + bsum(&w, SN_QS_rx_drop_grant));
		assert_int_equal(fsum(&w, SN_QS_rx_drop_grant), bsum(&w, SN_QS_rx_drop_grant));
		assert_int_equal(ok, fsum(&w, SN_QS_rx_pkts));
		assert_int_equal(bad, 0);
		if (m != M_STAGING)
			assert_true(bsum(&w, SN_QS_rx_drop_grant) > 0);
	}
	if (m != M_STAGING)
		assert_true(fs.injected[SN_FAULT_COPY] > 0);
	if (m == M_STAGING || (m == M_STAGING_HDR && !rx))
		assert_true(fsum(&w, SN_QS_staged_slots) > 0);
	world_down(&w);
	free(b.mem);
	alarm(0);
}

#define FAULT_CASE(name, m, rx)        \
	static void name(void **state) \
	{                              \
		(void)state;           \
		fault_run(m, rx);      \
	}

FAULT_CASE(fault_1pct_gen_sink_copy_tx, M_COPY, false)
FAULT_CASE(fault_1pct_gen_sink_copy_rx, M_COPY, true)
FAULT_CASE(fault_1pct_gen_sink_linux_tx, M_LINUX, false)
FAULT_CASE(fault_1pct_gen_sink_linux_rx, M_LINUX, true)
FAULT_CASE(fault_1pct_gen_sink_staging_tx, M_STAGING, false)
FAULT_CASE(fault_1pct_gen_sink_staging_rx, M_STAGING, true)
FAULT_CASE(fault_1pct_gen_sink_staging_hdr_tx, M_STAGING_HDR, false)
FAULT_CASE(fault_1pct_gen_sink_staging_hdr_rx, M_STAGING_HDR, true)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xsa424_drops_while_traffic_flows),
		cmocka_unit_test(fault_1pct_gen_sink_copy_tx),
		cmocka_unit_test(fault_1pct_gen_sink_copy_rx),
		cmocka_unit_test(fault_1pct_gen_sink_linux_tx),
		cmocka_unit_test(fault_1pct_gen_sink_linux_rx),
		cmocka_unit_test(fault_1pct_gen_sink_staging_tx),
		cmocka_unit_test(fault_1pct_gen_sink_staging_rx),
		cmocka_unit_test(fault_1pct_gen_sink_staging_hdr_tx),
		cmocka_unit_test(fault_1pct_gen_sink_staging_hdr_rx),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
