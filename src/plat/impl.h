/* Constructors of the platform implementations, for plat.c's dispatch. */
#ifndef STAGENET_PLAT_IMPL_H
#define STAGENET_PLAT_IMPL_H

#include "stagenet/plat.h"

int sn_emu_open(const struct sn_plat_cfg *cfg, struct sn_plat **out);
int sn_xen_open(const struct sn_plat_cfg *cfg, struct sn_plat **out);

#endif
