/* Control-ring message codec (see ctrl.h). */
#include <string.h>

#include "proto/ctrl.h"

_Static_assert(sizeof(struct xen_netif_gref) == 8, "gref entry ABI");
_Static_assert(SN_CTRL_GREFS_PER_PAGE == 512, "gref list page");

void sn_ctrl_req_make(struct xen_netif_ctrl_request *req, uint16_t id,
		      uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2)
{
	memset(req, 0, sizeof(*req));
	req->id = id;
	req->type = type;
	req->data[0] = d0;
	req->data[1] = d1;
	req->data[2] = d2;
}

void sn_ctrl_rsp_make(struct xen_netif_ctrl_response *rsp,
		      const struct xen_netif_ctrl_request *req,
		      uint32_t status, uint32_t data)
{
	memset(rsp, 0, sizeof(*rsp));
	rsp->id = req->id;
	rsp->type = req->type;
	rsp->status = status;
	rsp->data = data;
}

bool sn_ctrl_rsp_matches(const struct xen_netif_ctrl_response *rsp,
			 const struct xen_netif_ctrl_request *req)
{
	return rsp->id == req->id && rsp->type == req->type;
}

static const char *const type_name[] = {
	[XEN_NETIF_CTRL_TYPE_INVALID] = "invalid",
	[XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS] = "get-hash-flags",
	[XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS] = "set-hash-flags",
	[XEN_NETIF_CTRL_TYPE_SET_HASH_KEY] = "set-hash-key",
	[XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE] = "get-hash-mapping-size",
	[XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE] = "set-hash-mapping-size",
	[XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING] = "set-hash-mapping",
	[XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM] = "set-hash-algorithm",
	[XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE] = "get-gref-mapping-size",
	[XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING] = "add-gref-mapping",
	[XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING] = "del-gref-mapping",
};

_Static_assert(sizeof(type_name) / sizeof(type_name[0]) ==
	       SN_CTRL_TYPE_LAST + 1, "every known type has a name");

bool sn_ctrl_type_known(uint16_t type)
{
	return type != XEN_NETIF_CTRL_TYPE_INVALID &&
	       type <= SN_CTRL_TYPE_LAST;
}

const char *sn_ctrl_type_name(uint16_t type)
{
	if (type > SN_CTRL_TYPE_LAST)
		return "unknown";
	return type_name[type];
}

const char *sn_ctrl_status_name(uint32_t status)
{
	switch (status) {
	case XEN_NETIF_CTRL_STATUS_SUCCESS:
		return "success";
	case XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED:
		return "not-supported";
	case XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER:
		return "invalid-parameter";
	case XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW:
		return "buffer-overflow";
	default:
		return "unknown";
	}
}
