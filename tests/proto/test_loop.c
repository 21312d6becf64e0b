/* The adaptive idle poll of the queue loops (proto/loop.h): it starts at
 * SN_IDLE_POLL_US, grows to cover a wake-up gap a longer poll would have
 * caught, halves after a long sleep, stays within its bounds, and learns
 * nothing from work its poll already caught.  Pure arithmetic, no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/loop.h"

static void adapt_grows_shrinks_within_bounds(void **state)
{
	struct sn_poll_adapt a;

	(void)state;
	sn_poll_adapt_init(&a);
	assert_int_equal(a.poll_us, SN_IDLE_POLL_US);
	/* Caught while polling: keep the window whatever the gap. */
	sn_poll_adapt_work(&a, 3, false);
	sn_poll_adapt_work(&a, 100000, false);
	assert_int_equal(a.poll_us, SN_IDLE_POLL_US);
	/* Slept, and the work came 120 us after going idle: a poll that
	 * long would have caught it. */
	sn_poll_adapt_work(&a, 120, true);
	assert_true(a.poll_us >= 120 && a.poll_us <= SN_IDLE_POLL_MAX_US);
	for (int i = 0; i < 10; i++)
		sn_poll_adapt_work(&a, SN_IDLE_POLL_MAX_US, true);
	assert_int_equal(a.poll_us, SN_IDLE_POLL_MAX_US);
	/* Long sleeps: polling was wasted, halve down to the floor. */
	sn_poll_adapt_work(&a, 5000, true);
	assert_int_equal(a.poll_us, SN_IDLE_POLL_MAX_US / 2);
	for (int i = 0; i < 20; i++)
		sn_poll_adapt_work(&a, 100000, true);
	assert_int_equal(a.poll_us, SN_IDLE_POLL_MIN_US);
	/* From the floor, one short-gap sleep grows it again. */
	sn_poll_adapt_work(&a, 30, true);
	assert_true(a.poll_us > 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adapt_grows_shrinks_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
