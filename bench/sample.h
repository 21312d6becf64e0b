/* What a cell is measured by: snapshots of the counters the backend and the
 * frontend publish (stats.h), their deltas, and the receiving port's own
 * verdict from its exit report. */
#ifndef STAGENET_BENCH_SAMPLE_H
#define STAGENET_BENCH_SAMPLE_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench/report.h"
#include "proto/loop.h"
#include "stagenet/stats.h"

enum sn_bench_side { SN_SIDE_BACK, SN_SIDE_FRONT, SN_SIDE__COUNT };

/* `stagenet front`'s burst: what a frozen queue may have counted but not
 * yet published.  The datapath's own constant, so that a different burst
 * cannot turn into "lost" frames here. */
#define SN_BENCH_FRONT_BURST SN_FRONT_BURST

/* Counter sums over every queue of each side's process. */
struct sn_bench_snap {
	uint64_t v[SN_SIDE__COUNT][SN_QS__COUNT];
	double t; /* CLOCK_MONOTONIC seconds */
};

double sn_bench_now(void);
/* Sleep s seconds in slices of 50 ms, cut short when *stop is set
 * (SIGINT/SIGTERM); false if it was. */
bool sn_bench_nap(const volatile sig_atomic_t *stop, double s);
/* A side whose block is NULL reads as zeros. */
void sn_bench_snap_take(struct sn_stats_block *const blk[SN_SIDE__COUNT],
			struct sn_bench_snap *s);
/* The cell's counters over the window s0..s1 (drops over ready..s1, the
 * warm-up included). */
void sn_bench_counters_fill(struct sn_bench_counters *out, const struct sn_bench_snap *ready,
			    const struct sn_bench_snap *s0, const struct sn_bench_snap *s1);
/* Guest TX without a sink report from the backend: freeze the frontend
 * (pid), let the busy-polling backend drain the rings, and snapshot once
 * both sides' packet counts agree, or once the backend has stopped moving
 * for 200 ms short of at most the bursts the frozen queues may have counted
 * but not yet published, or after 5 s.  out->t stays 0 if it could not. */
void sn_bench_quiesce_tx(pid_t front, uint16_t queues,
			 struct sn_stats_block *const blk[SN_SIDE__COUNT],
			 struct sn_bench_snap *out);
/* The sink's verdict from a process's exit report: lines like
 * "front port 0: sent=.. lost=.. bad_seq=.. bad_payload=..", added into the
 * cell.  Returns true if any such line was found. */
bool sn_bench_port_verdict(const char *path, struct sn_bench_cell *c);

#endif
