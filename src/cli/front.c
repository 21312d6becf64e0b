/* `stagenet front`: options, then the library serves one netfront NIC of
 * this domain on a port (sn_front_start, sn_front_run) until a signal or the
 * input's end; the counters and the port's verdict are printed on exit. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "stagenet/front.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

static atomic_bool front_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&front_stop, true);
}

struct front_opts {
	struct sn_common_opts co;
	const char *port;
	long devid, queues, connect_timeout, linger_ms, staging_pages, persist_churn;
	int staging;
	bool busy_poll, no_split_evtchn;
	struct sn_opt_list features_off;
};

/* Testing: act as a frontend that offers less (FreeBSD netfront:
 * gso-tcpv6,ipv6-csum-offload; MiniOS: sg,gso-tcpv4,gso-tcpv6; csum writes
 * feature-no-csum-offload). */
static const struct sn_opt_choice front_features[] = {
	{ "sg", SN_OFFLOAD_SG }, { "gso-tcpv4", SN_OFFLOAD_TSO4 },
	{ "gso-tcpv6", SN_OFFLOAD_TSO6 }, { "ipv6-csum-offload", SN_OFFLOAD_CSUM6 },
	{ "csum", SN_OFFLOAD_CSUM4 | SN_OFFLOAD_CSUM6 },
	{ NULL, 0 },
};

static const struct sn_opt_choice staging_policies[] = {
	{ "page", SN_STAGING_PAGE }, { "header", SN_STAGING_HEADER },
	{ "persist", SN_STAGING_PERSIST }, { "off", SN_STAGING_OFF },
	{ NULL, 0 },
};

#define FRONT_OPT(field) .off = offsetof(struct front_opts, field)
static const struct sn_opt front_opts[] = {
	{ .name = "devid", .arg = "N", .kind = SN_OPT_LONG, FRONT_OPT(devid), .min = 0,
	  .max = 65535, .required = true, .help = "the vif (device/vif/N)" },
	{ .name = "port", .arg = "SPEC", .kind = SN_OPT_STR, FRONT_OPT(port), .required = true,
	  .help = "tap[:NAME] | pcap:in=F[,out=F] | gen[:...] | sink | xdp:IF[,...]" },
	{ .name = "queues", .arg = "Q", .kind = SN_OPT_LONG, FRONT_OPT(queues), .min = 1,
	  .max = SN_FRONT_MAX_QUEUES,
	  .help = "queues to ask for (default 1, clamped by the backend)" },
	{ .name = "busy-poll", .kind = SN_OPT_SET, FRONT_OPT(busy_poll),
	  .help = "never sleep on event channels" },
	{ .name = "split-evtchn", .kind = SN_OPT_CLEAR, FRONT_OPT(no_split_evtchn),
	  .help = "separate tx/rx event channels when offered (default)" },
	{ .name = "no-split-evtchn", .kind = SN_OPT_SET, FRONT_OPT(no_split_evtchn),
	  .help = "one event channel per queue" },
	{ .name = "features-off", .arg = "LIST", .kind = SN_OPT_LIST, FRONT_OPT(features_off),
	  .choices = front_features,
	  .help = "testing: write these feature-* keys as 0, to act as a frontend that offers "
		  "less (sg, gso-tcpv4, gso-tcpv6, ipv6-csum-offload; csum: "
		  "feature-no-csum-offload=1)" },
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
		  "grants.  persist: whole pages as page, no control ring, each request "
		  "flags its page for the backend to keep mapped (feature-persistent-grefs; "
		  "without it the pages are reused unflagged).  off: per-use grants only.  "
		  "Fallback to normal grants is printed once; staged_slots/unstaged_slots "
		  "count the slots." },
	{ .name = "staging-pages", .arg = "N", .kind = SN_OPT_LONG, FRONT_OPT(staging_pages),
	  .min = 0, .max = 65536,
	  .help = "staged pages per queue (default: page 512, header 16; capped by the "
		  "backend's table)" },
	{ .name = "persist-churn", .arg = "PCT", .kind = SN_OPT_LONG, FRONT_OPT(persist_churn),
	  .min = 0, .max = 100,
	  .help = "with --staging persist: retire and replace PCT% of each queue's pool per "
		  "second (its next use goes unflagged, then a new grant; default 0)" },
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

/* The library's lines, prefixed as this command has always printed them. */
static void front_log(void *arg, const char *fmt, va_list ap)
{
	char line[1024];

	(void)arg;
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "stagenet front: %s\n", line);
}

/* What the options asked for, beyond the library's own config. */
struct front_run_opts {
	struct sn_front_cfg cfg;
	const char *port_spec;
	long conn_to, linger;
	bool busy;
};

/* Connect in slices so a signal still ends the wait. */
static int front_connect(struct sn_front *nic, long conn_to)
{
	long waited = 0;
	int rc;

	do {
		rc = sn_front_connect(nic, 200);
		waited += 200;
	} while (rc == -ETIMEDOUT && !atomic_load(&front_stop) &&
		 (conn_to < 0 || waited < conn_to));
	if (rc && !atomic_load(&front_stop))
		fprintf(stderr, "stagenet front: connect: %s\n", strerror(-rc));
	return rc;
}

/* Counters (published block, or the private ones when publishing failed),
 * quarantined pages, then each port's verdict. */
static void front_report(struct sn_front *nic, struct sn_stats_block *blk)
{
	uint16_t q, nq = sn_front_num_queues(nic);
	char who[32];

	if (blk)
		sn_stats_print(stdout, blk);
	else
		sn_front_print_stats(nic, stdout);
	if (sn_front_quarantined(nic))
		printf("front quarantined pages: %llu\n",
		       (unsigned long long)sn_front_quarantined(nic));
	for (q = 0; q < nq; q++) {
		snprintf(who, sizeof(who), "front port %u", q);
		if (sn_front_queue_port(nic, q))
			sn_port_print_stats(stdout, who, &sn_front_queue_port(nic, q)->stats);
	}
	fflush(stdout);
}

static int front_main(struct sn_plat_cfg *pc, struct front_run_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sn_stats_block *blk = NULL;
	struct sn_plat *plat = NULL;
	struct sn_front *nic = NULL;
	int rc;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = sn_plat_open(pc, &plat);
	if (rc) {
		fprintf(stderr, "stagenet front: platform %s: %s\n", sn_plat_kind_name(pc->kind),
			strerror(-rc));
		return 1;
	}
	o->cfg.log.fn = front_log;
	if (sn_stats_publish("front", plat->domid, o->cfg.devid, o->cfg.queues, &blk))
		blk = NULL;
	for (uint16_t i = 0; blk && i < o->cfg.queues; i++)
		o->cfg.stats[i] = sn_stats_queue(blk, i);
	rc = sn_front_open(plat, &o->cfg, &nic);
	if (rc)
		fprintf(stderr, "stagenet front: vif %u of domain %u: %s\n", o->cfg.devid,
			plat->domid, strerror(-rc));
	else if (!(rc = front_connect(nic, o->conn_to))) {
		rc = sn_front_start(nic, o->port_spec, o->busy);
		if (!rc)
			rc = sn_front_run(nic, &front_stop, o->linger);
		front_report(nic, blk);
	}
	sn_front_close(nic, 5000);
	if (blk)
		sn_stats_unpublish(blk);
	sn_plat_close(plat);
	return rc ? 1 : 0;
}

int sn_cmd_front(int argc, char **argv)
{
	struct front_opts fo;
	struct sn_plat_cfg pc = { 0 };
	struct front_run_opts ro = { 0 };
	int rc;

	rc = front_parse(argc, argv, &fo);
	if (rc)
		return sn_opts_exit(rc);
	ro.cfg.staging = fo.staging;
	ro.cfg.staging_pages = (uint32_t)fo.staging_pages;
	ro.cfg.persist_churn_pct = (uint32_t)fo.persist_churn;
	ro.cfg.no_split_evtchn = fo.no_split_evtchn;
	for (unsigned int i = 0; i < fo.features_off.n; i++)
		ro.cfg.features_off |= (unsigned int)fo.features_off.v[i];
	ro.cfg.devid = (uint16_t)fo.devid;
	ro.cfg.queues = (uint16_t)fo.queues;
	ro.port_spec = fo.port;
	ro.conn_to = fo.connect_timeout;
	ro.linger = fo.linger_ms;
	ro.busy = fo.busy_poll;
	pc.kind = fo.co.platform;
	pc.domid = fo.co.domid < 0 ? 0 : (uint16_t)fo.co.domid;
	return front_main(&pc, &ro);
}
