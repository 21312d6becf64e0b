/* `stagenet bench --port tap,vhost-user --quick` end to end: asserts (from
 * --json) that every port x mode x direction cell ran, carries its "port",
 * and counted packets at its far end (the TAP's counter or testpmd's for
 * guest TX, the frontend's sink for guest RX).  No speed checks.  Exits 77
 * (skipped) without root (the bench's namespace) or dpdk-testpmd. */
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

#include "bench/testpmd.h"

static void test_bench_ports(void **state)
{
	static const char *const ports[] = { "tap", "vhost-user" };
	static const char *const modes[] = { "linux", "staging" };
	static const char *const dirs[] = { "tx", "rx" };
	const char *bin = getenv("SN_STAGENET");
	static char doc[65536];
	char dir[] = "/tmp/sn-bench-ports-XXXXXX", json[64], cmd[128];
	bool seen[2][2][2] = { { { false } } };
	unsigned int ncells = 0;
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
		execl(bin, bin, "bench", "--port", "tap,vhost-user", "--quick", "--frames", "60",
		      "--queues", "1", "--json", json, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* Read it all, then clean up before any assertion can end the test. */
	f = fopen(json, "r");
	if (f) {
		size_t got = fread(doc, 1, sizeof(doc) - 1, f);

		doc[got] = '\0';
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	if (!f)
		fail_msg("no JSON written (bench exit %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	for (char *save = NULL, *ln = strtok_r(doc, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		const char *line = ln;
		char port[16], mode[16], d[8], status[16];
		unsigned int p, m, k;

		if (!strstr(line, "\"mode\""))
			continue;
		ncells++;
		assert_true(json_str(line, "port", port, sizeof(port)));
		assert_true(json_str(line, "mode", mode, sizeof(mode)));
		assert_true(json_str(line, "dir", d, sizeof(d)));
		assert_true(json_str(line, "status", status, sizeof(status)));
		for (p = 0; p < 2 && strcmp(port, ports[p]); p++)
			;
		for (m = 0; m < 2 && strcmp(mode, modes[m]); m++)
			;
		for (k = 0; k < 2 && strcmp(d, dirs[k]); k++)
			;
		if (p == 2 || m == 2 || k == 2)
			fail_msg("unexpected cell: %s", line);
		if (strcmp(status, "ok"))
			fail_msg("cell not ok: %s", line);
		/* The far end counted packets: a positive rate, and for guest TX
		 * also what the backend's port took. */
		assert_true(json_num(line, "mpps") > 0);
		assert_true(json_num(line, "packets") > 0);
		if (k == 0)
			assert_true(json_num(line, "port_mpps") > 0);
		assert_false(seen[p][m][k]);
		seen[p][m][k] = true;
	}
	assert_int_equal(ncells, 8);
	for (int p = 0; p < 2; p++)
		for (int m = 0; m < 2; m++)
			for (int k = 0; k < 2; k++)
				if (!seen[p][m][k])
					fail_msg("missing cell %s %s %s", ports[p], modes[m], dirs[k]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_bench_ports) };

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (the bench's network namespace)\n");
		return 77;
	}
	if (!sn_testpmd_available(NULL)) {
		fprintf(stderr, "skipped: dpdk-testpmd not installed (Debian package dpdk)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
