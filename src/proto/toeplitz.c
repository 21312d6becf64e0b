/* Toeplitz hash and hash-input extraction (see toeplitz.h).  The frame is
 * private memory already copied out of a grant; every header read is
 * bounds-checked against len because the frame came from a peer. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/hdr.h"
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

#define IPPROTO_TCP_ 6

static void put(struct sn_hash_input *out, const uint8_t *p, size_t n)
{
	memcpy(out->buf + out->len, p, n);
	out->len += n;
}

/* The L4 types hash only unfragmented TCP segments (the ports are not in
 * every fragment) and, for IPv6, stop at AH as the walk always has: a
 * flow's hash type must not change between releases, or its queue would. */
static bool tcp_ports(const struct sn_hdr *h)
{
	return (h->flags & SN_HDR_L4) && h->l4_proto == IPPROTO_TCP_ &&
	       !(h->flags & (SN_HDR_FRAG | SN_HDR_AH));
}

int sn_hash_input_from_frame(const uint8_t *frame, size_t len,
			     uint32_t enabled, struct sn_hash_input *out)
{
	const uint8_t *ip;
	struct sn_hdr h;
	uint32_t l4type, l3type;
	unsigned int l4bit, l3bit;
	size_t alen, aoff;

	out->len = 0;
	out->type_bit = 0;
	if (sn_hdr_parse(frame, len, &h))
		return -EINVAL;
	if (h.flags & SN_HDR_IPV4) {
		l4type = XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
		l4bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
		l3type = XEN_NETIF_CTRL_HASH_TYPE_IPV4;
		l3bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
		aoff = 12;
		alen = 8;
	} else if (h.flags & SN_HDR_IPV6) {
		l4type = XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
		l4bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
		l3type = XEN_NETIF_CTRL_HASH_TYPE_IPV6;
		l3bit = _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
		aoff = 8;
		alen = 32;
	} else {
		return -ENOENT;
	}
	ip = frame + h.l3_off;
	if (tcp_ports(&h) && (enabled & l4type)) {
		if ((size_t)h.l4_off + 4 > len)
			return -EINVAL;
		put(out, ip + aoff, alen);
		put(out, frame + h.l4_off, 4);
		out->type_bit = l4bit;
		return 0;
	}
	if (enabled & l3type) {
		put(out, ip + aoff, alen);
		out->type_bit = l3bit;
		return 0;
	}
	return -ENOENT;
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
