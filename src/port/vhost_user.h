/* vhost-user front-end messages (QEMU docs/interop/vhost-user.rst) as the
 * `vhost-user` port sends them, shared with the crafted back-end of the
 * tests (tests/common/peer_vhost.c): little-endian x86 layout, packed. */
#ifndef STAGENET_PORT_VHOST_USER_H
#define STAGENET_PORT_VHOST_USER_H

#include <stdint.h>

enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
};

#define VU_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_F_PROTOCOL_FEATURES 30      /* feature bit */
#define VU_PROTOCOL_F_MQ 0             /* protocol feature bit */
#define VU_VRING_NOFD (1ull << 8)      /* in a KICK/CALL u64: no fd attached */
#define VU_MAX_REGIONS 8

struct vu_region {
	uint64_t gpa, size, uva, mmap_offset;
} __attribute__((packed));

struct vu_msg_hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

union vu_payload {
	uint64_t u64;
	struct {
		uint32_t index, num;
	} __attribute__((packed)) state;
	struct {
		uint32_t index, flags;
		uint64_t desc, used, avail, log;
	} __attribute__((packed)) addr;
	struct {
		uint32_t nregions, padding;
		struct vu_region r[VU_MAX_REGIONS];
	} __attribute__((packed)) mem;
};

#endif
