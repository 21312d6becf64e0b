/* GET/ADD/DEL_GREF_MAPPING through a crafted control ring against the real
 * netback control server: success paths, every XSA-270 case, all-or-nothing
 * ADD (no change, no pin left behind), per-entry DEL statuses, in-flight
 * refusal, and teardown leaving nothing mapped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "common/peer_front_ctrl.h"

#define T_ADD XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING
#define T_DEL XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING
#define T_GET XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE
#define OK XEN_NETIF_CTRL_STATUS_SUCCESS
#define NOSUP XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED
#define INVAL XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define MAX 64u
#define NPG 16u

struct fx {
	struct env e;
	uint32_t list_ref;
	struct xen_netif_gref *list; /* the frontend's list page */
	uint32_t ref[NPG];           /* writable data pages */
	uint8_t *pg;
	uint32_t ro_ref[4];          /* read-only data pages */
	uint8_t *ro_pg;
};

static int fx_setup_n(void **state, unsigned int nq, uint32_t max, bool rings)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (rings)
		env_open_rings(&f->e, nq, max);
	else
		env_open(&f->e, nq, max);
	f->list = env_pages(&f->e, 1, true, &f->list_ref);
	f->pg = env_pages(&f->e, NPG, true, f->ref);
	f->ro_pg = env_pages(&f->e, 4, false, f->ro_ref);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_n(state, 2, MAX, false);
}

static int fx_setup_off(void **state)
{
	return fx_setup_n(state, 2, 0, false);
}

static int fx_setup_rings(void **state)
{
	return fx_setup_n(state, 2, MAX, true);
}

/* Every page must come back to the frontend: nothing left pinned. */
static int fx_teardown(void **state)
{
	struct fx *f = *state;
	const struct sn_plat_ops *ops = f->e.fp->ops;

	for (unsigned int q = 0; q < f->e.nq; q++)
		if (f->e.tables[q])
			assert_int_equal(sn_gref_table_unmap_all(f->e.tables[q]), 0);
	for (unsigned int i = 0; i < NPG; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
	assert_int_equal(ops->shr_free(f->e.fp, f->pg, NPG), 0);
	assert_int_equal(ops->shr_free(f->e.fp, f->ro_pg, 4), 0);
	assert_int_equal(ops->shr_free(f->e.fp, f->list, 1), 0);
	env_close(&f->e);
	free(f);
	return 0;
}

static void set_list(struct fx *f, unsigned int n, const uint32_t *refs,
		     const uint16_t *flags)
{
	memset(f->list, 0, SN_PAGE_SIZE);
	for (unsigned int i = 0; i < n; i++) {
		f->list[i].ref = refs[i];
		f->list[i].flags = flags ? flags[i] : 0;
		f->list[i].status = 0xbeef; /* proves DEL wrote it */
	}
}

/* The table's free entries; GET answers its maximum whatever it holds
 * (netif.h). */
static uint32_t get_free(struct fx *f, uint32_t q)
{
	uint32_t data = 0xdead;

	assert_int_equal(env_call(&f->e, T_GET, q, 0, 0, &data), OK);
	assert_int_equal(data, f->e.tables[q]->max);
	return sn_gref_table_free(f->e.tables[q]);
}

static uint32_t add(struct fx *f, uint32_t q, unsigned int n,
		    const uint32_t *refs, const uint16_t *flags)
{
	set_list(f, n, refs, flags);
	return env_call(&f->e, T_ADD, q, f->list_ref, n, NULL);
}

static uint32_t del(struct fx *f, uint32_t q, unsigned int n,
		    const uint32_t *refs, uint32_t *removed)
{
	set_list(f, n, refs, NULL);
	return env_call(&f->e, T_DEL, q, f->list_ref, n, removed);
}

static void get_reports_max_whatever_the_table_holds(void **state)
{
	struct fx *f = *state;

	assert_int_equal(get_free(f, 0), MAX);
	assert_int_equal(get_free(f, 1), MAX);
	assert_int_equal(add(f, 1, 3, f->ref, NULL), OK);
	assert_int_equal(get_free(f, 0), MAX);
	assert_int_equal(get_free(f, 1), MAX - 3);
}

static void get_bad_queue_is_invalid_parameter(void **state)
{
	struct fx *f = *state;
	uint32_t data;

	assert_int_equal(env_call(&f->e, T_GET, 2, 0, 0, &data), INVAL);
	assert_int_equal(env_call(&f->e, T_GET, 0xffffffffu, 0, 0, &data), INVAL);
	assert_int_equal(data, 0);
}

static void add_maps_entries_usable_by_the_datapath(void **state)
{
	struct fx *f = *state;
	struct sn_gref_ent *ent;
	uint16_t flags[2] = { 0, XEN_NETIF_CTRLF_GREF_readonly };
	uint32_t refs[2] = { f->ref[0], f->ro_ref[0] };

	assert_int_equal(add(f, 0, 2, refs, flags), OK);
	assert_true(env_pinned(&f->e, f->ref[0]));
	assert_true(env_pinned(&f->e, f->ro_ref[0]));
	assert_false(env_pinned(&f->e, f->ref[1]));

	/* A writable staged page: the backend writes, the frontend sees it. */
	ent = sn_gref_table_get(f->e.tables[0], f->ref[0], true);
	assert_non_null(ent);
	memcpy((uint8_t *)ent->addr + 100, "staged", 6);
	sn_gref_table_put(ent);
	assert_memory_equal(f->pg + 100, "staged", 6);

	/* The readonly flag is honoured: fine for TX, refused for RX. */
	assert_null(sn_gref_table_get(f->e.tables[0], f->ro_ref[0], true));
	ent = sn_gref_table_get(f->e.tables[0], f->ro_ref[0], false);
	assert_non_null(ent);
	sn_gref_table_put(ent);
	/* Per queue: queue 1 knows nothing of queue 0's grefs. */
	assert_null(sn_gref_table_get(f->e.tables[1], f->ref[0], false));
	assert_null(sn_gref_table_get(f->e.tables[0], f->ref[1], false));
	assert_int_equal(f->e.st.v[SN_QS_ctrl_errors], 0);
}

static void add_readonly_grant_without_flag_fails(void **state)
{
	struct fx *f = *state;
	uint32_t refs[2] = { f->ref[0], f->ro_ref[0] };

	/* Mapping a read-only grant writable fails: the whole ADD fails. */
	assert_int_equal(add(f, 0, 2, refs, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	assert_false(env_pinned(&f->e, f->ref[0]));
	assert_false(env_pinned(&f->e, f->ro_ref[0]));
}

/* XSA-270: request-level checks. */
static void xsa270_add_bad_queue(void **state)
{
	struct fx *f = *state;

	assert_int_equal(add(f, 2, 1, f->ref, NULL), INVAL);
	assert_int_equal(add(f, 0xffffffffu, 1, f->ref, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	assert_false(env_pinned(&f->e, f->ref[0]));
}

static void xsa270_add_count_zero_or_above_512(void **state)
{
	struct fx *f = *state;

	set_list(f, 4, f->ref, NULL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, f->list_ref, 0, NULL), INVAL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, f->list_ref, 513, NULL), INVAL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, f->list_ref, 0xffffffffu, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	for (unsigned int i = 0; i < 4; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
}

static void xsa270_add_size_times_count_overflow(void **state)
{
	struct fx *f = *state;

	/* 0x20000001 * 8 wraps to 8 in 32 bits: must not be read as one
	 * entry. */
	set_list(f, 1, f->ref, NULL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, f->list_ref, 0x20000001u, NULL), INVAL);
	assert_int_equal(env_call(&f->e, T_DEL, 0, f->list_ref, 0x20000001u, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	assert_false(env_pinned(&f->e, f->ref[0]));
}

static void xsa270_list_straddling_the_page_refused(void **state)
{
	struct fx *f = *state;

	uint32_t refs[512];

	/* 513 entries would run 8 bytes past the list page. */
	for (unsigned int i = 0; i < 512; i++)
		refs[i] = f->ref[i % NPG];
	set_list(f, 512, refs, NULL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, f->list_ref, 513, NULL), INVAL);
	assert_int_equal(env_call(&f->e, T_DEL, 0, f->list_ref, 513, NULL), INVAL);
	/* Nothing was written into the list either. */
	assert_int_equal(f->list[0].status, 0xbeef);
	assert_int_equal(get_free(f, 0), MAX);
}

static void xsa270_add_duplicate_in_list_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t refs[3] = { f->ref[0], f->ref[1], f->ref[0] };

	assert_int_equal(add(f, 0, 3, refs, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	assert_false(env_pinned(&f->e, f->ref[0]));
	assert_false(env_pinned(&f->e, f->ref[1]));
	assert_null(sn_gref_table_get(f->e.tables[0], f->ref[1], false));
}

static void xsa270_add_already_present_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t refs[2] = { f->ref[2], f->ref[0] };

	assert_int_equal(add(f, 0, 1, f->ref, NULL), OK);
	assert_int_equal(add(f, 0, 2, refs, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX - 1);
	assert_false(env_pinned(&f->e, f->ref[2]));
	/* The one already present is still there, mapped once. */
	assert_true(env_pinned(&f->e, f->ref[0]));
	/* The same gref on another queue is a separate table. */
	assert_int_equal(add(f, 1, 1, f->ref, NULL), OK);
}

static void add_unmappable_entry_changes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t revoked, refs[4];
	const struct sn_plat_ops *ops = f->e.fp->ops;

	assert_int_equal(ops->shr_grant(f->e.fp, f->e.bid, f->pg, true, &revoked), 0);
	assert_int_equal(ops->shr_revoke(f->e.fp, revoked), 0);
	refs[0] = f->ref[0];
	refs[1] = f->ref[1];
	refs[2] = revoked;
	refs[3] = f->ref[2];
	assert_int_equal(add(f, 0, 4, refs, NULL), INVAL);
	refs[2] = 0xfffffff0u; /* beyond the grant table */
	assert_int_equal(add(f, 0, 4, refs, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
	for (unsigned int i = 0; i < 3; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
	/* The granter can take its pages back: no pin left behind. */
	assert_int_equal(ops->shr_grant(f->e.fp, f->e.bid, f->pg, true, &revoked), 0);
	assert_int_equal(ops->shr_revoke(f->e.fp, revoked), 0);
}

static void add_unreadable_list_page_fails(void **state)
{
	struct fx *f = *state;

	set_list(f, 1, f->ref, NULL);
	assert_int_equal(env_call(&f->e, T_ADD, 0, 0xfffffff0u, 1, NULL), INVAL);
	assert_int_equal(get_free(f, 0), MAX);
}

static void add_table_full_changes_nothing(void **state)
{
	struct fx *f = *state;

	assert_int_equal(add(f, 0, 8, f->ref, NULL), OK);
	assert_int_equal(get_free(f, 0), 8);
	assert_int_equal(add(f, 0, 8, f->ref + 8, NULL), OK);
	assert_int_equal(get_free(f, 0), 0);
	/* (table of 16 in this fixture) */
	assert_int_equal(add(f, 0, 1, f->ro_ref, (uint16_t[]){ 1 }), INVAL);
	assert_false(env_pinned(&f->e, f->ro_ref[0]));
	assert_int_equal(get_free(f, 0), 0);
}

static int fx_setup_small(void **state)
{
	return fx_setup_n(state, 1, 16, false);
}

static void add_512_entries_full_page(void **state)
{
	struct fx *f = *state;
	const struct sn_plat_ops *ops = f->e.fp->ops;
	uint32_t *refs = calloc(512, sizeof(*refs)), removed = 0;
	void *big;

	assert_non_null(refs);
	assert_int_equal(ops->shr_alloc(f->e.fp, f->e.bid, 512, true, refs, &big), 0);
	assert_int_equal(add(f, 0, 512, refs, NULL), OK);
	assert_int_equal(get_free(f, 0), 1024 - 512);
	assert_true(env_pinned(&f->e, refs[511]));
	assert_int_equal(del(f, 0, 512, refs, &removed), OK);
	assert_int_equal(removed, 512);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(f->list[i].status, OK);
	assert_int_equal(ops->shr_free(f->e.fp, big, 512), 0);
	free(refs);
}

static int fx_setup_big(void **state)
{
	return fx_setup_n(state, 1, 1024, false);
}

static void del_writes_every_entry_status(void **state)
{
	struct fx *f = *state;
	struct sn_gref_ent *busy;
	uint32_t refs[4] = { f->ref[0], f->ref[5], f->ref[1], f->ref[2] };
	uint32_t removed = 0xdead;

	assert_int_equal(add(f, 0, 3, f->ref, NULL), OK);
	/* ref[2] is in flight on a ring: DEL must refuse it. */
	busy = sn_gref_table_get(f->e.tables[0], f->ref[2], false);
	assert_non_null(busy);
	assert_int_equal(del(f, 0, 4, refs, &removed), INVAL);
	assert_int_equal(removed, 2);
	assert_int_equal(f->list[0].status, OK);
	assert_int_equal(f->list[1].status, INVAL); /* never added */
	assert_int_equal(f->list[2].status, OK);
	assert_int_equal(f->list[3].status, INVAL); /* in flight: stays */
	assert_int_equal(f->list[3].ref, f->ref[2]); /* ref/flags untouched */
	assert_false(env_pinned(&f->e, f->ref[0]));
	assert_false(env_pinned(&f->e, f->ref[1]));
	assert_true(env_pinned(&f->e, f->ref[2]));
	assert_int_equal(get_free(f, 0), MAX - 1);

	/* Once the datapath is done with it, it can go. */
	sn_gref_table_put(busy);
	assert_int_equal(del(f, 0, 1, &f->ref[2], &removed), OK);
	assert_int_equal(removed, 1);
	assert_int_equal(f->list[0].status, OK);
	assert_false(env_pinned(&f->e, f->ref[2]));
	assert_int_equal(get_free(f, 0), MAX);
	/* Deleted means gone from the datapath too. */
	assert_null(sn_gref_table_get(f->e.tables[0], f->ref[0], false));
}

static void del_duplicate_in_list_removes_once(void **state)
{
	struct fx *f = *state;
	uint32_t refs[2] = { f->ref[0], f->ref[0] };
	uint32_t removed;

	assert_int_equal(add(f, 0, 1, f->ref, NULL), OK);
	assert_int_equal(del(f, 0, 2, refs, &removed), INVAL);
	assert_int_equal(removed, 1);
	assert_int_equal(f->list[0].status, OK);
	assert_int_equal(f->list[1].status, INVAL);
}

static void del_bad_request_writes_nothing(void **state)
{
	struct fx *f = *state;
	uint32_t removed;

	assert_int_equal(add(f, 0, 2, f->ref, NULL), OK);
	set_list(f, 2, f->ref, NULL);
	assert_int_equal(env_call(&f->e, T_DEL, 2, f->list_ref, 2, &removed), INVAL);
	assert_int_equal(removed, 0);
	assert_int_equal(env_call(&f->e, T_DEL, 0, f->list_ref, 0, &removed), INVAL);
	assert_int_equal(env_call(&f->e, T_DEL, 0, f->list_ref, 513, &removed), INVAL);
	assert_int_equal(f->list[0].status, 0xbeef);
	assert_int_equal(f->list[1].status, 0xbeef);
	assert_int_equal(get_free(f, 0), MAX - 2);
}

static void del_readonly_list_page_removes_nothing(void **state)
{
	struct fx *f = *state;
	const struct sn_plat_ops *ops = f->e.fp->ops;
	uint32_t ro_list, removed;

	assert_int_equal(add(f, 0, 2, f->ref, NULL), OK);
	set_list(f, 2, f->ref, NULL);
	/* The statuses could not be written back: refuse before removing. */
	assert_int_equal(ops->shr_grant(f->e.fp, f->e.bid, f->list, false, &ro_list), 0);
	assert_int_equal(env_call(&f->e, T_DEL, 0, ro_list, 2, &removed), INVAL);
	assert_int_equal(removed, 0);
	assert_int_equal(get_free(f, 0), MAX - 2);
	assert_true(env_pinned(&f->e, f->ref[0]));
	assert_int_equal(ops->shr_revoke(f->e.fp, ro_list), 0);
}

static void staging_off_answers_not_supported(void **state)
{
	struct fx *f = *state;
	uint32_t data = 0xdead;

	assert_int_equal(env_call(&f->e, T_GET, 0, 0, 0, &data), NOSUP);
	assert_int_equal(data, 0);
	assert_int_equal(add(f, 0, 1, f->ref, NULL), NOSUP);
	assert_int_equal(del(f, 0, 1, f->ref, &data), NOSUP);
	assert_false(env_pinned(&f->e, f->ref[0]));
}

static void teardown_unmaps_everything(void **state)
{
	struct fx *f = *state;
	uint16_t flags[4] = { 1, 1, 1, 1 };

	assert_int_equal(add(f, 0, NPG, f->ref, NULL), OK);
	assert_int_equal(add(f, 1, 4, f->ro_ref, flags), OK);
	for (unsigned int i = 0; i < NPG; i++)
		assert_true(env_pinned(&f->e, f->ref[i]));
	assert_int_equal(sn_gref_table_unmap_all(f->e.tables[0]), 0);
	assert_int_equal(sn_gref_table_unmap_all(f->e.tables[1]), 0);
	for (unsigned int i = 0; i < NPG; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
	for (unsigned int i = 0; i < 4; i++)
		assert_false(env_pinned(&f->e, f->ro_ref[i]));
	assert_int_equal(get_free(f, 0), MAX);
	assert_int_equal(get_free(f, 1), MAX);
	/* (fx_teardown then frees every page: shr_free would say -EBUSY for
	 * a page still mapped.) */
}

static void destroy_with_staged_entries_unmaps_everything(void **state)
{
	struct fx *f = *state;

	assert_int_equal(add(f, 0, NPG, f->ref, NULL), OK);
	assert_int_equal(get_free(f, 0), MAX - NPG);
	/* What disconnect does: close the ring, destroy the tables. */
	sn_gref_table_destroy(f->e.tables[0]);
	f->e.tables[0] = NULL;
	for (unsigned int i = 0; i < NPG; i++)
		assert_false(env_pinned(&f->e, f->ref[i]));
}

/* The vif's own ring pages (the control ring, e->ring_ref, and a queue's
 * TX/RX rings, e->qring_ref) are never a gref list nor a staged buffer
 * (src/back/ring_grefs.h).  Each case below succeeds when the rule is
 * missing: the lists are valid, the pages writable grants. */
static void ring_page_del_list_on_ctrl_ring_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *rp = f->e.ring_page;
	struct xen_netif_gref *g = (struct xen_netif_gref *)(rp + 16);
	uint32_t removed = 0xdead;
	struct sn_gref_ent *ent;

	assert_int_equal(add(f, 0, 1, &f->ref[0], NULL), OK);
	/* Read as a list, the ring page's padding holds entry 2: a staged
	 * gref, whose status would land in the page (the fuzz_ctrl finding,
	 * where the statuses overwrote earlier responses). */
	g->ref = f->ref[0];
	g->flags = 0;
	g->status = 0xbeef;
	assert_int_equal(env_call(&f->e, T_DEL, 0, f->e.ring_ref, 3, &removed),
			 INVAL);
	assert_int_equal(removed, 0);
	assert_int_equal(g->status, 0xbeef);
	assert_int_equal(g->ref, f->ref[0]);
	ent = sn_gref_table_get(f->e.tables[0], f->ref[0], false);
	assert_non_null(ent);
	sn_gref_table_put(ent);
	assert_int_equal(get_free(f, 0), MAX - 1);
	memset(g, 0, sizeof(*g));
	/* The ring is still sound: a normal DEL is answered. */
	assert_int_equal(del(f, 0, 1, &f->ref[0], &removed), OK);
	assert_int_equal(removed, 1);
}

static void ring_page_del_list_on_queue_ring_refused(void **state)
{
	struct fx *f = *state;
	struct xen_netif_gref *l = (struct xen_netif_gref *)f->e.qring;
	uint32_t removed = 0xdead;

	assert_int_equal(add(f, 0, 2, f->ref, NULL), OK);
	for (unsigned int r = 0; r < 2; r++) {
		l = (struct xen_netif_gref *)(f->e.qring + r * SN_PAGE_SIZE);
		l[0] = (struct xen_netif_gref){ .ref = f->ref[0], .status = 0xbeef };
		l[1] = (struct xen_netif_gref){ .ref = f->ref[1], .status = 0xbeef };
		assert_int_equal(env_call(&f->e, T_DEL, 0, f->e.qring_ref[r], 2,
					  &removed), INVAL);
		assert_int_equal(removed, 0);
		assert_int_equal(l[0].status, 0xbeef);
		assert_int_equal(l[1].status, 0xbeef);
		assert_int_equal(get_free(f, 0), MAX - 2);
	}
}

static void ring_page_add_list_on_ring_refused(void **state)
{
	struct fx *f = *state;
	const uint32_t list_refs[3] = { f->e.qring_ref[0], f->e.qring_ref[1],
					f->e.ring_ref };

	for (unsigned int r = 0; r < 3; r++) {
		struct xen_netif_gref *l = r < 2 ?
			(struct xen_netif_gref *)(f->e.qring + r * SN_PAGE_SIZE) :
			NULL;

		if (l)
			l[0] = (struct xen_netif_gref){ .ref = f->ref[0] };
		assert_int_equal(env_call(&f->e, T_ADD, 0, list_refs[r], 1, NULL),
				 INVAL);
		assert_int_equal(get_free(f, 0), MAX);
		assert_false(env_pinned(&f->e, f->ref[0]));
	}
}

static void ring_page_add_entry_refused(void **state)
{
	struct fx *f = *state;
	const uint32_t ring[3] = { f->e.qring_ref[0], f->e.qring_ref[1],
				   f->e.ring_ref };

	for (unsigned int r = 0; r < 3; r++) {
		uint32_t refs[2] = { f->ref[0], ring[r] };

		/* All or nothing: the good entry is not added either. */
		assert_int_equal(add(f, 1, 2, refs, NULL), INVAL);
		assert_int_equal(get_free(f, 1), MAX);
		assert_false(env_pinned(&f->e, f->ref[0]));
		assert_null(sn_gref_table_get(f->e.tables[1], ring[r], true));
	}
	/* The ring pages stay mapped once, by their own users only. */
	assert_false(env_pinned(&f->e, f->e.qring_ref[0]));
	assert_false(env_pinned(&f->e, f->e.qring_ref[1]));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(get_reports_max_whatever_the_table_holds, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(get_bad_queue_is_invalid_parameter, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_maps_entries_usable_by_the_datapath, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_readonly_grant_without_flag_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_add_bad_queue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_add_count_zero_or_above_512, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_add_size_times_count_overflow, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_list_straddling_the_page_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_add_duplicate_in_list_changes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(xsa270_add_already_present_changes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_unmappable_entry_changes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_unreadable_list_page_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(add_table_full_changes_nothing, fx_setup_small, fx_teardown),
		cmocka_unit_test_setup_teardown(add_512_entries_full_page, fx_setup_big, fx_teardown),
		cmocka_unit_test_setup_teardown(del_writes_every_entry_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(del_duplicate_in_list_removes_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(del_bad_request_writes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(del_readonly_list_page_removes_nothing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(staging_off_answers_not_supported, fx_setup_off, fx_teardown),
		cmocka_unit_test_setup_teardown(teardown_unmaps_everything, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(destroy_with_staged_entries_unmaps_everything, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(ring_page_del_list_on_ctrl_ring_refused, fx_setup_rings, fx_teardown),
		cmocka_unit_test_setup_teardown(ring_page_del_list_on_queue_ring_refused, fx_setup_rings, fx_teardown),
		cmocka_unit_test_setup_teardown(ring_page_add_list_on_ring_refused, fx_setup_rings, fx_teardown),
		cmocka_unit_test_setup_teardown(ring_page_add_entry_refused, fx_setup_rings, fx_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
