/* netback's control thread: watches backend/vif in xenstore, creates and
 * removes vifs as the toolstack adds and deletes them, writes the feature
 * keys and runs each vif's xenbus state machine (Linux netback's
 * frontend_changed), including reconnect after the frontend closes or its
 * domain dies. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/xenbus.h>

#include "back/common.h"
#include "plat/xs_keys.h"

#define TOKEN_BE "sn-back"
#define TOKEN_FE "sn-back-fe"
#define TOKEN_REL "sn-back-rel"
/* Watch events handled per control step; the rest stay queued in the
 * library, and one rescan covers any number of them (XSA-349). */
#define EVENTS_PER_STEP 256

static void blog(struct sn_back *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void blog(struct sn_back *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->cfg.log)
		return;
	va_start(ap, fmt);
	fprintf(b->cfg.log, "back: ");
	vfprintf(b->cfg.log, fmt, ap);
	fputc('\n', b->cfg.log);
	va_end(ap);
	fflush(b->cfg.log);
}

/* A key the frontend or toolstack wrote, as an unsigned in [0, max]. */
static int read_ulong(struct sn_back *b, const char *dir, const char *key,
		      unsigned long max, unsigned long *out)
{
	return sn_xs_read_ulong(b->plat, XBT_NULL, dir, key, 0, max, out);
}

/* The key that tells a vif directory we set up from one the toolstack made
 * anew at the same path: vif_add writes it before any state, no toolstack
 * writes it (libxl writes no feature key), and a frontend cannot connect
 * without it. */
#define OURS_KEY "feature-rx-copy"

struct vif_write {
	const struct sn_back_vif *v;
	const char *key, *val;
};

static int vif_write_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const struct vif_write *w = arg;
	char *cur = NULL;
	int rc;

	rc = sn_xs_read_str(p, t, w->v->be_path, "state", &cur);
	free(cur);
	cur = NULL;
	if (rc)
		return rc == -EACCES ? -ENOENT : rc;
	rc = sn_xs_read_str(p, t, w->v->be_path, OURS_KEY, &cur);
	free(cur);
	if (rc == -ENOENT || rc == -EACCES)
		return -ESTALE;
	if (rc)
		return rc;
	return sn_xs_printf(p, t, w->v->be_path, w->key, "%s", w->val);
}

/* Write one of our keys into the vif's directory, in one transaction with
 * the checks that it is still the directory vif_add set up: -ENOENT once
 * the toolstack removed it (a plain write would re-create it, a ghost vif,
 * as Linux's xenbus_switch_state avoids); -ESTALE when the toolstack
 * removed it and created it again (vif-del then vif-add) while we were
 * still acting on what the old one's frontend wrote.  Written there, our
 * state would be the new vif's and hide that its feature keys were never
 * written (vif_recreated looks for the toolstack's Initialising): its
 * frontend would find InitWait without feature-rx-copy for as long as we
 * run. */
static int vif_write(struct sn_back_vif *v, const char *key, const char *val)
{
	struct vif_write w = { .v = v, .key = key, .val = val };
	int rc = sn_xs_txn(v->back->plat, vif_write_body, &w);

	if (rc == -ESTALE) {
		/* Set it up anew on the next step: the toolstack's watch
		 * events may all have been taken by the step that led here. */
		v->back->rescan = true;
		blog(v->back, "vif%u.%u: directory created again by the toolstack, "
		     "%s not written there", v->domid, v->devid, key);
	}
	return rc;
}

static void set_state(struct sn_back_vif *v, int state)
{
	char s[8];
	int rc;

	if (state != XenbusStateConnected)
		v->hotplug_wait = false;
	if (v->state == state)
		return;
	snprintf(s, sizeof(s), "%d", state);
	/* Not while the toolstack removed the directory (vif-del) as we were
	 * still reacting to the Closing it wrote just before: a ghost vif. */
	rc = vif_write(v, "state", s);
	if (rc == -ENOENT)
		blog(v->back, "vif%u.%u: device removed, state %d not written",
		     v->domid, v->devid, state);
	else if (rc && rc != -ESTALE)
		blog(v->back, "vif%u.%u: writing state %d: %s", v->domid,
		     v->devid, state, strerror(-rc));
	blog(v->back, "vif%u.%u: state %d -> %d", v->domid, v->devid,
	     v->state, state);
	v->state = state;
}

/* Linux's xenbus_dev_fatal: say why in xenstore, go to Closing. */
static void vif_error(struct sn_back_vif *v, const char *msg)
{
	vif_write(v, "error", msg);
	blog(v->back, "vif%u.%u: %s", v->domid, v->devid, msg);
	set_state(v, XenbusStateClosing);
}

static int write_features_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	static const struct {
		const char *key;
		unsigned int off; /* the sn_back_cfg.features_off bit that hides it */
	} ones[] = {
		{ "feature-sg", SN_OFFLOAD_SG },
		{ "feature-gso-tcpv4", SN_OFFLOAD_TSO4 },
		{ "feature-gso-tcpv6", SN_OFFLOAD_TSO6 },
		{ "feature-ipv6-csum-offload", SN_OFFLOAD_CSUM6 },
		{ "feature-rx-copy", 0 },
		{ "feature-multicast-control", 0 },
		{ "feature-dynamic-multicast-control", 0 },
		/* RX data after the headroom a Linux netfront asks for
		 * (xdp-headroom, vif_read_xdp_headroom). */
		{ "feature-xdp-headroom", 0 },
	};
	struct sn_back_vif *v = arg;
	const struct sn_back_cfg *cfg = &v->back->cfg;
	const char *dir = v->be_path;
	char *fe = NULL;
	int rc;

	/* Into the toolstack's directory only, the one vif_add read: removed
	 * since, our keys would make a directory of their own that nobody
	 * removes. */
	rc = sn_xs_read_str(p, t, dir, "frontend", &fe);
	if (!rc && strcmp(fe, v->fe_path))
		rc = -ESTALE;
	free(fe);
	if (rc)
		return rc == -EACCES ? -ENOENT : rc;
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]) && !rc; i++)
		rc = sn_xs_printf(p, t, dir, ones[i].key, "%d",
				  !(cfg->features_off & ones[i].off));
	if (!rc)
		rc = sn_xs_printf(p, t, dir, "feature-rx-flip", "0");
	if (!rc)
		rc = sn_xs_printf(p, t, dir, "feature-split-event-channels", "%d",
				  !cfg->no_split_evtchn);
	if (!rc)
		rc = sn_xs_printf(p, t, dir, "multi-queue-max-queues", "%u",
				  v->max_queues);
	/* The control ring carries the hash configuration and the
	 * staging-grant messages (ctrl.c). */
	if (!rc)
		rc = sn_xs_printf(p, t, dir, "feature-ctrl-ring", "%d",
				  !cfg->no_ctrl_ring);
	/* Persist flags on the data rings: the staging tables without the
	 * control ring (README "Persist flags"). */
	if (!rc)
		rc = sn_xs_printf(p, t, dir, "feature-persistent-grefs", "%d",
				  !cfg->staging_off && !cfg->persist_off);
	return rc;
}

/* Which incarnation of the domain runs under domid (malloc'd), or NULL if
 * none does or it cannot be told. */
static char *domain_ident(struct sn_back *b, uint16_t domid)
{
	char *id = NULL;

	return b->plat->ops->dom_instance(b->plat, domid, &id) ? NULL : id;
}

/* ---- connect: read what the frontend wrote ------------------------------ */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int m[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3],
		   &m[4], &m[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

static void read_rate(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long long bytes;
	unsigned long usec;
	char *val = NULL;

	v->feat.credit_bytes = 0;
	v->feat.credit_usec = 0;
	if (sn_xs_read_str(b->plat, XBT_NULL, v->be_path, "rate", &val))
		return;
	/* libxl's "bytes,usec"; a bad value means unlimited, like Linux. */
	if (sscanf(val, "%llu,%lu", &bytes, &usec) == 2 && bytes && usec) {
		v->feat.credit_bytes = bytes;
		v->feat.credit_usec = usec;
	}
	free(val);
}

/* The frontend's request-multicast-control, read at connect and again
 * whenever its directory changes while connected: Linux netback watches
 * the key (feature-dynamic-multicast-control), so a frontend turns the
 * filter on and off at runtime. */
static void read_mcast_ctrl(struct sn_back *b, struct sn_back_vif *v)
{
	bool on = false;

	sn_xs_read_bool(b->plat, XBT_NULL, v->fe_path,
			"request-multicast-control", &on);
	if (on != atomic_load(&v->mcast_on))
		blog(b, "vif%u.%u: multicast control %s", v->domid, v->devid,
		     on ? "on" : "off");
	atomic_store(&v->mcast_on, on);
}

/* The frontend's feature flags; a flag we cannot read is not offered.
 * request-rx-copy is required: the grant-copy RX path is the only one
 * (no page flipping), and Linux netback refuses a frontend without it
 * the same way (EOPNOTSUPP, a xenbus error). */
static int read_flags(struct sn_back *b, struct sn_back_vif *v,
		      char *err, size_t errlen)
{
	struct sn_plat *p = b->plat;
	const char *fe = v->fe_path;
	struct sn_back_features *f = &v->feat;
	unsigned long rx_copy = 0;
	int rc;

	rc = read_ulong(b, fe, "request-rx-copy", UINT32_MAX, &rx_copy);
	if (rc && rc != -ENOENT) {
		snprintf(err, errlen, "reading %s/request-rx-copy: %s", fe,
			 strerror(-rc));
		return rc;
	}
	if (!rx_copy) {
		snprintf(err, errlen,
			 "%s/request-rx-copy not set: only rx-copy is supported", fe);
		return -EOPNOTSUPP;
	}

	sn_xs_read_bool(p, XBT_NULL, fe, "feature-sg", &f->sg);
	sn_xs_read_bool(p, XBT_NULL, fe, "feature-gso-tcpv4", &f->gso_tcpv4);
	sn_xs_read_bool(p, XBT_NULL, fe, "feature-gso-tcpv6", &f->gso_tcpv6);
	sn_xs_read_bool(p, XBT_NULL, fe, "feature-ipv6-csum-offload", &f->ipv6_csum);
	sn_xs_read_bool(p, XBT_NULL, fe, "feature-no-csum-offload", &f->no_csum);
	sn_xs_read_bool(p, XBT_NULL, fe, "feature-rx-notify", &f->rx_notify);
	/* Only what we offered: a frontend asking for more must not make us
	 * read flag bits (or RX padding) it never agreed on with us. */
	f->persist = false;
	if (!b->cfg.staging_off && !b->cfg.persist_off)
		sn_xs_read_bool(p, XBT_NULL, fe, "request-persistent-grefs",
				&f->persist);
	read_mcast_ctrl(b, v);
	return 0;
}

/* The frontend's xdp-headroom, which every RX response's first slot then
 * leaves in front of the data.  As Linux netback: absent or unreadable
 * means none, above XEN_NETIF_MAX_XDP_HEADROOM is clamped to it; further,
 * to SN_BACK_XDP_HEADROOM_MAX, since the data must fit the page (Linux
 * would copy past it). */
static void vif_read_xdp_headroom(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long h;

	if (read_ulong(b, v->fe_path, "xdp-headroom", ULONG_MAX, &h))
		h = 0;
	if (h > XEN_NETIF_MAX_XDP_HEADROOM)
		h = XEN_NETIF_MAX_XDP_HEADROOM;
	if (h > SN_BACK_XDP_HEADROOM_MAX)
		h = SN_BACK_XDP_HEADROOM_MAX;
	if (atomic_exchange(&v->xdp_headroom, (uint16_t)h) != h)
		blog(b, "vif%u.%u: RX headroom %lu (xdp-headroom)", v->domid,
		     v->devid, h);
}

static int read_queue_keys(struct sn_back *b, struct sn_back_vif *v,
			   const char *dir, struct sn_back_qparams *qp,
			   char *err, size_t errlen)
{
	unsigned long tx, rx, et, er, e;
	int rc;

	if ((rc = read_ulong(b, dir, "tx-ring-ref", UINT32_MAX, &tx)) ||
	    (rc = read_ulong(b, dir, "rx-ring-ref", UINT32_MAX, &rx))) {
		snprintf(err, errlen, "%s: ring-ref %s", dir,
			 rc == -ENOENT ? "missing" : "invalid");
		return -EINVAL;
	}
	qp->tx_ref = (uint32_t)tx;
	qp->rx_ref = (uint32_t)rx;
	/* Split first, then the shared channel (Linux netback's order). */
	if (!b->cfg.no_split_evtchn &&
	    !read_ulong(b, dir, "event-channel-tx", UINT32_MAX, &et) &&
	    !read_ulong(b, dir, "event-channel-rx", UINT32_MAX, &er)) {
		qp->evt_tx = (uint32_t)et;
		qp->evt_rx = (uint32_t)er;
		qp->split = true;
		return 0;
	}
	rc = read_ulong(b, dir, "event-channel", UINT32_MAX, &e);
	if (rc) {
		snprintf(err, errlen, "%s: event-channel %s", dir,
			 rc == -ENOENT ? "missing" : "invalid");
		return -EINVAL;
	}
	qp->evt_tx = qp->evt_rx = (uint32_t)e;
	qp->split = false;
	(void)v;
	return 0;
}

/* A hotplug script is configured (libxl writes the non-empty `script`;
 * vif-add writes it empty) and has not reported success yet. */
static bool hotplug_pending(struct sn_back *b, struct sn_back_vif *v)
{
	char *script = NULL, *status = NULL;
	bool pending;

	if (sn_xs_read_str(b->plat, XBT_NULL, v->be_path, "script", &script))
		return false;
	pending = script[0] != '\0';
	free(script);
	if (!pending)
		return false;
	if (!sn_xs_read_str(b->plat, XBT_NULL, v->be_path, "hotplug-status",
			    &status)) {
		pending = strcmp(status, "connected") != 0;
		free(status);
	}
	return pending;
}

static int vif_connect(struct sn_back *b, struct sn_back_vif *v)
{
	struct sn_back_qparams qp[SN_BACK_MAX_QUEUES];
	unsigned long nq = 1;
	char err[640] = "";
	char dir[400];
	char *mac = NULL;
	int rc;

	rc = read_ulong(b, v->fe_path, "multi-queue-num-queues", 0xFFFF, &nq);
	if (rc == -ENOENT) {
		nq = 1;
	} else if (rc || nq == 0 || nq > v->max_queues) {
		snprintf(err, sizeof(err),
			 "multi-queue-num-queues invalid (1..%u allowed)",
			 v->max_queues);
		goto fail;
	}
	for (unsigned int i = 0; i < nq; i++) {
		/* One queue: flat keys; several: queue-N/ (netif.h). */
		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", v->fe_path);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", v->fe_path, i);
		if (read_queue_keys(b, v, dir, &qp[i], err, sizeof(err)))
			goto fail;
	}

	/* Control ring: optional; a ref without its event channel fails the
	 * connect (Linux netback does the same). */
	v->ctrl_present = false;
	if (!b->cfg.no_ctrl_ring) {
		unsigned long cref, cevt;

		rc = read_ulong(b, v->fe_path, "ctrl-ring-ref", UINT32_MAX, &cref);
		if (rc && rc != -ENOENT) {
			snprintf(err, sizeof(err), "ctrl-ring-ref invalid");
			goto fail;
		}
		if (!rc) {
			rc = read_ulong(b, v->fe_path, "event-channel-ctrl",
					UINT32_MAX, &cevt);
			if (rc) {
				snprintf(err, sizeof(err),
					 "event-channel-ctrl %s",
					 rc == -ENOENT ? "missing" : "invalid");
				goto fail;
			}
			v->ctrl_present = true;
			v->ctrl_ref = (uint32_t)cref;
			v->ctrl_evt = (uint32_t)cevt;
		}
	}

	memset(&v->feat, 0, sizeof(v->feat));
	if (read_flags(b, v, err, sizeof(err)))
		goto fail;
	read_rate(b, v);
	/* Linux netfront writes it before connecting when an XDP program
	 * was already loaded (a reconnect), without going through
	 * Reconfiguring. */
	vif_read_xdp_headroom(b, v);
	{
		unsigned long mtu = 1500;

		/* The toolstack's hint; absent means 1500 (netif.h). */
		if (read_ulong(b, v->be_path, "mtu", 65535, &mtu) || mtu < 68)
			mtu = 1500;
		v->mtu = (uint32_t)mtu;
	}
	memset(v->mac, 0, sizeof(v->mac));
	if (!sn_xs_read_str(b->plat, XBT_NULL, v->be_path, "mac", &mac)) {
		parse_mac(mac, v->mac);
		free(mac);
	}

	rc = sn_back_vif_connect(v, (unsigned int)nq, qp, err, sizeof(err));
	if (rc)
		goto fail;
	b->plat->ops->xs_rm(b->plat, XBT_NULL,
			    (snprintf(dir, sizeof(dir), "%s/error", v->be_path), dir));
	free(v->fe_ident);
	v->fe_ident = domain_ident(b, v->domid);
	blog(b, "vif%u.%u: connected, %lu queue(s)%s%s", v->domid, v->devid, nq,
	     qp[0].split ? ", split event channels" : "",
	     !v->ctrl_present ? "" :
	     b->cfg.staging_off ? ", control ring" :
	     ", control ring with staging");
	if (hotplug_pending(b, v)) {
		/* The datapath runs already (Linux connects first too); only
		 * the state the frontend waits for is held back. */
		v->hotplug_wait = true;
		blog(b, "vif%u.%u: waiting for hotplug-status connected",
		     v->domid, v->devid);
	} else {
		set_state(v, XenbusStateConnected);
	}
	return 0;
fail:
	if (!err[0])
		snprintf(err, sizeof(err), "connect failed");
	vif_error(v, err);
	return -EINVAL;
}

static void vif_disconnect(struct sn_back_vif *v)
{
	if (!v->connected)
		return;
	sn_back_vif_disconnect(v);
	/* The filter belongs to this connection (Linux frees the list in
	 * xenvif_disconnect_data): a reconnecting frontend starts from an
	 * empty list and re-adds what it still wants. */
	pthread_mutex_lock(&v->mcast_lock);
	v->n_mcast = 0;
	v->mcast_all = false;
	pthread_mutex_unlock(&v->mcast_lock);
	atomic_store(&v->mcast_on, false);
	v->hotplug_wait = false;
	blog(v->back, "vif%u.%u: disconnected", v->domid, v->devid);
}

/* ---- per-vif state machine (Linux netback frontend_changed) ------------ */

static bool frontend_gone(struct sn_back *b, struct sn_back_vif *v)
{
	char *now = domain_ident(b, v->domid);
	bool gone = !now || strcmp(now, v->fe_ident);

	free(now);
	return gone;
}

/* The toolstack's online key: 0 once it is removing the device (libxl's
 * network-detach and destroy); absent or unreadable counts as online. */
static bool vif_online(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long on = 1;

	return read_ulong(b, v->be_path, "online", UINT32_MAX, &on) || on != 0;
}

/* The frontend is closed: Closed, and if the toolstack is removing the
 * device, nothing more (Linux netback unregisters the device on a Closed
 * frontend when online is 0, so a frontend that comes back is not served
 * until the toolstack creates the vif again).  The held device goes with
 * it, as Linux frees its netdev, before the hotplug script's offline. */
static void vif_closed(struct sn_back *b, struct sn_back_vif *v)
{
	vif_disconnect(v);
	if (v->state != XenbusStateClosed) {
		set_state(v, XenbusStateClosing);
		set_state(v, XenbusStateClosed);
	}
	if (vif_online(b, v))
		return;
	v->offline = true;
	if (v->port_hold_fd >= 0) {
		close(v->port_hold_fd);
		v->port_hold_fd = -1;
	}
	blog(b, "vif%u.%u: offline, not offered again", v->domid, v->devid);
}

/* We are a new backend instance and the frontend is Connected to rings a
 * previous one mapped: re-attaching them silently would leave the control
 * ring, hash configuration and staging tables of that instance unknown
 * here.  Walk the frontend through a reconnect instead: Closing, and then
 * follow it (Closed once it closed, InitWait once it announced itself
 * again with Initialising).  Closing stays until the frontend answers: a
 * frontend reads the state when its watch fires, not the value that fired
 * it, so Closing, Closed and InitWait written at once can reach a Linux
 * netfront as InitWait alone, which it ignores while Connected: it would
 * stay Connected to a backend waiting for Initialising. */
static void vif_adopt_connected(struct sn_back *b, struct sn_back_vif *v)
{
	blog(b, "vif%u.%u: frontend connected to an earlier backend, "
	     "asking it to reconnect", v->domid, v->devid);
	set_state(v, XenbusStateClosing);
	v->awaiting_init = true;
}

static void vif_sync(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long fe_state = XenbusStateUnknown;
	int rc;

	if (v->offline)
		return;

	rc = read_ulong(b, v->fe_path, "state", 0xFFFF, &fe_state);
	if (rc == -ENOENT)
		fe_state = XenbusStateUnknown;
	else if (rc)
		fe_state = 0xFFFF; /* garbage: handled as an unknown state */

	/* A frontend whose domain vanished cannot close: do it for it, and
	 * wait for a new one to announce itself with Initialising. */
	if (v->fe_ident && frontend_gone(b, v)) {
		blog(b, "vif%u.%u: frontend domain gone", v->domid, v->devid);
		vif_disconnect(v);
		free(v->fe_ident);
		v->fe_ident = NULL;
		v->awaiting_init = true;
		if (v->state == XenbusStateConnected)
			set_state(v, XenbusStateClosing);
		set_state(v, XenbusStateClosed);
		return;
	}

	switch (fe_state) {
	case XenbusStateInitialising:
	case XenbusStateInitWait:
		v->awaiting_init = false;
		if (v->connected || v->state == XenbusStateConnected) {
			/* Restarted without closing: drop the old rings. */
			vif_disconnect(v);
			set_state(v, XenbusStateClosing);
			set_state(v, XenbusStateClosed);
		}
		set_state(v, XenbusStateInitWait);
		break;
	case XenbusStateInitialised:
		break; /* Linux netback waits for Connected */
	case XenbusStateConnected:
		if (v->connected) {
			/* Back from Reconfiguring: so are we.  Linux netfront
			 * writes Reconfiguring before xdp-headroom, so the value
			 * read then may be the old one; the last look is here. */
			if (v->state == XenbusStateReconfigured) {
				vif_read_xdp_headroom(b, v);
				set_state(v, XenbusStateConnected);
			}
			read_mcast_ctrl(b, v);
			if (v->hotplug_wait && !hotplug_pending(b, v))
				set_state(v, XenbusStateConnected);
			break;
		}
		if (v->awaiting_init)
			break;
		if (v->state == XenbusStateInitialising) {
			vif_adopt_connected(b, v);
			break;
		}
		if (v->state == XenbusStateInitWait ||
		    v->state == XenbusStateClosed)
			vif_connect(b, v);
		break;
	case XenbusStateReconfiguring:
		/* Linux netfront loading or unloading an XDP program: the
		 * new headroom holds from here on; it waits for Reconfigured.
		 * Every watch event while it stays here reads the key again
		 * (it may be written after the state).  Only a connected vif
		 * has anything to reconfigure. */
		if (v->connected) {
			vif_read_xdp_headroom(b, v);
			set_state(v, XenbusStateReconfigured);
		}
		break;
	case XenbusStateClosing:
		vif_disconnect(v);
		set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		vif_closed(b, v);
		break;
	case XenbusStateUnknown:
		vif_disconnect(v);
		if (v->state != XenbusStateClosed &&
		    v->state != XenbusStateInitialising) {
			set_state(v, XenbusStateClosing);
			set_state(v, XenbusStateClosed);
		}
		break;
	default:
		if (v->state != XenbusStateClosing &&
		    v->state != XenbusStateClosed) {
			vif_disconnect(v);
			vif_error(v, "frontend wrote an invalid state");
		}
		break;
	}
}

static void vif_remove(struct sn_back *b, struct sn_back_vif *v)
{
	struct sn_back_vif **pp;

	vif_disconnect(v);
	b->plat->ops->xs_unwatch(b->plat, v->fe_path, TOKEN_FE);
	pthread_mutex_lock(&b->lock);
	for (pp = &b->vifs; *pp; pp = &(*pp)->next)
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	pthread_mutex_unlock(&b->lock);
	blog(b, "vif%u.%u: removed", v->domid, v->devid);
	sn_back_vif_gone(b, v);
}

static void vif_add(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	char dir[256], *fe = NULL;
	int rc;

	/* The toolstack writes the whole directory in one transaction; a
	 * directory without "frontend" is not (yet) a vif. */
	snprintf(dir, sizeof(dir), "%s/%u/%u", b->be_root, domid, devid);
	if (sn_xs_read_str(b->plat, XBT_NULL, dir, "frontend", &fe))
		return;
	rc = sn_back_vif_new(b, domid, devid, &v);
	if (rc) {
		free(fe);
		blog(b, "vif%u.%u: %s", domid, devid, strerror(-rc));
		return;
	}
	v->fe_path = fe;
	v->state = XenbusStateInitialising;
	/* A toolstack (stagenet vif-add --queues) may cap the queues of one
	 * vif by pre-writing multi-queue-max-queues. */
	v->max_queues = b->max_queues;
	{
		unsigned long cap;

		if (!read_ulong(b, v->be_path, "multi-queue-max-queues",
				SN_BACK_MAX_QUEUES, &cap) &&
		    cap >= 1 && cap < v->max_queues)
			v->max_queues = (uint16_t)cap;
	}
	rc = sn_xs_txn(b->plat, write_features_body, v);
	if (!rc)
		rc = b->plat->ops->xs_watch(b->plat, v->fe_path, TOKEN_FE);
	if (rc) {
		/* Removed (or made anew) since we listed it: its watch event
		 * is queued, and the next rescan sees what is there now. */
		if (rc == -ENOENT || rc == -ESTALE)
			b->rescan = true;
		blog(b, "vif%u.%u: setup: %s", domid, devid,
		     rc == -ESTALE ? "directory changed under us" : strerror(-rc));
		sn_back_vif_free(v);
		return;
	}
	pthread_mutex_lock(&b->lock);
	v->next = b->vifs;
	b->vifs = v;
	pthread_mutex_unlock(&b->lock);
	v->seen = true;
	blog(b, "vif%u.%u: new, frontend %s", domid, devid, v->fe_path);
}

static int parse_id(const char *s, uint16_t max, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* The vif was deleted and created again between two looks, so the
 * directory holds the toolstack's keys and none of ours: the state 1 the
 * toolstack writes only when it creates the directory, after we moved on;
 * or no OURS_KEY, which vif_add wrote before anything else (whatever took
 * it, the frontend cannot connect without it: setting the vif up again
 * writes it back, as a new vif). */
static bool vif_recreated(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long st;
	char *mark = NULL;
	int rc;

	if (v->state > XenbusStateInitialising &&
	    !read_ulong(b, v->be_path, "state", 0xFFFF, &st) &&
	    st == XenbusStateInitialising)
		return true;
	rc = sn_xs_read_str(b->plat, XBT_NULL, v->be_path, OURS_KEY, &mark);
	free(mark);
	return rc == -ENOENT;
}

/* Bring our vif list in line with xenstore: one pass, however many watch
 * events led here. */
static void rescan(struct sn_back *b)
{
	char **doms = NULL, **devs = NULL;
	unsigned int nd = 0, nv = 0;
	struct sn_back_vif *v, *next;
	char path[512];
	uint16_t domid, devid;

	for (v = b->vifs; v; v = v->next)
		v->seen = false;
	if (b->plat->ops->xs_directory(b->plat, XBT_NULL, b->be_root, &doms, &nd))
		nd = 0;
	for (unsigned int i = 0; i < nd; i++) {
		if (parse_id(doms[i], 0x7FEF, &domid))
			continue;
		snprintf(path, sizeof(path), "%s/%u", b->be_root, domid);
		if (b->plat->ops->xs_directory(b->plat, XBT_NULL, path, &devs, &nv))
			continue;
		for (unsigned int j = 0; j < nv; j++) {
			if (parse_id(devs[j], 0xFFFF, &devid))
				continue;
			v = sn_back_vif_find(b, domid, devid);
			if (v && vif_recreated(b, v)) {
				/* Removed and re-added between two looks: the
				 * old incarnation (and its features) is gone. */
				vif_remove(b, v);
				v = NULL;
			}
			if (v)
				v->seen = true;
			else
				vif_add(b, domid, devid);
		}
		free(devs);
		devs = NULL;
	}
	free(doms);

	for (v = b->vifs; v; v = next) {
		next = v->next;
		if (!v->seen)
			vif_remove(b, v);
	}
	for (v = b->vifs; v; v = v->next)
		vif_sync(b, v);
}

int sn_back_xb_start(struct sn_back *b)
{
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif",
		 b->plat->domid);
	b->be_root = strdup(path);
	if (!b->be_root)
		return -ENOMEM;
	rc = b->plat->ops->xs_watch(b->plat, b->be_root, TOKEN_BE);
	if (rc)
		goto err_root;
	rc = b->plat->ops->xs_watch(b->plat, "@releaseDomain", TOKEN_REL);
	if (rc)
		goto err_watch;
	return 0;
err_watch:
	b->plat->ops->xs_unwatch(b->plat, b->be_root, TOKEN_BE);
err_root:
	free(b->be_root);
	b->be_root = NULL;
	return rc;
}

void sn_back_xb_stop(struct sn_back *b)
{
	/* A clean stop leaves no vif in Connected (or InitWait) behind: the
	 * frontend sees its backend close instead of rings nobody serves,
	 * and the toolstack sees Closed.  vif_remove disconnects first. */
	for (struct sn_back_vif *v = b->vifs; v; v = v->next) {
		vif_disconnect(v);
		if (v->state != XenbusStateClosed &&
		    v->state != XenbusStateInitialising)
			set_state(v, XenbusStateClosing);
		set_state(v, XenbusStateClosed);
	}
	while (b->vifs)
		vif_remove(b, b->vifs);
	b->plat->ops->xs_unwatch(b->plat, "@releaseDomain", TOKEN_REL);
	b->plat->ops->xs_unwatch(b->plat, b->be_root, TOKEN_BE);
	free(b->be_root);
	b->be_root = NULL;
}

int sn_back_xb_step(struct sn_back *b)
{
	struct sn_xs_event ev;
	struct sn_back_vif *v;
	int rc, n;

	for (n = 0; n < EVENTS_PER_STEP; n++) {
		rc = b->plat->ops->xs_read_watch(b->plat, &ev);
		if (rc == -EAGAIN)
			break;
		if (rc)
			return rc;
		b->rescan = true;
		free(ev.path);
	}
	if (b->rescan) {
		b->rescan = false;
		rescan(b);
	}
	/* Datapath-disabled vifs are torn down here, on the control thread. */
	for (v = b->vifs; v; v = v->next) {
		if (!atomic_load(&v->disabled) || !v->connected)
			continue;
		blog(b, "vif%u.%u: frontend declared rogue, datapath stopped",
		     v->domid, v->devid);
		vif_disconnect(v);
	}
	return 0;
}
