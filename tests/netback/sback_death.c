/* Frontend death with a full staging table: a frontend process (this test
 * binary re-executed) connects with a control ring, stages as many grefs as
 * the backend allows, and is SIGKILLed.  The backend must notice the dead
 * domain, go Closed and unmap everything: the ring pages, the control ring
 * and every staged gref (its map count returns to zero). */
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
#include "common/peer_front.h"
#include "proto/ctrl.h"

extern char **environ;

#define CHILD_DOMID 9
#define NSTAGE 32u

static bool wait_be_state(struct sn_plat *p, uint16_t domid, int state)
{
	for (int ms = 0; ms < 5000; ms++) {
		if (h_dom_be_state(p, domid, 0) == state)
			return true;
		h_sleep_ms(1);
	}
	return false;
}

/* ---- the frontend process ------------------------------------------------ */

#define DIE(...) do { fprintf(stderr, "child: " __VA_ARGS__); exit(1); } while (0)

static int child_main(void)
{
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	struct xen_netif_ctrl_front_ring ctrl;
	struct xen_netif_ctrl_request req;
	struct xen_netif_ctrl_response rsp;
	const struct sn_plat_ops *ops;
	uint32_t tx_ref, rx_ref, ctrl_ref, list_ref, refs[NSTAGE];
	void *tx_page, *rx_page, *ctrl_page, *stage;
	struct xen_netif_gref *list;
	struct sn_evtchn *evt;
	struct sn_plat *p;
	xs_transaction_t x;
	char dir[128];
	int port, cport, rc;

	if (sn_test_dom_try(CHILD_DOMID, NULL, &p))
		DIE("plat\n");
	ops = p->ops;
	if (ops->shr_alloc(p, 0, 1, true, &tx_ref, &tx_page) ||
	    ops->shr_alloc(p, 0, 1, true, &rx_ref, &rx_page) ||
	    ops->shr_alloc(p, 0, 1, true, &ctrl_ref, &ctrl_page) ||
	    ops->shr_alloc(p, 0, 1, true, &list_ref, (void **)&list) ||
	    ops->shr_alloc(p, 0, NSTAGE, true, refs, &stage))
		DIE("shr_alloc\n");
	sn_tx_front_init(&tx, tx_page);
	sn_rx_front_init(&rx, rx_page);
	sn_ctrl_front_init(&ctrl, ctrl_page);
	if (ops->evt_open(p, &evt))
		DIE("evt\n");
	port = ops->evt_alloc_unbound(evt, 0);
	cport = ops->evt_alloc_unbound(evt, 0);
	if (port < 0 || cport < 0)
		DIE("evt ports\n");
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/0", CHILD_DOMID);
	do {
		if (ops->xs_txn_start(p, &x))
			DIE("txn\n");
		rc = h_xs_w(p, x, dir, "tx-ring-ref", "%u", tx_ref) ||
		     h_xs_w(p, x, dir, "rx-ring-ref", "%u", rx_ref) ||
		     h_xs_w(p, x, dir, "event-channel", "%d", port) ||
		     h_xs_w(p, x, dir, "ctrl-ring-ref", "%u", ctrl_ref) ||
		     h_xs_w(p, x, dir, "event-channel-ctrl", "%d", cport) ||
		     h_xs_w(p, x, dir, "request-rx-copy", "1") ||
		     h_xs_w(p, x, dir, "state", "%d", XenbusStateConnected);
		if (rc)
			DIE("keys\n");
		rc = ops->xs_txn_end(p, x, false);
	} while (rc == -EAGAIN);
	if (!wait_be_state(p, CHILD_DOMID, XenbusStateConnected))
		DIE("not connected\n");

	for (unsigned int i = 0; i < NSTAGE; i++) {
		list[i].ref = refs[i];
		list[i].flags = 0;
	}
	sn_ctrl_req_make(&req, 1, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0,
			 list_ref, NSTAGE);
	sn_ctrl_front_put_req(&ctrl, &req);
	sn_ctrl_front_push(&ctrl);
	ops->evt_notify(evt, (sn_port_t)cport);
	for (int ms = 0; ms < 5000 && sn_ctrl_front_rsp_prod(&ctrl) == 0; ms++)
		h_sleep_ms(1);
	if (sn_ctrl_front_rsp_prod(&ctrl) != 1)
		DIE("no ADD response\n");
	sn_ctrl_front_copy_rsp(&ctrl, 0, &rsp);
	if (rsp.status != XEN_NETIF_CTRL_STATUS_SUCCESS)
		DIE("ADD status %u\n", rsp.status);
	printf("READY\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- the test ------------------------------------------------------------ */

static const char *self_exe;

static void frontend_death_with_full_table_leaves_zero_mappings(void **state)
{
	struct h_ctx *t = *state;
	struct sn_back_cfg cfg = { .staging_max = NSTAGE };
	const char *add[] = { "vif-add", "--domid", "9", "--devid", "0", NULL };
	const char *del[] = { "vif-del", "--domid", "9", "--devid", "0", NULL };
	char *argv[] = { (char *)self_exe, (char *)"frontend", NULL };
	posix_spawn_file_actions_t fa;
	struct pollfd pfd;
	char buf[16] = "";
	int pipefd[2], st;
	pid_t pid;

	h_back_start(t, &cfg);
	assert_int_equal(h_back_maps(t), 0);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(wait_be_state(t->bplat, CHILD_DOMID, XenbusStateInitWait));

	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawn(&pid, self_exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_true(read(pipefd[0], buf, sizeof(buf) - 1) > 0);
	close(pipefd[0]);
	if (strncmp(buf, "READY", 5)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("frontend process did not get ready");
	}
	/* Two rings, the control ring and a full table of staged grefs. */
	assert_int_equal(h_back_maps(t), 3 + NSTAGE);

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(wait_be_state(t->bplat, CHILD_DOMID, XenbusStateClosed));
	for (int ms = 0; ms < 5000 && h_back_maps(t); ms++)
		h_sleep_ms(1);
	assert_int_equal(h_back_maps(t), 0);
	assert_int_equal(h_run_cli(del), 0);
	h_back_stop(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frontend_death_with_full_table_leaves_zero_mappings),
	};

	if (argc > 1 && !strcmp(argv[1], "frontend"))
		return child_main();
	self_exe = "/proc/self/exe";
	{
		static char path[4096];
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		if (n > 0) {
			path[n] = 0;
			self_exe = path;
		}
	}
	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
