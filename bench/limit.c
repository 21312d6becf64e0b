/* The limit row: a gen-port process and a sink-port process joined only by an
 * SPSC ring in a shared memfd (memcpy in, memcpy out, bursts of 32): the
 * same frames and checks as every cell, without grants, events or protocol. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/limit.h"
#include "bench/proc.h"
#include "stagenet/port.h"

#define CL 64

/* Producer and consumer indices on their own cache lines: sharing one
 * would make every update bounce the other side's line too. */
struct limit_ctl {
	_Alignas(CL) _Atomic uint64_t tail; /* written by the producer */
	_Alignas(CL) _Atomic uint64_t head; /* written by the consumer */
	_Alignas(CL) _Atomic uint64_t pkts; /* consumer: delivered to the sink */
	_Atomic uint64_t bytes;
	_Alignas(CL) _Atomic int stop;
	_Atomic int prod_err, cons_err;
	_Atomic int cons_done;
	uint64_t lost, bad_seq, bad_payload; /* consumer, after stop */
};

struct limit_slot_hdr {
	uint32_t len;
	uint16_t flags, gso_size;
	uint8_t gso_type;
	uint8_t pad[CL - 9];
};

struct limit_ring {
	struct limit_ctl *ctl;
	uint8_t *slots;
	size_t stride;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Buffers one cache line apart, as the datapath's own (src/front/loop.c,
 * src/back/rx.c): a limit with a worse buffer layout would flatter the
 * cells. */
#define LIMIT_BUF_STRIDE (SN_PKT_BUF_SIZE + CL)

static int pkts_alloc(struct sn_pkt *pk, struct sn_pkt **pp, uint8_t **mem)
{
	*mem = malloc((size_t)SN_LIMIT_BATCH * LIMIT_BUF_STRIDE);
	if (!*mem)
		return -ENOMEM;
	for (unsigned int i = 0; i < SN_LIMIT_BATCH; i++) {
		memset(&pk[i], 0, sizeof(pk[i]));
		pk[i].data = *mem + (size_t)i * LIMIT_BUF_STRIDE;
		pk[i].cap = SN_PKT_BUF_SIZE;
		pp[i] = &pk[i];
	}
	return 0;
}

static struct limit_slot_hdr *slot_at(struct limit_ring *r, uint64_t idx)
{
	return (struct limit_slot_hdr *)(r->slots + (idx % SN_LIMIT_SLOTS) * r->stride);
}

static int producer(struct limit_ring *r, uint32_t frame, bool light)
{
	struct sn_port_ctx pctx = { .domid = 1, .nqueues = 1, .mtu = 1500 };
	struct sn_pkt pk[SN_LIMIT_BATCH], *pp[SN_LIMIT_BATCH];
	struct sn_port *gen = NULL;
	uint8_t *mem = NULL;
	char spec[64];
	uint64_t tail = 0;
	int rc;

	snprintf(spec, sizeof(spec), "gen:size=%u%s", frame, light ? ",light" : "");
	rc = pkts_alloc(pk, pp, &mem);
	if (!rc)
		rc = sn_port_open(spec, &pctx, &gen);
	while (!rc && !atomic_load_explicit(&r->ctl->stop, memory_order_relaxed)) {
		uint64_t head = atomic_load_explicit(&r->ctl->head, memory_order_acquire);
		unsigned int room = (unsigned int)(SN_LIMIT_SLOTS - (tail - head)), n;
		int got;

		if (room < SN_LIMIT_BATCH) {
			cpu_relax();
			continue;
		}
		got = gen->ops->recv(gen, pp, SN_LIMIT_BATCH);
		if (got < 0) {
			rc = got;
			break;
		}
		n = (unsigned int)got;
		for (unsigned int i = 0; i < n; i++) {
			struct limit_slot_hdr *s = slot_at(r, tail + i);

			s->len = pk[i].len;
			s->flags = pk[i].flags;
			s->gso_size = pk[i].gso_size;
			s->gso_type = pk[i].gso_type;
			memcpy(s + 1, pk[i].data, pk[i].len);
		}
		/* Release: the slot contents are visible before the index. */
		tail += n;
		atomic_store_explicit(&r->ctl->tail, tail, memory_order_release);
	}
	sn_port_close(gen);
	free(mem);
	return rc;
}

static int consumer(struct limit_ring *r, bool light)
{
	struct sn_port_ctx pctx = { .domid = 1, .nqueues = 1, .mtu = 1500, .backend = true };
	struct sn_pkt pk[SN_LIMIT_BATCH], *pp[SN_LIMIT_BATCH];
	struct sn_port *sink = NULL;
	uint8_t *mem = NULL;
	uint64_t head = 0, pkts = 0, bytes = 0;
	int rc;

	rc = pkts_alloc(pk, pp, &mem);
	if (!rc)
		rc = sn_port_open(light ? "sink:light" : "sink", &pctx, &sink);
	while (!rc && !atomic_load_explicit(&r->ctl->stop, memory_order_relaxed)) {
		uint64_t tail = atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
		unsigned int n = (unsigned int)(tail - head);

		if (!n) {
			cpu_relax();
			continue;
		}
		if (n > SN_LIMIT_BATCH)
			n = SN_LIMIT_BATCH;
		for (unsigned int i = 0; i < n; i++) {
			const struct limit_slot_hdr *s = slot_at(r, head + i);
			/* The peer is trusted here (our own child), but a
			 * length must still never overrun the buffer. */
			uint32_t len = s->len;

			if (len > pk[i].cap || len > r->stride - sizeof(*s))
				len = 0;
			pk[i].len = len;
			pk[i].flags = s->flags;
			pk[i].gso_size = s->gso_size;
			pk[i].gso_type = s->gso_type;
			memcpy(pk[i].data, s + 1, len);
			bytes += len;
		}
		head += n;
		atomic_store_explicit(&r->ctl->head, head, memory_order_release);
		sink->ops->send(sink, pp, n);
		pkts += n;
		atomic_store_explicit(&r->ctl->pkts, pkts, memory_order_relaxed);
		atomic_store_explicit(&r->ctl->bytes, bytes, memory_order_relaxed);
	}
	if (sink) {
		r->ctl->lost = sink->stats.lost;
		r->ctl->bad_seq = sink->stats.bad_seq;
		r->ctl->bad_payload = sink->stats.bad_payload;
	}
	sn_port_close(sink);
	free(mem);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static pid_t start_child(struct limit_ring *r, int cpu, bool prod, const struct sn_limit_cfg *cfg)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	/* Never outlive the measuring parent: these spin forever. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	if (cpu >= 0)
		sn_bench_pin(&cpu, 1);
	if (prod) {
		int rc = producer(r, cfg->frame, cfg->light);

		atomic_store(&r->ctl->prod_err, rc);
	} else {
		int rc = consumer(r, cfg->light);

		atomic_store(&r->ctl->cons_err, rc);
		atomic_store(&r->ctl->cons_done, 1);
	}
	_exit(0);
}

static void reap(pid_t pid)
{
	int st;

	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		sleep_s(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int sn_bench_limit(const struct sn_limit_cfg *cfg, struct sn_bench_cell *out)
{
	struct limit_ring r;
	size_t len;
	pid_t prod = -1, cons = -1;
	uint64_t p0, b0, p1, b1;
	double t0, t1, deadline;
	void *map;
	int fd, rc = 0;

	sn_bench_cell_init(out, "limit", "-", cfg->frame, 1);
	out->light = cfg->light;
	if (cfg->reps == 0 || cfg->reps > SN_BENCH_MAX_REPS || cfg->frame < 60 ||
	    cfg->frame > SN_PKT_MAX_LEN)
		return -EINVAL;
	r.stride = (sizeof(struct limit_slot_hdr) + cfg->frame + CL - 1) / CL * CL;
	len = sizeof(struct limit_ctl) + SN_LIMIT_SLOTS * r.stride;
	fd = memfd_create("sn-limit-ring", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		rc = -errno;
		goto out_fd;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		goto out_fd;
	}
	r.ctl = map;
	r.slots = (uint8_t *)map + sizeof(struct limit_ctl);
	fflush(NULL); /* children _exit, but do not duplicate buffered output */
	cons = start_child(&r, cfg->cpu_cons, false, cfg);
	if (cons < 0) {
		rc = -errno;
		goto out_map;
	}
	prod = start_child(&r, cfg->cpu_prod, true, cfg);
	if (prod < 0) {
		rc = -errno;
		goto out_stop;
	}
	deadline = now_s() + 10;
	while (!atomic_load(&r.ctl->pkts) && !atomic_load(&r.ctl->cons_done) &&
	       !atomic_load(&r.ctl->prod_err) && now_s() < deadline)
		sleep_s(0.005);
	if (!atomic_load(&r.ctl->pkts)) {
		sn_bench_cell_fail(out, "the ring carried no packets");
		goto out_stop;
	}
	sleep_s(cfg->warmup_s);
	for (unsigned int i = 0; i < cfg->reps; i++) {
		p0 = atomic_load(&r.ctl->pkts);
		b0 = atomic_load(&r.ctl->bytes);
		t0 = now_s();
		sleep_s(cfg->duration_s);
		/* As the cells: a window must hold some packets, even when a
		 * loaded machine takes the CPU from a spinning process. */
		while ((p1 = atomic_load(&r.ctl->pkts)) - p0 < SN_LIMIT_MIN_REP_PKTS &&
		       now_s() - t0 < 20 * cfg->duration_s + 2)
			sleep_s(0.01);
		p1 = atomic_load(&r.ctl->pkts);
		b1 = atomic_load(&r.ctl->bytes);
		t1 = now_s();
		out->rep_mpps[i] = (double)(p1 - p0) / (t1 - t0) / 1e6;
		out->rep_gbps[i] = (double)(b1 - b0) * 8 / (t1 - t0) / 1e9;
		out->c.pkts += p1 - p0;
		out->c.bytes += b1 - b0;
		out->c.memcpy_bytes += 2 * (b1 - b0); /* in and out */
		out->secs += t1 - t0;
		out->nreps++;
	}
out_stop:
	atomic_store(&r.ctl->stop, 1);
	if (prod > 0)
		reap(prod);
	if (cons > 0)
		reap(cons);
	if (atomic_load(&r.ctl->cons_done)) {
		out->lost = r.ctl->lost;
		out->bad_seq = r.ctl->bad_seq;
		out->bad_payload = r.ctl->bad_payload;
		out->payload_checked = !cfg->light;
	} else if (out->nreps) {
		sn_bench_cell_fail(out, "the consumer did not finish");
	}
	if (atomic_load(&r.ctl->prod_err) || atomic_load(&r.ctl->cons_err))
		sn_bench_cell_fail(out, "ring process failed: %s",
				   strerror(-(atomic_load(&r.ctl->prod_err) ?
					      atomic_load(&r.ctl->prod_err) :
					      atomic_load(&r.ctl->cons_err))));
	sn_bench_cell_finish(out);
out_map:
	munmap(map, len);
out_fd:
	close(fd);
	return rc;
}
