/* STUB */
#include <errno.h>
#include "plat/emu/emu.h"
int sn_emu_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count, bool writable, uint32_t *refs, void **addr) { (void)p; (void)domid; (void)count; (void)writable; (void)refs; (void)addr; return -ENOSYS; }
int sn_emu_shr_free(struct sn_plat *p, void *addr, uint32_t count) { (void)p; (void)addr; (void)count; return -ENOSYS; }
int sn_emu_shr_grant(struct sn_plat *p, uint16_t domid, const void *page, bool writable, uint32_t *ref) { (void)p; (void)domid; (void)page; (void)writable; (void)ref; return -ENOSYS; }
int sn_emu_shr_revoke(struct sn_plat *p, uint32_t ref) { (void)p; (void)ref; return -ENOSYS; }
