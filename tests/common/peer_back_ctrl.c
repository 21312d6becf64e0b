/* Crafted backend for the staging client tests (see peer_back_ctrl.h).  Uses cmocka
 * asserts on the harness's own set-up only; what the frontend sends is
 * answered, never asserted, from the thread. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ctrl.h"
#include "common/peer_back_ctrl.h"

static long xs_long(struct tback *b, const char *dir, const char *key)
{
	char path[256], *v = NULL;
	unsigned int len;
	long r = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (b->p->ops->xs_read(b->p, XBT_NULL, path, &v, &len))
		return -1;
	r = strtol(v, NULL, 10);
	free(v);
	return r;
}

static void *map1(struct tback *b, uint32_t ref, bool writable)
{
	void *addr = NULL;
	int16_t st = -99;

	if (b->p->ops->gnt_map(b->p, 1, &b->fe_domid, &ref, writable, &addr, &st) ||
	    st != GNTST_okay)
		return NULL;
	return addr;
}

static void unmap1(struct tback *b, void *addr)
{
	int16_t st;

	b->p->ops->gnt_unmap(b->p, 1, &addr, &st);
}

static struct tb_entry *find(struct tback *b, uint16_t q, uint32_t ref)
{
	for (unsigned int i = 0; i < b->nent; i++)
		if (b->ent[i].queue == q && b->ent[i].ref == ref)
			return &b->ent[i];
	return NULL;
}

static unsigned int qcount(struct tback *b, uint16_t q)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->nent; i++)
		n += b->ent[i].queue == q;
	return n;
}

static bool page_zero(const void *p)
{
	const uint8_t *c = p;

	for (unsigned int i = 0; i < SN_PAGE_SIZE; i++)
		if (c[i])
			return false;
	return true;
}

/* ADD (README "Staging grants"): 1..512, no duplicates, all or nothing, readonly
 * honoured. */
static uint32_t do_add(struct tback *b, uint16_t q, uint32_t lref, uint32_t n)
{
	struct xen_netif_gref ents[SN_CTRL_GREFS_PER_PAGE];
	void *addrs[SN_CTRL_GREFS_PER_PAGE];
	void *list;
	uint32_t i, k;

	b->adds_seen++;
	if (n > b->max_add_count)
		b->max_add_count = n;
	if (b->mode == TB_ADD_FAIL && b->adds_seen > b->add_fail_at)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	if (!n || n > SN_CTRL_GREFS_PER_PAGE || qcount(b, q) + n > b->max)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	list = map1(b, lref, false);
	if (!list)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memcpy(ents, list, n * sizeof(ents[0]));
	unmap1(b, list);
	for (i = 0; i < n; i++) {
		if (find(b, q, ents[i].ref))
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		for (k = 0; k < i; k++)
			if (ents[k].ref == ents[i].ref)
				return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
	for (i = 0; i < n; i++) {
		bool ro = ents[i].flags & XEN_NETIF_CTRLF_GREF_readonly;

		addrs[i] = map1(b, ents[i].ref, !ro);
		if (!addrs[i]) {
			while (i--)
				unmap1(b, addrs[i]);
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		}
		if (!page_zero(addrs[i]))
			b->zero_ok = false;
	}
	for (i = 0; i < n; i++) {
		bool ro = ents[i].flags & XEN_NETIF_CTRLF_GREF_readonly;

		b->ent[b->nent++] = (struct tb_entry){ .queue = q, .ref = ents[i].ref,
						       .readonly = ro, .addr = addrs[i] };
		if (ro)
			b->add_ro++;
		else
			b->add_rw++;
	}
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t do_del(struct tback *b, uint16_t q, uint32_t lref, uint32_t n, uint32_t *removed)
{
	struct xen_netif_gref ents[SN_CTRL_GREFS_PER_PAGE];
	void *list;
	uint32_t i;

	*removed = 0;
	if (!n || n > SN_CTRL_GREFS_PER_PAGE)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	list = map1(b, lref, true);
	if (!list)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memcpy(ents, list, n * sizeof(ents[0]));
	for (i = 0; i < n; i++) {
		struct tb_entry *e = find(b, q, ents[i].ref);

		if (!e || ents[i].ref == b->hold_ref) {
			ents[i].status = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
			continue;
		}
		ents[i].status = XEN_NETIF_CTRL_STATUS_SUCCESS;
		if (ents[i].ref == b->lie_ref)
			continue; /* says removed, keeps the mapping */
		unmap1(b, e->addr);
		*e = b->ent[--b->nent];
		(*removed)++;
	}
	memcpy(list, ents, n * sizeof(ents[0]));
	unmap1(b, list);
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/* Hash messages, enough to check what the client puts in its pages: the
 * key and mapping are copied out of the granted page as a backend would. */
static uint32_t do_hash(struct tback *b, const struct xen_netif_ctrl_request *req, uint32_t *data)
{
	const uint32_t ok = XEN_NETIF_CTRL_STATUS_SUCCESS, bad = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	uint8_t *page;

	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		if (req->data[0] > XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
			return bad;
		b->hash_alg = req->data[0];
		return ok;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
		if (!b->hash_alg)
			return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		*data = 0xf;
		return ok;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
		if (!b->hash_alg || req->data[0] & ~0xfu)
			return bad;
		b->hash_flags = req->data[0];
		return ok;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
		if (req->data[1] > sizeof(b->hash_key))
			return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
		page = map1(b, req->data[0], false);
		if (!page)
			return bad;
		memset(b->hash_key, 0, sizeof(b->hash_key));
		memcpy(b->hash_key, page, req->data[1]);
		b->hash_key_len = req->data[1];
		unmap1(b, page);
		return ok;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		*data = TB_HASH_MAP_MAX;
		return ok;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
		if (req->data[0] > TB_HASH_MAP_MAX)
			return bad;
		b->hash_map_size = req->data[0];
		memset(b->hash_map, 0, sizeof(b->hash_map));
		return ok;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
		if (req->data[1] > SN_PAGE_SIZE / 4 || req->data[2] > b->hash_map_size ||
		    req->data[1] > b->hash_map_size - req->data[2])
			return bad;
		page = map1(b, req->data[0], false);
		if (!page)
			return bad;
		memcpy(b->hash_map + req->data[2], page, req->data[1] * 4u);
		unmap1(b, page);
		b->hash_map_msgs++;
		return ok;
	default:
		return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	}
}

static void answer(struct tback *b, const struct xen_netif_ctrl_request *req,
		   struct xen_netif_ctrl_response *rsp)
{
	uint32_t status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, data = 0;
	uint16_t q = (uint16_t)req->data[0];

	pthread_mutex_lock(&b->lock);
	b->n_req++;
	if (b->mode == TB_NOT_SUPPORTED)
		goto out;
	if (req->type >= XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS &&
	    req->type <= XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM) {
		status = do_hash(b, req, &data);
		goto out;
	}
	if (!b->max)
		goto out;
	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE:
		b->n_get++;
		if (req->data[0] >= b->nq) {
			status = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
			break;
		}
		status = XEN_NETIF_CTRL_STATUS_SUCCESS;
		data = b->get_free ? b->max - qcount(b, q) : b->max;
		if (b->mode == TB_REVERSE)
			data = 100 + q; /* tells the answers apart */
		break;
	case XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING:
		b->n_add++;
		status = req->data[0] >= b->nq ? XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
					       : do_add(b, q, req->data[1], req->data[2]);
		break;
	case XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING:
		b->n_del++;
		status = req->data[0] >= b->nq ? XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
					       : do_del(b, q, req->data[1], req->data[2], &data);
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&b->lock);
	sn_ctrl_rsp_make(rsp, req, status, data);
	switch (b->mode) {
	case TB_BAD_ID:
		rsp->id ^= 0x8000;
		break;
	case TB_WRONG_TYPE:
		rsp->type = XEN_NETIF_CTRL_TYPE_SET_HASH_KEY;
		break;
	case TB_BAD_STATUS:
		rsp->status = 7;
		break;
	default:
		break;
	}
}

static unsigned int serve(struct tback *b)
{
	struct xen_netif_ctrl_request reqs[16];
	unsigned int nreq = 0, i;
	RING_IDX prod;

	for (;;) {
		prod = sn_ctrl_back_req_prod(&b->ring);
		if (sn_ctrl_back_prod_overflow(&b->ring, prod))
			return 0;
		if (!sn_ctrl_back_unconsumed(&b->ring, prod))
			break;
		if (nreq == 16)
			break;
		sn_ctrl_back_copy_req(&b->ring, b->ring.req_cons++, &reqs[nreq++]);
		if (b->mode != TB_REVERSE && b->mode != TB_DUP)
			break;
	}
	if (!nreq || b->mode == TB_SILENT)
		return nreq;
	if (b->mode == TB_REVERSE || b->mode == TB_DUP) {
		if (nreq < b->batch) {
			/* Not all there yet: leave them, answer later. */
			b->ring.req_cons -= nreq;
			return 0;
		}
		for (i = nreq; i--;) {
			struct xen_netif_ctrl_response rsp;

			answer(b, &reqs[b->mode == TB_DUP ? 0 : i], &rsp);
			sn_ctrl_back_put_rsp(&b->ring, &rsp);
		}
	} else if (b->mode == TB_OVERFLOW) {
		struct xen_netif_ctrl_response rsp;

		answer(b, &reqs[0], &rsp);
		sn_ctrl_back_put_rsp(&b->ring, &rsp);
		b->ring.rsp_prod_pvt += 5;
	} else {
		struct xen_netif_ctrl_response rsp;

		answer(b, &reqs[0], &rsp);
		sn_ctrl_back_put_rsp(&b->ring, &rsp);
	}
	if (sn_ctrl_back_push(&b->ring))
		b->p->ops->evt_notify(b->evt, (sn_port_t)b->port);
	return nreq;
}

static void *thread_main(void *arg)
{
	struct tback *b = arg;

	while (!b->stop) {
		struct pollfd pfd = { .fd = b->p->ops->evt_fd(b->evt), .events = POLLIN };
		int port;

		poll(&pfd, 1, 10);
		while ((port = b->p->ops->evt_pending(b->evt)) >= 0)
			b->p->ops->evt_unmask(b->evt, (sn_port_t)port);
		while (serve(b))
			;
		sn_ctrl_back_final_check(&b->ring, NULL);
	}
	return NULL;
}

void tb_start(struct tback *b, struct sn_plat *p, uint16_t fe_domid, const char *fe_path)
{
	long ref, port;
	int rc;

	b->p = p;
	b->fe_domid = fe_domid;
	b->zero_ok = true;
	if (!b->nq)
		b->nq = 1;
	if (!b->batch)
		b->batch = 1;
	if (!b->hold_ref)
		b->hold_ref = UINT32_MAX;
	if (!b->lie_ref)
		b->lie_ref = UINT32_MAX;
	assert_int_equal(pthread_mutex_init(&b->lock, NULL), 0);
	ref = xs_long(b, fe_path, "ctrl-ring-ref");
	port = xs_long(b, fe_path, "event-channel-ctrl");
	assert_true(ref > 0 && port >= 0);
	b->ring_page = map1(b, (uint32_t)ref, true);
	assert_non_null(b->ring_page);
	assert_int_equal(sn_ctrl_back_attach(&b->ring, b->ring_page), 0);
	assert_int_equal(p->ops->evt_open(p, &b->evt), 0);
	rc = p->ops->evt_bind_interdomain(b->evt, fe_domid, (sn_port_t)port);
	assert_true(rc >= 0);
	b->port = rc;
	b->stop = false;
	assert_int_equal(pthread_create(&b->thr, NULL, thread_main, b), 0);
}

void tb_stop(struct tback *b)
{
	if (!b->evt)
		return;
	b->stop = true;
	pthread_join(b->thr, NULL);
	for (unsigned int i = 0; i < b->nent; i++)
		unmap1(b, b->ent[i].addr);
	b->nent = 0;
	unmap1(b, b->ring_page);
	b->p->ops->evt_unbind(b->evt, (sn_port_t)b->port);
	b->p->ops->evt_close(b->evt);
	b->evt = NULL;
	pthread_mutex_destroy(&b->lock);
}

unsigned int tb_count(struct tback *b)
{
	unsigned int n;

	pthread_mutex_lock(&b->lock);
	n = b->nent;
	pthread_mutex_unlock(&b->lock);
	return n;
}

bool tb_has(struct tback *b, uint32_t ref)
{
	return tb_addr(b, ref) != NULL;
}

void *tb_addr(struct tback *b, uint32_t ref)
{
	void *a = NULL;

	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->nent; i++)
		if (b->ent[i].ref == ref)
			a = b->ent[i].addr;
	pthread_mutex_unlock(&b->lock);
	return a;
}

void tb_release(struct tback *b, uint32_t ref)
{
	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->nent; i++) {
		if (b->ent[i].ref == ref) {
			unmap1(b, b->ent[i].addr);
			b->ent[i] = b->ent[--b->nent];
			break;
		}
	}
	pthread_mutex_unlock(&b->lock);
}
