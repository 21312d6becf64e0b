/* Toeplitz hash and hash-input extraction (see toeplitz.h).  The frame is
 * private memory already copied out of a grant; every header read is
 * bounds-checked against len because the frame came from a peer. */
#include <errno.h>
#include <string.h>

#include "proto/toeplitz.h"

uint32_t sn_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in,
		     size_t len)
{
	uint64_t window = 0;	/* next 64 key bits, leftmost in bit 63 */
	uint32_t hash = 0;
	size_t next;		/* next key byte to shift in */
	size_t i;
	int b;

	for (next = 0; next < 8; next++)
		window = window << 8 | (next < keylen ? key[next] : 0);

	for (i = 0; i < len; i++) {
		for (b = 7; b >= 0; b--) {
			if (in[i] >> b & 1)
				hash ^= (uint32_t)(window >> 32);
			window <<= 1;
		}
		/* Eight bits went out on the left; refill eight on the
		 * right so the top 32 bits are always real key bits. */
		window |= next < keylen ? key[next] : 0;
		next++;
	}
	return hash;
}

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP_ 6

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put(struct sn_hash_input *out, const uint8_t *p, size_t n)
{
	memcpy(out->buf + out->len, p, n);
	out->len += n;
}

static int ipv4_input(const uint8_t *ip, size_t len, uint32_t enabled,
		      struct sn_hash_input *out)
{
	size_t ihl;
	bool frag, tcp;

	if (len < 20 || ip[0] >> 4 != 4)
		return -EINVAL;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || ihl > len)
		return -EINVAL;
	/* MF set or a non-zero fragment offset: ports are not in every
	 * fragment, so a fragment never gets an L4 hash. */
	frag = (be16(ip + 6) & 0x3fff) != 0;
	tcp = ip[9] == IPPROTO_TCP_ && !frag;

	if (tcp && (enabled & XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)) {
		if (ihl + 4 > len)
			return -EINVAL;
		put(out, ip + 12, 8);
		put(out, ip + ihl, 4);
		out->type_bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
		return 0;
	}
	if (enabled & XEN_NETIF_CTRL_HASH_TYPE_IPV4) {
		put(out, ip + 12, 8);
		out->type_bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
		return 0;
	}
	return -ENOENT;
}

/* Skip the extension headers a TCP segment may carry; stop at anything
 * else.  Bounded by the header count, not by what the peer claims. */
static int ipv6_l4(const uint8_t *ip, size_t len, size_t *l4off,
		   uint8_t *proto)
{
	size_t off = 40;
	uint8_t nh = ip[6];
	int hops;

	for (hops = 0; hops < 8; hops++) {
		switch (nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (off + 8 > len)
				return -EINVAL;
			nh = ip[off];
			off += ((size_t)ip[off + 1] + 1) * 8;
			break;
		case 44:	/* fragment: no L4 hash */
		default:
			*l4off = off;
			*proto = nh;
			return 0;
		}
	}
	*l4off = off;
	*proto = 59; /* too many headers: treat as "no next header" */
	return 0;
}

static int ipv6_input(const uint8_t *ip, size_t len, uint32_t enabled,
		      struct sn_hash_input *out)
{
	size_t l4off;
	uint8_t proto;
	int ret;

	if (len < 40 || ip[0] >> 4 != 6)
		return -EINVAL;
	ret = ipv6_l4(ip, len, &l4off, &proto);
	if (ret)
		return ret;

	if (proto == IPPROTO_TCP_ &&
	    (enabled & XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)) {
		if (l4off + 4 > len)
			return -EINVAL;
		put(out, ip + 8, 32);
		put(out, ip + l4off, 4);
		out->type_bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
		return 0;
	}
	if (enabled & XEN_NETIF_CTRL_HASH_TYPE_IPV6) {
		put(out, ip + 8, 32);
		out->type_bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
		return 0;
	}
	return -ENOENT;
}

int sn_hash_input_from_frame(const uint8_t *frame, size_t len,
			     uint32_t enabled, struct sn_hash_input *out)
{
	size_t off = 12;
	uint16_t proto;
	int tags;

	out->len = 0;
	out->type_bit = 0;
	if (len < 14)
		return -EINVAL;
	proto = be16(frame + off);
	for (tags = 0; tags < 2 &&
	     (proto == ETH_P_8021Q || proto == ETH_P_8021AD); tags++) {
		off += 4;
		if (off + 2 > len)
			return -EINVAL;
		proto = be16(frame + off);
	}
	off += 2;

	switch (proto) {
	case ETH_P_IPV4:
		return ipv4_input(frame + off, len - off, enabled, out);
	case ETH_P_IPV6:
		return ipv6_input(frame + off, len - off, enabled, out);
	default:
		return -ENOENT;
	}
}

int sn_toeplitz_frame(const uint8_t *key, size_t keylen, uint32_t enabled,
		      const uint8_t *frame, size_t len, uint32_t *hash,
		      unsigned int *type_bit)
{
	struct sn_hash_input in;
	int ret;

	ret = sn_hash_input_from_frame(frame, len, enabled, &in);
	if (ret)
		return ret;
	*hash = sn_toeplitz(key, keylen, in.buf, in.len);
	*type_bit = in.type_bit;
	return 0;
}
