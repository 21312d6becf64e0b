/* `stagenet stats`: print the counter blocks running daemons publish in the
 * run directory (see include/stagenet/stats.h), one or all of them. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/stats_fmt.h"
#include "stagenet/stats.h"

struct stats_opts {
	const char *dir;
	double rate;
	int format; /* enum sn_stats_format */
	const char *want[1]; /* ROLE-DOMID-DEVID */
};

static const struct sn_opt_choice format_choices[] = {
	{ "text", SN_STATS_FMT_TEXT }, { "json", SN_STATS_FMT_JSON },
	{ "prometheus", SN_STATS_FMT_PROM }, { NULL, 0 },
};

static const struct sn_opt stats_opts[] = {
	{ .name = "dir", .arg = "D", .kind = SN_OPT_STR, .off = offsetof(struct stats_opts, dir),
	  .help = "run directory (default $SN_RUNDIR, /run/stagenet, $XDG_RUNTIME_DIR/stagenet "
		  "or /tmp/stagenet-UID)" },
	{ .name = "rate", .arg = "S", .kind = SN_OPT_DOUBLE,
	  .off = offsetof(struct stats_opts, rate), .min = 0.1, .max = 3600,
	  .help = "sample the block twice, S seconds apart, and print packet and bit rates "
		  "per direction and what every counter did per packet (how to benchmark on "
		  "real Xen); needs ROLE-DOMID-DEVID" },
	{ .name = "format", .arg = "text|json|prometheus", .kind = SN_OPT_CHOICE,
	  .off = offsetof(struct stats_opts, format), .choices = format_choices,
	  .help = "output: text (default; non-zero counters), json (every counter of every "
		  "queue, with totals) or prometheus (text exposition format for "
		  "node-exporter's textfile collector); json and prometheus leave out blocks "
		  "whose process is gone unless ROLE-DOMID-DEVID names one" },
	{ .name = NULL },
};

const struct sn_opts_spec sn_stats_spec = {
	.cmd = "stats",
	.args = "[ROLE-DOMID-DEVID]",
	.doc = "Prints the non-zero per-queue counters and totals of every published block "
	       "(or just ROLE-DOMID-DEVID, e.g. back-1-0).  Blocks whose process is gone are "
	       "skipped and named.",
	.opts = stats_opts,
	.max_args = 1,
	.args_off = offsetof(struct stats_opts, want),
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Two snapshots of one live block, secs apart: the rates a run on real Xen
 * reports (stagenet bench only drives the emulated host). */
static int show_rate(const char *path, const char *name, double secs)
{
	uint64_t a[SN_QS__COUNT], b[SN_QS__COUNT], pkts;
	struct sn_stats_block *blk;
	struct timespec ts;
	double t0, dt;
	int rc;

	rc = sn_stats_open(path, &blk);
	if (rc) {
		fprintf(stderr, "stagenet stats: %s: %s\n", path, strerror(-rc));
		return rc;
	}
	if (!sn_stats_alive(blk)) {
		fprintf(stderr, "stagenet stats: %s: pid %d is gone, nothing to measure\n",
			name, sn_stats_pid(blk));
		sn_stats_close(blk);
		return -ESRCH;
	}
	sn_stats_totals(blk, a);
	t0 = mono_s();
	/* Said after the first snapshot: what grows from now on counts. */
	printf("%s: sampling for %.2f s\n", name, secs);
	fflush(stdout);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	sn_stats_totals(blk, b);
	dt = mono_s() - t0;
	sn_stats_close(blk);

	printf("%s over %.3f s:\n", name, dt);
	for (int d = 0; d < 2; d++) {
		enum sn_qstat p = d ? SN_QS_rx_pkts : SN_QS_tx_pkts;
		enum sn_qstat by = d ? SN_QS_rx_bytes : SN_QS_tx_bytes;
		uint64_t np = b[p] - a[p], nb = b[by] - a[by];

		printf("  guest %s: %llu packets, %.3f Mpps, %.3f Gbit/s\n", d ? "rx" : "tx",
		       (unsigned long long)np, (double)np / dt / 1e6, (double)nb * 8 / dt / 1e9);
	}
	pkts = (b[SN_QS_tx_pkts] - a[SN_QS_tx_pkts]) + (b[SN_QS_rx_pkts] - a[SN_QS_rx_pkts]);
	printf("  per packet (both directions):\n");
	for (int c = 0; c < SN_QS__COUNT; c++) {
		uint64_t n = b[c] - a[c];

		if (!n || c == SN_QS_tx_pkts || c == SN_QS_rx_pkts)
			continue;
		printf("    %-20s +%llu", sn_qstat_names[c], (unsigned long long)n);
		if (pkts)
			printf(" (%.3f per packet)", (double)n / (double)pkts);
		putchar('\n');
	}
	return 0;
}

/* --format json|prometheus: every block in one document.  names[] are
 * file names in dir; force: print a block whose process is gone too. */
static int show_doc(const char *dir, char *const *names, size_t n, bool force,
		    enum sn_stats_format fmt)
{
	struct sn_stats_block **blocks;
	size_t got = 0;
	int rc = 0;

	blocks = calloc(n ? n : 1, sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		int r;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		r = sn_stats_open(path, &blocks[got]);
		if (r) {
			fprintf(stderr, "stagenet stats: %s: %s\n", path, strerror(-r));
			if (force) {
				rc = r;
				goto out;
			}
			continue;
		}
		if (!force && !sn_stats_alive(blocks[got])) {
			sn_stats_close(blocks[got]);
			continue;
		}
		got++;
	}
	rc = sn_stats_write(stdout, fmt, blocks, got);
out:
	for (size_t i = 0; i < got; i++)
		sn_stats_close(blocks[i]);
	free(blocks);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns 0 printed, 1 stale (skipped when !force), -errno unreadable. */
static int show(const char *dir, const char *name, int force)
{
	char path[PATH_MAX];
	struct sn_stats_block *b;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = sn_stats_open(path, &b);
	if (rc) {
		fprintf(stderr, "stagenet stats: %s: %s\n", path, strerror(-rc));
		return rc;
	}
	if (!sn_stats_alive(b) && !force) {
		printf("%.*s: stale (pid %d is gone), skipped\n", (int)(strlen(name) - 6), name,
		       sn_stats_pid(b));
		sn_stats_close(b);
		return 1;
	}
	sn_stats_print(stdout, b);
	if (!sn_stats_alive(b))
		printf("  (pid %d is gone: these are its last numbers)\n", sn_stats_pid(b));
	sn_stats_close(b);
	return 0;
}

int sn_cmd_stats(int argc, char **argv)
{
	char dirbuf[PATH_MAX], **names = NULL;
	struct stats_opts o = { 0 };
	const char *dir, *want;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0, shown = 0;
	double rate;

	rc = sn_opts_parse(&sn_stats_spec, argc, argv, &o);
	if (rc)
		return sn_opts_exit(rc);
	if (o.rate > 0 && o.format != SN_STATS_FMT_TEXT) {
		sn_opts_error(&sn_stats_spec, "--rate prints text only (drop --format)");
		return 2;
	}
	dir = o.dir;
	want = o.want[0];
	rate = o.rate;
	if (!dir) {
		if (sn_stats_rundir(dirbuf, sizeof(dirbuf))) {
			fprintf(stderr, "stagenet stats: run directory path too long\n");
			return 1;
		}
		dir = dirbuf;
	}
	if (want) {
		char name[NAME_MAX + 1];

		if (strchr(want, '/') ||
		    snprintf(name, sizeof(name), "%s.stats", want) >= (int)sizeof(name)) {
			fprintf(stderr, "stagenet stats: bad block name '%s'\n", want);
			return 2;
		}
		if (rate > 0) {
			char path[PATH_MAX];

			if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
				return 1;
			return show_rate(path, want, rate) ? 1 : 0;
		}
		if (o.format != SN_STATS_FMT_TEXT) {
			char *one = name;

			return show_doc(dir, &one, 1, true, o.format) ? 1 : 0;
		}
		return show(dir, name, 1) < 0 ? 1 : 0;
	}
	if (rate > 0) {
		sn_opts_error(&sn_stats_spec, "--rate needs ROLE-DOMID-DEVID");
		return 2;
	}
	d = opendir(dir);
	if (!d) {
		if (o.format != SN_STATS_FMT_TEXT)
			return show_doc(dir, NULL, 0, false, o.format) ? 1 : 0;
		printf("no stats published in %s\n", dir);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 6 || strcmp(de->d_name + l - 6, ".stats"))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));

			if (!nn) {
				rc = 1;
				goto out;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = 1;
			goto out;
		}
		n++;
	}
	/* Sorted, so output is stable for people and scripts. */
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	if (o.format != SN_STATS_FMT_TEXT) {
		rc = show_doc(dir, names, n, false, o.format) ? 1 : 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (show(dir, names[i], 0) == 0)
			shown++;
	if (!shown)
		printf("no live stats published in %s\n", dir);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}
