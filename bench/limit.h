/* The limit row: the benchmark's frames through a bare shared-memory SPSC
 * ring between two processes (memcpy in, memcpy out, the netif path's
 * batching, busy-polling, no protocol), the ceiling of this machine. */
#ifndef STAGENET_BENCH_LIMIT_H
#define STAGENET_BENCH_LIMIT_H

#include <stdint.h>

#include "bench/report.h"

#define SN_LIMIT_SLOTS 256u /* as many as a netif ring */
#define SN_LIMIT_BATCH 32u  /* as the frontend's and backend's bursts */
#define SN_LIMIT_MIN_REP_PKTS 256u /* a repetition is extended until it saw this many */

struct sn_limit_cfg {
	uint32_t frame;     /* 60..65535, as the gen port makes it */
	double warmup_s;
	double duration_s;  /* per repetition */
	unsigned int reps;  /* 1..SN_BENCH_MAX_REPS */
	int cpu_prod, cpu_cons; /* pin to these CPUs; -1 = leave alone */
	bool light;         /* gen:light and sink:light (out->light too) */
};

/* Run it; out becomes a "limit" cell (dir "-", 1 queue) with the rate and
 * the sink's verdict.  Returns 0 (the cell may still be FAILED) or -errno
 * when it could not run at all. */
int sn_bench_limit(const struct sn_limit_cfg *cfg, struct sn_bench_cell *out);

#endif
