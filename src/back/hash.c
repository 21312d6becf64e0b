/* Hash control messages and RX queue selection (see hash.h).  Key and
 * mapping pages are read with one grant copy each into private memory,
 * validated there, and only then installed. */
#include <errno.h>
#include <string.h>

#include "back/hash.h"

int sn_back_hash_init(struct sn_back_hash *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = pthread_mutex_init(&h->lock, NULL);
	return -rc;
}

void sn_back_hash_fini(struct sn_back_hash *h)
{
	pthread_mutex_destroy(&h->lock);
}

/* Grant-copy len bytes at offset 0 of the frontend's page gref; never
 * from one of the vif's ring pages (ring_grefs.h). */
static int read_page(struct sn_plat *plat, uint16_t fe_domid,
		     const struct sn_back_ring_grefs *rings, uint32_t gref,
		     void *dst, uint16_t len)
{
	sn_copy_seg seg;
	int rc;

	if (sn_back_ring_gref(rings, gref))
		return -EPERM;
	memset(&seg, 0, sizeof(seg));
	seg.source.foreign.ref = gref;
	seg.source.foreign.domid = fe_domid;
	seg.source.foreign.offset = 0;
	seg.dest.virt = dst;
	seg.len = len;
	seg.flags = GNTCOPY_source_gref;
	rc = sn_gnt_copy(plat, 1, &seg);
	if (rc)
		return rc;
	return seg.status == GNTST_okay ? 0 : -EIO;
}

static uint32_t set_key(struct sn_back_hash *h, struct sn_plat *plat,
			uint16_t fe_domid, const struct sn_back_ring_grefs *rings,
			uint32_t gref, uint32_t len)
{
	uint8_t key[SN_TOEPLITZ_KEY_MAX];

	if (len > SN_TOEPLITZ_KEY_MAX)
		return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	/* Missing octets are zero; length 0 clears the key. */
	memset(key, 0, sizeof(key));
	if (len && read_page(plat, fe_domid, rings, gref, key, (uint16_t)len))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&h->lock);
	memcpy(h->key, key, sizeof(key));
	h->keylen = len;
	pthread_mutex_unlock(&h->lock);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_mapping(struct sn_back_hash *h, struct sn_plat *plat,
			    uint16_t fe_domid, unsigned int nqueues,
			    const struct sn_back_ring_grefs *rings,
			    uint32_t gref, uint32_t len, uint32_t off)
{
	uint32_t shadow[SN_BACK_HASH_MAPPING_MAX];
	uint32_t size;

	if (len > SN_BACK_HASH_MAPPING_PAGE)
		return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	pthread_mutex_lock(&h->lock);
	size = h->size;
	pthread_mutex_unlock(&h->lock);
	/* off + len must neither wrap nor leave the table (XSA-270). */
	if (off + len < off || off + len > size)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	if (!len)
		return XEN_NETIF_CTRL_STATUS_SUCCESS;
	/* len <= size <= 128 here, so len * 4 fits the page and the u16. */
	if (read_page(plat, fe_domid, rings, gref, shadow,
		      (uint16_t)(len * sizeof(uint32_t))))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (uint32_t i = 0; i < len; i++)
		if (shadow[i] >= nqueues)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&h->lock);
	/* The size may have changed while we copied (only the control path
	 * writes it, but stay correct if it ever is not the only one). */
	if (off > h->size || len > h->size - off ||
	    h->size > SN_BACK_HASH_MAPPING_MAX) {
		pthread_mutex_unlock(&h->lock);
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
	for (uint32_t i = 0; i < len; i++)
		h->mapping[off + i] = shadow[i];
	pthread_mutex_unlock(&h->lock);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

uint32_t sn_back_hash_ctrl(struct sn_back_hash *h, struct sn_plat *plat,
			   uint16_t fe_domid, unsigned int nqueues,
			   const struct sn_back_ring_grefs *rings,
			   const struct xen_netif_ctrl_request *req,
			   uint32_t *data)
{
	uint32_t st = XEN_NETIF_CTRL_STATUS_SUCCESS;

	*data = 0;
	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		if (req->data[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
		    req->data[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		pthread_mutex_lock(&h->lock);
		h->alg = req->data[0];
		atomic_store(&h->active,
			     h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
		pthread_mutex_unlock(&h->lock);
		return st;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
		pthread_mutex_lock(&h->lock);
		if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
			st = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		else
			*data = SN_BACK_HASH_TYPES_ALL;
		pthread_mutex_unlock(&h->lock);
		return st;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		if (req->data[0] & ~SN_BACK_HASH_TYPES_ALL)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		pthread_mutex_lock(&h->lock);
		if (h->alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
			st = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		else
			h->flags = req->data[0];
		pthread_mutex_unlock(&h->lock);
		return st;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
		return set_key(h, plat, fe_domid, rings, req->data[0], req->data[1]);
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		*data = SN_BACK_HASH_MAPPING_MAX;
		return st;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		if (req->data[0] > SN_BACK_HASH_MAPPING_MAX)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		pthread_mutex_lock(&h->lock);
		h->size = req->data[0];
		memset(h->mapping, 0, sizeof(h->mapping));
		pthread_mutex_unlock(&h->lock);
		return st;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		return set_mapping(h, plat, fe_domid, nqueues, rings, req->data[0],
				   req->data[1], req->data[2]);
	default:
		return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	}
}

int sn_back_hash_queue(struct sn_back_hash *h, const uint8_t *frame,
		       size_t len, unsigned int nqueues, uint32_t *hash,
		       int *hash_type)
{
	unsigned int type_bit;
	uint32_t v = 0;
	int q;

	*hash = 0;
	*hash_type = -1;
	if (!nqueues)
		return -EINVAL;
	if (!atomic_load_explicit(&h->active, memory_order_relaxed))
		return -ENOENT;
	pthread_mutex_lock(&h->lock);
	if (h->alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ) {
		pthread_mutex_unlock(&h->lock);
		return -ENOENT;
	}
	if (h->flags && !sn_toeplitz_frame(h->key, h->keylen, h->flags, frame,
					   len, &v, &type_bit)) {
		*hash = v;
		*hash_type = (int)type_bit;
	}
	if (h->size)
		q = (int)h->mapping[v % h->size];
	else
		q = (int)(v % nqueues);
	pthread_mutex_unlock(&h->lock);
	/* Entries were checked against the queue count when they were set;
	 * stay inside the vif even so. */
	if ((unsigned int)q >= nqueues)
		q = (int)(v % nqueues);
	return q;
}
