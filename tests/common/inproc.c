/* Test helpers for emulated domains in this process (see inproc.h): the
 * real netback in a thread behind a pattern-checking port, and the
 * frontend's TX and RX loops that check every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/inproc.h"

int64_t sn_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sn_test_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sn_test_pkts_alloc(uint8_t **mem, struct sn_pkt *pk, struct sn_pkt **pp, unsigned int n)
{
	unsigned int i;

	*mem = malloc((size_t)n * SN_PKT_BUF_SIZE);
	assert_non_null(*mem);
	for (i = 0; i < n; i++) {
		pk[i].data = *mem + (size_t)i * SN_PKT_BUF_SIZE;
		pk[i].cap = SN_PKT_BUF_SIZE;
		pp[i] = &pk[i];
	}
}

void sn_test_vif_add(uint16_t fe, uint16_t be)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --backend-domid %u --mtu 9000",
		 getenv("SN_STAGENET"), fe, be);
	assert_int_equal(system(cmd), 0);
}

/* ---- the real netback in a thread -------------------------------------- */

static void *back_main(void *arg)
{
	struct sn_test_back *b = arg;

	sn_back_run(b->back);
	return NULL;
}

void sn_test_back_start_cfg(struct sn_test_back *b, const struct sn_back_cfg *cfg)
{
	struct sn_back_cfg bc = *cfg;

	if (!bc.port_spec) {
		bc.port_open = sn_test_port_open;
		bc.port_arg = &b->sh;
	}
	if (!bc.log && getenv("SN_TEST_VERBOSE"))
		bc.log = stderr;
	assert_int_equal(sn_back_create(&bc, &b->back), 0);
	assert_int_equal(pthread_create(&b->tid, NULL, back_main, b), 0);
	b->running = true;
}

void sn_test_back_start(struct sn_test_back *b, struct sn_plat *plat, uint16_t max_queues,
			bool staging_off)
{
	struct sn_back_cfg bc = { 0 };

	bc.plat = plat;
	bc.max_queues = max_queues;
	bc.staging_off = staging_off;
	sn_test_back_start_cfg(b, &bc);
}

void sn_test_back_stop(struct sn_test_back *b)
{
	if (!b->running)
		return;
	sn_back_stop(b->back);
	pthread_join(b->tid, NULL);
	sn_back_destroy(b->back);
	b->back = NULL;
	b->running = false;
}

/* ---- the frontend's side ------------------------------------------------ */

void sn_test_front_connect(struct sn_plat *fe, struct sn_front **nic, uint16_t queues,
			   enum sn_front_staging_policy pol)
{
	struct sn_front_cfg cfg = { .devid = 0, .queues = queues, .staging = pol };

	assert_int_equal(sn_front_open(fe, &cfg, nic), 0);
	assert_int_equal(sn_front_connect(*nic, 10000), 0);
	assert_int_equal(sn_front_num_queues(*nic), queues);
}

void sn_test_guest_tx(struct sn_front *nic, struct sn_test_back *b, struct sn_pkt **pp,
		      uint16_t nq, unsigned int npkts, int timeout_ms)
{
	unsigned int sent = 0;
	int64_t deadline = sn_test_now_ms() + timeout_ms;
	uint16_t q;

	while ((sent < npkts || b->sh.got + b->sh.bad < npkts) && sn_test_now_ms() < deadline) {
		unsigned int n = 0, i;

		for (i = 0; i < 32 && sent + n < npkts; i++, n++) {
			uint32_t len = b->sh.len(sent + n);

			sn_test_pattern(pp[n]->data, len, sent + n);
			pp[n]->len = len;
			pp[n]->flags = 0;
		}
		/* Batches alternate between the queues. */
		q = (uint16_t)((sent / 32) % nq);
		if (n) {
			int r = sn_front_tx_burst(nic, q, pp, n);

			assert_true(r >= 0);
			sent += (unsigned int)r;
			if ((unsigned int)r == n)
				continue;
		} else {
			for (q = 0; q < nq; q++)
				assert_true(sn_front_tx_burst(nic, q, pp, 0) >= 0);
			q = 0;
		}
		sn_front_queue_wait(nic, q, 10, 20);
	}
	assert_int_equal(sent, npkts);
	assert_int_equal(b->sh.bad, 0);
	assert_int_equal(b->sh.got, npkts);
}

void sn_test_guest_rx(struct sn_front *nic, struct sn_pkt **pp, uint16_t nq,
		      unsigned int npkts, int timeout_ms)
{
	unsigned int got = 0, bad = 0;
	int64_t deadline = sn_test_now_ms() + timeout_ms;
	uint16_t q;

	while (got < npkts * nq && sn_test_now_ms() < deadline) {
		bool any = false;

		for (q = 0; q < nq; q++) {
			int n = sn_front_rx_burst(nic, q, pp, 32), i;

			assert_true(n >= 0);
			for (i = 0; i < n; i++) {
				if (sn_test_pattern_ok(pp[i]->data, pp[i]->len) && pp[i]->queue == q)
					got++;
				else
					bad++;
				pp[i]->cap = SN_PKT_BUF_SIZE;
			}
			any |= n > 0;
		}
		if (!any)
			sn_front_queue_wait(nic, 0, 5, 20);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(got, npkts * nq);
}

/* ---- both ends in this process ----------------------------------------- */

struct sn_test_world *sn_test_world_open(uint32_t ram_pages, uint32_t (*len)(unsigned int i))
{
	static uint16_t next = 40;
	struct sn_test_world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->be = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = ram_pages });
	w->fe = sn_test_dom_open(next++, &(struct sn_test_dom){ .ram_pages = ram_pages });
	sn_test_vif_add(w->fe->domid, w->be->domid);
	w->b.sh.len = len;
	sn_test_pkts_alloc(&w->mem, w->pk, w->pp, 32);
	return w;
}

int sn_test_world_teardown(void **state)
{
	struct sn_test_world *w = *state;

	sn_front_close(w->nic, 5000);
	sn_test_back_stop(&w->b);
	sn_plat_close(w->fe);
	sn_plat_close(w->be);
	free(w->mem);
	free(w);
	return 0;
}
