/* Constructors of the platform implementations, for plat.c's dispatch. */
#ifndef STAGENET_PLAT_IMPL_H
#define STAGENET_PLAT_IMPL_H

#include "stagenet/plat.h"

int sn_emu_open(const struct sn_plat_cfg *cfg, struct sn_plat **out);
int sn_xen_open(const struct sn_plat_cfg *cfg, struct sn_plat **out);
/* A platform with only the xenstore ops (cfg->xs_only), see xs_only.c. */
int sn_xs_only_open(enum sn_plat_kind kind, const struct sn_plat_cfg *cfg,
		    struct sn_plat **out);

/* dom_instance of real Xen: xenstore only, so the xs_only platform on Xen
 * uses it too. */
int sn_xen_dom_instance(struct sn_plat *p, uint16_t domid, char **id);

#endif
