/* pcap port: frames written by one port read back byte-exact by another,
 * per-queue file naming, hostile records dropped and counted, and (when
 * installed) tcpdump reads our files. */
#include <errno.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pkts.h"
#include "stagenet/port.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sn-pcap-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* gen -> pcap file; returns packets written. */
static unsigned int write_file(const char *spec_out, const char *genspec,
			       const struct sn_port_ctx *ctx)
{
	struct sn_port *gen, *out;
	struct test_burst b;
	unsigned int total = 0;
	int n;

	assert_int_equal(sn_port_open(genspec, ctx, &gen), 0);
	assert_int_equal(sn_port_open(spec_out, ctx, &out), 0);
	assert_int_equal(test_burst_init(&b, 16), 0);
	while ((n = gen->ops->recv(gen, b.ptr, b.n)) > 0) {
		assert_int_equal(out->ops->send(out, b.ptr, (unsigned int)n), n);
		total += (unsigned int)n;
	}
	assert_int_equal(n, -ENODATA);
	assert_int_equal(out->stats.sent_pkts, total);
	/* An out-only pcap produces nothing. */
	assert_int_equal(out->ops->recv(out, b.ptr, 1), -ENODATA);
	sn_port_close(out);
	sn_port_close(gen);
	test_burst_free(&b);
	return total;
}

/* pcap file -> sink; returns the sink's packet count. */
static uint64_t read_file(const char *spec_in, const struct sn_port_ctx *ctx,
			  struct sn_port_stats *sink_stats, struct sn_port_stats *in_stats)
{
	struct sn_port *in, *sink;
	struct test_burst b;
	int n;

	assert_int_equal(sn_port_open(spec_in, ctx, &in), 0);
	assert_int_equal(sn_port_open("sink", ctx, &sink), 0);
	assert_int_equal(test_burst_init(&b, 16), 0);
	while ((n = in->ops->recv(in, b.ptr, b.n)) > 0)
		assert_int_equal(sink->ops->send(sink, b.ptr, (unsigned int)n), n);
	assert_int_equal(n, -ENODATA);
	assert_int_equal(in->ops->recv(in, b.ptr, b.n), -ENODATA);
	*sink_stats = sink->stats;
	*in_stats = in->stats;
	sn_port_close(in);
	sn_port_close(sink);
	test_burst_free(&b);
	return sink_stats->sent_pkts;
}

static void pcap_write_then_read_back_byte_exact(void **state)
{
	struct sn_port_ctx ctx = { .domid = 1, .queue = 0, .nqueues = 1 };
	static const unsigned int sizes[] = { 60, 1514, 65535 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		char spec[200], genspec[64];
		struct sn_port_stats ss, is;

		snprintf(spec, sizeof(spec), "pcap:out=%s/f%u.pcap", dir, sizes[i]);
		snprintf(genspec, sizeof(genspec), "gen:size=%u,count=37,flows=2", sizes[i]);
		assert_int_equal(write_file(spec, genspec, &ctx), 37);
		snprintf(spec, sizeof(spec), "pcap:in=%s/f%u.pcap", dir, sizes[i]);
		assert_int_equal(read_file(spec, &ctx, &ss, &is), 37);
		assert_int_equal(ss.sent_bytes, 37ull * sizes[i]);
		assert_int_equal(ss.bad_payload, 0);
		assert_int_equal(ss.lost, 0);
		assert_int_equal(ss.bad_seq, 0);
		assert_int_equal(is.recv_pkts, 37);
		assert_int_equal(is.drops, 0);
	}
}

static void pcap_per_queue_files(void **state)
{
	char spec[200], path[200];
	struct stat st;

	(void)state;
	snprintf(spec, sizeof(spec), "pcap:out=%s/mq.pcap", dir);
	for (uint16_t q = 0; q < 2; q++) {
		struct sn_port_ctx ctx = { .domid = 1, .queue = q, .nqueues = 2 };

		assert_int_equal(write_file(spec, q ? "gen:count=5" : "gen:count=3", &ctx),
				 q ? 5 : 3);
	}
	snprintf(path, sizeof(path), "%s/mq.pcap", dir);
	assert_int_equal(stat(path, &st), -1);
	for (uint16_t q = 0; q < 2; q++) {
		struct sn_port_ctx ctx = { .domid = 1, .queue = q, .nqueues = 2 };
		struct sn_port_stats ss, is;

		snprintf(path, sizeof(path), "%s/mq.pcap.q%u", dir, q);
		assert_int_equal(stat(path, &st), 0);
		snprintf(spec, sizeof(spec), "pcap:in=%s/mq.pcap", dir);
		assert_int_equal(read_file(spec, &ctx, &ss, &is), q ? 5 : 3);
		assert_int_equal(ss.bad_payload + ss.lost + ss.bad_seq, 0);
	}
}

static void pcap_drops_truncated_and_oversized_records(void **state)
{
	struct sn_port_ctx ctx = { .domid = 1, .queue = 0, .nqueues = 1 };
	char path[200], spec[220];
	static uint8_t frame[70000];
	struct sn_port_stats ss, is;
	struct pcap_pkthdr h = { 0 };
	pcap_t *dead;
	pcap_dumper_t *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.pcap", dir);
	dead = pcap_open_dead(DLT_EN10MB, 262144);
	assert_non_null(dead);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	memset(frame, 0x11, sizeof(frame));
	h.caplen = 100;
	h.len = 200; /* cut at capture */
	pcap_dump((u_char *)d, &h, frame);
	h.caplen = h.len = 66000; /* beyond netif's 64 KiB */
	pcap_dump((u_char *)d, &h, frame);
	h.caplen = h.len = 10; /* shorter than Ethernet */
	pcap_dump((u_char *)d, &h, frame);
	h.caplen = h.len = 64; /* fine, but not a gen frame */
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_close(d);
	pcap_close(dead);

	snprintf(spec, sizeof(spec), "pcap:in=%s", path);
	assert_int_equal(read_file(spec, &ctx, &ss, &is), 1);
	assert_int_equal(is.drops, 3);
	assert_int_equal(ss.bad_payload, 1);

	/* Each by its reason in the queue's counters. */
	{
		struct sn_qstats qs = { 0 };
		struct test_burst b;
		struct sn_port *in;

		assert_int_equal(sn_port_open(spec, &ctx, &in), 0);
		in->qs = &qs;
		assert_int_equal(test_burst_init(&b, 16), 0);
		assert_int_equal(in->ops->recv(in, b.ptr, b.n), 1);
		assert_int_equal(qs.v[SN_QS_port_drop_truncated], 1);
		assert_int_equal(qs.v[SN_QS_port_drop_giant], 1);
		assert_int_equal(qs.v[SN_QS_port_drop_runt], 1);
		sn_port_close(in);
		test_burst_free(&b);
	}
}

static void pcap_missing_input_fails_cleanly(void **state)
{
	struct sn_port_ctx ctx = { .domid = 1, .queue = 0, .nqueues = 1 };
	struct sn_port *p;
	char spec[200];

	(void)state;
	snprintf(spec, sizeof(spec), "pcap:in=%s/nonexistent.pcap", dir);
	assert_true(sn_port_open(spec, &ctx, &p) < 0);
	assert_null(p);
	snprintf(spec, sizeof(spec), "pcap:out=%s/no/such/dir.pcap", dir);
	assert_true(sn_port_open(spec, &ctx, &p) < 0);
}

static void tcpdump_reads_our_file(void **state)
{
	struct sn_port_ctx ctx = { .domid = 1, .queue = 0, .nqueues = 1 };
	char spec[200], cmd[300];
	FILE *f;
	int lines = 0, c;

	(void)state;
	if (access("/usr/bin/tcpdump", X_OK) && access("/usr/sbin/tcpdump", X_OK)) {
		printf("tcpdump not installed: skipping\n");
		skip();
	}
	snprintf(spec, sizeof(spec), "pcap:out=%s/td.pcap", dir);
	assert_int_equal(write_file(spec, "gen:size=300,count=23,flows=3", &ctx), 23);
	snprintf(cmd, sizeof(cmd), "PATH=$PATH:/usr/sbin tcpdump -nn -r '%s/td.pcap' 2>/dev/null",
		 dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		if (c == '\n')
			lines++;
	assert_int_equal(pclose(f), 0);
	assert_int_equal(lines, 23);
	/* and it sees them as UDP to our port */
	snprintf(cmd, sizeof(cmd),
		 "PATH=$PATH:/usr/sbin tcpdump -nn -r '%s/td.pcap' 'udp dst port 9000' 2>/dev/null"
		 " | wc -l | grep -qx 23", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pcap_write_then_read_back_byte_exact),
		cmocka_unit_test(pcap_per_queue_files),
		cmocka_unit_test(pcap_drops_truncated_and_oversized_records),
		cmocka_unit_test(pcap_missing_input_fails_cleanly),
		cmocka_unit_test(tcpdump_reads_our_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
