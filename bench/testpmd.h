/* dpdk-testpmd as a peer process, for the benchmark and the tests: start it
 * with vdevs and a forwarding mode (pinned like the other processes), read
 * the per-port counters it prints every --stats-period or, at any instant,
 * through DPDK's telemetry socket, stop it and take its final drop counts.
 * Every wait is bounded (bench/proc.h).
 *
 *   struct sn_testpmd_cfg c = { .prefix = "bench0", .vdevs = v, .nvdevs = 1,
 *                               .fwd = "rxonly", .out = "/tmp/x/tp.out" };
 *   pid_t tp;
 *   sn_testpmd_start(&c, &tp);
 *   ... sn_testpmd_read_stats(c.out, 0, &st) ...
 *   sn_testpmd_stop(tp, c.out, &dropped);
 *
 * testpmd runs --no-huge with 256 MiB and 16384 mbufs, no PCI devices,
 * auto-started, --stats-period 1 (which also keeps it from exiting when
 * stdin is at EOF), one forwarding core. */
#ifndef STAGENET_BENCH_TESTPMD_H
#define STAGENET_BENCH_TESTPMD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sn_testpmd_cfg {
	const char *exe;            /* NULL: "dpdk-testpmd" from PATH */
	const char *prefix;         /* --file-prefix: unique per running instance */
	const char *const *vdevs;   /* --vdev values, e.g. "net_vhost0,iface=...,client=1" */
	unsigned int nvdevs;
	const char *fwd;            /* --forward-mode: io, rxonly, txonly, macswap, ... */
	unsigned int queues;        /* --rxq/--txq (0 = 1) */
	const char *const *extra;   /* more application options, NULL-terminated, or NULL */
	const char *out;            /* stdout + stderr go here (truncated) */
	const int *cpus;            /* EAL cores and pinning; ncpus 0: cores 0,1, unpinned */
	int ncpus;
};

/* Start it; *pid set.  0 or -errno (-ENOENT: no testpmd binary). */
int sn_testpmd_start(const struct sn_testpmd_cfg *c, pid_t *pid);

/* The last periodic statistics block testpmd printed for port. */
struct sn_testpmd_port_stats {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	uint64_t rx_pps, tx_pps, rx_bps, tx_bps; /* "since last show" */
};
/* 0, or -ENOENT when no block for that port was printed yet. */
int sn_testpmd_read_stats(const char *out, unsigned int port,
			  struct sn_testpmd_port_stats *st);

/* SIGINT, wait (5 s, then SIGKILL), and, when dropped is not NULL, the
 * sum of RX-dropped and TX-dropped in its final accumulated statistics.
 * 0, -ETIMEDOUT, or -EBADMSG when the final statistics are missing. */
int sn_testpmd_stop(pid_t pid, const char *out, uint64_t *dropped);

/* Whether exe (NULL: dpdk-testpmd) is an executable on PATH. */
bool sn_testpmd_available(const char *exe);

/* Port counters through the telemetry socket of the instance started with
 * prefix: exact at the moment of the call (the bench's windows), where the
 * periodic print is a second old.  fd starts at -1; close with
 * sn_testpmd_tel_close. */
struct sn_testpmd_tel {
	int fd;
	char rundir[PATH_MAX - 64];
	char version[48]; /* "DPDK 22.11.1", filled by the first success */
};
void sn_testpmd_tel_init(struct sn_testpmd_tel *t, const char *prefix);
/* 0, -EAGAIN while the telemetry or the port is not up yet (retry). */
int sn_testpmd_tel_stats(struct sn_testpmd_tel *t, unsigned int port,
			 struct sn_testpmd_port_stats *st);
/* Closes the connection and removes the instance's runtime directory
 * (call after sn_testpmd_stop). */
void sn_testpmd_tel_close(struct sn_testpmd_tel *t);

#endif
