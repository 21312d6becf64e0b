/* Control-ring message codec: building and matching xen_netif_ctrl
 * requests/responses, and names of types and statuses for logs.  The
 * handlers (hash config, gref mapping) live in back/ and front/. */
#ifndef SN_PROTO_CTRL_H
#define SN_PROTO_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ring.h"

/* One xen_netif_gref list fits in a page: 512 entries (project bound for
 * ADD/DEL_GREF_MAPPING counts, README "Staging grants"). */
#define SN_CTRL_GREFS_PER_PAGE (SN_PAGE_SIZE / sizeof(struct xen_netif_gref))

/* Highest type value this codec knows (GREF mapping, xen.git only). */
#define SN_CTRL_TYPE_LAST XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING

void sn_ctrl_req_make(struct xen_netif_ctrl_request *req, uint16_t id,
		      uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2);

/* A response always echoes the request's id and type; data is 0 unless
 * the type defines it. */
void sn_ctrl_rsp_make(struct xen_netif_ctrl_response *rsp,
		      const struct xen_netif_ctrl_request *req,
		      uint32_t status, uint32_t data);

/* Frontend: does a privately copied response answer this request? */
bool sn_ctrl_rsp_matches(const struct xen_netif_ctrl_response *rsp,
			 const struct xen_netif_ctrl_request *req);

bool sn_ctrl_type_known(uint16_t type);
const char *sn_ctrl_type_name(uint16_t type);
const char *sn_ctrl_status_name(uint32_t status);

/* A status value other than the four defined ones, from a backend. */
static inline bool sn_ctrl_status_valid(uint32_t status)
{
	return status <= XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
}

#endif /* SN_PROTO_CTRL_H */
