/* The vif lifecycle as Linux netback runs it, against crafted frontends:
 * request-rx-copy required, Connected held until the hotplug script
 * reported, a backend restarted under a Connected frontend walks it
 * through a reconnect, and dynamic multicast control (on, off, on at
 * runtime; the list cleared by a reconnect; all-multicast past 64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/inproc.h"
#include "common/main.h"
#include "common/peer_front.h"
#include "proto/extra.h"

#define BE_DIR "/local/domain/0/backend/vif/7/"
#define FE_DIR "/local/domain/7/device/vif/"

static void paths(uint16_t devid, char *be, char *fe)
{
	snprintf(be, 64, BE_DIR "%u", devid);
	snprintf(fe, 64, FE_DIR "%u", devid);
}

/* Event channel and keys for fe's rings (fresh rings and channel: the
 * backend unbound the old one when it disconnected). */
static void announce(struct h_ctx *t, struct h_fe *fe)
{
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = 1 };

	if (fe->evt)
		ops->evt_close(fe->evt);
	assert_int_equal(ops->evt_open(t->fplat, &fe->evt), 0);
	fe->port = ops->evt_alloc_unbound(fe->evt, 0);
	assert_true(fe->port >= 0);
	sn_tx_front_init(&fe->tx, fe->tx_page);
	sn_rx_front_init(&fe->rx, fe->rx_page);
	k.q[0].tx_ref = fe->tx_ref;
	k.q[0].rx_ref = fe->rx_ref;
	k.q[0].port = fe->port;
	h_fe_announce(t, fe->devid, &k);
}

static void fe_state(struct h_ctx *t, uint16_t devid, int state)
{
	char be[64], fe[64];

	paths(devid, be, fe);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, fe, "state", "%d", state), 0);
}

/* ---- request-rx-copy ---------------------------------------------------- */

/* Linux netback refuses a frontend that does not ask for rx-copy (there is
 * no flipping): a xenbus error and Closing, never Connected. */
static void frontend_without_request_rx_copy_refused(void **state)
{
	struct h_ctx *t = *state;
	static const enum sn_peer_key how[] = { SN_PEER_OMIT, SN_PEER_OFF };
	char be[64], fe[64], *err;
	struct h_fe f;

	h_back_start(t, NULL);
	for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		memset(&t->fe_keys, 0, sizeof(t->fe_keys));
		t->fe_keys.k[SN_PEER_REQUEST_RX_COPY] = how[i];
		h_fe_alloc(t, &f, 20);
		paths(20, be, fe);
		announce(t, &f);
		assert_true(h_wait_be_state(t, 20, XenbusStateClosing));
		err = h_xs_r(t->fplat, be, "error");
		assert_non_null(err);
		assert_non_null(strstr(err, "request-rx-copy"));
		free(err);
		assert_int_equal(h_back_maps(t), 0);
		h_fe_close(&f);
	}
	memset(&t->fe_keys, 0, sizeof(t->fe_keys));
	h_back_stop(t);
}

/* ---- hotplug-status ----------------------------------------------------- */

/* With a hotplug script configured, Connected waits for the script's
 * hotplug-status = connected (the script here "sleeps" 2 s: the test
 * writes the key that much later); without one it does not wait. */
static void connected_waits_for_hotplug_status(void **state)
{
	struct h_ctx *t = *state;
	char be[64], fe[64];
	struct h_fe f;

	h_back_start(t, NULL);
	h_fe_alloc(t, &f, 21);
	paths(21, be, fe);
	/* What libxl writes for a vif with a script. */
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, be, "script", "/etc/xen/scripts/vif-bridge"), 0);
	announce(t, &f);
	for (int ms = 0; ms < 2000; ms += 10) {
		int s = h_be_state(t, 21);

		assert_true(s >= XenbusStateInitWait && s < XenbusStateConnected);
		h_sleep_ms(10);
	}
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, be, "hotplug-status", "error"), 0);
	h_sleep_ms(100);
	assert_true(h_be_state(t, 21) < XenbusStateConnected);
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, be, "hotplug-status", "connected"), 0);
	assert_true(h_wait_be_state(t, 21, XenbusStateConnected));
	h_fe_close(&f);

	/* vif-add's empty script: no hotplug, no wait. */
	h_fe_connect(t, &f, 21);
	h_fe_close(&f);
	h_back_stop(t);
}

/* ---- online ------------------------------------------------------------ */

/* A frontend that closes while the toolstack has set online = 0 (it is
 * removing the device) is not offered the vif again: Linux netback
 * unregisters the device.  Only the toolstack's vif-del/vif-add bring it
 * back. */
static void closed_while_offline_is_not_offered_again(void **state)
{
	struct h_ctx *t = *state;
	char be[64], fe[64], devs[8] = "25", dom[8];
	const char *del[] = { "vif-del", "--domid", dom, "--devid", devs, NULL };
	struct h_fe f;

	snprintf(dom, sizeof(dom), "%u", H_FE_DOMID);
	h_back_start(t, NULL);
	h_fe_connect(t, &f, 25);
	paths(25, be, fe);
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, be, "online", "0"), 0);
	fe_state(t, 25, XenbusStateClosed);
	assert_true(h_wait_be_state(t, 25, XenbusStateClosed));
	fe_state(t, 25, XenbusStateInitialising);
	h_sleep_ms(300);
	assert_int_equal(h_be_state(t, 25), XenbusStateClosed);
	assert_int_equal(h_run_cli(del), 0);
	h_fe_free(&f);

	/* Created again: served again. */
	h_fe_connect(t, &f, 25);
	h_fe_close(&f);
	h_back_stop(t);
}

/* ---- restart under a Connected frontend --------------------------------- */

/* A backend that finds the frontend Connected to rings an earlier backend
 * mapped does not re-attach them: Closing until the frontend closed (a
 * frontend that reads the state after Closing, Closed and InitWait were
 * written in one go sees only InitWait, which Linux netfront ignores while
 * Connected), then Closed, InitWait once the frontend is Initialising, and
 * it connects only after the frontend announced itself again. */
static void restart_under_connected_frontend_reconnects(void **state)
{
	struct h_ctx *t = *state;
	char be[64], fe[64];
	struct h_fe f;

	h_back_start(t, NULL);
	h_fe_connect(t, &f, 22);
	paths(22, be, fe);
	/* A backend that died: its last state (Connected) stays behind. */
	h_back_stop(t);
	assert_int_equal(h_back_maps(t), 0);
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, be, "state", "%d", XenbusStateConnected), 0);

	h_back_start(t, NULL);
	assert_true(h_wait_be_state(t, 22, XenbusStateClosing));
	/* The frontend has not reacted yet: Closing stays, no connect. */
	h_sleep_ms(300);
	assert_int_equal(h_be_state(t, 22), XenbusStateClosing);
	assert_int_equal(h_back_maps(t), 0);

	/* The frontend's reconnect: Closed (so is the backend), Initialising,
	 * then new keys. */
	fe_state(t, 22, XenbusStateClosed);
	assert_true(h_wait_be_state(t, 22, XenbusStateClosed));
	fe_state(t, 22, XenbusStateInitialising);
	assert_true(h_wait_be_state(t, 22, XenbusStateInitWait));
	announce(t, &f);
	assert_true(h_wait_be_state(t, 22, XenbusStateConnected));
	h_fe_close(&f);
	h_back_stop(t);
}

static uint32_t pkt_len(unsigned int i)
{
	return 60 + (i % 7) * 200;
}

static uint64_t staged_slots(struct sn_test_world *w, uint16_t q)
{
	struct sn_qstats st;

	assert_int_equal(sn_back_vif_stats(w->b.back, w->fe->domid, 0, q, &st), 0);
	return st.v[SN_QS_staged_slots];
}

/* The same with the real frontend library, two queues and page staging:
 * after the backend was killed under it and started again, the frontend
 * reconnects, registers its staging pools with the new backend over a new
 * control ring, and its staged datapath runs again. */
static void restart_under_real_frontend_rebuilds_staging(void **state)
{
	struct sn_test_world *w = sn_test_world_open(8192, pkt_len);
	enum sn_front_event ev = SN_FRONT_EV_NONE;
	char path[128];
	int64_t deadline;

	(void)state;
	sn_test_back_start(&w->b, w->be, 2, false);
	sn_test_front_connect(w->fe, &w->nic, 2, SN_STAGING_PAGE);
	assert_true(sn_front_queue_staged(w->nic, 0) && sn_front_queue_staged(w->nic, 1));
	sn_test_guest_tx(w->nic, &w->b, w->pp, 2, 128, 10000);
	assert_true(staged_slots(w, 0) > 0 && staged_slots(w, 1) > 0);

	/* Killed: nothing closed, Connected left behind. */
	sn_test_back_stop(&w->b);
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u/0", w->be->domid,
		 w->fe->domid);
	assert_int_equal(h_xs_w(w->be, XBT_NULL, path, "state", "%d", XenbusStateConnected), 0);

	atomic_store(&w->b.sh.got, 0);
	atomic_store(&w->b.sh.bad, 0);
	sn_test_back_start(&w->b, w->be, 2, false);
	deadline = sn_test_now_ms() + 10000;
	while (ev != SN_FRONT_EV_RECONNECTED && sn_test_now_ms() < deadline) {
		assert_int_equal(sn_front_poll_ctrl(w->nic, &ev), 0);
		if (ev != SN_FRONT_EV_RECONNECTED)
			h_sleep_ms(5);
	}
	assert_int_equal(ev, SN_FRONT_EV_RECONNECTED);
	assert_true(sn_front_queue_staged(w->nic, 0) && sn_front_queue_staged(w->nic, 1));
	sn_test_guest_tx(w->nic, &w->b, w->pp, 2, 128, 10000);
	assert_true(staged_slots(w, 0) > 0 && staged_slots(w, 1) > 0);
	sn_test_world_teardown((void **)&w);
}

/* ---- dynamic multicast control ------------------------------------------ */

static const uint8_t grp_a[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x07 };
static const uint8_t grp_b[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x08 };

/* Inject one frame to dst; true if the frontend received it, false if the
 * backend dropped it (filtered: rx_drop_mcast).  One RX request is kept
 * posted. */
static bool deliver(struct h_ctx *t, struct h_fe *fe, const uint8_t dst[6])
{
	uint8_t frame[60] = { 0 };
	uint64_t drops = h_stat(t, fe->devid, SN_QS_rx_drop_mcast);

	memcpy(frame, dst, 6);
	frame[6] = 0x02;
	frame[12] = 0x08;
	if (fe->rx.req_prod_pvt == fe->rx.rsp_cons)
		h_rx_post(fe, 1);
	h_inject(t, frame, sizeof(frame), 0, 0, 0);
	for (int ms = 0; ms < 5000; ms++) {
		if (sn_rx_front_rsp_prod(&fe->rx) != fe->rx.rsp_cons) {
			struct netif_rx_response r;

			h_rx_rsp(fe, 0, &r);
			fe->rx.rsp_cons++;
			assert_int_equal(r.status, (int16_t)sizeof(frame));
			/* Consumed: free the test port's injection slots. */
			h_caps_clear(t);
			return true;
		}
		if (h_stat(t, fe->devid, SN_QS_rx_drop_mcast) != drops) {
			h_caps_clear(t);
			return false;
		}
		h_sleep_ms(1);
	}
	fail_msg("frame neither delivered nor dropped");
	return false;
}

/* deliver() until it returns want (the control thread re-reads the key
 * when its watch fires); true if it did within 5 s. */
static bool eventually(struct h_ctx *t, struct h_fe *fe, const uint8_t dst[6], bool want)
{
	for (int i = 0; i < 500; i++) {
		if (deliver(t, fe, dst) == want)
			return true;
		h_sleep_ms(10);
	}
	return false;
}

static void mcast_ctrl(struct h_ctx *t, uint16_t devid, bool on)
{
	char be[64], fe[64];

	paths(devid, be, fe);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, fe, "request-multicast-control", "%d", on), 0);
}

/* n MCAST_ADD (or DEL) dummy requests, ids from id0; statuses into st. */
static void mcast_op(struct h_fe *fe, bool add, const uint8_t (*addr)[6], unsigned int n,
		     uint16_t id0, int16_t *st)
{
	struct netif_extra_info x;

	for (unsigned int i = 0; i < n; i++) {
		sn_extra_mcast_encode(&x, add, addr[i]);
		sn_extra_set_more(&x, false);
		h_tx_req(fe, fe->data_ref[0], 0, NETTXF_extra_info, (uint16_t)(id0 + i), 0);
		h_tx_extra(fe, &x);
	}
	h_tx_push(fe);
	assert_int_equal(h_tx_collect(fe, 2 * n, st), n);
}

static void multicast_on_off_on_and_reconnect_clears(void **state)
{
	struct h_ctx *t = *state;
	static int16_t st[1024];
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct h_fe f;

	h_back_start(t, NULL);
	h_fe_connect(t, &f, 23);
	/* Off: every multicast frame is delivered. */
	assert_true(deliver(t, &f, grp_a));
	assert_true(deliver(t, &f, grp_b));

	mcast_ctrl(t, 23, true);
	assert_true(eventually(t, &f, grp_b, false));
	mcast_op(&f, true, &grp_a, 1, 1, st);
	assert_int_equal(st[1], NETIF_RSP_OKAY);
	assert_true(deliver(t, &f, grp_a));
	assert_false(deliver(t, &f, grp_b));
	assert_true(deliver(t, &f, bcast));

	mcast_ctrl(t, 23, false);
	assert_true(eventually(t, &f, grp_b, true));
	assert_true(deliver(t, &f, grp_a));

	/* On again: the list the frontend built is still there. */
	mcast_ctrl(t, 23, true);
	assert_true(eventually(t, &f, grp_b, false));
	assert_true(deliver(t, &f, grp_a));

	/* DEL takes it out. */
	mcast_op(&f, false, &grp_a, 1, 2, st);
	assert_int_equal(st[2], NETIF_RSP_OKAY);
	assert_false(deliver(t, &f, grp_a));
	mcast_op(&f, true, &grp_a, 1, 3, st);
	assert_true(deliver(t, &f, grp_a));

	/* Reconnect on the same vif (no vif-del): the list is gone. */
	fe_state(t, 23, XenbusStateClosed);
	assert_true(h_wait_be_state(t, 23, XenbusStateClosed));
	fe_state(t, 23, XenbusStateInitialising);
	assert_true(h_wait_be_state(t, 23, XenbusStateInitWait));
	announce(t, &f);
	assert_true(h_wait_be_state(t, 23, XenbusStateConnected));
	/* request-multicast-control is still 1 from before. */
	assert_false(deliver(t, &f, grp_b));
	assert_false(deliver(t, &f, grp_a));
	h_fe_close(&f);
	h_back_stop(t);
}

/* Linux's list holds XEN_NETBK_MCAST_MAX (64) addresses: the 65th ADD is
 * answered ERROR; the vif then passes all multicast rather than drop a
 * group the guest joined. */
static void multicast_over_64_falls_back_to_all(void **state)
{
	struct h_ctx *t = *state;
	static int16_t st[1024];
	uint8_t addr[65][6];
	struct h_fe f;

	for (unsigned int i = 0; i < 65; i++) {
		memcpy(addr[i], grp_a, 6);
		addr[i][4] = 1;
		addr[i][5] = (uint8_t)i;
	}
	h_back_start(t, NULL);
	h_fe_connect(t, &f, 24);
	mcast_ctrl(t, 24, true);
	assert_true(eventually(t, &f, addr[64], false));
	mcast_op(&f, true, (const uint8_t (*)[6])addr, 64, 100, st);
	for (unsigned int i = 0; i < 64; i++)
		assert_int_equal(st[100 + i], NETIF_RSP_OKAY);
	assert_true(deliver(t, &f, addr[63]));
	assert_false(deliver(t, &f, addr[64]));
	assert_false(deliver(t, &f, grp_b));

	mcast_op(&f, true, (const uint8_t (*)[6])&addr[64], 1, 200, st);
	assert_int_equal(st[200], NETIF_RSP_ERROR);
	assert_true(deliver(t, &f, addr[64]));
	assert_true(deliver(t, &f, grp_b));
	h_fe_close(&f);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frontend_without_request_rx_copy_refused),
		cmocka_unit_test(connected_waits_for_hotplug_status),
		cmocka_unit_test(closed_while_offline_is_not_offered_again),
		cmocka_unit_test(restart_under_connected_frontend_reconnects),
		cmocka_unit_test(restart_under_real_frontend_rebuilds_staging),
		cmocka_unit_test(multicast_on_off_on_and_reconnect_clears),
		cmocka_unit_test(multicast_over_64_falls_back_to_all),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
