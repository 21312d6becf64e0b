/* Guest RX toward frontends that offer less than Linux (the peer_keys.h
 * presets: FreeBSD netfront, MiniOS netfront, Windows with GSO off, and
 * Linux as the control): GSO frames from the port reach each of them
 * segmented in software where the frontend did not negotiate GSO for that
 * IP version, in one slot of at most MTU + 14 bytes where it did not
 * negotiate SG, csum_blank only where it may be sent, every checksum valid,
 * the payload whole and in order, and nothing dropped.  A non-GSO frame
 * over one page to a frontend without SG is the one counted drop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "common/peer_front.h"
#include "common/tcpframe.h"
#include "proto/extra.h"
#include "proto/rxrsp.h"

struct want {
	bool sg, gso4, gso6, csum6;
};

static void run_preset(struct h_ctx *t, const struct sn_peer_keys *keys, struct want w)
{
	uint8_t *f4 = malloc(SN_PKT_BUF_SIZE), *f6 = malloc(SN_PKT_BUF_SIZE);
	uint8_t *got = malloc(SN_PKT_BUF_SIZE), small[256];
	struct tf_stream s4 = { .want = f4 }, s6 = { .want = f6 }, ss = { .want = small };
	unsigned int frames = 0, oversize = 0, bad_flags = 0;
	struct h_fe fe;

	t->fe_keys = *keys;
	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 1);
	h_rx_post(&fe, 200);
	s4.want_len = tf_build(f4, false, 60000, 1);
	s6.want_len = tf_build(f6, true, 30000, 2);
	ss.want_len = tf_build(small, true, 100, 3);
	h_inject(t, f4, s4.want_len, SN_PKT_CSUM_PARTIAL | SN_PKT_GSO, 1448,
		 XEN_NETIF_GSO_TYPE_TCPV4);
	h_inject(t, f6, s6.want_len, SN_PKT_CSUM_PARTIAL | SN_PKT_GSO, 1440,
		 XEN_NETIF_GSO_TYPE_TCPV6);
	h_inject(t, small, ss.want_len, SN_PKT_CSUM_PARTIAL, 0, 0);
	for (int ms = 0; ms < 10000 && !(tf_done(&s4) && tf_done(&s6) && tf_done(&ss));) {
		struct sn_rxpkt pkt;
		uint32_t off = 0;
		bool blank, v6;

		if (sn_rxrsp_parse_ring(&fe.rx, sn_rx_front_rsp_prod(&fe.rx), &pkt)) {
			h_sleep_ms(1);
			ms++;
			continue;
		}
		assert_int_equal(pkt.verdict, SN_RXRSP_OK);
		for (unsigned int k = 0; k < pkt.nr_data; k++) {
			uint16_t id = pkt.slot[k].id;

			memcpy(got + off, fe.rxbuf + (size_t)id * SN_PAGE_SIZE + pkt.slot[k].offset,
			       (size_t)pkt.slot[k].status);
			off += (uint32_t)pkt.slot[k].status;
		}
		assert_int_equal(off, pkt.len);
		fe.rx.rsp_cons += pkt.nr_slots;
		frames++;
		v6 = got[12] == 0x86;
		blank = pkt.flags & NETRXF_csum_blank;
		if (blank && v6 && !w.csum6)
			bad_flags++;
		if (pkt.extra_mask & SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_GSO)) {
			uint16_t mss;
			uint8_t type;

			assert_int_equal(sn_extra_gso_decode(&pkt.extra[XEN_NETIF_EXTRA_TYPE_GSO],
							     &mss, &type), 0);
			if (type == XEN_NETIF_GSO_TYPE_TCPV4 ? !w.gso4 : !w.gso6)
				bad_flags++;
		}
		if (!w.sg && (pkt.nr_data != 1 || pkt.len > 1514))
			oversize++;
		tf_take(!v6 ? &s4 : !tf_done(&s6) ? &s6 : &ss, got, pkt.len, blank);
		/* Buffers back as they are used, as a frontend does. */
		h_rx_post(&fe, pkt.nr_slots);
	}
	assert_true(tf_done(&s4));
	assert_true(tf_done(&s6));
	assert_true(tf_done(&ss));
	assert_int_equal(s4.bad + s6.bad + ss.bad, 0);
	assert_int_equal(bad_flags, 0);
	assert_int_equal(oversize, 0);
	assert_int_equal(s4.frames, w.gso4 && w.sg ? 1 : 42);
	assert_int_equal(s6.frames, w.gso6 && w.csum6 && w.sg ? 1 : 21);
	assert_int_equal(h_stat(t, 1, SN_QS_rx_drop_port), 0);
	assert_int_equal(h_stat(t, 1, SN_QS_rx_pkts), frames);

	if (!w.sg) {
		/* No frame over one page can reach it unsegmented: the only
		 * drop, counted; what follows still arrives. */
		uint8_t *big = calloc(1, 9000);

		h_inject(t, big, 9000, 0, 0, 0);
		h_inject(t, small, ss.want_len, SN_PKT_CSUM_PARTIAL, 0, 0);
		assert_int_equal(h_rx_wait(&fe, 1), 1);
		assert_int_equal(h_stat(t, 1, SN_QS_rx_drop_port), 1);
		free(big);
	}
	h_fe_close(&fe);
	h_back_stop(t);
	free(f4);
	free(f6);
	free(got);
}

static void rx_linux_frontend_gets_gso(void **state)
{
	static const struct sn_peer_keys linux_keys = { .k = {
		[SN_PEER_IPV6_CSUM] = SN_PEER_ON } };

	run_preset(*state, &linux_keys,
		   (struct want){ .sg = true, .gso4 = true, .gso6 = true, .csum6 = true });
}

static void rx_freebsd_frontend_gets_tcpv6_segmented(void **state)
{
	run_preset(*state, &sn_peer_fe_freebsd, (struct want){ .sg = true, .gso4 = true });
}

static void rx_minios_frontend_gets_single_slot_segments(void **state)
{
	run_preset(*state, &sn_peer_fe_minios, (struct want){ 0 });
}

static void rx_windows_nogso_frontend_gets_segments(void **state)
{
	run_preset(*state, &sn_peer_fe_windows_nogso,
		   (struct want){ .sg = true, .csum6 = true });
}

/* feature-no-csum-offload applies to GSO frames too: segmented, every
 * checksum complete, no csum_blank at all. */
static void rx_no_csum_frontend_gets_complete_checksums(void **state)
{
	struct h_ctx *t = *state;
	static const struct sn_peer_keys keys = { .k = {
		[SN_PEER_NO_CSUM] = SN_PEER_ON, [SN_PEER_IPV6_CSUM] = SN_PEER_ON } };
	uint8_t *f4 = malloc(SN_PKT_BUF_SIZE), *got = malloc(SN_PKT_BUF_SIZE);
	struct tf_stream s4 = { .want = f4 };
	struct h_fe fe;

	t->fe_keys = keys;
	h_back_start(t, NULL);
	h_fe_connect(t, &fe, 1);
	h_rx_post(&fe, 200);
	s4.want_len = tf_build(f4, false, 20000, 4);
	h_inject(t, f4, s4.want_len, SN_PKT_CSUM_PARTIAL | SN_PKT_GSO, 1448,
		 XEN_NETIF_GSO_TYPE_TCPV4);
	for (int ms = 0; ms < 10000 && !tf_done(&s4);) {
		struct sn_rxpkt pkt;
		uint32_t off = 0;

		if (sn_rxrsp_parse_ring(&fe.rx, sn_rx_front_rsp_prod(&fe.rx), &pkt)) {
			h_sleep_ms(1);
			ms++;
			continue;
		}
		assert_int_equal(pkt.verdict, SN_RXRSP_OK);
		assert_false(pkt.flags & NETRXF_csum_blank);
		assert_false(pkt.extra_mask & SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_GSO));
		for (unsigned int k = 0; k < pkt.nr_data; k++) {
			memcpy(got + off, fe.rxbuf + (size_t)pkt.slot[k].id * SN_PAGE_SIZE +
					      pkt.slot[k].offset, (size_t)pkt.slot[k].status);
			off += (uint32_t)pkt.slot[k].status;
		}
		fe.rx.rsp_cons += pkt.nr_slots;
		tf_take(&s4, got, pkt.len, false);
	}
	assert_true(tf_done(&s4));
	assert_int_equal(s4.bad, 0);
	assert_int_equal(s4.frames, 14);
	assert_int_equal(h_stat(t, 1, SN_QS_rx_drop_port), 0);
	h_fe_close(&fe);
	h_back_stop(t);
	free(f4);
	free(got);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rx_linux_frontend_gets_gso),
		cmocka_unit_test(rx_freebsd_frontend_gets_tcpv6_segmented),
		cmocka_unit_test(rx_minios_frontend_gets_single_slot_segments),
		cmocka_unit_test(rx_windows_nogso_frontend_gets_segments),
		cmocka_unit_test(rx_no_csum_frontend_gets_complete_checksums),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
