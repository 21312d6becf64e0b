/* Netfront's loops, the frontend's counterpart of back/vif.c queue_main:
 * the one wait every queue thread makes between bursts (spin on the rings,
 * arm, re-check, sleep on the event channel), sn_front_queue_run, the loop
 * each queue thread runs, and the threads and control loop of a served NIC
 * (sn_front_start, sn_front_run).  Tests that drive the bursts themselves
 * wait through the same queue_wait (sn_front_queue_wait). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/log.h"
#include "front/nic.h"
#include "proto/loop.h"
#include "stagenet/port.h"

int sn_front_queue_fd(struct sn_front *nic, uint16_t q)
{
	if (q >= nic->cfg.queues || !nic->q[q].evt)
		return -EINVAL;
	return nic->plat->ops->evt_fd(nic->q[q].evt);
}

int sn_front_queue_arm(struct sn_front *nic, uint16_t qi)
{
	struct sn_front_queue *q;
	struct sn_plat *p = nic->plat;
	int work = 0, got;

	if (qi >= nic->cfg.queues)
		return -EINVAL;
	q = &nic->q[qi];
	pthread_mutex_lock(&q->lock);
	/* Late EOI: the ports stay masked until the rings were looked at. */
	got = sn_late_eoi_take(&q->eoi, p, q->evt, 4);
	if (got)
		sn_front_count(q, SN_QS_notify_recv, (uint64_t)got);
	if (q->up && !atomic_load(&q->broken)) {
		/* Ask for an event on the next response of either ring, then
		 * re-read prod (the fence in set_rsp_event orders the two). */
		work = sn_tx_front_final_check(&q->tx, NULL) != 0;
		work |= sn_rx_front_final_check(&q->rx, NULL) != 0;
		/* An event whose work a poll already took is not spurious. */
		q->arm_spurious = got && !work && !q->worked;
		if (q->arm_spurious) {
			sn_front_count(q, SN_QS_spurious_events, 1);
			if (sn_late_eoi_done(&q->eoi, p, q->evt, false))
				sn_front_count(q, SN_QS_evt_throttled, 1);
		} else if (got || work || q->worked) {
			sn_late_eoi_done(&q->eoi, p, q->evt, true);
		}
		q->worked = false;
	} else if (got) {
		/* Down or broken: nothing to look at, nothing to hold. */
		sn_late_eoi_done(&q->eoi, p, q->evt, true);
	}
	pthread_mutex_unlock(&q->lock);
	return work;
}

/* Called with the queue lock held (the rings may be torn down otherwise). */
static bool queue_has_work(struct sn_front_queue *q)
{
	if (!q->tx_sring || !q->rx_sring)
		return false;
	return sn_tx_front_rsp_prod(&q->tx) != q->tx.rsp_cons ||
	       sn_rx_front_rsp_prod(&q->rx) != q->rx.rsp_cons;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool fd_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

/* Spin poll_us on the rings (and other_fd), then arm and re-check, then
 * sleep on the queue's fd and other_fd (-1: none) for up to timeout_ms
 * (*slept, if given, says whether it did).  Returns 1 when there is work,
 * 0 when there may be none, -errno. */
static int queue_wait(struct sn_front *nic, uint16_t qi, int other_fd, int timeout_ms,
		      unsigned int poll_us, bool *slept)
{
	struct sn_front_queue *q;
	struct pollfd pfd[2];
	int rc;

	if (qi >= nic->cfg.queues)
		return -EINVAL;
	q = &nic->q[qi];
	pthread_mutex_lock(&q->lock);
	/* A throttled channel gets no spin: a storm of empty kicks would buy
	 * one each (late EOI, plat/late_eoi.h). */
	if (poll_us && !q->worked) {
		if (sn_late_eoi_quiet(&q->eoi))
			poll_us = 0;
		else if (q->arm_spurious)
			sn_front_count(q, SN_QS_spurious_polls, 1);
	}
	pthread_mutex_unlock(&q->lock);
	if (poll_us) {
		uint64_t end = now_us() + poll_us;
		bool hit;

		do {
			pthread_mutex_lock(&q->lock);
			hit = q->up && queue_has_work(q);
			pthread_mutex_unlock(&q->lock);
			if (!hit && other_fd >= 0)
				hit = fd_readable(other_fd);
		} while (!hit && now_us() < end);
		if (hit)
			return 1;
	}
	/* Arm, then look once more: a response published between our last
	 * look and the arming would otherwise wait for an unrelated event. */
	rc = sn_front_queue_arm(nic, qi);
	if (rc)
		return rc;
	pthread_mutex_lock(&q->lock);
	timeout_ms = sn_late_eoi_timeout(&q->eoi, nic->plat, q->evt, timeout_ms);
	sn_front_count(q, SN_QS_sleeps, 1);
	pthread_mutex_unlock(&q->lock);
	if (slept)
		*slept = true;
	pfd[0] = (struct pollfd){ .fd = sn_front_queue_fd(nic, qi), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = other_fd, .events = POLLIN };
	rc = poll(pfd, other_fd >= 0 ? 2 : 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc > 0;
}

int sn_front_queue_wait(struct sn_front *nic, uint16_t qi, int timeout_ms,
			unsigned int poll_us)
{
	return queue_wait(nic, qi, -1, timeout_ms, poll_us, NULL);
}

/* One queue's packets in flight between the NIC and the port: a burst
 * taken from the port is offered to the TX ring until it all went in. */
struct pump {
	struct sn_front *nic;
	uint16_t q;
	struct sn_port *port;
	struct sn_front_run *run;
	struct sn_qstats *st;
	struct sn_pkt rxk[SN_FRONT_BURST], txk[SN_FRONT_BURST];
	struct sn_pkt *rxp[SN_FRONT_BURST], *txp[SN_FRONT_BURST];
	uint8_t *mem;
	unsigned int tx_off, tx_n;
	unsigned int caps; /* offloads last set on the port */
};

static int pump_alloc(struct pump *pm)
{
	unsigned int i;

	/* Buffers one cache line apart: the small packets of a burst then
	 * start in different cache sets (README "Performance work"). */
	pm->mem = malloc((size_t)2 * SN_FRONT_BURST * (SN_PKT_BUF_SIZE + SN_CACHE_LINE));
	if (!pm->mem)
		return -ENOMEM;
	for (i = 0; i < SN_FRONT_BURST; i++) {
		pm->rxk[i].data = pm->mem + (size_t)i * (SN_PKT_BUF_SIZE + SN_CACHE_LINE);
		pm->txk[i].data = pm->mem + (size_t)(SN_FRONT_BURST + i) * (SN_PKT_BUF_SIZE + SN_CACHE_LINE);
		pm->rxp[i] = &pm->rxk[i];
		pm->txp[i] = &pm->txk[i];
	}
	return 0;
}

static void pkts_reset(struct sn_pkt *pk)
{
	unsigned int i;

	for (i = 0; i < SN_FRONT_BURST; i++) {
		pk[i].cap = SN_PKT_BUF_SIZE;
		pk[i].len = 0;
		pk[i].flags = 0;
	}
}

/* RX ring to port, port to TX ring (which also collects TX responses).
 * Returns 1 when anything moved, 0 when idle, -ENOTCONN or -EIO while the
 * queue is down or broken. */
static int pump_turn(struct pump *pm)
{
	bool work = false;
	int n;

	pkts_reset(pm->rxk);
	n = sn_front_rx_burst(pm->nic, pm->q, pm->rxp, SN_FRONT_BURST);
	if (n > 0) {
		int s = pm->port->ops->send(pm->port, pm->rxp, (unsigned int)n);

		if (s < 0)
			s = 0;
		if (s < n)
			sn_qstat_add(pm->st, SN_QS_rx_drop_port, (uint64_t)(n - s));
		work = true;
	} else if (n == -ENOTCONN || n == -EIO) {
		return n;
	}
	if (pm->tx_n == pm->tx_off && !atomic_load(&pm->run->eof)) {
		unsigned int caps = atomic_load(&pm->nic->tx_caps);

		/* The port produces only what this backend negotiated
		 * (a new connect may bring other features); tx.c segments
		 * whatever still comes. */
		if (caps != pm->caps) {
			(void)sn_port_set_offloads(pm->port, caps);
			pm->caps = caps;
		}
		pkts_reset(pm->txk);
		n = pm->port->ops->recv(pm->port, pm->txp, SN_FRONT_BURST);
		if (n == -ENODATA) {
			atomic_store(&pm->run->eof, true);
		} else if (n > 0) {
			for (int i = 0; i < n; i++)
				pm->txk[i].queue = pm->q;
			pm->tx_off = 0;
			pm->tx_n = (unsigned int)n;
			work = true;
			atomic_store(&pm->run->had_input, true);
		}
	}
	/* Also runs with nothing to send: collects TX responses. */
	n = sn_front_tx_burst(pm->nic, pm->q, pm->txp + pm->tx_off, pm->tx_n - pm->tx_off);
	if (n > 0) {
		pm->tx_off += (unsigned int)n;
		work = true;
	}
	return work;
}

int sn_front_queue_run(struct sn_front *nic, uint16_t qi, struct sn_port *port,
		       struct sn_front_run *run)
{
	struct pump pm = { .nic = nic, .q = qi, .port = port, .run = run, .caps = ~0u };
	uint64_t last_work = now_us(), idle;
	unsigned int idle_turns = 0;
	struct sn_poll_adapt adapt;
	bool slept = false;
	int rc = -EINVAL;

	sn_poll_adapt_init(&adapt);

	if (qi >= nic->cfg.queues)
		goto out;
	pm.st = nic->q[qi].st;
	/* The pump is the port's only user while it runs. */
	port->qs = pm.st;
	rc = pump_alloc(&pm);
	if (rc)
		goto out;
	while (!atomic_load(run->stop)) {
		int port_fd = -1;

		rc = pump_turn(&pm);
		if (rc < 0) {
			/* Down or broken: the control thread reconnects. */
			poll(NULL, 0, 20);
			continue;
		}
		if (rc > 0) {
			idle_turns = 0;
			if (!run->busy_poll) {
				uint64_t now = now_us();

				sn_poll_adapt_work(&adapt, now - last_work, slept);
				slept = false;
				last_work = now;
			}
			continue;
		}
		if (run->busy_poll) {
			if (++idle_turns >= SN_BUSY_YIELD_TURNS)
				sched_yield();
			continue;
		}
		/* Spin until the learnt window after the last work, then
		 * sleep; the port wakes us only for input we have room to send. */
		idle = now_us() - last_work;
		if (pm.tx_n == pm.tx_off && !atomic_load(&run->eof))
			port_fd = port->ops->fd(port);
		queue_wait(nic, qi, port_fd, 100,
			   idle < adapt.poll_us ? (unsigned int)(adapt.poll_us - idle) : 0, &slept);
	}
	rc = 0;
	port->qs = NULL; /* the caller's port may outlive this queue */
out:
	free(pm.mem);
	atomic_store(&run->eof, true);
	return rc;
}

static void *queue_thread(void *arg)
{
	struct sn_front_queue *q = arg;

	sn_front_queue_run(q->nic, q->id, q->port, &q->run);
	return NULL;
}

int sn_front_start(struct sn_front *nic, const char *port_spec, bool busy_poll)
{
	uint16_t i, nq = sn_front_num_queues(nic);
	int rc;

	if (nic->nthreads || nic->q[0].port)
		return -EBUSY;
	atomic_store(&nic->threads_stop, false);
	for (i = 0; i < nq; i++) {
		struct sn_front_queue *q = &nic->q[i];
		struct sn_port_ctx ctx = { .domid = nic->plat->domid, .devid = nic->devid,
					   .queue = i, .nqueues = nq, .mtu = nic->mtu };

		rc = sn_port_open(port_spec, &ctx, &q->port);
		if (rc) {
			sn_front_logf(&nic->cfg.log, "port %s: %s", port_spec, strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < nq; i++) {
		struct sn_front_queue *q = &nic->q[i];

		q->run.stop = &nic->threads_stop;
		q->run.busy_poll = busy_poll;
		atomic_store(&q->run.eof, false);
		atomic_store(&q->run.had_input, false);
		rc = -pthread_create(&q->thread, NULL, queue_thread, q);
		if (rc) {
			sn_front_threads_stop(nic);
			return rc;
		}
		nic->nthreads++;
	}
	return 0;
}

struct sn_port *sn_front_queue_port(struct sn_front *nic, uint16_t q)
{
	return q < SN_FRONT_MAX_QUEUES ? nic->q[q].port : NULL;
}

void sn_front_threads_stop(struct sn_front *nic)
{
	uint16_t i;

	atomic_store(&nic->threads_stop, true);
	for (i = 0; i < nic->nthreads; i++)
		pthread_join(nic->q[i].thread, NULL);
	nic->nthreads = 0;
}

/* Every queue's port ran out of input, and one had some: a port that never
 * produced (sink) keeps the NIC running until stopped. */
static bool inputs_ended(struct sn_front *nic)
{
	bool all_eof = nic->nthreads > 0, any_input = false;
	uint16_t i;

	for (i = 0; i < nic->nthreads; i++) {
		all_eof &= atomic_load(&nic->q[i].run.eof);
		any_input |= atomic_load(&nic->q[i].run.had_input);
	}
	return all_eof && any_input;
}

int sn_front_run(struct sn_front *nic, const atomic_bool *stop, long linger_ms)
{
	uint64_t ended_at = 0;

	while (!atomic_load(stop)) {
		struct pollfd pfd = { .fd = sn_front_ctrl_fd(nic), .events = POLLIN };
		enum sn_front_event ev;
		int rc;

		poll(&pfd, pfd.fd >= 0 ? 1 : 0, 100);
		rc = sn_front_poll_ctrl(nic, &ev);
		if (rc)
			sn_front_logf(&nic->cfg.log, "xenstore: %s", strerror(-rc));
		if (ev == SN_FRONT_EV_DOWN)
			sn_front_logf(&nic->cfg.log, "backend went away; waiting for it");
		else if (ev == SN_FRONT_EV_RECONNECTED)
			sn_front_logf(&nic->cfg.log, "reconnected");
		if (!inputs_ended(nic))
			ended_at = 0;
		else if (!ended_at)
			ended_at = now_us();
		else if (linger_ms >= 0 && now_us() - ended_at >= (uint64_t)linger_ms * 1000u)
			break;
	}
	sn_front_threads_stop(nic);
	return 0;
}
