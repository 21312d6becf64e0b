/* netback's control thread: watches backend/vif in xenstore, creates and
 * removes vifs as the toolstack adds and deletes them, writes the feature
 * keys and runs each vif's xenbus state machine (digest §4.4), including
 * reconnect after the frontend closes or its domain dies. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xen/io/xenbus.h>

#include "back/common.h"
#include "plat/emu/emu.h" /* SN_EMU_REG_ROOT: the emulated domain registry */

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

/* ---- xenstore helpers --------------------------------------------------- */

static int xs_readp(struct sn_back *b, xs_transaction_t t, char **val,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int xs_readp(struct sn_back *b, xs_transaction_t t, char **val,
		    const char *fmt, ...)
{
	char path[512];
	unsigned int len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return b->plat->ops->xs_read(b->plat, t, path, val, &len);
}

static int xs_writep(struct sn_back *b, xs_transaction_t t, const char *val,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int xs_writep(struct sn_back *b, xs_transaction_t t, const char *val,
		     const char *fmt, ...)
{
	char path[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return b->plat->ops->xs_write(b->plat, t, path, val, strlen(val));
}

/* Reads an unsigned decimal key.  -ENOENT if absent, -EINVAL if it is not
 * a number in [0, max] (frontend keys are untrusted text). */
static int read_ulong(struct sn_back *b, const char *dir, const char *key,
		      unsigned long max, unsigned long *out)
{
	char *val = NULL, *end;
	unsigned long v;
	int rc;

	rc = xs_readp(b, XBT_NULL, &val, "%s/%s", dir, key);
	if (rc)
		return rc;
	errno = 0;
	v = strtoul(val, &end, 10);
	if (!val[0] || *end || errno || val[0] == '-' || v > max)
		rc = -EINVAL;
	else
		*out = v;
	free(val);
	return rc;
}

/* A boolean feature key: absent or "0" = false. */
static bool read_flag(struct sn_back *b, const char *dir, const char *key)
{
	unsigned long v = 0;

	return read_ulong(b, dir, key, 1, &v) == 0 && v == 1;
}

/* Write one key of the backend directory only while the directory still
 * exists (its state key does), like Linux's xenbus_switch_state and
 * xenbus_dev_fatal: the toolstack may have removed it (vif-del) while we
 * were still reacting to the Closing it wrote just before, and a plain
 * write would re-create it with a lone key: a ghost vif.  0, -ENOENT when
 * the device is gone, other -errno. */
static int be_write_if_present(struct sn_back_vif *v, const char *key, const char *val)
{
	struct sn_plat *p = v->back->plat;
	int rc = -EAGAIN;

	for (int tries = 0; tries < 16 && rc == -EAGAIN; tries++) {
		xs_transaction_t t;
		char *cur = NULL;

		rc = p->ops->xs_txn_start(p, &t);
		if (rc)
			break;
		rc = xs_readp(v->back, t, &cur, "%s/state", v->be_path);
		free(cur);
		if (!rc)
			rc = xs_writep(v->back, t, val, "%s/%s", v->be_path, key);
		if (rc) {
			p->ops->xs_txn_end(p, t, true);
			break;
		}
		rc = p->ops->xs_txn_end(p, t, false);
	}
	return rc;
}

static void set_state(struct sn_back_vif *v, int state)
{
	char s[8];
	int rc;

	if (v->state == state)
		return;
	snprintf(s, sizeof(s), "%d", state);
	rc = be_write_if_present(v, "state", s);
	if (rc == -ENOENT)
		blog(v->back, "vif%u.%u: device removed, state %d not written",
		     v->domid, v->devid, state);
	else if (rc)
		blog(v->back, "vif%u.%u: writing state %d: %s", v->domid,
		     v->devid, state, strerror(-rc));
	blog(v->back, "vif%u.%u: state %d -> %d", v->domid, v->devid,
	     v->state, state);
	v->state = state;
}

/* Linux's xenbus_dev_fatal: say why in xenstore, go to Closing. */
static void vif_error(struct sn_back_vif *v, const char *msg)
{
	be_write_if_present(v, "error", msg);
	blog(v->back, "vif%u.%u: %s", v->domid, v->devid, msg);
	set_state(v, XenbusStateClosing);
}

static int write_features(struct sn_back *b, struct sn_back_vif *v)
{
	static const char *const ones[] = {
		"feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
		"feature-ipv6-csum-offload", "feature-rx-copy",
		"feature-multicast-control",
		"feature-dynamic-multicast-control",
	};
	xs_transaction_t t;
	char mq[16];
	int rc, tries;

	snprintf(mq, sizeof(mq), "%u", v->max_queues);
	for (tries = 0; tries < 16; tries++) {
		rc = b->plat->ops->xs_txn_start(b->plat, &t);
		if (rc)
			return rc;
		for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]) && !rc; i++)
			rc = xs_writep(b, t, "1", "%s/%s", v->be_path, ones[i]);
		if (!rc)
			rc = xs_writep(b, t, "0", "%s/feature-rx-flip", v->be_path);
		if (!rc)
			rc = xs_writep(b, t, b->cfg.no_split_evtchn ? "0" : "1",
				       "%s/feature-split-event-channels",
				       v->be_path);
		if (!rc)
			rc = xs_writep(b, t, mq, "%s/multi-queue-max-queues",
				       v->be_path);
		/* The control ring carries the hash configuration and the
		 * staging-grant messages (ctrl.c). */
		if (!rc)
			rc = xs_writep(b, t, b->cfg.no_ctrl_ring ? "0" : "1",
				       "%s/feature-ctrl-ring", v->be_path);
		if (rc) {
			b->plat->ops->xs_txn_end(b->plat, t, true);
			return rc;
		}
		rc = b->plat->ops->xs_txn_end(b->plat, t, false);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

/* Which incarnation of a domain is running under this domid, as a string
 * (malloc'd), or NULL if none is.  Emulated: its registry entry (removed by
 * the host when the domain's process goes away; pid and RAM address tell a
 * re-registered domid apart).  Xen: its /local/domain/<id>/vm link (unique
 * per domain; the toolstack removes it on destroy). */
static char *domain_ident(struct sn_back *b, uint16_t domid)
{
	char *pid = NULL, *base = NULL, *out = NULL;

	if (b->plat->kind == SN_PLAT_EMU) {
		if (!xs_readp(b, XBT_NULL, &pid, SN_EMU_REG_ROOT "/%u/pid", domid) &&
		    !xs_readp(b, XBT_NULL, &base, SN_EMU_REG_ROOT "/%u/ram-base", domid) &&
		    asprintf(&out, "%s/%s", pid, base) < 0)
			out = NULL;
		free(pid);
		free(base);
		return out;
	}
	if (!xs_readp(b, XBT_NULL, &out, "/local/domain/%u/vm", domid))
		return out;
	if (!xs_readp(b, XBT_NULL, &out, "/local/domain/%u", domid))
		return out;
	return NULL;
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
	if (xs_readp(b, XBT_NULL, &val, "%s/rate", v->be_path))
		return;
	/* libxl's "bytes,usec"; a bad value means unlimited, like Linux. */
	if (sscanf(val, "%llu,%lu", &bytes, &usec) == 2 && bytes && usec) {
		v->feat.credit_bytes = bytes;
		v->feat.credit_usec = usec;
	}
	free(val);
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
	v->feat.sg = read_flag(b, v->fe_path, "feature-sg");
	v->feat.gso_tcpv4 = read_flag(b, v->fe_path, "feature-gso-tcpv4");
	v->feat.gso_tcpv6 = read_flag(b, v->fe_path, "feature-gso-tcpv6");
	v->feat.ipv6_csum = read_flag(b, v->fe_path, "feature-ipv6-csum-offload");
	v->feat.no_csum = read_flag(b, v->fe_path, "feature-no-csum-offload");
	v->feat.rx_notify = read_flag(b, v->fe_path, "feature-rx-notify");
	v->feat.mcast_ctrl = read_flag(b, v->fe_path, "request-multicast-control");
	read_rate(b, v);
	{
		unsigned long mtu = 1500;

		/* The toolstack's hint; absent means 1500 (netif.h). */
		if (read_ulong(b, v->be_path, "mtu", 65535, &mtu) || mtu < 68)
			mtu = 1500;
		v->mtu = (uint32_t)mtu;
	}
	memset(v->mac, 0, sizeof(v->mac));
	if (!xs_readp(b, XBT_NULL, &mac, "%s/mac", v->be_path)) {
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
	set_state(v, XenbusStateConnected);
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

static void vif_sync(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long fe_state = XenbusStateUnknown;
	int rc;

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
		if (v->connected || v->awaiting_init)
			break;
		if (v->state == XenbusStateInitWait ||
		    v->state == XenbusStateClosed ||
		    v->state == XenbusStateInitialising)
			vif_connect(b, v);
		break;
	case XenbusStateClosing:
		vif_disconnect(v);
		set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		vif_disconnect(v);
		if (v->state != XenbusStateClosed) {
			set_state(v, XenbusStateClosing);
			set_state(v, XenbusStateClosed);
		}
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

static struct sn_back_vif *vif_find(struct sn_back *b, uint16_t domid,
				    uint16_t devid)
{
	for (struct sn_back_vif *v = b->vifs; v; v = v->next)
		if (v->domid == domid && v->devid == devid)
			return v;
	return NULL;
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
	if (b->cfg.log && !atomic_load(&b->stop))
		sn_back_print_vif_stats(v, b->cfg.log);
	sn_back_vif_free(v);
}

static void vif_add(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	char *fe = NULL;
	int rc;

	/* The toolstack writes the whole directory in one transaction; a
	 * directory without "frontend" is not (yet) a vif. */
	if (xs_readp(b, XBT_NULL, &fe, "%s/%u/%u/frontend", b->be_root, domid,
		     devid))
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
	rc = write_features(b, v);
	if (!rc)
		rc = b->plat->ops->xs_watch(b->plat, v->fe_path, TOKEN_FE);
	if (rc) {
		blog(b, "vif%u.%u: setup: %s", domid, devid, strerror(-rc));
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

/* The toolstack writes state 1 only when it creates the directory; seeing
 * it after we moved on means the vif was deleted and created again. */
static bool vif_recreated(struct sn_back *b, struct sn_back_vif *v)
{
	unsigned long st;

	return v->state > XenbusStateInitialising &&
	       !read_ulong(b, v->be_path, "state", 0xFFFF, &st) &&
	       st == XenbusStateInitialising;
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
			v = vif_find(b, domid, devid);
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

/* ---- public API ---------------------------------------------------------- */

int sn_back_create(const struct sn_back_cfg *cfg, struct sn_back **out)
{
	struct sn_back *b;
	char path[128];
	long ncpu;
	int rc;

	if (!cfg || !cfg->plat)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->plat = cfg->plat;
	if (!b->cfg.port_spec)
		b->cfg.port_spec = "sink";
	b->max_queues = cfg->max_queues;
	if (!b->max_queues) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		b->max_queues = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (uint16_t)ncpu;
	}
	if (b->max_queues > SN_BACK_MAX_QUEUES)
		b->max_queues = SN_BACK_MAX_QUEUES;
	pthread_mutex_init(&b->lock, NULL);
	b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->wake_fd < 0) {
		rc = -errno;
		goto err_free;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif",
		 b->plat->domid);
	b->be_root = strdup(path);
	if (!b->be_root) {
		rc = -ENOMEM;
		goto err_fd;
	}
	rc = b->plat->ops->xs_watch(b->plat, b->be_root, TOKEN_BE);
	if (rc)
		goto err_root;
	rc = b->plat->ops->xs_watch(b->plat, "@releaseDomain", TOKEN_REL);
	if (rc)
		goto err_watch;
	b->rescan = true;
	*out = b;
	return 0;
err_watch:
	b->plat->ops->xs_unwatch(b->plat, b->be_root, TOKEN_BE);
err_root:
	free(b->be_root);
err_fd:
	close(b->wake_fd);
err_free:
	pthread_mutex_destroy(&b->lock);
	free(b);
	return rc;
}

void sn_back_destroy(struct sn_back *b)
{
	if (!b)
		return;
	while (b->vifs)
		vif_remove(b, b->vifs);
	b->plat->ops->xs_unwatch(b->plat, "@releaseDomain", TOKEN_REL);
	b->plat->ops->xs_unwatch(b->plat, b->be_root, TOKEN_BE);
	free(b->be_root);
	close(b->wake_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void sn_back_stop(struct sn_back *b)
{
	uint64_t one = 1;
	ssize_t r;

	atomic_store(&b->stop, true);
	r = write(b->wake_fd, &one, sizeof(one));
	(void)r;
}

void sn_back_wake(struct sn_back *b)
{
	uint64_t one = 1;
	ssize_t r = write(b->wake_fd, &one, sizeof(one));

	(void)r;
}

int sn_back_poll(struct sn_back *b, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = b->plat->ops->xs_watch_fd(b->plat), .events = POLLIN },
		{ .fd = b->wake_fd, .events = POLLIN },
	};
	struct sn_xs_event ev;
	struct sn_back_vif *v;
	uint64_t cnt;
	int rc, n;

	if (b->rescan)
		timeout_ms = 0;
	rc = poll(pfd, 2, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return -errno;
	if (read(b->wake_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
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

int sn_back_run(struct sn_back *b)
{
	int rc = 0;

	while (!atomic_load(&b->stop)) {
		rc = sn_back_poll(b, 1000);
		if (rc)
			break;
	}
	return rc;
}

int sn_back_vif_state(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	int rc;

	pthread_mutex_lock(&b->lock);
	v = vif_find(b, domid, devid);
	rc = v ? v->state : -ENOENT;
	pthread_mutex_unlock(&b->lock);
	return rc;
}

bool sn_back_vif_disabled(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	bool d;

	pthread_mutex_lock(&b->lock);
	v = vif_find(b, domid, devid);
	d = v && atomic_load(&v->disabled);
	pthread_mutex_unlock(&b->lock);
	return d;
}

int sn_back_vif_stats(struct sn_back *b, uint16_t domid, uint16_t devid,
		      uint16_t queue, struct sn_qstats *out)
{
	struct sn_back_vif *v;
	int rc = -ENOENT;

	pthread_mutex_lock(&b->lock);
	v = vif_find(b, domid, devid);
	if (v && queue < v->stats_max) {
		for (unsigned int i = 0; i < SN_QS__COUNT; i++)
			out->v[i] = __atomic_load_n(&v->stats[queue].v[i],
						    __ATOMIC_RELAXED);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void sn_back_print_stats(struct sn_back *b, FILE *f)
{
	pthread_mutex_lock(&b->lock);
	for (struct sn_back_vif *v = b->vifs; v; v = v->next)
		sn_back_print_vif_stats(v, f);
	pthread_mutex_unlock(&b->lock);
}
