/* Counter snapshots of a cell's two processes (sample.h). */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "bench/proc.h"
#include "bench/sample.h"

double sn_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool sn_bench_nap(const volatile sig_atomic_t *stop, double s)
{
	double end = sn_bench_now() + s;

	while (!*stop) {
		double left = end - sn_bench_now();

		if (left <= 0)
			return true;
		if (left > 0.05)
			left = 0.05;
		nanosleep(&(struct timespec){ .tv_nsec = (long)(left * 1e9) }, NULL);
	}
	return false;
}

void sn_bench_snap_take(struct sn_stats_block *const blk[SN_SIDE__COUNT],
			struct sn_bench_snap *s)
{
	memset(s, 0, sizeof(*s));
	for (int side = 0; side < SN_SIDE__COUNT; side++)
		if (blk[side])
			sn_stats_totals(blk[side], s->v[side]);
	s->t = sn_bench_now();
}

static uint64_t both(const struct sn_bench_snap *a, const struct sn_bench_snap *b,
		     enum sn_qstat c)
{
	return (b->v[SN_SIDE_BACK][c] - a->v[SN_SIDE_BACK][c]) +
	       (b->v[SN_SIDE_FRONT][c] - a->v[SN_SIDE_FRONT][c]);
}

static uint64_t drops(const struct sn_bench_snap *a, const struct sn_bench_snap *b)
{
	static const enum sn_qstat d[] = { SN_QS_tx_drop_malformed, SN_QS_tx_drop_grant,
		SN_QS_tx_drop_port, SN_QS_rx_drop_no_slots, SN_QS_rx_drop_queue_full,
		SN_QS_rx_drop_grant, SN_QS_rx_drop_port, SN_QS_fatal_errors };
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		n += both(a, b, d[i]);
	return n;
}

void sn_bench_counters_fill(struct sn_bench_counters *out, const struct sn_bench_snap *ready,
			    const struct sn_bench_snap *s0, const struct sn_bench_snap *s1)
{
	out->grant_copies = both(s0, s1, SN_QS_grant_copies);
	out->grant_copy_batches = both(s0, s1, SN_QS_grant_copy_batches);
	out->grant_maps = both(s0, s1, SN_QS_grant_maps);
	out->grant_unmaps = both(s0, s1, SN_QS_grant_unmaps);
	out->memcpy_bytes = both(s0, s1, SN_QS_memcpy_bytes);
	out->notifications = both(s0, s1, SN_QS_notify_sent);
	out->staged_slots = both(s0, s1, SN_QS_staged_slots);
	out->unstaged_slots = both(s0, s1, SN_QS_unstaged_slots);
	out->sleeps = both(s0, s1, SN_QS_sleeps);
	out->drops = drops(ready, s1);
	out->persist_maps = both(s0, s1, SN_QS_persist_maps);
	out->persist_unmaps = both(s0, s1, SN_QS_persist_unmaps);
	/* Since start: staging's messages are all at connect. */
	out->ctrl_requests = s1->v[SN_SIDE_FRONT][SN_QS_ctrl_requests];
}

void sn_bench_quiesce_tx(pid_t front, uint16_t queues,
			 struct sn_stats_block *const blk[SN_SIDE__COUNT],
			 struct sn_bench_snap *out)
{
	double end = sn_bench_now() + 5, still_since = sn_bench_now();
	uint64_t last = UINT64_MAX;
	struct sn_bench_snap a;

	if (front <= 0 || kill(front, SIGSTOP))
		return;
	for (;;) {
		uint64_t be, fe;

		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		sn_bench_snap_take(blk, &a);
		be = a.v[SN_SIDE_BACK][SN_QS_tx_pkts];
		fe = a.v[SN_SIDE_FRONT][SN_QS_tx_pkts];
		if (be != last) {
			last = be;
			still_since = a.t;
		}
		if (be >= fe || a.t > end ||
		    (a.t - still_since > 0.2 && fe - be <= (uint64_t)SN_BENCH_FRONT_BURST * queues))
			break;
	}
	*out = a;
	kill(front, SIGCONT);
}

static uint64_t token(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

bool sn_bench_port_verdict(const char *path, struct sn_bench_cell *c)
{
	char *txt = sn_slurp(path), *save = NULL;
	bool found = false;

	if (!txt)
		return false;
	for (char *l = strtok_r(txt, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strstr(l, "port") || !strstr(l, " lost=") || !strstr(l, "bad_payload="))
			continue;
		found = true;
		c->lost += token(l, " lost=");
		c->bad_seq += token(l, "bad_seq=");
		c->bad_payload += token(l, "bad_payload=");
	}
	free(txt);
	return found;
}
