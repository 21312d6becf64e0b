/* Control-ring codec: request/response construction, matching, names, and
 * a round trip through a real ctrl ring with zero-padded slots. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/ctrl.h"
#include "proto/slots.h"

static void ctrl_response_echoes_request(void **state)
{
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;

	(void)state;
	memset(&rsp, 0xee, sizeof(rsp));
	sn_ctrl_req_make(&req, 42, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1,
			 0x1234, 512);
	sn_ctrl_rsp_make(&rsp, &req, XEN_NETIF_CTRL_STATUS_SUCCESS, 7);
	assert_int_equal(rsp.id, 42);
	assert_int_equal(rsp.type, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);
	assert_int_equal(rsp.status, 0);
	assert_int_equal(rsp.data, 7);
	assert_true(sn_ctrl_rsp_matches(&rsp, &req));
	rsp.id = 43;
	assert_false(sn_ctrl_rsp_matches(&rsp, &req));
	rsp.id = 42;
	rsp.type = XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING;
	assert_false(sn_ctrl_rsp_matches(&rsp, &req));
}

static void ctrl_names_cover_every_code(void **state)
{
	uint16_t t;

	(void)state;
	for (t = 1; t <= SN_CTRL_TYPE_LAST; t++) {
		assert_true(sn_ctrl_type_known(t));
		assert_string_not_equal(sn_ctrl_type_name(t), "unknown");
	}
	assert_false(sn_ctrl_type_known(XEN_NETIF_CTRL_TYPE_INVALID));
	assert_false(sn_ctrl_type_known(11));
	assert_string_equal(sn_ctrl_type_name(11), "unknown");
	assert_string_equal(sn_ctrl_type_name(0xffff), "unknown");
	assert_string_equal(sn_ctrl_type_name(
		XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE),
		"get-gref-mapping-size");
	assert_string_equal(sn_ctrl_status_name(
		XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER), "invalid-parameter");
	assert_string_equal(sn_ctrl_status_name(4), "unknown");
	assert_true(sn_ctrl_status_valid(XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW));
	assert_false(sn_ctrl_status_valid(4));
	assert_int_equal(SN_CTRL_GREFS_PER_PAGE, 512);
}

/* Frontend sends through its ring, backend copies once and answers into
 * the same slot; the 4 bytes after the 12-byte response are zero. */
static void ctrl_round_trip_through_ring(void **state)
{
	struct xen_netif_ctrl_sring *s = aligned_alloc(SN_PAGE_SIZE,
						       SN_PAGE_SIZE);
	struct xen_netif_ctrl_front_ring f;
	struct xen_netif_ctrl_back_ring b;
	struct xen_netif_ctrl_request req, got;
	struct xen_netif_ctrl_response rsp, back;
	const uint8_t *raw;
	RING_IDX prod;
	int i;

	(void)state;
	sn_ctrl_front_init(&f, s);
	assert_int_equal(sn_ctrl_back_attach(&b, s), 0);
	sn_ctrl_req_make(&req, 1, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY,
			 0xdeadbeef, 0xdeadbeef, 0xdeadbeef);
	sn_ctrl_front_put_req(&f, &req);
	assert_true(sn_ctrl_front_push(&f));

	assert_int_equal(sn_ctrl_back_final_check(&b, &prod), 1);
	sn_ctrl_back_copy_req(&b, b.req_cons++, &got);
	assert_memory_equal(&got, &req, sizeof(req));
	sn_ctrl_rsp_make(&rsp, &got, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER, 0);
	sn_ctrl_back_put_rsp(&b, &rsp);
	assert_true(sn_ctrl_back_push(&b));

	assert_int_equal(sn_ctrl_front_final_check(&f, &prod), 1);
	sn_ctrl_front_copy_rsp(&f, f.rsp_cons++, &back);
	assert_true(sn_ctrl_rsp_matches(&back, &req));
	assert_int_equal(back.status, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	raw = (const uint8_t *)s->ring;
	for (i = 12; i < 16; i++)
		assert_int_equal(raw[i], 0);	/* was 0xdeadbeef */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ctrl_response_echoes_request),
		cmocka_unit_test(ctrl_names_cover_every_code),
		cmocka_unit_test(ctrl_round_trip_through_ring),
	};

	return cmocka_run_group_tests_name("proto_ctrl", tests, NULL, NULL);
}
