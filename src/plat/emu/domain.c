/* STUB: replaced by the emu-domain work. */
#include <errno.h>
#include "plat/emu/emu.h"
int sn_emu_domain_init(struct sn_emu *e, const struct sn_plat_cfg *cfg) { (void)e; (void)cfg; return -ENOSYS; }
void sn_emu_domain_fini(struct sn_emu *e) { (void)e; }
int sn_emu_publish_fd(struct sn_emu *e, const char *name, int fd) { (void)e; (void)name; (void)fd; return -ENOSYS; }
int sn_emu_peer_get(struct sn_emu *e, uint16_t domid, struct sn_emu_peer **out) { (void)e; (void)domid; (void)out; return -ENOSYS; }
void sn_emu_peer_forget(struct sn_emu *e, uint16_t domid) { (void)e; (void)domid; }
int sn_emu_peer_getfd(struct sn_emu *e, struct sn_emu_peer *peer, const char *name, int *fd) { (void)e; (void)peer; (void)name; (void)fd; return -ENOSYS; }
int sn_emu_peer_dupfd(struct sn_emu_peer *peer, int remote_fd, int *fd) { (void)peer; (void)remote_fd; (void)fd; return -ENOSYS; }
void sn_emu_ptrace_hint(void) {}
