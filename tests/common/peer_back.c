/* Scripted backend for the frontend tests (see peer_back.h).  Uses cmocka
 * asserts: a broken harness fails the test, it never limps on. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/dom.h"
#include "common/inproc.h"
#include "common/peer_back.h"
#include "common/toolstack.h"
#include "proto/extra.h"

static void xs_put(struct fake_back *fb, const char *dir, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	assert_int_equal(fb->p->ops->xs_write(fb->p, XBT_NULL, path, val, (unsigned int)strlen(val)), 0);
}

static char *xs_get(struct fake_back *fb, const char *path)
{
	unsigned int len;
	char *v = NULL;

	if (fb->p->ops->xs_read(fb->p, XBT_NULL, path, &v, &len))
		return NULL;
	return v;
}

char *fb_fe_read(struct fake_back *fb, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fb->fe, key);
	return xs_get(fb, path);
}

static long fe_long(struct fake_back *fb, const char *key, long dflt)
{
	char *v = fb_fe_read(fb, key);
	long r = dflt;

	if (v) {
		r = strtol(v, NULL, 10);
		free(v);
	}
	return r;
}

void fb_init(struct fake_back *fb, struct sn_plat *p, uint16_t fe_domid,
	     uint16_t devid, const struct fb_features *f)
{
	struct sn_peer_keys dflt = { .k = {
		[SN_PEER_SG] = SN_PEER_ON,
		[SN_PEER_RX_COPY] = SN_PEER_ON,
		[SN_PEER_IPV6_CSUM] = f->no_ipv6_csum ? SN_PEER_OMIT : SN_PEER_ON,
		[SN_PEER_GSO_TCPV4] = f->gso ? SN_PEER_ON : SN_PEER_OMIT,
		[SN_PEER_GSO_TCPV6] = f->gso ? SN_PEER_ON : SN_PEER_OMIT,
		[SN_PEER_SPLIT_EVTCHN] = f->split ? SN_PEER_ON : SN_PEER_OMIT,
	} };
	char v[64];

	memset(fb, 0, sizeof(*fb));
	fb->p = p;
	fb->fe_domid = fe_domid;
	fb->devid = devid;
	snprintf(fb->fe, sizeof(fb->fe), "/local/domain/%u/device/vif/%u", fe_domid, devid);
	/* Deliberately not "backend/vif": the frontend must follow the key. */
	snprintf(fb->be, sizeof(fb->be), "/local/domain/%u/backend/testnic/%u/%u", p->domid,
		 fe_domid, devid);
	/* The toolstack's part: both directories with libxl's permissions
	 * and the frontend's keys, which the backend may only read. */
	{
		char k[6][300], bid[8], hid[8];
		const struct sn_test_ts_dir dirs[2] = {
			{ .path = fb->fe, .owner = fe_domid, .peer = p->domid },
			{ .path = fb->be, .owner = p->domid, .peer = fe_domid },
		};
		static const char *const keys[6] = { "backend", "backend-id", "state",
						     "handle", "mac", "mtu" };
		const char *kv[12];

		snprintf(bid, sizeof(bid), "%u", p->domid);
		snprintf(hid, sizeof(hid), "%u", devid);
		const char *vals[6] = { fb->be, bid, "1", hid, "00:16:3e:00:00:01", "9000" };

		for (unsigned int i = 0; i < 6; i++) {
			snprintf(k[i], sizeof(k[i]), "%s/%s", fb->fe, keys[i]);
			kv[2 * i] = k[i];
			kv[2 * i + 1] = vals[i];
		}
		sn_test_toolstack(dirs, 2, kv, 6);
	}
	xs_put(fb, fb->be, "frontend", fb->fe);
	snprintf(v, sizeof(v), "%u", fe_domid);
	xs_put(fb, fb->be, "frontend-id", v);
	xs_put(fb, fb->be, "online", "1");
	assert_int_equal(sn_peer_keys_write(p, XBT_NULL, fb->be, &f->keys, &dflt), 0);
	if (f->max_queues) {
		snprintf(v, sizeof(v), "%u", f->max_queues);
		xs_put(fb, fb->be, "multi-queue-max-queues", v);
	}
	xs_put(fb, fb->be, "state", "1");
	assert_int_equal(p->ops->evt_open(p, &fb->evt), 0);
}

void fb_set_state(struct fake_back *fb, int state)
{
	char v[8];

	snprintf(v, sizeof(v), "%d", state);
	xs_put(fb, fb->be, "state", v);
}

int fb_fe_state(struct fake_back *fb)
{
	return (int)fe_long(fb, "state", -1);
}

static void *map_ring(struct fake_back *fb, uint32_t ref)
{
	void *addr = NULL;
	int16_t st = -99;

	assert_int_equal(fb->p->ops->gnt_map(fb->p, 1, &fb->fe_domid, &ref, true, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);
	return addr;
}

void fb_connect(struct fake_back *fb)
{
	uint16_t i;

	fb->nq = (uint16_t)fe_long(fb, "multi-queue-num-queues", 1);
	assert_true(fb->nq >= 1 && fb->nq <= FB_MAX_QUEUES);
	for (i = 0; i < fb->nq; i++) {
		struct fb_queue *q = &fb->q[i];
		char k[64];
		const char *pre = "";
		long tx, rx, et, er, e;
		int rc;

		if (fb->nq > 1) {
			snprintf(k, sizeof(k), "queue-%u/", i);
			pre = k;
		}
#define KEY(name) ({ char b_[96]; snprintf(b_, sizeof(b_), "%s%s", pre, name); fe_long(fb, b_, -1); })
		tx = KEY("tx-ring-ref");
		rx = KEY("rx-ring-ref");
		et = KEY("event-channel-tx");
		er = KEY("event-channel-rx");
		e = KEY("event-channel");
#undef KEY
		assert_true(tx > 0 && rx > 0);
		q->tx_page = map_ring(fb, (uint32_t)tx);
		q->rx_page = map_ring(fb, (uint32_t)rx);
		assert_int_equal(sn_tx_back_attach(&q->tx, q->tx_page), 0);
		assert_int_equal(sn_rx_back_attach(&q->rx, q->rx_page), 0);
		if (et >= 0) {
			assert_true(er >= 0);
			q->fe_port_tx = (int)et;
			q->fe_port_rx = (int)er;
		} else {
			assert_true(e >= 0);
			q->fe_port_tx = q->fe_port_rx = (int)e;
		}
		rc = fb->p->ops->evt_bind_interdomain(fb->evt, fb->fe_domid, (sn_port_t)q->fe_port_tx);
		assert_true(rc >= 0);
		q->port_tx = q->port_rx = rc;
		if (q->fe_port_rx != q->fe_port_tx) {
			rc = fb->p->ops->evt_bind_interdomain(fb->evt, fb->fe_domid,
							      (sn_port_t)q->fe_port_rx);
			assert_true(rc >= 0);
			q->port_rx = rc;
		}
	}
}

void fb_disconnect(struct fake_back *fb)
{
	uint16_t i;

	for (i = 0; i < fb->nq; i++) {
		struct fb_queue *q = &fb->q[i];
		void *pages[2] = { q->tx_page, q->rx_page };
		int16_t st[2];

		if (q->tx_page)
			assert_int_equal(fb->p->ops->gnt_unmap(fb->p, 2, pages, st), 0);
		q->tx_page = q->rx_page = NULL;
		fb->p->ops->evt_unbind(fb->evt, (sn_port_t)q->port_tx);
		if (q->port_rx != q->port_tx)
			fb->p->ops->evt_unbind(fb->evt, (sn_port_t)q->port_rx);
	}
	fb->nq = 0;
}

void fb_kick(struct fake_back *fb, uint16_t qi)
{
	fb->p->ops->evt_notify(fb->evt, (sn_port_t)fb->q[qi].port_rx);
	if (fb->q[qi].port_tx != fb->q[qi].port_rx)
		fb->p->ops->evt_notify(fb->evt, (sn_port_t)fb->q[qi].port_tx);
}

void fb_poll_front(struct sn_front *nic, enum sn_front_event want, unsigned int tries)
{
	enum sn_front_event ev = SN_FRONT_EV_NONE;

	/* At least one poll, also when want is SN_FRONT_EV_NONE. */
	for (unsigned int i = 0; i < tries; i++) {
		assert_int_equal(sn_front_poll_ctrl(nic, &ev), 0);
		if (ev == want)
			break;
		poll(NULL, 0, 2);
	}
	assert_int_equal(ev, want);
}

void fb_copy_seg(struct fake_back *fb, bool from_fe, uint32_t ref, uint16_t off,
		 uint8_t *local, uint16_t len)
{
	sn_copy_seg s;

	memset(&s, 0, sizeof(s));
	if (from_fe) {
		s.source.foreign.domid = fb->fe_domid;
		s.source.foreign.ref = ref;
		s.source.foreign.offset = off;
		s.dest.virt = local;
		s.flags = GNTCOPY_source_gref;
	} else {
		s.dest.foreign.domid = fb->fe_domid;
		s.dest.foreign.ref = ref;
		s.dest.foreign.offset = off;
		s.source.virt = local;
		s.flags = GNTCOPY_dest_gref;
	}
	s.len = len;
	assert_int_equal(sn_gnt_copy(fb->p, 1, &s), 0);
	assert_int_equal(s.status, GNTST_okay);
}

/* One TX slot into local: from the staged mapping, else by grant copy. */
static void tx_slot_in(struct fake_back *fb, const struct netif_tx_request *r, uint16_t len,
		       uint8_t *local)
{
	uint8_t *m = fb->staged ? fb->staged(fb->staged_arg, r->gref) : NULL;

	if (m) {
		memcpy(local, m + r->offset, len);
		fb->st.tx_staged++;
	} else {
		fb_copy_seg(fb, true, r->gref, r->offset, local, len);
		fb->st.tx_copied++;
	}
}

/* local into the RX buffer ref at offset 0, the same two ways. */
static void rx_slot_out(struct fake_back *fb, uint32_t ref, uint8_t *local, uint32_t len)
{
	uint8_t *m = fb->staged ? fb->staged(fb->staged_arg, ref) : NULL;

	if (m) {
		memcpy(m, local, len);
		fb->st.rx_staged++;
	} else {
		fb_copy_seg(fb, false, ref, 0, local, (uint16_t)len);
		fb->st.rx_copied++;
	}
}

int fb_echo(struct fake_back *fb, uint16_t qi)
{
	struct fb_queue *q = &fb->q[qi];
	uint8_t *buf = malloc(70000);
	RING_IDX prod;
	int echoed = 0;

	assert_non_null(buf);
	prod = sn_tx_back_req_prod(&q->tx);
	while (q->tx.req_cons != prod) {
		struct netif_tx_request reqs[20], xr;
		struct netif_extra_info gso = { 0 };
		struct netif_tx_response rsp = { 0 };
		bool has_gso = false;
		unsigned int nd = 0, i, nslots, k;
		uint32_t total, first_len, off = 0, rest = 0;
		uint16_t f;

		sn_tx_back_copy_req(&q->tx, q->tx.req_cons++, &reqs[nd++]);
		if (reqs[0].flags & NETTXF_extra_info) {
			sn_tx_back_copy_req(&q->tx, q->tx.req_cons++, &xr);
			sn_extra_from_txreq(&xr, &gso);
			assert_int_equal(gso.type, XEN_NETIF_EXTRA_TYPE_GSO);
			has_gso = true;
			fb->st.gso_pkts++;
		}
		for (f = reqs[0].flags; f & NETTXF_more_data; f = reqs[nd - 1].flags) {
			assert_true(nd < 20);
			sn_tx_back_copy_req(&q->tx, q->tx.req_cons++, &reqs[nd++]);
		}
		total = reqs[0].size;
		for (i = 1; i < nd; i++)
			rest += reqs[i].size;
		assert_true(rest <= total);
		first_len = total - rest;
		if (nd > 1)
			fb->st.tx_multi_slot++;
		if (reqs[0].flags & NETTXF_csum_blank)
			fb->st.tx_csum_blank++;
		fb->st.last_gref = reqs[0].gref;
		fb->st.last_off = reqs[0].offset;
		for (i = 0; i < nd; i++) {
			uint16_t len = (uint16_t)(i ? reqs[i].size : first_len);

			assert_true(reqs[i].offset + len <= SN_PAGE_SIZE);
			tx_slot_in(fb, &reqs[i], len, buf + off);
			off += len;
		}
		/* Responses in slot order: data slots OKAY, the extra NULL. */
		for (i = 0; i < nd; i++) {
			rsp.id = reqs[i].id;
			rsp.status = NETIF_RSP_OKAY;
			sn_tx_back_put_rsp(&q->tx, &rsp);
			if (i == 0 && has_gso) {
				rsp.id = 0;
				rsp.status = NETIF_RSP_NULL;
				sn_tx_back_put_rsp(&q->tx, &rsp);
			}
		}

		/* Into RX: whole pages at offset 0, the GSO extra after the
		 * first slot, TX csum flags moved to their RX bits. */
		nslots = (total + SN_PAGE_SIZE - 1) / SN_PAGE_SIZE;
		if (!nslots)
			nslots = 1;
		assert_true(sn_rx_back_unconsumed(&q->rx, sn_rx_back_req_prod(&q->rx)) >=
			    nslots + has_gso);
		off = 0;
		for (k = 0; k < nslots; k++) {
			struct netif_rx_request rq;
			struct netif_rx_response rr = { 0 };
			uint32_t len = total - off < SN_PAGE_SIZE ? total - off : SN_PAGE_SIZE;

			sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
			rx_slot_out(fb, rq.gref, buf + off, len);
			rr.id = rq.id;
			rr.offset = 0;
			rr.status = (int16_t)len;
			if (k == 0) {
				if (reqs[0].flags & NETTXF_csum_blank)
					rr.flags |= NETRXF_csum_blank | NETRXF_data_validated;
				else if (reqs[0].flags & NETTXF_data_validated)
					rr.flags |= NETRXF_data_validated;
				if (has_gso)
					rr.flags |= NETRXF_extra_info;
			}
			if (k + 1 < nslots)
				rr.flags |= NETRXF_more_data;
			sn_rx_back_put_rsp(&q->rx, &rr);
			if (k == 0 && has_gso) {
				sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
				sn_rx_back_write_slot(&q->rx, q->rx.rsp_prod_pvt++, &gso, sizeof(gso));
			}
			off += len;
		}
		echoed++;
	}
	free(buf);
	if (sn_tx_back_push(&q->tx))
		fb->p->ops->evt_notify(fb->evt, (sn_port_t)q->port_tx);
	if (sn_rx_back_push(&q->rx))
		fb->p->ops->evt_notify(fb->evt, (sn_port_t)q->port_rx);
	return echoed;
}

int fb_world_setup(void **state)
{
	static uint16_t next = 2;
	struct fb_world *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->be = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 8192 });
	t->fe = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = 8192 });
	sn_test_pkts_alloc(&t->mem, t->pk, t->pp, 8);
	*state = t;
	return 0;
}

int fb_world_teardown(void **state)
{
	struct fb_world *t = *state;

	if (t->nic) {
		fb_disconnect(&t->fb);
		fb_set_state(&t->fb, XenbusStateClosed);
		sn_front_close(t->nic, 2000);
	}
	if (t->fb.evt)
		t->be->ops->evt_close(t->fb.evt);
	sn_plat_close(t->fe);
	sn_plat_close(t->be);
	free(t->mem);
	free(t);
	return 0;
}
