/* `stagenet bench`: the proposal's Performance section on this machine, from
 * a private emulated host and, per cell, a vif, a backend and a frontend
 * process whose published counters it samples (README "The benchmark"). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/limit.h"
#include "bench/primitives.h"
#include "bench/report.h"
#include "cli/cli.h"
#include "stagenet/stats.h"

#define MAX_LIST SN_OPT_LIST_MAX /* the table parses the lists */
#define MAX_CPUS 256
#define FE_DOMID 1
/* `stagenet front`'s burst: what a frozen queue may have counted but not
 * yet published. */
#define FRONT_BURST 32
#define MIN_REP_PKTS 256 /* a repetition is extended until it saw this many */
/* Big enough that the backend's RX backlog never drops a burst of 64 KiB
 * packets from the generator (the default 1 MiB holds 16). */
#define BACK_RX_QUEUE_BYTES "16777216"

static volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

struct bench_opts {
	const char *modes[MAX_LIST];
	unsigned int nmodes;
	const char *dirs[2];
	unsigned int ndirs;
	uint32_t frames[MAX_LIST];
	unsigned int nframes;
	uint16_t queues[MAX_LIST];
	unsigned int nqueues;
	const char *policy;
	double duration, warmup;
	unsigned int reps;
	const char *json, *plot;
	bool primitives, quick, keep, verbose;
};

struct bench {
	struct bench_opts o;
	char exe[PATH_MAX];
	char dir[PATH_MAX];
	char rundir[PATH_MAX + 8];
	pid_t host;
	int cpus[MAX_CPUS];
	int ncpus;
	int back_cpus, front_cpus; /* counts; back uses cpus[0..], front the rest */
	bool front_staging; /* `stagenet front` knows --staging */
	bool back_staging;  /* `stagenet back` knows --staging-max (0 = off) */
};

/* The command line as the table stores it; parse_opts turns it into
 * struct bench_opts. */
struct bench_args {
	struct sn_opt_list modes, dirs, frames, queues;
	int policy;
	double duration, warmup; /* < 0: not given */
	long reps;               /* 0: not given */
	const char *json, *plot;
	bool primitives, quick, keep, verbose;
};

static const struct sn_opt_choice bench_modes[] = {
	{ "copy", 0 }, { "linux", 1 }, { "staging", 2 }, { NULL, 0 },
};
static const struct sn_opt_choice bench_dirs[] = { { "tx", 0 }, { "rx", 1 }, { NULL, 0 } };
static const struct sn_opt_choice bench_policies[] = {
	{ "page", 0 }, { "header", 1 }, { NULL, 0 },
};

#define BENCH_OPT(field) .off = offsetof(struct bench_args, field)
static const struct sn_opt bench_opts[] = {
	{ .name = "modes", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(modes),
	  .choices = bench_modes, .help = "copy,linux,staging (default linux,staging)" },
	{ .name = "dirs", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(dirs),
	  .choices = bench_dirs, .max_items = 2,
	  .help = "tx,rx from the guest's view (default tx,rx)" },
	{ .name = "frames", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(frames), .min = 60,
	  .max = 65535,
	  .help = "frame sizes, e.g. 60,128,256,1514,65535 (65535 = 64 KiB GSO; default "
		  "60,65535)" },
	{ .name = "queues", .arg = "LIST", .kind = SN_OPT_LIST, BENCH_OPT(queues), .min = 1,
	  .max = 16, .help = "queue counts (default 1,2)" },
	{ .name = "staging-policy", .arg = "P", .kind = SN_OPT_CHOICE, BENCH_OPT(policy),
	  .choices = bench_policies,
	  .help = "page|header (default page: TX and RX through staged pages; header "
		  "stages only TX's first 256 bytes)" },
	{ .name = "duration", .arg = "S", .kind = SN_OPT_DOUBLE, BENCH_OPT(duration),
	  .min = 0.01, .max = 3600, .help = "seconds per repetition (default 0.5)" },
	{ .name = "warmup", .arg = "S", .kind = SN_OPT_DOUBLE, BENCH_OPT(warmup), .min = 0,
	  .max = 3600, .help = "seconds before measuring (default 0.5)" },
	{ .name = "reps", .arg = "N", .kind = SN_OPT_LONG, BENCH_OPT(reps), .min = 1,
	  .max = SN_BENCH_MAX_REPS,
	  .help = "repetitions per cell, median reported (default 3)" },
	{ .name = "json", .arg = "FILE", .kind = SN_OPT_STR, BENCH_OPT(json),
	  .help = "one JSON object per cell (and per limit row)" },
	{ .name = "plot", .arg = "FILE.png", .kind = SN_OPT_STR, BENCH_OPT(plot),
	  .help = "before/after bars (gnuplot)" },
	{ .name = "primitives", .kind = SN_OPT_SET, BENCH_OPT(primitives),
	  .help = "also run the grant/event cost probe" },
	{ .name = "quick", .kind = SN_OPT_SET, BENCH_OPT(quick),
	  .help = "tiny durations (tests): warm-up 0.05 s, 2 x 0.1 s" },
	{ .name = "keep", .kind = SN_OPT_SET, BENCH_OPT(keep),
	  .help = "keep the work directory (logs) and print its path" },
	{ .name = "verbose", .short_name = 'v', .kind = SN_OPT_SET, BENCH_OPT(verbose),
	  .help = "progress and process logs on stderr" },
	{ .name = NULL },
};
#undef BENCH_OPT

const struct sn_opts_spec sn_bench_spec = {
	.cmd = "bench",
	.doc = "Reproduce the proposal's Performance tables on this machine: guest TX and "
	       "RX, before (linux) and after (staging), 64-byte frames and 64 KiB GSO bulk, "
	       "per queue count, with the limit row (a bare shared-memory ring between two "
	       "processes).  Starts and stops its own emulated host, backend and frontend.",
	.opts = bench_opts,
};

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	struct bench_args a = { .modes = { 2, { 1, 2 } }, .dirs = { 2, { 0, 1 } },
				.frames = { 2, { 60, 65535 } }, .queues = { 2, { 1, 2 } },
				.duration = -1, .warmup = -1 };
	int rc;

	rc = sn_opts_parse(&sn_bench_spec, argc, argv, &a);
	if (rc)
		return rc;
	*o = (struct bench_opts){ .nmodes = a.modes.n, .ndirs = a.dirs.n,
				  .nframes = a.frames.n, .nqueues = a.queues.n,
				  .policy = bench_policies[a.policy].name,
				  .duration = a.duration >= 0 ? a.duration : a.quick ? 0.1 : 0.5,
				  .warmup = a.warmup >= 0 ? a.warmup : a.quick ? 0.05 : 0.5,
				  .reps = a.reps ? (unsigned int)a.reps : a.quick ? 2 : 3,
				  .json = a.json, .plot = a.plot, .primitives = a.primitives,
				  .quick = a.quick, .keep = a.keep, .verbose = a.verbose };
	for (unsigned int k = 0; k < a.modes.n; k++)
		o->modes[k] = bench_modes[a.modes.v[k]].name;
	for (unsigned int k = 0; k < a.dirs.n; k++)
		o->dirs[k] = bench_dirs[a.dirs.v[k]].name;
	for (unsigned int k = 0; k < a.frames.n; k++)
		o->frames[k] = (uint32_t)a.frames.v[k];
	for (unsigned int k = 0; k < a.queues.n; k++)
		o->queues[k] = (uint16_t)a.queues.v[k];
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep, cut short by SIGINT/SIGTERM; returns false if interrupted. */
static bool nap(double s)
{
	double end = now_s() + s;

	while (!bench_stop) {
		double left = end - now_s();
		struct timespec ts;

		if (left <= 0)
			return true;
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
	return false;
}

/* fork + exec ourselves with argv (argv[0] ignored), output to files,
 * pinned to cpus[0..ncpus) first so every thread it starts inherits it. */
static pid_t spawn(const struct bench *b, char **argv, const char *out, const char *err,
		   const int *cpus, int ncpus)
{
	pid_t pid, parent = getpid();

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* If the bench dies without stopping us, stop anyway (cleanly: the
	 * daemons handle SIGTERM). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
		_exit(125);
	if (ncpus > 0 && sn_bench_pin(cpus, ncpus))
		_exit(126);
	{
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int n = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (o < 0 || e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
	}
	argv[0] = (char *)"stagenet";
	execv(b->exe, argv);
	_exit(127);
}

/* SIGTERM, wait up to timeout, then SIGKILL.  Returns the wait status, or
 * -1 if it had to be killed. */
static int stop_proc(pid_t pid, double timeout)
{
	double end = now_s() + timeout;
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	while (now_s() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return r == pid ? st : 0;
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Run a short helper (vif-add, vif-del, --help) to completion. */
static int run_wait(const struct bench *b, char **argv, const char *out, const char *err,
		    double timeout)
{
	pid_t pid = spawn(b, argv, out, err, NULL, 0);
	double end = now_s() + timeout;
	int st;

	if (pid < 0)
		return -errno;
	while (now_s() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -ETIMEDOUT;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (buf) {
		size_t got = fread(buf, 1, (size_t)len, f);

		buf[got] = '\0';
	}
	fclose(f);
	return buf;
}

static bool help_mentions(const struct bench *b, const char *cmd, const char *opt)
{
	char out[PATH_MAX + 32], *txt;
	char *argv[] = { NULL, (char *)cmd, (char *)"--help", NULL };
	bool yes = false;

	snprintf(out, sizeof(out), "%s/help-%s.txt", b->dir, cmd);
	if (run_wait(b, argv, out, NULL, 10) == 0 && (txt = slurp(out))) {
		yes = strstr(txt, opt) != NULL;
		free(txt);
	}
	unlink(out);
	return yes;
}

static int host_start(struct bench *b)
{
	char out[PATH_MAX + 16], err[PATH_MAX + 16], *txt, *p, *nl;
	char *argv[] = { NULL, (char *)"host", (char *)"--dir", b->dir, (char *)"--quiet", NULL };
	double end = now_s() + 10;

	snprintf(out, sizeof(out), "%s/host.out", b->dir);
	snprintf(err, sizeof(err), "%s/host.err", b->dir);
	b->host = spawn(b, argv, out, err, NULL, 0);
	if (b->host < 0)
		return -errno;
	while (now_s() < end && !bench_stop) {
		int st;

		if (waitpid(b->host, &st, WNOHANG) == b->host) {
			b->host = -1;
			fprintf(stderr, "stagenet bench: the emulated host exited (see %s)\n", err);
			return -ECHILD;
		}
		txt = slurp(out);
		if (txt && (p = strstr(txt, "XENSTORED_PATH=")) && (nl = strchr(p, '\n'))) {
			*nl = '\0';
			setenv("XENSTORED_PATH", p + strlen("XENSTORED_PATH="), 1);
			free(txt);
			return 0;
		}
		free(txt);
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	fprintf(stderr, "stagenet bench: the emulated host did not come up\n");
	return -ETIMEDOUT;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* Counter sums over every queue of both processes: [0] back, [1] front. */
struct snap {
	uint64_t v[2][SN_QS__COUNT];
	double t;
};

static void snap_take(struct sn_stats_block *const blk[2], struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (int side = 0; side < 2; side++)
		if (blk[side])
			sn_stats_totals(blk[side], s->v[side]);
	s->t = now_s();
}

static uint64_t both(const struct snap *a, const struct snap *b, enum sn_qstat c)
{
	return (b->v[0][c] - a->v[0][c]) + (b->v[1][c] - a->v[1][c]);
}

static uint64_t drops(const struct snap *a, const struct snap *b)
{
	static const enum sn_qstat d[] = { SN_QS_tx_drop_malformed, SN_QS_tx_drop_grant,
		SN_QS_tx_drop_port, SN_QS_rx_drop_no_slots, SN_QS_rx_drop_queue_full,
		SN_QS_rx_drop_grant, SN_QS_rx_drop_port, SN_QS_fatal_errors };
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		n += both(a, b, d[i]);
	return n;
}

static uint64_t token(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* The sink's verdict from a process's exit report: lines like
 * "front port 0: sent=.. lost=.. bad_seq=.. bad_payload=..".  Returns true
 * if any such line was found. */
static bool parse_port_lines(const char *path, uint64_t *lost, uint64_t *bad_seq,
			     uint64_t *bad_payload)
{
	char *txt = slurp(path), *save = NULL;
	bool found = false;

	if (!txt)
		return false;
	for (char *l = strtok_r(txt, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strstr(l, "port") || !strstr(l, " lost=") || !strstr(l, "bad_payload="))
			continue;
		found = true;
		*lost += token(l, " lost=");
		*bad_seq += token(l, "bad_seq=");
		*bad_payload += token(l, "bad_payload=");
	}
	free(txt);
	return found;
}

static void last_line(const char *path, char *buf, size_t len)
{
	char *txt = slurp(path), *end, *start;

	buf[0] = '\0';
	if (!txt)
		return;
	end = txt + strlen(txt);
	while (end > txt && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(txt, '\n');
	snprintf(buf, len, "%s", start ? start + 1 : txt);
	free(txt);
}

static bool child_exited(pid_t *pid, int *st)
{
	if (*pid > 0 && waitpid(*pid, st, WNOHANG) == *pid) {
		*pid = -1;
		return true;
	}
	return false;
}

/* Guest TX without a sink report from the backend: freeze the frontend
 * (no new requests), let the busy-polling backend drain the rings, and take
 * the counters once both sides' packet counts agree, or once the backend
 * has stopped moving for 200 ms short of at most the bursts the frozen
 * queues may have counted but not yet published, or after 5 s. */
static void quiesce_tx(pid_t front, uint16_t queues, struct sn_stats_block *const blk[2],
		       struct snap *out)
{
	double end = now_s() + 5, still_since = now_s();
	uint64_t last = UINT64_MAX;
	struct snap a;

	if (front <= 0 || kill(front, SIGSTOP))
		return;
	for (;;) {
		uint64_t be, fe;

		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		snap_take(blk, &a);
		be = a.v[0][SN_QS_tx_pkts];
		fe = a.v[1][SN_QS_tx_pkts];
		if (be != last) {
			last = be;
			still_since = a.t;
		}
		if (be >= fe || a.t > end ||
		    (a.t - still_since > 0.2 && fe - be <= (uint64_t)FRONT_BURST * queues))
			break;
	}
	*out = a;
	kill(front, SIGCONT);
}

static void run_cell(struct bench *b, struct sn_bench_cell *c, uint16_t devid)
{
	bool tx = !strcmp(c->dir, "tx"), staging = !strcmp(c->mode, "staging");
	char sdev[8], sq[8], gen[48], p[8][PATH_MAX + 48], why[200];
	struct sn_stats_block *blk[2] = { NULL, NULL };
	struct snap s_ready, s0, s1, s_prev, s_q = { .t = 0 };
	pid_t back = -1, front = -1;
	enum sn_qstat rpk = tx ? SN_QS_tx_pkts : SN_QS_rx_pkts;
	enum sn_qstat rby = tx ? SN_QS_tx_bytes : SN_QS_rx_bytes;
	int rs = tx ? 0 : 1; /* receiving side: back for guest TX */
	double deadline;
	int st, n;

	snprintf(sdev, sizeof(sdev), "%u", devid);
	snprintf(sq, sizeof(sq), "%u", c->queues);
	snprintf(gen, sizeof(gen), "gen:size=%u", c->frame);
	snprintf(p[0], sizeof(p[0]), "%s/back-%u.out", b->dir, devid);
	snprintf(p[1], sizeof(p[1]), "%s/back-%u.err", b->dir, devid);
	snprintf(p[2], sizeof(p[2]), "%s/front-%u.out", b->dir, devid);
	snprintf(p[3], sizeof(p[3]), "%s/front-%u.err", b->dir, devid);
	snprintf(p[4], sizeof(p[4]), "%s/back-%u-%u.stats", b->rundir, FE_DOMID, devid);
	snprintf(p[5], sizeof(p[5]), "%s/front-%u-%u.stats", b->rundir, FE_DOMID, devid);
	snprintf(p[6], sizeof(p[6]), "%s/vif-%u.log", b->dir, devid);
	if (staging)
		snprintf(c->policy, sizeof(c->policy), "%s", b->o.policy);
	if (staging && !b->front_staging) {
		c->status = SN_CELL_SKIPPED;
		snprintf(c->reason, sizeof(c->reason),
			 "this build's `stagenet front` has no --staging option");
		return;
	}

	{
		char *argv[] = { NULL, (char *)"vif-add", (char *)"--domid", (char *)"1",
				 (char *)"--devid", sdev, (char *)"--queues", sq, NULL };

		n = run_wait(b, argv, p[6], p[6], 10);
		if (n) {
			sn_bench_cell_fail(c, "vif-add failed (%d)", n);
			return;
		}
	}
	{
		char *argv[24] = { NULL, (char *)"back", (char *)"--quiet", (char *)"--busy-poll",
				   (char *)"--port", tx ? (char *)"sink" : gen,
				   (char *)"--tx-path",
				   !strcmp(c->mode, "copy") ? (char *)"copy" : (char *)"linux",
				   (char *)"--max-queues", sq,
				   (char *)"--rx-queue-bytes", (char *)BACK_RX_QUEUE_BYTES };
		int a = 12;

		/* Staging is an optimisation on top of the Linux path (unknown
		 * grefs still take it).  The baselines get a backend without it,
		 * as the proposal's "before" had. */
		if (b->back_staging && !staging) {
			argv[a++] = (char *)"--staging-max";
			argv[a++] = (char *)"0";
		}
		argv[a] = NULL;
		back = spawn(b, argv, p[0], p[1], b->cpus, b->back_cpus);
	}
	{
		char *argv[24] = { NULL, (char *)"front", (char *)"--domid", (char *)"1",
				   (char *)"--devid", sdev, (char *)"--queues", sq,
				   (char *)"--busy-poll", (char *)"--port", tx ? gen : (char *)"sink",
				   (char *)"--connect-timeout", (char *)"15000",
				   /* A sink has no input, so it "ends" at once:
				    * do not let the frontend exit on its own. */
				   (char *)"--linger-ms", (char *)"86400000" };
		int a = 15;

		if (b->front_staging) {
			argv[a++] = (char *)"--staging";
			argv[a++] = staging ? (char *)b->o.policy : (char *)"off";
		}
		argv[a] = NULL;
		front = spawn(b, argv, p[2], p[3], b->cpus + b->back_cpus, b->front_cpus);
	}
	if (back < 0 || front < 0) {
		sn_bench_cell_fail(c, "fork: %s", strerror(errno));
		goto stop;
	}

	/* Ready when both have published counters and packets arrive. */
	deadline = now_s() + 20;
	for (;;) {
		if (bench_stop) {
			sn_bench_cell_fail(c, "interrupted");
			goto stop;
		}
		if (child_exited(&back, &st) || child_exited(&front, &st)) {
			last_line(back < 0 ? p[1] : p[3], why, sizeof(why));
			sn_bench_cell_fail(c, "%s exited early: %s", back < 0 ? "back" : "front", why);
			goto stop;
		}
		for (int side = 0; side < 2; side++)
			if (!blk[side])
				sn_stats_open(p[4 + side], &blk[side]);
		if (blk[0] && blk[1]) {
			snap_take(blk, &s_ready);
			if (s_ready.v[rs][rpk])
				break;
		}
		if (now_s() > deadline) {
			sn_bench_cell_fail(c, "no packets within 20 s (%s)",
					   blk[0] && blk[1] ? "connected?" : "not published");
			goto stop;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	if (!nap(b->o.warmup)) {
		sn_bench_cell_fail(c, "interrupted");
		goto stop;
	}
	snap_take(blk, &s0);
	s_prev = s1 = s0;
	for (unsigned int r = 0; r < b->o.reps; r++) {
		double dt, rep_end = now_s() + 20 * b->o.duration + 2;
		bool ok = nap(b->o.duration);

		/* A window must hold some packets: on a loaded machine a
		 * busy-polling process can lose its CPU for longer than a
		 * --quick window, and "no packets" would be noise, not a rate. */
		while (ok) {
			snap_take(blk, &s1);
			if (s1.v[rs][rpk] - s_prev.v[rs][rpk] >= MIN_REP_PKTS || now_s() > rep_end)
				break;
			ok = nap(0.01);
		}
		if (!ok) {
			sn_bench_cell_fail(c, "interrupted");
			goto stop;
		}
		if (child_exited(&back, &st) || child_exited(&front, &st)) {
			last_line(back < 0 ? p[1] : p[3], why, sizeof(why));
			sn_bench_cell_fail(c, "%s exited during the measurement: %s",
					   back < 0 ? "back" : "front", why);
			goto stop;
		}
		dt = s1.t - s_prev.t;
		c->rep_mpps[r] = (double)(s1.v[rs][rpk] - s_prev.v[rs][rpk]) / dt / 1e6;
		c->rep_gbps[r] = (double)(s1.v[rs][rby] - s_prev.v[rs][rby]) * 8 / dt / 1e9;
		c->nreps++;
		s_prev = s1;
	}
	c->secs = s1.t - s0.t;
	c->c.pkts = s1.v[rs][rpk] - s0.v[rs][rpk];
	c->c.bytes = s1.v[rs][rby] - s0.v[rs][rby];
	c->c.grant_copies = both(&s0, &s1, SN_QS_grant_copies);
	c->c.grant_copy_batches = both(&s0, &s1, SN_QS_grant_copy_batches);
	c->c.grant_maps = both(&s0, &s1, SN_QS_grant_maps);
	c->c.grant_unmaps = both(&s0, &s1, SN_QS_grant_unmaps);
	c->c.memcpy_bytes = both(&s0, &s1, SN_QS_memcpy_bytes);
	c->c.notifications = both(&s0, &s1, SN_QS_notify_sent);
	c->c.staged_slots = both(&s0, &s1, SN_QS_staged_slots);
	c->c.unstaged_slots = both(&s0, &s1, SN_QS_unstaged_slots);
	c->c.drops = drops(&s_ready, &s1);
	/* An "after" figure must really be staging: a frontend that fell
	 * back to normal grants (said once on its stderr) would pass the
	 * baseline off as the optimisation.  Header staging leaves RX alone. */
	if (staging && !c->c.staged_slots && !(!tx && !strcmp(b->o.policy, "header"))) {
		last_line(p[3], why, sizeof(why));
		sn_bench_cell_fail(c, "no slot went through staging (front: %s)", why);
	}

	if (tx && c->status == SN_CELL_OK)
		quiesce_tx(front, c->queues, blk, &s_q);
stop:
	/* Sender side's frontend first: its exit report carries its sink's
	 * verdict (guest RX), and the backend still answers its last requests. */
	if (front > 0) {
		st = stop_proc(front, 8);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
			sn_bench_cell_fail(c, "front did not exit cleanly (%s %d)",
					   st == -1 ? "killed" : WIFEXITED(st) ? "status" : "signal",
					   st == -1 ? 9 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	front = -1;
	{
		char tmo[] = "3000";
		char *argv[] = { NULL, (char *)"vif-del", (char *)"--domid", (char *)"1",
				 (char *)"--devid", sdev, (char *)"--timeout-ms", tmo, NULL };

		run_wait(b, argv, p[6], p[6], 10);
	}
	if (back > 0) {
		st = stop_proc(back, 8);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
			sn_bench_cell_fail(c, "back did not exit cleanly (%s %d)",
					   st == -1 ? "killed" : WIFEXITED(st) ? "status" : "signal",
					   st == -1 ? 9 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	back = -1;
	if (c->nreps && blk[0] && blk[1]) {
		if (parse_port_lines(tx ? p[0] : p[2], &c->lost, &c->bad_seq, &c->bad_payload)) {
			c->payload_checked = true;
		} else if (tx && s_q.t > 0) {
			/* No sink report from the backend: then every packet the
			 * frozen frontend put on its rings must have reached the
			 * backend's sink, except the burst a queue may have been
			 * writing when it froze (counted per packet, published
			 * at the end of the burst). */
			uint64_t fe = s_q.v[1][SN_QS_tx_pkts], be = s_q.v[0][SN_QS_tx_pkts];

			c->unconfirmed = fe > be ? fe - be : 0;
			if (c->unconfirmed > (uint64_t)FRONT_BURST * c->queues)
				c->lost = c->unconfirmed;
		} else {
			sn_bench_cell_fail(c, "no verdict from the receiving side");
		}
	}
	for (int side = 0; side < 2; side++)
		sn_stats_close(blk[side]);
	if (b->o.verbose) {
		for (int i = 0; i < 4; i++) {
			char *txt = slurp(p[i]);

			if (txt && *txt)
				fprintf(stderr, "--- %s\n%s", p[i], txt);
			free(txt);
		}
	}
	sn_bench_cell_finish(c);
}

static void fill_limit_fractions(struct sn_bench_cell *cells, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cells[i].mode, "staging") || cells[i].status != SN_CELL_OK)
			continue;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(cells[j].mode, "limit") && cells[j].frame == cells[i].frame &&
			    cells[j].status == SN_CELL_OK && cells[j].mpps > 0)
				cells[i].limit_fraction = cells[i].mpps / cells[j].mpps;
	}
}

/* The limit row of one frame size, or (again) a second set of repetitions
 * merged into it. */
static void run_limit(const struct bench *b, uint32_t frame, struct sn_bench_cell *c, bool again)
{
	struct sn_limit_cfg lc = {
		.frame = frame, .warmup_s = b->o.warmup,
		.duration_s = b->o.duration, .reps = b->o.reps,
		.cpu_cons = b->ncpus >= 2 ? b->cpus[0] : -1,
		.cpu_prod = b->ncpus >= 2 ? b->cpus[b->back_cpus] : -1,
	};
	struct sn_bench_cell t;
	int rc;

	rc = sn_bench_limit(&lc, again ? &t : c);
	if (rc) {
		sn_bench_cell_fail(c, "could not run: %s", strerror(-rc));
		return;
	}
	if (!again)
		return;
	if (t.status != SN_CELL_OK)
		sn_bench_cell_fail(c, "%s", t.reason);
	for (unsigned int r = 0; r < t.nreps && c->nreps < SN_BENCH_MAX_REPS; r++) {
		c->rep_mpps[c->nreps] = t.rep_mpps[r];
		c->rep_gbps[c->nreps++] = t.rep_gbps[r];
	}
	c->secs += t.secs;
	c->c.pkts += t.c.pkts;
	c->c.bytes += t.c.bytes;
	c->c.memcpy_bytes += t.c.memcpy_bytes;
	c->lost += t.lost;
	c->bad_seq += t.bad_seq;
	c->bad_payload += t.bad_payload;
	c->payload_checked &= t.payload_checked;
	sn_bench_cell_finish(c);
}

static void progress(size_t i, size_t n, const struct sn_bench_cell *c)
{
	fprintf(stderr, "[%zu/%zu] %-7s %-2s frame %5u queues %u: ", i, n, c->mode, c->dir,
		c->frame, c->queues);
	if (c->status == SN_CELL_OK)
		fprintf(stderr, "%.3f Mpps, %.2f Gbit/s\n", c->mpps, c->gbps);
	else
		fprintf(stderr, "%s (%s)\n", c->status == SN_CELL_FAILED ? "FAILED" : "skipped",
			c->reason);
}

int sn_cmd_bench(int argc, char **argv)
{
	struct bench *b;
	struct sn_bench_cell *cells = NULL;
	size_t ncells = 0, cap, done = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	ssize_t len;
	int rc, ret = 1;
	bool failed = false;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->host = -1;
	rc = parse_opts(argc, argv, &b->o);
	if (rc) {
		free(b);
		return sn_opts_exit(rc);
	}
	len = readlink("/proc/self/exe", b->exe, sizeof(b->exe) - 1);
	if (len <= 0) {
		fprintf(stderr, "stagenet bench: cannot find my own binary: %s\n", strerror(errno));
		free(b);
		return 1;
	}
	b->exe[len] = '\0';
	snprintf(b->dir, sizeof(b->dir), "%s/stagenet-bench-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(b->dir)) {
		fprintf(stderr, "stagenet bench: mkdtemp %s: %s\n", b->dir, strerror(errno));
		free(b);
		return 1;
	}
	snprintf(b->rundir, sizeof(b->rundir), "%s/run", b->dir);
	if (mkdir(b->rundir, 0700) || setenv("SN_RUNDIR", b->rundir, 1)) {
		fprintf(stderr, "stagenet bench: %s: %s\n", b->rundir, strerror(errno));
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	b->ncpus = sn_bench_allowed_cpus(b->cpus, MAX_CPUS);
	if (b->ncpus >= 2) {
		b->back_cpus = b->ncpus / 2;
		b->front_cpus = b->ncpus - b->back_cpus;
	}
	b->front_staging = help_mentions(b, "front", "--staging");
	b->back_staging = help_mentions(b, "back", "--staging-max");

	cap = (size_t)b->o.nframes * (1 + (size_t)b->o.nmodes * b->o.ndirs * b->o.nqueues);
	cells = calloc(cap, sizeof(*cells));
	if (!cells)
		goto out;

	rc = host_start(b);
	if (rc)
		goto out;
	printf("stagenet bench: %u CPU(s)%s; busy-polling; warm-up %.2f s, %u x %.2f s per cell\n",
	       b->ncpus, b->ncpus >= 2 ? ", backend and frontend pinned apart" : "",
	       b->o.warmup, b->o.reps, b->o.duration);
	if (b->ncpus >= 2) {
		printf("  backend on CPU");
		for (int i = 0; i < b->back_cpus; i++)
			printf(" %d", b->cpus[i]);
		printf(", frontend on CPU");
		for (int i = 0; i < b->front_cpus; i++)
			printf(" %d", b->cpus[b->back_cpus + i]);
		printf("\n");
	}
	fflush(stdout);

	if (b->o.primitives) {
		struct sn_primitives_cfg pc = { .platform = SN_PLAT_EMU, .domid = 100,
						.stagenet_exe = b->exe };

		printf("\nPlatform primitives (stagenet probe):\n");
		if (sn_bench_primitives(&pc, stdout))
			fprintf(stderr, "stagenet bench: the primitives probe failed\n");
	}

	/* Per frame size: the ceiling, that size's cells, the ceiling again
	 * (merged), so a machine whose load drifts during the run does not
	 * compare the cells with a ceiling from another moment. */
	ncells = b->o.nframes;
	for (unsigned int f = 0; f < b->o.nframes && !bench_stop; f++) {
		run_limit(b, b->o.frames[f], &cells[f], false);
		for (unsigned int q = 0; q < b->o.nqueues; q++)
			for (unsigned int d = 0; d < b->o.ndirs; d++)
				for (unsigned int m = 0; m < b->o.nmodes && !bench_stop; m++) {
					struct sn_bench_cell *c = &cells[ncells];

					sn_bench_cell_init(c, b->o.modes[m], b->o.dirs[d],
							   b->o.frames[f], b->o.queues[q]);
					run_cell(b, c, (uint16_t)ncells);
					ncells++;
					progress(++done, cap, c);
				}
		if (!bench_stop)
			run_limit(b, b->o.frames[f], &cells[f], true);
		progress(++done, cap, &cells[f]);
	}
	fill_limit_fractions(cells, ncells);
	for (size_t i = 0; i < ncells; i++)
		failed |= cells[i].status == SN_CELL_FAILED;

	sn_bench_print_tables(stdout, cells, ncells);
	fflush(stdout);
	ret = failed || bench_stop ? 1 : 0;
	if (b->o.json) {
		FILE *f = fopen(b->o.json, "w");

		if (!f || sn_bench_write_json(f, cells, ncells) || fclose(f)) {
			fprintf(stderr, "stagenet bench: writing %s failed\n", b->o.json);
			ret = 1;
		}
	}
	if (b->o.plot) {
		rc = sn_bench_plot(b->o.plot, b->dir, cells, ncells);
		if (rc) {
			fprintf(stderr, "stagenet bench: plot %s: %s (is gnuplot installed?)\n",
				b->o.plot, strerror(-rc));
			ret = 1;
		}
	}
out:
	if (b->host > 0)
		stop_proc(b->host, 5);
	if (b->o.keep)
		fprintf(stderr, "stagenet bench: logs kept in %s\n", b->dir);
	else
		nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(cells);
	free(b);
	return ret;
}
