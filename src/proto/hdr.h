/* The one L2/L3 header parser: Ethernet, up to two 802.1Q / 802.1ad tags,
 * IPv4 (options, fragments) or IPv6 (extension-header chain), ending at the
 * L4 header.  Toeplitz hashing, checksum offload, the frontend's queue pick
 * and its TX offload flags all read frames through it, so they agree on
 * where a header is.  Frames come from peers: every read is bounds-checked
 * against len, and the IPv6 walk is bounded by a header count. */
#ifndef SN_PROTO_HDR_H
#define SN_PROTO_HDR_H

#include <stddef.h>
#include <stdint.h>

#define SN_ETH_HLEN 14u
#define SN_ETH_P_IPV4 0x0800u
#define SN_ETH_P_IPV6 0x86ddu
#define SN_ETH_P_8021Q 0x8100u
#define SN_ETH_P_8021AD 0x88a8u

/* VLAN tags skipped at most (QinQ: an 802.1ad tag, then an 802.1Q one). */
#define SN_HDR_MAX_TAGS 2u
/* IPv6 extension headers walked at most before the frame counts as
 * malformed: a crafted chain of 8-byte headers cannot make us spin. */
#define SN_HDR_MAX_EXT 8u

/* struct sn_hdr.flags: what was found, outermost first. */
enum {
	SN_HDR_VLAN = 1u << 0,  /* at least one tag skipped (nvlan says how many) */
	SN_HDR_IPV4 = 1u << 1,  /* l3_off: a well-formed IPv4 header (ihl in the frame) */
	SN_HDR_IPV6 = 1u << 2,  /* l3_off: an IPv6 header (40 bytes in the frame) */
	SN_HDR_L3_LEN = 1u << 3, /* l3_len is consistent and inside the frame */
	SN_HDR_IP_OPTS = 1u << 4, /* IPv4 options (ihl > 5) */
	SN_HDR_EXT = 1u << 5,   /* IPv6 extension headers were skipped */
	SN_HDR_AH = 1u << 6,    /* one of them was AH */
	SN_HDR_FRAG = 1u << 7,  /* an IP fragment (IPv4 MF/offset, IPv6 fragment header) */
	SN_HDR_L4 = 1u << 8,    /* l4_off/l4_proto: an upper-layer header starts there
				 * (unfragmented or first fragment; not known to fit) */
};

struct sn_hdr {
	uint16_t flags;     /* SN_HDR_* */
	uint16_t ethertype; /* after the tags */
	uint8_t nvlan;
	uint8_t l4_proto;   /* IPPROTO_*, valid with SN_HDR_L4 */
	uint16_t l3_off;    /* first byte after the tags (the L3 header for
			     * SN_HDR_IPV4/IPV6), 0 under 14 bytes */
	uint16_t l4_off;    /* valid with SN_HDR_L4 */
	uint32_t l3_len;    /* IP header + payload as the header claims (IPv4
			     * total length, IPv6 40 + payload length); the
			     * frame may carry Ethernet padding past it */
};

/* Parse frame[0..len).  0 when every header walked was well formed, even
 * if the frame is not IP (then only the L2 fields are set);
 * -EBADMSG when a header is cut short or malformed (frame under 14 bytes,
 * a tag without its ethertype, an IPv4 header under 20 bytes or with a bad
 * IHL or version, a short IPv6 header, an extension header past the frame,
 * more than SN_HDR_MAX_EXT of them).  In both cases *h describes the
 * layers found before the parse stopped, so a caller may still use them. */
int sn_hdr_parse(const uint8_t *frame, size_t len, struct sn_hdr *h);

static inline uint16_t sn_rd16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif /* SN_PROTO_HDR_H */
