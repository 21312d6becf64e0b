/* Cost probe: times each platform primitive through the ops table (grant
 * copy, map+unmap, event round trip between two domains) beside plain
 * memcpy, so the emulator's claim of honest costs can be checked on any
 * machine.  On emu it is self-contained: a private `stagenet host` unless
 * $XENSTORED_PATH is set, and a granter domain in a forked child. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/xen.h>

#include "bench/host.h"
#include "bench/primitives.h"
#include "bench/proc.h"

#define MEMCPY_MIN_ITERS 200000u
#define MEMCPY_ROUNDS 5
#define REPLY_TIMEOUT_MS 20000 /* granter start-up (ASan builds are slow) */
#define EVENT_TIMEOUT_MS 5000  /* one event delivery */
#define CHILD_EXIT_MS 5000     /* a child's orderly exit before SIGKILL */

/* Parent -> granter: who to grant to.  Granter -> parent: what it made. */
struct prim_hello {
	uint16_t user_domid;
};

struct prim_reply {
	int32_t rc; /* 0 or -errno; the rest is valid only when 0 */
	uint16_t granter_domid;
	uint32_t ref;  /* one writable page granted to the user */
	uint32_t port; /* unbound port for the user to bind */
};

struct prim_granter {
	pid_t pid;
	int sock; /* our end of the socketpair; closing it ends the granter */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double per_op(uint64_t t0, uint64_t t1, uint64_t n)
{
	return n ? (double)(t1 - t0) / (double)n : 0.0;
}

/* Read or write exactly len bytes, waiting at most timeout_ms overall for a
 * slow peer; -EPIPE on EOF. */
static int io_full(int fd, void *buf, size_t len, bool wr, int timeout_ms)
{
	uint8_t *b = buf;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
		int64_t left = (int64_t)(deadline - now_ns()) / 1000000;
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		/* MSG_NOSIGNAL: a dead peer is an -EPIPE, not a SIGPIPE. */
		n = wr ? send(fd, b, len, MSG_NOSIGNAL) : read(fd, b, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --- memcpy reference rows ---------------------------------------------- */

/* Best of MEMCPY_ROUNDS rounds: a copy this short is over before the CPU
 * leaves a low-power state or a stray interrupt is amortised, and the
 * reference row should show what memcpy costs, not what the scheduler did. */
static double time_memcpy(size_t len, uint32_t iters)
{
	/* Through a volatile pointer, an opaque call the compiler can neither
	 * drop nor hoist out of the loop.  It also keeps the measured copy
	 * libc's memcpy, which the datapath uses for its variable lengths:
	 * left alone, gcc replaces this one with a `rep movsq` specialised for
	 * the constant length, whose startup cost libc avoids for small
	 * copies. */
	void *(*volatile copy)(void *, const void *, size_t) = memcpy;
	const size_t cap = 4096;
	uint8_t *src = malloc(cap), *dst = malloc(cap);
	double best = -1.0;

	if (!src || !dst) {
		free(src);
		free(dst);
		return -1.0;
	}
	memset(src, 0x5A, cap);
	memset(dst, 0, cap);
	for (int round = 0; round < MEMCPY_ROUNDS; round++) {
		uint64_t t0 = now_ns(), t1;
		double ns;

		for (uint32_t i = 0; i < iters; i++) {
			copy(dst, src, len);
		}
		t1 = now_ns();
		ns = per_op(t0, t1, iters);
		if (best < 0 || ns < best)
			best = ns;
	}
	free(src);
	free(dst);
	return best;
}

/* --- granter domain (child process) ------------------------------------- */

/* Serve event round trips until the parent closes its end of the socket. */
static int granter_serve(struct sn_plat *p, struct sn_evtchn *e,
			 sn_port_t port, int sock)
{
	struct pollfd pfd[2] = {
		{ .fd = p->ops->evt_fd(e), .events = POLLIN },
		{ .fd = sock, .events = POLLIN },
	};

	for (;;) {
		int got;

		/* Drain first: an event may be pending without the fd having
		 * been polled yet. */
		while ((got = p->ops->evt_pending(e)) >= 0) {
			int rc = p->ops->evt_unmask(e, (sn_port_t)got);

			if (!rc && (sn_port_t)got == port)
				rc = p->ops->evt_notify(e, port);
			if (rc)
				return rc;
		}
		if (got != -EAGAIN)
			return got;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -errno;
		/* Any readiness of the socket is EOF (the parent sends
		 * nothing after the hello): time to finish. */
		if (pfd[1].revents)
			return 0;
	}
}

static void granter_main(enum sn_plat_kind kind, uint16_t domid,
			 const char *xs_path, int sock)
{
	struct sn_plat_cfg pc = { .kind = kind, .domid = domid,
				  .xs_path = xs_path };
	struct prim_reply rep = { .rc = 0 };
	struct prim_hello hello;
	struct sn_evtchn *e = NULL;
	struct sn_plat *p = NULL;
	void *page = NULL;
	int rc, port = -1;

	rc = io_full(sock, &hello, sizeof(hello), false, REPLY_TIMEOUT_MS);
	if (rc)
		goto out;
	rc = sn_plat_open(&pc, &p);
	if (rc) {
		fprintf(stderr, "stagenet probe: granter domain %u: open %s platform: %s\n",
			domid, sn_plat_kind_name(kind), strerror(-rc));
		goto out;
	}
	rc = p->ops->shr_alloc(p, hello.user_domid, 1, true, &rep.ref, &page);
	if (rc) {
		fprintf(stderr, "stagenet probe: granter: shr_alloc: %s\n",
			strerror(-rc));
		goto out_plat;
	}
	for (uint32_t i = 0; i < SN_PAGE_SIZE; i++)
		((uint8_t *)page)[i] = (uint8_t)i;
	rc = p->ops->evt_open(p, &e);
	if (rc) {
		fprintf(stderr, "stagenet probe: granter: evt_open: %s\n",
			strerror(-rc));
		goto out_page;
	}
	port = p->ops->evt_alloc_unbound(e, hello.user_domid);
	if (port < 0) {
		rc = port;
		fprintf(stderr, "stagenet probe: granter: evt_alloc_unbound: %s\n",
			strerror(-rc));
		goto out_evt;
	}
	rep.granter_domid = p->domid;
	rep.port = (uint32_t)port;
	rc = io_full(sock, &rep, sizeof(rep), true, REPLY_TIMEOUT_MS);
	if (rc)
		goto out_port;
	rc = granter_serve(p, e, (sn_port_t)port, sock);
	if (rc)
		fprintf(stderr, "stagenet probe: granter: event loop: %s\n",
			strerror(-rc));
out_port:
	p->ops->evt_unbind(e, (sn_port_t)port);
out_evt:
	p->ops->evt_close(e);
out_page:
	/* -EBUSY only means the user still maps it; it is quarantined. */
	p->ops->shr_free(p, page, 1);
out_plat:
	sn_plat_close(p);
out:
	if (rc && rc != -EPIPE) {
		rep.rc = rc;
		/* Best effort: the parent may already have given up. */
		io_full(sock, &rep, sizeof(rep), true, 100);
	}
	close(sock);
	/* _exit: the parent's stdio buffers and atexit handlers are not
	 * ours to run. */
	_exit(rc ? 1 : 0);
}

static int granter_start(struct prim_granter *g, enum sn_plat_kind kind,
			 uint16_t domid, const char *xs_path)
{
	pid_t parent;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	parent = getpid();
	g->pid = fork();
	if (g->pid < 0) {
		rc = -errno;
		g->pid = 0;
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (g->pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		close(sv[0]);
		granter_main(kind, domid, xs_path, sv[1]);
	}
	close(sv[1]);
	g->sock = sv[0];
	/* The emulated hypervisor running in the granter reaches into our
	 * process to deliver events (pidfd_getfd needs ptrace permission);
	 * under Yama ptrace_scope=1 only a declared ptracer may.  Harmless
	 * (EINVAL) where Yama is absent. */
	prctl(PR_SET_PTRACER, (unsigned long)g->pid, 0, 0, 0);
	return 0;
}

static int granter_stop(struct prim_granter *g)
{
	int status;

	if (g->pid <= 0)
		return 0;
	close(g->sock);
	status = sn_proc_wait(g->pid, CHILD_EXIT_MS);
	g->pid = 0;
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* --- platform rows ------------------------------------------------------ */

static int time_copy(struct sn_plat *p, uint16_t dom, uint32_t ref,
		     uint32_t iters, struct sn_primitives_result *res)
{
	sn_copy_seg segs[SN_PRIM_COPY_BATCH];
	uint8_t dst[SN_PRIM_COPY_BATCH * SN_PRIM_COPY_SEG_LEN];
	uint32_t warm = iters / 10 + 1;
	uint64_t t0 = 0, t1;

	memset(segs, 0, sizeof(segs));
	for (uint32_t i = 0; i < SN_PRIM_COPY_BATCH; i++) {
		segs[i].source.foreign.ref = ref;
		segs[i].source.foreign.domid = dom;
		segs[i].source.foreign.offset =
			(uint16_t)(i * SN_PRIM_COPY_SEG_LEN);
		segs[i].dest.virt = dst + i * SN_PRIM_COPY_SEG_LEN;
		segs[i].len = SN_PRIM_COPY_SEG_LEN;
		segs[i].flags = GNTCOPY_source_gref;
	}
	for (uint32_t it = 0; it < warm + iters; it++) {
		int rc;

		if (it == warm)
			t0 = now_ns();
		rc = sn_gnt_copy(p, SN_PRIM_COPY_BATCH, segs);
		if (rc) {
			fprintf(stderr, "stagenet probe: grant copy: %s\n",
				strerror(-rc));
			return rc;
		}
		for (uint32_t i = 0; i < SN_PRIM_COPY_BATCH; i++) {
			if (segs[i].status != GNTST_okay) {
				fprintf(stderr,
					"stagenet probe: grant copy segment %u: "
					"status %d\n",
					i, segs[i].status);
				return -EIO;
			}
		}
	}
	t1 = now_ns();
	/* The granter wrote byte i = i: the copies must have moved it. */
	for (uint32_t i = 0; i < sizeof(dst); i++) {
		if (dst[i] != (uint8_t)i) {
			fprintf(stderr, "stagenet probe: grant copy moved wrong data "
				"at byte %u\n", i);
			return -EIO;
		}
	}
	res->copy_batch = per_op(t0, t1, iters);
	res->copy_seg = res->copy_batch / SN_PRIM_COPY_BATCH;
	return 0;
}

static int time_map(struct sn_plat *p, uint16_t dom, uint32_t ref,
		    uint32_t iters, struct sn_primitives_result *res)
{
	uint32_t warm = iters / 10 + 1;
	uint64_t t0 = 0, t1;

	for (uint32_t it = 0; it < warm + iters; it++) {
		void *addr = NULL;
		int16_t st = GNTST_general_error;
		int rc;

		if (it == warm)
			t0 = now_ns();
		rc = p->ops->gnt_map(p, 1, &dom, &ref, true, &addr, &st);
		if (rc || st != GNTST_okay) {
			fprintf(stderr, "stagenet probe: grant map: %s (status %d)\n",
				rc ? strerror(-rc) : "ok", st);
			return rc ? rc : -EIO;
		}
		/* Every map is read once, as a backend reads what it maps:
		 * the first touch (a page fault filling the new PTE) and the
		 * TLB flush it makes the unmap do are part of the cost. */
		if (((volatile uint8_t *)addr)[7] != 7 && it == 0) {
			fprintf(stderr, "stagenet probe: grant map shows wrong data\n");
			p->ops->gnt_unmap(p, 1, &addr, &st);
			return -EIO;
		}
		rc = p->ops->gnt_unmap(p, 1, &addr, &st);
		if (rc || st != GNTST_okay) {
			fprintf(stderr, "stagenet probe: grant unmap: %s (status %d)\n",
				rc ? strerror(-rc) : "ok", st);
			return rc ? rc : -EIO;
		}
	}
	t1 = now_ns();
	res->map_unmap = per_op(t0, t1, iters);
	return 0;
}

/* Block (bounded) until `port` is delivered on e, then unmask it. */
static int wait_event(struct sn_plat *p, struct sn_evtchn *e, sn_port_t port)
{
	struct pollfd pfd = { .fd = p->ops->evt_fd(e), .events = POLLIN };

	for (;;) {
		int got = p->ops->evt_pending(e);

		if (got >= 0) {
			int rc = p->ops->evt_unmask(e, (sn_port_t)got);

			if (rc)
				return rc;
			if ((sn_port_t)got == port)
				return 0;
			continue;
		}
		if (got != -EAGAIN)
			return got;
		got = poll(&pfd, 1, EVENT_TIMEOUT_MS);
		if (got < 0 && errno != EINTR)
			return -errno;
		if (got == 0)
			return -ETIMEDOUT;
	}
}

static int time_events(struct sn_plat *p, uint16_t dom, uint32_t remote_port,
		       uint32_t iters, struct sn_primitives_result *res)
{
	uint32_t warm = iters / 10 + 1;
	struct sn_evtchn *e = NULL;
	uint64_t t0 = 0, t1;
	int rc, port;

	rc = p->ops->evt_open(p, &e);
	if (rc) {
		fprintf(stderr, "stagenet probe: evt_open: %s\n", strerror(-rc));
		return rc;
	}
	port = p->ops->evt_bind_interdomain(e, dom, remote_port);
	if (port < 0) {
		rc = port;
		fprintf(stderr, "stagenet probe: evt_bind_interdomain: %s\n",
			strerror(-rc));
		goto out;
	}
	for (uint32_t it = 0; it < warm + iters; it++) {
		if (it == warm)
			t0 = now_ns();
		rc = p->ops->evt_notify(e, (sn_port_t)port);
		if (!rc)
			rc = wait_event(p, e, (sn_port_t)port);
		if (rc) {
			fprintf(stderr, "stagenet probe: event round trip %u: %s\n",
				it, strerror(-rc));
			goto out_unbind;
		}
	}
	t1 = now_ns();
	res->evt_round_trip = per_op(t0, t1, iters);
out_unbind:
	p->ops->evt_unbind(e, (sn_port_t)port);
out:
	p->ops->evt_close(e);
	return rc;
}

/* --- entry points ------------------------------------------------------- */

/* A private host (bench/host.h), its failure said on stderr. */
static int start_host(struct sn_host *h, const char *exe)
{
	const struct sn_host_cfg hc = { .exe = exe ? exe : "/proc/self/exe",
					.prefix = "stagenet-probe" };
	int rc = sn_host_start(h, &hc);

	if (rc == -ECHILD)
		fprintf(stderr, "stagenet probe: `%s host` exited before it printed "
			"XENSTORED_PATH\n", hc.exe);
	else if (rc == -ETIMEDOUT)
		fprintf(stderr, "stagenet probe: `%s host` printed no XENSTORED_PATH in %d s\n",
			hc.exe, SN_HOST_READY_MS / 1000);
	else if (rc)
		fprintf(stderr, "stagenet probe: cannot start `%s host`: %s\n", hc.exe,
			strerror(-rc));
	if (rc)
		sn_host_remove(h);
	return rc;
}

int sn_bench_primitives_measure(const struct sn_primitives_cfg *cfg,
				struct sn_primitives_result *res)
{
	enum sn_plat_kind kind = cfg->platform;
	uint32_t iters = cfg->iters ? cfg->iters : SN_PRIM_DEFAULT_ITERS;
	uint32_t mc_iters = iters > MEMCPY_MIN_ITERS ? iters : MEMCPY_MIN_ITERS;
	uint16_t user = cfg->domid >= 0 ? (uint16_t)cfg->domid : 0;
	struct sn_host host = { .pid = -1 };
	struct prim_granter g = { .pid = 0 };
	struct sn_plat_cfg pc = { .kind = SN_PLAT_AUTO };
	struct prim_hello hello;
	struct prim_reply rep;
	const char *xs_path = NULL;
	struct sn_plat *p = NULL;
	int rc, rc2;

	if (kind == SN_PLAT_AUTO)
		kind = sn_plat_default_kind();
	if (kind == SN_PLAT_EMU && (uint32_t)user + 1 >= DOMID_FIRST_RESERVED) {
		fprintf(stderr, "stagenet probe: the granter domain would be %u, "
			"not a valid domid; use a smaller --domid\n", user + 1);
		return -EINVAL;
	}
	memset(res, 0, sizeof(*res));
	res->platform = kind;
	res->iters = iters;
	res->memcpy_64 = time_memcpy(64, mc_iters);
	res->memcpy_4k = time_memcpy(4096, mc_iters);
	if (res->memcpy_64 < 0 || res->memcpy_4k < 0)
		return -ENOMEM;

	if (kind == SN_PLAT_EMU && !getenv("XENSTORED_PATH")) {
		rc = start_host(&host, cfg->stagenet_exe);
		if (rc)
			return rc;
		xs_path = host.path;
	}
	rc = granter_start(&g, kind, (uint16_t)(user + 1), xs_path);
	if (rc) {
		fprintf(stderr, "stagenet probe: cannot start the granter: %s\n",
			strerror(-rc));
		goto out_host;
	}
	pc.kind = kind;
	pc.domid = user;
	pc.xs_path = xs_path;
	rc = sn_plat_open(&pc, &p);
	if (rc) {
		fprintf(stderr, "stagenet probe: user domain %u: open %s platform: %s\n",
			user, sn_plat_kind_name(kind), strerror(-rc));
		goto out_granter;
	}
	hello.user_domid = p->domid;
	rc = io_full(g.sock, &hello, sizeof(hello), true, REPLY_TIMEOUT_MS);
	if (!rc)
		rc = io_full(g.sock, &rep, sizeof(rep), false, REPLY_TIMEOUT_MS);
	if (!rc && rep.rc)
		rc = rep.rc < 0 ? rep.rc : -EPROTO;
	if (rc) {
		fprintf(stderr, "stagenet probe: granter domain did not come up: %s\n",
			strerror(-rc));
		goto out_plat;
	}
	res->user_domid = p->domid;
	res->granter_domid = rep.granter_domid;

	rc = time_copy(p, rep.granter_domid, rep.ref, iters, res);
	if (!rc)
		rc = time_map(p, rep.granter_domid, rep.ref, iters, res);
	if (!rc)
		rc = time_events(p, rep.granter_domid, rep.port, iters, res);

out_plat:
	sn_plat_close(p);
out_granter:
	rc2 = granter_stop(&g);
	if (!rc && rc2) {
		fprintf(stderr, "stagenet probe: the granter domain failed\n");
		rc = rc2;
	}
out_host:
	sn_host_stop(&host);
	sn_host_remove(&host);
	return rc;
}

static void row(FILE *out, const char *what, double ns, double ref)
{
	fprintf(out, "  %-40s %12.1f %10.1fx\n", what, ns, ref > 0 ? ns / ref : 0.0);
}

void sn_bench_primitives_print(const struct sn_primitives_result *r, FILE *out)
{
	fprintf(out, "stagenet probe: platform %s, user domain %u, granter domain %u, %u iterations\n",
		sn_plat_kind_name(r->platform), r->user_domid, r->granter_domid,
		r->iters);
	fprintf(out, "  %-40s %12s %11s\n", "operation", "ns/op", "vs memcpy64");
	row(out, "memcpy 64 B", r->memcpy_64, r->memcpy_64);
	row(out, "memcpy 4 KiB", r->memcpy_4k, r->memcpy_64);
	row(out, "grant copy 64 B, per segment (batch 32)", r->copy_seg,
	    r->memcpy_64);
	row(out, "grant copy batch of 32 x 64 B", r->copy_batch, r->memcpy_64);
	row(out, "grant map + read + unmap 1 page", r->map_unmap, r->memcpy_64);
	row(out, "event notify round trip", r->evt_round_trip, r->memcpy_64);
}

int sn_bench_primitives(const struct sn_primitives_cfg *cfg, FILE *out)
{
	struct sn_primitives_result r;
	int rc;

	rc = sn_bench_primitives_measure(cfg, &r);
	if (rc)
		return rc;
	sn_bench_primitives_print(&r, out);
	fflush(out);
	return 0;
}
