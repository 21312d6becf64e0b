/* `stagenet host` as a process: the XENSTORED_PATH line, clean shutdown on
 * SIGTERM/SIGINT (exit 0, socket removed), --daemon (the parent prints the
 * line once the child serves, then exits 0), --pidfile, the default
 * temporary directory, and refusing a second daemon on a live socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xenstore.h>

#define TIMEOUT_MS 10000

struct proc {
	pid_t pid;
	int out; /* its stdout */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spawn(struct proc *p, const char *const *args)
{
	const char *bin = getenv("SN_STAGENET");
	const char *argv[16] = { bin, "host" };
	int pfd[2], i;

	assert_non_null(bin);
	for (i = 0; args[i]; i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	p->out = pfd[0];
}

/* Read one line of the child's stdout ("" at EOF). */
static void read_line(int fd, char *buf, size_t len)
{
	long deadline = now_ms() + TIMEOUT_MS;
	size_t have = 0;

	while (have + 1 < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_true(now_ms() < deadline);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf + have, 1);
		if (n <= 0)
			break;
		if (buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = '\0';
}

static int wait_exit(pid_t pid)
{
	long deadline = now_ms() + TIMEOUT_MS;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		assert_true(r == 0);
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("process %d did not exit", (int)pid);
		}
		usleep(10000);
	}
}

static bool serves(const char *sock)
{
	struct xs_handle *xs;
	unsigned int len;
	char *v;

	setenv("XENSTORED_PATH", sock, 1);
	xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!xs)
		return false;
	v = xs_read(xs, XBT_NULL, "/local/domain/0", &len);
	xs_close(xs);
	free(v);
	return v != NULL;
}

static const char *sock_of(const char *line)
{
	const char *pre = "XENSTORED_PATH=";

	assert_int_equal(strncmp(line, pre, strlen(pre)), 0);
	return line + strlen(pre);
}

static void stop_by_signal(int sig)
{
	char dir[] = "/tmp/sn-xsd-life-XXXXXX", line[512], extra[64];
	const char *args[] = { "--dir", dir, NULL };
	struct proc p;
	struct stat sb;
	int st;

	assert_non_null(mkdtemp(dir));
	spawn(&p, args);
	read_line(p.out, line, sizeof(line));
	assert_true(strlen(line) > 0);
	assert_true(serves(sock_of(line)));
	assert_int_equal(strncmp(sock_of(line), dir, strlen(dir)), 0);
	assert_int_equal(stat(sock_of(line), &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));

	kill(p.pid, sig);
	st = wait_exit(p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_not_equal(stat(sock_of(line), &sb), 0);
	/* Exactly one line was printed. */
	read_line(p.out, extra, sizeof(extra));
	assert_string_equal(extra, "");
	close(p.out);
	assert_int_equal(rmdir(dir), 0);
}

static void sigterm_exits_zero_and_removes_socket(void **state)
{
	(void)state;
	stop_by_signal(SIGTERM);
}

static void sigint_exits_zero_and_removes_socket(void **state)
{
	(void)state;
	stop_by_signal(SIGINT);
}

static void daemon_mode(void **state)
{
	char dir[] = "/tmp/sn-xsd-life-XXXXXX", line[512], pidfile[600];
	const char *args[] = { "--daemon", "--dir", dir, "--pidfile", pidfile,
			       NULL };
	struct proc p;
	struct stat sb;
	FILE *f;
	int dpid = 0, st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	/* The detached daemon becomes our child again, so its exit status
	 * can be checked. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	spawn(&p, args);
	read_line(p.out, line, sizeof(line));
	st = wait_exit(p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p.out);
	/* The line came after the daemon was ready: it serves right away. */
	assert_true(serves(sock_of(line)));
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &dpid), 1);
	fclose(f);
	assert_true(dpid > 0 && dpid != p.pid);

	kill(dpid, SIGTERM);
	st = wait_exit(dpid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_not_equal(stat(sock_of(line), &sb), 0);
	assert_int_not_equal(stat(pidfile, &sb), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void default_dir_is_temporary(void **state)
{
	char base[] = "/tmp/sn-xsd-xdg-XXXXXX", line[512], sockdir[512];
	const char *args[] = { NULL };
	struct proc p;
	struct stat sb;
	int st;

	(void)state;
	assert_non_null(mkdtemp(base));
	setenv("XDG_RUNTIME_DIR", base, 1);
	spawn(&p, args);
	unsetenv("XDG_RUNTIME_DIR");
	read_line(p.out, line, sizeof(line));
	assert_int_equal(strncmp(sock_of(line), base, strlen(base)), 0);
	assert_true(serves(sock_of(line)));
	snprintf(sockdir, sizeof(sockdir), "%s", sock_of(line));
	*strrchr(sockdir, '/') = '\0';
	kill(p.pid, SIGTERM);
	st = wait_exit(p.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p.out);
	/* The directory it made is gone too. */
	assert_int_not_equal(stat(sockdir, &sb), 0);
	assert_int_equal(rmdir(base), 0);
}

static void second_daemon_on_live_socket_fails(void **state)
{
	char dir[] = "/tmp/sn-xsd-life-XXXXXX", line[512], line2[512];
	const char *args[] = { "--dir", dir, NULL };
	struct proc p, q;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	spawn(&p, args);
	read_line(p.out, line, sizeof(line));
	spawn(&q, args);
	read_line(q.out, line2, sizeof(line2));
	assert_string_equal(line2, "");
	st = wait_exit(q.pid);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	close(q.out);
	/* The first one is unharmed. */
	assert_true(serves(sock_of(line)));
	kill(p.pid, SIGTERM);
	st = wait_exit(p.pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p.out);
	assert_int_equal(rmdir(dir), 0);
}

static void bad_option_and_help(void **state)
{
	const char *bad[] = { "--bogus", NULL };
	const char *help[] = { "--help", NULL };
	char line[512];
	struct proc p;
	int st;

	(void)state;
	spawn(&p, bad);
	st = wait_exit(p.pid);
	assert_int_equal(WEXITSTATUS(st), 2);
	close(p.out);
	spawn(&p, help);
	read_line(p.out, line, sizeof(line));
	assert_non_null(strstr(line, "Usage: stagenet host"));
	st = wait_exit(p.pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	close(p.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigterm_exits_zero_and_removes_socket),
		cmocka_unit_test(sigint_exits_zero_and_removes_socket),
		cmocka_unit_test(daemon_mode),
		cmocka_unit_test(default_dir_is_temporary),
		cmocka_unit_test(second_daemon_on_live_socket_fails),
		cmocka_unit_test(bad_option_and_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
