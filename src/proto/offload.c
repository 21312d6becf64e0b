/* netif flags <-> packet offload bits (see offload.h). */
#include "proto/extra.h"
#include "proto/offload.h"

static uint16_t csum_from(uint16_t f, uint16_t blank, uint16_t valid)
{
	if (f & blank)
		return SN_PKT_CSUM_PARTIAL;
	if (f & valid)
		return SN_PKT_CSUM_VALID;
	return 0;
}

static uint16_t csum_to(uint16_t pkt_flags, uint16_t blank, uint16_t valid)
{
	if (pkt_flags & SN_PKT_CSUM_PARTIAL)
		return blank | valid;
	if (pkt_flags & SN_PKT_CSUM_VALID)
		return valid;
	return 0;
}

uint16_t sn_offload_from_txflags(uint16_t f)
{
	return csum_from(f, NETTXF_csum_blank, NETTXF_data_validated);
}

uint16_t sn_offload_from_rxflags(uint16_t f)
{
	return csum_from(f, NETRXF_csum_blank, NETRXF_data_validated);
}

uint16_t sn_offload_to_txflags(uint16_t pkt_flags)
{
	return csum_to(pkt_flags, NETTXF_csum_blank, NETTXF_data_validated);
}

uint16_t sn_offload_to_rxflags(uint16_t pkt_flags)
{
	return csum_to(pkt_flags, NETRXF_csum_blank, NETRXF_data_validated);
}

void sn_offload_to_pkt(struct sn_pkt *pkt, uint16_t csum_bits,
		       const struct netif_extra_info extra[XEN_NETIF_EXTRA_TYPE_MAX],
		       uint32_t extra_mask)
{
	const struct netif_extra_info *gso = &extra[XEN_NETIF_EXTRA_TYPE_GSO];
	const struct netif_extra_info *hash = &extra[XEN_NETIF_EXTRA_TYPE_HASH];
	unsigned int htype;
	uint32_t hval;
	uint16_t mss;
	uint8_t type;

	pkt->flags = csum_bits & (SN_PKT_CSUM_PARTIAL | SN_PKT_CSUM_VALID);
	pkt->csum_start = pkt->csum_offset = 0;
	if ((extra_mask & SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_GSO)) &&
	    !sn_extra_gso_decode(gso, &mss, &type)) {
		pkt->flags |= SN_PKT_GSO;
		pkt->gso_size = mss;
		pkt->gso_type = type;
	}
	if ((extra_mask & SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_HASH)) &&
	    !sn_extra_hash_decode(hash, &htype, &hval)) {
		pkt->flags |= SN_PKT_HASH;
		pkt->hash_type = (uint8_t)htype;
		pkt->hash = hval;
	}
}

bool sn_offload_gso_allowed(uint8_t gso_type, bool tcpv4, bool tcpv6)
{
	return (gso_type == XEN_NETIF_GSO_TYPE_TCPV4 && tcpv4) ||
	       (gso_type == XEN_NETIF_GSO_TYPE_TCPV6 && tcpv6);
}
