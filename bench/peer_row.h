/* The peer row: DPDK's virtio-user -> vhost-user pair (two dpdk-testpmd,
 * txonly and rxonly) on the two CPUs the cells use, measured like a cell,
 * to compare with the light cells and the light limit row. */
#ifndef STAGENET_BENCH_PEER_ROW_H
#define STAGENET_BENCH_PEER_ROW_H

#include "bench/report.h"
#include "bench/run.h"

/* c comes from sn_bench_cell_init(c, "peer", "tx"|"rx", frame, 1): tx is
 * virtio-user (the guest) sending to vhost-user (the host), rx the other
 * way.  c is finished on return: OK, FAILED, or SKIPPED (no testpmd, fewer
 * than two CPUs, a GSO frame size) with the reason. */
void sn_bench_peer_row(const struct sn_bench_env *e, struct sn_bench_cell *c);

#endif
