/* `stagenet front`: one netfront NIC of this domain attached to a port, one
 * thread per queue moving packets both ways; the main thread follows the
 * backend's xenstore state (reconnects) and prints the counters on exit. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "stagenet/front.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

#define FRONT_BURST 32
/* Busy polling: empty turns in a row before an idle worker yields. */
#define BUSY_YIELD_TURNS 16u
/* Spin this long after the last bit of work before sleeping (NAPI-like):
 * a blocking wake-up costs far more than a short poll. */
#define FRONT_SPIN_US 50

static volatile sig_atomic_t front_stop;

static void on_signal(int sig)
{
	(void)sig;
	front_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stagenet front --domid D --devid N --port SPEC [options]\n"
		"\n"
		"Run the netfront of vif N of domain D (device/vif/N, as `stagenet vif-add`\n"
		"or xl wrote it) and move packets between it and a port.\n"
		"\n"
		"  --port SPEC            tap[:NAME] | pcap:in=F[,out=F] | gen[:...] | sink\n"
		"  --queues Q             queues to ask for (default 1, clamped by the backend)\n"
		"  --busy-poll            never sleep on event channels\n"
		"  --split-evtchn         separate tx/rx event channels when offered (default)\n"
		"  --no-split-evtchn      one event channel per queue\n"
		"  --connect-timeout MS   give up if the backend never connects (default: wait)\n"
		"  --linger-ms MS         after every input port ended, keep receiving this\n"
		"                         long, then exit (default 500); a port without\n"
		"                         input (sink, pcap:out) runs until SIGINT/SIGTERM\n"
		"  --staging POLICY       staging grants, used when the backend offers a\n"
		"                         control ring and GREF mapping (default page):\n"
		"                           page    whole staged pages: TX copies packets\n"
		"                                   into them, RX posts them\n"
		"                           header  256-byte slots, 16 pages per queue: TX\n"
		"                                   stages the first 256 bytes and grants\n"
		"                                   the rest; RX uses normal grants\n"
		"                           off     per-use grants only\n"
		"                         Fallback to normal grants is printed once;\n"
		"                         staged_slots/unstaged_slots count the slots.\n"
		"  --staging-pages N      staged pages per queue (default: page 512,\n"
		"                         header 16; capped by the backend's table)\n"
		SN_COMMON_OPTS_HELP);
}

struct front_worker {
	pthread_t tid;
	struct sn_front *nic;
	struct sn_port *port;
	uint16_t q;
	bool busy;
	atomic_bool eof;
	/* The port produced at least one packet: only a port that had input
	 * can run out of it (a sink never does, so it runs until stopped). */
	atomic_bool had_input;
	int rc;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int pkts_alloc(struct sn_pkt *pk, struct sn_pkt **pp, unsigned int n, uint8_t **mem)
{
	unsigned int i;

	*mem = malloc((size_t)n * SN_PKT_BUF_SIZE);
	if (!*mem)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		memset(&pk[i], 0, sizeof(pk[i]));
		pk[i].data = *mem + (size_t)i * SN_PKT_BUF_SIZE;
		pk[i].cap = SN_PKT_BUF_SIZE;
		pp[i] = &pk[i];
	}
	return 0;
}

static void pkts_reset(struct sn_pkt *pk, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		pk[i].cap = SN_PKT_BUF_SIZE;
		pk[i].len = 0;
		pk[i].flags = 0;
	}
}

static void *worker_main(void *arg)
{
	struct front_worker *w = arg;
	struct sn_pkt rxk[FRONT_BURST], txk[FRONT_BURST];
	struct sn_pkt *rxp[FRONT_BURST], *txp[FRONT_BURST];
	uint8_t *rxmem = NULL, *txmem = NULL;
	unsigned int tx_off = 0, tx_n = 0;
	uint64_t last_work = mono_us();
	unsigned int idle_turns = 0;
	struct sn_qstats *st = sn_front_queue_stats(w->nic, w->q);

	if ((w->rc = pkts_alloc(rxk, rxp, FRONT_BURST, &rxmem)) ||
	    (w->rc = pkts_alloc(txk, txp, FRONT_BURST, &txmem)))
		goto out;

	while (!front_stop) {
		bool work = false;
		int n;

		pkts_reset(rxk, FRONT_BURST);
		n = sn_front_rx_burst(w->nic, w->q, rxp, FRONT_BURST);
		if (n > 0) {
			int s = w->port->ops->send(w->port, rxp, (unsigned int)n);

			if (s < 0)
				s = 0;
			if (s < n)
				sn_qstat_add(st, SN_QS_rx_drop_port, (uint64_t)(n - s));
			work = true;
		} else if (n == -ENOTCONN || n == -EIO) {
			/* Down or broken: the main thread reconnects. */
			poll(NULL, 0, 20);
			continue;
		}

		if (tx_n == tx_off && !atomic_load(&w->eof)) {
			pkts_reset(txk, FRONT_BURST);
			n = w->port->ops->recv(w->port, txp, FRONT_BURST);
			if (n == -ENODATA)
				atomic_store(&w->eof, true);
			else if (n > 0) {
				unsigned int i;

				for (i = 0; i < (unsigned int)n; i++)
					txk[i].queue = w->q;
				tx_off = 0;
				tx_n = (unsigned int)n;
				work = true;
				atomic_store(&w->had_input, true);
			}
		}
		/* Also runs with nothing to send: collects TX responses. */
		n = sn_front_tx_burst(w->nic, w->q, txp + tx_off, tx_n - tx_off);
		if (n > 0) {
			tx_off += (unsigned int)n;
			work = true;
		}

		if (work) {
			idle_turns = 0;
			if (!w->busy)
				last_work = mono_us();
			continue;
		}
		if (w->busy) {
			/* More busy queues than CPUs: an idle worker hands its
			 * time slice to a sibling with work (see back/vif.c). */
			if (++idle_turns >= BUSY_YIELD_TURNS)
				sched_yield();
			continue;
		}
		if (mono_us() - last_work < FRONT_SPIN_US)
			continue;
		if (sn_front_queue_arm(w->nic, w->q) > 0)
			continue;
		{
			struct pollfd pfd[2] = {
				{ .fd = sn_front_queue_fd(w->nic, w->q), .events = POLLIN },
				{ .fd = -1, .events = POLLIN },
			};
			int pfd_n = 1;

			/* Only wake for input we have room to send. */
			if (tx_n == tx_off && !atomic_load(&w->eof) &&
			    (pfd[1].fd = w->port->ops->fd(w->port)) >= 0)
				pfd_n = 2;
			poll(pfd, (nfds_t)pfd_n, 100);
		}
	}
out:
	free(rxmem);
	free(txmem);
	atomic_store(&w->eof, true);
	return NULL;
}

static void print_private_stats(struct sn_front *nic, uint16_t nq)
{
	uint16_t q;
	int c;

	for (q = 0; q < nq; q++) {
		struct sn_qstats *s = sn_front_queue_stats(nic, q);

		printf("front queue %u:", q);
		for (c = 0; c < SN_QS__COUNT; c++)
			if (s->v[c])
				printf(" %s=%llu", sn_qstat_names[c], (unsigned long long)s->v[c]);
		printf("\n");
	}
}

int sn_cmd_front(int argc, char **argv)
{
	struct sn_common_opts co;
	struct sn_front_cfg cfg = { 0 };
	struct sn_plat_cfg pc = { 0 };
	struct sn_front_worker_set {
		struct front_worker w[SN_FRONT_MAX_QUEUES];
	} *ws = NULL;
	struct sn_stats_block *blk = NULL;
	struct sn_plat *plat = NULL;
	struct sn_front *nic = NULL;
	const char *port_spec = NULL;
	long devid = -1, queues = 1, conn_to = -1, linger = 500, v;
	bool busy = false;
	uint16_t nq = 0, i, started = 0;
	int rc, ret = 1;
	struct sigaction sa = { .sa_handler = on_signal };

	sn_common_opts_init(&co);
	/* Staging is what this project is for: on unless asked otherwise
	 * (the library default stays off for embedders). */
	cfg.staging = SN_STAGING_PAGE;
	for (int a = 1; a < argc; a++) {
		const char *o = argv[a];
		const char *val = a + 1 < argc ? argv[a + 1] : NULL;

		rc = sn_common_opt(&co, argc, argv, &a);
		if (rc < 0)
			return 2;
		if (rc > 0)
			continue;
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--busy-poll")) {
			busy = true;
		} else if (!strcmp(o, "--split-evtchn")) {
			cfg.no_split_evtchn = false;
		} else if (!strcmp(o, "--no-split-evtchn")) {
			cfg.no_split_evtchn = true;
		} else if (!strcmp(o, "--staging") && val) {
			if (!strcmp(val, "page")) {
				cfg.staging = SN_STAGING_PAGE;
			} else if (!strcmp(val, "header")) {
				cfg.staging = SN_STAGING_HEADER;
			} else if (!strcmp(val, "off")) {
				cfg.staging = SN_STAGING_OFF;
			} else {
				fprintf(stderr, "stagenet front: bad value for --staging: %s "
					"(header, page or off)\n", val);
				return 2;
			}
			a++;
		} else if (!strcmp(o, "--staging-pages") && val) {
			if (sn_parse_long(val, 0, 65536, &v)) {
				fprintf(stderr, "stagenet front: bad value for %s: %s\n", o, val);
				return 2;
			}
			cfg.staging_pages = (uint32_t)v;
			a++;
		} else if (!strcmp(o, "--port") && val) {
			port_spec = val;
			a++;
		} else if ((!strcmp(o, "--devid") || !strcmp(o, "--queues") ||
			    !strcmp(o, "--connect-timeout") || !strcmp(o, "--linger-ms")) && val) {
			long max = !strcmp(o, "--queues") ? SN_FRONT_MAX_QUEUES :
				   !strcmp(o, "--devid") ? 65535 : 86400000;
			long min = !strcmp(o, "--queues") ? 1 : 0;

			if (sn_parse_long(val, min, max, &v)) {
				fprintf(stderr, "stagenet front: bad value for %s: %s\n", o, val);
				return 2;
			}
			if (!strcmp(o, "--devid"))
				devid = v;
			else if (!strcmp(o, "--queues"))
				queues = v;
			else if (!strcmp(o, "--connect-timeout"))
				conn_to = v;
			else
				linger = v;
			a++;
		} else {
			fprintf(stderr, "stagenet front: unknown or incomplete option '%s'\n", o);
			usage(stderr);
			return 2;
		}
	}
	if (devid < 0 || !port_spec) {
		fprintf(stderr, "stagenet front: --devid and --port are required\n");
		usage(stderr);
		return 2;
	}
	pc.kind = co.platform;
	if (pc.kind == SN_PLAT_AUTO)
		pc.kind = sn_plat_default_kind();
	if (pc.kind == SN_PLAT_EMU && co.domid < 0) {
		fprintf(stderr, "stagenet front: --domid is required on the emulated host\n");
		return 2;
	}
	pc.domid = co.domid < 0 ? 0 : (uint16_t)co.domid;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = sn_plat_open(&pc, &plat);
	if (rc) {
		fprintf(stderr, "stagenet front: platform %s: %s\n", sn_plat_kind_name(pc.kind),
			strerror(-rc));
		return 1;
	}
	cfg.devid = (uint16_t)devid;
	cfg.queues = (uint16_t)queues;
	if (sn_stats_publish("front", plat->domid, cfg.devid, cfg.queues, &blk) == 0) {
		for (i = 0; i < cfg.queues; i++)
			cfg.stats[i] = sn_stats_queue(blk, i);
	} else {
		blk = NULL;
	}
	rc = sn_front_open(plat, &cfg, &nic);
	if (rc) {
		fprintf(stderr, "stagenet front: vif %ld of domain %u: %s\n", devid, plat->domid,
			strerror(-rc));
		goto out;
	}
	/* Connect in slices so a signal still ends the wait. */
	{
		long waited = 0;

		do {
			rc = sn_front_connect(nic, 200);
			waited += 200;
		} while (rc == -ETIMEDOUT && !front_stop && (conn_to < 0 || waited < conn_to));
	}
	if (rc) {
		if (!front_stop)
			fprintf(stderr, "stagenet front: connect: %s\n", strerror(-rc));
		goto out;
	}
	nq = sn_front_num_queues(nic);
	fprintf(stderr, "stagenet front: vif %ld connected, %u queue(s), mtu %u\n", devid, nq,
		sn_front_mtu(nic));
	if (cfg.staging != SN_STAGING_OFF) {
		uint16_t staged = 0;

		for (i = 0; i < nq; i++)
			staged += sn_front_queue_staged(nic, i);
		fprintf(stderr, "stagenet front: staging grants (%s) on %u of %u queue(s)\n",
			cfg.staging == SN_STAGING_PAGE ? "page" : "header", staged, nq);
	}

	ws = calloc(1, sizeof(*ws));
	if (!ws)
		goto out;
	for (i = 0; i < nq; i++) {
		struct front_worker *w = &ws->w[i];
		struct sn_port_ctx pctx = { .domid = plat->domid, .devid = cfg.devid, .queue = i,
					    .nqueues = nq, .backend = false,
					    .mtu = sn_front_mtu(nic) };

		w->nic = nic;
		w->q = i;
		w->busy = busy;
		rc = sn_port_open(port_spec, &pctx, &w->port);
		if (rc) {
			fprintf(stderr, "stagenet front: port %s: %s\n", port_spec, strerror(-rc));
			goto stop;
		}
		if (pthread_create(&w->tid, NULL, worker_main, w)) {
			sn_port_close(w->port);
			w->port = NULL;
			goto stop;
		}
		started++;
	}
	ret = 0;

	{
		uint64_t all_eof_at = 0;

		while (!front_stop) {
			struct pollfd pfd = { .fd = sn_front_ctrl_fd(nic), .events = POLLIN };
			enum sn_front_event ev;
			bool all_eof = true, any_input = false;

			poll(&pfd, pfd.fd >= 0 ? 1 : 0, 100);
			rc = sn_front_poll_ctrl(nic, &ev);
			if (rc)
				fprintf(stderr, "stagenet front: xenstore: %s\n", strerror(-rc));
			if (ev == SN_FRONT_EV_DOWN)
				fprintf(stderr, "stagenet front: backend went away; waiting for it\n");
			else if (ev == SN_FRONT_EV_RECONNECTED)
				fprintf(stderr, "stagenet front: reconnected\n");
			for (i = 0; i < started; i++) {
				all_eof &= atomic_load(&ws->w[i].eof);
				any_input |= atomic_load(&ws->w[i].had_input);
			}
			if (!all_eof || !any_input) {
				all_eof_at = 0;
			} else if (!all_eof_at) {
				all_eof_at = mono_us();
			} else if (mono_us() - all_eof_at >= (uint64_t)linger * 1000u) {
				break;
			}
		}
	}
stop:
	front_stop = 1;
	for (i = 0; i < started; i++)
		pthread_join(ws->w[i].tid, NULL);
	if (blk)
		sn_stats_print(stdout, blk);
	else
		print_private_stats(nic, nq);
	if (sn_front_quarantined(nic))
		printf("front quarantined pages: %llu\n",
		       (unsigned long long)sn_front_quarantined(nic));
	for (i = 0; i < nq && ws; i++) {
		struct sn_port *p = ws->w[i].port;

		if (!p)
			continue;
		{
			char who[32];

			snprintf(who, sizeof(who), "front port %u", i);
			sn_port_print_stats(stdout, who, &p->stats);
		}
		sn_port_close(p);
	}
	fflush(stdout);
out:
	sn_front_close(nic, 5000);
	free(ws);
	if (blk)
		sn_stats_unpublish(blk);
	sn_plat_close(plat);
	return ret;
}
