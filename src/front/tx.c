/* Netfront TX: copy each packet into per-id pages, grant every fragment to
 * the backend, post the request chain (first + GSO extra + continuations),
 * and collect responses (validated by proto, grants revoked and checked). */
#include <errno.h>
#include <string.h>

#include "front/nic.h"
#include "front/staging.h"
#include "port/csum.h"
#include "port/segment.h"
#include "proto/extra.h"
#include "proto/hdr.h"
#include "proto/offload.h"

static int id_get(struct sn_front_queue *q)
{
	uint16_t id = q->tx_free_head;

	if (!q->tx_free_cnt)
		return -ENOSPC;
	q->tx_free_head = q->tx_next[id];
	q->tx_free_cnt--;
	return id;
}

static void id_put(struct sn_front_queue *q, uint16_t id)
{
	q->tx_next[id] = q->tx_free_head;
	q->tx_free_head = id;
	q->tx_free_cnt++;
}

/* A buffer back from the backend: its id returns to the freelist unless
 * the page is quarantined and no fresh page can be had (then the id is
 * retired, shrinking the queue rather than reusing a shared page). */
static void buf_done(struct sn_front_queue *q, uint16_t id)
{
	struct sn_front_buf *b = &q->txb[id];

	if (b->quarantined && sn_front_buf_replace(q, b, false))
		return;
	id_put(q, id);
}

int sn_front_tx_gc(struct sn_front_queue *q)
{
	RING_IDX prod, cons;

	prod = sn_tx_front_rsp_prod(&q->tx);
	/* Responses we never asked for (XSA-405).  Checked against our private
	 * producer too: the shared req_prod is on a page the backend can
	 * write. */
	if (sn_tx_front_rsp_overflow(&q->tx, prod) ||
	    (RING_IDX)(prod - q->tx.rsp_cons) > (RING_IDX)(q->tx.req_prod_pvt - q->tx.rsp_cons)) {
		sn_front_queue_fail(q, "tx rsp_prod beyond requests");
		return -EIO;
	}
	for (cons = q->tx.rsp_cons; cons != prod; cons++) {
		struct netif_tx_response rsp;
		enum sn_txrsp_result r;

		/* One 4-byte copy: the slot is 12 bytes, the response the
		 * first four; read it once, then judge the copy. */
		sn_tx_front_copy_rsp(&q->tx, cons, &rsp);
		r = sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &q->tx_pending);
		if (sn_txrsp_is_broken(r)) {
			q->tx.rsp_cons = cons;
			sn_front_queue_fail(q, sn_txrsp_result_str(r));
			return -EIO;
		}
		if (r == SN_TXRSP_SKIP)
			continue;
		if (r == SN_TXRSP_DONE_ERROR && sn_idmap_test(&q->tx_head, rsp.id))
			sn_front_count(q, SN_QS_tx_drop_malformed, 1);
		if (q->tx_stage[rsp.id] >= 0) {
			/* Staged: the grant stays; the slot goes back to the
			 * pool for the next packet. */
			sn_front_staging_give(q->staging, q->tx_stage[rsp.id]);
			q->tx_stage[rsp.id] = -1;
			buf_done(q, rsp.id);
			continue;
		}
		if (sn_front_buf_revoke(q, &q->txb[rsp.id])) {
			/* Answered but still mapped: the backend lies about
			 * being done with our page. */
			q->tx.rsp_cons = cons + 1;
			buf_done(q, rsp.id);
			sn_front_queue_fail(q, "tx grant still in use after response");
			return -EIO;
		}
		buf_done(q, rsp.id);
	}
	q->tx.rsp_cons = prod;
	return 0;
}

void sn_front_tx_release(struct sn_front_queue *q)
{
	unsigned int i;

	/* Disconnect: whatever is still in flight is revoked now; a page the
	 * backend still holds is quarantined by the revoke. */
	for (i = 0; i < SN_TX_RING_SIZE; i++) {
		if (q->tx_stage[i] >= 0) {
			sn_front_staging_give(q->staging, q->tx_stage[i]);
			q->tx_stage[i] = -1;
		}
		sn_front_buf_revoke(q, &q->txb[i]);
	}
	memset(&q->tx_pending, 0, sizeof(q->tx_pending));
	q->tx_free_cnt = 0;
}

/* IPv4 checksum offload is implied by the protocol; IPv6 only with the
 * backend's feature-ipv6-csum-offload, else we finish the sum here.  The
 * parser finds IPv6 behind VLAN tags too: a tagged frame is still IPv6 to
 * the backend that would have to finish it. */
static uint16_t tx_csum_flags(struct sn_front *nic, struct sn_pkt *pkt)
{
	struct sn_hdr h;

	if ((pkt->flags & SN_PKT_CSUM_PARTIAL) && !nic->be_ipv6_csum) {
		(void)sn_hdr_parse(pkt->data, pkt->len, &h);
		if (h.ethertype == SN_ETH_P_IPV6) {
			if (sn_pkt_csum_finish(pkt) == 0)
				return NETTXF_data_validated;
			return 0;
		}
	}
	return sn_offload_to_txflags(pkt->flags);
}

/* One fragment of a packet on its way to the ring. */
struct tx_frag {
	uint16_t id;
	uint32_t gref;
	uint16_t off, len;
	uint16_t flags; /* SN_NETTXF_persist or 0 */
};

/* Post a packet's fragments: the first request carries the whole length
 * (spec), the GSO extra follows it, continuations carry their own. */
static void tx_post(struct sn_front_queue *q, const struct tx_frag *fr, unsigned int nfrag,
		    uint32_t total, uint16_t flags, const struct netif_extra_info *gso)
{
	unsigned int i;

	for (i = 0; i < nfrag; i++) {
		struct netif_tx_request req = { 0 };

		req.gref = fr[i].gref;
		req.offset = fr[i].off;
		req.id = fr[i].id;
		if (i == 0) {
			req.size = (uint16_t)total;
			req.flags = flags | (gso ? NETTXF_extra_info : 0);
		} else {
			req.size = fr[i].len;
		}
		req.flags |= fr[i].flags;
		if (i + 1 < nfrag)
			req.flags |= NETTXF_more_data;
		sn_idmap_set(&q->tx_pending, fr[i].id);
		if (i == 0)
			sn_idmap_set(&q->tx_head, fr[i].id);
		else
			sn_idmap_clear(&q->tx_head, fr[i].id);
		sn_tx_front_put_req(&q->tx, &req);
		if (i == 0 && gso)
			sn_tx_front_write_slot(&q->tx, q->tx.req_prod_pvt++, gso, sizeof(*gso));
	}
}

/* Copy bytes into a staged slot for id.  Only packet bytes are written
 * to pages the backend can read (XSA-403). */
static void tx_stage_frag(struct sn_front_queue *q, struct tx_frag *fr, int slot,
			  const uint8_t *src, uint16_t len)
{
	const struct sn_front_stslot *sl = sn_front_staging_slot(q->staging, slot);

	memcpy(sl->ptr, src, len);
	q->tx_stage[fr->id] = slot;
	/* Only after request-persistent-grefs: the bit is ours, not
	 * netif.h's (proto/ring.h). */
	fr->flags = sn_front_staging_flag(q->staging, slot) ? SN_NETTXF_persist : 0;
	fr->gref = sl->gref;
	fr->off = sl->off;
	fr->len = len;
}

/* Staged TX (README "Staging grants"): packet bytes are copied into buffers the
 * backend keeps mapped, so it needs no grant operation for them.
 *   page policy:   the whole packet, page by page, when enough staged
 *                  pages are free;
 *   header policy: the first <= 256 bytes in one header slot, the rest
 *                  in pages granted per use as on the normal path.
 * Returns 1 posted, 0 no room (retry), -ENOBUFS when staging cannot take
 * this packet (the caller uses the normal path), -1 dropped (counted). */
static int tx_one_staged(struct sn_front_queue *q, struct sn_pkt *pkt, uint16_t flags,
			 const struct netif_extra_info *gso)
{
	struct sn_front_staging *s = q->staging;
	struct tx_frag fr[SN_FRONT_TX_MAX_SLOTS];
	unsigned int nfrag, nstaged, i;
	uint32_t hdr, off;

	if (s->policy != SN_STAGING_HEADER) {
		nfrag = sn_slots_span(pkt->len, 0);
		nstaged = nfrag;
		hdr = 0;
	} else {
		hdr = pkt->len < SN_STAGING_HDR_SLOT ? pkt->len : SN_STAGING_HDR_SLOT;
		nfrag = 1 + (pkt->len > hdr ? sn_slots_span(pkt->len - hdr, 0) : 0);
		nstaged = 1;
	}
	if (nfrag > SN_FRONT_TX_MAX_SLOTS || (nfrag > 1 && !q->nic->be_sg) ||
	    s->tx_nfree < nstaged)
		return -ENOBUFS;
	if (sn_tx_front_free(&q->tx) < nfrag + (gso ? 1u : 0u) || q->tx_free_cnt < nfrag)
		return 0;

	for (i = 0, off = 0; i < nfrag; i++) {
		uint32_t room = s->policy != SN_STAGING_HEADER ? SN_PAGE_SIZE
				: i == 0 ? hdr : SN_PAGE_SIZE;
		uint16_t n = (uint16_t)(pkt->len - off < room ? pkt->len - off : room);

		fr[i].id = (uint16_t)id_get(q);
		if (i < nstaged) {
			tx_stage_frag(q, &fr[i], sn_front_staging_tx_take(s), pkt->data + off, n);
		} else {
			struct sn_front_buf *b = &q->txb[fr[i].id];

			memcpy(b->page, pkt->data + off, n);
			if (sn_front_buf_grant(q, b, false)) {
				/* Undo: staged slots back to the pool,
				 * granted pages revoked, ids returned. */
				id_put(q, fr[i].id);
				while (i-- > 0) {
					if (q->tx_stage[fr[i].id] >= 0) {
						sn_front_staging_give(s, q->tx_stage[fr[i].id]);
						q->tx_stage[fr[i].id] = -1;
					} else {
						sn_front_buf_revoke(q, &q->txb[fr[i].id]);
					}
					buf_done(q, fr[i].id);
				}
				sn_front_count(q, SN_QS_tx_drop_grant, 1);
				return -1;
			}
			fr[i].gref = b->gref;
			fr[i].off = 0;
			fr[i].len = n;
			fr[i].flags = 0;
		}
		off += n;
	}
	tx_post(q, fr, nfrag, pkt->len, flags, gso);
	sn_front_count(q, SN_QS_tx_pkts, 1);
	sn_front_count(q, SN_QS_tx_bytes, pkt->len);
	sn_front_count(q, SN_QS_staged_slots, nstaged);
	sn_front_count(q, SN_QS_memcpy_bytes, s->policy != SN_STAGING_HEADER ? pkt->len : hdr);
	if (nfrag > nstaged)
		sn_front_count(q, SN_QS_unstaged_slots, nfrag - nstaged);
	return 1;
}

/* SN_OFFLOAD_* bits of what the backend offered: what our port may hand
 * us (loop.c sets them on it) and what tx_one makes every packet fit.
 * IPv4 csum_blank is part of the protocol. */
unsigned int sn_front_tx_caps(const struct sn_front *nic)
{
	unsigned int caps = SN_OFFLOAD_CSUM4;

	if (nic->be_ipv6_csum)
		caps |= SN_OFFLOAD_CSUM6;
	if (nic->be_gso4)
		caps |= SN_OFFLOAD_TSO4;
	if (nic->be_gso6)
		caps |= SN_OFFLOAD_TSO6;
	if (nic->be_sg)
		caps |= SN_OFFLOAD_SG;
	return caps;
}

static int tx_one(struct sn_front_queue *q, struct sn_pkt *pkt);

/* A GSO packet the backend did not negotiate (QEMU's xen_nic has none,
 * FreeBSD netback no TCPv6): segmented here, each segment in one page so
 * it needs one slot whatever the backend's SG.  All segments are posted or
 * none (0: retry when the ring has room for all of them). */
static int tx_segmented(struct sn_front_queue *q, struct sn_pkt *pkt, unsigned int caps)
{
	uint8_t buf[SN_PAGE_SIZE];
	struct sn_pkt seg = { .data = buf, .cap = sizeof(buf) };
	struct sn_gso_iter it;
	unsigned int n;

	if (sn_gso_begin(&it, pkt, SN_PAGE_SIZE, sn_offload_csum_ok(pkt, caps))) {
		sn_front_count(q, SN_QS_tx_drop_malformed, 1);
		return -1;
	}
	n = sn_gso_count(&it);
	/* An MSS so small its segments could never share the ring at once
	 * is not TCP any stack sends. */
	if (n > SN_TX_RING_SIZE) {
		sn_front_count(q, SN_QS_tx_drop_malformed, 1);
		return -1;
	}
	if (sn_tx_front_free(&q->tx) < n || q->tx_free_cnt < n)
		return 0;
	while (sn_gso_next(&it, &seg) == 1)
		(void)tx_one(q, &seg); /* fits: room checked; drops counted there */
	return 1;
}

/* Queue one packet; 1 = posted, 0 = no room (retry later), -1 = dropped
 * (counted). */
static int tx_one(struct sn_front_queue *q, struct sn_pkt *pkt)
{
	struct sn_front *nic = q->nic;
	uint16_t ids[SN_FRONT_TX_MAX_SLOTS];
	struct netif_extra_info gso;
	unsigned int nfrag, need, i;
	bool has_gso = false;
	uint16_t flags;
	int rc;

	if (!pkt->len || pkt->len > SN_TX_MAX_SIZE) {
		sn_front_count(q, SN_QS_tx_drop_malformed, 1);
		return -1;
	}
	if (pkt->flags & SN_PKT_GSO) {
		unsigned int caps = sn_front_tx_caps(nic);

		/* A GSO extra the backend did not offer is fatal there:
		 * segment in software instead. */
		if (sn_offload_fit(pkt, caps, nic->be_sg ? SN_TX_MAX_SIZE : SN_PAGE_SIZE) ==
		    SN_FIT_SEGMENT)
			return tx_segmented(q, pkt, caps);
		if (sn_extra_gso_encode(&gso, pkt->gso_size, pkt->gso_type)) {
			sn_front_count(q, SN_QS_tx_drop_malformed, 1);
			return -1;
		}
		has_gso = true;
	}
	/* Copying into whole pages packs any packet up to 65535 bytes into at
	 * most 16 slots, under the 18 every backend must accept: this is the
	 * linearisation Linux does for skbs with too many frags. */
	nfrag = sn_slots_span(pkt->len, 0);
	if (nfrag > 1 && !nic->be_sg) {
		sn_front_count(q, SN_QS_tx_drop_malformed, 1);
		return -1;
	}
	need = nfrag + (has_gso ? 1u : 0u);
	if (sn_tx_front_free(&q->tx) < need || q->tx_free_cnt < nfrag)
		return 0;
	flags = tx_csum_flags(nic, pkt);
	if (q->staging) {
		rc = tx_one_staged(q, pkt, flags, has_gso ? &gso : NULL);
		if (rc != -ENOBUFS)
			return rc;
	}

	for (i = 0; i < nfrag; i++) {
		uint32_t off = i * SN_PAGE_SIZE;
		uint32_t n = pkt->len - off < SN_PAGE_SIZE ? pkt->len - off : SN_PAGE_SIZE;
		struct sn_front_buf *b;

		ids[i] = (uint16_t)id_get(q);
		b = &q->txb[ids[i]];
		memcpy(b->page, pkt->data + off, n);
		rc = sn_front_buf_grant(q, b, false);
		if (rc) {
			id_put(q, ids[i]);
			while (i-- > 0) {
				sn_front_buf_revoke(q, &q->txb[ids[i]]);
				buf_done(q, ids[i]);
			}
			sn_front_count(q, SN_QS_tx_drop_grant, 1);
			return -1;
		}
	}

	for (i = 0; i < nfrag; i++) {
		struct netif_tx_request req = { 0 };
		uint32_t off = i * SN_PAGE_SIZE;
		uint32_t n = pkt->len - off < SN_PAGE_SIZE ? pkt->len - off : SN_PAGE_SIZE;

		req.gref = q->txb[ids[i]].gref;
		req.offset = 0;
		req.id = ids[i];
		if (i == 0) {
			/* First slot: size is the whole packet (spec). */
			req.size = (uint16_t)pkt->len;
			req.flags = flags | (has_gso ? NETTXF_extra_info : 0);
		} else {
			req.size = (uint16_t)n;
		}
		if (i + 1 < nfrag)
			req.flags |= NETTXF_more_data;
		sn_idmap_set(&q->tx_pending, ids[i]);
		if (i == 0)
			sn_idmap_set(&q->tx_head, ids[i]);
		else
			sn_idmap_clear(&q->tx_head, ids[i]);
		sn_tx_front_put_req(&q->tx, &req);
		if (i == 0 && has_gso)
			sn_tx_front_write_slot(&q->tx, q->tx.req_prod_pvt++, &gso, sizeof(gso));
	}
	sn_front_count(q, SN_QS_tx_pkts, 1);
	sn_front_count(q, SN_QS_tx_bytes, pkt->len);
	sn_front_count(q, SN_QS_unstaged_slots, nfrag);
	return 1;
}

int sn_front_tx_burst(struct sn_front *nic, uint16_t qi, struct sn_pkt *const *pkts,
		      unsigned int n)
{
	struct sn_front_queue *q;
	unsigned int done = 0;
	RING_IDX cons0;
	int rc = 0;

	if (qi >= SN_FRONT_MAX_QUEUES)
		return -EINVAL;
	q = &nic->q[qi];
	pthread_mutex_lock(&q->lock);
	if (atomic_load(&q->broken)) {
		rc = -EIO;
		goto out;
	}
	if (!q->up) {
		rc = -ENOTCONN;
		goto out;
	}
	cons0 = q->tx.rsp_cons;
	if (sn_front_tx_gc(q)) {
		rc = -EIO;
		goto out;
	}
	if (q->staging) {
		sn_front_staging_churn(q->staging);
		sn_front_staging_tx_prefetch(q->staging, n, q->prefetchw);
	}
	while (done < n) {
		int r = tx_one(q, pkts[done]);

		if (r == 0)
			break;
		done++;
	}
	/* Publish the batch at once; kick only if the backend asked for an
	 * event in the range we just published (req_event). */
	if (sn_tx_front_push(&q->tx))
		sn_front_notify(q, q->port_tx);
	if (done || q->tx.rsp_cons != cons0)
		q->worked = true;
	rc = (int)done;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}
