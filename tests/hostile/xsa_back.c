/* Hostile-peer catalogue rows against netback's real TX datapath: the
 * frontend's ring is written by hand (or by a racing thread) and
 * sn_back_tx_action runs on a queue set up as connect leaves it, over the
 * emulated host in this process (fuzz/back_world.c, shared with the
 * back_tx fuzz harness), on the fault-injection platform.
 * `test_hostile_xsa_back <glob>` runs one row. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "back_world.h"
#include "plat/fault.h"
#include "proto/rxrsp.h"
#include "proto/slots.h"

static struct back_world W;

static void put(RING_IDX idx, uint32_t gref, uint16_t off, uint16_t flags,
		uint16_t id, uint16_t size)
{
	struct netif_tx_request r = { .gref = gref, .offset = off,
				      .flags = flags, .id = id, .size = size };

	memcpy(sn_tx_slot(W.ring, SN_TX_RING_SIZE, idx), &r, sizeof(r));
}

static void publish(RING_IDX prod)
{
	sn_ring_idx_release(&W.ring->req_prod, prod);
}

static struct netif_tx_response rsp_at(RING_IDX idx)
{
	struct netif_tx_response r;

	memcpy(&r, sn_tx_slot(W.ring, SN_TX_RING_SIZE, idx), sizeof(r));
	return r;
}

static RING_IDX rsp_prod(void)
{
	return __atomic_load_n(&W.ring->rsp_prod, __ATOMIC_ACQUIRE);
}

/* n single-slot packets of 60 + k bytes from data page k % 16. */
static void singles(RING_IDX start, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		put(start + k, W.data_ref[k % 16], 0, 0, (uint16_t)k,
		    (uint16_t)(60 + k));
}

/* --- XSA-39 ---------------------------------------------------------------- */

static void xsa39_back_req_prod_jump(void **state)
{
	static const RING_IDX starts[] = { 0, 0xffffff00u, 0xfffffffeu };
	static const RING_IDX jumps[] = { SN_TX_RING_SIZE + 1, 0x80000000u,
					  0xffffffffu };

	(void)state;
	for (int lp = 0; lp < 2; lp++) {
		for (size_t i = 0; i < 3; i++) {
			for (size_t j = 0; j < 3; j++) {
				bw_start(&W, starts[i], lp, false);
				singles(starts[i], SN_TX_RING_SIZE);
				publish(starts[i] + jumps[j]);
				/* Rogue on the first look: no spin over the
				 * claimed requests, nothing sent or answered. */
				assert_int_equal(sn_back_tx_action(&W.q, 64), -EPROTO);
				assert_true(atomic_load(&W.vif.disabled));
				assert_true(bw_woken(&W));
				assert_int_equal(W.sent, 0);
				assert_int_equal(rsp_prod(), starts[i]);
				assert_int_equal(W.st.v[SN_QS_fatal_errors], 1);
				/* Called again (the thread has not stopped
				 * yet): still nothing, no second count. */
				assert_true(sn_back_tx_action(&W.q, 64) <= 0);
				assert_int_equal(W.sent, 0);
				assert_int_equal(bw_stop(&W), 0);
			}
		}
	}

	/* Mid-stream: honest packets are served, then the jump stops it. */
	bw_start(&W, 0xfffffff0u, true, false);
	singles(0xfffffff0u, 20);
	publish(0xfffffff0u + 20);
	assert_int_equal(bw_run(&W), 20);
	assert_int_equal(W.sent, 20);
	publish(0xfffffff0u + 20 + 0x40000000u);
	assert_int_equal(bw_run(&W), -EPROTO);
	assert_int_equal(W.sent, 20);
	assert_int_equal(rsp_prod(), 0xfffffff0u + 20);
	assert_int_equal(bw_stop(&W), 0);
}

static void xsa39_back_index_wrap(void **state)
{
	(void)state;
	for (int lp = 0; lp < 2; lp++) {
		RING_IDX start = 0xffffff80u, idx = start;
		unsigned int pkts = 0;

		bw_start(&W, start, lp, lp);
		/* Two full rings' worth across the wrap, in two waves. */
		for (int wave = 0; wave < 2; wave++) {
			RING_IDX first = idx;

			while (idx - first + 3 <= SN_TX_RING_SIZE) {
				put(idx, W.data_ref[pkts % 16], 0, NETTXF_more_data,
				    (uint16_t)(idx & 255), 3000);
				put(idx + 1, W.data_ref[(pkts + 1) % 16], 0,
				    NETTXF_more_data, (uint16_t)((idx + 1) & 255), 1000);
				put(idx + 2, W.data_ref[(pkts + 2) % 16], 10, 0,
				    (uint16_t)((idx + 2) & 255), 500);
				idx += 3;
				pkts++;
			}
			publish(idx);
			assert_true(bw_run(&W) >= 0);
			assert_false(atomic_load(&W.vif.disabled));
			assert_int_equal(rsp_prod(), idx);
		}
		assert_int_equal(W.sent, pkts);
		for (unsigned int k = 0; k < BW_CAPS && k < pkts; k++)
			assert_int_equal(W.caps[k].len, 3000);
		for (RING_IDX i = start; i != idx; i++)
			assert_int_equal(rsp_at(i).status, NETIF_RSP_OKAY);
		assert_int_equal(bw_stop(&W), 0);
	}
}

/* --- XSA-155 ----------------------------------------------------------------- */

struct racer {
	struct netif_tx_request *slot;
	uint32_t gref[2];
	int stop;
	unsigned int flips;
};

/* Flips the continuation's size (fits / larger than what is left) and
 * gref (two pages with different bytes) independently. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	unsigned int n = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		n++;
		__atomic_store_n(&r->slot->size, (n & 1) ? 2000 : 100,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&r->slot->gref, r->gref[(n >> 1) & 1],
				 __ATOMIC_RELAXED);
		__atomic_store_n(&r->flips, n, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void xsa155_back_double_fetch(void **state)
{
	unsigned int delivered = 0, dropped = 0;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct racer r = { .gref = { W.data_ref[1], W.data_ref[2] } };
		struct netif_tx_response a;
		pthread_t th;

		bw_start(&W, 0, round & 1, false);
		put(0, W.data_ref[0], 0, NETTXF_more_data, 0, 1100);
		put(1, W.data_ref[1], 0, 0, 1, 100);
		r.slot = sn_tx_slot(W.ring, SN_TX_RING_SIZE, 1);
		assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);
		/* Let the writer get going, so the parse really races it. */
		while (__atomic_load_n(&r.flips, __ATOMIC_RELAXED) < 100)
			;
		publish(2);
		assert_int_equal(bw_run(&W), 1);
		__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
		pthread_join(th, NULL);

		assert_false(atomic_load(&W.vif.disabled));
		assert_int_equal(rsp_prod(), 2);
		/* Slot 1's response shares bytes with the gref the racer
		 * kept writing, so only slot 0's is trustworthy. */
		a = rsp_at(0);
		assert_int_equal(a.id, 0);
		if (W.sent) {
			/* The continuation was read as 100 bytes: the packet is
			 * 1000 bytes of page 0 and 100 of page 1 or 2, never a
			 * mix of the two sizes or pages. */
			const uint8_t *pk = W.caps[0].data;
			bool p1, p2;

			assert_int_equal(W.sent, 1);
			assert_int_equal(W.caps[0].len, 1100);
			assert_memory_equal(pk, W.dpages, 1000);
			p1 = !memcmp(pk + 1000, W.dpages + 1 * SN_PAGE_SIZE, 100);
			p2 = !memcmp(pk + 1000, W.dpages + 2 * SN_PAGE_SIZE, 100);
			assert_true(p1 || p2);
			assert_int_equal(a.status, NETIF_RSP_OKAY);
			assert_int_equal(W.st.v[SN_QS_tx_pkts], 1);
			delivered++;
		} else {
			/* Read as 2000 > what is left: dropped whole. */
			assert_int_equal(a.status, NETIF_RSP_ERROR);
			assert_int_equal(W.st.v[SN_QS_tx_drop_malformed], 1);
			dropped++;
		}
		assert_int_equal(bw_stop(&W), 0);
	}
	print_message("xsa155 back: %u delivered, %u dropped\n", delivered, dropped);
}

/* --- XSA-216 ----------------------------------------------------------------- */

static void xsa216_back_tx_response_padding(void **state)
{
	struct netif_extra_info gso = { .type = XEN_NETIF_EXTRA_TYPE_GSO,
					.u.gso = { .size = 1448,
						   .type = XEN_NETIF_GSO_TYPE_TCPV4 } };

	(void)state;
	for (int lp = 0; lp < 2; lp++) {
		RING_IDX i = 0xfffffffdu;

		bw_start(&W, i, lp, false);
		/* GSO packet: first + extra + 2 continuations. */
		put(i, W.data_ref[0], 0, NETTXF_more_data | NETTXF_extra_info, 0, 9000);
		memset(sn_tx_slot(W.ring, SN_TX_RING_SIZE, i + 1), 0xff, 12);
		memcpy(sn_tx_slot(W.ring, SN_TX_RING_SIZE, i + 1), &gso, sizeof(gso));
		put(i + 2, W.data_ref[1], 0, NETTXF_more_data, 2, 4096);
		put(i + 3, W.data_ref[2], 0, 0, 3, 4096);
		put(i + 4, W.data_ref[3], 0, 0, 4, 5);          /* runt: ERROR */
		put(i + 5, 0xffff00u, 0, 0, 5, 100);           /* bad gref: ERROR */
		put(i + 6, W.data_ref[4], 0, NETTXF_more_data, 6, 60);
		put(i + 7, W.data_ref[5], 0, 0, 7, 0);          /* zero-size slot */
		publish(i + 8);
		assert_true(bw_run(&W) >= 0);
		assert_int_equal(rsp_prod(), i + 8);
		for (RING_IDX k = i; k != i + 8; k++) {
			const uint8_t *s = sn_tx_slot(W.ring, SN_TX_RING_SIZE, k);

			for (size_t b = sizeof(struct netif_tx_response);
			     b < sizeof(union netif_tx_sring_entry); b++)
				assert_int_equal(s[b], 0);
		}
		/* Responses are matched by id, not position: count them.
		 * One NULL for the extra, ERROR for the runt and the bad
		 * gref, OKAY for the rest (the zero-size slot included). */
		unsigned int n[3] = { 0, 0, 0 };
		uint8_t ids = 0;

		for (RING_IDX k = i; k != i + 8; k++) {
			struct netif_tx_response r = rsp_at(k);

			if (r.status == NETIF_RSP_NULL) {
				n[2]++;
				continue;
			}
			assert_true(r.id < 8 && r.id != 1);
			ids |= (uint8_t)(1u << r.id);
			assert_int_equal(r.status, (r.id == 4 || r.id == 5) ?
					 NETIF_RSP_ERROR : NETIF_RSP_OKAY);
			n[r.status == NETIF_RSP_ERROR]++;
		}
		assert_int_equal(ids, 0xfd); /* every data slot answered once */
		assert_int_equal(n[0], 5);
		assert_int_equal(n[1], 2);
		assert_int_equal(n[2], 1);
		assert_int_equal(W.sent, 2);
		assert_int_equal(bw_stop(&W), 0);
	}
}

/* Backend RX: data responses and GSO/HASH extras written over the
 * frontend's requests, read back through netfront's own chain parser.  A
 * packet whose offload description cannot be encoded (GSO size 0, unknown
 * hash type: a port may hand anything over) must be dropped or sent
 * without that extra, never with an extra built from stack bytes. */
static void xsa216_back_rx_response_padding(void **state)
{
	struct sn_pkt *p;
	unsigned int delivered = 0, stale = 0;
	struct sn_rxpkt pkt;

	(void)state;
	bw_rx_start(&W, 12);
	bw_inject(&W, 100, 0);
	p = bw_inject(&W, 3000, SN_PKT_GSO | SN_PKT_CSUM_PARTIAL);
	p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p->gso_size = 1448;
	p->csum_start = 34;
	p->csum_offset = 16;
	p = bw_inject(&W, 200, SN_PKT_GSO);             /* undescribable GSO */
	p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p->gso_size = 0;
	p = bw_inject(&W, 300, SN_PKT_HASH);            /* unknown hash type */
	p->hash_type = 99;
	p->hash = 0x12345678u;
	bw_inject(&W, 60, 0);
	assert_true(bw_rx_run(&W) > 0);

	for (;;) {
		RING_IDX prod = sn_rx_front_rsp_prod(&W.rxf);

		if (sn_rxrsp_parse_ring(&W.rxf, prod, &pkt) == -EAGAIN)
			break;
		assert_int_not_equal(pkt.verdict, SN_RXRSP_BROKEN);
		/* Extras: a known type, and every byte the type does not
		 * define is zero. */
		for (unsigned int e = 0; e < pkt.nr_extras; e++) {
			const uint8_t *x = sn_rx_slot(W.rx_ring, W.rxf.nr_ents,
						      pkt.cons + 1 + e);

			assert_true(x[0] == XEN_NETIF_EXTRA_TYPE_GSO ||
				    x[0] == XEN_NETIF_EXTRA_TYPE_HASH);
			if (x[0] == XEN_NETIF_EXTRA_TYPE_GSO) {
				assert_true(x[2] | x[3]);     /* size != 0 */
				assert_int_equal(x[5], 0);    /* pad */
				assert_int_equal(x[6] | x[7], 0); /* features */
			}
		}
		assert_int_equal(pkt.verdict, SN_RXRSP_OK);
		/* Which injected packet is it?  By length. */
		switch (pkt.len) {
		case 3000:
			assert_true(sn_rxpkt_has_extra(&pkt, XEN_NETIF_EXTRA_TYPE_GSO));
			break;
		case 200:
		case 300:
			if (pkt.flags & NETRXF_extra_info) {
				const uint8_t *x = sn_rx_slot(W.rx_ring, W.rxf.nr_ents,
							      pkt.cons + 1);

				print_message("%u-byte packet with an unencodable "
					      "offload got an extra: %02x %02x %02x "
					      "%02x %02x %02x %02x %02x\n", pkt.len,
					      x[0], x[1], x[2], x[3], x[4], x[5],
					      x[6], x[7]);
				stale++;
			}
			break;
		default:
			assert_true(pkt.len == 100 || pkt.len == 60);
			assert_false(pkt.flags & NETRXF_extra_info);
		}
		for (unsigned int k = 0; k < pkt.nr_data; k++) {
			const struct sn_rxslot *sl = &pkt.slot[k];
			const uint8_t *buf = W.rxbuf + (size_t)sl->id * SN_PAGE_SIZE;

			assert_true(sl->id < 12);
			assert_int_equal(buf[sl->offset], (uint8_t)(pkt.len + 0));
		}
		W.rxf.rsp_cons += pkt.nr_slots;
		delivered++;
	}
	assert_true(delivered >= 3);
	bw_rx_stop(&W);
	assert_int_equal(stale, 0);
}

/* --- XSA-361..367 (fault wrapper) ------------------------------------------- */

/* One failed grant copy in a batch fails only its packet; one failed map
 * (linux path) too, and nothing stays mapped. */
static void xsa361_batched_grant_failure(void **state)
{
	(void)state;
	for (int lp = 0; lp < 2; lp++) {
		struct sn_fault_cfg cfg = { .seed = 1 };
		struct sn_fault_stats st0, st1;
		unsigned int errors = 0;

		bw_start(&W, 0, lp, false);
		/* 8 packets of 3000 + 2000 bytes (copy: 2 segments each;
		 * linux: 1 copy + 2 maps each). */
		for (unsigned int k = 0; k < 8; k++) {
			put(2 * k, W.data_ref[k], 0, NETTXF_more_data,
			    (uint16_t)(2 * k), 5000);
			put(2 * k + 1, W.data_ref[k + 8], 0, 0,
			    (uint16_t)(2 * k + 1), 2000);
		}
		if (lp) {
			cfg.rule[SN_FAULT_MAP].nth = 5;
			cfg.rule[SN_FAULT_MAP].status = GNTST_bad_gntref;
		} else {
			cfg.rule[SN_FAULT_COPY].nth = 7;
			cfg.rule[SN_FAULT_COPY].status = GNTST_bad_page;
		}
		assert_int_equal(sn_fault_stats_get(W.bp, &st0), 0);
		assert_int_equal(sn_fault_configure(W.bp, &cfg), 0);
		publish(16);
		assert_true(bw_run(&W) >= 0);
		assert_false(atomic_load(&W.vif.disabled));
		assert_int_equal(sn_fault_stats_get(W.bp, &st1), 0);
		assert_int_equal(st1.injected[lp ? SN_FAULT_MAP : SN_FAULT_COPY] -
				 st0.injected[lp ? SN_FAULT_MAP : SN_FAULT_COPY], 1);
		assert_int_equal(rsp_prod(), 16);
		for (unsigned int k = 0; k < 8; k++) {
			struct netif_tx_response a = rsp_at(2 * k), b = rsp_at(2 * k + 1);

			/* The packet's slots share one verdict. */
			assert_int_equal(a.status, b.status);
			errors += a.status == NETIF_RSP_ERROR;
		}
		assert_int_equal(errors, 1);
		assert_int_equal(W.sent, 7);
		for (unsigned int k = 0; k < W.sent; k++)
			assert_int_equal(W.caps[k].len, 5000);
		assert_int_equal(bw_stop(&W), 0); /* nothing left mapped */
	}
}

/* --- a vif's own ring pages as RX buffers ------------------------------------ */

/* An RX request whose gref is one of the vif's ring grefs (here its TX and
 * RX rings) is never written through (src/back/ring_grefs.h): that packet
 * fails with NETIF_RSP_ERROR, counted in rx_drop_grant; the rings' bytes
 * are untouched and the next packet is delivered. */
static void ring_page_rx_buffer_refused(void **state)
{
	uint8_t tx_before[64], rx_hdr[64];
	struct netif_rx_request r;
	unsigned int got = 0;
	struct sn_rxpkt pkt;

	(void)state;
	W.vif.rings = (struct sn_back_ring_grefs){
		.ref = { W.ring_ref, W.rx_ring_ref }, .n = 2 };
	bw_rx_start(&W, 0);
	memset((uint8_t *)W.ring + 64, 0, 64);
	memcpy(tx_before, W.ring, sizeof(tx_before));
	r = (struct netif_rx_request){ .id = 0, .gref = W.rx_ring_ref };
	sn_rx_front_put_req(&W.rxf, &r);
	r = (struct netif_rx_request){ .id = 1, .gref = W.ring_ref };
	sn_rx_front_put_req(&W.rxf, &r);
	r = (struct netif_rx_request){ .id = 2, .gref = W.rxbuf_ref[2] };
	sn_rx_front_put_req(&W.rxf, &r);
	sn_rx_front_push(&W.rxf);
	memcpy(rx_hdr, W.rx_ring, sizeof(rx_hdr));
	for (unsigned int k = 0; k < 3; k++)
		bw_inject(&W, 60, 0);
	assert_true(bw_rx_run(&W) > 0);

	for (;;) {
		RING_IDX prod = sn_rx_front_rsp_prod(&W.rxf);

		if (sn_rxrsp_parse_ring(&W.rxf, prod, &pkt) == -EAGAIN)
			break;
		assert_true(pkt.nr_data == 1);
		if (pkt.slot[0].id < 2) {
			assert_int_equal(pkt.verdict, SN_RXRSP_ERROR);
		} else {
			assert_int_equal(pkt.verdict, SN_RXRSP_OK);
			assert_int_equal(pkt.len, 60);
			assert_int_equal(W.rxbuf[2 * SN_PAGE_SIZE], 60);
		}
		W.rxf.rsp_cons += pkt.nr_slots;
		got++;
	}
	assert_int_equal(got, 3);
	assert_int_equal(W.st.v[SN_QS_rx_drop_grant], 2);
	assert_int_equal(W.st.v[SN_QS_rx_pkts], 1);
	/* No packet byte reached either ring: the TX ring is as it was, the
	 * RX ring's header words only moved by the protocol's own fields. */
	assert_memory_equal(W.ring, tx_before, sizeof(tx_before));
	assert_memory_equal((uint8_t *)W.rx_ring + 16, rx_hdr + 16, 48);
	bw_rx_stop(&W);
	W.vif.rings.n = 0;
}

static int group_setup(void **state)
{
	(void)state;
	bw_init(&W, 41, 42);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xsa39_back_req_prod_jump),
		cmocka_unit_test(xsa39_back_index_wrap),
		cmocka_unit_test(xsa155_back_double_fetch),
		cmocka_unit_test(xsa216_back_tx_response_padding),
		cmocka_unit_test(xsa216_back_rx_response_padding),
		cmocka_unit_test(xsa361_batched_grant_failure),
		cmocka_unit_test(ring_page_rx_buffer_refused),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
