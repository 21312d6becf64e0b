/* One benchmark cell: its processes (vif-add, backend, frontend, vif-del)
 * started on the run's host, warmed up, measured repetition by repetition
 * from their published counters, stopped, and judged. */
#ifndef STAGENET_BENCH_CELL_H
#define STAGENET_BENCH_CELL_H

#include <stdint.h>

#include "bench/report.h"
#include "bench/run.h"

/* c comes from sn_bench_cell_init; devid is unique within the run (it
 * names the vif and every file of the cell).  c is finished on return:
 * OK with its rates, or FAILED/SKIPPED with the reason. */
void sn_bench_cell_run(const struct sn_bench_env *e, struct sn_bench_cell *c, uint16_t devid);

#endif
