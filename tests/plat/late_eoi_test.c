/* Unit tests of the late-EOI rule (plat/late_eoi.h) on a scripted event
 * channel: ports stay masked until the wake-up ends, work re-enables them
 * at once and forgets the past, spurious wake-ups past the threshold keep
 * them masked for a doubling, capped delay. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plat/late_eoi.h"

/* The scripted channel: ports fire when listed in pending[], and one
 * that fired is masked until unmasked (as on Xen and the emulator). */
struct chan {
	int pending[4];
	int npending;
	bool masked[8];
	unsigned int unmasks;
};

static struct chan ch;

static int fake_pending(struct sn_evtchn *e)
{
	(void)e;
	for (int i = 0; i < ch.npending; i++) {
		int port = ch.pending[i];

		if (!ch.masked[port]) {
			ch.masked[port] = true;
			ch.pending[i] = ch.pending[--ch.npending];
			return port;
		}
	}
	return -EAGAIN;
}

static int fake_unmask(struct sn_evtchn *e, sn_port_t port)
{
	(void)e;
	ch.masked[port] = false;
	ch.unmasks++;
	return 0;
}

static const struct sn_plat_ops ops = {
	.evt_pending = fake_pending,
	.evt_unmask = fake_unmask,
};
static struct sn_plat plat = { .ops = &ops };
#define E ((struct sn_evtchn *)&ch)

static void fire(int port)
{
	ch.pending[ch.npending++] = port;
}

static int setup(void **state)
{
	(void)state;
	memset(&ch, 0, sizeof(ch));
	return 0;
}

static void delay_doubles_to_cap(void **state)
{
	unsigned int prev = 0;

	(void)state;
	for (unsigned int n = 0; n <= SN_EVT_SPURIOUS_THRESHOLD; n++)
		assert_int_equal(sn_late_eoi_delay_ms(n), 0);
	assert_int_equal(sn_late_eoi_delay_ms(SN_EVT_SPURIOUS_THRESHOLD + 1), 1);
	assert_int_equal(sn_late_eoi_delay_ms(SN_EVT_SPURIOUS_THRESHOLD + 2), 2);
	assert_int_equal(sn_late_eoi_delay_ms(SN_EVT_SPURIOUS_THRESHOLD + 3), 4);
	for (unsigned int n = 0; n < 200; n++) {
		unsigned int d = sn_late_eoi_delay_ms(n);

		assert_true(d >= prev);
		assert_true(d <= SN_EVT_SPURIOUS_MAX_DELAY_MS);
		prev = d;
	}
	assert_int_equal(prev, SN_EVT_SPURIOUS_MAX_DELAY_MS);
}

static void masked_until_the_wakeup_ends(void **state)
{
	struct sn_late_eoi l;

	(void)state;
	sn_late_eoi_reset(&l);
	fire(3);
	fire(5);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 2);
	assert_true(ch.masked[3] && ch.masked[5]);
	assert_int_equal(ch.unmasks, 0);
	/* A kick meanwhile stays pending behind the mask. */
	fire(3);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 0);
	assert_false(sn_late_eoi_done(&l, &plat, E, true));
	assert_int_equal(ch.unmasks, 2);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 1);
}

static void spurious_storm_throttled_work_resets(void **state)
{
	struct sn_late_eoi l;
	int t;

	(void)state;
	sn_late_eoi_reset(&l);
	for (unsigned int i = 0; i < SN_EVT_SPURIOUS_THRESHOLD; i++) {
		fire(1);
		assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 1);
		assert_false(sn_late_eoi_done(&l, &plat, E, false));
		assert_false(ch.masked[1]);
		assert_false(sn_late_eoi_quiet(&l));
	}
	fire(1);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 1);
	assert_true(sn_late_eoi_done(&l, &plat, E, false));
	assert_true(ch.masked[1]);
	assert_true(sn_late_eoi_quiet(&l));
	t = sn_late_eoi_timeout(&l, &plat, E, 1000);
	assert_true(t >= 0 && t <= 1);
	assert_int_equal(sn_late_eoi_timeout(&l, &plat, E, 0), 0);
	/* Kicks while held cost nothing: nothing fires. */
	fire(1);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 0);
	/* Work (found on the rings, or from elsewhere) re-enables at once
	 * and forgets the storm. */
	assert_false(sn_late_eoi_done(&l, &plat, E, true));
	assert_false(ch.masked[1]);
	assert_false(sn_late_eoi_quiet(&l));
	assert_int_equal(sn_late_eoi_timeout(&l, &plat, E, -1), -1);
	assert_int_equal(sn_late_eoi_take(&l, &plat, E, 4), 1);
	assert_false(sn_late_eoi_done(&l, &plat, E, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(delay_doubles_to_cap, setup),
		cmocka_unit_test_setup(masked_until_the_wakeup_ends, setup),
		cmocka_unit_test_setup(spurious_storm_throttled_work_resets, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
