/* The emulated hypervisor's views of other domains (its pidfd, its dup of
 * the guest's RAM memfd, its mapping of the guest's grant table), counted
 * in this process, where the real netback runs:
 *
 *   extra_guest_death_releases_view: `stagenet front` ends again and
 *     again under one backend, by exiting after its traffic or by SIGKILL
 *     mid-traffic.  After each end, once the backend has unmapped what it
 *     held, nothing of the dead incarnation is left in the backend: no fd
 *     on its RAM, no mapping of its RAM or grant table, no pidfd; the
 *     process's fd and mapping counts stay within a bound of where they
 *     started.
 *
 *   extra_registry_fd_lie_no_reload: a live guest rewrites its own
 *     registry entry (fd/evtchn) to an fd it does not hold and announces
 *     Connected again and again, with this process's fd limit lowered.
 *     Every bind fails and is counted; the backend's fd count stays
 *     bounded; with the entry honest again the guest connects.
 *
 *   extra_registry_memfd_lies_refused: a guest's registry entry names
 *     another domain's RAM fd, or claims more RAM or grant entries than
 *     its memfds hold: the backend loads no view from it (no mapping past
 *     a memfd's end, no other domain's memory taken for the guest's) and
 *     its grant maps fail with bad_domain; honest again, they work.
 *
 * `test_hostile_views <glob>` runs the cases whose name matches. */
#include <dirent.h>
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
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/cli_proc.h"
#include "common/dom.h"
#include "common/inproc.h"
#include "common/main.h"
#include "common/peer_front.h"
#include "plat/emu/emu.h"

#define CLI_DOMID 9u
#define DEATHS 8
#define LIES 100

/* ---- what this process holds ---------------------------------------------- */

struct held {
	int fds;       /* every open fd */
	int maps;      /* mappings of a memfd (anonymous ones vary with the
			* allocator and, under TSan, with every thread) */
	int pidfds;    /* anon_inode:[pidfd] */
	int ram_fds;   /* fds on domain `dom`'s RAM memfd */
	int dom_maps;  /* mappings of domain `dom`'s RAM or grant table */
};

static void count_held(uint16_t dom, struct held *h)
{
	char ram[64], gt[64], link[256], path[320], line[512];
	struct dirent *de;
	DIR *d;
	FILE *f;

	memset(h, 0, sizeof(*h));
	/* domain.c names the memfds sn-ram-<domid> and sn-gnttab-<domid>. */
	snprintf(ram, sizeof(ram), "/memfd:sn-ram-%u ", dom);
	snprintf(gt, sizeof(gt), "/memfd:sn-gnttab-%u ", dom);
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 2);
		if (n < 0)
			continue; /* the directory's own fd, closed by now */
		link[n] = ' ';
		link[n + 1] = '\0';
		h->fds++;
		h->pidfds += !strcmp(link, "anon_inode:[pidfd] ");
		h->ram_fds += !strncmp(link, ram, strlen(ram));
	}
	closedir(d);
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = ' ';
		h->maps += !!strstr(line, "/memfd:");
		h->dom_maps += strstr(line, ram) || strstr(line, gt);
	}
	fclose(f);
}

static int be_state(struct h_ctx *t)
{
	return h_dom_be_state(t->bplat, CLI_DOMID, 0);
}

static bool wait_be_state(struct h_ctx *t, int want, int ms)
{
	int64_t end = sn_test_now_ms() + ms;

	while (sn_test_now_ms() < end) {
		if (be_state(t) == want)
			return true;
		poll(NULL, 0, 2);
	}
	return be_state(t) == want;
}

static uint64_t tx_pkts(struct h_ctx *t)
{
	struct sn_qstats s;

	if (sn_back_vif_stats(t->b.back, CLI_DOMID, 0, 0, &s))
		return 0;
	return s.v[SN_QS_tx_pkts];
}

/* ---- guest deaths ----------------------------------------------------------- */

static void extra_guest_death_releases_view(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .plat = t->bplat, .port_spec = "sink", .max_queues = 2 };
	const char *add[] = { "vif-add", "--domid", "9", "--devid", "0", NULL };
	const char *del[] = { "vif-del", "--domid", "9", "--devid", "0", NULL };
	/* Ends by itself after its 1000 frames (and closes the vif). */
	const char *quits[] = { "front", "--domid", "9", "--devid", "0",
				"--port", "gen:size=60,count=1000", "--queues", "2",
				"--staging", "page", "--staging-pages", "64",
				"--linger-ms", "50", "--connect-timeout", "10000", NULL };
	/* Sends until it is killed. */
	const char *killed[] = { "front", "--domid", "9", "--devid", "0",
				 "--port", "gen:size=200", "--queues", "2",
				 "--staging", "page", "--staging-pages", "64",
				 "--connect-timeout", "10000", NULL };
	char path[128];
	struct held base = { 0 }, h;

	sn_test_back_start_cfg(&t->b, &cfg);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(wait_be_state(t, XenbusStateInitWait, 5000));
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/state", CLI_DOMID);

	for (int it = 0; it < DEATHS; it++) {
		bool kill_it = it % 2;
		uint64_t tx0 = tx_pkts(t);
		pid_t pid;

		if (be_state(t) == XenbusStateClosed) {
			/* What `stagenet front` writes first, done before it
			 * starts so that it finds the backend in InitWait. */
			t->bplat->ops->xs_write(t->bplat, XBT_NULL, path, "1", 1);
			if (!wait_be_state(t, XenbusStateInitWait, 5000))
				fail_msg("round %d: vif did not return to InitWait", it);
		}
		pid = sn_test_spawnv(NULL, kill_it ? killed : quits);
		assert_true(pid > 0);
		if (kill_it) {
			if (!wait_be_state(t, XenbusStateConnected, 10000))
				fail_msg("round %d: no Connected", it);
			for (int64_t end = sn_test_now_ms() + 10000;
			     tx_pkts(t) < tx0 + 500 && sn_test_now_ms() < end;)
				poll(NULL, 0, 2);
			if (tx_pkts(t) < tx0 + 500)
				fail_msg("round %d: no traffic", it);
			/* One view of the live guest, however many of its
			 * pages are mapped: one RAM fd, one grant table. */
			count_held(CLI_DOMID, &h);
			assert_int_equal(h.ram_fds, 1);
			assert_true(h.dom_maps >= 1 + 3); /* table + rings, ctrl */
			assert_int_equal(kill(pid, SIGKILL), 0);
			assert_int_equal(sn_test_reap(pid, 5000), 128 + SIGKILL);
		} else {
			assert_int_equal(sn_test_reap(pid, 30000), 0);
			if (tx_pkts(t) < tx0 + 1000)
				fail_msg("round %d: %llu of 1000 frames", it,
					 (unsigned long long)(tx_pkts(t) - tx0));
		}
		/* The backend tears the vif down (a dead guest's mappings
		 * keep its view until then), and its last unmap lets the view
		 * go: nothing of that incarnation is left. */
		for (int64_t end = sn_test_now_ms() + 5000; sn_test_now_ms() < end;) {
			count_held(CLI_DOMID, &h);
			if (!h_back_maps(t) && !h.ram_fds && !h.dom_maps && !h.pidfds)
				break;
			poll(NULL, 0, 2);
		}
		if (h_back_maps(t) || h.ram_fds || h.dom_maps || h.pidfds)
			fail_msg("round %d (%s): %u grant mappings, %d fds on the dead guest's "
				 "RAM, %d mappings of its RAM or grant table, %d pidfds left",
				 it, kill_it ? "killed" : "exited", h_back_maps(t), h.ram_fds,
				 h.dom_maps, h.pidfds);
		if (it == 1)
			base = h;
	}
	count_held(CLI_DOMID, &h);
	fprintf(stderr, "after %d guest ends: fds %d (round 2: %d), memfd mappings %d (round 2: %d)\n",
		DEATHS, h.fds, base.fds, h.maps, base.maps);
	/* Every round leaves the process as the second one did. */
	assert_true(h.fds <= base.fds + 2);
	assert_true(h.maps <= base.maps + 2);
	assert_int_equal(h_run_cli(del), 0);
	h_back_stop(t);
}

/* ---- a live guest lying about its fds --------------------------------------- */

/* The guest's own connection may no longer write its registry entry
 * (xenstore permissions, tests/xenstored/xs_perms.c), so the lie is planted
 * through the backend's dom0 connection.  What it models stays within a
 * guest's reach: the entry names an fd number of the guest process, and the
 * guest can close or dup2 over its own fd at any time; the backend's rule
 * (no reload for a live incarnation) is what is under test. */
static int set_evtchn_entry(struct h_ctx *t, long fd)
{
	char path[128], val[24];

	snprintf(path, sizeof(path), SN_EMU_REG_ROOT "/%u/fd/evtchn", H_FE_DOMID);
	snprintf(val, sizeof(val), "%ld", fd);
	return t->bplat->ops->xs_write(t->bplat, XBT_NULL, path, val, (unsigned)strlen(val));
}

static void extra_registry_fd_lie_no_reload(void **state)
{
	struct h_ctx *t = *state;
	struct sn_emu *be = (struct sn_emu *)t->bplat;
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = 1 };
	struct rlimit old, low;
	struct held base, h;
	struct h_fe fe;
	char path[128];
	uint64_t bad0;

	h_back_start(t, NULL);
	h_fe_alloc(t, &fe, 0);
	assert_int_equal(ops->evt_open(t->fplat, &fe.evt), 0);
	fe.port = ops->evt_alloc_unbound(fe.evt, 0);
	assert_true(fe.port >= 0);
	k.q[0].tx_ref = fe.tx_ref;
	k.q[0].rx_ref = fe.rx_ref;
	k.q[0].port = fe.port;
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/0/state", H_FE_DOMID);

	/* Room for a few dozen more fds only: a backend that loads a view
	 * (two fds) per lie runs out long before the last one. */
	count_held(H_FE_DOMID, &base);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)base.fds + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	bad0 = atomic_load(&be->peer_bad_fds);
	/* An fd number above any limit: the lookup gets EBADF. */
	assert_int_equal(set_evtchn_entry(t, 1 << 24), 0);
	for (int i = 0; i < LIES; i++) {
		h_fe_announce(t, 0, &k);
		/* The bind fails: the backend gives up on this connect. */
		for (int64_t end = sn_test_now_ms() + 5000;
		     h_be_state(t, 0) != XenbusStateClosing && sn_test_now_ms() < end;)
			poll(NULL, 0, 1);
		if (h_be_state(t, 0) != XenbusStateClosing)
			fail_msg("attempt %d: backend state %d, not Closing", i, h_be_state(t, 0));
		/* And again, as a frontend that starts over. */
		assert_int_equal(ops->xs_write(t->fplat, XBT_NULL, path, "1", 1), 0);
		if (!h_wait_be_state(t, 0, XenbusStateInitWait))
			fail_msg("attempt %d: no InitWait", i);
	}
	count_held(H_FE_DOMID, &h);
	fprintf(stderr, "after %d lies: fds %d (before: %d), bad fd lookups %llu\n", LIES,
		h.fds, base.fds, (unsigned long long)(atomic_load(&be->peer_bad_fds) - bad0));
	assert_true(atomic_load(&be->peer_bad_fds) - bad0 >= LIES);
	assert_true(h.fds <= base.fds + 4);
	/* Honest again: the same live guest connects, under the low limit. */
	assert_int_equal(set_evtchn_entry(t, ((struct sn_emu *)t->fplat)->evt_fd), 0);
	h_fe_announce(t, 0, &k);
	assert_true(h_wait_be_state(t, 0, XenbusStateConnected));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	h_fe_close(&fe);
	h_back_stop(t);
}

/* ---- a guest's registry naming memory that is not its own ------------------ */

/* Planted through dom0 like set_evtchn_entry: the registry is no longer
 * the guest's to write, and the backend must still refuse an entry that
 * names memory other than the domain's own (defence in depth). */
static int set_reg(struct h_ctx *t, const char *leaf, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), SN_EMU_REG_ROOT "/%u/%s", H_FE_DOMID, leaf);
	return t->bplat->ops->xs_write(t->bplat, XBT_NULL, path, val, (unsigned)strlen(val));
}

static char *get_reg(struct h_ctx *t, const char *leaf)
{
	char dir[64];

	snprintf(dir, sizeof(dir), SN_EMU_REG_ROOT "/%u", H_FE_DOMID);
	return h_xs_r(t->fplat, dir, leaf);
}

/* What domain p gets when it maps ref of the guest. */
static int16_t map_status(struct sn_plat *p, uint32_t ref)
{
	uint16_t dom = H_FE_DOMID;
	void *addr = NULL;
	int16_t st = 0, ust;

	assert_int_equal(p->ops->gnt_map(p, 1, &dom, &ref, false, &addr, &st), 0);
	if (st == GNTST_okay)
		assert_int_equal(p->ops->gnt_unmap(p, 1, &addr, &ust), 0);
	return st;
}

static void extra_registry_memfd_lies_refused(void **state)
{
	struct h_ctx *t = *state;
	struct sn_emu *be = (struct sn_emu *)t->bplat, *fe = (struct sn_emu *)t->fplat;
	const char *const leaves[] = { "fd/ram", "ram-pages", "gnttab-entries", "fd/gnttab" };
	char lie[4][24];

	/* Another domain's RAM and grant table (the backend's), and twice the
	 * RAM and entries the guest has. */
	snprintf(lie[0], sizeof(lie[0]), "%d", be->ram_fd);
	snprintf(lie[1], sizeof(lie[1]), "%u", fe->ram_pages * 2);
	snprintf(lie[2], sizeof(lie[2]), "%u", fe->gt.nr_entries * 2);
	snprintf(lie[3], sizeof(lie[3]), "%d", be->gt_fd);
	for (int i = 0; i < 4; i++) {
		/* A domain that has no view of the guest yet: its first
		 * lookup reads the lying entry. */
		uint16_t od = (uint16_t)(50 + i);
		struct sn_plat *obs = sn_test_dom_open(od, NULL);
		char *truth = get_reg(t, leaves[i]);
		struct sn_emu_peer *p = NULL;
		uint32_t ref;
		void *page;

		assert_non_null(truth);
		assert_int_equal(t->fplat->ops->shr_alloc(t->fplat, od, 1, false, &ref, &page), 0);
		assert_int_equal(set_reg(t, leaves[i], lie[i]), 0);
		if (sn_emu_peer_get((struct sn_emu *)obs, H_FE_DOMID, &p) != -EPROTO)
			fail_msg("%s = %s: a view was loaded", leaves[i], lie[i]);
		assert_int_equal(map_status(obs, ref), GNTST_bad_domain);
		assert_int_equal(set_reg(t, leaves[i], truth), 0);
		assert_int_equal(map_status(obs, ref), GNTST_okay);
		sn_plat_close(obs);
		assert_int_equal(t->fplat->ops->shr_free(t->fplat, page, 1), 0);
		free(truth);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(extra_guest_death_releases_view, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(extra_registry_fd_lie_no_reload, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(extra_registry_memfd_lies_refused, h_setup,
						h_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
