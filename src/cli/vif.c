/* `stagenet vif-add` / `stagenet vif-del`: the toolstack step.  Writes (and
 * removes) the xenstore directories libxl writes for a vif
 * (libxl_device.c libxl__device_generic_add, libxl_nic.c), with the same
 * keys and permissions, so a backend serves our vifs and xl's alike. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "cli/cli.h"

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

static bool xs_printf(struct xs_handle *xs, xs_transaction_t t,
		      const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static bool xs_printf(struct xs_handle *xs, xs_transaction_t t,
		      const char *dir, const char *key, const char *fmt, ...)
{
	char path[512], val[256];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return xs_write(xs, t, path, val, strlen(val));
}

static void paths(const struct vif_opts *o, char *fe, size_t fel, char *be,
		  size_t bel)
{
	snprintf(fe, fel, "/local/domain/%ld/device/vif/%ld", o->domid, o->devid);
	snprintf(be, bel, "/local/domain/%ld/backend/vif/%ld/%ld", o->be_domid,
		 o->domid, o->devid);
}

static int vif_add(struct xs_handle *xs, const struct vif_opts *o)
{
	/* The first entry is the owner (and everyone else's default). */
	struct xs_permissions fe_perms[2] = {
		{ .id = (unsigned int)o->domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned int)o->be_domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions be_perms[2] = {
		{ .id = (unsigned int)o->be_domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned int)o->domid, .perms = XS_PERM_READ },
	};
	char fe[256], be[256], mac[32];
	xs_transaction_t t;
	bool ok;

	paths(o, fe, sizeof(fe), be, sizeof(be));
	if (o->mac)
		snprintf(mac, sizeof(mac), "%s", o->mac);
	else
		snprintf(mac, sizeof(mac), "00:16:3e:%02lx:%02lx:%02lx",
			 (o->domid >> 8) & 0xff, o->domid & 0xff, o->devid & 0xff);
	for (int tries = 0; tries < 32; tries++) {
		t = xs_transaction_start(xs);
		if (!t)
			return -errno;
		/* Like libxl: start from empty directories, set their
		 * permissions, then write the keys (which inherit them). */
		xs_rm(xs, t, fe);
		xs_rm(xs, t, be);
		ok = xs_mkdir(xs, t, fe) && xs_set_permissions(xs, t, fe, fe_perms, 2) &&
		     xs_mkdir(xs, t, be) && xs_set_permissions(xs, t, be, be_perms, 2);
		ok = ok && xs_printf(xs, t, fe, "backend", "%s", be) &&
		     xs_printf(xs, t, fe, "backend-id", "%ld", o->be_domid) &&
		     xs_printf(xs, t, fe, "state", "%d", XenbusStateInitialising) &&
		     xs_printf(xs, t, fe, "handle", "%ld", o->devid) &&
		     xs_printf(xs, t, fe, "mac", "%s", mac) &&
		     xs_printf(xs, t, fe, "mtu", "%ld", o->mtu) &&
		     xs_printf(xs, t, fe, "trusted", "1");
		ok = ok && xs_printf(xs, t, be, "frontend", "%s", fe) &&
		     xs_printf(xs, t, be, "frontend-id", "%ld", o->domid) &&
		     xs_printf(xs, t, be, "online", "1") &&
		     xs_printf(xs, t, be, "state", "%d", XenbusStateInitialising) &&
		     xs_printf(xs, t, be, "script", "%s", "") &&
		     xs_printf(xs, t, be, "mac", "%s", mac) &&
		     xs_printf(xs, t, be, "handle", "%ld", o->devid) &&
		     xs_printf(xs, t, be, "type", "vif") &&
		     xs_printf(xs, t, be, "mtu", "%ld", o->mtu) &&
		     xs_printf(xs, t, be, "hotplug-status", "%s", "");
		if (ok && o->rate)
			ok = xs_printf(xs, t, be, "rate", "%s", o->rate);
		if (ok && o->queues)
			ok = xs_printf(xs, t, be, "multi-queue-max-queues", "%ld",
				       o->queues);
		if (!ok) {
			int err = errno;

			xs_transaction_end(xs, t, true);
			return err ? -err : -EIO;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

static long read_state(struct xs_handle *xs, const char *dir)
{
	char path[300];
	unsigned int len;
	char *v;
	long s;

	snprintf(path, sizeof(path), "%s/state", dir);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (!v)
		return -1;
	s = strtol(v, NULL, 10);
	free(v);
	return s;
}

static int vif_del(struct xs_handle *xs, const struct vif_opts *o)
{
	char fe[256], be[256], path[300];
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	xs_transaction_t t;
	long st, waited;

	paths(o, fe, sizeof(fe), be, sizeof(be));
	if (read_state(xs, be) < 0 && read_state(xs, fe) < 0) {
		fprintf(stderr, "stagenet vif-del: no vif %ld.%ld\n", o->domid, o->devid);
		return -ENOENT;
	}
	/* libxl's graceful path: take it offline and ask the frontend side
	 * to close, so the backend disconnects before its keys vanish. */
	snprintf(path, sizeof(path), "%s/online", be);
	xs_write(xs, XBT_NULL, path, "0", 1);
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(xs, XBT_NULL, path, "5", 1);
	/* Only a backend that is serving the vif (past Initialising) will
	 * answer; wait for it to reach Closing/Closed. */
	for (waited = 0; waited < o->timeout_ms; waited += 10) {
		st = read_state(xs, be);
		if (st <= XenbusStateInitialising || st == XenbusStateClosing ||
		    st == XenbusStateClosed)
			break;
		nanosleep(&ts, NULL);
	}
	for (int tries = 0; tries < 32; tries++) {
		t = xs_transaction_start(xs);
		if (!t)
			return -errno;
		xs_rm(xs, t, fe);
		xs_rm(xs, t, be);
		if (xs_transaction_end(xs, t, false))
			break;
		if (errno != EAGAIN)
			return -errno;
	}
	/* Drop the per-domain parent left empty (libxl removes it too). */
	snprintf(path, sizeof(path), "/local/domain/%ld/backend/vif/%ld",
		 o->be_domid, o->domid);
	{
		unsigned int n = 0;
		char **ents = xs_directory(xs, XBT_NULL, path, &n);

		if (ents && n == 0)
			xs_rm(xs, XBT_NULL, path);
		free(ents);
	}
	return 0;
}

static int run(int argc, char **argv, bool add)
{
	struct vif_opts o;
	struct xs_handle *xs;
	int rc;

	rc = parse_opts(argc, argv, add, &o);
	if (rc)
		return sn_opts_exit(rc);
	xs = xs_open(0);
	if (!xs) {
		fprintf(stderr, "stagenet: cannot reach xenstore (%s); is `stagenet host` running and XENSTORED_PATH set?\n",
			strerror(errno));
		return 1;
	}
	rc = add ? vif_add(xs, &o) : vif_del(xs, &o);
	xs_close(xs);
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
