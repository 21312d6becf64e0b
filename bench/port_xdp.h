/* `stagenet bench --port xdp`: the backend's port on a wire instead of a
 * generator/sink.  The bench creates a network namespace with a veth pair
 * (snx0 for the backend's xdp port, snx1 the far end) and runs the cells
 * twice, backend on `xdp:snx0` and, for comparison in the same run, on
 * `tap:snt0` in the same namespace.  Guest TX is counted where it lands:
 * an XDP_DROP program on snx1 (veth's xdp_drops), the TAP's own receive
 * counter (the host stack takes it); guest RX is fed from there: an AF_XDP
 * sender on snx1 (this tree's xdp port), an AF_PACKET sender on the TAP,
 * both with generator frames the frontend's sink checks. */
#ifndef STAGENET_BENCH_PORT_XDP_H
#define STAGENET_BENCH_PORT_XDP_H

#include "bench/report.h"
#include "bench/run.h"

/* The whole --port xdp run after the host is up: every (port kind,
 * direction, frame, mode) cell with one queue, then its table on stdout.
 * Returns the exit code (0: every cell ran, none failed). */
int sn_bench_xdp_run(struct sn_bench_env *e);

#endif
