/* Control-ring server (see ctrl.h).  Every request slot is copied once into
 * private memory before it is looked at; so is every gref list, which is
 * bounded to one page before anything is read (XSA-270). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "back/common.h"
#include "back/ctrl.h"

struct sn_back_ctrl {
	struct sn_back_ctrl_cfg cfg; /* cfg.tables points at tables below */
	struct sn_back_gref_table **tables;
	/* cfg.rings plus the control ring's own gref (cfg.rings points here). */
	struct sn_back_ring_grefs rings;
	void *page;
	struct xen_netif_ctrl_back_ring ring;
	struct sn_evtchn *evt;
	int port; /* local port, -1 unbound */
	struct sn_late_eoi eoi; /* whoever calls sn_back_ctrl_process owns it */
	/* Private copies of a gref list and its results (ctrl path only). */
	struct xen_netif_gref list[SN_CTRL_GREFS_PER_PAGE];
	struct sn_gref_add add[SN_CTRL_GREFS_PER_PAGE];
	uint32_t grefs[SN_CTRL_GREFS_PER_PAGE];
	uint16_t status[SN_CTRL_GREFS_PER_PAGE];
};

static void count(struct sn_back_ctrl *c, enum sn_qstat s)
{
	if (c->cfg.st)
		sn_qstat_add(c->cfg.st, s, 1);
}

int sn_back_ctrl_open(const struct sn_back_ctrl_cfg *cfg,
		      struct sn_back_ctrl **out, char *err, size_t errlen)
{
	const struct sn_plat_ops *ops = cfg->plat->ops;
	struct sn_back_ctrl *c;
	int16_t st = GNTST_general_error;
	void *addr = NULL;
	int rc;

	if (!cfg->nqueues) {
		snprintf(err, errlen, "control ring: no queues");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "control ring: out of memory");
		return -ENOMEM;
	}
	c->cfg = *cfg;
	c->port = -1;
	if (cfg->tables) {
		c->tables = calloc(cfg->nqueues, sizeof(*c->tables));
		if (!c->tables) {
			snprintf(err, errlen, "control ring: out of memory");
			rc = -ENOMEM;
			goto err_free;
		}
		memcpy(c->tables, cfg->tables, cfg->nqueues * sizeof(*c->tables));
		c->cfg.tables = c->tables;
	}
	if (cfg->rings)
		c->rings = *cfg->rings;
	if (c->rings.n > SN_BACK_RING_GREFS_MAX ||
	    (!sn_back_ring_gref(&c->rings, cfg->ring_ref) &&
	     sn_back_ring_grefs_add(&c->rings, cfg->ring_ref))) {
		snprintf(err, errlen, "control ring: too many ring grefs");
		rc = -EINVAL;
		goto err_free;
	}
	c->cfg.rings = &c->rings;

	rc = ops->gnt_map(cfg->plat, 1, &cfg->fe_domid, &cfg->ring_ref, true,
			  &addr, &st);
	if (rc || st != GNTST_okay || !addr) {
		snprintf(err, errlen,
			 "control ring: mapping ctrl-ring-ref %u failed (%d, GNTST %d)",
			 cfg->ring_ref, rc, st);
		if (!rc && st == GNTST_okay && addr)
			ops->gnt_unmap(cfg->plat, 1, &addr, &st);
		rc = rc ? rc : -EINVAL;
		goto err_free;
	}
	c->page = addr;
	/* Attach at rsp_prod: a reconnecting frontend may have left requests
	 * we already answered. */
	if (sn_ctrl_back_attach(&c->ring, c->page)) {
		snprintf(err, errlen,
			 "control ring: claims more requests than slots");
		rc = -EIO;
		goto err_unmap;
	}
	rc = ops->evt_open(cfg->plat, &c->evt);
	if (rc) {
		c->evt = NULL;
		snprintf(err, errlen, "control ring: evtchn open: %s",
			 strerror(-rc));
		goto err_unmap;
	}
	rc = ops->evt_bind_interdomain(c->evt, cfg->fe_domid, cfg->evtchn);
	if (rc < 0) {
		snprintf(err, errlen,
			 "control ring: binding event-channel-ctrl %u: %s",
			 cfg->evtchn, strerror(-rc));
		goto err_evt;
	}
	c->port = rc;
	*out = c;
	return 0;

err_evt:
	ops->evt_close(c->evt);
err_unmap:
	ops->gnt_unmap(cfg->plat, 1, &c->page, &st);
err_free:
	free(c->tables);
	free(c);
	return rc;
}

void sn_back_ctrl_close(struct sn_back_ctrl *c)
{
	const struct sn_plat_ops *ops;
	int16_t st;

	if (!c)
		return;
	ops = c->cfg.plat->ops;
	if (c->evt) {
		if (c->port >= 0)
			ops->evt_unbind(c->evt, (sn_port_t)c->port);
		ops->evt_close(c->evt);
	}
	if (c->page)
		ops->gnt_unmap(c->cfg.plat, 1, &c->page, &st);
	free(c->tables);
	free(c);
}

int sn_back_ctrl_fd(const struct sn_back_ctrl *c)
{
	return c->cfg.plat->ops->evt_fd(c->evt);
}

/* The request-level checks shared by the three gref messages; NULL and
 * *status set when the request is refused as a whole. */
static struct sn_back_gref_table *
gref_target(struct sn_back_ctrl *c, const struct xen_netif_ctrl_request *req,
	    bool has_list, uint32_t *status)
{
	if (!c->cfg.tables) {
		*status = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		return NULL;
	}
	*status = XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	if (req->data[0] >= c->cfg.nqueues || !c->cfg.tables[req->data[0]])
		return NULL;
	/* 1..512 entries keeps count * 8 within the list page: nothing is
	 * ever read past it, whatever the frontend claims. */
	if (has_list &&
	    (req->data[2] == 0 || req->data[2] > SN_CTRL_GREFS_PER_PAGE))
		return NULL;
	/* A list on a ring page would be read from (ADD) or answered into
	 * (DEL: statuses over the response slots) the ring itself. */
	if (has_list && sn_back_ring_gref(&c->rings, req->data[1]))
		return NULL;
	*status = XEN_NETIF_CTRL_STATUS_SUCCESS;
	return c->cfg.tables[req->data[0]];
}

static uint32_t gref_add(struct sn_back_ctrl *c,
			 const struct xen_netif_ctrl_request *req)
{
	struct sn_back_gref_table *t;
	uint32_t n = req->data[2], status;
	sn_copy_seg seg;

	t = gref_target(c, req, true, &status);
	if (!t)
		return status;
	memset(&seg, 0, sizeof(seg));
	seg.source.foreign.ref = req->data[1];
	seg.source.foreign.domid = c->cfg.fe_domid;
	seg.source.foreign.offset = 0;
	seg.dest.virt = c->list;
	seg.len = (uint16_t)(n * sizeof(struct xen_netif_gref));
	seg.flags = GNTCOPY_source_gref;
	if (sn_gnt_copy(c->cfg.plat, 1, &seg) || seg.status != GNTST_okay)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (uint32_t i = 0; i < n; i++) {
		/* A staged ring page would take packet bytes over ring
		 * slots: refused with the whole list, nothing mapped. */
		if (sn_back_ring_gref(&c->rings, c->list[i].ref))
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
		c->add[i].gref = c->list[i].ref;
		c->add[i].readonly =
			c->list[i].flags & XEN_NETIF_CTRLF_GREF_readonly;
	}
	if (sn_gref_table_add(t, n, c->add, NULL))
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t gref_del(struct sn_back_ctrl *c,
			 const struct xen_netif_ctrl_request *req,
			 uint32_t *data)
{
	const struct sn_plat_ops *ops = c->cfg.plat->ops;
	struct sn_back_gref_table *t;
	uint32_t n = req->data[2], status, removed;
	int16_t st = GNTST_general_error;
	struct xen_netif_gref *shared;
	void *page = NULL;
	int rc;

	t = gref_target(c, req, true, &status);
	if (!t)
		return status;
	/* Writable, because every entry's status goes back into the list;
	 * mapping it first means a list we cannot answer into is refused
	 * before anything is removed. */
	rc = ops->gnt_map(c->cfg.plat, 1, &c->cfg.fe_domid, &req->data[1], true,
			  &page, &st);
	if (rc || st != GNTST_okay || !page) {
		if (!rc && st == GNTST_okay && page)
			ops->gnt_unmap(c->cfg.plat, 1, &page, &st);
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	}
	shared = page;
	/* One read of the list (the frontend may be rewriting it). */
	sn_ring_slot_load(c->list, shared, n * sizeof(struct xen_netif_gref));
	for (uint32_t i = 0; i < n; i++)
		c->grefs[i] = c->list[i].ref;
	removed = sn_gref_table_del(t, n, c->grefs, c->status);
	/* Only the status fields are ours to write; ref and flags are the
	 * frontend's. */
	for (uint32_t i = 0; i < n; i++)
		__atomic_store_n(&shared[i].status, c->status[i],
				 __ATOMIC_RELAXED);
	ops->gnt_unmap(c->cfg.plat, 1, &page, &st);
	*data = removed;
	return removed == n ? XEN_NETIF_CTRL_STATUS_SUCCESS :
			      XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
}

uint32_t sn_back_ctrl_handle(struct sn_back_ctrl *c,
			     const struct xen_netif_ctrl_request *req,
			     uint32_t *data)
{
	struct sn_back_gref_table *t;
	uint32_t status;

	*data = 0;
	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING:
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
		if (!c->cfg.hash)
			return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
		return sn_back_hash_ctrl(c->cfg.hash, c->cfg.plat,
					 c->cfg.fe_domid, c->cfg.nqueues,
					 &c->rings, req, data);
	case XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE:
		t = gref_target(c, req, false, &status);
		/* netif.h: the maximum, not what is free.  The table is
		 * created empty at every connect, so a frontend sizing its
		 * pool from this fits it with one set of ADDs. */
		if (t)
			*data = t->max;
		return status;
	case XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING:
		return gref_add(c, req);
	case XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING:
		return gref_del(c, req, data);
	default:
		return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	}
}

int sn_back_ctrl_process(struct sn_back_ctrl *c, unsigned int budget,
			 bool *more)
{
	const struct sn_plat_ops *ops = c->cfg.plat->ops;
	unsigned int done = 0;
	bool notify = false;
	RING_IDX prod;
	int got;

	if (more)
		*more = false;
	/* The event is only a hint: take it, look at the ring, and re-enable
	 * it after (late EOI: a kick arriving meanwhile stays pending and
	 * the unmask re-raises it); an empty kick counts towards the
	 * throttle. */
	got = sn_late_eoi_take(&c->eoi, c->cfg.plat, c->evt, 2);

	for (;;) {
		unsigned int n;

		prod = sn_ctrl_back_req_prod(&c->ring);
		if (sn_ctrl_back_prod_overflow(&c->ring, prod))
			return -EPROTO;
		n = sn_ctrl_back_unconsumed(&c->ring, prod);
		if (!n)
			n = sn_ctrl_back_final_check(&c->ring, &prod);
		if (!n)
			break;
		if (done == budget) {
			if (more)
				*more = true;
			break;
		}
		while (n-- && done < budget) {
			struct xen_netif_ctrl_request req;
			struct xen_netif_ctrl_response rsp;
			uint32_t status, data;

			sn_ctrl_back_copy_req(&c->ring, c->ring.req_cons, &req);
			c->ring.req_cons++;
			status = sn_back_ctrl_handle(c, &req, &data);
			count(c, SN_QS_ctrl_requests);
			if (status != XEN_NETIF_CTRL_STATUS_SUCCESS)
				count(c, SN_QS_ctrl_errors);
			/* Ids echoed; the slot is fully rewritten, padding
			 * zeroed (XSA-216). */
			sn_ctrl_rsp_make(&rsp, &req, status, data);
			sn_ctrl_back_put_rsp(&c->ring, &rsp);
			done++;
		}
		notify |= sn_ctrl_back_push(&c->ring);
	}
	if (notify && c->port >= 0)
		ops->evt_notify(c->evt, (sn_port_t)c->port);
	if (got && !done) {
		count(c, SN_QS_ctrl_spurious);
		if (sn_late_eoi_done(&c->eoi, c->cfg.plat, c->evt, false))
			count(c, SN_QS_ctrl_throttled);
	} else if (done) {
		sn_late_eoi_done(&c->eoi, c->cfg.plat, c->evt, true);
	}
	return (int)done;
}

int sn_back_ctrl_timeout(struct sn_back_ctrl *c, int timeout_ms)
{
	return sn_late_eoi_timeout(&c->eoi, c->cfg.plat, c->evt, timeout_ms);
}

/* ---- the vif's control service ------------------------------------------
 * Served on a thread of its own rather than on a queue thread: an ADD maps
 * up to 512 pages, which would stall that queue's datapath, and the
 * xenstore control thread must stay free to tear a rogue vif down. */

#define CTRL_BUDGET 64u

static void *ctrl_main(void *arg)
{
	struct sn_back_vif *v = arg;
	struct sn_back_ctrl *c = v->ctrl;
	bool more = false;

	while (!atomic_load(&v->ctrl_stop)) {
		struct pollfd pfd[2] = {
			{ .fd = sn_back_ctrl_fd(c), .events = POLLIN },
			{ .fd = v->ctrl_kick_fd, .events = POLLIN },
		};
		int rc;

		if (!more && poll(pfd, 2, sn_back_ctrl_timeout(c, -1)) < 0)
			continue;
		if (atomic_load(&v->ctrl_stop))
			break;
		if (atomic_load(&v->disabled)) {
			/* Rogue: no more service until teardown; its port
			 * stays masked, never re-enabled. */
			sn_late_eoi_take(&c->eoi, c->cfg.plat, c->evt, 2);
			poll(pfd + 1, 1, 100);
			more = false;
			continue;
		}
		rc = sn_back_ctrl_process(c, CTRL_BUDGET, &more);
		if (rc == -EPROTO) {
			sn_back_vif_fatal(&v->q[0], "control ring: impossible number of requests");
			more = false;
		}
	}
	return NULL;
}

int sn_back_vif_ctrl_start(struct sn_back_vif *v, char *err, size_t errlen)
{
	const struct sn_back_cfg *bc = &v->back->cfg;
	struct sn_back_gref_table *tables[SN_BACK_MAX_QUEUES] = { NULL };
	struct sn_back_ctrl_cfg cfg;
	uint32_t max = bc->staging_max ? bc->staging_max : SN_BACK_STAGING_DEFAULT;
	int rc;

	v->ctrl_kick_fd = -1;
	/* Persist flags use the same tables, with or without a control
	 * ring (README "Persist flags"). */
	if (!v->ctrl_present && !v->feat.persist)
		return 0;
	if (v->nq > SN_BACK_MAX_QUEUES) {
		snprintf(err, errlen, "control ring: %u queues", v->nq);
		return -EINVAL;
	}
	if (!bc->staging_off) {
		for (unsigned int i = 0; i < v->nq; i++) {
			rc = sn_gref_table_create(v->back->plat, v->domid, max,
						  &v->q[i].grefs);
			if (rc) {
				snprintf(err, errlen,
					 "queue %u: staging table of %u: %s", i,
					 max, strerror(-rc));
				return rc;
			}
			tables[i] = v->q[i].grefs;
		}
	}
	if (!v->ctrl_present)
		return 0;
	rc = sn_back_hash_init(&v->hash);
	if (rc) {
		snprintf(err, errlen, "control ring: %s", strerror(-rc));
		return rc;
	}
	v->hash_init = true;
	cfg = (struct sn_back_ctrl_cfg){
		.rings = &v->rings,
		.plat = v->back->plat,
		.fe_domid = v->domid,
		.ring_ref = v->ctrl_ref,
		.evtchn = v->ctrl_evt,
		.nqueues = v->nq,
		.tables = bc->staging_off ? NULL : tables,
		.hash = &v->hash,
		.st = v->q[0].st,
	};
	rc = sn_back_ctrl_open(&cfg, &v->ctrl, err, errlen);
	if (rc)
		return rc;
	v->ctrl_kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->ctrl_kick_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control ring: eventfd: %s", strerror(-rc));
		return rc;
	}
	atomic_store(&v->ctrl_stop, false);
	rc = -pthread_create(&v->ctrl_thread, NULL, ctrl_main, v);
	if (rc) {
		snprintf(err, errlen, "control ring: thread: %s", strerror(-rc));
		return rc;
	}
	v->ctrl_thread_started = true;
	return 0;
}

void sn_back_vif_ctrl_stop(struct sn_back_vif *v)
{
	uint64_t one = 1;

	if (v->ctrl_thread_started) {
		atomic_store(&v->ctrl_stop, true);
		if (write(v->ctrl_kick_fd, &one, sizeof(one)) < 0)
			one = 1;
		pthread_join(v->ctrl_thread, NULL);
		v->ctrl_thread_started = false;
	}
	if (v->ctrl_kick_fd >= 0)
		close(v->ctrl_kick_fd);
	v->ctrl_kick_fd = -1;
	sn_back_ctrl_close(v->ctrl);
	v->ctrl = NULL;
	/* The queue threads are gone: no slot is in flight, every staged
	 * gref can be unmapped (disconnect or frontend death alike). */
	for (unsigned int i = 0; i < v->nq; i++) {
		sn_gref_table_destroy(v->q[i].grefs);
		v->q[i].grefs = NULL;
	}
	if (v->hash_init)
		sn_back_hash_fini(&v->hash);
	v->hash_init = false;
}
