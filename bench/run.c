/* `stagenet bench` as a whole (run.h): one private host for the run, per
 * frame size the limit row, that size's cells and the limit row again,
 * then the tables, JSON and plot. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cell.h"
#include "bench/host.h"
#include "bench/limit.h"
#include "bench/peer_row.h"
#include "bench/port_cells.h"
#include "bench/primitives.h"
#include "bench/proc.h"
#include "bench/report.h"
#include "bench/run.h"

/* The one flag a signal handler may set: process-wide by nature, read
 * through sn_bench_env.stop everywhere else. */
static volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

/* --event, per direction: busy-poll at saturation, then event mode at
 * saturation and at each offered rate; then the two ping-pong cells. */
static const uint64_t event_rates[] = { 0, 1000000, 100000 };
#define EVENT_CELLS_PER_DIR (1 + sizeof(event_rates) / sizeof(event_rates[0]))

/* Everything the run holds, released by run_end. */
struct run {
	struct sn_bench_env env;
	struct sn_host host;
	char exe[PATH_MAX];
	char rundir[sizeof(((struct sn_host *)0)->dir) + 8];
	struct sn_bench_cell *cells;
	size_t ncells, cap, done;
};

static int start_host(struct run *r)
{
	const struct sn_host_cfg hc = { .exe = r->exe, .prefix = "stagenet-bench",
					.quiet = true, .stop = &bench_stop };
	int rc = sn_host_start(&r->host, &hc);

	if (rc == -ECHILD)
		fprintf(stderr, "stagenet bench: the emulated host exited (see %s/host.err)\n",
			r->host.dir);
	else if (rc == -ENAMETOOLONG || (rc && !r->host.dir[0]))
		fprintf(stderr, "stagenet bench: work directory: %s\n", strerror(-rc));
	else if (rc)
		fprintf(stderr, "stagenet bench: the emulated host did not come up\n");
	if (!rc) {
		rc = sn_host_export(&r->host);
		if (rc)
			fprintf(stderr, "stagenet bench: %s/run: %s\n", r->host.dir, strerror(-rc));
	}
	return rc;
}

/* The binary, the host and its directory, the CPUs, the cells. */
static int run_begin(struct run *r, const struct sn_bench_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	ssize_t len;

	r->host.pid = -1;
	r->env.o = o;
	r->env.stop = &bench_stop;
	len = readlink("/proc/self/exe", r->exe, sizeof(r->exe) - 1);
	if (len <= 0) {
		fprintf(stderr, "stagenet bench: cannot find my own binary: %s\n", strerror(errno));
		return -errno;
	}
	r->exe[len] = '\0';
	r->env.exe = r->exe;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r->env.ncpus = sn_bench_allowed_cpus(r->env.cpus, SN_BENCH_MAX_CPUS);
	if (r->env.ncpus >= 2) {
		r->env.back_cpus = r->env.ncpus / 2;
		r->env.front_cpus = r->env.ncpus - r->env.back_cpus;
	}
	/* Per frame: the limit row, the cells, the light limit row, the light
	 * staging cells and the peer rows. */
	r->cap = (size_t)o->nframes * (2 + (size_t)o->nmodes * o->ndirs * o->nqueues +
				       (size_t)o->ndirs * o->nqueues + o->ndirs +
				       EVENT_CELLS_PER_DIR * o->ndirs + 2) +
		 sn_bench_port_cells_count(o);
	r->cells = calloc(r->cap, sizeof(*r->cells));
	if (!r->cells)
		return -ENOMEM;
	if (start_host(r))
		return -EIO;
	r->env.dir = r->host.dir;
	snprintf(r->rundir, sizeof(r->rundir), "%s/run", r->host.dir);
	r->env.rundir = r->rundir;
	return 0;
}

static void run_end(struct run *r)
{
	sn_host_stop(&r->host);
	if (r->host.dir[0] && r->env.o->keep)
		fprintf(stderr, "stagenet bench: logs kept in %s\n", r->host.dir);
	else
		sn_host_remove(&r->host);
	free(r->cells);
}

static void print_header(const struct run *r)
{
	const struct sn_bench_env *e = &r->env;

	printf("stagenet bench: %u CPU(s)%s; %s; warm-up %.2f s, %u x %.2f s per cell\n",
	       e->ncpus, e->ncpus >= 2 ? ", backend and frontend pinned apart" : "",
	       e->o->event ? "event mode beside busy polling" : "busy-polling",
	       e->o->warmup, e->o->reps, e->o->duration);
	if (e->ncpus >= 2) {
		printf("  backend on CPU");
		for (int i = 0; i < e->back_cpus; i++)
			printf(" %d", e->cpus[i]);
		printf(", frontend on CPU");
		for (int i = 0; i < e->front_cpus; i++)
			printf(" %d", e->cpus[e->back_cpus + i]);
		printf("\n");
	}
	fflush(stdout);
	if (e->o->primitives) {
		struct sn_primitives_cfg pc = { .platform = SN_PLAT_EMU, .domid = 100,
						.stagenet_exe = e->exe };

		printf("\nPlatform primitives (stagenet probe):\n");
		if (sn_bench_primitives(&pc, stdout))
			fprintf(stderr, "stagenet bench: the primitives probe failed\n");
	}
}

/* A second set of the limit row's repetitions, merged into c. */
static void limit_merge(struct sn_bench_cell *c, const struct sn_bench_cell *t)
{
	if (t->status != SN_CELL_OK)
		sn_bench_cell_fail(c, "%s", t->reason);
	for (unsigned int r = 0; r < t->nreps && c->nreps < SN_BENCH_MAX_REPS; r++) {
		c->rep_mpps[c->nreps] = t->rep_mpps[r];
		c->rep_gbps[c->nreps++] = t->rep_gbps[r];
	}
	c->secs += t->secs;
	c->c.pkts += t->c.pkts;
	c->c.bytes += t->c.bytes;
	c->c.memcpy_bytes += t->c.memcpy_bytes;
	c->lost += t->lost;
	c->bad_seq += t->bad_seq;
	c->bad_payload += t->bad_payload;
	c->payload_checked &= t->payload_checked;
	sn_bench_cell_finish(c);
}

/* The limit row of one frame size, or (again) a second set of repetitions
 * merged into it. */
static void run_limit(const struct sn_bench_env *e, uint32_t frame, struct sn_bench_cell *c,
		      bool again, bool light)
{
	struct sn_limit_cfg lc = {
		.frame = frame, .light = light, .warmup_s = e->o->warmup,
		.duration_s = e->o->duration, .reps = e->o->reps,
		.cpu_cons = e->ncpus >= 2 ? e->cpus[0] : -1,
		.cpu_prod = e->ncpus >= 2 ? e->cpus[e->back_cpus] : -1,
	};
	struct sn_bench_cell t;
	int rc;

	rc = sn_bench_limit(&lc, again ? &t : c);
	if (rc)
		sn_bench_cell_fail(c, "could not run: %s", strerror(-rc));
	else if (again)
		limit_merge(c, &t);
}

static void progress(size_t i, size_t n, const struct sn_bench_cell *c)
{
	fprintf(stderr, "[%zu/%zu] %-7s %-2s frame %5u queues %u%s%s%s: ", i, n, c->mode, c->dir,
		c->frame, c->queues, c->light ? " light" : "", c->event ? " event" : "",
		c->ping ? " ping" : "");
	if (c->status == SN_CELL_OK && c->ping)
		fprintf(stderr, "round trip median %.1f us, p99 %.1f us\n", c->rtt_med_us,
			c->rtt_p99_us);
	else if (c->status == SN_CELL_OK)
		fprintf(stderr, "%.3f Mpps, %.2f Gbit/s, CPU back %.0f%% front %.0f%%\n", c->mpps,
			c->gbps, c->cpu_pct[0], c->cpu_pct[1]);
	else
		fprintf(stderr, "%s (%s)\n", c->status == SN_CELL_FAILED ? "FAILED" : "skipped",
			c->reason);
}

/* Frame size f: the ceiling, that size's cells, the ceiling again (merged),
 * so a machine whose load drifts during the run does not compare the cells
 * with a ceiling from another moment. */
static void run_cell(struct run *r, struct sn_bench_cell *c)
{
	sn_bench_cell_run(&r->env, c, (uint16_t)r->ncells);
	r->ncells++;
	progress(++r->done, r->cap, c);
}

/* Event mode (no busy polling) of the staged path, one queue: Mpps and each
 * side's CPU at saturation and at fixed offered rates beside busy polling,
 * and the round trip of one frame in flight in both modes. */
static void run_event(struct run *r, unsigned int f)
{
	const struct sn_bench_opts *o = r->env.o;
	uint32_t frame = o->frames[f];

	if (frame > 1514) {
		fprintf(stderr, "stagenet bench: --event: frame %u skipped (GSO bulk has no "
				"offered-rate or ping-pong cells)\n", frame);
		return;
	}
	for (unsigned int d = 0; d < o->ndirs && !bench_stop; d++)
		for (unsigned int k = 0; k < EVENT_CELLS_PER_DIR && !bench_stop; k++) {
			struct sn_bench_cell *c = &r->cells[r->ncells];

			sn_bench_cell_init(c, "staging", o->dirs[d], frame, 1);
			c->event = k > 0;
			c->offered_pps = k > 0 ? event_rates[k - 1] : 0;
			run_cell(r, c);
		}
	for (int ev = 0; ev < 2 && !bench_stop; ev++) {
		struct sn_bench_cell *c = &r->cells[r->ncells];

		sn_bench_cell_init(c, "staging", "tx", frame, 1);
		c->ping = true;
		c->event = ev;
		run_cell(r, c);
	}
}

static bool runs_staging(const struct sn_bench_opts *o)
{
	for (unsigned int m = 0; m < o->nmodes; m++)
		if (!strcmp(o->modes[m], "staging"))
			return true;
	return false;
}

/* Like with like: the light limit row, the light staging cells and DPDK's
 * testpmd pair, each frame written from a template and only counted, the
 * limit row again around them as for the checked cells. */
static void run_light(struct run *r, unsigned int f)
{
	const struct sn_bench_opts *o = r->env.o;
	struct sn_bench_cell *lim = &r->cells[r->ncells++];

	run_limit(&r->env, o->frames[f], lim, false, true);
	for (unsigned int q = 0; q < o->nqueues && runs_staging(o); q++)
		for (unsigned int d = 0; d < o->ndirs && !bench_stop; d++) {
			struct sn_bench_cell *c = &r->cells[r->ncells];

			sn_bench_cell_init(c, "staging", o->dirs[d], o->frames[f], o->queues[q]);
			c->light = true;
			sn_bench_cell_run(&r->env, c, (uint16_t)r->ncells);
			r->ncells++;
			progress(++r->done, r->cap, c);
		}
	for (unsigned int d = 0; d < o->ndirs && !o->no_peer && !bench_stop; d++) {
		struct sn_bench_cell *c = &r->cells[r->ncells++];

		sn_bench_cell_init(c, "peer", o->dirs[d], o->frames[f], 1);
		sn_bench_peer_row(&r->env, c);
		progress(++r->done, r->cap, c);
	}
	if (!bench_stop)
		run_limit(&r->env, o->frames[f], lim, true, true);
	progress(++r->done, r->cap, lim);
}

static void run_frame(struct run *r, unsigned int f)
{
	const struct sn_bench_opts *o = r->env.o;
	struct sn_bench_cell *lim = &r->cells[f];

	run_limit(&r->env, o->frames[f], lim, false, false);
	for (unsigned int q = 0; q < o->nqueues; q++)
		for (unsigned int d = 0; d < o->ndirs; d++)
			for (unsigned int m = 0; m < o->nmodes && !bench_stop; m++) {
				struct sn_bench_cell *c = &r->cells[r->ncells];

				sn_bench_cell_init(c, o->modes[m], o->dirs[d], o->frames[f],
						   o->queues[q]);
				sn_bench_cell_run(&r->env, c, (uint16_t)r->ncells);
				r->ncells++;
				progress(++r->done, r->cap, c);
			}
	if (!bench_stop)
		run_limit(&r->env, o->frames[f], lim, true, false);
	progress(++r->done, r->cap, lim);
	if (!o->no_light && !bench_stop)
		run_light(r, f);
}

static bool runs_gen(const struct sn_bench_opts *o)
{
	for (unsigned int p = 0; p < o->nports; p++)
		if (!strcmp(o->ports[p], "gen"))
			return true;
	return false;
}

static void fill_limit_fractions(struct sn_bench_cell *cells, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cells[i].mode, "staging") || cells[i].status != SN_CELL_OK)
			continue;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(cells[j].mode, "limit") && cells[j].frame == cells[i].frame &&
			    cells[j].light == cells[i].light && cells[j].status == SN_CELL_OK &&
			    cells[j].mpps > 0)
				cells[i].limit_fraction = cells[i].mpps / cells[j].mpps;
	}
}

/* Tables on stdout, --json, --plot; returns the exit code. */
static int report(const struct run *r, size_t ngen)
{
	const struct sn_bench_opts *o = r->env.o;
	int ret = bench_stop ? 1 : 0, rc;

	for (size_t i = 0; i < r->ncells; i++)
		if (r->cells[i].status == SN_CELL_FAILED)
			ret = 1;
	if (o->event)
		sn_bench_print_event(stdout, r->cells, ngen);
	else if (ngen)
		sn_bench_print_tables(stdout, r->cells, ngen);
	if (ngen < r->ncells)
		sn_bench_print_ports(stdout, r->cells, r->ncells);
	fflush(stdout);
	if (o->json) {
		FILE *f = fopen(o->json, "w");

		if (!f || sn_bench_write_json(f, r->cells, r->ncells) || fclose(f)) {
			fprintf(stderr, "stagenet bench: writing %s failed\n", o->json);
			ret = 1;
		}
	}
	if (o->plot) {
		rc = sn_bench_plot(o->plot, r->host.dir, r->cells, r->ncells);
		if (rc) {
			fprintf(stderr, "stagenet bench: plot %s: %s (is gnuplot installed?)\n",
				o->plot, strerror(-rc));
			ret = 1;
		}
	}
	return ret;
}

int sn_bench_run(const struct sn_bench_opts *o)
{
	struct run *r = calloc(1, sizeof(*r));
	size_t ngen;
	int ret = 1, port_rc = 0;

	if (!r)
		return 1;
	if (run_begin(r, o))
		goto out;
	print_header(r);
	if (o->event) {
		for (unsigned int f = 0; f < o->nframes && !bench_stop; f++)
			run_event(r, f);
	} else if (runs_gen(o)) {
		r->ncells = o->nframes;
		for (unsigned int f = 0; f < o->nframes && !bench_stop; f++)
			run_frame(r, f);
	}
	fill_limit_fractions(r->cells, r->ncells);
	/* The port cells after gen's, so each kind of cell stays contiguous
	 * for its table. */
	ngen = r->ncells;
	if (o->event && sn_bench_port_cells_count(o))
		fprintf(stderr, "stagenet bench: --event: the tap/vhost-user/xdp port cells are "
				"not run (busy-polling cells only)\n");
	else if (!bench_stop)
		port_rc = sn_bench_port_cells_run(&r->env, r->cells, r->cap, &r->ncells);
	if (port_rc)
		fprintf(stderr, "stagenet bench: no port cells: %s (they need root: a network "
				"namespace)\n", strerror(-port_rc));
	ret = report(r, ngen);
	if (port_rc)
		ret = 1;
out:
	run_end(r);
	free(r);
	return ret;
}
