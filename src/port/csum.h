/* Internet checksum helpers and an Ethernet/IP/L4 header locator, for ports
 * (and anyone else) that must turn netif's "checksum blank" into concrete
 * csum_start/csum_offset values or finish a checksum in software. */
#ifndef STAGENET_PORT_CSUM_H
#define STAGENET_PORT_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagenet/pkt.h"

/* Where the transport header and its checksum field sit in a frame. */
struct sn_l4_loc {
	uint16_t l3_off;      /* IPv4/IPv6 header */
	uint16_t l4_off;      /* TCP/UDP header (= csum_start) */
	uint16_t l4_hlen;     /* TCP/UDP header length */
	uint16_t csum_offset; /* checksum field, relative to l4_off */
	uint32_t l4_len;      /* L4 bytes per the IP length (excludes padding) */
	uint8_t l4_proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	bool ipv6;
};

/* Find TCP or UDP behind the headers sn_hdr_parse (proto/hdr.h) walks:
 * Ethernet, VLAN tags, IPv4 or IPv6 with extension headers.  Every field
 * read is bounds-checked against len: the frame may come from a hostile
 * peer.  Returns 0, or -EPROTONOSUPPORT (not IP, not TCP/UDP, a fragment)
 * or -EBADMSG (truncated or inconsistent headers, an IP length past the
 * frame). */
int sn_l4_locate(const uint8_t *frame, uint32_t len, struct sn_l4_loc *out);

/* Ones'-complement sum of buf added to sum (not folded).  Only the last
 * piece of a chained sum may have an odd length. */
uint64_t sn_csum_add(uint64_t sum, const void *buf, size_t len);
/* Fold to 16 bits (not inverted). */
uint16_t sn_csum_fold(uint64_t sum);
/* Folded, non-inverted pseudo-header sum for an L4 segment of l4_len bytes:
 * the value a "checksum partial" packet carries in its checksum field. */
uint16_t sn_l4_pseudo_csum(const uint8_t *frame, const struct sn_l4_loc *loc,
			   uint32_t l4_len);

/* For a SN_PKT_CSUM_PARTIAL packet without csum_start (netif carries none),
 * derive csum_start/csum_offset from its headers.  0 when set (or already
 * known), -errno from sn_l4_locate otherwise. */
int sn_pkt_csum_locate(struct sn_pkt *p);
/* Finish a SN_PKT_CSUM_PARTIAL packet's checksum in software (the field
 * holds the pseudo-header seed, as netif and virtio-net both specify), then
 * clear CSUM_PARTIAL and set CSUM_VALID.  0 or -errno. */
int sn_pkt_csum_finish(struct sn_pkt *p);
/* Verify a complete L4 checksum of a frame: 0 good, -EBADMSG bad,
 * other -errno when the headers cannot be located.  A UDP/IPv4 checksum of
 * 0 ("none") counts as good. */
int sn_l4_csum_verify(const uint8_t *frame, uint32_t len);

#endif
