/* `stagenet vif-add` / `stagenet vif-del`: the toolstack step.  Writes (and
 * removes) the xenstore directories libxl writes for a vif
 * (libxl_device.c libxl__device_generic_add, libxl_nic.c), with the same
 * keys and permissions, so a backend serves our vifs and xl's alike. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/io/xenbus.h>

#include "cli/cli.h"
#include "plat/xs_keys.h"
#include "stagenet/plat.h"

struct vif_opts {
	long domid, devid, be_domid;
	const char *mac;
	long queues, mtu;
	const char *rate;
	long timeout_ms;
};

static const char *check_mac(const char *s)
{
	unsigned int m[6];
	char tail;

	return sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		      &tail) == 6 ? NULL : "xx:xx:xx:xx:xx:xx";
}

static const char *check_rate(const char *s)
{
	unsigned long long bytes;
	unsigned long usec;
	char tail;

	return sscanf(s, "%llu,%lu%c", &bytes, &usec, &tail) == 2 ? NULL : "BYTES,USEC";
}

#define VIF_OPT(field) .off = offsetof(struct vif_opts, field)
#define VIF_DOMAIN_OPTS                                                                     \
	{ .name = "domid", .arg = "D", .kind = SN_OPT_LONG, VIF_OPT(domid), .min = 1,       \
	  .max = 0x7FEF, .required = true, .help = "the frontend's domain" },              \
	{ .name = "devid", .arg = "N", .kind = SN_OPT_LONG, VIF_OPT(devid), .min = 0,       \
	  .max = 0xFFFF, .required = true, .help = "the vif's device id" },                \
	{ .name = "backend-domid", .arg = "B", .kind = SN_OPT_LONG, VIF_OPT(be_domid),      \
	  .min = 0, .max = 0x7FEF, .help = "the backend's domain (default 0)" }

static const struct sn_opt vif_add_opts[] = {
	VIF_DOMAIN_OPTS,
	{ .name = "mac", .arg = "M", .kind = SN_OPT_CHECK, VIF_OPT(mac), .check = check_mac,
	  .help = "xx:xx:xx:xx:xx:xx (default 00:16:3e:<domid>:<devid>)" },
	{ .name = "queues", .arg = "Q", .kind = SN_OPT_LONG, VIF_OPT(queues), .min = 1,
	  .max = 16, .help = "cap the queues the backend offers this vif" },
	{ .name = "mtu", .arg = "M", .kind = SN_OPT_LONG, VIF_OPT(mtu), .min = 68,
	  .max = 65535, .help = "MTU hint for both ends (default 1500)" },
	{ .name = "rate", .arg = "BYTES,USEC", .kind = SN_OPT_CHECK, VIF_OPT(rate),
	  .check = check_rate, .help = "backend rate limit, libxl's \"bytes,usec\"" },
	{ .name = NULL },
};

static const struct sn_opt vif_del_opts[] = {
	VIF_DOMAIN_OPTS,
	{ .name = "timeout-ms", .arg = "T", .kind = SN_OPT_LONG, VIF_OPT(timeout_ms), .min = 0,
	  .max = 600000, .help = "wait this long for a running backend to close (default 5000)" },
	{ .name = NULL },
};
#undef VIF_DOMAIN_OPTS
#undef VIF_OPT

const struct sn_opts_spec sn_vif_add_spec = {
	.cmd = "vif-add",
	.doc = "Create vif N of domain D served by domain B, writing the xenstore keys and "
	       "permissions libxl writes, in one transaction.",
	.opts = vif_add_opts,
};

const struct sn_opts_spec sn_vif_del_spec = {
	.cmd = "vif-del",
	.doc = "Remove vif N of domain D like libxl: online=0 and frontend Closing, wait up "
	       "to T ms for a running backend to close, then remove both directories.",
	.opts = vif_del_opts,
};

static int parse_opts(int argc, char **argv, bool add, struct vif_opts *o)
{
	const struct sn_opts_spec *spec = add ? &sn_vif_add_spec : &sn_vif_del_spec;
	int rc;

	*o = (struct vif_opts){ .domid = -1, .devid = -1, .be_domid = 0,
				.mtu = 1500, .timeout_ms = 5000 };
	rc = sn_opts_parse(spec, argc, argv, o);
	if (rc)
		return rc;
	if (o->domid == o->be_domid) {
		sn_opts_error(spec, "a domain cannot be its own backend");
		return -EINVAL;
	}
	return 0;
}

static void paths(const struct vif_opts *o, char *fe, size_t fel, char *be,
		  size_t bel)
{
	snprintf(fe, fel, "/local/domain/%ld/device/vif/%ld", o->domid, o->devid);
	snprintf(be, bel, "/local/domain/%ld/backend/vif/%ld/%ld", o->be_domid,
		 o->domid, o->devid);
}

struct vif_add_ctx {
	const struct vif_opts *o;
	const char *fe, *be, *mac;
};

static int domain_home(struct sn_plat *p, xs_transaction_t t, long domid)
{
	const struct xs_permissions perms[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = (unsigned int)domid, .perms = XS_PERM_READ },
	};
	char path[64], *v = NULL;
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%ld", domid);
	if (domid == 0 || !sn_xs_read_str(p, t, path, NULL, &v)) {
		free(v);
		return 0;
	}
	rc = p->ops->xs_mkdir(p, t, path);
	return rc ? rc : p->ops->xs_set_perms(p, t, path, perms, 2);
}

/* A backend in a driver domain learns of frontends' deaths from
 * @releaseDomain, whose events only dom0 gets unless the toolstack lets the
 * domain read it (XSA-115). */
static int grant_release_watch(struct sn_plat *p, long domid)
{
	struct xs_permissions *cur = NULL, *next;
	unsigned int n = 0;
	int rc;

	rc = p->ops->xs_get_perms(p, XBT_NULL, "@releaseDomain", &cur, &n);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < n; i++)
		if (cur[i].id == (unsigned int)domid) {
			free(cur);
			return 0;
		}
	next = realloc(cur, (n + 1) * sizeof(*next));
	if (!next) {
		free(cur);
		return -ENOMEM;
	}
	next[n].id = (unsigned int)domid;
	next[n].perms = XS_PERM_READ;
	rc = p->ops->xs_set_perms(p, XBT_NULL, "@releaseDomain", next, n + 1);
	free(next);
	return rc;
}

static int vif_add_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const struct vif_add_ctx *c = arg;
	const struct vif_opts *o = c->o;
	const char *fe = c->fe, *be = c->be;
	/* The first entry is the owner (and everyone else's default). */
	const struct xs_permissions fe_perms[2] = {
		{ .id = (unsigned int)o->domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned int)o->be_domid, .perms = XS_PERM_READ },
	};
	const struct xs_permissions be_perms[2] = {
		{ .id = (unsigned int)o->be_domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned int)o->domid, .perms = XS_PERM_READ },
	};
	int rc;

	/* On the emulated host nobody created the domains: make their home
	 * directories as libxl's domain creation does, readable by the
	 * domain, so the directories below (inheriting them) are too. */
	if (p->kind == SN_PLAT_EMU &&
	    ((rc = domain_home(p, t, o->domid)) || (rc = domain_home(p, t, o->be_domid))))
		return rc;
	/* Like libxl: start from empty directories, set their permissions,
	 * then write the keys (which inherit them). */
	p->ops->xs_rm(p, t, fe);
	p->ops->xs_rm(p, t, be);
	if ((rc = p->ops->xs_mkdir(p, t, fe)) ||
	    (rc = p->ops->xs_set_perms(p, t, fe, fe_perms, 2)) ||
	    (rc = p->ops->xs_mkdir(p, t, be)) ||
	    (rc = p->ops->xs_set_perms(p, t, be, be_perms, 2)))
		return rc;
	if ((rc = sn_xs_printf(p, t, fe, "backend", "%s", be)) ||
	    (rc = sn_xs_printf(p, t, fe, "backend-id", "%ld", o->be_domid)) ||
	    (rc = sn_xs_printf(p, t, fe, "state", "%d", XenbusStateInitialising)) ||
	    (rc = sn_xs_printf(p, t, fe, "handle", "%ld", o->devid)) ||
	    (rc = sn_xs_printf(p, t, fe, "mac", "%s", c->mac)) ||
	    (rc = sn_xs_printf(p, t, fe, "mtu", "%ld", o->mtu)) ||
	    (rc = sn_xs_printf(p, t, fe, "trusted", "1")))
		return rc;
	if ((rc = sn_xs_printf(p, t, be, "frontend", "%s", fe)) ||
	    (rc = sn_xs_printf(p, t, be, "frontend-id", "%ld", o->domid)) ||
	    (rc = sn_xs_printf(p, t, be, "online", "1")) ||
	    (rc = sn_xs_printf(p, t, be, "state", "%d", XenbusStateInitialising)) ||
	    (rc = sn_xs_printf(p, t, be, "script", "%s", "")) ||
	    (rc = sn_xs_printf(p, t, be, "mac", "%s", c->mac)) ||
	    (rc = sn_xs_printf(p, t, be, "handle", "%ld", o->devid)) ||
	    (rc = sn_xs_printf(p, t, be, "type", "vif")) ||
	    (rc = sn_xs_printf(p, t, be, "mtu", "%ld", o->mtu)) ||
	    (rc = sn_xs_printf(p, t, be, "hotplug-status", "%s", "")))
		return rc;
	if (o->rate && (rc = sn_xs_printf(p, t, be, "rate", "%s", o->rate)))
		return rc;
	if (o->queues &&
	    (rc = sn_xs_printf(p, t, be, "multi-queue-max-queues", "%ld", o->queues)))
		return rc;
	return 0;
}

static int vif_add(struct sn_plat *p, const struct vif_opts *o)
{
	char fe[256], be[256], mac[32];
	struct vif_add_ctx c = { .o = o, .fe = fe, .be = be, .mac = mac };
	int rc;

	paths(o, fe, sizeof(fe), be, sizeof(be));
	if (o->mac)
		snprintf(mac, sizeof(mac), "%s", o->mac);
	else
		snprintf(mac, sizeof(mac), "00:16:3e:%02lx:%02lx:%02lx",
			 (o->domid >> 8) & 0xff, o->domid & 0xff, o->devid & 0xff);
	rc = sn_xs_txn(p, vif_add_body, &c);
	if (!rc && p->kind == SN_PLAT_EMU && o->be_domid != 0)
		rc = grant_release_watch(p, o->be_domid);
	return rc;
}

/* dir/state: -1 when absent (or unreadable), 0 (Unknown) when it is not a
 * state number. */
static long read_state(struct sn_plat *p, const char *dir)
{
	unsigned long st;
	int rc = sn_xs_read_ulong(p, XBT_NULL, dir, "state", 0, LONG_MAX, &st);

	if (rc == -EINVAL)
		return XenbusStateUnknown;
	return rc ? -1 : (long)st;
}

static int vif_rm_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const char *const *dirs = arg;

	p->ops->xs_rm(p, t, dirs[0]);
	p->ops->xs_rm(p, t, dirs[1]);
	return 0;
}

static int vif_del(struct sn_plat *p, const struct vif_opts *o)
{
	char fe[256], be[256], path[300];
	const char *dirs[2] = { fe, be };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	long st, waited;
	unsigned int n = 0;
	char **ents;
	int rc;

	paths(o, fe, sizeof(fe), be, sizeof(be));
	if (read_state(p, be) < 0 && read_state(p, fe) < 0) {
		fprintf(stderr, "stagenet vif-del: no vif %ld.%ld\n", o->domid, o->devid);
		return -ENOENT;
	}
	/* libxl's graceful path: take it offline and ask the frontend side
	 * to close, so the backend disconnects before its keys vanish. */
	sn_xs_printf(p, XBT_NULL, be, "online", "0");
	sn_xs_printf(p, XBT_NULL, fe, "state", "%d", XenbusStateClosing);
	/* Only a backend that is serving the vif (past Initialising) will
	 * answer; wait for it to reach Closing/Closed. */
	for (waited = 0; waited < o->timeout_ms; waited += 10) {
		st = read_state(p, be);
		if (st <= XenbusStateInitialising || st == XenbusStateClosing ||
		    st == XenbusStateClosed)
			break;
		nanosleep(&ts, NULL);
	}
	rc = sn_xs_txn(p, vif_rm_body, dirs);
	if (rc)
		return rc;
	/* Drop the per-domain parent left empty (libxl removes it too). */
	snprintf(path, sizeof(path), "/local/domain/%ld/backend/vif/%ld",
		 o->be_domid, o->domid);
	if (!p->ops->xs_directory(p, XBT_NULL, path, &ents, &n)) {
		if (n == 0)
			p->ops->xs_rm(p, XBT_NULL, path);
		free(ents);
	}
	return 0;
}

static int run(int argc, char **argv, bool add)
{
	/* A toolstack step needs xenstore only: no emulated domain is
	 * registered, no grant device opened. */
	struct sn_plat_cfg pc = { .kind = SN_PLAT_AUTO, .xs_only = true };
	struct vif_opts o;
	struct sn_plat *p;
	int rc;

	rc = parse_opts(argc, argv, add, &o);
	if (rc)
		return sn_opts_exit(rc);
	rc = sn_plat_open(&pc, &p);
	if (rc) {
		fprintf(stderr, "stagenet: cannot reach xenstore (%s); is `stagenet host` running and XENSTORED_PATH set?\n",
			strerror(-rc));
		return 1;
	}
	rc = add ? vif_add(p, &o) : vif_del(p, &o);
	sn_plat_close(p);
	if (rc && rc != -ENOENT)
		fprintf(stderr, "stagenet %s: %s\n", add ? "vif-add" : "vif-del",
			strerror(-rc));
	return rc ? 1 : 0;
}

int sn_cmd_vif_add(int argc, char **argv)
{
	return run(argc, argv, true);
}

int sn_cmd_vif_del(int argc, char **argv)
{
	return run(argc, argv, false);
}
