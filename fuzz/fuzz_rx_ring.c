/* libFuzzer harness: the frontend's view of what a hostile backend writes.
 * Input = split byte, then an RX part [u32 start, u32 posted, u32 rsp_prod,
 * rx slots...] and a TX part [u32 start, u32 posted, u32 rsp_prod, 32-byte
 * in-flight id map, tx slots...].  walk.c holds the netfront loops and
 * their invariants (XSA-405: no response beyond what was posted, an id
 * completes once and only while in flight). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 12u

static _Alignas(4096) uint8_t rx_page[SN_PAGE_SIZE];
static _Alignas(4096) uint8_t tx_page[SN_PAGE_SIZE];

static void fail(const char *bad)
{
	fprintf(stderr, "invariant failed: %s\n", bad);
	abort();
}

static void hdr(const uint8_t *data, RING_IDX *start, RING_IDX *posted,
		RING_IDX *prod)
{
	memcpy(start, data, 4);
	memcpy(posted, data + 4, 4);
	memcpy(prod, data + 8, 4);
	*posted %= SN_RX_RING_SIZE + 1; /* a frontend posts at most a ring */
}

static void rx_part(const uint8_t *data, size_t size)
{
	struct netif_rx_sring *s = (struct netif_rx_sring *)rx_page;
	const size_t ring_bytes = SN_PAGE_SIZE - offsetof(struct netif_rx_sring, ring);
	struct netif_rx_front_ring r;
	struct walk_rx res;
	RING_IDX start, posted, prod;
	const char *bad;

	hdr(data, &start, &posted, &prod);
	sn_rx_front_init(&r, s);
	memcpy(s->ring, data + HDR, size - HDR < ring_bytes ? size - HDR : ring_bytes);
	r.rsp_cons = start;
	r.req_prod_pvt = start + posted;
	s->req_prod = start + posted;
	s->rsp_prod = prod;
	bad = walk_rx_ring(&r, &res);
	if (bad)
		fail(bad);
}

static void tx_part(const uint8_t *data, size_t size)
{
	struct netif_tx_sring *s = (struct netif_tx_sring *)tx_page;
	const size_t ring_bytes = SN_PAGE_SIZE - offsetof(struct netif_tx_sring, ring);
	struct netif_tx_front_ring r;
	struct sn_idmap pending;
	struct walk_txrsp res;
	RING_IDX start, posted, prod;
	const char *bad;

	if (size < HDR + sizeof(pending))
		return;
	hdr(data, &start, &posted, &prod);
	sn_tx_front_init(&r, s);
	memcpy(&pending, data + HDR, sizeof(pending));
	data += HDR + sizeof(pending);
	size -= HDR + sizeof(pending);
	memcpy(s->ring, data, size < ring_bytes ? size : ring_bytes);
	r.rsp_cons = start;
	r.req_prod_pvt = start + posted;
	s->req_prod = start + posted;
	s->rsp_prod = prod;
	bad = walk_txrsp_ring(&r, &pending, &res);
	if (bad)
		fail(bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half;

	if (size < 2 * HDR + 1)
		return -1;
	/* The first byte places the split, so each part can grow alone. */
	half = 1 + HDR + (size_t)data[0] * 16;
	if (half > size - HDR)
		half = size - HDR;
	rx_part(data + 1, half - 1);
	tx_part(data + half, size - half);
	return 0;
}
