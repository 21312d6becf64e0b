/* vif and queue lifetime: a vif exists while its backend directory does;
 * its queues exist while it is connected, each with one thread that serves
 * that queue's TX and RX rings, event-driven with a short NAPI-like poll
 * before it sleeps, or spinning with busy_poll. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "back/common.h"
#include "proto/loop.h"

int sn_back_vif_new(struct sn_back *b, uint16_t domid, uint16_t devid,
		    struct sn_back_vif **out)
{
	struct sn_back_vif *v;
	char path[256];
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->back = b;
	v->domid = domid;
	v->devid = devid;
	v->state = -1;
	v->ctrl_kick_fd = -1;
	v->port_hold_fd = -1;
	pthread_mutex_init(&v->mcast_lock, NULL);
	snprintf(path, sizeof(path), "%s/%u/%u", b->be_root, domid, devid);
	v->be_path = strdup(path);
	if (!v->be_path) {
		rc = -ENOMEM;
		goto err;
	}
	/* Linux netback creates vif<domid>.<devid> at probe, and the
	 * toolstack's vif-bridge, run when we reach InitWait, enslaves it to
	 * the bridge: the device must exist long before the frontend
	 * connects and our queues open it. */
	if (!b->cfg.port_open && b->cfg.port_spec) {
		struct sn_port_ctx ctx = {
			.domid = domid, .devid = devid, .nqueues = 1, .backend = true,
		};

		rc = sn_port_hold(b->cfg.port_spec, &ctx);
		if (rc >= 0)
			v->port_hold_fd = rc;
		else if (rc != -EOPNOTSUPP)
			/* Not fatal here: the connect retries and reports. */
			fprintf(b->cfg.log ? b->cfg.log : stderr,
				"back: vif%u.%u: cannot create its %s device ahead "
				"of connect: %s\n", domid, devid, b->cfg.port_spec,
				strerror(-rc));
	}
	v->stats_max = b->max_queues;
	if (b->cfg.publish_stats &&
	    !sn_stats_publish("back", domid, devid, v->stats_max, &v->stats_blk)) {
		/* Published blocks are contiguous per queue. */
		v->stats = sn_stats_queue(v->stats_blk, 0);
	} else {
		v->stats_blk = NULL;
		v->stats = calloc(v->stats_max, sizeof(*v->stats));
		if (!v->stats) {
			rc = -ENOMEM;
			goto err;
		}
	}
	*out = v;
	return 0;
err:
	sn_back_vif_free(v);
	return rc;
}

void sn_back_vif_free(struct sn_back_vif *v)
{
	if (!v)
		return;
	if (v->connected)
		sn_back_vif_disconnect(v);
	if (v->stats_blk)
		sn_stats_unpublish(v->stats_blk);
	else
		free(v->stats);
	if (v->port_hold_fd >= 0)
		close(v->port_hold_fd);
	pthread_mutex_destroy(&v->mcast_lock);
	free(v->be_path);
	free(v->fe_path);
	free(v->fe_ident);
	free(v);
}

void sn_back_vif_retire(struct sn_back_vif *v)
{
	if (v->connected)
		sn_back_vif_disconnect(v);
	/* The device goes with the vif, as Linux netback's does. */
	if (v->port_hold_fd >= 0)
		close(v->port_hold_fd);
	v->port_hold_fd = -1;
	/* On failure the file stays published until the vif is freed: the
	 * numbers matter more than a stale listing. */
	if (v->stats_blk && !sn_stats_keep(v->stats_blk))
		v->stats = sn_stats_queue(v->stats_blk, 0);
}

void sn_back_print_vif_stats(struct sn_back_vif *v, FILE *f)
{
	if (v->stats_blk) {
		sn_stats_print(f, v->stats_blk);
		return;
	}
	for (unsigned int q = 0; q < v->stats_max; q++) {
		bool any = false;

		for (unsigned int i = 0; i < SN_QS__COUNT; i++) {
			uint64_t n = __atomic_load_n(&v->stats[q].v[i],
						     __ATOMIC_RELAXED);

			if (!n)
				continue;
			if (!any)
				fprintf(f, "back vif%u.%u queue %u:", v->domid,
					v->devid, q);
			any = true;
			fprintf(f, " %s=%llu", sn_qstat_names[i],
				(unsigned long long)n);
		}
		if (any)
			fputc('\n', f);
	}
}

void sn_back_vif_fatal(struct sn_back_queue *q, const char *why)
{
	struct sn_back_vif *v = q->vif;

	atomic_store(&v->fatal_why, why);
	if (atomic_exchange(&v->disabled, true))
		return;
	sn_back_count(q, SN_QS_fatal_errors, 1);
	/* Teardown is the control thread's job. */
	sn_back_wake(v->back);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Take delivered events off the channel; they stay masked until the turn
 * that looks at the rings ends (late EOI).  Returns how many ports fired. */
static int take_events(struct sn_back_queue *q)
{
	int n = sn_late_eoi_take(&q->eoi, q->plat, q->evt, 4);

	if (n)
		sn_back_count(q, SN_QS_notify_recv, (uint64_t)n);
	return n;
}

static void wait_events(struct sn_back_queue *q, int timeout_ms, int port_fd)
{
	struct pollfd pfd[3] = {
		{ .fd = q->plat->ops->evt_fd(q->evt), .events = POLLIN },
		{ .fd = q->kick_fd, .events = POLLIN },
		{ .fd = port_fd, .events = POLLIN },
	};
	uint64_t cnt;

	if (poll(pfd, port_fd >= 0 ? 3 : 2, timeout_ms) > 0 &&
	    (pfd[1].revents & POLLIN)) {
		if (read(q->kick_fd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
	}
}

static void *queue_main(void *arg)
{
	struct sn_back_queue *q = arg;
	struct sn_back_vif *v = q->vif;
	bool busy = v->back->cfg.busy_poll;
	uint64_t idle_since = 0, idle_start = 0;
	bool woken = false, after_spurious = false, slept = false;
	unsigned int turns = 0, idle_turns = 0;
	struct sn_poll_adapt adapt;

	sn_poll_adapt_init(&adapt);
	sn_late_eoi_reset(&q->eoi);
	while (!atomic_load(&q->stop)) {
		int tx, rx, timeout = -1, port_fd = -1;

		if (atomic_load(&v->disabled)) {
			/* Rogue frontend: no more service; wait to be torn
			 * down.  Its ports stay masked (never re-enabled), so
			 * its kicks no longer wake us. */
			take_events(q);
			wait_events(q, 100, -1);
			continue;
		}
		tx = sn_back_tx_action(q, SN_BACK_QUEUE_BUDGET);
		if (tx < 0)
			continue;
		rx = sn_back_rx_action(q, SN_BACK_QUEUE_BUDGET);
		if (tx > 0 || rx > 0) {
			/* Any work, from the frontend or from the port,
			 * re-enables the channel and ends a throttle. */
			if (!busy)
				sn_late_eoi_done(&q->eoi, q->plat, q->evt, true);
			if (idle_start)
				sn_poll_adapt_work(&adapt, (now_ns() - idle_start) / 1000u, slept);
			idle_start = 0;
			slept = false;
			idle_since = 0;
			woken = after_spurious = false;
			idle_turns = 0;
			continue;
		}
		if (woken) {
			/* Woken, yet neither ring had work. */
			sn_back_count(q, SN_QS_spurious_events, 1);
			if (sn_late_eoi_done(&q->eoi, q->plat, q->evt, false))
				sn_back_count(q, SN_QS_evt_throttled, 1);
			woken = false;
			after_spurious = true;
		}
		if (busy) {
			/* Events are not armed in busy mode, but a frontend
			 * may still send one; keep the channel clear. */
			if (!(++turns & 1023))
				sn_back_count(q, SN_QS_notify_recv,
					      (uint64_t)sn_evt_take_fired(q->plat, q->evt, 4));
			/* With more busy queues than CPUs, queue threads share a
			 * CPU: an idle one hands its time slice to a sibling with
			 * work instead of spinning it out (a no-op when nothing
			 * else is runnable here). */
			if (++idle_turns >= SN_BUSY_YIELD_TURNS)
				sched_yield();
			continue;
		}
		if (!idle_since) {
			idle_since = now_ns();
			if (!idle_start)
				idle_start = idle_since;
			/* A throttled channel gets no idle poll: a storm of
			 * empty kicks would buy one each. */
			if (sn_late_eoi_quiet(&q->eoi))
				idle_since -= adapt.poll_us * 1000ull;
			else if (after_spurious)
				sn_back_count(q, SN_QS_spurious_polls, 1);
			after_spurious = false;
		}
		if (now_ns() - idle_since < adapt.poll_us * 1000ull)
			continue;
		/* Arm events, then look once more: a request published
		 * between our last look and the arming would otherwise wait
		 * for the next unrelated event. */
		{
			/* Both must run: each arms its own ring. */
			bool tx_more = sn_back_tx_rearm(q, &timeout);
			bool rx_more = sn_back_rx_rearm(q, &timeout, &port_fd);

			if (tx_more || rx_more) {
				idle_since = 0;
				continue;
			}
		}
		sn_back_count(q, SN_QS_sleeps, 1);
		slept = true;
		wait_events(q, sn_late_eoi_timeout(&q->eoi, q->plat, q->evt, timeout),
			    port_fd);
		woken = take_events(q) > 0;
		idle_since = 0;
	}
	return NULL;
}

/* The port's own verdict (a sink's lost/bad_seq/bad_payload) dies with the
 * port at disconnect, so it is logged here, in the frontend's format. */
static void queue_port_report(struct sn_back_queue *q)
{
	FILE *f = q->vif->back->cfg.log;
	char who[48];

	if (!f)
		return;
	snprintf(who, sizeof(who), "back vif%u.%u port %u", q->vif->domid, q->vif->devid,
		 q->id);
	sn_port_print_stats(f, who, &q->port->stats);
}

static void queue_teardown(struct sn_back_queue *q)
{
	if (q->txs)
		sn_back_tx_fini(q);
	if (q->rxs)
		sn_back_rx_fini(q);
	if (q->port)
		queue_port_report(q);
	sn_port_close(q->port);
	q->port = NULL;
	sn_back_queue_unmap(q);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = -1;
}

static int default_port_open(struct sn_back_vif *v, const struct sn_port_ctx *ctx,
			     struct sn_port **out)
{
	struct sn_back *b = v->back;
	char name[IFNAMSIZ], spec[IFNAMSIZ + 8];

	if (b->cfg.port_open)
		return b->cfg.port_open(b->cfg.port_arg, ctx, out);
	/* Attach to the held device under its current name: the hotplug
	 * script may have renamed it (vifname=), and opening the default
	 * name would make a second device, on no bridge. */
	if (v->port_hold_fd >= 0 && !sn_port_held_name(v->port_hold_fd, name)) {
		snprintf(spec, sizeof(spec), "tap:%s", name);
		return sn_port_open(spec, ctx, out);
	}
	return sn_port_open(b->cfg.port_spec, ctx, out);
}

static int queue_setup(struct sn_back_vif *v, struct sn_back_queue *q,
		       unsigned int i, unsigned int nq,
		       const struct sn_back_qparams *qp, char *err, size_t errlen)
{
	struct sn_port_ctx ctx = {
		.domid = v->domid,
		.devid = v->devid,
		.queue = (uint16_t)i,
		.nqueues = (uint16_t)nq,
		.backend = true,
		.mtu = v->mtu,
	};
	int rc;

	q->vif = v;
	q->plat = v->back->plat;
	q->prefetchw = sn_cpu_has_prefetchw();
	q->id = (uint16_t)i;
	q->fe_domid = v->domid;
	q->st = &v->stats[i];
	q->tx_port = q->rx_port = -1;
	q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "queue %u: eventfd: %s", i, strerror(-rc));
		return rc;
	}
	rc = sn_back_queue_map(q, qp, err, errlen);
	if (rc)
		return rc;
	rc = default_port_open(v, &ctx, &q->port);
	if (rc) {
		snprintf(err, errlen, "queue %u: port %s: %s", i,
			 v->back->cfg.port_spec, strerror(-rc));
		return rc;
	}
	q->port->qs = q->st;
	/* The port offers the host only what this frontend negotiated; a
	 * port that cannot be told is covered by rx.c's software fallback. */
	rc = sn_port_set_offloads(q->port, sn_back_rx_caps(&v->feat));
	if (rc)
		fprintf(v->back->cfg.log ? v->back->cfg.log : stderr, "back vif%u.%u queue %u: port offloads: %s "
			"(segmenting in software)\n", v->domid, v->devid, i, strerror(-rc));
	rc = sn_back_tx_init(q);
	if (!rc)
		rc = sn_back_rx_init(q);
	if (rc) {
		snprintf(err, errlen, "queue %u: %s", i, strerror(-rc));
		return rc;
	}
	return 0;
}

int sn_back_vif_connect(struct sn_back_vif *v, unsigned int nq,
			const struct sn_back_qparams *qp, char *err, size_t errlen)
{
	unsigned int i;
	int rc;

	if (nq == 0 || nq > v->stats_max)
		return -EINVAL;
	v->q = calloc(nq, sizeof(*v->q));
	if (!v->q)
		return -ENOMEM;
	for (i = 0; i < nq; i++)
		v->q[i].kick_fd = -1;
	v->nq = nq;
	v->rings.n = 0;
	for (i = 0; i < nq; i++) {
		sn_back_ring_grefs_add(&v->rings, qp[i].tx_ref);
		sn_back_ring_grefs_add(&v->rings, qp[i].rx_ref);
	}
	if (v->ctrl_present)
		sn_back_ring_grefs_add(&v->rings, v->ctrl_ref);
	atomic_store(&v->disabled, false);
	atomic_store(&v->fatal_why, NULL);
	for (i = 0; i < nq; i++) {
		rc = queue_setup(v, &v->q[i], i, nq, &qp[i], err, errlen);
		if (rc)
			goto err;
	}
	/* Staging tables exist before the queue threads that read them. */
	rc = sn_back_vif_ctrl_start(v, err, errlen);
	if (rc)
		goto err;
	for (i = 0; i < nq; i++) {
		rc = -pthread_create(&v->q[i].thread, NULL, queue_main, &v->q[i]);
		if (rc) {
			snprintf(err, errlen, "queue %u: thread: %s", i,
				 strerror(-rc));
			goto err;
		}
		v->q[i].thread_started = true;
	}
	v->connected = true;
	return 0;
err:
	v->connected = true; /* let disconnect undo the partial setup */
	sn_back_vif_disconnect(v);
	return rc;
}

void sn_back_vif_disconnect(struct sn_back_vif *v)
{
	uint64_t one = 1;
	unsigned int i;

	if (!v->connected)
		return;
	for (i = 0; i < v->nq; i++) {
		struct sn_back_queue *q = &v->q[i];

		if (!q->thread_started)
			continue;
		atomic_store(&q->stop, true);
		if (write(q->kick_fd, &one, sizeof(one)) < 0)
			one = 1;
	}
	for (i = 0; i < v->nq; i++) {
		if (v->q[i].thread_started)
			pthread_join(v->q[i].thread, NULL);
		v->q[i].thread_started = false;
	}
	/* Threads are gone: nothing touches the mappings any more. */
	sn_back_vif_ctrl_stop(v);
	for (i = 0; i < v->nq; i++)
		queue_teardown(&v->q[i]);
	free(v->q);
	v->q = NULL;
	v->nq = 0;
	v->connected = false;
}
