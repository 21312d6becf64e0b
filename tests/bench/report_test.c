/* The benchmark's bookkeeping: median/min/max of repetitions, a cell with
 * lost or corrupt packets becoming FAILED instead of a rate, and the JSON
 * writer's field names and string escaping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/report.h"

static void test_summary(void **state)
{
	const double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, one[] = { 7 };
	double med, lo, hi;

	(void)state;
	assert_int_equal(sn_bench_summary(odd, 3, &med, &lo, &hi), 0);
	assert_true(med == 3 && lo == 1 && hi == 5);
	assert_int_equal(sn_bench_summary(even, 4, &med, &lo, &hi), 0);
	assert_true(med == 2.5 && lo == 1 && hi == 4);
	assert_int_equal(sn_bench_summary(one, 1, &med, &lo, &hi), 0);
	assert_true(med == 7 && lo == 7 && hi == 7);
	assert_int_equal(sn_bench_summary(one, 0, &med, &lo, &hi), -EINVAL);
	/* The input is left alone. */
	assert_true(odd[0] == 5 && odd[1] == 1);
}

static void test_finish(void **state)
{
	struct sn_bench_cell c;

	(void)state;
	sn_bench_cell_init(&c, "staging", "tx", 60, 1);
	c.nreps = 3;
	c.rep_mpps[0] = 2.0, c.rep_mpps[1] = 1.0, c.rep_mpps[2] = 4.0;
	c.rep_gbps[0] = 1.0, c.rep_gbps[1] = 0.5, c.rep_gbps[2] = 2.0;
	c.c.pkts = 1000;
	sn_bench_cell_finish(&c);
	assert_int_equal(c.status, SN_CELL_OK);
	assert_true(c.mpps == 2.0 && c.mpps_min == 1.0 && c.mpps_max == 4.0);
	assert_true(c.gbps == 1.0);
	assert_true(c.ns_per_pkt == 500.0);

	c.lost = 1;
	sn_bench_cell_finish(&c);
	assert_int_equal(c.status, SN_CELL_FAILED);
	assert_non_null(strstr(c.reason, "lost"));

	sn_bench_cell_init(&c, "linux", "rx", 60, 1);
	c.nreps = 1;
	c.rep_mpps[0] = 1;
	c.c.pkts = 10;
	c.bad_payload = 2;
	sn_bench_cell_finish(&c);
	assert_int_equal(c.status, SN_CELL_FAILED);

	sn_bench_cell_init(&c, "linux", "rx", 60, 1);
	c.nreps = 1;
	c.rep_mpps[0] = 1;
	c.c.pkts = 10;
	c.c.drops = 1;
	sn_bench_cell_finish(&c);
	assert_int_equal(c.status, SN_CELL_FAILED);
}

static char *capture_json(const struct sn_bench_cell *cells, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(sn_bench_write_json(f, cells, n), 0);
	fclose(f);
	return buf;
}

static void test_json(void **state)
{
	static const char *const fields[] = { "mode", "dir", "frame", "queues", "mpps",
		"mpps_min", "mpps_max", "gbps", "ns_per_pkt", "grant_copies", "grant_maps",
		"grant_unmaps", "memcpy_bytes", "notifications", "lost" };
	struct sn_bench_cell c[2];
	char key[64], *js;

	(void)state;
	sn_bench_cell_init(&c[0], "limit", "-", 65535, 1);
	c[0].nreps = 1;
	c[0].rep_mpps[0] = 0.5;
	c[0].rep_gbps[0] = 262.14;
	c[0].c.pkts = 5;
	sn_bench_cell_finish(&c[0]);
	sn_bench_cell_init(&c[1], "staging", "rx", 60, 2);
	c[1].nreps = 1;
	c[1].rep_mpps[0] = 1.25;
	c[1].c.pkts = 5;
	c[1].c.grant_copies = 12345678901ull;
	c[1].lost = 3;
	sn_bench_cell_finish(&c[1]);
	snprintf(c[1].reason, sizeof(c[1].reason), "quote \" back\\slash\nnl\ttab\x01");

	js = capture_json(c, 2);
	assert_true(js[0] == '[');
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(key, sizeof(key), "\"%s\": ", fields[i]);
		assert_non_null(strstr(js, key));
	}
	assert_non_null(strstr(js, "\"mode\": \"limit\", \"dir\": \"-\", \"frame\": 65535"));
	assert_non_null(strstr(js, "\"mpps\": 0.5,"));
	assert_non_null(strstr(js, "\"grant_copies\": 12345678901,"));
	/* A failed cell has no rate. */
	assert_non_null(strstr(js, "\"status\": \"failed\", \"mpps\": null,"));
	assert_non_null(strstr(js, "\"lost\": 3,"));
	assert_non_null(strstr(js, "\"reason\": \"quote \\\" back\\\\slash\\nnl\\ttab\\u0001\""));
	/* Exactly two objects, comma between, none after the last. */
	assert_non_null(strstr(js, "},\n  {"));
	assert_non_null(strstr(js, "}\n]\n"));
	free(js);
}

static void test_tables(void **state)
{
	struct sn_bench_cell c[3];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	sn_bench_cell_init(&c[0], "linux", "tx", 60, 1);
	sn_bench_cell_init(&c[1], "staging", "tx", 60, 1);
	sn_bench_cell_init(&c[2], "limit", "-", 60, 1);
	for (int i = 0; i < 3; i++) {
		c[i].nreps = 1;
		c[i].rep_mpps[0] = i == 0 ? 1.0 : i == 1 ? 3.6 : 7.2;
		c[i].c.pkts = 10;
		sn_bench_cell_finish(&c[i]);
	}
	c[1].limit_fraction = 0.5;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	sn_bench_print_tables(f, c, 3);
	fclose(f);
	assert_non_null(strstr(buf, "before"));
	assert_non_null(strstr(buf, "after"));
	assert_non_null(strstr(buf, "3.60x"));
	assert_non_null(strstr(buf, "50%"));
	assert_non_null(strstr(buf, "limit"));
	assert_non_null(strstr(buf, "7.20 Mpps"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
