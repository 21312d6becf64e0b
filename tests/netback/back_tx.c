/* Guest-TX rules of netback, one hostile frontend per case: every drop and
 * fatal rule of src/proto/txreq.c written straight into the ring, asserting the
 * responses (ids, statuses, NULL for extras), the counters, and that a
 * rogue frontend stops being served while another vif keeps working. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "proto/extra.h"
#include "common/dom.h"
#include "common/main.h"
#include "common/peer_front.h"
#include "plat/late_eoi.h"

/* Page i of the frontend's TX data pool, filled with a per-page pattern. */
static uint8_t *page(struct h_fe *fe, unsigned int i)
{
	return fe->data + (size_t)i * SN_PAGE_SIZE;
}

static void fill_pages(struct h_fe *fe)
{
	for (unsigned int i = 0; i < H_DATA_PAGES; i++)
		for (unsigned int j = 0; j < SN_PAGE_SIZE; j++)
			page(fe, i)[j] = (uint8_t)(i * 31 + j * 7 + (j >> 8));
}

static void start(void **state, enum sn_back_tx_path path)
{
	struct sn_back_cfg cfg = { .tx_path = path };

	h_back_start(*state, &cfg);
}

static int setup_copy(void **state)
{
	start(state, SN_BACK_TX_COPY);
	return 0;
}

static int setup_linux(void **state)
{
	start(state, SN_BACK_TX_LINUX);
	return 0;
}

static int stop(void **state)
{
	h_back_stop(*state);
	return 0;
}

/* A plain single-slot packet of len bytes from page pg, id id. */
static void good_packet(struct h_fe *fe, unsigned int pg, uint16_t id, uint16_t len)
{
	h_tx_req(fe, fe->data_ref[pg], 0, 0, id, len);
}

static void expect_all(struct h_fe *fe, unsigned int n, const uint16_t *ids,
		       int16_t status)
{
	int16_t st[1024];

	assert_int_equal(h_tx_collect(fe, n, st), 0);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(st[ids[i]], status);
}

static void tx_drop_runt_first_slot(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	uint16_t ids[] = { 41, 42 };

	h_fe_connect(t, &fe, 10);
	fill_pages(&fe);
	good_packet(&fe, 0, 41, SN_ETH_HLEN - 1);
	good_packet(&fe, 1, 42, 60);
	h_tx_push(&fe);
	{
		int16_t st[1024];

		assert_int_equal(h_tx_collect(&fe, 2, st), 0);
		assert_int_equal(st[ids[0]], NETIF_RSP_ERROR);
		assert_int_equal(st[ids[1]], NETIF_RSP_OKAY);
	}
	assert_true(h_wait_caps(t, 1));
	assert_int_equal(h_ncaps(t), 1);
	assert_int_equal(t->b.sh.caps[0].len, 60);
	assert_memory_equal(t->b.sh.caps[0].data, page(&fe, 1), 60);
	assert_int_equal(h_stat(t, 10, SN_QS_tx_drop_malformed), 1);
	assert_int_equal(h_stat(t, 10, SN_QS_tx_pkts), 1);
	assert_false(sn_back_vif_disabled(t->b.back, H_FE_DOMID, 10));
	h_fe_close(&fe);
}

/* first + n continuation slots of 100 bytes each; ids 100.. */
static void sg_packet(struct h_fe *fe, unsigned int n, uint16_t id0)
{
	uint16_t total = (uint16_t)(100 * (n + 1));

	h_tx_req(fe, fe->data_ref[0], 0, NETTXF_more_data, id0, total);
	for (unsigned int i = 1; i <= n; i++)
		h_tx_req(fe, fe->data_ref[i], 0, i < n ? NETTXF_more_data : 0,
			 (uint16_t)(id0 + i), 100);
}

static void tx_drop_19_and_20_continuation_slots(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	int16_t st[1024];

	h_fe_connect(t, &fe, 11);
	fill_pages(&fe);
	/* 18 continuation slots: the most any backend must accept. */
	sg_packet(&fe, 18, 100);
	sg_packet(&fe, 19, 200);
	sg_packet(&fe, 20, 300);
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, 19 + 20 + 21, st), 0);
	for (unsigned int i = 0; i < 19; i++)
		assert_int_equal(st[100 + i], NETIF_RSP_OKAY);
	for (unsigned int i = 0; i < 20; i++)
		assert_int_equal(st[200 + i], NETIF_RSP_ERROR);
	for (unsigned int i = 0; i < 21; i++)
		assert_int_equal(st[300 + i], NETIF_RSP_ERROR);
	assert_int_equal(h_stat(t, 11, SN_QS_tx_drop_malformed), 2);
	assert_int_equal(h_stat(t, 11, SN_QS_tx_pkts), 1);
	assert_true(h_wait_caps(t, 1));
	assert_int_equal(t->b.sh.caps[0].len, 1900);
	for (unsigned int i = 0; i < 19; i++)
		assert_memory_equal(t->b.sh.caps[0].data + 100 * i, page(&fe, i), 100);
	assert_int_equal(h_stat(t, 11, SN_QS_fatal_errors), 0);
	h_fe_close(&fe);
}

static void tx_drop_continuation_larger_than_rest(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	uint16_t ids[] = { 7, 8 };

	h_fe_connect(t, &fe, 12);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_more_data, 7, 100);
	h_tx_req(&fe, fe.data_ref[1], 0, 0, 8, 200);
	h_tx_push(&fe);
	expect_all(&fe, 2, ids, NETIF_RSP_ERROR);
	assert_int_equal(h_stat(t, 12, SN_QS_tx_drop_malformed), 1);
	assert_int_equal(h_ncaps(t), 0);
	h_fe_close(&fe);
}

/* ---- fatal rules --------------------------------------------------------- */

/* The frontend wrote something only a rogue writes: the vif is disabled,
 * nothing is answered (not even earlier slots of the bad packet), the
 * counter says so, and later good packets are ignored. */
static void expect_fatal(struct h_ctx *t, struct h_fe *fe)
{
	assert_true(h_wait_disabled(t, fe->devid));
	assert_int_equal(h_stat(t, fe->devid, SN_QS_fatal_errors), 1);
	good_packet(fe, 0, 999, 60);
	h_tx_push(fe);
	fe->t->fplat->ops->evt_notify(fe->evt, (sn_port_t)fe->port);
	h_sleep_ms(50);
	assert_int_equal(sn_tx_front_rsp_prod(&fe->tx), 0);
	assert_int_equal(h_ncaps(t), 0);
	/* Still Connected in xenstore, like Linux: only the datapath stops. */
	assert_int_equal(h_be_state(t, fe->devid), XenbusStateConnected);
	h_fe_close(fe);
}

static void tx_fatal_req_prod_beyond_ring_xsa39(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 20);
	good_packet(&fe, 0, 1, 60);
	/* Claim 300 requests in a 256-slot ring. */
	__atomic_store_n(&fe.tx.sring->req_prod, 300, __ATOMIC_RELEASE);
	fe.tx.req_prod_pvt = 300;
	t->fplat->ops->evt_notify(fe.evt, (sn_port_t)fe.port);
	assert_true(h_wait_disabled(t, 20));
	assert_int_equal(sn_tx_front_rsp_prod(&fe.tx), 0);
	assert_int_equal(h_stat(t, 20, SN_QS_fatal_errors), 1);
	h_fe_close(&fe);
}

static void tx_fatal_extra_chain_past_req_prod(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 21);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_extra_info, 1, 60);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_extra_type(void **state, uint16_t devid, uint8_t type)
{
	struct h_ctx *t = *state;
	struct netif_extra_info x;
	struct h_fe fe;

	h_fe_connect(t, &fe, devid);
	memset(&x, 0, sizeof(x));
	x.type = type;
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_extra_info, 1, 60);
	h_tx_extra(&fe, &x);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_extra_type_none(void **state)
{
	tx_fatal_extra_type(state, 22, XEN_NETIF_EXTRA_TYPE_NONE);
}

static void tx_fatal_extra_type_max(void **state)
{
	tx_fatal_extra_type(state, 23, XEN_NETIF_EXTRA_TYPE_MAX);
}

static void tx_fatal_more_data_past_req_prod(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 24);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_more_data, 1, 300);
	h_tx_req(&fe, fe.data_ref[1], 0, NETTXF_more_data, 2, 100);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_21st_continuation_slot(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 25);
	sg_packet(&fe, 21, 100);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_continuation_crosses_page(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 26);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_more_data, 1, 300);
	h_tx_req(&fe, fe.data_ref[1], 4000, 0, 2, 200);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_first_crosses_page(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_fe_connect(t, &fe, 27);
	h_tx_req(&fe, fe.data_ref[0], 4000, 0, 1, 200);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_gso(void **state, uint16_t devid, uint16_t mss, uint8_t type)
{
	struct h_ctx *t = *state;
	struct netif_extra_info x;
	struct h_fe fe;

	h_fe_connect(t, &fe, devid);
	memset(&x, 0, sizeof(x));
	x.type = XEN_NETIF_EXTRA_TYPE_GSO;
	x.u.gso.size = mss;
	x.u.gso.type = type;
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_extra_info, 1, 1000);
	h_tx_extra(&fe, &x);
	h_tx_push(&fe);
	expect_fatal(t, &fe);
}

static void tx_fatal_gso_size_zero(void **state)
{
	tx_fatal_gso(state, 28, 0, XEN_NETIF_GSO_TYPE_TCPV4);
}

static void tx_fatal_gso_type_unknown(void **state)
{
	tx_fatal_gso(state, 29, 1400, 3);
}

/* A rogue frontend on one vif; the other vif keeps its service. */
static void tx_fatal_frontend_isolated_from_other_vif(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe bad, good;
	uint16_t id = 5;

	h_fe_connect(t, &bad, 30);
	h_fe_connect(t, &good, 31);
	fill_pages(&good);
	h_tx_req(&bad, bad.data_ref[0], 4000, 0, 1, 200);
	h_tx_push(&bad);
	assert_true(h_wait_disabled(t, 30));
	good_packet(&good, 3, 5, 200);
	h_tx_push(&good);
	expect_all(&good, 1, &id, NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 1));
	assert_memory_equal(t->b.sh.caps[0].data, page(&good, 3), 200);
	assert_false(sn_back_vif_disabled(t->b.back, H_FE_DOMID, 31));
	assert_int_equal(h_stat(t, 31, SN_QS_fatal_errors), 0);
	/* The rogue vif recovers through a normal reconnect. */
	h_fe_close(&bad);
	h_fe_close(&good);
	h_fe_connect(t, &bad, 30);
	fill_pages(&bad);
	good_packet(&bad, 2, 6, 100);
	h_tx_push(&bad);
	id = 6;
	expect_all(&bad, 1, &id, NETIF_RSP_OKAY);
	assert_false(sn_back_vif_disabled(t->b.back, H_FE_DOMID, 30));
	h_fe_close(&bad);
}

/* ---- accepted packets ----------------------------------------------------- */

/* SG with a GSO extra, csum_blank and a zero-size continuation (XSA-448):
 * one response per slot, NULL for the extra, bytes and offloads exact. */
static void tx_sg_gso_csum_zero_slot(void **state)
{
	struct h_ctx *t = *state;
	struct netif_tx_response r;
	struct netif_extra_info x;
	struct h_fe fe;
	bool seen[4] = { false };
	unsigned int nulls = 0;

	h_fe_connect(t, &fe, 40);
	fill_pages(&fe);
	assert_int_equal(sn_extra_gso_encode(&x, 1400, XEN_NETIF_GSO_TYPE_TCPV4), 0);
	sn_extra_set_more(&x, false);
	h_tx_req(&fe, fe.data_ref[0], 10,
		 NETTXF_csum_blank | NETTXF_extra_info | NETTXF_more_data, 1, 1300);
	h_tx_extra(&fe, &x);
	h_tx_req(&fe, fe.data_ref[1], 0, NETTXF_more_data, 2, 0);
	h_tx_req(&fe, fe.data_ref[2], 96, 0, 3, 1000);
	h_tx_push(&fe);
	assert_int_equal(h_tx_wait(&fe, 4), 4);
	for (unsigned int i = 0; i < 4; i++) {
		h_tx_rsp(&fe, i, &r);
		if (r.status == NETIF_RSP_NULL) {
			nulls++;
			continue;
		}
		assert_int_equal(r.status, NETIF_RSP_OKAY);
		assert_true(r.id >= 1 && r.id <= 3);
		assert_false(seen[r.id]);
		seen[r.id] = true;
	}
	h_tx_consume(&fe, 4);
	assert_int_equal(nulls, 1);
	assert_true(h_wait_caps(t, 1));
	assert_int_equal(t->b.sh.caps[0].len, 1300);
	assert_memory_equal(t->b.sh.caps[0].data, page(&fe, 0) + 10, 300);
	assert_memory_equal(t->b.sh.caps[0].data + 300, page(&fe, 2) + 96, 1000);
	assert_true(t->b.sh.caps[0].flags & SN_PKT_CSUM_PARTIAL);
	assert_true(t->b.sh.caps[0].flags & SN_PKT_GSO);
	assert_int_equal(t->b.sh.caps[0].gso_size, 1400);
	assert_int_equal(t->b.sh.caps[0].gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	h_fe_close(&fe);
}

static void tx_mcast_add_answered_with_null_extra(void **state)
{
	struct h_ctx *t = *state;
	static const uint8_t addr[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct netif_tx_response r;
	struct netif_extra_info x;
	struct h_fe fe;

	h_fe_connect(t, &fe, 41);
	sn_extra_mcast_encode(&x, true, addr);
	sn_extra_set_more(&x, false);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_extra_info, 9, 0);
	h_tx_extra(&fe, &x);
	h_tx_push(&fe);
	assert_int_equal(h_tx_wait(&fe, 2), 2);
	h_tx_rsp(&fe, 0, &r);
	assert_int_equal(r.id, 9);
	assert_int_equal(r.status, NETIF_RSP_OKAY);
	h_tx_rsp(&fe, 1, &r);
	assert_int_equal(r.status, NETIF_RSP_NULL);
	h_tx_consume(&fe, 2);
	assert_int_equal(h_ncaps(t), 0);
	h_fe_close(&fe);
}


/* XSA-361..367: one element of a batched grant op fails (a gref the
 * frontend never granted): only its packet is answered ERROR and counted,
 * its neighbours in the same batch are delivered. */
static void tx_failed_grant_fails_only_its_packet(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	int16_t st[1024];

	h_fe_connect(t, &fe, 42);
	fill_pages(&fe);
	good_packet(&fe, 0, 1, 300);
	/* 200 bytes in slot 0, 3000 in a continuation whose gref is bogus
	 * (beyond the 128-byte head: grant-mapped in linux mode). */
	h_tx_req(&fe, fe.data_ref[1], 0, NETTXF_more_data, 2, 3200);
	h_tx_req(&fe, 30000, 0, 0, 3, 3000);
	good_packet(&fe, 2, 4, 400);
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, 4, st), 0);
	assert_int_equal(st[1], NETIF_RSP_OKAY);
	assert_int_equal(st[2], NETIF_RSP_ERROR);
	assert_int_equal(st[3], NETIF_RSP_ERROR);
	assert_int_equal(st[4], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 2));
	assert_int_equal(h_ncaps(t), 2);
	assert_memory_equal(t->b.sh.caps[0].data, page(&fe, 0), 300);
	assert_memory_equal(t->b.sh.caps[1].data, page(&fe, 2), 400);
	assert_int_equal(h_stat(t, 42, SN_QS_tx_drop_grant), 1);
	assert_int_equal(h_stat(t, 42, SN_QS_fatal_errors), 0);
	assert_int_equal(h_stat(t, 42, SN_QS_grant_unmaps), h_stat(t, 42, SN_QS_grant_maps));
	h_fe_close(&fe);
}

/* XSA-332/391: a storm of notifications with nothing behind them is
 * counted as spurious and does not stop service. */
static void tx_event_storm_counted_and_survived(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	uint16_t id = 77;

	h_fe_connect(t, &fe, 43);
	fill_pages(&fe);
	for (int i = 0; i < 20000; i++)
		t->fplat->ops->evt_notify(fe.evt, (sn_port_t)fe.port);
	for (int ms = 0; ms < 5000 && h_stat(t, 43, SN_QS_spurious_events) == 0; ms++)
		h_sleep_ms(1);
	assert_true(h_stat(t, 43, SN_QS_spurious_events) > 0);
	good_packet(&fe, 5, 77, 64);
	h_tx_push(&fe);
	expect_all(&fe, 1, &id, NETIF_RSP_OKAY);
	h_fe_close(&fe);
}

/* XSA-332, late EOI: vif 45's frontend kicks its channel in a tight,
 * bounded loop with nothing posted, while vif 46 of the same backend sends
 * packets.  Past SN_EVT_SPURIOUS_THRESHOLD spurious wake-ups in a row the
 * stormed queue runs no idle busy-poll after one (spurious_polls stays at
 * the threshold however many there are) and keeps its channel masked
 * (evt_throttled counts every one past the threshold); the innocent vif
 * gets every packet answered and delivered intact; the stormer is still
 * served afterwards. */
static void tx_event_storm_throttled_innocent_served(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe storm, inn;
	const uint64_t target = 4u * SN_EVT_SPURIOUS_THRESHOLD + 4u;
	uint64_t kicks = 0, spur, polls, throttled;
	uint16_t ids[8], id = 99;
	unsigned int sent = 0;

	h_fe_connect(t, &storm, 45);
	h_fe_connect(t, &inn, 46);
	fill_pages(&storm);
	fill_pages(&inn);
	while (h_stat(t, 45, SN_QS_spurious_events) < target && kicks < 50000000u) {
		for (unsigned int i = 0; i < 10000; i++, kicks++)
			t->fplat->ops->evt_notify(storm.evt, (sn_port_t)storm.port);
		h_caps_clear(t);
		for (uint16_t i = 0; i < 8; i++) {
			ids[i] = i;
			good_packet(&inn, i, i, (uint16_t)(60 + 100 * i));
		}
		h_tx_push(&inn);
		expect_all(&inn, 8, ids, NETIF_RSP_OKAY);
		assert_true(h_wait_caps(t, 8));
		assert_int_equal(h_ncaps(t), 8);
		for (unsigned int i = 0; i < 8; i++) {
			assert_int_equal(t->b.sh.caps[i].len, 60 + 100 * i);
			assert_memory_equal(t->b.sh.caps[i].data, page(&inn, i), 60 + 100 * i);
		}
		sent += 8;
	}
	spur = h_stat(t, 45, SN_QS_spurious_events);
	polls = h_stat(t, 45, SN_QS_spurious_polls);
	throttled = h_stat(t, 45, SN_QS_evt_throttled);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "kicks %llu spurious %llu polls %llu throttled %llu, %u sent\n",
			(unsigned long long)kicks, (unsigned long long)spur,
			(unsigned long long)polls, (unsigned long long)throttled, sent);
	assert_true(spur >= target);
	if (polls > SN_EVT_SPURIOUS_THRESHOLD)
		fail_msg("%llu idle polls for %llu spurious events: each empty kick buys one",
			 (unsigned long long)polls, (unsigned long long)spur);
	assert_true(throttled + SN_EVT_SPURIOUS_THRESHOLD >= spur);
	assert_int_equal(h_stat(t, 46, SN_QS_tx_pkts), sent);
	assert_int_equal(h_stat(t, 45, SN_QS_fatal_errors), 0);
	assert_int_equal(h_stat(t, 46, SN_QS_fatal_errors), 0);
	/* The stormer's own request waits at most for its channel's delay. */
	good_packet(&storm, 5, 99, 64);
	h_tx_push(&storm);
	expect_all(&storm, 1, &id, NETIF_RSP_OKAY);
	h_fe_close(&inn);
	h_fe_close(&storm);
}

/* The frontend's domain dies without closing: the backend unmaps
 * everything (the frontend's pages can all be revoked... by the host),
 * goes Closed, and returns to InitWait when a new frontend announces
 * itself with Initialising. */
static void frontend_death_returns_vif_to_initwait(void **state)
{
	struct h_ctx *t = *state;
	char path[128];
	struct h_fe fe;

	h_fe_connect(t, &fe, 44);
	sn_plat_close(t->fplat); /* the domain is gone, rings and all */
	t->fplat = NULL;
	assert_true(h_wait_be_state(t, 44, XenbusStateClosed));
	/* The same domid comes back as a new domain. */
	t->fplat = sn_test_dom_open(H_FE_DOMID, NULL);
	assert_int_equal(sn_back_vif_state(t->b.back, H_FE_DOMID, 44), XenbusStateClosed);
	/* A stale Connected from the dead frontend does not reconnect. */
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/44/state", H_FE_DOMID);
	t->fplat->ops->xs_write(t->fplat, XBT_NULL, path, "4", 1);
	h_sleep_ms(50);
	assert_int_equal(h_be_state(t, 44), XenbusStateClosed);
	t->fplat->ops->xs_write(t->fplat, XBT_NULL, path, "1", 1);
	assert_true(h_wait_be_state(t, 44, XenbusStateInitWait));
	{
		const char *del[] = { "vif-del", "--domid", "7", "--devid", "44",
				      "--timeout-ms", "2000", NULL };

		assert_int_equal(h_run_cli(del), 0);
	}
}

/* The toolstack's rate ("bytes,usec"): packets beyond the window's credit
 * wait for the next window instead of being dropped. */
static void tx_rate_limit_defers_not_drops(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	int16_t st[1024];

	t->rate = "10000,2000000"; /* 10 kB per 2 s */
	h_fe_connect(t, &fe, 45);
	t->rate = NULL;
	for (uint16_t i = 0; i < 3; i++)
		good_packet(&fe, i, i, 4000);
	h_tx_push(&fe);
	assert_int_equal(h_tx_wait(&fe, 2), 2);
	h_sleep_ms(100);
	/* 4000 + 4000 fit the first window, the third needs the next. */
	assert_int_equal(sn_tx_front_rsp_prod(&fe.tx), 2);
	assert_int_equal(h_tx_collect(&fe, 3, st), 0);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(st[i], NETIF_RSP_OKAY);
	assert_int_equal(h_stat(t, 45, SN_QS_tx_pkts), 3);
	h_fe_close(&fe);
}

#define COPY(f) cmocka_unit_test_setup_teardown(f, setup_copy, stop)
#define LINUX(f) cmocka_unit_test_setup_teardown(f, setup_linux, stop)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		COPY(tx_drop_runt_first_slot),
		COPY(tx_drop_19_and_20_continuation_slots),
		LINUX(tx_drop_19_and_20_continuation_slots),
		COPY(tx_drop_continuation_larger_than_rest),
		COPY(tx_fatal_req_prod_beyond_ring_xsa39),
		COPY(tx_fatal_extra_chain_past_req_prod),
		COPY(tx_fatal_extra_type_none),
		COPY(tx_fatal_extra_type_max),
		COPY(tx_fatal_more_data_past_req_prod),
		COPY(tx_fatal_21st_continuation_slot),
		COPY(tx_fatal_continuation_crosses_page),
		COPY(tx_fatal_first_crosses_page),
		COPY(tx_fatal_gso_size_zero),
		COPY(tx_fatal_gso_type_unknown),
		COPY(tx_fatal_frontend_isolated_from_other_vif),
		COPY(tx_sg_gso_csum_zero_slot),
		LINUX(tx_sg_gso_csum_zero_slot),
		COPY(tx_mcast_add_answered_with_null_extra),
		COPY(tx_failed_grant_fails_only_its_packet),
		LINUX(tx_failed_grant_fails_only_its_packet),
		COPY(tx_event_storm_counted_and_survived),
		COPY(tx_event_storm_throttled_innocent_served),
		COPY(tx_rate_limit_defers_not_drops),
		/* Last: the emulator keeps its view of the dead domain 7. */
		COPY(frontend_death_returns_vif_to_initwait),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
