/* Netfront NIC and queue lifecycle: open the vif our toolstack described,
 * build and tear down each queue's rings, buffers and event channels, close
 * it all, and pick a queue per flow.  The handshake that drives this is in
 * xenbus.c, the buffers' grants in buf.c, the queue loop in loop.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/xenbus.h>

#include "front/log.h"
#include "front/nic.h"
#include "stagenet/port.h"

void sn_front_queue_fail(struct sn_front_queue *q, const char *why)
{
	bool was = false;

	/* One flag, set from the datapath; the control thread tears down.
	 * Only the first failure is counted so a hostile backend cannot
	 * inflate the counter. */
	if (atomic_compare_exchange_strong(&q->broken, &was, true)) {
		sn_front_count(q, SN_QS_fatal_errors, 1);
		sn_front_logf(&q->nic->cfg.log, "vif %u queue %u: backend error: %s; "
			      "queue disabled", q->nic->devid, q->id, why);
	}
}

void sn_front_notify(struct sn_front_queue *q, int port)
{
	struct sn_plat *p = q->nic->plat;

	if (p->ops->evt_notify(q->evt, (sn_port_t)port) == 0)
		sn_front_count(q, SN_QS_notify_sent, 1);
}

static void queue_teardown(struct sn_front_queue *q)
{
	struct sn_plat *p = q->nic->plat;
	unsigned int i;

	q->up = false;
	sn_front_tx_release(q);
	sn_front_rx_release(q);
	/* Anything still staged here lost its backend (an orderly close
	 * unstages first, while the backend can still answer DEL). */
	sn_front_queue_unstage(q, true);
	for (i = 0; i < SN_TX_RING_SIZE; i++)
		sn_front_buf_release(q, &q->txb[i]);
	for (i = 0; i < SN_RX_RING_SIZE; i++)
		sn_front_buf_release(q, &q->rxb[i]);
	sn_front_ring_release(q, &q->tx_sring);
	sn_front_ring_release(q, &q->rx_sring);
	if (q->evt) {
		if (q->port_tx >= 0)
			p->ops->evt_unbind(q->evt, (sn_port_t)q->port_tx);
		if (q->port_rx >= 0 && q->port_rx != q->port_tx)
			p->ops->evt_unbind(q->evt, (sn_port_t)q->port_rx);
	}
	q->port_tx = q->port_rx = -1;
	memset(&q->tx, 0, sizeof(q->tx));
	memset(&q->rx, 0, sizeof(q->rx));
}

static int queue_setup(struct sn_front_queue *q)
{
	struct sn_front *nic = q->nic;
	struct sn_plat *p = nic->plat;
	unsigned int i;
	int rc;

	atomic_store(&q->broken, false);
	rc = p->ops->shr_alloc(p, nic->be_domid, 1, true, &q->tx_ref, &q->tx_sring);
	if (rc)
		goto fail;
	rc = p->ops->shr_alloc(p, nic->be_domid, 1, true, &q->rx_ref, &q->rx_sring);
	if (rc)
		goto fail;
	sn_tx_front_init(&q->tx, q->tx_sring);
	sn_rx_front_init(&q->rx, q->rx_sring);

	/* The old ports went with the old rings: nothing held is ours. */
	sn_late_eoi_reset(&q->eoi);
	rc = p->ops->evt_alloc_unbound(q->evt, nic->be_domid);
	if (rc < 0)
		goto fail;
	q->port_tx = q->port_rx = rc;
	if (nic->be_split && !nic->cfg.no_split_evtchn) {
		rc = p->ops->evt_alloc_unbound(q->evt, nic->be_domid);
		if (rc < 0)
			goto fail;
		q->port_rx = rc;
	}

	for (i = 0; i < SN_TX_RING_SIZE; i++) {
		rc = sn_front_buf_alloc(nic, &q->txb[i], false);
		if (rc)
			goto fail;
		q->tx_next[i] = (uint16_t)(i + 1);
		q->tx_stage[i] = -1;
	}
	q->tx_free_head = 0;
	q->tx_free_cnt = SN_TX_RING_SIZE;
	for (i = 0; i < SN_RX_RING_SIZE; i++) {
		rc = sn_front_buf_alloc(nic, &q->rxb[i], true);
		if (rc)
			goto fail;
		q->rx_stage[i] = -1;
	}
	/* Page staging posts staged pages on RX, but the pool can only be
	 * registered once the backend is Connected (it maps the control
	 * ring then).  A ring filled now would hold normal buffers for its
	 * first 256 packets, so posting waits for the pool. */
	q->rx_deferred = nic->staging_planned && (nic->cfg.staging == SN_STAGING_PAGE ||
						  nic->cfg.staging == SN_STAGING_PERSIST);
	if (!q->rx_deferred) {
		rc = sn_front_rx_refill(q);
		if (rc < 0)
			goto fail;
	}
	return 0;

fail:
	queue_teardown(q);
	return rc;
}

int sn_front_queues_setup(struct sn_front *nic)
{
	uint16_t i;
	int rc = 0;

	for (i = 0; i < nic->nq; i++) {
		pthread_mutex_lock(&nic->q[i].lock);
		rc = queue_setup(&nic->q[i]);
		pthread_mutex_unlock(&nic->q[i].lock);
		if (rc)
			break;
	}
	if (rc) {
		while (i-- > 0) {
			pthread_mutex_lock(&nic->q[i].lock);
			queue_teardown(&nic->q[i]);
			pthread_mutex_unlock(&nic->q[i].lock);
		}
		return rc;
	}
	nic->rings_built = true;
	return 0;
}

void sn_front_queues_teardown(struct sn_front *nic)
{
	uint16_t i;

	if (!nic->rings_built)
		return;
	for (i = 0; i < nic->nq; i++) {
		pthread_mutex_lock(&nic->q[i].lock);
		queue_teardown(&nic->q[i]);
		pthread_mutex_unlock(&nic->q[i].lock);
	}
	nic->rings_built = false;
}

int sn_front_open(struct sn_plat *p, const struct sn_front_cfg *cfg,
		  struct sn_front **out)
{
	struct sn_front *nic;
	char path[SN_FRONT_PATH_MAX + 16];
	uint16_t i;
	int rc;

	nic = calloc(1, sizeof(*nic));
	if (!nic)
		return -ENOMEM;
	nic->plat = p;
	nic->cfg = *cfg;
	if (!nic->cfg.queues)
		nic->cfg.queues = 1;
	if (nic->cfg.queues > SN_FRONT_MAX_QUEUES)
		nic->cfg.queues = SN_FRONT_MAX_QUEUES;
	nic->devid = cfg->devid;
	nic->fe_state = -1;
	snprintf(nic->fe_path, sizeof(nic->fe_path), "/local/domain/%u/device/vif/%u",
		 p->domid, cfg->devid);
	snprintf(nic->watch_token, sizeof(nic->watch_token), "snfront-%u", cfg->devid);
	for (i = 0; i < SN_FRONT_MAX_QUEUES; i++) {
		struct sn_front_queue *q = &nic->q[i];

		q->nic = nic;
		q->prefetchw = sn_cpu_has_prefetchw();
		q->id = i;
		q->port_tx = q->port_rx = -1;
		q->st = cfg->stats[i] ? cfg->stats[i] : &q->own_st;
		pthread_mutex_init(&q->lock, NULL);
	}
	/* Event channel handles live as long as the NIC so a queue thread
	 * polling the fd never sees it closed under it by a reconnect. */
	for (i = 0; i < nic->cfg.queues; i++) {
		rc = p->ops->evt_open(p, &nic->q[i].evt);
		if (rc)
			goto err;
	}
	rc = sn_front_xb_read_vif(nic);
	if (rc)
		goto err;
	snprintf(path, sizeof(path), "%s/state", nic->be_path);
	rc = p->ops->xs_watch(p, path, nic->watch_token);
	if (rc)
		goto err;
	rc = sn_front_xb_set_state(nic, XenbusStateInitialising);
	if (rc)
		goto err_watch;
	nic->fe_state = XenbusStateInitialising;
	*out = nic;
	return 0;

err_watch:
	p->ops->xs_unwatch(p, path, nic->watch_token);
err:
	for (i = 0; i < SN_FRONT_MAX_QUEUES; i++) {
		if (nic->q[i].evt)
			p->ops->evt_close(nic->q[i].evt);
		pthread_mutex_destroy(&nic->q[i].lock);
	}
	free(nic);
	return rc;
}

void sn_front_close(struct sn_front *nic, int timeout_ms)
{
	struct sn_plat *p;
	char path[SN_FRONT_PATH_MAX + 16];
	uint16_t i;

	if (!nic)
		return;
	p = nic->plat;
	sn_front_threads_stop(nic);
	sn_front_xb_close(nic, timeout_ms);
	snprintf(path, sizeof(path), "%s/state", nic->be_path);
	p->ops->xs_unwatch(p, path, nic->watch_token);
	for (i = 0; i < SN_FRONT_MAX_QUEUES; i++) {
		if (nic->q[i].evt)
			p->ops->evt_close(nic->q[i].evt);
		pthread_mutex_destroy(&nic->q[i].lock);
		sn_port_close(nic->q[i].port);
	}
	free(nic);
}

void sn_front_print_stats(struct sn_front *nic, FILE *f)
{
	uint16_t q;
	int c;

	for (q = 0; q < sn_front_num_queues(nic); q++) {
		const struct sn_qstats *s = nic->q[q].st;

		fprintf(f, "front queue %u:", q);
		for (c = 0; c < SN_QS__COUNT; c++)
			if (s->v[c])
				fprintf(f, " %s=%llu", sn_qstat_names[c], (unsigned long long)s->v[c]);
		fputc('\n', f);
	}
}

uint16_t sn_front_num_queues(const struct sn_front *nic)
{
	return nic->nq ? nic->nq : 1;
}

uint32_t sn_front_mtu(const struct sn_front *nic)
{
	return nic->mtu;
}

const uint8_t *sn_front_mac(const struct sn_front *nic)
{
	return nic->mac;
}

uint64_t sn_front_staging_fallbacks(const struct sn_front *nic)
{
	return atomic_load(&((struct sn_front *)nic)->staging_fallbacks);
}

bool sn_front_queue_staged(struct sn_front *nic, uint16_t qi)
{
	bool r;

	if (qi >= SN_FRONT_MAX_QUEUES)
		return false;
	pthread_mutex_lock(&nic->q[qi].lock);
	r = nic->q[qi].staging != NULL;
	pthread_mutex_unlock(&nic->q[qi].lock);
	return r;
}

uint64_t sn_front_quarantined(const struct sn_front *nic)
{
	return atomic_load(&((struct sn_front *)nic)->quarantined);
}

int sn_front_ctrl_fd(struct sn_front *nic)
{
	return nic->plat->ops->xs_watch_fd(nic->plat);
}

bool sn_front_queue_broken(const struct sn_front *nic, uint16_t q)
{
	if (q >= SN_FRONT_MAX_QUEUES)
		return true;
	return atomic_load(&((struct sn_front *)nic)->q[q].broken);
}

struct sn_qstats *sn_front_queue_stats(struct sn_front *nic, uint16_t q)
{
	return q < SN_FRONT_MAX_QUEUES ? nic->q[q].st : NULL;
}

