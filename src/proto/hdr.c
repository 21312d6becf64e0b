/* L2/L3 header parser (see hdr.h). */
#include <errno.h>
#include <stdbool.h>

#include "proto/hdr.h"

/* IPv6 next-header values the walk steps over (RFC 8200 4, RFC 4302). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

static int parse_ipv4(const uint8_t *f, size_t len, struct sn_hdr *h)
{
	const uint8_t *ip = f + h->l3_off;
	size_t room = len - h->l3_off;
	size_t ihl;
	uint16_t frag;

	if (room < 20 || ip[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || ihl > room)
		return -EBADMSG;
	h->flags |= SN_HDR_IPV4;
	if (ihl > 20)
		h->flags |= SN_HDR_IP_OPTS;
	h->l3_len = sn_rd16be(ip + 2);
	if (h->l3_len >= ihl && h->l3_len <= room)
		h->flags |= SN_HDR_L3_LEN;
	frag = sn_rd16be(ip + 6);
	/* MF or a non-zero offset.  Only offset 0 starts with the L4
	 * header; later fragments carry payload bytes where ports would be. */
	if (frag & 0x3fff)
		h->flags |= SN_HDR_FRAG;
	if (!(frag & 0x1fff)) {
		h->flags |= SN_HDR_L4;
		h->l4_off = (uint16_t)(h->l3_off + ihl);
		h->l4_proto = ip[9];
	}
	return 0;
}

/* Step over the extension-header chain.  The count bound, not the peer's
 * length fields, ends the loop. */
static int parse_ipv6(const uint8_t *f, size_t len, struct sn_hdr *h)
{
	const uint8_t *ip = f + h->l3_off;
	size_t room = len - h->l3_off;
	size_t off = 40;
	uint8_t nh;
	unsigned int n;

	if (room < 40 || ip[0] >> 4 != 6)
		return -EBADMSG;
	h->flags |= SN_HDR_IPV6;
	h->l3_len = 40u + sn_rd16be(ip + 4);
	/* Payload length 0 is a jumbogram (a hop-by-hop option), beyond
	 * netif's 64 KiB packets: treated as inconsistent. */
	if (h->l3_len > 40 && h->l3_len <= room)
		h->flags |= SN_HDR_L3_LEN;
	nh = ip[6];
	for (n = 0;; n++) {
		size_t elen;

		if (nh != NH_HOPOPTS && nh != NH_ROUTING && nh != NH_FRAGMENT &&
		    nh != NH_AH && nh != NH_DSTOPTS)
			break;
		if (n >= SN_HDR_MAX_EXT || off + 8 > room)
			return -EBADMSG;
		h->flags |= SN_HDR_EXT;
		if (nh == NH_FRAGMENT) {
			h->flags |= SN_HDR_FRAG;
			/* Offset non-zero: the upper-layer header is in an
			 * earlier fragment. */
			if (sn_rd16be(ip + off + 2) & 0xfff8)
				return 0;
			elen = 8;
		} else if (nh == NH_AH) {
			h->flags |= SN_HDR_AH;
			/* AH counts 32-bit words, minus 2 (RFC 4302 2.2). */
			elen = ((size_t)ip[off + 1] + 2) * 4;
		} else {
			elen = ((size_t)ip[off + 1] + 1) * 8;
		}
		nh = ip[off];
		off += elen;
	}
	/* The walk may end past the frame (the last header's length said so);
	 * l4_off is reported, reads there are the caller's to bound. */
	if (h->l3_off + off > 0xffff)
		return -EBADMSG;
	h->flags |= SN_HDR_L4;
	h->l4_off = (uint16_t)(h->l3_off + off);
	h->l4_proto = nh;
	return 0;
}

int sn_hdr_parse(const uint8_t *f, size_t len, struct sn_hdr *h)
{
	size_t off = 12;

	*h = (struct sn_hdr){ 0 };
	if (len < SN_ETH_HLEN)
		return -EBADMSG;
	h->ethertype = sn_rd16be(f + off);
	while (h->nvlan < SN_HDR_MAX_TAGS &&
	       (h->ethertype == SN_ETH_P_8021Q || h->ethertype == SN_ETH_P_8021AD)) {
		off += 4;
		if (off + 2 > len)
			return -EBADMSG;
		h->ethertype = sn_rd16be(f + off);
		h->nvlan++;
		h->flags |= SN_HDR_VLAN;
	}
	off += 2;
	/* Beyond 64 KiB no netif frame exists; keeping offsets in 16 bits
	 * is then safe. */
	if (len > 0xffff)
		len = 0xffff;
	h->l3_off = (uint16_t)off;
	switch (h->ethertype) {
	case SN_ETH_P_IPV4:
		return parse_ipv4(f, len, h);
	case SN_ETH_P_IPV6:
		return parse_ipv6(f, len, h);
	default:
		return 0;
	}
}
