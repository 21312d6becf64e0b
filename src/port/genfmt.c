/* Builder for the gen/sink frame format (layout in genfmt.h).  The
 * generator builds a template once and patches it; the sink calls the same
 * builder to know what every byte should have been. */
#include <string.h>

#include "port/csum.h"
#include "port/genfmt.h"

void sn_genfmt_pattern_init(struct sn_genfmt_pattern *pat)
{
	uint32_t x = 0x9E3779B9u;

	/* xorshift32: cheap, and not periodic on any short stride, so a
	 * misplaced block of payload does not match by accident. */
	for (uint32_t i = 0; i < SN_GENFMT_PATTERN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pat->b[i] = (uint8_t)(x >> 24);
	}
}

uint16_t sn_genfmt_sport(uint32_t stream)
{
	/* Spread (queue, flow) over 10000..59999 so Toeplitz hashing sees
	 * distinct tuples per flow. */
	uint32_t q = stream >> 16, fl = stream & 0xFFFF;

	return (uint16_t)(10000u + (q * 4099u + fl) % 50000u);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

uint32_t sn_genfmt_headers(uint8_t *f, uint32_t len, bool tcp, uint32_t stream, uint64_t seq)
{
	static const uint8_t eth[14] = { 0x02, 0x53, 0x4e, 0x00, 0x00, 0x02,
					 0x02, 0x53, 0x4e, 0x00, 0x00, 0x01, 0x08, 0x00 };
	uint32_t hlen = tcp ? SN_GENFMT_TCP_HLEN : SN_GENFMT_UDP_HLEN;
	uint8_t *ip = f + 14, *l4 = f + 34;
	struct sn_l4_loc loc = { .l3_off = 14, .l4_off = 34 };
	uint16_t c;

	memcpy(f, eth, sizeof(eth));
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(len - 14));
	wr16(ip + 4, (uint16_t)seq);
	wr16(ip + 6, 0x4000); /* DF: nothing on our path may fragment */
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	wr32(ip + 12, 0x0A530001u);
	wr32(ip + 16, 0x0A530002u);
	c = (uint16_t)~sn_csum_fold(sn_csum_add(0, ip, 20));
	memcpy(ip + 10, &c, 2);

	wr16(l4, sn_genfmt_sport(stream));
	wr16(l4 + 2, 9000);
	if (tcp) {
		memset(l4 + 4, 0, 16);
		wr32(l4 + 4, (uint32_t)(1 + seq * (len - hlen)));
		wr32(l4 + 8, 1);
		l4[12] = 5 << 4;
		l4[13] = 0x18; /* ACK|PSH */
		wr16(l4 + 14, 65535);
		loc.l4_proto = 6;
		loc.csum_offset = 16;
		c = sn_l4_pseudo_csum(f, &loc, len - 34);
		memcpy(l4 + 16, &c, 2);
	} else {
		wr16(l4 + 4, (uint16_t)(len - 34));
		wr16(l4 + 6, 0);
	}
	sn_genfmt_put_le(f + hlen, SN_GENFMT_MAGIC, 4);
	sn_genfmt_put_le(f + hlen + 4, stream, 4);
	sn_genfmt_put_le(f + hlen + 8, seq, 8);
	return hlen;
}
