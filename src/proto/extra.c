/* netif_extra_info encode/decode.  Pure functions on private copies; the
 * ring helpers in ring.h move them in and out of shared slots. */
#include <errno.h>
#include <string.h>

#include "proto/extra.h"

const char *sn_extra_type_name(unsigned int type)
{
	switch (type) {
	case XEN_NETIF_EXTRA_TYPE_NONE:
		return "none";
	case XEN_NETIF_EXTRA_TYPE_GSO:
		return "gso";
	case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
		return "mcast-add";
	case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
		return "mcast-del";
	case XEN_NETIF_EXTRA_TYPE_HASH:
		return "hash";
	case XEN_NETIF_EXTRA_TYPE_XDP:
		return "xdp";
	default:
		return "unknown";
	}
}

void sn_extra_from_txreq(const struct netif_tx_request *req,
			 struct netif_extra_info *x)
{
	_Static_assert(sizeof(*x) <= sizeof(*req), "extra fits a tx slot");
	memcpy(x, req, sizeof(*x));
}

void sn_extra_from_rxrsp(const struct netif_rx_response *rsp,
			 struct netif_extra_info *x)
{
	_Static_assert(sizeof(*x) <= sizeof(*rsp), "extra fits an rx slot");
	memcpy(x, rsp, sizeof(*x));
}

void sn_extra_set_more(struct netif_extra_info *x, bool more)
{
	if (more)
		x->flags |= XEN_NETIF_EXTRA_FLAG_MORE;
	else
		x->flags &= (uint8_t)~XEN_NETIF_EXTRA_FLAG_MORE;
}

bool sn_extra_more(const struct netif_extra_info *x)
{
	return x->flags & XEN_NETIF_EXTRA_FLAG_MORE;
}

static bool gso_type_valid(unsigned int t)
{
	return t == XEN_NETIF_GSO_TYPE_TCPV4 || t == XEN_NETIF_GSO_TYPE_TCPV6;
}

int sn_extra_gso_encode(struct netif_extra_info *x, uint16_t mss,
			uint8_t gso_type)
{
	if (!mss || !gso_type_valid(gso_type))
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->type = XEN_NETIF_EXTRA_TYPE_GSO;
	x->u.gso.size = mss;
	x->u.gso.type = gso_type;
	/* No GSO feature bits are defined anywhere: features stay 0. */
	return 0;
}

int sn_extra_gso_decode(const struct netif_extra_info *x, uint16_t *mss,
			uint8_t *gso_type)
{
	if (x->type != XEN_NETIF_EXTRA_TYPE_GSO || !x->u.gso.size ||
	    !gso_type_valid(x->u.gso.type))
		return -EINVAL;
	*mss = x->u.gso.size;
	*gso_type = x->u.gso.type;
	return 0;
}

void sn_extra_mcast_encode(struct netif_extra_info *x, bool add,
			   const uint8_t addr[6])
{
	memset(x, 0, sizeof(*x));
	x->type = add ? XEN_NETIF_EXTRA_TYPE_MCAST_ADD :
			XEN_NETIF_EXTRA_TYPE_MCAST_DEL;
	memcpy(x->u.mcast.addr, addr, sizeof(x->u.mcast.addr));
}

int sn_extra_mcast_decode(const struct netif_extra_info *x, bool *add,
			  uint8_t addr[6])
{
	if (x->type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD &&
	    x->type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
		return -EINVAL;
	*add = x->type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
	memcpy(addr, x->u.mcast.addr, sizeof(x->u.mcast.addr));
	return 0;
}

static bool hash_type_valid(unsigned int bit)
{
	return bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV4 ||
	       bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP ||
	       bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV6 ||
	       bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
}

int sn_extra_hash_encode(struct netif_extra_info *x, unsigned int type_bit,
			 uint32_t value)
{
	if (!hash_type_valid(type_bit))
		return -EINVAL;
	memset(x, 0, sizeof(*x));
	x->type = XEN_NETIF_EXTRA_TYPE_HASH;
	x->u.hash.type = (uint8_t)type_bit;
	x->u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	/* Little-endian on the wire whatever the host order. */
	x->u.hash.value[0] = (uint8_t)value;
	x->u.hash.value[1] = (uint8_t)(value >> 8);
	x->u.hash.value[2] = (uint8_t)(value >> 16);
	x->u.hash.value[3] = (uint8_t)(value >> 24);
	return 0;
}

int sn_extra_hash_decode(const struct netif_extra_info *x,
			 unsigned int *type_bit, uint32_t *value)
{
	if (x->type != XEN_NETIF_EXTRA_TYPE_HASH ||
	    !hash_type_valid(x->u.hash.type))
		return -EINVAL;
	*type_bit = x->u.hash.type;
	*value = (uint32_t)x->u.hash.value[0] |
		 (uint32_t)x->u.hash.value[1] << 8 |
		 (uint32_t)x->u.hash.value[2] << 16 |
		 (uint32_t)x->u.hash.value[3] << 24;
	return 0;
}

bool sn_extra_hash_is_l4(unsigned int type_bit)
{
	return type_bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP ||
	       type_bit == _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
}
