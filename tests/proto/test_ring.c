/* Ring helpers (proto/ring.h) and slot math (proto/slots.h): geometry,
 * notify/final-check semantics, overflow checks, zero-padded writes
 * (XSA-216), and a two-thread producer/consumer run over the helpers. */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/ring.h"
#include "proto/slots.h"

static void *page(void)
{
	void *p = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);

	assert_non_null(p);
	memset(p, 0xaa, SN_PAGE_SIZE);	/* init must not rely on zeroed memory */
	return p;
}

static void ring_sizes_from_geometry(void **state)
{
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	struct xen_netif_ctrl_front_ring ctrl;
	void *a = page(), *b = page(), *c = page();

	(void)state;
	sn_tx_front_init(&tx, a);
	sn_rx_front_init(&rx, b);
	sn_ctrl_front_init(&ctrl, c);
	assert_int_equal(RING_SIZE(&tx), SN_TX_RING_SIZE);
	assert_int_equal(RING_SIZE(&rx), SN_RX_RING_SIZE);
	assert_int_equal(RING_SIZE(&ctrl), SN_CTRL_RING_SIZE);
	assert_int_equal(SN_TX_RING_SIZE, 256);
	assert_int_equal(SN_CTRL_RING_SIZE, 128);
	/* init leaves the producer/event indices of SHARED_RING_INIT */
	assert_int_equal(tx.sring->req_event, 1);
	assert_int_equal(tx.sring->rsp_event, 1);
	assert_int_equal(sn_tx_front_free(&tx), 256);
	free(a);
	free(b);
	free(c);
}

/* The raw ring.h macros expand to the barrier macros ring.h defines;
 * this only links if those are defined (src/proto/ring.h). */
static void ring_macros_link_and_agree(void **state)
{
	struct netif_tx_front_ring f;
	struct netif_tx_back_ring bk;
	struct netif_tx_request req = { .id = 9, .size = 60 };
	int notify = 0, work = 0;
	void *p = page();

	(void)state;
	sn_tx_front_init(&f, p);
	BACK_RING_INIT(&bk, f.sring, SN_PAGE_SIZE);
	*RING_GET_REQUEST(&f, f.req_prod_pvt) = req;
	f.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, notify);
	assert_true(notify);	/* req_event 1 is in (0, 1] */
	RING_FINAL_CHECK_FOR_REQUESTS(&bk, work);
	assert_int_equal(work, 1);
	assert_int_equal(sn_tx_back_final_check(&bk, NULL), 1);
	free(p);
}

struct notify_case {
	RING_IDX old_prod, new_prod, event;
	bool notify;
};

/* notify iff event in (old, new], in unsigned index arithmetic */
static void ring_push_notifies_only_when_event_in_range(void **state)
{
	static const struct notify_case cases[] = {
		{ 0, 1, 1, true },
		{ 0, 5, 3, true },
		{ 0, 5, 5, true },
		{ 0, 5, 6, false },
		{ 3, 5, 3, false },	/* already notified for 3 */
		{ 3, 5, 0, false },
		{ 0xFFFFFFFEu, 2, 0, true },	/* wrapped */
		{ 0xFFFFFFFEu, 2, 0xFFFFFFFFu, true },
		{ 0xFFFFFFFEu, 2, 3, false },
		{ 7, 7, 7, false },	/* nothing new */
	};
	struct netif_tx_back_ring bk;
	size_t i;
	void *p = page();

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct notify_case *c = &cases[i];

		sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, p);
		BACK_RING_INIT(&bk, (struct netif_tx_sring *)p, SN_PAGE_SIZE);
		bk.sring->rsp_prod = c->old_prod;
		bk.sring->rsp_event = c->event;
		bk.rsp_prod_pvt = c->new_prod;
		assert_int_equal(sn_tx_back_push(&bk), c->notify);
		assert_int_equal(bk.sring->rsp_prod, c->new_prod);
	}
	free(p);
}

static void ring_final_check_arms_event(void **state)
{
	struct netif_tx_front_ring f;
	struct netif_tx_back_ring bk;
	struct netif_tx_request req = { .size = 60 };
	struct netif_tx_response rsp = { .id = 0 };
	RING_IDX prod;
	void *p = page();

	(void)state;
	sn_tx_front_init(&f, p);
	assert_int_equal(sn_tx_back_attach(&bk, f.sring), 0);

	/* backend idle: arms req_event = req_cons + 1 */
	f.sring->req_event = 77;
	assert_int_equal(sn_tx_back_final_check(&bk, &prod), 0);
	assert_int_equal(f.sring->req_event, bk.req_cons + 1);
	assert_int_equal(prod, 0);

	sn_tx_front_put_req(&f, &req);
	assert_true(sn_tx_front_push(&f));
	f.sring->req_event = 77;
	/* work pending: event untouched */
	assert_int_equal(sn_tx_back_final_check(&bk, &prod), 1);
	assert_int_equal(f.sring->req_event, 77);
	assert_int_equal(prod, 1);

	bk.req_cons++;
	sn_tx_back_put_rsp(&bk, &rsp);
	(void)sn_tx_back_push(&bk);
	f.sring->rsp_event = 99;
	assert_int_equal(sn_tx_front_final_check(&f, NULL), 1);
	assert_int_equal(f.sring->rsp_event, 99);
	f.rsp_cons++;
	assert_int_equal(sn_tx_front_final_check(&f, NULL), 0);
	assert_int_equal(f.sring->rsp_event, f.rsp_cons + 1);
	free(p);
}

/* Unconsumed = min(published, response space): a backend with unanswered
 * requests cannot consume past its response slots. */
static void ring_unconsumed_bounded_by_response_space(void **state)
{
	struct netif_tx_back_ring bk;
	void *p = page();

	(void)state;
	sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, p);
	assert_int_equal(sn_tx_back_attach(&bk, p), 0);
	bk.req_cons = 250;
	bk.rsp_prod_pvt = 0;
	assert_int_equal(sn_tx_back_unconsumed(&bk, 256), 6);
	assert_int_equal(sn_tx_back_unconsumed(&bk, 300), 6);
	bk.rsp_prod_pvt = 100;
	assert_int_equal(sn_tx_back_unconsumed(&bk, 300), 50);
	free(p);
}

/* XSA-39: more requests than ring slots is a lie, at any index. */
static void ring_prod_overflow_detected(void **state)
{
	static const RING_IDX starts[] = { 0, 100, 0xFFFFFF80u, 0xFFFFFFFFu };
	struct netif_tx_back_ring bk;
	size_t i;
	void *p = page();

	(void)state;
	sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, p);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		BACK_RING_ATTACH(&bk, (struct netif_tx_sring *)p, starts[i],
				 SN_PAGE_SIZE);
		assert_false(sn_tx_back_prod_overflow(&bk, starts[i]));
		assert_false(sn_tx_back_prod_overflow(&bk, starts[i] + 256));
		assert_true(sn_tx_back_prod_overflow(&bk, starts[i] + 257));
		/* prod behind us is a huge unsigned distance: also a lie */
		assert_true(sn_tx_back_prod_overflow(&bk, starts[i] - 1));
	}
	free(p);
}

static void ring_attach_rejects_garbage_indices(void **state)
{
	struct netif_rx_back_ring bk;
	struct netif_rx_sring *s = page();

	(void)state;
	sn_rx_front_init(&(struct netif_rx_front_ring){ 0 }, s);
	s->rsp_prod = 0xFFFFFFF0u;
	s->req_prod = 0xFFFFFFF0u + 256;
	assert_int_equal(sn_rx_back_attach(&bk, s), 0);
	assert_int_equal(bk.req_cons, 0xFFFFFFF0u);
	s->req_prod = 0xFFFFFFF0u + 257;
	assert_int_equal(sn_rx_back_attach(&bk, s), -EIO);
	free(s);
}

/* Slot index is masked: index 2^32 - 1 and 255 are the same slot. */
static void ring_copy_masks_index(void **state)
{
	struct netif_tx_back_ring bk;
	struct netif_tx_sring *s = page();
	struct netif_tx_request in = { .gref = 0x12345678, .offset = 42,
				       .flags = 3, .id = 255, .size = 1514 };
	struct netif_tx_request out;

	(void)state;
	sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, s);
	BACK_RING_ATTACH(&bk, s, 0, SN_PAGE_SIZE);
	memcpy((char *)s + 64 + 255 * 12, &in, sizeof(in));
	sn_tx_back_copy_req(&bk, 0xFFFFFFFFu, &out);
	assert_memory_equal(&in, &out, sizeof(in));
	free(s);
}

/* XSA-216: a response written into a slot that held a request leaves no
 * request (or stack) bytes behind, on every ring type. */
static void xsa216_response_padding_zeroed(void **state)
{
	struct netif_tx_sring *ts = page();
	struct xen_netif_ctrl_sring *cs = page();
	struct netif_rx_sring *rs = page();
	struct netif_tx_back_ring tb;
	struct xen_netif_ctrl_back_ring cb;
	struct netif_rx_back_ring rb;
	struct netif_tx_response trsp = { .id = 1, .status = NETIF_RSP_OKAY };
	struct xen_netif_ctrl_response crsp = { .id = 2, .type = 3,
						.status = 0, .data = 4 };
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_GSO };
	const uint8_t *raw;
	size_t i;

	(void)state;
	sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, ts);
	sn_ctrl_front_init(&(struct xen_netif_ctrl_front_ring){ 0 }, cs);
	sn_rx_front_init(&(struct netif_rx_front_ring){ 0 }, rs);
	memset(ts->ring, 0xaa, 12);
	memset(cs->ring, 0xaa, 16);
	memset(rs->ring, 0xaa, 8);
	BACK_RING_INIT(&tb, ts, SN_PAGE_SIZE);
	BACK_RING_INIT(&cb, cs, SN_PAGE_SIZE);
	BACK_RING_INIT(&rb, rs, SN_PAGE_SIZE);

	sn_tx_back_put_rsp(&tb, &trsp);
	raw = (const uint8_t *)ts->ring;
	assert_memory_equal(raw, &trsp, sizeof(trsp));
	for (i = sizeof(trsp); i < 12; i++)
		assert_int_equal(raw[i], 0);

	sn_ctrl_back_put_rsp(&cb, &crsp);
	raw = (const uint8_t *)cs->ring;
	assert_memory_equal(raw, &crsp, sizeof(crsp));
	for (i = sizeof(crsp); i < 16; i++)
		assert_int_equal(raw[i], 0);

	/* an rx extra built field by field: its union padding is zeroed */
	x.u.gso.size = 1448;
	x.u.gso.type = 1;
	sn_rx_back_write_slot(&rb, rb.rsp_prod_pvt++, &x, sizeof(x));
	raw = (const uint8_t *)rs->ring;
	assert_int_equal(raw[5], 0);	/* gso.pad */
	assert_int_equal(raw[6], 0);	/* gso.features */
	assert_int_equal(raw[7], 0);

	/* and the frontend side: an extra in a 12-byte tx request slot */
	{
		struct netif_tx_front_ring tf;

		sn_tx_front_init(&tf, ts);
		memset(ts->ring, 0xaa, 12);
		sn_tx_front_write_slot(&tf, 0, &x, sizeof(x));
		raw = (const uint8_t *)ts->ring;
		for (i = sizeof(x); i < 12; i++)
			assert_int_equal(raw[i], 0);
	}
	free(ts);
	free(cs);
	free(rs);
}

static void slots_span_counts_pages(void **state)
{
	static const struct { uint32_t len, off; unsigned int n; } c[] = {
		{ 0, 0, 0 }, { 1, 0, 1 }, { 4096, 0, 1 }, { 4097, 0, 2 },
		{ 1, 4095, 1 }, { 2, 4095, 2 }, { 65535, 0, 16 },
		{ 65535, 1, 16 }, { 65535, 2, 17 }, { 100, 8192, 1 },
		{ UINT32_MAX, 4095, 1048577 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_int_equal(sn_slots_span(c[i].len, c[i].off), c[i].n);
	assert_true(sn_slot_in_page(4095, 1));
	assert_true(sn_slot_in_page(0, 4096));
	assert_false(sn_slot_in_page(4095, 2));
	assert_false(sn_slot_in_page(0xFFFF, 0xFFFF));
	assert_int_equal(sn_rx_slots_needed(0, false, false), 1);
	assert_int_equal(sn_rx_slots_needed(1514, false, true), 2);
	assert_int_equal(sn_rx_slots_needed(65535, true, true), 18);
	assert_int_equal(SN_TX_MAX_DATA_SLOTS, 21);
}

/* --- two threads over the helpers ----------------------------------- */

#define SPSC_ITEMS 200000u

struct spsc {
	struct netif_tx_sring *s;
	unsigned int bad;
};

/* Backend: consume requests, check the sequence, answer each. */
static void *spsc_back(void *arg)
{
	struct spsc *t = arg;
	struct netif_tx_back_ring bk;
	uint32_t expect = 0;

	BACK_RING_INIT(&bk, t->s, SN_PAGE_SIZE);
	while (expect < SPSC_ITEMS) {
		RING_IDX prod;
		unsigned int n = sn_tx_back_final_check(&bk, &prod);

		if (!n) {
			sched_yield();
			continue;
		}
		if (sn_tx_back_prod_overflow(&bk, prod))
			t->bad++;
		while (n--) {
			struct netif_tx_request req;
			struct netif_tx_response rsp;

			sn_tx_back_copy_req(&bk, bk.req_cons++, &req);
			if (req.gref != expect++)
				t->bad++;
			rsp.id = req.id;
			rsp.status = NETIF_RSP_OKAY;
			sn_tx_back_put_rsp(&bk, &rsp);
		}
		(void)sn_tx_back_push(&bk);
	}
	return NULL;
}

static void ring_two_threads_lose_nothing(void **state)
{
	struct spsc t = { .s = page() };
	struct netif_tx_front_ring f;
	pthread_t th;
	uint32_t sent = 0, done = 0;

	(void)state;
	sn_tx_front_init(&f, t.s);
	assert_int_equal(pthread_create(&th, NULL, spsc_back, &t), 0);
	while (done < SPSC_ITEMS) {
		RING_IDX prod;
		unsigned int n;

		while (sent < SPSC_ITEMS && sn_tx_front_free(&f)) {
			struct netif_tx_request req = {
				.gref = sent, .id = (uint16_t)(f.req_prod_pvt &
							       255),
				.size = 60,
			};

			sn_tx_front_put_req(&f, &req);
			sent++;
		}
		(void)sn_tx_front_push(&f);
		n = sn_tx_front_final_check(&f, &prod);
		if (!n) {
			sched_yield();
			continue;
		}
		assert_false(sn_tx_front_rsp_overflow(&f, prod));
		while (n--) {
			struct netif_tx_response rsp;

			sn_tx_front_copy_rsp(&f, f.rsp_cons++, &rsp);
			assert_int_equal(rsp.status, NETIF_RSP_OKAY);
			done++;
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(t.bad, 0);
	free(t.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_sizes_from_geometry),
		cmocka_unit_test(ring_macros_link_and_agree),
		cmocka_unit_test(ring_push_notifies_only_when_event_in_range),
		cmocka_unit_test(ring_final_check_arms_event),
		cmocka_unit_test(ring_unconsumed_bounded_by_response_space),
		cmocka_unit_test(ring_prod_overflow_detected),
		cmocka_unit_test(ring_attach_rejects_garbage_indices),
		cmocka_unit_test(ring_copy_masks_index),
		cmocka_unit_test(xsa216_response_padding_zeroed),
		cmocka_unit_test(slots_span_counts_pages),
		cmocka_unit_test(ring_two_threads_lose_nothing),
	};

	return cmocka_run_group_tests_name("proto_ring", tests, NULL, NULL);
}
