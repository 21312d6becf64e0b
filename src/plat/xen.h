/* Internals of the real-Xen platform (xen.c) that tests need to reach:
 * how a Linux errno from gntdev is turned back into a GNTST_* code. */
#ifndef STAGENET_PLAT_XEN_H
#define STAGENET_PLAT_XEN_H

#include <stdint.h>

/* Map the errno of a failed xengnttab_map_grant_ref (positive, as in
 * errno) to the GNTST_* status reported in that element.  Never returns
 * GNTST_okay. */
int16_t sn_xen_map_errno_to_gntst(int err);

#endif
