/* Back-pressure between netback and its port, in event mode: guest TX
 * waits in the ring (the queue asleep, not spinning) while the port has no
 * room, is delivered once room returns, and is dropped and counted when
 * the port stays full past the window; guest RX from a port whose input
 * can wait (recv_budget: the test port's holds mode, the generator) is
 * pulled only as far as the backlog's byte cap, never dropped for it. */
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

#define NPKT 8u

static uint8_t *page(struct h_fe *fe, unsigned int i)
{
	return fe->data + (size_t)i * SN_PAGE_SIZE;
}

/* NPKT single-slot frames of 100 + i bytes from pages 0.., ids 0.. */
static void send_frames(struct h_fe *fe)
{
	for (unsigned int i = 0; i < NPKT; i++) {
		for (unsigned int j = 0; j < SN_PAGE_SIZE; j++)
			page(fe, i)[j] = (uint8_t)(i * 31 + j * 7);
		h_tx_req(fe, fe->data_ref[i], 0, 0, (uint16_t)i, (uint16_t)(100 + i));
	}
	h_tx_push(fe);
}

static void start_bounded(struct h_ctx *t, uint32_t port_full_ms)
{
	struct sn_back_cfg cfg = { .port_full_ms = port_full_ms };

	t->b.sh.bounded = true;
	t->b.sh.room = 0;
	t->b.sh.tx_room_calls = 0;
	h_back_start(t, &cfg);
}

static void stop_bounded(struct h_ctx *t)
{
	h_back_stop(t);
	t->b.sh.bounded = false;
}

/* The port is full (tx_room 0) and the window is far away: the requests
 * stay in the ring, unanswered, and the queue keeps going to sleep (with a
 * short timeout to ask tx_room again) instead of spinning on the pending
 * requests.  Once room returns every frame goes out, none dropped. */
static void tx_full_port_sleeps_then_delivers(void **state)
{
	struct h_ctx *t = *state;
	uint64_t sleeps0, calls0;
	int16_t st[1024];
	struct h_fe fe;

	start_bounded(t, 600000);
	h_fe_connect(t, &fe, 60);
	sleeps0 = h_stat(t, 60, SN_QS_sleeps);
	calls0 = t->b.sh.tx_room_calls;
	send_frames(&fe);
	/* Woken by the kick, the queue finds no room and from then on
	 * sleeps between looks (a spinning one never sleeps again). */
	for (int ms = 0; ms < 5000 && h_stat(t, 60, SN_QS_sleeps) < sleeps0 + 20; ms++)
		h_sleep_ms(1);
	assert_true(h_stat(t, 60, SN_QS_sleeps) >= sleeps0 + 20);
	/* Asleep, it still looks again: room is noticed without a kick. */
	assert_true(t->b.sh.tx_room_calls > calls0);
	assert_int_equal(sn_tx_front_rsp_prod(&fe.tx), 0);
	assert_int_equal(h_ncaps(t), 0);
	assert_int_equal(h_stat(t, 60, SN_QS_tx_drop_port), 0);

	t->b.sh.room = 64;
	assert_int_equal(h_tx_collect(&fe, NPKT, st), 0);
	for (unsigned int i = 0; i < NPKT; i++)
		assert_int_equal(st[i], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, NPKT));
	assert_int_equal(h_ncaps(t), NPKT);
	for (unsigned int i = 0; i < NPKT; i++) {
		assert_int_equal(t->b.sh.caps[i].len, 100 + i);
		assert_memory_equal(t->b.sh.caps[i].data, page(&fe, i), 100 + i);
	}
	assert_int_equal(h_stat(t, 60, SN_QS_tx_pkts), NPKT);
	assert_int_equal(h_stat(t, 60, SN_QS_tx_drop_port), 0);
	h_fe_close(&fe);
	stop_bounded(t);
}

/* A port that stays full past the window (20 ms, the default) counts as
 * stuck: the frames are taken, answered and dropped, counted as
 * tx_drop_port, so it cannot stall the vif. */
static void tx_port_stuck_past_window_drops_counted(void **state)
{
	struct h_ctx *t = *state;
	int16_t st[1024];
	struct h_fe fe;

	start_bounded(t, 0);
	h_fe_connect(t, &fe, 61);
	send_frames(&fe);
	assert_int_equal(h_tx_collect(&fe, NPKT, st), 0);
	for (unsigned int i = 0; i < NPKT; i++)
		assert_int_not_equal(st[i], H_NO_RSP);
	for (int ms = 0; ms < 5000 && h_stat(t, 61, SN_QS_tx_drop_port) < NPKT; ms++)
		h_sleep_ms(1);
	assert_int_equal(h_stat(t, 61, SN_QS_tx_drop_port), NPKT);
	assert_int_equal(h_stat(t, 61, SN_QS_tx_pkts), 0);
	assert_int_equal(h_ncaps(t), 0);
	h_fe_close(&fe);
	stop_bounded(t);
}

/* back_rx's rx_backlog_bounded_in_bytes with a port that holds its input
 * and has an always-readable fd (as vhost-user's call fd can be): the
 * third 30000-byte frame does not fit the 65536-byte cap next to the
 * first two, so it is left in the port, not taken and dropped, and
 * follows once the first two are delivered.  Meanwhile the queue does not
 * poll that fd (it would wake at once, again and again, for a frame it
 * cannot take): it sleeps until the frontend posts buffers. */
static void rx_port_that_holds_loses_nothing_to_byte_cap(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .rx_queue_bytes = 65536, .rx_drain_ms = 10000 };
	static uint8_t pkt[3][30000];
	unsigned int pos = 0;
	uint64_t sleeps0;
	struct h_fe fe;

	t->b.sh.holds = true;
	t->b.sh.flood = true;
	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 62);
	for (unsigned int i = 0; i < 3; i++) {
		h_fill(pkt[i], sizeof(pkt[i]), 40 + i);
		h_inject(t, pkt[i], sizeof(pkt[i]), 0, 0, 0);
	}
	for (int ms = 0; ms < 5000 && pos < 2; ms++) {
		h_sleep_ms(1);
		pthread_mutex_lock(&t->b.sh.lock);
		pos = t->b.sh.inj_pos;
		pthread_mutex_unlock(&t->b.sh.lock);
	}
	/* A while later: still only the two that fit, and the queue asleep
	 * (a queue polling the fd wakes thousands of times meanwhile). */
	sleeps0 = h_stat(t, 62, SN_QS_sleeps);
	h_sleep_ms(20);
	assert_true(h_stat(t, 62, SN_QS_sleeps) < sleeps0 + 10);
	pthread_mutex_lock(&t->b.sh.lock);
	pos = t->b.sh.inj_pos;
	pthread_mutex_unlock(&t->b.sh.lock);
	assert_int_equal(pos, 2);
	assert_int_equal(h_stat(t, 62, SN_QS_rx_drop_queue_full), 0);
	h_rx_post(&fe, 32);
	/* 3 x 8 slots of 30000 bytes. */
	assert_int_equal(h_rx_wait(&fe, 24), 24);
	for (unsigned int i = 0; i < 3; i++)
		h_fe_expect_rx(&fe, pkt[i], sizeof(pkt[i]), 0, false, 0);
	assert_int_equal(h_stat(t, 62, SN_QS_rx_pkts), 3);
	assert_int_equal(h_stat(t, 62, SN_QS_rx_drop_queue_full), 0);
	h_fe_close(&fe);
	h_back_stop(t);
	t->b.sh.holds = false;
	t->b.sh.flood = false;
}

/* The generator hands out bursts as large as asked (here up to 32 frames
 * of 9000 bytes, GSO) to a backlog whose byte cap holds two: every frame
 * still reaches the frontend, none dropped (the bench's 64 KiB RX cells
 * count on it). */
static void rx_gen_bursts_fit_byte_cap(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = {
		.port_spec = "gen:size=9000,count=40",
		.rx_queue_bytes = 20000,
		.rx_drain_ms = 10000,
	};
	struct h_fe fe;

	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 63);
	/* 40 x (3 data slots + the GSO extra). */
	h_rx_post(&fe, 200);
	for (int ms = 0; ms < 5000 && h_stat(t, 63, SN_QS_rx_pkts) < 40; ms++)
		h_sleep_ms(1);
	assert_int_equal(h_stat(t, 63, SN_QS_rx_pkts), 40);
	assert_int_equal(h_stat(t, 63, SN_QS_rx_bytes), 40 * 9000);
	assert_int_equal(h_stat(t, 63, SN_QS_rx_drop_queue_full), 0);
	h_fe_close(&fe);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tx_full_port_sleeps_then_delivers),
		cmocka_unit_test(tx_port_stuck_past_window_drops_counted),
		cmocka_unit_test(rx_port_that_holds_loses_nothing_to_byte_cap),
		cmocka_unit_test(rx_gen_bursts_fit_byte_cap),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
