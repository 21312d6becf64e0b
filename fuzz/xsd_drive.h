/* The emulated host's xenstore daemon driven in-process, for the fuzz
 * harness and tests/hostile: its real connection code (framing, handlers,
 * transactions, watches, registry) runs on socketpairs, one step at a time,
 * with no event loop and no signal handling. */
#ifndef SN_FUZZ_XSD_DRIVE_H
#define SN_FUZZ_XSD_DRIVE_H

#include "plat/emu/xenstored/xsd.h"

/* Store, epoll set; 0 or -errno. */
int xsdrv_init(struct xsd *d);
/* Tear down every connection left, the registry and the store. */
void xsdrv_fini(struct xsd *d);
/* A new client: *client is our end of the socketpair (non-blocking). */
struct xsd_conn *xsdrv_connect(struct xsd *d, int *client);
/* One readiness step as the daemon's loop takes it: read and handle what
 * is there, flush what fits.  Returns false once the daemon closed it
 * (or would, at the end of its loop iteration). */
bool xsdrv_step(struct xsd *d, struct xsd_conn *c);
/* Close one client the way the daemon's reaper does. */
void xsdrv_close(struct xsd *d, struct xsd_conn *c);

#endif
