/* libFuzzer harness: the vhost-user port's used-ring parser
 * (sn_vq_take_used, src/port/virtq.c) against a hostile device.
 * Input = u8 ring size log2, u8 how many descriptors we post, then rounds
 * of { u16 used idx, u8 burst, 8 x used entry (id u32, len u32) written
 * from the device's current position }.  Invariants: an id comes back
 * only while posted and only once, never more entries than posted, a
 * length past the buffer is always flagged, and an index that runs past
 * what we posted is refused without consuming anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NUM 256u
#define BUF_LEN 2048u

static _Alignas(4096) uint8_t ring_mem[3 * 4096 + 16 * MAX_NUM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t posted[MAX_NUM], mine[MAX_NUM];
	struct sn_vq_elem out[MAX_NUM];
	struct sn_virtq vq;
	uint16_t num, nposted, dev_pos;

	if (size < 2)
		return -1;
	num = (uint16_t)(1u << ((data[0] & 0x7f) % 9));  /* 1..256 */
	nposted = (uint16_t)(data[1] % (num + 1));
	data += 2;
	size -= 2;
	if (sn_vq_ring_bytes(num) > sizeof(ring_mem))
		abort();
	memset(ring_mem, 0, sizeof(ring_mem));
	if (sn_vq_init(&vq, num, ring_mem, posted, 0, BUF_LEN, true))
		abort();
	/* The top bit: notifications through the event indices. */
	if (data[-2] & 0x80)
		sn_vq_use_event_idx(&vq);
	memset(mine, 0, sizeof(mine));
	for (uint16_t i = 0; i < nposted; i++) {
		sn_vq_post(&vq, i, BUF_LEN);
		mine[i] = 1;
	}
	(void)sn_vq_publish(&vq);
	dev_pos = 0;
	while (size >= 3 + 8 * 8) {
		uint16_t idx, before_last = vq.last_used, before_inflight = vq.inflight;
		unsigned int burst = data[2] % (MAX_NUM + 1);
		int n;

		memcpy(&idx, data, 2);
		for (unsigned int k = 0; k < 8; k++) {
			struct vring_used_elem *u = &vq.used->ring[(uint16_t)(dev_pos + k) & (num - 1)];

			memcpy(&u->id, data + 3 + 8 * k, 4);
			memcpy(&u->len, data + 3 + 8 * k + 4, 4);
		}
		dev_pos = (uint16_t)(dev_pos + 8);
		vq.used->idx = idx;
		/* avail_event, past the last used entry: any value only
		 * decides whether the next publish asks for a kick. */
		memcpy(&vq.used->ring[num], data + 1, 2);
		data += 3 + 8 * 8;
		size -= 3 + 8 * 8;

		n = sn_vq_take_used(&vq, out, burst);
		if (n == -EPROTO) {
			if (vq.last_used != before_last || vq.inflight != before_inflight)
				abort(); /* a refused index consumed something */
			continue;
		}
		if (n < 0 || (unsigned int)n > burst || n > before_inflight)
			abort();
		for (int i = 0; i < n; i++) {
			if (out[i].id >= num || !mine[out[i].id])
				abort(); /* never posted, or returned twice */
			mine[out[i].id] = 0;
			if (out[i].bad_len != (out[i].len > BUF_LEN))
				abort();
		}
		if (vq.inflight != before_inflight - n)
			abort();
		/* Give some back, as the port does. */
		for (int i = 0; i < n; i += 2) {
			sn_vq_post(&vq, out[i].id, BUF_LEN);
			mine[out[i].id] = 1;
		}
		(void)sn_vq_publish(&vq);
	}
	return 0;
}
