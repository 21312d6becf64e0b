/* Guest TX toward backends that offer less than Linux (the peer_keys.h
 * presets: QEMU's xen_nic with no SG and no GSO, FreeBSD netback with no
 * TCPv6 GSO and no IPv6 checksum offload, and Linux as the control): GSO
 * frames from the port reach each of them segmented in software where the
 * backend did not negotiate GSO for that IP version, each segment in one
 * slot where it has no SG, no GSO extra it did not offer, every checksum
 * valid (finished where csum_blank went), the payload whole and in order,
 * nothing dropped.  The scripted backend echoes every TX packet back into
 * RX, where the test reads it as the far side would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/main.h"
#include "common/peer_back.h"
#include "common/tcpframe.h"
#include "stagenet/front.h"

static void bring_up(struct fb_world *t, const struct fb_features *f)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = 1 };
	enum sn_front_event ev;

	fb_init(&t->fb, t->be, t->fe->domid, 0, f);
	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	fb_set_state(&t->fb, XenbusStateInitWait);
	assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateConnected);
	fb_connect(&t->fb);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_RECONNECTED, 50);
}

struct want {
	bool sg, gso4, gso6, csum6;
};

/* Send one frame (GSO when gso_size) and take back every echoed frame
 * into s; returns the TX packets the backend saw. */
static unsigned int send_and_take(struct fb_world *t, const uint8_t *f, uint32_t len,
				  uint16_t gso_size, struct tf_stream *s, bool sg)
{
	struct sn_pkt *p = t->pp[0];
	unsigned int echoed = 0;
	int n;

	memcpy(p->data, f, len);
	p->len = len;
	p->flags = SN_PKT_CSUM_PARTIAL;
	p->csum_start = p->csum_offset = 0;
	if (gso_size) {
		p->flags |= SN_PKT_GSO;
		p->gso_size = gso_size;
		p->gso_type = f[12] == 0x86 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4;
	}
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
	for (int tries = 0; tries < 200 && !tf_done(s); tries++) {
		echoed += (unsigned int)fb_echo(&t->fb, 0);
		for (unsigned int i = 0; i < 8; i++) {
			t->pk[i].cap = SN_PKT_BUF_SIZE;
			t->pk[i].len = 0;
			t->pk[i].flags = 0;
		}
		n = sn_front_rx_burst(t->nic, 0, t->pp, 8);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			if (!sg)
				assert_true(t->pk[i].len <= 1514);
			tf_take(s, t->pk[i].data, t->pk[i].len,
				t->pk[i].flags & SN_PKT_CSUM_PARTIAL);
		}
	}
	assert_true(tf_done(s));
	assert_int_equal(s->bad, 0);
	/* Collect the TX responses. */
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 0), 0);
	return echoed;
}

static void run_preset(struct fb_world *t, const struct sn_peer_keys *keys, struct want w)
{
	struct fb_features f = { .keys = *keys };
	uint8_t *f4 = malloc(SN_PKT_BUF_SIZE), *f6 = malloc(SN_PKT_BUF_SIZE), small[256];
	struct tf_stream s4 = { .want = f4 }, s6 = { .want = f6 }, ss = { .want = small };
	unsigned int blank6_before;

	bring_up(t, &f);
	s4.want_len = tf_build(f4, false, 60000, 1);
	s6.want_len = tf_build(f6, true, 30000, 2);
	ss.want_len = tf_build(small, true, 100, 3);
	assert_int_equal(send_and_take(t, f4, s4.want_len, 1448, &s4, w.sg),
			 w.gso4 && w.sg ? 1 : 42);
	blank6_before = t->fb.st.tx_csum_blank;
	assert_int_equal(send_and_take(t, f6, s6.want_len, 1440, &s6, w.sg),
			 w.gso6 && w.csum6 && w.sg ? 1 : 21);
	assert_int_equal(send_and_take(t, small, ss.want_len, 0, &ss, w.sg), 1);
	/* IPv6 went csum_blank only to a backend that takes it. */
	if (!w.csum6)
		assert_int_equal(t->fb.st.tx_csum_blank, blank6_before);
	if (!w.gso4 && !w.gso6)
		assert_int_equal(t->fb.st.gso_pkts, 0);
	if (!w.sg)
		assert_int_equal(t->fb.st.tx_multi_slot, 0);
	assert_int_equal(sn_front_queue_stats(t->nic, 0)->v[SN_QS_tx_drop_malformed], 0);
	assert_int_equal(sn_front_queue_stats(t->nic, 0)->v[SN_QS_fatal_errors], 0);
	free(f4);
	free(f6);
}

static void tx_linux_backend_gets_gso(void **state)
{
	static const struct sn_peer_keys linux_keys = { .k = {
		[SN_PEER_GSO_TCPV4] = SN_PEER_ON, [SN_PEER_GSO_TCPV6] = SN_PEER_ON } };

	run_preset(*state, &linux_keys,
		   (struct want){ .sg = true, .gso4 = true, .gso6 = true, .csum6 = true });
}

static void tx_qemu_backend_gets_single_slot_segments(void **state)
{
	run_preset(*state, &sn_peer_be_qemu, (struct want){ 0 });
}

static void tx_freebsd_backend_gets_tcpv6_segmented(void **state)
{
	run_preset(*state, &sn_peer_be_freebsd, (struct want){ .sg = true, .gso4 = true });
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tx_linux_backend_gets_gso,
						fb_world_setup, fb_world_teardown),
		cmocka_unit_test_setup_teardown(tx_qemu_backend_gets_single_slot_segments,
						fb_world_setup, fb_world_teardown),
		cmocka_unit_test_setup_teardown(tx_freebsd_backend_gets_tcpv6_segmented,
						fb_world_setup, fb_world_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
