/* Netfront's xenstore side: read the toolstack's and backend's keys, write
 * ours in one transaction, and step the XenbusState machine of
 * xen/io/xenbus.h the way Linux xen-netfront steps it. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/io/xenbus.h>

#include "front/log.h"
#include "front/nic.h"
#include "plat/xs_keys.h"

int sn_front_xb_state(struct sn_front *nic, const char *dir)
{
	unsigned long st;
	int rc = sn_xs_read_ulong(nic->plat, XBT_NULL, dir, "state", 0,
				  XenbusStateReconfigured, &st);

	/* A removed backend directory reads as EACCES to a guest (xenstored
	 * answers for a missing node with its nearest parent's permissions,
	 * and a guest may not read another domain's backend tree): gone, as
	 * Linux's xenbus_read_driver_state says for any failed read. */
	if (rc == -ENOENT || rc == -EACCES)
		return XenbusStateUnknown;
	return rc ? rc : (int)st;
}

/* Only while our device directory exists, as Linux's xenbus_switch_state:
 * once the toolstack removed it (xl network-detach removes both ends), a
 * plain write would re-create it holding a lone state key that nobody
 * cleans up.  -ENOENT then. */
int sn_front_xb_set_state(struct sn_front *nic, int state)
{
	char v[12];

	snprintf(v, sizeof(v), "%d", state);
	return sn_xs_write_if_present(nic->plat, nic->fe_path, "state", v);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void xb_drain_watch(struct sn_front *nic)
{
	struct sn_xs_event ev;

	while (nic->plat->ops->xs_read_watch(nic->plat, &ev) == 0)
		free(ev.path);
}

int sn_front_xb_wait_be(struct sn_front *nic, const int *states, int nstates,
			int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int fd = nic->plat->ops->xs_watch_fd(nic->plat);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int st, left, i;

		/* Drain first, then read: an event arriving after the read
		 * wakes the poll below, so no transition is missed. */
		xb_drain_watch(nic);
		st = sn_front_xb_state(nic, nic->be_path);
		if (st < 0 && st != -EINVAL)
			return st;
		for (i = 0; i < nstates; i++)
			if (st == states[i])
				return st;
		if (timeout_ms < 0) {
			left = 1000;
		} else {
			left = (int)(deadline - now_ms());
			if (left <= 0)
				return -ETIMEDOUT;
		}
		/* Bounded slices: a watch lost to a daemon restart still
		 * lets us see the state by re-reading. */
		if (left > 200)
			left = 200;
		if (fd < 0)
			poll(NULL, 0, left);
		else if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

/* A backend feature flag: absent or not 0/1 reads as off; a read that
 * fails otherwise (permissions, the daemon) fails the connect, naming the
 * key. */
static int read_be_flag(struct sn_front *nic, const char *key, bool *out)
{
	int rc = sn_xs_read_bool(nic->plat, XBT_NULL, nic->be_path, key, out);

	if (rc)
		sn_front_logf(&nic->cfg.log, "cannot read %s/%s: %s", nic->be_path, key,
			      strerror(-rc));
	return rc;
}

/* feature-rx-copy is required: RX by copy is all we do (page flipping is
 * long gone; Linux netfront refuses such a backend too).  Why it is not
 * there is said, as each points elsewhere: missing (a backend that never
 * wrote it, or a directory the toolstack made anew without telling it),
 * not 1 (a backend without copy), unreadable (the directory's
 * permissions). */
static int read_rx_copy(struct sn_front *nic)
{
	const char *be = nic->be_path;
	unsigned long v = 0;
	int rc = sn_xs_read_ulong(nic->plat, XBT_NULL, be, "feature-rx-copy", 0, ULONG_MAX, &v);

	nic->be_rx_copy = !rc && v == 1;
	if (nic->be_rx_copy)
		return 0;
	if (rc == -ENOENT) {
		sn_front_logf(&nic->cfg.log, "backend %s lacks feature-rx-copy: key missing", be);
	} else if (!rc || rc == -EINVAL) {
		sn_front_logf(&nic->cfg.log,
			      "backend %s lacks feature-rx-copy: not 1 (no copying RX path)", be);
	} else {
		sn_front_logf(&nic->cfg.log, "backend %s lacks feature-rx-copy: cannot read it: %s",
			      be, strerror(-rc));
		return rc;
	}
	return -EPROTONOSUPPORT;
}

int sn_front_xb_read_features(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	const char *be = nic->be_path;
	unsigned long mq;
	int rc;

	if ((rc = read_rx_copy(nic)) ||
	    (rc = read_be_flag(nic, "feature-sg", &nic->be_sg)) ||
	    (rc = read_be_flag(nic, "feature-gso-tcpv4", &nic->be_gso4)) ||
	    (rc = read_be_flag(nic, "feature-gso-tcpv6", &nic->be_gso6)) ||
	    (rc = read_be_flag(nic, "feature-ipv6-csum-offload", &nic->be_ipv6_csum)) ||
	    (rc = read_be_flag(nic, "feature-split-event-channels", &nic->be_split)) ||
	    (rc = read_be_flag(nic, "feature-ctrl-ring", &nic->be_ctrl_ring)) ||
	    (rc = read_be_flag(nic, "feature-persistent-grefs", &nic->be_persist)))
		return rc;
	atomic_store(&nic->tx_caps, sn_front_tx_caps(nic));
	/* Absent or unparsable: no multi-queue.  An offer above what we
	 * support is capped, not refused. */
	rc = sn_xs_read_ulong(p, XBT_NULL, be, "multi-queue-max-queues", 0, LONG_MAX, &mq);
	if (rc == -ENOENT || rc == -EINVAL) {
		mq = 0;
	} else if (rc) {
		sn_front_logf(&nic->cfg.log, "cannot read %s/multi-queue-max-queues: %s", be,
			      strerror(-rc));
		return rc;
	}
	nic->be_max_queues = mq > SN_FRONT_MAX_QUEUES ? SN_FRONT_MAX_QUEUES : (uint16_t)mq;
	return 0;
}

static int xb_write_queue(struct sn_front *nic, xs_transaction_t t,
			  const struct sn_front_queue *q)
{
	struct sn_plat *p = nic->plat;
	char dir[SN_FRONT_PATH_MAX + 16];
	int rc, n;

	/* One queue: flat keys (older backends know nothing else); several:
	 * queue-N/ only, the flat ones must then be absent. */
	if (nic->nq == 1) {
		n = snprintf(dir, sizeof(dir), "%s", nic->fe_path);
	} else {
		n = snprintf(dir, sizeof(dir), "%s/queue-%u", nic->fe_path, q->id);
	}
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if ((rc = sn_xs_printf(p, t, dir, "tx-ring-ref", "%u", q->tx_ref)) ||
	    (rc = sn_xs_printf(p, t, dir, "rx-ring-ref", "%u", q->rx_ref)))
		return rc;
	if (q->port_tx != q->port_rx) {
		if ((rc = sn_xs_printf(p, t, dir, "event-channel-tx", "%d", q->port_tx)) ||
		    (rc = sn_xs_printf(p, t, dir, "event-channel-rx", "%d", q->port_rx)))
			return rc;
	} else {
		rc = sn_xs_printf(p, t, dir, "event-channel", "%d", q->port_tx);
	}
	return rc;
}

static int xb_rm(struct sn_front *nic, xs_transaction_t t, const char *key)
{
	char path[SN_FRONT_PATH_MAX + 48];
	int n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", nic->fe_path, key);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	rc = nic->plat->ops->xs_rm(nic->plat, t, path);
	return rc == -ENOENT ? 0 : rc;
}

static int xb_write_all(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	struct sn_front *nic = arg;
	const char *fe = nic->fe_path;
	char *cur = NULL;
	unsigned int off = nic->cfg.features_off;
	int rc;
	uint16_t i;

	/* Same rule as sn_front_xb_set_state: keys of a removed device would
	 * re-create its directory. */
	rc = sn_xs_read_str(p, t, fe, "state", &cur);
	free(cur);
	if (rc)
		return rc == -EACCES ? -ENOENT : rc;
	for (i = 0; i < nic->nq; i++) {
		rc = xb_write_queue(nic, t, &nic->q[i]);
		if (rc)
			return rc;
	}
	/* Linux writes the count whenever the backend offers multi-queue,
	 * even for one queue; a backend without the key gets none. */
	if (nic->be_max_queues || nic->nq > 1) {
		rc = sn_xs_printf(p, t, fe, "multi-queue-num-queues", "%u", nic->nq);
		if (rc)
			return rc;
	}
	/* The control ring's keys go in the same transaction as the data
	 * rings' (netif.h: before Connected); without one, stale keys of an
	 * earlier connect must not point the backend at a freed page. */
	if (nic->ctrl) {
		rc = sn_front_ctrl_write_keys(nic->ctrl, t, nic->fe_path);
		if (rc)
			return rc;
	} else {
		if ((rc = xb_rm(nic, t, "ctrl-ring-ref")) ||
		    (rc = xb_rm(nic, t, "event-channel-ctrl")))
			return rc;
	}
	/* Removed when not wanted: a key left by an earlier connect must not
	 * make the backend read flags we no longer set. */
	if ((rc = nic->persist_on ? sn_xs_printf(p, t, fe, "request-persistent-grefs", "1")
				  : xb_rm(nic, t, "request-persistent-grefs")))
		return rc;
	if ((rc = sn_xs_printf(p, t, fe, "request-rx-copy", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-rx-notify", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-sg", "%d", !(off & SN_OFFLOAD_SG))) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-gso-tcpv4", "%d", !(off & SN_OFFLOAD_TSO4))) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-gso-tcpv6", "%d", !(off & SN_OFFLOAD_TSO6))) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-ipv6-csum-offload", "%d",
			       !(off & SN_OFFLOAD_CSUM6))))
		return rc;
	/* Only written when asked: Linux netfront never writes it. */
	if ((off & SN_OFFLOAD_CSUM4) &&
	    (rc = sn_xs_printf(p, t, fe, "feature-no-csum-offload", "1")))
		return rc;
	return 0;
}

int sn_front_xb_write_keys(struct sn_front *nic)
{
	/* The backend reads the keys as one set only after our state goes
	 * Connected, but the transaction also keeps a concurrent toolstack
	 * write from interleaving with half of them; EAGAIN means it
	 * conflicted and nothing was written. */
	return sn_xs_txn(nic->plat, xb_write_all, nic);
}

/* ---- the state machine: toolstack keys, connect, follow, close -------- */

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

int sn_front_xb_read_vif(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	char *be = NULL, *mac = NULL;
	unsigned long v;
	int rc;

	rc = sn_xs_read_str(p, XBT_NULL, nic->fe_path, "backend", &be);
	if (rc) {
		sn_front_logf(&nic->cfg.log, "%s/backend: %s", nic->fe_path, strerror(-rc));
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
		sn_front_logf(&nic->cfg.log, "%s/backend-id missing or bad", nic->fe_path);
		rc = rc == -ENOENT ? -EINVAL : rc;
		goto out;
	}
	nic->be_domid = (uint16_t)v;
	memset(nic->mac, 0, sizeof(nic->mac));
	if (sn_xs_read_str(p, XBT_NULL, nic->fe_path, "mac", &mac) == 0 &&
	    parse_mac(mac, nic->mac))
		sn_front_logf(&nic->cfg.log, "ignoring bad mac '%s'", mac);
	rc = sn_xs_read_ulong(p, XBT_NULL, nic->fe_path, "mtu", 68, 65535, &v);
	nic->mtu = rc ? 1500 : (uint32_t)v;
	rc = 0;
out:
	free(mac);
	free(be);
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

/* Backend in InitWait: build everything and announce it. */
static int do_connect(struct sn_front *nic)
{
	uint16_t want = nic->cfg.queues;
	int rc;

	rc = sn_front_xb_read_features(nic);
	if (rc)
		return rc;
	if (want > (nic->be_max_queues ? nic->be_max_queues : 1))
		want = nic->be_max_queues ? nic->be_max_queues : 1;
	nic->nq = want;
	if (!nic->shr_probed) {
		sn_front_buf_probe(nic);
		nic->shr_probed = true;
	}
	nic->staging_planned = false;
	/* Persist needs no control ring: the pool is used either way, the
	 * flags only when the backend offers them. */
	nic->persist_on = nic->cfg.staging == SN_STAGING_PERSIST && nic->be_persist;
	if (nic->cfg.staging == SN_STAGING_PERSIST) {
		nic->staging_planned = true;
		if (!nic->be_persist)
			sn_front_logf(&nic->cfg.log, "vif %u: backend offers no "
				      "feature-persistent-grefs: pool reused without flags",
				      nic->devid);
	} else if (nic->cfg.staging != SN_STAGING_OFF) {
		if (nic->be_ctrl_ring)
			nic->staging_planned = true;
		else
			sn_front_staging_fallback(nic, nic->nq, "backend offers no control ring");
	}
	rc = sn_front_queues_setup(nic);
	if (rc)
		return rc;
	if (nic->staging_planned && nic->cfg.staging != SN_STAGING_PERSIST) {
		rc = sn_front_ctrl_open(nic->plat, nic->be_domid, 0, &nic->cfg.log, &nic->ctrl);
		if (rc) {
			nic->ctrl = NULL;
			sn_front_staging_fallback(nic, nic->nq, "cannot set up the control ring");
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
					sn_front_staging_connect(nic);
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
	/* Our directory is gone: the toolstack removed the device, and there
	 * is nothing to write or to report until it makes a new one. */
	return rc == -ENOENT ? 0 : rc;
}

/* What a connect came to, said once per sn_front_connect. */
static void say_connected(struct sn_front *nic)
{
	uint16_t i, staged = 0;

	sn_front_logf(&nic->cfg.log, "vif %u connected, %u queue(s), mtu %u", nic->devid,
		      nic->nq, nic->mtu);
	if (nic->cfg.staging == SN_STAGING_OFF)
		return;
	for (i = 0; i < nic->nq; i++)
		staged += sn_front_queue_staged(nic, i);
	sn_front_logf(&nic->cfg.log, "staging grants (%s) on %u of %u queue(s)",
		      sn_front_staging_policy_name(nic->cfg.staging), staged, nic->nq);
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
	say_connected(nic);
	return 0;
}

/* Closing first so the backend stops touching the rings before we revoke
 * their grants; then Closed once it has. */
void sn_front_xb_close(struct sn_front *nic, int timeout_ms)
{
	static const int done[] = { XenbusStateClosing, XenbusStateClosed,
				    XenbusStateUnknown };
	static const int closed[] = { XenbusStateClosed, XenbusStateUnknown };
	int rc;

	if (nic->phase == SN_FRONT_UP)
		sn_front_staging_release_all(nic);
	/* With our directory gone (-ENOENT) nothing is written, but the
	 * backend may still map the rings: wait for it as Linux's
	 * xennet_bus_close does. */
	rc = set_state(nic, XenbusStateClosing);
	if ((rc == 0 || rc == -ENOENT) && nic->phase != SN_FRONT_DOWN)
		sn_front_xb_wait_be(nic, done, 3, timeout_ms);
	go_down(nic);
	rc = set_state(nic, XenbusStateClosed);
	if (rc == 0 || rc == -ENOENT)
		sn_front_xb_wait_be(nic, closed, 2, timeout_ms);
}
