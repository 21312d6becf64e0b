/* `stagenet front`: options, then the library serves one netfront NIC of
 * this domain on a port (sn_front_start, sn_front_run) until a signal or the
 * input's end; the counters and the port's verdict are printed on exit. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/* The library's lines, prefixed as this command has always printed them. */
static void front_log(void *arg, const char *fmt, va_list ap)
{
	char line[1024];

	(void)arg;
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "stagenet front: %s\n", line);
}

/* What the options asked for, beyond the library's own config. */
struct front_opts {
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

static int front_main(struct sn_plat_cfg *pc, struct front_opts *o)
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
	struct sn_common_opts co;
	struct sn_front_cfg cfg = { 0 };
	struct sn_plat_cfg pc = { 0 };
	const char *port_spec = NULL;
	long devid = -1, queues = 1, conn_to = -1, linger = 500, v;
	bool busy = false;
	int rc;

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
	cfg.devid = (uint16_t)devid;
	cfg.queues = (uint16_t)queues;
	return front_main(&pc, &(struct front_opts){ .cfg = cfg, .port_spec = port_spec,
						      .conn_to = conn_to, .linger = linger,
						      .busy = busy });
}
