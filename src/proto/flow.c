/* Flow hash (see flow.h). */
#include "proto/flow.h"
#include "proto/hdr.h"

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u
#define PROTO_TCP 6
#define PROTO_UDP 17

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

uint32_t sn_flow_hash(const uint8_t *f, size_t len)
{
	uint32_t h = FNV_BASIS;
	struct sn_hdr hdr;

	if (len < SN_ETH_HLEN)
		return 0;
	/* A parse error still leaves the layers found before it usable. */
	(void)sn_hdr_parse(f, len, &hdr);
	if (hdr.flags & SN_HDR_IPV4)
		h = fnv(h, f + hdr.l3_off + 12, 8);
	else if (hdr.flags & SN_HDR_IPV6)
		h = fnv(h, f + hdr.l3_off + 8, 32);
	else
		/* Not IP: the MAC pair still separates conversations. */
		h = fnv(h, f, 12);
	if ((hdr.flags & SN_HDR_L4) && !(hdr.flags & SN_HDR_FRAG) &&
	    (hdr.l4_proto == PROTO_TCP || hdr.l4_proto == PROTO_UDP) &&
	    (size_t)hdr.l4_off + 4 <= len) {
		h = (h ^ hdr.l4_proto) * FNV_PRIME;
		h = fnv(h, f + hdr.l4_off, 4);
	}
	return h ^ h >> 16;
}
