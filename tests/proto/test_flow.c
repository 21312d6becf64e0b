/* The flow hash behind the frontend's queue pick (src/proto/flow.c): one
 * flow, one hash, whatever the tags; ports only where every packet of the
 * flow carries them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/flow.h"

/* Ethernet + ntags 802.1Q tags + IPv4 (frag field) or IPv6 + UDP ports. */
static size_t frame(uint8_t *b, unsigned int ntags, int v6, uint16_t frag,
		    uint16_t sport, uint8_t mac)
{
	size_t off = 12, l4, i;

	memset(b, 0, 128);
	b[5] = mac;
	for (i = 0; i < ntags; i++, off += 4) {
		b[off] = 0x81;
		b[off + 3] = (uint8_t)(7 + i);
	}
	if (v6) {
		b[off] = 0x86;
		b[off + 1] = 0xdd;
		b[off + 2] = 0x60;
		b[off + 2 + 5] = 8;
		b[off + 2 + 6] = 17;
		for (i = 0; i < 32; i++)
			b[off + 2 + 8 + i] = (uint8_t)(i + 1);
		l4 = off + 2 + 40;
	} else {
		b[off] = 0x08;
		b[off + 2] = 0x45;
		b[off + 2 + 3] = 28;
		b[off + 2 + 6] = (uint8_t)(frag >> 8);
		b[off + 2 + 7] = (uint8_t)frag;
		b[off + 2 + 9] = 17;
		memcpy(b + off + 2 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		l4 = off + 2 + 20;
	}
	b[l4] = (uint8_t)(sport >> 8);
	b[l4 + 1] = (uint8_t)sport;
	b[l4 + 3] = 53;
	return l4 + 8;
}

static void flow_tags_do_not_move_a_flow(void **state)
{
	uint8_t a[128], b[128];
	size_t la, lb;
	int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		la = frame(a, 0, v6, 0, 1000, 1);
		lb = frame(b, 2, v6, 0, 1000, 2);
		assert_int_equal(sn_flow_hash(a, la), sn_flow_hash(b, lb));
		lb = frame(b, 1, v6, 0, 1001, 1);
		assert_int_not_equal(sn_flow_hash(a, la), sn_flow_hash(b, lb));
	}
}

/* Fragments of one datagram share a hash: no ports in any of them, as
 * only the first carries them. */
static void flow_fragments_hash_without_ports(void **state)
{
	uint8_t a[128], b[128];
	size_t la, lb;

	(void)state;
	la = frame(a, 0, 0, 0x2000, 1000, 1);	/* first: MF */
	lb = frame(b, 0, 0, 0x00b9, 2000, 1);	/* later: "ports" are payload */
	assert_int_equal(sn_flow_hash(a, la), sn_flow_hash(b, lb));
	lb = frame(b, 0, 0, 0, 1000, 1);
	assert_int_not_equal(sn_flow_hash(a, la), sn_flow_hash(b, lb));
}

static void flow_non_ip_uses_macs(void **state)
{
	uint8_t a[64] = { 0 }, b[64] = { 0 };

	(void)state;
	a[12] = b[12] = 0x08;
	a[13] = b[13] = 0x06;
	assert_int_equal(sn_flow_hash(a, 60), sn_flow_hash(b, 60));
	b[5] = 9;
	assert_int_not_equal(sn_flow_hash(a, 60), sn_flow_hash(b, 60));
	assert_int_equal(sn_flow_hash(a, 13), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flow_tags_do_not_move_a_flow),
		cmocka_unit_test(flow_fragments_hash_without_ports),
		cmocka_unit_test(flow_non_ip_uses_macs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
