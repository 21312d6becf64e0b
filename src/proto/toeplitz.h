/* Toeplitz hash (the only hash algorithm netif defines) and extraction of
 * its input from an Ethernet frame for the four netif hash types. */
#ifndef SN_PROTO_TOEPLITZ_H
#define SN_PROTO_TOEPLITZ_H

#include <stddef.h>
#include <stdint.h>

#include "proto/ring.h"

/* Longest key netback accepts (Linux XEN_NETBK_MAX_HASH_KEY_SIZE); the
 * longest input (IPv6 + ports, 36 B) consumes 36 + 4 key bytes. */
#define SN_TOEPLITZ_KEY_MAX 40u
/* Longest hash input: two IPv6 addresses and two ports. */
#define SN_HASH_INPUT_MAX 36u

/* Toeplitz over in[0..len): for each input bit, MSB first, a set bit XORs
 * the current leftmost 32 key bits into the result; the key window then
 * shifts left one bit.  Key bytes at or beyond keylen count as zero. */
uint32_t sn_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *in,
		     size_t len);

/* Hash input of an Ethernet frame for the enabled types (mask of
 * XEN_NETIF_CTRL_HASH_TYPE_*), following the "maximal type" rule: a TCP
 * segment uses the *_TCP type if enabled, otherwise the plain type; IP
 * fragments and non-TCP packets only ever use the plain type.  Headers are
 * found by sn_hdr_parse (hdr.h).  On success *type_bit is the hash
 * type *bit number* (what a HASH extra carries) and 0 is returned;
 * -ENOENT when no enabled type applies (ARP, IPv6 without IPv6 types...),
 * -EINVAL for a truncated or malformed header. */
struct sn_hash_input {
	uint8_t buf[SN_HASH_INPUT_MAX];
	size_t len;
	unsigned int type_bit;
};

int sn_hash_input_from_frame(const uint8_t *frame, size_t len,
			     uint32_t enabled, struct sn_hash_input *out);

/* Both steps: 0 with *hash and *type_bit set, or the error above. */
int sn_toeplitz_frame(const uint8_t *key, size_t keylen, uint32_t enabled,
		      const uint8_t *frame, size_t len, uint32_t *hash,
		      unsigned int *type_bit);

#endif /* SN_PROTO_TOEPLITZ_H */
