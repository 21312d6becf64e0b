/* Hostile-peer catalogue rows (README "Security model") at the ring level:
 * a peer writes crafted indices and slots into a real shared ring page and
 * the real proto/ walkers (fuzz/walk.c: the backend TX loop, the netfront
 * RX and TX-response loops, also run by the fuzzers) consume it.  Test names
 * follow the rows; `test_hostile_xsa_rings <glob>` runs one row. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "proto/ctrl.h"
#include "walk.h"

/* --- ring fixtures ------------------------------------------------------- */

struct txr {
	struct netif_tx_sring *s;
	struct netif_tx_front_ring f; /* the hostile (or honest) frontend */
	struct netif_tx_back_ring b;  /* the backend under test */
	uint16_t id;
};

static void txr_init(struct txr *t, RING_IDX start)
{
	t->s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	assert_non_null(t->s);
	sn_tx_front_init(&t->f, t->s);
	t->s->req_prod = t->s->rsp_prod = start;
	FRONT_RING_ATTACH(&t->f, t->s, start, SN_PAGE_SIZE);
	assert_int_equal(sn_tx_back_attach(&t->b, t->s), 0);
	t->id = 0;
}

static void txr_req(struct txr *t, uint16_t off, uint16_t size, uint16_t flags)
{
	struct netif_tx_request r = { .gref = 100u + t->id, .offset = off,
				      .flags = flags, .id = t->id++, .size = size };

	sn_tx_front_put_req(&t->f, &r);
}

/* One packet: first slot of total bytes, n continuations of cont bytes. */
static void txr_pkt(struct txr *t, uint16_t first_own, unsigned int n,
		    uint16_t cont)
{
	txr_req(t, 0, (uint16_t)(first_own + n * cont), n ? NETTXF_more_data : 0);
	for (unsigned int i = 0; i < n; i++)
		txr_req(t, 0, cont, i + 1 < n ? NETTXF_more_data : 0);
}

static RING_IDX idx_load(const RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* --- XSA-39: req_prod jumps, indexes wrap --------------------------------- */

/* A req_prod more than a ring ahead of what we answered, or behind it, is
 * a lie: fatal on the first look, nothing consumed or answered, and the
 * walk stops at once (no spin over 2^32 "requests"). */
static void xsa39_req_prod_jump(void **state)
{
	static const RING_IDX starts[] = { 0, 1000, 0x7fffffffu, 0xffffff00u,
					   0xfffffff0u };
	static const RING_IDX jumps[] = { SN_TX_RING_SIZE + 1, 0x1000,
					  0x80000000u, 0xffffffffu /* behind */ };

	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
			struct walk_tx w;
			struct txr t;

			txr_init(&t, starts[i]);
			/* A ring full of honest single-slot packets, so a
			 * backend trusting req_prod would happily eat them. */
			for (unsigned int k = 0; k < SN_TX_RING_SIZE; k++)
				txr_pkt(&t, 60, 0, 0);
			sn_ring_idx_release(&t.s->req_prod, starts[i] + jumps[j]);
			assert_null(walk_tx_ring(&t.b, &w));
			assert_true(w.fatal);
			assert_int_equal(w.reason, SN_TXREQ_R_RING_OVERFLOW);
			assert_int_equal(w.slots, 0);
			assert_int_equal(w.iters, 0);
			assert_int_equal(idx_load(&t.s->rsp_prod), starts[i]);
			assert_int_equal(t.b.req_cons, starts[i]);
			free(t.s);
		}
	}

	/* Mid-stream: three honest packets are served, then the jump is
	 * caught before anything after it is read. */
	struct walk_tx w;
	struct txr t;

	txr_init(&t, 0xfffffffeu);
	txr_pkt(&t, 100, 0, 0);
	txr_pkt(&t, 100, 2, 500);
	txr_pkt(&t, 60, 0, 0);
	sn_tx_front_push(&t.f);
	assert_null(walk_tx_ring(&t.b, &w));
	assert_false(w.fatal);
	assert_int_equal(w.ok, 3);
	assert_int_equal(w.slots, 5);
	assert_int_equal(idx_load(&t.s->rsp_prod), 0xfffffffeu + 5);
	sn_ring_idx_release(&t.s->req_prod, t.f.req_prod_pvt + 0x80000000u);
	assert_null(walk_tx_ring(&t.b, &w));
	assert_true(w.fatal);
	assert_int_equal(w.reason, SN_TXREQ_R_RING_OVERFLOW);
	assert_int_equal(idx_load(&t.s->rsp_prod), 0xfffffffeu + 5);
	free(t.s);
}

/* Indexes are free-running u32: wrapping at 2^32 is normal, not an attack.
 * Packets that straddle the wrap and a completely full ring are served. */
static void xsa39_index_wrap(void **state)
{
	static const RING_IDX starts[] = { 0xfffffff0u, 0xffffff80u, 0xffffffffu };

	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct walk_tx w;
		struct txr t;
		unsigned int slots = 0, pkts = 0;

		txr_init(&t, starts[i]);
		/* Fill the ring exactly: 1-, 3- and 5-slot packets. */
		while (slots + 5 <= SN_TX_RING_SIZE) {
			unsigned int n = (pkts % 3) * 2;

			txr_pkt(&t, 200, n, 300);
			slots += n + 1;
			pkts++;
		}
		while (slots < SN_TX_RING_SIZE) {
			txr_pkt(&t, 60, 0, 0);
			slots++;
			pkts++;
		}
		sn_tx_front_push(&t.f);
		assert_false(sn_tx_back_prod_overflow(&t.b, sn_tx_back_req_prod(&t.b)));
		assert_null(walk_tx_ring(&t.b, &w));
		assert_false(w.fatal);
		assert_int_equal(w.ok, pkts);
		assert_int_equal(w.dropped, 0);
		assert_int_equal(w.slots, SN_TX_RING_SIZE);
		assert_int_equal(idx_load(&t.s->rsp_prod),
				 (RING_IDX)(starts[i] + SN_TX_RING_SIZE));
		/* One more request than fits after the full ring is a lie. */
		sn_ring_idx_release(&t.s->req_prod,
				    t.b.rsp_prod_pvt + SN_TX_RING_SIZE + 1);
		assert_null(walk_tx_ring(&t.b, &w));
		assert_true(w.fatal);
		free(t.s);
	}
}

/* --- XSA-155: a racing peer rewrites the slot being parsed ---------------- */

struct racer {
	uint16_t *a, *b; /* two 16-bit fields of a shared slot */
	uint16_t a0, a1, b0, b1;
	int stop;
};

/* Flips the two fields independently, so a parser that read a field twice
 * could validate one value and act on the other. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	unsigned int n = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		n++;
		__atomic_store_n(r->a, (n & 1) ? r->a1 : r->a0, __ATOMIC_RELAXED);
		__atomic_store_n(r->b, (n & 2) ? r->b1 : r->b0, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void race_start(struct racer *r, pthread_t *th)
{
	r->stop = 0;
	assert_int_equal(pthread_create(th, NULL, racer_main, r), 0);
}

static void race_stop(struct racer *r, pthread_t th)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
}

/* At least RACE_ROUNDS parses, and on until the parser has seen both
 * values of the first field (proof the writer really raced it), bounded. */
#define RACE_ROUNDS 100000
#define RACE_MAX_ROUNDS 50000000

static bool race_more(int i, const bool seen[2])
{
	return i < RACE_ROUNDS || (!(seen[0] && seen[1]) && i < RACE_MAX_ROUNDS);
}

/* Backend TX, a continuation slot: size flips between fitting and
 * oversize, offset between inside and crossing the page.  The verdict must
 * be the one the recorded values deserve, and the first slot's own size is
 * computed from the same copy. */
static void xsa155_double_fetch_tx_continuation(void **state)
{
	struct netif_tx_request *slot;
	struct racer r;
	pthread_t th;
	struct txr t;

	(void)state;
	txr_init(&t, 0);
	txr_pkt(&t, 1000, 1, 100);
	sn_tx_front_push(&t.f);
	slot = RING_GET_REQUEST(&t.f, 1);
	r = (struct racer){ .a = &slot->size, .a0 = 100, .a1 = 2000,
			    .b = &slot->offset, .b0 = 0, .b1 = 4000 };
	race_start(&r, &th);
	bool seen[2] = { false, false };

	for (int i = 0; race_more(i, seen); i++) {
		struct sn_txpkt pkt;
		const struct sn_txslot *c = &pkt.slot[1];

		assert_int_equal(sn_txreq_parse_ring(&t.b,
			sn_tx_back_req_prod(&t.b), &pkt), 0);
		assert_int_equal(pkt.nr_slots, 2);
		assert_true(c->size == 100 || c->size == 2000);
		seen[c->size == 2000] = true;
		assert_true(c->offset == 0 || c->offset == 4000);
		if (c->offset + c->size > SN_PAGE_SIZE) {
			assert_int_equal(pkt.verdict, SN_TXREQ_FATAL);
			assert_int_equal(pkt.reason, SN_TXREQ_R_SLOT_CROSSES_PAGE);
		} else if (c->size > pkt.total_len) {
			assert_int_equal(pkt.verdict, SN_TXREQ_DROP);
			assert_int_equal(pkt.reason, SN_TXREQ_R_SLOT_OVERSIZE);
		} else {
			assert_int_equal(pkt.verdict, SN_TXREQ_OK);
			assert_int_equal(pkt.slot[0].size + c->size, pkt.total_len);
		}
	}
	race_stop(&r, th);
	assert_true(seen[0] && seen[1]);
	free(t.s);
}

/* Frontend RX: the backend flips status and offset of a response. */
static void xsa155_double_fetch_rx_response(void **state)
{
	struct netif_rx_sring *s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	struct netif_rx_front_ring f;
	struct netif_rx_response *rsp;
	struct racer r;
	pthread_t th;

	(void)state;
	assert_non_null(s);
	sn_rx_front_init(&f, s);
	for (int i = 0; i < 4; i++) {
		struct netif_rx_request q = { .id = (uint16_t)i, .gref = 50u + i };

		sn_rx_front_put_req(&f, &q);
	}
	sn_rx_front_push(&f);
	rsp = RING_GET_RESPONSE(&f, 0);
	*rsp = (struct netif_rx_response){ .id = 0, .offset = 0, .status = 100 };
	s->rsp_prod = 1;
	r = (struct racer){ .a = (uint16_t *)&rsp->status, .a0 = 100,
			    .a1 = (uint16_t)-1,
			    .b = &rsp->offset, .b0 = 0, .b1 = 4090 };
	race_start(&r, &th);
	bool seen[2] = { false, false };

	for (int i = 0; race_more(i, seen); i++) {
		struct sn_rxpkt pkt;
		const struct sn_rxslot *c = &pkt.slot[0];

		assert_int_equal(sn_rxrsp_parse_ring(&f, sn_rx_front_rsp_prod(&f),
						     &pkt), 0);
		assert_int_equal(pkt.nr_slots, 1);
		assert_true(c->status == 100 || c->status == -1);
		seen[c->status < 0] = true;
		assert_true(c->offset == 0 || c->offset == 4090);
		if (c->status < 0) {
			assert_int_equal(pkt.verdict, SN_RXRSP_ERROR);
			assert_int_equal(pkt.reason, SN_RXRSP_R_BAD_STATUS);
		} else if (c->offset + c->status > (int)SN_PAGE_SIZE) {
			assert_int_equal(pkt.verdict, SN_RXRSP_ERROR);
			assert_int_equal(pkt.reason, SN_RXRSP_R_CROSSES_PAGE);
		} else {
			assert_int_equal(pkt.verdict, SN_RXRSP_OK);
			assert_int_equal(pkt.len, (uint32_t)c->status);
		}
	}
	race_stop(&r, th);
	assert_true(seen[0] && seen[1]);
	free(s);
}

/* Frontend TX responses: the backend flips the id between an in-flight id
 * and an out-of-range one, and the status.  The classification and the
 * id-map update come from one copy. */
static void xsa155_double_fetch_tx_response(void **state)
{
	struct netif_tx_response *rsp;
	struct racer r;
	pthread_t th;
	struct txr t;

	(void)state;
	txr_init(&t, 0);
	txr_pkt(&t, 60, 0, 0);
	sn_tx_front_push(&t.f);
	rsp = (struct netif_tx_response *)RING_GET_RESPONSE(&t.f, 0);
	*rsp = (struct netif_tx_response){ .id = 5, .status = NETIF_RSP_OKAY };
	t.s->rsp_prod = 1;
	r = (struct racer){ .a = &rsp->id, .a0 = 5, .a1 = 300,
			    .b = (uint16_t *)&rsp->status,
			    .b0 = NETIF_RSP_OKAY, .b1 = (uint16_t)NETIF_RSP_ERROR };
	race_start(&r, &th);
	bool seen[2] = { false, false };

	for (int i = 0; race_more(i, seen); i++) {
		struct sn_idmap pending = { { 0 } };
		struct netif_tx_response c;
		enum sn_txrsp_result res;

		sn_idmap_set(&pending, 5);
		sn_tx_front_copy_rsp(&t.f, 0, &c);
		res = sn_txrsp_check(&c, SN_TX_RING_SIZE, &pending);
		seen[c.id == 300] = true;
		if (c.id == 300) {
			assert_int_equal(res, SN_TXRSP_BAD_ID);
			assert_true(sn_idmap_test(&pending, 5));
		} else {
			assert_int_equal(c.id, 5);
			assert_int_equal(res, c.status == NETIF_RSP_OKAY ?
					 SN_TXRSP_DONE : SN_TXRSP_DONE_ERROR);
			assert_false(sn_idmap_test(&pending, 5));
		}
	}
	race_stop(&r, th);
	assert_true(seen[0] && seen[1]);
	free(t.s);
}

/* --- XSA-216: no private bytes in any response slot ------------------------ */

static void assert_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
}

/* Backend TX responses (4 bytes in 12-byte slots) over slots that held
 * requests: OK, drop and extra (NULL) answers all zero-pad. */
static void xsa216_tx_response_padding(void **state)
{
	struct netif_extra_info gso;
	struct walk_tx w;
	struct txr t;

	(void)state;
	txr_init(&t, 0xfffffffcu);
	memset(t.s->ring, 0xff, SN_PAGE_SIZE - offsetof(struct netif_tx_sring, ring));
	txr_req(&t, 0, 3000, NETTXF_more_data | NETTXF_extra_info);
	assert_int_equal(sn_extra_gso_encode(&gso, 1448, XEN_NETIF_GSO_TYPE_TCPV4), 0);
	sn_tx_front_write_slot(&t.f, t.f.req_prod_pvt++, &gso, sizeof(gso));
	txr_req(&t, 0, 1000, 0);
	txr_pkt(&t, 5, 0, 0);        /* runt: dropped, answered ERROR */
	txr_pkt(&t, 100, 19, 10);    /* 19 continuations: dropped */
	txr_pkt(&t, 100, 0, 0);
	sn_tx_front_push(&t.f);
	assert_null(walk_tx_ring(&t.b, &w)); /* checks every written slot */
	assert_false(w.fatal);
	assert_int_equal(w.ok, 2);
	assert_int_equal(w.dropped, 2);
	for (RING_IDX i = 0xfffffffcu; i != t.b.rsp_prod_pvt; i++) {
		const uint8_t *slot = sn_tx_slot(t.s, t.b.nr_ents, i);

		assert_zero(slot + sizeof(struct netif_tx_response),
			    sizeof(union netif_tx_sring_entry) -
			    sizeof(struct netif_tx_response));
	}
	/* The frontend side too: an 8-byte extra in a 12-byte request slot
	 * that held 0xff. */
	memset(sn_tx_slot(t.s, t.f.nr_ents, t.f.req_prod_pvt), 0xff, 12);
	sn_tx_front_write_slot(&t.f, t.f.req_prod_pvt, &gso, sizeof(gso));
	assert_zero((const uint8_t *)sn_tx_slot(t.s, t.f.nr_ents, t.f.req_prod_pvt) + 8, 4);
	free(t.s);
}

/* Backend RX responses and extras: encoders start from zero, so a stack
 * struct full of old bytes leaks nothing (pad and features of a GSO extra
 * included). */
static void xsa216_rx_response_padding(void **state)
{
	struct netif_rx_sring *s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	struct netif_rx_back_ring b;
	struct netif_rx_response rsp = { .id = 7, .offset = 64, .flags = NETRXF_extra_info,
					 .status = 1000 };
	struct netif_extra_info x;
	const uint8_t *slot;

	(void)state;
	assert_non_null(s);
	memset(s, 0, SN_PAGE_SIZE);
	SHARED_RING_INIT(s);
	assert_int_equal(sn_rx_back_attach(&b, s), 0);
	memset(s->ring, 0xff, SN_PAGE_SIZE - offsetof(struct netif_rx_sring, ring));
	sn_rx_back_put_rsp(&b, &rsp);
	memset(&x, 0xa5, sizeof(x)); /* stale stack */
	assert_int_equal(sn_extra_gso_encode(&x, 1448, XEN_NETIF_GSO_TYPE_TCPV6), 0);
	sn_extra_set_more(&x, false);
	sn_rx_back_write_slot(&b, b.rsp_prod_pvt++, &x, sizeof(x));
	memset(&x, 0xa5, sizeof(x));
	assert_int_equal(sn_extra_hash_encode(&x, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
					      0x12345678u), 0);
	sn_rx_back_write_slot(&b, b.rsp_prod_pvt++, &x, sizeof(x));

	slot = sn_rx_slot(s, b.nr_ents, 0);
	assert_memory_equal(slot, &rsp, sizeof(rsp));
	slot = sn_rx_slot(s, b.nr_ents, 1);
	assert_int_equal(slot[0], XEN_NETIF_EXTRA_TYPE_GSO);
	assert_int_equal(slot[1], 0);               /* flags */
	assert_int_equal(slot[2] | slot[3] << 8, 1448);
	assert_int_equal(slot[4], XEN_NETIF_GSO_TYPE_TCPV6);
	assert_zero(slot + 5, 3);                   /* pad, features */
	slot = sn_rx_slot(s, b.nr_ents, 2);
	assert_int_equal(slot[0], XEN_NETIF_EXTRA_TYPE_HASH);
	assert_zero(slot + 1, 1);
	free(s);
}

/* Control ring: 12-byte responses in 16-byte slots, built from a request
 * the frontend controls. */
static void xsa216_ctrl_response_padding(void **state)
{
	struct xen_netif_ctrl_sring *s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	struct xen_netif_ctrl_front_ring f;
	struct xen_netif_ctrl_back_ring b;
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;

	(void)state;
	assert_non_null(s);
	sn_ctrl_front_init(&f, s);
	assert_int_equal(sn_ctrl_back_attach(&b, s), 0);
	memset(&req, 0xa5, sizeof(req));
	sn_ctrl_req_make(&req, 9, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, 0, 0, 0);
	memset(sn_ctrl_slot(s, f.nr_ents, 0), 0xff, sizeof(union xen_netif_ctrl_sring_entry));
	sn_ctrl_front_put_req(&f, &req);
	sn_ctrl_front_push(&f);
	/* A 16-byte request fills its slot: what the backend sees is what
	 * sn_ctrl_req_make set, nothing from the stale struct. */
	assert_memory_equal(sn_ctrl_slot(s, f.nr_ents, 0), &req, sizeof(req));
	assert_int_equal(req.data[0] | req.data[1] | req.data[2], 0);

	sn_ctrl_back_copy_req(&b, b.req_cons++, &req);
	memset(&rsp, 0xa5, sizeof(rsp));
	sn_ctrl_rsp_make(&rsp, &req, XEN_NETIF_CTRL_STATUS_SUCCESS, 512);
	sn_ctrl_back_put_rsp(&b, &rsp);
	sn_ctrl_back_push(&b);
	assert_memory_equal(sn_ctrl_slot(s, b.nr_ents, 0), &rsp, sizeof(rsp));
	assert_zero((const uint8_t *)sn_ctrl_slot(s, b.nr_ents, 0) + sizeof(rsp),
		    sizeof(union xen_netif_ctrl_sring_entry) - sizeof(rsp));
	free(s);
}

/* --- XSA-405: the frontend against lying TX/RX responses ------------------ */

struct txrsp_case {
	struct txr t;
	struct sn_idmap pending;
};

/* n requests in flight with ids 0..n-1. */
static void txc_init(struct txrsp_case *c, RING_IDX start, unsigned int n)
{
	txr_init(&c->t, start);
	memset(&c->pending, 0, sizeof(c->pending));
	for (unsigned int i = 0; i < n; i++) {
		txr_pkt(&c->t, 60, 0, 0);
		sn_idmap_set(&c->pending, i);
	}
	sn_tx_front_push(&c->t.f);
}

/* The backend answers: responses written straight into the ring. */
static void txc_rsp(struct txrsp_case *c, uint16_t id, int16_t status)
{
	struct netif_tx_response r = { .id = id, .status = status };

	sn_tx_back_put_rsp(&c->t.b, &r);
}

static void xsa405_tx_bad_id(void **state)
{
	static const uint16_t bad[] = { SN_TX_RING_SIZE, 0x1234, 0xffff };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct txrsp_case c;
		struct walk_txrsp w;

		txc_init(&c, 0xfffffffeu, 4);
		txc_rsp(&c, 0, NETIF_RSP_OKAY);
		txc_rsp(&c, bad[i], NETIF_RSP_OKAY);
		txc_rsp(&c, 1, NETIF_RSP_OKAY);
		sn_tx_back_push(&c.t.b);
		assert_null(walk_txrsp_ring(&c.t.f, &c.pending, &w));
		assert_true(w.broken);
		assert_int_equal(w.why, SN_TXRSP_BAD_ID);
		/* Stopped at the lie: id 0 completed, 1..3 still ours. */
		assert_int_equal(w.done, 1);
		assert_false(sn_idmap_test(&c.pending, 0));
		for (unsigned int k = 1; k < 4; k++)
			assert_true(sn_idmap_test(&c.pending, k));
		free(c.t.s);
	}
}

static void xsa405_tx_duplicate_id(void **state)
{
	struct txrsp_case c;
	struct walk_txrsp w;

	(void)state;
	txc_init(&c, 0, 3);
	txc_rsp(&c, 2, NETIF_RSP_OKAY);
	txc_rsp(&c, 2, NETIF_RSP_OKAY); /* second answer for the same id */
	txc_rsp(&c, 0, NETIF_RSP_OKAY);
	sn_tx_back_push(&c.t.b);
	assert_null(walk_txrsp_ring(&c.t.f, &c.pending, &w));
	assert_true(w.broken);
	assert_int_equal(w.why, SN_TXRSP_NOT_PENDING);
	assert_int_equal(w.done, 1);
	assert_true(sn_idmap_test(&c.pending, 0)); /* never freed twice */
	assert_true(sn_idmap_test(&c.pending, 1));
	assert_false(sn_idmap_test(&c.pending, 2));
	free(c.t.s);

	/* An id we never sent is the same lie. */
	txc_init(&c, 0, 3);
	sn_idmap_clear(&c.pending, 1);
	txc_rsp(&c, 1, NETIF_RSP_OKAY);
	sn_tx_back_push(&c.t.b);
	assert_null(walk_txrsp_ring(&c.t.f, &c.pending, &w));
	assert_true(w.broken);
	assert_int_equal(w.why, SN_TXRSP_NOT_PENDING);
	free(c.t.s);
}

/* Error statuses are honest answers: counted, the id completes, the
 * device keeps working; NULL answers an extra slot. */
static void xsa405_tx_error_status(void **state)
{
	struct txrsp_case c;
	struct walk_txrsp w;

	(void)state;
	txc_init(&c, 0, 4);
	txc_rsp(&c, 0, NETIF_RSP_ERROR);
	txc_rsp(&c, 1, NETIF_RSP_DROPPED);
	txc_rsp(&c, 0xffff, NETIF_RSP_NULL);
	txc_rsp(&c, 3, NETIF_RSP_OKAY);
	sn_tx_back_push(&c.t.b);
	assert_null(walk_txrsp_ring(&c.t.f, &c.pending, &w));
	assert_false(w.broken);
	assert_int_equal(w.done_error, 2);
	assert_int_equal(w.skipped, 1);
	assert_int_equal(w.done, 1);
	assert_true(sn_idmap_test(&c.pending, 2));
	free(c.t.s);
}

/* rsp_prod beyond what was requested: broken before any slot is read. */
static void xsa405_tx_rsp_prod_beyond_requests(void **state)
{
	struct txrsp_case c;
	struct walk_txrsp w;

	(void)state;
	txc_init(&c, 0xfffffff0u, 3);
	txc_rsp(&c, 0, NETIF_RSP_OKAY);
	txc_rsp(&c, 1, NETIF_RSP_OKAY);
	txc_rsp(&c, 2, NETIF_RSP_OKAY);
	txc_rsp(&c, 2, NETIF_RSP_OKAY);
	sn_tx_back_push(&c.t.b);
	assert_null(walk_txrsp_ring(&c.t.f, &c.pending, &w));
	assert_true(w.broken);
	assert_int_equal(w.done, 0);
	for (unsigned int k = 0; k < 3; k++)
		assert_true(sn_idmap_test(&c.pending, k));
	assert_int_equal(c.t.f.rsp_cons, 0xfffffff0u);
	free(c.t.s);
}

/* RX: more responses than posted buffers, or a chain running past them. */
static void xsa405_rx_more_slots_than_requested(void **state)
{
	struct netif_rx_sring *s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	struct netif_rx_front_ring f;
	struct walk_rx w;

	(void)state;
	assert_non_null(s);
	sn_rx_front_init(&f, s);
	for (int i = 0; i < 3; i++) {
		struct netif_rx_request q = { .id = (uint16_t)i, .gref = 10u + i };

		sn_rx_front_put_req(&f, &q);
	}
	sn_rx_front_push(&f);
	for (int i = 0; i < 4; i++)
		*RING_GET_RESPONSE(&f, i) = (struct netif_rx_response){
			.id = (uint16_t)i, .status = 100 };
	sn_ring_idx_release(&s->rsp_prod, 4);
	assert_null(walk_rx_ring(&f, &w));
	assert_true(w.broken);
	assert_int_equal(w.slots, 0);
	assert_int_equal(f.rsp_cons, 0);

	/* Within bounds, a chain whose more_data runs past rsp_prod: an
	 * error for that chain, never a read beyond what was published. */
	RING_GET_RESPONSE(&f, 1)->flags = NETRXF_more_data;
	RING_GET_RESPONSE(&f, 2)->flags = NETRXF_more_data;
	sn_ring_idx_release(&s->rsp_prod, 3);
	assert_null(walk_rx_ring(&f, &w));
	assert_false(w.broken);
	assert_int_equal(w.ok, 1);
	assert_int_equal(w.errors, 1);
	assert_int_equal(w.slots, 3);
	free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xsa39_req_prod_jump),
		cmocka_unit_test(xsa39_index_wrap),
		cmocka_unit_test(xsa155_double_fetch_tx_continuation),
		cmocka_unit_test(xsa155_double_fetch_rx_response),
		cmocka_unit_test(xsa155_double_fetch_tx_response),
		cmocka_unit_test(xsa216_tx_response_padding),
		cmocka_unit_test(xsa216_rx_response_padding),
		cmocka_unit_test(xsa216_ctrl_response_padding),
		cmocka_unit_test(xsa405_tx_bad_id),
		cmocka_unit_test(xsa405_tx_duplicate_id),
		cmocka_unit_test(xsa405_tx_error_status),
		cmocka_unit_test(xsa405_tx_rsp_prod_beyond_requests),
		cmocka_unit_test(xsa405_rx_more_slots_than_requested),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
