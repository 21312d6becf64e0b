/* `stagenet bench`: its options; the run itself is bench/run.c (README
 * "The benchmark"). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report.h"
#include "bench/run.h"
#include "cli/cli.h"

#define MAX_LIST SN_BENCH_MAX_LIST

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stagenet bench [options]\n"
		"\n"
		"Reproduce the proposal's Performance tables on this machine: guest TX and RX,\n"
		"before (linux) and after (staging), 64-byte frames and 64 KiB GSO bulk, per\n"
		"queue count, with the limit row (a bare shared-memory ring between two\n"
		"processes).  Starts and stops its own emulated host, backend and frontend.\n"
		"\n"
		"  --modes LIST           copy,linux,staging (default linux,staging)\n"
		"  --dirs LIST            tx,rx from the guest's view (default tx,rx)\n"
		"  --frames LIST          60,128,256,1514,65535 (65535 = 64 KiB GSO;\n"
		"                         default 60,65535)\n"
		"  --queues LIST          queue counts (default 1,2)\n"
		"  --staging-policy P     page|header (default page: TX and RX through staged\n"
		"                         pages; header stages only TX's first 256 bytes)\n"
		"  --duration S           seconds per repetition (default 0.5)\n"
		"  --warmup S             seconds before measuring (default 0.5)\n"
		"  --reps N               repetitions per cell, median reported (default 3)\n"
		"  --json FILE            one JSON object per cell (and per limit row)\n"
		"  --plot FILE.png        before/after bars (gnuplot)\n"
		"  --primitives           also run the grant/event cost probe\n"
		"  --quick                tiny durations (tests): warm-up 0.05 s, 2 x 0.1 s\n"
		"  --keep                 keep the work directory (logs) and print its path\n"
		"  --verbose              progress and process logs on stderr\n");
}

static int split_list(char *s, const char **out, unsigned int max, unsigned int *n)
{
	char *save = NULL;

	*n = 0;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n >= max)
			return -E2BIG;
		out[(*n)++] = t;
	}
	return *n ? 0 : -EINVAL;
}

static int parse_secs(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct sn_bench_opts *o)
{
	const char *tok[MAX_LIST];
	unsigned int n;
	bool set_dur = false, set_warm = false, set_reps = false;
	long v;

	*o = (struct sn_bench_opts){ .modes = { "linux", "staging" }, .nmodes = 2,
				  .dirs = { "tx", "rx" }, .ndirs = 2,
				  .frames = { 60, 65535 }, .nframes = 2,
				  .queues = { 1, 2 }, .nqueues = 2,
				  .policy = "page", .duration = 0.5, .warmup = 0.5, .reps = 3 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--primitives")) {
			o->primitives = true;
			continue;
		} else if (!strcmp(a, "--quick")) {
			o->quick = true;
			continue;
		} else if (!strcmp(a, "--keep")) {
			o->keep = true;
			continue;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
			continue;
		}
		if (!val) {
			fprintf(stderr, "stagenet bench: unknown option or missing value: %s\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--modes") || !strcmp(a, "--dirs") || !strcmp(a, "--frames") ||
		    !strcmp(a, "--queues")) {
			int which = a[2] == 'm' ? 0 : a[2] == 'd' ? 1 : a[2] == 'f' ? 2 : 3;

			if (strlen(val) >= sizeof(o->lists[which]) ||
			    split_list(strcpy(o->lists[which], val), tok, MAX_LIST, &n)) {
				fprintf(stderr, "stagenet bench: bad list for %s: %s\n", a, val);
				return -EINVAL;
			}
			for (unsigned int k = 0; k < n; k++) {
				bool bad = false;

				if (which == 0) {
					bad = strcmp(tok[k], "copy") && strcmp(tok[k], "linux") &&
					      strcmp(tok[k], "staging");
					o->modes[k] = tok[k];
				} else if (which == 1) {
					bad = (strcmp(tok[k], "tx") && strcmp(tok[k], "rx")) || k >= 2;
					if (!bad)
						o->dirs[k] = tok[k];
				} else if (which == 2) {
					bad = sn_parse_long(tok[k], 60, 65535, &v) != 0;
					o->frames[k] = (uint32_t)v;
				} else {
					bad = sn_parse_long(tok[k], 1, 16, &v) != 0;
					o->queues[k] = (uint16_t)v;
				}
				if (bad) {
					fprintf(stderr, "stagenet bench: bad %s entry '%s'\n", a,
						tok[k]);
					return -EINVAL;
				}
			}
			if (which == 0)
				o->nmodes = n;
			else if (which == 1)
				o->ndirs = n;
			else if (which == 2)
				o->nframes = n;
			else
				o->nqueues = n;
		} else if (!strcmp(a, "--staging-policy")) {
			if (strcmp(val, "header") && strcmp(val, "page")) {
				fprintf(stderr, "stagenet bench: --staging-policy is header or page\n");
				return -EINVAL;
			}
			o->policy = val;
		} else if (!strcmp(a, "--duration")) {
			if (parse_secs(val, 0.01, 3600, &o->duration)) {
				fprintf(stderr, "stagenet bench: --duration is 0.01..3600 seconds\n");
				return -EINVAL;
			}
			set_dur = true;
		} else if (!strcmp(a, "--warmup")) {
			if (parse_secs(val, 0, 3600, &o->warmup)) {
				fprintf(stderr, "stagenet bench: --warmup is 0..3600 seconds\n");
				return -EINVAL;
			}
			set_warm = true;
		} else if (!strcmp(a, "--reps")) {
			if (sn_parse_long(val, 1, SN_BENCH_MAX_REPS, &v)) {
				fprintf(stderr, "stagenet bench: --reps is 1..%u\n", SN_BENCH_MAX_REPS);
				return -EINVAL;
			}
			o->reps = (unsigned int)v;
			set_reps = true;
		} else if (!strcmp(a, "--json")) {
			o->json = val;
		} else if (!strcmp(a, "--plot")) {
			o->plot = val;
		} else {
			fprintf(stderr, "stagenet bench: unknown option %s\n", a);
			return -EINVAL;
		}
	}
	if (o->quick) {
		if (!set_dur)
			o->duration = 0.1;
		if (!set_warm)
			o->warmup = 0.05;
		if (!set_reps)
			o->reps = 2;
	}
	return 0;
}

int sn_cmd_bench(int argc, char **argv)
{
	struct sn_bench_opts *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return 1;
	if (parse_opts(argc, argv, o)) {
		usage(stderr);
		free(o);
		return 2;
	}
	ret = sn_bench_run(o);
	free(o);
	return ret;
}
