/* Guest TX with --tx-path copy and linux: a random packet set (sizes
 * 14..65535, 1..19 slots with random offsets, zero-size continuations,
 * csum flags, GSO) arrives byte-exactly at the port in both modes, and the
 * counters show which grant operations each mode used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/peer_front.h"
#include "proto/extra.h"

#define ROUND_MAX_PKTS 64

struct want {
	uint8_t *data;
	uint32_t len;
	uint16_t flags;
	uint16_t mss;
	uint8_t gso_type;
};

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* Write one packet of len bytes in k slots starting at data page *pg;
 * fills *w with what the port must receive.  Returns slots used. */
static unsigned int put_packet(struct h_fe *fe, uint64_t *seed, unsigned int *pg,
			       uint16_t *id, uint32_t len, unsigned int k,
			       bool tiny_tail, struct want *w)
{
	uint32_t size[20], rest = len;
	unsigned int slots = 0;
	uint16_t flags = 0;
	bool gso = false;

	/* Split: continuation sizes first, the first fragment keeps the
	 * rest (at least ETH_HLEN, as netback requires, and at most a
	 * page; retried without zero-size slots if it came out larger). */
	for (int attempt = 0;; attempt++) {
		rest = len;
		for (unsigned int i = k - 1; i >= 1; i--) {
			uint32_t max = rest - SN_ETH_HLEN, s;

			if (tiny_tail)
				s = 1 + rnd(seed) % 7;
			else if (!attempt && rnd(seed) % 8 == 0)
				s = 0; /* zero-size continuation (XSA-448) */
			else
				s = rest / (i + 1) + rnd(seed) % 64;
			if (s > max)
				s = max;
			if (s > SN_PAGE_SIZE)
				s = SN_PAGE_SIZE;
			size[i] = s;
			rest -= s;
		}
		size[0] = rest;
		if (size[0] <= SN_PAGE_SIZE || attempt > 3)
			break;
	}
	assert_true(size[0] >= SN_ETH_HLEN && size[0] <= SN_PAGE_SIZE);

	w->data = malloc(len);
	w->len = len;
	w->flags = 0;
	switch (rnd(seed) % 3) {
	case 1:
		flags |= NETTXF_csum_blank;
		w->flags |= SN_PKT_CSUM_PARTIAL;
		break;
	case 2:
		flags |= NETTXF_data_validated;
		w->flags |= SN_PKT_CSUM_VALID;
		break;
	}
	if (len > 1514 && rnd(seed) % 2) {
		gso = true;
		w->flags |= SN_PKT_GSO;
		w->mss = (uint16_t)(536 + rnd(seed) % 8000);
		w->gso_type = rnd(seed) % 2 ? XEN_NETIF_GSO_TYPE_TCPV4 :
					      XEN_NETIF_GSO_TYPE_TCPV6;
	}
	uint32_t off_in_pkt = 0;
	for (unsigned int i = 0; i < k; i++) {
		uint8_t *p = fe->data + (size_t)*pg * SN_PAGE_SIZE;
		uint16_t off = (uint16_t)(rnd(seed) % (SN_PAGE_SIZE - size[i] + 1));
		uint16_t f = i + 1 < k ? NETTXF_more_data : 0;

		for (uint32_t j = 0; j < size[i]; j++)
			p[off + j] = (uint8_t)rnd(seed);
		memcpy(w->data + off_in_pkt, p + off, size[i]);
		off_in_pkt += size[i];
		if (i == 0) {
			f |= flags | (gso ? NETTXF_extra_info : 0);
			h_tx_req(fe, fe->data_ref[*pg], off, f, (*id)++, (uint16_t)len);
			if (gso) {
				struct netif_extra_info x;

				sn_extra_gso_encode(&x, w->mss, w->gso_type);
				sn_extra_set_more(&x, false);
				h_tx_extra(fe, &x);
				slots++;
			}
		} else {
			h_tx_req(fe, fe->data_ref[*pg], off, f, (*id)++, (uint16_t)size[i]);
		}
		(*pg)++;
		slots++;
	}
	assert_int_equal(off_in_pkt, len);
	return slots;
}

static void random_set_byte_exact(void **state, enum sn_back_tx_path path)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .tx_path = path };
	struct want w[ROUND_MAX_PKTS];
	uint64_t seed = 0x5eed + path;
	unsigned int total_pkts = 0;
	struct h_fe fe;

	h_back_start(t, &cfg);
	h_fe_connect(t, &fe, 1);
	for (unsigned int round = 0; round < 12; round++) {
		unsigned int pg = 0, slots = 0, n = 0;
		uint16_t id = 0;

		/* Whole packets while a worst case (19 slots + extra) fits. */
		while (n < ROUND_MAX_PKTS && slots + 20 <= SN_TX_RING_SIZE &&
		       pg + 19 <= H_DATA_PAGES) {
			uint32_t len;
			unsigned int k, kmin;
			bool tiny = round == 0 && n == 0;

			if (tiny) {
				/* XSA-432: 18 continuation slots of 1..7 bytes,
				 * all inside the 128-byte header copy. */
				len = 200;
				k = 19;
			} else {
				switch (rnd(&seed) % 4) {
				case 0: len = 14 + rnd(&seed) % 114; break;
				case 1: len = 14 + rnd(&seed) % 1500; break;
				case 2: len = 1514 + rnd(&seed) % 8000; break;
				default: len = 14 + rnd(&seed) % (65535 - 14 + 1); break;
				}
				kmin = (len + SN_PAGE_SIZE - 1) / SN_PAGE_SIZE;
				if (len / kmin > 3900)
					kmin++;
				if (kmin > 19)
					kmin = 19;
				k = kmin + rnd(&seed) % (19 - kmin + 1);
				if (len < 14u * k)
					k = len / 14 ? len / 14 : 1;
				if (k > 19)
					k = 19;
			}
			slots += put_packet(&fe, &seed, &pg, &id, len, k, tiny, &w[n]);
			n++;
		}
		h_tx_push(&fe);
		{
			struct netif_tx_response r;

			assert_int_equal(h_tx_wait(&fe, slots), slots);
			for (unsigned int i = 0; i < slots; i++) {
				h_tx_rsp(&fe, i, &r);
				assert_true(r.status == NETIF_RSP_OKAY ||
					    r.status == NETIF_RSP_NULL);
			}
			h_tx_consume(&fe, slots);
		}
		assert_true(h_wait_caps(t, n));
		pthread_mutex_lock(&t->b.sh.lock);
		assert_int_equal(t->b.sh.ncaps, n);
		for (unsigned int i = 0; i < n; i++) {
			assert_int_equal(t->b.sh.caps[i].len, w[i].len);
			assert_memory_equal(t->b.sh.caps[i].data, w[i].data, w[i].len);
			assert_int_equal(t->b.sh.caps[i].flags, w[i].flags);
			if (w[i].flags & SN_PKT_GSO) {
				assert_int_equal(t->b.sh.caps[i].gso_size, w[i].mss);
				assert_int_equal(t->b.sh.caps[i].gso_type, w[i].gso_type);
			}
			free(w[i].data);
		}
		pthread_mutex_unlock(&t->b.sh.lock);
		total_pkts += n;
		if (getenv("SN_TEST_VERBOSE"))
			fprintf(stderr, "round %u: %u packets, %u slots\n", round, n, slots);
		h_caps_clear(t);
	}
	assert_int_equal(h_stat(t, 1, SN_QS_tx_pkts), total_pkts);
	assert_int_equal(h_stat(t, 1, SN_QS_tx_drop_malformed), 0);
	assert_int_equal(h_stat(t, 1, SN_QS_tx_drop_grant), 0);
	if (path == SN_BACK_TX_LINUX) {
		assert_true(h_stat(t, 1, SN_QS_grant_maps) > 0);
		assert_int_equal(h_stat(t, 1, SN_QS_grant_unmaps),
				 h_stat(t, 1, SN_QS_grant_maps));
	} else {
		assert_int_equal(h_stat(t, 1, SN_QS_grant_maps), 0);
	}
	/* Batched: far fewer copy calls than segments. */
	assert_true(h_stat(t, 1, SN_QS_grant_copy_batches) * 4 <
		    h_stat(t, 1, SN_QS_grant_copies));
	h_fe_close(&fe);
	h_back_stop(t);
}

static void tx_copy_random_set_byte_exact(void **state)
{
	random_set_byte_exact(state, SN_BACK_TX_COPY);
}

static void tx_linux_random_set_byte_exact(void **state)
{
	random_set_byte_exact(state, SN_BACK_TX_LINUX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tx_copy_random_set_byte_exact),
		cmocka_unit_test(tx_linux_random_set_byte_exact),
	};

	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
