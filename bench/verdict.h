/* Every cell proves the mode it is labelled with by its own counters, so a
 * process that ran in another mode (a backend or frontend that staged when
 * it should not, or fell back to grants when it should stage) is reported
 * FAILED with the reason instead of passing one mode's rate off as the
 * other's. */
#ifndef STAGENET_BENCH_VERDICT_H
#define STAGENET_BENCH_VERDICT_H

#include "bench/report.h"

/* Looks at c->mode, c->dir, c->policy and the window's counters c->c:
 * - a "before" cell (copy, linux) shows no staged slot;
 * - a staging cell shows staged slots (except RX under the header policy,
 *   which stages only TX), and its staged slots took no grant operation:
 *   under the page policy no slot takes one, under the header policy grant
 *   operations come only with unstaged slots.
 * Otherwise the cell is failed (first reason wins).  front_said is the
 * frontend's last stderr line, quoted when nothing was staged (it says why
 * it fell back); NULL or "" when there is none.  Limit cells are left
 * alone. */
void sn_bench_cell_prove_mode(struct sn_bench_cell *c, const char *front_said);

#endif
