/* Test helpers for `stagenet` processes on the group's private host (see
 * cli_proc.h). */
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
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_proc.h"
#include "common/host_fixture.h"
#include "common/inproc.h"

int sn_test_cli_group_setup(void **state)
{
	(void)state;
	if (sn_test_host_start(&sn_test_group_host))
		return -1;
	/* Stats blocks of the daemons land in the host's private directory. */
	return setenv("SN_RUNDIR", sn_test_group_host.dir, 1);
}

int sn_test_cli_group_teardown(void **state)
{
	(void)state;
	/* Removes the host's directory with every output in it. */
	sn_test_host_stop(&sn_test_group_host);
	return 0;
}

pid_t sn_test_spawnv(const char *out, const char *const *args)
{
	char *argv[32], path[512];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = getenv("SN_STAGENET");
	assert_non_null(argv[0]);
	while (n < 31 && (argv[n] = (char *)args[n - 1]) != NULL)
		n++;
	argv[n] = NULL;
	if (out)
		snprintf(path, sizeof(path), "%s/%s", sn_test_group_host.dir, out);
	else
		snprintf(path, sizeof(path), "/dev/null");
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

pid_t sn_test_spawn(const char *out, ...)
{
	const char *args[32];
	va_list ap;
	int n = 0;

	va_start(ap, out);
	while (n < 31 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	return sn_test_spawnv(out, args);
}

int sn_test_reap(pid_t pid, int timeout_ms)
{
	int64_t end = sn_test_now_ms() + timeout_ms;
	int st;

	while (sn_test_now_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fail_msg("process %d did not exit", (int)pid);
	return -1;
}

char *sn_test_slurp(const char *out)
{
	char path[512], *buf;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", sn_test_group_host.dir, out);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

long long sn_test_counter(const char *text, const char *name)
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

uint64_t sn_test_live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c)
{
	char path[512];
	struct sn_stats_block *b;
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/%s-%u-0.stats", sn_test_group_host.dir, role, domid);
	if (sn_stats_open(path, &b))
		return 0;
	if (sn_stats_queue(b, q))
		v = __atomic_load_n(&sn_stats_queue(b, q)->v[c], __ATOMIC_RELAXED);
	sn_stats_close(b);
	return v;
}

void sn_test_wait_live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c,
		       uint64_t want)
{
	int64_t end = sn_test_now_ms() + SN_TEST_CLI_WAIT_MS;

	while (sn_test_live(role, domid, q, c) < want && sn_test_now_ms() < end)
		poll(NULL, 0, 20);
	assert_true(sn_test_live(role, domid, q, c) >= want);
}

uint16_t sn_test_cli_vif_add(uint16_t domid)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --mtu 9000",
		 getenv("SN_STAGENET"), domid);
	assert_int_equal(system(cmd), 0);
	return domid;
}
