/* `stagenet bench`: its options; the run itself is bench/run.c (README
 * "The benchmark"). */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/report.h"
#include "bench/run.h"
#include "cli/cli.h"

_Static_assert(SN_OPT_LIST_MAX <= SN_BENCH_MAX_LIST, "a parsed list must fit the run's options");

/* The command line as the table stores it; parse_opts turns it into
 * struct bench_opts. */
struct bench_args {
	struct sn_opt_list modes, dirs, frames, queues, ports;
	int policy;
	double duration, warmup; /* < 0: not given */
	long reps;               /* 0: not given */
	const char *json, *plot;
	bool primitives, quick, keep, verbose;
	bool no_light, no_peer, event;
};

static const struct sn_opt_choice bench_modes[] = {
	{ "copy", 0 }, { "linux", 1 }, { "staging", 2 }, { "persist", 3 },
	{ "persist-c1", 4 }, { "persist-c10", 5 }, { NULL, 0 },
};
static const struct sn_opt_choice bench_ports[] = {
	{ "gen", 0 }, { "tap", 1 }, { "vhost-user", 2 }, { "xdp", 3 }, { NULL, 0 },
};
static const struct sn_opt_choice bench_dirs[] = { { "tx", 0 }, { "rx", 1 }, { NULL, 0 } };
static const struct sn_opt_choice bench_policies[] = {
	{ "page", 0 }, { "header", 1 }, { NULL, 0 },
};

#define BENCH_OPT(field) .off = offsetof(struct bench_args, field)
static const struct sn_opt bench_opts[] = {
	{ .name = "modes", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(modes),
	  .choices = bench_modes,
	  .help = "copy,linux,staging,persist,persist-c1,persist-c10 (default linux,staging; "
		  "persist-cN: N% of each pool churned per second)" },
	{ .name = "dirs", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(dirs),
	  .choices = bench_dirs, .max_items = 2,
	  .help = "tx,rx from the guest's view (default tx,rx)" },
	{ .name = "frames", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(frames), .min = 60,
	  .max = 65535,
	  .help = "frame sizes, e.g. 60,128,256,1514,65535 (65535 = 64 KiB GSO; default "
		  "60,65535)" },
	{ .name = "queues", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(queues), .min = 1,
	  .max = 16, .help = "queue counts (default 1,2)" },
	{ .name = "staging-policy", .arg = "P", .kind = SN_OPT_CHOICE, BENCH_OPT(policy),
	  .choices = bench_policies,
	  .help = "page|header (default page: TX and RX through staged pages; header "
		  "stages only TX's first 256 bytes)" },
	{ .name = "duration", .arg = "S", .kind = SN_OPT_DOUBLE, BENCH_OPT(duration),
	  .min = 0.01, .max = 3600, .help = "seconds per repetition (default 0.5)" },
	{ .name = "warmup", .arg = "S", .kind = SN_OPT_DOUBLE, BENCH_OPT(warmup), .min = 0,
	  .max = 3600, .help = "seconds before measuring (default 0.5)" },
	{ .name = "reps", .arg = "N", .kind = SN_OPT_LONG, BENCH_OPT(reps), .min = 1,
	  .max = SN_BENCH_MAX_REPS,
	  .help = "repetitions per cell, median reported (default 3)" },
	{ .name = "json", .arg = "FILE", .kind = SN_OPT_STR, BENCH_OPT(json),
	  .help = "one JSON object per cell (and per limit row)" },
	{ .name = "plot", .arg = "FILE.png", .kind = SN_OPT_STR, BENCH_OPT(plot),
	  .help = "before/after bars (gnuplot)" },
	{ .name = "no-light", .kind = SN_OPT_SET, BENCH_OPT(no_light),
	  .help = "skip the light cells (gen/sink that only count, as testpmd) and the peer row" },
	{ .name = "event", .kind = SN_OPT_SET, BENCH_OPT(event),
	  .help = "event mode instead: staging without busy polling at saturation, 1 Mpps and "
		  "100 kpps (Mpps, CPU%), and ping-pong round trips, beside busy polling" },
	{ .name = "no-peer", .kind = SN_OPT_SET, BENCH_OPT(no_peer),
	  .help = "skip the peer row (DPDK testpmd virtio-user -> vhost-user)" },
	{ .name = "port", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(ports),
	  .choices = bench_ports, .max_items = 4,
	  .help = "gen,tap,vhost-user,xdp: the backend's port, rates counted at the far end "
		  "(default gen: generator and sink; tap: the kernel, in a namespace; vhost-user: "
		  "dpdk-testpmd; xdp: a veth in a namespace; all but gen need root, 1 queue, "
		  "frames up to 1514)" },
	{ .name = "primitives", .kind = SN_OPT_SET, BENCH_OPT(primitives),
	  .help = "also run the grant/event cost probe" },
	{ .name = "quick", .kind = SN_OPT_SET, BENCH_OPT(quick),
	  .help = "tiny durations (tests): warm-up 0.05 s, 2 x 0.1 s" },
	{ .name = "keep", .kind = SN_OPT_SET, BENCH_OPT(keep),
	  .help = "keep the work directory (logs) and print its path" },
	{ .name = "verbose", .short_name = 'v', .kind = SN_OPT_SET, BENCH_OPT(verbose),
	  .help = "progress and process logs on stderr" },
	{ .name = NULL },
};
#undef BENCH_OPT

const struct sn_opts_spec sn_bench_spec = {
	.cmd = "bench",
	.doc = "Reproduce the proposal's Performance tables on this machine: guest TX and "
	       "RX, before (linux) and after (staging), 64-byte frames and 64 KiB GSO bulk, "
	       "per queue count, with the limit row (a bare shared-memory ring between two "
	       "processes).  Starts and stops its own emulated host, backend and frontend.",
	.opts = bench_opts,
};

static int parse_opts(int argc, char **argv, struct sn_bench_opts *o)
{
	struct bench_args a = { .modes = { 2, { 1, 2 } }, .dirs = { 2, { 0, 1 } },
				.frames = { 2, { 60, 65535 } }, .queues = { 2, { 1, 2 } },
				.duration = -1, .warmup = -1 };
	int rc;

	rc = sn_opts_parse(&sn_bench_spec, argc, argv, &a);
	if (rc)
		return rc;
	*o = (struct sn_bench_opts){ .nmodes = a.modes.n, .ndirs = a.dirs.n,
				  .nframes = a.frames.n, .nqueues = a.queues.n,
				  .policy = bench_policies[a.policy].name,
				  .duration = a.duration >= 0 ? a.duration : a.quick ? 0.1 : 0.5,
				  .warmup = a.warmup >= 0 ? a.warmup : a.quick ? 0.05 : 0.5,
				  .reps = a.reps ? (unsigned int)a.reps : a.quick ? 2 : 3,
				  .json = a.json, .plot = a.plot,
				  .nports = a.ports.n ? a.ports.n : 1,
				  .primitives = a.primitives,
				  .quick = a.quick, .keep = a.keep, .verbose = a.verbose,
				  .no_light = a.no_light, .no_peer = a.no_peer, .event = a.event };
	for (unsigned int k = 0; k < a.modes.n; k++)
		o->modes[k] = bench_modes[a.modes.v[k]].name;
	for (unsigned int k = 0; k < a.dirs.n; k++)
		o->dirs[k] = bench_dirs[a.dirs.v[k]].name;
	for (unsigned int k = 0; k < a.frames.n; k++)
		o->frames[k] = (uint32_t)a.frames.v[k];
	o->ports[0] = "gen";
	for (unsigned int k = 0; k < a.ports.n; k++)
		o->ports[k] = bench_ports[a.ports.v[k]].name;
	for (unsigned int k = 0; k < a.queues.n; k++)
		o->queues[k] = (uint16_t)a.queues.v[k];
	return 0;
}

int sn_cmd_bench(int argc, char **argv)
{
	struct sn_bench_opts *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return 1;
	rc = parse_opts(argc, argv, o);
	if (rc) {
		free(o);
		return sn_opts_exit(rc);
	}
	rc = sn_bench_run(o);
	free(o);
	return rc;
}
