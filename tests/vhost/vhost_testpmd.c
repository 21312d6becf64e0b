/* The vhost-user port against DPDK's net_vhost PMD in dpdk-testpmd: two
 * vifs of one `stagenet back --port vhost-user:DIR`, testpmd forwarding
 * between their sockets (--forward-mode=io, so frames keep their bytes):
 * frontend 1 `gen` -> back -> vhost-user -> testpmd -> vhost-user -> back
 * -> frontend 2 `sink`, which checks every sequence number and payload
 * byte.  Every generated frame is either received by the sink or counted
 * as a drop somewhere on the way.  Then testpmd is killed and restarted
 * under traffic: the backend survives and carries traffic again.
 * Skipped (77) without dpdk-testpmd or root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli_proc.h"
#include "common/host_fixture.h"
#include "bench/testpmd.h"
#include "common/main.h"
#include "stagenet/stats.h"

#define WAIT_MS 20000
#define TESTPMD "dpdk-testpmd"

static uint16_t next_domid = 20;
static unsigned int tp_seq;

struct world {
	uint16_t d1, d2;  /* gen vif, sink vif */
	unsigned int nq;
	bool server;      /* stagenet listens, testpmd is the client */
	char dir[300];
	char tp_out[64];
	char back_out[32], f1_out[32], f2_out[32]; /* per case: a stale file must not answer */
	pid_t tp, back, f1, f2;
	pid_t back2;      /* front_port: the sink vif's own backend */
	char back2_out[32];
};

/* The running case's processes, for the teardown when an assertion
 * leaves the case early: nothing it started may outlive it. */
static struct world *cur;

static int world_teardown(void **state)
{
	(void)state;
	if (cur) {
		pid_t *ps[] = { &cur->f1, &cur->f2, &cur->back, &cur->back2, &cur->tp };

		for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
			if (*ps[i] > 0 && waitpid(*ps[i], NULL, WNOHANG) == 0) {
				kill(*ps[i], SIGKILL);
				waitpid(*ps[i], NULL, 0);
			}
		cur = NULL;
	}
	return 0;
}

/* testpmd forwarding between two vhost-user sockets (port 0 <-> port 1):
 * as its client when server, else it listens. */
static void tp_start_socks(struct world *w, const char *s0, const char *s1)
{
	char v0[400], v1[400], prefix[64], out[512];
	const char *vdevs[2] = { v0, v1 };
	/* testpmd reads and frees whatever its RX queues hold before it
	 * starts forwarding; as a client it is connected (and our frames
	 * arrive) before that, so those frames would be consumed and never
	 * forwarded nor counted as dropped. */
	static const char *const extra[] = { "--no-flush-rx", NULL };
	struct sn_testpmd_cfg c = { .prefix = prefix, .vdevs = vdevs, .nvdevs = 2, .fwd = "io",
				    .queues = w->nq, .extra = extra, .out = out };

	snprintf(prefix, sizeof(prefix), "sntest%d_%u", (int)getpid(), tp_seq);
	snprintf(w->tp_out, sizeof(w->tp_out), "testpmd%u.out", tp_seq++);
	snprintf(out, sizeof(out), "%s/%s", sn_test_group_host.dir, w->tp_out);
	/* tso=1: the PMD offers HOST_TSO, so 64 KiB GSO frames pass whole
	 * and the sink can check them. */
	snprintf(v0, sizeof(v0), "net_vhost0,iface=%s,queues=%u,client=%d,tso=1", s0, w->nq,
		 w->server);
	snprintf(v1, sizeof(v1), "net_vhost1,iface=%s,queues=%u,client=%d,tso=1", s1, w->nq,
		 w->server);
	assert_int_equal(sn_testpmd_start(&c, &w->tp), 0);
}

static void tp_start(struct world *w)
{
	char s0[340], s1[340];

	snprintf(s0, sizeof(s0), "%s/vif%u.0.sock", w->dir, w->d1);
	snprintf(s1, sizeof(s1), "%s/vif%u.0.sock", w->dir, w->d2);
	tp_start_socks(w, s0, s1);
}

/* Sum of "RX-dropped" and "TX-dropped" in testpmd's accumulated stats. */
static long long tp_stop_drops(struct world *w)
{
	char out[512];
	uint64_t d = 0;

	snprintf(out, sizeof(out), "%s/%s", sn_test_group_host.dir, w->tp_out);
	assert_int_equal(sn_testpmd_stop(w->tp, out, &d), 0);
	w->tp = 0;
	return (long long)d;
}

/* Sum of every "*_drop_* N" counter line of a printout's "total:". */
static long long printout_drops(const char *text)
{
	long long sum = 0;

	text = strstr(text, "  total:");
	if (!text)
		return 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char name[64];
		long long v;

		if (sscanf(l, " %63s %lld", name, &v) == 2 && strstr(name, "_drop_"))
			sum += v;
	}
	return sum;
}

static const enum sn_qstat drop_stats[] = {
#define DROP(n) SN_QS_##n,
	DROP(tx_drop_malformed) DROP(tx_drop_grant) DROP(tx_drop_port) DROP(rx_drop_no_slots)
	DROP(rx_drop_queue_full) DROP(rx_drop_grant) DROP(rx_drop_port) DROP(rx_drop_malformed)
	DROP(port_drop_runt) DROP(port_drop_giant) DROP(port_drop_truncated)
	DROP(port_drop_offload) DROP(port_drop_send) DROP(rx_drop_mcast) DROP(port_drop_peer)
	DROP(port_drop_session)
#undef DROP
};

static uint64_t live_drops(const char *role, uint16_t d, unsigned int nq)
{
	uint64_t s = 0;

	for (unsigned int q = 0; q < nq; q++)
		for (size_t i = 0; i < sizeof(drop_stats) / sizeof(drop_stats[0]); i++)
			s += sn_test_live(role, d, (uint16_t)q, drop_stats[i]);
	return s;
}

static uint64_t live_sum(const char *role, uint16_t d, unsigned int nq, enum sn_qstat c)
{
	uint64_t s = 0;

	for (unsigned int q = 0; q < nq; q++)
		s += sn_test_live(role, d, (uint16_t)q, c);
	return s;
}

static int count_str(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Whether the backend's sessions negotiated VIRTIO_RING_F_EVENT_IDX
 * (DPDK's vhost library offers it): every "connected" says so. */
static bool back_event_idx(const struct world *w)
{
	char *o = sn_test_slurp(w->back_out);
	bool ok = count_str(o, "sock: connected") > 0 &&
		  count_str(o, "sock: connected") == count_str(o, "sock: connected (event_idx)");

	free(o);
	return ok;
}

/* Until the backend's log shows n vhost-user sessions set up. */
static void wait_sessions(const struct world *w, int n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", sn_test_group_host.dir, w->back_out);
	for (int i = 0; i < WAIT_MS / 50; i++) {
		char *o;
		int c;

		/* The child may not have created its output file yet. */
		if (access(path, R_OK)) {
			poll(NULL, 0, 50);
			continue;
		}
		o = sn_test_slurp(w->back_out);
		c = count_str(o, "sock: connected");

		if (c >= n) {
			free(o);
			return;
		}
		if (i == WAIT_MS / 50 - 1)
			print_message("%s", o);
		free(o);
		poll(NULL, 0, 50);
	}
	fail_msg("fewer than %d vhost-user sessions came up", n);
}

/* Until testpmd has started forwarding (what arrives before then waits in
 * the ring, which may fill: counted, but nothing to check). */
static void wait_forwarding(const struct world *w)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", sn_test_group_host.dir, w->tp_out);
	for (int i = 0; i < WAIT_MS / 50; i++) {
		char *o = access(path, R_OK) ? NULL : sn_test_slurp(w->tp_out);
		bool up = o && strstr(o, "packet forwarding - ports=");

		free(o);
		if (up)
			return;
		poll(NULL, 0, 50);
	}
	fail_msg("testpmd did not start forwarding");
}

static uint16_t vif_add_on(uint16_t domid, unsigned int nq, uint16_t backend)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "\"%s\" vif-add --domid %u --devid 0 --queues %u "
		 "--backend-domid %u", getenv("SN_STAGENET"), domid, nq, backend);
	assert_int_equal(system(cmd), 0);
	return domid;
}

static uint16_t vif_add(uint16_t domid, unsigned int nq)
{
	return vif_add_on(domid, nq, 0);
}

static void world_start(struct world *w, unsigned int nq, bool server, bool staging)
{
	char spec[400], dom[8], qs[8];

	memset(w, 0, sizeof(*w));
	cur = w;
	snprintf(w->back_out, sizeof(w->back_out), "back%u.out", tp_seq);
	snprintf(w->f1_out, sizeof(w->f1_out), "f1-%u.out", tp_seq);
	snprintf(w->f2_out, sizeof(w->f2_out), "f2-%u.out", tp_seq);
	w->nq = nq;
	w->server = server;
	w->d1 = vif_add(next_domid++, nq);
	w->d2 = vif_add(next_domid++, nq);
	snprintf(w->dir, sizeof(w->dir), "%s/vhu", sn_test_group_host.dir);
	mkdir(w->dir, 0755);
	/* testpmd's server sockets exist before we connect; as client it
	 * retries until ours exist.  Either way no ordering is needed. */
	tp_start(w);
	/* queues=: the pairs the held device negotiates before the
	 * frontend connects, so its connect needs no renegotiation. */
	snprintf(spec, sizeof(spec), "vhost-user:%s%s,queues=%u", w->dir, server ? ",server" : "",
		 nq);
	snprintf(qs, sizeof(qs), "%u", nq);
	w->back = sn_test_spawn(w->back_out, "back", "--port", spec, "--max-queues", qs,
				"--staging-max", staging ? "1024" : "0", (char *)NULL);
	snprintf(dom, sizeof(dom), "%u", w->d2);
	w->f2 = sn_test_spawn(w->f2_out, "front", "--domid", dom, "--devid", "0", "--port", "sink",
			      "--queues", qs, "--staging", staging ? "page" : "off", (char *)NULL);
}

static pid_t gen_start(struct world *w, const char *gen, bool staging)
{
	char dom[8], qs[8];

	snprintf(dom, sizeof(dom), "%u", w->d1);
	snprintf(qs, sizeof(qs), "%u", w->nq);
	return sn_test_spawn(w->f1_out, "front", "--domid", dom, "--devid", "0", "--port", gen,
			     "--queues", qs, "--staging", staging ? "page" : "off", "--linger-ms",
			     "300", (char *)NULL);
}

/* Every frame arrives byte-exact, and frames gen made = frames the sink
 * got + every counted drop (testpmd's included). */
static void run_exact(unsigned int nq, bool server, bool staging, unsigned int size,
		      unsigned int count, unsigned int rate)
{
	static struct world w; /* outlives the case for world_teardown */
	char gen[128], *o1, *o2;
	long long made, drops, got, tpd;
	uint64_t last = UINT64_MAX, now;
	pid_t f1;

	world_start(&w, nq, server, staging);
	/* Both vifs' sessions first (the backend holds them from vif
	 * creation), so frames have somewhere to go from the start. */
	wait_sessions(&w, 2);
	wait_forwarding(&w);
	snprintf(gen, sizeof(gen), "gen:size=%u,count=%u,rate=%u", size, count, rate);
	f1 = w.f1 = gen_start(&w, gen, staging);
	assert_int_equal(sn_test_reap(f1, WAIT_MS), 0);
	w.f1 = 0;
	/* Until nothing is in flight any more: a second without change
	 * (the backend may hold a backlog for a frontend with no room). */
	for (int i = 0, still = 0; i < 80 && still < 4; i++) {
		now = live_sum("front", w.d2, nq, SN_QS_rx_pkts) + live_drops("back", w.d1, nq) +
		      live_drops("back", w.d2, nq) + live_drops("front", w.d2, nq);
		still = now == last ? still + 1 : 0;
		last = now;
		poll(NULL, 0, 250);
	}
	drops = (long long)(live_drops("back", w.d1, nq) + live_drops("back", w.d2, nq) +
			    live_drops("front", w.d2, nq));
	/* Where the drops were, for the log. */
	for (size_t i = 0; i < sizeof(drop_stats) / sizeof(drop_stats[0]); i++) {
		uint64_t a = live_sum("back", w.d1, nq, drop_stats[i]),
			 b = live_sum("back", w.d2, nq, drop_stats[i]),
			 c = live_sum("front", w.d2, nq, drop_stats[i]);

		if (a || b || c)
			print_message("  %s: back gen vif %llu, back sink vif %llu, sink front %llu\n",
				      sn_qstat_names[drop_stats[i]], (unsigned long long)a,
				      (unsigned long long)b, (unsigned long long)c);
	}
	tpd = tp_stop_drops(&w);
	drops += tpd;
	assert_true(back_event_idx(&w));
	kill(w.f2, SIGINT);
	assert_int_equal(sn_test_reap(w.f2, WAIT_MS), 0);
	w.f2 = 0;
	kill(w.back, SIGINT);
	assert_int_equal(sn_test_reap(w.back, WAIT_MS), 0);
	w.back = 0;
	o1 = sn_test_slurp(w.f1_out);
	o2 = sn_test_slurp(w.f2_out);
	drops += printout_drops(o1);
	made = 0;
	for (const char *p = o1; (p = strstr(p, "front port ")); p++)
		made += strtoll(strstr(p, "recv=") + 5, NULL, 10);
	got = 0;
	for (const char *p = o2; (p = strstr(p, "front port ")); p++)
		got += strtoll(strstr(p, "sent=") + 5, NULL, 10);
	print_message("size %u, %u queue(s), %s, staging %s: made %lld, sink %lld, drops %lld "
		      "(testpmd %lld)\n", size, nq, server ? "stagenet server" : "stagenet client",
		      staging ? "on" : "off", made, got, drops, tpd);
	assert_int_equal(made, (long long)count * nq);
	/* Byte-exact: no frame arrived changed, none twice or out of order. */
	assert_non_null(strstr(o2, "bad_seq=0 bad_payload=0"));
	for (const char *p = o2; (p = strstr(p, "bad_")); p++)
		assert_true(p[strcspn(p, "=") + 1] == '0');
	/* How much arrives depends on the load (a full ring drops, counted);
	 * that some does is the point here, rates are the benchmark's. */
	assert_true(got > 0);
	{
		char *bo = sn_test_slurp(w.back_out);

		for (char *l = strtok(bo, "\n"); l; l = strtok(NULL, "\n"))
			if (strstr(l, "vhost-user"))
				print_message("  %s\n", strrchr(l, '/') ? strrchr(l, '/') + 1 : l);
		free(bo);
	}
	assert_int_equal(got + drops, made);
	free(o1);
	free(o2);
}

static void io_60_1q_client_staging(void **s)
{
	(void)s;
	run_exact(1, false, true, 60, 5000, 50000);
}

static void io_1514_2q_client_staging(void **s)
{
	(void)s;
	run_exact(2, false, true, 1514, 2000, 20000);
}

static void io_1514_1q_server_staging(void **s)
{
	(void)s;
	run_exact(1, true, true, 1514, 2000, 20000);
}

static void io_60_2q_server_nostaging(void **s)
{
	(void)s;
	run_exact(2, true, false, 60, 3000, 30000);
}

static void io_65535_gso_1q_client_nostaging(void **s)
{
	(void)s;
	run_exact(1, false, false, 65535, 300, 300);
}

static void io_9000_2q_client_nostaging(void **s)
{
	(void)s;
	run_exact(2, false, false, 9000, 500, 5000);
}

/* Until out (a child's output file) holds needle n times. */
static void wait_log(const char *out, const char *needle, int n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", sn_test_group_host.dir, out);
	for (int i = 0; i < WAIT_MS / 50; i++) {
		char *o = access(path, R_OK) ? NULL : sn_test_slurp(out);
		int c = o ? count_str(o, needle) : 0;

		if (c >= n) {
			free(o);
			return;
		}
		if (o && i == WAIT_MS / 50 - 1)
			print_message("%s", o);
		free(o);
		poll(NULL, 0, 50);
	}
	fail_msg("%s: fewer than %d \"%s\"", out, n, needle);
}

/* Sum of field (e.g. "sent=") over the port report lines of vif domid in a
 * backend's output ("back vif<domid>.0 port Q: sent=..."). */
static long long back_port_sum(const char *text, uint16_t domid, const char *field)
{
	char key[48];
	long long sum = 0;

	snprintf(key, sizeof(key), "back vif%u.0 port ", domid);
	for (const char *p = text; (p = strstr(p, key)); p++) {
		const char *f = strstr(p, field);

		if (f)
			sum += strtoll(f + strlen(field), NULL, 10);
	}
	return sum;
}

/* The frontend's side of the port: two guests whose NIC is a vhost-user
 * port (`stagenet front --port vhost-user:...`), testpmd forwarding
 * between the two sockets.  A backend's gen (domain 0) -> guest RX of vif
 * A -> front A's port -> testpmd -> front B's port -> guest TX of vif B ->
 * a second backend (domain 7) whose sink checks every sequence number and
 * payload byte.  Frames made = frames the sink got + every counted drop. */
static void run_front(unsigned int nq, bool server, unsigned int size, unsigned int count,
		      unsigned int rate)
{
	static struct world w; /* outlives the case for world_teardown */
	char s0[340], s1[340], p0[400], p1[400], d1[8], d2[8], qs[8], gen[128], *bo, *bo2;
	long long made, got, drops, tpd;
	uint64_t last = UINT64_MAX, now;

	memset(&w, 0, sizeof(w));
	cur = &w;
	snprintf(w.back_out, sizeof(w.back_out), "fback%u.out", tp_seq);
	snprintf(w.back2_out, sizeof(w.back2_out), "fback2-%u.out", tp_seq);
	snprintf(w.f1_out, sizeof(w.f1_out), "ff1-%u.out", tp_seq);
	snprintf(w.f2_out, sizeof(w.f2_out), "ff2-%u.out", tp_seq);
	w.nq = nq;
	w.server = server;
	w.d1 = vif_add_on(next_domid++, nq, 0);
	w.d2 = vif_add_on(next_domid++, nq, 7);
	snprintf(w.dir, sizeof(w.dir), "%s/vhu", sn_test_group_host.dir);
	mkdir(w.dir, 0755);
	snprintf(s0, sizeof(s0), "%s/front%u.sock", w.dir, w.d1);
	snprintf(s1, sizeof(s1), "%s/front%u.sock", w.dir, w.d2);
	tp_start_socks(&w, s0, s1);
	snprintf(p0, sizeof(p0), "vhost-user:%s%s", s0, server ? ",server" : "");
	snprintf(p1, sizeof(p1), "vhost-user:%s%s", s1, server ? ",server" : "");
	snprintf(d1, sizeof(d1), "%u", w.d1);
	snprintf(d2, sizeof(d2), "%u", w.d2);
	snprintf(qs, sizeof(qs), "%u", nq);
	w.f1 = sn_test_spawn(w.f1_out, "front", "--domid", d1, "--devid", "0", "--port", p0,
			     "--queues", qs, (char *)NULL);
	w.f2 = sn_test_spawn(w.f2_out, "front", "--domid", d2, "--devid", "0", "--port", p1,
			     "--queues", qs, (char *)NULL);
	w.back2 = sn_test_spawn(w.back2_out, "back", "--domid", "7", "--port", "sink",
				"--max-queues", qs, (char *)NULL);
	/* The receiving guest's port up and testpmd forwarding before the
	 * first frame (earlier ones would only be counted drops). */
	wait_log(w.f2_out, "sock: connected", 1);
	wait_forwarding(&w);
	snprintf(gen, sizeof(gen), "gen:size=%u,count=%u,rate=%u", size, count, rate);
	w.back = sn_test_spawn(w.back_out, "back", "--port", gen, "--max-queues", qs, (char *)NULL);
	wait_log(w.f1_out, "sock: connected", 1);
	/* Until nothing moves any more: a second without change. */
	for (int i = 0, still = 0; i < 80 && still < 4; i++) {
		now = live_sum("back", w.d2, nq, SN_QS_tx_pkts) + live_drops("back", w.d1, nq) +
		      live_drops("front", w.d1, nq) + live_drops("front", w.d2, nq) +
		      live_drops("back", w.d2, nq);
		still = now && now == last ? still + 1 : 0;
		last = now;
		poll(NULL, 0, 250);
	}
	drops = (long long)(live_drops("back", w.d1, nq) + live_drops("front", w.d1, nq) +
			    live_drops("front", w.d2, nq) + live_drops("back", w.d2, nq));
	for (size_t i = 0; i < sizeof(drop_stats) / sizeof(drop_stats[0]); i++) {
		uint64_t a = live_sum("back", w.d1, nq, drop_stats[i]),
			 b = live_sum("front", w.d1, nq, drop_stats[i]),
			 c = live_sum("front", w.d2, nq, drop_stats[i]),
			 d = live_sum("back", w.d2, nq, drop_stats[i]);

		if (a || b || c || d)
			print_message("  %s: gen back %llu, front A %llu, front B %llu, sink back %llu\n",
				      sn_qstat_names[drop_stats[i]], (unsigned long long)a,
				      (unsigned long long)b, (unsigned long long)c,
				      (unsigned long long)d);
	}
	tpd = tp_stop_drops(&w);
	drops += tpd;
	{
		pid_t *ps[] = { &w.f1, &w.f2, &w.back, &w.back2 };

		for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
			kill(*ps[i], SIGINT);
			assert_int_equal(sn_test_reap(*ps[i], WAIT_MS), 0);
			*ps[i] = 0;
		}
	}
	bo = sn_test_slurp(w.back_out);
	bo2 = sn_test_slurp(w.back2_out);
	made = back_port_sum(bo, w.d1, "recv=");
	got = back_port_sum(bo2, w.d2, "sent=");
	print_message("front port, size %u, %u queue(s), %s: made %lld, sink %lld, drops %lld "
		      "(testpmd %lld)\n", size, nq, server ? "front listens" : "front connects",
		      made, got, drops, tpd);
	assert_int_equal(made, (long long)count * nq);
	assert_int_equal(back_port_sum(bo2, w.d2, "bad_seq="), 0);
	assert_int_equal(back_port_sum(bo2, w.d2, "bad_payload="), 0);
	assert_true(got > 0);
	assert_int_equal(got + drops, made);
	free(bo);
	free(bo2);
}

static void front_port_1514_1q_client(void **s)
{
	(void)s;
	run_front(1, false, 1514, 2000, 20000);
}

static void front_port_60_2q_server(void **s)
{
	(void)s;
	/* testpmd as a client retries its connect once a second, and front
	 * A's socket exists only once the vif is up, when gen starts: 2 s of
	 * frames so that most arrive (the first ones are counted drops). */
	run_front(2, true, 60, 4000, 2000);
}

/* testpmd SIGKILLed under traffic, then started again: the backend (the
 * listening side here, so testpmd reconnects as a client) keeps running,
 * counts what it could not deliver, and carries traffic again. */
static void testpmd_killed_and_restarted(void **s)
{
	static struct world w; /* outlives the case for world_teardown */
	uint64_t before, drops0, drops1;
	char *bo, *o2;
	pid_t f1;

	(void)s;
	world_start(&w, 1, true, true);
	wait_sessions(&w, 2);
	/* No count: it runs until told to stop (SIGINT). */
	f1 = w.f1 = gen_start(&w, "gen:size=200", true);
	sn_test_wait_live("front", w.d2, 0, SN_QS_rx_pkts, 1000);
	kill(w.tp, SIGKILL);
	assert_int_equal(sn_test_reap(w.tp, WAIT_MS), 128 + SIGKILL);
	w.tp = 0;
	drops0 = live_drops("back", w.d1, 1);
	poll(NULL, 0, 1000);
	/* The backend is alive and counts the frames it cannot deliver. */
	assert_int_equal(waitpid(w.back, NULL, WNOHANG), 0);
	drops1 = live_drops("back", w.d1, 1);
	assert_true(drops1 > drops0);
	before = live_sum("front", w.d2, 1, SN_QS_rx_pkts);
	tp_start(&w);
	sn_test_wait_live("front", w.d2, 0, SN_QS_rx_pkts, before + 1000);
	kill(f1, SIGINT);
	assert_int_equal(sn_test_reap(f1, WAIT_MS), 0);
	w.f1 = 0;
	(void)tp_stop_drops(&w);
	kill(w.f2, SIGINT);
	assert_int_equal(sn_test_reap(w.f2, WAIT_MS), 0);
	w.f2 = 0;
	kill(w.back, SIGINT);
	assert_int_equal(sn_test_reap(w.back, WAIT_MS), 0);
	w.back = 0;
	bo = sn_test_slurp(w.back_out);
	o2 = sn_test_slurp(w.f2_out);
	/* Both vifs' sessions came back after the restart. */
	assert_true(count_str(bo, "sock: connected") >= 4);
	assert_true(count_str(bo, "sock: peer disconnected") >= 2);
	assert_non_null(strstr(o2, "bad_seq=0 bad_payload=0"));
	free(bo);
	free(o2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(io_60_1q_client_staging, world_teardown),
		cmocka_unit_test_teardown(io_1514_2q_client_staging, world_teardown),
		cmocka_unit_test_teardown(io_1514_1q_server_staging, world_teardown),
		cmocka_unit_test_teardown(io_60_2q_server_nostaging, world_teardown),
		cmocka_unit_test_teardown(io_65535_gso_1q_client_nostaging, world_teardown),
		cmocka_unit_test_teardown(io_9000_2q_client_nostaging, world_teardown),
		cmocka_unit_test_teardown(testpmd_killed_and_restarted, world_teardown),
		cmocka_unit_test_teardown(front_port_1514_1q_client, world_teardown),
		cmocka_unit_test_teardown(front_port_60_2q_server, world_teardown),
	};
	if (geteuid() != 0) {
		fprintf(stderr, "skip: dpdk-testpmd needs root (memfd mappings, /var/run/dpdk)\n");
		return 77;
	}
	if (!sn_testpmd_available(NULL)) {
		fprintf(stderr, "skip: " TESTPMD " not installed (Debian package dpdk)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_cli_group_setup, sn_test_cli_group_teardown);
}
