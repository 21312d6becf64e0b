/* The L2/L3 header parser (src/proto/hdr.c), table-driven: each row is a
 * frame recipe and what the parser must report for it.  Every row is also
 * parsed at every truncation, and random frames check the invariants.
 * Frames are exact-size heap copies, so ASan reports any overread. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/hdr.h"

#define MAX_EXT 10

/* An IPv6 extension header: type (0, 43, 44, 51, 60), its length field
 * (8-byte units beyond the first for 0/43/60, 4-byte units minus 2 for
 * AH), and for a fragment header the offset field (8-byte units). */
struct ext {
	uint8_t type, lenf;
	uint16_t fragoff;
};

struct row {
	const char *name;
	uint16_t tpid[3];      /* tags, outermost first; 0 ends */
	uint16_t ethertype;
	unsigned int ihl;      /* IPv4: header words (0 = 5) */
	uint16_t frag4;        /* IPv4 flags/offset field */
	uint8_t version;       /* 0 = the ethertype's */
	unsigned int next;     /* extension headers in ext[] */
	struct ext ext[MAX_EXT];
	uint8_t proto;         /* upper layer (IPv4 protocol / last next-header) */
	unsigned int l4len;    /* bytes after the L3 headers */
	/* expected */
	int rc;
	uint16_t flags;
	uint8_t nvlan;
	uint16_t l3_off, l4_off;
	uint8_t l4_proto;
};

enum { TCP = 6, UDP = 17, ICMP6 = 58 };
#define F_V4 (SN_HDR_IPV4 | SN_HDR_L3_LEN)
#define F_V6 (SN_HDR_IPV6 | SN_HDR_L3_LEN)

static const struct row rows[] = {
	{ "ipv4 tcp", { 0 }, 0x0800, 5, 0, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_L4, 0, 14, 34, TCP },
	{ "ipv4 udp options", { 0 }, 0x0800, 7, 0, 0, 0, { { 0 } }, UDP, 8,
	  0, F_V4 | SN_HDR_IP_OPTS | SN_HDR_L4, 0, 14, 42, UDP },
	{ "ipv4 max options", { 0 }, 0x0800, 15, 0, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_IP_OPTS | SN_HDR_L4, 0, 14, 74, TCP },
	{ "ipv4 802.1q", { 0x8100 }, 0x0800, 5, 0, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_VLAN | SN_HDR_L4, 1, 18, 38, TCP },
	{ "ipv4 qinq", { 0x88a8, 0x8100 }, 0x0800, 5, 0, 0, 0, { { 0 } }, UDP, 8,
	  0, F_V4 | SN_HDR_VLAN | SN_HDR_L4, 2, 22, 42, UDP },
	{ "ipv4 double 802.1q", { 0x8100, 0x8100 }, 0x0800, 5, 0, 0, 0, { { 0 } }, UDP, 8,
	  0, F_V4 | SN_HDR_VLAN | SN_HDR_L4, 2, 22, 42, UDP },
	{ "three tags: not parsed past two", { 0x88a8, 0x8100, 0x8100 }, 0x0800, 5, 0, 0,
	  0, { { 0 } }, UDP, 8, 0, SN_HDR_VLAN, 2, 0, 0, 0 },
	{ "ipv4 first fragment", { 0 }, 0x0800, 5, 0x2000, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_FRAG | SN_HDR_L4, 0, 14, 34, TCP },
	{ "ipv4 later fragment", { 0 }, 0x0800, 5, 0x00b9, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_FRAG, 0, 14, 0, 0 },
	{ "ipv4 last fragment", { 0 }, 0x0800, 5, 0x0001, 0, 0, { { 0 } }, UDP, 8,
	  0, F_V4 | SN_HDR_FRAG, 0, 14, 0, 0 },
	{ "ipv4 DF is no fragment", { 0 }, 0x0800, 5, 0x4000, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V4 | SN_HDR_L4, 0, 14, 34, TCP },
	{ "ipv4 ihl 4", { 0 }, 0x0800, 4, 0, 0, 0, { { 0 } }, TCP, 20,
	  -EBADMSG, 0, 0, 14, 0, 0 },
	{ "ipv4 version 6", { 0 }, 0x0800, 5, 0, 6, 0, { { 0 } }, TCP, 20,
	  -EBADMSG, 0, 0, 14, 0, 0 },
	{ "ipv4 ihl past frame", { 0 }, 0x0800, 15, 0, 0, 0, { { 0 } }, TCP, 0,
	  -EBADMSG, 0, 0, 14, 0, 0 },
	{ "ipv6 tcp", { 0 }, 0x86dd, 0, 0, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V6 | SN_HDR_L4, 0, 14, 54, TCP },
	{ "ipv6 802.1q udp", { 0x8100 }, 0x86dd, 0, 0, 0, 0, { { 0 } }, UDP, 8,
	  0, F_V6 | SN_HDR_VLAN | SN_HDR_L4, 1, 18, 58, UDP },
	{ "ipv6 qinq tcp", { 0x88a8, 0x8100 }, 0x86dd, 0, 0, 0, 0, { { 0 } }, TCP, 20,
	  0, F_V6 | SN_HDR_VLAN | SN_HDR_L4, 2, 22, 62, TCP },
	{ "ipv6 hop-by-hop", { 0 }, 0x86dd, 0, 0, 0, 1, { { 0, 0, 0 } }, TCP, 20,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_L4, 0, 14, 62, TCP },
	{ "ipv6 hbh, routing, dstopts", { 0 }, 0x86dd, 0, 0, 0,
	  3, { { 0, 1, 0 }, { 43, 2, 0 }, { 60, 0, 0 } }, UDP, 8,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_L4, 0, 14, 54 + 16 + 24 + 8, UDP },
	{ "ipv6 ah", { 0 }, 0x86dd, 0, 0, 0, 1, { { 51, 4, 0 } }, TCP, 20,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_AH | SN_HDR_L4, 0, 14, 54 + 24, TCP },
	{ "ipv6 dstopts then ah", { 0x8100 }, 0x86dd, 0, 0, 0, 2, { { 60, 0, 0 }, { 51, 1, 0 } },
	  TCP, 20, 0, F_V6 | SN_HDR_VLAN | SN_HDR_EXT | SN_HDR_AH | SN_HDR_L4, 1, 18,
	  58 + 8 + 12, TCP },
	{ "ipv6 first fragment", { 0 }, 0x86dd, 0, 0, 0, 1, { { 44, 0, 0 } }, UDP, 8,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_FRAG | SN_HDR_L4, 0, 14, 62, UDP },
	{ "ipv6 later fragment", { 0 }, 0x86dd, 0, 0, 0, 1, { { 44, 0, 185 } }, UDP, 8,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_FRAG, 0, 14, 0, 0 },
	{ "ipv6 fragment after hbh", { 0 }, 0x86dd, 0, 0, 0, 2, { { 0, 0, 0 }, { 44, 0, 0 } },
	  TCP, 20, 0, F_V6 | SN_HDR_EXT | SN_HDR_FRAG | SN_HDR_L4, 0, 14, 70, TCP },
	{ "ipv6 icmp", { 0 }, 0x86dd, 0, 0, 0, 0, { { 0 } }, ICMP6, 8,
	  0, F_V6 | SN_HDR_L4, 0, 14, 54, ICMP6 },
	{ "ipv6 eight ext headers", { 0 }, 0x86dd, 0, 0, 0,
	  8, { { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 } }, TCP, 20,
	  0, F_V6 | SN_HDR_EXT | SN_HDR_L4, 0, 14, 54 + 64, TCP },
	{ "ipv6 nine ext headers", { 0 }, 0x86dd, 0, 0, 0,
	  9, { { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 }, { 60, 0, 0 } }, TCP, 20,
	  -EBADMSG, F_V6 | SN_HDR_EXT, 0, 14, 0, 0 },
	/* Its length field says 2 KiB; the frame ends after its first 8 bytes:
	 * the walk reports where L4 would be, the caller bounds its reads. */
	{ "ipv6 ext header past frame", { 0 }, 0x86dd, 0, 0, 0, 1, { { 43, 255, 0 } }, TCP, 0,
	  0, SN_HDR_IPV6 | SN_HDR_EXT | SN_HDR_L4, 0, 14, 54 + 2048, TCP },
	{ "ipv6 version 4", { 0 }, 0x86dd, 0, 0, 4, 0, { { 0 } }, TCP, 20,
	  -EBADMSG, 0, 0, 14, 0, 0 },
	{ "arp", { 0 }, 0x0806, 0, 0, 0, 0, { { 0 } }, 0, 28,
	  0, 0, 0, 0, 0, 0 },
	{ "arp behind a tag", { 0x8100 }, 0x0806, 0, 0, 0, 0, { { 0 } }, 0, 28,
	  0, SN_HDR_VLAN, 1, 0, 0, 0 },
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Build the row's frame into b; returns its length. */
static size_t build(const struct row *r, uint8_t *b)
{
	size_t off = 12, l3, i, n;
	uint8_t *nhp;

	memset(b, 0, 2048);
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < 3 && r->tpid[i]; i++, off += 4) {
		put16(b + off, r->tpid[i]);
		put16(b + off + 2, (uint16_t)(100 + i));
	}
	put16(b + off, r->ethertype);
	l3 = off + 2;
	if (r->ethertype == 0x0800) {
		size_t ihl = (r->ihl ? r->ihl : 5) * 4;
		size_t hl = ihl < 20 ? 20 : ihl;

		b[l3] = (uint8_t)((r->version ? r->version : 4) << 4 | ihl / 4);
		put16(b + l3 + 2, (uint16_t)(hl + r->l4len));
		put16(b + l3 + 6, r->frag4);
		b[l3 + 8] = 64;
		b[l3 + 9] = r->proto;
		memcpy(b + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		/* "ihl past frame": the frame ends with the fixed header. */
		if (r->l4len == 0 && ihl > 20)
			return l3 + 20;
		return l3 + hl + r->l4len;
	}
	if (r->ethertype == 0x86dd) {
		size_t o = l3 + 40;

		b[l3] = (uint8_t)((r->version ? r->version : 6) << 4);
		b[l3 + 7] = 64;
		for (i = 0; i < 32; i++)
			b[l3 + 8 + i] = (uint8_t)(0x20 + i);
		nhp = b + l3 + 6;
		for (i = 0; i < r->next; i++) {
			const struct ext *e = &r->ext[i];

			*nhp = e->type;
			nhp = b + o;
			b[o + 1] = e->lenf;
			if (e->type == 44) {
				put16(b + o + 2, (uint16_t)(e->fragoff << 3));
				n = 8;
			} else if (e->type == 51) {
				n = ((size_t)e->lenf + 2) * 4;
			} else {
				n = ((size_t)e->lenf + 1) * 8;
			}
			/* A header longer than the frame ends it: the row
			 * checks a walk past the end. */
			if (o + n > 1500) {
				b[o] = r->proto;
				return o + 8;
			}
			o += n;
		}
		*nhp = r->proto;
		put16(b + l3 + 4, (uint16_t)(o - l3 - 40 + r->l4len));
		return o + r->l4len;
	}
	return l3 + r->l4len;
}

/* An exact-size heap copy: ASan sees any read past len. */
static int parse_copy(const uint8_t *b, size_t len, struct sn_hdr *h)
{
	uint8_t *c = malloc(len ? len : 1);
	int rc;

	assert_non_null(c);
	memcpy(c, b, len);
	rc = sn_hdr_parse(c, len, h);
	free(c);
	return rc;
}

/* What holds for any frame, well formed or not. */
static void check_invariants(const struct sn_hdr *h, int rc, size_t len)
{
	assert_true(rc == 0 || rc == -EBADMSG);
	if (len < SN_ETH_HLEN)
		assert_int_equal(rc, -EBADMSG);
	assert_true(h->nvlan <= SN_HDR_MAX_TAGS);
	assert_int_equal(!!(h->flags & SN_HDR_VLAN), h->nvlan > 0);
	assert_false((h->flags & SN_HDR_IPV4) && (h->flags & SN_HDR_IPV6));
	if (h->flags & SN_HDR_IPV4) {
		assert_true((size_t)h->l3_off + 20 <= len);
		if (h->flags & SN_HDR_L4)
			assert_true(h->l4_off >= h->l3_off + 20 && h->l4_off <= len);
	}
	if (h->flags & SN_HDR_IPV6) {
		assert_true((size_t)h->l3_off + 40 <= len);
		if (h->flags & SN_HDR_L4)
			assert_true(h->l4_off >= h->l3_off + 40);
	}
	if (h->flags & SN_HDR_L3_LEN)
		assert_true((size_t)h->l3_off + h->l3_len <= len);
	if (!(h->flags & (SN_HDR_IPV4 | SN_HDR_IPV6)))
		assert_false(h->flags & (SN_HDR_L4 | SN_HDR_FRAG | SN_HDR_EXT | SN_HDR_L3_LEN));
}

static void hdr_rows(void **state)
{
	static uint8_t b[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t len = build(r, b);
		struct sn_hdr h;
		int rc;

		print_message("row %zu: %s\n", i, r->name);
		rc = parse_copy(b, len, &h);
		check_invariants(&h, rc, len);
		assert_int_equal(rc, r->rc);
		assert_int_equal(h.flags, r->flags);
		assert_int_equal(h.nvlan, r->nvlan);
		if (h.flags & (SN_HDR_IPV4 | SN_HDR_IPV6))
			assert_int_equal(h.l3_off, r->l3_off);
		if (h.flags & SN_HDR_L4) {
			assert_int_equal(h.l4_off, r->l4_off);
			assert_int_equal(h.l4_proto, r->l4_proto);
		}
		if (!rc && !r->tpid[2])
			assert_int_equal(h.ethertype, r->ethertype);
	}
}

/* Every row cut at every length.  Once the cut lies at or past where the
 * whole frame's headers end, the answer is the whole frame's (only the
 * IP length check may differ); before that the parse must stop short or
 * fail, never read on. */
static void hdr_rows_truncated(void **state)
{
	static uint8_t b[2048];
	size_t i, len, cut;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sn_hdr full;
		int frc;

		len = build(&rows[i], b);
		frc = parse_copy(b, len, &full);
		for (cut = 0; cut < len; cut++) {
			struct sn_hdr h;
			size_t hdr_end;
			int rc = parse_copy(b, cut, &h);

			check_invariants(&h, rc, cut);
			hdr_end = (full.flags & SN_HDR_L4) ? full.l4_off :
				  (full.flags & (SN_HDR_IPV4 | SN_HDR_IPV6)) ?
				  full.l3_off + ((full.flags & SN_HDR_IPV6) ? 40u : 20u) :
				  (size_t)full.l3_off;
			if (cut >= hdr_end && !(full.flags & SN_HDR_EXT && !(full.flags & SN_HDR_L4))) {
				assert_int_equal(rc, frc);
				assert_int_equal(h.flags & ~SN_HDR_L3_LEN,
						 full.flags & ~SN_HDR_L3_LEN);
				assert_int_equal(h.l4_off, full.l4_off);
			}
		}
	}
}

/* A deterministic generator, so a failure reproduces. */
static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Random bytes behind plausible ethertypes, tags and IP versions: the
 * parse never fails an invariant and never reads past the frame. */
static void hdr_garbage(void **state)
{
	static const uint16_t et[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0xffff };
	uint8_t b[512];
	uint32_t seed = 12345;
	unsigned int n, v4 = 0, v6 = 0, l4 = 0, bad = 0;

	(void)state;
	for (n = 0; n < 200000; n++) {
		size_t len = rnd(&seed) % sizeof(b), i, off = 12;
		struct sn_hdr h;
		int rc;

		for (i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(&seed);
		/* Steer most frames into the interesting paths. */
		while (off + 2 <= len && rnd(&seed) % 4) {
			put16(b + off, et[rnd(&seed) % 6]);
			if (b[off] == 0x08 && b[off + 1] == 0x00 && off + 3 <= len)
				b[off + 2] = (uint8_t)(0x40 | (b[off + 2] & 0xf));
			if (b[off] == 0x86 && off + 3 <= len) {
				b[off + 2] = (uint8_t)(0x60 | (b[off + 2] & 0xf));
				if (off + 9 <= len)
					b[off + 8] = (uint8_t)(rnd(&seed) % 2 ? 60 : 44);
			}
			if (b[off] != 0x81 && b[off] != 0x88)
				break;
			off += 4;
		}
		rc = parse_copy(b, len, &h);
		check_invariants(&h, rc, len);
		v4 += !!(h.flags & SN_HDR_IPV4);
		v6 += !!(h.flags & SN_HDR_IPV6);
		l4 += !!(h.flags & SN_HDR_L4);
		bad += rc != 0;
	}
	/* The steering reached every path, not only the early rejects. */
	print_message("ipv4 %u ipv6 %u l4 %u malformed %u\n", v4, v6, l4, bad);
	assert_true(v4 > 1000 && v6 > 1000 && l4 > 1000 && bad > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hdr_rows),
		cmocka_unit_test(hdr_rows_truncated),
		cmocka_unit_test(hdr_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
