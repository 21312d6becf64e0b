/* netif_extra_info codec: the 8-byte "extra" descriptors that follow a tx
 * request or an rx response (GSO, multicast filter, hash).  Encoders zero
 * the whole descriptor; decoders validate what the peer sent. */
#ifndef SN_PROTO_EXTRA_H
#define SN_PROTO_EXTRA_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"

/* Bit for type t in an "extras seen" mask (types are 1..MAX-1). */
#define SN_EXTRA_BIT(t) (1u << (t))

/* Types a receiver built on these headers accepts: 0 and >= MAX are fatal
 * (netback) or an error (netfront). */
static inline bool sn_extra_type_valid(unsigned int type)
{
	return type != XEN_NETIF_EXTRA_TYPE_NONE &&
	       type < XEN_NETIF_EXTRA_TYPE_MAX;
}

const char *sn_extra_type_name(unsigned int type);

/* An extra occupies the first 8 bytes of a tx request / rx response slot
 * that was already copied into private memory. */
void sn_extra_from_txreq(const struct netif_tx_request *req,
			 struct netif_extra_info *x);
void sn_extra_from_rxrsp(const struct netif_rx_response *rsp,
			 struct netif_extra_info *x);

/* Chain flag: set on every extra but the last of a packet. */
void sn_extra_set_more(struct netif_extra_info *x, bool more);
bool sn_extra_more(const struct netif_extra_info *x);

/* GSO: mss must be non-zero and type TCPV4/TCPV6; anything else is a
 * fatal frontend error in netback (xenvif_set_skb_gso). */
int sn_extra_gso_encode(struct netif_extra_info *x, uint16_t mss,
			uint8_t gso_type);
int sn_extra_gso_decode(const struct netif_extra_info *x, uint16_t *mss,
			uint8_t *gso_type);

/* Multicast filter add/delete carried on a dummy tx request. */
void sn_extra_mcast_encode(struct netif_extra_info *x, bool add,
			   const uint8_t addr[6]);
int sn_extra_mcast_decode(const struct netif_extra_info *x, bool *add,
			  uint8_t addr[6]);

/* Hash: type is the hash-type *bit number* (_XEN_NETIF_CTRL_HASH_TYPE_*),
 * value little-endian on the wire.  Encode always says Toeplitz.  Decode
 * fails with -EINVAL for a type netback would ignore (only the four
 * IPv4/IPv6[_TCP] types count); like Linux it does not judge the algorithm
 * byte, the value is only a steering hint. */
int sn_extra_hash_encode(struct netif_extra_info *x, unsigned int type_bit,
			 uint32_t value);
int sn_extra_hash_decode(const struct netif_extra_info *x,
			 unsigned int *type_bit, uint32_t *value);
/* L4 (ports included) vs L3 hash, for the stack's hash-type hint. */
bool sn_extra_hash_is_l4(unsigned int type_bit);

#endif /* SN_PROTO_EXTRA_H */
