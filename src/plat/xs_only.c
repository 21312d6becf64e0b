/* The xenstore-only platform (sn_plat_cfg.xs_only): what a toolstack step
 * needs and nothing more.  Opening the full emulated platform would register
 * a domain (and collide with the backend's dom0 registration); opening real
 * Xen would need gntdev and gntalloc.  Both platforms reach xenstore through
 * libxenstore (xs.c), so only dom_instance differs by kind. */
#include <errno.h>
#include <stdlib.h>

#include "plat/emu/emu.h"
#include "plat/impl.h"
#include "plat/xs.h"

static void xs_only_close(struct sn_plat *p)
{
	sn_xs_disconnect(p);
	free(p);
}

static int no_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs)
{
	(void)p, (void)count, (void)segs;
	return -EOPNOTSUPP;
}

static int no_gnt_map(struct sn_plat *p, uint32_t count, const uint16_t *domids,
		      const uint32_t *refs, bool writable, void **addrs,
		      int16_t *status)
{
	(void)p, (void)count, (void)domids, (void)refs, (void)writable;
	(void)addrs, (void)status;
	return -EOPNOTSUPP;
}

static int no_gnt_unmap(struct sn_plat *p, uint32_t count, void *const *addrs,
			int16_t *status)
{
	(void)p, (void)count, (void)addrs, (void)status;
	return -EOPNOTSUPP;
}

static int no_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count,
			bool writable, uint32_t *refs, void **addr)
{
	(void)p, (void)domid, (void)count, (void)writable, (void)refs, (void)addr;
	return -EOPNOTSUPP;
}

static int no_shr_free(struct sn_plat *p, void *addr, uint32_t count)
{
	(void)p, (void)addr, (void)count;
	return -EOPNOTSUPP;
}

static int no_shr_grant(struct sn_plat *p, uint16_t domid, const void *page,
			bool writable, uint32_t *ref)
{
	(void)p, (void)domid, (void)page, (void)writable, (void)ref;
	return -EOPNOTSUPP;
}

static int no_shr_revoke(struct sn_plat *p, uint32_t ref)
{
	(void)p, (void)ref;
	return -EOPNOTSUPP;
}

static int no_evt_open(struct sn_plat *p, struct sn_evtchn **out)
{
	(void)p, (void)out;
	return -EOPNOTSUPP;
}

/* The evt_* ops on a handle stay NULL: no handle can exist without
 * evt_open. */
#define XS_ONLY_OPS                                                     \
	.close = xs_only_close, .gnt_copy = no_gnt_copy,                \
	.gnt_map = no_gnt_map, .gnt_unmap = no_gnt_unmap,               \
	.shr_alloc = no_shr_alloc, .shr_free = no_shr_free,             \
	.shr_grant = no_shr_grant, .shr_revoke = no_shr_revoke,         \
	.evt_open = no_evt_open, SN_XS_OPS

static const struct sn_plat_ops xs_only_emu_ops = {
	.name = "emu-xenstore",
	XS_ONLY_OPS,
	.dom_instance = sn_emu_dom_instance,
};

static const struct sn_plat_ops xs_only_xen_ops = {
	.name = "xen-xenstore",
	XS_ONLY_OPS,
	.dom_instance = sn_xen_dom_instance,
};

int sn_xs_only_open(enum sn_plat_kind kind, const struct sn_plat_cfg *cfg,
		    struct sn_plat **out)
{
	struct sn_plat *p;
	int rc;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ops = kind == SN_PLAT_XEN ? &xs_only_xen_ops : &xs_only_emu_ops;
	p->kind = kind;
	p->domid = cfg->domid;
	rc = sn_xs_connect(p, cfg->xs_path);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}
