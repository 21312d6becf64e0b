/* Netfront RX: keep the ring full of granted, writable pages (buffer i in
 * slot i, id i), take validated response chains (proto/rxrsp), revoke every
 * slot's grant before reading its data, and copy packets out. */
#include <errno.h>
#include <string.h>

#include "front/nic.h"
#include "front/staging.h"
#include "proto/offload.h"

int sn_front_rx_refill(struct sn_front_queue *q)
{
	unsigned int posted = 0;

	while (sn_rx_front_free(&q->rx) > 0) {
		RING_IDX idx = q->rx.req_prod_pvt;
		unsigned int slot = idx & (SN_RX_RING_SIZE - 1);
		struct sn_front_buf *b = &q->rxb[slot];
		struct netif_rx_request req = { 0 };
		int si = -1;

		/* Staged page first: registered with the backend, no grant
		 * per use; it comes back to the pool when consumed. */
		if (q->staging) {
			si = q->rx_stage[slot];
			if (si < 0)
				si = sn_front_staging_rx_take(q->staging);
		}
		if (si >= 0) {
			q->rx_stage[slot] = si;
			req.gref = sn_front_staging_slot(q->staging, si)->gref;
			/* The request's padding: read by a backend only
			 * after request-persistent-grefs (proto/ring.h). */
			if (sn_front_staging_flag(q->staging, si))
				req.pad = SN_NETRXF_persist;
		} else {
			/* A page the backend may still write never goes out
			 * again. */
			if (b->quarantined && sn_front_buf_replace(q, b, true))
				break;
			if (!b->page || b->inflight)
				break;
			if (sn_front_buf_grant(q, b, true))
				break;
			req.gref = b->gref;
		}
		req.id = (uint16_t)slot;
		sn_rx_front_put_req(&q->rx, &req);
		posted++;
	}
	/* feature-rx-notify: the backend sleeps on req_event when it ran out
	 * of buffers; tell it only then. */
	if (posted && sn_rx_front_push(&q->rx) && q->up)
		sn_front_notify(q, q->port_rx);
	return (int)posted;
}

void sn_front_rx_release(struct sn_front_queue *q)
{
	unsigned int i;

	for (i = 0; i < SN_RX_RING_SIZE; i++) {
		if (q->rx_stage[i] >= 0) {
			sn_front_staging_give(q->staging, q->rx_stage[i]);
			q->rx_stage[i] = -1;
		}
		sn_front_buf_revoke(q, &q->rxb[i]);
	}
}

/* The slots of a consumed chain: staged pages back to the pool. */
static void rx_unstage(struct sn_front_queue *q, const struct sn_rxpkt *rp)
{
	unsigned int k;

	for (k = 0; k < rp->nr_slots; k++) {
		unsigned int slot = (rp->cons + k) & (SN_RX_RING_SIZE - 1);

		if (q->rx_stage[slot] >= 0) {
			sn_front_staging_give(q->staging, q->rx_stage[slot]);
			q->rx_stage[slot] = -1;
		}
	}
}

/* Linux netfront (xennet_get_responses, xennet_get_extras) drops the one
 * packet and counts rx_errors for every fault inside a chain: negative
 * status (netback's failed grant copy), offset + size past the page, a
 * missing or unknown extra, a chain running past rsp_prod or longer than
 * allowed.  Each slot is still our own buffer, revoked and reposted, so
 * none of these lets the backend reach memory it was not given.  What
 * Linux declares broken stays fatal here: more responses than requests
 * (verdict BROKEN, and the rsp_prod bound in sn_front_rx_burst) and a
 * grant the backend still holds after answering (rx_take). */
static void rx_count_error(struct sn_front_queue *q, enum sn_rxrsp_reason r)
{
	sn_front_count(q, r == SN_RXRSP_R_BAD_STATUS ? SN_QS_rx_drop_grant :
						       SN_QS_rx_drop_malformed, 1);
}

static void rx_meta(struct sn_pkt *pkt, const struct sn_rxpkt *rp)
{
	sn_offload_to_pkt(pkt, sn_offload_from_rxflags(rp->flags), rp->extra, rp->extra_mask);
}

/* Take one validated chain: revoke every slot's grant (the backend must
 * be done with all of them), then copy the data out of our own pages.
 * Returns 1 delivered, 0 dropped, -EIO broken. */
static int rx_take(struct sn_front_queue *q, const struct sn_rxpkt *rp,
		   struct sn_pkt *pkt)
{
	bool busy = false, deliver = rp->verdict == SN_RXRSP_OK;
	unsigned int k, nstaged = 0;
	uint32_t off = 0, staged_bytes = 0;

	for (k = 0; k < rp->nr_slots; k++) {
		unsigned int slot = (rp->cons + k) & (SN_RX_RING_SIZE - 1);

		/* A staged page keeps its grant: nothing to revoke. */
		if (q->rx_stage[slot] < 0 && sn_front_buf_revoke(q, &q->rxb[slot]))
			busy = true;
	}
	if (busy) {
		sn_front_queue_fail(q, "rx grant still in use after response");
		return -EIO;
	}
	if (!deliver || rp->len > pkt->cap || rp->nr_recorded != rp->nr_data) {
		if (deliver)
			sn_front_count(q, SN_QS_rx_drop_port, 1);
		rx_unstage(q, rp);
		return 0;
	}
	for (k = 0; k < rp->nr_data; k++) {
		const struct sn_rxslot *s = &rp->slot[k];
		unsigned int slot = sn_rxpkt_slot_idx(rp, k) & (SN_RX_RING_SIZE - 1);
		const uint8_t *src;

		if (q->rx_stage[slot] >= 0) {
			src = sn_front_staging_slot(q->staging, q->rx_stage[slot])->ptr;
			nstaged++;
			staged_bytes += (uint32_t)s->status;
		} else {
			src = q->rxb[slot].page;
		}
		/* offset + status <= page was checked by proto on the copy. */
		memcpy(pkt->data + off, src + s->offset, (size_t)s->status);
		off += (uint32_t)s->status;
	}
	rx_unstage(q, rp);
	pkt->len = off;
	pkt->queue = q->id;
	rx_meta(pkt, rp);
	sn_front_count(q, SN_QS_rx_pkts, 1);
	sn_front_count(q, SN_QS_rx_bytes, off);
	if (nstaged) {
		sn_front_count(q, SN_QS_staged_slots, nstaged);
		sn_front_count(q, SN_QS_memcpy_bytes, staged_bytes);
	}
	if (rp->nr_data > nstaged)
		sn_front_count(q, SN_QS_unstaged_slots, rp->nr_data - nstaged);
	return 1;
}

int sn_front_rx_burst(struct sn_front *nic, uint16_t qi, struct sn_pkt *const *pkts,
		      unsigned int n)
{
	struct sn_front_queue *q;
	unsigned int got = 0;
	RING_IDX prod, cons0;
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
	cons0 = q->rx.rsp_cons;
	if (q->staging)
		sn_front_staging_churn(q->staging);
	prod = sn_rx_front_rsp_prod(&q->rx);
	/* Private bound first: the shared req_prod proto compares with is on
	 * a page the backend can overwrite. */
	if ((RING_IDX)(prod - q->rx.rsp_cons) > (RING_IDX)(q->rx.req_prod_pvt - q->rx.rsp_cons)) {
		sn_front_queue_fail(q, "rx rsp_prod beyond posted buffers");
		rc = -EIO;
		goto out;
	}
	/* The backend's core just wrote these buffers: ask for all of the
	 * burst's first lines before copying any (id i is slot i). */
	if (q->staging)
		for (RING_IDX i = q->rx.rsp_cons; i != prod && i - q->rx.rsp_cons < n; i++) {
			int si = q->rx_stage[i & (SN_RX_RING_SIZE - 1)];

			if (si >= 0)
				__builtin_prefetch(sn_front_staging_slot(q->staging, si)->ptr, 0, 3);
		}
	while (got < n && q->rx.rsp_cons != prod) {
		struct sn_rxpkt rp;
		int r;

		if (sn_rxrsp_parse_ring(&q->rx, prod, &rp))
			break;
		if (rp.verdict == SN_RXRSP_BROKEN) {
			sn_front_queue_fail(q, sn_rxrsp_reason_str(rp.reason));
			rc = -EIO;
			goto out;
		}
		if (rp.verdict == SN_RXRSP_ERROR)
			rx_count_error(q, rp.reason);
		r = rx_take(q, &rp, pkts[got]);
		q->rx.rsp_cons = rp.cons + rp.nr_slots;
		if (r < 0) {
			rc = -EIO;
			goto out;
		}
		got += (unsigned int)r;
	}
	if (q->rx.rsp_cons != cons0)
		q->worked = true;
	sn_front_rx_refill(q);
	rc = (int)got;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}
