/* `stagenet front` as a user runs it: separate host, back and front
 * processes on the emulated host.  Guest TX (gen -> sink), guest RX
 * (backend gen -> front sink, checked by the sink's sequence/payload
 * checks), and a backend restart under load that the frontend survives. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_proc.h"
#include "common/inproc.h"
#include "common/main.h"
#include "stagenet/stats.h"

#define WAIT_MS SN_TEST_CLI_WAIT_MS

static uint16_t next_domid = 60;

static void front_cli_guest_tx_reaches_backend(void **state)
{
	char dom[8];
	uint16_t d = sn_test_cli_vif_add(next_domid++);
	pid_t back, front;
	char *fo, *bo;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = sn_test_spawn("back-tx.out", "back", "--port", "sink", (char *)NULL);
	front = sn_test_spawn("front-tx.out", "front", "--domid", dom, "--devid", "0", "--port",
			      "gen:count=3000,size=1400", "--linger-ms", "300", "--connect-timeout",
			      "30000", (char *)NULL);
	assert_int_equal(sn_test_reap(front, WAIT_MS), 0);
	sn_test_wait_live("back", d, 0, SN_QS_tx_pkts, 3000);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	fo = sn_test_slurp("front-tx.out");
	bo = sn_test_slurp("back-tx.out");
	assert_int_equal(sn_test_counter(fo, "tx_pkts"), 3000);
	assert_int_equal(sn_test_counter(fo, "tx_bytes"), 3000LL * 1400);
	assert_int_equal(sn_test_counter(fo, "fatal_errors"), -1);
	assert_non_null(strstr(fo, "connected, 1 queue(s)"));
	assert_int_equal(sn_test_counter(bo, "tx_pkts"), 3000);
	free(fo);
	free(bo);
}

static void front_cli_guest_rx_sink_sees_every_packet(void **state)
{
	char dom[8];
	uint16_t d = sn_test_cli_vif_add(next_domid++);
	pid_t back, front;
	char *fo;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = sn_test_spawn("back-rx.out", "back", "--port", "gen:count=2000,size=1500",
			     "--max-queues", "2", (char *)NULL);
	front = sn_test_spawn("front-rx.out", "front", "--domid", dom, "--devid", "0", "--port",
			      "sink", "--queues", "2", "--no-split-evtchn", (char *)NULL);
	sn_test_wait_live("front", d, 0, SN_QS_rx_pkts, 2000);
	sn_test_wait_live("front", d, 1, SN_QS_rx_pkts, 2000);
	/* A sink has no input that could end: well past the default
	 * --linger-ms (500) it is still running, until told to stop. */
	poll(NULL, 0, 1200);
	assert_int_equal(waitpid(front, NULL, WNOHANG), 0);
	kill(front, SIGINT);
	assert_int_equal(sn_test_reap(front, WAIT_MS), 0);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	fo = sn_test_slurp("front-rx.out");
	assert_non_null(strstr(fo, "connected, 2 queue(s)"));
	/* Per queue: the backend generator made 2000 on each. */
	assert_int_equal(sn_test_counter(fo, "rx_pkts"), 2000);
	assert_non_null(strstr(fo, "front port 0: sent=2000 recv=0 drops=0 lost=0 bad_seq=0 bad_payload=0"));
	assert_non_null(strstr(fo, "front port 1: sent=2000 recv=0 drops=0 lost=0 bad_seq=0 bad_payload=0"));
	free(fo);
}

static void front_cli_survives_backend_restart(void **state)
{
	char dom[8];
	uint16_t d = sn_test_cli_vif_add(next_domid++);
	pid_t back, front;
	char *fo, *b2;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	back = sn_test_spawn("back-r1.out", "back", "--port", "sink", (char *)NULL);
	front = sn_test_spawn("front-r.out", "front", "--domid", dom, "--devid", "0", "--port",
			      "gen:size=200,rate=5000", (char *)NULL);
	sn_test_wait_live("back", d, 0, SN_QS_tx_pkts, 500);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	back = sn_test_spawn("back-r2.out", "back", "--port", "sink", (char *)NULL);
	sn_test_wait_live("back", d, 0, SN_QS_tx_pkts, 500);
	kill(front, SIGINT);
	assert_int_equal(sn_test_reap(front, WAIT_MS), 0);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	fo = sn_test_slurp("front-r.out");
	b2 = sn_test_slurp("back-r2.out");
	assert_int_equal(sn_test_counter(fo, "fatal_errors"), -1);
	assert_true(sn_test_counter(b2, "tx_pkts") >= 500);
	free(fo);
	free(b2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(front_cli_guest_tx_reaches_backend),
		cmocka_unit_test(front_cli_guest_rx_sink_sees_every_packet),
		cmocka_unit_test(front_cli_survives_backend_restart),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_cli_group_setup,
				      sn_test_cli_group_teardown);
}
