/* Test frontend for netback's control-ring server (see peer_front_ctrl.h). */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/dom.h"
#include "common/peer_front_ctrl.h"

/* A full staging table per queue fits in the grant table. */
static const struct sn_test_dom env_dom = { .ram_pages = 2048, .gnttab_entries = 4096 };

static void open_with(struct env *e, unsigned int nq, uint32_t max,
		      unsigned int nqring)
{
	static uint16_t next_dom = 20;
	struct sn_back_ring_grefs rings = { .n = 0 };
	struct sn_back_ctrl_cfg cfg;
	const struct sn_plat_ops *ops;
	char err[256] = "";

	memset(e, 0, sizeof(*e));
	e->fid = next_dom++;
	e->bid = next_dom++;
	e->nq = nq;
	e->max = max;
	e->fp = sn_test_dom_open(e->fid, &env_dom);
	e->bp = sn_test_dom_open(e->bid, &env_dom);
	ops = e->fp->ops;
	e->next_id = 0x1234;

	assert_int_equal(ops->shr_alloc(e->fp, e->bid, 1, true, &e->ring_ref,
					&e->ring_page), 0);
	sn_ctrl_front_init(&e->ring, e->ring_page);
	assert_int_equal(ops->evt_open(e->fp, &e->fevt), 0);
	e->fport = ops->evt_alloc_unbound(e->fevt, e->bid);
	assert_true(e->fport >= 0);

	for (unsigned int q = 0; max && q < nq; q++)
		assert_int_equal(sn_gref_table_create(e->bp, e->fid, max,
						      &e->tables[q]), 0);
	assert_int_equal(sn_back_hash_init(&e->hash), 0);
	if (nqring) {
		void *p = NULL;

		assert_int_equal(ops->shr_alloc(e->fp, e->bid, 2, true,
						e->qring_ref, &p), 0);
		e->qring = p;
		e->nqring = 2;
		rings.ref[rings.n++] = e->qring_ref[0];
		rings.ref[rings.n++] = e->qring_ref[1];
	}
	cfg = (struct sn_back_ctrl_cfg){
		.rings = &rings,
		.plat = e->bp,
		.fe_domid = e->fid,
		.ring_ref = e->ring_ref,
		.evtchn = (uint32_t)e->fport,
		.nqueues = nq,
		.tables = max ? e->tables : NULL,
		.hash = &e->hash,
		.st = &e->st,
	};
	assert_int_equal(sn_back_ctrl_open(&cfg, &e->ctrl, err, sizeof(err)), 0);
}

void env_open(struct env *e, unsigned int nq, uint32_t max)
{
	open_with(e, nq, max, 0);
}

void env_open_rings(struct env *e, unsigned int nq, uint32_t max)
{
	open_with(e, nq, max, 2);
}

void env_close(struct env *e)
{
	const struct sn_plat_ops *ops = e->fp->ops;

	sn_back_ctrl_close(e->ctrl);
	for (unsigned int q = 0; q < ENV_MAX_Q; q++)
		sn_gref_table_destroy(e->tables[q]);
	sn_back_hash_fini(&e->hash);
	ops->evt_unbind(e->fevt, (sn_port_t)e->fport);
	ops->evt_close(e->fevt);
	if (e->nqring)
		assert_int_equal(ops->shr_free(e->fp, e->qring, e->nqring), 0);
	/* The backend unmapped the ring: the page must come back. */
	assert_int_equal(ops->shr_free(e->fp, e->ring_page, 1), 0);
	sn_plat_close(e->bp);
	sn_plat_close(e->fp);
}

uint32_t env_call(struct env *e, uint16_t type, uint32_t d0, uint32_t d1,
		  uint32_t d2, uint32_t *data)
{
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;
	struct pollfd pfd;
	RING_IDX prod;
	bool more;

	sn_ctrl_req_make(&req, e->next_id++, type, d0, d1, d2);
	sn_ctrl_front_put_req(&e->ring, &req);
	sn_ctrl_front_push(&e->ring);
	assert_int_equal(e->fp->ops->evt_notify(e->fevt, (sn_port_t)e->fport), 0);

	pfd.fd = sn_back_ctrl_fd(e->ctrl);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(sn_back_ctrl_process(e->ctrl, 64, &more), 1);
	assert_false(more);

	prod = sn_ctrl_front_rsp_prod(&e->ring);
	assert_int_equal(prod - e->ring.rsp_cons, 1);
	sn_ctrl_front_copy_rsp(&e->ring, e->ring.rsp_cons++, &rsp);
	assert_true(sn_ctrl_rsp_matches(&rsp, &req));
	if (data)
		*data = rsp.data;
	return rsp.status;
}

void *env_pages(struct env *e, uint32_t n, bool writable, uint32_t *refs)
{
	void *addr = NULL;

	assert_int_equal(e->fp->ops->shr_alloc(e->fp, e->bid, n, writable, refs,
					       &addr), 0);
	return addr;
}

uint16_t env_gflags(struct env *e, uint32_t ref)
{
	struct sn_emu *fe = (struct sn_emu *)e->fp;

	return __atomic_load_n(&fe->gt.entries[ref].flags, __ATOMIC_SEQ_CST);
}

bool env_pinned(struct env *e, uint32_t ref)
{
	return env_gflags(e, ref) & (GTF_reading | GTF_writing);
}
