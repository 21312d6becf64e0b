/* The software segmenter and offload decision (port/segment.c): every
 * segment checked against the original with an independent textbook
 * checksum (16-bit big-endian words), for IPv4/IPv6, VLAN tags, IPv4 and
 * TCP options, IPv6 extension headers and MSS edge cases. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/netif.h>

#include "port/segment.h"

static uint32_t ref_add(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct shape {
	bool v6, vlan, ipopts, ext, tcpopts;
	uint32_t plen;     /* TCP payload bytes */
	uint8_t tcp_flags; /* of the original */
};

struct built {
	uint32_t len, l3, l4, thl, hdr;
};

/* Ethernet [+802.1Q] + IPv4 [+8 bytes of options] or IPv6 [+8-byte
 * destination options] + TCP [+12 bytes of options] + a byte pattern. */
static struct built build(uint8_t *f, const struct shape *s)
{
	struct built b = { 0 };
	uint32_t off = 12;

	memset(f, 0, 256);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (s->vlan) {
		memcpy(f + off, "\x81\x00\x00\x07", 4);
		off += 4;
	}
	f[off++] = s->v6 ? 0x86 : 0x08;
	f[off++] = s->v6 ? 0xDD : 0x00;
	b.l3 = off;
	b.thl = s->tcpopts ? 32 : 20;
	if (s->v6) {
		f[b.l3] = 0x60;
		f[b.l3 + 6] = s->ext ? 60 : 6;
		f[b.l3 + 7] = 64;
		for (int i = 0; i < 32; i++)
			f[b.l3 + 8 + i] = (uint8_t)(0xA0 + i * 7);
		b.l4 = b.l3 + 40;
		if (s->ext) {
			f[b.l4] = 6; /* next: TCP; length 0 = 8 bytes, PadN */
			f[b.l4 + 2] = 1;
			f[b.l4 + 3] = 4;
			b.l4 += 8;
		}
		uint32_t pl = b.l4 - b.l3 - 40 + b.thl + s->plen;
		f[b.l3 + 4] = (uint8_t)(pl >> 8);
		f[b.l3 + 5] = (uint8_t)pl;
	} else {
		uint32_t ihl = s->ipopts ? 28 : 20, tot = ihl + b.thl + s->plen;

		f[b.l3] = (uint8_t)(0x40 | ihl / 4);
		f[b.l3 + 2] = (uint8_t)(tot >> 8);
		f[b.l3 + 3] = (uint8_t)tot;
		f[b.l3 + 4] = 0xFF; /* id 0xfffe: the ids wrap */
		f[b.l3 + 5] = 0xFE;
		f[b.l3 + 6] = 0x40; /* DF */
		f[b.l3 + 8] = 64;
		f[b.l3 + 9] = 6;
		memcpy(f + b.l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		if (s->ipopts)
			memset(f + b.l3 + 20, 1, 8); /* NOPs */
		b.l4 = b.l3 + ihl;
	}
	f[b.l4] = 0x30; /* ports 12345 -> 80 */
	f[b.l4 + 1] = 0x39;
	f[b.l4 + 3] = 80;
	memcpy(f + b.l4 + 4, "\xff\xff\xf0\x00", 4); /* seq wraps too */
	f[b.l4 + 12] = (uint8_t)(b.thl / 4 << 4);
	f[b.l4 + 13] = s->tcp_flags;
	f[b.l4 + 14] = 0xFF;
	f[b.l4 + 15] = 0xFF;
	f[b.l4 + 16] = 0xDE; /* garbage checksum: must not be trusted */
	f[b.l4 + 17] = 0xAD;
	if (s->tcpopts) {
		memcpy(f + b.l4 + 20, "\x01\x01\x08\x0a", 4);
		memset(f + b.l4 + 24, 0x33, 8);
	}
	b.hdr = b.l4 + b.thl;
	for (uint32_t i = 0; i < s->plen; i++)
		f[b.hdr + i] = (uint8_t)(i * 31 + (i >> 8));
	b.len = b.hdr + s->plen;
	return b;
}

/* Independent TCP checksum of a segment, pseudo header included. */
static uint16_t ref_tcp(const uint8_t *f, const struct built *b, bool v6, uint32_t l4len)
{
	uint32_t sum;

	if (v6) {
		sum = ref_add(f + b->l3 + 8, 32, 0);
		sum += l4len >> 16;
		sum += l4len & 0xFFFF;
		sum += 6;
	} else {
		sum = ref_add(f + b->l3 + 12, 8, 0);
		sum += 6 + l4len;
	}
	return ref_fold(ref_add(f + b->l4, l4len, sum));
}

/* Segment one shape and check every segment; returns the count. */
static unsigned int run(const struct shape *s, uint16_t gso_size, uint32_t max_frame,
			bool partial, uint32_t want_mss)
{
	uint8_t *in = calloc(1, SN_PKT_BUF_SIZE), *out = calloc(1, SN_PKT_BUF_SIZE);
	uint8_t *payload = calloc(1, SN_PKT_BUF_SIZE);
	struct built b = build(in, s);
	struct sn_pkt p = { .data = in, .len = b.len, .cap = SN_PKT_BUF_SIZE,
			    .flags = SN_PKT_GSO | SN_PKT_CSUM_PARTIAL | SN_PKT_HASH,
			    .gso_size = gso_size, .hash = 0x1234, .hash_type = 3, .queue = 1,
			    .gso_type = s->v6 ? XEN_NETIF_GSO_TYPE_TCPV6
					      : XEN_NETIF_GSO_TYPE_TCPV4 };
	struct sn_pkt seg = { .data = out, .cap = SN_PKT_BUF_SIZE };
	struct sn_gso_iter it;
	uint32_t got = 0, n = 0, seq0 = rd32(in + b.l4 + 4);
	unsigned int count;
	int r;

	assert_int_equal(sn_gso_begin(&it, &p, max_frame, partial), 0);
	count = sn_gso_count(&it);
	assert_int_equal(count, s->plen ? (s->plen + want_mss - 1) / want_mss : 1);
	while ((r = sn_gso_next(&it, &seg)) == 1) {
		bool first = n == 0, last = n + 1 == count;
		uint32_t chunk = seg.len - b.hdr, l4len = b.thl + chunk;
		uint8_t fl = out[b.l4 + 13];

		assert_true(seg.len <= max_frame);
		assert_true(seg.len <= sn_gso_max_len(&it));
		assert_true(chunk <= want_mss);
		if (!last)
			assert_int_equal(chunk, want_mss);
		/* Headers before L3 and addresses unchanged. */
		assert_memory_equal(out, in, b.l3);
		if (s->v6) {
			assert_int_equal(rd16(out + b.l3 + 4), seg.len - b.l3 - 40);
			assert_memory_equal(out + b.l3 + 8, in + b.l3 + 8, 32);
		} else {
			uint32_t ihl = (out[b.l3] & 15u) * 4u;

			assert_int_equal(rd16(out + b.l3 + 2), seg.len - b.l3);
			assert_int_equal(rd16(out + b.l3 + 4), (0xFFFEu + n) & 0xFFFF);
			assert_int_equal(ref_fold(ref_add(out + b.l3, ihl, 0)), 0xFFFF);
			assert_memory_equal(out + b.l3 + 6, in + b.l3 + 6, 4); /* DF, TTL, proto */
		}
		assert_int_equal(rd32(out + b.l4 + 4), seq0 + got);
		assert_int_equal(fl & 0x01, last ? (s->tcp_flags & 0x01) : 0); /* FIN */
		assert_int_equal(fl & 0x08, last ? (s->tcp_flags & 0x08) : 0); /* PSH */
		assert_int_equal(fl & 0x80, first ? (s->tcp_flags & 0x80) : 0); /* CWR */
		assert_int_equal(fl & 0x10, s->tcp_flags & 0x10);               /* ACK */
		assert_memory_equal(out + b.l4 + 20, in + b.l4 + 20, b.thl - 20); /* options */
		if (partial) {
			/* The field holds the pseudo-header seed: summing the
			 * segment with it in place gives the checksum. */
			uint8_t tmp[2];

			assert_true(seg.flags & SN_PKT_CSUM_PARTIAL);
			assert_int_equal(seg.csum_start, b.l4);
			assert_int_equal(seg.csum_offset, 16);
			memcpy(tmp, out + b.l4 + 16, 2);
			out[b.l4 + 16] = out[b.l4 + 17] = 0;
			assert_int_equal(ref_fold(rd16(tmp) + 0xFFFFu -
						  ref_tcp(out, &b, s->v6, l4len) +
						  ref_fold(ref_add(out + b.l4, l4len, 0))), 0xFFFF);
			memcpy(out + b.l4 + 16, tmp, 2);
		} else {
			assert_true(seg.flags & SN_PKT_CSUM_VALID);
			assert_false(seg.flags & SN_PKT_CSUM_PARTIAL);
			assert_int_equal(ref_tcp(out, &b, s->v6, l4len), 0xFFFF);
		}
		assert_false(seg.flags & SN_PKT_GSO);
		assert_true(seg.flags & SN_PKT_HASH);
		assert_int_equal(seg.hash, 0x1234);
		assert_int_equal(seg.queue, 1);
		memcpy(payload + got, out + b.hdr, chunk);
		got += chunk;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, count);
	assert_int_equal(got, s->plen);
	assert_memory_equal(payload, in + b.hdr, s->plen);
	free(in);
	free(out);
	free(payload);
	return count;
}

static void test_v4_64k(void **state)
{
	struct shape s = { .plen = 65535 - 14 - 20 - 20, .tcp_flags = 0x18 | 0x80 | 0x01 };

	(void)state;
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, false, 1448), 46);
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, true, 1448), 46);
}

static void test_v6_vlan_ext_opts(void **state)
{
	struct shape s = { .v6 = true, .vlan = true, .ext = true, .tcpopts = true,
			   .plen = 30000, .tcp_flags = 0x18 };

	(void)state;
	run(&s, 1428, SN_PKT_MAX_LEN, false, 1428);
	run(&s, 1428, SN_PKT_MAX_LEN, true, 1428);
}

static void test_v4_opts_vlan(void **state)
{
	struct shape s = { .vlan = true, .ipopts = true, .tcpopts = true, .plen = 9000,
			   .tcp_flags = 0x10 | 0x01 };

	(void)state;
	run(&s, 1000, SN_PKT_MAX_LEN, false, 1000);
}

/* Payload an exact multiple of the MSS, one byte over, under it, none. */
static void test_mss_edges(void **state)
{
	struct shape s = { .plen = 4 * 1448, .tcp_flags = 0x18 };

	(void)state;
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, false, 1448), 4);
	s.plen = 4 * 1448 + 1;
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, false, 1448), 5);
	s.plen = 100;
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, false, 1448), 1);
	s.plen = 0;
	assert_int_equal(run(&s, 1448, SN_PKT_MAX_LEN, false, 1448), 1);
	s.plen = 7;
	assert_int_equal(run(&s, 1, SN_PKT_MAX_LEN, false, 1), 7);
}

/* A frontend without SG: segments fit one page even when the MSS is
 * larger (jumbo), never larger than the MSS. */
static void test_page_limit(void **state)
{
	struct shape s = { .plen = 60000, .tcp_flags = 0x18 };
	struct shape s6 = { .v6 = true, .vlan = true, .plen = 60000, .tcp_flags = 0x18 };

	(void)state;
	run(&s, 8948, 4096, false, 4096 - 54);
	run(&s6, 8948, 4096, true, 4096 - 78);
	run(&s, 1448, 4096, false, 1448);
}

static void test_refused(void **state)
{
	uint8_t f[256];
	struct shape s = { .plen = 10 };
	struct built b = build(f, &s);
	struct sn_pkt p = { .data = f, .len = b.len, .cap = sizeof(f), .flags = SN_PKT_GSO,
			    .gso_size = 1448, .gso_type = XEN_NETIF_GSO_TYPE_TCPV4 };
	struct sn_gso_iter it;
	uint8_t small[64];
	struct sn_pkt seg = { .data = small, .cap = 40 };

	(void)state;
	/* Frame limit at the headers: no room for a byte of payload. */
	assert_int_equal(sn_gso_begin(&it, &p, b.hdr, false), -EBADMSG);
	/* Output buffer too small. */
	assert_int_equal(sn_gso_begin(&it, &p, 4096, false), 0);
	assert_int_equal(sn_gso_next(&it, &seg), -ENOSPC);
	/* UDP is not segmented. */
	f[b.l3 + 9] = 17;
	assert_int_equal(sn_gso_begin(&it, &p, 4096, false), -EPROTONOSUPPORT);
	/* Cut headers. */
	p.len = b.l3 + 10;
	assert_int_not_equal(sn_gso_begin(&it, &p, 4096, false), 0);
}

static void test_fit(void **state)
{
	uint8_t f[256];
	struct shape s4 = { .plen = 100 }, s6 = { .v6 = true, .plen = 100 };
	struct built b4 = build(f, &s4);
	struct sn_pkt p = { .data = f, .len = b4.len, .cap = sizeof(f) };
	unsigned int all = SN_OFFLOAD_ALL;

	(void)state;
	p.flags = SN_PKT_GSO | SN_PKT_CSUM_PARTIAL;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p.gso_size = 50;
	assert_int_equal(sn_offload_fit(&p, all, 65535), SN_FIT_OK);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_TSO4, 65535), SN_FIT_SEGMENT);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_CSUM4, 65535), SN_FIT_SEGMENT);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_TSO6, 65535), SN_FIT_OK);
	p.len = 5000; /* over one page, no SG */
	assert_int_equal(sn_offload_fit(&p, all, 4096), SN_FIT_SEGMENT);
	p.flags = SN_PKT_CSUM_PARTIAL;
	assert_int_equal(sn_offload_fit(&p, all, 4096), SN_FIT_TOO_BIG);
	p.len = b4.len;
	assert_int_equal(sn_offload_fit(&p, all, 4096), SN_FIT_OK);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_CSUM4, 4096), SN_FIT_CSUM);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_CSUM6, 4096), SN_FIT_OK);
	(void)build(f, &s6);
	p.len = b4.len + 20;
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_CSUM6, 4096), SN_FIT_CSUM);
	p.flags = SN_PKT_GSO | SN_PKT_CSUM_PARTIAL;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_CSUM6, 65535), SN_FIT_SEGMENT);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_TSO6, 65535), SN_FIT_SEGMENT);
	assert_int_equal(sn_offload_fit(&p, all & ~SN_OFFLOAD_TSO4, 65535), SN_FIT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_64k),
		cmocka_unit_test(test_v6_vlan_ext_opts),
		cmocka_unit_test(test_v4_opts_vlan),
		cmocka_unit_test(test_mss_edges),
		cmocka_unit_test(test_page_limit),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
