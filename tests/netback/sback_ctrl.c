/* The control-ring transport and the hash messages against the real netback
 * control server: ids echoed, one response per request, unknown types
 * NOT_SUPPORTED, a rogue producer index refused, counters; hash types 1-7
 * success and error paths (XSA-270 for SET_HASH_MAPPING), and Toeplitz
 * queue selection from the frontend's key and mapping table. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "common/rss_key.h"
#include "common/peer_front_ctrl.h"
#include "plat/late_eoi.h"

#define OK XEN_NETIF_CTRL_STATUS_SUCCESS
#define NOSUP XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED
#define INVAL XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define OVERFLOW XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW

struct fx {
	struct env e;
	uint32_t ref;
	uint8_t *pg; /* a page for keys and mapping tables */
};

static int fx_setup_n(void **state, bool rings)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (rings)
		env_open_rings(&f->e, 4, 8);
	else
		env_open(&f->e, 4, 8);
	f->pg = env_pages(&f->e, 1, false, &f->ref);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_n(state, false);
}

static int fx_setup_rings(void **state)
{
	return fx_setup_n(state, true);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->e.fp->ops->shr_free(f->e.fp, f->pg, 1), 0);
	env_close(&f->e);
	free(f);
	return 0;
}

static uint32_t call(struct fx *f, uint16_t type, uint32_t d0, uint32_t d1,
		     uint32_t d2)
{
	return env_call(&f->e, type, d0, d1, d2, NULL);
}

static void unknown_types_not_supported(void **state)
{
	struct fx *f = *state;
	uint32_t data = 0xdead;

	assert_int_equal(env_call(&f->e, XEN_NETIF_CTRL_TYPE_INVALID, 1, 2, 3, &data), NOSUP);
	assert_int_equal(data, 0);
	assert_int_equal(call(f, 11, 0, 0, 0), NOSUP);
	assert_int_equal(call(f, 0xffff, 0, 0, 0), NOSUP);
	assert_int_equal(f->e.st.v[SN_QS_ctrl_requests], 3);
	assert_int_equal(f->e.st.v[SN_QS_ctrl_errors], 3);
}

/* Many requests in one kick: one response each, in their slots, ids and
 * types echoed, padding zero (XSA-216). */
static void batch_one_response_per_request_ids_echoed(void **state)
{
	struct fx *f = *state;
	struct xen_netif_ctrl_request req[10];
	bool more = true;
	int n;

	/* Dirty the slots first so a short response write would show. */
	memset((uint8_t *)f->e.ring_page + 64, 0xa5, SN_PAGE_SIZE - 64);
	for (int i = 0; i < 10; i++) {
		sn_ctrl_req_make(&req[i], (uint16_t)(0xf000 + i * 7),
				 (uint16_t)(i % 2 ? XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE
						  : 42), 0, 0, 0);
		sn_ctrl_front_put_req(&f->e.ring, &req[i]);
	}
	sn_ctrl_front_push(&f->e.ring);
	f->e.fp->ops->evt_notify(f->e.fevt, (sn_port_t)f->e.fport);
	/* Budget bounds the work of one call. */
	n = sn_back_ctrl_process(f->e.ctrl, 4, &more);
	assert_int_equal(n, 4);
	assert_true(more);
	n = sn_back_ctrl_process(f->e.ctrl, 64, &more);
	assert_int_equal(n, 6);
	assert_false(more);
	assert_int_equal(sn_ctrl_front_rsp_prod(&f->e.ring) - f->e.ring.rsp_cons, 10);
	for (int i = 0; i < 10; i++) {
		struct xen_netif_ctrl_response rsp;
		uint32_t words[4];

		sn_ctrl_front_copy_rsp(&f->e.ring, f->e.ring.rsp_cons, &rsp);
		memcpy(words, (uint8_t *)f->e.ring_page + 64 +
			      16 * (f->e.ring.rsp_cons % 128), 16);
		f->e.ring.rsp_cons++;
		assert_true(sn_ctrl_rsp_matches(&rsp, &req[i]));
		assert_int_equal(rsp.status, i % 2 ? OK : NOSUP);
		assert_int_equal(rsp.data, i % 2 ? SN_BACK_HASH_MAPPING_MAX : 0);
		assert_int_equal(words[3], 0);
	}
}

static void rogue_producer_index_refused(void **state)
{
	struct fx *f = *state;
	struct xen_netif_ctrl_sring *s = f->e.ring_page;
	bool more;

	__atomic_store_n(&s->req_prod, s->rsp_prod + 129, __ATOMIC_RELEASE);
	f->e.fp->ops->evt_notify(f->e.fevt, (sn_port_t)f->e.fport);
	assert_int_equal(sn_back_ctrl_process(f->e.ctrl, 64, &more), -EPROTO);
	/* Nothing answered. */
	assert_int_equal(s->rsp_prod, 0);
	__atomic_store_n(&s->req_prod, 0, __ATOMIC_RELEASE);
}

static void spurious_kick_answers_nothing(void **state)
{
	struct fx *f = *state;
	bool more;

	f->e.fp->ops->evt_notify(f->e.fevt, (sn_port_t)f->e.fport);
	assert_int_equal(sn_back_ctrl_process(f->e.ctrl, 64, &more), 0);
	assert_int_equal(f->e.st.v[SN_QS_ctrl_requests], 0);
}

struct ctrl_storm {
	struct env *e;
	pthread_t th;
	int stop;
};

static void *ctrl_storm_main(void *arg)
{
	struct ctrl_storm *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		s->e->fp->ops->evt_notify(s->e->fevt, (sn_port_t)s->e->fport);
	return NULL;
}

/* Late EOI on the control server: the frontend kicks the control channel
 * in a tight loop with no request behind it, while the server waits and
 * serves the way its thread does (poll the fd with sn_back_ctrl_timeout,
 * then process).  Past SN_EVT_SPURIOUS_THRESHOLD spurious wake-ups in a
 * row the channel stays masked (ctrl_throttled counts every one past the
 * threshold); a real request afterwards is answered at once. */
static void spurious_kick_storm_throttled(void **state)
{
	struct fx *f = *state;
	struct ctrl_storm s = { .e = &f->e };
	uint64_t spur, throttled;
	uint32_t data = 0;
	bool more;

	assert_int_equal(pthread_create(&s.th, NULL, ctrl_storm_main, &s), 0);
	for (int i = 0; i < 100; i++) {
		struct pollfd pfd = { .fd = sn_back_ctrl_fd(f->e.ctrl), .events = POLLIN };

		assert_true(poll(&pfd, 1, sn_back_ctrl_timeout(f->e.ctrl, 10)) >= 0);
		assert_int_equal(sn_back_ctrl_process(f->e.ctrl, 64, &more), 0);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s.th, NULL);
	spur = f->e.st.v[SN_QS_ctrl_spurious];
	throttled = f->e.st.v[SN_QS_ctrl_throttled];
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "spurious %llu throttled %llu\n", (unsigned long long)spur,
			(unsigned long long)throttled);
	assert_true(spur > SN_EVT_SPURIOUS_THRESHOLD);
	if (throttled + SN_EVT_SPURIOUS_THRESHOLD < spur)
		fail_msg("%llu spurious wake-ups, %llu throttled: the storm is not held off",
			 (unsigned long long)spur, (unsigned long long)throttled);
	assert_int_equal(f->e.st.v[SN_QS_ctrl_requests], 0);
	/* A real request is served by the next wake-up (at the latest when
	 * the channel comes back), and ends the throttle. */
	{
		struct xen_netif_ctrl_request req;
		struct xen_netif_ctrl_response rsp;
		int n = 0;

		sn_ctrl_req_make(&req, 0x77, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
		sn_ctrl_front_put_req(&f->e.ring, &req);
		sn_ctrl_front_push(&f->e.ring);
		f->e.fp->ops->evt_notify(f->e.fevt, (sn_port_t)f->e.fport);
		for (int i = 0; i < 100 && !n; i++) {
			struct pollfd pfd = { .fd = sn_back_ctrl_fd(f->e.ctrl), .events = POLLIN };

			assert_true(poll(&pfd, 1, sn_back_ctrl_timeout(f->e.ctrl, 1000)) >= 0);
			n = sn_back_ctrl_process(f->e.ctrl, 64, &more);
		}
		assert_int_equal(n, 1);
		sn_ctrl_front_copy_rsp(&f->e.ring, f->e.ring.rsp_cons++, &rsp);
		assert_true(sn_ctrl_rsp_matches(&rsp, &req));
		assert_int_equal(rsp.status, OK);
		data = rsp.data;
	}
	assert_int_equal(data, SN_BACK_HASH_MAPPING_MAX);
	/* Work ended the throttle: an ordinary call works as before. */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0), OK);
}

static void hash_algorithm_gates_flags(void **state)
{
	struct fx *f = *state;
	uint32_t data;

	assert_int_equal(env_call(&f->e, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data), NOSUP);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 1, 0, 0), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0), INVAL);
	assert_int_equal(f->e.hash.alg, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
			      XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0), OK);
	assert_int_equal(env_call(&f->e, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data), OK);
	assert_int_equal(data, SN_BACK_HASH_TYPES_ALL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0), INVAL);
	assert_int_equal(f->e.hash.flags, 0);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x3, 0, 0), OK);
	assert_int_equal(f->e.hash.flags, 0x3);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0, 0, 0), OK);
	assert_int_equal(f->e.hash.flags, 0);
}

static void hash_key_read_by_grant_copy(void **state)
{
	struct fx *f = *state;
	uint8_t zero[40] = { 0 };

	memcpy(f->pg, sn_test_ms_key, sizeof(sn_test_ms_key));
	memset(f->pg + 40, 0xff, 8);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 41, 0), OVERFLOW);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 0xffffffffu, 0), OVERFLOW);
	assert_int_equal(f->e.hash.keylen, 0);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 0xfffffff0u, 40, 0), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 40, 0), OK);
	assert_int_equal(f->e.hash.keylen, 40);
	assert_memory_equal(f->e.hash.key, sn_test_ms_key, 40);
	/* Shorter key: missing octets are zero. */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 8, 0), OK);
	assert_memory_equal(f->e.hash.key, sn_test_ms_key, 8);
	assert_memory_equal(f->e.hash.key + 8, zero, 32);
	/* Length 0 clears it without reading (a bad gref is fine). */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 0xfffffff0u, 0, 0), OK);
	assert_int_equal(f->e.hash.keylen, 0);
	assert_memory_equal(f->e.hash.key, zero, 40);
	assert_false(env_pinned(&f->e, f->ref));
}

static void hash_mapping_size(void **state)
{
	struct fx *f = *state;
	uint32_t data;

	assert_int_equal(env_call(&f->e, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data), OK);
	assert_int_equal(data, 128);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 0xffffffffu, 0, 0), INVAL);
	assert_int_equal(f->e.hash.size, 0);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 128, 0, 0), OK);
	assert_int_equal(f->e.hash.size, 128);
	f->e.hash.mapping[5] = 3;
	/* Setting the size invalidates (zero-fills) the table. */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0), OK);
	assert_int_equal(f->e.hash.mapping[5], 0);
}

/* XSA-270 for SET_HASH_MAPPING: offset + count wrapping or beyond the
 * size, a count above one page, entries beyond the queues: refused, and
 * the table unchanged. */
static void xsa270_set_hash_mapping(void **state)
{
	struct fx *f = *state;
	uint32_t *ents = (uint32_t *)f->pg;
	uint32_t before[SN_BACK_HASH_MAPPING_MAX];

	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0), OK);
	for (int i = 0; i < 8; i++)
		ents[i] = (uint32_t)(3 - i % 4);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 8, 0), OK);
	memcpy(before, f->e.hash.mapping, sizeof(before));
	assert_int_equal(f->e.hash.mapping[0], 3);
	assert_int_equal(f->e.hash.mapping[7], 0);

	ents[0] = 1;
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 1025, 0), OVERFLOW);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 0xffffffffu, 1), OVERFLOW);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 2, 0xffffffffu), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 1024, 0xfffffc01u), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 9, 0), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 1, 8), INVAL);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 0xfffffff0u, 1, 0), INVAL);
	/* One entry naming queue 4 of 4 spoils the whole message. */
	ents[0] = 1;
	ents[1] = 4;
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 2, 3), INVAL);
	assert_memory_equal(f->e.hash.mapping, before, sizeof(before));
	/* A partial update touches only its range. */
	ents[1] = 2;
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 2, 3), OK);
	assert_int_equal(f->e.hash.mapping[2], before[2]);
	assert_int_equal(f->e.hash.mapping[3], 1);
	assert_int_equal(f->e.hash.mapping[4], 2);
	assert_int_equal(f->e.hash.mapping[5], before[5]);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 0, 8), OK);
}

/* A hash key or mapping table is never read from one of the vif's ring
 * pages (src/back/ring_grefs.h): here valid tables on pages the server
 * knows as a queue's TX and RX rings, and the control ring itself. */
static void ring_page_hash_key_and_mapping_refused(void **state)
{
	struct fx *f = *state;
	const uint32_t ring[3] = { f->e.qring_ref[0], f->e.qring_ref[1],
				   f->e.ring_ref };
	uint8_t zero[40] = { 0 };

	for (unsigned int r = 0; r < 2; r++)
		memcpy(f->e.qring + r * SN_PAGE_SIZE, sn_test_ms_key, 40);
	for (unsigned int r = 0; r < 3; r++) {
		assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, ring[r], 40, 0), INVAL);
		assert_int_equal(f->e.hash.keylen, 0);
		assert_memory_equal(f->e.hash.key, zero, 40);
	}
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0), OK);
	for (unsigned int r = 0; r < 2; r++) {
		uint32_t *ents = (uint32_t *)(f->e.qring + r * SN_PAGE_SIZE);

		for (int i = 0; i < 8; i++)
			ents[i] = 3;
	}
	for (unsigned int r = 0; r < 3; r++) {
		assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, ring[r], 8, 0), INVAL);
		for (int i = 0; i < 8; i++)
			assert_int_equal(f->e.hash.mapping[i], 0);
	}
	/* The same tables from an ordinary page are taken. */
	memcpy(f->pg, sn_test_ms_key, 40);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 40, 0), OK);
	assert_int_equal(f->e.hash.keylen, 40);
}

/* An IPv4/TCP frame 66.9.149.187:2794 -> 161.142.100.80:1766 (the first
 * Microsoft RSS verification vector). */
static size_t v4_frame(uint8_t *fr)
{
	static const uint8_t src[4] = { 66, 9, 149, 187 }, dst[4] = { 161, 142, 100, 80 };

	memset(fr, 0, 64);
	fr[12] = 0x08;
	fr[13] = 0x00;
	fr[14] = 0x45;
	fr[14 + 9] = 6;
	memcpy(fr + 14 + 12, src, 4);
	memcpy(fr + 14 + 16, dst, 4);
	fr[34] = 2794 >> 8;
	fr[35] = 2794 & 0xff;
	fr[36] = 1766 >> 8;
	fr[37] = 1766 & 0xff;
	return 64;
}

static void toeplitz_queue_selection_with_mapping(void **state)
{
	struct fx *f = *state;
	uint32_t *ents = (uint32_t *)f->pg, hash;
	uint8_t fr[64];
	size_t len = v4_frame(fr);
	int type;

	/* No algorithm: the frontend expressed no wish. */
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type), -ENOENT);
	assert_int_equal(type, -1);

	memcpy(f->pg, sn_test_ms_key, sizeof(sn_test_ms_key));
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, f->ref, 40, 0), OK);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 1, 0, 0), OK);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
			      XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
			      XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0), OK);

	/* No mapping: hash % queues. */
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type),
			 (int)(0x51ccc178u % 4));
	assert_int_equal(hash, 0x51ccc178u);
	assert_int_equal(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 3, &hash, &type),
			 (int)(0x51ccc178u % 3));

	/* IPv4 only: the L3 vector and type. */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
			      XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, 0), OK);
	sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type);
	assert_int_equal(hash, 0x323e8fc2u);
	assert_int_equal(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4);

	/* A mapping table of 16: queue = mapping[hash % 16]. */
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
			      XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0), OK);
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 16, 0, 0), OK);
	for (uint32_t i = 0; i < 16; i++)
		ents[i] = 3 - i % 4;
	ents[0x51ccc178u % 16] = 2;
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 16, 0), OK);
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type), 2);
	ents[0] = 1;
	assert_int_equal(call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, f->ref, 1,
			      0x51ccc178u % 16), OK);
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type), 1);
	assert_int_equal(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);

	/* A frame with no enabled type: hash 0, no HASH extra. */
	fr[12] = 0x08;
	fr[13] = 0x06; /* ARP */
	assert_int_equal(f->e.hash.mapping[0], 3);
	assert_int_equal(sn_back_hash_queue(&f->e.hash, fr, len, 4, &hash, &type), 3);
	assert_int_equal(hash, 0);
	assert_int_equal(type, -1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unknown_types_not_supported, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(batch_one_response_per_request_ids_echoed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(rogue_producer_index_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(spurious_kick_answers_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(spurious_kick_storm_throttled, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(hash_algorithm_gates_flags, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(hash_key_read_by_grant_copy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(hash_mapping_size, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_set_hash_mapping, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(toeplitz_queue_selection_with_mapping, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(ring_page_hash_key_and_mapping_refused, fx_setup_rings, fx_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
