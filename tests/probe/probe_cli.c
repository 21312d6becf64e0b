/* `stagenet probe` as a user runs it: it must bring up its own emulated
 * host and granter domain, measure every primitive and print each row with
 * a number, then leave nothing behind.  No speed is asserted. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
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

#define RUN_TIMEOUT_MS 120000

static const char *const rows[] = {
	"memcpy 64 B",
	"memcpy 4 KiB",
	"grant copy 64 B, per segment (batch 32)",
	"grant copy batch of 32 x 64 B",
	"grant map + read + unmap 1 page",
	"event notify round trip",
};

struct run {
	int status; /* as from waitpid; -1 on timeout */
	char out[16384];
	char err[16384];
};

static void drain(int fd, char *buf, size_t cap, size_t *len, bool *open)
{
	ssize_t n = read(fd, buf + *len, cap - 1 - *len);

	if (n > 0)
		*len += (size_t)n;
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		*open = false;
	buf[*len] = '\0';
	if (*len == cap - 1) /* full: stop reading, the test will fail */
		*open = false;
}

/* Run $SN_STAGENET with args, capturing stdout and stderr, bounded. */
static void run_stagenet(struct run *r, const char *const *args)
{
	const char *exe = getenv("SN_STAGENET");
	int po[2], pe[2];
	size_t lo = 0, le = 0;
	bool oo = true, oe = true;
	pid_t pid;
	int waited = 0;

	assert_non_null(exe);
	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[16];
		int n = 0;

		argv[n++] = (char *)exe;
		for (; args[n - 1] && n < 15; n++)
			argv[n] = (char *)args[n - 1];
		argv[n] = NULL;
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(pe[0]);
		execv(exe, argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((oo || oe) && waited < RUN_TIMEOUT_MS) {
		struct pollfd pfd[2] = {
			{ .fd = oo ? po[0] : -1, .events = POLLIN },
			{ .fd = oe ? pe[0] : -1, .events = POLLIN },
		};

		if (poll(pfd, 2, 100) == 0)
			waited += 100;
		if (pfd[0].revents)
			drain(po[0], r->out, sizeof(r->out), &lo, &oo);
		if (pfd[1].revents)
			drain(pe[0], r->err, sizeof(r->err), &le, &oe);
	}
	close(po[0]);
	close(pe[0]);
	if (oo || oe) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r->status = -1;
		return;
	}
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
}

static void assert_exit(const struct run *r, int code)
{
	if (!(r->status >= 0 && WIFEXITED(r->status) &&
	      WEXITSTATUS(r->status) == code))
		print_error("stdout:\n%s\nstderr:\n%s\n", r->out, r->err);
	assert_true(r->status >= 0);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), code);
}

/* Every row is present and carries a finite, positive ns figure. */
static void assert_rows(const struct run *r)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *line = strstr(r->out, rows[i]);
		char *end;
		double v;

		if (!line)
			print_error("row '%s' missing from:\n%s\n", rows[i],
				    r->out);
		assert_non_null(line);
		line += strlen(rows[i]);
		v = strtod(line, &end);
		if (end == line)
			print_error("row '%s' has no number:\n%s\n", rows[i],
				    r->out);
		assert_true(end != line);
		assert_true(isfinite(v));
		assert_true(v > 0.0);
	}
}

static void probe_self_contained_prints_every_row(void **state)
{
	const char *args[] = { "probe", "--platform", "emu", "--iters", "200",
			       NULL };
	struct run *r = *state;

	/* No XENSTORED_PATH: the probe must start (and stop) its own host. */
	unsetenv("XENSTORED_PATH");
	run_stagenet(r, args);
	assert_exit(r, 0);
	assert_rows(r);
	assert_non_null(strstr(r->out, "platform emu"));
}

static void probe_uses_running_host(void **state)
{
	const char *args[] = { "probe", "--platform", "emu", "--domid", "10",
			       "--iters", "200", NULL };
	struct sn_test_host h;
	struct run *r = *state;
	int rc;

	rc = sn_test_host_start(&h);
	if (rc) {
		print_message("skip: host fixture unavailable: %s\n",
			      strerror(-rc));
		skip();
	}
	run_stagenet(r, args);
	sn_test_host_stop(&h);
	unsetenv("XENSTORED_PATH");
	assert_exit(r, 0);
	assert_rows(r);
	assert_non_null(strstr(r->out, "user domain 10, granter domain 11"));
}

static void probe_rejects_bad_iters(void **state)
{
	const char *args[] = { "probe", "--iters", "0", NULL };
	struct run *r = *state;

	run_stagenet(r, args);
	assert_exit(r, 2);
	assert_non_null(strstr(r->err, "--iters"));
}

static void probe_xen_without_xen_fails_clearly(void **state)
{
	const char *args[] = { "probe", "--platform", "xen", "--iters", "10",
			       NULL };
	struct run *r = *state;

	if (access("/dev/xen", F_OK) == 0) {
		print_message("skip: /dev/xen exists\n");
		skip();
	}
	run_stagenet(r, args);
	assert_exit(r, 1);
	assert_non_null(strstr(r->err, "/dev/xen/gntdev"));
}

/* The capture buffers live in the test state so a failed assertion (a
 * longjmp out of the test) does not leak them. */
static int run_alloc(void **state)
{
	*state = malloc(sizeof(struct run));
	return *state ? 0 : -1;
}

static int run_free(void **state)
{
	free(*state);
	return 0;
}

#define PROBE_TEST(f) cmocka_unit_test_setup_teardown(f, run_alloc, run_free)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PROBE_TEST(probe_rejects_bad_iters),
		PROBE_TEST(probe_xen_without_xen_fails_clearly),
		PROBE_TEST(probe_self_contained_prints_every_row),
		PROBE_TEST(probe_uses_running_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
