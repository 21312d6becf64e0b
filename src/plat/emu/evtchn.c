/* STUB */
#include <errno.h>
#include "plat/emu/emu.h"
int sn_emu_evtchn_init(struct sn_emu *e) { e->evt_fd = -1; return 0; }
void sn_emu_evtchn_fini(struct sn_emu *e) { (void)e; }
int sn_emu_evt_open(struct sn_plat *p, struct sn_evtchn **out) { (void)p; (void)out; return -ENOSYS; }
void sn_emu_evt_close(struct sn_evtchn *h) { (void)h; }
int sn_emu_evt_fd(struct sn_evtchn *h) { (void)h; return -ENOSYS; }
int sn_emu_evt_alloc_unbound(struct sn_evtchn *h, uint16_t remote_domid) { (void)h; (void)remote_domid; return -ENOSYS; }
int sn_emu_evt_bind_interdomain(struct sn_evtchn *h, uint16_t remote_domid, sn_port_t remote_port) { (void)h; (void)remote_domid; (void)remote_port; return -ENOSYS; }
int sn_emu_evt_notify(struct sn_evtchn *h, sn_port_t port) { (void)h; (void)port; return -ENOSYS; }
int sn_emu_evt_pending(struct sn_evtchn *h) { (void)h; return -ENOSYS; }
int sn_emu_evt_unmask(struct sn_evtchn *h, sn_port_t port) { (void)h; (void)port; return -ENOSYS; }
int sn_emu_evt_unbind(struct sn_evtchn *h, sn_port_t port) { (void)h; (void)port; return -ENOSYS; }
