/* One DPDK dpdk-testpmd process as the benchmark's peer: started with one
 * vdev (virtio-user or vhost-user) and one forwarding mode on one CPU, read
 * through DPDK's telemetry socket (port 0's packet and byte counters, the
 * DPDK version), stopped.  Self-contained: nothing of the bench but this. */
#ifndef STAGENET_BENCH_PEER_H
#define STAGENET_BENCH_PEER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SN_PEER_TESTPMD "dpdk-testpmd"

struct sn_peer_args {
	const char *vdev;  /* e.g. "net_vhost0,iface=/run/x.sock,queues=1" */
	const char *fwd;   /* testpmd --forward-mode: txonly, rxonly, ... */
	uint32_t frame;    /* txonly frame length without CRC (60..1514) */
	const char *tag;   /* unique among running peers: names its DPDK runtime */
	const char *log;   /* stdout and stderr go here */
};

struct sn_peer {
	pid_t pid;
	int tfd; /* telemetry connection, -1 until the first read */
	char prefix[64];
	char rundir[PATH_MAX - 64];
	char version[48];
};

struct sn_peer_stats {
	uint64_t ipackets, opackets, ibytes, obytes;
};

/* Whether dpdk-testpmd is on PATH. */
bool sn_peer_available(void);
/* Start it, its main and forwarding lcores both on cpu (-1: not pinned). */
int sn_peer_start(struct sn_peer *p, const struct sn_peer_args *a, int cpu);
/* Port 0's counters; -EAGAIN while its telemetry is not up yet, -ECHILD
 * once it has exited.  The first success also fills p->version. */
int sn_peer_stats(struct sn_peer *p, struct sn_peer_stats *st);
/* SIGINT (testpmd stops its ports and exits), SIGKILL after 5 s, then
 * its runtime directory is removed. */
void sn_peer_stop(struct sn_peer *p);

#endif
