/* Netfront against a scripted backend domain: the handshake keys and states,
 * byte-exact echo with offloads and multi-slot packets, multi-queue with
 * split event channels, reconnect, and every lie of a hostile backend
 * (XSA-405 family) ending in a broken queue, counted, without a crash. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/main.h"
#include "common/peer_back.h"
#include "common/toolstack.h"
#include "port/csum.h"
#include "stagenet/front.h"

/* Full handshake with the scripted backend; returns after both sides are
 * Connected. */
static void bring_up(struct fb_world *t, const struct fb_features *f, uint16_t queues,
		     bool no_split)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = queues, .no_split_evtchn = no_split };
	enum sn_front_event ev;

	fb_init(&t->fb, t->be, t->fe->domid, 0, f);
	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateInitialising);
	/* Nothing happens before the backend's InitWait. */
	assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateInitialising);
	fb_set_state(&t->fb, XenbusStateInitWait);
	assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateConnected);
	fb_connect(&t->fb);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_RECONNECTED, 50);
}

static void fill(struct sn_pkt *p, uint32_t len, unsigned int seed)
{
	uint32_t i;

	memset(p->data, 0, 14);
	p->data[12] = 0x08; /* IPv4 ethertype: not parsed, just plausible */
	for (i = 14; i < len; i++)
		p->data[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
	p->len = len;
	p->flags = 0;
}

static uint64_t qstat(struct fb_world *t, uint16_t q, enum sn_qstat c)
{
	return sn_front_queue_stats(t->nic, q)->v[c];
}

static int rx_all(struct fb_world *t, uint16_t q, unsigned int want)
{
	unsigned int got = 0, tries;
	int n;

	for (tries = 0; tries < 100 && got < want; tries++) {
		n = sn_front_rx_burst(t->nic, q, t->pp + got, want - got);
		assert_true(n >= 0);
		got += (unsigned int)n;
	}
	return (int)got;
}

/* ---- handshake ---------------------------------------------------------- */

static void handshake_writes_flat_keys_for_one_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .max_queues = 4, .gso = true };
	static const char *const one[] = { "request-rx-copy", "feature-rx-notify", "feature-sg",
					   "feature-gso-tcpv4", "feature-gso-tcpv6",
					   "feature-ipv6-csum-offload", "multi-queue-num-queues" };
	char *v;
	size_t i;

	bring_up(t, &f, 1, false);
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		v = fb_fe_read(&t->fb, one[i]);
		assert_non_null(v);
		assert_string_equal(v, "1");
		free(v);
	}
	v = fb_fe_read(&t->fb, "event-channel");
	assert_non_null(v);
	free(v);
	assert_null(fb_fe_read(&t->fb, "queue-0/tx-ring-ref"));
	assert_null(fb_fe_read(&t->fb, "event-channel-tx"));
	assert_int_equal(sn_front_num_queues(t->nic), 1);
	assert_int_equal(sn_front_mtu(t->nic), 9000);
	assert_int_equal(sn_front_mac(t->nic)[5], 1);
}

static void handshake_multi_queue_split_channels(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .max_queues = 2, .split = true };
	char *v;

	/* Asks for 4, the backend offers 2. */
	bring_up(t, &f, 4, false);
	assert_int_equal(sn_front_num_queues(t->nic), 2);
	v = fb_fe_read(&t->fb, "multi-queue-num-queues");
	assert_string_equal(v, "2");
	free(v);
	assert_null(fb_fe_read(&t->fb, "tx-ring-ref"));
	v = fb_fe_read(&t->fb, "queue-1/event-channel-rx");
	assert_non_null(v);
	free(v);
	assert_int_not_equal(t->fb.q[1].fe_port_tx, t->fb.q[1].fe_port_rx);
}

static void handshake_no_split_uses_shared_channel(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .split = true };
	char *v;

	bring_up(t, &f, 1, true);
	v = fb_fe_read(&t->fb, "event-channel");
	assert_non_null(v);
	free(v);
	assert_null(fb_fe_read(&t->fb, "event-channel-tx"));
	/* No multi-queue offer: no count key either (older backends). */
	assert_null(fb_fe_read(&t->fb, "multi-queue-num-queues"));
}

/* ---- datapath ---------------------------------------------------------- */

static void echo_is_byte_exact_with_offloads(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .gso = true };
	static const uint32_t sizes[] = { 60, 1514, 4096, 4097, 9000, 65535 };
	uint8_t *ref = malloc(65536);
	size_t i;

	assert_non_null(ref);
	bring_up(t, &f, 1, false);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct sn_pkt *p = t->pp[0];

		fill(p, sizes[i], (unsigned int)i);
		if (i % 2)
			p->flags |= SN_PKT_CSUM_PARTIAL;
		if (sizes[i] > 9000) {
			p->flags |= SN_PKT_GSO;
			p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
			p->gso_size = 1448;
		}
		memcpy(ref, p->data, sizes[i]);
		assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
		assert_int_equal(fb_echo(&t->fb, 0), 1);
		memset(p->data, 0xEE, sizes[i]);
		p->len = 0;
		p->flags = 0;
		assert_int_equal(rx_all(t, 0, 1), 1);
		assert_int_equal(p->len, sizes[i]);
		assert_memory_equal(p->data, ref, sizes[i]);
		assert_int_equal(!!(p->flags & SN_PKT_CSUM_PARTIAL), i % 2);
		if (sizes[i] > 9000) {
			assert_true(p->flags & SN_PKT_GSO);
			assert_int_equal(p->gso_size, 1448);
			assert_int_equal(p->gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
		} else {
			assert_false(p->flags & SN_PKT_GSO);
		}
	}
	/* Responses collected: every id and grant came back. */
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 0), 0);
	assert_int_equal(qstat(t, 0, SN_QS_tx_pkts), 6);
	assert_int_equal(qstat(t, 0, SN_QS_rx_pkts), 6);
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
	assert_int_equal(sn_front_quarantined(t->nic), 0);
	free(ref);
}

/* Ethernet with ntags VLAN tags (802.1ad outer, 802.1Q inner), IPv6, TCP
 * with 100 payload bytes, the checksum field seeded with the pseudo-header
 * sum as a CHECKSUM_PARTIAL packet carries it. */
static void ipv6_tcp_partial(struct sn_pkt *p, unsigned int ntags)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100 };
	uint8_t *d = p->data;
	uint32_t off = 12, l3, l4, i;
	struct sn_l4_loc loc;
	uint16_t seed;

	memset(d, 0, 128);
	memcpy(d, "\x00\x16\x3e\x00\x00\x02\x00\x16\x3e\x00\x00\x01", 12);
	for (i = 0; i < ntags; i++) {
		uint16_t t = ntags == 1 ? 0x8100 : tpid[i];

		d[off++] = (uint8_t)(t >> 8);
		d[off++] = (uint8_t)t;
		d[off++] = 0;
		d[off++] = (uint8_t)(10 + i); /* VID */
	}
	d[off++] = 0x86;
	d[off++] = 0xdd;
	l3 = off;
	d[l3] = 0x60;
	d[l3 + 5] = 120; /* payload length: TCP header + 100 */
	d[l3 + 6] = 6;
	d[l3 + 7] = 64;
	for (i = 0; i < 32; i++)
		d[l3 + 8 + i] = (uint8_t)(0x20 + i);
	l4 = l3 + 40;
	d[l4 + 1] = 80;
	d[l4 + 3] = 99;
	d[l4 + 12] = 5 << 4;
	d[l4 + 13] = 0x18;
	for (i = 0; i < 100; i++)
		d[l4 + 20 + i] = (uint8_t)(i * 7 + 1);
	p->len = l4 + 120;
	p->flags = SN_PKT_CSUM_PARTIAL;
	p->csum_start = p->csum_offset = 0;
	assert_int_equal(sn_l4_locate(d, p->len, &loc), 0);
	assert_int_equal(loc.l4_off, l4);
	seed = sn_l4_pseudo_csum(d, &loc, loc.l4_len);
	memcpy(d + l4 + 16, &seed, 2);
}

/* Send the frame with ntags tags through a backend with or without
 * feature-ipv6-csum-offload and receive its echo (the scripted backend
 * moves the request's csum flags to the response). */
static struct sn_pkt *ipv6_partial_echo(struct fb_world *t, unsigned int ntags)
{
	struct sn_pkt *p = t->pp[0];

	ipv6_tcp_partial(p, ntags);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	p->flags = 0;
	assert_int_equal(rx_all(t, 0, 1), 1);
	return p;
}

/* IPv6 checksum offload needs the backend's feature-ipv6-csum-offload;
 * without it the frontend finishes the sum and sends data_validated, also
 * when VLAN tags hide the IPv6 ethertype from a look at bytes 12-13. */
static void ipv6_csum_without_backend_feature_is_finished(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .no_ipv6_csum = true };
	unsigned int ntags;

	bring_up(t, &f, 1, false);
	for (ntags = 0; ntags <= 2; ntags++) {
		struct sn_pkt *p = ipv6_partial_echo(t, ntags);

		assert_false(p->flags & SN_PKT_CSUM_PARTIAL);
		assert_true(p->flags & SN_PKT_CSUM_VALID);
		assert_int_equal(sn_l4_csum_verify(p->data, p->len), 0);
	}
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
}

/* With the feature the same frames go out csum_blank, tags or not. */
static void ipv6_csum_with_backend_feature_is_offloaded(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	unsigned int ntags;

	bring_up(t, &f, 1, false);
	for (ntags = 0; ntags <= 2; ntags++)
		assert_true(ipv6_partial_echo(t, ntags)->flags & SN_PKT_CSUM_PARTIAL);
}

static void tx_fills_ring_then_recovers(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	unsigned int sent = 0, round;
	int n;

	bring_up(t, &f, 1, false);
	/* 9000-byte packets take 3 slots: the 256-slot ring takes 85. */
	for (round = 0; round < 40; round++) {
		unsigned int i;

		for (i = 0; i < 8; i++)
			fill(t->pp[i], 9000, round * 8 + i);
		n = sn_front_tx_burst(t->nic, 0, t->pp, 8);
		assert_true(n >= 0);
		sent += (unsigned int)n;
		if (n < 8)
			break;
	}
	assert_int_equal(sent, 85);
	/* Without the backend's responses nothing more fits... */
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 0);
	/* ...the backend consumes (echo; RX has room for 85 3-slot packets),
	 * and TX has room again. */
	assert_int_equal(fb_echo(&t->fb, 0), 85);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
}

static void gso_without_backend_feature_is_dropped(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct sn_pkt *p;

	bring_up(t, &f, 1, false);
	p = t->pp[0];
	fill(p, 3000, 1);
	p->flags = SN_PKT_GSO;
	p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p->gso_size = 1000;
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
	assert_int_equal(qstat(t, 0, SN_QS_tx_drop_malformed), 1);
	assert_int_equal(qstat(t, 0, SN_QS_tx_pkts), 0);
	assert_int_equal(fb_echo(&t->fb, 0), 0);
}

/* RX by copy is all the frontend does: a backend that leaves
 * feature-rx-copy out, or writes "0" (page flipping only), is refused
 * when it reaches InitWait, and nothing is granted to it. */
static void backend_without_rx_copy_is_refused(void **state)
{
	static const enum sn_peer_key how[] = { SN_PEER_OMIT, SN_PEER_OFF };
	struct fb_world *t = *state;
	enum sn_front_event ev;

	for (uint16_t devid = 0; devid < 2; devid++) {
		struct fb_features f = { .keys.k[SN_PEER_RX_COPY] = how[devid] };
		struct sn_front_cfg cfg = { .devid = devid, .queues = 1 };
		char *ref;

		fb_init(&t->fb, t->be, t->fe->domid, devid, &f);
		assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
		fb_set_state(&t->fb, XenbusStateInitWait);
		assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), -EPROTONOSUPPORT);
		ref = fb_fe_read(&t->fb, "tx-ring-ref");
		assert_null(ref);
		fb_set_state(&t->fb, XenbusStateClosed);
		sn_front_close(t->nic, 2000);
		t->nic = NULL;
		t->be->ops->evt_close(t->fb.evt);
		t->fb.evt = NULL;
	}
}

static void multi_queue_keeps_flow_on_its_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .max_queues = 2, .split = true };
	uint16_t q, seen = 0;
	unsigned int port;

	bring_up(t, &f, 2, false);
	for (port = 0; port < 64; port++) {
		struct sn_pkt *p = t->pp[0];
		uint16_t q2;

		fill(p, 80, port);
		p->data[12] = 0x08;
		p->data[13] = 0x00;
		p->data[14] = 0x45;           /* IPv4, ihl 5 */
		p->data[14 + 6] = 0;          /* not a fragment */
		p->data[14 + 7] = 0;
		p->data[14 + 9] = 17;         /* UDP */
		p->data[34] = (uint8_t)(port >> 8);
		p->data[35] = (uint8_t)port;
		q = sn_front_pick_queue(t->nic, p);
		assert_true(q < 2);
		q2 = sn_front_pick_queue(t->nic, p);
		assert_int_equal(q, q2);
		seen |= (uint16_t)(1u << q);
		assert_int_equal(sn_front_tx_burst(t->nic, q, t->pp, 1), 1);
		assert_int_equal(fb_echo(&t->fb, q), 1);
		assert_int_equal(rx_all(t, q, 1), 1);
		assert_int_equal(t->pp[0]->queue, q);
	}
	/* 64 flows over 2 queues use both. */
	assert_int_equal(seen, 3);
}

static void reconnects_after_backend_restart(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	char *old_ref, *new_ref;

	bring_up(t, &f, 1, false);
	old_ref = fb_fe_read(&t->fb, "tx-ring-ref");
	/* The backend goes away: unmaps, Closed. */
	fb_disconnect(&t->fb);
	fb_set_state(&t->fb, XenbusStateClosed);
	fb_poll_front(t->nic, SN_FRONT_EV_DOWN, 50);
	fill(t->pp[0], 100, 1);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), -ENOTCONN);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateInitialising);
	/* It comes back. */
	fb_set_state(&t->fb, XenbusStateInitWait);
	fb_poll_front(t->nic, SN_FRONT_EV_NONE, 50);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateConnected);
	fb_connect(&t->fb);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_RECONNECTED, 50);
	new_ref = fb_fe_read(&t->fb, "tx-ring-ref");
	assert_non_null(new_ref);
	free(old_ref);
	free(new_ref);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 100);
	assert_int_equal(sn_front_quarantined(t->nic), 0);
}

static void send_one(struct fb_world *t, uint32_t len);

static void stale_connected_backend_is_walked_through_closed(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };

	bring_up(t, &f, 1, false);
	/* A restarted backend flips to Initialising and straight back to
	 * Connected on the old rings: we tore ours down, so it must be made
	 * to close and come back through InitWait. */
	fb_set_state(&t->fb, XenbusStateInitialising);
	fb_poll_front(t->nic, SN_FRONT_EV_DOWN, 50);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_NONE, 50);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateClosed);
	fb_disconnect(&t->fb);
	fb_set_state(&t->fb, XenbusStateClosed);
	fb_poll_front(t->nic, SN_FRONT_EV_NONE, 50);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateInitialising);
	fb_set_state(&t->fb, XenbusStateInitWait);
	fb_poll_front(t->nic, SN_FRONT_EV_NONE, 50);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateConnected);
	fb_connect(&t->fb);
	fb_set_state(&t->fb, XenbusStateConnected);
	fb_poll_front(t->nic, SN_FRONT_EV_RECONNECTED, 50);
	send_one(t, 500);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 500);
}

static void tx_notifies_only_when_backend_asked(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_sring *s;
	uint64_t before;

	bring_up(t, &f, 1, false);
	s = t->fb.q[0].tx_page;
	/* Backend busy (event index far ahead): no kick. */
	__atomic_store_n(&s->req_event, __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED) + 1000,
			 __ATOMIC_SEQ_CST);
	before = qstat(t, 0, SN_QS_notify_sent);
	send_one(t, 100);
	send_one(t, 100);
	assert_int_equal(qstat(t, 0, SN_QS_notify_sent), before);
	/* Backend about to sleep (event = next request): exactly one kick. */
	__atomic_store_n(&s->req_event, __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_SEQ_CST);
	send_one(t, 100);
	assert_int_equal(qstat(t, 0, SN_QS_notify_sent), before + 1);
	send_one(t, 100);
	assert_int_equal(qstat(t, 0, SN_QS_notify_sent), before + 1);
}

struct closer {
	struct sn_front *nic;
};

static void *close_thread(void *arg)
{
	struct closer *c = arg;

	sn_front_close(c->nic, 10000);
	return NULL;
}

static void wait_fe_state(struct fb_world *t, int want)
{
	int i;

	for (i = 0; i < 500 && fb_fe_state(&t->fb) != want; i++)
		poll(NULL, 0, 10);
	assert_int_equal(fb_fe_state(&t->fb), want);
}

static void close_waits_for_backend_before_revoking(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct closer c;
	pthread_t tid;

	bring_up(t, &f, 1, false);
	c.nic = t->nic;
	assert_int_equal(pthread_create(&tid, NULL, close_thread, &c), 0);
	/* Closing first, and it stays there while we still map the rings. */
	wait_fe_state(t, XenbusStateClosing);
	poll(NULL, 0, 50);
	assert_int_equal(fb_fe_state(&t->fb), XenbusStateClosing);
	fb_disconnect(&t->fb);
	fb_set_state(&t->fb, XenbusStateClosing);
	wait_fe_state(t, XenbusStateClosed);
	fb_set_state(&t->fb, XenbusStateClosed);
	pthread_join(tid, NULL);
	t->nic = NULL;
}

static bool node_exists(struct sn_plat *p, const char *path)
{
	char *v = NULL;
	unsigned int len;
	int rc = p->ops->xs_read(p, XBT_NULL, path, &v, &len);

	free(v);
	return rc != -ENOENT;
}

/* The toolstack removes both directories once the backend has closed (xl
 * network-detach): the frontend must not re-create its own with a lone
 * state key, neither when it notices the backend gone nor when it
 * closes. */
static void removed_device_leaves_no_ghost_state(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	enum sn_front_event ev;
	char dev[64];

	/* libxl gives the guest its own device/ directory, and xenstored
	 * makes the guest owner of device/vif too: a write of ours could
	 * re-create the vif's directory. */
	snprintf(dev, sizeof(dev), "/local/domain/%u/device/vif", t->fe->domid);
	sn_test_toolstack(&(struct sn_test_ts_dir){ .path = dev, .owner = t->fe->domid }, 1,
			  NULL, 0);
	bring_up(t, &f, 1, false);
	fb_disconnect(&t->fb);
	sn_test_toolstack_rm((const char *const[]){ t->fb.be, t->fb.fe }, 2);
	assert_int_equal(sn_front_poll_ctrl(t->nic, &ev), 0);
	assert_int_equal(ev, SN_FRONT_EV_DOWN);
	assert_false(node_exists(t->fe, t->fb.fe));
	sn_front_close(t->nic, 2000);
	t->nic = NULL;
	assert_false(node_exists(t->fe, t->fb.fe));
}

/* ---- hostile backend ------------------------------------------------------ */

static void send_one(struct fb_world *t, uint32_t len)
{
	fill(t->pp[0], len, 7);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 1), 1);
}

static void tx_take(struct fb_world *t, struct netif_tx_request *req)
{
	struct fb_queue *q = &t->fb.q[0];

	sn_tx_back_copy_req(&q->tx, q->tx.req_cons++, req);
}

static void tx_answer(struct fb_world *t, uint16_t id, int16_t status)
{
	struct netif_tx_response r = { .id = id, .status = status };

	sn_tx_back_put_rsp(&t->fb.q[0].tx, &r);
	sn_tx_back_push(&t->fb.q[0].tx);
}

static void assert_broken(struct fb_world *t)
{
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 0), -EIO);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), -EIO);
	assert_true(sn_front_queue_broken(t->nic, 0));
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 1);
}

static void tx_unknown_id_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_request req;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	tx_take(t, &req);
	tx_answer(t, (uint16_t)(req.id ^ 1), NETIF_RSP_OKAY); /* never sent */
	assert_broken(t);
	/* Later lies are not counted again. */
	tx_answer(t, 999, NETIF_RSP_OKAY);
	assert_broken(t);
}

static void tx_out_of_range_id_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_request req;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	tx_take(t, &req);
	tx_answer(t, 4000, NETIF_RSP_OKAY);
	assert_broken(t);
}

static void tx_duplicate_id_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_request a, b;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	send_one(t, 100);
	tx_take(t, &a);
	tx_take(t, &b);
	tx_answer(t, a.id, NETIF_RSP_OKAY);
	tx_answer(t, a.id, NETIF_RSP_OKAY);
	assert_broken(t);
}

static void tx_rsp_prod_jump_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_sring *s;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	s = t->fb.q[0].tx_page;
	/* Also rewrite the shared req_prod: the check must not trust it. */
	__atomic_store_n(&s->req_prod, 10000u, __ATOMIC_RELEASE);
	__atomic_store_n(&s->rsp_prod, 50u, __ATOMIC_RELEASE);
	assert_broken(t);
}

static void tx_grant_held_after_response_quarantines(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_request req;
	void *addr = NULL;
	int16_t st = -99;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	tx_take(t, &req);
	/* Map the fragment and keep it while claiming to be done. */
	assert_int_equal(t->be->ops->gnt_map(t->be, 1, &t->fe->domid, &req.gref, false, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);
	tx_answer(t, req.id, NETIF_RSP_OKAY);
	assert_broken(t);
	assert_true(sn_front_quarantined(t->nic) >= 1);
	assert_int_equal(t->be->ops->gnt_unmap(t->be, 1, &addr, &st), 0);
}

static void tx_grant_is_ended_after_response(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_tx_request req;
	void *addr = NULL;
	int16_t st = 0;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	tx_take(t, &req);
	tx_answer(t, req.id, NETIF_RSP_OKAY);
	assert_int_equal(sn_front_tx_burst(t->nic, 0, t->pp, 0), 0);
	/* The fragment's grant died with its response: no standing access. */
	t->be->ops->gnt_map(t->be, 1, &t->fe->domid, &req.gref, false, &addr, &st);
	assert_int_not_equal(st, GNTST_okay);
	assert_null(addr);
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
}

static void rx_answer(struct fb_world *t, uint16_t offset, uint16_t flags, int16_t status)
{
	struct fb_queue *q = &t->fb.q[0];
	struct netif_rx_request rq;
	struct netif_rx_response r = { 0 };

	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	r.id = rq.id;
	r.offset = offset;
	r.flags = flags;
	r.status = status;
	sn_rx_back_put_rsp(&q->rx, &r);
}

/* offset + size past the page: Linux netfront drops the packet and counts
 * it (rx_errors); the slot is our own buffer, so nothing leaks. */
static void rx_crossing_page_drops_packet_only(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };

	bring_up(t, &f, 1, false);
	rx_answer(t, 4000, 0, 200);
	sn_rx_back_push(&t->fb.q[0].rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), 0);
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_malformed), 1);
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
	assert_false(sn_front_queue_broken(t->nic, 0));
	send_one(t, 300);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 300);
}

/* Bad responses between good ones: each bad one costs its packet only, the
 * packets around it arrive intact and in order. */
static void rx_errors_amid_traffic_keep_queue_serving(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	unsigned int i;

	bring_up(t, &f, 1, false);
	send_one(t, 100);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	rx_answer(t, 0, 0, -1);
	rx_answer(t, 100, 0, 4000);
	send_one(t, 200);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	rx_answer(t, 0, 0, NETIF_RSP_ERROR);
	sn_rx_back_push(&t->fb.q[0].rx);
	send_one(t, 300);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 3), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(t->pp[i]->len, 100 * (i + 1));
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_grant), 2);
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_malformed), 1);
	assert_int_equal(qstat(t, 0, SN_QS_rx_pkts), 3);
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
	assert_false(sn_front_queue_broken(t->nic, 0));
}

static void rx_negative_status_drops_packet_only(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };

	bring_up(t, &f, 1, false);
	/* A failed grant copy (Linux netback writes the GNTST code). */
	rx_answer(t, 0, 0, GNTST_bad_gntref);
	sn_rx_back_push(&t->fb.q[0].rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), 0);
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_grant), 1);
	assert_false(sn_front_queue_broken(t->nic, 0));
	/* The queue still works. */
	send_one(t, 300);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 300);
}

static void rx_too_many_slots_drops_packet_only(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	int i;

	bring_up(t, &f, 1, false);
	for (i = 0; i < 21; i++)
		rx_answer(t, 0, i < 20 ? NETRXF_more_data : 0, 100);
	sn_rx_back_push(&t->fb.q[0].rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), 0);
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_malformed), 1);
	assert_false(sn_front_queue_broken(t->nic, 0));
	send_one(t, 300);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 300);
}

/* A grant the backend still maps after answering stays fatal, as in Linux
 * ("Grant still in use by backend domain"): the backend lied about being
 * done, and the page is never posted again. */
static void rx_grant_held_after_response_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct fb_queue *q;
	struct netif_rx_request rq;
	struct netif_rx_response r = { 0 };
	void *addr = NULL;
	int16_t st = -99;

	bring_up(t, &f, 1, false);
	q = &t->fb.q[0];
	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	assert_int_equal(t->be->ops->gnt_map(t->be, 1, &t->fe->domid, &rq.gref, false, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);
	r.id = rq.id;
	r.status = 100;
	sn_rx_back_put_rsp(&q->rx, &r);
	sn_rx_back_push(&q->rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), -EIO);
	assert_broken(t);
	assert_true(sn_front_quarantined(t->nic) >= 1);
	assert_int_equal(t->be->ops->gnt_unmap(t->be, 1, &addr, &st), 0);
}

static void rx_rsp_prod_beyond_posted_breaks_queue(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct netif_rx_sring *s;

	bring_up(t, &f, 1, false);
	s = t->fb.q[0].rx_page;
	__atomic_store_n(&s->req_prod, 100000u, __ATOMIC_RELEASE);
	__atomic_store_n(&s->rsp_prod, 300u, __ATOMIC_RELEASE);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), -EIO);
	assert_broken(t);
}

static void rx_bad_extra_type_drops_packet_only(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct fb_queue *q;
	struct netif_extra_info x = { .type = 77 };
	struct netif_rx_request rq;

	bring_up(t, &f, 1, false);
	q = &t->fb.q[0];
	rx_answer(t, 0, NETRXF_extra_info, 100);
	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	sn_rx_back_write_slot(&q->rx, q->rx.rsp_prod_pvt++, &x, sizeof(x));
	sn_rx_back_push(&q->rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), 0);
	assert_int_equal(qstat(t, 0, SN_QS_rx_drop_malformed), 1);
	assert_false(sn_front_queue_broken(t->nic, 0));
	send_one(t, 300);
	assert_int_equal(fb_echo(&t->fb, 0), 1);
	assert_int_equal(rx_all(t, 0, 1), 1);
	assert_int_equal(t->pp[0]->len, 300);
}

/* A backend serving an XDP headroom (tests/netback/back_xdp.c) puts the
 * first slot's data at an offset; Linux netback also follows it with an
 * XDP extra (type 5), which Debian's netif.h does not name.  Both are
 * taken: the packet arrives byte-exact, the queue stays up. */
static void rx_offset_and_xdp_extra_taken(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	struct fb_queue *q;
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_XDP };
	struct netif_rx_request rq;
	struct netif_rx_response r = { 0 };
	uint8_t data[SN_PAGE_SIZE - 256 + 100];

	bring_up(t, &f, 1, false);
	q = &t->fb.q[0];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 5);
	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	fb_copy_seg(&t->fb, false, rq.gref, 256, data, SN_PAGE_SIZE - 256);
	r.id = rq.id;
	r.offset = 256;
	r.flags = NETRXF_extra_info | NETRXF_more_data;
	r.status = SN_PAGE_SIZE - 256;
	sn_rx_back_put_rsp(&q->rx, &r);
	x.u.pad[0] = 256; /* u.xdp.headroom in newer headers */
	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	sn_rx_back_write_slot(&q->rx, q->rx.rsp_prod_pvt++, &x, sizeof(x));
	sn_rx_back_copy_req(&q->rx, q->rx.req_cons++, &rq);
	fb_copy_seg(&t->fb, false, rq.gref, 0, data + SN_PAGE_SIZE - 256, 100);
	r.id = rq.id;
	r.offset = 0;
	r.flags = 0;
	r.status = 100;
	sn_rx_back_put_rsp(&q->rx, &r);
	sn_rx_back_push(&q->rx);
	assert_int_equal(sn_front_rx_burst(t->nic, 0, t->pp, 1), 1);
	assert_int_equal(t->pp[0]->len, sizeof(data));
	assert_memory_equal(t->pp[0]->data, data, sizeof(data));
	assert_false(sn_front_queue_broken(t->nic, 0));
	assert_int_equal(qstat(t, 0, SN_QS_fatal_errors), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fb_world_setup, fb_world_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(handshake_writes_flat_keys_for_one_queue),
		T(handshake_multi_queue_split_channels),
		T(handshake_no_split_uses_shared_channel),
		T(echo_is_byte_exact_with_offloads),
		T(ipv6_csum_without_backend_feature_is_finished),
		T(ipv6_csum_with_backend_feature_is_offloaded),
		T(tx_fills_ring_then_recovers),
		T(gso_without_backend_feature_is_dropped),
		T(backend_without_rx_copy_is_refused),
		T(multi_queue_keeps_flow_on_its_queue),
		T(reconnects_after_backend_restart),
		T(stale_connected_backend_is_walked_through_closed),
		T(tx_notifies_only_when_backend_asked),
		T(close_waits_for_backend_before_revoking),
		T(removed_device_leaves_no_ghost_state),
		T(tx_unknown_id_breaks_queue),
		T(tx_out_of_range_id_breaks_queue),
		T(tx_duplicate_id_breaks_queue),
		T(tx_rsp_prod_jump_breaks_queue),
		T(tx_grant_held_after_response_quarantines),
		T(tx_grant_is_ended_after_response),
		T(rx_crossing_page_drops_packet_only),
		T(rx_errors_amid_traffic_keep_queue_serving),
		T(rx_negative_status_drops_packet_only),
		T(rx_too_many_slots_drops_packet_only),
		T(rx_grant_held_after_response_breaks_queue),
		T(rx_rsp_prod_beyond_posted_breaks_queue),
		T(rx_bad_extra_type_drops_packet_only),
		T(rx_offset_and_xdp_extra_taken),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
