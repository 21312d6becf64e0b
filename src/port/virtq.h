/* Split virtqueue (virtio 1.1 "split ring"), driver side: the rings live
 * in memory we own and share with an untrusted device, so every used entry
 * is read once into a private copy and checked before anything is trusted
 * (README "vhost-user port").  No locking: one thread owns a queue at a
 * time (the vhost-user port's per-pair lock). */
#ifndef STAGENET_PORT_VIRTQ_H
#define STAGENET_PORT_VIRTQ_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A used entry as the driver accepted it.  bad_len: the device claimed
 * more bytes than the buffer holds (the buffer is still ours again). */
struct sn_vq_elem {
	uint16_t id;
	bool bad_len;
	uint32_t len;
};

struct sn_virtq {
	uint16_t num;          /* ring size, a power of two */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;    /* private: next avail slot (published by sn_vq_publish) */
	uint16_t last_used;    /* private: next used slot to read */
	uint16_t inflight;     /* posted and not yet returned */
	uint16_t published;    /* avail index at the last sn_vq_publish */
	/* VIRTIO_RING_F_EVENT_IDX negotiated: notifications are asked for
	 * with the used_event/avail_event indices, never with the flags. */
	bool event_idx;
	uint32_t buf_len;      /* bytes of every descriptor's buffer */
	uint8_t *posted;       /* per descriptor id: 1 while the device owns it */
	/* Device misbehaviour seen, by kind (the owner turns them into drops
	 * or a reset). */
	uint64_t err_jump, err_id, err_len;
};

/* Bytes of ring memory sn_vq_init lays out for num entries (desc, avail,
 * used, each page aligned). */
size_t sn_vq_ring_bytes(uint16_t num);
/* Lay the rings out in mem (zeroed by the caller, sn_vq_ring_bytes long),
 * with descriptor i pointing at buf_gpa + i * buf_len (write-only for the
 * device when device_writes).  posted: num private bytes.  0 or -EINVAL. */
int sn_vq_init(struct sn_virtq *vq, uint16_t num, void *mem, uint8_t *posted,
	       uint64_t buf_gpa, uint32_t buf_len, bool device_writes);

/* Hand descriptor id to the device with this length (not visible until
 * sn_vq_publish).  The caller guarantees id is not posted already. */
static inline void sn_vq_post(struct sn_virtq *vq, uint16_t id, uint32_t len)
{
	vq->desc[id].len = len;
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = id;
	vq->avail_idx++;
	vq->posted[id] = 1;
	vq->inflight++;
}

/* Hand a chain whose descriptors the caller has filled (sn_vq_desc_set)
 * to the device, by its head id. */
static inline void sn_vq_post_head(struct sn_virtq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
	vq->avail_idx++;
	vq->posted[head] = 1;
	vq->inflight++;
}

/* Descriptor id's length, and its successor in a chain (next < 0: the
 * last one).  The address stays the one sn_vq_init gave it. */
static inline void sn_vq_desc_set(struct sn_virtq *vq, uint16_t id, uint32_t len, int next)
{
	vq->desc[id].len = len;
	vq->desc[id].flags = next >= 0 ? VRING_DESC_F_NEXT : 0;
	vq->desc[id].next = next >= 0 ? (uint16_t)next : 0;
}

/* Notifications through the event indices (VIRTIO_RING_F_EVENT_IDX),
 * after sn_vq_init and before the first publish. */
void sn_vq_use_event_idx(struct sn_virtq *vq);

/* Make posted entries visible; true when the device asked to be kicked
 * (VRING_USED_F_NO_NOTIFY clear, or with event indices: its avail_event
 * lies among the entries this publish added). */
bool sn_vq_publish(struct sn_virtq *vq);

/* Take up to max used entries in one pass.  Returns how many were written
 * to out, or -EPROTO when the used index moved further than we have
 * buffers out (an index jump: the ring state is lost, reset the queue).
 * Entries whose id we never posted (or posted and already got back) are
 * skipped and counted in err_id; a length past the buffer is returned
 * with bad_len set and counted in err_len. */
int sn_vq_take_used(struct sn_virtq *vq, struct sn_vq_elem *out, unsigned int max);

/* Used entries the device has published that we have not taken (0 when
 * the index is not sane; sn_vq_take_used reports that). */
unsigned int sn_vq_used_pending(const struct sn_virtq *vq);

/* Device -> driver notifications (VRING_AVAIL_F_NO_INTERRUPT).  Enabling
 * returns true when used entries are already pending, so the caller does
 * not sleep on a notification that will not come. */
bool sn_vq_irq_enable(struct sn_virtq *vq);
void sn_vq_irq_disable(struct sn_virtq *vq);

#endif
