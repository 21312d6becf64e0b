/* Stats blocks: publish -> `stagenet stats` prints the counters; stale
 * blocks are skipped and named; a live owner is not clobbered; unpublish
 * removes the file; garbage files are refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stagenet/stats.h"

struct env {
	char dir[64];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/sn-stats-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	/* Every block this test publishes lands in its own directory. */
	setenv("SN_RUNDIR", e->dir, 1);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd))
		return -1;
	free(e);
	return 0;
}

/* Run `stagenet stats ARGS` and capture stdout. */
static int run_stats(const char *args, char *out, size_t cap)
{
	const char *exe = getenv("SN_STAGENET");
	char cmd[512];
	size_t n;
	FILE *f;

	assert_non_null(exe);
	snprintf(cmd, sizeof(cmd), "'%s' stats %s", exe, args);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	return pclose(f);
}

static void stats_publish_shows_in_cli(void **state)
{
	struct env *e = *state;
	struct sn_stats_block *b;
	struct sn_qstats *q0, *q1;
	char out[8192], path[128];
	struct stat st;

	assert_int_equal(sn_stats_publish("back", 7, 3, 2, &b), 0);
	snprintf(path, sizeof(path), "%s/back-7-3.stats", e->dir);
	assert_int_equal(stat(path, &st), 0);
	q0 = sn_stats_queue(b, 0);
	q1 = sn_stats_queue(b, 1);
	assert_non_null(q0);
	assert_non_null(q1);
	assert_null(sn_stats_queue(b, 2));
	sn_qstat_add(q0, SN_QS_tx_pkts, 12345);
	sn_qstat_add(q1, SN_QS_tx_pkts, 5);
	sn_qstat_add(q1, SN_QS_grant_copies, 777);

	assert_int_equal(run_stats("", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "back-7-3"));
	assert_non_null(strstr(out, "queue 0:"));
	assert_non_null(strstr(out, "queue 1:"));
	assert_non_null(strstr(out, "12345"));
	assert_non_null(strstr(out, "grant_copies"));
	assert_non_null(strstr(out, "777"));
	assert_non_null(strstr(out, "total:"));
	assert_non_null(strstr(out, "12350")); /* tx_pkts total */
	/* zero counters are not printed */
	assert_null(strstr(out, "rx_pkts"));

	/* by name and with --dir, from a shell without SN_RUNDIR */
	{
		char args[128];

		unsetenv("SN_RUNDIR");
		snprintf(args, sizeof(args), "--dir '%s' back-7-3", e->dir);
		assert_int_equal(run_stats(args, out, sizeof(out)), 0);
		setenv("SN_RUNDIR", e->dir, 1);
		assert_non_null(strstr(out, "12345"));
		assert_int_not_equal(run_stats("front-1-0 2>/dev/null", out, sizeof(out)), 0);
	}

	/* live numbers, not a snapshot at publish time */
	sn_qstat_add(q0, SN_QS_rx_bytes, 4242);
	assert_int_equal(run_stats("", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "rx_bytes"));
	assert_non_null(strstr(out, "4242"));

	/* the same vif and role again from this process: replaced, fine */
	sn_stats_unpublish(b);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(run_stats("", out, sizeof(out)), 0);
	assert_null(strstr(out, "back-7-3"));
}

static void stats_stale_block_is_skipped(void **state)
{
	struct env *e = *state;
	char out[4096], path[128];
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sn_stats_block *b;

		/* publish and die without unpublishing */
		if (sn_stats_publish("front", 9, 0, 1, &b))
			_exit(1);
		sn_qstat_add(sn_stats_queue(b, 0), SN_QS_rx_pkts, 99);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	snprintf(path, sizeof(path), "%s/front-9-0.stats", e->dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(run_stats("", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "front-9-0: stale"));
	assert_null(strstr(out, "rx_pkts"));
	/* by name it still shows the last numbers */
	assert_int_equal(run_stats("front-9-0", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "99"));
	assert_non_null(strstr(out, "gone"));
	/* and a new daemon may take the name over */
	{
		struct sn_stats_block *b;

		assert_int_equal(sn_stats_publish("front", 9, 0, 1, &b), 0);
		sn_stats_unpublish(b);
	}
}

static void stats_live_owner_not_clobbered(void **state)
{
	struct sn_stats_block *b;
	int go[2], done[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sn_stats_block *cb;

		close(go[0]);
		close(done[1]);
		if (sn_stats_publish("back", 2, 0, 1, &cb))
			_exit(1);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		/* hold it until the parent has tried */
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		sn_stats_unpublish(cb);
		_exit(0);
	}
	close(go[1]);
	close(done[0]);
	assert_int_equal(read(go[0], &c, 1), 1);
	assert_int_equal(sn_stats_publish("back", 2, 0, 1, &b), -EBUSY);
	assert_int_equal(write(done[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(go[0]);
	close(done[1]);
	assert_int_equal(sn_stats_publish("back", 2, 0, 1, &b), 0);
	sn_stats_unpublish(b);
}

static void stats_open_rejects_garbage(void **state)
{
	struct env *e = *state;
	struct sn_stats_block *b = (struct sn_stats_block *)1;
	char path[128], out[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/back-1-1.stats", e->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a stats block at all, sorry", 31), 31);
	close(fd);
	assert_int_equal(sn_stats_open(path, &b), -EBADMSG);
	assert_null(b);
	/* the CLI reports it and carries on */
	assert_int_equal(run_stats("2>/dev/null", out, sizeof(out)), 0);
	unlink(path);
	/* bad arguments */
	assert_int_equal(sn_stats_publish("a/b", 1, 1, 1, &b), -EINVAL);
	assert_int_equal(sn_stats_publish("back", 1, 1, 0, &b), -EINVAL);
}

/* --rate: the counters' growth between two snapshots, per direction and
 * per packet.  The CLI says when its first snapshot is taken; the test
 * bumps the counters only after that, so the deltas are exact. */
static void stats_rate_reports_deltas(void **state)
{
	const char *exe = getenv("SN_STAGENET");
	struct sn_stats_block *b;
	struct sn_qstats *q0, *q1;
	char cmd[512], out[4096], line[256];
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(exe);
	assert_int_equal(sn_stats_publish("back", 4, 1, 2, &b), 0);
	q0 = sn_stats_queue(b, 0);
	q1 = sn_stats_queue(b, 1);
	sn_qstat_add(q0, SN_QS_tx_pkts, 5000); /* before: not counted */
	snprintf(cmd, sizeof(cmd), "'%s' stats --rate 0.5 back-4-1", exe);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, "back-4-1: sampling for 0.50 s"));
	sn_qstat_add(q0, SN_QS_tx_pkts, 300);
	sn_qstat_add(q1, SN_QS_tx_pkts, 700);
	sn_qstat_add(q0, SN_QS_tx_bytes, 64000);
	sn_qstat_add(q1, SN_QS_rx_pkts, 250);
	sn_qstat_add(q0, SN_QS_grant_copies, 625);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_non_null(strstr(out, "guest tx: 1000 packets"));
	assert_non_null(strstr(out, "guest rx: 250 packets"));
	assert_non_null(strstr(out, "grant_copies         +625 (0.500 per packet)"));
	assert_non_null(strstr(out, "tx_bytes             +64000"));
	assert_null(strstr(out, "memcpy_bytes"));
	/* A name is required, and a dead writer has no rate. */
	assert_int_not_equal(run_stats("--rate 0.5 2>/dev/null", out, sizeof(out)), 0);
	assert_int_not_equal(run_stats("--rate 0 back-4-1 2>/dev/null", out, sizeof(out)), 0);
	sn_stats_unpublish(b);
	assert_int_not_equal(run_stats("--rate 0.5 back-4-1 2>/dev/null", out, sizeof(out)), 0);
}

static void stats_names_match_enum(void **state)
{
	(void)state;
	assert_string_equal(sn_qstat_names[SN_QS_tx_pkts], "tx_pkts");
	assert_string_equal(sn_qstat_names[SN_QS_ctrl_errors], "ctrl_errors");
	for (int i = 0; i < SN_QS__COUNT; i++)
		assert_non_null(sn_qstat_names[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stats_publish_shows_in_cli, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_stale_block_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_live_owner_not_clobbered, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_open_rejects_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_rate_reports_deltas, setup, teardown),
		cmocka_unit_test(stats_names_match_enum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
