/* The netfront control-ring client and staging pool against a crafted
 * backend domain: GET/ADD/DEL sequences, out-of-order and lying answers,
 * fallback said once and counted, zeroed pool pages (XSA-403), and a
 * teardown that never frees a page the backend still holds (XSA-396). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "front/ctrl.h"
#include "front/staging.h"
#include "plat/late_eoi.h"
#include "proto/slots.h"
#include "common/main.h"
#include "common/peer_back_ctrl.h"
#include "common/toolstack.h"

#define RAM_PAGES 4096u

struct tctx {
	struct sn_plat *fe, *be;
	struct sn_front_ctrl *c;
	struct tback b;
	char fe_path[128];
};

static int ctx_setup(void **state)
{
	static uint16_t next = 2;
	struct tctx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->be = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = RAM_PAGES });
	t->fe = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = RAM_PAGES });
	snprintf(t->fe_path, sizeof(t->fe_path), "/local/domain/%u/device/vif/0", t->fe->domid);
	/* The toolstack makes the frontend's device directory. */
	sn_test_toolstack(&(struct sn_test_ts_dir){ .path = t->fe_path, .owner = t->fe->domid,
						    .peer = t->be->domid }, 1, NULL, 0);
	*state = t;
	return 0;
}

static int ctx_teardown(void **state)
{
	struct tctx *t = *state;

	tb_stop(&t->b);
	sn_front_ctrl_close(t->c);
	sn_plat_close(t->fe);
	sn_plat_close(t->be);
	free(t);
	return 0;
}

/* Open the client, publish its keys in one transaction as the handshake
 * does, and start the crafted backend on them (configured beforehand in
 * t->b). */
static void start(struct tctx *t, int timeout_ms)
{
	xs_transaction_t xt;
	int rc;

	assert_int_equal(sn_front_ctrl_open(t->fe, t->be->domid, timeout_ms, NULL, &t->c), 0);
	do {
		assert_int_equal(t->fe->ops->xs_txn_start(t->fe, &xt), 0);
		assert_int_equal(sn_front_ctrl_write_keys(t->c, xt, t->fe_path), 0);
		rc = t->fe->ops->xs_txn_end(t->fe, xt, false);
	} while (rc == -EAGAIN);
	assert_int_equal(rc, 0);
	tb_start(&t->b, t->be, t->fe->domid, t->fe_path);
}

static uint64_t stray(struct tctx *t)
{
	struct sn_front_ctrl_stats st;

	sn_front_ctrl_get_stats(t->c, &st);
	return st.stray;
}

/* ---- control ring client ---------------------------------------------- */

static void ctrl_keys_and_get(void **state)
{
	struct tctx *t = *state;
	uint32_t size = 0, status = 99;

	t->b.max = 77;
	t->b.nq = 2;
	start(t, 0);
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 1, &size, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(size, 77);
	/* Bad queue: the backend's status comes through unchanged. */
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 2, &size, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	/* Unknown to this backend: NOT_SUPPORTED, not a transport error. */
	assert_int_equal(sn_front_ctrl_call(t->c, 42, 0, 0, 0, &status, NULL), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	assert_int_equal(t->b.n_get, 2);
	assert_false(sn_front_ctrl_broken(t->c));
}

/* Hash helpers: algorithm, flags, and the key and mapping carried in the
 * granted scratch page, as the backend copies them out. */
static void ctrl_hash_config_reaches_backend(void **state)
{
	struct tctx *t = *state;
	uint8_t key[40];
	uint32_t map[1500], status = 99, v = 0, i;

	t->b.max = 0; /* no GREF mapping: hash messages still work */
	start(t, 0);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x6d + i * 7);
	for (i = 0; i < 1500; i++)
		map[i] = i % 4;
	assert_int_equal(sn_front_ctrl_hash_get_flags(t->c, &v, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
	assert_int_equal(sn_front_ctrl_hash_set_alg(t->c, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,
						    &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(sn_front_ctrl_hash_get_flags(t->c, &v, &status), 0);
	assert_int_equal(v, 0xf);
	assert_int_equal(sn_front_ctrl_hash_set_flags(t->c, 0x5, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(t->b.hash_flags, 0x5);
	assert_int_equal(sn_front_ctrl_hash_set_key(t->c, key, sizeof(key), &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(t->b.hash_key_len, 40);
	assert_memory_equal(t->b.hash_key, key, 40);
	/* Too long for this backend: its status comes back unchanged. */
	assert_int_equal(sn_front_ctrl_hash_set_key(t->c, (const uint8_t *)map, 100, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
	assert_int_equal(sn_front_ctrl_hash_get_mapping_size(t->c, &v, &status), 0);
	assert_int_equal(v, TB_HASH_MAP_MAX);
	assert_int_equal(sn_front_ctrl_hash_set_mapping_size(t->c, 1600, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	/* 1500 entries at offset 100: one full page (1024) and the rest. */
	assert_int_equal(sn_front_ctrl_hash_set_mapping(t->c, map, 1500, 100, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(t->b.hash_map_msgs, 2);
	assert_memory_equal(t->b.hash_map + 100, map, sizeof(map));
	assert_int_equal(t->b.hash_map[99], 0);
	/* Past the end: refused, and the first refusal is what we see. */
	assert_int_equal(sn_front_ctrl_hash_set_mapping(t->c, map, 1500, 200, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
}

static void ctrl_out_of_order_answers_match_by_id(void **state)
{
	struct tctx *t = *state;
	struct sn_front_ctrl_op ops[3];
	unsigned int i;

	t->b.max = 10;
	t->b.nq = 3;
	t->b.mode = TB_REVERSE;
	t->b.batch = 3;
	start(t, 0);
	for (i = 0; i < 3; i++)
		ops[i] = (struct sn_front_ctrl_op){
			.type = XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, .data = { i, 0, 0 } };
	assert_int_equal(sn_front_ctrl_batch(t->c, ops, 3), 0);
	for (i = 0; i < 3; i++) {
		assert_true(ops[i].answered);
		assert_int_equal(ops[i].status, XEN_NETIF_CTRL_STATUS_SUCCESS);
		/* The reverse-order backend answers queue q with 100 + q. */
		assert_int_equal(ops[i].rsp_data, 100 + i);
	}
	assert_int_equal(stray(t), 0);
}

static void ctrl_unknown_id_ignored_counted_then_recovers(void **state)
{
	struct tctx *t = *state;
	uint32_t size = 0, status = 99;

	t->b.max = 10;
	t->b.mode = TB_BAD_ID;
	start(t, 200);
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -ETIMEDOUT);
	assert_int_equal(stray(t), 1);
	assert_false(sn_front_ctrl_broken(t->c));
	/* An honest answer afterwards is taken; the ring stays usable. */
	t->b.mode = TB_HONEST;
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(size, 10);
}

static void ctrl_duplicate_id_ignored_counted(void **state)
{
	struct tctx *t = *state;
	struct sn_front_ctrl_op ops[2] = {
		{ .type = XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE },
		{ .type = XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE },
	};

	t->b.max = 10;
	t->b.mode = TB_DUP;
	t->b.batch = 2;
	start(t, 200);
	assert_int_equal(sn_front_ctrl_batch(t->c, ops, 2), -ETIMEDOUT);
	assert_true(ops[0].answered);
	assert_false(ops[1].answered);
	assert_int_equal(stray(t), 1);
}

static void ctrl_late_answer_is_stray(void **state)
{
	struct tctx *t = *state;
	uint32_t size = 0, status = 99;

	t->b.max = 10;
	t->b.mode = TB_REVERSE; /* waits for 2 requests before answering */
	t->b.batch = 2;
	start(t, 150);
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -ETIMEDOUT);
	/* The second request releases both answers: the first one is late
	 * (its exchange is over) and must not be taken for the second. */
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), 0);
	assert_int_equal(status, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(stray(t), 1);
}

static void ctrl_lying_backend_is_an_error(void **state)
{
	static const enum tb_mode modes[] = { TB_WRONG_TYPE, TB_BAD_STATUS, TB_OVERFLOW };
	struct tctx *t = *state;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		uint32_t size = 0, status = 99;

		memset(&t->b, 0, sizeof(t->b));
		t->b.max = 10;
		t->b.mode = modes[i];
		start(t, 500);
		assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -EPROTO);
		assert_true(sn_front_ctrl_broken(t->c));
		/* Once broken, no more requests go out. */
		assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -EIO);
		tb_stop(&t->b);
		sn_front_ctrl_close(t->c);
		t->c = NULL;
	}
}

static void ctrl_silent_backend_times_out(void **state)
{
	struct tctx *t = *state;
	uint32_t size = 0, status = 99;
	struct sn_front_ctrl_stats st;

	t->b.max = 10;
	t->b.mode = TB_SILENT;
	start(t, 100);
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -ETIMEDOUT);
	sn_front_ctrl_get_stats(t->c, &st);
	assert_int_equal(st.timeouts, 1);
}

struct ctrl_storm {
	struct tback *b;
	pthread_t th;
	int stop;
};

static void *ctrl_storm_main(void *arg)
{
	struct ctrl_storm *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		s->b->p->ops->evt_notify(s->b->evt, (sn_port_t)s->b->port);
	return NULL;
}

/* Late EOI on the control client: a backend that never answers and kicks
 * the control channel in a tight loop while a request waits.  Past
 * SN_EVT_SPURIOUS_THRESHOLD wake-ups in a row with no response the
 * channel stays masked (throttled counts every spurious event past the
 * threshold), so the wait costs a bounded number of wake-ups, and the
 * request still times out on time and alone. */
static void ctrl_storm_while_waiting_throttled(void **state)
{
	struct tctx *t = *state;
	struct ctrl_storm s = { .b = &t->b };
	uint32_t size = 0, status = 99;
	struct sn_front_ctrl_stats st;

	t->b.max = 10;
	t->b.mode = TB_SILENT;
	start(t, 300);
	assert_int_equal(pthread_create(&s.th, NULL, ctrl_storm_main, &s), 0);
	assert_int_equal(sn_front_ctrl_gref_size(t->c, 0, &size, &status), -ETIMEDOUT);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(s.th, NULL);
	sn_front_ctrl_get_stats(t->c, &st);
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "spurious %llu throttled %llu\n",
			(unsigned long long)st.spurious, (unsigned long long)st.throttled);
	assert_int_equal(st.timeouts, 1);
	assert_true(st.spurious > SN_EVT_SPURIOUS_THRESHOLD);
	if (st.throttled + SN_EVT_SPURIOUS_THRESHOLD < st.spurious)
		fail_msg("%llu spurious wake-ups, %llu throttled: the storm is not held off",
			 (unsigned long long)st.spurious, (unsigned long long)st.throttled);
	assert_false(sn_front_ctrl_broken(t->c));
}

/* ---- staging pool ------------------------------------------------------ */

static void staging_page_pool_get_add_del(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s = NULL;
	struct sn_qstats qs = { 0 };
	uint32_t i;

	t->b.max = 100;
	t->b.nq = 2;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 1, &cfg, &qs, &s), 0);
	assert_non_null(s);
	assert_int_equal(s->npages, 8);
	assert_int_equal(t->b.n_get, 1);
	assert_int_equal(t->b.n_add, 1);
	assert_int_equal(tb_count(&t->b), 8);
	/* Half the pages for RX (writable), the rest TX (read-only). */
	assert_int_equal(t->b.add_rw, 4);
	assert_int_equal(t->b.add_ro, 4);
	assert_int_equal(s->tx_total, 4);
	assert_int_equal(s->rx_total, 4);
	/* XSA-403: the backend saw only zeroes in every page it mapped. */
	assert_true(t->b.zero_ok);
	for (i = 0; i < s->npages; i++)
		assert_true(tb_has(&t->b, s->pages[i].gref));
	assert_int_equal(qs.v[SN_QS_ctrl_requests], 2);
	assert_int_equal(qs.v[SN_QS_ctrl_errors], 0);

	assert_int_equal(sn_front_staging_destroy(s, false), 0);
	assert_int_equal(t->b.n_del, 1);
	assert_int_equal(tb_count(&t->b), 0);
}

static void staging_pool_is_min_of_get_and_config(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 64 };
	struct sn_front_staging *s = NULL;

	t->b.max = 5;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	assert_int_equal(s->npages, 5);
	assert_int_equal(s->rx_total, 2);
	assert_int_equal(s->tx_total, 3);
	assert_int_equal(tb_count(&t->b), 5);
	assert_int_equal(sn_front_staging_destroy(s, false), 0);
	assert_int_equal(tb_count(&t->b), 0);
}

static void set_get_free(struct tctx *t, bool get_free)
{
	pthread_mutex_lock(&t->b.lock);
	t->b.get_free = get_free;
	pthread_mutex_unlock(&t->b.lock);
}

/* GET_GREF_MAPPING_SIZE read as netif.h says (the table's maximum) or as
 * older stagenet backends answered (its free entries).  On the empty table
 * a connection starts with, both size the pool alike.  With entries left
 * over, the free reading shrinks the pool; the maximum makes the
 * all-or-nothing ADD fail, and the queue goes without staging, nothing
 * added, nothing leaked. */
static void staging_sizes_from_max_or_free_reading(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct sn_qstats qs = { 0 };

	t->b.max = 12;
	start(t, 0);
	/* Empty table, maximum reading. */
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, &qs, &s1), 0);
	assert_int_equal(s1->npages, 8);
	assert_int_equal(tb_count(&t->b), 8);
	/* 8 left over, maximum reading: 12 answered, 8 asked, 4 free. */
	assert_true(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, &qs, &s2) < 0);
	assert_null(s2);
	assert_int_equal(tb_count(&t->b), 8);
	assert_int_equal(qs.v[SN_QS_ctrl_errors], 1);
	/* Free reading: the pool takes what is left. */
	set_get_free(t, true);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, &qs, &s3), 0);
	assert_int_equal(s3->npages, 4);
	assert_int_equal(tb_count(&t->b), 12);
	assert_int_equal(sn_front_staging_destroy(s3, false), 0);
	assert_int_equal(sn_front_staging_destroy(s1, false), 0);
	assert_int_equal(tb_count(&t->b), 0);
	/* Empty table, free reading: the same pool as the maximum gave. */
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, &qs, &s1), 0);
	assert_int_equal(s1->npages, 8);
	assert_int_equal(sn_front_staging_destroy(s1, false), 0);
	assert_int_equal(tb_count(&t->b), 0);
}

static void staging_header_slots_and_datapath(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_HEADER };
	struct sn_front_staging *s = NULL;
	int taken[256], i, j;

	t->b.max = 768;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	/* The proposal's case: 16 grants per ring, 16 slots of 256 B each. */
	assert_int_equal(s->npages, SN_STAGING_HDR_PAGES);
	assert_int_equal(tb_count(&t->b), 16);
	assert_int_equal(t->b.add_ro, 16);
	assert_int_equal(s->tx_total, 256);
	assert_int_equal(s->rx_total, 0);
	assert_int_equal(sn_front_staging_rx_take(s), -1);
	for (i = 0; i < 256; i++) {
		const struct sn_front_stslot *sl;

		taken[i] = sn_front_staging_tx_take(s);
		assert_true(taken[i] >= 0);
		sl = sn_front_staging_slot(s, taken[i]);
		assert_int_equal(sl->off % SN_STAGING_HDR_SLOT, 0);
		assert_true(sl->off + SN_STAGING_HDR_SLOT <= SN_PAGE_SIZE);
		for (j = 0; j < i; j++)
			assert_int_not_equal(taken[j], taken[i]);
	}
	assert_int_equal(sn_front_staging_tx_take(s), -1);
	/* A slot given back is taken again; a double give changes nothing. */
	sn_front_staging_give(s, taken[7]);
	sn_front_staging_give(s, taken[7]);
	assert_int_equal(s->tx_nfree, 1);
	assert_int_equal(sn_front_staging_tx_take(s), taken[7]);
	assert_int_equal(sn_front_staging_tx_take(s), -1);
	for (i = 0; i < 256; i++)
		sn_front_staging_give(s, taken[i]);
	assert_int_equal(s->tx_nfree, 256);
	assert_int_equal(sn_front_staging_destroy(s, false), 0);
	assert_int_equal(tb_count(&t->b), 0);
}

static void staging_add_split_into_512_entry_messages(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 1100 };
	struct sn_front_staging *s = NULL;

	t->b.max = 2000;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	assert_int_equal(s->npages, 1100);
	assert_int_equal(t->b.n_add, 3);
	assert_int_equal(t->b.max_add_count, SN_CTRL_GREFS_PER_PAGE);
	assert_int_equal(tb_count(&t->b), 1100);
	assert_int_equal(s->rx_total, SN_RX_RING_SIZE);
	assert_int_equal(sn_front_staging_destroy(s, false), 0);
	assert_int_equal(t->b.n_del, 3);
	assert_int_equal(tb_count(&t->b), 0);
}

static size_t count_lines(const char *buf)
{
	size_t n = 0;

	for (; buf && *buf; buf++)
		n += *buf == '\n';
	return n;
}

/* The library's log callback, one line per call, into a memstream. */
static void log_to_file(void *arg, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(arg, "%s\n", line);
}

static void staging_not_supported_falls_back_once(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE };
	struct sn_front_staging *pools[4];
	struct sn_front_staging_report rep;
	struct sn_qstats qs[4] = { 0 };
	struct sn_qstats *st[4] = { &qs[0], &qs[1], &qs[2], &qs[3] };
	char *buf = NULL;
	size_t len = 0;
	FILE *log;
	int i;

	t->b.max = 0; /* a `--staging-max 0` backend */
	t->b.nq = 4;
	start(t, 0);
	log = open_memstream(&buf, &len);
	assert_non_null(log);
	sn_front_staging_setup(t->fe, t->c, t->be->domid, 4, &cfg, st, pools,
			       &(struct sn_front_log){ log_to_file, log }, &rep);
	fclose(log);
	assert_int_equal(rep.staged, 0);
	assert_int_equal(rep.fallbacks, 4);
	assert_int_equal(rep.first_err, -EOPNOTSUPP);
	for (i = 0; i < 4; i++)
		assert_null(pools[i]);
	/* The one refused request is counted where it was made. */
	assert_int_equal(qs[0].v[SN_QS_ctrl_errors], 1);
	assert_int_equal(qs[0].v[SN_QS_ctrl_requests], 1);
	assert_int_equal(qs[3].v[SN_QS_ctrl_requests], 0);
	/* Said exactly once, and the backend was asked once, not per queue. */
	assert_int_equal(count_lines(buf), 1);
	assert_non_null(strstr(buf, "NOT_SUPPORTED"));
	assert_int_equal(t->b.n_req, 1);
	assert_int_equal(tb_count(&t->b), 0);
	free(buf);
}

static void staging_add_failure_falls_back_and_rolls_back(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 700 };
	struct sn_front_staging *pools[2];
	struct sn_front_staging_report rep;
	char *buf = NULL;
	size_t len = 0;
	FILE *log;

	t->b.max = 1000;
	t->b.nq = 2;
	t->b.mode = TB_ADD_FAIL;
	t->b.add_fail_at = 1; /* the first 512 go in, the next message fails */
	start(t, 0);
	log = open_memstream(&buf, &len);
	assert_non_null(log);
	sn_front_staging_setup(t->fe, t->c, t->be->domid, 2, &cfg, NULL, pools,
			       &(struct sn_front_log){ log_to_file, log }, &rep);
	fclose(log);
	assert_int_equal(rep.staged, 0);
	assert_int_equal(rep.fallbacks, 2);
	assert_null(pools[0]);
	assert_null(pools[1]);
	assert_int_equal(count_lines(buf), 1);
	/* The 512 that were added are deleted again: nothing stays mapped. */
	assert_true(t->b.n_del >= 1);
	assert_int_equal(tb_count(&t->b), 0);
	free(buf);
}

static void staging_partial_fallback_per_queue(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_HEADER };
	struct sn_front_staging *pools[3];
	struct sn_front_staging_report rep;
	char *buf = NULL;
	size_t len = 0;
	FILE *log;

	t->b.max = 64;
	t->b.nq = 2; /* queue 2 is out of range: INVALID_PARAMETER */
	start(t, 0);
	log = open_memstream(&buf, &len);
	assert_non_null(log);
	sn_front_staging_setup(t->fe, t->c, t->be->domid, 3, &cfg, NULL, pools,
			       &(struct sn_front_log){ log_to_file, log }, &rep);
	fclose(log);
	assert_int_equal(rep.staged, 2);
	assert_int_equal(rep.fallbacks, 1);
	assert_int_equal(rep.first_q, 2);
	assert_non_null(pools[0]);
	assert_non_null(pools[1]);
	assert_null(pools[2]);
	assert_int_equal(count_lines(buf), 1);
	assert_int_equal(sn_front_staging_destroy(pools[0], false), 0);
	assert_int_equal(sn_front_staging_destroy(pools[1], false), 0);
	assert_int_equal(tb_count(&t->b), 0);
	free(buf);
}

/* Allocate single pages until the domain's RAM is exhausted and report
 * whether addr was ever handed out again. */
static bool page_reused(struct sn_plat *p, uint16_t peer, const uint8_t *addr)
{
	void **got = calloc(RAM_PAGES, sizeof(*got));
	uint32_t n = 0, i, ref;
	bool reused = false;

	assert_non_null(got);
	while (n < RAM_PAGES && p->ops->shr_alloc(p, peer, 1, false, &ref, &got[n]) == 0) {
		if (got[n] == addr)
			reused = true;
		n++;
	}
	for (i = 0; i < n; i++)
		p->ops->shr_free(p, got[i], 1);
	free(got);
	return reused;
}

/* XSA-396: the backend refuses the DEL of one gref (still in flight) and
 * keeps it mapped: that page is never freed, never reused, while it can
 * still read the bytes we put there. */
static void staging_teardown_keeps_page_backend_holds(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s = NULL;
	uint8_t *held_addr, *mapping;
	int idx;

	t->b.max = 100;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	idx = sn_front_staging_tx_take(s);
	assert_true(idx >= 0);
	held_addr = s->slots[idx].ptr;
	memset(held_addr, 0x5a, 64); /* a packet the backend still reads */
	t->b.hold_ref = s->slots[idx].gref;
	mapping = tb_addr(&t->b, t->b.hold_ref);
	assert_non_null(mapping);

	assert_int_equal(sn_front_staging_destroy(s, false), 1);
	assert_int_equal(tb_count(&t->b), 1);
	assert_true(tb_has(&t->b, t->b.hold_ref));
	assert_false(page_reused(t->fe, t->be->domid, held_addr));
	/* Nobody else wrote into it: the backend still sees the packet. */
	assert_int_equal(mapping[0], 0x5a);
	assert_int_equal(mapping[63], 0x5a);
}

/* The lying variant: DEL answered SUCCESS while the mapping is kept.  The
 * grant cannot be revoked, so the platform quarantines it. */
static void staging_teardown_lying_del_still_not_reused(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s = NULL;
	uint8_t *addr;

	t->b.max = 100;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	addr = s->pages[3].addr;
	t->b.lie_ref = s->pages[3].gref;
	assert_true(sn_front_staging_destroy(s, false) >= 1);
	assert_true(tb_has(&t->b, t->b.lie_ref));
	assert_false(page_reused(t->fe, t->be->domid, addr));
}

/* Control test: the reuse probe does find freed pages, so the two tests
 * above would fail if the held page had been freed. */
static void staging_teardown_frees_released_pages(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s = NULL;
	uint8_t *addr;

	t->b.max = 100;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	addr = s->pages[3].addr;
	assert_int_equal(sn_front_staging_destroy(s, false), 0);
	assert_true(page_reused(t->fe, t->be->domid, addr));
}

/* A control ring that never answers costs one timeout, not one per queue,
 * and every queue falls back. */
static void staging_silent_backend_gives_up_after_one_timeout(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE };
	struct sn_front_staging *pools[4];
	struct sn_front_staging_report rep;
	struct sn_front_ctrl_stats st;

	t->b.max = 100;
	t->b.nq = 4;
	t->b.mode = TB_SILENT;
	start(t, 100);
	sn_front_staging_setup(t->fe, t->c, t->be->domid, 4, &cfg, NULL, pools, NULL, &rep);
	assert_int_equal(rep.fallbacks, 4);
	assert_int_equal(rep.first_err, -ETIMEDOUT);
	sn_front_ctrl_get_stats(t->c, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.timeouts, 1);
}

/* The backend disconnected (no DEL possible): pages are freed where the
 * revoke succeeds, and a page it still maps is never reused. */
static void staging_peer_gone_frees_by_revoke_only(void **state)
{
	struct tctx *t = *state;
	struct sn_front_staging_cfg cfg = { .policy = SN_STAGING_PAGE, .max_pages = 8 };
	struct sn_front_staging *s = NULL;
	uint8_t *held, *freed;
	uint32_t i;

	t->b.max = 100;
	start(t, 0);
	assert_int_equal(sn_front_staging_create(t->fe, t->c, t->be->domid, 0, &cfg, NULL, &s), 0);
	held = s->pages[5].addr;
	freed = s->pages[2].addr;
	/* It drops every mapping but one, and no longer answers. */
	for (i = 0; i < s->npages; i++)
		if (i != 5)
			tb_release(&t->b, s->pages[i].gref);
	t->b.mode = TB_SILENT;
	assert_true(sn_front_staging_destroy(s, true) >= 1);
	assert_int_equal(t->b.n_del, 0);
	assert_false(page_reused(t->fe, t->be->domid, held));
	assert_true(page_reused(t->fe, t->be->domid, freed));
}

static void staging_policy_parse(void **state)
{
	enum sn_front_staging_policy p;

	(void)state;
	assert_int_equal(sn_front_staging_policy_parse("header", &p), 0);
	assert_int_equal(p, SN_STAGING_HEADER);
	assert_int_equal(sn_front_staging_policy_parse("page", &p), 0);
	assert_int_equal(p, SN_STAGING_PAGE);
	assert_int_equal(sn_front_staging_policy_parse("off", &p), 0);
	assert_int_equal(p, SN_STAGING_OFF);
	assert_int_equal(sn_front_staging_policy_parse("full", &p), -EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, ctx_setup, ctx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(ctrl_keys_and_get),
		T(ctrl_hash_config_reaches_backend),
		T(ctrl_out_of_order_answers_match_by_id),
		T(ctrl_unknown_id_ignored_counted_then_recovers),
		T(ctrl_duplicate_id_ignored_counted),
		T(ctrl_late_answer_is_stray),
		T(ctrl_lying_backend_is_an_error),
		T(ctrl_silent_backend_times_out),
		T(ctrl_storm_while_waiting_throttled),
		T(staging_page_pool_get_add_del),
		T(staging_pool_is_min_of_get_and_config),
		T(staging_sizes_from_max_or_free_reading),
		T(staging_header_slots_and_datapath),
		T(staging_add_split_into_512_entry_messages),
		T(staging_not_supported_falls_back_once),
		T(staging_add_failure_falls_back_and_rolls_back),
		T(staging_partial_fallback_per_queue),
		T(staging_teardown_keeps_page_backend_holds),
		T(staging_teardown_lying_del_still_not_reused),
		T(staging_teardown_frees_released_pages),
		T(staging_silent_backend_gives_up_after_one_timeout),
		T(staging_peer_gone_frees_by_revoke_only),
		cmocka_unit_test(staging_policy_parse),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
