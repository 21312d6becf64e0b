/* gen -> sink through memory: every frame size the benchmark uses must
 * arrive byte-exact, and the sink must notice corruption, loss,
 * duplication and a software-finished checksum going wrong. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "port/csum.h"
#include "pkts.h"
#include "stagenet/port.h"

static const struct sn_port_ctx ctx1 = { .domid = 1, .devid = 0, .queue = 0, .nqueues = 1 };

struct pair {
	struct sn_port *gen, *sink;
	struct test_burst b;
};

static void pair_open(struct pair *pr, const char *genspec, const struct sn_port_ctx *ctx)
{
	assert_int_equal(sn_port_open(genspec, ctx, &pr->gen), 0);
	assert_int_equal(sn_port_open("sink", ctx, &pr->sink), 0);
	assert_int_equal(test_burst_init(&pr->b, 32), 0);
}

static void pair_close(struct pair *pr)
{
	sn_port_close(pr->gen);
	sn_port_close(pr->sink);
	test_burst_free(&pr->b);
}

/* Pump until the generator reports end of input; returns packets moved. */
static uint64_t pump(struct pair *pr)
{
	uint64_t moved = 0;
	int n;

	while ((n = pr->gen->ops->recv(pr->gen, pr->b.ptr, pr->b.n)) > 0) {
		assert_int_equal(pr->sink->ops->send(pr->sink, pr->b.ptr, (unsigned int)n), n);
		moved += (uint64_t)n;
	}
	assert_int_equal(n, -ENODATA);
	return moved;
}

static void assert_clean(const struct sn_port *sink)
{
	assert_int_equal(sink->stats.bad_payload, 0);
	assert_int_equal(sink->stats.bad_seq, 0);
	assert_int_equal(sink->stats.lost, 0);
}

static void gen_sink_byte_exact_all_sizes(void **state)
{
	static const unsigned int sizes[] = { 60, 61, 64, 128, 256, 1000, 1513, 1514,
					      1515, 4096, 9000, 32768, 65534, 65535 };
	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char spec[96];
		struct pair pr;

		snprintf(spec, sizeof(spec), "gen:size=%u,count=200,flows=3", sizes[i]);
		pair_open(&pr, spec, &ctx1);
		assert_int_equal(pump(&pr), 200);
		assert_int_equal(pr.sink->stats.sent_pkts, 200);
		assert_int_equal(pr.sink->stats.sent_bytes, 200ull * sizes[i]);
		assert_int_equal(pr.gen->stats.recv_pkts, 200);
		assert_clean(pr.sink);
		pair_close(&pr);
	}
}

static void gen_frame_headers_are_valid(void **state)
{
	struct pair pr;
	struct sn_l4_loc loc;

	(void)state;
	/* Small frames: UDP, no offload flags, IPv4 header checksum right. */
	pair_open(&pr, "gen:size=60,count=1", &ctx1);
	assert_int_equal(pr.gen->ops->recv(pr.gen, pr.b.ptr, 1), 1);
	assert_int_equal(pr.b.pkt[0].len, 60);
	assert_int_equal(pr.b.pkt[0].flags, 0);
	assert_int_equal(sn_l4_locate(pr.b.pkt[0].data, 60, &loc), 0);
	assert_int_equal(loc.l4_proto, 17);
	assert_int_equal(sn_csum_fold(sn_csum_add(0, pr.b.pkt[0].data + 14, 20)), 0xFFFF);
	assert_int_equal(sn_l4_csum_verify(pr.b.pkt[0].data, 60), 0);
	pair_close(&pr);

	/* Bulk frames: TCPv4 GSO with a partial checksum that finishes valid. */
	pair_open(&pr, "gen:size=65535,count=1", &ctx1);
	assert_int_equal(pr.gen->ops->recv(pr.gen, pr.b.ptr, 1), 1);
	assert_int_equal(pr.b.pkt[0].flags, SN_PKT_GSO | SN_PKT_CSUM_PARTIAL);
	assert_int_equal(pr.b.pkt[0].gso_type, 1);
	assert_int_equal(pr.b.pkt[0].gso_size, 1448);
	assert_int_equal(pr.b.pkt[0].csum_start, 34);
	assert_int_equal(pr.b.pkt[0].csum_offset, 16);
	assert_int_equal(sn_l4_locate(pr.b.pkt[0].data, 65535, &loc), 0);
	assert_int_equal(loc.l4_proto, 6);
	assert_int_equal(sn_pkt_csum_finish(&pr.b.pkt[0]), 0);
	assert_int_equal(sn_l4_csum_verify(pr.b.pkt[0].data, 65535), 0);
	/* A finished (no longer partial) checksum is still accepted. */
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 1), 1);
	assert_clean(pr.sink);
	pair_close(&pr);
}

static void gen_proto_tcp_small_frames(void **state)
{
	struct pair pr;

	(void)state;
	pair_open(&pr, "gen:size=128,count=50,proto=tcp", &ctx1);
	assert_int_equal(pr.gen->ops->recv(pr.gen, pr.b.ptr, 1), 1);
	assert_int_equal(pr.b.pkt[0].flags, SN_PKT_CSUM_PARTIAL);
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 1), 1);
	assert_int_equal(pump(&pr), 49);
	assert_clean(pr.sink);
	pair_close(&pr);
}

static void sink_detects_corrupted_byte(void **state)
{
	static const unsigned int sizes[] = { 60, 1514, 65535 };

	(void)state;
	for (size_t s = 0; s < 3; s++) {
		/* Corrupt a payload byte, then a header byte (the MAC), each in
		 * its own packet. */
		for (int where = 0; where < 2; where++) {
			char spec[64];
			struct pair pr;
			int n;

			snprintf(spec, sizeof(spec), "gen:size=%u,count=10", sizes[s]);
			pair_open(&pr, spec, &ctx1);
			n = pr.gen->ops->recv(pr.gen, pr.b.ptr, 10);
			assert_int_equal(n, 10);
			if (where == 0)
				pr.b.pkt[4].data[sizes[s] - 1] ^= 0x01;
			else
				pr.b.pkt[4].data[3] ^= 0x80;
			assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 10), 10);
			assert_int_equal(pr.sink->stats.bad_payload, 1);
			assert_int_equal(pr.sink->stats.bad_seq, 0);
			pair_close(&pr);
		}
	}
}

static void sink_counts_lost_packet(void **state)
{
	struct pair pr;
	int n;

	(void)state;
	pair_open(&pr, "gen:size=100,count=10", &ctx1);
	n = pr.gen->ops->recv(pr.gen, pr.b.ptr, 10);
	assert_int_equal(n, 10);
	/* Packets 0..3, skip 4 and 5, then 6..9. */
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 4), 4);
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr + 6, 4), 4);
	assert_int_equal(pr.sink->stats.lost, 2);
	assert_int_equal(pr.sink->stats.bad_seq, 0);
	assert_int_equal(pr.sink->stats.bad_payload, 0);
	pair_close(&pr);
}

static void sink_counts_duplicate(void **state)
{
	struct pair pr;
	struct sn_pkt *dup[3];

	(void)state;
	pair_open(&pr, "gen:size=100,count=3", &ctx1);
	assert_int_equal(pr.gen->ops->recv(pr.gen, pr.b.ptr, 3), 3);
	dup[0] = pr.b.ptr[0];
	dup[1] = pr.b.ptr[1];
	dup[2] = pr.b.ptr[1];
	assert_int_equal(pr.sink->ops->send(pr.sink, dup, 3), 3);
	assert_int_equal(pr.sink->stats.bad_seq, 1);
	assert_int_equal(pr.sink->stats.lost, 0);
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr + 2, 1), 1);
	assert_int_equal(pr.sink->stats.lost, 0);
	pair_close(&pr);
}

static void sink_flags_foreign_frame(void **state)
{
	struct pair pr;

	(void)state;
	pair_open(&pr, "gen:size=60,count=1", &ctx1);
	memset(pr.b.pkt[0].data, 0xAB, 60);
	pr.b.pkt[0].len = 60;
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 1), 1);
	/* Too short to be anything. */
	pr.b.pkt[0].len = 10;
	assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, 1), 1);
	assert_int_equal(pr.sink->stats.bad_payload, 2);
	assert_int_equal(pr.sink->stats.sent_pkts, 2);
	pair_close(&pr);
}

/* Two queues' generators use distinct streams: one sink seeing both (a
 * hash steering every flow to one queue) must not call that reordering. */
static void sink_tracks_streams_across_queues(void **state)
{
	struct sn_port_ctx q0 = { .domid = 1, .queue = 0, .nqueues = 2 };
	struct sn_port_ctx q1 = { .domid = 1, .queue = 1, .nqueues = 2 };
	struct sn_port *g0, *g1, *sink;
	struct test_burst b;
	int n;

	(void)state;
	assert_int_equal(sn_port_open("gen:size=80,count=100,flows=4", &q0, &g0), 0);
	assert_int_equal(sn_port_open("gen:size=80,count=100,flows=4", &q1, &g1), 0);
	assert_int_equal(sn_port_open("sink", &q0, &sink), 0);
	assert_int_equal(test_burst_init(&b, 7), 0);
	for (;;) {
		int a = g0->ops->recv(g0, b.ptr, b.n);

		if (a > 0)
			assert_int_equal(sink->ops->send(sink, b.ptr, (unsigned int)a), a);
		n = g1->ops->recv(g1, b.ptr, b.n);
		if (n > 0)
			assert_int_equal(sink->ops->send(sink, b.ptr, (unsigned int)n), n);
		if (a < 0 && n < 0)
			break;
	}
	assert_int_equal(sink->stats.sent_pkts, 200);
	assert_clean(sink);
	sn_port_close(g0);
	sn_port_close(g1);
	sn_port_close(sink);
	test_burst_free(&b);
}

static void gen_rejects_small_buffers(void **state)
{
	struct sn_port *g;
	struct test_burst b;

	(void)state;
	assert_int_equal(sn_port_open("gen:size=2000", &ctx1, &g), 0);
	assert_int_equal(test_burst_init(&b, 1), 0);
	b.pkt[0].cap = 1999;
	assert_int_equal(g->ops->recv(g, b.ptr, 1), -EMSGSIZE);
	sn_port_close(g);
	test_burst_free(&b);
}

static void port_spec_errors(void **state)
{
	static const char *bad[] = {
		"gen:size=59", "gen:size=65536", "gen:flows=0", "gen:bogus=1", "gen:proto=sctp",
		"gen:size=60,proto=tcp", "sink:x=1", "pcap", "pcap:foo=bar", "nosuch", "tap",
		"gen:count=-1", "gen:light=1", "sink:heavy", "sink:light,x", "gen:ping,light",
		"gen:ping,flows=2", "gen:ping=1",
	};
	struct sn_port *p = (struct sn_port *)1;
	struct sn_port_ctx bad_q = { .queue = 2, .nqueues = 2 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sn_port_open(bad[i], &ctx1, &p), -EINVAL);
		assert_null(p);
	}
	assert_int_equal(sn_port_open("sink", &bad_q, &p), -EINVAL);
	assert_int_equal(sn_port_open("gen:size=60,,count=5,", &ctx1, &p), 0);
	sn_port_close(p);
}

static void gen_count_zero_is_unlimited(void **state)
{
	struct pair pr;

	(void)state;
	pair_open(&pr, "gen:size=60,flows=2", &ctx1);
	for (int i = 0; i < 100; i++) {
		int n = pr.gen->ops->recv(pr.gen, pr.b.ptr, pr.b.n);

		assert_int_equal(n, (int)pr.b.n);
		assert_int_equal(pr.sink->ops->send(pr.sink, pr.b.ptr, (unsigned int)n), n);
	}
	assert_int_equal(pr.sink->stats.sent_pkts, 100ull * pr.b.n);
	assert_clean(pr.sink);
	pair_close(&pr);
}

static void gen_rate_limits_bursts(void **state)
{
	struct pair pr;
	uint64_t got = 0;

	(void)state;
	/* 1 packet/s: 40 bursts of 32 would drain count=1000 unlimited; the
	 * limiter must hold almost all of them back (no timing assertion:
	 * any stall only adds a packet per second). */
	pair_open(&pr, "gen:size=60,rate=1,count=1000", &ctx1);
	for (int i = 0; i < 40; i++) {
		int n = pr.gen->ops->recv(pr.gen, pr.b.ptr, pr.b.n);

		assert_true(n >= 0);
		got += (uint64_t)n;
	}
	assert_true(got < 1000);
	pair_close(&pr);
}

/* gen:light writes every frame from one template (sequence 0) and
 * sink:light only counts, as testpmd's txonly/rxonly do: the frames are the
 * same bytes each time (so a checking sink sees repeats), and sink:light
 * counts a corrupted frame without a verdict. */
static void gen_sink_light(void **state)
{
	struct sn_port *g, *s, *chk;
	struct test_burst b;
	uint8_t first[60];
	int n;

	(void)state;
	assert_int_equal(sn_port_open("gen:size=60,light,count=64", &ctx1, &g), 0);
	assert_int_equal(sn_port_open("sink:light", &ctx1, &s), 0);
	assert_int_equal(sn_port_open("sink", &ctx1, &chk), 0);
	assert_int_equal(test_burst_init(&b, 32), 0);
	n = g->ops->recv(g, b.ptr, b.n);
	assert_int_equal(n, 32);
	memcpy(first, b.pkt[0].data, sizeof(first));
	for (int i = 0; i < n; i++) {
		assert_int_equal(b.pkt[i].len, 60);
		assert_memory_equal(b.pkt[i].data, first, sizeof(first));
	}
	/* A valid gen frame (seq 0) to the checking sink, repeated. */
	assert_int_equal(chk->ops->send(chk, b.ptr, 2), 2);
	assert_int_equal(chk->stats.bad_payload, 0);
	assert_int_equal(chk->stats.bad_seq, 1);
	b.pkt[5].data[59] ^= 0xff;
	assert_int_equal(s->ops->send(s, b.ptr, (unsigned int)n), n);
	assert_int_equal(g->ops->recv(g, b.ptr, b.n), 32);
	assert_int_equal(s->ops->send(s, b.ptr, 32), 32);
	assert_int_equal(g->ops->recv(g, b.ptr, b.n), -ENODATA);
	assert_int_equal(s->stats.sent_pkts, 64);
	assert_int_equal(s->stats.sent_bytes, 64 * 60);
	assert_clean(s);
	assert_int_equal(g->stats.recv_pkts, 64);
	sn_port_close(g);
	sn_port_close(s);
	sn_port_close(chk);
	test_burst_free(&b);
}

/* gen:ping keeps one frame in flight: nothing more until sink:echo has sent
 * it back and the generator has seen it; the echo's fd is readable exactly
 * while a frame waits.  A rate-limited generator has a wake-up fd on the
 * frontend and none on the backend (netback would not back-pressure it). */
static void gen_ping_sink_echo(void **state)
{
	struct sn_port *g, *e, *r;
	struct sn_port_ctx back = ctx1;
	struct test_burst b;
	struct pollfd pfd;

	(void)state;
	back.backend = true;
	assert_int_equal(sn_port_open("gen:size=60,ping", &ctx1, &g), 0);
	assert_int_equal(sn_port_open("sink:echo", &back, &e), 0);
	assert_int_equal(test_burst_init(&b, 32), 0);
	pfd = (struct pollfd){ .fd = e->ops->fd(e), .events = POLLIN };
	assert_true(pfd.fd >= 0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(g->ops->recv(g, b.ptr, b.n), 1);
		assert_int_equal(g->ops->recv(g, b.ptr + 1, b.n - 1), 0); /* in flight */
		assert_int_equal(poll(&pfd, 1, 0), 0);
		assert_int_equal(e->ops->send(e, b.ptr, 1), 1);
		assert_int_equal(poll(&pfd, 1, 0), 1);
		b.pkt[0].len = 0;
		assert_int_equal(e->ops->recv(e, b.ptr, b.n), 1);
		assert_int_equal(b.pkt[0].len, 60);
		assert_int_equal(poll(&pfd, 1, 0), 0);
		assert_int_equal(e->ops->recv(e, b.ptr, b.n), 0);
		assert_int_equal(g->ops->send(g, b.ptr, 1), 1);
	}
	assert_clean(e);
	assert_int_equal(e->stats.sent_pkts, 3);
	sn_port_close(g);
	sn_port_close(e);
	assert_int_equal(sn_port_open("gen:size=60,rate=1000", &ctx1, &r), 0);
	assert_true(r->ops->fd(r) >= 0);
	sn_port_close(r);
	assert_int_equal(sn_port_open("gen:size=60,rate=1000", &back, &r), 0);
	assert_int_equal(r->ops->fd(r), -1);
	sn_port_close(r);
	assert_int_equal(sn_port_open("sink", &ctx1, &r), 0);
	assert_int_equal(r->ops->recv(r, b.ptr, 1), -ENODATA);
	sn_port_close(r);
	test_burst_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gen_sink_byte_exact_all_sizes),
		cmocka_unit_test(gen_frame_headers_are_valid),
		cmocka_unit_test(gen_proto_tcp_small_frames),
		cmocka_unit_test(sink_detects_corrupted_byte),
		cmocka_unit_test(sink_counts_lost_packet),
		cmocka_unit_test(sink_counts_duplicate),
		cmocka_unit_test(sink_flags_foreign_frame),
		cmocka_unit_test(sink_tracks_streams_across_queues),
		cmocka_unit_test(gen_rejects_small_buffers),
		cmocka_unit_test(port_spec_errors),
		cmocka_unit_test(gen_count_zero_is_unlimited),
		cmocka_unit_test(gen_sink_light),
		cmocka_unit_test(gen_ping_sink_echo),
		cmocka_unit_test(gen_rate_limits_bursts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
