/* Internet checksum arithmetic (RFC 1071) and the header walk that finds a
 * frame's TCP/UDP checksum, so "checksum blank" packets from netif can be
 * handed to virtio-net (which wants csum_start) or finished in software. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "port/csum.h"
#include "proto/hdr.h"


uint64_t sn_csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Summing 32-bit native words into 64 bits and folding later gives
	 * the same ones'-complement result as 16-bit big-endian words
	 * (RFC 1071 byte-order independence) at a fraction of the cost. */
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		sum += w;
	}
	return sum;
}

uint16_t sn_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

int sn_l4_locate(const uint8_t *f, uint32_t len, struct sn_l4_loc *out)
{
	struct sn_l4_loc loc = { 0 };
	uint32_t off, l3_end;
	struct sn_hdr h;
	uint8_t proto;
	int rc;

	rc = sn_hdr_parse(f, len, &h);
	if (!(h.flags & (SN_HDR_IPV4 | SN_HDR_IPV6)))
		return rc ? -EBADMSG : -EPROTONOSUPPORT;
	/* The checksum covers the datagram as the IP header sizes it, never
	 * Ethernet padding, and never bytes past the frame. */
	if (!(h.flags & SN_HDR_L3_LEN))
		return -EBADMSG;
	/* A fragment's L4 header (if any) covers only part of the
	 * datagram: no per-fragment checksum can be computed. */
	if (h.flags & SN_HDR_FRAG)
		return -EPROTONOSUPPORT;
	if (rc)
		return rc;
	loc.l3_off = h.l3_off;
	loc.ipv6 = h.flags & SN_HDR_IPV6;
	l3_end = h.l3_off + h.l3_len;
	off = h.l4_off;
	proto = h.l4_proto;
	if (off > l3_end)
		return -EBADMSG;
	loc.l4_off = (uint16_t)off;
	loc.l4_len = l3_end - off;
	loc.l4_proto = proto;
	if (proto == IPPROTO_TCP) {
		uint32_t doff;

		if (loc.l4_len < 20)
			return -EBADMSG;
		doff = (f[off + 12] >> 4) * 4u;
		if (doff < 20 || doff > loc.l4_len)
			return -EBADMSG;
		loc.l4_hlen = (uint16_t)doff;
		loc.csum_offset = 16;
	} else if (proto == IPPROTO_UDP) {
		if (loc.l4_len < 8)
			return -EBADMSG;
		loc.l4_hlen = 8;
		loc.csum_offset = 6;
	} else {
		return -EPROTONOSUPPORT;
	}
	*out = loc;
	return 0;
}

uint16_t sn_l4_pseudo_csum(const uint8_t *f, const struct sn_l4_loc *loc, uint32_t l4_len)
{
	uint8_t tail[8] = { 0 };
	uint64_t sum;

	if (loc->ipv6) {
		sum = sn_csum_add(0, f + loc->l3_off + 8, 32);
		tail[0] = (uint8_t)(l4_len >> 24);
		tail[1] = (uint8_t)(l4_len >> 16);
		tail[2] = (uint8_t)(l4_len >> 8);
		tail[3] = (uint8_t)l4_len;
		tail[7] = loc->l4_proto;
		sum = sn_csum_add(sum, tail, 8);
	} else {
		sum = sn_csum_add(0, f + loc->l3_off + 12, 8);
		tail[1] = loc->l4_proto;
		tail[2] = (uint8_t)(l4_len >> 8);
		tail[3] = (uint8_t)l4_len;
		sum = sn_csum_add(sum, tail, 4);
	}
	return sn_csum_fold(sum);
}

int sn_pkt_csum_locate(struct sn_pkt *p)
{
	struct sn_l4_loc loc;
	int rc;

	if (p->csum_start)
		return 0;
	rc = sn_l4_locate(p->data, p->len, &loc);
	if (rc)
		return rc;
	p->csum_start = loc.l4_off;
	p->csum_offset = loc.csum_offset;
	return 0;
}

int sn_pkt_csum_finish(struct sn_pkt *p)
{
	uint32_t start, end, field;
	uint16_t c;
	bool udp = false;

	if (!(p->flags & SN_PKT_CSUM_PARTIAL))
		return 0;
	if (p->csum_start) {
		start = p->csum_start;
		end = p->len;
		/* UDP's "0 means no checksum" only matters when the field is
		 * at UDP's offset; TCP never has a zero problem. */
		udp = p->csum_offset == 6;
	} else {
		struct sn_l4_loc loc;
		int rc = sn_l4_locate(p->data, p->len, &loc);

		if (rc)
			return rc;
		p->csum_start = loc.l4_off;
		p->csum_offset = loc.csum_offset;
		start = loc.l4_off;
		end = loc.l4_off + loc.l4_len;
		udp = loc.l4_proto == IPPROTO_UDP;
	}
	field = start + p->csum_offset;
	if (start > end || field + 2 > end || end > p->len)
		return -EBADMSG;
	/* The field already holds the pseudo-header seed, so summing the
	 * segment with it in place yields the full checksum. */
	c = (uint16_t)~sn_csum_fold(sn_csum_add(0, p->data + start, end - start));
	if (udp && c == 0)
		c = 0xFFFF;
	memcpy(p->data + field, &c, 2);
	p->flags = (uint16_t)((p->flags & ~SN_PKT_CSUM_PARTIAL) | SN_PKT_CSUM_VALID);
	return 0;
}

int sn_l4_csum_verify(const uint8_t *f, uint32_t len)
{
	struct sn_l4_loc loc;
	uint64_t sum;
	int rc;

	rc = sn_l4_locate(f, len, &loc);
	if (rc)
		return rc;
	if (!loc.ipv6 && loc.l4_proto == IPPROTO_UDP &&
	    !sn_rd16be(f + loc.l4_off + 6))
		return 0;
	sum = sn_csum_add(0, f + loc.l4_off, loc.l4_len);
	sum += sn_l4_pseudo_csum(f, &loc, loc.l4_len);
	return sn_csum_fold(sum) == 0xFFFF ? 0 : -EBADMSG;
}
