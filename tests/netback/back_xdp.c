/* XDP headroom of netback against a hand-driven frontend that behaves as
 * Linux netfront loading an XDP program: the backend offers
 * feature-xdp-headroom, answers Reconfiguring (7) with Reconfigured (8) and
 * Connected with Connected, and from then on every RX response's first slot
 * carries its data at offset xdp-headroom, byte-exact, with nothing written
 * in the headroom; out-of-range headrooms are clamped; the headroom written
 * before connecting counts too; and a TX XDP extra (type 5) is skipped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/main.h"
#include "common/peer_front.h"
#include "proto/rxrsp.h"

#define POISON 0xEE

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((seed * 131u) ^ (i * 7u) ^ (i >> 9));
}

static void fe_path(char *buf, size_t n, uint16_t devid)
{
	snprintf(buf, n, "/local/domain/%u/device/vif/%u", H_FE_DOMID, devid);
}

static void fe_state(struct h_ctx *t, uint16_t devid, int state)
{
	char dir[128];

	fe_path(dir, sizeof(dir), devid);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "state", "%d", state), 0);
}

/* Linux netfront's xennet_xdp_set: Reconfiguring, xdp-headroom, wait for
 * Reconfigured, Connected; the backend follows back to Connected.  val
 * NULL removes the key. */
static void reconfigure(struct h_ctx *t, uint16_t devid, const char *val)
{
	char dir[128], path[160];

	fe_path(dir, sizeof(dir), devid);
	fe_state(t, devid, XenbusStateReconfiguring);
	if (val) {
		assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "xdp-headroom",
					"%s", val), 0);
	} else {
		snprintf(path, sizeof(path), "%s/xdp-headroom", dir);
		t->fplat->ops->xs_rm(t->fplat, XBT_NULL, path);
	}
	assert_true(h_wait_be_state(t, devid, XenbusStateReconfigured));
	fe_state(t, devid, XenbusStateConnected);
	assert_true(h_wait_be_state(t, devid, XenbusStateConnected));
}

/* Parse the next packet off the RX ring as netfront would: slot i carries
 * id i, the first slot's data starts at off0 and every later one at 0, the
 * bytes before it are untouched, and the reassembled data equals want. */
static void expect_rx_at(struct h_fe *fe, const uint8_t *want, uint32_t len,
			 uint16_t off0)
{
	struct sn_rxpkt pkt;
	uint8_t *got = malloc(len ? len : 1);
	uint32_t off = 0;

	assert_non_null(got);
	assert_int_equal(sn_rxrsp_parse_ring(&fe->rx, sn_rx_front_rsp_prod(&fe->rx), &pkt), 0);
	assert_int_equal(pkt.verdict, SN_RXRSP_OK);
	assert_int_equal(pkt.len, len);
	for (unsigned int k = 0; k < pkt.nr_data; k++) {
		RING_IDX idx = sn_rxpkt_slot_idx(&pkt, k);
		uint16_t id = pkt.slot[k].id;
		uint8_t *page = fe->rxbuf + (size_t)id * SN_PAGE_SIZE;

		assert_int_equal(id, idx & (SN_RX_RING_SIZE - 1));
		assert_int_equal(pkt.slot[k].offset, k ? 0 : off0);
		assert_true(pkt.slot[k].offset + (uint32_t)pkt.slot[k].status <=
			    SN_PAGE_SIZE);
		for (unsigned int i = 0; i < pkt.slot[k].offset; i++)
			assert_int_equal(page[i], POISON);
		memcpy(got + off, page + pkt.slot[k].offset, (size_t)pkt.slot[k].status);
		off += (uint32_t)pkt.slot[k].status;
	}
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	fe->rx.rsp_cons += pkt.nr_slots;
	free(got);
}

/* Deliver one packet of len bytes (GSO when mss) and check it lands at
 * off0 in `slots` responses. */
static void rx_one(struct h_ctx *t, struct h_fe *fe, uint32_t len, uint16_t mss,
		   uint16_t off0, unsigned int slots, uint32_t seed)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	fill(buf, len, seed);
	memset(fe->rxbuf, POISON, (size_t)H_RX_PAGES * SN_PAGE_SIZE);
	h_rx_post(fe, slots);
	h_inject(t, buf, len, mss ? SN_PKT_CSUM_PARTIAL | SN_PKT_GSO : 0, mss,
		 mss ? XEN_NETIF_GSO_TYPE_TCPV4 : 0);
	assert_int_equal(h_rx_wait(fe, slots), slots);
	expect_rx_at(fe, buf, len, off0);
	free(buf);
}

static void xdp_headroom_offered(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	char *v;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 1);
	v = h_xs_r(t->bplat, "/local/domain/0/backend/vif/7/1", "feature-xdp-headroom");
	assert_non_null(v);
	assert_string_equal(v, "1");
	free(v);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* The 7/8 handshake, then every packet's first slot at the headroom: one
 * slot, a first slot filled to the page end exactly, one byte past it,
 * jumbo, 64 KiB GSO; headroom 0 again turns it off. */
static void xdp_reconfigure_offsets_every_rx_byte_exact(void **state)
{
	struct h_ctx *t = *state;
	static const uint16_t rooms[] = { 256, 1, 4000 };
	struct h_fe fe;
	uint32_t seed = 1;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 2);
	for (unsigned int r = 0; r < 3; r++) {
		uint16_t h = rooms[r];
		char val[16];

		snprintf(val, sizeof(val), "%u", h);
		reconfigure(t, 2, val);
		rx_one(t, &fe, 60, 0, h, sn_slots_span(60, h), seed++);
		rx_one(t, &fe, 1500, 0, h, sn_slots_span(1500, h), seed++);
		rx_one(t, &fe, SN_PAGE_SIZE - h, 0, h, 1, seed++);
		rx_one(t, &fe, SN_PAGE_SIZE - h + 1, 0, h, 2, seed++);
		rx_one(t, &fe, 9000, 0, h, sn_slots_span(9000, h), seed++);
		rx_one(t, &fe, 65535, 1448, h, sn_slots_span(65535, h) + 1, seed++);
	}
	reconfigure(t, 2, "0");
	rx_one(t, &fe, 1500, 0, 0, 1, seed++);
	rx_one(t, &fe, 9000, 0, 0, 3, seed++);
	assert_int_equal(h_stat(t, 2, SN_QS_rx_drop_port), 0);
	assert_int_equal(h_stat(t, 2, SN_QS_rx_pkts), 3 * 6 + 2);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* As Linux netback: no key or garbage means no headroom, above
 * XEN_NETIF_MAX_XDP_HEADROOM is clamped; and since the data must fit the
 * page, so is anything from a page up: the first slot then carries one
 * byte. */
static void xdp_bad_headroom_clamped(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 3);
	reconfigure(t, 3, "70000");
	rx_one(t, &fe, 100, 0, SN_PAGE_SIZE - 1, 2, 1);
	reconfigure(t, 3, "4096");
	rx_one(t, &fe, 1500, 0, SN_PAGE_SIZE - 1, 2, 2);
	reconfigure(t, 3, "0");
	reconfigure(t, 3, "99999999999");
	rx_one(t, &fe, 1500, 0, SN_PAGE_SIZE - 1, 2, 6);
	reconfigure(t, 3, "banana");
	rx_one(t, &fe, 1500, 0, 0, 1, 3);
	reconfigure(t, 3, "256");
	reconfigure(t, 3, NULL);
	rx_one(t, &fe, 1500, 0, 0, 1, 4);
	reconfigure(t, 3, "-1");
	rx_one(t, &fe, 1500, 0, 0, 1, 5);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* Without feature-sg a packet must fit the first slot after the headroom;
 * one that cannot is refused (counted), the next still arrives. */
static void xdp_headroom_without_sg(void **state)
{
	struct h_ctx *t = *state;
	uint8_t big[1500];
	struct h_fe fe;

	t->fe_keys.k[SN_PEER_SG] = SN_PEER_OMIT;
	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 4);
	reconfigure(t, 4, "3000");
	fill(big, sizeof(big), 7);
	h_inject(t, big, sizeof(big), 0, 0, 0);
	rx_one(t, &fe, SN_PAGE_SIZE - 3000, 0, 3000, 1, 8);
	assert_int_equal(h_stat(t, 4, SN_QS_rx_drop_port), 1);
	t->fe_keys.k[SN_PEER_SG] = SN_PEER_DEFAULT;
	h_fe_close(&fe);
	h_back_stop(t);
}

/* Linux netfront reconnecting with a program loaded writes xdp-headroom
 * before Connected and never goes through Reconfiguring. */
static void xdp_headroom_read_at_connect(void **state)
{
	struct h_ctx *t = *state;
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = 1 };
	struct h_fe fe;
	char dir[128];

	h_back_start(t, NULL);
	h_fe_alloc(t, &fe, 5);
	fe_path(dir, sizeof(dir), 5);
	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, dir, "xdp-headroom", "256"), 0);
	assert_int_equal(ops->evt_open(t->fplat, &fe.evt), 0);
	fe.port = ops->evt_alloc_unbound(fe.evt, 0);
	assert_true(fe.port >= 0);
	k.q[0].tx_ref = fe.tx_ref;
	k.q[0].rx_ref = fe.rx_ref;
	k.q[0].port = fe.port;
	h_fe_announce(t, 5, &k);
	assert_true(h_wait_be_state(t, 5, XenbusStateConnected));
	rx_one(t, &fe, 1500, 0, 256, 1, 1);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* The backend may answer Reconfigured before the headroom is written
 * (Linux netfront writes the state first); the value present when the
 * frontend returns to Connected is the one that counts.  Here it comes in
 * the same transaction as Connected, after Reconfigured was seen. */
static void xdp_headroom_written_late_read_on_return(void **state)
{
	struct h_ctx *t = *state;
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe fe;
	xs_transaction_t x;
	char dir[128];
	int rc;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 7);
	fe_path(dir, sizeof(dir), 7);
	fe_state(t, 7, XenbusStateReconfiguring);
	assert_true(h_wait_be_state(t, 7, XenbusStateReconfigured));
	do {
		assert_int_equal(ops->xs_txn_start(t->fplat, &x), 0);
		assert_int_equal(h_xs_w(t->fplat, x, dir, "xdp-headroom", "256"), 0);
		assert_int_equal(h_xs_w(t->fplat, x, dir, "state", "%d",
					XenbusStateConnected), 0);
		rc = ops->xs_txn_end(t->fplat, x, false);
	} while (rc == -EAGAIN);
	assert_int_equal(rc, 0);
	assert_true(h_wait_be_state(t, 7, XenbusStateConnected));
	rx_one(t, &fe, 1500, 0, 256, 1, 1);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* Reconfiguring before the vif is connected changes nothing (there is no
 * datapath to reconfigure); the connect that follows still works. */
static void xdp_reconfiguring_before_connect_ignored(void **state)
{
	struct h_ctx *t = *state;

	h_back_start(t, NULL);
	h_vif_add(t, 6);
	fe_state(t, 6, XenbusStateReconfiguring);
	h_sleep_ms(100);
	assert_int_equal(h_be_state(t, 6), XenbusStateInitWait);
	h_vif_close(t, 6);
	h_back_stop(t);
}

/* Linux netback takes any extra type below its MAX (6 since the XDP
 * extra): an XDP extra on a TX packet is skipped, the packet goes out. */
static void tx_xdp_extra_accepted_and_skipped(void **state)
{
	struct h_ctx *t = *state;
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_XDP };
	int16_t st[1024];
	struct h_fe fe;

	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 8);
	x.u.pad[0] = 256; /* u.xdp.headroom in newer headers */
	fill(fe.data, 200, 3);
	h_tx_req(&fe, fe.data_ref[0], 0, NETTXF_extra_info, 1, 200);
	h_tx_extra(&fe, &x);
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, 2, st), 1);
	assert_int_equal(st[1], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 1));
	pthread_mutex_lock(&t->b.sh.lock);
	assert_int_equal(t->b.sh.caps[0].len, 200);
	assert_memory_equal(t->b.sh.caps[0].data, fe.data, 200);
	pthread_mutex_unlock(&t->b.sh.lock);
	assert_int_equal(h_be_state(t, 8), XenbusStateConnected);
	h_caps_clear(t);
	h_fe_close(&fe);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xdp_headroom_offered),
		cmocka_unit_test(xdp_reconfigure_offsets_every_rx_byte_exact),
		cmocka_unit_test(xdp_bad_headroom_clamped),
		cmocka_unit_test(xdp_headroom_without_sg),
		cmocka_unit_test(xdp_headroom_read_at_connect),
		cmocka_unit_test(xdp_headroom_written_late_read_on_return),
		cmocka_unit_test(xdp_reconfiguring_before_connect_ignored),
		cmocka_unit_test(tx_xdp_extra_accepted_and_skipped),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
