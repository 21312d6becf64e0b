/* Connecting a queue to its frontend: map the TX and RX ring pages through
 * the grant table, attach at the current response index, and bind the
 * frontend's event channel(s).  The only mappings of guest memory a queue
 * holds besides per-packet grant maps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "back/common.h"

int sn_back_queue_map(struct sn_back_queue *q, const struct sn_back_qparams *qp,
		      char *err, size_t errlen)
{
	const struct sn_plat_ops *ops = q->plat->ops;
	uint16_t doms[2] = { q->fe_domid, q->fe_domid };
	uint32_t refs[2] = { qp->tx_ref, qp->rx_ref };
	void *addr[2] = { NULL, NULL };
	int16_t st[2] = { GNTST_general_error, GNTST_general_error };
	int rc;

	rc = ops->gnt_map(q->plat, 2, doms, refs, true, addr, st);
	if (rc || st[0] != GNTST_okay || st[1] != GNTST_okay) {
		snprintf(err, errlen,
			 "queue %u: mapping ring refs %u/%u failed (%d, GNTST %d/%d)",
			 q->id, qp->tx_ref, qp->rx_ref, rc, st[0], st[1]);
		for (int i = 0; i < 2; i++)
			if (addr[i] && st[i] == GNTST_okay) {
				int16_t s;

				ops->gnt_unmap(q->plat, 1, &addr[i], &s);
			}
		return rc ? rc : -EINVAL;
	}
	q->tx_page = addr[0];
	q->rx_page = addr[1];
	/* Attach at rsp_prod: a reconnecting frontend may have left
	 * requests we already answered; Linux netback does the same. */
	if (sn_tx_back_attach(&q->tx, q->tx_page) ||
	    sn_rx_back_attach(&q->rx, q->rx_page)) {
		snprintf(err, errlen, "queue %u: ring claims more requests than slots",
			 q->id);
		return -EIO;
	}

	rc = ops->evt_open(q->plat, &q->evt);
	if (rc) {
		q->evt = NULL;
		snprintf(err, errlen, "queue %u: evtchn open: %s", q->id,
			 strerror(-rc));
		return rc;
	}
	rc = ops->evt_bind_interdomain(q->evt, q->fe_domid, qp->evt_tx);
	if (rc < 0) {
		snprintf(err, errlen, "queue %u: binding event channel %u: %s",
			 q->id, qp->evt_tx, strerror(-rc));
		return rc;
	}
	q->tx_port = q->rx_port = rc;
	if (qp->split) {
		rc = ops->evt_bind_interdomain(q->evt, q->fe_domid, qp->evt_rx);
		if (rc < 0) {
			snprintf(err, errlen,
				 "queue %u: binding event channel %u: %s",
				 q->id, qp->evt_rx, strerror(-rc));
			return rc;
		}
		q->rx_port = rc;
	}
	return 0;
}

void sn_back_queue_unmap(struct sn_back_queue *q)
{
	int16_t st;

	if (q->evt) {
		if (q->rx_port >= 0 && q->rx_port != q->tx_port)
			q->plat->ops->evt_unbind(q->evt, (sn_port_t)q->rx_port);
		if (q->tx_port >= 0)
			q->plat->ops->evt_unbind(q->evt, (sn_port_t)q->tx_port);
		q->plat->ops->evt_close(q->evt);
		q->evt = NULL;
	}
	q->tx_port = q->rx_port = -1;
	if (q->tx_page)
		q->plat->ops->gnt_unmap(q->plat, 1, &q->tx_page, &st);
	if (q->rx_page)
		q->plat->ops->gnt_unmap(q->plat, 1, &q->rx_page, &st);
	q->tx_page = q->rx_page = NULL;
}

void sn_back_notify(struct sn_back_queue *q, int port)
{
	if (port < 0)
		return;
	if (!q->plat->ops->evt_notify(q->evt, (sn_port_t)port))
		sn_back_count(q, SN_QS_notify_sent, 1);
}
