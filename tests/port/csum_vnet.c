/* Checksum locating/finishing for IPv4/IPv6 TCP/UDP frames, and the tap's
 * virtio-net header mapping in both directions (no device needed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <cmocka.h>
#include <linux/if_tun.h>
#include <xen/io/netif.h>

#include "port/csum.h"
#include "port/port_impl.h"

/* A reference checksum written the textbook way (16-bit big-endian words),
 * independent of csum.c's 32-bit accumulation. */
static uint16_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

/* Build Ethernet [+VLAN] + IPv4/IPv6 [+ dest-opts ext] + TCP/UDP + payload. */
static uint32_t build(uint8_t *f, bool v6, bool vlan, bool ext, int proto, uint32_t plen)
{
	uint32_t off = 12, l3, l4, l4len, hl = proto == 6 ? 20 : 8;

	memset(f, 0, 128);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (vlan) {
		f[off++] = 0x81;
		f[off++] = 0x00;
		f[off++] = 0x00;
		f[off++] = 0x05;
	}
	f[off++] = v6 ? 0x86 : 0x08;
	f[off++] = v6 ? 0xDD : 0x00;
	l3 = off;
	l4len = hl + plen;
	if (v6) {
		uint32_t pl = l4len + (ext ? 8 : 0);

		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)(pl >> 8);
		f[l3 + 5] = (uint8_t)pl;
		f[l3 + 6] = ext ? 60 : (uint8_t)proto;
		f[l3 + 7] = 64;
		for (int i = 0; i < 32; i++)
			f[l3 + 8 + i] = (uint8_t)(0x20 + i);
		l4 = l3 + 40;
		if (ext) {
			memset(f + l4, 0, 8);
			f[l4] = (uint8_t)proto;
			f[l4 + 1] = 0;
			f[l4 + 2] = 1; /* PadN */
			f[l4 + 3] = 4;
			l4 += 8;
		}
	} else {
		uint32_t tot = 20 + l4len;

		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)(tot >> 8);
		f[l3 + 3] = (uint8_t)tot;
		f[l3 + 8] = 64;
		f[l3 + 9] = (uint8_t)proto;
		memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		l4 = l3 + 20;
	}
	f[l4] = 0x30;
	f[l4 + 1] = 0x39;
	f[l4 + 2] = 0x00;
	f[l4 + 3] = 0x50;
	if (proto == 6) {
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = 0x10;
	} else {
		f[l4 + 4] = (uint8_t)(l4len >> 8);
		f[l4 + 5] = (uint8_t)l4len;
	}
	for (uint32_t i = 0; i < plen; i++)
		f[l4 + hl + i] = (uint8_t)(i * 13 + 7);
	return l4 + l4len;
}

static uint16_t ref_l4_csum(const uint8_t *f, bool v6, uint32_t l3, uint32_t l4, int proto,
			    uint32_t l4len)
{
	uint32_t sum = 0;
	uint8_t tmp[65536];

	if (v6) {
		sum = ref_sum(f + l3 + 8, 32, 0);
		sum += l4len >> 16;
		sum += l4len & 0xFFFF;
		sum += (uint32_t)proto;
	} else {
		sum = ref_sum(f + l3 + 12, 8, 0);
		sum += (uint32_t)proto;
		sum += l4len;
	}
	memcpy(tmp, f + l4, l4len);
	tmp[proto == 6 ? 16 : 6] = 0;
	tmp[proto == 6 ? 17 : 7] = 0;
	return (uint16_t)~ref_sum(tmp, l4len, sum);
}

static void check_case(bool v6, bool vlan, bool ext, int proto, uint32_t plen)
{
	static uint8_t f[2048];
	uint32_t len = build(f, v6, vlan, ext, proto, plen);
	uint32_t l3 = vlan ? 18 : 14;
	uint32_t l4 = l3 + (v6 ? 40 + (ext ? 8 : 0) : 20);
	uint32_t hl = proto == 6 ? 20 : 8;
	struct sn_l4_loc loc;
	struct sn_pkt p = { .data = f, .len = len, .cap = sizeof(f) };
	uint16_t seed, want, got;

	assert_int_equal(sn_l4_locate(f, len, &loc), 0);
	assert_int_equal(loc.l3_off, l3);
	assert_int_equal(loc.l4_off, l4);
	assert_int_equal(loc.l4_proto, proto);
	assert_int_equal(loc.l4_hlen, hl);
	assert_int_equal(loc.csum_offset, proto == 6 ? 16 : 6);
	assert_int_equal(loc.l4_len, hl + plen);
	assert_int_equal(loc.ipv6, v6);

	/* Seed the field like a csum_blank sender, derive start/offset, then
	 * finish in software and compare with the reference. */
	seed = sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	memcpy(f + l4 + loc.csum_offset, &seed, 2);
	p.flags = SN_PKT_CSUM_PARTIAL;
	assert_int_equal(sn_pkt_csum_locate(&p), 0);
	assert_int_equal(p.csum_start, l4);
	assert_int_equal(p.csum_offset, loc.csum_offset);
	p.csum_start = 0; /* let finish derive it again */
	assert_int_equal(sn_pkt_csum_finish(&p), 0);
	assert_int_equal(p.flags, SN_PKT_CSUM_VALID);
	want = ref_l4_csum(f, v6, l3, l4, proto, hl + plen);
	if (proto == 17 && want == 0)
		want = 0xFFFF;
	got = (uint16_t)(f[l4 + loc.csum_offset] << 8 | f[l4 + loc.csum_offset + 1]);
	assert_int_equal(got, want);
	assert_int_equal(sn_l4_csum_verify(f, len), 0);
	f[len - 1] ^= 0x40;
	assert_int_equal(sn_l4_csum_verify(f, len), -EBADMSG);
}

static void csum_locate_and_finish_ipv4_ipv6_tcp_udp(void **state)
{
	(void)state;
	for (int v6 = 0; v6 < 2; v6++)
		for (int vlan = 0; vlan < 2; vlan++)
			for (int pi = 0; pi < 2; pi++)
				for (uint32_t plen = 0; plen < 40; plen += 13) {
					check_case(v6, vlan, false, pi ? 6 : 17, plen);
					if (v6)
						check_case(true, vlan, true, pi ? 6 : 17, plen);
				}
	check_case(false, false, false, 6, 1460);
	check_case(true, false, true, 17, 1401);
}

static void csum_padding_not_summed(void **state)
{
	static uint8_t f[128];
	uint32_t len = build(f, false, false, false, 17, 4); /* 46 bytes */
	struct sn_pkt p = { .data = f, .len = 60, .cap = sizeof(f), .flags = SN_PKT_CSUM_PARTIAL };
	struct sn_l4_loc loc;
	uint16_t seed;

	(void)state;
	/* Ethernet pads to 60; the checksum covers only the IP length. */
	memset(f + len, 0xEE, 60 - len);
	assert_int_equal(sn_l4_locate(f, 60, &loc), 0);
	assert_int_equal(loc.l4_len, 12);
	seed = sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	memcpy(f + loc.l4_off + 6, &seed, 2);
	assert_int_equal(sn_pkt_csum_finish(&p), 0);
	assert_int_equal(sn_l4_csum_verify(f, 60), 0);
}

static void csum_locate_rejects_bad_headers(void **state)
{
	static uint8_t f[256];
	struct sn_l4_loc loc;
	uint32_t len;

	(void)state;
	len = build(f, false, false, false, 6, 10);
	for (uint32_t cut = 0; cut < len - 10; cut++)
		assert_true(sn_l4_locate(f, cut, &loc) < 0);
	f[14] = 0x44; /* IHL 4*4 < 20 */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EBADMSG);
	len = build(f, false, false, false, 6, 10);
	f[14 + 6] = 0x20; /* MF: fragment */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EPROTONOSUPPORT);
	len = build(f, false, false, false, 1, 10); /* ICMP */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EPROTONOSUPPORT);
	len = build(f, false, false, false, 6, 10);
	f[34 + 12] = 0xF0; /* TCP data offset 60 > segment */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EBADMSG);
	len = build(f, true, false, true, 6, 10);
	f[54 + 1] = 200; /* extension header runs past the packet */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EBADMSG);
	len = build(f, false, false, false, 6, 10);
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	assert_int_equal(sn_l4_locate(f, len, &loc), -EPROTONOSUPPORT);
}

static void vnet_to_pkt_maps_offloads(void **state)
{
	uint8_t buf[200] = { 0 };
	struct sn_pkt p = { .data = buf, .len = 200, .cap = 200 };
	struct virtio_net_hdr h = { 0 };

	(void)state;
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = 54;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), 0);
	assert_int_equal(p.flags, SN_PKT_CSUM_PARTIAL | SN_PKT_GSO);
	assert_int_equal(p.csum_start, 34);
	assert_int_equal(p.csum_offset, 16);
	assert_int_equal(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	assert_int_equal(p.gso_size, 1448);

	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), 0);
	assert_int_equal(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV6);

	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), 0);
	assert_int_equal(p.flags, SN_PKT_CSUM_VALID);
	assert_int_equal(p.gso_type, XEN_NETIF_GSO_TYPE_NONE);

	memset(&h, 0, sizeof(h));
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), 0);
	assert_int_equal(p.flags, 0);

	/* Refused: checksum field beyond the frame, UFO, GSO without MSS. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 190;
	h.csum_offset = 9;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), -EBADMSG);
	memset(&h, 0, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	h.gso_size = 1000;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), -EPROTONOSUPPORT);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 0;
	assert_int_equal(sn_vnet_hdr_to_pkt(&h, &p), -EBADMSG);
}

static void pkt_to_vnet_maps_offloads(void **state)
{
	static uint8_t f[4096];
	uint32_t len;
	struct sn_pkt p = { .data = f, .cap = sizeof(f) };
	struct virtio_net_hdr h;

	(void)state;
	/* netif's csum_blank carries no csum_start: derived from headers. */
	len = build(f, true, false, true, 17, 100);
	p.len = len;
	p.flags = SN_PKT_CSUM_PARTIAL;
	p.csum_start = 0;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.csum_start, 14 + 40 + 8);
	assert_int_equal(h.csum_offset, 6);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);

	/* GSO TCPv4 with csum_blank. */
	len = build(f, false, true, false, 6, 3000);
	p.len = len;
	p.flags = SN_PKT_CSUM_PARTIAL | SN_PKT_GSO;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p.gso_size = 1448;
	p.csum_start = 0;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.gso_size, 1448);
	assert_int_equal(h.csum_start, 18 + 20);
	assert_int_equal(h.csum_offset, 16);
	assert_int_equal(h.hdr_len, 18 + 20 + 20);

	/* GSO TCPv6 without csum_blank: the field is reseeded, flagged partial. */
	len = build(f, true, false, false, 6, 3000);
	p.len = len;
	p.flags = SN_PKT_GSO;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
	p.csum_start = 0;
	f[54 + 16] = 0x12;
	f[54 + 17] = 0x34;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), 0);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.csum_start, 54);
	assert_true(p.flags & SN_PKT_CSUM_PARTIAL);
	/* Finishing that seed yields a valid checksum: proves it was the
	 * pseudo-header sum. */
	assert_int_equal(sn_pkt_csum_finish(&p), 0);
	assert_int_equal(sn_l4_csum_verify(f, len), 0);

	/* data_validated -> DATA_VALID; a known csum_start (from a tap) is
	 * kept as is. */
	p.flags = SN_PKT_CSUM_VALID;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), 0);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	p.flags = SN_PKT_CSUM_PARTIAL;
	p.csum_start = 40;
	p.csum_offset = 10;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), 0);
	assert_int_equal(h.csum_start, 40);
	assert_int_equal(h.csum_offset, 10);

	/* Refused: unparsable partial frame, GSO of UDP, unknown GSO type,
	 * known csum_start outside the frame. */
	memset(f, 0, 64);
	p.len = 64;
	p.flags = SN_PKT_CSUM_PARTIAL;
	p.csum_start = 0;
	assert_true(sn_pkt_to_vnet_hdr(&p, &h) < 0);
	len = build(f, false, false, false, 17, 3000);
	p.len = len;
	p.flags = SN_PKT_GSO | SN_PKT_CSUM_PARTIAL;
	p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), -EBADMSG);
	p.gso_type = 7;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), -EPROTONOSUPPORT);
	p.flags = SN_PKT_CSUM_PARTIAL;
	p.csum_start = (uint16_t)(len - 2);
	p.csum_offset = 6;
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &h), -EBADMSG);
}

/* Both directions compose: a tap header mapped to a pkt and back is the
 * same header. */
static void vnet_round_trip(void **state)
{
	static uint8_t f[4096];
	struct sn_pkt p = { .data = f, .cap = sizeof(f) };
	struct virtio_net_hdr in = { 0 }, out;

	(void)state;
	p.len = build(f, false, false, false, 6, 3000);
	in.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	in.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	in.gso_size = 1000;
	in.csum_start = 34;
	in.csum_offset = 16;
	in.hdr_len = 54;
	assert_int_equal(sn_vnet_hdr_to_pkt(&in, &p), 0);
	assert_int_equal(sn_pkt_to_vnet_hdr(&p, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

/* Hostile input: random and mutated frames through every parser.  Under
 * ASan this proves no out-of-bounds access; the asserts prove that what
 * the parsers accept stays inside the frame. */
static void parsers_survive_random_frames(void **state)
{
	static uint8_t f[2048];
	uint32_t x = 12345;

	(void)state;
	for (int it = 0; it < 20000; it++) {
		struct sn_l4_loc loc;
		struct sn_pkt p = { .data = f, .cap = sizeof(f) };
		struct virtio_net_hdr h;
		uint32_t len;
		int flips;

		x = x * 1103515245u + 12345u;
		len = build(f, x & 1, x & 2, (x & 3) == 3, (x & 4) ? 6 : 17, (x >> 8) % 1400);
		flips = (int)((x >> 20) % 4);
		for (int k = 0; k < flips; k++) {
			x = x * 1103515245u + 12345u;
			f[(x >> 8) % 80] = (uint8_t)(x >> 24);
		}
		x = x * 1103515245u + 12345u;
		if (x & 1)
			len = (x >> 8) % (len + 1);
		if (sn_l4_locate(f, len, &loc) == 0) {
			assert_true(loc.l4_off + loc.l4_len <= len);
			assert_true(loc.l4_off + loc.csum_offset + 2u <= len);
			assert_true(loc.l4_hlen <= loc.l4_len);
		}
		p.len = len;
		p.flags = (uint16_t)((x >> 4) & 7);
		p.gso_type = (uint8_t)((x >> 7) & 3);
		p.gso_size = (uint16_t)((x >> 9) & 1 ? 1448 : 0);
		if (sn_pkt_to_vnet_hdr(&p, &h) == 0 && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			assert_true(h.csum_start + h.csum_offset + 2u <= len);
		p.csum_start = 0;
		(void)sn_pkt_csum_finish(&p);
		(void)sn_l4_csum_verify(f, len);
	}
}

/* The tap's TUNSETOFFLOAD flags from what the peer negotiated: TSO only
 * with SG and that IP version's checksum offload (Linux netback's rule). */
static void tap_offloads_follow_peer(void **state)
{
	(void)state;
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_ALL),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	assert_int_equal(sn_tap_offload_flags(0), 0);
	/* MiniOS: no SG, no GSO. */
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_CSUM4), TUN_F_CSUM);
	/* GSO without SG: checksum offload only. */
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_ALL & ~SN_OFFLOAD_SG), TUN_F_CSUM);
	/* FreeBSD netfront: TCPv4 only. */
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_CSUM4 | SN_OFFLOAD_TSO4 |
					      SN_OFFLOAD_SG), TUN_F_CSUM | TUN_F_TSO4);
	/* TSO6 offered but no IPv6 checksum offload: no TSO6. */
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_ALL & ~SN_OFFLOAD_CSUM6),
			 TUN_F_CSUM | TUN_F_TSO4);
	/* feature-no-csum-offload: nothing at all. */
	assert_int_equal(sn_tap_offload_flags(SN_OFFLOAD_TSO4 | SN_OFFLOAD_TSO6 |
					      SN_OFFLOAD_SG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csum_locate_and_finish_ipv4_ipv6_tcp_udp),
		cmocka_unit_test(csum_padding_not_summed),
		cmocka_unit_test(csum_locate_rejects_bad_headers),
		cmocka_unit_test(vnet_to_pkt_maps_offloads),
		cmocka_unit_test(pkt_to_vnet_maps_offloads),
		cmocka_unit_test(vnet_round_trip),
		cmocka_unit_test(parsers_survive_random_frames),
		cmocka_unit_test(tap_offloads_follow_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
