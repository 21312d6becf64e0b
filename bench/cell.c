/* One benchmark cell: its processes, described once and started from that
 * description, and its measurement (cell.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench/cell.h"
#include "bench/persist.h"
#include "bench/proc.h"
#include "bench/sample.h"
#include "bench/verdict.h"

#define FE_DOMID 1
#define MIN_REP_PKTS 256  /* a repetition is extended until it saw this many */
#define READY_S 20        /* both daemons up and packets arriving */
#define HELPER_MS 10000   /* vif-add, vif-del */
#define DAEMON_STOP_MS 8000
#define VIF_DEL_TIMEOUT_MS 3000
/* Big enough that the backend's RX backlog never drops a burst of 64 KiB
 * packets from the generator (the default 1 MiB holds 16). */
#define BACK_RX_QUEUE_BYTES 16777216u
#define FRONT_CONNECT_MS 15000
/* A sink has no input, so it "ends" at once: the frontend must not exit on
 * its own. */
#define FRONT_LINGER_MS 86400000u

/* One process of a cell. */
struct cell_proc {
	const char *role; /* its subcommand, for messages */
	struct sn_argv argv;
	char out[PATH_MAX], err[PATH_MAX];
	const int *cpus;
	int ncpus;
	pid_t pid;
};

/* A cell's processes: vif-add and vif-del run to completion around the two
 * daemons, and each daemon publishes a counter block. */
struct cell_procs {
	struct cell_proc vif_add, vif_del;
	struct cell_proc side[SN_SIDE__COUNT];
	char stats[SN_SIDE__COUNT][PATH_MAX];
	struct sn_stats_block *blk[SN_SIDE__COUNT];
	enum sn_bench_side recv;   /* the receiving side: back for guest TX */
	enum sn_qstat pkts, bytes; /* the counters it receives in */
	double t_start;            /* the daemons were started */
};

/* Snapshots of a cell: packets arriving, start and end of the measured
 * window, and the quiesced counts of guest TX. */
struct cell_window {
	struct sn_bench_snap ready, s0, s1, quiesced;
};

static bool is_staging(const struct sn_bench_cell *c)
{
	return !strcmp(c->mode, "staging");
}

/* The sending side runs the generator, the receiving side a sink. */
static void add_port(const struct sn_bench_env *e, struct sn_argv *a,
		     const struct sn_bench_cell *c, bool sends, bool front)
{
	/* Ping-pong: the frontend keeps one frame in flight, the backend
	 * sends each back. */
	if (c->ping && sends)
		sn_argv_opt(a, "--port", "gen:size=%u,ping", c->frame);
	else if (c->ping)
		sn_argv_opt(a, "--port", "%s", "sink:echo");
	else if (sends && c->offered_pps)
		sn_argv_opt(a, "--port", "gen:size=%u,rate=%llu%s", c->frame,
			    (unsigned long long)c->offered_pps, c->light ? ",light" : "");
	else if (sends)
		sn_argv_opt(a, "--port", "gen:size=%u%s", c->frame, c->light ? ",light" : "");
	else if (e->front_port && front)
		sn_argv_opt(a, "--port", "%s", e->front_port);
	else
		sn_argv_opt(a, "--port", "%s", c->light ? "sink:light" : "sink");
}

static void describe_vif(const struct sn_bench_cell *c, uint16_t devid, struct cell_procs *p)
{
	struct sn_argv *add = &p->vif_add.argv, *del = &p->vif_del.argv;

	sn_argv_init(add, "vif-add");
	sn_argv_opt(add, "--domid", "%u", FE_DOMID);
	sn_argv_opt(add, "--devid", "%u", devid);
	sn_argv_opt(add, "--queues", "%u", c->queues);
	sn_argv_init(del, "vif-del");
	sn_argv_opt(del, "--domid", "%u", FE_DOMID);
	sn_argv_opt(del, "--devid", "%u", devid);
	sn_argv_opt(del, "--timeout-ms", "%u", VIF_DEL_TIMEOUT_MS);
}

static void describe_back(const struct sn_bench_env *e, const struct sn_bench_cell *c,
			  struct cell_procs *p)
{
	struct sn_argv *a = &p->side[SN_SIDE_BACK].argv;

	sn_argv_init(a, "back");
	sn_argv_add(a, "--quiet");
	if (!c->event)
		sn_argv_add(a, "--busy-poll");
	if (e->back_port)
		sn_argv_opt(a, "--port", "%s", e->back_port);
	else
		add_port(e, a, c, p->recv != SN_SIDE_BACK, false);
	sn_argv_opt(a, "--tx-path", "%s", !strcmp(c->mode, "copy") ? "copy" : "linux");
	sn_argv_opt(a, "--max-queues", "%u", c->queues);
	sn_argv_opt(a, "--rx-queue-bytes", "%u", BACK_RX_QUEUE_BYTES);
	/* Staging is an optimisation on top of the Linux path (unknown grefs
	 * still take it).  The baselines get a backend without it, as the
	 * proposal's "before" had. */
	if (!is_staging(c) && sn_bench_persist_churn(c->mode) < 0)
		sn_argv_opt(a, "--staging-max", "%u", 0);
}

static void describe_front(const struct sn_bench_env *e, const struct sn_bench_cell *c,
			   uint16_t devid, struct cell_procs *p)
{
	struct sn_argv *a = &p->side[SN_SIDE_FRONT].argv;

	sn_argv_init(a, "front");
	sn_argv_opt(a, "--domid", "%u", FE_DOMID);
	sn_argv_opt(a, "--devid", "%u", devid);
	sn_argv_opt(a, "--queues", "%u", c->queues);
	if (!c->event)
		sn_argv_add(a, "--busy-poll");
	add_port(e, a, c, p->recv != SN_SIDE_FRONT, true);
	sn_argv_opt(a, "--connect-timeout", "%u", FRONT_CONNECT_MS);
	sn_argv_opt(a, "--linger-ms", "%u", FRONT_LINGER_MS);
	if (sn_bench_persist_churn(c->mode) >= 0)
		sn_bench_persist_front_args(a, c);
	else
		sn_argv_opt(a, "--staging", "%s", is_staging(c) ? e->o->policy : "off");
}

/* Every process of the cell: its arguments, output files, CPUs, and the
 * counter blocks the daemons publish (<role>-<domid>-<devid>.stats). */
static void describe(const struct sn_bench_env *e, const struct sn_bench_cell *c,
		     uint16_t devid, struct cell_procs *p)
{
	static const char *const role[SN_SIDE__COUNT] = { "back", "front" };
	bool tx = !strcmp(c->dir, "tx");

	p->recv = tx ? SN_SIDE_BACK : SN_SIDE_FRONT;
	p->pkts = tx ? SN_QS_tx_pkts : SN_QS_rx_pkts;
	p->bytes = tx ? SN_QS_tx_bytes : SN_QS_rx_bytes;
	for (int s = 0; s < SN_SIDE__COUNT; s++) {
		struct cell_proc *pr = &p->side[s];

		pr->role = role[s];
		pr->pid = -1;
		snprintf(pr->out, sizeof(pr->out), "%s/%s-%u.out", e->dir, role[s], devid);
		snprintf(pr->err, sizeof(pr->err), "%s/%s-%u.err", e->dir, role[s], devid);
		snprintf(p->stats[s], sizeof(p->stats[s]), "%s/%s-%u-%u.stats", e->rundir,
			 role[s], FE_DOMID, devid);
	}
	p->side[SN_SIDE_BACK].cpus = e->cpus;
	p->side[SN_SIDE_BACK].ncpus = e->back_cpus;
	p->side[SN_SIDE_FRONT].cpus = e->cpus + e->back_cpus;
	p->side[SN_SIDE_FRONT].ncpus = e->front_cpus;
	p->vif_add.role = "vif-add";
	p->vif_del.role = "vif-del";
	snprintf(p->vif_add.out, sizeof(p->vif_add.out), "%s/vif-%u.log", e->dir, devid);
	snprintf(p->vif_add.err, sizeof(p->vif_add.err), "%s", p->vif_add.out);
	snprintf(p->vif_del.out, sizeof(p->vif_del.out), "%s", p->vif_add.out);
	snprintf(p->vif_del.err, sizeof(p->vif_del.err), "%s", p->vif_add.out);
	describe_vif(c, devid, p);
	describe_back(e, c, p);
	describe_front(e, c, devid, p);
}

static struct sn_proc_spec spec_of(const struct sn_bench_env *e, const struct cell_proc *pr)
{
	return (struct sn_proc_spec){ .exe = e->exe, .argv = &pr->argv, .out = pr->out,
				      .err = pr->err, .cpus = pr->cpus, .ncpus = pr->ncpus };
}

static int run_helper(const struct sn_bench_env *e, const struct cell_proc *pr)
{
	struct sn_proc_spec s = spec_of(e, pr);

	return sn_proc_run(&s, HELPER_MS);
}

/* Whether a daemon has exited; if so the cell fails with its last word. */
static bool daemon_exited(struct sn_bench_cell *c, struct cell_procs *p, const char *when)
{
	char why[200];
	int st;

	for (int s = 0; s < SN_SIDE__COUNT; s++) {
		if (!sn_proc_exited(&p->side[s].pid, &st))
			continue;
		sn_last_line(p->side[s].err, why, sizeof(why));
		sn_bench_cell_fail(c, "%s %s: %s", p->side[s].role, when, why);
		return true;
	}
	return false;
}

/* Ready when both have published counters and packets arrive. */
static bool wait_ready(const struct sn_bench_env *e, struct sn_bench_cell *c,
		       struct cell_procs *p, struct sn_bench_snap *ready)
{
	double deadline = sn_bench_now() + READY_S;

	for (;;) {
		bool published;

		if (*e->stop) {
			sn_bench_cell_fail(c, "interrupted");
			return false;
		}
		if (daemon_exited(c, p, "exited early"))
			return false;
		for (int s = 0; s < SN_SIDE__COUNT; s++)
			if (!p->blk[s])
				sn_stats_open(p->stats[s], &p->blk[s]);
		published = p->blk[SN_SIDE_BACK] && p->blk[SN_SIDE_FRONT];
		if (published) {
			sn_bench_snap_take(p->blk, ready);
			if (c->first_staged_s < 0 && ready->v[SN_SIDE_BACK][SN_QS_staged_slots])
				c->first_staged_s = ready->t - p->t_start;
			if (ready->v[p->recv][p->pkts])
				return true;
		}
		if (sn_bench_now() > deadline) {
			sn_bench_cell_fail(c, "no packets within %d s (%s)", READY_S,
					   published ? "connected?" : "not published");
			return false;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
}

/* One repetition, from prev into s1; false (the cell failed) if
 * interrupted or a daemon died. */
static bool measure_rep(const struct sn_bench_env *e, struct sn_bench_cell *c,
			struct cell_procs *p, const struct sn_bench_snap *prev,
			struct sn_bench_snap *s1)
{
	double dt, rep_end = sn_bench_now() + 20 * e->o->duration + 2;
	bool ok = sn_bench_nap(e->stop, e->o->duration);

	/* A window must hold some packets: on a loaded machine a
	 * busy-polling process can lose its CPU for longer than a --quick
	 * window, and "no packets" would be noise, not a rate. */
	while (ok) {
		sn_bench_snap_take(p->blk, s1);
		if (c->first_staged_s < 0 && s1->v[SN_SIDE_BACK][SN_QS_staged_slots])
			c->first_staged_s = s1->t - p->t_start;
		if (s1->v[p->recv][p->pkts] - prev->v[p->recv][p->pkts] >= MIN_REP_PKTS ||
		    sn_bench_now() > rep_end)
			break;
		ok = sn_bench_nap(e->stop, 0.01);
	}
	if (!ok) {
		sn_bench_cell_fail(c, "interrupted");
		return false;
	}
	if (daemon_exited(c, p, "exited during the measurement"))
		return false;
	dt = s1->t - prev->t;
	c->rep_mpps[c->nreps] =
		(double)(s1->v[p->recv][p->pkts] - prev->v[p->recv][p->pkts]) / dt / 1e6;
	c->rep_gbps[c->nreps] =
		(double)(s1->v[p->recv][p->bytes] - prev->v[p->recv][p->bytes]) * 8 / dt / 1e9;
	c->nreps++;
	return true;
}

/* Warm-up, the repetitions, the window's counters. */
static bool measure(const struct sn_bench_env *e, struct sn_bench_cell *c,
		    struct cell_procs *p, struct cell_window *w)
{
	struct sn_bench_snap prev;
	double cpu0[SN_SIDE__COUNT];

	if (!sn_bench_nap(e->stop, e->o->warmup)) {
		sn_bench_cell_fail(c, "interrupted");
		return false;
	}
	for (int s = 0; s < SN_SIDE__COUNT; s++)
		cpu0[s] = sn_proc_cpu_s(p->side[s].pid);
	sn_bench_snap_take(p->blk, &w->s0);
	prev = w->s1 = w->s0;
	for (unsigned int r = 0; r < e->o->reps; r++) {
		if (!measure_rep(e, c, p, &prev, &w->s1))
			return false;
		prev = w->s1;
	}
	c->secs = w->s1.t - w->s0.t;
	for (int s = 0; s < SN_SIDE__COUNT; s++) {
		double cpu1 = sn_proc_cpu_s(p->side[s].pid);

		if (cpu0[s] >= 0 && cpu1 >= 0 && c->secs > 0)
			c->cpu_pct[s] = (cpu1 - cpu0[s]) / c->secs * 100;
	}
	c->c.pkts = w->s1.v[p->recv][p->pkts] - w->s0.v[p->recv][p->pkts];
	c->c.bytes = w->s1.v[p->recv][p->bytes] - w->s0.v[p->recv][p->bytes];
	sn_bench_counters_fill(&c->c, &w->ready, &w->s0, &w->s1);
	return true;
}

static void stop_daemon(struct sn_bench_cell *c, struct cell_proc *pr)
{
	int st;

	if (pr->pid <= 0)
		return;
	st = sn_proc_stop(pr->pid, DAEMON_STOP_MS);
	pr->pid = -1;
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		sn_bench_cell_fail(c, "%s did not exit cleanly (%s %d)", pr->role,
				   st < 0 ? "killed" : WIFEXITED(st) ? "status" : "signal",
				   st < 0 ? 9 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* The frontend first: its exit report carries its sink's verdict (guest
 * RX), and the backend still answers its last requests. */
static void stop_all(const struct sn_bench_env *e, struct sn_bench_cell *c,
		     struct cell_procs *p)
{
	stop_daemon(c, &p->side[SN_SIDE_FRONT]);
	run_helper(e, &p->vif_del);
	stop_daemon(c, &p->side[SN_SIDE_BACK]);
}

/* Whether every packet arrived intact: the receiving port's own verdict,
 * else (guest TX, no sink report from the backend) every packet the frozen
 * frontend put on its rings must have reached the backend's sink, except
 * the burst a queue may have been writing when it froze (counted per
 * packet, published at the end of the burst). */
static void judge_delivery(struct sn_bench_cell *c, const struct cell_procs *p,
			   const struct sn_bench_snap *q)
{
	uint64_t fe, be;

	if (sn_bench_port_verdict(p->side[p->recv].out, c)) {
		c->payload_checked = !c->light;
		return;
	}
	if (p->recv != SN_SIDE_BACK || q->t <= 0) {
		sn_bench_cell_fail(c, "no verdict from the receiving side");
		return;
	}
	fe = q->v[SN_SIDE_FRONT][SN_QS_tx_pkts];
	be = q->v[SN_SIDE_BACK][SN_QS_tx_pkts];
	c->unconfirmed = fe > be ? fe - be : 0;
	if (c->unconfirmed > (uint64_t)SN_BENCH_FRONT_BURST * c->queues)
		c->lost = c->unconfirmed;
}

static void dump_logs(const struct cell_procs *p)
{
	for (int s = 0; s < SN_SIDE__COUNT; s++) {
		const char *files[2] = { p->side[s].out, p->side[s].err };

		for (int i = 0; i < 2; i++) {
			char *txt = sn_slurp(files[i]);

			if (txt && *txt)
				fprintf(stderr, "--- %s\n%s", files[i], txt);
			free(txt);
		}
	}
}

/* The ping generator's report, left on the frontend's stderr at close. */
static void read_rtt(struct sn_bench_cell *c, const char *err)
{
	char *txt = sn_slurp(err);
	const char *l = txt ? strstr(txt, "gen ping: ") : NULL;
	const char *m = l ? strstr(l, "rtt_us median=") : NULL;

	if (!m || sscanf(m, "rtt_us median=%lf p99=%lf", &c->rtt_med_us, &c->rtt_p99_us) != 2)
		sn_bench_cell_fail(c, "no round trips reported by gen:ping");
	free(txt);
}

/* The daemons' run, from start to the window's counters. */
static void run_daemons(const struct sn_bench_env *e, struct sn_bench_cell *c,
			struct cell_procs *p, struct cell_window *w)
{
	char said[200];

	p->t_start = sn_bench_now();
	for (int s = 0; s < SN_SIDE__COUNT; s++) {
		struct sn_proc_spec spec = spec_of(e, &p->side[s]);

		p->side[s].pid = sn_proc_start(&spec);
		if (p->side[s].pid < 0) {
			sn_bench_cell_fail(c, "fork: %s", strerror((int)-p->side[s].pid));
			p->side[s].pid = -1;
			return;
		}
	}
	if (!wait_ready(e, c, p, &w->ready) || !measure(e, c, p, w))
		return;
	sn_last_line(p->side[SN_SIDE_FRONT].err, said, sizeof(said));
	sn_bench_cell_prove_mode(c, said);
	if (p->recv == SN_SIDE_BACK && c->status == SN_CELL_OK)
		sn_bench_quiesce_tx(p->side[SN_SIDE_FRONT].pid, c->queues, p->blk, &w->quiesced);
}

void sn_bench_cell_run(const struct sn_bench_env *e, struct sn_bench_cell *c, uint16_t devid)
{
	struct cell_procs *p = calloc(1, sizeof(*p));
	struct cell_window w;
	int rc;

	memset(&w, 0, sizeof(w));
	if (is_staging(c))
		snprintf(c->policy, sizeof(c->policy), "%s", e->o->policy);
	if (!p) {
		sn_bench_cell_fail(c, "out of memory");
		return;
	}
	describe(e, c, devid, p);
	rc = run_helper(e, &p->vif_add);
	if (rc) {
		sn_bench_cell_fail(c, "vif-add failed (%d)", rc);
		free(p);
		return;
	}
	run_daemons(e, c, p, &w);
	stop_all(e, c, p);
	if (c->ping && c->status == SN_CELL_OK)
		read_rtt(c, p->side[SN_SIDE_FRONT].err);
	if (c->nreps && p->blk[SN_SIDE_BACK] && p->blk[SN_SIDE_FRONT])
		judge_delivery(c, p, &w.quiesced);
	for (int s = 0; s < SN_SIDE__COUNT; s++)
		sn_stats_close(p->blk[s]);
	if (e->o->verbose)
		dump_logs(p);
	sn_bench_cell_finish(c);
	free(p);
}
