/* Netfront against the real netback, both in this process as two emulated
 * domains: the backend runs its control loop in a thread with a recording /
 * producing test port, the frontend is driven through its burst API.  Both
 * directions byte-exact, with SG-sized frames, one and two queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"

#define NPKTS 600u

static const uint32_t sizes[] = { 60, 1514, 4096, 4097, 9000, 333 };

static uint32_t pkt_len(unsigned int i)
{
	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static int ctx_setup(void **state)
{
	struct sn_test_world *t = sn_test_world_open(8192, pkt_len);

	sn_test_back_start(&t->b, t->be, 2, false);
	*state = t;
	return 0;
}

static void guest_tx(struct sn_test_world *t, uint16_t nq)
{
	uint16_t q;

	sn_test_front_connect(t->fe, &t->nic, nq, SN_STAGING_OFF);
	sn_test_guest_tx(t->nic, &t->b, t->pp, nq, NPKTS, 20000);
	for (q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_stats(t->nic, q)->v[SN_QS_fatal_errors], 0);
}

static void guest_rx(struct sn_test_world *t, uint16_t nq)
{
	t->b.sh.to_make = NPKTS;
	sn_test_front_connect(t->fe, &t->nic, nq, SN_STAGING_OFF);
	sn_test_guest_rx(t->nic, t->pp, nq, NPKTS, 20000);
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

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, sn_test_world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(guest_tx_one_queue_byte_exact),
		T(guest_tx_two_queues_byte_exact),
		T(guest_rx_one_queue_byte_exact),
		T(guest_rx_two_queues_byte_exact),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
