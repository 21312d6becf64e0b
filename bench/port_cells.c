/* `stagenet bench --port tap,vhost-user,xdp` (port_cells.h): the namespace
 * and its veth pair, the far-end counters and feeders, the cells, their
 * table. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/cell.h"
#include "bench/port_cells.h"
#include "bench/proc.h"
#include "bench/sample.h"
#include "bench/testpmd.h"
#include "stagenet/port.h"

#ifdef SN_HAVE_XDP
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

#define WIRE_DEV "snx1"
#define XDP_DEV "snx0"
#define TAP_DEV "snt0"
#define SAMPLE_NS 100000000L /* far-end counter sampling period */
#define MAX_SAMPLES 4096
#define FEED_WAIT_S 20       /* for the backend's TAP or socket to appear */
#define FEED_BATCH 32

/* The far end of one cell: a counter sampled by a thread, or a feeder
 * process. */
struct wire {
	const char *kind, *dir;
	uint32_t frame;
	const struct sn_bench_env *e;
	/* vhost-user: testpmd, its socket and telemetry, the cell's port specs */
	pid_t tp;
	struct sn_testpmd_tel tel;
	char sock[PATH_MAX], tp_out[PATH_MAX], back_spec[PATH_MAX + 16];
	int prog_fd;           /* XDP_DROP on snx1 (xdp, guest TX) */
	pthread_t thr;
	bool thr_started;
	atomic_bool stop;
	unsigned int ns;
	double t[MAX_SAMPLES];
	uint64_t v[MAX_SAMPLES];
	pid_t feeder;
	atomic_bool *feed_stop; /* shared with the feeder */
	double wire_mpps;      /* median of the sampled rates while traffic flowed */
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An ethtool statistic summed over every name containing key (veth keeps
 * one per queue), or a /proc net/dev field; both read in the calling
 * thread's network namespace. */
static uint64_t ethtool_sum(const char *dev, const char *key)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *st = NULL;
	struct ifreq ifr;
	uint64_t sum = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (char *)&di;
	if (ioctl(s, SIOCETHTOOL, &ifr) || !di.n_stats)
		goto out;
	names = calloc(1, sizeof(*names) + (size_t)di.n_stats * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + (size_t)di.n_stats * sizeof(uint64_t));
	if (!names || !st)
		goto out;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = di.n_stats;
	ifr.ifr_data = (char *)names;
	if (ioctl(s, SIOCETHTOOL, &ifr))
		goto out;
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = di.n_stats;
	ifr.ifr_data = (char *)st;
	if (ioctl(s, SIOCETHTOOL, &ifr))
		goto out;
	for (uint32_t i = 0; i < di.n_stats; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (strstr(name, key))
			sum += st->data[i];
	}
out:
	free(names);
	free(st);
	close(s);
	return sum;
}

static uint64_t netdev_rx_pkts(const char *dev)
{
	FILE *f = fopen("/proc/thread-self/net/dev", "r");
	char line[512];
	uint64_t v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;
		unsigned long long bytes, pkts;

		if (!colon)
			continue;
		*colon = '\0';
		while (*name == ' ')
			name++;
		if (!strcmp(name, dev) && sscanf(colon + 1, "%llu %llu", &bytes, &pkts) == 2)
			v = pkts;
	}
	fclose(f);
	return v;
}

/* Far-end count; the sampler is the only user of the telemetry while it
 * runs.  A read that fails repeats the last value (no packets in that
 * period), never a made-up one. */
static uint64_t wire_count(struct wire *w)
{
	struct sn_testpmd_port_stats st;

	if (!strcmp(w->kind, "xdp"))
		return ethtool_sum(WIRE_DEV, "xdp_drops");
	if (!strcmp(w->kind, "tap"))
		return netdev_rx_pkts(TAP_DEV);
	if (sn_testpmd_tel_stats(&w->tel, 0, &st))
		return w->ns ? w->v[w->ns - 1] : 0;
	return st.rx_pkts;
}

static void *sampler(void *arg)
{
	struct wire *w = arg;

	while (!atomic_load(&w->stop) && w->ns < MAX_SAMPLES) {
		w->t[w->ns] = sn_bench_now();
		w->v[w->ns] = wire_count(w);
		w->ns++;
		nanosleep(&(struct timespec){ .tv_nsec = SAMPLE_NS }, NULL);
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median rate of the sampling periods in which packets arrived, so
 * start-up and stop do not dilute it. */
static double wire_rate(const struct wire *w)
{
	double r[MAX_SAMPLES];
	unsigned int n = 0;

	for (unsigned int i = 1; i < w->ns; i++) {
		double dt = w->t[i] - w->t[i - 1];

		if (dt > 0 && w->v[i] > w->v[i - 1])
			r[n++] = (double)(w->v[i] - w->v[i - 1]) / dt / 1e6;
	}
	if (!n)
		return 0;
	qsort(r, n, sizeof(r[0]), cmp_double);
	return r[n / 2];
}

#ifdef SN_HAVE_XDP
/* XDP_DROP, as two instructions: nothing to compile, no BTF needed. */
static int drop_prog_attach(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_DROP },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "sn_bench_drop", "GPL", insns, 2, NULL);
	int ifindex = (int)if_nametoindex(WIRE_DEV);

	if (fd < 0)
		return fd;
	if (!ifindex || bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static void drop_prog_detach(int fd)
{
	int ifindex = (int)if_nametoindex(WIRE_DEV);

	if (ifindex)
		(void)bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	close(fd);
}
#endif

/* Generator frames for the frontend's sink, from the far end: through
 * this tree's xdp port on snx1, or an AF_PACKET socket on the backend's
 * TAP (the host stack's way into a TAP), a burst per sendmmsg and past the
 * qdisc, as a packet generator on a real NIC would. */
static void feeder_main(const struct wire *w)
{
	struct sn_port_ctx ctx = { .nqueues = 1, .backend = true };
	struct sn_port *gen = NULL, *out = NULL;
	struct sn_pkt pkt[FEED_BATCH], *pp[FEED_BATCH];
	struct mmsghdr mm[FEED_BATCH];
	struct iovec iov[FEED_BATCH];
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	int one = 1;
	char spec[64];
	int ps = -1;
	double until = sn_bench_now() + FEED_WAIT_S;

	snprintf(spec, sizeof(spec), "gen:size=%u", w->frame);
	if (sn_port_open(spec, &ctx, &gen))
		_exit(1);
	for (int i = 0; i < FEED_BATCH; i++) {
		pkt[i].data = malloc(2048);
		pkt[i].cap = 2048;
		pp[i] = &pkt[i];
		if (!pkt[i].data)
			_exit(1);
	}
	if (!strcmp(w->kind, "xdp")) {
		if (sn_port_open("xdp:" WIRE_DEV, &ctx, &out))
			_exit(1);
	} else {
		/* The TAP appears when the backend connects. */
		while (!(to.sll_ifindex = (int)if_nametoindex(TAP_DEV)) &&
		       sn_bench_now() < until && !atomic_load(w->feed_stop))
			usleep(10000);
		ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (ps < 0 || !to.sll_ifindex)
			_exit(1);
		(void)setsockopt(ps, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	}
	while (!atomic_load(w->feed_stop) && getppid() != 1) {
		int n = gen->ops->recv(gen, pp, FEED_BATCH);

		if (n <= 0)
			break;
		if (out) {
			(void)out->ops->send(out, pp, (unsigned int)n);
			continue;
		}
		for (int i = 0; i < n; i++) {
			iov[i] = (struct iovec){ .iov_base = pkt[i].data, .iov_len = pkt[i].len };
			mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to,
							       .msg_namelen = sizeof(to),
							       .msg_iov = &iov[i],
							       .msg_iovlen = 1 } };
		}
		/* A full TAP queue drops: the far end offers, the port takes
		 * what it can (counted as lost by the sink). */
		(void)sendmmsg(ps, mm, (unsigned int)n, MSG_DONTWAIT);
	}
	sn_port_close(out);
	_exit(0);
}

/* vhost-user's far end: testpmd's net_vhost listening on the cell's
 * socket, rxonly (guest TX) or txonly with frames of the cell's size
 * (guest RX), on the backend's CPU; the backend connects to it. */
static int testpmd_begin(struct wire *w, unsigned int cell)
{
	const struct sn_bench_env *e = w->e;
	bool tx = !strcmp(w->dir, "tx");
	char vdev[PATH_MAX + 64], prefix[64], txpkts[32];
	const char *vdevs[] = { vdev }, *extra[] = { txpkts, NULL };
	struct sn_testpmd_cfg c = { .prefix = prefix, .vdevs = vdevs, .nvdevs = 1,
				    .fwd = tx ? "rxonly" : "txonly", .queues = 1,
				    .extra = extra, .out = w->tp_out, .cpus = e->cpus,
				    .ncpus = e->ncpus >= 2 ? 1 : 0 };
	double until = sn_bench_now() + FEED_WAIT_S;
	struct stat sb;
	int rc;

	if (!sn_testpmd_available(NULL))
		return -ENOENT;
	snprintf(w->sock, sizeof(w->sock), "%s/vu-%u.sock", e->dir, cell);
	snprintf(w->tp_out, sizeof(w->tp_out), "%s/testpmd-%u.log", e->dir, cell);
	snprintf(prefix, sizeof(prefix), "sn-bench-%d-%u", (int)getpid(), cell);
	snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,queues=1", w->sock);
	snprintf(txpkts, sizeof(txpkts), "--txpkts=%u", w->frame);
	snprintf(w->back_spec, sizeof(w->back_spec), "vhost-user:%s", w->sock);
	unlink(w->sock);
	sn_testpmd_tel_init(&w->tel, prefix);
	rc = sn_testpmd_start(&c, &w->tp);
	if (rc)
		return rc;
	while (stat(w->sock, &sb)) {
		int st;

		if (*e->stop || sn_bench_now() > until || sn_proc_exited(&w->tp, &st))
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

static int wire_begin(struct wire *w, unsigned int cell)
{
	int rc;

	atomic_store(&w->stop, false);
	w->ns = 0;
	w->prog_fd = -1;
	w->feeder = -1;
	w->tp = -1;
	if (!strcmp(w->kind, "vhost-user")) {
		rc = testpmd_begin(w, cell);
		if (rc || !strcmp(w->dir, "rx"))
			return rc;
	} else if (!strcmp(w->dir, "rx")) {
		atomic_store(w->feed_stop, false);
		w->feeder = fork();
		if (w->feeder < 0)
			return -errno;
		if (w->feeder == 0)
			feeder_main(w);
		return 0;
	}
#ifdef SN_HAVE_XDP
	if (!strcmp(w->kind, "xdp")) {
		w->prog_fd = drop_prog_attach();
		if (w->prog_fd < 0)
			return w->prog_fd;
	}
#endif
	if (pthread_create(&w->thr, NULL, sampler, w))
		return -EAGAIN;
	w->thr_started = true;
	return 0;
}

static void wire_end(struct wire *w)
{
	if (w->thr_started) {
		atomic_store(&w->stop, true);
		pthread_join(w->thr, NULL);
		w->thr_started = false;
		w->wire_mpps = wire_rate(w);
	}
#ifdef SN_HAVE_XDP
	if (w->prog_fd >= 0)
		drop_prog_detach(w->prog_fd);
#endif
	w->prog_fd = -1;
	if (w->tp > 0 || w->tel.rundir[0]) {
		(void)sn_testpmd_stop(w->tp, NULL, NULL);
		w->tp = -1;
		sn_testpmd_tel_close(&w->tel);
		w->tel.rundir[0] = '\0';
		unlink(w->sock);
	}
	if (w->feeder > 0) {
		atomic_store(w->feed_stop, true);
		for (int i = 0; i < 300; i++) {
			if (waitpid(w->feeder, NULL, WNOHANG) == w->feeder) {
				w->feeder = -1;
				break;
			}
			usleep(10000);
		}
		if (w->feeder > 0) {
			kill(w->feeder, SIGKILL);
			waitpid(w->feeder, NULL, 0);
			w->feeder = -1;
		}
	}
}

static bool is_port_cell(const struct sn_bench_cell *c)
{
	return strcmp(c->port, "gen") != 0;
}

/* gen's checked one-queue cells stand beside the port cells. */
static bool in_ports_table(const struct sn_bench_cell *c)
{
	if (is_port_cell(c))
		return true;
	return c->queues == 1 && !c->light && !c->event && !c->ping && c->frame <= 1514 &&
	       (!strcmp(c->mode, "linux") || !strcmp(c->mode, "staging"));
}

static const struct sn_bench_cell *tap_of(const struct sn_bench_cell *cells, size_t n,
					  const struct sn_bench_cell *c)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cells[i].port, "tap") && !strcmp(cells[i].dir, c->dir) &&
		    !strcmp(cells[i].mode, c->mode) && cells[i].frame == c->frame &&
		    cells[i].status == SN_CELL_OK && cells[i].mpps > 0)
			return &cells[i];
	return NULL;
}

void sn_bench_print_ports(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	fprintf(f, "\nPorts (1 queue; Mpps as the far end counted, median of the "
		   "repetitions)\n");
	fprintf(f, "  %-10s %-3s %-8s %6s %9s %9s %7s %10s %8s  %s\n", "port", "dir", "mode",
		"frame", "Mpps", "port took", "x TAP", "lost", "drops", "status");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const struct sn_bench_cell *c = &cells[i], *t;
			char took[16] = "-", ratio[16] = "-";
			bool ok = c->status == SN_CELL_OK;

			if (!in_ports_table(c) || is_port_cell(c) != (pass == 1))
				continue;
			if (c->port_mpps >= 0)
				snprintf(took, sizeof(took), "%.3f", c->port_mpps);
			t = tap_of(cells, n, c);
			if (t && ok)
				snprintf(ratio, sizeof(ratio), "%.2f", c->mpps / t->mpps);
			fprintf(f, "  %-10s %-3s %-8s %6u %9.3f %9s %7s %10llu %8llu  %s\n", c->port,
				c->dir, c->mode, c->frame, ok ? c->mpps : 0.0, took, ratio,
				(unsigned long long)c->lost, (unsigned long long)c->c.drops,
				ok ? "ok" : c->reason);
		}
	fprintf(f, "  Mpps: gen: the receiving sink; tap/xdp/vhost-user guest TX: the far end "
		   "(TAP's RX counter,\n  XDP_DROP on the veth peer, testpmd rxonly's port "
		   "counter), guest RX: the frontend's sink.\n  port took: guest TX as the "
		   "backend's port accepted it.  lost: guest RX the far end offered\n  beyond "
		   "what the port took (a wire drops what nobody reads); drops: stagenet's own.\n"
		   "  A port cell is one 3-process chain on 2 CPUs (testpmd shares the backend's "
		   "CPU).\n");
}

/* A wire loses what its reader does not take in time: for these cells
 * lost packets and port drops are a measured quantity, not a failure;
 * corrupt payloads still are. */
static void wire_judge(struct sn_bench_cell *c)
{
	if (c->status != SN_CELL_FAILED || !c->nreps || c->bad_payload || c->bad_seq)
		return;
	if (!strstr(c->reason, "lost") && !strstr(c->reason, "dropped"))
		return;
	c->status = SN_CELL_OK;
	c->reason[0] = '\0';
}

/* Into the bench's namespace (this thread, and every process it starts
 * from now on), creating it and its veth pair. */
static int ns_enter(const char *name, int *self)
{
	char path[128];
	int fd;

	*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*self < 0)
		return -errno;
	if (sh("ip netns add %s", name)) {
		fprintf(stderr, "stagenet bench: ip netns add %s failed (root?)\n", name);
		return -EPERM;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	/* No IPv6 autoconfiguration: the kernel's own router solicitations
	 * on the TAP would reach the frontend's sink as foreign frames. */
	(void)sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	if (sh("ip link add " XDP_DEV " type veth peer name " WIRE_DEV " && "
	       "ip link set " XDP_DEV " up && ip link set " WIRE_DEV " up && ip link set lo up")) {
		fprintf(stderr, "stagenet bench: cannot create the veth pair\n");
		return -EIO;
	}
	return 0;
}

static void ns_leave(const char *name, int self)
{
	if (self >= 0) {
		(void)setns(self, CLONE_NEWNET);
		close(self);
	}
	(void)sh("ip netns del %s 2>/dev/null", name);
}

size_t sn_bench_port_cells_count(const struct sn_bench_opts *o)
{
	size_t k = 0;

	for (unsigned int p = 0; p < o->nports; p++)
		k += strcmp(o->ports[p], "gen") != 0;
	return k * o->ndirs * o->nmodes * o->nframes;
}

/* One cell of port kind on the far end w. */
static void port_cell(struct sn_bench_env *e, struct wire *w, struct sn_bench_cell *c,
		      uint16_t devid)
{
	char port[32];
	int rc;

	snprintf(c->port, sizeof(c->port), "%s", w->kind);
	w->wire_mpps = 0;
	if (c->frame > 1514) {
		sn_bench_cell_fail(c, "frames over 1514 B: the far end takes no GSO");
		c->status = SN_CELL_SKIPPED;
		return;
	}
	if ((rc = wire_begin(w, devid))) {
		if (rc == -ENOENT && !strcmp(w->kind, "vhost-user")) {
			sn_bench_cell_fail(c, "dpdk-testpmd not installed");
			c->status = SN_CELL_SKIPPED;
		} else {
			sn_bench_cell_fail(c, "far end: %s", strerror(-rc));
		}
		wire_end(w);
		return;
	}
	if (!strcmp(w->kind, "vhost-user")) {
		e->back_port = w->back_spec;
		/* testpmd's txonly frames carry no gen header. */
		e->front_port = "sink:foreign";
	} else {
		snprintf(port, sizeof(port), "%s:%s", w->kind,
			 !strcmp(w->kind, "xdp") ? XDP_DEV : TAP_DEV);
		e->back_port = port;
		e->front_port = NULL;
	}
	sn_bench_cell_run(e, c, devid);
	wire_end(w);
	e->back_port = NULL;
	e->front_port = NULL;
	wire_judge(c);
	/* Guest TX: the rate is what the far end counted. */
	if (!strcmp(c->dir, "tx") && c->status == SN_CELL_OK) {
		c->port_mpps = c->mpps;
		if (w->wire_mpps > 0) {
			c->mpps = c->mpps_min = c->mpps_max = w->wire_mpps;
			c->ns_per_pkt = 1e3 / w->wire_mpps;
		} else {
			sn_bench_cell_fail(c, "the far end counted nothing");
		}
	}
}

int sn_bench_port_cells_run(struct sn_bench_env *e, struct sn_bench_cell *cells, size_t cap,
			    size_t *n)
{
	const struct sn_bench_opts *o = e->o;
	char ns[64];
	atomic_bool *feed_stop;
	struct wire *w;
	int self = -1, rc;

	if (!sn_bench_port_cells_count(o))
		return 0;
	snprintf(ns, sizeof(ns), "stagenet-bench-%d", (int)getpid());
	w = calloc(1, sizeof(*w));
	feed_stop = mmap(NULL, sizeof(*feed_stop), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!w || feed_stop == MAP_FAILED) {
		rc = -ENOMEM;
		goto out;
	}
	w->feed_stop = feed_stop;
	w->e = e;
	w->tp = -1;
	rc = ns_enter(ns, &self);
	if (rc)
		goto out;
	for (unsigned int k = 0; k < o->nports; k++) {
		if (!strcmp(o->ports[k], "gen"))
			continue;
		for (unsigned int d = 0; d < o->ndirs; d++)
			for (unsigned int f = 0; f < o->nframes; f++)
				for (unsigned int m = 0; m < o->nmodes && !*e->stop && *n < cap;
				     m++) {
					struct sn_bench_cell *c = &cells[*n];

					sn_bench_cell_init(c, o->modes[m], o->dirs[d], o->frames[f],
							   1);
					w->kind = o->ports[k];
					w->dir = o->dirs[d];
					w->frame = o->frames[f];
					port_cell(e, w, c, (uint16_t)*n);
					fprintf(stderr, "[%s %s %s %u] %.3f Mpps%s%s\n", c->port,
						c->dir, c->mode, c->frame, c->mpps,
						c->status == SN_CELL_OK ? "" : ": ",
						c->status == SN_CELL_OK ? "" : c->reason);
					(*n)++;
				}
	}
out:
	ns_leave(ns, self);
	if (feed_stop != MAP_FAILED)
		munmap(feed_stop, sizeof(*feed_stop));
	free(w);
	return rc;
}
