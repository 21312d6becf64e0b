/* `stagenet back`: the netback daemon.  Serves every vif the toolstack puts
 * under our backend/vif directory until SIGINT/SIGTERM, then prints each
 * vif's counters. */
#include <errno.h>
#include <signal.h>
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stagenet back [options]\n"
		"\n"
		"Serve every vif under /local/domain/<domid>/backend/vif (written by\n"
		"`stagenet vif-add` or xl), each queue attached to its own port.\n"
		"\n"
		"  --port SPEC            tap[:NAME] | pcap:... | gen[:...] | sink (default sink);\n"
		"                         tap names each device vif<domid>.<devid>\n"
		"  --tx-path copy|linux   guest-TX fetch: all by grant copy (default), or\n"
		"                         copy 128 B + grant-map the rest (Linux netback)\n"
		"  --busy-poll            spin on the rings instead of sleeping on events\n"
		"  --max-queues N         multi-queue-max-queues to offer (default min(ncpu, 8))\n"
		"  --no-split-evtchn      do not offer split event channels\n"
		"  --rx-queue-pkts N      RX backlog cap per queue in packets (default 64)\n"
		"  --rx-queue-bytes N     RX backlog cap per queue in bytes (default 1 MiB)\n"
		"  --staging-max N        staging grants: gref mappings kept per queue\n"
		"                         (default %u, max %u); 0 = off, the control\n"
		"                         ring answers GREF messages NOT_SUPPORTED\n"
		"  --no-ctrl-ring         do not offer feature-ctrl-ring (no hash\n"
		"                         configuration, no staging)\n"
		"  --quiet                no lifecycle log on stderr\n"
		SN_COMMON_OPTS_HELP
		"                           (backend domain, default 0)\n",
		SN_BACK_STAGING_DEFAULT, SN_BACK_STAGING_LIMIT);
}

int sn_cmd_back(int argc, char **argv)
{
	struct sn_common_opts co;
	struct sn_back_cfg cfg = { 0 };
	struct sn_plat_cfg pcfg = { 0 };
	struct sn_plat *plat = NULL;
	struct sn_back *b = NULL;
	struct sigaction sa;
	bool quiet = false;
	long v;
	int rc, i;

	sn_common_opts_init(&co);
	cfg.port_spec = "sink";
	cfg.publish_stats = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		rc = sn_common_opt(&co, argc, argv, &i);
		if (rc < 0)
			return 2;
		if (rc > 0)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--busy-poll")) {
			cfg.busy_poll = true;
		} else if (!strcmp(a, "--no-split-evtchn")) {
			cfg.no_split_evtchn = true;
		} else if (!strcmp(a, "--no-ctrl-ring")) {
			cfg.no_ctrl_ring = true;
		} else if (!strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!val) {
			fprintf(stderr, "stagenet back: unknown option or missing value: %s\n", a);
			usage(stderr);
			return 2;
		} else if (!strcmp(a, "--port")) {
			cfg.port_spec = val;
			i++;
		} else if (!strcmp(a, "--tx-path")) {
			if (!strcmp(val, "copy"))
				cfg.tx_path = SN_BACK_TX_COPY;
			else if (!strcmp(val, "linux"))
				cfg.tx_path = SN_BACK_TX_LINUX;
			else {
				fprintf(stderr, "stagenet back: --tx-path must be copy or linux\n");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--max-queues")) {
			if (sn_parse_long(val, 1, SN_BACK_MAX_QUEUES, &v)) {
				fprintf(stderr, "stagenet back: --max-queues must be 1..%u\n",
					SN_BACK_MAX_QUEUES);
				return 2;
			}
			cfg.max_queues = (uint16_t)v;
			i++;
		} else if (!strcmp(a, "--staging-max")) {
			if (sn_parse_long(val, 0, SN_BACK_STAGING_LIMIT, &v)) {
				fprintf(stderr, "stagenet back: --staging-max must be 0..%u\n",
					SN_BACK_STAGING_LIMIT);
				return 2;
			}
			cfg.staging_off = v == 0;
			cfg.staging_max = (uint32_t)v;
			i++;
		} else if (!strcmp(a, "--rx-queue-pkts")) {
			if (sn_parse_long(val, 1, 65536, &v)) {
				fprintf(stderr, "stagenet back: --rx-queue-pkts must be 1..65536\n");
				return 2;
			}
			cfg.rx_queue_pkts = (uint32_t)v;
			i++;
		} else if (!strcmp(a, "--rx-queue-bytes")) {
			if (sn_parse_long(val, 65536, 1L << 30, &v)) {
				fprintf(stderr, "stagenet back: --rx-queue-bytes must be 64 KiB..1 GiB\n");
				return 2;
			}
			cfg.rx_queue_bytes = (uint32_t)v;
			i++;
		} else {
			fprintf(stderr, "stagenet back: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}

	pcfg.kind = co.platform;
	pcfg.domid = co.domid < 0 ? 0 : (uint16_t)co.domid;
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
