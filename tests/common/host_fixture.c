/* Test fixture: a private `stagenet host` per test, through the helper the
 * benchmark uses (bench/host.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench/host.h"
#include "common/host_fixture.h"

/* The shared helper's handle and the fixture's carry the same fields; the
 * fixture keeps its own type so the tests' `struct sn_test_host` stays. */
static void to_host(const struct sn_test_host *t, struct sn_host *h)
{
	h->pid = t->pid;
	snprintf(h->dir, sizeof(h->dir), "%s", t->dir);
	snprintf(h->path, sizeof(h->path), "%s", t->path);
}

static void from_host(const struct sn_host *h, struct sn_test_host *t)
{
	t->pid = h->pid;
	snprintf(t->dir, sizeof(t->dir), "%s", h->dir);
	snprintf(t->path, sizeof(t->path), "%s", h->path);
}

int sn_test_host_start(struct sn_test_host *t)
{
	/* /tmp, not $TMPDIR: the socket path must fit a sockaddr_un. */
	const struct sn_host_cfg cfg = { .exe = getenv("SN_STAGENET"), .parent = "/tmp",
					 .prefix = "sn-test-host" };
	struct sn_host h;
	int rc;

	memset(t, 0, sizeof(*t));
	t->pid = -1;
	if (!cfg.exe || !*cfg.exe)
		return -ENOENT;
	rc = sn_host_start(&h, &cfg);
	/* Stats files of daemons under test go beside the socket, so tests
	 * running in parallel never share /run/stagenet. */
	if (!rc)
		rc = sn_host_export(&h);
	if (rc) {
		sn_host_stop(&h);
		sn_host_remove(&h);
		return rc;
	}
	from_host(&h, t);
	return 0;
}

void sn_test_host_stop(struct sn_test_host *t)
{
	struct sn_host h;
	pid_t pid = t->pid;
	int st;

	to_host(t, &h);
	st = sn_host_stop(&h);
	/* Make daemon-side sanitizer reports visible. */
	if (st == -ETIMEDOUT)
		fprintf(stderr, "host_fixture: stagenet host (pid %d) ignored SIGTERM, killing it\n",
			(int)pid);
	else if (pid > 0 && (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)))
		fprintf(stderr, "host_fixture: stagenet host (pid %d) ended badly (status 0x%x)\n",
			(int)pid, st);
	sn_host_remove(&h);
	from_host(&h, t);
}

struct sn_test_host sn_test_group_host;

int sn_test_host_group_setup(void **state)
{
	(void)state;
	return sn_test_host_start(&sn_test_group_host);
}

int sn_test_host_group_teardown(void **state)
{
	(void)state;
	sn_test_host_stop(&sn_test_group_host);
	return 0;
}
