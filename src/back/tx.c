/* Guest TX (frontend -> backend): parse packets off the TX ring with
 * proto's validator, fetch their bytes from the frontend's grants (all by
 * batched grant copy, or Linux-style copy-the-head/map-the-rest), hand the
 * packets to the port in one burst and answer every consumed slot once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "back/common.h"
#include "proto/extra.h"
#include "proto/offload.h"
#include "proto/txreq.h"

/* Copy segments per batch: in linux mode the head may span several slots,
 * and a slot split between head and mapped tail costs one segment. */
#define TX_MAX_SEGS (SN_BACK_TX_BATCH * SN_TX_MAX_DATA_SLOTS)
#define TX_MAX_MAPS (SN_BACK_TX_BATCH * SN_TX_MAX_DATA_SLOTS)

/* One grant map of a linux-mode batch: which packet/slot it serves and
 * where its bytes go once mapped. */
struct tx_map {
	uint16_t pkt;
	uint16_t slot;
	uint16_t src_off; /* offset in the granted page */
	uint16_t len;
	uint32_t dst_off; /* offset in the packet */
};

/* A staged slot of the batch: copied and released in tx_staged_flush. */
struct tx_staged {
	struct sn_gref_ent *ent; /* held (in flight) until the flush */
	uint8_t *dst;
	uint16_t off, len;
};

struct sn_back_txstate {
	struct sn_txpkt desc[SN_BACK_TX_BATCH];
	struct sn_pkt pkt[SN_BACK_TX_BATCH];
	struct sn_pkt *sendv[SN_BACK_TX_BATCH];
	int16_t pkt_status[SN_BACK_TX_BATCH]; /* worst grant status */
	uint32_t mapped_mask[SN_BACK_TX_BATCH]; /* data slots answered after unmap */
	uint8_t *bufs;

	sn_copy_seg seg[TX_MAX_SEGS];
	uint16_t seg_pkt[TX_MAX_SEGS];
	unsigned int nseg;

	struct tx_staged stg[TX_MAX_SEGS];
	unsigned int nstg;

	struct tx_map map[TX_MAX_MAPS];
	uint16_t map_dom[TX_MAX_MAPS];
	uint32_t map_ref[TX_MAX_MAPS];
	void *map_addr[TX_MAX_MAPS];
	int16_t map_st[TX_MAX_MAPS];
	unsigned int nmap;

	/* When the port last had no room (tx_room), 0 while it has. */
	uint64_t port_full_since_ns;

	/* Rate limit ("rate" = bytes per usec window, Linux's credit). */
	uint64_t credit_left;
	uint64_t credit_refill_ns; /* next refill time; 0 = unlimited */
	bool credit_wait;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sn_back_tx_init(struct sn_back_queue *q)
{
	struct sn_back_txstate *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->bufs = calloc(SN_BACK_TX_BATCH, SN_PKT_BUF_SIZE);
	if (!s->bufs) {
		free(s);
		return -ENOMEM;
	}
	if (q->vif->feat.credit_bytes) {
		s->credit_left = q->vif->feat.credit_bytes;
		s->credit_refill_ns = now_ns() + q->vif->feat.credit_usec * 1000u;
	}
	q->txs = s;
	return 0;
}

void sn_back_tx_fini(struct sn_back_queue *q)
{
	if (!q->txs)
		return;
	free(q->txs->bufs);
	free(q->txs);
	q->txs = NULL;
}

/* Linux's tx_credit_exceeded: a packet larger than the remaining credit
 * waits for the next window; one larger than a whole window goes when the
 * window is fresh, so it cannot block the queue forever. */
static bool credit_ok(struct sn_back_queue *q, uint32_t size)
{
	struct sn_back_txstate *s = q->txs;
	const struct sn_back_features *f = &q->vif->feat;
	uint64_t now;

	if (!s->credit_refill_ns)
		return true;
	now = now_ns();
	if (now >= s->credit_refill_ns) {
		s->credit_left = f->credit_bytes;
		s->credit_refill_ns = now + f->credit_usec * 1000u;
	}
	if (size > s->credit_left &&
	    !(size > f->credit_bytes && s->credit_left == f->credit_bytes)) {
		s->credit_wait = true;
		return false;
	}
	s->credit_left -= size < s->credit_left ? size : s->credit_left;
	s->credit_wait = false;
	return true;
}

/* MCAST_ADD/DEL on a dummy request (Linux: at most one address per
 * request; ADD wins when both are present).  An ADD beyond
 * SN_BACK_MCAST_MAX is answered ERROR as Linux does, but the vif then
 * passes all multicast: dropping the frames of an address the guest asked
 * for would break it silently. */
static int16_t mcast_apply(struct sn_back_queue *q, const struct sn_txpkt *d)
{
	struct sn_back_vif *v = q->vif;
	unsigned int type = sn_txpkt_has_extra(d, XEN_NETIF_EXTRA_TYPE_MCAST_ADD) ?
				    XEN_NETIF_EXTRA_TYPE_MCAST_ADD :
				    XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
	int16_t status = NETIF_RSP_OKAY;
	uint8_t addr[6];
	bool add;
	unsigned int i;

	if (sn_extra_mcast_decode(&d->extra[type], &add, addr))
		return NETIF_RSP_ERROR;
	pthread_mutex_lock(&v->mcast_lock);
	for (i = 0; i < v->n_mcast; i++)
		if (!memcmp(v->mcast[i], addr, 6))
			break;
	if (add && i == v->n_mcast) {
		if (v->n_mcast < SN_BACK_MCAST_MAX) {
			memcpy(v->mcast[v->n_mcast++], addr, 6);
		} else {
			v->mcast_all = true;
			status = NETIF_RSP_ERROR;
		}
	} else if (!add && i < v->n_mcast) {
		memmove(v->mcast[i], v->mcast[i + 1],
			(v->n_mcast - i - 1) * sizeof(v->mcast[0]));
		v->n_mcast--;
	}
	pthread_mutex_unlock(&v->mcast_lock);
	return status;
}

static void add_copy(struct sn_back_queue *q, unsigned int p,
		     const struct sn_txslot *sl, uint16_t src_off, uint16_t len,
		     uint8_t *dst)
{
	struct sn_back_txstate *s = q->txs;
	sn_copy_seg *g = &s->seg[s->nseg];

	memset(g, 0, sizeof(*g));
	g->source.foreign.ref = sl->gref;
	g->source.foreign.offset = src_off;
	g->source.foreign.domid = q->fe_domid;
	g->dest.virt = dst;
	g->len = len;
	g->flags = GNTCOPY_source_gref;
	s->seg_pkt[s->nseg++] = (uint16_t)p;
}

static void add_map(struct sn_back_queue *q, unsigned int p, unsigned int k,
		    const struct sn_txslot *sl, uint16_t src_off, uint16_t len,
		    uint32_t dst_off)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int m = s->nmap++;

	s->map[m] = (struct tx_map){ .pkt = (uint16_t)p, .slot = (uint16_t)k,
				     .src_off = src_off, .len = len,
				     .dst_off = dst_off };
	s->map_dom[m] = q->fe_domid;
	s->map_ref[m] = sl->gref;
	s->map_addr[m] = NULL;
	s->map_st[m] = GNTST_general_error;
	s->mapped_mask[p] |= 1u << k;
}

/* Plan how packet p's bytes reach its buffer: copy segments for every byte
 * (copy mode) or for the first SN_BACK_TX_COPY_LEN only with the rest of
 * each slot grant-mapped (linux mode).  Staged grefs are memcpy'd through
 * their standing mapping in either mode. */
static void plan_fetch(struct sn_back_queue *q, unsigned int p)
{
	struct sn_back_txstate *s = q->txs;
	const struct sn_txpkt *d = &s->desc[p];
	uint8_t *dst = s->pkt[p].data;
	bool linux_path = q->vif->back->cfg.tx_path == SN_BACK_TX_LINUX;
	uint32_t off = 0, head = linux_path ? SN_BACK_TX_COPY_LEN : UINT32_MAX;

	for (unsigned int k = 0; k < d->nr_data; k++) {
		const struct sn_txslot *sl = &d->slot[k];
		uint32_t len = sl->size, c;
		struct sn_gref_ent *staged;

		if (!len)
			continue;
		/* No grant operation at all for a staged slot: one memcpy
		 * under the entry's in-flight reference (tx_staged_flush), and
		 * the slot is done (its response goes out with the batch,
		 * never deferred). */
		staged = sn_back_staged_get(q->grefs, sl->gref, false);
		if (q->vif->feat.persist)
			staged = sn_back_persist_slot(q, staged, sl->gref,
						      sl->flags & SN_NETTXF_persist,
						      false);
		if (staged) {
			/* Read in tx_staged_flush after the whole batch is
			 * planned: the frontend's core wrote it last. */
			sn_prefetch_r_range((const uint8_t *)staged->addr + sl->offset, len);
			s->stg[s->nstg++] = (struct tx_staged){
				.ent = staged, .dst = dst + off,
				.off = sl->offset, .len = (uint16_t)len,
			};
			sn_back_count(q, SN_QS_memcpy_bytes, len);
			sn_back_count(q, SN_QS_staged_slots, 1);
			off += len;
			continue;
		}
		sn_back_count(q, SN_QS_unstaged_slots, 1);
		c = off < head ? head - off : 0;
		if (c > len)
			c = len;
		if (c)
			add_copy(q, p, sl, sl->offset, (uint16_t)c, dst + off);
		if (len > c)
			add_map(q, p, k, sl, (uint16_t)(sl->offset + c),
				(uint16_t)(len - c), off + c);
		off += len;
	}
}

static void set_offloads(struct sn_pkt *pkt, const struct sn_txpkt *d)
{
	sn_offload_to_pkt(pkt, sn_offload_from_txflags(d->flags), d->extra, d->extra_mask);
}

/* Parse up to one batch of packets.  Dropped and multicast requests are
 * answered here; packets to deliver are planned.  Returns packets
 * planned, and sets *fatal when the frontend turned out rogue. */
static unsigned int tx_collect(struct sn_back_queue *q, unsigned int budget,
			       unsigned int *handled, bool *fatal)
{
	struct sn_back_txstate *s = q->txs;
	RING_IDX prod = sn_tx_back_req_prod(&q->tx);
	unsigned int n = 0;

	while (n < SN_BACK_TX_BATCH && *handled < budget) {
		struct sn_txpkt *d = &s->desc[n];

		if (sn_txreq_parse_ring(&q->tx, prod, d))
			break; /* nothing unconsumed */
		if (d->verdict == SN_TXREQ_FATAL) {
			/* Answer nothing: the frontend is beyond help. */
			sn_back_vif_fatal(q, sn_txreq_reason_str(d->reason));
			*fatal = true;
			break;
		}
		if (d->verdict == SN_TXREQ_OK && !sn_txpkt_is_mcast(d) &&
		    !credit_ok(q, d->total_len))
			break;
		q->tx.req_cons += d->nr_slots;
		(*handled)++;
		if (d->verdict == SN_TXREQ_DROP) {
			sn_txpkt_respond_all(&q->tx, d, NETIF_RSP_ERROR);
			sn_back_count(q, SN_QS_tx_drop_malformed, 1);
			continue;
		}
		if (sn_txpkt_is_mcast(d)) {
			int16_t st = mcast_apply(q, d);

			sn_txpkt_respond_all(&q->tx, d, st);
			continue;
		}
		{
			struct sn_pkt *pkt = &s->pkt[n];

			pkt->data = s->bufs + (size_t)n * SN_PKT_BUF_SIZE;
			pkt->cap = SN_PKT_BUF_SIZE;
			pkt->len = d->total_len;
			pkt->queue = q->id;
			set_offloads(pkt, d);
			s->pkt_status[n] = GNTST_okay;
			s->mapped_mask[n] = 0;
			plan_fetch(q, n);
		}
		n++;
	}
	return n;
}

/* The batch's staged slots: every memcpy, then every reference dropped.
 * A drop is a locked RMW, a full barrier: one right after each memcpy
 * would wait out that copy's cache misses on the frontend's page, one run
 * of them waits for the whole batch's at once.  Before any response: the
 * frontend may DEL a gref as soon as its slot is answered. */
static void tx_staged_flush(struct sn_back_queue *q)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int i;

	for (i = 0; i < s->nstg; i++)
		memcpy(s->stg[i].dst, (const uint8_t *)s->stg[i].ent->addr + s->stg[i].off,
		       s->stg[i].len);
	for (i = 0; i < s->nstg; i++)
		sn_gref_table_put(s->stg[i].ent);
	s->nstg = 0;
}

/* One grant-copy call for the whole batch; each segment's status lands on
 * its own packet. */
static void tx_copy_flush(struct sn_back_queue *q)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int i;
	int rc;

	if (!s->nseg)
		return;
	rc = q->plat->ops->gnt_copy(q->plat, s->nseg, s->seg);
	sn_back_count(q, SN_QS_grant_copies, s->nseg);
	sn_back_count(q, SN_QS_grant_copy_batches, 1);
	for (i = 0; i < s->nseg; i++) {
		int16_t st = rc ? GNTST_general_error : s->seg[i].status;

		if (st != GNTST_okay)
			s->pkt_status[s->seg_pkt[i]] = st;
	}
	s->nseg = 0;
}

/* Linux mode: map every tail slot of the batch read-only in one call and
 * pull the bytes into the packets. */
static void tx_map_batch(struct sn_back_queue *q)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int i;
	int rc;

	if (!s->nmap)
		return;
	rc = q->plat->ops->gnt_map(q->plat, s->nmap, s->map_dom, s->map_ref,
				   false, s->map_addr, s->map_st);
	for (i = 0; i < s->nmap; i++) {
		struct tx_map *m = &s->map[i];

		if (rc || s->map_st[i] != GNTST_okay) {
			if (s->map_st[i] == GNTST_okay)
				s->map_st[i] = GNTST_general_error;
			s->pkt_status[m->pkt] = s->map_st[i];
			continue;
		}
		sn_back_count(q, SN_QS_grant_maps, 1);
		memcpy(s->pkt[m->pkt].data + m->dst_off,
		       (const uint8_t *)s->map_addr[i] + m->src_off, m->len);
	}
}

/* Linux mode: the batched, deferred unmap (the TLB-flush cost of the
 * "before" path), after which the mapped slots may be answered. */
static void tx_unmap_batch(struct sn_back_queue *q)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int i, n = 0;

	if (!s->nmap)
		return;
	/* Compact the successful maps in place. */
	for (i = 0; i < s->nmap; i++)
		if (s->map_addr[i] && s->map_st[i] == GNTST_okay)
			s->map_addr[n++] = s->map_addr[i];
	if (n) {
		q->plat->ops->gnt_unmap(q->plat, n, s->map_addr, s->map_st);
		sn_back_count(q, SN_QS_grant_unmaps, n);
	}
	s->nmap = 0;
}

static void tx_respond(struct sn_back_queue *q, unsigned int n, bool mapped)
{
	struct sn_back_txstate *s = q->txs;

	for (unsigned int p = 0; p < n; p++) {
		const struct sn_txpkt *d = &s->desc[p];
		int16_t st = s->pkt_status[p] == GNTST_okay ? NETIF_RSP_OKAY :
							      NETIF_RSP_ERROR;

		for (unsigned int k = 0; k < d->nr_data; k++) {
			bool m = s->mapped_mask[p] & (1u << k);

			/* Zero-size slots are always fine (XSA-448). */
			if (m == mapped)
				sn_txpkt_respond_slot(&q->tx, d, k,
						      sn_txpkt_slot_empty(d, k) ?
							      NETIF_RSP_OKAY : st);
			if (k == 0 && !mapped)
				sn_txpkt_respond_extras(&q->tx, d);
		}
	}
}

static void tx_push(struct sn_back_queue *q)
{
	if (sn_tx_back_push(&q->tx))
		sn_back_notify(q, q->tx_port);
}

static uint64_t port_full_ns(const struct sn_back_queue *q)
{
	uint32_t ms = q->vif->back->cfg.port_full_ms;

	return (uint64_t)(ms ? ms : SN_BACK_PORT_FULL_MS) * 1000000u;
}

/* Cap the budget at what the port can take now.  A port that is full
 * leaves guest TX in the netif ring (the frontend waits, as it would on a
 * slow wire) for at most SN_BACK_PORT_FULL_MS; a far side that stays full
 * longer is treated as one that stopped consuming: frames are taken and
 * dropped, counted, so it cannot stall the vif. */
static unsigned int tx_port_budget(struct sn_back_queue *q, unsigned int budget)
{
	struct sn_back_txstate *s = q->txs;
	uint64_t now;
	int room;

	if (!q->port->ops->tx_room)
		return budget;
	room = q->port->ops->tx_room(q->port);
	if (room < 0) {
		s->port_full_since_ns = 0;
		return budget;
	}
	if (room > 0) {
		s->port_full_since_ns = 0;
		return (unsigned int)room < budget ? (unsigned int)room : budget;
	}
	now = now_ns();
	if (!s->port_full_since_ns)
		s->port_full_since_ns = now;
	if (now - s->port_full_since_ns < port_full_ns(q))
		return 0;
	return budget;
}

int sn_back_tx_action(struct sn_back_queue *q, unsigned int budget)
{
	struct sn_back_txstate *s = q->txs;
	unsigned int handled = 0, n, nsend, p;
	RING_IDX rsp_before = q->tx.rsp_prod_pvt;
	bool fatal = false;
	int taken;

	budget = tx_port_budget(q, budget);

	while (handled < budget && !fatal) {
		n = tx_collect(q, budget, &handled, &fatal);
		if (!n)
			break;
		tx_staged_flush(q);
		/* Unmapped before any response of the batch is pushed: once
		 * the frontend sees the answer to a slot that dropped the
		 * flag, it may end that grant. */
		sn_back_persist_flush(q);
		tx_copy_flush(q);
		tx_map_batch(q);
		/* Copied slots are answered now; mapped ones after unmap. */
		tx_respond(q, n, false);

		nsend = 0;
		for (p = 0; p < n; p++) {
			if (s->pkt_status[p] != GNTST_okay) {
				sn_back_count(q, SN_QS_tx_drop_grant, 1);
				continue;
			}
			s->sendv[nsend++] = &s->pkt[p];
		}
		taken = nsend ? q->port->ops->send(q->port, s->sendv, nsend) : 0;
		if (taken < 0)
			taken = 0;
		if ((unsigned int)taken > nsend)
			taken = (int)nsend;
		for (p = 0; p < (unsigned int)taken; p++) {
			sn_back_count(q, SN_QS_tx_pkts, 1);
			sn_back_count(q, SN_QS_tx_bytes, s->sendv[p]->len);
		}
		if (nsend - (unsigned int)taken)
			sn_back_count(q, SN_QS_tx_drop_port, nsend - (unsigned int)taken);

		tx_unmap_batch(q);
		tx_respond(q, n, true);
		/* Publish each batch so the frontend can recycle early. */
		tx_push(q);
		if (n < SN_BACK_TX_BATCH)
			break;
	}
	if (q->tx.rsp_prod_pvt != rsp_before)
		tx_push(q);
	return fatal ? -EPROTO : (int)handled;
}

bool sn_back_tx_rearm(struct sn_back_queue *q, int *timeout_ms)
{
	struct sn_back_txstate *s = q->txs;

	if (s->credit_wait) {
		uint64_t now = now_ns();
		int ms = now >= s->credit_refill_ns ?
				 0 : (int)((s->credit_refill_ns - now) / 1000000u) + 1;

		if (ms == 0)
			return true;
		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
		return false;
	}
	if (sn_tx_back_final_check(&q->tx, NULL) <= 0)
		return false;
	if (s->port_full_since_ns) {
		/* Requests wait only for room in the port, which has no
		 * event for "room again": sleep briefly and ask tx_room
		 * again, rather than spin, until room returns or the window
		 * closes (then the next pass drops, so: work now). */
		uint64_t now = now_ns(), end = s->port_full_since_ns + port_full_ns(q);
		int ms;

		if (now >= end)
			return true;
		ms = (int)((end - now) / 1000000u) + 1;
		if (ms > SN_BACK_PORT_FULL_POLL_MS)
			ms = SN_BACK_PORT_FULL_POLL_MS;
		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
		return false;
	}
	return true;
}
