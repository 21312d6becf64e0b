/* libFuzzer harness: netback's control-ring server (src/back/ctrl.c, with
 * the staging tables and hash state behind it) against a hostile frontend,
 * in-process over the emulated host: an xenstore daemon thread, a frontend
 * domain that grants a ring, list pages and data pages, and the backend
 * domain behind the fault wrapper, so grant copies and maps of the control
 * path also fail at a fuzzed rate.
 *
 * Input: u8 flags, u8 fault rate, u8 nreq, nreq x 16-byte requests, then
 * list-page bytes.  Request words 0xfeedXXXX name list page XXXX % 6 and
 * list entries 0xda7aXXXX data page XXXX % 24 (so the fuzzer can reach
 * real grants); anything else goes through raw.  Flag bit 0 publishes a
 * req_prod beyond the ring at the end.
 *
 * Checked: one well-formed, zero-padded response per request (XSA-216),
 * -EPROTO only for the req_prod lie, tables within their size, and after
 * the server and its tables are gone no page is still pinned (XSA-270, 361..367:
 * nothing leaks on any failure path). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "back/ctrl.h"
#include "emu_world.h"
#include "plat/fault.h"
#include "proto/slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FE_DOMID 21
#define BE_DOMID 22
#define NQ 2u
#define TABLE_MAX 32u
#define NLIST 6u  /* 4 writable + 2 read-only list pages */
#define NDATA 24u /* 16 writable + 8 read-only data pages */

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "invariant failed: %s\n", #c);  \
			abort();                                        \
		}                                                       \
	} while (0)

struct world {
	struct sn_plat *fp, *bp; /* frontend; backend = fault wrapper */
	void *ring_page;
	uint32_t ring_ref;
	struct xen_netif_ctrl_front_ring ring;
	struct sn_evtchn *fevt;
	int fport;
	uint8_t *list;
	uint32_t list_ref[NLIST];
	uint8_t *dpages;
	uint32_t data_ref[NDATA];

	struct sn_back_gref_table *tables[NQ];
	struct sn_back_hash hash;
	struct sn_back_ctrl *ctrl;
	uint16_t next_id;
};

static struct world W;

static void ctrl_open(void)
{
	struct sn_back_ctrl_cfg cfg = {
		.plat = W.bp, .fe_domid = FE_DOMID, .ring_ref = W.ring_ref,
		.evtchn = (uint32_t)W.fport, .nqueues = NQ, .tables = W.tables,
		.hash = &W.hash,
	};
	char err[160];

	sn_ctrl_front_init(&W.ring, W.ring_page);
	CHECK(sn_back_ctrl_open(&cfg, &W.ctrl, err, sizeof(err)) == 0);
}

static void world_init(void)
{
	struct sn_plat *inner;
	void *p;

	W.fp = emu_world_dom(FE_DOMID, 64);
	inner = emu_world_dom(BE_DOMID, 64);
	emu_world_seal();
	CHECK(sn_fault_wrap(inner, NULL, &W.bp) == 0);

	CHECK(W.fp->ops->shr_alloc(W.fp, BE_DOMID, 1, true, &W.ring_ref,
				   &W.ring_page) == 0);
	CHECK(W.fp->ops->evt_open(W.fp, &W.fevt) == 0);
	W.fport = W.fp->ops->evt_alloc_unbound(W.fevt, BE_DOMID);
	CHECK(W.fport >= 0);
	CHECK(W.fp->ops->shr_alloc(W.fp, BE_DOMID, 4, true, W.list_ref, &p) == 0);
	W.list = p;
	for (unsigned int i = 4; i < NLIST; i++)
		CHECK(W.fp->ops->shr_grant(W.fp, BE_DOMID,
					   W.list + (i - 4) * SN_PAGE_SIZE, false,
					   &W.list_ref[i]) == 0);
	CHECK(W.fp->ops->shr_alloc(W.fp, BE_DOMID, 16, true, W.data_ref, &p) == 0);
	W.dpages = p;
	for (unsigned int i = 16; i < NDATA; i++)
		CHECK(W.fp->ops->shr_grant(W.fp, BE_DOMID,
					   W.dpages + (i - 16) * SN_PAGE_SIZE,
					   false, &W.data_ref[i]) == 0);
	CHECK(sn_back_hash_init(&W.hash) == 0);
}

static uint32_t remap_req(uint32_t v)
{
	return (v >> 16) == 0xfeed ? W.list_ref[(v & 0xffff) % NLIST] : v;
}

static bool pinned(uint32_t ref)
{
	return emu_world_pinned(W.fp, ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_fault_cfg fcfg = { .seed = size };
	struct xen_netif_ctrl_request reqs[SN_CTRL_RING_SIZE];
	unsigned int nreq, answered = 0;
	uint8_t flags;
	size_t lb;

	if (!W.fp)
		world_init();
	if (size < 3)
		return -1;
	flags = data[0];
	/* 0..255 -> 0..~25 % of grant copies and maps fail. */
	fcfg.rule[SN_FAULT_COPY].rate_ppm = data[1] * 1000u;
	fcfg.rule[SN_FAULT_MAP].rate_ppm = data[1] * 1000u;
	nreq = data[2] % (SN_CTRL_RING_SIZE + 1);
	data += 3;
	size -= 3;
	if (nreq * sizeof(reqs[0]) > size)
		nreq = (unsigned int)(size / sizeof(reqs[0]));
	memcpy(reqs, data, nreq * sizeof(reqs[0]));
	data += nreq * sizeof(reqs[0]);
	size -= nreq * sizeof(reqs[0]);

	/* The frontend's list pages: fuzz bytes, data-page refs remapped. */
	memset(W.list, 0, 4 * SN_PAGE_SIZE);
	lb = size < 4 * SN_PAGE_SIZE ? size : 4 * SN_PAGE_SIZE;
	memcpy(W.list, data, lb);
	for (size_t off = 0; off + 8 <= lb; off += 8) {
		struct xen_netif_gref *g = (struct xen_netif_gref *)(W.list + off);

		if ((g->ref >> 16) == 0xda7a)
			g->ref = W.data_ref[(g->ref & 0xffff) % NDATA];
	}

	/* Per input, so inputs are independent: the server copies the table
	 * pointers at open, so the tables come first. */
	for (unsigned int q = 0; q < NQ; q++)
		CHECK(sn_gref_table_create(W.bp, FE_DOMID, TABLE_MAX, &W.tables[q]) == 0);
	ctrl_open();
	CHECK(sn_fault_configure(W.bp, &fcfg) == 0);

	for (unsigned int i = 0; i < nreq; i++) {
		reqs[i].id = W.next_id++;
		reqs[i].data[0] = remap_req(reqs[i].data[0]);
		reqs[i].data[1] = remap_req(reqs[i].data[1]);
		sn_ctrl_front_put_req(&W.ring, &reqs[i]);
	}
	sn_ctrl_front_push(&W.ring);
	for (int rounds = 0; answered < nreq; rounds++) {
		bool more;
		int rc = sn_back_ctrl_process(W.ctrl, 16, &more);

		CHECK(rc >= 0);
		answered += (unsigned int)rc;
		CHECK(rounds < 1000);
	}
	CHECK(answered == nreq);

	/* One response per request, in order, echoing id and type, with a
	 * defined status and zero padding. */
	RING_IDX prod = sn_ctrl_front_rsp_prod(&W.ring);

	CHECK(!sn_ctrl_front_rsp_overflow(&W.ring, prod));
	CHECK(prod - W.ring.rsp_cons == nreq);
	for (unsigned int i = 0; i < nreq; i++) {
		const uint8_t *slot = sn_ctrl_slot(W.ring.sring, W.ring.nr_ents,
						   W.ring.rsp_cons);
		struct xen_netif_ctrl_response rsp;

		sn_ctrl_front_copy_rsp(&W.ring, W.ring.rsp_cons++, &rsp);
		CHECK(sn_ctrl_rsp_matches(&rsp, &reqs[i]));
		CHECK(sn_ctrl_status_valid(rsp.status));
		for (size_t b = sizeof(rsp); b < sizeof(union xen_netif_ctrl_sring_entry); b++)
			CHECK(slot[b] == 0);
	}
	for (unsigned int q = 0; q < NQ; q++)
		CHECK(sn_gref_table_count(W.tables[q]) <= TABLE_MAX);

	if (flags & 1) {
		/* The req_prod lie: refused as a whole, nothing answered. */
		RING_IDX rsp0 = W.ring.sring->rsp_prod;

		sn_ring_idx_release(&W.ring.sring->req_prod,
				    W.ring.req_prod_pvt + SN_CTRL_RING_SIZE + 1 +
				    (uint32_t)(flags >> 1) * 0x1000000u);
		CHECK(sn_back_ctrl_process(W.ctrl, 16, NULL) == -EPROTO);
		CHECK(W.ring.sring->rsp_prod == rsp0);
	}

	/* Teardown of this input: nothing may stay mapped or pinned. */
	CHECK(sn_fault_configure(W.bp, NULL) == 0);
	sn_back_ctrl_close(W.ctrl);
	W.ctrl = NULL;
	for (unsigned int q = 0; q < NQ; q++) {
		sn_gref_table_destroy(W.tables[q]);
		W.tables[q] = NULL;
	}
	for (unsigned int i = 0; i < NDATA; i++)
		CHECK(!pinned(W.data_ref[i]));
	for (unsigned int i = 0; i < NLIST; i++)
		CHECK(!pinned(W.list_ref[i]));
	sn_back_hash_fini(&W.hash);
	CHECK(sn_back_hash_init(&W.hash) == 0);
	return 0;
}
