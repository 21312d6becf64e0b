/* An emulated Xen host inside a fuzz harness: the xenstore daemon on its own
 * thread (socket in a private temporary directory, removed at exit) and
 * emulated domains opened against it, all in this process. */
#ifndef SN_FUZZ_EMU_WORLD_H
#define SN_FUZZ_EMU_WORLD_H

#include <stdint.h>

#include "stagenet/plat.h"

/* Start the daemon once; aborts on failure (a harness cannot go on). */
void emu_world_start(void);
/* Open domain domid with ram_pages of RAM; aborts on failure. */
struct sn_plat *emu_world_dom(uint16_t domid, uint32_t ram_pages);
/* All domains are open: remove the socket and its directory now (clients
 * keep their connections), so even a harness that dies leaves no trace. */
void emu_world_seal(void);
/* Whether a grant of the domain p (an emu platform) is pinned by a peer. */
int emu_world_pinned(struct sn_plat *p, uint32_t ref);

#endif
