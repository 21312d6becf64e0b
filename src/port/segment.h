/* The one software fallback for offloads a peer did not negotiate: TCP
 * segmentation (IPv4/IPv6, VLAN tags, IP options, IPv6 extension headers)
 * and checksum completion.  Both netback (guest RX toward a frontend) and
 * netfront (guest TX toward a backend) decide with sn_offload_fit what a
 * packet from any port needs, then segment with sn_gso_* rather than drop:
 * a peer's missing feature is a "do it here", never a "no". */
#ifndef STAGENET_PORT_SEGMENT_H
#define STAGENET_PORT_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "port/csum.h"
#include "stagenet/port.h" /* SN_OFFLOAD_* */

/* What to do with a packet before it goes to a peer with these caps. */
enum sn_fit {
	SN_FIT_OK = 0,   /* send as is */
	SN_FIT_CSUM,     /* finish the checksum in software (sn_pkt_csum_finish) */
	SN_FIT_SEGMENT,  /* GSO the peer cannot take, or too big: sn_gso_begin */
	SN_FIT_TOO_BIG,  /* non-GSO frame over max_frame: the one honest drop */
};

/* caps: SN_OFFLOAD_* the peer negotiated.  max_frame: the largest frame
 * the peer takes (one page without SG).  A GSO packet is also segmented
 * when the peer takes GSO but not checksum offload for that IP version
 * (netif's GSO implies csum_blank). */
enum sn_fit sn_offload_fit(const struct sn_pkt *p, unsigned int caps, uint32_t max_frame);

/* Segmentation of one GSO packet, one segment at a time, so callers can
 * place segments as room allows.  src must stay unchanged while in use. */
struct sn_gso_iter {
	const struct sn_pkt *src;
	struct sn_l4_loc loc;
	uint32_t hdr_len;  /* L2..TCP header bytes copied into each segment */
	uint32_t pay_off;  /* next payload byte (frame offset) */
	uint32_t pay_end;  /* end of the payload as IP sizes it */
	uint32_t mss;
	uint32_t seq;      /* TCP sequence number of the original */
	uint16_t ip_id;    /* IPv4 id of the original */
	uint8_t tcp_flags; /* of the original */
	bool partial;      /* leave segments CSUM_PARTIAL (seeded) */
	unsigned int idx;
};

/* Start segmenting p (SN_PKT_GSO, TCP) into frames of at most max_frame
 * bytes each carrying at most gso_size payload bytes (smaller when the
 * frame limit demands: a smaller segment is valid TCP, a larger one would
 * exceed the sender's path MTU).  partial: the peer takes csum_blank for
 * this IP version, so segments carry the pseudo-header seed and
 * CSUM_PARTIAL; else their TCP checksum is complete (CSUM_VALID).
 * 0, or -EBADMSG / -EPROTONOSUPPORT (not TCP over IP, headers bad, frame
 * limit below headers + 1 byte). */
int sn_gso_begin(struct sn_gso_iter *it, const struct sn_pkt *p, uint32_t max_frame,
		 bool partial);
/* Segments in total (at least 1). */
unsigned int sn_gso_count(const struct sn_gso_iter *it);
/* Largest segment frame length. */
uint32_t sn_gso_max_len(const struct sn_gso_iter *it);
/* Write the next segment into out (data/cap set by the caller; queue and
 * hash fields are copied from the source).  1 written, 0 done, -ENOSPC
 * when out->cap is too small. */
int sn_gso_next(struct sn_gso_iter *it, struct sn_pkt *out);

/* Does the peer take csum_blank for this packet's IP version? */
bool sn_offload_csum_ok(const struct sn_pkt *p, unsigned int caps);

#endif
