/* The frame format shared by the `gen` and `sink` ports, so a sink can
 * rebuild and check every byte a generator sent:
 *   Ethernet 02:53:4e:00:00:01 -> 02:53:4e:00:00:02, IPv4 10.83.0.1 ->
 *   10.83.0.2 (DF, TTL 64, id = low 16 bits of seq), then
 *   - UDP (frames <= 1514 by default): sport = sn_genfmt_sport(stream),
 *     dport 9000, checksum 0 ("none", valid for IPv4);
 *   - TCP (frames > 1514, or proto=tcp): same ports, seq = 1 + seq * payload
 *     bytes, ACK|PSH, checksum field = pseudo-header seed with
 *     SN_PKT_CSUM_PARTIAL; frames > 1514 also SN_PKT_GSO TCPv4, MSS 1448;
 *   payload: magic "SNG1", stream (u32 LE), seq (u64 LE), then
 *   pattern[seq % 251 + i] for payload byte i >= 16.
 * stream = queue << 16 | flow, sequences count per stream from 0. */
#ifndef STAGENET_PORT_GENFMT_H
#define STAGENET_PORT_GENFMT_H

#include <stdbool.h>
#include <stdint.h>

#define SN_GENFMT_MAGIC 0x31474E53u /* "SNG1" little-endian */
#define SN_GENFMT_PHDR 16u          /* payload header bytes */
#define SN_GENFMT_UDP_HLEN 42u      /* Ethernet + IPv4 + UDP */
#define SN_GENFMT_TCP_HLEN 54u      /* Ethernet + IPv4 + TCP */
#define SN_GENFMT_MIN_UDP 60u       /* minimum Ethernet frame (64 on the wire) */
#define SN_GENFMT_MIN_TCP (SN_GENFMT_TCP_HLEN + SN_GENFMT_PHDR)
#define SN_GENFMT_MAX_UDP 1514u     /* larger default frames become TCP GSO */
#define SN_GENFMT_MSS 1448u
#define SN_GENFMT_PERIOD 251u       /* prime, so pattern shifts per seq */
#define SN_GENFMT_PATTERN_LEN (SN_GENFMT_PERIOD + 65536u)

/* Precomputed payload bytes: a frame's payload is one memcpy from here. */
struct sn_genfmt_pattern {
	uint8_t b[SN_GENFMT_PATTERN_LEN];
};
void sn_genfmt_pattern_init(struct sn_genfmt_pattern *pat);

uint16_t sn_genfmt_sport(uint32_t stream);
/* Write the headers and the 16-byte payload header of a len-byte frame
 * into f (at least hlen + 16 bytes); returns the header length (42 UDP or
 * 54 TCP).  The L4 checksum field gets 0 (UDP) or the seed (TCP). */
uint32_t sn_genfmt_headers(uint8_t *f, uint32_t len, bool tcp, uint32_t stream,
			   uint64_t seq);
static inline void sn_genfmt_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t sn_genfmt_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline const uint8_t *sn_genfmt_payload(const struct sn_genfmt_pattern *pat,
					       uint64_t seq)
{
	return pat->b + seq % SN_GENFMT_PERIOD;
}

#endif
