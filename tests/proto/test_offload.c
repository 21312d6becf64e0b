/* The netif <-> packet offload mapping (src/proto/offload.c): swapped TX/RX
 * bit positions, PARTIAL-or-VALID, extras into packet fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/extra.h"
#include "proto/offload.h"

static void offload_csum_flags_both_directions(void **state)
{
	static const struct {
		uint16_t pkt, tx, rx;
	} rows[] = {
		{ 0, 0, 0 },
		{ SN_PKT_CSUM_VALID, NETTXF_data_validated, NETRXF_data_validated },
		{ SN_PKT_CSUM_PARTIAL, NETTXF_csum_blank | NETTXF_data_validated,
		  NETRXF_csum_blank | NETRXF_data_validated },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(sn_offload_to_txflags(rows[i].pkt), rows[i].tx);
		assert_int_equal(sn_offload_to_rxflags(rows[i].pkt), rows[i].rx);
		assert_int_equal(sn_offload_from_txflags(rows[i].tx), rows[i].pkt);
		assert_int_equal(sn_offload_from_rxflags(rows[i].rx), rows[i].pkt);
	}
	/* The bits really are swapped between the two rings. */
	assert_int_equal(sn_offload_from_txflags(NETTXF_csum_blank), SN_PKT_CSUM_PARTIAL);
	assert_int_equal(sn_offload_from_rxflags(NETRXF_csum_blank), SN_PKT_CSUM_PARTIAL);
	assert_int_equal(sn_offload_from_txflags(1u << 0), SN_PKT_CSUM_PARTIAL);
	assert_int_equal(sn_offload_from_rxflags(1u << 0), SN_PKT_CSUM_VALID);
	/* Other flags (more_data, extra_info) carry no offload. */
	assert_int_equal(sn_offload_from_txflags(NETTXF_more_data | NETTXF_extra_info), 0);
	assert_int_equal(sn_offload_from_rxflags(NETRXF_more_data | NETRXF_extra_info), 0);
	/* GSO and HASH bits never leak into ring flags. */
	assert_int_equal(sn_offload_to_txflags(SN_PKT_GSO | SN_PKT_HASH), 0);
	assert_int_equal(sn_offload_to_rxflags(SN_PKT_GSO | SN_PKT_HASH), 0);
}

static void offload_extras_into_packet(void **state)
{
	const uint32_t both = SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_GSO) |
			      SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_HASH);
	struct netif_extra_info x[XEN_NETIF_EXTRA_TYPE_MAX];
	struct sn_pkt p;

	(void)state;
	memset(x, 0, sizeof(x));
	assert_int_equal(sn_extra_gso_encode(&x[XEN_NETIF_EXTRA_TYPE_GSO], 1448,
					     XEN_NETIF_GSO_TYPE_TCPV6), 0);
	assert_int_equal(sn_extra_hash_encode(&x[XEN_NETIF_EXTRA_TYPE_HASH],
					      _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0x12345678), 0);
	memset(&p, 0xee, sizeof(p));
	sn_offload_to_pkt(&p, SN_PKT_CSUM_PARTIAL, x, both);
	assert_int_equal(p.flags, SN_PKT_CSUM_PARTIAL | SN_PKT_GSO | SN_PKT_HASH);
	assert_int_equal(p.gso_size, 1448);
	assert_int_equal(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV6);
	assert_int_equal(p.hash_type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	assert_int_equal(p.hash, 0x12345678);
	assert_int_equal(p.csum_start, 0);
	assert_int_equal(p.csum_offset, 0);

	/* Extras not marked present are not read. */
	sn_offload_to_pkt(&p, 0, x, 0);
	assert_int_equal(p.flags, 0);
	sn_offload_to_pkt(&p, SN_PKT_CSUM_VALID, x, SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_HASH));
	assert_int_equal(p.flags, SN_PKT_CSUM_VALID | SN_PKT_HASH);
	/* An extra that does not decode is dropped, the packet is not. */
	x[XEN_NETIF_EXTRA_TYPE_GSO].u.gso.size = 0;
	sn_offload_to_pkt(&p, SN_PKT_CSUM_VALID, x, both);
	assert_int_equal(p.flags, SN_PKT_CSUM_VALID | SN_PKT_HASH);
}

static void offload_gso_needs_the_peer_feature(void **state)
{
	(void)state;
	assert_true(sn_offload_gso_allowed(XEN_NETIF_GSO_TYPE_TCPV4, true, false));
	assert_false(sn_offload_gso_allowed(XEN_NETIF_GSO_TYPE_TCPV4, false, true));
	assert_true(sn_offload_gso_allowed(XEN_NETIF_GSO_TYPE_TCPV6, false, true));
	assert_false(sn_offload_gso_allowed(XEN_NETIF_GSO_TYPE_TCPV6, true, false));
	assert_false(sn_offload_gso_allowed(XEN_NETIF_GSO_TYPE_NONE, true, true));
	assert_false(sn_offload_gso_allowed(3, true, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offload_csum_flags_both_directions),
		cmocka_unit_test(offload_extras_into_packet),
		cmocka_unit_test(offload_gso_needs_the_peer_feature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
