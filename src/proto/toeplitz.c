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

/* Per IP version: the two hash types and where the address pair lies in
 * the IP header. */
struct ip_types {
	uint32_t l4type, l3type;
	unsigned int l4bit, l3bit;
	size_t aoff, alen;
};

static const struct ip_types ipv4_types = {
	XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV4,
	_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, _XEN_NETIF_CTRL_HASH_TYPE_IPV4, 12, 8,
};
static const struct ip_types ipv6_types = {
	XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV6,
	_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, _XEN_NETIF_CTRL_HASH_TYPE_IPV6, 8, 32,
};

int sn_hash_input_from_frame(const uint8_t *frame, size_t len,
			     uint32_t enabled, struct sn_hash_input *out)
{
	const struct ip_types *t;
	const uint8_t *addrs;
	struct sn_hdr h;

	out->len = 0;
	out->type_bit = 0;
	if (sn_hdr_parse(frame, len, &h))
		return -EINVAL;
	if (h.flags & SN_HDR_IPV4)
		t = &ipv4_types;
	else if (h.flags & SN_HDR_IPV6)
		t = &ipv6_types;
	else
		return -ENOENT;
	addrs = frame + h.l3_off + t->aoff;
	if (tcp_ports(&h) && (enabled & t->l4type)) {
		if ((size_t)h.l4_off + 4 > len)
			return -EINVAL;
		put(out, addrs, t->alen);
		put(out, frame + h.l4_off, 4);
		out->type_bit = t->l4bit;
		return 0;
	}
	if (enabled & t->l3type) {
		put(out, addrs, t->alen);
		out->type_bit = t->l3bit;
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
