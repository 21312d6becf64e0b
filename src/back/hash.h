/* The frontend's receive-side hash configuration (control types 1-7):
 * algorithm, enabled hash types, Toeplitz key and queue mapping table, and
 * the RX queue choice it implies. */
#ifndef SN_BACK_HASH_H
#define SN_BACK_HASH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "back/ring_grefs.h"
#include "proto/toeplitz.h"
#include "stagenet/plat.h"

/* What GET_HASH_MAPPING_SIZE reports (Linux XEN_NETBK_MAX_HASH_MAPPING_SIZE). */
#define SN_BACK_HASH_MAPPING_MAX 128u
/* SET_HASH_MAPPING reads at most one page of u32 entries; more is
 * BUFFER_OVERFLOW. */
#define SN_BACK_HASH_MAPPING_PAGE (SN_PAGE_SIZE / sizeof(uint32_t))
#define SN_BACK_HASH_TYPES_ALL                                               \
	(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |  \
	 XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

struct sn_back_hash {
	/* alg == TOEPLITZ, readable without the lock: RX skips the lock and
	 * the hash entirely while the frontend configured nothing. */
	_Atomic bool active;
	/* Written by the control path, read per RX packet by the queue
	 * threads: the lock protects every field below. */
	pthread_mutex_t lock;
	uint32_t alg;   /* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
	uint32_t flags; /* enabled XEN_NETIF_CTRL_HASH_TYPE_* mask */
	uint8_t key[SN_TOEPLITZ_KEY_MAX];
	uint32_t keylen;
	uint32_t size; /* mapping entries in use; 0 = hash % queues */
	uint32_t mapping[SN_BACK_HASH_MAPPING_MAX];
};

int sn_back_hash_init(struct sn_back_hash *h);
void sn_back_hash_fini(struct sn_back_hash *h);

/* Handle one hash control request (types 1-7), reading the key or mapping
 * page from the frontend fe_domid by grant copy.  nqueues bounds the
 * mapping entries.  Returns the XEN_NETIF_CTRL_STATUS_* to answer and sets
 * *data.  Errors change nothing:
 *  - GET_HASH_FLAGS: NOT_SUPPORTED while the algorithm is NONE, else the
 *    four supported types.
 *  - SET_HASH_FLAGS: INVALID_PARAMETER for unknown bits or algorithm NONE.
 *  - SET_HASH_KEY: longer than 40 bytes -> BUFFER_OVERFLOW (the spec's
 *    code; Linux answers INVALID_PARAMETER); an unreadable page ->
 *    INVALID_PARAMETER; length 0 clears the key without reading.
 *  - GET_HASH_MAPPING_SIZE: SN_BACK_HASH_MAPPING_MAX.
 *  - SET_HASH_MAPPING_SIZE: above the max -> INVALID_PARAMETER; otherwise
 *    the table is zero-filled.
 *  - SET_HASH_MAPPING: more entries than one page holds -> BUFFER_OVERFLOW;
 *    offset + count wrapping or beyond the size, an unreadable page or an
 *    entry >= nqueues -> INVALID_PARAMETER.  Entries are copied into a
 *    private shadow, validated, then installed under the lock.
 *  - SET_HASH_ALGORITHM: NONE or TOEPLITZ, else INVALID_PARAMETER.
 * A key or mapping page whose gref is one of rings (the vif's own ring
 * pages; NULL = none) is never read: INVALID_PARAMETER. */
uint32_t sn_back_hash_ctrl(struct sn_back_hash *h, struct sn_plat *plat,
			   uint16_t fe_domid, unsigned int nqueues,
			   const struct sn_back_ring_grefs *rings,
			   const struct xen_netif_ctrl_request *req,
			   uint32_t *data);

/* RX queue for a frame (private memory) under the frontend's
 * configuration.  Returns -ENOENT when the frontend set no algorithm (the
 * backend steers as it likes), else the queue: mapping[hash % size] when a
 * mapping is set, hash % nqueues otherwise (a frame with no enabled hash
 * type hashes to 0, as in Linux).  *hash_type is the hash type bit number
 * to put in a HASH extra, or -1 when no extra should be attached. */
int sn_back_hash_queue(struct sn_back_hash *h, const uint8_t *frame,
		       size_t len, unsigned int nqueues, uint32_t *hash,
		       int *hash_type);

#endif /* SN_BACK_HASH_H */
