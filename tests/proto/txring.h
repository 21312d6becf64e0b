/* Test helper: a real netif_tx shared ring in a page-aligned buffer, filled
 * through the frontend helpers exactly as a frontend would, read back
 * through a back ring as netback would. */
#ifndef SN_TESTS_PROTO_TXRING_H
#define SN_TESTS_PROTO_TXRING_H

#include <stdlib.h>
#include <string.h>

#include "proto/extra.h"
#include "proto/ring.h"

struct txb {
	struct netif_tx_sring *s;
	struct netif_tx_front_ring front;
	struct netif_tx_back_ring back;
	uint16_t next_id;
};

/* Both ends start at index start (to exercise wrap-around at 2^32). */
static inline void txb_init(struct txb *b, RING_IDX start)
{
	b->s = aligned_alloc(SN_PAGE_SIZE, SN_PAGE_SIZE);
	sn_tx_front_init(&b->front, b->s);
	b->s->req_prod = b->s->rsp_prod = start;
	FRONT_RING_ATTACH(&b->front, b->s, start, SN_PAGE_SIZE);
	(void)sn_tx_back_attach(&b->back, b->s);
	b->next_id = 0;
}

static inline void txb_fini(struct txb *b)
{
	free(b->s);
	b->s = NULL;
}

static inline void txb_req(struct txb *b, uint16_t offset, uint16_t size,
			   uint16_t flags)
{
	struct netif_tx_request req = {
		.gref = 1000u + b->next_id, .offset = offset, .flags = flags,
		.id = b->next_id, .size = size,
	};

	b->next_id++;
	sn_tx_front_put_req(&b->front, &req);
}

static inline void txb_extra(struct txb *b, const struct netif_extra_info *x)
{
	sn_tx_front_write_slot(&b->front, b->front.req_prod_pvt++, x,
			       sizeof(*x));
}

static inline void txb_raw_extra(struct txb *b, uint8_t type, bool more)
{
	struct netif_extra_info x = { .type = type };

	sn_extra_set_more(&x, more);
	txb_extra(b, &x);
}

static inline void txb_push(struct txb *b)
{
	(void)sn_tx_front_push(&b->front);
}

#endif /* SN_TESTS_PROTO_TXRING_H */
