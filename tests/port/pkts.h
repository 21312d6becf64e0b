/* Test helper: a burst of caller-owned packet buffers, as netif queues
 * hand them to ports. */
#ifndef STAGENET_TEST_PORT_PKTS_H
#define STAGENET_TEST_PORT_PKTS_H

#include <stdlib.h>
#include <string.h>

#include "stagenet/pkt.h"

struct test_burst {
	unsigned int n;
	struct sn_pkt pkt[64];
	struct sn_pkt *ptr[64];
	uint8_t *buf[64];
};

static inline int test_burst_init(struct test_burst *b, unsigned int n)
{
	memset(b, 0, sizeof(*b));
	if (n > 64)
		return -1;
	b->n = n;
	for (unsigned int i = 0; i < n; i++) {
		b->buf[i] = malloc(SN_PKT_BUF_SIZE);
		if (!b->buf[i])
			return -1;
		b->pkt[i].data = b->buf[i];
		b->pkt[i].cap = SN_PKT_BUF_SIZE;
		b->ptr[i] = &b->pkt[i];
	}
	return 0;
}

static inline void test_burst_free(struct test_burst *b)
{
	for (unsigned int i = 0; i < b->n; i++)
		free(b->buf[i]);
}

#endif
