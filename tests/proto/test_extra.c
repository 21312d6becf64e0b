/* netif_extra_info codec: round trips, validation of what a peer may send,
 * and that encoders leave no stale bytes in the descriptor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/extra.h"

/* Start from a dirty descriptor: encoders must overwrite all 8 bytes. */
static void dirty(struct netif_extra_info *x)
{
	memset(x, 0xee, sizeof(*x));
}

static void extra_gso_round_trip(void **state)
{
	static const struct { uint16_t mss; uint8_t type; } c[] = {
		{ 1, XEN_NETIF_GSO_TYPE_TCPV4 }, { 1448, XEN_NETIF_GSO_TYPE_TCPV4 },
		{ 1428, XEN_NETIF_GSO_TYPE_TCPV6 }, { 0xffff, XEN_NETIF_GSO_TYPE_TCPV6 },
	};
	struct netif_extra_info x;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint16_t mss;
		uint8_t type;

		dirty(&x);
		assert_int_equal(sn_extra_gso_encode(&x, c[i].mss, c[i].type), 0);
		assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_GSO);
		assert_int_equal(x.flags, 0);
		assert_int_equal(x.u.gso.pad, 0);
		assert_int_equal(x.u.gso.features, 0);
		assert_int_equal(sn_extra_gso_decode(&x, &mss, &type), 0);
		assert_int_equal(mss, c[i].mss);
		assert_int_equal(type, c[i].type);
	}
}

static void extra_gso_rejects_bad_values(void **state)
{
	struct netif_extra_info x = { .type = XEN_NETIF_EXTRA_TYPE_GSO };
	uint16_t mss;
	uint8_t type;

	(void)state;
	assert_int_equal(sn_extra_gso_encode(&x, 0, XEN_NETIF_GSO_TYPE_TCPV4),
			 -EINVAL);
	assert_int_equal(sn_extra_gso_encode(&x, 1448, XEN_NETIF_GSO_TYPE_NONE),
			 -EINVAL);
	x.u.gso.size = 0;
	x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	assert_int_equal(sn_extra_gso_decode(&x, &mss, &type), -EINVAL);
	x.u.gso.size = 1448;
	x.u.gso.type = 3;
	assert_int_equal(sn_extra_gso_decode(&x, &mss, &type), -EINVAL);
	x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
	x.type = XEN_NETIF_EXTRA_TYPE_HASH;	/* wrong descriptor */
	assert_int_equal(sn_extra_gso_decode(&x, &mss, &type), -EINVAL);
}

static void extra_mcast_round_trip(void **state)
{
	static const uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0xfb };
	struct netif_extra_info x;
	uint8_t out[6];
	bool add;

	(void)state;
	dirty(&x);
	sn_extra_mcast_encode(&x, true, mac);
	assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
	assert_int_equal(x.flags, 0);
	assert_int_equal(sn_extra_mcast_decode(&x, &add, out), 0);
	assert_true(add);
	assert_memory_equal(out, mac, 6);

	sn_extra_mcast_encode(&x, false, mac);
	assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
	assert_int_equal(sn_extra_mcast_decode(&x, &add, out), 0);
	assert_false(add);

	x.type = XEN_NETIF_EXTRA_TYPE_GSO;
	assert_int_equal(sn_extra_mcast_decode(&x, &add, out), -EINVAL);
}

static void extra_hash_round_trip_little_endian(void **state)
{
	struct netif_extra_info x;
	unsigned int bit;
	uint32_t v;

	(void)state;
	dirty(&x);
	assert_int_equal(sn_extra_hash_encode(&x,
		_XEN_NETIF_CTRL_HASH_TYPE_IPV6, 0x11223344), 0);
	assert_int_equal(x.type, XEN_NETIF_EXTRA_TYPE_HASH);
	assert_int_equal(x.flags, 0);
	assert_int_equal(x.u.hash.type, _XEN_NETIF_CTRL_HASH_TYPE_IPV6);
	assert_int_equal(x.u.hash.algorithm,
			 XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	/* wire order is little-endian */
	assert_int_equal(x.u.hash.value[0], 0x44);
	assert_int_equal(x.u.hash.value[3], 0x11);
	assert_int_equal(sn_extra_hash_decode(&x, &bit, &v), 0);
	assert_int_equal(bit, _XEN_NETIF_CTRL_HASH_TYPE_IPV6);
	assert_int_equal(v, 0x11223344);
	assert_false(sn_extra_hash_is_l4(bit));
	assert_true(sn_extra_hash_is_l4(_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP));
	assert_true(sn_extra_hash_is_l4(_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP));
}

/* The type is a bit *number* 0..3; a mask value or anything else is
 * ignored by netback, so decode refuses it. */
static void extra_hash_rejects_unknown_type(void **state)
{
	struct netif_extra_info x;
	unsigned int bit;
	uint32_t v;

	(void)state;
	assert_int_equal(sn_extra_hash_encode(&x, 4, 1), -EINVAL);
	assert_int_equal(sn_extra_hash_encode(&x,
		_XEN_NETIF_CTRL_HASH_TYPE_IPV4, 1), 0);
	x.u.hash.type = 4;
	assert_int_equal(sn_extra_hash_decode(&x, &bit, &v), -EINVAL);
	x.u.hash.type = 0xff;
	assert_int_equal(sn_extra_hash_decode(&x, &bit, &v), -EINVAL);
}

static void extra_type_validity(void **state)
{
	unsigned int t;

	(void)state;
	assert_false(sn_extra_type_valid(XEN_NETIF_EXTRA_TYPE_NONE));
	for (t = 1; t < XEN_NETIF_EXTRA_TYPE_MAX; t++) {
		assert_true(sn_extra_type_valid(t));
		assert_string_not_equal(sn_extra_type_name(t), "unknown");
	}
	assert_false(sn_extra_type_valid(XEN_NETIF_EXTRA_TYPE_MAX));
	assert_false(sn_extra_type_valid(255));
	assert_string_equal(sn_extra_type_name(200), "unknown");
}

static void extra_more_flag_and_slot_overlay(void **state)
{
	struct netif_extra_info x, y;
	struct netif_tx_request req;
	struct netif_rx_response rsp;

	(void)state;
	assert_int_equal(sn_extra_gso_encode(&x, 1448,
					     XEN_NETIF_GSO_TYPE_TCPV4), 0);
	assert_false(sn_extra_more(&x));
	sn_extra_set_more(&x, true);
	assert_true(sn_extra_more(&x));
	assert_int_equal(x.flags, XEN_NETIF_EXTRA_FLAG_MORE);

	memset(&req, 0, sizeof(req));
	memcpy(&req, &x, sizeof(x));
	sn_extra_from_txreq(&req, &y);
	assert_memory_equal(&x, &y, sizeof(x));
	memcpy(&rsp, &x, sizeof(x));
	sn_extra_from_rxrsp(&rsp, &y);
	assert_memory_equal(&x, &y, sizeof(x));

	sn_extra_set_more(&x, false);
	assert_false(sn_extra_more(&x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(extra_gso_round_trip),
		cmocka_unit_test(extra_gso_rejects_bad_values),
		cmocka_unit_test(extra_mcast_round_trip),
		cmocka_unit_test(extra_hash_round_trip_little_endian),
		cmocka_unit_test(extra_hash_rejects_unknown_type),
		cmocka_unit_test(extra_type_validity),
		cmocka_unit_test(extra_more_flag_and_slot_overlay),
	};

	return cmocka_run_group_tests_name("proto_extra", tests, NULL, NULL);
}
