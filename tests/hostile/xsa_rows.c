/* Catalogue rows against the real netback (its control thread and queue
 * threads, tests/common/peer_front.c) with a hand-driven hostile frontend that
 * writes its rings and xenstore keys slot by slot:
 *   XSA-90/CVE-2021-28691  rogue packet, then disconnect and destroy
 *   XSA-332/391            a kick storm from another thread, never paused
 *   XSA-423                headers split over many tiny slots
 *   XSA-432                18 continuation slots of 1..7 bytes
 *   XSA-448                zero-size continuation slots
 *   CVE-2026-45890         bad multi-queue / ring / event-channel keys
 * `test_hostile_xsa_rows <glob>` runs the cases whose name matches. */
#include <errno.h>
#include <pthread.h>
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
#include "common/inproc.h"
#include "port/csum.h"
#include "proto/extra.h"

static bool wait_back_maps(struct h_ctx *t, uint32_t want)
{
	for (int ms = 0; ms < 5000; ms++) {
		if (h_back_maps(t) == want)
			return true;
		h_sleep_ms(1);
	}
	return h_back_maps(t) == want;
}

static uint8_t *page(struct h_fe *fe, unsigned int i)
{
	return fe->data + (size_t)i * SN_PAGE_SIZE;
}

static int setup_copy(void **state)
{
	struct sn_back_cfg cfg = { .tx_path = SN_BACK_TX_COPY };

	h_back_start(*state, &cfg);
	return 0;
}

static int setup_linux(void **state)
{
	struct sn_back_cfg cfg = { .tx_path = SN_BACK_TX_LINUX };

	h_back_start(*state, &cfg);
	return 0;
}

static int stop(void **state)
{
	h_back_stop(*state);
	return 0;
}

/* A packet described slot by slot: sizes[k] bytes of pkt taken in order,
 * slot k in data page pg0 + k at offset offs[k]; ids id0.. */
static void put_slots(struct h_fe *fe, const uint8_t *pkt, unsigned int nslots,
		      const uint16_t *sizes, const uint16_t *offs,
		      unsigned int pg0, uint16_t id0, uint16_t first_flags,
		      const struct netif_extra_info *gso)
{
	uint32_t total = 0, done = 0;

	for (unsigned int k = 0; k < nslots; k++)
		total += sizes[k];
	for (unsigned int k = 0; k < nslots; k++) {
		uint16_t f = k + 1 < nslots ? NETTXF_more_data : 0;

		memcpy(page(fe, pg0 + k) + offs[k], pkt + done, sizes[k]);
		done += sizes[k];
		if (k == 0) {
			h_tx_req(fe, fe->data_ref[pg0], offs[0],
				 (uint16_t)(f | first_flags | (gso ? NETTXF_extra_info : 0)),
				 id0, (uint16_t)total);
			if (gso)
				h_tx_extra(fe, gso);
		} else {
			h_tx_req(fe, fe->data_ref[pg0 + k], offs[k], f,
				 (uint16_t)(id0 + k), sizes[k]);
		}
	}
}

/* ---- XSA-90 / CVE-2021-28691 --------------------------------------------- */

struct storm {
	struct h_fe *fe;
	pthread_t th;
	int stop;
	unsigned long kicks;
};

/* The rogue keeps kicking and rewriting req_prod while it is torn down. */
static void *storm_main(void *arg)
{
	struct storm *s = arg;
	const struct sn_plat_ops *ops = s->fe->t->fplat->ops;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		ops->evt_notify(s->fe->evt, (sn_port_t)s->fe->port);
		__atomic_store_n(&s->fe->tx.sring->req_prod,
				 (RING_IDX)(s->kicks * 2654435761u), __ATOMIC_RELEASE);
		__atomic_fetch_add(&s->kicks, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* h_fe_close with the storm still running through Closing, Closed and
 * vif-del; it stops only before the pages are revoked (which must all
 * succeed: nothing stays mapped). */
static void rogue_close(struct h_fe *fe, struct storm *s)
{
	h_vif_close(fe->t, fe->devid);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->th, NULL);
	h_fe_free(fe);
}

/* A rogue frontend (a first slot crossing its page: fatal) keeps hammering
 * its event channel and ring while it is declared rogue, disconnected and
 * destroyed, eight times over.  The datapath only flags the vif; the
 * control thread unmaps its rings (seen while the vif still exists and
 * xenstore still says Connected); disconnect and vif-del then race nothing
 * freed.  ASan/LSan would catch a use-after-free or a leak; the other vif
 * keeps its service throughout. */
static void xsa90_rogue_then_disconnect_destroy(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe good, bad;
	uint16_t id = 0;

	h_fe_connect(t, &good, 71);
	for (int it = 0; it < 8; it++) {
		struct storm s = { .fe = &bad };
		int16_t st[1024];

		h_fe_connect(t, &bad, 70);
		assert_int_equal(h_back_maps(t), 4); /* 2 rings per vif */
		h_tx_req(&bad, bad.data_ref[0], 4000, 0, 1, 200);
		h_tx_push(&bad);
		assert_int_equal(pthread_create(&s.th, NULL, storm_main, &s), 0);
		/* The storm is on before anything else happens. */
		while (__atomic_load_n(&s.kicks, __ATOMIC_RELAXED) < 100)
			h_sleep_ms(1);
		if (it % 2 == 0) {
			/* Let the control thread do its job first: the rogue
			 * vif's rings are unmapped while the vif lives on. */
			bool dis = h_wait_disabled(t, 70);
			bool unmapped = wait_back_maps(t, 2);

			if (!dis || !unmapped) {
				/* Stop the storm before failing: cmocka's
				 * teardown closes the domain it hammers. */
				__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
				pthread_join(s.th, NULL);
				fail_msg("round %d: rogue vif %s", it, !dis ?
					 "not disabled" : "still mapped: no teardown");
			}
			assert_int_equal(h_stat(t, 70, SN_QS_fatal_errors), 1);
			assert_int_equal(h_be_state(t, 70), XenbusStateConnected);
		}
		/* else: disconnect and destroy race the rogue teardown. */
		rogue_close(&bad, &s);
		for (int ms = 0; ms < 5000 &&
		     sn_back_vif_state(t->b.back, H_FE_DOMID, 70) != -ENOENT; ms++)
			h_sleep_ms(1);
		assert_int_equal(sn_back_vif_state(t->b.back, H_FE_DOMID, 70), -ENOENT);
		assert_int_equal(h_back_maps(t), 2);
		/* The neighbour is served every round. */
		memset(page(&good, it), 0x40 + it, 100);
		h_tx_req(&good, good.data_ref[it], 0, 0, id, 100);
		h_tx_push(&good);
		assert_int_equal(h_tx_collect(&good, 1, st), 0);
		assert_int_equal(st[id], NETIF_RSP_OKAY);
		id++;
	}
	assert_int_equal(h_stat(t, 71, SN_QS_fatal_errors), 0);
	assert_int_equal(h_stat(t, 71, SN_QS_tx_pkts), 8);
	h_fe_close(&good);
	assert_int_equal(h_back_maps(t), 0);
}

/* ---- XSA-332 / XSA-391, a storm that does not stop -------------------------- */

/* Kicks only, no ring writes (storm_main also rewrites req_prod). */
static void *kick_main(void *arg)
{
	struct storm *s = arg;
	const struct sn_plat_ops *ops = s->fe->t->fplat->ops;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		ops->evt_notify(s->fe->evt, (sn_port_t)s->fe->port);
		__atomic_fetch_add(&s->kicks, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* A frontend kicks its event channel from another thread as fast as it
 * can, with nothing behind the kicks, while its own packets are answered:
 * the queue thread takes each fired port once per wake-up (events taken
 * stay far below kicks sent), counts the empty wake-ups, and answers every
 * packet within a bounded time. */
static void xsa332_391_back_concurrent_storm(void **state)
{
	struct h_ctx *t = *state;
	struct storm s;
	struct h_fe fe;
	int16_t st[1024];
	int64_t worst = 0, end;
	uint16_t id = 0;

	h_fe_connect(t, &fe, 83);
	s = (struct storm){ .fe = &fe };
	assert_int_equal(pthread_create(&s.th, NULL, kick_main, &s), 0);
	while (__atomic_load_n(&s.kicks, __ATOMIC_RELAXED) < 1000)
		h_sleep_ms(1);
	end = sn_test_now_us() + 400000;
	while (sn_test_now_us() < end) {
		int64_t t0 = sn_test_now_us();

		memset(page(&fe, id % 64), (int)id, 64);
		h_tx_req(&fe, fe.data_ref[id % 64], 0, 0, id % 1024, 64);
		h_tx_push(&fe);
		if (h_tx_collect(&fe, 1, st) != 0 || st[id % 1024] != NETIF_RSP_OKAY)
			break;
		if (sn_test_now_us() - t0 > worst)
			worst = sn_test_now_us() - t0;
		id++;
		h_sleep_ms(1);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s.th, NULL);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "kicks %lu notify_recv %llu spurious %llu, %u packets, "
			"worst %lld us\n", s.kicks,
			(unsigned long long)h_stat(t, 83, SN_QS_notify_recv),
			(unsigned long long)h_stat(t, 83, SN_QS_spurious_events), id,
			(long long)worst);
	assert_int_equal(h_stat(t, 83, SN_QS_tx_pkts), id);
	assert_true(id > 20);
	assert_true(worst < 200000);
	assert_true(h_stat(t, 83, SN_QS_spurious_events) > 0);
	assert_true(h_stat(t, 83, SN_QS_notify_recv) < s.kicks / 4);
	h_fe_close(&fe);
}

/* ---- XSA-423 ------------------------------------------------------------- */

#define XSA423_PAYLOAD 2946u

/* Ethernet + IPv4 + TCP (54 bytes of headers), payload, checksum partial:
 * the TCP field holds the pseudo-header seed. */
static uint32_t tcp_frame(uint8_t *f, uint32_t payload)
{
	uint32_t ip_len = 20 + 20 + payload, len = 14 + ip_len;
	struct sn_l4_loc loc;
	uint16_t seed;

	memset(f, 0, 54);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[22] = 64;
	f[23] = 6; /* TCP */
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34] = 0x30; f[35] = 0x39; /* ports 12345 -> 80 */
	f[37] = 80;
	f[38] = 1;  /* seq */
	f[46] = 0x50; /* data offset 5 */
	f[47] = 0x18; /* PSH|ACK */
	f[48] = 0xff; f[49] = 0xff;
	for (uint32_t i = 54; i < len; i++)
		f[i] = (uint8_t)(i * 13 + (i >> 7));
	assert_int_equal(sn_l4_locate(f, len, &loc), 0);
	seed = sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	memcpy(f + loc.l4_off + loc.csum_offset, &seed, 2);
	return len;
}

/* The 54 bytes of headers arrive over 14 slots: the Ethernet header alone
 * in the first, the IP and TCP headers in 13 slots of 1..7 bytes (many of
 * them at the very end of their page), then the payload.  With a GSO extra
 * and checksum blank.  What reaches the port is the linear frame, headers
 * assembled, so the port's header parse finds TCP at 34 and the finished
 * checksum verifies.  An Ethernet header itself split (first slot below
 * ETH_HLEN) is dropped and counted, its neighbours delivered. */
static void xsa423_header_split_tiny_slots(void **state)
{
	struct h_ctx *t = *state;
	static uint8_t frame[14 + 40 + XSA423_PAYLOAD];
	uint16_t sizes[16] = { 14, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 1, 1 };
	uint16_t offs[16];
	struct netif_extra_info gso;
	uint32_t len = tcp_frame(frame, XSA423_PAYLOAD), hsum = 0;
	unsigned int n = 15;
	struct h_fe fe;
	int16_t st[1024];

	for (unsigned int k = 1; k < 14; k++)
		hsum += sizes[k];
	assert_int_equal(hsum, 40);
	sizes[14] = (uint16_t)XSA423_PAYLOAD;
	for (unsigned int k = 0; k < n; k++)
		/* Odd slots end exactly at their page's last byte. */
		offs[k] = k % 2 ? (uint16_t)(SN_PAGE_SIZE - sizes[k]) : (uint16_t)(k * 3);
	h_fe_connect(t, &fe, 80);
	assert_int_equal(sn_extra_gso_encode(&gso, 1400, XEN_NETIF_GSO_TYPE_TCPV4), 0);
	sn_extra_set_more(&gso, false);
	put_slots(&fe, frame, n, sizes, offs, 0, 100,
		  NETTXF_csum_blank | NETTXF_data_validated, &gso);
	/* The same frame with its Ethernet header split 7 + 7: a runt. */
	{
		uint16_t rs[3] = { 7, 7, (uint16_t)(len - 14) }, ro[3] = { 0, 0, 0 };

		put_slots(&fe, frame, 3, rs, ro, 20, 200, 0, NULL);
	}
	/* And once more whole in two slots, after the runt. */
	{
		uint16_t ws[2] = { 100, (uint16_t)(len - 100) }, wo[2] = { 5, 0 };

		put_slots(&fe, frame, 2, ws, wo, 30, 300, NETTXF_csum_blank, NULL);
	}
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, n + 1 + 3 + 2, st), 1);
	for (unsigned int k = 0; k < n; k++)
		assert_int_equal(st[100 + k], NETIF_RSP_OKAY);
	for (unsigned int k = 0; k < 3; k++)
		assert_int_equal(st[200 + k], NETIF_RSP_ERROR);
	assert_int_equal(st[300], NETIF_RSP_OKAY);
	assert_int_equal(st[301], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 2));
	assert_int_equal(h_ncaps(t), 2);
	assert_int_equal(h_stat(t, 80, SN_QS_tx_drop_malformed), 1);
	assert_int_equal(h_stat(t, 80, SN_QS_tx_pkts), 2);
	assert_int_equal(h_stat(t, 80, SN_QS_fatal_errors), 0);
	assert_int_equal(h_stat(t, 80, SN_QS_grant_unmaps),
			 h_stat(t, 80, SN_QS_grant_maps));
	for (unsigned int c = 0; c < 2; c++) {
		struct sn_test_pkt *cap = &t->b.sh.caps[c];
		struct sn_pkt p = { .data = cap->data, .len = cap->len,
				    .cap = cap->len, .flags = cap->flags };

		assert_int_equal(cap->len, len);
		assert_memory_equal(cap->data, frame, len);
		assert_true(cap->flags & SN_PKT_CSUM_PARTIAL);
		assert_int_equal(!!(cap->flags & SN_PKT_GSO), c == 0);
		/* The port's parse of the assembled headers. */
		assert_int_equal(sn_pkt_csum_locate(&p), 0);
		assert_int_equal(p.csum_start, 34);
		assert_int_equal(p.csum_offset, 16);
		assert_int_equal(sn_pkt_csum_finish(&p), 0);
		assert_int_equal(sn_l4_csum_verify(p.data, p.len), 0);
	}
	h_fe_close(&fe);
}

/* ---- XSA-432 ------------------------------------------------------------- */

/* Packets of the maximum 19 slots whose 18 continuations carry 1..7 bytes
 * each, the whole packet shorter than the 128-byte header copy (linux
 * mode) and the tiny slots at page ends; then the same with a first slot
 * of exactly ETH_HLEN.  No overrun (ASan), every slot OKAY, bytes exact,
 * and in linux mode no grant map at all: it all fits the head copy. */
static void xsa432_18_tiny_slots(void **state)
{
	struct h_ctx *t = *state;
	uint8_t pkt[2][200];
	uint16_t sizes[2][19], offs[2][19];
	uint32_t len[2] = { 0, 0 };
	uint64_t seed = 432;
	struct h_fe fe;
	int16_t st[1024];

	h_fe_connect(t, &fe, 81);
	for (int p = 0; p < 2; p++) {
		sizes[p][0] = p == 0 ? 20 : SN_ETH_HLEN;
		for (int k = 1; k < 19; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			sizes[p][k] = (uint16_t)(1 + (seed >> 33) % 7);
		}
		for (int k = 0; k < 19; k++) {
			offs[p][k] = k % 3 ? (uint16_t)(SN_PAGE_SIZE - sizes[p][k]) :
					     (uint16_t)(k * 11);
			len[p] += sizes[p][k];
		}
		assert_true(len[p] < SN_BACK_TX_COPY_LEN);
		for (uint32_t i = 0; i < len[p]; i++)
			pkt[p][i] = (uint8_t)(p * 101 + i * 7 + 3);
		put_slots(&fe, pkt[p], 19, sizes[p], offs[p], (unsigned int)p * 19,
			  (uint16_t)(100 * (p + 1)), 0, NULL);
	}
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, 38, st), 0);
	for (int p = 0; p < 2; p++)
		for (int k = 0; k < 19; k++)
			assert_int_equal(st[100 * (p + 1) + k], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 2));
	for (int p = 0; p < 2; p++) {
		assert_int_equal(t->b.sh.caps[p].len, len[p]);
		assert_memory_equal(t->b.sh.caps[p].data, pkt[p], len[p]);
	}
	assert_int_equal(h_stat(t, 81, SN_QS_tx_pkts), 2);
	assert_int_equal(h_stat(t, 81, SN_QS_tx_drop_malformed), 0);
	assert_int_equal(h_stat(t, 81, SN_QS_grant_maps), 0);
	assert_int_equal(h_stat(t, 81, SN_QS_fatal_errors), 0);
	h_fe_close(&fe);
}

/* ---- XSA-448 ------------------------------------------------------------- */

#define BOGUS_GREF 0x7ffff000u

/* Zero-size continuation slots: all 18 of a packet (with grefs the
 * frontend never granted, so touching them would fail), and mixed with
 * data slots.  Every zero-size slot is answered OKAY, never fetched, and
 * the packet is delivered byte-exact; in a packet whose real slot fails
 * its grant op, the data slots get ERROR and the empty ones still OKAY. */
static void xsa448_zero_size_slots(void **state)
{
	struct h_ctx *t = *state;
	uint8_t a[1000], b[700];
	struct h_fe fe;
	int16_t st[1024];
	uint64_t copies0;

	h_fe_connect(t, &fe, 82);
	for (unsigned int i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 5 + 1);
	for (unsigned int i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 3 + 2);
	copies0 = h_stat(t, 82, SN_QS_grant_copies);
	/* A: 1000 bytes in the first slot, 18 empty continuations. */
	memcpy(page(&fe, 0) + 16, a, sizeof(a));
	h_tx_req(&fe, fe.data_ref[0], 16, NETTXF_more_data, 100, sizeof(a));
	for (uint16_t k = 1; k <= 18; k++)
		h_tx_req(&fe, BOGUS_GREF + k, (uint16_t)(k * 200),
			 k < 18 ? NETTXF_more_data : 0, (uint16_t)(100 + k), 0);
	/* B: 300 | 0 | 100 | 0 | 0 | 300 | 0 (mixed). */
	{
		static const uint16_t sz[7] = { 300, 0, 100, 0, 0, 300, 0 };
		uint32_t off = 0;

		for (uint16_t k = 0; k < 7; k++) {
			uint16_t f = k < 6 ? NETTXF_more_data : 0;

			if (!sz[k]) {
				h_tx_req(&fe, BOGUS_GREF + 100 + k, 0, f,
					 (uint16_t)(200 + k), 0);
				continue;
			}
			memcpy(page(&fe, 10 + k), b + off, sz[k]);
			off += sz[k];
			h_tx_req(&fe, fe.data_ref[10 + k], 0, f, (uint16_t)(200 + k),
				 k ? sz[k] : (uint16_t)sizeof(b));
		}
	}
	/* C: 200 good | 100 from a gref never granted | 0: the packet fails
	 * its grant op; only the empty slot is OKAY. */
	h_tx_req(&fe, fe.data_ref[20], 0, NETTXF_more_data, 300, 300);
	h_tx_req(&fe, BOGUS_GREF + 200, 0, NETTXF_more_data, 301, 100);
	h_tx_req(&fe, BOGUS_GREF + 201, 0, 0, 302, 0);
	h_tx_push(&fe);
	assert_int_equal(h_tx_collect(&fe, 19 + 7 + 3, st), 0);
	for (int k = 0; k < 19; k++)
		assert_int_equal(st[100 + k], NETIF_RSP_OKAY);
	for (int k = 0; k < 7; k++)
		assert_int_equal(st[200 + k], NETIF_RSP_OKAY);
	assert_int_equal(st[300], NETIF_RSP_ERROR);
	assert_int_equal(st[301], NETIF_RSP_ERROR);
	assert_int_equal(st[302], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, 2));
	assert_int_equal(h_ncaps(t), 2);
	assert_int_equal(t->b.sh.caps[0].len, sizeof(a));
	assert_memory_equal(t->b.sh.caps[0].data, a, sizeof(a));
	assert_int_equal(t->b.sh.caps[1].len, sizeof(b));
	assert_memory_equal(t->b.sh.caps[1].data, b, sizeof(b));
	assert_int_equal(h_stat(t, 82, SN_QS_tx_pkts), 2);
	assert_int_equal(h_stat(t, 82, SN_QS_tx_drop_grant), 1);
	assert_int_equal(h_stat(t, 82, SN_QS_tx_drop_malformed), 0);
	assert_int_equal(h_stat(t, 82, SN_QS_fatal_errors), 0);
	/* Grant operations only for slots with bytes: A's first slot, B's
	 * three, C's two (copy mode; linux mode maps what the head copy
	 * does not cover). */
	if (t->b.back && h_stat(t, 82, SN_QS_grant_maps) == 0)
		assert_int_equal(h_stat(t, 82, SN_QS_grant_copies) - copies0, 1 + 3 + 2);
	assert_int_equal(h_stat(t, 82, SN_QS_grant_unmaps),
			 h_stat(t, 82, SN_QS_grant_maps));
	h_fe_close(&fe);
}

/* ---- CVE-2026-45890 ------------------------------------------------------ */

/* One frontend key override: value NULL removes the key. */
struct kv {
	const char *key, *val;
};

struct badcase {
	struct kv kv[4];
	const char *want; /* substring of the error the backend writes */
};

static void xs_put(struct h_ctx *t, xs_transaction_t x, const char *dir,
		   const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	assert_int_equal(t->fplat->ops->xs_write(t->fplat, x, path, val, strlen(val)), 0);
}

/* Writes the frontend keys of a well-formed single-queue connect, with
 * the case's overrides applied, then Connected, in one transaction. */
static void write_fe_keys(struct h_ctx *t, const char *dir, uint32_t tx_ref,
			  uint32_t rx_ref, int port, const struct kv *kv)
{
	struct kv base[] = {
		{ "tx-ring-ref", NULL }, { "rx-ring-ref", NULL },
		{ "event-channel", NULL }, { "request-rx-copy", "1" },
		{ "feature-rx-notify", "1" }, { "feature-sg", "1" },
		{ "multi-queue-num-queues", "1" },
	};
	char txs[16], rxs[16], ps[16];
	xs_transaction_t x;
	int rc;

	snprintf(txs, sizeof(txs), "%u", tx_ref);
	snprintf(rxs, sizeof(rxs), "%u", rx_ref);
	snprintf(ps, sizeof(ps), "%d", port);
	base[0].val = txs;
	base[1].val = rxs;
	base[2].val = ps;
	do {
		assert_int_equal(t->fplat->ops->xs_txn_start(t->fplat, &x), 0);
		for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
			const char *val = base[i].val;
			bool set = true;

			for (const struct kv *o = kv; o->key; o++)
				if (!strcmp(o->key, base[i].key)) {
					val = o->val;
					set = val != NULL;
				}
			if (set)
				xs_put(t, x, dir, base[i].key, val);
		}
		/* Overrides of keys not in the base set are added. */
		for (const struct kv *o = kv; o->key; o++) {
			bool in_base = false;

			for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
				in_base |= !strcmp(o->key, base[i].key);
			if (!in_base && o->val)
				xs_put(t, x, dir, o->key, o->val);
		}
		xs_put(t, x, dir, "state", "4");
		rc = t->fplat->ops->xs_txn_end(t->fplat, x, false);
	} while (rc == -EAGAIN);
	assert_int_equal(rc, 0);
}

/* Every bad key of the row, one connect attempt each, with everything
 * else well-formed (real granted rings, a real unbound port), next to a
 * connected vif that passes traffic: the connect fails, the backend writes
 * an error naming the problem and goes Closing, maps nothing it keeps, and
 * the vif connects normally afterwards. */
static void cve_2026_45890_bad_frontend_keys(void **state)
{
	struct h_ctx *t = *state;
	const struct sn_plat_ops *ops = t->fplat->ops;
	static const struct badcase cases[] = {
		{ { { "multi-queue-num-queues", "0" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "5" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "65536" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "x" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "1x" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "-1" } }, "multi-queue-num-queues" },
		{ { { "multi-queue-num-queues", "" } }, "multi-queue-num-queues" },
		/* Several queues announced, no queue-N/ directories. */
		{ { { "multi-queue-num-queues", "2" } }, "queue-0: ring-ref missing" },
		/* Missing count means one queue (netif.h); then the flat
		 * keys must be there. */
		{ { { "multi-queue-num-queues", NULL }, { "tx-ring-ref", NULL } },
		  "ring-ref missing" },
		{ { { "tx-ring-ref", NULL } }, "ring-ref missing" },
		{ { { "rx-ring-ref", NULL } }, "ring-ref missing" },
		{ { { "tx-ring-ref", "garbage" } }, "ring-ref invalid" },
		{ { { "rx-ring-ref", "4294967296" } }, "ring-ref invalid" },
		{ { { "tx-ring-ref", "" } }, "ring-ref invalid" },
		{ { { "tx-ring-ref", "65000" } }, "mapping ring refs" },
		{ { { "event-channel", NULL } }, "event-channel missing" },
		{ { { "event-channel", "zz" } }, "event-channel invalid" },
		{ { { "event-channel", "99999999999" } }, "event-channel invalid" },
		{ { { "event-channel", "900" } }, "binding event channel" },
		/* Split channels half written: no shared one to fall back to. */
		{ { { "event-channel", NULL }, { "event-channel-tx", "1" },
		    { "event-channel-rx", "junk" } }, "event-channel missing" },
		{ { { "ctrl-ring-ref", "x1" } }, "ctrl-ring-ref invalid" },
		{ { { "ctrl-ring-ref", "12" } }, "event-channel-ctrl missing" },
		{ { { "ctrl-ring-ref", "12" }, { "event-channel-ctrl", "q" } },
		  "event-channel-ctrl invalid" },
	};
	const char *fe_dir = "/local/domain/7/device/vif/90";
	const char *be_dir = "/local/domain/0/backend/vif/7/90";
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "90",
			      "--timeout-ms", "2000", NULL };
	struct sn_evtchn *evt;
	void *txp, *rxp;
	uint32_t tx_ref, rx_ref;
	struct h_fe good;
	uint16_t gid = 0;
	int port;

	h_fe_connect(t, &good, 91);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &tx_ref, &txp), 0);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &rx_ref, &rxp), 0);
	assert_int_equal(ops->evt_open(t->fplat, &evt), 0);
	port = ops->evt_alloc_unbound(evt, 0);
	assert_true(port >= 0);

	for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		bool last = i == sizeof(cases) / sizeof(cases[0]);
		static const struct kv none[1] = { { NULL, NULL } };
		char *err;
		int16_t st[1024];

		memset(txp, 0, SN_PAGE_SIZE);
		memset(rxp, 0, SN_PAGE_SIZE);
		sn_tx_front_init(&(struct netif_tx_front_ring){ 0 }, txp);
		sn_rx_front_init(&(struct netif_rx_front_ring){ 0 }, rxp);
		h_vif_add(t, 90);
		write_fe_keys(t, fe_dir, tx_ref, rx_ref, port,
			      last ? none : cases[i].kv);
		if (last) {
			/* The same vif, well-formed: it connects, and the
			 * error of the last attempt is gone. */
			assert_true(h_wait_be_state(t, 90, XenbusStateConnected));
			err = h_xs_r(t->bplat, be_dir, "error");
			assert_null(err);
			assert_int_equal(h_back_maps(t), 4);
		} else {
			if (!h_wait_be_state(t, 90, XenbusStateClosing))
				fail_msg("case %zu (%s): no Closing", i, cases[i].kv[0].key);
			err = h_xs_r(t->bplat, be_dir, "error");
			if (!err || !strstr(err, cases[i].want))
				fail_msg("case %zu: error '%s', want '%s'", i,
					 err ? err : "(none)", cases[i].want);
			free(err);
			/* Nothing of the failed attempt stays mapped. */
			assert_int_equal(h_back_maps(t), 2);
		}
		/* The other vif is served. */
		memset(page(&good, 0), (int)i, 64);
		h_tx_req(&good, good.data_ref[0], 0, 0, gid, 64);
		h_tx_push(&good);
		assert_int_equal(h_tx_collect(&good, 1, st), 0);
		assert_int_equal(st[gid], NETIF_RSP_OKAY);
		gid++;
		assert_false(sn_back_vif_disabled(t->b.back, H_FE_DOMID, 91));
		/* Close and remove; the next case starts from a fresh vif. */
		{
			char path[256];

			snprintf(path, sizeof(path), "%s/state", fe_dir);
			ops->xs_write(t->fplat, XBT_NULL, path, "6", 1);
		}
		assert_true(h_wait_be_state(t, 90, XenbusStateClosed));
		assert_int_equal(h_run_cli(del), 0);
	}
	assert_int_equal(h_stat(t, 91, SN_QS_tx_pkts),
			 sizeof(cases) / sizeof(cases[0]) + 1);
	h_fe_close(&good);
	assert_int_equal(h_back_maps(t), 0);
	/* Everything was unmapped: every revoke succeeds. */
	ops->evt_close(evt);
	assert_int_equal(ops->shr_free(t->fplat, txp, 1), 0);
	assert_int_equal(ops->shr_free(t->fplat, rxp, 1), 0);
}

#define COPY(f) cmocka_unit_test_setup_teardown(f, setup_copy, stop)
#define LINUX(f) cmocka_unit_test_setup_teardown(f, setup_linux, stop)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		COPY(xsa90_rogue_then_disconnect_destroy),
		COPY(xsa332_391_back_concurrent_storm),
		COPY(xsa423_header_split_tiny_slots),
		LINUX(xsa423_header_split_tiny_slots),
		COPY(xsa432_18_tiny_slots),
		LINUX(xsa432_18_tiny_slots),
		COPY(xsa448_zero_size_slots),
		LINUX(xsa448_zero_size_slots),
		COPY(cve_2026_45890_bad_frontend_keys),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
