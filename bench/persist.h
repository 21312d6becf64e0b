/* The persist-flag cells of the benchmark (README "Persist flags"): modes
 * persist (a fixed pool, no churn), persist-c1 and persist-c10 (1 % and
 * 10 % of each queue's pool retired and replaced per second); how their
 * processes are started, how a cell proves it ran persist, and the table
 * that sets them beside staging: start to first staged packet, maps,
 * unmaps and control messages. */
#ifndef STAGENET_BENCH_PERSIST_H
#define STAGENET_BENCH_PERSIST_H

#include <stdio.h>

#include "bench/proc.h"
#include "bench/report.h"

/* The churn in percent per second of a persist mode, or -1 for any other
 * mode. */
int sn_bench_persist_churn(const char *mode);
/* `stagenet front` arguments of a persist cell (--staging persist and its
 * churn). */
void sn_bench_persist_front_args(struct sn_argv *a, const struct sn_bench_cell *c);
/* A persist cell staged slots on the backend; without churn and at frame
 * sizes the pool covers, it did so without a grant operation in the
 * window; no control message at any time. */
void sn_bench_persist_prove(struct sn_bench_cell *c, const char *front_said);
/* Staging and persist cells side by side (nothing if neither ran). */
void sn_bench_persist_table(FILE *f, const struct sn_bench_cell *cells, size_t n);

#endif
