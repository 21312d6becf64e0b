/* STUB */
#include <errno.h>
#include "plat/emu/emu.h"
int sn_emu_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs) { (void)p; (void)count; (void)segs; return -ENOSYS; }
int sn_emu_gnt_map(struct sn_plat *p, uint32_t count, const uint16_t *domids, const uint32_t *refs, bool writable, void **addrs, int16_t *status) { (void)p; (void)count; (void)domids; (void)refs; (void)writable; (void)addrs; (void)status; return -ENOSYS; }
int sn_emu_gnt_unmap(struct sn_plat *p, uint32_t count, void *const *addrs, int16_t *status) { (void)p; (void)count; (void)addrs; (void)status; return -ENOSYS; }
