/* Slot math and named limits of the netif data path.  Every limit is derived
 * from the ring geometry or named after the Linux/spec rule it mirrors, so
 * datapath arrays can be fixed-size. */
#ifndef SN_PROTO_SLOTS_H
#define SN_PROTO_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"

/* Entries per one-page ring: 256 tx, 256 rx, 128 ctrl. */
#define SN_TX_RING_SIZE   __CONST_RING_SIZE(netif_tx, SN_PAGE_SIZE)
#define SN_RX_RING_SIZE   __CONST_RING_SIZE(netif_rx, SN_PAGE_SIZE)
#define SN_CTRL_RING_SIZE __CONST_RING_SIZE(xen_netif_ctrl, SN_PAGE_SIZE)

/* Smallest frame a backend accepts in the first tx slot (Linux ETH_HLEN). */
#define SN_ETH_HLEN 14u
/* Bytes netback grant-copies into the linear area (XEN_NETBACK_TX_COPY_LEN). */
#define SN_TX_COPY_LEN 128u
/* Continuation slots a backend must accept (spec XEN_NETIF_NR_SLOTS_MIN;
 * Linux XEN_NETBK_LEGACY_SLOTS_MAX).  19 and 20 are dropped... */
#define SN_TX_LEGACY_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN
/* ...and reading a 21st is fatal (Linux fatal_skb_slots default). */
#define SN_TX_FATAL_SLOTS 20u
/* Data slots a parsed tx packet can hold: first + every continuation read
 * before the fatal limit. */
#define SN_TX_MAX_DATA_SLOTS (1u + SN_TX_FATAL_SLOTS)
/* Largest tx packet (first request's u16 size). */
#define SN_TX_MAX_SIZE 0xFFFFu

/* netfront accepts NR_SLOTS_MIN data slots, one more when the first slot
 * is small enough to have been copied (RX_COPY_THRESHOLD). */
#define SN_RX_COPY_THRESHOLD 256
#define SN_RX_MAX_DATA_SLOTS (XEN_NETIF_NR_SLOTS_MIN + 1u)

/* A frontend never needs more grant slots than this for one skb-sized
 * packet (Linux MAX_XEN_SKB_FRAGS + 1); beyond it, linearize first. */
#define SN_FRONT_TX_MAX_SLOTS XEN_NETIF_NR_SLOTS_MIN

_Static_assert(SN_TX_RING_SIZE == 256, "tx ring geometry");
_Static_assert(SN_RX_RING_SIZE == 256, "rx ring geometry");
_Static_assert(SN_CTRL_RING_SIZE == 128, "ctrl ring geometry");
_Static_assert(SN_TX_LEGACY_SLOTS_MAX == 18, "legacy slot limit");

/* Pages (= grant slots) touched by len bytes starting at offset o; 0 for
 * an empty buffer.  64-bit so no u32 input can wrap. */
static inline unsigned int sn_slots_span(uint32_t len, uint32_t o)
{
	uint64_t first = o % SN_PAGE_SIZE;

	if (!len)
		return 0;
	return (unsigned int)((first + len + SN_PAGE_SIZE - 1) / SN_PAGE_SIZE);
}

/* True if [offset, offset + size) stays inside one granted page, the rule
 * every tx request and rx response must obey. */
static inline bool sn_slot_in_page(uint32_t offset, uint32_t size)
{
	return (uint64_t)offset + size <= SN_PAGE_SIZE;
}

/* Ring slots a backend needs to deliver len bytes to a frontend when the
 * first slot's data starts at first_off (the frontend's XDP headroom, < one
 * page) and every later one at 0, plus one slot per extra (Linux xenvif_rx
 * budget). */
static inline unsigned int sn_rx_slots_needed_at(uint32_t len,
						 uint32_t first_off, bool gso,
						 bool hash)
{
	unsigned int n = sn_slots_span(len, first_off);

	if (!n)
		n = 1; /* an empty frame still takes its first response */
	return n + (gso ? 1u : 0u) + (hash ? 1u : 0u);
}

/* The same with the data of every slot at offset 0. */
static inline unsigned int sn_rx_slots_needed(uint32_t len, bool gso,
					      bool hash)
{
	return sn_rx_slots_needed_at(len, 0, gso, hash);
}

#endif /* SN_PROTO_SLOTS_H */
