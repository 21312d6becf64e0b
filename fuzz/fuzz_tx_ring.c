/* libFuzzer harness: the backend's TX ring walk over a hostile ring page.
 * Input = u32 attach index, u32 req_prod, then raw slot bytes from ring
 * slot 0.  walk_tx_ring (walk.c) is the backend loop with its invariants:
 * progress or a fatal verdict (no spin, XSA-39), never more slots than
 * published, accepted packets inside their pages, zero-padded responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(4096) uint8_t page[SN_PAGE_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netif_tx_sring *s = (struct netif_tx_sring *)page;
	const size_t ring_bytes = SN_PAGE_SIZE - offsetof(struct netif_tx_sring, ring);
	struct netif_tx_back_ring r;
	struct walk_tx res;
	const char *bad;
	RING_IDX start, prod;

	if (size < 8)
		return -1;
	memcpy(&start, data, 4);
	memcpy(&prod, data + 4, 4);
	data += 8;
	size -= 8;
	memset(page, 0, sizeof(page));
	memcpy(s->ring, data, size < ring_bytes ? size : ring_bytes);
	s->req_prod = s->rsp_prod = start;
	if (sn_tx_back_attach(&r, s))
		abort();
	s->req_prod = prod; /* the hostile part: any index at all */
	bad = walk_tx_ring(&r, &res);
	if (bad) {
		fprintf(stderr, "invariant failed: %s\n", bad);
		abort();
	}
	return 0;
}
