/* A private emulated host: `stagenet host` in a temporary directory of its
 * own, waited for until it prints XENSTORED_PATH, stopped within a bound.
 * The one way the benchmark, the cost probe and the tests start a host. */
#ifndef STAGENET_BENCH_HOST_H
#define STAGENET_BENCH_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#define SN_HOST_READY_MS 10000 /* start-up, by default */
#define SN_HOST_STOP_MS 5000   /* orderly exit after SIGTERM, then SIGKILL */

struct sn_host {
	pid_t pid;      /* -1 when not running */
	char dir[256];  /* its --dir: socket, host.out (and host.err when quiet) */
	char path[320]; /* the XENSTORED_PATH it printed */
};

struct sn_host_cfg {
	const char *exe;    /* the stagenet binary */
	const char *parent; /* where dir is made; NULL = $TMPDIR, else /tmp */
	const char *prefix; /* dir is <parent>/<prefix>-XXXXXX */
	/* --quiet, stderr into <dir>/host.err; else stderr is the caller's,
	 * so a sanitizer report from the host shows in a test's log. */
	bool quiet;
	int ready_ms;       /* 0 = SN_HOST_READY_MS */
	/* Give up waiting (-EINTR) once this is set, e.g. by a signal
	 * handler; NULL = never. */
	const volatile sig_atomic_t *stop;
};

/* Make the directory, start the host with stdout in <dir>/host.out (a file,
 * not a pipe: the host may keep writing and must never block on a pipe
 * nobody drains), wait for its XENSTORED_PATH line.  Returns 0, or -errno:
 * -ECHILD it exited first, -ETIMEDOUT it printed nothing in time.  On
 * failure the process is gone but dir stays (for its logs): sn_host_remove. */
int sn_host_start(struct sn_host *h, const struct sn_host_cfg *cfg);
/* Point this process and its children at the host: XENSTORED_PATH, and
 * SN_RUNDIR = <dir>/run (made here) for published counter blocks. */
int sn_host_export(const struct sn_host *h);
/* SIGTERM, SN_HOST_STOP_MS, SIGKILL.  Returns the host's wait status (0
 * when none was running), or -ETIMEDOUT when it had to be killed. */
int sn_host_stop(struct sn_host *h);
/* Remove dir and everything in it. */
void sn_host_remove(struct sn_host *h);

#endif
