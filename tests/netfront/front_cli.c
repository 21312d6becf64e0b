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
#include "common/host_fixture.h"
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

/* A capture file by hand (libpcap's format, microsecond stamps): good
 * frames around the three records a port must refuse, so each refusal
 * has a reason a user can read. */
static void put32(FILE *f, uint32_t v)
{
	assert_int_equal(fwrite(&v, 4, 1, f), 1);
}

static void put_record(FILE *f, uint32_t caplen, uint32_t len)
{
	static uint8_t frame[70000];

	/* Unicast to a locally administered MAC, then IPv4 ethertype. */
	frame[0] = 0x02;
	frame[5] = 0x01;
	frame[12] = 0x08;
	put32(f, 1);
	put32(f, 0);
	put32(f, caplen);
	put32(f, len);
	assert_int_equal(fwrite(frame, 1, caplen, f), caplen);
}

static void write_bad_pcap(const char *path)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4u << 16); /* version 2.4 */
	put32(f, 0);
	put32(f, 0);
	put32(f, 262144); /* snaplen */
	put32(f, 1);      /* DLT_EN10MB */
	put_record(f, 60, 60);
	put_record(f, 10, 10);       /* runt: shorter than Ethernet */
	put_record(f, 66000, 66000); /* giant: beyond netif's 64 KiB */
	put_record(f, 100, 200);     /* truncated: cut at capture */
	put_record(f, 60, 60);
	assert_int_equal(fclose(f), 0);
}

/* `stagenet stats` output of one block, NUL-terminated; free() it. */
static char *stats_of(const char *block)
{
	char cmd[512], *out = calloc(1, 16384);
	size_t n;
	FILE *f;

	assert_non_null(out);
	snprintf(cmd, sizeof(cmd), "'%s' stats %s", getenv("SN_STAGENET"), block);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, 16383, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	return out;
}

static void expect_reasons(const char *text)
{
	assert_int_equal(sn_test_counter(text, "port_drop_runt"), 1);
	assert_int_equal(sn_test_counter(text, "port_drop_giant"), 1);
	assert_int_equal(sn_test_counter(text, "port_drop_truncated"), 1);
}

/* A frame a port refuses is counted by reason in the published block
 * while the daemons run (guest TX: the frontend's pcap; guest RX: the
 * backend's), not only as a port's bare drops= at exit. */
static void front_cli_port_drops_by_reason_live(void **state)
{
	char dom[8], in[400], fspec[900], bspec[900], block[32];
	uint16_t d = sn_test_cli_vif_add(next_domid++);
	pid_t back, front;
	char *out;

	(void)state;
	snprintf(dom, sizeof(dom), "%u", d);
	snprintf(in, sizeof(in), "%s/bad.pcap", sn_test_group_host.dir);
	write_bad_pcap(in);
	snprintf(bspec, sizeof(bspec), "pcap:in=%s,out=%s/back-drops.pcap", in,
		 sn_test_group_host.dir);
	snprintf(fspec, sizeof(fspec), "pcap:in=%s,out=%s/front-drops.pcap", in,
		 sn_test_group_host.dir);
	back = sn_test_spawn("back-drops.out", "back", "--port", bspec, "--max-queues", "1",
			     (char *)NULL);
	front = sn_test_spawn("front-drops.out", "front", "--domid", dom, "--devid", "0",
			      "--port", fspec, "--linger-ms", "600000", "--connect-timeout",
			      "30000", (char *)NULL);
	sn_test_wait_live("front", d, 0, SN_QS_port_drop_truncated, 1);
	sn_test_wait_live("back", d, 0, SN_QS_port_drop_truncated, 1);
	sn_test_wait_live("back", d, 0, SN_QS_tx_pkts, 2);
	sn_test_wait_live("front", d, 0, SN_QS_rx_pkts, 2);
	/* Both still running: these are live numbers. */
	assert_int_equal(waitpid(front, NULL, WNOHANG), 0);
	assert_int_equal(waitpid(back, NULL, WNOHANG), 0);
	snprintf(block, sizeof(block), "front-%u-0", d);
	out = stats_of(block);
	expect_reasons(out);
	free(out);
	snprintf(block, sizeof(block), "back-%u-0", d);
	out = stats_of(block);
	expect_reasons(out);
	free(out);
	kill(front, SIGINT);
	assert_int_equal(sn_test_reap(front, WAIT_MS), 0);
	kill(back, SIGINT);
	assert_int_equal(sn_test_reap(back, WAIT_MS), 0);
	/* And in what each prints at exit. */
	out = sn_test_slurp("front-drops.out");
	expect_reasons(out);
	assert_non_null(strstr(out, "drops=3"));
	free(out);
	out = sn_test_slurp("back-drops.out");
	expect_reasons(out);
	free(out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(front_cli_guest_tx_reaches_backend),
		cmocka_unit_test(front_cli_guest_rx_sink_sees_every_packet),
		cmocka_unit_test(front_cli_survives_backend_restart),
		cmocka_unit_test(front_cli_port_drops_by_reason_live),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_cli_group_setup,
				      sn_test_cli_group_teardown);
}
