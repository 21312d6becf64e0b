/* Interop matrix of the staging frontend with the real netback, both in
 * this process as emulated domains: staging frontend x staging backend,
 * staging frontend x `--staging-max 0` backend (fallback), and a
 * non-staging frontend (`--staging off`) x staging backend; both policies,
 * 1 and 4 queues, both directions.  Every packet must arrive intact, and
 * the counters say which path carried it. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "stagenet/back.h"
#include "stagenet/front.h"

#define NPKTS 400u
#define ETHERTYPE_TEST 0x88b5

static struct sn_test_host host;
static const uint32_t sizes[] = { 60, 64, 300, 1514, 4096, 4097, 9000, 65535 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
/* Set per test case before any thread starts. */
static bool only_64;

static uint32_t pkt_len(unsigned int i)
{
	return only_64 ? 64 : sizes[i % NSIZES];
}

struct tport_shared {
	_Atomic unsigned int got, bad, made;
	unsigned int to_make; /* per queue */
};

struct tport {
	struct sn_port base;
	struct tport_shared *sh;
	uint16_t queue;
	unsigned int made;
};

static void pattern(uint8_t *d, uint32_t len, uint32_t seq)
{
	uint32_t i;

	memset(d, 0xff, 6);
	memset(d + 6, 0x02, 6);
	d[12] = ETHERTYPE_TEST >> 8;
	d[13] = ETHERTYPE_TEST & 0xff;
	memcpy(d + 14, &seq, 4);
	memcpy(d + 18, &len, 4);
	for (i = 22; i < len; i++)
		d[i] = (uint8_t)(seq * 13 + i * 3 + (i >> 11));
}

static bool pattern_ok(const uint8_t *d, uint32_t len)
{
	uint32_t seq, l, i;

	if (len < 22)
		return false;
	memcpy(&seq, d + 14, 4);
	memcpy(&l, d + 18, 4);
	if (l != len)
		return false;
	for (i = 22; i < len; i++)
		if (d[i] != (uint8_t)(seq * 13 + i * 3 + (i >> 11)))
			return false;
	return true;
}

static int tport_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tport *t = (struct tport *)p;
	unsigned int i;

	for (i = 0; i < n; i++) {
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

	for (i = 0; i < n && t->made < t->sh->to_make; i++, t->made++) {
		uint32_t len = pkt_len(t->made);

		pattern(pkts[i]->data, len, t->made * 16u + t->queue);
		pkts[i]->len = len;
		pkts[i]->flags = 0;
		pkts[i]->queue = t->queue;
		t->sh->made++;
	}
	if (!i && t->made >= t->sh->to_make)
		return -ENODATA;
	return (int)i;
}

static int tport_fd(struct sn_port *p)
{
	(void)p;
	return -1;
}

static void tport_close(struct sn_port *p)
{
	free(p);
}

static const struct sn_port_ops tport_ops = {
	.kind = "test",
	.send = tport_send,
	.recv = tport_recv,
	.fd = tport_fd,
	.close = tport_close,
};

static int tport_open(void *arg, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct tport *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->base.ops = &tport_ops;
	t->sh = arg;
	t->queue = ctx->queue;
	*out = &t->base;
	return 0;
}

struct tctx {
	struct sn_plat *fe, *be;
	struct sn_back *back;
	bool back_running;
	pthread_t tid;
	struct sn_front *nic;
	struct tport_shared sh;
	uint8_t *mem;
	struct sn_pkt pk[32];
	struct sn_pkt *pp[32];
};

static struct sn_plat *dom_open(uint16_t domid)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = domid, .ram_pages = 16384 };
	struct sn_plat *p = NULL;

	assert_int_equal(sn_plat_open(&cfg, &p), 0);
	return p;
}

static void *back_main(void *arg)
{
	struct tctx *t = arg;

	sn_back_run(t->back);
	return NULL;
}

static void vif_add(uint16_t fe, uint16_t be)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --backend-domid %u --mtu 9000",
		 getenv("SN_STAGENET"), fe, be);
	assert_int_equal(system(cmd), 0);
}

static int ctx_setup(void **state)
{
	static uint16_t next = 40;
	struct tctx *t = calloc(1, sizeof(*t));
	unsigned int i;

	assert_non_null(t);
	t->be = dom_open(next++);
	t->fe = dom_open(next++);
	vif_add(t->fe->domid, t->be->domid);
	t->mem = malloc(32u * SN_PKT_BUF_SIZE);
	assert_non_null(t->mem);
	for (i = 0; i < 32; i++) {
		t->pk[i].data = t->mem + (size_t)i * SN_PKT_BUF_SIZE;
		t->pk[i].cap = SN_PKT_BUF_SIZE;
		t->pp[i] = &t->pk[i];
	}
	*state = t;
	return 0;
}

static void start_back(struct tctx *t, bool staging_off)
{
	struct sn_back_cfg bc = { 0 };

	bc.plat = t->be;
	bc.port_open = tport_open;
	bc.port_arg = &t->sh;
	bc.max_queues = 4;
	bc.staging_off = staging_off;
	assert_int_equal(sn_back_create(&bc, &t->back), 0);
	assert_int_equal(pthread_create(&t->tid, NULL, back_main, t), 0);
	t->back_running = true;
}

static int ctx_teardown(void **state)
{
	struct tctx *t = *state;

	/* Frontend first: it deletes its staged grants while the backend
	 * still answers, then its Closing makes the backend unmap the rest. */
	sn_front_close(t->nic, 5000);
	if (t->back_running) {
		sn_back_stop(t->back);
		pthread_join(t->tid, NULL);
		sn_back_destroy(t->back);
	}
	sn_plat_close(t->fe);
	sn_plat_close(t->be);
	free(t->mem);
	free(t);
	return 0;
}

static void connect_front(struct tctx *t, uint16_t queues, enum sn_front_staging_policy pol)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = queues, .staging = pol };

	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	assert_int_equal(sn_front_connect(t->nic, 10000), 0);
	assert_int_equal(sn_front_num_queues(t->nic), queues);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void guest_tx(struct tctx *t, uint16_t nq)
{
	unsigned int sent = 0;
	int64_t deadline = now_ms() + 30000;
	uint16_t q;

	while ((sent < NPKTS || t->sh.got + t->sh.bad < NPKTS) && now_ms() < deadline) {
		unsigned int n = 0, i;

		for (i = 0; i < 32 && sent + n < NPKTS; i++, n++) {
			uint32_t len = pkt_len(sent + n);

			pattern(t->pp[n]->data, len, sent + n);
			t->pp[n]->len = len;
			t->pp[n]->flags = 0;
		}
		q = (uint16_t)((sent / 32) % nq);
		if (n) {
			int r = sn_front_tx_burst(t->nic, q, t->pp, n);

			assert_true(r >= 0);
			sent += (unsigned int)r;
			if ((unsigned int)r == n)
				continue;
		} else {
			for (q = 0; q < nq; q++)
				assert_true(sn_front_tx_burst(t->nic, q, t->pp, 0) >= 0);
			q = 0;
		}
		sn_front_queue_wait(t->nic, q, 10, 20);
	}
	assert_int_equal(sent, NPKTS);
	assert_int_equal(t->sh.bad, 0);
	assert_int_equal(t->sh.got, NPKTS);
	/* Collect the last TX responses. */
	for (q = 0; q < nq; q++)
		assert_true(sn_front_tx_burst(t->nic, q, t->pp, 0) >= 0);
}

static void guest_rx(struct tctx *t, uint16_t nq)
{
	unsigned int got = 0, bad = 0;
	int64_t deadline = now_ms() + 30000;
	uint16_t q;

	while (got < NPKTS * nq && now_ms() < deadline) {
		bool any = false;

		for (q = 0; q < nq; q++) {
			int n = sn_front_rx_burst(t->nic, q, t->pp, 32), i;

			assert_true(n >= 0);
			for (i = 0; i < n; i++) {
				if (pattern_ok(t->pp[i]->data, t->pp[i]->len) &&
				    t->pp[i]->queue == q)
					got++;
				else
					bad++;
				t->pp[i]->cap = SN_PKT_BUF_SIZE;
			}
			any |= n > 0;
		}
		if (!any)
			sn_front_queue_wait(t->nic, 0, 5, 20);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(got, NPKTS * nq);
}

static uint64_t fsum(struct tctx *t, uint16_t nq, enum sn_qstat c)
{
	uint64_t s = 0;
	uint16_t q;

	for (q = 0; q < nq; q++)
		s += sn_front_queue_stats(t->nic, q)->v[c];
	return s;
}

static uint64_t bsum(struct tctx *t, uint16_t nq, enum sn_qstat c)
{
	struct sn_qstats st;
	uint64_t s = 0;
	uint16_t q;

	for (q = 0; q < nq; q++) {
		assert_int_equal(sn_back_vif_stats(t->back, t->fe->domid, 0, q, &st), 0);
		s += st.v[c];
	}
	return s;
}

enum expect { EXP_STAGED, EXP_FALLBACK, EXP_OFF };

/* only64: every frame 64 bytes (the proposal's headline case). */
static void run_case_sized(void **state, enum sn_front_staging_policy pol, bool back_off,
			   uint16_t nq, bool rx, bool only64)
{
	struct tctx *t = *state;
	enum expect e = pol == SN_STAGING_OFF ? EXP_OFF : back_off ? EXP_FALLBACK : EXP_STAGED;
	uint16_t q;

	only_64 = only64;
	if (rx)
		t->sh.to_make = NPKTS;
	start_back(t, back_off);
	connect_front(t, nq, pol);
	for (q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_staged(t->nic, q), e == EXP_STAGED);
	assert_int_equal(sn_front_staging_fallbacks(t->nic), e == EXP_FALLBACK ? nq : 0);
	if (rx)
		guest_rx(t, nq);
	else
		guest_tx(t, nq);
	for (q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_stats(t->nic, q)->v[SN_QS_fatal_errors], 0);

	if (e != EXP_STAGED) {
		assert_int_equal(fsum(t, nq, SN_QS_staged_slots), 0);
		assert_int_equal(bsum(t, nq, SN_QS_staged_slots), 0);
		return;
	}
	if (pol == SN_STAGING_HEADER && rx) {
		/* Header slots serve TX only; RX keeps normal pages. */
		assert_int_equal(fsum(t, nq, SN_QS_staged_slots), 0);
		return;
	}
	/* The frontend put staged grefs on the ring and the backend served
	 * them through its standing mappings. */
	assert_true(fsum(t, nq, SN_QS_staged_slots) > 0);
	assert_true(bsum(t, nq, SN_QS_staged_slots) > 0);
	assert_true(bsum(t, nq, SN_QS_memcpy_bytes) > 0);
	if (only64 && pol == SN_STAGING_PAGE) {
		/* Small packets through staged pages: no grant operation at
		 * all on the backend, in either direction. */
		assert_int_equal(bsum(t, nq, SN_QS_grant_copies), 0);
		assert_int_equal(bsum(t, nq, SN_QS_grant_maps), 0);
		assert_int_equal(bsum(t, nq, SN_QS_grant_unmaps), 0);
		assert_int_equal(fsum(t, nq, SN_QS_unstaged_slots), 0);
	}
}

static void run_case(void **state, enum sn_front_staging_policy pol, bool back_off,
		     uint16_t nq, bool rx)
{
	run_case_sized(state, pol, back_off, nq, rx, false);
}

#define CASE(name, pol, off, nq, rx)                  \
	static void name(void **state)                \
	{                                             \
		run_case(state, pol, off, nq, rx);    \
	}

CASE(page_x_staging_tx_1q, SN_STAGING_PAGE, false, 1, false)
CASE(page_x_staging_rx_1q, SN_STAGING_PAGE, false, 1, true)
CASE(page_x_staging_tx_4q, SN_STAGING_PAGE, false, 4, false)
CASE(page_x_staging_rx_4q, SN_STAGING_PAGE, false, 4, true)
CASE(header_x_staging_tx_1q, SN_STAGING_HEADER, false, 1, false)
CASE(header_x_staging_rx_1q, SN_STAGING_HEADER, false, 1, true)
CASE(header_x_staging_tx_4q, SN_STAGING_HEADER, false, 4, false)
CASE(header_x_staging_rx_4q, SN_STAGING_HEADER, false, 4, true)
CASE(page_x_max0_tx_4q, SN_STAGING_PAGE, true, 4, false)
CASE(page_x_max0_rx_1q, SN_STAGING_PAGE, true, 1, true)
CASE(header_x_max0_tx_1q, SN_STAGING_HEADER, true, 1, false)
CASE(off_x_staging_tx_4q, SN_STAGING_OFF, false, 4, false)
CASE(off_x_staging_rx_1q, SN_STAGING_OFF, false, 1, true)

static void page_64_bytes_tx_no_grant_ops(void **state)
{
	run_case_sized(state, SN_STAGING_PAGE, false, 1, false, true);
}

static void page_64_bytes_rx_no_grant_ops(void **state)
{
	run_case_sized(state, SN_STAGING_PAGE, false, 2, true, true);
}

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

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, ctx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(page_x_staging_tx_1q),
		T(page_x_staging_rx_1q),
		T(page_x_staging_tx_4q),
		T(page_x_staging_rx_4q),
		T(header_x_staging_tx_1q),
		T(header_x_staging_rx_1q),
		T(header_x_staging_tx_4q),
		T(header_x_staging_rx_4q),
		T(page_x_max0_tx_4q),
		T(page_x_max0_rx_1q),
		T(header_x_max0_tx_1q),
		T(off_x_staging_tx_4q),
		T(off_x_staging_rx_1q),
		T(page_64_bytes_tx_no_grant_ops),
		T(page_64_bytes_rx_no_grant_ops),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
