/* `stagenet back`: the netback daemon.  Serves every vif the toolstack puts
 * under our backend/vif directory until SIGINT/SIGTERM, then prints each
 * vif's counters. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "back/staging.h"
#include "cli/cli.h"
#include "stagenet/back.h"

static struct sn_back *back_running; /* for the signal handler only */

static void on_signal(int sig)
{
	(void)sig;
	if (back_running)
		sn_back_stop(back_running);
}

struct back_opts {
	struct sn_common_opts co;
	const char *port;
	int tx_path;
	long max_queues, rx_queue_pkts, rx_queue_bytes, staging_max;
	bool busy_poll, no_split_evtchn, no_ctrl_ring, no_persist, quiet;
	struct sn_opt_list features_off;
};

/* Testing: act as a backend that offers less (FreeBSD netback: gso-tcpv6;
 * QEMU's xen_nic: sg,gso-tcpv4,gso-tcpv6,ipv6-csum-offload). */
static const struct sn_opt_choice back_features[] = {
	{ "sg", SN_OFFLOAD_SG }, { "gso-tcpv4", SN_OFFLOAD_TSO4 },
	{ "gso-tcpv6", SN_OFFLOAD_TSO6 }, { "ipv6-csum-offload", SN_OFFLOAD_CSUM6 },
	{ NULL, 0 },
};

static const struct sn_opt_choice tx_paths[] = {
	{ "copy", SN_BACK_TX_COPY }, { "linux", SN_BACK_TX_LINUX }, { NULL, 0 },
};

#define BACK_OPT(field) .off = offsetof(struct back_opts, field)
static const struct sn_opt back_opts[] = {
	{ .name = "port", .arg = "SPEC", .kind = SN_OPT_STR, BACK_OPT(port),
	  .help = "tap[:NAME] | pcap:... | gen[:...] | sink | xdp:IF[,queue=N,...] (default "
		  "sink); tap names each device vif<domid>.<devid>; xdp puts queue i on NIC "
		  "queue N+i" },
	{ .name = "tx-path", .arg = "copy|linux", .kind = SN_OPT_CHOICE, BACK_OPT(tx_path),
	  .choices = tx_paths,
	  .help = "guest-TX fetch: all by grant copy (default), or copy 128 B + grant-map "
		  "the rest (Linux netback)" },
	{ .name = "busy-poll", .kind = SN_OPT_SET, BACK_OPT(busy_poll),
	  .help = "spin on the rings instead of sleeping on events" },
	{ .name = "max-queues", .arg = "N", .kind = SN_OPT_LONG, BACK_OPT(max_queues),
	  .min = 1, .max = SN_BACK_MAX_QUEUES,
	  .help = "multi-queue-max-queues to offer (default min(ncpu, 8))" },
	{ .name = "no-split-evtchn", .kind = SN_OPT_SET, BACK_OPT(no_split_evtchn),
	  .help = "do not offer split event channels" },
	{ .name = "rx-queue-pkts", .arg = "N", .kind = SN_OPT_LONG, BACK_OPT(rx_queue_pkts),
	  .min = 1, .max = 65536, .help = "RX backlog cap per queue in packets (default 64)" },
	{ .name = "rx-queue-bytes", .arg = "N", .kind = SN_OPT_LONG, BACK_OPT(rx_queue_bytes),
	  .min = 65536, .max = 1L << 30,
	  .help = "RX backlog cap per queue in bytes (default 1 MiB)" },
	{ .name = "staging-max", .arg = "N", .kind = SN_OPT_LONG, BACK_OPT(staging_max),
	  .min = 0, .max = SN_BACK_STAGING_LIMIT,
	  .help = "staging grants: gref mappings kept per queue (default 1024); 0 = off, "
		  "the control ring answers GREF messages NOT_SUPPORTED" },
	{ .name = "no-ctrl-ring", .kind = SN_OPT_SET, BACK_OPT(no_ctrl_ring),
	  .help = "do not offer feature-ctrl-ring (no hash configuration, no staging)" },
	{ .name = "no-persist", .kind = SN_OPT_SET, BACK_OPT(no_persist),
	  .help = "do not offer feature-persistent-grefs (persist flags on the data rings)" },
	{ .name = "quiet", .kind = SN_OPT_SET, BACK_OPT(quiet), .help = "no lifecycle log on stderr" },
	{ .name = "features-off", .arg = "LIST", .kind = SN_OPT_LIST, BACK_OPT(features_off),
	  .choices = back_features,
	  .help = "testing: write these feature-* keys as 0, to act as a backend that offers "
		  "less (sg, gso-tcpv4, gso-tcpv6, ipv6-csum-offload)" },
	{ .name = NULL },
};
#undef BACK_OPT

_Static_assert(SN_BACK_STAGING_DEFAULT == 1024, "--staging-max's help states the default");

const struct sn_opts_spec sn_back_spec = {
	.cmd = "back",
	.doc = "Serve every vif under /local/domain/<domid>/backend/vif (written by "
	       "`stagenet vif-add` or xl), each queue attached to its own port.",
	.doc_after = "--domid is the backend domain (default 0).",
	.opts = back_opts,
	.common = true,
	.common_off = offsetof(struct back_opts, co),
};

static int back_parse(int argc, char **argv, struct back_opts *o)
{
	*o = (struct back_opts){ .co = { SN_PLAT_AUTO, -1 }, .port = "sink",
				 .tx_path = SN_BACK_TX_COPY, .staging_max = -1 };
	return sn_opts_parse(&sn_back_spec, argc, argv, o);
}

int sn_cmd_back(int argc, char **argv)
{
	struct back_opts o;
	struct sn_back_cfg cfg = { 0 };
	struct sn_plat_cfg pcfg = { 0 };
	struct sn_plat *plat = NULL;
	struct sn_back *b = NULL;
	struct sigaction sa;
	bool quiet;
	int rc;

	rc = back_parse(argc, argv, &o);
	if (rc)
		return sn_opts_exit(rc);
	cfg.port_spec = o.port;
	cfg.publish_stats = true;
	cfg.tx_path = o.tx_path;
	cfg.busy_poll = o.busy_poll;
	cfg.no_split_evtchn = o.no_split_evtchn;
	cfg.no_ctrl_ring = o.no_ctrl_ring;
	cfg.persist_off = o.no_persist;
	for (unsigned int i = 0; i < o.features_off.n; i++)
		cfg.features_off |= (unsigned int)o.features_off.v[i];
	cfg.max_queues = (uint16_t)o.max_queues;
	cfg.rx_queue_pkts = (uint32_t)o.rx_queue_pkts;
	cfg.rx_queue_bytes = (uint32_t)o.rx_queue_bytes;
	/* Not given: the library default; given as 0: off. */
	if (o.staging_max >= 0) {
		cfg.staging_off = o.staging_max == 0;
		cfg.staging_max = (uint32_t)o.staging_max;
	}
	quiet = o.quiet;
	pcfg.kind = o.co.platform;
	pcfg.domid = o.co.domid < 0 ? 0 : (uint16_t)o.co.domid;
	rc = sn_plat_open(&pcfg, &plat);
	if (rc) {
		fprintf(stderr, "stagenet back: opening platform: %s\n", strerror(-rc));
		return 1;
	}
	cfg.plat = plat;
	cfg.log = quiet ? NULL : stderr;
	rc = sn_back_create(&cfg, &b);
	if (rc) {
		fprintf(stderr, "stagenet back: %s\n", strerror(-rc));
		goto out_plat;
	}
	back_running = b;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!quiet)
		fprintf(stderr, "back: serving /local/domain/%u/backend/vif (%s, tx-path %s%s, staging %s)\n",
			plat->domid, plat->ops->name,
			cfg.tx_path == SN_BACK_TX_LINUX ? "linux" : "copy",
			cfg.busy_poll ? ", busy-poll" : "",
			cfg.no_ctrl_ring || cfg.staging_off ? "off" : "on");
	rc = sn_back_run(b);
	if (rc)
		fprintf(stderr, "stagenet back: %s\n", strerror(-rc));
	sn_back_print_stats(b, stdout);
	back_running = NULL;
	sn_back_destroy(b);
out_plat:
	sn_plat_close(plat);
	return rc ? 1 : 0;
}
