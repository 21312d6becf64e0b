/* A flow hash for spreading packets over queues when no Toeplitz key was
 * negotiated: addresses (and TCP/UDP ports when every fragment would carry
 * them) so one connection always lands on one queue and keeps its order. */
#ifndef SN_PROTO_FLOW_H
#define SN_PROTO_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over the IPv4/IPv6 address pair, then protocol and ports of an
 * unfragmented TCP/UDP packet; over the MAC pair for anything not IP (or
 * IP too malformed to parse).  0 for a frame under 14 bytes. */
uint32_t sn_flow_hash(const uint8_t *frame, size_t len);

#endif /* SN_PROTO_FLOW_H */
