/* A private emulated host for the benchmark, the probe and the tests
 * (host.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/host.h"
#include "bench/proc.h"

#define READY_KEY "XENSTORED_PATH="

/* The path of a complete "XENSTORED_PATH=<path>" line in the host's
 * stdout so far. */
static bool find_path(const char *log, char *path, size_t len)
{
	char *txt = sn_slurp(log), *p, *end;
	bool found = false;

	if (!txt)
		return false;
	p = strstr(txt, READY_KEY);
	if (p) {
		p += strlen(READY_KEY);
		end = strchr(p, '\n');
		while (end && end > p && (end[-1] == '\r' || end[-1] == ' '))
			end--;
		if (end && end > p && (size_t)(end - p) < len) {
			memcpy(path, p, (size_t)(end - p));
			path[end - p] = '\0';
			found = true;
		}
	}
	free(txt);
	return found;
}

static int make_dir(struct sn_host *h, const struct sn_host_cfg *cfg)
{
	const char *parent = cfg->parent ? cfg->parent : getenv("TMPDIR");

	if (!parent || !*parent)
		parent = "/tmp";
	if (snprintf(h->dir, sizeof(h->dir), "%s/%s-XXXXXX", parent, cfg->prefix) >=
	    (int)sizeof(h->dir)) {
		h->dir[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(h->dir)) {
		h->dir[0] = '\0';
		return -errno;
	}
	return 0;
}

static int wait_ready(struct sn_host *h, const struct sn_host_cfg *cfg, const char *log)
{
	int ms = cfg->ready_ms > 0 ? cfg->ready_ms : SN_HOST_READY_MS;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int st;

		if (find_path(log, h->path, sizeof(h->path)))
			return 0;
		if (sn_proc_exited(&h->pid, &st))
			return -ECHILD;
		if (cfg->stop && *cfg->stop)
			return -EINTR;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
}

int sn_host_start(struct sn_host *h, const struct sn_host_cfg *cfg)
{
	char out[sizeof(h->dir) + 16], err[sizeof(h->dir) + 16];
	struct sn_proc_spec spec = { .exe = cfg->exe, .out = out };
	struct sn_argv argv;
	int rc;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	rc = make_dir(h, cfg);
	if (rc)
		return rc;
	snprintf(out, sizeof(out), "%s/host.out", h->dir);
	snprintf(err, sizeof(err), "%s/host.err", h->dir);
	sn_argv_init(&argv, "host");
	sn_argv_opt(&argv, "--dir", "%s", h->dir);
	if (cfg->quiet) {
		sn_argv_add(&argv, "--quiet");
		spec.err = err;
	}
	spec.argv = &argv;
	h->pid = sn_proc_start(&spec);
	if (h->pid < 0) {
		rc = h->pid;
		h->pid = -1;
		return rc;
	}
	rc = wait_ready(h, cfg, out);
	if (rc)
		sn_host_stop(h);
	return rc;
}

int sn_host_export(const struct sn_host *h)
{
	char run[sizeof(h->dir) + 8];

	snprintf(run, sizeof(run), "%s/run", h->dir);
	if (setenv("XENSTORED_PATH", h->path, 1) || (mkdir(run, 0700) && errno != EEXIST) ||
	    setenv("SN_RUNDIR", run, 1))
		return -errno;
	return 0;
}

int sn_host_stop(struct sn_host *h)
{
	int st = sn_proc_stop(h->pid, SN_HOST_STOP_MS);

	h->pid = -1;
	return st;
}

void sn_host_remove(struct sn_host *h)
{
	if (h->dir[0]) {
		sn_rm_tree(h->dir);
		h->dir[0] = '\0';
	}
}
