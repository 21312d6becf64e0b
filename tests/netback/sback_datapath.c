/* Staging grants end to end in the real netback: a crafted frontend gives
 * the backend a control ring, registers staging pages with ADD_GREF_MAPPING
 * and then names them in ordinary TX and RX requests.  The counters prove
 * staged 64-byte TX (copy and linux paths) and RX did no grant copy, map or
 * unmap; mixed packets, permission mismatches and DEL fall back to the
 * grant path; disconnect leaves nothing mapped. */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "common/peer_front.h"
#include "plat/emu/emu.h"
#include "plat/late_eoi.h"
#include "proto/ctrl.h"

#include <xen/io/xenbus.h>

#define NSTAGE 8u

struct sfe {
	struct h_fe fe;
	void *ctrl_page;
	uint32_t ctrl_ref;
	struct xen_netif_ctrl_front_ring ctrl;
	int ctrl_port;
	uint16_t next_id;
	uint8_t *stage; /* NSTAGE pages granted writable */
	uint32_t stage_ref[NSTAGE];
	struct xen_netif_gref *list;
	uint32_t list_ref;
};

/* These frontends offer no GSO. */
static const struct sn_peer_keys no_gso = { .k = {
	[SN_PEER_GSO_TCPV4] = SN_PEER_OMIT,
	[SN_PEER_GSO_TCPV6] = SN_PEER_OMIT,
} };

/* ... and ask for persist flags too (README "Persist flags"). */
static const struct sn_peer_keys no_gso_persist = { .k = {
	[SN_PEER_GSO_TCPV4] = SN_PEER_OMIT,
	[SN_PEER_GSO_TCPV6] = SN_PEER_OMIT,
	[SN_PEER_REQUEST_PERSIST] = SN_PEER_ON,
} };

/* The keys the next sfe_connect announces. */
static const struct sn_peer_keys *sfe_keys = &no_gso;

/* h_fe_connect plus the control ring keys.  with_evt = false leaves
 * event-channel-ctrl out (the connect must fail). */
static bool sfe_connect(struct h_ctx *t, struct sfe *s, uint16_t devid,
			bool with_evt)
{
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe *fe = &s->fe;
	struct h_fe_keys k = { .nq = 1, .ctrl = true, .keys = sfe_keys };

	memset(s, 0, sizeof(*s));
	s->next_id = 0x700;
	h_fe_alloc(t, fe, devid);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &s->ctrl_ref, &s->ctrl_page), 0);
	sn_ctrl_front_init(&s->ctrl, s->ctrl_page);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, NSTAGE, true, s->stage_ref,
					(void **)&s->stage), 0);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &s->list_ref,
					(void **)&s->list), 0);
	assert_int_equal(ops->evt_open(t->fplat, &fe->evt), 0);
	fe->port = ops->evt_alloc_unbound(fe->evt, 0);
	assert_true(fe->port >= 0);
	s->ctrl_port = ops->evt_alloc_unbound(fe->evt, 0);
	assert_true(s->ctrl_port >= 0);

	k.q[0].tx_ref = fe->tx_ref;
	k.q[0].rx_ref = fe->rx_ref;
	k.q[0].port = fe->port;
	k.ctrl_ref = s->ctrl_ref;
	k.ctrl_port = with_evt ? s->ctrl_port : -1;
	h_fe_announce(t, devid, &k);
	return h_wait_be_state(t, devid, XenbusStateConnected);
}

/* Close the vif; every page we granted must come back (the backend
 * unmapped the ring, the control ring and every staged gref). */
static void sfe_close(struct sfe *s)
{
	const struct sn_plat_ops *ops = s->fe.t->fplat->ops;
	struct sn_plat *fp = s->fe.t->fplat;

	h_fe_close(&s->fe);
	assert_int_equal(ops->shr_free(fp, s->stage, NSTAGE), 0);
	assert_int_equal(ops->shr_free(fp, s->list, 1), 0);
	assert_int_equal(ops->shr_free(fp, s->ctrl_page, 1), 0);
}

/* One control request, answered by the backend's control thread. */
static uint32_t ctrl_call(struct sfe *s, uint16_t type, uint32_t d0,
			  uint32_t d1, uint32_t d2, uint32_t *data)
{
	struct sn_plat *fp = s->fe.t->fplat;
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;
	int ms;

	sn_ctrl_req_make(&req, s->next_id++, type, d0, d1, d2);
	sn_ctrl_front_put_req(&s->ctrl, &req);
	if (sn_ctrl_front_push(&s->ctrl))
		fp->ops->evt_notify(s->fe.evt, (sn_port_t)s->ctrl_port);
	for (ms = 0; ms < 5000; ms++) {
		if (sn_ctrl_front_rsp_prod(&s->ctrl) != s->ctrl.rsp_cons)
			break;
		h_sleep_ms(1);
	}
	assert_int_equal(sn_ctrl_front_rsp_prod(&s->ctrl) - s->ctrl.rsp_cons, 1);
	sn_ctrl_front_copy_rsp(&s->ctrl, s->ctrl.rsp_cons++, &rsp);
	assert_true(sn_ctrl_rsp_matches(&rsp, &req));
	if (data)
		*data = rsp.data;
	return rsp.status;
}

static uint32_t stage_add(struct sfe *s, unsigned int n, const uint32_t *refs,
			  uint16_t flags)
{
	memset(s->list, 0, SN_PAGE_SIZE);
	for (unsigned int i = 0; i < n; i++) {
		s->list[i].ref = refs[i];
		s->list[i].flags = flags;
	}
	return ctrl_call(s, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, s->list_ref,
			 n, NULL);
}

static uint32_t stage_del(struct sfe *s, unsigned int n, const uint32_t *refs,
			  uint32_t *removed)
{
	memset(s->list, 0, SN_PAGE_SIZE);
	for (unsigned int i = 0; i < n; i++)
		s->list[i].ref = refs[i];
	return ctrl_call(s, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, s->list_ref,
			 n, removed);
}

/* Does the backend hold a pin (a mapping) on one of our grants? */
static bool fe_pinned(struct h_ctx *t, uint32_t ref)
{
	struct sn_emu *fe = (struct sn_emu *)t->fplat;

	return __atomic_load_n(&fe->gt.entries[ref].flags, __ATOMIC_SEQ_CST) &
	       (GTF_reading | GTF_writing);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 37 + i * 11 + 1);
}

struct snap {
	uint64_t copies, maps, unmaps, staged, unstaged, memcpy_bytes;
};

static struct snap snap(struct h_ctx *t)
{
	return (struct snap){
		.copies = h_stat(t, 0, SN_QS_grant_copies),
		.maps = h_stat(t, 0, SN_QS_grant_maps),
		.unmaps = h_stat(t, 0, SN_QS_grant_unmaps),
		.staged = h_stat(t, 0, SN_QS_staged_slots),
		.unstaged = h_stat(t, 0, SN_QS_unstaged_slots),
		.memcpy_bytes = h_stat(t, 0, SN_QS_memcpy_bytes),
	};
}

/* A 64-byte frame from a staged page, answered OKAY, delivered byte-exact,
 * with no grant operation at all. */
static void staged_tx_64(struct h_ctx *t, enum sn_back_tx_path path)
{
	struct sn_back_cfg cfg = { .tx_path = path };
	struct netif_tx_response rsp;
	struct sfe s;
	struct snap a, b;
	uint32_t data;

	h_back_start(t, &cfg);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(data, SN_BACK_STAGING_DEFAULT);
	assert_int_equal(stage_add(&s, NSTAGE, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_SUCCESS);
	/* The maximum, not what is left (netif.h). */
	assert_int_equal(data, SN_BACK_STAGING_DEFAULT);

	a = snap(t);
	for (unsigned int i = 0; i < 4; i++) {
		fill(s.stage + i * SN_PAGE_SIZE + 256, 64, i);
		h_tx_req(&s.fe, s.stage_ref[i], 256, 0, (uint16_t)(10 + i), 64);
	}
	h_tx_push(&s.fe);
	assert_int_equal(h_tx_wait(&s.fe, 4), 4);
	for (unsigned int i = 0; i < 4; i++) {
		h_tx_rsp(&s.fe, i, &rsp);
		assert_int_equal(rsp.id, 10 + i);
		assert_int_equal(rsp.status, NETIF_RSP_OKAY);
	}
	h_tx_consume(&s.fe, 4);
	assert_true(h_wait_caps(t, 4));
	pthread_mutex_lock(&t->b.sh.lock);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(t->b.sh.caps[i].len, 64);
		assert_memory_equal(t->b.sh.caps[i].data, s.stage + i * SN_PAGE_SIZE + 256, 64);
	}
	pthread_mutex_unlock(&t->b.sh.lock);
	b = snap(t);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(b.maps - a.maps, 0);
	assert_int_equal(b.unmaps - a.unmaps, 0);
	assert_int_equal(b.staged - a.staged, 4);
	assert_int_equal(b.unstaged - a.unstaged, 0);
	assert_int_equal(b.memcpy_bytes - a.memcpy_bytes, 4 * 64);

	sfe_close(&s);
	h_back_stop(t);
}

static void staged_tx_64_copy_path_no_grant_ops(void **state)
{
	staged_tx_64(*state, SN_BACK_TX_COPY);
}

static void staged_tx_64_linux_path_no_grant_ops(void **state)
{
	staged_tx_64(*state, SN_BACK_TX_LINUX);
}

static void post_rx(struct sfe *s, uint32_t gref, uint16_t id)
{
	struct netif_rx_request r = { .id = id, .gref = gref };

	sn_rx_front_put_req(&s->fe.rx, &r);
	if (sn_rx_front_push(&s->fe.rx))
		s->fe.t->fplat->ops->evt_notify(s->fe.evt, (sn_port_t)s->fe.port);
}

static void staged_rx_64_no_grant_ops(void **state)
{
	struct h_ctx *t = *state;
	struct netif_rx_response rsp;
	uint8_t pkt[64];
	struct sfe s;
	struct snap a, b;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, NSTAGE, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	a = snap(t);
	post_rx(&s, s.stage_ref[3], 33);
	fill(pkt, sizeof(pkt), 9);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&s.fe, 1), 1);
	h_rx_rsp(&s.fe, 0, &rsp);
	assert_int_equal(rsp.id, 33);
	assert_int_equal(rsp.status, 64);
	assert_int_equal(rsp.offset, 0);
	assert_memory_equal(s.stage + 3 * SN_PAGE_SIZE, pkt, 64);
	b = snap(t);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(b.maps - a.maps, 0);
	assert_int_equal(b.unmaps - a.unmaps, 0);
	assert_int_equal(b.staged - a.staged, 1);
	assert_int_equal(b.memcpy_bytes - a.memcpy_bytes, 64);
	s.fe.rx.rsp_cons++;
	sfe_close(&s);
	h_back_stop(t);
}

/* A Linux netfront with an XDP program (Reconfiguring, xdp-headroom 256,
 * Reconfigured, Connected): staged RX buffers get the data at the headroom
 * too, one packet in one staged slot, one spilling into a second. */
static void staged_rx_at_xdp_headroom(void **state)
{
	struct h_ctx *t = *state;
	struct netif_rx_response rsp;
	uint8_t small[64], big[4000];
	char dir[64];
	struct sfe s;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, NSTAGE, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/0", H_FE_DOMID);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "state", "%d",
				XenbusStateReconfiguring), 0);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "xdp-headroom", "256"), 0);
	assert_true(h_wait_be_state(t, 0, XenbusStateReconfigured));
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "state", "%d",
				XenbusStateConnected), 0);
	assert_true(h_wait_be_state(t, 0, XenbusStateConnected));

	memset(s.stage, 0xEE, (size_t)NSTAGE * SN_PAGE_SIZE);
	post_rx(&s, s.stage_ref[3], 33);
	post_rx(&s, s.stage_ref[4], 34);
	post_rx(&s, s.stage_ref[5], 35);
	fill(small, sizeof(small), 9);
	fill(big, sizeof(big), 10);
	h_inject(t, small, sizeof(small), 0, 0, 0);
	h_inject(t, big, sizeof(big), 0, 0, 0);
	assert_int_equal(h_rx_wait(&s.fe, 3), 3);
	h_rx_rsp(&s.fe, 0, &rsp);
	assert_int_equal(rsp.id, 33);
	assert_int_equal(rsp.offset, 256);
	assert_int_equal(rsp.status, 64);
	assert_memory_equal(s.stage + 3 * SN_PAGE_SIZE + 256, small, 64);
	h_rx_rsp(&s.fe, 1, &rsp);
	assert_int_equal(rsp.id, 34);
	assert_int_equal(rsp.offset, 256);
	assert_int_equal(rsp.status, SN_PAGE_SIZE - 256);
	assert_true(rsp.flags & NETRXF_more_data);
	assert_memory_equal(s.stage + 4 * SN_PAGE_SIZE + 256, big, SN_PAGE_SIZE - 256);
	h_rx_rsp(&s.fe, 2, &rsp);
	assert_int_equal(rsp.id, 35);
	assert_int_equal(rsp.offset, 0);
	assert_int_equal(rsp.status, 4000 - (SN_PAGE_SIZE - 256));
	assert_memory_equal(s.stage + 5 * SN_PAGE_SIZE, big + SN_PAGE_SIZE - 256,
			    4000 - (SN_PAGE_SIZE - 256));
	/* Nothing written in front of the data. */
	for (unsigned int i = 0; i < 256; i++) {
		assert_int_equal(s.stage[3 * SN_PAGE_SIZE + i], 0xEE);
		assert_int_equal(s.stage[4 * SN_PAGE_SIZE + i], 0xEE);
	}
	assert_int_equal(h_stat(t, 0, SN_QS_staged_slots), 3);
	s.fe.rx.rsp_cons += 3;
	sfe_close(&s);
	h_back_stop(t);
}

/* First slot staged, second an ordinary read-only grant: both paths in one
 * packet, delivered byte-exact. */
static void mixed_packet_staged_and_unstaged(void **state)
{
	struct h_ctx *t = *state;
	struct netif_tx_response rsp;
	uint8_t want[1000];
	struct sfe s;
	struct snap a, b;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, 2, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	fill(s.stage + 100, 600, 4);
	fill(s.fe.data + 5 * SN_PAGE_SIZE, 400, 5);
	memcpy(want, s.stage + 100, 600);
	memcpy(want + 600, s.fe.data + 5 * SN_PAGE_SIZE, 400);
	a = snap(t);
	h_tx_req(&s.fe, s.stage_ref[0], 100, NETTXF_more_data, 1, 1000);
	h_tx_req(&s.fe, s.fe.data_ref[5], 0, 0, 2, 400);
	h_tx_push(&s.fe);
	assert_int_equal(h_tx_wait(&s.fe, 2), 2);
	for (unsigned int i = 0; i < 2; i++) {
		h_tx_rsp(&s.fe, i, &rsp);
		assert_int_equal(rsp.status, NETIF_RSP_OKAY);
	}
	h_tx_consume(&s.fe, 2);
	assert_true(h_wait_caps(t, 1));
	pthread_mutex_lock(&t->b.sh.lock);
	assert_int_equal(t->b.sh.caps[0].len, 1000);
	assert_memory_equal(t->b.sh.caps[0].data, want, 1000);
	pthread_mutex_unlock(&t->b.sh.lock);
	b = snap(t);
	assert_int_equal(b.staged - a.staged, 1);
	assert_int_equal(b.unstaged - a.unstaged, 1);
	assert_true(b.copies - a.copies >= 1);
	assert_int_equal(b.memcpy_bytes - a.memcpy_bytes, 600);
	sfe_close(&s);
	h_back_stop(t);
}

/* A gref staged read-only does not fit RX: the grant path serves it (the
 * page itself is granted writable). */
static void readonly_staged_gref_on_rx_takes_grant_path(void **state)
{
	struct h_ctx *t = *state;
	struct netif_rx_response rsp;
	uint8_t pkt[64];
	struct sfe s;
	struct snap a, b;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, 1, s.stage_ref, XEN_NETIF_CTRLF_GREF_readonly),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	a = snap(t);
	post_rx(&s, s.stage_ref[0], 5);
	fill(pkt, sizeof(pkt), 3);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&s.fe, 1), 1);
	h_rx_rsp(&s.fe, 0, &rsp);
	assert_int_equal(rsp.status, 64);
	assert_memory_equal(s.stage, pkt, 64);
	b = snap(t);
	assert_int_equal(b.staged - a.staged, 0);
	assert_int_equal(b.unstaged - a.unstaged, 1);
	assert_int_equal(b.copies - a.copies, 1);
	s.fe.rx.rsp_cons++;
	sfe_close(&s);
	h_back_stop(t);
}

/* After DEL the gref is an ordinary grant again. */
static void deleted_gref_takes_grant_path(void **state)
{
	struct h_ctx *t = *state;
	struct netif_tx_response rsp;
	uint32_t removed;
	struct sfe s;
	struct snap a, b;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, 2, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(stage_del(&s, 1, s.stage_ref, &removed),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(removed, 1);
	assert_int_equal(s.list[0].status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	a = snap(t);
	fill(s.stage, 64, 1);
	h_tx_req(&s.fe, s.stage_ref[0], 0, 0, 1, 64);
	h_tx_push(&s.fe);
	assert_int_equal(h_tx_wait(&s.fe, 1), 1);
	h_tx_rsp(&s.fe, 0, &rsp);
	assert_int_equal(rsp.status, NETIF_RSP_OKAY);
	h_tx_consume(&s.fe, 1);
	assert_true(h_wait_caps(t, 1));
	b = snap(t);
	assert_int_equal(b.staged - a.staged, 0);
	assert_int_equal(b.unstaged - a.unstaged, 1);
	assert_int_equal(b.copies - a.copies, 1);
	sfe_close(&s);
	h_back_stop(t);
}

static void staging_max_zero_not_supported(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_off = true };
	struct sfe s;
	uint32_t data = 7;

	h_back_start(t, &cfg);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	assert_int_equal(stage_add(&s, 1, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	/* The hash messages still work. */
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(data, 128);
	sfe_close(&s);
	h_back_stop(t);
}

static void feature_ctrl_ring_offered(void **state)
{
	struct h_ctx *t = *state;
	char devs[8], dom[8], *val = NULL;
	const char *add[] = { "vif-add", "--domid", dom, "--devid", devs, NULL };
	const char *del[] = { "vif-del", "--domid", dom, "--devid", devs, NULL };
	unsigned int len;

	snprintf(devs, sizeof(devs), "%u", 3);
	snprintf(dom, sizeof(dom), "%u", H_FE_DOMID);
	h_back_start(t, NULL);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(h_wait_be_state(t, 3, XenbusStateInitWait));
	assert_int_equal(t->bplat->ops->xs_read(t->bplat, XBT_NULL,
		"/local/domain/0/backend/vif/7/3/feature-ctrl-ring", &val, &len), 0);
	assert_string_equal(val, "1");
	free(val);
	assert_int_equal(h_run_cli(del), 0);
	h_back_stop(t);
}

/* A ctrl-ring-ref without event-channel-ctrl fails the connect, with an
 * error in xenstore, as Linux netback does. */
static void ctrl_ref_without_evtchn_fails_connect(void **state)
{
	struct h_ctx *t = *state;
	char *val = NULL;
	unsigned int len;
	struct sfe s;

	h_back_start(t, NULL);
	assert_false(sfe_connect(t, &s, 0, false));
	assert_true(h_wait_be_state(t, 0, XenbusStateClosing));
	assert_int_equal(t->bplat->ops->xs_read(t->bplat, XBT_NULL,
		"/local/domain/0/backend/vif/7/0/error", &val, &len), 0);
	assert_non_null(strstr(val, "event-channel-ctrl"));
	free(val);
	sfe_close(&s);
	h_back_stop(t);
}

/* Disconnect with a full table of staged grefs: every page is revocable
 * afterwards (sfe_close asserts each shr_free). */
static void disconnect_unmaps_every_staged_gref(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = NSTAGE };
	uint32_t data;
	struct sfe s;

	h_back_start(t, &cfg);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, NSTAGE, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_SUCCESS);
	/* Full, and GET still answers the maximum (netif.h). */
	assert_int_equal(data, NSTAGE);
	/* While connected every staged page is pinned (mapped). */
	for (unsigned int i = 0; i < NSTAGE; i++)
		assert_true(fe_pinned(t, s.stage_ref[i]));
	sfe_close(&s);
	/* A frontend that comes back without DELs (it could not send them)
	 * finds empty tables: a pool sized from the maximum fits again. */
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				   0, 0, 0, &data), XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(data, NSTAGE);
	assert_int_equal(stage_add(&s, NSTAGE, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	sfe_close(&s);
	h_back_stop(t);
}

/* A control ring claiming more requests than it holds: the vif is
 * declared rogue (no more service), nothing crashes, and disconnect still
 * returns every page. */
static void rogue_ctrl_ring_disables_vif(void **state)
{
	struct h_ctx *t = *state;
	struct xen_netif_ctrl_sring *sr;
	struct sfe s;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	assert_int_equal(stage_add(&s, 2, s.stage_ref, 0),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	sr = s.ctrl_page;
	__atomic_store_n(&sr->req_prod, sr->rsp_prod + 200, __ATOMIC_RELEASE);
	t->fplat->ops->evt_notify(s.fe.evt, (sn_port_t)s.ctrl_port);
	assert_true(h_wait_disabled(t, 0));
	assert_int_equal(h_stat(t, 0, SN_QS_fatal_errors), 1);
	sfe_close(&s);
	h_back_stop(t);
}

/* Late EOI on the backend's control thread: the frontend kicks the
 * control channel in a tight, bounded loop with no request behind it.
 * Past SN_EVT_SPURIOUS_THRESHOLD spurious wake-ups in a row the channel
 * stays masked (ctrl_throttled counts every one past the threshold), and a
 * request afterwards is still answered. */
static void ctrl_kick_storm_throttled(void **state)
{
	struct h_ctx *t = *state;
	/* Six throttled wake-ups: 1 + 2 + ... + 32 ms of a masked channel
	 * in between, while masked kicks cost a few ns each. */
	const uint64_t target = SN_EVT_SPURIOUS_THRESHOLD + 6u;
	uint64_t kicks = 0, spur, throttled;
	uint32_t size = 0;
	struct sfe s;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	while (h_stat(t, 0, SN_QS_ctrl_spurious) < target && kicks < 1000000000u)
		for (unsigned int i = 0; i < 10000; i++, kicks++)
			t->fplat->ops->evt_notify(s.fe.evt, (sn_port_t)s.ctrl_port);
	spur = h_stat(t, 0, SN_QS_ctrl_spurious);
	throttled = h_stat(t, 0, SN_QS_ctrl_throttled);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "kicks %llu spurious %llu throttled %llu\n",
			(unsigned long long)kicks, (unsigned long long)spur,
			(unsigned long long)throttled);
	assert_true(spur >= target);
	if (throttled + SN_EVT_SPURIOUS_THRESHOLD < spur)
		fail_msg("%llu spurious wake-ups, %llu throttled: the storm is not held off",
			 (unsigned long long)spur, (unsigned long long)throttled);
	assert_int_equal(h_stat(t, 0, SN_QS_ctrl_requests), 0);
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, 0, 0, 0, &size),
			 XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_true(size > 0);
	assert_int_equal(h_stat(t, 0, SN_QS_fatal_errors), 0);
	sfe_close(&s);
	h_back_stop(t);
}

/* The vif's own ring grefs, as the backend read them from xenstore at
 * connect, are never a staged buffer, a gref list or an RX buffer
 * (src/back/ring_grefs.h): the rule end to end through vif.c. */
static void ring_page_vif_rings_refused(void **state)
{
	struct h_ctx *t = *state;
	const uint32_t inval = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	struct netif_rx_response rsp;
	uint32_t refs[2], removed = 0xdead;
	uint8_t pkt[64];
	struct sfe s;

	h_back_start(t, NULL);
	assert_true(sfe_connect(t, &s, 0, true));
	refs[0] = s.stage_ref[0];
	refs[1] = s.fe.tx_ref;
	assert_int_equal(stage_add(&s, 2, refs, 0), inval);
	refs[1] = s.fe.rx_ref;
	assert_int_equal(stage_add(&s, 2, refs, 0), inval);
	refs[1] = s.ctrl_ref;
	assert_int_equal(stage_add(&s, 2, refs, 0), inval);
	assert_false(fe_pinned(t, s.stage_ref[0]));
	assert_int_equal(stage_add(&s, 1, refs, 0), XEN_NETIF_CTRL_STATUS_SUCCESS);
	/* A DEL whose list is the TX ring page: nothing removed. */
	assert_int_equal(ctrl_call(&s, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0,
				   s.fe.tx_ref, 1, &removed), inval);
	assert_int_equal(removed, 0);
	assert_true(fe_pinned(t, s.stage_ref[0]));

	/* RX into the TX ring page: that packet fails, the next arrives. */
	post_rx(&s, s.fe.tx_ref, 7);
	post_rx(&s, s.stage_ref[0], 8);
	fill(pkt, sizeof(pkt), 3);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&s.fe, 2), 2);
	h_rx_rsp(&s.fe, 0, &rsp);
	assert_int_equal(rsp.id, 7);
	assert_int_equal(rsp.status, NETIF_RSP_ERROR);
	h_rx_rsp(&s.fe, 1, &rsp);
	assert_int_equal(rsp.id, 8);
	assert_int_equal(rsp.status, 64);
	assert_memory_equal(s.stage, pkt, 64);
	s.fe.rx.rsp_cons += 2;
	sfe_close(&s);
	h_back_stop(t);
}

/* Both designs in one table (README "Persist flags"): an ADDed gref named
 * without the flag is a plain hit, never unmapped; a flagged gref is a
 * persist entry that ADD cannot register again and DEL can remove. */
static void persist_and_add_share_one_table(void **state)
{
	struct h_ctx *t = *state;
	struct netif_tx_response rsp;
	uint32_t pref, removed = 0;
	struct sfe s;
	struct snap a, b;

	h_back_start(t, NULL);
	sfe_keys = &no_gso_persist;
	assert_true(sfe_connect(t, &s, 0, true));
	sfe_keys = &no_gso;
	assert_int_equal(stage_add(&s, 4, s.stage_ref, 0), XEN_NETIF_CTRL_STATUS_SUCCESS);
	pref = s.fe.data_ref[30];

	a = snap(t);
	fill(s.stage, 64, 1);
	h_tx_req(&s.fe, s.stage_ref[0], 0, 0, 1, 64);
	fill(s.fe.data + 30 * SN_PAGE_SIZE, 64, 2);
	h_tx_req(&s.fe, pref, 0, SN_NETTXF_persist, 2, 64);
	h_tx_push(&s.fe);
	assert_int_equal(h_tx_wait(&s.fe, 2), 2);
	for (unsigned int i = 0; i < 2; i++) {
		h_tx_rsp(&s.fe, i, &rsp);
		assert_int_equal(rsp.status, NETIF_RSP_OKAY);
	}
	h_tx_consume(&s.fe, 2);
	b = snap(t);
	assert_int_equal(b.staged - a.staged, 2);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(b.maps - a.maps, 1); /* the persist first sight */
	assert_int_equal(h_stat(t, 0, SN_QS_persist_unmaps), 0);
	assert_true(fe_pinned(t, s.stage_ref[0]));
	assert_true(fe_pinned(t, pref));

	/* A persisted gref is in the table: ADD refuses it (a duplicate),
	 * DEL removes it like any entry. */
	assert_int_equal(stage_add(&s, 1, &pref, XEN_NETIF_CTRLF_GREF_readonly),
			 XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	assert_int_equal(stage_del(&s, 1, &pref, &removed), XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(removed, 1);
	assert_false(fe_pinned(t, pref));
	sfe_close(&s);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(staged_tx_64_copy_path_no_grant_ops),
		cmocka_unit_test(staged_tx_64_linux_path_no_grant_ops),
		cmocka_unit_test(staged_rx_64_no_grant_ops),
		cmocka_unit_test(staged_rx_at_xdp_headroom),
		cmocka_unit_test(mixed_packet_staged_and_unstaged),
		cmocka_unit_test(readonly_staged_gref_on_rx_takes_grant_path),
		cmocka_unit_test(deleted_gref_takes_grant_path),
		cmocka_unit_test(staging_max_zero_not_supported),
		cmocka_unit_test(feature_ctrl_ring_offered),
		cmocka_unit_test(ctrl_ref_without_evtchn_fails_connect),
		cmocka_unit_test(disconnect_unmaps_every_staged_gref),
		cmocka_unit_test(rogue_ctrl_ring_disables_vif),
		cmocka_unit_test(ctrl_kick_storm_throttled),
		cmocka_unit_test(ring_page_vif_rings_refused),
		cmocka_unit_test(persist_and_add_share_one_table),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
