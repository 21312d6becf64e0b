/* The one mapping between netif's offload vocabulary (NETTXF_* on TX
 * requests, NETRXF_* on RX responses, GSO and hash extras) and a packet's
 * SN_PKT_* bits, used by netback and netfront in both directions.
 *
 * TX and RX put csum_blank and data_validated at swapped bit positions;
 * only this file knows.  A packet is either CSUM_PARTIAL (checksum field
 * holds the pseudo-header seed) or CSUM_VALID, never both: csum_blank
 * wins when a peer sets both, as Linux netfront does for every
 * CHECKSUM_PARTIAL skb. */
#ifndef SN_PROTO_OFFLOAD_H
#define SN_PROTO_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"
#include "stagenet/pkt.h"

/* Wire flags -> SN_PKT_CSUM_* bits. */
uint16_t sn_offload_from_txflags(uint16_t nettxf);
uint16_t sn_offload_from_rxflags(uint16_t netrxf);
/* SN_PKT_CSUM_* bits -> wire flags.  A partial checksum is also marked
 * validated, as Linux marks CHECKSUM_PARTIAL skbs: the data is intact,
 * only the sum is pending. */
uint16_t sn_offload_to_txflags(uint16_t pkt_flags);
uint16_t sn_offload_to_rxflags(uint16_t pkt_flags);

/* Set pkt's offload fields from what arrived: csum bits (from the above)
 * and the GSO and hash extras among extra[] (present where extra_mask has
 * SN_EXTRA_BIT(type), as sn_txpkt and sn_rxpkt hold them).  An extra that
 * does not decode leaves its bit clear: the peer's metadata is a hint the
 * packet survives without.  csum_start/csum_offset are cleared (netif
 * carries none). */
void sn_offload_to_pkt(struct sn_pkt *pkt, uint16_t csum_bits,
		       const struct netif_extra_info extra[XEN_NETIF_EXTRA_TYPE_MAX],
		       uint32_t extra_mask);

/* May a GSO packet of gso_type go to a peer that offered these features?
 * A GSO extra the peer did not offer is fatal there (Linux netback). */
bool sn_offload_gso_allowed(uint8_t gso_type, bool tcpv4, bool tcpv6);

#endif /* SN_PROTO_OFFLOAD_H */
