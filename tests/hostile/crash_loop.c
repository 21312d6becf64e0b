/* Crash and restart loops, with staging grants on:
 *
 *   extra_frontend_sigkill_loop: the real `stagenet front` process is
 *     SIGKILLed mid-traffic 50 times against one backend (the real netback,
 *     in this process, so its grant mappings can be counted).  Each time the
 *     backend unmaps everything, the vif goes Closed and back to InitWait
 *     when a new frontend announces itself, the new frontend connects with
 *     its staging pool and traffic flows; after every kill the dead
 *     domain's grant table (kept readable by a reference the test holds on
 *     the emulated hypervisor's view of it) shows zero pins.
 *
 *   extra_backend_sigkill_loop: the real `stagenet back` process is
 *     SIGKILLed mid-traffic several times under one `stagenet front`; the
 *     frontend survives each death, quarantines the pages the dead backend
 *     may still have mapped (its pins stay in our grant table, as a dead
 *     driver domain's mappings would on Xen until it is destroyed), never
 *     hands them out again, and reconnects to the next backend; traffic
 *     flows again every time.
 *
 * `test_hostile_crash_loop <glob>` runs the cases whose name matches. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/dom.h"
#include "common/main.h"
#include "common/peer_front.h"
#include "common/cli_proc.h"
#include "common/inproc.h"
#include "plat/emu/emu.h"
#include "stagenet/stats.h"

#define FE_DOMID 9u
#define FE_KILLS 50
#define BE_KILLS 5

/* ---- frontend SIGKILL loop (backend in this process) ---------------------- */

static uint64_t view_pins(const struct sn_emu_peer *p)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < p->gt.nr_entries; i++) {
		uint16_t fl = __atomic_load_n(&p->gt.entries[i].flags, __ATOMIC_ACQUIRE);

		n += atomic_load(&p->gt.active[i].rd_pins) +
		     atomic_load(&p->gt.active[i].wr_pins);
		n += !!(fl & (GTF_reading | GTF_writing));
	}
	return n;
}

/* The backend's hypervisor view of the incarnation of domid that runs as
 * pid, with a reference the caller drops (sn_emu_peer_put): holding it
 * keeps that grant table readable after the process dies. */
static struct sn_emu_peer *incarnation_view(struct h_ctx *t, uint16_t domid, pid_t pid)
{
	struct sn_emu_peer *p = NULL;

	assert_int_equal(sn_emu_peer_get((struct sn_emu *)t->bplat, domid, &p), 0);
	assert_int_equal(p->pid, pid);
	return p;
}

static int fe_be_state(struct h_ctx *t)
{
	return h_dom_be_state(t->bplat, FE_DOMID, 0);
}

static bool wait_fe_be_state(struct h_ctx *t, int want, int ms)
{
	int64_t end = sn_test_now_ms() + ms;

	while (sn_test_now_ms() < end) {
		if (fe_be_state(t) == want)
			return true;
		poll(NULL, 0, 2);
	}
	return fe_be_state(t) == want;
}

static uint64_t bstat(struct h_ctx *t, enum sn_qstat c)
{
	struct sn_qstats s;

	if (sn_back_vif_stats(t->b.back, FE_DOMID, 0, 0, &s))
		return 0;
	return s.v[c];
}

static void extra_frontend_sigkill_loop(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .plat = t->bplat, .port_spec = "sink", .max_queues = 1 };
	const char *add[] = { "vif-add", "--domid", "9", "--devid", "0", NULL };
	const char *del[] = { "vif-del", "--domid", "9", "--devid", "0", NULL };
	const char *front[] = { "front", "--domid", "9", "--devid", "0",
				"--port", "gen:size=200", "--staging", "page",
				"--staging-pages", "128", "--connect-timeout", "10000",
				NULL };
	char path[128];
	int64_t t0 = sn_test_now_ms(), worst = 0;

	sn_test_back_start_cfg(&t->b, &cfg);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(wait_fe_be_state(t, XenbusStateInitWait, 5000));
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/state", FE_DOMID);

	for (int it = 0; it < FE_KILLS; it++) {
		int64_t i0 = sn_test_now_ms();
		uint64_t tx0, st0;
		struct sn_emu_peer *view;
		uint32_t maps;
		pid_t pid;

		if (it) {
			/* The vif is Closed after the last death; a new frontend
			 * announces itself with Initialising (the first thing
			 * `stagenet front` writes) and the backend goes back to
			 * InitWait. */
			assert_int_equal(fe_be_state(t), XenbusStateClosed);
			t->bplat->ops->xs_write(t->bplat, XBT_NULL, path, "1", 1);
			if (!wait_fe_be_state(t, XenbusStateInitWait, 5000))
				fail_msg("round %d: vif did not return to InitWait", it);
		}
		tx0 = bstat(t, SN_QS_tx_pkts);
		st0 = bstat(t, SN_QS_staged_slots);
		pid = sn_test_spawnv(NULL, front);
		assert_true(pid > 0);
		if (!wait_fe_be_state(t, XenbusStateConnected, 10000))
			fail_msg("round %d: no Connected", it);
		/* Traffic flows, through the staging pool. */
		for (int64_t end = sn_test_now_ms() + 10000;
		     (bstat(t, SN_QS_tx_pkts) < tx0 + 200 ||
		      bstat(t, SN_QS_staged_slots) < st0 + 200) && sn_test_now_ms() < end;)
			poll(NULL, 0, 2);
		if (bstat(t, SN_QS_tx_pkts) < tx0 + 200 ||
		    bstat(t, SN_QS_staged_slots) < st0 + 200)
			fail_msg("round %d: no staged traffic (tx %llu staged %llu)", it,
				 (unsigned long long)(bstat(t, SN_QS_tx_pkts) - tx0),
				 (unsigned long long)(bstat(t, SN_QS_staged_slots) - st0));
		view = incarnation_view(t, FE_DOMID, pid);
		/* Two rings, the control ring and the staged pool. */
		maps = h_back_maps(t);
		assert_true(maps >= 3 + 64);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(sn_test_reap(pid, 5000), 128 + SIGKILL);
		if (!wait_fe_be_state(t, XenbusStateClosed, 5000))
			fail_msg("round %d: dead frontend not noticed", it);
		for (int64_t end = sn_test_now_ms() + 5000;
		     h_back_maps(t) && sn_test_now_ms() < end;)
			poll(NULL, 0, 1);
		if (h_back_maps(t))
			fail_msg("round %d: %u of %u mappings left after the kill", it,
				 h_back_maps(t), maps);
		/* Nothing of the dead domain is pinned any more. */
		assert_int_equal(view_pins(view), 0);
		sn_emu_peer_put((struct sn_emu *)t->bplat, view);
		if (sn_test_now_ms() - i0 > worst)
			worst = sn_test_now_ms() - i0;
	}
	fprintf(stderr, "%d frontend kills in %lld ms (slowest round %lld ms)\n",
		FE_KILLS, (long long)(sn_test_now_ms() - t0), (long long)worst);
	assert_int_equal(bstat(t, SN_QS_fatal_errors), 0);
	assert_int_equal(h_back_maps(t), 0);
	assert_int_equal(h_run_cli(del), 0);
	h_back_stop(t);
	assert_int_equal(h_back_maps(t), 0);
}

/* ---- backend SIGKILL loop (separate processes) ---------------------------- */

static bool alive(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == 0;
}

/* Pages of the frontend domain that a dead backend left pinned: the grant
 * entries (ref, frame) with a pin count.  Read through an observer domain's
 * view of the frontend's grant table, as the hypervisor sees it. */
#define MAX_HELD 8192

struct held {
	uint32_t n;
	uint32_t ref[MAX_HELD];
	uint32_t frame[MAX_HELD];
};

static struct sn_emu_peer *fe_view(struct sn_plat *obs, uint16_t domid)
{
	struct sn_emu_peer *p = NULL;

	assert_int_equal(sn_emu_peer_get((struct sn_emu *)obs, domid, &p), 0);
	return p;
}

static bool entry_live(const struct sn_emu_peer *p, uint32_t i)
{
	uint16_t fl = __atomic_load_n(&p->gt.entries[i].flags, __ATOMIC_ACQUIRE);

	return (fl & GTF_type_mask) == GTF_permit_access;
}

static uint32_t entry_pins(const struct sn_emu_peer *p, uint32_t i)
{
	return atomic_load(&p->gt.active[i].rd_pins) + atomic_load(&p->gt.active[i].wr_pins);
}

/* Adds the pinned entries not yet known; returns how many were added. */
static uint32_t held_add(struct held *h, const struct sn_emu_peer *p)
{
	uint32_t added = 0;

	for (uint32_t i = 0; i < p->gt.nr_entries; i++) {
		bool known = false;

		if (!entry_live(p, i) || !entry_pins(p, i))
			continue;
		for (uint32_t k = 0; k < h->n && !known; k++)
			known = h->ref[k] == i;
		if (known)
			continue;
		assert_true(h->n < MAX_HELD);
		h->ref[h->n] = i;
		h->frame[h->n] = p->gt.entries[i].frame;
		h->n++;
		added++;
	}
	return added;
}

/* No page a dead backend may still map was granted again: every live
 * entry naming one of those frames is one of the original refs (which
 * the frontend could not revoke). */
static void held_not_reused(const struct held *h, const struct sn_emu_peer *p, int round)
{
	for (uint32_t i = 0; i < p->gt.nr_entries; i++) {
		if (!entry_live(p, i))
			continue;
		for (uint32_t k = 0; k < h->n; k++)
			if (p->gt.entries[i].frame == h->frame[k] && i != h->ref[k])
				fail_msg("round %d: frame %u, still pinned through ref %u, "
					 "granted again as ref %u", round, h->frame[k],
					 h->ref[k], i);
	}
}

static void extra_backend_sigkill_loop(void **state)
{
	const char *add[] = { "vif-add", "--domid", "11", "--devid", "0", NULL };
	const char *back[] = { "back", "--port", "sink", "--max-queues", "1", NULL };
	const char *front[] = { "front", "--domid", "11", "--devid", "0",
				"--port", "gen:size=200,rate=20000", "--staging", "page",
				"--staging-pages", "64", NULL };
	const char *dir = sn_test_group_host.dir;
	char bstats[300];
	const char *q;
	char *fo;
	pid_t fpid, bpid;
	int64_t t0 = sn_test_now_ms(), worst = 0;
	struct sn_plat *obs = NULL;
	static struct held held;

	(void)state;
	assert_int_equal(setenv("SN_RUNDIR", dir, 1), 0);
	snprintf(bstats, sizeof(bstats), "%s/back-11-0.stats", dir);
	assert_int_equal(h_run_cli(add), 0);
	bpid = sn_test_spawnv("back-crash.out", back);
	assert_true(bpid > 0);
	fpid = sn_test_spawnv("front-crash.out", front);
	assert_true(fpid > 0);
	/* An observer domain, to look at the frontend's grant table. */
	obs = sn_test_dom_open(50, NULL);
	held.n = 0;
	for (int it = 0; it <= BE_KILLS; it++) {
		int64_t i0 = sn_test_now_ms(), end = i0 + 20000;
		struct sn_emu_peer *view;
		uint32_t added;

		/* This backend serves the frontend: traffic flows. */
		while (sn_test_live("back", 11, 0, SN_QS_tx_pkts) < 300 &&
		       sn_test_now_ms() < end)
			poll(NULL, 0, 5);
		if (sn_test_live("back", 11, 0, SN_QS_tx_pkts) < 300) {
			char *bo = sn_test_slurp("back-crash.out");

			fo = sn_test_slurp("front-crash.out");
			fail_msg("round %d: no traffic through the backend; frontend said:\n%s"
				 "this round's backend said:\n%s",
				 it, fo ? fo : "(nothing)\n", bo ? bo : "(nothing)\n");
		}
		/* The new backend runs on fresh pages only. */
		view = fe_view(obs, 11);
		held_not_reused(&held, view, it);
		sn_emu_peer_put((struct sn_emu *)obs, view);
		if (it == BE_KILLS)
			break;
		assert_int_equal(kill(bpid, SIGKILL), 0);
		assert_int_equal(sn_test_reap(bpid, 5000), 128 + SIGKILL);
		/* What the dead backend had mapped (rings, control ring,
		 * staged pool) stays pinned: nobody is left to unmap it. */
		view = fe_view(obs, 11);
		added = held_add(&held, view);
		sn_emu_peer_put((struct sn_emu *)obs, view);
		if (added < 3)
			fail_msg("round %d: the dead backend left no pins", it);
		/* The frontend survives the death, and keeps surviving while
		 * no backend runs. */
		poll(NULL, 0, 200);
		if (!alive(fpid))
			fail_msg("round %d: frontend died with the backend", it);
		/* A supervisor would clean the dead daemon's stats file; do it
		 * so the next block read is the new backend's. */
		unlink(bstats);
		bpid = sn_test_spawnv("back-crash.out", back);
		assert_true(bpid > 0);
		if (sn_test_now_ms() - i0 > worst)
			worst = sn_test_now_ms() - i0;
	}
	fprintf(stderr, "%d backend kills in %lld ms (slowest round %lld ms)\n",
		BE_KILLS, (long long)(sn_test_now_ms() - t0), (long long)worst);
	assert_true(alive(fpid));
	if (getenv("SN_TEST_VERBOSE"))
		fprintf(stderr, "%u grant entries left pinned by dead backends\n", held.n);
	kill(fpid, SIGINT);
	assert_int_equal(sn_test_reap(fpid, 20000), 0);
	kill(bpid, SIGINT);
	assert_int_equal(sn_test_reap(bpid, 20000), 0);
	sn_plat_close(obs);
	fo = sn_test_slurp("front-crash.out");
	if (getenv("SN_TEST_VERBOSE"))
		fputs(fo, stderr);
	/* Reconnected after every death... */
	{
		int n = 0;

		for (q = fo; (q = strstr(q, "reconnected")) != NULL; q++)
			n++;
		if (n < BE_KILLS)
			fail_msg("%d reconnects for %d backend deaths:\n%s", n, BE_KILLS, fo);
	}
	/* ...without calling any backend a liar, and with the dead
	 * backends' pages quarantined, never reused. */
	assert_null(strstr(fo, "fatal_errors"));
	q = strstr(fo, "front quarantined pages: ");
	if (!q)
		fail_msg("no quarantined pages reported:\n%s", fo);
	assert_true(strtoull(q + strlen("front quarantined pages: "), NULL, 10) > 0);
	free(fo);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(extra_frontend_sigkill_loop, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(extra_backend_sigkill_loop,
						sn_test_host_group_setup, sn_test_cli_group_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
