/* The vhost-user port against a crafted back-end that lies
 * (tests/common/peer_vhost.c), in-process through the port API: honest
 * frames both ways byte-exact; a used index that jumps, an id never
 * posted, a length past the buffer, a back-end that stops consuming, one
 * that disconnects.  Each is a counted drop (port_drop_peer) or a reset
 * of the session, never a crash or a hang, and traffic flows again.  A
 * frame past recv_budget's bytes waits on the ring, not dropped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/main.h"
#include "common/peer_vhost.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

#define WAIT_MS 10000

struct rig {
	char dir[64], path[128];
	struct peer_vhost *pv;
	struct sn_port *port;
	struct sn_qstats qs;
	uint8_t buf[65536];
	struct sn_pkt pkt;
	struct sn_pkt *pp;
};

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sn_port_ctx ctx = { .domid = 3, .devid = 0, .queue = 0, .nqueues = 1, .backend = true };
	char spec[160];

	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/sn-vhost-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->path, sizeof(r->path), "%s/vif3.0.sock", r->dir);
	assert_int_equal(peer_vhost_listen(r->path, &r->pv), 0);
	/* A directory spec: the port names the socket vif<domid>.<devid>.sock. */
	snprintf(spec, sizeof(spec), "vhost-user:%s", r->dir);
	assert_int_equal(sn_port_open(spec, &ctx, &r->port), 0);
	r->port->qs = &r->qs;
	r->pkt.data = r->buf;
	r->pkt.cap = sizeof(r->buf);
	r->pp = &r->pkt;
	assert_true(peer_vhost_wait_session(r->pv, 1, WAIT_MS));
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;

	sn_port_close(r->port);
	peer_vhost_free(r->pv);
	rmdir(r->dir);
	free(r);
	return 0;
}

static void frame(uint8_t *f, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	memset(f, 0xff, 6);  /* broadcast dst */
}

/* recv until one frame or the deadline. */
static int recv_one(struct rig *r)
{
	for (int i = 0; i < WAIT_MS; i++) {
		int n = r->port->ops->recv(r->port, &r->pp, 1);

		if (n)
			return n;
		poll(NULL, 0, 1);
	}
	return 0;
}

/* The device puts one honest frame; the port must hand it over intact
 * (the session may still be coming up after a reset). */
static void honest_rx(struct rig *r, uint8_t seed)
{
	uint8_t f[200];
	int rc = -EAGAIN;

	frame(f, sizeof(f), seed);
	for (int i = 0; i < WAIT_MS && rc == -EAGAIN; i++) {
		rc = peer_vhost_rx_put(r->pv, f, sizeof(f), PV_HONEST);
		if (rc == -EAGAIN)
			poll(NULL, 0, 1);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(recv_one(r), 1);
	assert_int_equal(r->pkt.len, sizeof(f));
	assert_memory_equal(r->pkt.data, f, sizeof(f));
}

static void honest_both_ways(void **state)
{
	struct rig *r = *state;
	uint8_t out[9000], got[9100];
	struct sn_pkt p = { .data = out, .len = sizeof(out), .cap = sizeof(out) };
	struct sn_pkt *pp = &p;
	int n = -EAGAIN;

	honest_rx(r, 1);
	/* 9000 bytes: a chain of TX descriptors. */
	frame(out, sizeof(out), 9);
	assert_int_equal(r->port->ops->send(r->port, &pp, 1), 1);
	for (int i = 0; i < WAIT_MS && n == -EAGAIN; i++)
		if ((n = peer_vhost_tx_get(r->pv, got, sizeof(got))) == -EAGAIN)
			poll(NULL, 0, 1);
	assert_int_equal(n, sizeof(out));
	assert_memory_equal(got, out, sizeof(out));
	assert_int_equal(r->port->stats.drops, 0);
}

/* A lie that breaks the ring state: counted, the session reset (the
 * back-end sees its connection end), a new session carries traffic. */
static void lie_resets(struct rig *r, enum peer_vhost_lie lie)
{
	uint8_t f[100];
	unsigned int ended = peer_vhost_ended(r->pv);

	frame(f, sizeof(f), 3);
	assert_int_equal(peer_vhost_rx_put(r->pv, f, sizeof(f), lie), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(r->port->ops->recv(r->port, &r->pp, 1), 0);
	assert_true(r->qs.v[SN_QS_port_drop_peer] >= 1);
	assert_true(r->port->stats.drops >= 1);
	for (int i = 0; i < WAIT_MS / 10 && peer_vhost_ended(r->pv) == ended; i++)
		poll(NULL, 0, 10);
	assert_true(peer_vhost_ended(r->pv) > ended);
	assert_true(peer_vhost_wait_session(r->pv, 2, WAIT_MS));
	honest_rx(r, 4);
}

static void used_index_jump(void **state)
{
	lie_resets(*state, PV_LIE_JUMP);
}

static void id_never_posted(void **state)
{
	lie_resets(*state, PV_LIE_ID);
}

/* A length past the buffer: that frame is dropped and counted, the
 * buffer given back, the session goes on. */
static void length_past_buffer(void **state)
{
	struct rig *r = *state;
	uint8_t f[100];

	frame(f, sizeof(f), 5);
	assert_int_equal(peer_vhost_rx_put(r->pv, f, sizeof(f), PV_LIE_LEN), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(r->port->ops->recv(r->port, &r->pp, 1), 0);
	assert_int_equal(r->qs.v[SN_QS_port_drop_peer], 1);
	assert_int_equal(peer_vhost_ended(r->pv), 0);
	honest_rx(r, 6);
}

/* A back-end that takes nothing: send stops taking once the ring is
 * full (the caller counts the rest), without blocking. */
static void stops_consuming(void **state)
{
	struct rig *r = *state;
	uint8_t f[60];
	struct sn_pkt p = { .data = f, .len = sizeof(f), .cap = sizeof(f) };
	struct sn_pkt *pv[64];
	unsigned int taken = 0, refused = 0;

	frame(f, sizeof(f), 7);
	for (int i = 0; i < 64; i++)
		pv[i] = &p;
	for (int i = 0; i < 100; i++) {
		int n = r->port->ops->send(r->port, pv, 64);

		assert_true(n >= 0 && n <= 64);
		taken += (unsigned int)n;
		refused += 64u - (unsigned int)n;
	}
	assert_true(taken > 0);
	assert_true(taken <= 1024);
	assert_true(refused > 0);
	/* The backend asks tx_room before it takes guest TX: a full ring
	 * says 0, so guest TX waits in the netif ring (back/tx.c). */
	assert_int_equal(r->port->ops->tx_room(r->port), 0);
	/* It drains, and the port takes again. */
	while (peer_vhost_tx_get(r->pv, f, sizeof(f) + 100) >= 0)
		;
	assert_int_equal(r->port->ops->tx_room(r->port), (int)taken);
	assert_int_equal(r->port->ops->send(r->port, pv, 64), 64);
}

/* recv_budget (what netback uses, back/rx.c): a frame past the byte
 * budget stays on the ring, its buffers not given back, and comes intact
 * with the next call that has room for it; nothing is dropped. */
static void recv_budget_holds_what_does_not_fit(void **state)
{
	struct rig *r = *state;
	static const uint32_t len[3] = { 200, 300, 400 };
	uint8_t f[3][400], buf[3][2048];
	struct sn_pkt pk[3], *pv[3];

	assert_non_null(r->port->ops->recv_budget);
	for (int i = 0; i < 3; i++) {
		frame(f[i], len[i], (uint8_t)(20 + i));
		assert_int_equal(peer_vhost_rx_put(r->pv, f[i], len[i], PV_HONEST), 0);
		pk[i] = (struct sn_pkt){ .data = buf[i], .cap = sizeof(buf[i]) };
		pv[i] = &pk[i];
	}
	assert_int_equal(r->port->ops->recv_budget(r->port, pv, 3, 550), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pk[i].len, len[i]);
		assert_memory_equal(pk[i].data, f[i], len[i]);
	}
	for (int i = 0; i < 20; i++)
		assert_int_equal(r->port->ops->recv_budget(r->port, pv, 3, 399), -ENOBUFS);
	assert_int_equal(r->port->ops->recv_budget(r->port, pv, 3, 400), 1);
	assert_int_equal(pk[0].len, len[2]);
	assert_memory_equal(pk[0].data, f[2], len[2]);
	assert_int_equal(r->port->stats.drops, 0);
	honest_rx(r, 23);
}

/* The back-end goes away mid-traffic: nothing is taken or produced while
 * it is gone (no crash, no hang), and the port reconnects by itself. */
static void disconnect_and_back(void **state)
{
	struct rig *r = *state;
	uint8_t f[60];
	struct sn_pkt p = { .data = f, .len = sizeof(f), .cap = sizeof(f) };
	struct sn_pkt *pp = &p;

	frame(f, sizeof(f), 8);
	peer_vhost_disconnect(r->pv);
	for (int i = 0; i < 20; i++) {
		(void)r->port->ops->send(r->port, &pp, 1);
		(void)r->port->ops->recv(r->port, &r->pp, 1);
	}
	assert_true(peer_vhost_wait_session(r->pv, 2, WAIT_MS));
	honest_rx(r, 9);
}

/* A session ends with frames on the rings: RX frames the back-end returned
 * that the port had not read, TX frames it never took.  Each is counted
 * once (port_drop_session) when the session goes; TX frames it took are
 * not. */
static void session_end_counts_in_flight(void **state)
{
	struct rig *r = *state;
	uint8_t f[60], got[200];
	struct sn_pkt p = { .data = f, .len = sizeof(f), .cap = sizeof(f) };
	struct sn_pkt *pv[5] = { &p, &p, &p, &p, &p };

	frame(f, sizeof(f), 10);
	for (int i = 0; i < 3; i++)
		assert_int_equal(peer_vhost_rx_put(r->pv, f, sizeof(f), PV_HONEST), 0);
	assert_int_equal(r->port->ops->send(r->port, pv, 5), 5);
	assert_int_equal(peer_vhost_tx_get(r->pv, got, sizeof(got)), sizeof(f));
	assert_int_equal(peer_vhost_tx_get(r->pv, got, sizeof(got)), sizeof(f));
	/* No recv until the next session: it would read the frames. */
	peer_vhost_disconnect(r->pv);
	assert_true(peer_vhost_wait_session(r->pv, 2, WAIT_MS));
	/* The next burst folds them into the counters. */
	(void)r->port->ops->recv(r->port, &r->pp, 1);
	assert_int_equal(r->qs.v[SN_QS_port_drop_session], 3 + 3);
	assert_int_equal(r->port->stats.drops, 6);
	honest_rx(r, 11);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(honest_both_ways, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(used_index_jump, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(id_never_posted, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(length_past_buffer, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(stops_consuming, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(recv_budget_holds_what_does_not_fit, rig_setup,
						rig_teardown),
		cmocka_unit_test_setup_teardown(disconnect_and_back, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(session_end_counts_in_flight, rig_setup, rig_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
