/* Guest-RX of netback against a hand-driven frontend: response i in slot i
 * with the request's id, multi-slot packets, GSO extra and csum flags
 * (checked with proto's frontend-side validator), the bounded backlog,
 * the XSA-392 head-of-line drop, and notification suppression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/main.h"
#include "common/peer_front.h"
#include "proto/rxrsp.h"

static void rx_packets_land_in_posted_slots_byte_exact(void **state)
{
	struct h_ctx *t = *state;
	static const uint32_t lens[] = { 60, 1500, 9000, 65535, 4096, 4097 };
	uint8_t *buf[6];
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 1);
	h_rx_post(&fe, 64);
	for (unsigned int i = 0; i < 6; i++) {
		buf[i] = malloc(lens[i]);
		h_fill(buf[i], lens[i], i + 1);
		h_inject(t, buf[i], lens[i],
			 i == 3 ? SN_PKT_CSUM_PARTIAL | SN_PKT_GSO :
			 i == 1 ? SN_PKT_CSUM_VALID : 0,
			 i == 3 ? 1448 : 0, i == 3 ? XEN_NETIF_GSO_TYPE_TCPV4 : 0);
	}
	/* 1 + 1 + 3 + (16 + GSO extra) + 1 + 2 slots. */
	assert_int_equal(h_rx_wait(&fe, 25), 25);
	h_fe_expect_rx(&fe, buf[0], lens[0], 0, false, 0);
	h_fe_expect_rx(&fe, buf[1], lens[1], NETRXF_data_validated, false, 0);
	h_fe_expect_rx(&fe, buf[2], lens[2], 0, false, 0);
	h_fe_expect_rx(&fe, buf[3], lens[3], NETRXF_csum_blank | NETRXF_data_validated,
		  true, 1448);
	h_fe_expect_rx(&fe, buf[4], lens[4], 0, false, 0);
	h_fe_expect_rx(&fe, buf[5], lens[5], 0, false, 0);
	assert_int_equal(h_stat(t, 1, SN_QS_rx_pkts), 6);
	assert_int_equal(h_stat(t, 1, SN_QS_rx_bytes), 60 + 1500 + 9000 + 65535 + 4096 + 4097);
	assert_true(h_stat(t, 1, SN_QS_grant_copy_batches) <= h_stat(t, 1, SN_QS_grant_copies));
	for (unsigned int i = 0; i < 6; i++)
		free(buf[i]);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* XSA-392: a head packet that needs more slots than the frontend ever
 * posts is dropped after the drain time; the next one still gets through. */
static void rx_head_dropped_when_frontend_posts_too_few_xsa392(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .rx_drain_ms = 50 };
	uint8_t big[9000], small[100];
	struct h_fe fe;

	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 2);
	h_fill(big, sizeof(big), 9);
	h_fill(small, sizeof(small), 10);
	h_rx_post(&fe, 1);
	h_inject(t, big, sizeof(big), 0, 0, 0);
	h_inject(t, small, sizeof(small), 0, 0, 0);
	assert_int_equal(h_rx_wait(&fe, 1), 1);
	h_fe_expect_rx(&fe, small, sizeof(small), 0, false, 0);
	assert_int_equal(h_stat(t, 2, SN_QS_rx_drop_no_slots), 1);
	assert_int_equal(h_stat(t, 2, SN_QS_rx_pkts), 1);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* A port that cannot be back-pressured meets a backlog capped at 4
 * packets: the excess is dropped and counted, the 4 are delivered once
 * the frontend posts buffers. */
static void rx_backlog_bounded_in_packets(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .rx_queue_pkts = 4, .rx_drain_ms = 10000 };
	uint8_t pkt[10][200];
	struct h_fe fe;

	t->b.sh.flood = true; /* an always-readable port fd */
	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 3);
	for (unsigned int i = 0; i < 10; i++) {
		h_fill(pkt[i], 200, 20 + i);
		h_inject(t, pkt[i], 200, 0, 0, 0);
	}
	for (int ms = 0; ms < 5000 && h_stat(t, 3, SN_QS_rx_drop_queue_full) < 6; ms++)
		h_sleep_ms(1);
	assert_int_equal(h_stat(t, 3, SN_QS_rx_drop_queue_full), 6);
	h_rx_post(&fe, 16);
	assert_int_equal(h_rx_wait(&fe, 4), 4);
	for (unsigned int i = 0; i < 4; i++)
		h_fe_expect_rx(&fe, pkt[i], 200, 0, false, 0);
	assert_int_equal(h_stat(t, 3, SN_QS_rx_pkts), 4);
	h_fe_close(&fe);
	h_back_stop(t);
	t->b.sh.flood = false;
}

static void rx_backlog_bounded_in_bytes(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .rx_queue_bytes = 65536, .rx_drain_ms = 10000 };
	static uint8_t pkt[3][30000];
	struct h_fe fe;

	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 4);
	for (unsigned int i = 0; i < 3; i++) {
		h_fill(pkt[i], sizeof(pkt[i]), 40 + i);
		h_inject(t, pkt[i], sizeof(pkt[i]), 0, 0, 0);
	}
	for (int ms = 0; ms < 5000 && h_stat(t, 4, SN_QS_rx_drop_queue_full) < 1; ms++)
		h_sleep_ms(1);
	assert_int_equal(h_stat(t, 4, SN_QS_rx_drop_queue_full), 1);
	h_rx_post(&fe, 32);
	assert_int_equal(h_rx_wait(&fe, 16), 16);
	h_fe_expect_rx(&fe, pkt[0], sizeof(pkt[0]), 0, false, 0);
	h_fe_expect_rx(&fe, pkt[1], sizeof(pkt[1]), 0, false, 0);
	h_sleep_ms(20);
	assert_int_equal(sn_rx_front_rsp_prod(&fe.rx), fe.rx.rsp_cons);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* A frontend that set rsp_event far ahead does not want to hear about
 * responses: the backend pushes them without a notification. */
static void rx_no_notify_when_frontend_does_not_ask(void **state)
{
	struct h_ctx *t = *state;
	uint8_t pkt[300];
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 5);
	sn_rx_front_set_rsp_event(&fe.rx, fe.rx.rsp_cons + 1000);
	h_rx_post(&fe, 8);
	h_fill(pkt, sizeof(pkt), 3);
	for (unsigned int i = 0; i < 3; i++)
		h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&fe, 3), 3);
	assert_int_equal(h_stat(t, 5, SN_QS_notify_sent), 0);
	/* Asking for the next response gets exactly that notification. */
	fe.rx.rsp_cons += 3;
	sn_rx_front_set_rsp_event(&fe.rx, fe.rx.rsp_cons + 1);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&fe, 1), 1);
	for (int ms = 0; ms < 5000 && h_stat(t, 5, SN_QS_notify_sent) < 1; ms++)
		h_sleep_ms(1);
	assert_int_equal(h_stat(t, 5, SN_QS_notify_sent), 1);
	h_fe_expect_rx(&fe, pkt, sizeof(pkt), 0, false, 0);
	h_fe_close(&fe);
	h_back_stop(t);
}


/* XSA-361..367 on RX: a posted buffer whose grant is bogus fails its
 * packet (negative status, counted); the neighbours land. */
static void rx_failed_grant_fails_only_its_packet(void **state)
{
	struct h_ctx *t = *state;
	uint8_t pkt[3][100];
	struct sn_rxpkt p;
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 6);
	fe.rx_ref_tab[1] = 30000;
	h_rx_post(&fe, 3);
	for (unsigned int i = 0; i < 3; i++) {
		h_fill(pkt[i], 100, 50 + i);
		h_inject(t, pkt[i], 100, 0, 0, 0);
	}
	assert_int_equal(h_rx_wait(&fe, 3), 3);
	h_fe_expect_rx(&fe, pkt[0], 100, 0, false, 0);
	assert_int_equal(sn_rxrsp_parse_ring(&fe.rx, sn_rx_front_rsp_prod(&fe.rx), &p), 0);
	assert_int_equal(p.verdict, SN_RXRSP_ERROR);
	assert_int_equal(p.nr_slots, 1);
	assert_int_equal(p.slot[0].id, 1);
	fe.rx.rsp_cons += 1;
	h_fe_expect_rx(&fe, pkt[2], 100, 0, false, 0);
	assert_int_equal(h_stat(t, 6, SN_QS_rx_drop_grant), 1);
	assert_int_equal(h_stat(t, 6, SN_QS_rx_pkts), 2);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* A frontend that asked for multicast control gets only the multicast it
 * listed (none here): the rest is dropped and counted as rx_drop_mcast,
 * apart from what the port refused; unicast and broadcast pass. */
static void rx_unlisted_multicast_counted_by_reason(void **state)
{
	struct h_ctx *t = *state;
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = 1 };
	uint8_t uni[60], mc[60], bc[60];
	char dir[96];
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_alloc(t, &fe, 7);
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/7", H_FE_DOMID);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "request-multicast-control", "1"), 0);
	assert_int_equal(ops->evt_open(t->fplat, &fe.evt), 0);
	fe.port = ops->evt_alloc_unbound(fe.evt, 0);
	assert_true(fe.port >= 0);
	k.q[0].tx_ref = fe.tx_ref;
	k.q[0].rx_ref = fe.rx_ref;
	k.q[0].port = fe.port;
	h_fe_announce(t, 7, &k);
	assert_true(h_wait_be_state(t, 7, XenbusStateConnected));
	h_rx_post(&fe, 16);
	h_fill(uni, 60, 1);
	uni[0] = 0x02;
	h_fill(mc, 60, 2);
	memcpy(mc, "\x01\x00\x5e\x00\x00\x01", 6);
	h_fill(bc, 60, 3);
	memset(bc, 0xff, 6);
	h_inject(t, mc, 60, 0, 0, 0);
	h_inject(t, uni, 60, 0, 0, 0);
	h_inject(t, bc, 60, 0, 0, 0);
	assert_int_equal(h_rx_wait(&fe, 2), 2);
	h_fe_expect_rx(&fe, uni, 60, 0, false, 0);
	h_fe_expect_rx(&fe, bc, 60, 0, false, 0);
	assert_int_equal(h_stat(t, 7, SN_QS_rx_drop_mcast), 1);
	assert_int_equal(h_stat(t, 7, SN_QS_rx_drop_port), 0);
	assert_int_equal(h_stat(t, 7, SN_QS_rx_pkts), 2);
	h_fe_close(&fe);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rx_packets_land_in_posted_slots_byte_exact),
		cmocka_unit_test(rx_head_dropped_when_frontend_posts_too_few_xsa392),
		cmocka_unit_test(rx_backlog_bounded_in_packets),
		cmocka_unit_test(rx_backlog_bounded_in_bytes),
		cmocka_unit_test(rx_no_notify_when_frontend_does_not_ask),
		cmocka_unit_test(rx_failed_grant_fails_only_its_packet),
		cmocka_unit_test(rx_unlisted_multicast_counted_by_reason),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
