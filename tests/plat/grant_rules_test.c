/* Unit tests of the emulated hypervisor's grant-entry rules on a plain
 * in-memory table: every GNTST code of a pin, the pin/unpin flag protocol,
 * bounded races, and revoke-vs-pin exclusion under real thread races. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plat/emu/grant_rules.h"

#define NENT 64u
#define SELF 7
#define OTHER 9

struct table {
	struct sn_emu_gt_view gt;
};

static int setup(void **state)
{
	struct table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->gt.entries = calloc(NENT, sizeof(grant_entry_v1_t));
	t->gt.active = calloc(NENT, sizeof(struct sn_emu_active));
	assert_non_null(t->gt.entries);
	assert_non_null(t->gt.active);
	t->gt.nr_entries = NENT;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct table *t = *state;

	free(t->gt.entries);
	free(t->gt.active);
	free(t);
	return 0;
}

static uint16_t flags_of(struct table *t, uint32_t ref)
{
	return __atomic_load_n(&t->gt.entries[ref].flags, __ATOMIC_SEQ_CST);
}

static void pin_rejects_ref_beyond_table(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[NENT - 1], SELF, 3, false);
	assert_int_equal(sn_gt_pin(&t->gt, NENT - 1, SELF, false), GNTST_okay);
	sn_gt_unpin(&t->gt, NENT - 1, false);
	assert_int_equal(sn_gt_pin(&t->gt, NENT, SELF, false), GNTST_bad_gntref);
	assert_int_equal(sn_gt_pin(&t->gt, UINT32_MAX, SELF, true), GNTST_bad_gntref);
}

static void pin_rejects_grant_to_other_domain(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[10], OTHER, 3, false);
	assert_int_equal(sn_gt_pin(&t->gt, 10, SELF, false), GNTST_general_error);
	assert_int_equal(flags_of(t, 10), GTF_permit_access);
	assert_int_equal(t->gt.active[10].rd_pins, 0);
	assert_int_equal(sn_gt_pin(&t->gt, 10, OTHER, false), GNTST_okay);
	sn_gt_unpin(&t->gt, 10, false);
}

static void pin_rejects_entry_not_permit_access(void **state)
{
	struct table *t = *state;
	static const uint16_t types[] = { GTF_invalid, GTF_accept_transfer, GTF_transitive };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		grant_entry_v1_t *ent = &t->gt.entries[11];

		ent->domid = SELF;
		ent->frame = 1;
		ent->flags = types[i];
		assert_int_equal(sn_gt_pin(&t->gt, 11, SELF, false), GNTST_general_error);
		assert_int_equal(sn_gt_pin(&t->gt, 11, SELF, true), GNTST_general_error);
		assert_int_equal(flags_of(t, 11), types[i]);
	}
}

static void pin_rejects_revoked_entry(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[12], SELF, 4, false);
	assert_int_equal(sn_gt_revoke(&t->gt.entries[12]), 0);
	assert_int_equal(flags_of(t, 12), 0);
	assert_int_equal(sn_gt_pin(&t->gt, 12, SELF, false), GNTST_general_error);
}

static void write_pin_of_readonly_grant_fails(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[13], SELF, 5, true);
	assert_int_equal(sn_gt_pin(&t->gt, 13, SELF, true), GNTST_general_error);
	assert_int_equal(flags_of(t, 13), GTF_permit_access | GTF_readonly);
	assert_int_equal(sn_gt_pin(&t->gt, 13, SELF, false), GNTST_okay);
	assert_int_equal(flags_of(t, 13), GTF_permit_access | GTF_readonly | GTF_reading);
	sn_gt_unpin(&t->gt, 13, false);
	assert_int_equal(flags_of(t, 13), GTF_permit_access | GTF_readonly);
}

static void grant_fills_entry_the_xen_way(void **state)
{
	struct table *t = *state;
	grant_entry_v1_t *ent = &t->gt.entries[14];

	sn_gt_grant(ent, 0x7ff0, 0x123456, false);
	assert_int_equal(ent->domid, 0x7ff0);
	assert_int_equal(ent->frame, 0x123456);
	assert_int_equal(ent->flags, GTF_permit_access);
	assert_int_equal(sn_gt_frame(&t->gt, 14), 0x123456);
}

static void last_unpin_of_a_kind_clears_its_flag(void **state)
{
	struct table *t = *state;
	const uint16_t base = GTF_permit_access;

	sn_gt_grant(&t->gt.entries[15], SELF, 6, false);
	assert_int_equal(sn_gt_pin(&t->gt, 15, SELF, false), GNTST_okay);
	assert_int_equal(sn_gt_pin(&t->gt, 15, SELF, false), GNTST_okay);
	assert_int_equal(flags_of(t, 15), base | GTF_reading);
	assert_int_equal(sn_gt_pin(&t->gt, 15, SELF, true), GNTST_okay);
	assert_int_equal(flags_of(t, 15), base | GTF_reading | GTF_writing);
	assert_int_equal(t->gt.active[15].rd_pins, 2);
	assert_int_equal(t->gt.active[15].wr_pins, 1);

	sn_gt_unpin(&t->gt, 15, true);
	assert_int_equal(flags_of(t, 15), base | GTF_reading);
	sn_gt_unpin(&t->gt, 15, false);
	assert_int_equal(flags_of(t, 15), base | GTF_reading);
	sn_gt_unpin(&t->gt, 15, false);
	assert_int_equal(flags_of(t, 15), base);

	/* A write pin alone also holds GTF_reading, like Xen's hstw pin. */
	assert_int_equal(sn_gt_pin(&t->gt, 15, SELF, true), GNTST_okay);
	assert_int_equal(flags_of(t, 15), base | GTF_reading | GTF_writing);
	sn_gt_unpin(&t->gt, 15, true);
	assert_int_equal(flags_of(t, 15), base);
}

static void revoke_fails_while_pinned(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[16], SELF, 7, false);
	assert_int_equal(sn_gt_pin(&t->gt, 16, SELF, false), GNTST_okay);
	assert_int_equal(sn_gt_revoke(&t->gt.entries[16]), -EBUSY);
	assert_true(flags_of(t, 16) & GTF_permit_access);
	sn_gt_unpin(&t->gt, 16, false);

	assert_int_equal(sn_gt_pin(&t->gt, 16, SELF, true), GNTST_okay);
	assert_int_equal(sn_gt_revoke(&t->gt.entries[16]), -EBUSY);
	sn_gt_unpin(&t->gt, 16, true);
	assert_int_equal(sn_gt_revoke(&t->gt.entries[16]), 0);
	assert_int_equal(flags_of(t, 16), 0);
}

/* A granter that changes the flags word before each of our cmpxchgs. */
struct racer {
	int left;
};

static void race_flip(grant_entry_v1_t *ent, void *arg)
{
	struct racer *r = arg;

	if (r->left > 0) {
		r->left--;
		__atomic_fetch_xor(&ent->flags, GTF_PCD, __ATOMIC_SEQ_CST);
	}
}

static void pin_gives_up_after_five_races(void **state)
{
	struct table *t = *state;
	struct racer r = { .left = 4 };

	sn_gt_grant(&t->gt.entries[17], SELF, 8, false);
	/* Four lost cmpxchgs: the fifth attempt wins. */
	assert_int_equal(sn_gt_pin_ex(&t->gt, 17, SELF, true, race_flip, &r), GNTST_okay);
	assert_true(flags_of(t, 17) & GTF_writing);
	sn_gt_unpin(&t->gt, 17, true);

	/* Five lost cmpxchgs: "Shared grant entry is unstable". */
	r.left = 5;
	assert_int_equal(sn_gt_pin_ex(&t->gt, 17, SELF, true, race_flip, &r), GNTST_general_error);
	assert_int_equal(r.left, 0);
	assert_int_equal(flags_of(t, 17) & (GTF_reading | GTF_writing), 0);
	assert_int_equal(t->gt.active[17].wr_pins, 0);
	assert_int_equal(t->gt.active[17].rd_pins, 0);
}

/* A race that also revokes: the retry re-validates the type. */
static void race_revoke(grant_entry_v1_t *ent, void *arg)
{
	(void)arg;
	__atomic_store_n(&ent->flags, 0, __ATOMIC_SEQ_CST);
}

static void pin_revalidates_after_a_lost_race(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[18], SELF, 9, false);
	assert_int_equal(sn_gt_pin_ex(&t->gt, 18, SELF, false, race_revoke, NULL),
			 GNTST_general_error);
	assert_int_equal(flags_of(t, 18), 0);
}

static void pin_fails_bounded_when_entry_lock_is_stuck(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[19], SELF, 9, false);
	atomic_store(&t->gt.active[19].lock, 1); /* a granter scribbling */
	assert_int_equal(sn_gt_pin(&t->gt, 19, SELF, false), GNTST_general_error);
	assert_int_equal(flags_of(t, 19), GTF_permit_access);
	atomic_store(&t->gt.active[19].lock, 0);
	assert_int_equal(sn_gt_pin(&t->gt, 19, SELF, false), GNTST_okay);
	sn_gt_unpin(&t->gt, 19, false);
}

static void unpin_saturates_corrupted_counter(void **state)
{
	struct table *t = *state;

	sn_gt_grant(&t->gt.entries[20], SELF, 9, false);
	assert_int_equal(sn_gt_pin(&t->gt, 20, SELF, false), GNTST_okay);
	atomic_store(&t->gt.active[20].rd_pins, 0); /* granter zeroed it */
	sn_gt_unpin(&t->gt, 20, false);
	assert_int_equal(t->gt.active[20].rd_pins, 0);
	assert_int_equal(flags_of(t, 20), GTF_permit_access);
}

/* Threads pin/unpin one entry while a granter thread keeps trying to
 * revoke and re-grant it: a revoke may only succeed while nobody holds a
 * pin.  Without the per-entry lock a last unpin can clear GTF_reading
 * after a newer pin, and this fails. */
struct hammer {
	struct table *t;
	uint32_t ref;
	_Atomic int holders;
	_Atomic bool stop;
	_Atomic long violations, revokes, pins;
};

static void *pinner(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop)) {
		bool w = (atomic_fetch_add(&h->pins, 1) & 3) == 0;

		if (sn_gt_pin(&h->t->gt, h->ref, SELF, w) != GNTST_okay)
			continue;
		atomic_fetch_add(&h->holders, 1);
		if (!(flags_of(h->t, h->ref) & GTF_reading))
			atomic_fetch_add(&h->violations, 1);
		atomic_fetch_sub(&h->holders, 1);
		sn_gt_unpin(&h->t->gt, h->ref, w);
	}
	return NULL;
}

static void *revoker(void *arg)
{
	struct hammer *h = arg;

	/* Bounded by work done, not time: enough pins and revokes to have
	 * interleaved many times, with a hard cap on iterations. */
	for (long i = 0; i < 50000000 && !atomic_load(&h->stop); i++) {
		if (atomic_load(&h->pins) > 300000 && atomic_load(&h->revokes) > 3000)
			break;
		if (sn_gt_revoke(&h->t->gt.entries[h->ref]) == 0) {
			atomic_fetch_add(&h->revokes, 1);
			if (atomic_load(&h->holders))
				atomic_fetch_add(&h->violations, 1);
			sn_gt_grant(&h->t->gt.entries[h->ref], SELF, 1, false);
		}
	}
	atomic_store(&h->stop, true);
	return NULL;
}

static void revoke_never_succeeds_under_a_live_pin(void **state)
{
	struct hammer h = { .t = *state, .ref = 21 };
	pthread_t th[4];

	sn_gt_grant(&h.t->gt.entries[h.ref], SELF, 1, false);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, pinner, &h), 0);
	assert_int_equal(pthread_create(&th[3], NULL, revoker, &h), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&h.violations), 0);
	assert_true(atomic_load(&h.pins) > 0);
	assert_int_equal(h.t->gt.active[h.ref].rd_pins, 0);
	assert_int_equal(h.t->gt.active[h.ref].wr_pins, 0);
	assert_int_equal(flags_of(h.t, h.ref) & (GTF_reading | GTF_writing), 0);
}

/* A granter thread flipping a cache-attribute bit in a tight loop: pins
 * either win or fail with general_error, never hang, and the pin state is
 * exact afterwards. */
struct flipper {
	grant_entry_v1_t *ent;
	_Atomic bool stop;
};

static void *flip_loop(void *arg)
{
	struct flipper *f = arg;

	while (!atomic_load_explicit(&f->stop, memory_order_relaxed))
		__atomic_fetch_xor(&f->ent->flags, GTF_PWT, __ATOMIC_RELAXED);
	return NULL;
}

static void pin_survives_a_flipping_granter(void **state)
{
	struct table *t = *state;
	struct flipper f = { .ent = &t->gt.entries[22] };
	pthread_t th;
	int ok = 0, failed = 0;

	sn_gt_grant(f.ent, SELF, 2, false);
	assert_int_equal(pthread_create(&th, NULL, flip_loop, &f), 0);
	for (int i = 0; i < 20000; i++) {
		int16_t st = sn_gt_pin(&t->gt, 22, SELF, true);

		if (st == GNTST_okay) {
			ok++;
			sn_gt_unpin(&t->gt, 22, true);
		} else {
			assert_int_equal(st, GNTST_general_error);
			failed++;
		}
	}
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(ok + failed, 20000);
	assert_int_equal(flags_of(t, 22) & (GTF_reading | GTF_writing), 0);
	assert_int_equal(t->gt.active[22].wr_pins, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pin_rejects_ref_beyond_table, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_rejects_grant_to_other_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_rejects_entry_not_permit_access, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_rejects_revoked_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(write_pin_of_readonly_grant_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(grant_fills_entry_the_xen_way, setup, teardown),
		cmocka_unit_test_setup_teardown(last_unpin_of_a_kind_clears_its_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(revoke_fails_while_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_gives_up_after_five_races, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_revalidates_after_a_lost_race, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_fails_bounded_when_entry_lock_is_stuck, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unpin_saturates_corrupted_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(revoke_never_succeeds_under_a_live_pin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pin_survives_a_flipping_granter, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
