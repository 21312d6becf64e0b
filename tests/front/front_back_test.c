/* Netfront against the real netback, both in this process as two emulated
 * domains: the backend runs its control loop in a thread with a recording /
 * producing test port, the frontend is driven through its burst API.  Both
 * directions byte-exact, with SG-sized frames, one and two queues. */
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

#define NPKTS 600u
#define ETHERTYPE_TEST 0x88b5

static struct sn_test_host host;
static const uint32_t sizes[] = { 60, 1514, 4096, 4097, 9000, 333 };

/* What the backend's test ports saw / made, shared by all its queues. */
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
		uint32_t len = sizes[t->made % (sizeof(sizes) / sizeof(sizes[0]))];

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
	pthread_t tid;
	struct sn_front *nic;
	struct tport_shared sh;
	uint8_t *mem;
	struct sn_pkt pk[32];
	struct sn_pkt *pp[32];
};

static struct sn_plat *dom_open(uint16_t domid)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = domid, .ram_pages = 8192 };
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

	/* The toolstack step, exactly as a user runs it. */
	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --backend-domid %u --mtu 9000",
		 getenv("SN_STAGENET"), fe, be);
	assert_int_equal(system(cmd), 0);
}

static int ctx_setup(void **state)
{
	static uint16_t next = 40;
	struct tctx *t = calloc(1, sizeof(*t));
	struct sn_back_cfg bc = { 0 };
	unsigned int i;

	assert_non_null(t);
	t->be = dom_open(next++);
	t->fe = dom_open(next++);
	vif_add(t->fe->domid, t->be->domid);
	bc.plat = t->be;
	bc.port_open = tport_open;
	bc.port_arg = &t->sh;
	bc.max_queues = 2;
	assert_int_equal(sn_back_create(&bc, &t->back), 0);
	assert_int_equal(pthread_create(&t->tid, NULL, back_main, t), 0);
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

static int ctx_teardown(void **state)
{
	struct tctx *t = *state;

	/* Frontend first: its Closing makes the backend unmap before our
	 * grants are revoked. */
	sn_front_close(t->nic, 5000);
	sn_back_stop(t->back);
	pthread_join(t->tid, NULL);
	sn_back_destroy(t->back);
	sn_plat_close(t->fe);
	sn_plat_close(t->be);
	free(t->mem);
	free(t);
	return 0;
}

static void connect_front(struct tctx *t, uint16_t queues)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = queues };

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
	int64_t deadline = now_ms() + 20000;
	uint16_t q;

	connect_front(t, nq);
	while ((sent < NPKTS || t->sh.got + t->sh.bad < NPKTS) && now_ms() < deadline) {
		unsigned int n = 0, i;

		for (i = 0; i < 32 && sent + n < NPKTS; i++, n++) {
			uint32_t len = sizes[(sent + n) % (sizeof(sizes) / sizeof(sizes[0]))];

			pattern(t->pp[n]->data, len, sent + n);
			t->pp[n]->len = len;
			t->pp[n]->flags = 0;
		}
		/* Batches alternate between the queues. */
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
	for (q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_stats(t->nic, q)->v[SN_QS_fatal_errors], 0);
}

static void guest_rx(struct tctx *t, uint16_t nq)
{
	unsigned int got = 0, bad = 0;
	int64_t deadline = now_ms() + 20000;
	uint16_t q;

	t->sh.to_make = NPKTS;
	connect_front(t, nq);
	while (got < NPKTS * nq && now_ms() < deadline) {
		bool any = false;

		for (q = 0; q < nq; q++) {
			int n = sn_front_rx_burst(t->nic, q, t->pp, 32), i;

			assert_true(n >= 0);
			for (i = 0; i < n; i++) {
				if (pattern_ok(t->pp[i]->data, t->pp[i]->len) && t->pp[i]->queue == q)
					got++;
				else
					bad++;
			}
			any |= n > 0;
		}
		if (!any)
			sn_front_queue_wait(t->nic, 0, 5, 20);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(got, NPKTS * nq);
}

static void guest_tx_one_queue_byte_exact(void **state)
{
	guest_tx(*state, 1);
}

static void guest_tx_two_queues_byte_exact(void **state)
{
	guest_tx(*state, 2);
}

static void guest_rx_one_queue_byte_exact(void **state)
{
	guest_rx(*state, 1);
}

static void guest_rx_two_queues_byte_exact(void **state)
{
	guest_rx(*state, 2);
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
		T(guest_tx_one_queue_byte_exact),
		T(guest_tx_two_queues_byte_exact),
		T(guest_rx_one_queue_byte_exact),
		T(guest_rx_two_queues_byte_exact),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
