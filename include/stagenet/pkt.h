/* A packet in private memory, as it travels between a port and a netif
 * queue.  Offload metadata uses netif's own vocabulary so neither side has
 * to translate twice. */
#ifndef STAGENET_PKT_H
#define STAGENET_PKT_H

#include <stdint.h>

/* Largest netif packet (XEN_NETIF_MAX_TX_SIZE) rounded up to whole pages. */
#define SN_PKT_MAX_LEN 65535u
#define SN_PKT_BUF_SIZE (16u * 4096u + 4096u)

enum {
	SN_PKT_CSUM_PARTIAL = 1u << 0, /* checksum not yet computed (NETTXF_csum_blank) */
	SN_PKT_CSUM_VALID = 1u << 1,   /* checksum verified (NETTXF_data_validated) */
	SN_PKT_GSO = 1u << 2,          /* gso_type/gso_size valid */
	SN_PKT_HASH = 1u << 3,         /* hash/hash_type valid */
};

struct sn_pkt {
	uint8_t *data;     /* packet starts here (inside buf) */
	uint32_t len;      /* bytes of packet */
	uint32_t cap;      /* bytes available at data */
	uint16_t flags;    /* SN_PKT_* */
	uint16_t gso_size; /* MSS when SN_PKT_GSO */
	uint8_t gso_type;  /* XEN_NETIF_GSO_TYPE_TCPV4/TCPV6 */
	uint8_t hash_type; /* _XEN_NETIF_CTRL_HASH_TYPE_* bit number */
	uint16_t queue;    /* queue it arrived on / should leave by */
	uint32_t hash;
	/* Set by ports that know them (tap's virtio-net header); 0 = unknown,
	 * the consumer parses headers itself. */
	uint16_t csum_start;
	uint16_t csum_offset;
};

#endif
