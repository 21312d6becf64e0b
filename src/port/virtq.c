/* Split virtqueue primitives for the driver side (src/port/virtq.h). */
#include <errno.h>
#include <string.h>

#include "port/virtq.h"

#define VQ_ALIGN 4096u

static size_t align_up(size_t v)
{
	return (v + VQ_ALIGN - 1) & ~(size_t)(VQ_ALIGN - 1);
}

static size_t desc_bytes(uint16_t num)
{
	return align_up(sizeof(struct vring_desc) * num);
}

static size_t avail_bytes(uint16_t num)
{
	/* flags, idx, ring[num], used_event */
	return align_up(sizeof(uint16_t) * (3u + num));
}

static size_t used_bytes(uint16_t num)
{
	/* flags, idx, ring[num], avail_event */
	return align_up(4u + sizeof(struct vring_used_elem) * num + 2u);
}

size_t sn_vq_ring_bytes(uint16_t num)
{
	return desc_bytes(num) + avail_bytes(num) + used_bytes(num);
}

int sn_vq_init(struct sn_virtq *vq, uint16_t num, void *mem, uint8_t *posted,
	       uint64_t buf_gpa, uint32_t buf_len, bool device_writes)
{
	uint8_t *m = mem;

	if (!num || (num & (num - 1)) || !mem || !posted)
		return -EINVAL;
	memset(vq, 0, sizeof(*vq));
	vq->num = num;
	vq->desc = (struct vring_desc *)m;
	vq->avail = (struct vring_avail *)(m + desc_bytes(num));
	vq->used = (struct vring_used *)(m + desc_bytes(num) + avail_bytes(num));
	vq->buf_len = buf_len;
	vq->posted = posted;
	memset(posted, 0, num);
	/* Descriptor i always names buffer i, so an id is all the device
	 * needs to give back and all we need to find the buffer: nothing the
	 * device writes in the descriptor table is ever read back. */
	for (uint16_t i = 0; i < num; i++) {
		vq->desc[i].addr = buf_gpa + (uint64_t)i * buf_len;
		vq->desc[i].len = buf_len;
		vq->desc[i].flags = device_writes ? VRING_DESC_F_WRITE : 0;
		vq->desc[i].next = 0;
	}
	return 0;
}

/* The event indices sit past each ring's last entry (virtio 1.1, 2.6.7
 * and 2.6.8): used_event in the avail ring (we write it), avail_event in
 * the used ring (the device writes it; one untrusted 16-bit value, any of
 * which is harmless: it only decides whether we kick). */
static uint16_t *used_event(struct sn_virtq *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event(struct sn_virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

void sn_vq_use_event_idx(struct sn_virtq *vq)
{
	vq->event_idx = true;
	/* With event indices the driver must leave the flags at 0 and
	 * the device must ignore them. */
	__atomic_store_n(&vq->avail->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(used_event(vq), vq->last_used, __ATOMIC_RELAXED);
}

bool sn_vq_publish(struct sn_virtq *vq)
{
	uint16_t old = vq->published, now = vq->avail_idx, flags, ev;

	vq->published = now;
	/* Descriptors and ring entries before the index the device polls. */
	__atomic_store_n(&vq->avail->idx, now, __ATOMIC_RELEASE);
	/* The index store must be visible before we read the device's
	 * NO_NOTIFY flag or avail_event, or a device that just went to sleep
	 * is missed. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		flags = __atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED);
		return !(flags & VRING_USED_F_NO_NOTIFY);
	}
	/* Kick when the index the device wants to hear about was crossed
	 * by this publish (vring_need_event in linux/virtio_ring.h). */
	ev = __atomic_load_n(avail_event(vq), __ATOMIC_RELAXED);
	return vring_need_event(ev, now, old);
}

unsigned int sn_vq_used_pending(const struct sn_virtq *vq)
{
	uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->last_used);

	return n <= vq->inflight ? n : 0;
}

int sn_vq_take_used(struct sn_virtq *vq, struct sn_vq_elem *out, unsigned int max)
{
	/* One read of the index: the device may move it again meanwhile, and
	 * entries past this snapshot are not yet ordered after its store. */
	uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(idx - vq->last_used);
	unsigned int got = 0;

	if (pending > vq->inflight) {
		vq->err_jump++;
		return -EPROTO;
	}
	if (pending > max)
		pending = (uint16_t)max;
	for (uint16_t i = 0; i < pending; i++) {
		const struct vring_used_elem *u =
			&vq->used->ring[(uint16_t)(vq->last_used + i) & (vq->num - 1)];
		/* Each field read exactly once into our copy. */
		uint32_t id = __atomic_load_n(&u->id, __ATOMIC_RELAXED);
		uint32_t len = __atomic_load_n(&u->len, __ATOMIC_RELAXED);

		if (id >= vq->num || !vq->posted[id]) {
			vq->err_id++;
			continue;
		}
		vq->posted[id] = 0;
		vq->inflight--;
		out[got].id = (uint16_t)id;
		out[got].len = len;
		out[got].bad_len = len > vq->buf_len;
		if (out[got].bad_len)
			vq->err_len++;
		got++;
	}
	vq->last_used = (uint16_t)(vq->last_used + pending);
	return (int)got;
}

bool sn_vq_irq_enable(struct sn_virtq *vq)
{
	if (vq->event_idx)
		/* Notify at the next used entry. */
		__atomic_store_n(used_event(vq), vq->last_used, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->avail->flags, 0, __ATOMIC_RELAXED);
	/* Flag store before the index load: a device that adds an entry after
	 * our load sees the flag clear and notifies. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED) != vq->last_used;
}

void sn_vq_irq_disable(struct sn_virtq *vq)
{
	if (vq->event_idx)
		/* Half the index space away: the device crosses it only after
		 * 32768 more used entries, by then at most one spurious call. */
		__atomic_store_n(used_event(vq), (uint16_t)(vq->last_used + 0x8000u),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->avail->flags, VRING_AVAIL_F_NO_INTERRUPT,
				 __ATOMIC_RELAXED);
}
