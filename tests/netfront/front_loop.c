/* The library's serving loop, in this process: sn_front_start opens a port
 * per queue and runs sn_front_queue_run on each (the loop `stagenet front`
 * runs), sn_front_run follows the backend and returns once every port's
 * input ended and lingered, or once stopped.  The backend is the real
 * netback with the test port of tests/common/inproc.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "stagenet/port.h"

#define NTX 500u /* gen frames per queue, guest TX */
#define NRX 300u /* test-port frames per queue, guest RX */
#define LINGER_MS 1000

static uint32_t pkt_len(unsigned int i)
{
	return 60 + (i % 7) * 200;
}

static int ctx_setup(void **state)
{
	struct sn_test_world *t = sn_test_world_open(8192, pkt_len);

	sn_test_back_start(&t->b, t->be, 2, false);
	*state = t;
	return 0;
}

static void serve_until_input_ends(struct sn_test_world *t, uint16_t nq, bool busy)
{
	atomic_bool stop = false;
	uint64_t sent = 0, recv = 0, rx = 0;
	int64_t t0;
	uint16_t q;

	t->b.sh.to_make = NRX;
	sn_test_front_connect(t->fe, &t->nic, nq, SN_STAGING_PAGE);
	assert_int_equal(sn_front_start(t->nic, "gen:count=500", busy), 0);
	t0 = sn_test_now_ms();
	assert_int_equal(sn_front_run(t->nic, &stop, LINGER_MS), 0);
	assert_true(sn_test_now_ms() - t0 >= LINGER_MS);
	for (q = 0; q < nq; q++) {
		struct sn_port *p = sn_front_queue_port(t->nic, q);

		assert_non_null(p);
		recv += p->stats.recv_pkts;
		sent += p->stats.sent_pkts;
		rx += sn_front_queue_stats(t->nic, q)->v[SN_QS_rx_pkts];
		assert_int_equal(sn_front_queue_stats(t->nic, q)->v[SN_QS_fatal_errors], 0);
	}
	assert_int_equal(recv, (uint64_t)NTX * nq);
	/* Guest RX has no end the run waits for: what the rings delivered
	 * went to the port, and something was delivered. */
	assert_int_equal(sent, rx);
	assert_true(sent > 0 && sent <= (uint64_t)NRX * nq);
	/* Every gen frame reaches the backend's port (which counts them as
	 * not its own pattern: bad); its thread may still be at the last. */
	while (atomic_load(&t->b.sh.got) + atomic_load(&t->b.sh.bad) < NTX * nq &&
	       sn_test_now_ms() - t0 < 20000)
		poll(NULL, 0, 5);
	assert_int_equal(atomic_load(&t->b.sh.got) + atomic_load(&t->b.sh.bad), NTX * nq);
}

static void input_end_one_queue(void **state)
{
	serve_until_input_ends(*state, 1, false);
}

static void input_end_two_queues(void **state)
{
	serve_until_input_ends(*state, 2, false);
}

static void input_end_two_queues_busy_poll(void **state)
{
	serve_until_input_ends(*state, 2, true);
}

struct stopper {
	pthread_t th;
	struct sn_qstats *st;
	atomic_bool stop;
};

/* Stops the run 300 ms in, once every RX frame went to the port. */
static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	int64_t end = sn_test_now_ms() + 5000;

	poll(NULL, 0, 300);
	while (__atomic_load_n(&s->st->v[SN_QS_rx_pkts], __ATOMIC_RELAXED) < NRX &&
	       sn_test_now_ms() < end)
		poll(NULL, 0, 5);
	atomic_store(&s->stop, true);
	return NULL;
}

/* A port without input (sink) never ends: only the stop flag ends the run,
 * and the queue threads with it. */
static void sink_runs_until_stopped(void **state)
{
	struct sn_test_world *t = *state;
	struct stopper s = { .stop = false };
	int64_t t0;

	t->b.sh.to_make = NRX;
	sn_test_front_connect(t->fe, &t->nic, 1, SN_STAGING_OFF);
	assert_int_equal(sn_front_start(t->nic, "sink", false), 0);
	assert_int_equal(sn_front_start(t->nic, "sink", false), -EBUSY);
	t0 = sn_test_now_ms();
	s.st = sn_front_queue_stats(t->nic, 0);
	assert_int_equal(pthread_create(&s.th, NULL, stopper_main, &s), 0);
	assert_int_equal(sn_front_run(t->nic, &s.stop, 0), 0);
	assert_true(sn_test_now_ms() - t0 >= 300);
	pthread_join(s.th, NULL);
	assert_int_equal(sn_front_queue_port(t->nic, 0)->stats.sent_pkts, s.st->v[SN_QS_rx_pkts]);
	assert_true(s.st->v[SN_QS_rx_pkts] > 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, sn_test_world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(input_end_one_queue),
		T(input_end_two_queues),
		T(input_end_two_queues_busy_poll),
		T(sink_runs_until_stopped),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup, sn_test_host_group_teardown);
}
