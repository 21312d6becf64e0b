/* Persist-flag cells of the benchmark (persist.h). */
#include <stdlib.h>
#include <string.h>

#include "bench/persist.h"

static const struct {
	const char *mode;
	int churn;
} modes[] = { { "persist", 0 }, { "persist-c1", 1 }, { "persist-c10", 10 } };

int sn_bench_persist_churn(const char *mode)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i].mode))
			return modes[i].churn;
	return -1;
}

void sn_bench_persist_front_args(struct sn_argv *a, const struct sn_bench_cell *c)
{
	sn_argv_opt(a, "--staging", "%s", "persist");
	sn_argv_opt(a, "--persist-churn", "%d", sn_bench_persist_churn(c->mode));
}

void sn_bench_persist_prove(struct sn_bench_cell *c, const char *front_said)
{
	const struct sn_bench_counters *k = &c->c;
	unsigned long long ops = k->grant_copies + k->grant_maps + k->grant_unmaps;

	if (!k->staged_slots)
		sn_bench_cell_fail(c, "no slot went through a persisted gref (front: %s)",
				   front_said ? front_said : "");
	else if (k->ctrl_requests)
		sn_bench_cell_fail(c, "persist, yet %llu control messages",
				   (unsigned long long)k->ctrl_requests);
	/* 64 KiB TX takes 16 pages a packet: the 256-page TX pool can run
	 * dry and send a packet down the grant path, so only small frames
	 * must be free of grant operations. */
	else if (!sn_bench_persist_churn(c->mode) && c->frame <= 4096 && ops)
		sn_bench_cell_fail(c, "persist without churn, yet %llu grant operations", ops);
}

void sn_bench_persist_table(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	bool any = false;

	for (size_t i = 0; i < n && !any; i++)
		any = sn_bench_persist_churn(cells[i].mode) >= 0;
	if (!any)
		return;
	fprintf(f, "\nStaging vs persist: start to first staged packet (both daemons started "
		   "at 0, ms); per second of the window: grant maps, unmaps; control messages "
		   "since start; memcpy bytes per packet\n");
	fprintf(f, "%-26s %8s %10s %10s %8s %8s\n", "cell", "first ms", "maps/s", "unmaps/s",
		"ctrl", "memcpy");
	for (size_t i = 0; i < n; i++) {
		const struct sn_bench_cell *c = &cells[i];
		char name[64];
		double s = c->secs > 0 ? c->secs : 1.0, p = c->c.pkts ? (double)c->c.pkts : 1.0;

		if (strcmp(c->mode, "staging") && sn_bench_persist_churn(c->mode) < 0)
			continue;
		snprintf(name, sizeof(name), "%s %s %u q%u", c->mode, c->dir, c->frame, c->queues);
		if (c->status != SN_CELL_OK) {
			fprintf(f, "%-26s %s\n", name, c->status == SN_CELL_FAILED ? "FAILED" : "skipped");
			continue;
		}
		if (c->first_staged_s >= 0)
			fprintf(f, "%-26s %8.1f", name, c->first_staged_s * 1e3);
		else
			fprintf(f, "%-26s %8s", name, "-");
		fprintf(f, " %10.1f %10.1f %8llu %8.1f\n", (double)c->c.grant_maps / s,
			(double)c->c.grant_unmaps / s, (unsigned long long)c->c.ctrl_requests,
			(double)c->c.memcpy_bytes / p);
	}
}
