/* Benchmark results: one cell per (mode, direction, frame, queues), the
 * median/min/max of its repetitions, the counters that explain it, and
 * the three ways of showing them (tables, JSON, gnuplot bars). */
#ifndef STAGENET_BENCH_REPORT_H
#define STAGENET_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SN_BENCH_MAX_REPS 64u
#define SN_BENCH_BULK_MIN 1515u /* larger frames are GSO "bulk": shown in Gbit/s */

enum sn_bench_status {
	SN_CELL_OK = 0,
	SN_CELL_FAILED,  /* lost/corrupt packets, drops, or a process failed */
	SN_CELL_SKIPPED, /* this build cannot run it (reason says why) */
};

/* Deltas over the measured window, summed over both processes and all
 * queues. */
struct sn_bench_counters {
	uint64_t pkts, bytes;          /* delivered to the receiving port */
	uint64_t grant_copies, grant_copy_batches, grant_maps, grant_unmaps;
	uint64_t memcpy_bytes;
	uint64_t notifications;        /* notify_sent, both sides */
	uint64_t staged_slots, unstaged_slots;
	uint64_t sleeps;               /* event mode: queue loops that slept, both sides */
	uint64_t drops;                /* every drop counter, warm-up included */
	/* persist.c's table; ctrl_requests: the frontend's, since start */
	uint64_t persist_maps, persist_unmaps, ctrl_requests;
};

struct sn_bench_cell {
	char mode[16];   /* copy | linux | staging | limit | peer */
	char port[12];   /* the backend's port: gen (gen/sink) | tap | vhost-user | xdp */
	char dir[8];     /* tx | rx (guest's view) | "-" for limit */
	char policy[8];  /* staging policy, "" otherwise */
	uint32_t frame;  /* bytes without CRC; 65535 = 64 KiB GSO */
	uint16_t queues;
	/* Light gen/sink (frame from a template, counted, payload not
	 * checked), as DPDK testpmd's txonly/rxonly: the like-with-like rows
	 * beside the peer row. */
	bool light;
	char version[48]; /* peer: the testpmd (DPDK) version */
	/* Event mode (`--event`): no busy polling; offered_pps > 0 is a
	 * rate-limited generator; cpu_pct is each side's CPU time over the
	 * window (back, front; < 0 = not measured). */
	bool event;
	uint64_t offered_pps;
	double cpu_pct[2];
	/* Ping-pong latency cell: one frame in flight, round trips in us. */
	bool ping;
	double rtt_med_us, rtt_p99_us;
	enum sn_bench_status status;
	char reason[192];
	unsigned int nreps;
	double rep_mpps[SN_BENCH_MAX_REPS];
	double rep_gbps[SN_BENCH_MAX_REPS];
	double secs;      /* measured seconds, all repetitions */
	/* Filled by sn_bench_cell_finish from the repetitions. */
	double mpps, mpps_min, mpps_max, gbps, ns_per_pkt;
	struct sn_bench_counters c;
	uint64_t lost, bad_seq, bad_payload;
	bool payload_checked; /* the sink's own verdict was read (else counts only) */
	uint64_t unconfirmed; /* guest TX without that verdict: sent, not seen (<= a burst) */
	double limit_fraction; /* staging cells: mpps / limit mpps; < 0 = n/a */
	/* Port cells, guest TX: what the backend's port took (mpps is what the
	 * far end counted); < 0 = n/a. */
	double port_mpps;
	/* Daemons started to the backend's first staged slot, seconds; < 0 =
	 * not seen (bench/persist.c's table). */
	double first_staged_s;
};

void sn_bench_cell_init(struct sn_bench_cell *c, const char *mode, const char *dir,
			uint32_t frame, uint16_t queues);
/* printf-style: mark a cell failed (first reason wins). */
void sn_bench_cell_fail(struct sn_bench_cell *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Median (mean of the two middle values for even n), min and max of n > 0
 * values; v is not modified.  Returns 0 or -EINVAL (n == 0). */
int sn_bench_summary(const double *v, unsigned int n, double *med, double *min, double *max);
/* Compute mpps/gbps/ns_per_pkt from the repetitions, and turn lost or
 * corrupt packets and drops into a failure. */
void sn_bench_cell_finish(struct sn_bench_cell *c);

/* A JSON string literal with RFC 8259 escaping. */
void sn_json_string(FILE *f, const char *s);
/* The --json document: an array, one object per line. */
int sn_bench_write_json(FILE *f, const struct sn_bench_cell *cells, size_t n);
/* The proposal-shaped tables, then the explaining counters. */
void sn_bench_print_tables(FILE *f, const struct sn_bench_cell *cells, size_t n);
/* --event: per frame size and direction, Mpps and each side's CPU for
 * busy polling and event mode at each offered rate, then the round trips. */
void sn_bench_print_event(FILE *f, const struct sn_bench_cell *cells, size_t n);
/* Before/after bars with gnuplot; workdir holds its data and script.
 * Returns 0 or -errno (gnuplot missing or failing). */
int sn_bench_plot(const char *png, const char *workdir, const struct sn_bench_cell *cells,
		  size_t n);

#endif
