/* In-process stand-in for the emulated domain registry (domain.c), used by
 * the evtchn unit test so event-channel logic is tested without a host. */
#ifndef SN_TEST_EVTCHN_FAKE_DOMAIN_H
#define SN_TEST_EVTCHN_FAKE_DOMAIN_H

#include "plat/emu/emu.h"

/* An sn_plat whose evtchn ops are the real emu ones; sn_plat_close it. */
int fake_domain_open(uint16_t domid, struct sn_plat **out);
struct sn_emu *fake_domain_find(uint16_t domid);

#endif
