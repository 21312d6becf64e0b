/* Multi-process: `stagenet host` + `stagenet back` + `stagenet front` as
 * separate processes.  A frontend sends and exits cleanly; another is
 * SIGKILLed mid-traffic: the backend notices the dead domain, goes Closed,
 * and serves the next frontend; the backend exits cleanly on SIGTERM and
 * prints its counters. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/main.h"

extern char **environ;

struct pctx {
	struct sn_test_host host;
	struct xs_handle *xs;
	pid_t back;
	char out[300];
};

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static pid_t spawn(const char *const *args, const char *out)
{
	const char *exe = getenv("SN_STAGENET");
	posix_spawn_file_actions_t fa;
	char *argv[24];
	pid_t pid;
	int n = 0;

	argv[n++] = (char *)exe;
	while (args[n - 1] && n < 23) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (out) {
		posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		/* The log (stderr) too, interleaved in one file description. */
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	if (posix_spawn(&pid, exe, &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Exit status, or -1 if it did not exit within ms (then it is killed). */
static int reap(pid_t pid, unsigned int ms)
{
	int st;

	for (unsigned int i = 0; i < ms; i += 5) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		msleep(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int be_state_of(struct pctx *c, int devid)
{
	unsigned int len;
	char path[64], *v;
	int s;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/3/%d/state", devid);
	v = xs_read(c->xs, XBT_NULL, path, &len);
	s = v ? atoi(v) : -1;
	free(v);
	return s;
}

static int be_state(struct pctx *c)
{
	return be_state_of(c, 0);
}

static bool wait_state_of(struct pctx *c, int devid, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (be_state_of(c, devid) == want)
			return true;
		msleep(5);
	}
	return false;
}

static bool wait_state(struct pctx *c, int want)
{
	return wait_state_of(c, 0, want);
}

/* Lines of file f containing s. */
static int count_lines(const char *f, const char *s)
{
	FILE *o = fopen(f, "r");
	char line[512];
	int n = 0;

	if (!o)
		return 0;
	while (fgets(line, sizeof(line), o))
		n += strstr(line, s) != NULL;
	fclose(o);
	return n;
}

static bool wait_lines(const char *f, const char *s, int n)
{
	for (int i = 0; i < 2000; i++) {
		if (count_lines(f, s) >= n)
			return true;
		msleep(5);
	}
	return false;
}

static int setup(void **state)
{
	static struct pctx c;
	const char *back[] = { "back", "--port", "sink", NULL };
	const char *add[] = { "vif-add", "--domid", "3", "--devid", "0", NULL };

	memset(&c, 0, sizeof(c));
	if (sn_test_host_start(&c.host))
		return -1;
	c.xs = xs_open(0);
	if (!c.xs)
		return -1;
	snprintf(c.out, sizeof(c.out), "%s/back.out", c.host.dir);
	c.back = spawn(back, c.out);
	if (c.back < 0 || reap(spawn(add, NULL), 10000) != 0)
		return -1;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct pctx *c = *state;

	if (c->back > 0) {
		kill(c->back, SIGTERM);
		reap(c->back, 5000);
	}
	unlink(c->out);
	xs_close(c->xs);
	sn_test_host_stop(&c->host);
	return 0;
}

static void backend_serves_restarted_frontend_after_sigkill(void **state)
{
	struct pctx *c = *state;
	const char *burst[] = { "front", "--domid", "3", "--devid", "0", "--port",
				"gen:size=200,count=300", "--connect-timeout", "5000",
				NULL };
	const char *endless[] = { "front", "--domid", "3", "--devid", "0", "--port",
				  "gen:size=200", "--connect-timeout", "5000", NULL };
	pid_t f;
	FILE *o;
	char line[256];
	bool counted = false, verdict = false;

	assert_true(wait_state(c, XenbusStateInitWait));
	/* A frontend that finishes and closes. */
	assert_int_equal(reap(spawn(burst, "/dev/null"), 20000), 0);
	/* One that dies mid-traffic. */
	f = spawn(endless, "/dev/null");
	assert_true(f > 0);
	assert_true(wait_state(c, XenbusStateConnected));
	msleep(100);
	kill(f, SIGKILL);
	assert_int_equal(reap(f, 5000), 128 + SIGKILL);
	assert_true(wait_state(c, XenbusStateClosed));
	/* The next one is served. */
	assert_int_equal(reap(spawn(burst, "/dev/null"), 20000), 0);

	kill(c->back, SIGTERM);
	assert_int_equal(reap(c->back, 10000), 0);
	c->back = 0;
	o = fopen(c->out, "r");
	assert_non_null(o);
	while (fgets(line, sizeof(line), o))
		if (strstr(line, "tx_pkts"))
			counted = true;
		/* The sink's verdict on the first frontend, logged when its
		 * queue was torn down: all 300 frames, in order, intact. */
		else if (!verdict && strstr(line, "back vif3.0 port 0:")) {
			assert_non_null(strstr(line, " sent=300 "));
			assert_non_null(strstr(line, " lost=0 bad_seq=0 bad_payload=0"));
			verdict = true;
		}
	fclose(o);
	assert_true(counted);
	assert_true(verdict);
}

/* SIGTERM walks every vif to Closed (a connected one and one waiting in
 * InitWait), never leaving Connected behind; a backend started again
 * while the frontend sits Connected on the rings of one that was
 * SIGKILLed takes it through a reconnect (control ring and staging set up
 * anew) instead of re-attaching those rings. */
static void sigterm_closes_vifs_and_restart_reconnects_frontend(void **state)
{
	struct pctx *c = *state;
	const char *back[] = { "back", "--port", "sink", NULL };
	const char *add1[] = { "vif-add", "--domid", "3", "--devid", "1", NULL };
	const char *del1[] = { "vif-del", "--domid", "3", "--devid", "1", NULL };
	const char *front[] = { "front", "--domid", "3", "--devid", "0", "--queues", "2",
				"--port", "gen:size=200", "--connect-timeout", "5000", NULL };
	char fout[320], out2[320], out3[320];
	pid_t f, b2, b3;

	snprintf(fout, sizeof(fout), "%s/front.out", c->host.dir);
	snprintf(out2, sizeof(out2), "%s/back2.out", c->host.dir);
	snprintf(out3, sizeof(out3), "%s/back3.out", c->host.dir);
	c->back = spawn(back, c->out);
	assert_true(c->back > 0);
	assert_int_equal(reap(spawn(add1, NULL), 10000), 0);
	f = spawn(front, fout);
	assert_true(f > 0);
	assert_true(wait_state(c, XenbusStateConnected));
	assert_true(wait_state_of(c, 1, XenbusStateInitWait));
	assert_true(wait_lines(fout, "connected, 2 queue(s)", 1));

	kill(c->back, SIGTERM);
	assert_int_equal(reap(c->back, 10000), 0);
	c->back = 0;
	assert_int_equal(be_state_of(c, 0), XenbusStateClosed);
	assert_int_equal(be_state_of(c, 1), XenbusStateClosed);

	/* The frontend waits for a backend; the next one serves it. */
	b2 = spawn(back, out2);
	assert_true(b2 > 0);
	assert_true(wait_lines(fout, "reconnected", 1));
	assert_true(wait_state(c, XenbusStateConnected));
	/* A crash leaves Connected behind. */
	kill(b2, SIGKILL);
	assert_int_equal(reap(b2, 5000), 128 + SIGKILL);
	assert_int_equal(be_state(c), XenbusStateConnected);

	b3 = spawn(back, out3);
	assert_true(b3 > 0);
	c->back = b3;
	assert_true(wait_lines(fout, "reconnected", 2));
	assert_true(wait_state(c, XenbusStateConnected));
	assert_true(wait_lines(out3, "asking it to reconnect", 1));
	assert_true(wait_lines(out3, "connected, 2 queue(s), split event channels, "
			       "control ring with staging", 1));

	kill(f, SIGTERM);
	assert_int_equal(reap(f, 10000), 0);
	assert_int_equal(reap(spawn(del1, NULL), 10000), 0);
	unlink(fout);
	unlink(out2);
	unlink(out3);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backend_serves_restarted_frontend_after_sigkill),
		cmocka_unit_test(sigterm_closes_vifs_and_restart_reconnects_frontend),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
