/* Netfront NIC and queue lifecycle: open the vif our toolstack described,
 * build and tear down rings, buffers and event channels, follow the
 * backend's state (including its restart), and pick a queue per flow. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/io/xenbus.h>

#include "front/nic.h"
#include "plat/xs_keys.h"

void sn_front_queue_fail(struct sn_front_queue *q, const char *why)
{
	bool was = false;

	/* One flag, set from the datapath; the control thread tears down.
	 * Only the first failure is counted so a hostile backend cannot
	 * inflate the counter. */
	if (atomic_compare_exchange_strong(&q->broken, &was, true)) {
		sn_front_count(q, SN_QS_fatal_errors, 1);
		fprintf(stderr, "stagenet front: vif %u queue %u: backend error: %s; queue disabled\n",
			q->nic->devid, q->id, why);
	}
}

int sn_front_buf_revoke(struct sn_front_queue *q, struct sn_front_buf *b)
{
	struct sn_plat *p = q->nic->plat;
	int rc;

	if (!b->inflight)
		return 0;
	b->inflight = false;
	if (q->nic->no_shr_grant)
		return 0; /* persistent alloc grant: nothing to end per use */
	rc = p->ops->shr_revoke(p, b->gref);
	if (rc == 0)
		return 0;
	/* Still pinned (or the revoke failed outright): the backend may yet
	 * read or write the page, so it must never carry other data. */
	b->quarantined = true;
	atomic_fetch_add(&q->nic->quarantined, 1);
	return -EBUSY;
}

void sn_front_notify(struct sn_front_queue *q, int port)
{
	struct sn_plat *p = q->nic->plat;

	if (p->ops->evt_notify(q->evt, (sn_port_t)port) == 0)
		sn_front_count(q, SN_QS_notify_sent, 1);
}

static int buf_alloc(struct sn_front *nic, struct sn_front_buf *b, bool writable)
{
	void *page;
	int rc;

	/* With per-use grants the page's standing grant goes to ourselves:
	 * the backend reaches a buffer only while a request names it. */
	rc = nic->plat->ops->shr_alloc(nic->plat,
				       nic->no_shr_grant ? nic->be_domid : nic->plat->domid,
				       1, writable, &b->alloc_ref, &page);
	if (rc)
		return rc;
	b->page = page;
	b->inflight = false;
	b->quarantined = false;
	return 0;
}

int sn_front_buf_grant(struct sn_front_queue *q, struct sn_front_buf *b,
		       bool writable)
{
	struct sn_front *nic = q->nic;
	int rc;

	if (!nic->no_shr_grant) {
		rc = nic->plat->ops->shr_grant(nic->plat, nic->be_domid, b->page,
					       writable, &b->gref);
		if (rc == -EOPNOTSUPP)
			nic->no_shr_grant = true;
		else if (rc)
			return rc;
	}
	if (nic->no_shr_grant)
		b->gref = b->alloc_ref;
	b->inflight = true;
	return 0;
}

int sn_front_buf_replace(struct sn_front_queue *q, struct sn_front_buf *b,
			 bool writable)
{
	struct sn_plat *p = q->nic->plat;

	/* The platform keeps the old page quarantined (its grant is still
	 * live); we only need a fresh one. */
	if (b->page)
		p->ops->shr_free(p, b->page, 1);
	b->page = NULL;
	return buf_alloc(q->nic, b, writable);
}

/* Release a buffer page; a page the backend still holds stays with the
 * platform's quarantine, never reused. */
static void buf_release(struct sn_front_queue *q, struct sn_front_buf *b)
{
	struct sn_plat *p = q->nic->plat;

	if (!b->page)
		return;
	if (b->inflight)
		sn_front_buf_revoke(q, b);
	/* One more try at a grant that was still pinned: the backend may have
	 * let go since.  If not, shr_free quarantines the page itself. */
	if (b->quarantined && !q->nic->no_shr_grant && p->ops->shr_revoke(p, b->gref) == 0)
		b->quarantined = false;
	if (p->ops->shr_free(p, b->page, 1) == -EBUSY && !b->quarantined)
		atomic_fetch_add(&q->nic->quarantined, 1);
	b->page = NULL;
	b->quarantined = false;
}

static void ring_release(struct sn_front_queue *q, void **sring)
{
	struct sn_plat *p = q->nic->plat;

	if (!*sring)
		return;
	/* shr_free quarantines a page the backend still maps. */
	if (p->ops->shr_free(p, *sring, 1) == -EBUSY)
		atomic_fetch_add(&q->nic->quarantined, 1);
	*sring = NULL;
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
		buf_release(q, &q->txb[i]);
	for (i = 0; i < SN_RX_RING_SIZE; i++)
		buf_release(q, &q->rxb[i]);
	ring_release(q, &q->tx_sring);
	ring_release(q, &q->rx_sring);
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
		rc = buf_alloc(nic, &q->txb[i], false);
		if (rc)
			goto fail;
		q->tx_next[i] = (uint16_t)(i + 1);
		q->tx_stage[i] = -1;
	}
	q->tx_free_head = 0;
	q->tx_free_cnt = SN_TX_RING_SIZE;
	for (i = 0; i < SN_RX_RING_SIZE; i++) {
		rc = buf_alloc(nic, &q->rxb[i], true);
		if (rc)
			goto fail;
		q->rx_stage[i] = -1;
	}
	/* Page staging posts staged pages on RX, but the pool can only be
	 * registered once the backend is Connected (it maps the control
	 * ring then).  A ring filled now would hold normal buffers for its
	 * first 256 packets, so posting waits for the pool. */
	q->rx_deferred = nic->staging_planned && nic->cfg.staging == SN_STAGING_PAGE;
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

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int read_vif(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	char *be = NULL, *mac = NULL;
	unsigned long v;
	int rc;

	rc = sn_xs_read_str(p, XBT_NULL, nic->fe_path, "backend", &be);
	if (rc) {
		fprintf(stderr, "stagenet front: %s/backend: %s\n", nic->fe_path, strerror(-rc));
		return rc;
	}
	/* Follow the key wherever it points (QEMU uses backend/qnic), but
	 * it must be an absolute path that fits. */
	if (be[0] != '/' || strlen(be) >= sizeof(nic->be_path)) {
		rc = -EINVAL;
		goto out;
	}
	strcpy(nic->be_path, be);
	rc = sn_xs_read_ulong(p, XBT_NULL, nic->fe_path, "backend-id", 0, 0x7FEF, &v);
	if (rc) {
		fprintf(stderr, "stagenet front: %s/backend-id missing or bad\n", nic->fe_path);
		rc = rc == -ENOENT ? -EINVAL : rc;
		goto out;
	}
	nic->be_domid = (uint16_t)v;
	memset(nic->mac, 0, sizeof(nic->mac));
	if (sn_xs_read_str(p, XBT_NULL, nic->fe_path, "mac", &mac) == 0 &&
	    parse_mac(mac, nic->mac))
		fprintf(stderr, "stagenet front: ignoring bad mac '%s'\n", mac);
	rc = sn_xs_read_ulong(p, XBT_NULL, nic->fe_path, "mtu", 68, 65535, &v);
	nic->mtu = rc ? 1500 : (uint32_t)v;
	rc = 0;
out:
	free(mac);
	free(be);
	return rc;
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
	rc = read_vif(nic);
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

static int set_state(struct sn_front *nic, int st)
{
	int rc;

	if (nic->fe_state == st)
		return 0;
	rc = sn_front_xb_set_state(nic, st);
	if (!rc)
		nic->fe_state = st;
	return rc;
}

/* Whether the platform grants per use (emu) or only at allocation
 * (gntalloc on real Xen); decided once, before any buffer exists. */
static void probe_shr_grant(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	uint32_t ref, g;
	void *page;

	if (p->ops->shr_alloc(p, p->domid, 1, false, &ref, &page))
		return;
	if (p->ops->shr_grant(p, nic->be_domid, page, false, &g) == -EOPNOTSUPP)
		nic->no_shr_grant = true;
	else
		p->ops->shr_revoke(p, g);
	p->ops->shr_free(p, page, 1);
}

void sn_front_queue_unstage(struct sn_front_queue *q, bool peer_gone)
{
	unsigned int i;
	uint32_t kept;

	if (!q->staging)
		return;
	kept = sn_front_staging_destroy(q->staging, peer_gone);
	q->staging = NULL;
	/* Requests still on the rings name grefs that are now deleted (and
	 * revoked, or quarantined): their answers take the normal path. */
	for (i = 0; i < SN_TX_RING_SIZE; i++)
		q->tx_stage[i] = -1;
	for (i = 0; i < SN_RX_RING_SIZE; i++)
		q->rx_stage[i] = -1;
	if (kept)
		atomic_fetch_add(&q->nic->quarantined, kept);
}

/* Orderly close: the datapath stops and every pool is deleted while the
 * backend is still connected and can answer DEL (after Closing it unmaps
 * everything and its control ring is gone). */
static void staging_release_all(struct sn_front *nic)
{
	uint16_t i;

	for (i = 0; i < nic->nq; i++) {
		struct sn_front_queue *q = &nic->q[i];

		pthread_mutex_lock(&q->lock);
		if (q->staging) {
			q->up = false;
			/* Collect what the backend has answered so those
			 * buffers are no longer in flight when DEL comes. */
			if (q->tx_sring && !atomic_load(&q->broken))
				sn_front_tx_gc(q);
			sn_front_queue_unstage(q, false);
		}
		pthread_mutex_unlock(&q->lock);
	}
}

static void staging_fallback(struct sn_front *nic, uint16_t queues, const char *why)
{
	atomic_fetch_add(&nic->staging_fallbacks, queues);
	if (nic->staging_said)
		return;
	nic->staging_said = true;
	fprintf(stderr, "stagenet front: vif %u: staging grants (%s) unavailable: %s; "
		"using the normal grant path\n", nic->devid,
		sn_front_staging_policy_name(nic->cfg.staging), why);
}

/* Backend Connected: register a pool per queue, then post RX buffers
 * (staged ones first) on the queues that waited for it. */
static void staging_connect(struct sn_front *nic)
{
	struct sn_front_staging *pools[SN_FRONT_MAX_QUEUES] = { 0 };
	struct sn_front_staging_cfg scfg = { .policy = nic->cfg.staging,
					     .max_pages = nic->cfg.staging_pages };
	struct sn_qstats *st[SN_FRONT_MAX_QUEUES];
	struct sn_front_staging_report rep = { 0 };
	uint16_t i;

	if (nic->ctrl) {
		for (i = 0; i < nic->nq; i++)
			st[i] = nic->q[i].st;
		sn_front_staging_setup(nic->plat, nic->ctrl, nic->be_domid, nic->nq, &scfg, st,
				       pools, nic->staging_said ? NULL : stderr, &rep);
		if (rep.fallbacks) {
			nic->staging_said = true;
			atomic_fetch_add(&nic->staging_fallbacks, rep.fallbacks);
		}
	}
	for (i = 0; i < nic->nq; i++) {
		struct sn_front_queue *q = &nic->q[i];

		pthread_mutex_lock(&q->lock);
		q->staging = pools[i];
		if (q->rx_deferred) {
			q->rx_deferred = false;
			sn_front_rx_refill(q);
		}
		pthread_mutex_unlock(&q->lock);
	}
}

/* Backend in InitWait: build everything and announce it. */
static int do_connect(struct sn_front *nic)
{
	uint16_t want = nic->cfg.queues;
	int rc;

	rc = sn_front_xb_read_features(nic);
	if (rc)
		return rc;
	if (!nic->be_rx_copy) {
		/* Page flipping is long gone; RX by copy is all we do. */
		fprintf(stderr, "stagenet front: backend %s lacks feature-rx-copy\n", nic->be_path);
		return -EPROTONOSUPPORT;
	}
	if (want > (nic->be_max_queues ? nic->be_max_queues : 1))
		want = nic->be_max_queues ? nic->be_max_queues : 1;
	nic->nq = want;
	if (!nic->shr_probed) {
		probe_shr_grant(nic);
		nic->shr_probed = true;
	}
	nic->staging_planned = false;
	if (nic->cfg.staging != SN_STAGING_OFF) {
		if (nic->be_ctrl_ring)
			nic->staging_planned = true;
		else
			staging_fallback(nic, nic->nq, "backend offers no control ring");
	}
	rc = sn_front_queues_setup(nic);
	if (rc)
		return rc;
	if (nic->staging_planned) {
		rc = sn_front_ctrl_open(nic->plat, nic->be_domid, 0, &nic->ctrl);
		if (rc) {
			nic->ctrl = NULL;
			staging_fallback(nic, nic->nq, "cannot set up the control ring");
		}
	}
	rc = sn_front_xb_write_keys(nic);
	if (!rc)
		rc = set_state(nic, XenbusStateConnected);
	if (rc) {
		sn_front_queues_teardown(nic);
		sn_front_ctrl_close(nic->ctrl);
		nic->ctrl = NULL;
		return rc;
	}
	nic->phase = SN_FRONT_CONNECTING;
	return 0;
}

static void go_down(struct sn_front *nic)
{
	sn_front_queues_teardown(nic);
	/* After the pools: DEL needed the ring.  shr_free quarantines the
	 * ring page if the backend still maps it. */
	sn_front_ctrl_close(nic->ctrl);
	nic->ctrl = NULL;
	nic->phase = SN_FRONT_DOWN;
}

int sn_front_poll_ctrl(struct sn_front *nic, enum sn_front_event *ev)
{
	struct sn_xs_event xev;
	int be, rc = 0;
	uint16_t i;

	*ev = SN_FRONT_EV_NONE;
	while (nic->plat->ops->xs_read_watch(nic->plat, &xev) == 0)
		free(xev.path);
	be = sn_front_xb_state(nic, nic->be_path);
	if (be == -EINVAL)
		be = XenbusStateUnknown; /* garbage reads as "not there" */
	if (be < 0)
		return be;

	switch (nic->phase) {
	case SN_FRONT_UP:
	case SN_FRONT_CONNECTING:
		if (be == XenbusStateConnected) {
			if (nic->phase == SN_FRONT_CONNECTING) {
				nic->phase = SN_FRONT_UP;
				if (nic->staging_planned)
					staging_connect(nic);
				for (i = 0; i < nic->nq; i++) {
					pthread_mutex_lock(&nic->q[i].lock);
					nic->q[i].up = true;
					pthread_mutex_unlock(&nic->q[i].lock);
					/* Kick once: requests posted before the
					 * backend bound its ports were not
					 * signalled. */
					sn_front_notify(&nic->q[i], nic->q[i].port_tx);
					if (nic->q[i].port_rx != nic->q[i].port_tx)
						sn_front_notify(&nic->q[i], nic->q[i].port_rx);
				}
				*ev = SN_FRONT_EV_RECONNECTED;
			}
			return 0;
		}
		/* InitWait/Initialised while we wait is the normal way there. */
		if (nic->phase == SN_FRONT_CONNECTING &&
		    (be == XenbusStateInitWait || be == XenbusStateInitialised))
			return 0;
		if (nic->phase == SN_FRONT_UP && be == XenbusStateInitialised)
			return 0;
		/* Backend closing, gone, or restarted (back in InitWait): the
		 * rings are dead; never reuse them. */
		go_down(nic);
		*ev = SN_FRONT_EV_DOWN;
		break;
	case SN_FRONT_DOWN:
		break;
	}

	/* Down: walk the backend back to InitWait. */
	switch (be) {
	case XenbusStateInitWait:
		rc = set_state(nic, XenbusStateInitialising);
		if (!rc)
			rc = do_connect(nic);
		break;
	case XenbusStateConnected:
		/* Still connected to rings of an earlier instance of us: a
		 * backend ignores Initialising then, so walk it through
		 * Closed (it answers 5, 6, then InitWait once we say 1). */
	case XenbusStateClosing:
		/* Let it finish closing (Linux: frontend_closed). */
		rc = set_state(nic, XenbusStateClosed);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
	case XenbusStateInitialising:
		/* A backend goes Closed -> InitWait when it sees us at
		 * Initialising. */
		rc = set_state(nic, XenbusStateInitialising);
		break;
	default:
		break;
	}
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sn_front_connect(struct sn_front *nic, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = nic->plat->ops->xs_watch_fd(nic->plat);

	while (nic->phase != SN_FRONT_UP) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		enum sn_front_event ev;
		int rc, left = 200;

		rc = sn_front_poll_ctrl(nic, &ev);
		if (rc)
			return rc;
		if (nic->phase == SN_FRONT_UP)
			break;
		if (timeout_ms >= 0) {
			int64_t l = deadline - now_ms();

			if (l <= 0)
				return -ETIMEDOUT;
			if (l < left)
				left = (int)l;
		}
		/* Bounded sleep: re-reading the state covers a lost watch. */
		if (fd < 0 || poll(&pfd, 1, left) < 0)
			poll(NULL, 0, left);
	}
	return 0;
}

void sn_front_close(struct sn_front *nic, int timeout_ms)
{
	static const int done[] = { XenbusStateClosing, XenbusStateClosed,
				    XenbusStateUnknown };
	static const int closed[] = { XenbusStateClosed, XenbusStateUnknown };
	struct sn_plat *p;
	char path[SN_FRONT_PATH_MAX + 16];
	uint16_t i;

	if (!nic)
		return;
	p = nic->plat;
	/* Closing first so the backend stops touching the rings before we
	 * revoke their grants; then Closed once it has. */
	if (nic->phase == SN_FRONT_UP)
		staging_release_all(nic);
	if (set_state(nic, XenbusStateClosing) == 0 && nic->phase != SN_FRONT_DOWN)
		sn_front_xb_wait_be(nic, done, 3, timeout_ms);
	go_down(nic);
	if (set_state(nic, XenbusStateClosed) == 0)
		sn_front_xb_wait_be(nic, closed, 2, timeout_ms);
	snprintf(path, sizeof(path), "%s/state", nic->be_path);
	p->ops->xs_unwatch(p, path, nic->watch_token);
	for (i = 0; i < SN_FRONT_MAX_QUEUES; i++) {
		if (nic->q[i].evt)
			p->ops->evt_close(nic->q[i].evt);
		pthread_mutex_destroy(&nic->q[i].lock);
	}
	free(nic);
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
	got = sn_evt_take_fired(p, q->evt, 4);
	pthread_mutex_lock(&q->lock);
	if (got)
		sn_front_count(q, SN_QS_notify_recv, (uint64_t)got);
	if (q->up && !atomic_load(&q->broken)) {
		/* Ask for an event on the next response of either ring, then
		 * re-read prod (the fence in set_rsp_event orders the two). */
		work = sn_tx_front_final_check(&q->tx, NULL) != 0;
		work |= sn_rx_front_final_check(&q->rx, NULL) != 0;
		/* An event whose work a poll already took is not spurious. */
		if (got && !work && !q->worked)
			sn_front_count(q, SN_QS_spurious_events, 1);
		q->worked = false;
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

int sn_front_queue_wait(struct sn_front *nic, uint16_t qi, int timeout_ms,
			unsigned int poll_us)
{
	struct sn_front_queue *q;
	struct pollfd pfd;
	int rc;

	if (qi >= nic->cfg.queues)
		return -EINVAL;
	q = &nic->q[qi];
	if (poll_us) {
		uint64_t end = now_us() + poll_us;
		bool hit = false;

		pthread_mutex_lock(&q->lock);
		do {
			hit = q->up && queue_has_work(q);
		} while (!hit && now_us() < end);
		pthread_mutex_unlock(&q->lock);
		if (hit)
			return 1;
	}
	rc = sn_front_queue_arm(nic, qi);
	if (rc)
		return rc;
	pfd.fd = sn_front_queue_fd(nic, qi);
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc > 0;
}
