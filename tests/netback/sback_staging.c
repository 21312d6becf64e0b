/* The staging table on its own: lookups by gref with the permission rule,
 * in-flight accounting against DEL, the free count, keyed hashing under
 * colliding-looking grefs, and a datapath thread reading staged pages while
 * the control path adds and deletes them (a use after unmap would fault
 * under ASan or read a wrong page). */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/peer_front_ctrl.h"

#define NPG 32u

struct fx {
	struct env e; /* nq 1, no control-ring traffic needed */
	struct sn_back_gref_table *t;
	uint32_t ref[NPG];
	uint8_t *pg;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	env_open(&f->e, 1, NPG);
	f->t = f->e.tables[0];
	f->pg = env_pages(&f->e, NPG, true, f->ref);
	for (unsigned int i = 0; i < NPG; i++)
		memset(f->pg + (size_t)i * SN_PAGE_SIZE, (int)i + 1, SN_PAGE_SIZE);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(sn_gref_table_unmap_all(f->t), 0);
	assert_int_equal(f->e.fp->ops->shr_free(f->e.fp, f->pg, NPG), 0);
	env_close(&f->e);
	free(f);
	return 0;
}

static void add_all(struct fx *f, unsigned int n, bool ro)
{
	struct sn_gref_add a[NPG];

	for (unsigned int i = 0; i < n; i++) {
		a[i].gref = f->ref[i];
		a[i].readonly = ro;
	}
	assert_int_equal(sn_gref_table_add(f->t, n, a, NULL), 0);
}

static void create_rejects_bad_sizes(void **state)
{
	struct fx *f = *state;
	struct sn_back_gref_table *t;

	assert_int_equal(sn_gref_table_create(f->e.bp, f->e.fid, 0, &t), -EINVAL);
	assert_int_equal(sn_gref_table_create(f->e.bp, f->e.fid,
					      SN_BACK_STAGING_LIMIT + 1, &t), -EINVAL);
}

static void lookup_finds_each_page(void **state)
{
	struct fx *f = *state;

	add_all(f, NPG, false);
	assert_int_equal(sn_gref_table_free(f->t), 0);
	for (unsigned int i = 0; i < NPG; i++) {
		struct sn_gref_ent *e = sn_gref_table_get(f->t, f->ref[i], true);

		assert_non_null(e);
		assert_int_equal(((uint8_t *)e->addr)[123], i + 1);
		sn_gref_table_put(e);
	}
	/* Unknown grefs miss, whatever their value. */
	assert_null(sn_gref_table_get(f->t, 0, false));
	assert_null(sn_gref_table_get(f->t, 0xffffffffu, false));
	assert_null(sn_gref_table_get(f->t, f->ref[NPG - 1] + 1, false));
}

static void readonly_entry_never_written(void **state)
{
	struct fx *f = *state;
	struct sn_gref_ent *e;

	add_all(f, 4, true);
	assert_null(sn_gref_table_get(f->t, f->ref[0], true));
	e = sn_gref_table_get(f->t, f->ref[0], false);
	assert_non_null(e);
	assert_true(e->readonly);
	sn_gref_table_put(e);
}

static void add_failure_reports_map_status(void **state)
{
	struct fx *f = *state;
	struct sn_gref_add a[3] = {
		{ f->ref[0], false }, { 0xfffffff0u, false }, { f->ref[1], true },
	};
	int16_t st[3];

	assert_int_equal(sn_gref_table_add(f->t, 3, a, st), -EIO);
	assert_int_equal(st[0], GNTST_okay);
	assert_true(st[1] < 0);
	assert_int_equal(st[2], GNTST_okay);
	assert_int_equal(sn_gref_table_count(f->t), 0);
	assert_false(env_pinned(&f->e, f->ref[0]));
	assert_false(env_pinned(&f->e, f->ref[1]));
	assert_int_equal(sn_gref_table_add(f->t, 0, a, NULL), -EINVAL);
	assert_int_equal(sn_gref_table_add(f->t, NPG + 1, a, NULL), -ENOSPC);
}

static void inflight_counts_nest(void **state)
{
	struct fx *f = *state;
	struct sn_gref_ent *a, *b;
	uint16_t st;

	add_all(f, 1, false);
	a = sn_gref_table_get(f->t, f->ref[0], false);
	b = sn_gref_table_get(f->t, f->ref[0], true);
	assert_ptr_equal(a, b);
	sn_gref_table_put(a);
	assert_int_equal(sn_gref_table_del(f->t, 1, f->ref, &st), 0);
	assert_int_equal(st, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	sn_gref_table_put(b);
	assert_int_equal(sn_gref_table_del(f->t, 1, f->ref, &st), 1);
	assert_int_equal(st, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_null(sn_gref_table_get(f->t, f->ref[0], false));
}

/* Delete from the middle of probe chains and re-add, many times: every
 * present gref stays reachable (backward-shift deletion is correct). */
static void churn_keeps_every_entry_reachable(void **state)
{
	struct fx *f = *state;
	bool in[NPG] = { false };
	unsigned int seed = 7;

	for (int round = 0; round < 2000; round++) {
		unsigned int i;
		uint16_t st;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 16) % NPG;
		if (in[i]) {
			assert_int_equal(sn_gref_table_del(f->t, 1, &f->ref[i], &st), 1);
			in[i] = false;
		} else {
			struct sn_gref_add a = { f->ref[i], false };

			assert_int_equal(sn_gref_table_add(f->t, 1, &a, NULL), 0);
			in[i] = true;
		}
		if (round % 97)
			continue;
		for (unsigned int k = 0; k < NPG; k++) {
			struct sn_gref_ent *e = sn_gref_table_get(f->t, f->ref[k], false);

			assert_int_equal(e != NULL, in[k]);
			if (e) {
				assert_int_equal(((uint8_t *)e->addr)[0], k + 1);
				sn_gref_table_put(e);
			}
		}
	}
}

struct reader {
	struct fx *f;
	_Atomic bool stop;
	_Atomic unsigned long hits, misses;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned int i = 0;

	while (!atomic_load(&r->stop)) {
		uint32_t k = i++ % NPG;
		struct sn_gref_ent *e = sn_gref_table_get(r->f->t, r->f->ref[k], false);

		if (!e) {
			r->misses++;
			continue;
		}
		/* The page of this gref, still mapped. */
		if (((volatile uint8_t *)e->addr)[4095] != k + 1)
			abort();
		r->hits++;
		sn_gref_table_put(e);
	}
	return NULL;
}

static void datapath_races_add_del_safely(void **state)
{
	struct fx *f = *state;
	struct reader r = { .f = f };
	pthread_t th;
	unsigned long refused = 0;

	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	/* Enough rounds that the reader really ran against the churn (it
	 * may start late); bounded either way. */
	for (int round = 0; round < 20000 &&
	     (round < 300 || atomic_load(&r.hits) < 10000); round++) {
		uint16_t st[NPG];

		add_all(f, NPG, false);
		/* Entries the reader holds are refused and stay mapped;
		 * delete until all are gone. */
		while (sn_gref_table_count(f->t)) {
			uint32_t n = sn_gref_table_del(f->t, NPG, f->ref, st);

			refused += NPG - n;
		}
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_true(r.hits > 0);
	(void)refused;
	for (unsigned int i = 0; i < NPG; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_rejects_bad_sizes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(lookup_finds_each_page, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(readonly_entry_never_written, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_failure_reports_map_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(inflight_counts_nest, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(churn_keeps_every_entry_reachable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(datapath_races_add_del_safely, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
