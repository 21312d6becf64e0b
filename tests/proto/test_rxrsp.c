/* Frontend validation: RX response chains (xen/io/netif.h, Linux netfront
 * xennet_get_responses) on a real rx ring in plain memory, and
 * TX response ids (XSA-405). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/rxrsp.h"

#define MORE NETRXF_more_data
#define EXTRA NETRXF_extra_info

struct rxb {
	struct netif_rx_sring *s;
	struct netif_rx_front_ring front;
	struct netif_rx_back_ring back;
};

/* Frontend posts `posted` buffers starting at index start (id = slot, as
 * Linux netfront does); the backend then answers through rxb_rsp. */
static void rxb_init(struct rxb *b, RING_IDX start, unsigned int posted)
{
	unsigned int i;

	b->s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	sn_rx_front_init(&b->front, b->s);
	b->s->req_prod = b->s->rsp_prod = start;
	FRONT_RING_ATTACH(&b->front, b->s, start, SN_PAGE_SIZE);
	for (i = 0; i < posted; i++) {
		struct netif_rx_request req = {
			.id = (uint16_t)(b->front.req_prod_pvt &
					 (SN_RX_RING_SIZE - 1)),
			.gref = 2000 + i,
		};

		sn_rx_front_put_req(&b->front, &req);
	}
	(void)sn_rx_front_push(&b->front);
	assert_int_equal(sn_rx_back_attach(&b->back, b->s), 0);
}

static void rxb_fini(struct rxb *b)
{
	free(b->s);
}

static void rxb_rsp(struct rxb *b, uint16_t offset, int16_t status,
		    uint16_t flags)
{
	struct netif_rx_response rsp = {
		.id = (uint16_t)(b->back.rsp_prod_pvt & (SN_RX_RING_SIZE - 1)),
		.offset = offset, .flags = flags, .status = status,
	};

	sn_rx_back_put_rsp(&b->back, &rsp);
}

static void rxb_extra(struct rxb *b, const struct netif_extra_info *x)
{
	sn_rx_back_write_slot(&b->back, b->back.rsp_prod_pvt++, x, sizeof(*x));
}

static void rxb_raw_extra(struct rxb *b, uint8_t type, bool more)
{
	struct netif_extra_info x = { .type = type };

	sn_extra_set_more(&x, more);
	rxb_extra(b, &x);
}

/* first + n continuations, all of `each` bytes except the first */
static void chain(struct rxb *b, int16_t first, unsigned int n, int16_t each)
{
	unsigned int i;

	rxb_rsp(b, 0, first, n ? MORE : 0);
	for (i = 0; i < n; i++)
		rxb_rsp(b, 0, each, i + 1 < n ? MORE : 0);
}

static void r_single(struct rxb *b) { rxb_rsp(b, 0, 60, 0); }
static void r_multi(struct rxb *b) { chain(b, 4096, 2, 100); }
static void r_neg(struct rxb *b) { rxb_rsp(b, 0, NETIF_RSP_ERROR, 0); }
/* Linux netback writes raw GNTST codes on a failed copy */
static void r_gntst(struct rxb *b) { rxb_rsp(b, 0, -13, 0); }
static void r_past_page(struct rxb *b) { rxb_rsp(b, 100, 4000, 0); }
static void r_offset_fits(struct rxb *b) { rxb_rsp(b, 96, 4000, 0); }

static void r_cont_past_page(struct rxb *b)
{
	rxb_rsp(b, 0, 100, MORE);
	rxb_rsp(b, 2, 4095, 0);
}

static void r_err_whole_chain(struct rxb *b)
{
	rxb_rsp(b, 0, -1, MORE);
	rxb_rsp(b, 0, 100, MORE);
	rxb_rsp(b, 0, 100, 0);
}

static void r_missing_extra(struct rxb *b) { rxb_rsp(b, 0, 60, EXTRA); }

static void r_extra_none(struct rxb *b)
{
	rxb_rsp(b, 0, 60, EXTRA);
	rxb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_NONE, false);
}

static void r_extra_max(struct rxb *b)
{
	rxb_rsp(b, 0, 60, EXTRA);
	rxb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_MAX, false);
}

/* Linux netback's XDP extra (type 5, past Debian's netif.h). */
static void r_extra_xdp(struct rxb *b)
{
	rxb_rsp(b, 0, 60, EXTRA);
	rxb_raw_extra(b, XEN_NETIF_EXTRA_TYPE_XDP, false);
}

static void r_missing_slots(struct rxb *b) { rxb_rsp(b, 0, 60, MORE); }

static void r_19_small(struct rxb *b) { chain(b, 200, 18, 100); }
static void r_19_large(struct rxb *b) { chain(b, 1000, 18, 100); }
static void r_18_large(struct rxb *b) { chain(b, 1000, 17, 100); }
static void r_20_small(struct rxb *b) { chain(b, 256, 19, 100); }

static void r_extras(struct rxb *b)
{
	struct netif_extra_info x;

	rxb_rsp(b, 0, 4096, EXTRA | MORE);
	assert_int_equal(sn_extra_gso_encode(&x, 1448,
					     XEN_NETIF_GSO_TYPE_TCPV6), 0);
	sn_extra_set_more(&x, true);
	rxb_extra(b, &x);
	assert_int_equal(sn_extra_hash_encode(&x,
		_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, 0x40207d3d), 0);
	rxb_extra(b, &x);
	rxb_rsp(b, 0, 1000, 0);
}

static void r_wrap(struct rxb *b) { chain(b, 4096, 5, 4096); }

static void r_empty(struct rxb *b) { (void)b; }

/* A lying backend: one response more than buffers posted. */
static void r_overflow(struct rxb *b)
{
	rxb_rsp(b, 0, 60, 0);
	(void)sn_rx_back_push(&b->back);
	__atomic_store_n(&b->s->rsp_prod, b->front.req_prod_pvt + 1,
			 __ATOMIC_RELEASE);
}

static void c_single(const struct sn_rxpkt *p)
{
	assert_int_equal(p->len, 60);
	assert_int_equal(p->nr_recorded, 1);
	assert_int_equal(p->slot[0].status, 60);
}

static void c_multi(const struct sn_rxpkt *p)
{
	assert_int_equal(p->len, 4296);
	assert_int_equal(p->nr_data, 3);
	assert_int_equal(p->slot[2].id, 2);
}

static void c_extras(const struct sn_rxpkt *p)
{
	unsigned int bit;
	uint32_t v;
	uint16_t mss;
	uint8_t type;

	assert_int_equal(p->nr_extras, 2);
	assert_int_equal(p->len, 5096);
	assert_int_equal(sn_extra_gso_decode(
		&p->extra[XEN_NETIF_EXTRA_TYPE_GSO], &mss, &type), 0);
	assert_int_equal(mss, 1448);
	assert_true(sn_rxpkt_has_extra(p, XEN_NETIF_EXTRA_TYPE_HASH));
	assert_int_equal(sn_extra_hash_decode(
		&p->extra[XEN_NETIF_EXTRA_TYPE_HASH], &bit, &v), 0);
	assert_int_equal(v, 0x40207d3d);
	/* the continuation sits after both extras */
	assert_int_equal(sn_rxpkt_slot_idx(p, 1), p->cons + 3);
	assert_int_equal(p->slot[1].id, 3);
}

static void c_wrap(const struct sn_rxpkt *p)
{
	assert_int_equal(p->cons, 0xFFFFFFFDu);
	assert_int_equal(p->len, 6 * 4096);
	assert_int_equal(p->slot[5].id, 2);	/* index 2^32 + 2 */
}

static void c_too_many(const struct sn_rxpkt *p)
{
	/* only the first SN_RX_MAX_DATA_SLOTS are recorded */
	assert_true(p->nr_recorded <= SN_RX_MAX_DATA_SLOTS);
}

struct rx_case {
	const char *name;
	void (*build)(struct rxb *b);
	RING_IDX start;
	int ret;
	enum sn_rxrsp_verdict verdict;
	enum sn_rxrsp_reason reason;
	unsigned int nr_slots;
	void (*check)(const struct sn_rxpkt *p);
};

#define OK SN_RXRSP_OK
#define ERR SN_RXRSP_ERROR
#define BROKEN SN_RXRSP_BROKEN
#define R(x) SN_RXRSP_R_##x

static const struct rx_case cases[] = {
	{ "rx_accepts_single_slot", r_single, 0, 0, OK, R(NONE), 1, c_single },
	{ "rx_accepts_multi_slot", r_multi, 0, 0, OK, R(NONE), 3, c_multi },
	{ "rx_rejects_negative_status", r_neg, 0, 0, ERR, R(BAD_STATUS), 1,
	  NULL },
	{ "rx_rejects_gntst_status", r_gntst, 0, 0, ERR, R(BAD_STATUS), 1,
	  NULL },
	{ "rx_rejects_status_past_page", r_past_page, 0, 0, ERR,
	  R(CROSSES_PAGE), 1, NULL },
	{ "rx_accepts_offset_plus_status_at_page", r_offset_fits, 0, 0, OK,
	  R(NONE), 1, NULL },
	{ "rx_rejects_continuation_past_page", r_cont_past_page, 0, 0, ERR,
	  R(CROSSES_PAGE), 2, NULL },
	{ "rx_error_consumes_whole_chain", r_err_whole_chain, 0, 0, ERR,
	  R(BAD_STATUS), 3, NULL },
	{ "rx_rejects_missing_extra", r_missing_extra, 0, 0, ERR,
	  R(MISSING_EXTRA), 1, NULL },
	{ "rx_rejects_extra_type_none", r_extra_none, 0, 0, ERR,
	  R(BAD_EXTRA_TYPE), 2, NULL },
	{ "rx_rejects_extra_type_max", r_extra_max, 0, 0, ERR,
	  R(BAD_EXTRA_TYPE), 2, NULL },
	{ "rx_accepts_xdp_extra", r_extra_xdp, 0, 0, OK, R(NONE), 2, NULL },
	{ "rx_rejects_chain_past_rsp_prod", r_missing_slots, 0, 0, ERR,
	  R(MISSING_SLOTS), 1, NULL },
	{ "rx_accepts_19_slots_small_first", r_19_small, 0, 0, OK, R(NONE),
	  19, NULL },
	{ "rx_rejects_19_slots_large_first", r_19_large, 0, 0, ERR,
	  R(TOO_MANY_SLOTS), 19, c_too_many },
	{ "rx_accepts_18_slots_large_first", r_18_large, 0, 0, OK, R(NONE),
	  18, NULL },
	{ "rx_rejects_20_slots_small_first", r_20_small, 0, 0, ERR,
	  R(TOO_MANY_SLOTS), 20, c_too_many },
	{ "rx_records_gso_and_hash_extras", r_extras, 0, 0, OK, R(NONE), 4,
	  c_extras },
	{ "rx_wraps_indices_at_2_32", r_wrap, 0xFFFFFFFDu, 0, OK, R(NONE), 6,
	  c_wrap },
	{ "rx_empty_ring_is_eagain", r_empty, 0, -EAGAIN, OK, R(NONE), 0,
	  NULL },
	{ "rx_broken_on_more_responses_than_requests", r_overflow, 0, 0,
	  BROKEN, R(RING_OVERFLOW), 0, NULL },
	{ "rx_broken_on_overflow_wrapped", r_overflow, 0xFFFFFFF0u, 0,
	  BROKEN, R(RING_OVERFLOW), 0, NULL },
};

static void run_case(void **state)
{
	const struct rx_case *c = *state;
	struct sn_rxpkt pkt;
	struct rxb b;
	int ret;

	/* 32 buffers posted: enough for every chain here */
	rxb_init(&b, c->start, 32);
	c->build(&b);
	if (c->build != r_overflow)
		(void)sn_rx_back_push(&b.back);
	memset(&pkt, 0xa5, sizeof(pkt));
	ret = sn_rxrsp_parse_ring(&b.front, sn_rx_front_rsp_prod(&b.front),
				  &pkt);
	assert_int_equal(ret, c->ret);
	if (!ret) {
		if (pkt.reason != c->reason)
			print_error("got %s, want %s\n",
				    sn_rxrsp_reason_str(pkt.reason),
				    sn_rxrsp_reason_str(c->reason));
		assert_int_equal(pkt.verdict, c->verdict);
		assert_int_equal(pkt.reason, c->reason);
		assert_int_equal(pkt.nr_slots, c->nr_slots);
		if (c->check)
			c->check(&pkt);
	}
	rxb_fini(&b);
}

struct counting_ctx {
	const struct netif_rx_front_ring *r;
	unsigned int reads[SN_RX_RING_SIZE];
};

static void counting_copy(void *ctx, RING_IDX idx,
			  struct netif_rx_response *out)
{
	struct counting_ctx *c = ctx;

	c->reads[idx & (SN_RX_RING_SIZE - 1)]++;
	sn_rx_front_copy_rsp(c->r, idx, out);
}

static void rx_reads_each_slot_once(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rx_case *c = &cases[i];
		struct counting_ctx *cc;
		struct sn_rxpkt pkt;
		struct rxb b;
		unsigned int k;

		if (c->build == r_overflow || c->build == r_empty)
			continue;
		cc = calloc(1, sizeof(*cc));
		rxb_init(&b, c->start, 32);
		c->build(&b);
		(void)sn_rx_back_push(&b.back);
		cc->r = &b.front;
		assert_int_equal(sn_rxrsp_parse(counting_copy, cc,
			b.front.rsp_cons,
			sn_rx_front_rsp_prod(&b.front) - b.front.rsp_cons,
			&pkt), 0);
		for (k = 0; k < SN_RX_RING_SIZE; k++) {
			RING_IDX rel = (RING_IDX)(k - (c->start &
				(SN_RX_RING_SIZE - 1))) & (SN_RX_RING_SIZE - 1);

			assert_int_equal(cc->reads[k],
					 rel < pkt.nr_slots ? 1u : 0u);
		}
		rxb_fini(&b);
		free(cc);
	}
}

/* --- TX responses (XSA-405) ----------------------------------------- */

static void txrsp_accepts_pending_id(void **state)
{
	struct sn_idmap pending = { { 0 } };
	struct netif_tx_response rsp = { .id = 7, .status = NETIF_RSP_OKAY };

	(void)state;
	sn_idmap_set(&pending, 7);
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &pending),
			 SN_TXRSP_DONE);
	assert_false(sn_idmap_test(&pending, 7));
}

static void txrsp_rejects_unknown_id(void **state)
{
	struct sn_idmap pending;
	struct netif_tx_response rsp = { .id = SN_TX_RING_SIZE,
					 .status = NETIF_RSP_OKAY };

	(void)state;
	memset(&pending, 0xff, sizeof(pending));
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &pending),
			 SN_TXRSP_BAD_ID);
	rsp.id = 0xffff;
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, NULL),
			 SN_TXRSP_BAD_ID);
	/* ring_size larger than the map cannot make the map overflow */
	rsp.id = 300;
	assert_int_equal(sn_txrsp_check(&rsp, 1024, &pending),
			 SN_TXRSP_BAD_ID);
	assert_true(sn_txrsp_is_broken(SN_TXRSP_BAD_ID));
}

static void txrsp_rejects_inactive_id(void **state)
{
	struct sn_idmap pending = { { 0 } };
	struct netif_tx_response rsp = { .id = 3, .status = NETIF_RSP_OKAY };

	(void)state;
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &pending),
			 SN_TXRSP_NOT_PENDING);
	assert_true(sn_txrsp_is_broken(SN_TXRSP_NOT_PENDING));
}

static void txrsp_rejects_duplicate_id(void **state)
{
	struct sn_idmap pending = { { 0 } };
	struct netif_tx_response rsp = { .id = 200, .status = NETIF_RSP_ERROR };

	(void)state;
	sn_idmap_set(&pending, 200);
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &pending),
			 SN_TXRSP_DONE_ERROR);
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, &pending),
			 SN_TXRSP_NOT_PENDING);
}

static void txrsp_skips_null(void **state)
{
	struct netif_tx_response rsp = { .id = 0xffff,
					 .status = NETIF_RSP_NULL };

	(void)state;
	/* an extra slot's answer: its id is meaningless, never checked */
	assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE, NULL),
			 SN_TXRSP_SKIP);
}

static void txrsp_error_statuses_complete(void **state)
{
	static const int16_t st[] = { NETIF_RSP_ERROR, NETIF_RSP_DROPPED, -5,
				      2 };
	struct sn_idmap pending = { { 0 } };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		struct netif_tx_response rsp = { .id = (uint16_t)i,
						 .status = st[i] };

		sn_idmap_set(&pending, (unsigned int)i);
		assert_int_equal(sn_txrsp_check(&rsp, SN_TX_RING_SIZE,
						&pending), SN_TXRSP_DONE_ERROR);
	}
}

/* rsp_prod beyond the requests we published (netfront "Illegal number of
 * responses"), also across the 2^32 wrap. */
static void txrsp_rejects_rsp_prod_beyond_requests(void **state)
{
	static const RING_IDX starts[] = { 0, 0xFFFFFFFEu };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct netif_tx_front_ring f;
		struct netif_tx_sring *s = aligned_alloc(SN_PAGE_SIZE,
							 SN_PAGE_SIZE);
		struct netif_tx_request req = { .size = 60 };

		sn_tx_front_init(&f, s);
		s->req_prod = s->rsp_prod = starts[i];
		FRONT_RING_ATTACH(&f, s, starts[i], SN_PAGE_SIZE);
		sn_tx_front_put_req(&f, &req);
		sn_tx_front_put_req(&f, &req);
		(void)sn_tx_front_push(&f);
		assert_false(sn_tx_front_rsp_overflow(&f, starts[i] + 2));
		assert_true(sn_tx_front_rsp_overflow(&f, starts[i] + 3));
		assert_true(sn_tx_front_rsp_overflow(&f, starts[i] - 1));
		free(s);
	}
}

int main(void)
{
	static const struct CMUnitTest extra[] = {
		cmocka_unit_test(rx_reads_each_slot_once),
		cmocka_unit_test(txrsp_accepts_pending_id),
		cmocka_unit_test(txrsp_rejects_unknown_id),
		cmocka_unit_test(txrsp_rejects_inactive_id),
		cmocka_unit_test(txrsp_rejects_duplicate_id),
		cmocka_unit_test(txrsp_skips_null),
		cmocka_unit_test(txrsp_error_statuses_complete),
		cmocka_unit_test(txrsp_rejects_rsp_prod_beyond_requests),
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	size_t m = sizeof(extra) / sizeof(extra[0]);
	struct CMUnitTest *tests = calloc(n + m, sizeof(*tests));
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	memcpy(tests + n, extra, sizeof(extra));
	ret = _cmocka_run_group_tests("proto_rxrsp", tests, n + m, NULL, NULL);
	free(tests);
	return ret;
}
