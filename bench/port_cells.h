/* `stagenet bench --port tap,vhost-user,xdp`: the backend's port on a real
 * far end instead of a generator/sink, rates counted where the frames land.
 * The bench creates a network namespace with a veth pair (snx0 for the
 * backend's xdp port, snx1 the far end) and runs every cell in it:
 *   xdp:snx0       guest TX counted by an XDP_DROP program on snx1 (veth's
 *                  xdp_drops), guest RX fed by an AF_XDP sender on snx1;
 *   tap:snt0       guest TX counted by the TAP's receive counter (the host
 *                  stack takes it), guest RX fed by an AF_PACKET sender
 *                  (sendmmsg, PACKET_QDISC_BYPASS) on the TAP;
 *   vhost-user     dpdk-testpmd's net_vhost as the far end, pinned to the
 *                  backend's CPU: guest TX counted by its rxonly port
 *                  (telemetry), guest RX fed by its txonly into the
 *                  frontend's sink:foreign.
 * Guest RX is always what the frontend's sink counted. */
#ifndef STAGENET_BENCH_PORT_CELLS_H
#define STAGENET_BENCH_PORT_CELLS_H

#include <stddef.h>

#include "bench/report.h"
#include "bench/run.h"

/* Cells per port kind other than gen: direction x frame x mode, 1 queue. */
size_t sn_bench_port_cells_count(const struct sn_bench_opts *o);
/* Every (port kind, direction, frame, mode) cell of the non-gen kinds in
 * o->ports, appended at cells[*n] (at most cap in all).  0, or -errno when
 * the namespace could not be set up (message on stderr). */
int sn_bench_port_cells_run(struct sn_bench_env *e, struct sn_bench_cell *cells, size_t cap,
			    size_t *n);
/* The table: every port's cells, gen's checked 1-queue cells beside them,
 * and each one's ratio to the TAP cell of the same direction, mode, frame. */
void sn_bench_print_ports(FILE *f, const struct sn_bench_cell *cells, size_t n);

#endif
