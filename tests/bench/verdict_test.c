/* Every benchmark cell proves its mode by its counters (bench/verdict.c):
 * a "before" cell that staged, or a staged cell whose staged slots took
 * grant operations, is FAILED with the reason, in the tables and in the
 * JSON, never shown as a rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/report.h"
#include "bench/verdict.h"

/* A cell that delivered packets at a rate, with the given slot and grant
 * counters, judged and finished as cell.c does. */
static struct sn_bench_cell judged(const char *mode, const char *dir, const char *policy,
				   uint64_t staged, uint64_t unstaged, uint64_t copies,
				   uint64_t maps)
{
	struct sn_bench_cell c;

	sn_bench_cell_init(&c, mode, dir, 60, 1);
	snprintf(c.policy, sizeof(c.policy), "%s", policy);
	c.nreps = 2;
	c.rep_mpps[0] = c.rep_mpps[1] = 3.0;
	c.rep_gbps[0] = c.rep_gbps[1] = 1.5;
	c.c.pkts = 1000;
	c.c.staged_slots = staged;
	c.c.unstaged_slots = unstaged;
	c.c.grant_copies = copies;
	c.c.grant_maps = maps;
	c.payload_checked = true;
	sn_bench_cell_prove_mode(&c, "staging: backend has no control ring");
	sn_bench_cell_finish(&c);
	return c;
}

/* One cell's counters and the verdict they must get: why == NULL for OK,
 * else a piece of the reason. */
struct verdict_case {
	const char *mode, *dir, *policy;
	uint64_t staged, unstaged, copies, maps;
	const char *why;
};

static const struct verdict_case cases[] = {
	{ "linux", "tx", "", 0, 2000, 1000, 0, NULL },
	{ "copy", "rx", "", 0, 2000, 1000, 0, NULL },
	/* A backend or frontend that staged in a baseline. */
	{ "linux", "tx", "", 1, 1999, 1000, 0, "before cell" },
	{ "copy", "rx", "", 2000, 0, 0, 0, "before cell" },
	{ "staging", "tx", "page", 2000, 0, 0, 0, NULL },
	{ "staging", "rx", "page", 2000, 0, 0, 0, NULL },
	/* Fell back to normal grants: nothing staged (the frontend's word
	 * is quoted). */
	{ "staging", "tx", "page", 0, 2000, 1000, 0, "no control ring" },
	/* Some slots through grant operations under page staging. */
	{ "staging", "rx", "page", 1990, 10, 10, 0, "grant operations" },
	/* Grant operations the slot counts do not explain. */
	{ "staging", "tx", "page", 2000, 0, 0, 5, "grant operations" },
	/* Header TX: the first slot staged, the rest granted per use. */
	{ "staging", "tx", "header", 1000, 16000, 1000, 16000, NULL },
	/* RX stays on per-use pages under the header policy. */
	{ "staging", "rx", "header", 0, 2000, 1000, 0, NULL },
	/* Every slot staged, yet grant operations: the staged slots took them. */
	{ "staging", "tx", "header", 2000, 0, 1000, 0, "grant operations" },
	{ "staging", "tx", "header", 0, 2000, 1000, 0, "no slot went through staging" },
	{ "limit", "-", "", 0, 0, 0, 0, NULL },
};

static void test_verdicts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct verdict_case *v = &cases[i];
		struct sn_bench_cell c = judged(v->mode, v->dir, v->policy, v->staged,
						v->unstaged, v->copies, v->maps);

		print_message("case %zu: %s/%s %s -> %s\n", i, v->mode, v->policy, v->dir,
			      c.status == SN_CELL_OK ? "ok" : c.reason);
		if (!v->why) {
			assert_int_equal(c.status, SN_CELL_OK);
			continue;
		}
		assert_int_equal(c.status, SN_CELL_FAILED);
		assert_non_null(strstr(c.reason, v->why));
	}
}

/* A failed verdict shows as FAILED with its reason and no rate. */
static void test_failed_never_a_rate(void **state)
{
	struct sn_bench_cell c = judged("linux", "tx", "", 7, 1993, 1000, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(sn_bench_write_json(f, &c, 1), 0);
	sn_bench_print_tables(f, &c, 1);
	fclose(f);
	assert_non_null(strstr(buf, "\"status\": \"failed\""));
	assert_non_null(strstr(buf, "\"mpps\": null"));
	assert_non_null(strstr(buf, "\"gbps\": null"));
	assert_non_null(strstr(buf, "7 slots went through staging"));
	assert_non_null(strstr(buf, "linux tx 60 q1"));
	assert_non_null(strstr(buf, "FAILED: a before cell"));
	assert_null(strstr(buf, "3.00"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_failed_never_a_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
