/* Toeplitz hash and hash-input extraction.
 *
 * Vectors: the RSS verification suite published by Microsoft ("Verifying
 * the RSS Hash Calculation", docs.microsoft.com/windows-hardware/drivers/
 * network/verifying-the-rss-hash-calculation) and reproduced in the Intel
 * 82599 datasheet section 7.1.2.8.3; the same table is used by DPDK
 * app/test/test_thash.c and by vppinfra's toeplitz test.  Input order is
 * source address, destination address, source port, destination port. */
#define XEN_NETIF_DEFINE_TOEPLITZ	/* netif.h's reference, cross-check */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/rss_key.h"
#include "proto/toeplitz.h"

struct v4 {
	uint8_t dst[4], src[4];
	uint16_t dport, sport;
	uint32_t l3, l4;
};

static const struct v4 v4_tbl[] = {
	{ { 161, 142, 100, 80 }, { 66, 9, 149, 187 }, 1766, 2794,
	  0x323e8fc2, 0x51ccc178 },
	{ { 65, 69, 140, 83 }, { 199, 92, 111, 2 }, 4739, 14230,
	  0xd718262a, 0xc626b0ea },
	{ { 12, 22, 207, 184 }, { 24, 19, 198, 95 }, 38024, 12898,
	  0xd2d0a5de, 0x5c2b394a },
	{ { 209, 142, 163, 6 }, { 38, 27, 205, 30 }, 2217, 48228,
	  0x82989176, 0xafc7327f },
	{ { 202, 188, 127, 2 }, { 153, 39, 163, 191 }, 1303, 44251,
	  0x5d1809c5, 0x10e828a2 },
};

struct v6 {
	uint8_t dst[16], src[16];
	uint16_t dport, sport;
	uint32_t l3, l4;
};

static const struct v6 v6_tbl[] = {
	/* dst 3ffe:2501:200:3::1, src 3ffe:2501:200:1fff::7 */
	{ { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03,
	    0, 0, 0, 0, 0, 0, 0, 0x01 },
	  { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff,
	    0, 0, 0, 0, 0, 0, 0, 0x07 },
	  1766, 2794, 0x2cc18cd5, 0x40207d3d },
	/* dst ff02::1, src 3ffe:501:8::260:97ff:fe40:efab */
	{ { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	  { 0x3f, 0xfe, 0x05, 0x01, 0x00, 0x08, 0x00, 0x00,
	    0x02, 0x60, 0x97, 0xff, 0xfe, 0x40, 0xef, 0xab },
	  4739, 14230, 0x0f0c461c, 0xdde51bbf },
	/* dst fe80::200:f8ff:fe21:67cf, src 3ffe:1900:4545:3:200:f8ff:fe21:67cf */
	{ { 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
	    0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
	  { 0x3f, 0xfe, 0x19, 0x00, 0x45, 0x45, 0x00, 0x03,
	    0x02, 0x00, 0xf8, 0xff, 0xfe, 0x21, 0x67, 0xcf },
	  38024, 44251, 0x4b61e985, 0x02d1feef },
};

#define ALL_TYPES (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | \
		   XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP | \
		   XEN_NETIF_CTRL_HASH_TYPE_IPV6 | \
		   XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void toeplitz_ipv4_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v4_tbl) / sizeof(v4_tbl[0]); i++) {
		const struct v4 *v = &v4_tbl[i];
		uint8_t in[12];

		memcpy(in, v->src, 4);
		memcpy(in + 4, v->dst, 4);
		put16(in + 8, v->sport);
		put16(in + 10, v->dport);
		assert_int_equal(sn_toeplitz(sn_test_ms_key, 40, in, 8), v->l3);
		assert_int_equal(sn_toeplitz(sn_test_ms_key, 40, in, 12), v->l4);
	}
}

static void toeplitz_ipv6_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v6_tbl) / sizeof(v6_tbl[0]); i++) {
		const struct v6 *v = &v6_tbl[i];
		uint8_t in[36];

		memcpy(in, v->src, 16);
		memcpy(in + 16, v->dst, 16);
		put16(in + 32, v->sport);
		put16(in + 34, v->dport);
		assert_int_equal(sn_toeplitz(sn_test_ms_key, 40, in, 32), v->l3);
		assert_int_equal(sn_toeplitz(sn_test_ms_key, 40, in, 36), v->l4);
	}
}

/* Missing key octets are zero (spec, SET_HASH_KEY): a short key hashes
 * like the same key zero-padded to 40 bytes. */
static void toeplitz_short_key_is_zero_extended(void **state)
{
	uint8_t padded[40] = { 0 };
	uint8_t in[36];
	size_t klen, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (klen = 0; klen <= 40; klen += 5) {
		memset(padded, 0, sizeof(padded));
		memcpy(padded, sn_test_ms_key, klen);
		assert_int_equal(sn_toeplitz(sn_test_ms_key, klen, in, 36),
				 sn_toeplitz(padded, 40, in, 36));
	}
	assert_int_equal(sn_toeplitz(sn_test_ms_key, 0, in, 36), 0);
}

/* Same answers as the reference in xen's netif.h for arbitrary inputs. */
static void toeplitz_matches_netif_reference(void **state)
{
	uint32_t seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		uint8_t key[40], in[36];
		unsigned int klen, len, i;

		for (i = 0; i < 40; i++) {
			seed = seed * 1103515245 + 12345;
			key[i] = (uint8_t)(seed >> 16);
			if (i < 36)
				in[i] = (uint8_t)(seed >> 8);
		}
		klen = round % 41;
		len = round % 37;
		assert_int_equal(sn_toeplitz(key, klen, in, len),
				 xen_netif_toeplitz_hash(key, klen, in, len));
	}
}

/* --- frames ----------------------------------------------------------- */

struct frame {
	uint8_t b[128];
	size_t len;
};

static size_t eth(uint8_t *p, uint16_t proto, int vlans)
{
	size_t off = 12;
	int i;

	memset(p, 0, 12);
	p[0] = 0x02;
	p[6] = 0x02;
	for (i = 0; i < vlans; i++) {
		put16(p + off, i ? 0x8100 : 0x88a8);
		put16(p + off + 2, 100);
		off += 4;
	}
	put16(p + off, proto);
	return off + 2;
}

/* IPv4 with ihl_words (5 = no options), protocol proto, frag field */
static void v4_frame(struct frame *f, const struct v4 *v, uint8_t proto,
		     uint16_t frag, unsigned int ihl_words, int vlans)
{
	size_t off = eth(f->b, 0x0800, vlans);
	uint8_t *ip = f->b + off;
	size_t ihl = ihl_words * 4;

	memset(ip, 0, ihl + 20);
	ip[0] = (uint8_t)(0x40 | ihl_words);
	put16(ip + 2, (uint16_t)(ihl + 20));
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, v->src, 4);
	memcpy(ip + 16, v->dst, 4);
	put16(ip + ihl, v->sport);
	put16(ip + ihl + 2, v->dport);
	f->len = off + ihl + 20;
}

static void v6_frame(struct frame *f, const struct v6 *v, bool hbh,
		     bool frag_hdr)
{
	size_t off = eth(f->b, 0x86dd, 0);
	uint8_t *ip = f->b + off;
	size_t l4 = 40;

	memset(ip, 0, 40 + 16 + 20);
	ip[0] = 0x60;
	ip[6] = hbh ? 0 : frag_hdr ? 44 : 6;
	ip[7] = 64;
	memcpy(ip + 8, v->src, 16);
	memcpy(ip + 24, v->dst, 16);
	if (hbh) {
		ip[l4] = 6;	/* next: TCP */
		ip[l4 + 1] = 0;	/* 8 bytes */
		l4 += 8;
	} else if (frag_hdr) {
		ip[l4] = 6;
		l4 += 8;
	}
	put16(ip + l4, v->sport);
	put16(ip + l4 + 2, v->dport);
	f->len = off + l4 + 20;
}

static void expect_hash(const struct frame *f, uint32_t enabled, int ret,
			uint32_t hash, unsigned int bit)
{
	uint32_t h = 0;
	unsigned int b = 99;
	uint8_t *copy = malloc(f->len);	/* exact size: ASan sees overreads */

	memcpy(copy, f->b, f->len);
	assert_int_equal(sn_toeplitz_frame(sn_test_ms_key, 40, enabled, copy, f->len,
					   &h, &b), ret);
	if (!ret) {
		assert_int_equal(h, hash);
		assert_int_equal(b, bit);
	}
	free(copy);
}

static void hash_ipv4_tcp_frame_uses_l4(void **state)
{
	struct frame f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v4_tbl) / sizeof(v4_tbl[0]); i++) {
		v4_frame(&f, &v4_tbl[i], 6, 0, 5, 0);
		expect_hash(&f, ALL_TYPES, 0, v4_tbl[i].l4,
			    _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	}
}

/* Maximal enabled type: TCP type off -> plain IPv4 hash of the same packet. */
static void hash_ipv4_tcp_falls_back_to_l3(void **state)
{
	struct frame f;

	(void)state;
	v4_frame(&f, &v4_tbl[0], 6, 0, 5, 0);
	expect_hash(&f, XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, v4_tbl[0].l3,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	/* only the TCP type enabled and a UDP packet: no hash at all */
	v4_frame(&f, &v4_tbl[0], 17, 0, 5, 0);
	expect_hash(&f, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, -ENOENT, 0, 0);
	expect_hash(&f, ALL_TYPES, 0, v4_tbl[0].l3,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	/* IPv6 types only: an IPv4 packet is not hashed */
	expect_hash(&f, XEN_NETIF_CTRL_HASH_TYPE_IPV6 |
		    XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, -ENOENT, 0, 0);
	expect_hash(&f, 0, -ENOENT, 0, 0);
}

/* A fragment has no ports in general: never an L4 hash (MF or offset). */
static void hash_ipv4_fragment_is_l3_only(void **state)
{
	static const uint16_t frag[] = { 0x2000, 0x0001, 0x2010 };
	struct frame f;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		v4_frame(&f, &v4_tbl[1], 6, frag[i], 5, 0);
		expect_hash(&f, ALL_TYPES, 0, v4_tbl[1].l3,
			    _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	}
	/* DF alone is not a fragment */
	v4_frame(&f, &v4_tbl[1], 6, 0x4000, 5, 0);
	expect_hash(&f, ALL_TYPES, 0, v4_tbl[1].l4,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
}

static void hash_ipv4_options_and_vlan(void **state)
{
	struct frame f;

	(void)state;
	v4_frame(&f, &v4_tbl[2], 6, 0, 7, 0);	/* 8 bytes of options */
	expect_hash(&f, ALL_TYPES, 0, v4_tbl[2].l4,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	v4_frame(&f, &v4_tbl[3], 6, 0, 5, 1);
	expect_hash(&f, ALL_TYPES, 0, v4_tbl[3].l4,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	v4_frame(&f, &v4_tbl[4], 6, 0, 5, 2);	/* QinQ */
	expect_hash(&f, ALL_TYPES, 0, v4_tbl[4].l4,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
}

static void hash_ipv6_frames(void **state)
{
	struct frame f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v6_tbl) / sizeof(v6_tbl[0]); i++) {
		v6_frame(&f, &v6_tbl[i], false, false);
		expect_hash(&f, ALL_TYPES, 0, v6_tbl[i].l4,
			    _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
		expect_hash(&f, XEN_NETIF_CTRL_HASH_TYPE_IPV6, 0, v6_tbl[i].l3,
			    _XEN_NETIF_CTRL_HASH_TYPE_IPV6);
		expect_hash(&f, XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
			    XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, -ENOENT, 0, 0);
	}
	/* extension header before TCP: still an L4 hash */
	v6_frame(&f, &v6_tbl[0], true, false);
	expect_hash(&f, ALL_TYPES, 0, v6_tbl[0].l4,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
	/* fragment header: L3 only */
	v6_frame(&f, &v6_tbl[0], false, true);
	expect_hash(&f, ALL_TYPES, 0, v6_tbl[0].l3,
		    _XEN_NETIF_CTRL_HASH_TYPE_IPV6);
}

static void hash_non_ip_not_hashed(void **state)
{
	struct frame f;

	(void)state;
	memset(f.b, 0, sizeof(f.b));
	f.len = eth(f.b, 0x0806, 0) + 28;	/* ARP */
	expect_hash(&f, ALL_TYPES, -ENOENT, 0, 0);
}

/* Every truncation of every frame kind: an error, never an overread
 * (buffers are exact-size heap copies, so ASan would catch one). */
static void hash_truncated_frames_rejected(void **state)
{
	struct frame fr[6];
	size_t i, len;

	(void)state;
	v4_frame(&fr[0], &v4_tbl[0], 6, 0, 5, 0);
	v4_frame(&fr[1], &v4_tbl[0], 6, 0, 15, 1);
	v4_frame(&fr[2], &v4_tbl[0], 17, 0, 5, 2);
	v6_frame(&fr[3], &v6_tbl[0], false, false);
	v6_frame(&fr[4], &v6_tbl[1], true, false);
	v6_frame(&fr[5], &v6_tbl[2], false, true);
	for (i = 0; i < 6; i++) {
		for (len = 0; len < fr[i].len; len++) {
			struct frame t = fr[i];
			uint32_t h;
			unsigned int b;
			uint8_t *copy = malloc(len ? len : 1);
			int ret;

			memcpy(copy, t.b, len);
			ret = sn_toeplitz_frame(sn_test_ms_key, 40, ALL_TYPES, copy,
						len, &h, &b);
			/* short frames error out; once the addresses and
			 * ports are present the hash may succeed */
			assert_true(ret == 0 || ret == -EINVAL);
			free(copy);
		}
	}
	/* a bogus IHL (< 5) is malformed */
	v4_frame(&fr[0], &v4_tbl[0], 6, 0, 5, 0);
	fr[0].b[14] = 0x44;
	expect_hash(&fr[0], ALL_TYPES, -EINVAL, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(toeplitz_ipv4_vectors),
		cmocka_unit_test(toeplitz_ipv6_vectors),
		cmocka_unit_test(toeplitz_short_key_is_zero_extended),
		cmocka_unit_test(toeplitz_matches_netif_reference),
		cmocka_unit_test(hash_ipv4_tcp_frame_uses_l4),
		cmocka_unit_test(hash_ipv4_tcp_falls_back_to_l3),
		cmocka_unit_test(hash_ipv4_fragment_is_l3_only),
		cmocka_unit_test(hash_ipv4_options_and_vlan),
		cmocka_unit_test(hash_ipv6_frames),
		cmocka_unit_test(hash_non_ip_not_hashed),
		cmocka_unit_test(hash_truncated_frames_rejected),
	};

	return cmocka_run_group_tests_name("proto_toeplitz", tests, NULL, NULL);
}
