/* Interop matrix of the staging frontend with the real netback, both in
 * this process as emulated domains: staging frontend x staging backend,
 * staging frontend x `--staging-max 0` backend (fallback), and a
 * non-staging frontend (`--staging off`) x staging backend; both policies,
 * 1 and 4 queues, both directions.  Every packet must arrive intact, and
 * the counters say which path carried it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"

#define NPKTS 400u

static const uint32_t sizes[] = { 60, 64, 300, 1514, 4096, 4097, 9000, 65535 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
/* Set per test case before any thread starts. */
static bool only_64;

static uint32_t pkt_len(unsigned int i)
{
	return only_64 ? 64 : sizes[i % NSIZES];
}

static int ctx_setup(void **state)
{
	struct sn_test_world *t = sn_test_world_open(16384, pkt_len);

	*state = t;
	return 0;
}

static void guest_tx(struct sn_test_world *t, uint16_t nq)
{
	uint16_t q;

	sn_test_guest_tx(t->nic, &t->b, t->pp, nq, NPKTS, 30000);
	/* Collect the last TX responses. */
	for (q = 0; q < nq; q++)
		assert_true(sn_front_tx_burst(t->nic, q, t->pp, 0) >= 0);
}

static uint64_t fsum(struct sn_test_world *t, uint16_t nq, enum sn_qstat c)
{
	uint64_t s = 0;
	uint16_t q;

	for (q = 0; q < nq; q++)
		s += sn_front_queue_stats(t->nic, q)->v[c];
	return s;
}

static uint64_t bsum(struct sn_test_world *t, uint16_t nq, enum sn_qstat c)
{
	struct sn_qstats st;
	uint64_t s = 0;
	uint16_t q;

	for (q = 0; q < nq; q++) {
		assert_int_equal(sn_back_vif_stats(t->b.back, t->fe->domid, 0, q, &st), 0);
		s += st.v[c];
	}
	return s;
}

enum expect { EXP_STAGED, EXP_FALLBACK, EXP_OFF };

/* only64: every frame 64 bytes (the proposal's headline case). */
static void run_case_sized(void **state, enum sn_front_staging_policy pol, bool back_off,
			   uint16_t nq, bool rx, bool only64)
{
	struct sn_test_world *t = *state;
	enum expect e = pol == SN_STAGING_OFF ? EXP_OFF : back_off ? EXP_FALLBACK : EXP_STAGED;
	uint16_t q;

	only_64 = only64;
	if (rx)
		t->b.sh.to_make = NPKTS;
	sn_test_back_start(&t->b, t->be, 4, back_off);
	sn_test_front_connect(t->fe, &t->nic, nq, pol);
	for (q = 0; q < nq; q++)
		assert_int_equal(sn_front_queue_staged(t->nic, q), e == EXP_STAGED);
	assert_int_equal(sn_front_staging_fallbacks(t->nic), e == EXP_FALLBACK ? nq : 0);
	if (rx)
		sn_test_guest_rx(t->nic, t->pp, nq, NPKTS, 30000);
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

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, sn_test_world_teardown)

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

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
