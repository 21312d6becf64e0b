/* Netfront's xenstore side: read the toolstack's and backend's keys, write
 * ours in one transaction, and step the XenbusState machine (digest §4). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/io/xenbus.h>

#include "front/nic.h"
#include "plat/xs_keys.h"

int sn_front_xb_state(struct sn_front *nic, const char *dir)
{
	unsigned long st;
	int rc = sn_xs_read_ulong(nic->plat, XBT_NULL, dir, "state", 0,
				  XenbusStateReconfigured, &st);

	if (rc == -ENOENT)
		return XenbusStateUnknown;
	return rc ? rc : (int)st;
}

int sn_front_xb_set_state(struct sn_front *nic, int state)
{
	return sn_xs_printf(nic->plat, XBT_NULL, nic->fe_path, "state", "%d", state);
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

int sn_front_xb_read_features(struct sn_front *nic)
{
	struct sn_plat *p = nic->plat;
	const char *be = nic->be_path;
	unsigned long mq;
	int rc;

	if ((rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-sg", &nic->be_sg)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-gso-tcpv4", &nic->be_gso4)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-gso-tcpv6", &nic->be_gso6)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-ipv6-csum-offload",
				  &nic->be_ipv6_csum)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-split-event-channels",
				  &nic->be_split)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-rx-copy", &nic->be_rx_copy)) ||
	    (rc = sn_xs_read_bool(p, XBT_NULL, be, "feature-ctrl-ring", &nic->be_ctrl_ring)))
		return rc;
	/* Absent or unparsable: no multi-queue.  An offer above what we
	 * support is capped, not refused. */
	rc = sn_xs_read_ulong(p, XBT_NULL, be, "multi-queue-max-queues", 0, LONG_MAX, &mq);
	if (rc == -ENOENT || rc == -EINVAL)
		mq = 0;
	else if (rc)
		return rc;
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
	int rc;
	uint16_t i;

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
	if ((rc = sn_xs_printf(p, t, fe, "request-rx-copy", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-rx-notify", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-sg", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-gso-tcpv4", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-gso-tcpv6", "1")) ||
	    (rc = sn_xs_printf(p, t, fe, "feature-ipv6-csum-offload", "1")))
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
