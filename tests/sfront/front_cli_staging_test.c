/* `stagenet front --staging header|page|off` as a user runs it: separate
 * host, back and front processes.  The option is parsed and documented,
 * staging is on by default, staged slots show in the counters of both
 * sides, a `--staging-max 0` backend gets a one-line fallback, and
 * `--staging off` stages nothing. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "stagenet/stats.h"

#define WAIT_MS 60000

static struct sn_test_host host;
static uint16_t next_domid = 80;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start `stagenet <args...>` with stdout+stderr in host.dir/<out>. */
static pid_t spawn(const char *out, ...)
{
	char *argv[32], path[512];
	va_list ap;
	int n = 0, fd;
	pid_t pid;

	argv[n++] = getenv("SN_STAGENET");
	va_start(ap, out);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/%s", host.dir, out);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Bounded wait; a process that does not end is killed and fails the test. */
static int reap(pid_t pid, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int st;

	while (now_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fail_msg("process %d did not exit", (int)pid);
	return -1;
}

static char *slurp(const char *out)
{
	char path[512], *buf;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", host.dir, out);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* First "name <number>" in a stats printout (the first queue's line). */
static long long counter(const char *text, const char *name)
{
	const char *p = text;
	size_t l = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == ' ') && p[l] == ' ')
			return strtoll(p + l, NULL, 10);
		p += l;
	}
	return -1;
}

/* Live counter of a running daemon through its published stats block. */
static uint64_t live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c)
{
	char path[512];
	struct sn_stats_block *b;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/%s-%u-0.stats", host.dir, role, domid);
	if (sn_stats_open(path, &b))
		return 0;
	if (sn_stats_queue(b, q))
		v = __atomic_load_n(&sn_stats_queue(b, q)->v[c], __ATOMIC_RELAXED);
	sn_stats_close(b);
	return v;
}

static void wait_live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c,
		      uint64_t want)
{
	int64_t end = now_ms() + WAIT_MS;

	while (live(role, domid, q, c) < want && now_ms() < end)
		poll(NULL, 0, 20);
	assert_true(live(role, domid, q, c) >= want);
}

static uint16_t vif_add(void)
{
	char cmd[512];
	uint16_t d = next_domid++;

	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --mtu 9000",
		 getenv("SN_STAGENET"), d);
	assert_int_equal(system(cmd), 0);
	return d;
}

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
	p = spawn("help.out", "front", "--help", (char *)NULL);
	assert_int_equal(reap(p, WAIT_MS), 0);
	o = slurp("help.out");
	assert_non_null(strstr(o, "--staging POLICY"));
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
	uint16_t d = vif_add();
	pid_t back, front;

	snprintf(dom, sizeof(dom), "%u", d);
	snprintf(fout, sizeof(fout), "front-%s.out", tag);
	snprintf(bout, sizeof(bout), "back-%s.out", tag);
	snprintf(gen, sizeof(gen), "gen:count=2000,size=%s", size);
	if (back_extra)
		back = spawn(bout, "back", "--port", "sink", back_extra, "0", (char *)NULL);
	else
		back = spawn(bout, "back", "--port", "sink", (char *)NULL);
	if (staging)
		front = spawn(fout, "front", "--domid", dom, "--devid", "0", "--port", gen,
			      "--linger-ms", "300", "--connect-timeout", "30000", "--staging",
			      staging, (char *)NULL);
	else
		front = spawn(fout, "front", "--domid", dom, "--devid", "0", "--port", gen,
			      "--linger-ms", "300", "--connect-timeout", "30000", (char *)NULL);
	assert_int_equal(reap(front, WAIT_MS), 0);
	wait_live("back", d, 0, SN_QS_tx_pkts, 2000);
	kill(back, SIGINT);
	assert_int_equal(reap(back, WAIT_MS), 0);
	*fo = slurp(fout);
	*bo = slurp(bout);
	assert_int_equal(counter(*fo, "tx_pkts"), 2000);
	assert_int_equal(counter(*bo, "tx_pkts"), 2000);
	assert_int_equal(counter(*fo, "fatal_errors"), -1);
}

static void default_is_page_staging(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("def", NULL, NULL, "64", &fo, &bo);
	assert_non_null(strstr(fo, "staging grants (page) on 1 of 1 queue(s)"));
	/* Every 64-byte frame went through a staged page on both sides. */
	assert_int_equal(counter(fo, "staged_slots"), 2000);
	assert_int_equal(counter(fo, "unstaged_slots"), -1);
	assert_int_equal(counter(bo, "staged_slots"), 2000);
	assert_int_equal(counter(bo, "grant_copies"), -1);
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
	assert_int_equal(counter(fo, "staged_slots"), 2000);
	assert_int_equal(counter(fo, "unstaged_slots"), 2000);
	assert_int_equal(counter(fo, "memcpy_bytes"), 2000LL * 256);
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
	assert_int_equal(counter(fo, "staged_slots"), -1);
	assert_int_equal(counter(fo, "unstaged_slots"), 2000);
	free(fo);
	free(bo);
}

static void staging_off_stages_nothing(void **state)
{
	char *fo, *bo;

	(void)state;
	run_tx("off", "off", NULL, "64", &fo, &bo);
	assert_null(strstr(fo, "staging grants"));
	assert_int_equal(counter(fo, "staged_slots"), -1);
	assert_int_equal(counter(bo, "staged_slots"), -1);
	assert_int_equal(counter(fo, "unstaged_slots"), 2000);
	free(fo);
	free(bo);
}

static int group_setup(void **state)
{
	(void)state;
	if (sn_test_host_start(&host))
		return -1;
	return setenv("SN_RUNDIR", host.dir, 1);
}

static int group_teardown(void **state)
{
	char cmd[600];

	(void)state;
	sn_test_host_stop(&host);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", host.dir);
	return system(cmd) == 0 ? 0 : -1;
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

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
