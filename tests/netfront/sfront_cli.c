/* `stagenet front --staging header|page|off` as a user runs it: separate
 * host, back and front processes.  The option is parsed and documented,
 * staging is on by default, staged slots show in the counters of both
 * sides, a `--staging-max 0` backend gets a one-line fallback, and
 * `--staging off` stages nothing. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_proc.h"
#include "common/inproc.h"
#include "stagenet/stats.h"

#define WAIT_MS SN_TEST_CLI_WAIT_MS

static uint16_t next_domid = 80;

static size_t occurrences(const char *text, const char *needle)
{
	size_t n = 0;

	for (; (text = strstr(text, needle)) != NULL; text++)
		n++;
	return n;
}

static void staging_option_parsed_and_documented(void **state)
{
	char cmd[600];
	pid_t p;
	char *o;

	(void)state;
	p = sn_test_spawn("help.out", "front", "--help", (char *)NULL);
	assert_int_equal(sn_test_reap(p, WAIT_MS), 0);
	o = sn_test_slurp("help.out");
	assert_non_null(strstr(o, "--staging=POLICY"));
	assert_non_null(strstr(o, "header"));
	assert_non_null(strstr(o, "default page"));
	free(o);
	snprintf(cmd, sizeof(cmd), "\"%s\" front --domid 5 --devid 0 --port sink --staging full "
		 ">/dev/null 2>&1", getenv("SN_STAGENET"));
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

/* One backend, one frontend sending count frames of size bytes; returns
 * both outputs. */
static void run_tx(const char *tag, const char *staging, const char *back_extra,
		   const char *size, char **fo, char **bo)
{
	char dom[8], fout[64], bout[64], gen[96];
	uint16_t d = sn_test_cli_vif_add(next_domid++);
	pid_t back, front;

	snprintf(dom, sizeof(dom), "%u", d);
	snprintf(fout, sizeof(fout), "front-%s.out", tag);
	snprintf(bout, sizeof(bout), "back-%s.out", tag);
	snprintf(gen, sizeof(gen), "gen:count=2000,size=%s", size);
	if (back_extra)
		back = sn_test_spawn(bout, "back", "--port", "sink", back_extra, "0", (char *)NULL);
	else
		back = sn_test_spawn(bout, "back", "--port", "sink", (char *)NULL);
	if (staging)
		front = sn_test_spawn(fout, "front", "--domid", dom, "--devid", "0", "--port", gen,
				      "--linger-ms", "300", "--connect-timeout", "30000",
				      "--staging", staging, (char *)NULL);
	else
		front = sn_test_spawn(fout, "front", "--domid", dom, "--devid", "0", "--port", gen,
				      "--linger-ms", "300", "--connect-timeout", "30000",
				      (char *)NULL);
	assert_int_equal(sn_test_reap(front, WAIT_MS), 0);
	sn_test_wait_live("back", d, 0, SN_QS_tx_pkts, 2000);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	*fo = sn_test_slurp(fout);
	*bo = sn_test_slurp(bout);
	assert_int_equal(sn_test_counter(*fo, "tx_pkts"), 2000);
	assert_int_equal(sn_test_counter(*bo, "tx_pkts"), 2000);
	assert_int_equal(sn_test_counter(*fo, "fatal_errors"), -1);
}

static void default_is_page_staging(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("def", NULL, NULL, "64", &fo, &bo);
	assert_non_null(strstr(fo, "staging grants (page) on 1 of 1 queue(s)"));
	/* Every 64-byte frame went through a staged page on both sides. */
	assert_int_equal(sn_test_counter(fo, "staged_slots"), 2000);
	assert_int_equal(sn_test_counter(fo, "unstaged_slots"), -1);
	assert_int_equal(sn_test_counter(bo, "staged_slots"), 2000);
	assert_int_equal(sn_test_counter(bo, "grant_copies"), -1);
	free(fo);
	free(bo);
}

static void header_policy_stages_first_slot(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("hdr", "header", NULL, "1400", &fo, &bo);
	assert_non_null(strstr(fo, "staging grants (header) on 1 of 1 queue(s)"));
	/* 256 bytes staged, the other 1144 granted per use. */
	assert_int_equal(sn_test_counter(fo, "staged_slots"), 2000);
	assert_int_equal(sn_test_counter(fo, "unstaged_slots"), 2000);
	assert_int_equal(sn_test_counter(fo, "memcpy_bytes"), 2000LL * 256);
	free(fo);
	free(bo);
}

static void staging_max0_backend_falls_back_once(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("max0", "page", "--staging-max", "64", &fo, &bo);
	assert_int_equal(occurrences(fo, "unavailable"), 1);
	assert_non_null(strstr(fo, "NOT_SUPPORTED"));
	assert_non_null(strstr(fo, "staging grants (page) on 0 of 1 queue(s)"));
	assert_int_equal(sn_test_counter(fo, "staged_slots"), -1);
	assert_int_equal(sn_test_counter(fo, "unstaged_slots"), 2000);
	free(fo);
	free(bo);
}

static void staging_off_stages_nothing(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("off", "off", NULL, "64", &fo, &bo);
	assert_null(strstr(fo, "staging grants"));
	assert_int_equal(sn_test_counter(fo, "staged_slots"), -1);
	assert_int_equal(sn_test_counter(bo, "staged_slots"), -1);
	assert_int_equal(sn_test_counter(fo, "unstaged_slots"), 2000);
	free(fo);
	free(bo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(staging_option_parsed_and_documented),
		cmocka_unit_test(default_is_page_staging),
		cmocka_unit_test(header_policy_stages_first_slot),
		cmocka_unit_test(staging_max0_backend_falls_back_once),
		cmocka_unit_test(staging_off_stages_nothing),
	};

	return cmocka_run_group_tests(tests, sn_test_cli_group_setup,
				      sn_test_cli_group_teardown);
}
