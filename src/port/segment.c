/* Software TCP segmentation and the offload decision shared by netback's
 * guest RX and netfront's guest TX (see segment.h).  Segments follow what
 * Linux's tcp_gso_segment produces: every segment's IPv4 id is the
 * original's plus its index, IP lengths and the TCP sequence number are
 * rewritten, FIN and PSH stay on the last segment only and CWR on the
 * first only, and each checksum is recomputed from the bytes written (the
 * original's checksum field, seeded or not, is never trusted). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <xen/io/netif.h>

#include "port/segment.h"
#include "proto/hdr.h"

#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_CWR 0x80u

static void wr16be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t rd32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

bool sn_offload_csum_ok(const struct sn_pkt *p, unsigned int caps)
{
	struct sn_hdr h;

	(void)sn_hdr_parse(p->data, p->len, &h);
	if (h.flags & SN_HDR_IPV6)
		return caps & SN_OFFLOAD_CSUM6;
	return caps & SN_OFFLOAD_CSUM4;
}

enum sn_fit sn_offload_fit(const struct sn_pkt *p, unsigned int caps, uint32_t max_frame)
{
	if (p->flags & SN_PKT_GSO) {
		unsigned int tso, csum;

		if (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4) {
			tso = SN_OFFLOAD_TSO4;
			csum = SN_OFFLOAD_CSUM4;
		} else if (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV6) {
			tso = SN_OFFLOAD_TSO6;
			csum = SN_OFFLOAD_CSUM6;
		} else {
			return SN_FIT_SEGMENT;
		}
		if ((caps & tso) && (caps & csum) && p->len <= max_frame)
			return SN_FIT_OK;
		return SN_FIT_SEGMENT;
	}
	if (p->len > max_frame)
		return SN_FIT_TOO_BIG;
	if ((p->flags & SN_PKT_CSUM_PARTIAL) && !sn_offload_csum_ok(p, caps))
		return SN_FIT_CSUM;
	return SN_FIT_OK;
}

int sn_gso_begin(struct sn_gso_iter *it, const struct sn_pkt *p, uint32_t max_frame,
		 bool partial)
{
	const uint8_t *tcp;
	int rc;

	memset(it, 0, sizeof(*it));
	rc = sn_l4_locate(p->data, p->len, &it->loc);
	if (rc)
		return rc;
	if (it->loc.l4_proto != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	it->src = p;
	it->hdr_len = (uint32_t)it->loc.l4_off + it->loc.l4_hlen;
	it->pay_off = it->hdr_len;
	it->pay_end = (uint32_t)it->loc.l4_off + it->loc.l4_len;
	if (max_frame <= it->hdr_len)
		return -EBADMSG;
	it->mss = (p->flags & SN_PKT_GSO) && p->gso_size ? p->gso_size : SN_PKT_MAX_LEN;
	if (it->mss > max_frame - it->hdr_len)
		it->mss = max_frame - it->hdr_len;
	tcp = p->data + it->loc.l4_off;
	it->seq = rd32be(tcp + 4);
	it->tcp_flags = tcp[13];
	if (!it->loc.ipv6)
		it->ip_id = sn_rd16be(p->data + it->loc.l3_off + 4);
	it->partial = partial;
	return 0;
}

unsigned int sn_gso_count(const struct sn_gso_iter *it)
{
	uint32_t pay = it->pay_end - it->hdr_len;

	return pay ? (pay + it->mss - 1) / it->mss : 1;
}

uint32_t sn_gso_max_len(const struct sn_gso_iter *it)
{
	uint32_t pay = it->pay_end - it->hdr_len;

	return it->hdr_len + (pay < it->mss ? pay : it->mss);
}

int sn_gso_next(struct sn_gso_iter *it, struct sn_pkt *out)
{
	const struct sn_pkt *src = it->src;
	uint32_t left = it->pay_end - it->pay_off;
	uint32_t chunk = left < it->mss ? left : it->mss;
	uint32_t len = it->hdr_len + chunk, l4len;
	bool last = it->idx + 1 >= sn_gso_count(it);
	uint8_t *l3, *tcp, flags;
	uint16_t c;

	if (it->idx >= sn_gso_count(it))
		return 0;
	if (len > out->cap)
		return -ENOSPC;
	memcpy(out->data, src->data, it->hdr_len);
	memcpy(out->data + it->hdr_len, src->data + it->pay_off, chunk);
	l3 = out->data + it->loc.l3_off;
	if (it->loc.ipv6) {
		wr16be(l3 + 4, len - it->loc.l3_off - 40u);
	} else {
		uint32_t ihl = (l3[0] & 15u) * 4u;

		wr16be(l3 + 2, len - it->loc.l3_off);
		wr16be(l3 + 4, (uint16_t)(it->ip_id + it->idx));
		l3[10] = l3[11] = 0;
		c = (uint16_t)~sn_csum_fold(sn_csum_add(0, l3, ihl));
		memcpy(l3 + 10, &c, 2);
	}
	tcp = out->data + it->loc.l4_off;
	wr32be(tcp + 4, it->seq + (it->pay_off - it->hdr_len));
	flags = it->tcp_flags;
	if (!last)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (it->idx)
		flags &= (uint8_t)~TCP_CWR;
	tcp[13] = flags;
	l4len = it->loc.l4_hlen + chunk;
	c = sn_l4_pseudo_csum(out->data, &it->loc, l4len);
	memcpy(tcp + 16, &c, 2);
	out->flags = (uint16_t)(src->flags & SN_PKT_HASH);
	if (it->partial) {
		out->flags |= SN_PKT_CSUM_PARTIAL;
		out->csum_start = it->loc.l4_off;
		out->csum_offset = 16;
	} else {
		c = (uint16_t)~sn_csum_fold(sn_csum_add(0, tcp, l4len));
		memcpy(tcp + 16, &c, 2);
		out->flags |= SN_PKT_CSUM_VALID;
		out->csum_start = 0;
		out->csum_offset = 0;
	}
	out->len = len;
	out->gso_size = 0;
	out->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	out->queue = src->queue;
	out->hash = src->hash;
	out->hash_type = src->hash_type;
	it->pay_off += chunk;
	it->idx++;
	return 1;
}
