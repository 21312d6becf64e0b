/* Persist flags (README "Persist flags") in the real netback against a
 * crafted frontend that writes request-persistent-grefs and flags its own
 * TX requests (SN_NETTXF_persist) and RX requests (SN_NETRXF_persist in the
 * padding): first sight maps, later use memcpys with no grant operation,
 * a slot without the flag unmaps before its response is published, the
 * last slot of a batch decides, a full table sends slots down the grant
 * path, and a backend that did not agree ignores flags and padding.  Each
 * queue's table is its own (two tables, one gref). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/main.h"
#include "common/peer_front.h"
#include "plat/emu/emu.h"

#include <xen/io/xenbus.h>

struct snap {
	uint64_t copies, maps, unmaps, staged, pmaps, punmaps, pfull, prefused;
};

static struct snap snap(struct h_ctx *t)
{
	return (struct snap){
		.copies = h_stat(t, 0, SN_QS_grant_copies),
		.maps = h_stat(t, 0, SN_QS_grant_maps),
		.unmaps = h_stat(t, 0, SN_QS_grant_unmaps),
		.staged = h_stat(t, 0, SN_QS_staged_slots),
		.pmaps = h_stat(t, 0, SN_QS_persist_maps),
		.punmaps = h_stat(t, 0, SN_QS_persist_unmaps),
		.pfull = h_stat(t, 0, SN_QS_persist_table_full),
		.prefused = h_stat(t, 0, SN_QS_persist_refused),
	};
}

/* Does the backend hold a mapping of one of our grants? */
static bool fe_pinned(struct h_ctx *t, uint32_t ref)
{
	struct sn_emu *fe = (struct sn_emu *)t->fplat;

	return __atomic_load_n(&fe->gt.entries[ref].flags, __ATOMIC_SEQ_CST) &
	       (GTF_reading | GTF_writing);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 29 + i * 7 + 3);
}

/* Connect devid 0 asking for persist flags (or not). */
static void connect(struct h_ctx *t, struct h_fe *fe, bool request)
{
	memset(&t->fe_keys, 0, sizeof(t->fe_keys));
	t->fe_keys.k[SN_PEER_REQUEST_PERSIST] = request ? SN_PEER_ON : SN_PEER_OMIT;
	h_fe_connect(t, fe, 0);
	memset(&t->fe_keys, 0, sizeof(t->fe_keys));
}

/* One 64-byte packet per entry of page[], packet i at offset 128 + 128 i, each with
 * its own flag, all published by one push (so one backend batch); every
 * response OKAY and every packet delivered byte-exact. */
static void tx_round(struct h_ctx *t, struct h_fe *fe, unsigned int n,
		     const unsigned int *page, const bool *flag, unsigned int seed)
{
	int16_t st[1024];

	h_caps_clear(t);
	for (unsigned int i = 0; i < n; i++) {
		/* Own bytes per packet even where packets share a page. */
		uint16_t off = (uint16_t)(128 + i * 128);

		fill(fe->data + page[i] * SN_PAGE_SIZE + off, 64, seed + i);
		h_tx_req(fe, fe->data_ref[page[i]], off,
			 flag[i] ? SN_NETTXF_persist : 0, (uint16_t)(100 + i), 64);
	}
	h_tx_push(fe);
	assert_int_equal(h_tx_collect(fe, n, st), 0);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(st[100 + i], NETIF_RSP_OKAY);
	assert_true(h_wait_caps(t, n));
	pthread_mutex_lock(&t->b.sh.lock);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t want[64];

		fill(want, sizeof(want), seed + i);
		assert_int_equal(t->b.sh.caps[i].len, 64);
		assert_memory_equal(t->b.sh.caps[i].data, want, 64);
	}
	pthread_mutex_unlock(&t->b.sh.lock);
}

static void post_rx(struct h_fe *fe, uint32_t gref, uint16_t id, uint16_t pad)
{
	struct netif_rx_request r = { .id = id, .pad = pad, .gref = gref };

	sn_rx_front_put_req(&fe->rx, &r);
	if (sn_rx_front_push(&fe->rx))
		fe->t->fplat->ops->evt_notify(fe->evt, (sn_port_t)fe->port);
}

/* n RX buffers (pages page0.., each with pad), n 64-byte packets injected,
 * every one landing byte-exact in its buffer. */
static void rx_round(struct h_ctx *t, struct h_fe *fe, unsigned int n,
		     unsigned int page0, uint16_t pad, unsigned int seed)
{
	for (unsigned int i = 0; i < n; i++)
		post_rx(fe, fe->rx_ref_tab[page0 + i], (uint16_t)(200 + i), pad);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t pkt[64];

		fill(pkt, sizeof(pkt), seed + i);
		h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	}
	assert_int_equal(h_rx_wait(fe, n), n);
	for (unsigned int i = 0; i < n; i++) {
		struct netif_rx_response rsp;
		uint8_t want[64];

		h_rx_rsp(fe, i, &rsp);
		assert_int_equal(rsp.id, 200 + i);
		assert_int_equal(rsp.status, 64);
		fill(want, sizeof(want), seed + i);
		assert_memory_equal(fe->rxbuf + (size_t)(page0 + i) * SN_PAGE_SIZE + rsp.offset,
				    want, 64);
	}
	fe->rx.rsp_cons += n;
}

static bool be_key_is(struct h_ctx *t, const char *key, const char *val)
{
	char dir[64];
	char *v;
	bool ok;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vif/%u/0", H_FE_DOMID);
	v = h_xs_r(t->fplat, dir, key);
	ok = v && !strcmp(v, val);
	free(v);
	return ok;
}

static const unsigned int pages4[] = { 0, 1, 2, 3 };
static const bool on4[] = { true, true, true, true };

/* The headline: first sight maps once per gref, after that 64-byte TX and
 * RX do no grant operation at all; disconnect unmaps everything. */
static void persist_64_steady_state_no_grant_ops(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;
	struct snap a, b;
	uint32_t maps0;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	assert_true(be_key_is(t, "feature-persistent-grefs", "1"));
	maps0 = h_back_maps(t);
	a = snap(t);
	tx_round(t, &fe, 4, pages4, on4, 1);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 4);
	assert_int_equal(b.maps - a.maps, 4);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(b.staged - a.staged, 4);
	assert_int_equal(h_back_maps(t), maps0 + 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_true(fe_pinned(t, fe.data_ref[i]));

	for (unsigned int r = 0; r < 3; r++) {
		a = snap(t);
		tx_round(t, &fe, 4, pages4, on4, 10 + r * 4);
		b = snap(t);
		assert_int_equal(b.copies - a.copies, 0);
		assert_int_equal(b.maps - a.maps, 0);
		assert_int_equal(b.unmaps - a.unmaps, 0);
		assert_int_equal(b.staged - a.staged, 4);
	}

	a = snap(t);
	rx_round(t, &fe, 4, 0, SN_NETRXF_persist, 50);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 4);
	assert_int_equal(b.copies - a.copies, 0);
	for (unsigned int r = 0; r < 3; r++) {
		a = snap(t);
		rx_round(t, &fe, 4, 0, SN_NETRXF_persist, 60 + r * 4);
		b = snap(t);
		assert_int_equal(b.copies - a.copies, 0);
		assert_int_equal(b.maps - a.maps, 0);
		assert_int_equal(b.unmaps - a.unmaps, 0);
		assert_int_equal(b.staged - a.staged, 4);
	}
	assert_int_equal(h_back_maps(t), maps0 + 8);
	/* h_fe_free asserts every grant revocable: nothing left mapped. */
	h_fe_close(&fe);
	h_back_stop(t);
}

/* A slot without the flag on a persisted gref: served through the
 * mapping, then unmapped before its response is published (the frontend
 * may end the grant as soon as it sees the answer). */
static void flag_dropped_unmaps_before_response(void **state)
{
	struct h_ctx *t = *state;
	static const unsigned int p[] = { 5 };
	static const bool on[] = { true }, off[] = { false };
	struct h_fe fe;
	struct snap a, b;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	tx_round(t, &fe, 1, p, on, 1);
	assert_true(fe_pinned(t, fe.data_ref[5]));
	a = snap(t);
	tx_round(t, &fe, 1, p, off, 2);
	/* tx_round returned once the response was visible. */
	assert_false(fe_pinned(t, fe.data_ref[5]));
	b = snap(t);
	assert_int_equal(b.punmaps - a.punmaps, 1);
	assert_int_equal(b.unmaps - a.unmaps, 1);
	assert_int_equal(b.staged - a.staged, 1);
	assert_int_equal(b.copies - a.copies, 0);
	/* Unflagged again: the normal path, nothing to unmap. */
	a = snap(t);
	tx_round(t, &fe, 1, p, off, 3);
	b = snap(t);
	assert_int_equal(b.punmaps - a.punmaps, 0);
	assert_int_equal(b.copies - a.copies, 1);
	/* Flagged again: a new first sight. */
	a = snap(t);
	tx_round(t, &fe, 1, p, on, 4);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 1);
	assert_true(fe_pinned(t, fe.data_ref[5]));

	/* RX: the same rule through the padding flag. */
	rx_round(t, &fe, 1, 9, SN_NETRXF_persist, 5);
	assert_true(fe_pinned(t, fe.rx_ref_tab[9]));
	a = snap(t);
	rx_round(t, &fe, 1, 9, 0, 6);
	assert_false(fe_pinned(t, fe.rx_ref_tab[9]));
	b = snap(t);
	assert_int_equal(b.punmaps - a.punmaps, 1);
	assert_int_equal(b.staged - a.staged, 1);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* The flag dropped while the same gref is in flight on other slots of the
 * batch: every slot is served through the mapping, the unmap waits for the
 * batch, and the last slot naming the gref decides. */
static void flag_dropped_in_flight_last_slot_decides(void **state)
{
	struct h_ctx *t = *state;
	static const unsigned int g3[] = { 7, 7, 7 }, g2[] = { 7, 7 };
	static const bool on_off_on[] = { true, false, true }, on_off[] = { true, false };
	struct h_fe fe;
	struct snap a, b;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	a = snap(t);
	tx_round(t, &fe, 3, g3, on_off_on, 1);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 1);
	assert_int_equal(b.punmaps - a.punmaps, 0);
	assert_int_equal(b.staged - a.staged, 3);
	assert_true(fe_pinned(t, fe.data_ref[7]));

	a = snap(t);
	tx_round(t, &fe, 2, g2, on_off, 10);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 0);
	assert_int_equal(b.punmaps - a.punmaps, 1);
	assert_int_equal(b.staged - a.staged, 2);
	assert_int_equal(b.copies - a.copies, 0);
	assert_false(fe_pinned(t, fe.data_ref[7]));
	h_fe_close(&fe);
	h_back_stop(t);
}

/* A full table is never an error: the slot takes the grant path. */
static void table_full_takes_grant_path(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = 4 };
	static const unsigned int p8[] = { 20, 21, 22, 23, 24, 25, 26, 27 };
	static const bool on8[] = { true, true, true, true, true, true, true, true };
	struct h_fe fe;
	struct snap a, b;

	h_back_start(t, &cfg);
	connect(t, &fe, true);
	a = snap(t);
	tx_round(t, &fe, 8, p8, on8, 1);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 4);
	assert_int_equal(b.pfull - a.pfull, 4);
	assert_int_equal(b.copies - a.copies, 4);
	assert_int_equal(b.staged - a.staged, 4);
	assert_int_equal(h_stat(t, 0, SN_QS_tx_drop_grant), 0);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* No agreement, no flags: a backend that does not offer the feature (as an
 * old one) and a frontend that did not ask both leave the TX bit and the
 * RX padding unread; traffic is byte-exact on the grant path. */
static void check_ignored(struct h_ctx *t, struct h_fe *fe)
{
	struct snap a, b;

	a = snap(t);
	tx_round(t, fe, 4, pages4, on4, 1);
	/* Garbage in the padding, as Linux netfront leaves there. */
	rx_round(t, fe, 4, 0, 0xffff, 20);
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 0);
	assert_int_equal(b.maps - a.maps, 0);
	assert_int_equal(b.staged - a.staged, 0);
	assert_int_equal(b.copies - a.copies, 8);
	assert_false(fe_pinned(t, fe->data_ref[0]));
	assert_false(fe_pinned(t, fe->rx_ref_tab[0]));
}

static void backend_without_feature_ignores_flags(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .persist_off = true };
	struct h_fe fe;

	h_back_start(t, &cfg);
	connect(t, &fe, true);
	assert_true(be_key_is(t, "feature-persistent-grefs", "0"));
	check_ignored(t, &fe);
	h_fe_close(&fe);
	h_back_stop(t);
}

static void frontend_without_request_flags_ignored(void **state)
{
	struct h_ctx *t = *state;
	struct h_fe fe;

	h_back_start(t, NULL);
	connect(t, &fe, false);
	assert_true(be_key_is(t, "feature-persistent-grefs", "1"));
	check_ignored(t, &fe);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* One gref persisted on two queues: each queue's table maps it on its own,
 * and dropping the flag on one queue unmaps only that queue's mapping (the
 * grant stays pinned until the other queue drops it too).  Driven through
 * the table API: the crafted frontend has one queue. */
static void same_gref_two_queues_independent(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_gref_table *q0, *q1;
	struct sn_gref_ent *e0, *e1;
	struct h_fe fe;
	uint32_t ref, maps0;

	h_back_start(t, NULL);
	connect(t, &fe, false);
	ref = fe.data_ref[40];
	maps0 = h_back_maps(t);
	assert_int_equal(sn_gref_table_create(t->bplat, H_FE_DOMID, 8, &q0), 0);
	assert_int_equal(sn_gref_table_create(t->bplat, H_FE_DOMID, 8, &q1), 0);
	assert_int_equal(sn_gref_table_persist(q0, ref, false, &e0), 0);
	assert_int_equal(sn_gref_table_persist(q1, ref, false, &e1), 0);
	assert_ptr_not_equal(e0->addr, e1->addr);
	assert_memory_equal(e0->addr, e1->addr, SN_PAGE_SIZE);
	sn_gref_table_put(e0);
	sn_gref_table_put(e1);
	assert_int_equal(h_back_maps(t), maps0 + 2);
	/* A second first sight on the same queue is refused (one entry). */
	assert_int_equal(sn_gref_table_persist(q0, ref, false, &e0), -EEXIST);

	/* Queue 0 sees the gref without the flag. */
	e0 = sn_gref_table_get(q0, ref, false);
	assert_non_null(e0);
	assert_true(sn_gref_table_retire_mark(q0, e0));
	/* In flight: the flush must not unmap under the reference. */
	assert_int_equal(sn_gref_table_retire_flush(q0), 0);
	sn_gref_table_put(e0);
	assert_int_equal(sn_gref_table_retire_flush(q0), 1);
	assert_null(sn_gref_table_get(q0, ref, false));
	assert_int_equal(h_back_maps(t), maps0 + 1);
	assert_true(fe_pinned(t, ref));
	e1 = sn_gref_table_get(q1, ref, false);
	assert_non_null(e1);
	assert_true(sn_gref_table_retire_mark(q1, e1));
	sn_gref_table_put(e1);
	assert_int_equal(sn_gref_table_retire_flush(q1), 1);
	assert_false(fe_pinned(t, ref));
	assert_int_equal(h_back_maps(t), maps0);
	sn_gref_table_destroy(q0);
	sn_gref_table_destroy(q1);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* ---- hostile frontends (README "Security model" rows persist_*) -------- */

/* A new gref flagged on every packet: the table fills, then every slot
 * takes the grant path; nothing fails, the mappings stay bounded by the
 * table and are all gone after disconnect (h_fe_free revokes each). */
static void persist_new_gref_every_packet_bounded(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = 16 };
	unsigned int page[30];
	bool on[30];
	struct h_fe fe;
	struct snap a, b;
	uint32_t maps0;

	h_back_start(t, &cfg);
	connect(t, &fe, true);
	maps0 = h_back_maps(t);
	a = snap(t);
	for (unsigned int r = 0; r < 10; r++) {
		for (unsigned int i = 0; i < 30; i++) {
			page[i] = r * 30 + i;
			on[i] = true;
		}
		tx_round(t, &fe, 30, page, on, r * 30);
		assert_true(h_back_maps(t) <= maps0 + 16);
	}
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 16);
	assert_int_equal(b.pfull - a.pfull, 300 - 16);
	assert_int_equal(b.copies - a.copies, 300 - 16);
	assert_int_equal(h_back_maps(t), maps0 + 16);
	assert_int_equal(h_stat(t, 0, SN_QS_tx_drop_grant), 0);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* The flag flipped on and off for one gref, batch after batch: a map and
 * an unmap per pair, counted, every packet delivered, nothing left. */
static void persist_flag_flip_same_gref(void **state)
{
	struct h_ctx *t = *state;
	static const unsigned int p[] = { 60 };
	struct h_fe fe;
	struct snap a, b;
	uint32_t maps0;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	maps0 = h_back_maps(t);
	a = snap(t);
	for (unsigned int r = 0; r < 100; r++) {
		const bool on[] = { r % 2 == 0 };

		tx_round(t, &fe, 1, p, on, r);
	}
	b = snap(t);
	assert_int_equal(b.pmaps - a.pmaps, 50);
	assert_int_equal(b.punmaps - a.punmaps, 50);
	assert_int_equal(b.copies - a.copies, 0);
	assert_int_equal(h_back_maps(t), maps0);
	assert_false(fe_pinned(t, fe.data_ref[60]));
	h_fe_close(&fe);
	h_back_stop(t);
}

/* Persist a ref, then try to revoke it: the grant is pinned while the
 * backend holds it (the frontend cannot pull the page away), the flag
 * dropped releases it, and a flagged slot naming the now revoked ref is
 * refused, answered ERROR, and the vif keeps working. */
static void persist_then_revoke(void **state)
{
	struct h_ctx *t = *state;
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe fe;
	struct snap a, b;
	int16_t st[1024];
	uint32_t ref;
	uint8_t *page;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	page = fe.data + 70 * SN_PAGE_SIZE;
	assert_int_equal(ops->shr_grant(t->fplat, 0, page, false, &ref), 0);
	fill(page, 64, 1);
	h_tx_req(&fe, ref, 0, SN_NETTXF_persist, 1, 64);
	h_tx_push(&fe);
	h_tx_collect(&fe, 1, st);
	assert_int_equal(st[1], NETIF_RSP_OKAY);
	assert_int_equal(ops->shr_revoke(t->fplat, ref), -EBUSY);
	/* Still served through the mapping. */
	h_tx_req(&fe, ref, 0, SN_NETTXF_persist, 2, 64);
	h_tx_req(&fe, ref, 0, 0, 3, 64);
	h_tx_push(&fe);
	h_tx_collect(&fe, 2, st);
	assert_int_equal(st[2], NETIF_RSP_OKAY);
	assert_int_equal(st[3], NETIF_RSP_OKAY);
	assert_int_equal(ops->shr_revoke(t->fplat, ref), 0);
	a = snap(t);
	h_tx_req(&fe, ref, 0, SN_NETTXF_persist, 4, 64);
	h_tx_push(&fe);
	h_tx_collect(&fe, 1, st);
	assert_int_equal(st[4], NETIF_RSP_ERROR);
	b = snap(t);
	assert_int_equal(b.prefused - a.prefused, 1);
	assert_int_equal(b.pmaps - a.pmaps, 0);
	assert_int_equal(h_be_state(t, 0), XenbusStateConnected);
	tx_round(t, &fe, 4, pages4, on4, 9);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* The vif's own ring pages flagged as buffers: never persisted (the
 * backend would take packet bytes over ring slots), counted; RX refuses
 * the slot as it does without the flag. */
static void persist_ring_pages_refused(void **state)
{
	struct h_ctx *t = *state;
	struct netif_rx_response rsp;
	struct h_fe fe;
	struct snap a, b;
	int16_t st[1024];
	uint8_t pkt[64];
	uint32_t maps0;

	h_back_start(t, NULL);
	connect(t, &fe, true);
	maps0 = h_back_maps(t);
	a = snap(t);
	h_tx_req(&fe, fe.tx_ref, 0, SN_NETTXF_persist, 1, 64);
	h_tx_req(&fe, fe.rx_ref, 0, SN_NETTXF_persist, 2, 64);
	h_tx_push(&fe);
	h_tx_collect(&fe, 2, st);
	post_rx(&fe, fe.rx_ref, 3, SN_NETRXF_persist);
	fill(pkt, sizeof(pkt), 3);
	h_inject(t, pkt, sizeof(pkt), 0, 0, 0);
	assert_int_equal(h_rx_wait(&fe, 1), 1);
	h_rx_rsp(&fe, 0, &rsp);
	assert_int_equal(rsp.id, 3);
	assert_int_equal(rsp.status, NETIF_RSP_ERROR);
	fe.rx.rsp_cons++;
	b = snap(t);
	assert_int_equal(b.prefused - a.prefused, 3);
	assert_int_equal(b.pmaps - a.pmaps, 0);
	assert_int_equal(h_back_maps(t), maps0);
	assert_int_equal(h_be_state(t, 0), XenbusStateConnected);
	tx_round(t, &fe, 4, pages4, on4, 9);
	h_fe_close(&fe);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(persist_64_steady_state_no_grant_ops),
		cmocka_unit_test(flag_dropped_unmaps_before_response),
		cmocka_unit_test(flag_dropped_in_flight_last_slot_decides),
		cmocka_unit_test(table_full_takes_grant_path),
		cmocka_unit_test(backend_without_feature_ignores_flags),
		cmocka_unit_test(frontend_without_request_flags_ignored),
		cmocka_unit_test(same_gref_two_queues_independent),
		cmocka_unit_test(persist_new_gref_every_packet_bounded),
		cmocka_unit_test(persist_flag_flip_same_gref),
		cmocka_unit_test(persist_then_revoke),
		cmocka_unit_test(persist_ring_pages_refused),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
