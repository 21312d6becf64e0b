/* The frontend's hash configuration on the backend's RX side, through the
 * real netback with two queues: Toeplitz with the frontend's key picks the
 * queue its mapping table names (whichever queue's port produced the
 * packet), and every packet carries the HASH extra the frontend asked
 * for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xen/io/xenbus.h>

#include "common/peer_front.h"
#include "common/rss_key.h"
#include "proto/ctrl.h"
#include "proto/extra.h"

#define NQ 2u
#define NBUF 16u

struct mq {
	struct h_ctx *t;
	uint16_t devid;
	struct sn_evtchn *evt;
	struct {
		void *tx_page, *rx_page;
		uint32_t tx_ref, rx_ref;
		struct netif_tx_front_ring tx;
		struct netif_rx_front_ring rx;
		int port;
		uint8_t *buf;
		uint32_t buf_ref[NBUF];
	} q[NQ];
	void *ctrl_page;
	uint32_t ctrl_ref;
	struct xen_netif_ctrl_front_ring ctrl;
	int ctrl_port;
	uint16_t next_id;
	uint8_t *cfg_page; /* key / mapping table */
	uint32_t cfg_ref;
};

static void mq_connect(struct h_ctx *t, struct mq *m, uint16_t devid)
{
	static const struct sn_peer_keys no_gso = { .k = {
		[SN_PEER_GSO_TCPV4] = SN_PEER_OMIT,
		[SN_PEER_GSO_TCPV6] = SN_PEER_OMIT,
	} };
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = NQ, .ctrl = true, .keys = &no_gso };

	memset(m, 0, sizeof(*m));
	m->t = t;
	m->devid = devid;
	m->next_id = 1;
	h_vif_add(t, devid);
	assert_int_equal(ops->evt_open(t->fplat, &m->evt), 0);
	for (unsigned int i = 0; i < NQ; i++) {
		assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &m->q[i].tx_ref,
						&m->q[i].tx_page), 0);
		assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &m->q[i].rx_ref,
						&m->q[i].rx_page), 0);
		sn_tx_front_init(&m->q[i].tx, m->q[i].tx_page);
		sn_rx_front_init(&m->q[i].rx, m->q[i].rx_page);
		assert_int_equal(ops->shr_alloc(t->fplat, 0, NBUF, true, m->q[i].buf_ref,
						(void **)&m->q[i].buf), 0);
		m->q[i].port = ops->evt_alloc_unbound(m->evt, 0);
		assert_true(m->q[i].port >= 0);
	}
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &m->ctrl_ref, &m->ctrl_page), 0);
	sn_ctrl_front_init(&m->ctrl, m->ctrl_page);
	m->ctrl_port = ops->evt_alloc_unbound(m->evt, 0);
	assert_true(m->ctrl_port >= 0);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, false, &m->cfg_ref,
					(void **)&m->cfg_page), 0);

	for (unsigned int i = 0; i < NQ; i++) {
		k.q[i].tx_ref = m->q[i].tx_ref;
		k.q[i].rx_ref = m->q[i].rx_ref;
		k.q[i].port = m->q[i].port;
	}
	k.ctrl_ref = m->ctrl_ref;
	k.ctrl_port = m->ctrl_port;
	h_fe_announce(t, devid, &k);
	assert_true(h_wait_be_state(t, devid, XenbusStateConnected));
}

static void mq_close(struct mq *m)
{
	struct h_ctx *t = m->t;
	const struct sn_plat_ops *ops = t->fplat->ops;

	h_vif_close(t, m->devid);
	ops->evt_close(m->evt);
	for (unsigned int i = 0; i < NQ; i++) {
		assert_int_equal(ops->shr_free(t->fplat, m->q[i].buf, NBUF), 0);
		assert_int_equal(ops->shr_free(t->fplat, m->q[i].tx_page, 1), 0);
		assert_int_equal(ops->shr_free(t->fplat, m->q[i].rx_page, 1), 0);
	}
	assert_int_equal(ops->shr_free(t->fplat, m->ctrl_page, 1), 0);
	assert_int_equal(ops->shr_free(t->fplat, m->cfg_page, 1), 0);
}

static uint32_t ctrl_call(struct mq *m, uint16_t type, uint32_t d0,
			  uint32_t d1, uint32_t d2)
{
	struct sn_plat *fp = m->t->fplat;
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;

	sn_ctrl_req_make(&req, m->next_id++, type, d0, d1, d2);
	sn_ctrl_front_put_req(&m->ctrl, &req);
	if (sn_ctrl_front_push(&m->ctrl))
		fp->ops->evt_notify(m->evt, (sn_port_t)m->ctrl_port);
	for (int ms = 0; ms < 5000; ms++) {
		if (sn_ctrl_front_rsp_prod(&m->ctrl) != m->ctrl.rsp_cons)
			break;
		h_sleep_ms(1);
	}
	assert_int_equal(sn_ctrl_front_rsp_prod(&m->ctrl) - m->ctrl.rsp_cons, 1);
	sn_ctrl_front_copy_rsp(&m->ctrl, m->ctrl.rsp_cons++, &rsp);
	assert_true(sn_ctrl_rsp_matches(&rsp, &req));
	return rsp.status;
}

static void post_rx(struct mq *m, unsigned int q, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX idx = m->q[q].rx.req_prod_pvt;
		struct netif_rx_request r = {
			.id = (uint16_t)(idx % NBUF),
			.gref = m->q[q].buf_ref[idx % NBUF],
		};

		sn_rx_front_put_req(&m->q[q].rx, &r);
	}
	if (sn_rx_front_push(&m->q[q].rx))
		m->t->fplat->ops->evt_notify(m->evt, (sn_port_t)m->q[q].port);
}

/* 66.9.149.187:2794 -> 161.142.100.80:1766, TCP (a Microsoft RSS vector);
 * sport varied by i after the first. */
static size_t v4_frame(uint8_t *fr, unsigned int i)
{
	static const uint8_t src[4] = { 66, 9, 149, 187 }, dst[4] = { 161, 142, 100, 80 };
	uint16_t sport = (uint16_t)(2794 + i);

	memset(fr, 0, 64);
	fr[12] = 0x08;
	fr[14] = 0x45;
	fr[14 + 9] = 6;
	memcpy(fr + 14 + 12, src, 4);
	memcpy(fr + 14 + 16, dst, 4);
	fr[34] = (uint8_t)(sport >> 8);
	fr[35] = (uint8_t)sport;
	fr[36] = 1766 >> 8;
	fr[37] = 1766 & 0xff;
	fr[40] = (uint8_t)i; /* tell the packets apart */
	return 64;
}

static unsigned int pending(struct mq *m, unsigned int q)
{
	return sn_rx_front_rsp_prod(&m->q[q].rx) - m->q[q].rx.rsp_cons;
}

/* Read one packet of `want` bytes with a HASH extra off queue q. */
static void expect_hashed(struct mq *m, unsigned int q, const uint8_t *want,
			  uint32_t hash);

/* The same for a packet whose byte 40 (the marker v4_frame's callers set)
 * may be any of the injected ones: every queue's port reads the one
 * injection list, so the first packets can reach the mapped queue by two
 * paths (its own port, or another queue's port and the steering mailbox)
 * and arrive in either order.  Returns the marker. */
static uint8_t expect_hashed_any(struct mq *m, unsigned int q, uint32_t hash)
{
	uint8_t want[64];
	const uint8_t *got;
	struct netif_rx_response rsp;

	assert_true(pending(m, q) >= 2);
	sn_rx_front_copy_rsp(&m->q[q].rx, m->q[q].rx.rsp_cons, &rsp);
	got = m->q[q].buf + (size_t)(rsp.id % NBUF) * SN_PAGE_SIZE;
	v4_frame(want, 0);
	want[40] = got[40];
	expect_hashed(m, q, want, hash);
	return want[40];
}

static void expect_hashed(struct mq *m, unsigned int q, const uint8_t *want,
			  uint32_t hash)
{
	struct netif_rx_response rsp;
	struct netif_extra_info x;
	unsigned int type;
	uint32_t val;

	assert_true(pending(m, q) >= 2);
	sn_rx_front_copy_rsp(&m->q[q].rx, m->q[q].rx.rsp_cons, &rsp);
	assert_int_equal(rsp.status, 64);
	assert_true(rsp.flags & NETRXF_extra_info);
	assert_memory_equal(m->q[q].buf + (size_t)(rsp.id % NBUF) * SN_PAGE_SIZE,
			    want, 64);
	sn_rx_front_copy_rsp(&m->q[q].rx, m->q[q].rx.rsp_cons + 1,
			     (struct netif_rx_response *)&x);
	assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_HASH);
	assert_int_equal(x.flags & XEN_NETIF_EXTRA_FLAG_MORE, 0);
	assert_int_equal(sn_extra_hash_decode(&x, &type, &val), 0);
	assert_int_equal(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	assert_int_equal(val, hash);
	m->q[q].rx.rsp_cons += 2;
}

static void rx_queue_follows_frontend_mapping_with_hash_extra(void **state)
{
	struct h_ctx *t = *state;
	uint8_t fr[64];
	struct mq m;

	h_back_start(t, NULL);
	mq_connect(t, &m, 0);
	memcpy(m.cfg_page, sn_test_ms_key, sizeof(sn_test_ms_key));
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, m.cfg_ref, 40, 0), 0);
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
				   XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0), 0);
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
				   XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0), 0);
	/* One-entry table: every hash goes to the queue it names. */
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 1, 0, 0), 0);
	((uint32_t *)m.cfg_page)[0] = 1;
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, m.cfg_ref, 1, 0), 0);

	post_rx(&m, 0, 8);
	post_rx(&m, 1, 8);
	for (unsigned int i = 0; i < 3; i++) {
		v4_frame(fr, 0);
		fr[40] = (uint8_t)i;
		h_inject(t, fr, 64, 0, 0, 0);
	}
	for (int ms = 0; ms < 5000 && pending(&m, 1) < 6; ms++)
		h_sleep_ms(1);
	assert_int_equal(pending(&m, 1), 6);
	assert_int_equal(pending(&m, 0), 0);
	{
		unsigned int seen = 0;

		for (unsigned int i = 0; i < 3; i++) {
			uint8_t mark = expect_hashed_any(&m, 1, 0x51ccc178u);

			assert_true(mark < 3);
			seen |= 1u << mark;
		}
		assert_int_equal(seen, 7u); /* each of the three, once */
	}

	/* Remap to queue 0. */
	((uint32_t *)m.cfg_page)[0] = 0;
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, m.cfg_ref, 1, 0), 0);
	v4_frame(fr, 0);
	fr[40] = 9;
	h_inject(t, fr, 64, 0, 0, 0);
	for (int ms = 0; ms < 5000 && pending(&m, 0) < 2; ms++)
		h_sleep_ms(1);
	assert_int_equal(pending(&m, 0), 2);
	assert_int_equal(pending(&m, 1), 0);
	expect_hashed(&m, 0, fr, 0x51ccc178u);

	/* Hashing off (algorithm NONE): no extra, the packet stays on the
	 * queue whose port produced it. */
	assert_int_equal(ctrl_call(&m, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
				   XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, 0), 0);
	h_inject(t, fr, 64, 0, 0, 0);
	for (int ms = 0; ms < 5000 && pending(&m, 0) + pending(&m, 1) < 1; ms++)
		h_sleep_ms(1);
	for (unsigned int q = 0; q < NQ; q++) {
		struct netif_rx_response rsp;

		if (!pending(&m, q))
			continue;
		assert_int_equal(pending(&m, q), 1);
		sn_rx_front_copy_rsp(&m.q[q].rx, m.q[q].rx.rsp_cons++, &rsp);
		assert_int_equal(rsp.status, 64);
		assert_int_equal(rsp.flags & NETRXF_extra_info, 0);
	}
	mq_close(&m);
	h_back_stop(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rx_queue_follows_frontend_mapping_with_hash_extra),
	};

	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
