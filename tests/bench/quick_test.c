/* `stagenet bench --quick` end to end: every mode and both directions, 64-byte
 * frames and bulk.  Asserts (from --json) that every cell ran and delivered
 * all packets intact, that the limit row ran, and that staging moved the
 * 64-byte frames without a single grant copy or map.  No speed checks.
 * With the argument "light" (meson test bench_light): the light cells, the
 * light limit row and the testpmd peer row instead; with "event" (meson test
 * bench_event): the event-mode and ping-pong cells of `--event`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_get.h"

static void test_bench_quick(void **state)
{
	static const char *const modes[] = { "copy", "linux", "staging" };
	static const char *const dirs[] = { "tx", "rx" };
	static const unsigned int frames[] = { 60, 65535 };
	const char *bin = getenv("SN_STAGENET");
	char dir[] = "/tmp/sn-bench-test-XXXXXX", json[64], line[4096];
	bool seen[3][2][2] = { { { false } } }, limit[2] = { false, false };
	char *doc = NULL;
	pid_t pid;
	FILE *f;
	int st;

	(void)state;
	assert_non_null(bin);
	assert_non_null(mkdtemp(dir));
	snprintf(json, sizeof(json), "%s/out.json", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "bench", "--quick", "--modes", "copy,linux,staging", "--dirs",
		      "tx,rx", "--frames", "60,65535", "--queues", "1", "--no-light", "--json", json,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* Read it all, then clean up before any assertion can end the test. */
	f = fopen(json, "r");
	if (f) {
		doc = malloc(1 << 20);
		if (doc) {
			size_t got = fread(doc, 1, (1 << 20) - 1, f);

			doc[got] = '\0';
		}
		fclose(f);
	}
	unlink(json);
	rmdir(dir);
	assert_non_null(doc);
	f = fmemopen(doc, strlen(doc), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char mode[16], dirn[8], status[16];
		unsigned int frame;
		int m = -1, d = -1, fi = -1;

		if (!strstr(line, "{"))
			continue;
		assert_true(json_str(line, "mode", mode, sizeof(mode)));
		assert_true(json_str(line, "dir", dirn, sizeof(dirn)));
		assert_true(json_str(line, "status", status, sizeof(status)));
		frame = (unsigned int)json_num(line, "frame");
		for (int i = 0; i < 2; i++)
			if (frames[i] == frame)
				fi = i;
		assert_true(fi >= 0);
		if (strcmp(status, "ok"))
			fprintf(stderr, "cell not ok: %s", line);
		/* Delivered everything, intact, and measured a rate. */
		assert_string_equal(status, "ok");
		assert_true(json_num(line, "lost") == 0);
		assert_true(json_num(line, "bad_seq") == 0);
		assert_true(json_num(line, "bad_payload") == 0);
		assert_true(json_num(line, "drops") == 0);
		assert_true(json_num(line, "mpps") > 0);
		assert_true(json_num(line, "packets") > 0);
		if (!strcmp(mode, "limit")) {
			limit[fi] = true;
			continue;
		}
		for (int i = 0; i < 3; i++)
			if (!strcmp(mode, modes[i]))
				m = i;
		for (int i = 0; i < 2; i++)
			if (!strcmp(dirn, dirs[i]))
				d = i;
		assert_true(m >= 0 && d >= 0);
		seen[m][d][fi] = true;
		assert_true(json_num(line, "queues") == 1);
		if (m == 2 && frame == 60) {
			/* Staging: the whole point, no grant op per packet. */
			assert_true(json_num(line, "grant_copies") == 0);
			assert_true(json_num(line, "grant_maps") == 0);
			assert_true(json_num(line, "memcpy_bytes") > 0);
		}
		if (m == 0) /* copy mode really copies by grant */
			assert_true(json_num(line, "grant_copies") > 0);
	}
	fclose(f);
	free(doc);
	for (int m = 0; m < 3; m++)
		for (int d = 0; d < 2; d++)
			for (int fi = 0; fi < 2; fi++)
				assert_true(seen[m][d][fi]);
	assert_true(limit[0] && limit[1]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Run `stagenet bench --quick ARGS... --json` and return the document. */
static char *bench_json(const char *const *args, int nargs, int *status)
{
	const char *bin = getenv("SN_STAGENET");
	char dir[] = "/tmp/sn-bench-test-XXXXXX", json[64];
	char *doc = NULL;
	const char *argv[32];
	int n = 0;
	pid_t pid;
	FILE *f;

	assert_non_null(bin);
	assert_true(nargs < 24);
	assert_non_null(mkdtemp(dir));
	snprintf(json, sizeof(json), "%s/out.json", dir);
	argv[n++] = bin;
	argv[n++] = "bench";
	argv[n++] = "--quick";
	for (int i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, status, 0), pid);
	f = fopen(json, "r");
	if (f) {
		doc = malloc(1 << 20);
		if (doc) {
			size_t got = fread(doc, 1, (1 << 20) - 1, f);

			doc[got] = '\0';
		}
		fclose(f);
	}
	unlink(json);
	rmdir(dir);
	return doc;
}

/* Light staging cells (guest TX and RX) and the light limit row ran,
 * delivered packets, and say "light": true without a payload verdict; the
 * checked cells still ran beside them.  The peer row ran when dpdk-testpmd
 * is installed (with the DPDK version), else it is skipped with the reason. */
static void test_bench_light(void **state)
{
	static const char *const args[] = { "--modes", "staging", "--dirs", "tx,rx",
					    "--frames", "60", "--queues", "1" };
	bool light_cell[2] = { false, false }, light_limit = false, checked = false;
	bool peer[2] = { false, false };
	char line[4096], *doc;
	int st;
	FILE *f;

	(void)state;
	doc = bench_json(args, 8, &st);
	assert_non_null(doc);
	f = fmemopen(doc, strlen(doc), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char mode[16], dirn[8], status[16], version[48];
		bool light = strstr(line, "\"light\": true") != NULL;
		int d;

		if (!strstr(line, "{"))
			continue;
		assert_true(json_str(line, "mode", mode, sizeof(mode)));
		assert_true(json_str(line, "dir", dirn, sizeof(dirn)));
		assert_true(json_str(line, "status", status, sizeof(status)));
		d = !strcmp(dirn, "rx");
		if (!strcmp(mode, "peer")) {
			assert_true(light);
			if (!strcmp(status, "skipped")) {
				assert_true(system("command -v dpdk-testpmd >/dev/null") != 0);
				continue;
			}
			if (strcmp(status, "ok"))
				fprintf(stderr, "peer not ok: %s", line);
			assert_string_equal(status, "ok");
			assert_true(json_num(line, "mpps") > 0);
			assert_true(json_str(line, "version", version, sizeof(version)));
			assert_memory_equal(version, "DPDK ", 5);
			peer[d] = true;
			continue;
		}
		if (strcmp(status, "ok"))
			fprintf(stderr, "cell not ok: %s", line);
		assert_string_equal(status, "ok");
		assert_true(json_num(line, "mpps") > 0);
		assert_true(json_num(line, "lost") == 0);
		assert_true(json_num(line, "drops") == 0);
		if (!light) {
			checked = true;
			continue;
		}
		assert_non_null(strstr(line, "\"payload_checked\": false"));
		if (!strcmp(mode, "limit"))
			light_limit = true;
		else if (!strcmp(mode, "staging"))
			light_cell[d] = true;
	}
	fclose(f);
	free(doc);
	assert_true(light_cell[0] && light_cell[1] && light_limit && checked);
	if (system("command -v dpdk-testpmd >/dev/null") == 0)
		assert_true(peer[0] && peer[1]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* --event: busy-poll and event cells at saturation and at offered rates
 * delivered intact with each side's CPU time measured, and both ping-pong
 * cells report a round trip (median <= p99).  No speed checks. */
static void test_bench_event(void **state)
{
	static const char *const args[] = { "--event", "--dirs", "tx", "--frames", "60" };
	unsigned int rate_cells = 0, event_sat = 0, busy_sat = 0, pings[2] = { 0, 0 };
	char line[4096], *doc;
	int st;
	FILE *f;

	(void)state;
	doc = bench_json(args, 5, &st);
	assert_non_null(doc);
	f = fmemopen(doc, strlen(doc), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char status[16];
		bool event = strstr(line, "\"event\": true") != NULL;

		if (!strstr(line, "{"))
			continue;
		assert_true(json_str(line, "status", status, sizeof(status)));
		if (strcmp(status, "ok"))
			fprintf(stderr, "cell not ok: %s", line);
		assert_string_equal(status, "ok");
		assert_true(json_num(line, "lost") == 0);
		assert_true(json_num(line, "drops") == 0);
		assert_true(json_num(line, "packets") > 0);
		if (strstr(line, "\"ping\": true")) {
			double med = json_num(line, "rtt_median_us"), p99 = json_num(line, "rtt_p99_us");

			assert_true(med > 0 && p99 >= med);
			pings[event]++;
			continue;
		}
		assert_true(json_num(line, "cpu_back_pct") >= 0);
		assert_true(json_num(line, "cpu_front_pct") >= 0);
		/* Busy polling never sleeps; at 100 kpps the generator's
		 * timer is 320 us apart, past any idle poll: an event-mode
		 * queue goes to sleep between bursts. */
		if (!event)
			assert_true(json_num(line, "sleeps") == 0);
		if (json_num(line, "offered_pps") > 0 && json_num(line, "offered_pps") <= 100000)
			assert_true(json_num(line, "sleeps") > 0);
		if (json_num(line, "offered_pps") > 0) {
			assert_true(event);
			rate_cells++;
		} else if (event) {
			event_sat++;
		} else {
			busy_sat++;
		}
	}
	fclose(f);
	free(doc);
	assert_int_equal(rate_cells, 2);
	assert_int_equal(event_sat, 1);
	assert_int_equal(busy_sat, 1);
	assert_int_equal(pings[0], 1);
	assert_int_equal(pings[1], 1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest quick[] = {
		cmocka_unit_test(test_bench_quick),
	};
	const struct CMUnitTest light[] = {
		cmocka_unit_test(test_bench_light),
	};

	const struct CMUnitTest event[] = {
		cmocka_unit_test(test_bench_event),
	};

	if (argc > 1 && !strcmp(argv[1], "light"))
		return cmocka_run_group_tests(light, NULL, NULL);
	if (argc > 1 && !strcmp(argv[1], "event"))
		return cmocka_run_group_tests(event, NULL, NULL);
	return cmocka_run_group_tests(quick, NULL, NULL);
}
