/* Backend TX parser: one named case per TX request rule of src/proto/txreq.c,
 * each on a real shared ring built in plain memory, plus the copy-once
 * (XSA-155), wrap-around and response-padding (XSA-216) properties. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/txreq.h"
#include "txring.h"

#define MORE NETTXF_more_data
#define EXTRA NETTXF_extra_info

/* first request (own length first_own) + n continuations of cont bytes */
static void pkt_conts(struct txb *b, uint16_t first_own, unsigned int n,
		      uint16_t cont)
{
	unsigned int i;

	txb_req(b, 0, (uint16_t)(first_own + n * cont), n ? MORE : 0);
	for (i = 0; i < n; i++)
		txb_req(b, 0, cont, i + 1 < n ? MORE : 0);
}

static void gso_extra(struct txb *b, uint16_t mss, uint8_t type, bool more)
{
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

	x.u.gso.size = mss;
	x.u.gso.type = type;
	sn_extra_set_more(&x, more);
	txb_extra(b, &x);
}

/* --- builders, one per scenario -------------------------------------- */

static void b_single(struct txb *b) { txb_req(b, 0, 60, 0); }
static void b_multi(struct txb *b) { pkt_conts(b, 1000, 2, 1000); }
static void b_18_conts(struct txb *b) { pkt_conts(b, 100, 18, 10); }
static void b_19_conts(struct txb *b) { pkt_conts(b, 100, 19, 10); }
static void b_20_conts(struct txb *b) { pkt_conts(b, 100, 20, 10); }
static void b_21_conts(struct txb *b) { pkt_conts(b, 100, 21, 10); }
static void b_runt(struct txb *b) { txb_req(b, 0, 13, 0); }
static void b_eth_hlen(struct txb *b) { txb_req(b, 0, 14, 0); }
static void b_runt_first_own(struct txb *b) { pkt_conts(b, 10, 1, 90); }

static void b_oversize(struct txb *b)
{
	txb_req(b, 0, 100, MORE);
	txb_req(b, 0, 200, 0);
}

/* Oversize at the first continuation, then the rest of the packet: all of
 * it must still be consumed. */
static void b_oversize_then_more(struct txb *b)
{
	txb_req(b, 0, 100, MORE);
	txb_req(b, 0, 200, MORE);
	txb_req(b, 0, 10, MORE);
	txb_req(b, 0, 10, 0);
}

static void b_cont_cross_page(struct txb *b)
{
	txb_req(b, 0, 300, MORE);
	txb_req(b, 4000, 200, 0);
}

/* The 19th continuation (already a drop) crosses a page: still fatal. */
static void b_cross_page_while_dropping(struct txb *b)
{
	unsigned int i;

	txb_req(b, 0, 100 + 19 * 10, MORE);
	for (i = 0; i < 18; i++)
		txb_req(b, 0, 10, MORE);
	txb_req(b, 4090, 10, 0);
}

static void b_first_cross_page(struct txb *b) { txb_req(b, 4000, 200, 0); }
static void b_first_ends_at_page(struct txb *b) { txb_req(b, 4036, 60, 0); }

static void b_missing_extra(struct txb *b) { txb_req(b, 0, 60, EXTRA); }

static void b_missing_chained_extra(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	gso_extra(b, 1400, XEN_NETIF_GSO_TYPE_TCPV4, true);
}

static void b_extra_type_none(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	txb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_NONE, false);
}

static void b_extra_type_max(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	txb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_MAX, false);
}

/* Linux's XDP extra (type 5, past Debian's netif.h): skipped, not fatal. */
static void b_extra_xdp(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	txb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_XDP, false);
}

static void b_missing_cont(struct txb *b) { txb_req(b, 0, 60, MORE); }

/* Claims 3 continuations, publishes 2. */
static void b_partial_packet(struct txb *b)
{
	txb_req(b, 0, 300, MORE);
	txb_req(b, 0, 100, MORE);
	txb_req(b, 0, 100, MORE);
}

static void b_gso_ok(struct txb *b)
{
	txb_req(b, 0, 3000, EXTRA | MORE);
	gso_extra(b, 1448, XEN_NETIF_GSO_TYPE_TCPV4, false);
	txb_req(b, 0, 2000, 0);
}

static void b_gso_zero(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	gso_extra(b, 0, XEN_NETIF_GSO_TYPE_TCPV4, false);
}

static void b_gso_bad_type(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	gso_extra(b, 1448, 3, false);
}

/* Two GSO extras: the second replaces the first (Linux memcpy by type). */
static void b_gso_twice(struct txb *b)
{
	txb_req(b, 0, 60, EXTRA);
	gso_extra(b, 0, XEN_NETIF_GSO_TYPE_TCPV4, true);
	gso_extra(b, 536, XEN_NETIF_GSO_TYPE_TCPV6, false);
}

static void b_hash(struct txb *b)
{
	struct netif_extra_info x;

	txb_req(b, 0, 60, EXTRA);
	assert_int_equal(sn_extra_hash_encode(&x,
		_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0x51ccc178), 0);
	txb_extra(b, &x);
}

static void b_zero_conts_mixed(struct txb *b)
{
	txb_req(b, 0, 200, MORE);
	txb_req(b, 0, 0, MORE);
	txb_req(b, 0, 100, MORE);
	txb_req(b, 0, 0, 0);
}

static void b_zero_conts_all(struct txb *b) { pkt_conts(b, 60, 18, 0); }

static void b_mcast(struct txb *b)
{
	static const uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct netif_extra_info x;

	txb_req(b, 0, 0, EXTRA);
	sn_extra_mcast_encode(&x, true, mac);
	txb_extra(b, &x);
}

/* A multicast dummy with more_data: Linux answers it without reading the
 * continuation, which then parses as the next packet. */
static void b_mcast_more(struct txb *b)
{
	static const uint8_t mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct netif_extra_info x;

	txb_req(b, 0, 0, EXTRA | MORE);
	sn_extra_mcast_encode(&x, false, mac);
	txb_extra(b, &x);
	txb_req(b, 0, 60, 0);
}

static void b_max_size(struct txb *b)
{
	unsigned int i;

	/* 65535 bytes: 4095 in the first slot + 15 * 4096 */
	txb_req(b, 1, 65535, MORE);
	for (i = 0; i < 15; i++)
		txb_req(b, 0, 4096, i + 1 < 15 ? MORE : 0);
}

static void b_empty(struct txb *b) { (void)b; }

/* More than a ring's worth of requests claimed (XSA-39). */
static void b_overflow(struct txb *b)
{
	txb_req(b, 0, 60, 0);
	txb_push(b);
	b->s->req_prod = b->back.req_cons + SN_TX_RING_SIZE + 1;
}

/* A 12-slot packet straddling index 2^32. */
static void b_wrap(struct txb *b) { pkt_conts(b, 100, 11, 100); }

/* --- extra per-case checks ------------------------------------------ */

static void c_single(const struct sn_txpkt *p)
{
	assert_int_equal(p->nr_data, 1);
	assert_int_equal(p->total_len, 60);
	assert_int_equal(p->slot[0].size, 60);
	assert_int_equal(p->slot[0].id, 0);
	assert_int_equal(p->slot[0].gref, 1000);
}

static void c_multi(const struct sn_txpkt *p)
{
	assert_int_equal(p->nr_data, 3);
	assert_int_equal(p->nr_frags, 2);
	assert_int_equal(p->total_len, 3000);
	assert_int_equal(p->slot[0].size, 1000);
	assert_int_equal(p->slot[1].size, 1000);
	assert_int_equal(p->slot[2].id, 2);
}

static void c_18(const struct sn_txpkt *p)
{
	assert_int_equal(p->nr_data, 19);
	assert_int_equal(p->nr_frags, 18);
}

static void c_dropped_ids(const struct sn_txpkt *p)
{
	unsigned int k;

	/* A dropped packet still knows every id it must answer. */
	for (k = 0; k < p->nr_data; k++)
		assert_int_equal(p->slot[k].id, k);
}

static void c_gso(const struct sn_txpkt *p)
{
	assert_true(sn_txpkt_has_extra(p, XEN_NETIF_EXTRA_TYPE_GSO));
	assert_int_equal(p->extra[XEN_NETIF_EXTRA_TYPE_GSO].u.gso.size, 1448);
	assert_int_equal(p->nr_extras, 1);
	assert_int_equal(p->slot[0].size, 1000);
	/* data slot 1 sits after the extra */
	assert_int_equal(sn_txpkt_slot_idx(p, 1), p->cons + 2);
}

static void c_gso_twice(const struct sn_txpkt *p)
{
	assert_int_equal(p->nr_extras, 2);
	assert_int_equal(p->extra[XEN_NETIF_EXTRA_TYPE_GSO].u.gso.size, 536);
	assert_int_equal(p->extra[XEN_NETIF_EXTRA_TYPE_GSO].u.gso.type,
			 XEN_NETIF_GSO_TYPE_TCPV6);
}

static void c_hash(const struct sn_txpkt *p)
{
	unsigned int bit;
	uint32_t v;

	assert_true(sn_txpkt_has_extra(p, XEN_NETIF_EXTRA_TYPE_HASH));
	assert_int_equal(sn_extra_hash_decode(
		&p->extra[XEN_NETIF_EXTRA_TYPE_HASH], &bit, &v), 0);
	assert_int_equal(bit, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	assert_int_equal(v, 0x51ccc178);
}

static void c_zero_mixed(const struct sn_txpkt *p)
{
	assert_int_equal(p->nr_data, 4);
	assert_int_equal(p->nr_frags, 1);
	assert_true(sn_txpkt_slot_empty(p, 1));
	assert_false(sn_txpkt_slot_empty(p, 2));
	assert_true(sn_txpkt_slot_empty(p, 3));
	assert_false(sn_txpkt_slot_empty(p, 0));
	assert_int_equal(p->slot[0].size, 100);
}

static void c_zero_all(const struct sn_txpkt *p)
{
	unsigned int k;

	assert_int_equal(p->nr_frags, 0);
	for (k = 1; k < p->nr_data; k++)
		assert_true(sn_txpkt_slot_empty(p, k));
	assert_int_equal(p->slot[0].size, 60);
}

static void c_mcast(const struct sn_txpkt *p)
{
	assert_true(sn_txpkt_is_mcast(p));
	assert_int_equal(p->nr_data, 1);
	assert_int_equal(p->nr_extras, 1);
}

static void c_max_size(const struct sn_txpkt *p)
{
	uint32_t sum = 0;
	unsigned int k;

	for (k = 0; k < p->nr_data; k++)
		sum += p->slot[k].size;
	assert_int_equal(sum, 65535);
	assert_int_equal(p->slot[0].size, 4095);
}

static void c_wrap(const struct sn_txpkt *p)
{
	unsigned int k;

	assert_int_equal(p->cons, 0xFFFFFFF8u);
	assert_int_equal(p->nr_data, 12);
	for (k = 0; k < p->nr_data; k++)
		assert_int_equal(p->slot[k].id, k);
	assert_int_equal(sn_txpkt_slot_idx(p, 11), 3u);
}

struct tx_case {
	const char *name;
	void (*build)(struct txb *b);
	RING_IDX start;
	int ret;
	enum sn_txreq_verdict verdict;
	enum sn_txreq_reason reason;
	unsigned int nr_slots;
	void (*check)(const struct sn_txpkt *p);
};

#define OK SN_TXREQ_OK
#define DROP SN_TXREQ_DROP
#define FATAL SN_TXREQ_FATAL
#define R(x) SN_TXREQ_R_##x

static const struct tx_case cases[] = {
	{ "tx_accepts_single_slot", b_single, 0, 0, OK, R(NONE), 1, c_single },
	{ "tx_accepts_multi_slot", b_multi, 0, 0, OK, R(NONE), 3, c_multi },
	{ "tx_accepts_18_continuations", b_18_conts, 0, 0, OK, R(NONE), 19, c_18 },
	{ "tx_drops_19th_continuation", b_19_conts, 0, 0, DROP,
	  R(TOO_MANY_SLOTS), 20, c_dropped_ids },
	{ "tx_drops_20th_continuation", b_20_conts, 0, 0, DROP,
	  R(TOO_MANY_SLOTS), 21, c_dropped_ids },
	{ "tx_fatal_21st_continuation", b_21_conts, 0, 0, FATAL,
	  R(MALICIOUS_SLOTS), 21, NULL },
	{ "tx_drops_runt", b_runt, 0, 0, DROP, R(RUNT), 1, NULL },
	{ "tx_accepts_eth_hlen", b_eth_hlen, 0, 0, OK, R(NONE), 1, NULL },
	{ "tx_drops_runt_first_fragment", b_runt_first_own, 0, 0, DROP,
	  R(RUNT), 2, NULL },
	{ "tx_drops_continuation_larger_than_remaining", b_oversize, 0, 0,
	  DROP, R(SLOT_OVERSIZE), 2, NULL },
	{ "tx_drop_consumes_whole_packet", b_oversize_then_more, 0, 0, DROP,
	  R(SLOT_OVERSIZE), 4, c_dropped_ids },
	{ "tx_rejects_slot_crossing_page", b_cont_cross_page, 0, 0, FATAL,
	  R(SLOT_CROSSES_PAGE), 2, NULL },
	{ "tx_rejects_slot_crossing_page_while_dropping",
	  b_cross_page_while_dropping, 0, 0, FATAL, R(SLOT_CROSSES_PAGE), 20,
	  NULL },
	{ "tx_rejects_first_crossing_page", b_first_cross_page, 0, 0, FATAL,
	  R(FIRST_CROSSES_PAGE), 1, NULL },
	{ "tx_accepts_first_ending_at_page", b_first_ends_at_page, 0, 0, OK,
	  R(NONE), 1, NULL },
	{ "tx_fatal_missing_extra", b_missing_extra, 0, 0, FATAL,
	  R(MISSING_EXTRA), 1, NULL },
	{ "tx_fatal_missing_chained_extra", b_missing_chained_extra, 0, 0,
	  FATAL, R(MISSING_EXTRA), 2, NULL },
	{ "tx_fatal_extra_type_none", b_extra_type_none, 0, 0, FATAL,
	  R(BAD_EXTRA_TYPE), 2, NULL },
	{ "tx_fatal_extra_type_max", b_extra_type_max, 0, 0, FATAL,
	  R(BAD_EXTRA_TYPE), 2, NULL },
	{ "tx_accepts_xdp_extra", b_extra_xdp, 0, 0, OK, R(NONE), 2, NULL },
	{ "tx_fatal_missing_continuation", b_missing_cont, 0, 0, FATAL,
	  R(MISSING_SLOTS), 1, NULL },
	{ "tx_fatal_partial_packet", b_partial_packet, 0, 0, FATAL,
	  R(MISSING_SLOTS), 3, NULL },
	{ "tx_accepts_gso", b_gso_ok, 0, 0, OK, R(NONE), 3, c_gso },
	{ "tx_fatal_gso_size_zero", b_gso_zero, 0, 0, FATAL, R(BAD_GSO), 2,
	  NULL },
	{ "tx_fatal_gso_bad_type", b_gso_bad_type, 0, 0, FATAL, R(BAD_GSO), 2,
	  NULL },
	{ "tx_later_extra_overwrites_earlier", b_gso_twice, 0, 0, OK, R(NONE),
	  3, c_gso_twice },
	{ "tx_records_hash_extra", b_hash, 0, 0, OK, R(NONE), 2, c_hash },
	{ "tx_accepts_zero_size_continuation", b_zero_conts_mixed, 0, 0, OK,
	  R(NONE), 4, c_zero_mixed },
	{ "tx_accepts_all_zero_size_continuations", b_zero_conts_all, 0, 0,
	  OK, R(NONE), 19, c_zero_all },
	{ "tx_mcast_dummy_answered_without_checks", b_mcast, 0, 0, OK,
	  R(NONE), 2, c_mcast },
	{ "tx_mcast_dummy_ignores_more_data", b_mcast_more, 0, 0, OK, R(NONE),
	  2, c_mcast },
	{ "tx_accepts_max_size_packet", b_max_size, 0, 0, OK, R(NONE), 16,
	  c_max_size },
	{ "tx_empty_ring_is_eagain", b_empty, 0, -EAGAIN, OK, R(NONE), 0,
	  NULL },
	{ "tx_fatal_ring_overflow_xsa39", b_overflow, 0, 0, FATAL,
	  R(RING_OVERFLOW), 0, NULL },
	{ "tx_fatal_ring_overflow_wrapped_xsa39", b_overflow, 0xFFFFFF00u, 0,
	  FATAL, R(RING_OVERFLOW), 0, NULL },
	{ "tx_wraps_indices_at_2_32", b_wrap, 0xFFFFFFF8u, 0, OK, R(NONE), 12,
	  c_wrap },
};

static void run_case(void **state)
{
	const struct tx_case *c = *state;
	struct sn_txpkt pkt;
	struct txb b;
	int ret;

	txb_init(&b, c->start);
	c->build(&b);
	if (c->build != b_overflow)
		txb_push(&b);
	memset(&pkt, 0xa5, sizeof(pkt));
	ret = sn_txreq_parse_ring(&b.back, sn_tx_back_req_prod(&b.back), &pkt);
	assert_int_equal(ret, c->ret);
	if (!ret) {
		if (pkt.verdict != c->verdict || pkt.reason != c->reason)
			print_error("got %s/%s, want %s/%s\n",
				    sn_txreq_verdict_str(pkt.verdict),
				    sn_txreq_reason_str(pkt.reason),
				    sn_txreq_verdict_str(c->verdict),
				    sn_txreq_reason_str(c->reason));
		assert_int_equal(pkt.verdict, c->verdict);
		assert_int_equal(pkt.reason, c->reason);
		assert_int_equal(pkt.nr_slots, c->nr_slots);
		assert_int_equal(pkt.cons, c->start);
		if (c->check)
			c->check(&pkt);
	}
	txb_fini(&b);
}

/* --- copy-once instrumentation (XSA-155) ----------------------------- */

struct counting_ctx {
	const struct netif_tx_back_ring *r;
	unsigned int reads[SN_TX_RING_SIZE];
};

static void counting_copy(void *ctx, RING_IDX idx,
			  struct netif_tx_request *out)
{
	struct counting_ctx *c = ctx;

	c->reads[idx & (SN_TX_RING_SIZE - 1)]++;
	sn_tx_back_copy_req(c->r, idx, out);
}

/* Every case: each slot the parser consumed was read exactly once, and
 * no slot beyond the packet was read at all. */
static void tx_reads_each_slot_once(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tx_case *c = &cases[i];
		struct counting_ctx *cc = calloc(1, sizeof(*cc));
		struct sn_txpkt pkt;
		struct txb b;
		RING_IDX prod;
		unsigned int k;

		if (c->build == b_overflow || c->build == b_empty) {
			free(cc);
			continue;
		}
		txb_init(&b, c->start);
		c->build(&b);
		txb_push(&b);
		cc->r = &b.back;
		prod = sn_tx_back_req_prod(&b.back);
		assert_int_equal(sn_txreq_parse(counting_copy, cc,
			b.back.req_cons, sn_tx_back_unconsumed(&b.back, prod),
			&pkt), 0);
		for (k = 0; k < SN_TX_RING_SIZE; k++) {
			RING_IDX rel = (RING_IDX)(k - (c->start &
				(SN_TX_RING_SIZE - 1))) & (SN_TX_RING_SIZE - 1);

			if (cc->reads[k] != (rel < pkt.nr_slots ? 1u : 0u))
				print_error("%s: slot %u read %u times\n",
					    c->name, k, cc->reads[k]);
			assert_int_equal(cc->reads[k],
					 rel < pkt.nr_slots ? 1u : 0u);
		}
		txb_fini(&b);
		free(cc);
	}
}

/* --- racing writer (XSA-155) ----------------------------------------- */

struct racer {
	struct netif_tx_request *slot;	/* shared slot being flipped */
	int stop;
};

/* Two versions of the one-slot packet: A is fine, B is a runt that also
 * crosses the page.  Each field flips independently, so a parser that
 * re-read the slot could validate one value and use another. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	unsigned int n = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		bool a = n++ & 1;

		__atomic_store_n(&r->slot->size, a ? 100 : 10,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&r->slot->offset, a ? 0 : 4090,
				 __ATOMIC_RELAXED);
	}
	return NULL;
}

static void xsa155_double_fetch(void **state)
{
	struct racer r = { 0 };
	unsigned int seen[4] = { 0 };
	pthread_t th;
	struct txb b;
	int i;

	(void)state;
	txb_init(&b, 0);
	txb_req(&b, 0, 100, 0);
	txb_push(&b);
	r.slot = RING_GET_REQUEST(&b.front, 0);
	assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);

	for (i = 0; i < 200000; i++) {
		struct sn_txpkt pkt;
		const struct sn_txslot *s = &pkt.slot[0];

		assert_int_equal(sn_txreq_parse_ring(&b.back,
			sn_tx_back_req_prod(&b.back), &pkt), 0);
		/* Each field is one of the two written values... */
		assert_true(s->size == 100 || s->size == 10);
		assert_true(s->offset == 0 || s->offset == 4090);
		assert_int_equal(pkt.total_len, s->size);
		/* ...and the verdict is the one those values deserve. */
		if (s->size < SN_ETH_HLEN) {
			assert_int_equal(pkt.reason, SN_TXREQ_R_RUNT);
			seen[0]++;
		} else if (s->offset + s->size > SN_PAGE_SIZE) {
			assert_int_equal(pkt.reason,
					 SN_TXREQ_R_FIRST_CROSSES_PAGE);
			seen[1]++;
		} else {
			assert_int_equal(pkt.verdict, SN_TXREQ_OK);
			seen[2]++;
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	txb_fini(&b);
	(void)seen; /* which mixes occur depends on scheduling */
}

/* --- responses -------------------------------------------------------- */

/* Drop path: first ERROR with its id, one NULL per extra, ERROR for each
 * continuation; every slot written in full (XSA-216: the 8 bytes after a
 * 4-byte tx response must not carry request bytes or stack garbage). */
static void tx_drop_responds_every_slot_zero_padded(void **state)
{
	struct sn_txpkt pkt;
	struct txb b;
	unsigned int i;

	(void)state;
	txb_init(&b, 0);
	txb_req(&b, 0, 100, EXTRA | MORE);
	gso_extra(&b, 1448, XEN_NETIF_GSO_TYPE_TCPV4, false);
	txb_req(&b, 0, 200, 0);	/* oversize: drop */
	txb_push(&b);
	assert_int_equal(sn_txreq_parse_ring(&b.back,
		sn_tx_back_req_prod(&b.back), &pkt), 0);
	assert_int_equal(pkt.verdict, SN_TXREQ_DROP);
	assert_int_equal(pkt.nr_slots, 3);
	b.back.req_cons += pkt.nr_slots;

	sn_txpkt_respond_all(&b.back, &pkt, NETIF_RSP_ERROR);
	assert_int_equal(b.back.rsp_prod_pvt, 3);
	(void)sn_tx_back_push(&b.back);

	for (i = 0; i < 3; i++) {
		const uint8_t *raw = (const uint8_t *)&b.s->ring[0] +
				     i * sizeof(b.s->ring[0]);
		struct netif_tx_response rsp;
		size_t j;

		sn_tx_front_copy_rsp(&b.front, i, &rsp);
		for (j = sizeof(rsp); j < sizeof(b.s->ring[0]); j++)
			assert_int_equal(raw[j], 0);
		if (i == 1) {
			assert_int_equal(rsp.status, NETIF_RSP_NULL);
			assert_int_equal(rsp.id, 0);
		} else {
			assert_int_equal(rsp.status, NETIF_RSP_ERROR);
			assert_int_equal(rsp.id, i == 0 ? 0 : 1);
		}
	}
	txb_fini(&b);
}

/* Two packets back to back: consuming nr_slots lands on the next one. */
static void tx_consecutive_packets(void **state)
{
	struct sn_txpkt pkt;
	struct txb b;

	(void)state;
	txb_init(&b, 0);
	pkt_conts(&b, 100, 2, 50);
	txb_req(&b, 0, 10, 0);		/* runt */
	pkt_conts(&b, 60, 1, 60);
	txb_push(&b);

	assert_int_equal(sn_txreq_parse_ring(&b.back,
		sn_tx_back_req_prod(&b.back), &pkt), 0);
	assert_int_equal(pkt.verdict, SN_TXREQ_OK);
	b.back.req_cons += pkt.nr_slots;
	sn_txpkt_respond_all(&b.back, &pkt, NETIF_RSP_OKAY);

	assert_int_equal(sn_txreq_parse_ring(&b.back,
		sn_tx_back_req_prod(&b.back), &pkt), 0);
	assert_int_equal(pkt.reason, SN_TXREQ_R_RUNT);
	assert_int_equal(pkt.slot[0].id, 3);
	b.back.req_cons += pkt.nr_slots;
	sn_txpkt_respond_all(&b.back, &pkt, NETIF_RSP_ERROR);

	assert_int_equal(sn_txreq_parse_ring(&b.back,
		sn_tx_back_req_prod(&b.back), &pkt), 0);
	assert_int_equal(pkt.verdict, SN_TXREQ_OK);
	assert_int_equal(pkt.nr_slots, 2);
	assert_int_equal(pkt.slot[1].id, 5);
	b.back.req_cons += pkt.nr_slots;

	assert_int_equal(sn_txreq_parse_ring(&b.back,
		sn_tx_back_req_prod(&b.back), &pkt), -EAGAIN);
	txb_fini(&b);
}

static void tx_reason_strings(void **state)
{
	int r;

	(void)state;
	for (r = 0; r < SN_TXREQ_R_COUNT; r++) {
		assert_non_null(sn_txreq_reason_str(r));
		assert_string_not_equal(sn_txreq_reason_str(r), "unknown");
	}
	assert_string_equal(sn_txreq_reason_str(SN_TXREQ_R_COUNT), "unknown");
}

int main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct CMUnitTest *tests = calloc(n + 5, sizeof(*tests));
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(tx_reads_each_slot_once);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(xsa155_double_fetch);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(
		tx_drop_responds_every_slot_zero_padded);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(tx_consecutive_packets);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(tx_reason_strings);
	ret = _cmocka_run_group_tests("proto_txreq", tests, n, NULL, NULL);
	free(tests);
	return ret;
}
