/* A guest holding its own pin-lock words.  On the emulated host a domain's
 * grant table is a memfd it writes, and beside each entry sits a lock word
 * of the plain-table layout (plat/emu/emu.h).  The hostile guest here (this
 * binary re-executed as domain 9) connects a vif with a control ring,
 * stages grefs, then sets that word for every entry of its table and
 *   - exits: the backend's control thread unmaps everything it held;
 *   - stays alive: it stages more grefs, tries to end its mapped grants,
 *     and the toolstack deletes its vif.
 * Either way the backend's pins and unpins must not wait on the word: an
 * innocent vif connects and is deleted while the teardown runs, every
 * grant is unmapped, no lock wait of the backend ran out of its bound
 * (counted by the emulated gnttab), and the live guest cannot end a grant
 * while it is mapped but can once the backend let go. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
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
#include "plat/emu/emu.h"
#include "proto/ctrl.h"

extern char **environ;

#define GUEST_DOMID 9
#define NSTAGE 16u /* grefs per ADD_GREF_MAPPING; the live guest sends two */
#define READY_MS 20000
/* Guard only: the teardown takes milliseconds; a backend that waited the
 * unpin bound (1 s) per grant would need 3 + 2 * NSTAGE seconds or more. */
#define TEARDOWN_GUARD_MS 60000

/* ---- the hostile guest (a process of its own) ----------------------------- */

#define DIE(...) do { fprintf(stderr, "guest: " __VA_ARGS__); _exit(1); } while (0)

struct guest {
	struct sn_plat *p;
	struct xen_netif_ctrl_front_ring ctrl;
	struct sn_evtchn *evt;
	int cport;
	uint16_t next_id;
	struct xen_netif_gref *list;
	uint32_t list_ref;
	uint32_t refs[2 * NSTAGE];
};

static bool guest_wait_be(struct sn_plat *p, int state)
{
	for (int ms = 0; ms < 5000; ms++) {
		if (h_dom_be_state(p, GUEST_DOMID, 0) == state)
			return true;
		h_sleep_ms(1);
	}
	return false;
}

/* One ADD_GREF_MAPPING of refs[first..first+n); returns its status. */
static uint32_t guest_add(struct guest *g, unsigned int first, unsigned int n)
{
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;
	RING_IDX want = g->ctrl.rsp_cons + 1;

	for (unsigned int i = 0; i < n; i++) {
		g->list[i].ref = g->refs[first + i];
		g->list[i].flags = 0;
		g->list[i].status = 0;
	}
	sn_ctrl_req_make(&req, ++g->next_id, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, g->list_ref,
			 n);
	sn_ctrl_front_put_req(&g->ctrl, &req);
	sn_ctrl_front_push(&g->ctrl);
	g->p->ops->evt_notify(g->evt, (sn_port_t)g->cport);
	for (int ms = 0; ms < 10000 && sn_ctrl_front_rsp_prod(&g->ctrl) != want; ms++)
		h_sleep_ms(1);
	if (sn_ctrl_front_rsp_prod(&g->ctrl) != want)
		DIE("no ADD response\n");
	sn_ctrl_front_copy_rsp(&g->ctrl, g->ctrl.rsp_cons++, &rsp);
	return rsp.status;
}

/* What the attack is: every lock word of our table held, as if one of our
 * threads were mid-pin forever.  It is our own memory; nothing stops us. */
static void guest_hold_every_lock(struct sn_plat *p)
{
	struct sn_emu *e = (struct sn_emu *)p;

	for (uint32_t r = 0; r < e->gt.nr_entries; r++)
		atomic_store(&e->gt.active[r].lock, 1);
}

static int guest_main(bool live)
{
	const struct sn_plat_ops *ops;
	void *tx_page, *rx_page, *ctrl_page, *stage;
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	uint32_t tx_ref, rx_ref, ctrl_ref, st2;
	struct guest g = { 0 };
	xs_transaction_t x;
	char dir[128], line[16];
	int port, rc, busy;

	if (sn_test_dom_try(GUEST_DOMID, NULL, &g.p))
		DIE("plat\n");
	ops = g.p->ops;
	if (ops->shr_alloc(g.p, 0, 1, true, &tx_ref, &tx_page) ||
	    ops->shr_alloc(g.p, 0, 1, true, &rx_ref, &rx_page) ||
	    ops->shr_alloc(g.p, 0, 1, true, &ctrl_ref, &ctrl_page) ||
	    ops->shr_alloc(g.p, 0, 1, true, &g.list_ref, (void **)&g.list) ||
	    ops->shr_alloc(g.p, 0, 2 * NSTAGE, true, g.refs, &stage))
		DIE("shr_alloc\n");
	sn_tx_front_init(&tx, tx_page);
	sn_rx_front_init(&rx, rx_page);
	sn_ctrl_front_init(&g.ctrl, ctrl_page);
	if (ops->evt_open(g.p, &g.evt))
		DIE("evt\n");
	port = ops->evt_alloc_unbound(g.evt, 0);
	g.cport = ops->evt_alloc_unbound(g.evt, 0);
	if (port < 0 || g.cport < 0)
		DIE("evt ports\n");
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/0", GUEST_DOMID);
	do {
		if (ops->xs_txn_start(g.p, &x))
			DIE("txn\n");
		rc = h_xs_w(g.p, x, dir, "tx-ring-ref", "%u", tx_ref) ||
		     h_xs_w(g.p, x, dir, "rx-ring-ref", "%u", rx_ref) ||
		     h_xs_w(g.p, x, dir, "event-channel", "%d", port) ||
		     h_xs_w(g.p, x, dir, "ctrl-ring-ref", "%u", ctrl_ref) ||
		     h_xs_w(g.p, x, dir, "event-channel-ctrl", "%d", g.cport) ||
		     h_xs_w(g.p, x, dir, "request-rx-copy", "1") ||
		     h_xs_w(g.p, x, dir, "state", "%d", XenbusStateConnected);
		if (rc)
			DIE("keys\n");
		rc = ops->xs_txn_end(g.p, x, false);
	} while (rc == -EAGAIN);
	if (!guest_wait_be(g.p, XenbusStateConnected))
		DIE("not connected\n");
	if (guest_add(&g, 0, NSTAGE) != XEN_NETIF_CTRL_STATUS_SUCCESS)
		DIE("first ADD failed\n");

	guest_hold_every_lock(g.p);
	if (!live) {
		printf("READY\n");
		fflush(stdout);
		_exit(0);
	}
	/* Pins taken while we hold the words, and an attempt to end grants
	 * the backend maps: it must fail (-EBUSY: quarantined, not freed). */
	st2 = guest_add(&g, NSTAGE, NSTAGE);
	busy = ops->shr_free(g.p, stage, 2 * NSTAGE);
	printf("READY %u %d\n", st2, busy);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		_exit(1);
	/* The backend has let go: every grant ends now. */
	rc = ops->shr_free(g.p, stage, 2 * NSTAGE);
	rc = rc ? rc : ops->shr_free(g.p, g.list, 1);
	rc = rc ? rc : ops->shr_free(g.p, ctrl_page, 1);
	rc = rc ? rc : ops->shr_free(g.p, rx_page, 1);
	rc = rc ? rc : ops->shr_free(g.p, tx_page, 1);
	printf("FREED %d\n", rc);
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- the test ------------------------------------------------------------ */

static const char *self_exe;
static pid_t guest_pid = -1; /* killed by the teardown if a case failed */
static FILE *guest_in, *guest_out;

static void guest_spawn(const char *mode)
{
	char *argv[] = { (char *)self_exe, (char *)"guest", (char *)mode, NULL };
	posix_spawn_file_actions_t fa;
	int in[2], out[2];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	assert_int_equal(posix_spawn(&guest_pid, self_exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	guest_in = fdopen(in[1], "w");
	guest_out = fdopen(out[0], "r");
	assert_non_null(guest_in);
	assert_non_null(guest_out);
}

/* The guest's next line, or fail after READY_MS. */
static void guest_line(char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fileno(guest_out), .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, READY_MS), 1);
	assert_non_null(fgets(buf, (int)len, guest_out));
}

static int guest_reap(void **state)
{
	int st;

	(void)state;
	if (guest_pid > 0) {
		kill(guest_pid, SIGKILL);
		waitpid(guest_pid, &st, 0);
		guest_pid = -1;
	}
	if (guest_in)
		fclose(guest_in);
	if (guest_out)
		fclose(guest_out);
	guest_in = guest_out = NULL;
	return 0;
}

static bool wait_back_maps_zero(struct h_ctx *t)
{
	for (int ms = 0; ms < TEARDOWN_GUARD_MS && h_back_maps(t); ms += 2)
		h_sleep_ms(2);
	return h_back_maps(t) == 0;
}

static void vif_cli(const char *verb)
{
	const char *args[] = { verb, "--domid", "9", "--devid", "0", NULL };

	assert_int_equal(h_run_cli(args), 0);
}

static void hostile_vif_add(struct h_ctx *t)
{
	vif_cli("vif-add");
	for (int ms = 0; ms < 5000; ms++) {
		if (h_dom_be_state(t->bplat, GUEST_DOMID, 0) == XenbusStateInitWait)
			return;
		h_sleep_ms(1);
	}
	fail_msg("the hostile guest's vif never reached InitWait");
}

/* While the control thread tears the hostile vif down: an innocent
 * frontend's vif is added, connects, closes and is deleted. */
static void innocent_vif_round_trip(struct h_ctx *t)
{
	struct h_fe fe;

	h_fe_connect(t, &fe, 0);
	h_fe_close(&fe);
}

static void assert_no_lock_wait_ran_out(struct h_ctx *t)
{
	struct sn_emu *e = (struct sn_emu *)t->bplat;

	assert_int_equal(atomic_load(&e->unpin_lock_timeouts), 0);
	assert_int_equal(atomic_load(&e->pin_lock_timeouts), 0);
}

static void pin_lock_guest_exits(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = 2 * NSTAGE };
	char line[64];
	uint32_t held;
	int st;

	h_back_start(t, &cfg);
	hostile_vif_add(t);
	guest_spawn("exit");
	guest_line(line, sizeof(line));
	assert_string_equal(line, "READY\n");
	held = h_back_maps(t);
	assert_int_equal(waitpid(guest_pid, &st, 0), guest_pid);
	guest_pid = -1;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* @releaseDomain: the control thread unmaps the dead guest's rings,
	 * control ring and staged grefs, every one's lock word held. */
	innocent_vif_round_trip(t);
	assert_true(wait_back_maps_zero(t));
	assert_no_lock_wait_ran_out(t);
	/* Two rings, the control ring and the staged grefs were mapped. */
	assert_int_equal(held, 3 + NSTAGE);
	vif_cli("vif-del");
	h_back_stop(t);
}

static void pin_lock_guest_lives(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = 2 * NSTAGE };
	char line[64];
	unsigned int st2 = ~0u;
	int busy = 0, freed = -1;
	uint32_t held;

	h_back_start(t, &cfg);
	hostile_vif_add(t);
	guest_spawn("live");
	guest_line(line, sizeof(line));
	assert_int_equal(sscanf(line, "READY %u %d", &st2, &busy), 2);
	held = h_back_maps(t);

	/* The toolstack deletes the live guest's vif: the control thread
	 * unmaps everything while the guest holds every lock word. */
	vif_cli("vif-del");
	innocent_vif_round_trip(t);
	assert_true(wait_back_maps_zero(t));
	assert_no_lock_wait_ran_out(t);

	/* Pins under held words succeeded; the mapped grants could not be
	 * ended while mapped, and all of them end now that they are not. */
	assert_int_equal(st2, XEN_NETIF_CTRL_STATUS_SUCCESS);
	assert_int_equal(held, 3 + 2 * NSTAGE);
	assert_int_equal(busy, -EBUSY);
	fputs("FREE\n", guest_in);
	fflush(guest_in);
	guest_line(line, sizeof(line));
	assert_int_equal(sscanf(line, "FREED %d", &freed), 1);
	assert_int_equal(freed, 0);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	static char path[4096];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(pin_lock_guest_exits, guest_reap),
		cmocka_unit_test_teardown(pin_lock_guest_lives, guest_reap),
	};
	ssize_t n;

	if (argc > 2 && !strcmp(argv[1], "guest"))
		return guest_main(!strcmp(argv[2], "live"));
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return 1;
	path[n] = 0;
	self_exe = path;
	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
