/* `stagenet front`: one netfront NIC of this domain attached to a port, one
 * thread per queue moving packets both ways; the main thread follows the
 * backend's xenstore state (reconnects) and prints the counters on exit. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
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

struct front_opts {
	struct sn_common_opts co;
	const char *port;
	long devid, queues, connect_timeout, linger_ms, staging_pages;
	int staging;
	bool busy_poll, no_split_evtchn;
};

static const struct sn_opt_choice staging_policies[] = {
	{ "page", SN_STAGING_PAGE }, { "header", SN_STAGING_HEADER }, { "off", SN_STAGING_OFF },
	{ NULL, 0 },
};

#define FRONT_OPT(field) .off = offsetof(struct front_opts, field)
static const struct sn_opt front_opts[] = {
	{ .name = "devid", .arg = "N", .kind = SN_OPT_LONG, FRONT_OPT(devid), .min = 0,
	  .max = 65535, .required = true, .help = "the vif (device/vif/N)" },
	{ .name = "port", .arg = "SPEC", .kind = SN_OPT_STR, FRONT_OPT(port), .required = true,
	  .help = "tap[:NAME] | pcap:in=F[,out=F] | gen[:...] | sink" },
	{ .name = "queues", .arg = "Q", .kind = SN_OPT_LONG, FRONT_OPT(queues), .min = 1,
	  .max = SN_FRONT_MAX_QUEUES,
	  .help = "queues to ask for (default 1, clamped by the backend)" },
	{ .name = "busy-poll", .kind = SN_OPT_SET, FRONT_OPT(busy_poll),
	  .help = "never sleep on event channels" },
	{ .name = "split-evtchn", .kind = SN_OPT_CLEAR, FRONT_OPT(no_split_evtchn),
	  .help = "separate tx/rx event channels when offered (default)" },
	{ .name = "no-split-evtchn", .kind = SN_OPT_SET, FRONT_OPT(no_split_evtchn),
	  .help = "one event channel per queue" },
	{ .name = "connect-timeout", .arg = "MS", .kind = SN_OPT_LONG, FRONT_OPT(connect_timeout),
	  .min = 0, .max = 86400000,
	  .help = "give up if the backend never connects (default: wait)" },
	{ .name = "linger-ms", .arg = "MS", .kind = SN_OPT_LONG, FRONT_OPT(linger_ms), .min = 0,
	  .max = 86400000,
	  .help = "after every input port ended, keep receiving this long, then exit "
		  "(default 500); a port without input (sink, pcap:out) runs until "
		  "SIGINT/SIGTERM" },
	{ .name = "staging", .arg = "POLICY", .kind = SN_OPT_CHOICE, FRONT_OPT(staging),
	  .choices = staging_policies,
	  .help = "staging grants, used when the backend offers a control ring and GREF "
		  "mapping (default page).  page: whole staged pages, TX copies packets "
		  "into them, RX posts them.  header: 256-byte slots, 16 pages per queue, "
		  "TX stages the first 256 bytes and grants the rest, RX uses normal "
		  "grants.  off: per-use grants only.  Fallback to normal grants is "
		  "printed once; staged_slots/unstaged_slots count the slots." },
	{ .name = "staging-pages", .arg = "N", .kind = SN_OPT_LONG, FRONT_OPT(staging_pages),
	  .min = 0, .max = 65536,
	  .help = "staged pages per queue (default: page 512, header 16; capped by the "
		  "backend's table)" },
	{ .name = NULL },
};
#undef FRONT_OPT

const struct sn_opts_spec sn_front_spec = {
	.cmd = "front",
	.doc = "Run the netfront of vif N of domain D (device/vif/N, as `stagenet vif-add` "
	       "or xl wrote it) and move packets between it and a port.",
	.doc_after = "--domid is required on the emulated host.",
	.opts = front_opts,
	.common = true,
	.common_off = offsetof(struct front_opts, co),
};

/* Staging is what this project is for: on unless asked otherwise (the
 * library default stays off for embedders). */
static int front_parse(int argc, char **argv, struct front_opts *o)
{
	int rc;

	*o = (struct front_opts){ .co = { SN_PLAT_AUTO, -1 }, .devid = -1, .queues = 1,
				  .connect_timeout = -1, .linger_ms = 500,
				  .staging = SN_STAGING_PAGE };
	rc = sn_opts_parse(&sn_front_spec, argc, argv, o);
	if (rc)
		return rc;
	if (o->co.platform == SN_PLAT_AUTO)
		o->co.platform = sn_plat_default_kind();
	if (o->co.platform == SN_PLAT_EMU && o->co.domid < 0) {
		sn_opts_error(&sn_front_spec, "--domid is required on the emulated host");
		return -EINVAL;
	}
	return 0;
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
	struct front_opts fo;
	struct sn_front_cfg cfg = { 0 };
	struct sn_plat_cfg pc = { 0 };
	struct sn_front_worker_set {
		struct front_worker w[SN_FRONT_MAX_QUEUES];
	} *ws = NULL;
	struct sn_stats_block *blk = NULL;
	struct sn_plat *plat = NULL;
	struct sn_front *nic = NULL;
	const char *port_spec;
	long devid, queues, conn_to, linger;
	bool busy;
	uint16_t nq = 0, i, started = 0;
	int rc, ret = 1;
	struct sigaction sa = { .sa_handler = on_signal };

	rc = front_parse(argc, argv, &fo);
	if (rc)
		return sn_opts_exit(rc);
	cfg.staging = fo.staging;
	cfg.staging_pages = (uint32_t)fo.staging_pages;
	cfg.no_split_evtchn = fo.no_split_evtchn;
	port_spec = fo.port;
	devid = fo.devid;
	queues = fo.queues;
	conn_to = fo.connect_timeout;
	linger = fo.linger_ms;
	busy = fo.busy_poll;
	pc.kind = fo.co.platform;
	pc.domid = fo.co.domid < 0 ? 0 : (uint16_t)fo.co.domid;

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
