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
#include <errno.h>
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
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "plat/fault.h"
#include "stagenet/back.h"
#include "stagenet/front.h"

#define ETHERTYPE_TEST 0x88b5
#define NQ 2u

static struct sn_test_host host;
static const uint32_t sizes[] = { 60, 64, 128, 300, 1514, 4096, 4097, 9000, 20000, 65535 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- packets: self-describing pattern ------------------------------------ */

static void pattern(uint8_t *d, uint32_t len, uint32_t seq)
{
	memset(d, 0xff, 6);
	memset(d + 6, 0x02, 6);
	d[12] = ETHERTYPE_TEST >> 8;
	d[13] = ETHERTYPE_TEST & 0xff;
	memcpy(d + 14, &seq, 4);
	memcpy(d + 18, &len, 4);
	for (uint32_t i = 22; i < len; i++)
		d[i] = (uint8_t)(seq * 13 + i * 3 + (i >> 11));
}

static bool pattern_ok(const uint8_t *d, uint32_t len)
{
	uint32_t seq, l;

	if (len < 22)
		return false;
	memcpy(&seq, d + 14, 4);
	memcpy(&l, d + 18, 4);
	if (l != len)
		return false;
	for (uint32_t i = 22; i < len; i++)
		if (d[i] != (uint8_t)(seq * 13 + i * 3 + (i >> 11)))
			return false;
	return true;
}

/* ---- the backend's port: checks guest TX, generates guest RX -------------- */

struct shared {
	_Atomic uint64_t got, bad, made;
	uint64_t to_make;    /* per queue; 0 = endless (flood) */
	uint32_t max_len;    /* generated sizes capped here */
	bool flood;          /* an fd that is always readable (tap-like) */
	_Atomic bool stop;   /* flood: stop generating */
};

struct tport {
	struct sn_port base;
	struct shared *sh;
	uint16_t queue;
	uint64_t made;
	int fd;
};

static uint32_t gen_len(const struct shared *sh, uint64_t i)
{
	uint32_t l = sizes[i % NSIZES];

	return l > sh->max_len ? sh->max_len : l;
}

static int tport_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tport *t = (struct tport *)p;

	for (unsigned int i = 0; i < n; i++) {
		if (pattern_ok(pkts[i]->data, pkts[i]->len))
			t->sh->got++;
		else
			t->sh->bad++;
	}
	return (int)n;
}

static int tport_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tport *t = (struct tport *)p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t len;

		if (t->sh->flood ? atomic_load(&t->sh->stop) : t->made >= t->sh->to_make)
			break;
		len = gen_len(t->sh, t->made);
		pattern(pkts[i]->data, len, (uint32_t)(t->made * 16u + t->queue));
		pkts[i]->len = len;
		pkts[i]->flags = 0;
		pkts[i]->queue = t->queue;
		t->made++;
		t->sh->made++;
	}
	if (!i && !t->sh->flood)
		return -ENODATA;
	return (int)i;
}

static int tport_fd(struct sn_port *p)
{
	return ((struct tport *)p)->fd;
}

static void tport_close(struct sn_port *p)
{
	struct tport *t = (struct tport *)p;

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct sn_port_ops tport_ops = {
	.kind = "test", .send = tport_send, .recv = tport_recv,
	.fd = tport_fd, .close = tport_close,
};

static int tport_open(void *arg, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct tport *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->base.ops = &tport_ops;
	t->sh = arg;
	t->queue = ctx->queue;
	t->fd = -1;
	if (t->sh->flood) {
		/* Readable forever: the network side that cannot be
		 * back-pressured, so a full backlog means drops. */
		t->fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->fd < 0) {
			free(t);
			return -errno;
		}
	}
	*out = &t->base;
	return 0;
}

/* ---- the world: two domains, the backend thread, the NIC ------------------ */

struct world {
	struct sn_plat *fe, *be;     /* the wrappers (or plain domains) */
	struct sn_back *back;
	pthread_t tid;
	struct sn_front *nic;
	struct shared sh;
};

static void *back_main(void *arg)
{
	sn_back_run(arg);
	return NULL;
}

static struct sn_plat *dom_open(uint16_t domid, bool wrap)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = domid, .ram_pages = 16384 };
	struct sn_plat *p = NULL, *w = NULL;

	assert_int_equal(sn_plat_open(&cfg, &p), 0);
	if (!wrap)
		return p;
	assert_int_equal(sn_fault_wrap(p, NULL, &w), 0);
	return w;
}

static void world_up(struct world *w, const struct sn_back_cfg *tweak,
		     enum sn_front_staging_policy pol, bool wrap)
{
	static uint16_t next = 30;
	struct sn_back_cfg bc = *tweak;
	struct sn_front_cfg fc = { .devid = 0, .queues = NQ, .staging = pol };
	char cmd[512];

	w->be = dom_open(next++, wrap);
	w->fe = dom_open(next++, wrap);
	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 "
		 "--backend-domid %u --mtu 9000 --queues %u", getenv("SN_STAGENET"),
		 w->fe->domid, w->be->domid, NQ);
	assert_int_equal(system(cmd), 0);
	bc.plat = w->be;
	bc.port_open = tport_open;
	bc.port_arg = &w->sh;
	bc.max_queues = NQ;
	if (getenv("SN_TEST_VERBOSE"))
		bc.log = stderr;
	assert_int_equal(sn_back_create(&bc, &w->back), 0);
	assert_int_equal(pthread_create(&w->tid, NULL, back_main, w->back), 0);
	assert_int_equal(sn_front_open(w->fe, &fc, &w->nic), 0);
	assert_int_equal(sn_front_connect(w->nic, 10000), 0);
	assert_int_equal(sn_front_num_queues(w->nic), NQ);
	for (uint16_t q = 0; q < NQ; q++)
		assert_int_equal(sn_front_queue_staged(w->nic, q), pol != SN_STAGING_OFF);
}

static void world_down(struct world *w)
{
	sn_front_close(w->nic, 5000);
	sn_back_stop(w->back);
	pthread_join(w->tid, NULL);
	sn_back_destroy(w->back);
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
		assert_int_equal(sn_back_vif_stats(w->back, w->fe->domid, 0, q, &st), 0);
		s += st.v[c];
	}
	return s;
}

struct bufs {
	uint8_t *mem;
	struct sn_pkt pk[32];
	struct sn_pkt *pp[32];
};

static void bufs_init(struct bufs *b)
{
	b->mem = malloc(32u * SN_PKT_BUF_SIZE);
	assert_non_null(b->mem);
	for (unsigned int i = 0; i < 32; i++) {
		b->pk[i] = (struct sn_pkt){ .data = b->mem + (size_t)i * SN_PKT_BUF_SIZE,
					    .cap = SN_PKT_BUF_SIZE };
		b->pp[i] = &b->pk[i];
	}
}

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
	struct bufs b;
	int64_t next_rx = 0;

	bufs_init(&b);
	while (!atomic_load(f->stop)) {
		unsigned int n = 8;
		int r;

		for (unsigned int i = 0; i < n; i++) {
			uint32_t len = sizes[(f->sent + i) % 6];

			pattern(b.pp[i]->data, len, (uint32_t)(f->sent + i));
			b.pp[i]->len = len;
			b.pp[i]->flags = 0;
		}
		r = sn_front_tx_burst(f->w->nic, f->q, b.pp, n);
		assert_true(r >= 0);
		f->sent += (uint64_t)r;
		if (now_ms() >= next_rx) {
			r = sn_front_rx_burst(f->w->nic, f->q, b.pp, 4);
			assert_true(r >= 0);
			for (int i = 0; i < r; i++) {
				if (pattern_ok(b.pp[i]->data, b.pp[i]->len))
					f->rx_ok++;
				else
					f->rx_bad++;
				b.pp[i]->cap = SN_PKT_BUF_SIZE;
			}
			next_rx = now_ms() + 3;
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
	w.sh.flood = true;
	w.sh.max_len = 9000;
	world_up(&w, &bc, SN_STAGING_OFF, false);
	for (uint16_t q = 0; q < NQ; q++) {
		ft[q] = (struct fthread){ .w = &w, .q = q, .stop = &stop };
		assert_int_equal(pthread_create(&ft[q].th, NULL, fthread_main, &ft[q]), 0);
	}
	end = now_ms() + 1500;
	while (now_ms() < end) {
		/* The control side reads counters while the queues drop. */
		(void)bsum(&w, SN_QS_rx_drop_queue_full);
		sn_back_print_stats(w.back, devnull);
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
			(unsigned long long)tx_sent, (unsigned long long)w.sh.got,
			(unsigned long long)w.sh.made, (unsigned long long)rx_ok,
			(unsigned long long)full, (unsigned long long)noslots);
	assert_true(full > 0);
	assert_true(rx_ok > 0);
	assert_int_equal(rx_bad, 0);
	assert_true(tx_sent > 0);
	assert_true(w.sh.got > 0);
	assert_int_equal(w.sh.bad, 0);
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
	struct bufs b;
	struct sn_fault_stats fs;
	uint64_t sent = 0, ok = 0, bad = 0;
	int64_t deadline;

	alarm(240);
	bufs_init(&b);
	w.sh.max_len = 65535;
	w.sh.to_make = rx ? FAULT_PKTS / NQ : 0;
	world_up(&w, &bc, m == M_STAGING ? SN_STAGING_PAGE :
		 m == M_STAGING_HDR ? SN_STAGING_HEADER : SN_STAGING_OFF, true);
	/* Armed after the handshake: a failed ring map only fails the
	 * connect, and staging must be up to be tested. */
	arm_faults(&w);
	deadline = now_ms() + 120000;
	if (!rx) {
		while (sent < FAULT_PKTS && now_ms() < deadline) {
			uint16_t q = (uint16_t)((sent / 32) % NQ);
			unsigned int n = 0;
			int r;

			while (n < 32 && sent + n < FAULT_PKTS) {
				uint32_t len = sizes[(sent + n) % NSIZES];

				pattern(b.pp[n]->data, len, (uint32_t)(sent + n));
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
		int64_t moved = now_ms();

		while (now_ms() < deadline && now_ms() - moved < 3000) {
			uint64_t bdone = bsum(&w, SN_QS_tx_pkts) +
					 bsum(&w, SN_QS_tx_drop_grant) +
					 bsum(&w, SN_QS_tx_drop_malformed) +
					 bsum(&w, SN_QS_tx_drop_port);

			if (bdone + fsum(&w, SN_QS_tx_drop_malformed) != last) {
				last = bdone + fsum(&w, SN_QS_tx_drop_malformed);
				moved = now_ms();
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
		int64_t moved = now_ms();

		while (now_ms() < deadline && now_ms() - moved < 3000) {
			bool any = false;

			for (uint16_t q = 0; q < NQ; q++) {
				int n = sn_front_rx_burst(w.nic, q, b.pp, 32);

				assert_true(n >= 0);
				for (int i = 0; i < n; i++) {
					if (pattern_ok(b.pp[i]->data, b.pp[i]->len))
						ok++;
					else
						bad++;
					b.pp[i]->cap = SN_PKT_BUF_SIZE;
				}
				any |= n > 0;
			}
			if (any)
				moved = now_ms();
			if (w.sh.made == FAULT_PKTS &&
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
			(unsigned long long)(rx ? ok : w.sh.got),
			(unsigned long long)(rx ? bad : w.sh.bad));
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
		assert_int_equal(w.sh.got, bsum(&w, SN_QS_tx_pkts));
		assert_int_equal(w.sh.bad, 0);
		if (m != M_STAGING)
			assert_true(bsum(&w, SN_QS_tx_drop_grant) > 0);
	} else {
		uint64_t b_drop = bsum(&w, SN_QS_rx_drop_grant) +
				  bsum(&w, SN_QS_rx_drop_queue_full) +
				  bsum(&w, SN_QS_rx_drop_no_slots) +
				  bsum(&w, SN_QS_rx_drop_port);

		assert_int_equal(w.sh.made, FAULT_PKTS);
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

static int group_setup(void **state)
{
	(void)state;
	return sn_test_host_start(&host);
}

static int group_teardown(void **state)
{
	(void)state;
	sn_test_host_stop(&host);
	return 0;
}

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

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
