/* The real-Xen platform: the ops table of plat.h over the Linux Xen device
 * drivers through libxengnttab (gntdev), libxengntshr (gntalloc),
 * libxenevtchn (evtchn) and libxenstore (shared with the emulator, xs.c). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xentoollog.h>
#include <xen/xen.h>

#include "plat/impl.h"
#include "plat/xen.h"
#include "plat/xs.h"

/* One block of pages from xengntshr_share_pages.  gntalloc hands out a
 * block and its refs together and can only take the block back whole, so
 * this is the unit shr_free, shr_grant and shr_revoke reason about. */
struct sn_xen_block {
	struct sn_xen_block *next;
	uint8_t *addr;
	uint32_t count;
	uint16_t domid;
	bool writable;
	uint32_t refs[]; /* refs[i] grants page i */
};

struct sn_xen {
	struct sn_plat plat; /* must be first */
	/* The libraries log every failed call themselves.  A failed map is a
	 * per-element status here, often caused by a (possibly hostile) peer,
	 * and datapath failures are counted, not logged: this logger drops
	 * everything and open() prints its own messages. */
	xentoollog_logger quiet;
	xengnttab_handle *gt;
	xengntshr_handle *gs;
	pthread_mutex_t shr_lock; /* protects blocks */
	struct sn_xen_block *blocks;
};

struct sn_evtchn {
	xentoollog_logger quiet; /* see struct sn_xen */
	xenevtchn_handle *xce;
	int fd;
};

static void quiet_vmessage(struct xentoollog_logger *logger,
			   xentoollog_level level, int errnoval,
			   const char *context, const char *format, va_list al)
{
	(void)logger;
	(void)level;
	(void)errnoval;
	(void)context;
	(void)format;
	(void)al;
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static void quiet_init(xentoollog_logger *l)
{
	l->vmessage = quiet_vmessage;
	l->progress = NULL;
	l->destroy = quiet_destroy;
}

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static struct sn_xen *to_xen(struct sn_plat *p)
{
	return (struct sn_xen *)p;
}

/* gntdev does not return the hypervisor's GNTST code of a failed map: the
 * mmap() that performs the GNTTABOP_map_grant_ref fails with -EINVAL for
 * any non-okay status, and the ioctl before it fails with -ENOMEM when the
 * gntdev mapping limit is reached.  So this is a best guess at the cause,
 * chosen so callers that branch on the code do the right thing:
 *   EINVAL        the hypervisor refused the grant; by far the most common
 *                 cause is a ref that is not (or no longer) granted to us,
 *                 so GNTST_bad_gntref;
 *   EPERM/EACCES  we asked to write a read-only grant or lack privilege;
 *   ESRCH         no such domain;
 *   ENOMEM/ENOSPC out of mapping handles (gntdev limit, address space);
 *   EAGAIN        transient: the granter's page is being paged/shared;
 *   anything else GNTST_general_error. */
int16_t sn_xen_map_errno_to_gntst(int err)
{
	switch (err) {
	case EINVAL:
		return GNTST_bad_gntref;
	case EPERM:
	case EACCES:
		return GNTST_permission_denied;
	case ESRCH:
		return GNTST_bad_domain;
	case ENOMEM:
	case ENOSPC:
		return GNTST_no_space;
	case EAGAIN:
		return GNTST_eagain;
	default:
		return GNTST_general_error;
	}
}

/* --- gnttab ------------------------------------------------------------ */

/* Validate the whole batch before the ioctl: gntdev processes a batch in
 * chunks and stops at the first malformed segment, so without this a bad
 * segment could leave earlier ones done and later ones untouched, with no
 * status telling which. */
static int copy_batch_ok(uint32_t count, const sn_copy_seg *segs)
{
	for (uint32_t i = 0; i < count; i++) {
		const sn_copy_seg *s = &segs[i];
		bool src_gref = s->flags & GNTCOPY_source_gref;
		bool dst_gref = s->flags & GNTCOPY_dest_gref;

		if (src_gref == dst_gref)
			return -EINVAL;
		if (s->flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref))
			return -EINVAL;
		if (src_gref &&
		    (uint32_t)s->source.foreign.offset + s->len > SN_PAGE_SIZE)
			return -EINVAL;
		if (dst_gref &&
		    (uint32_t)s->dest.foreign.offset + s->len > SN_PAGE_SIZE)
			return -EINVAL;
	}
	return 0;
}

static int xen_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs)
{
	int rc;

	if (!count)
		return 0;
	if (!segs)
		return -EINVAL;
	rc = copy_batch_ok(count, segs);
	if (rc)
		return rc;
	errno = 0;
	if (xengnttab_grant_copy(to_xen(p)->gt, count, segs))
		return neg_errno();
	return 0;
}

/* One mapping per element, not one multi-page xengnttab_map_grant_refs:
 * that call is all-or-nothing (one bad ref fails the batch without saying
 * which) and its pages could only be unmapped together, while callers
 * unmap pages one by one. */
static int xen_gnt_map(struct sn_plat *p, uint32_t count,
		       const uint16_t *domids, const uint32_t *refs,
		       bool writable, void **addrs, int16_t *status)
{
	struct sn_xen *x = to_xen(p);
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;

	if (count && (!domids || !refs || !addrs || !status))
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		errno = 0;
		addrs[i] = xengnttab_map_grant_ref(x->gt, domids[i], refs[i],
						   prot);
		if (addrs[i])
			status[i] = GNTST_okay;
		else
			status[i] = sn_xen_map_errno_to_gntst(errno);
	}
	return 0;
}

static int xen_gnt_unmap(struct sn_plat *p, uint32_t count, void *const *addrs,
			 int16_t *status)
{
	struct sn_xen *x = to_xen(p);

	if (count && (!addrs || !status))
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		if (!addrs[i]) {
			status[i] = GNTST_bad_virt_addr;
			continue;
		}
		errno = 0;
		if (xengnttab_unmap(x->gt, addrs[i], 1))
			/* gntdev fails the unmap of an address it did not map
			 * with EINVAL and reports hypervisor unmap failures
			 * the same way; both mean "not a mapping of ours". */
			status[i] = errno == EINVAL ? GNTST_bad_virt_addr :
						      GNTST_general_error;
		else
			status[i] = GNTST_okay;
	}
	return 0;
}

/* --- gntshr ------------------------------------------------------------ */

static int xen_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count,
			 bool writable, uint32_t *refs, void **addr)
{
	struct sn_xen *x = to_xen(p);
	struct sn_xen_block *b;
	void *a;

	/* xengntshr takes an int count. */
	if (!count || count > 0x100000 || !refs || !addr)
		return -EINVAL;
	b = calloc(1, sizeof(*b) + (size_t)count * sizeof(b->refs[0]));
	if (!b)
		return -ENOMEM;
	errno = 0;
	a = xengntshr_share_pages(x->gs, domid, (int)count, b->refs, writable);
	if (!a) {
		int rc = neg_errno();

		free(b);
		return rc;
	}
	/* gntalloc pages come from the kernel's page allocator, already
	 * zeroed, so the "zeroed" promise of plat.h holds without a memset. */
	b->addr = a;
	b->count = count;
	b->domid = domid;
	b->writable = writable;
	memcpy(refs, b->refs, (size_t)count * sizeof(refs[0]));

	pthread_mutex_lock(&x->shr_lock);
	b->next = x->blocks;
	x->blocks = b;
	pthread_mutex_unlock(&x->shr_lock);
	*addr = a;
	return 0;
}

/* Only whole blocks can be freed: gntalloc ties a block's grants to one
 * mapping.  Returns 0 even when the peer still maps a page: libxengntshr
 * already asked gntalloc to drop the grants when the mapping goes, and
 * gntalloc then ends each grant, deferring the real revoke (and keeping
 * the page out of circulation) for as long as the peer keeps it mapped.
 * The page is never handed back to us or anyone else while the peer can
 * still touch it, which is what the -EBUSY quarantine of plat.h protects;
 * we just cannot observe it from userspace to report it. */
static int xen_shr_free(struct sn_plat *p, void *addr, uint32_t count)
{
	struct sn_xen *x = to_xen(p);
	struct sn_xen_block **pp, *b = NULL;

	pthread_mutex_lock(&x->shr_lock);
	for (pp = &x->blocks; *pp; pp = &(*pp)->next) {
		if ((*pp)->addr == addr && (*pp)->count == count) {
			b = *pp;
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&x->shr_lock);
	if (!b)
		return -EINVAL;
	/* Unmapping our side cannot fail for a block we mapped; if it did,
	 * the pages stay mapped and granted, which is safe (a leak). */
	xengntshr_unshare(x->gs, b->addr, b->count);
	free(b);
	return 0;
}

/* gntalloc cannot grant an arbitrary existing page, only allocate new
 * granted pages.  But every page from shr_alloc already carries a grant,
 * so for such a page we hand out that grant: it gives the peer no access
 * it did not already have (grant refs are guessable; what protects a page
 * is whom it is granted to, not who was told the ref).  Hence:
 *   - the page must be in a block granted to the same domid;
 *   - a read-only request on a writable block returns the writable grant
 *     (no new access, see above); a writable request on a read-only block
 *     cannot be met: -EOPNOTSUPP, like any page not from shr_alloc. */
static int xen_shr_grant(struct sn_plat *p, uint16_t domid, const void *page,
			 bool writable, uint32_t *ref)
{
	struct sn_xen *x = to_xen(p);
	const uint8_t *pg = page;
	int rc = -EOPNOTSUPP;

	if (!ref || ((uintptr_t)page & (SN_PAGE_SIZE - 1)))
		return -EINVAL;
	pthread_mutex_lock(&x->shr_lock);
	for (struct sn_xen_block *b = x->blocks; b; b = b->next) {
		if (pg < b->addr ||
		    pg >= b->addr + (size_t)b->count * SN_PAGE_SIZE)
			continue;
		if (b->domid == domid && (b->writable || !writable)) {
			*ref = b->refs[(size_t)(pg - b->addr) / SN_PAGE_SIZE];
			rc = 0;
		}
		break;
	}
	pthread_mutex_unlock(&x->shr_lock);
	return rc;
}

/* The only refs shr_grant returns are the standing grants of shr_alloc
 * blocks, which live until shr_free.  Revoking one therefore ends nothing:
 * 0 means "this ref is ours and stays valid until its block is freed"; the
 * peer keeps the access it had through the block all along, so callers
 * must treat a whole block, not one page, as the unit of revocation on
 * real Xen.  -ENOENT for a ref we never handed out. */
static int xen_shr_revoke(struct sn_plat *p, uint32_t ref)
{
	struct sn_xen *x = to_xen(p);
	int rc = -ENOENT;

	pthread_mutex_lock(&x->shr_lock);
	for (struct sn_xen_block *b = x->blocks; b && rc; b = b->next)
		for (uint32_t i = 0; i < b->count; i++)
			if (b->refs[i] == ref) {
				rc = 0;
				break;
			}
	pthread_mutex_unlock(&x->shr_lock);
	return rc;
}

/* --- evtchn ------------------------------------------------------------ */

static int xen_evt_open(struct sn_plat *p, struct sn_evtchn **out)
{
	struct sn_evtchn *e;
	int rc;

	(void)p;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	quiet_init(&e->quiet);
	errno = 0;
	e->xce = xenevtchn_open(&e->quiet, 0);
	if (!e->xce) {
		rc = neg_errno();
		fprintf(stderr,
			"stagenet: xen: cannot open /dev/xen/evtchn: %s "
			"(is the xen-evtchn module loaded?)\n",
			strerror(-rc));
		free(e);
		return rc;
	}
	e->fd = xenevtchn_fd(e->xce);
	*out = e;
	return 0;
}

static void xen_evt_close(struct sn_evtchn *e)
{
	if (!e)
		return;
	/* Closing the device unbinds every port still bound on it. */
	xenevtchn_close(e->xce);
	free(e);
}

static int xen_evt_fd(struct sn_evtchn *e)
{
	return e->fd;
}

static int xen_evt_alloc_unbound(struct sn_evtchn *e, uint16_t remote_domid)
{
	xenevtchn_port_or_error_t port;

	errno = 0;
	port = xenevtchn_bind_unbound_port(e->xce, remote_domid);
	return port < 0 ? neg_errno() : port;
}

static int xen_evt_bind_interdomain(struct sn_evtchn *e, uint16_t remote_domid,
				    sn_port_t remote_port)
{
	xenevtchn_port_or_error_t port;

	errno = 0;
	port = xenevtchn_bind_interdomain(e->xce, remote_domid, remote_port);
	return port < 0 ? neg_errno() : port;
}

static int xen_evt_notify(struct sn_evtchn *e, sn_port_t port)
{
	errno = 0;
	return xenevtchn_notify(e->xce, port) ? neg_errno() : 0;
}

static int xen_evt_pending(struct sn_evtchn *e)
{
	struct pollfd pfd = { .fd = e->fd, .events = POLLIN };
	xenevtchn_port_or_error_t port;
	int n;

	/* xenevtchn_pending is a read() on the evtchn device, which may block
	 * even on an O_NONBLOCK fd (see xenevtchn.h); a zero-timeout poll
	 * first is the documented way to never block. */
	n = poll(&pfd, 1, 0);
	if (n < 0)
		return errno == EINTR ? -EAGAIN : neg_errno();
	if (n == 0 || !(pfd.revents & POLLIN))
		return -EAGAIN;
	errno = 0;
	port = xenevtchn_pending(e->xce);
	if (port < 0)
		return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN :
								neg_errno();
	return port;
}

static int xen_evt_unmask(struct sn_evtchn *e, sn_port_t port)
{
	errno = 0;
	return xenevtchn_unmask(e->xce, port) ? neg_errno() : 0;
}

static int xen_evt_unbind(struct sn_evtchn *e, sn_port_t port)
{
	errno = 0;
	return xenevtchn_unbind(e->xce, port) ? neg_errno() : 0;
}

/* --- open / close ------------------------------------------------------ */

static void xen_close(struct sn_plat *p)
{
	struct sn_xen *x = to_xen(p);
	struct sn_xen_block *b, *next;

	for (b = x->blocks; b; b = next) {
		next = b->next;
		xengntshr_unshare(x->gs, b->addr, b->count);
		free(b);
	}
	xengntshr_close(x->gs);
	xengnttab_close(x->gt);
	sn_xs_disconnect(p);
	pthread_mutex_destroy(&x->shr_lock);
	free(x);
}

/* The toolstack's /local/domain/<id>/vm link ("/vm/<uuid>"): libxl writes
 * it when it creates the domain, with a fresh uuid unless the config pins
 * one, and removes the whole /local/domain/<id> on destroy.  It is plain
 * xenstore, which a dom0 backend already reads, so no privcmd and no
 * libxenctrl (whose ABI follows each Xen release) just to get the same
 * uuid as the domain handle.  A toolstack that writes no vm link still
 * leaves /local/domain/<id> itself, named by its value. */
int sn_xen_dom_instance(struct sn_plat *p, uint16_t domid, char **id)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	rc = p->ops->xs_read(p, XBT_NULL, path, id, NULL);
	if (rc) {
		snprintf(path, sizeof(path), "/local/domain/%u", domid);
		rc = p->ops->xs_read(p, XBT_NULL, path, id, NULL);
	}
	return rc == -ENOENT ? -ESRCH : rc;
}

static const struct sn_plat_ops xen_ops = {
	.name = "xen",
	.close = xen_close,
	.gnt_copy = xen_gnt_copy,
	.gnt_map = xen_gnt_map,
	.gnt_unmap = xen_gnt_unmap,
	.shr_alloc = xen_shr_alloc,
	.shr_free = xen_shr_free,
	.shr_grant = xen_shr_grant,
	.shr_revoke = xen_shr_revoke,
	.evt_open = xen_evt_open,
	.evt_close = xen_evt_close,
	.evt_fd = xen_evt_fd,
	.evt_alloc_unbound = xen_evt_alloc_unbound,
	.evt_bind_interdomain = xen_evt_bind_interdomain,
	.evt_notify = xen_evt_notify,
	.evt_pending = xen_evt_pending,
	.evt_unmask = xen_evt_unmask,
	.evt_unbind = xen_evt_unbind,
	SN_XS_OPS,
	.dom_instance = sn_xen_dom_instance,
};

/* Our domid is the value of the relative key "domid", i.e.
 * /local/domain/<us>/domid, which the toolstack writes for every domain
 * (xen-init-dom0 for dom0). */
static int read_own_domid(struct sn_plat *p, uint16_t *domid)
{
	char *val = NULL, *end;
	unsigned long v;
	int rc;

	rc = sn_xs_read(p, XBT_NULL, "domid", &val, NULL);
	if (rc) {
		fprintf(stderr,
			"stagenet: xen: cannot read our domid from xenstore "
			"key \"domid\": %s\n",
			strerror(-rc));
		return rc;
	}
	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || v >= DOMID_FIRST_RESERVED) {
		fprintf(stderr,
			"stagenet: xen: xenstore key \"domid\" holds \"%.32s\", "
			"not a domain id\n",
			val);
		free(val);
		return -EPROTO;
	}
	free(val);
	*domid = (uint16_t)v;
	return 0;
}

int sn_xen_open(const struct sn_plat_cfg *cfg, struct sn_plat **out)
{
	struct sn_xen *x;
	int rc;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->plat.ops = &xen_ops;
	x->plat.kind = SN_PLAT_XEN;
	quiet_init(&x->quiet);
	rc = pthread_mutex_init(&x->shr_lock, NULL);
	if (rc) {
		free(x);
		return -rc;
	}

	errno = 0;
	x->gt = xengnttab_open(&x->quiet, 0);
	if (!x->gt) {
		rc = neg_errno();
		fprintf(stderr,
			"stagenet: xen: cannot open /dev/xen/gntdev: %s "
			"(not running on Xen, or the xen-gntdev module is not "
			"loaded?)\n",
			strerror(-rc));
		goto err_lock;
	}
	errno = 0;
	x->gs = xengntshr_open(&x->quiet, 0);
	if (!x->gs) {
		rc = neg_errno();
		fprintf(stderr,
			"stagenet: xen: cannot open /dev/xen/gntalloc: %s "
			"(is the xen-gntalloc module loaded?)\n",
			strerror(-rc));
		goto err_gt;
	}
	rc = sn_xs_connect(&x->plat, cfg->xs_path);
	if (rc) {
		fprintf(stderr,
			"stagenet: xen: cannot connect to xenstore (%s, else "
			"/dev/xen/xenbus): %s\n",
			cfg->xs_path ? cfg->xs_path : "$XENSTORED_PATH or the "
						      "default socket",
			strerror(-rc));
		goto err_gs;
	}
	rc = read_own_domid(&x->plat, &x->plat.domid);
	if (rc)
		goto err_xs;
	*out = &x->plat;
	return 0;

err_xs:
	sn_xs_disconnect(&x->plat);
err_gs:
	xengntshr_close(x->gs);
err_gt:
	xengnttab_close(x->gt);
err_lock:
	pthread_mutex_destroy(&x->shr_lock);
	free(x);
	return rc;
}
