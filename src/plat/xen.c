/* STUB */
#include <errno.h>
#include "plat/impl.h"
int sn_xen_open(const struct sn_plat_cfg *cfg, struct sn_plat **out) { (void)cfg; (void)out; return -ENOSYS; }
