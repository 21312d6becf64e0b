/* `stagenet front` as a user runs it: separate host, back and front
 * processes on the emulated host.  Guest TX (gen -> sink), guest RX
 * (backend gen -> front sink, checked by the sink's sequence/payload
 * checks), and a backend restart under load that the frontend survives. */
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
static uint16_t next_domid = 60;

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

static void front_cli_guest_tx_reaches_backend(void **state)
{
	char dom[8];
	uint16_t d = vif_add();
	pid_t back, front;
	char *fo, *bo;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = spawn("back-tx.out", "back", "--port", "sink", (char *)NULL);
	front = spawn("front-tx.out", "front", "--domid", dom, "--devid", "0", "--port",
		      "gen:count=3000,size=1400", "--linger-ms", "300", "--connect-timeout",
		      "30000", (char *)NULL);
	assert_int_equal(reap(front, WAIT_MS), 0);
	wait_live("back", d, 0, SN_QS_tx_pkts, 3000);
	kill(back, SIGINT);
	assert_int_equal(reap(back, WAIT_MS), 0);
	fo = slurp("front-tx.out");
	bo = slurp("back-tx.out");
	assert_int_equal(counter(fo, "tx_pkts"), 3000);
	assert_int_equal(counter(fo, "tx_bytes"), 3000LL * 1400);
	assert_int_equal(counter(fo, "fatal_errors"), -1);
	assert_non_null(strstr(fo, "connected, 1 queue(s)"));
	assert_int_equal(counter(bo, "tx_pkts"), 3000);
	free(fo);
	free(bo);
}

static void front_cli_guest_rx_sink_sees_every_packet(void **state)
{
	char dom[8];
	uint16_t d = vif_add();
	pid_t back, front;
	char *fo;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = spawn("back-rx.out", "back", "--port", "gen:count=2000,size=1500",
		     "--max-queues", "2", (char *)NULL);
	front = spawn("front-rx.out", "front", "--domid", dom, "--devid", "0", "--port", "sink",
		      "--queues", "2", "--no-split-evtchn", (char *)NULL);
	wait_live("front", d, 0, SN_QS_rx_pkts, 2000);
	wait_live("front", d, 1, SN_QS_rx_pkts, 2000);
	/* A sink has no input that could end: well past the default
	 * --linger-ms (500) it is still running, until told to stop. */
	poll(NULL, 0, 1200);
	assert_int_equal(waitpid(front, NULL, WNOHANG), 0);
	kill(front, SIGINT);
	assert_int_equal(reap(front, WAIT_MS), 0);
	kill(back, SIGINT);
	assert_int_equal(reap(back, WAIT_MS), 0);
	fo = slurp("front-rx.out");
	assert_non_null(strstr(fo, "connected, 2 queue(s)"));
	/* Per queue: the backend generator made 2000 on each. */
	assert_int_equal(counter(fo, "rx_pkts"), 2000);
	assert_non_null(strstr(fo, "front port 0: sent=2000 recv=0 drops=0 lost=0 bad_seq=0 bad_payload=0"));
	assert_non_null(strstr(fo, "front port 1: sent=2000 recv=0 drops=0 lost=0 bad_seq=0 bad_payload=0"));
	free(fo);
}

static void front_cli_survives_backend_restart(void **state)
{
	char dom[8];
	uint16_t d = vif_add();
	pid_t back, front;
	char *fo, *b2;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = spawn("back-r1.out", "back", "--port", "sink", (char *)NULL);
	front = spawn("front-r.out", "front", "--domid", dom, "--devid", "0", "--port",
		      "gen:size=200,rate=5000", (char *)NULL);
	wait_live("back", d, 0, SN_QS_tx_pkts, 500);
	kill(back, SIGINT);
	assert_int_equal(reap(back, WAIT_MS), 0);
	back = spawn("back-r2.out", "back", "--port", "sink", (char *)NULL);
	wait_live("back", d, 0, SN_QS_tx_pkts, 500);
	kill(front, SIGINT);
	assert_int_equal(reap(front, WAIT_MS), 0);
	kill(back, SIGINT);
	assert_int_equal(reap(back, WAIT_MS), 0);
	fo = slurp("front-r.out");
	b2 = slurp("back-r2.out");
	assert_int_equal(counter(fo, "fatal_errors"), -1);
	assert_true(counter(b2, "tx_pkts") >= 500);
	free(fo);
	free(b2);
}

static int group_setup(void **state)
{
	(void)state;
	if (sn_test_host_start(&host))
		return -1;
	/* Stats blocks of the daemons land in the host's private directory. */
	return setenv("SN_RUNDIR", host.dir, 1);
}

static int group_teardown(void **state)
{
	char cmd[600];

	(void)state;
	sn_test_host_stop(&host);
	/* The fixture removes only its socket and directory; our outputs
	 * would keep the directory alive. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", host.dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(front_cli_guest_tx_reaches_backend),
		cmocka_unit_test(front_cli_guest_rx_sink_sees_every_packet),
		cmocka_unit_test(front_cli_survives_backend_restart),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
