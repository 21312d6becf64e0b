/* In-process netback TX queue (see back_world.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "back_world.h"
#include "emu_world.h"
#include "plat/fault.h"
#include "proto/slots.h"

#define DIE_UNLESS(c)                                                   \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "back_world: %s failed\n", #c); \
			abort();                                        \
		}                                                       \
	} while (0)

static int port_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct back_world *w = (struct back_world *)((char *)p -
		offsetof(struct back_world, port));

	for (unsigned int i = 0; i < n; i++) {
		DIE_UNLESS(pkts[i]->len >= 1 && pkts[i]->len <= SN_PKT_MAX_LEN);
		DIE_UNLESS(pkts[i]->len <= pkts[i]->cap);
		if (w->sent < BW_CAPS) {
			struct bw_cap *c = &w->caps[w->sent];

			c->len = pkts[i]->len;
			c->flags = pkts[i]->flags;
			memcpy(c->data, pkts[i]->data, pkts[i]->len);
		} else {
			volatile uint8_t x = 0;

			/* Still touch every byte: ASan checks the bounds. */
			for (uint32_t b = 0; b < pkts[i]->len; b++)
				x ^= pkts[i]->data[b];
			(void)x;
		}
		w->sent++;
	}
	return (int)n;
}

static int port_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct back_world *w = (struct back_world *)((char *)p -
		offsetof(struct back_world, port));
	unsigned int k = 0;

	for (; k < n && w->inj_pos < w->ninj; k++, w->inj_pos++) {
		const struct sn_pkt *src = &w->inj[w->inj_pos];
		uint8_t *data = pkts[k]->data;
		uint32_t cap = pkts[k]->cap;

		DIE_UNLESS(src->len <= cap);
		*pkts[k] = *src;
		pkts[k]->data = data;
		pkts[k]->cap = cap;
		memcpy(data, src->data, src->len);
	}
	return (int)k;
}

static int port_fd(struct sn_port *p)
{
	(void)p;
	return -1;
}

static void port_close(struct sn_port *p)
{
	(void)p;
}

static const struct sn_port_ops port_ops = {
	.kind = "capture", .send = port_send, .recv = port_recv,
	.fd = port_fd, .close = port_close,
};

void bw_init(struct back_world *w, uint16_t fe_domid, uint16_t be_domid)
{
	struct sn_plat *inner;
	int16_t st = GNTST_general_error;
	void *p;

	memset(w, 0, sizeof(*w));
	w->caps = calloc(BW_CAPS, sizeof(*w->caps));
	DIE_UNLESS(w->caps);
	w->fp = emu_world_dom(fe_domid, 64);
	inner = emu_world_dom(be_domid, 64);
	emu_world_seal();
	DIE_UNLESS(sn_fault_wrap(inner, NULL, &w->bp) == 0);
	DIE_UNLESS(w->fp->ops->shr_alloc(w->fp, be_domid, 1, true, &w->ring_ref,
					 &p) == 0);
	w->ring = p;
	DIE_UNLESS(w->fp->ops->shr_alloc(w->fp, be_domid, 16, true, w->data_ref,
					 &p) == 0);
	w->dpages = p;
	for (unsigned int i = 0; i < 16 * SN_PAGE_SIZE; i++)
		w->dpages[i] = (uint8_t)(i * 7 + (i >> 12) * 13);
	for (unsigned int i = 16; i < BW_NDATA; i++)
		DIE_UNLESS(w->fp->ops->shr_grant(w->fp, be_domid,
						 w->dpages + (i - 16) * SN_PAGE_SIZE,
						 false, &w->data_ref[i]) == 0);
	DIE_UNLESS(w->bp->ops->gnt_map(w->bp, 1, &fe_domid, &w->ring_ref, true,
				       &w->ring_map, &st) == 0 && st == GNTST_okay);
	DIE_UNLESS(w->fp->ops->shr_alloc(w->fp, be_domid, 1, true, &w->rx_ring_ref,
					 &p) == 0);
	w->rx_ring = p;
	DIE_UNLESS(w->fp->ops->shr_alloc(w->fp, be_domid, BW_RXBUF, true,
					 w->rxbuf_ref, &p) == 0);
	w->rxbuf = p;
	DIE_UNLESS(w->bp->ops->gnt_map(w->bp, 1, &fe_domid, &w->rx_ring_ref, true,
				       &w->rx_map, &st) == 0 && st == GNTST_okay);
	w->inj_data = calloc(BW_INJ, SN_PKT_MAX_LEN);
	DIE_UNLESS(w->inj_data);

	w->back.plat = w->bp;
	w->back.cfg.plat = w->bp;
	w->back.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	DIE_UNLESS(w->back.wake_fd >= 0);
	w->vif.back = &w->back;
	w->vif.domid = fe_domid;
	w->vif.feat = (struct sn_back_features){ .sg = true, .gso_tcpv4 = true,
						 .gso_tcpv6 = true, .ipv6_csum = true };
	atomic_store(&w->vif.mcast_on, true);
	pthread_mutex_init(&w->vif.mcast_lock, NULL);
	w->port.ops = &port_ops;
	w->q.vif = &w->vif;
	w->q.plat = w->bp;
	w->q.fe_domid = fe_domid;
	w->q.tx_page = w->ring_map;
	w->q.rx_page = w->rx_map;
	w->q.tx_port = w->q.rx_port = -1; /* no event channel: nothing to kick */
	w->q.kick_fd = -1;
	w->q.port = &w->port;
	w->q.st = &w->st;
}

void bw_start(struct back_world *w, RING_IDX start, bool linux_path, bool staged)
{
	memset(w->ring, 0, SN_PAGE_SIZE);
	SHARED_RING_INIT(w->ring);
	w->ring->req_prod = w->ring->rsp_prod = start;
	w->back.cfg.tx_path = linux_path ? SN_BACK_TX_LINUX : SN_BACK_TX_COPY;
	atomic_store(&w->vif.disabled, false);
	memset(&w->st, 0, sizeof(w->st));
	w->sent = 0;
	(void)bw_woken(w);
	DIE_UNLESS(sn_tx_back_attach(&w->q.tx, w->ring_map) == 0);
	w->q.grefs = NULL;
	if (staged) {
		struct sn_gref_add add[8];

		DIE_UNLESS(sn_gref_table_create(w->bp, w->vif.domid, 16,
						&w->q.grefs) == 0);
		for (unsigned int i = 0; i < 8; i++)
			add[i] = (struct sn_gref_add){
				.gref = w->data_ref[i * 3 % BW_NDATA], .readonly = true };
		DIE_UNLESS(sn_gref_table_add(w->q.grefs, 8, add, NULL) == 0);
	}
	DIE_UNLESS(sn_back_tx_init(&w->q) == 0);
	w->started = true;
}

void bw_persist(struct back_world *w)
{
	if (!w->q.grefs)
		DIE_UNLESS(sn_gref_table_create(w->bp, w->vif.domid, 16, &w->q.grefs) == 0);
	w->vif.feat.persist = true;
	w->vif.rings = (struct sn_back_ring_grefs){
		.ref = { w->ring_ref, w->rx_ring_ref }, .n = 2 };
}

int bw_run(struct back_world *w)
{
	int total = 0;

	for (int rounds = 0, idle = 0; idle < 2; rounds++) {
		int rc = sn_back_tx_action(&w->q, 64);

		DIE_UNLESS(rounds < 100000);
		if (rc == -EPROTO)
			return rc;
		DIE_UNLESS(rc >= 0);
		total += rc;
		idle = rc ? 0 : idle + 1;
	}
	return total;
}

unsigned int bw_stop(struct back_world *w)
{
	unsigned int pinned = 0;

	if (!w->started)
		return 0;
	sn_fault_configure(w->bp, NULL);
	sn_back_tx_fini(&w->q);
	w->vif.feat.persist = false;
	w->vif.rings.n = 0;
	if (w->q.grefs) {
		DIE_UNLESS(sn_gref_table_unmap_all(w->q.grefs) == 0);
		sn_gref_table_destroy(w->q.grefs);
		w->q.grefs = NULL;
	}
	w->started = false;
	for (unsigned int i = 0; i < BW_NDATA; i++)
		pinned += (unsigned int)emu_world_pinned(w->fp, w->data_ref[i]);
	return pinned;
}

void bw_rx_start(struct back_world *w, unsigned int n)
{
	sn_rx_front_init(&w->rxf, w->rx_ring);
	memset(w->rxbuf, 0xee, (size_t)BW_RXBUF * SN_PAGE_SIZE);
	DIE_UNLESS(sn_rx_back_attach(&w->q.rx, w->rx_map) == 0);
	memset(&w->st, 0, sizeof(w->st));
	w->ninj = w->inj_pos = 0;
	DIE_UNLESS(sn_back_rx_init(&w->q) == 0);
	for (unsigned int k = 0; k < n && k < BW_RXBUF; k++) {
		struct netif_rx_request r = { .id = (uint16_t)k, .pad = w->rx_pad[k],
					      .gref = w->rxbuf_ref[k] };

		sn_rx_front_put_req(&w->rxf, &r);
	}
	sn_rx_front_push(&w->rxf);
	w->rx_started = true;
}

struct sn_pkt *bw_inject(struct back_world *w, uint32_t len, uint16_t flags)
{
	struct sn_pkt *p;

	DIE_UNLESS(w->ninj < BW_INJ && len <= SN_PKT_MAX_LEN);
	p = &w->inj[w->ninj];
	memset(p, 0, sizeof(*p));
	p->data = w->inj_data + (size_t)w->ninj * SN_PKT_MAX_LEN;
	p->len = len;
	p->cap = SN_PKT_MAX_LEN;
	p->flags = flags;
	for (uint32_t i = 0; i < len; i++)
		p->data[i] = (uint8_t)(len + i * 3);
	w->ninj++;
	return p;
}

int bw_rx_run(struct back_world *w)
{
	int total = 0;

	for (int rounds = 0, idle = 0; idle < 2; rounds++) {
		int rc = sn_back_rx_action(&w->q, 64);

		DIE_UNLESS(rounds < 100000 && rc >= 0);
		total += rc;
		idle = rc ? 0 : idle + 1;
	}
	return total;
}

void bw_rx_stop(struct back_world *w)
{
	if (!w->rx_started)
		return;
	sn_back_rx_fini(&w->q);
	w->rx_started = false;
}

bool bw_woken(struct back_world *w)
{
	uint64_t v = 0;

	return read(w->back.wake_fd, &v, sizeof(v)) == sizeof(v) && v;
}
