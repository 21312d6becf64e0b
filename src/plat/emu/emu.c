/* The emulated platform's ops table and its open/close: a domain is this
 * process (or thread) with RAM, a grant table and an event-channel table in
 * memfds, registered with `stagenet host`. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "plat/emu/emu.h"
#include "plat/impl.h"
#include "plat/xs.h"

static void emu_close(struct sn_plat *p)
{
	struct sn_emu *e = (struct sn_emu *)p;

	/* Like gntdev on close: our mappings go (unpinning the granters'
	 * pages) before the tables they point into. */
	sn_emu_gnt_fini(e);
	sn_emu_shr_fini(e);
	sn_emu_evtchn_fini(e);
	sn_emu_domain_fini(e);
	sn_xs_disconnect(p);
	free(e);
}

/* The registry answer is also when a guest that closed its vifs and then
 * died is noticed (the backend asks on @releaseDomain): our view of it has
 * no mapping left to outlive it, so it goes now. */
static int emu_dom_instance(struct sn_plat *p, uint16_t domid, char **id)
{
	int rc = sn_emu_dom_instance(p, domid, id);

	if (!rc || rc == -ESRCH)
		sn_emu_peer_sweep((struct sn_emu *)p, domid);
	return rc;
}

static const struct sn_plat_ops emu_ops = {
	.name = "emu",
	.close = emu_close,
	.gnt_copy = sn_emu_gnt_copy,
	.gnt_map = sn_emu_gnt_map,
	.gnt_unmap = sn_emu_gnt_unmap,
	.shr_alloc = sn_emu_shr_alloc,
	.shr_free = sn_emu_shr_free,
	.shr_grant = sn_emu_shr_grant,
	.shr_revoke = sn_emu_shr_revoke,
	.evt_open = sn_emu_evt_open,
	.evt_close = sn_emu_evt_close,
	.evt_fd = sn_emu_evt_fd,
	.evt_alloc_unbound = sn_emu_evt_alloc_unbound,
	.evt_bind_interdomain = sn_emu_evt_bind_interdomain,
	.evt_notify = sn_emu_evt_notify,
	.evt_pending = sn_emu_evt_pending,
	.evt_unmask = sn_emu_evt_unmask,
	.evt_unbind = sn_emu_evt_unbind,
	SN_XS_OPS,
	.dom_instance = emu_dom_instance,
};

int sn_emu_open(const struct sn_plat_cfg *cfg, struct sn_plat **out)
{
	struct sn_emu *e;
	int rc;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->plat.ops = &emu_ops;
	e->plat.kind = SN_PLAT_EMU;
	e->plat.domid = cfg->domid;
	e->pid = getpid();

	rc = sn_xs_connect(&e->plat, cfg->xs_path);
	if (rc)
		goto err_free;
	/* Event channels first: the domain registers every fd in one
	 * transaction, so all tables must exist before it does. */
	rc = sn_emu_evtchn_init(e);
	if (rc)
		goto err_xs;
	rc = sn_emu_domain_init(e, cfg);
	if (rc)
		goto err_evt;
	*out = &e->plat;
	return 0;

err_evt:
	sn_emu_evtchn_fini(e);
err_xs:
	sn_xs_disconnect(&e->plat);
err_free:
	free(e);
	return rc;
}
