/* Guest RX (backend -> frontend): packets from the port wait in a backlog
 * bounded in packets and bytes, then are grant-copied, one copy call per
 * batch, into the buffers the frontend posted; response i goes in ring slot
 * i with the request's id.  A head packet that cannot be placed for
 * rx_drain_ms is dropped (XSA-392: a frontend cannot pin our memory). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "back/common.h"
#include "port/csum.h"
#include "port/segment.h"
#include "proto/extra.h"
#include "proto/offload.h"
#include "proto/slots.h"

#define RX_MAX_SEGS (SN_BACK_RX_BATCH * SN_BACK_RX_MAX_DATA_SLOTS)
/* Ports without an fd that produced nothing are retried with a backoff
 * up to this (a rate-limited generator, or a sink that never produces). */
#define RX_IDLE_RETRY_MAX_MS 64
/* Without feature-rx-notify the frontend never kicks us for new buffers:
 * poll for them (Linux netback polls every 30 ms). */
#define RX_NO_NOTIFY_POLL_MS 30
#define RX_SCRATCH 8
/* Packets one queue can hold that other queues steered to it. */
#define RX_MBOX_PKTS 64u

/* The largest packet behind the largest headroom still fits the placement
 * arrays. */
_Static_assert((SN_BACK_XDP_HEADROOM_MAX + SN_PKT_MAX_LEN + SN_PAGE_SIZE - 1) /
	       SN_PAGE_SIZE <= SN_BACK_RX_MAX_DATA_SLOTS, "rx slots with headroom");

#define RX_SEG_BATCH SN_BACK_RX_BATCH

#define SEG_STAGED (-1)
#define SEG_REFUSED (-2)

/* Where one placed packet's responses go. */
struct rx_placed {
	struct sn_pkt *pkt; /* in the backlog, or a segment in segq */
	bool from_bl;       /* a backlog entry: its bytes leave the cap at flush */
	RING_IDX first_idx; /* ring index of its first slot */
	uint16_t nslots;    /* data slots */
	uint16_t off0;      /* where the first slot's data starts (headroom) */
	bool gso;           /* a GSO extra follows the first slot */
	bool hash;          /* a HASH extra follows (after the GSO one) */
	uint16_t id[SN_BACK_RX_MAX_DATA_SLOTS];
	uint16_t len[SN_BACK_RX_MAX_DATA_SLOTS];
	/* copy segment, or SEG_STAGED, or SEG_REFUSED (a ring gref) */
	int16_t seg[SN_BACK_RX_MAX_DATA_SLOTS];
	/* Staged slots: the entry, held (in flight) from placement until the
	 * batch is flushed; NULL for a grant-copied slot. */
	struct sn_gref_ent *ent[SN_BACK_RX_MAX_DATA_SLOTS];
};

/* Packets another queue of the vif steered to this one by the frontend's
 * hash mapping (ctrl.c / hash.c).  Written by the other queues' threads,
 * drained by ours; the lock protects everything but `count`, which the
 * owner reads without it to decide whether to sleep. */
struct rx_mailbox {
	pthread_mutex_t lock;
	struct sn_pkt *pkts;
	uint8_t *bufs;
	uint32_t cap, head, tail;
	_Atomic uint32_t count;
};

struct sn_back_rxstate {
	struct rx_mailbox mbox;
	/* Backlog: a ring of packets with buffers, head..tail. */
	struct sn_pkt *bl;
	uint8_t *bufs;
	uint32_t cap_pkts;
	uint64_t cap_bytes;
	uint32_t head, tail; /* free-running */
	uint64_t bytes;
	struct sn_pkt *recvv[SN_BACK_RX_BATCH];

	struct sn_pkt scratch[RX_SCRATCH];
	struct sn_pkt *scratchv[RX_SCRATCH];
	uint8_t *scratch_buf;

	sn_copy_seg seg[RX_MAX_SEGS];
	unsigned int nseg;
	struct rx_placed placed[SN_BACK_RX_BATCH];
	unsigned int nplaced;

	/* Software offload fallback: the backlog head is a GSO packet this
	 * frontend did not negotiate; its segments are made RX_SEG_BATCH at
	 * a time into segq (refilled only once the batch placing the last
	 * ones is flushed) and go out before the next backlog packet. */
	struct sn_gso_iter gso;
	bool gso_active;
	struct sn_pkt segq[RX_SEG_BATCH];
	uint8_t *seg_bufs;
	uint32_t seg_head, seg_n;

	bool port_eof;
	/* The port's next frame did not fit the last recv_budget: polling
	 * its fd would only wake us for it again. */
	bool port_held;
	/* The vif's xdp_headroom, read once per pass: what one pass places
	 * must agree with the slot count it checked. */
	uint16_t headroom;
	int idle_retry_ms;
	uint64_t head_wait_since; /* 0 = head not waiting */
	unsigned int head_need;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sn_back_rx_init(struct sn_back_queue *q)
{
	const struct sn_back_cfg *cfg = &q->vif->back->cfg;
	struct sn_back_rxstate *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cap_pkts = cfg->rx_queue_pkts ? cfg->rx_queue_pkts : 64;
	s->cap_bytes = cfg->rx_queue_bytes ? cfg->rx_queue_bytes : 1u << 20;
	s->bl = calloc(s->cap_pkts, sizeof(*s->bl));
	/* Lazily backed: untouched buffer pages cost nothing. */
	s->bufs = calloc(s->cap_pkts, SN_BACK_PKT_STRIDE);
	s->scratch_buf = calloc(RX_SCRATCH, SN_PKT_BUF_SIZE);
	/* Lazily backed too: touched only when a port sends what the
	 * frontend did not negotiate. */
	s->seg_bufs = calloc(RX_SEG_BATCH, SN_PKT_BUF_SIZE);
	if (!s->bl || !s->bufs || !s->scratch_buf || !s->seg_bufs) {
		free(s->seg_bufs);
		free(s->bl);
		free(s->bufs);
		free(s->scratch_buf);
		free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->cap_pkts; i++) {
		s->bl[i].data = s->bufs + (size_t)i * SN_BACK_PKT_STRIDE;
		s->bl[i].cap = SN_PKT_BUF_SIZE;
	}
	for (unsigned int i = 0; i < RX_SEG_BATCH; i++) {
		s->segq[i].data = s->seg_bufs + (size_t)i * SN_PKT_BUF_SIZE;
		s->segq[i].cap = SN_PKT_BUF_SIZE;
	}
	for (unsigned int i = 0; i < RX_SCRATCH; i++) {
		s->scratch[i].data = s->scratch_buf + (size_t)i * SN_PKT_BUF_SIZE;
		s->scratch[i].cap = SN_PKT_BUF_SIZE;
		s->scratchv[i] = &s->scratch[i];
	}
	s->idle_retry_ms = 1;
	/* The mailbox only fills when the frontend's hash mapping sends
	 * packets across queues; lazily backed like the backlog. */
	s->mbox.cap = RX_MBOX_PKTS;
	s->mbox.pkts = calloc(s->mbox.cap, sizeof(*s->mbox.pkts));
	s->mbox.bufs = calloc(s->mbox.cap, SN_PKT_BUF_SIZE);
	if (!s->mbox.pkts || !s->mbox.bufs ||
	    pthread_mutex_init(&s->mbox.lock, NULL)) {
		free(s->mbox.pkts);
		free(s->mbox.bufs);
		free(s->seg_bufs);
		free(s->bl);
		free(s->bufs);
		free(s->scratch_buf);
		free(s);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->mbox.cap; i++)
		s->mbox.pkts[i].data = s->mbox.bufs + (size_t)i * SN_PKT_BUF_SIZE;
	q->rxs = s;
	return 0;
}

void sn_back_rx_fini(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;

	if (!s)
		return;
	pthread_mutex_destroy(&s->mbox.lock);
	free(s->mbox.pkts);
	free(s->mbox.bufs);
	free(s->seg_bufs);
	free(s->bl);
	free(s->bufs);
	free(s->scratch_buf);
	free(s);
	q->rxs = NULL;
}

static inline struct sn_pkt *bl_at(struct sn_back_rxstate *s, uint32_t i)
{
	return &s->bl[i % s->cap_pkts];
}

static void bl_pop(struct sn_back_rxstate *s)
{
	s->bytes -= bl_at(s, s->head)->len;
	s->head++;
	s->head_wait_since = 0;
}

/* Multicast filter (request-multicast-control): a multicast frame whose
 * address the frontend did not ask for is not delivered. */
static bool mcast_filtered(struct sn_back_queue *q, const struct sn_pkt *pkt)
{
	struct sn_back_vif *v = q->vif;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	bool hit = false;

	if (!atomic_load_explicit(&v->mcast_on, memory_order_relaxed) ||
	    pkt->len < 6 || !(pkt->data[0] & 1) || !memcmp(pkt->data, bcast, 6))
		return false;
	pthread_mutex_lock(&v->mcast_lock);
	hit = v->mcast_all;
	for (unsigned int i = 0; i < v->n_mcast && !hit; i++)
		hit = !memcmp(v->mcast[i], pkt->data, 6);
	pthread_mutex_unlock(&v->mcast_lock);
	return !hit;
}

static void pkt_copy(struct sn_pkt *dst, const struct sn_pkt *src)
{
	uint8_t *data = dst->data;

	*dst = *src;
	dst->data = data;
	dst->cap = SN_PKT_BUF_SIZE;
	memcpy(dst->data, src->data, src->len);
}

/* The frontend's hash configuration (control ring): attach the hash it
 * asked for and pick the queue its mapping names.  Returns that queue, or
 * -1 to keep the packet where it is.  Hashes a port may have supplied are
 * not the frontend's Toeplitz: never passed on. */
static int rx_hash(struct sn_back_queue *q, struct sn_pkt *p)
{
	struct sn_back_vif *v = q->vif;
	uint32_t hash;
	int type, tq;

	p->flags &= (uint16_t)~SN_PKT_HASH;
	if (!v->hash_init)
		return -1;
	tq = sn_back_hash_queue(&v->hash, p->data, p->len, v->nq, &hash, &type);
	if (tq < 0)
		return -1;
	if (type >= 0) {
		p->flags |= SN_PKT_HASH;
		p->hash = hash;
		p->hash_type = (uint8_t)type;
	}
	return tq;
}

/* Hand a packet to queue t of the same vif (copied: buffers stay with
 * their queue); wake its thread.  False when its mailbox is full. */
static bool rx_steer(struct sn_back_queue *q, struct sn_back_queue *t,
		     const struct sn_pkt *p)
{
	struct rx_mailbox *m = &t->rxs->mbox;
	uint64_t one = 1;
	bool ok = false;

	pthread_mutex_lock(&m->lock);
	if (m->tail - m->head < m->cap) {
		pkt_copy(&m->pkts[m->tail % m->cap], p);
		m->tail++;
		atomic_store(&m->count, m->tail - m->head);
		ok = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (!ok) {
		sn_back_count(q, SN_QS_rx_drop_queue_full, 1);
		return false;
	}
	if (write(t->kick_fd, &one, sizeof(one)) < 0)
		one = 1; /* already kicked: the counter is non-zero */
	return true;
}

/* Move steered packets from our mailbox into the backlog, as room
 * allows. */
static void rx_take_mailbox(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;
	struct rx_mailbox *m = &s->mbox;

	if (!atomic_load_explicit(&m->count, memory_order_relaxed))
		return;
	pthread_mutex_lock(&m->lock);
	while (m->head != m->tail && s->tail - s->head < s->cap_pkts &&
	       s->bytes < s->cap_bytes) {
		struct sn_pkt *p = &m->pkts[m->head % m->cap];

		pkt_copy(bl_at(s, s->tail), p);
		s->bytes += p->len;
		s->tail++;
		m->head++;
	}
	atomic_store(&m->count, m->tail - m->head);
	pthread_mutex_unlock(&m->lock);
}

/* Pull packets from the port into the backlog.  Returns packets taken. */
static int rx_fill(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;
	uint32_t used, room, n, i;
	int r, fd;

	rx_take_mailbox(q);
	used = s->tail - s->head;
	if (s->port_eof)
		return 0;
	room = s->cap_pkts - used;
	if (!room || s->bytes >= s->cap_bytes) {
		/* Full.  A port with an fd (tap, pcap) is the network side
		 * that cannot be back-pressured: take and drop, counted, as
		 * Linux netback's start_xmit does.  A generator, or a port
		 * whose input can wait (recv_budget), simply waits. */
		fd = q->port->ops->fd(q->port);
		if (fd < 0 || q->port->ops->recv_budget)
			return 0;
		r = q->port->ops->recv(q->port, s->scratchv, RX_SCRATCH);
		if (r > 0)
			sn_back_count(q, SN_QS_rx_drop_queue_full, (uint64_t)r);
		else if (r == -ENODATA)
			s->port_eof = true;
		return 0;
	}
	/* Contiguous entries only, so recvv maps onto the ring directly. */
	n = room;
	if (n > SN_BACK_RX_BATCH)
		n = SN_BACK_RX_BATCH;
	if (n > s->cap_pkts - s->tail % s->cap_pkts)
		n = s->cap_pkts - s->tail % s->cap_pkts;
	for (i = 0; i < n; i++) {
		struct sn_pkt *p = bl_at(s, s->tail + i);

		p->cap = SN_PKT_BUF_SIZE;
		p->len = 0;
		p->flags = 0;
		p->csum_start = p->csum_offset = 0;
		s->recvv[i] = p;
	}
	if (q->port->ops->recv_budget) {
		/* A port whose input can wait is asked for no more than the
		 * byte cap accepts below (any one frame into an empty
		 * backlog), so none of its burst is dropped. */
		uint64_t max_bytes = s->cap_bytes - s->bytes;

		if (s->tail == s->head && max_bytes < SN_PKT_MAX_LEN) {
			n = 1;
			max_bytes = SN_PKT_MAX_LEN;
		}
		r = q->port->ops->recv_budget(q->port, s->recvv, n, max_bytes);
		s->port_held = r == -ENOBUFS;
	} else {
		r = q->port->ops->recv(q->port, s->recvv, n);
	}
	if (r == -ENODATA) {
		s->port_eof = true;
		return 0;
	}
	if (r <= 0)
		return 0;
	if ((uint32_t)r > n)
		r = (int)n;
	/* Accept in order; once the byte cap is reached the rest of this
	 * burst is dropped (entries stay contiguous). */
	for (i = 0; i < (uint32_t)r; i++) {
		struct sn_pkt *p = s->recvv[i];

		if (s->bytes + p->len > s->cap_bytes && s->tail != s->head) {
			sn_back_count(q, SN_QS_rx_drop_queue_full, (uint32_t)r - i);
			break;
		}
		bool oversize = p->len > SN_PKT_MAX_LEN || p->len > p->cap;
		bool filtered = !oversize && mcast_filtered(q, p);
		bool bad = oversize || filtered;
		int tq = bad ? -1 : rx_hash(q, p);

		if (bad || (tq >= 0 && (unsigned int)tq != q->id)) {
			/* Dropped, or steered to the queue the frontend's
			 * mapping names: shift the rest down to keep the
			 * backlog dense. */
			if (bad)
				sn_back_count(q, filtered ? SN_QS_rx_drop_mcast :
							    SN_QS_rx_drop_port, 1);
			else
				rx_steer(q, &q->vif->q[tq], p);
			for (uint32_t j = i + 1; j < (uint32_t)r; j++) {
				struct sn_pkt tmp = *s->recvv[j - 1];

				*s->recvv[j - 1] = *s->recvv[j];
				*s->recvv[j] = tmp;
			}
			r--;
			i--;
			continue;
		}
		s->bytes += p->len;
		s->tail++;
	}
	return r;
}

static void add_seg(struct sn_back_queue *q, const uint8_t *src, uint32_t gref,
		    uint16_t dst_off, uint16_t len)
{
	struct sn_back_rxstate *s = q->rxs;
	sn_copy_seg *g = &s->seg[s->nseg++];

	memset(g, 0, sizeof(*g));
	g->source.virt = (void *)src;
	g->dest.foreign.ref = gref;
	g->dest.foreign.offset = dst_off;
	g->dest.foreign.domid = q->fe_domid;
	g->len = len;
	g->flags = GNTCOPY_dest_gref;
}

/* Can the frontend ever take this packet, given what it negotiated? */
static bool rx_deliverable(struct sn_back_queue *q, const struct sn_pkt *pkt)
{
	const struct sn_back_features *f = &q->vif->feat;

	if (!pkt->len)
		return false;
	if (pkt->len > SN_PAGE_SIZE - q->rxs->headroom && !f->sg)
		return false;
	if (pkt->flags & SN_PKT_GSO) {
		struct netif_extra_info x;

		if (!sn_offload_gso_allowed(pkt->gso_type, f->gso_tcpv4, f->gso_tcpv6))
			return false;
		/* Metadata the extra cannot express (MSS 0, unknown type) is
		 * refused here, before any ring slot is promised to it. */
		if (sn_extra_gso_encode(&x, pkt->gso_size, pkt->gso_type))
			return false;
	}
	if (pkt->flags & SN_PKT_HASH) {
		struct netif_extra_info x;

		if (sn_extra_hash_encode(&x, pkt->hash_type, pkt->hash))
			return false;
	}
	return true;
}

static unsigned int rx_need(const struct sn_back_rxstate *s,
			    const struct sn_pkt *pkt)
{
	return sn_rx_slots_needed_at(pkt->len, s->headroom,
				     pkt->flags & SN_PKT_GSO,
				     pkt->flags & SN_PKT_HASH);
}

/* Consume the requests for the head packet and plan its copies. */
static void rx_place(struct sn_back_queue *q, struct sn_pkt *pkt)
{
	struct sn_back_rxstate *s = q->rxs;
	struct rx_placed *pl = &s->placed[s->nplaced++];
	uint32_t off = 0;
	unsigned int k = 0;

	pl->pkt = pkt;
	pl->from_bl = !s->seg_n;
	pl->off0 = s->headroom;
	pl->first_idx = q->rx.req_cons;
	pl->gso = pkt->flags & SN_PKT_GSO;
	pl->hash = pkt->flags & SN_PKT_HASH;
	do {
		struct netif_rx_request req;
		uint16_t at = k ? 0 : pl->off0;
		uint16_t room = (uint16_t)(SN_PAGE_SIZE - at);
		uint16_t len = (uint16_t)(pkt->len - off > room ?
						  room : pkt->len - off);
		struct sn_gref_ent *staged;

		sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &req);
		pl->id[k] = req.id;
		pl->len[k] = len;
		/* Only a writable staged entry fits RX; a read-only one
		 * takes the grant-copy path below. */
		staged = sn_back_staged_get(q->grefs, req.gref, true);
		/* The padding is read only after agreement (proto/ring.h). */
		if (q->vif->feat.persist)
			staged = sn_back_persist_slot(q, staged, req.gref,
						      req.pad & SN_NETRXF_persist,
						      true);
		pl->ent[k] = staged;
		if (staged) {
			/* Copied in rx_flush, with the rest of the batch: the
			 * frontend's core read this line last, and asking for
			 * it now overlaps the batch's misses. */
			sn_prefetch_w_range(q->prefetchw, (uint8_t *)staged->addr + at, len);
			sn_back_count(q, SN_QS_memcpy_bytes, len);
			sn_back_count(q, SN_QS_staged_slots, 1);
			pl->seg[k] = SEG_STAGED;
		} else if (sn_back_ring_gref(&q->vif->rings, req.gref)) {
			/* Packet bytes over the vif's own ring slots: never
			 * written; the packet fails like a refused grant
			 * (NETIF_RSP_ERROR, rx_drop_grant). */
			pl->seg[k] = SEG_REFUSED;
		} else {
			sn_back_count(q, SN_QS_unstaged_slots, 1);
			pl->seg[k] = (int16_t)s->nseg;
			add_seg(q, pkt->data + off, req.gref, at, len);
		}
		off += len;
		k++;
		/* The extras take the requests right after the first: GSO,
		 * then HASH. */
		if (k == 1 && pl->gso)
			q->rx.req_cons++;
		if (k == 1 && pl->hash)
			q->rx.req_cons++;
	} while (off < pkt->len);
	pl->nslots = (uint16_t)k;
	if (s->seg_n) {
		s->seg_head++;
		s->seg_n--;
	} else {
		s->head++;
	}
}

static void rx_put(struct sn_back_queue *q, uint16_t id, uint16_t offset,
		   uint16_t flags, int16_t status)
{
	struct netif_rx_response rsp = {
		.id = id, .offset = offset, .flags = flags, .status = status,
	};

	sn_rx_back_put_rsp(&q->rx, &rsp);
}

/* The batch's staged slots: every memcpy first, then every reference
 * dropped.  Dropping one is a locked RMW, a full barrier that waits for
 * the stores before it: one per slot right after its memcpy would stall on
 * each write to the frontend's page (a cache line the frontend just read),
 * while one run of drops waits for all of the batch's writes at once. */
static void rx_staged_copy(struct rx_placed *pl, const struct sn_pkt *pkt)
{
	uint32_t off = 0;

	for (unsigned int k = 0; k < pl->nslots; k++) {
		if (pl->ent[k])
			memcpy((uint8_t *)pl->ent[k]->addr + (k ? 0 : pl->off0),
			       pkt->data + off, pl->len[k]);
		off += pl->len[k];
	}
}

static void rx_staged_release(struct rx_placed *pl)
{
	for (unsigned int k = 0; k < pl->nslots; k++)
		if (pl->ent[k])
			sn_gref_table_put(pl->ent[k]);
}

/* One copy call for the batch, then the responses in ring order. */
static void rx_flush(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;
	unsigned int i, k;
	int rc = 0;

	if (!s->nplaced)
		return;
	for (i = 0; i < s->nplaced; i++)
		rx_staged_copy(&s->placed[i], s->placed[i].pkt);
	if (s->nseg) {
		rc = q->plat->ops->gnt_copy(q->plat, s->nseg, s->seg);
		sn_back_count(q, SN_QS_grant_copies, s->nseg);
		sn_back_count(q, SN_QS_grant_copy_batches, 1);
	}
	for (i = 0; i < s->nplaced; i++) {
		struct rx_placed *pl = &s->placed[i];
		struct sn_pkt *pkt = pl->pkt;
		bool ok = !rc;
		uint16_t flags;

		for (k = 0; k < pl->nslots && ok; k++)
			ok = pl->seg[k] == SEG_STAGED ||
			     (pl->seg[k] >= 0 &&
			      s->seg[pl->seg[k]].status == GNTST_okay);
		flags = sn_offload_to_rxflags(pkt->flags);
		for (k = 0; k < pl->nslots; k++) {
			uint16_t f = k == 0 ? flags : 0;
			int16_t st = ok ? (int16_t)pl->len[k] : NETIF_RSP_ERROR;

			if (k + 1 < pl->nslots)
				f |= NETRXF_more_data;
			if (k == 0 && (pl->gso || pl->hash))
				f |= NETRXF_extra_info;
			rx_put(q, pl->id[k], k ? 0 : pl->off0, f, st);
			if (k == 0 && pl->gso) {
				/* Zeroed so no private stack byte can reach the
				 * guest even if an encoder left a field (XSA-216). */
				struct netif_extra_info x = { 0 };

				sn_extra_gso_encode(&x, pkt->gso_size, pkt->gso_type);
				sn_extra_set_more(&x, pl->hash);
				sn_rx_back_write_slot(&q->rx, q->rx.rsp_prod_pvt++,
						      &x, sizeof(x));
			}
			if (k == 0 && pl->hash) {
				struct netif_extra_info x = { 0 };

				sn_extra_hash_encode(&x, pkt->hash_type, pkt->hash);
				sn_extra_set_more(&x, false);
				sn_rx_back_write_slot(&q->rx, q->rx.rsp_prod_pvt++,
						      &x, sizeof(x));
			}
		}
		if (ok) {
			sn_back_count(q, SN_QS_rx_pkts, 1);
			sn_back_count(q, SN_QS_rx_bytes, pkt->len);
		} else {
			sn_back_count(q, SN_QS_rx_drop_grant, 1);
		}
		if (pl->from_bl)
			s->bytes -= pkt->len;
	}
	/* Before the push: once the frontend sees a response it may DEL
	 * that gref, which must not find it still in flight. */
	for (i = 0; i < s->nplaced; i++)
		rx_staged_release(&s->placed[i]);
	sn_back_persist_flush(q);
	s->nplaced = 0;
	s->nseg = 0;
	if (sn_rx_back_push(&q->rx))
		sn_back_notify(q, q->rx_port);
}

unsigned int sn_back_rx_caps(const struct sn_back_features *f)
{
	unsigned int caps = 0;

	/* IPv4 csum_blank is implied by netif unless the frontend refused
	 * checksum offload altogether; IPv6 needs its own key; GSO of
	 * either kind travels as csum_blank, so it needs both. */
	if (!f->no_csum) {
		caps |= SN_OFFLOAD_CSUM4;
		if (f->ipv6_csum)
			caps |= SN_OFFLOAD_CSUM6;
	}
	if (f->gso_tcpv4)
		caps |= SN_OFFLOAD_TSO4;
	if (f->gso_tcpv6)
		caps |= SN_OFFLOAD_TSO6;
	if (f->sg)
		caps |= SN_OFFLOAD_SG;
	return caps;
}

/* Without SG a frame is one slot, and the first slot's data starts after
 * the frontend's XDP headroom. */
static uint32_t rx_max_frame(const struct sn_back_rxstate *s, const struct sn_back_features *f)
{
	return f->sg ? SN_PKT_MAX_LEN : SN_PAGE_SIZE - s->headroom;
}

static void rx_head_pop(struct sn_back_rxstate *s)
{
	if (s->seg_n) {
		s->seg_head++;
		s->seg_n--;
	} else {
		bl_pop(s);
	}
}

/* Next batch of segments of the backlog head; the head leaves the
 * backlog once its last segment is made (segments are copies). */
static void rx_seg_refill(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;
	int r = 0;

	s->seg_head = 0;
	s->seg_n = 0;
	while (s->seg_n < RX_SEG_BATCH &&
	       (r = sn_gso_next(&s->gso, &s->segq[s->seg_n])) == 1)
		s->seg_n++;
	if (r != 1) {
		if (r < 0)
			sn_back_count(q, SN_QS_rx_drop_port, 1);
		s->gso_active = false;
		bl_pop(s);
	}
}

/* The packet to place next, made to fit what this frontend negotiated:
 * checksum finished or GSO segmented in software (port/segment.h) when
 * the port handed us more than it was told to (set_offloads).  NULL when
 * nothing is waiting.  May flush placed packets before reusing segq. */
static struct sn_pkt *rx_head(struct sn_back_queue *q)
{
	struct sn_back_rxstate *s = q->rxs;
	const struct sn_back_features *f = &q->vif->feat;
	unsigned int caps = sn_back_rx_caps(f);

	for (;;) {
		struct sn_pkt *pkt;

		if (s->seg_n)
			return &s->segq[s->seg_head];
		if (s->gso_active) {
			if (s->nplaced)
				rx_flush(q);
			rx_seg_refill(q);
			continue;
		}
		if (s->head == s->tail)
			return NULL;
		pkt = bl_at(s, s->head);
		switch (sn_offload_fit(pkt, caps, rx_max_frame(s, f))) {
		case SN_FIT_OK:
			return pkt;
		case SN_FIT_CSUM:
			/* A sum that cannot be finished (headers not
			 * found) goes as it is, as Linux's stack sends
			 * what skb_checksum_help refuses. */
			if (sn_pkt_csum_finish(pkt))
				pkt->flags &= (uint16_t)~SN_PKT_CSUM_PARTIAL;
			return pkt;
		case SN_FIT_TOO_BIG:
			/* A non-GSO frame over one page for a frontend
			 * without SG: nothing can make it fit. */
			sn_back_count(q, SN_QS_rx_drop_port, 1);
			bl_pop(s);
			continue;
		case SN_FIT_SEGMENT:
			if (s->nplaced)
				rx_flush(q);
			if (sn_gso_begin(&s->gso, pkt, rx_max_frame(s, f),
					 sn_offload_csum_ok(pkt, caps))) {
				sn_back_count(q, SN_QS_rx_drop_port, 1);
				bl_pop(s);
				continue;
			}
			s->gso_active = true;
			continue;
		}
	}
}

int sn_back_rx_action(struct sn_back_queue *q, unsigned int budget)
{
	struct sn_back_rxstate *s = q->rxs;
	unsigned int done = 0, avail, need;
	RING_IDX prod;
	int filled;

	s->headroom = atomic_load_explicit(&q->vif->xdp_headroom,
					   memory_order_relaxed);
	filled = rx_fill(q);
	if (filled > 0)
		s->idle_retry_ms = 1;
	prod = sn_rx_back_req_prod(&q->rx);
	while (done < budget) {
		struct sn_pkt *pkt = rx_head(q);

		if (!pkt)
			break;
		if (!rx_deliverable(q, pkt)) {
			sn_back_count(q, SN_QS_rx_drop_port, 1);
			rx_head_pop(s);
			done++;
			continue;
		}
		need = rx_need(s, pkt);
		avail = sn_rx_back_unconsumed(&q->rx, prod);
		if (avail < need) {
			prod = sn_rx_back_req_prod(&q->rx);
			avail = sn_rx_back_unconsumed(&q->rx, prod);
		}
		if (avail < need) {
			uint64_t now = now_ns();
			uint64_t limit = (uint64_t)(q->vif->back->cfg.rx_drain_ms ?
						    q->vif->back->cfg.rx_drain_ms :
						    500) * 1000000u;

			if (s->nplaced)
				break; /* flush first; frees nothing but keeps order */
			if (!s->head_wait_since) {
				s->head_wait_since = now;
				s->head_need = need;
				break;
			}
			if (now - s->head_wait_since < limit)
				break;
			/* Stalled past the drain time: drop the head. */
			sn_back_count(q, SN_QS_rx_drop_no_slots, 1);
			rx_head_pop(s);
			done++;
			continue;
		}
		s->head_wait_since = 0;
		if (s->nplaced == SN_BACK_RX_BATCH ||
		    s->nseg + SN_BACK_RX_MAX_DATA_SLOTS > RX_MAX_SEGS)
			rx_flush(q);
		rx_place(q, pkt);
		done++;
	}
	rx_flush(q);
	return (int)done + (filled > 0 ? filled : 0);
}

bool sn_back_rx_rearm(struct sn_back_queue *q, int *timeout_ms, int *port_fd)
{
	struct sn_back_rxstate *s = q->rxs;
	int t = -1;

	*port_fd = -1;
	/* Packets steered to us while the backlog had no room. */
	if (atomic_load(&s->mbox.count) && s->tail - s->head < s->cap_pkts &&
	    s->bytes < s->cap_bytes)
		return true;
	if (!s->port_eof) {
		int fd = q->port->ops->fd(q->port);
		bool full = s->tail - s->head >= s->cap_pkts ||
			    s->bytes >= s->cap_bytes;

		/* A port whose input waits (recv_budget) is not polled
		 * while its next frame does not fit: we would not read it, so
		 * its fd would stay readable (a spin).  The backlog's
		 * progress wakes us instead (the frontend's buffers, the
		 * drain time), and the pass after it asks the port again. */
		if (s->port_held && s->tail != s->head)
			full = true;
		if (fd >= 0 && !(full && q->port->ops->recv_budget)) {
			*port_fd = fd;
		} else if (!full) {
			/* No fd: retry on a timer, backing off while the port
			 * stays empty. */
			t = s->idle_retry_ms;
			if (s->idle_retry_ms < RX_IDLE_RETRY_MAX_MS)
				s->idle_retry_ms *= 2;
		}
	}
	/* Segments still to be made: more work now. */
	if (!s->seg_n && s->gso_active)
		return true;
	if (s->seg_n || s->head != s->tail) {
		struct sn_pkt *pkt = s->seg_n ? &s->segq[s->seg_head] : bl_at(s, s->head);
		unsigned int need = rx_need(s, pkt);
		uint64_t limit = (uint64_t)(q->vif->back->cfg.rx_drain_ms ?
					    q->vif->back->cfg.rx_drain_ms : 500) *
				 1000000u;
		uint64_t now = now_ns(), waited;
		int ms;

		/* Ask to be told once enough buffers are posted (Linux
		 * xenvif_rx_ring_slots_available), then look again. */
		sn_rx_back_set_req_event(&q->rx, q->rx.req_cons + need);
		if (sn_rx_back_unconsumed(&q->rx, sn_rx_back_req_prod(&q->rx)) >= need)
			return true;
		if (!s->head_wait_since)
			s->head_wait_since = now;
		waited = now - s->head_wait_since;
		if (waited >= limit)
			return true;
		ms = (int)((limit - waited) / 1000000u) + 1;
		if (!q->vif->feat.rx_notify && ms > RX_NO_NOTIFY_POLL_MS)
			ms = RX_NO_NOTIFY_POLL_MS;
		if (t < 0 || ms < t)
			t = ms;
	}
	if (t >= 0 && (*timeout_ms < 0 || t < *timeout_ms))
		*timeout_ms = t;
	return false;
}
