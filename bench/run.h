/* `stagenet bench` as a whole: the options the CLI parses into, what every
 * cell of a run shares, and the run (a private host, per frame size the
 * limit row and the cells, then tables, JSON and plot). */
#ifndef STAGENET_BENCH_RUN_H
#define STAGENET_BENCH_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define SN_BENCH_MAX_LIST 16 /* entries of --modes, --frames, --queues */
#define SN_BENCH_MAX_CPUS 256

struct sn_bench_opts {
	const char *modes[SN_BENCH_MAX_LIST];
	unsigned int nmodes;
	const char *dirs[2];
	unsigned int ndirs;
	uint32_t frames[SN_BENCH_MAX_LIST];
	unsigned int nframes;
	uint16_t queues[SN_BENCH_MAX_LIST];
	unsigned int nqueues;
	const char *policy;
	double duration, warmup;
	unsigned int reps;
	const char *json, *plot;
	/* --port: "gen" (the generator/sink cells), "tap", "vhost-user", "xdp"
	 * (the far-end cells of bench/port_cells.h); none given: gen. */
	const char *ports[4];
	unsigned int nports;
	bool primitives, quick, keep, verbose;
	bool no_light, no_peer; /* skip the light cells / the testpmd peer row */
	bool event; /* the event-mode cells and the latency cells instead */
};

struct sn_bench_env {
	const struct sn_bench_opts *o;
	const char *exe;    /* the stagenet binary every process runs */
	const char *dir;    /* the work directory: the host's, every log */
	const char *rundir; /* where the processes publish their counters */
	int cpus[SN_BENCH_MAX_CPUS];
	int ncpus;
	int back_cpus, front_cpus; /* counts; back uses cpus[0..], front the rest */
	const volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM */
	const char *back_port; /* the backend's port spec instead of gen/sink, or NULL */
	const char *front_port; /* the frontend's receiving port instead of sink, or NULL */
};

/* The whole benchmark; returns the exit code (0: every cell ran and none
 * failed). */
int sn_bench_run(const struct sn_bench_opts *o);

#endif
