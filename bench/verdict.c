/* A cell's mode, proven by its counters (verdict.h). */
#include <string.h>

#include "bench/persist.h"
#include "bench/verdict.h"

static void prove_staged(struct sn_bench_cell *c, const char *front_said)
{
	const struct sn_bench_counters *k = &c->c;
	bool header = !strcmp(c->policy, "header"), rx = !strcmp(c->dir, "rx");
	unsigned long long ops = k->grant_copies + k->grant_maps;

	if (!k->staged_slots && !(header && rx))
		sn_bench_cell_fail(c, "no slot went through staging (front: %s)",
				   front_said ? front_said : "");
	else if (!header && (ops || k->unstaged_slots))
		sn_bench_cell_fail(c, "page staging, yet %llu grant operations and %llu unstaged slots",
				   ops, (unsigned long long)k->unstaged_slots);
	else if (header && ops && !k->unstaged_slots)
		sn_bench_cell_fail(c, "%llu grant operations though every slot was staged", ops);
}

void sn_bench_cell_prove_mode(struct sn_bench_cell *c, const char *front_said)
{
	if (!strcmp(c->mode, "limit"))
		return;
	if (sn_bench_persist_churn(c->mode) >= 0) {
		sn_bench_persist_prove(c, front_said);
		return;
	}
	if (!strcmp(c->mode, "staging")) {
		prove_staged(c, front_said);
		return;
	}
	if (c->c.staged_slots)
		sn_bench_cell_fail(c, "a before cell, yet %llu slots went through staging",
				   (unsigned long long)c->c.staged_slots);
}
