/* The soak's backend (tests/soak/run): the netback library exactly as
 * `stagenet back` runs it, over the emulated host behind the
 * fault-injection platform (plat/fault.h), so a share of the grant copies
 * and maps fail the way a hypervisor fails them.  Even devids get a sink
 * port (guest TX is checked), odd devids a generator (guest RX).  Every
 * vif's counters and every port's verdict are logged to stderr when the
 * vif goes, which sn_back_destroy does for the vifs still there, so the
 * driver adds up one incarnation's numbers from its log alone.  SIGUSR1
 * turns the faults off and SIGUSR2 on again: the driver samples fds and
 * mappings with them off, so whether a pool's all-or-nothing ADD happened
 * to meet a failed map does not change what is mapped.
 *
 * Usage: soak_back --tx-path copy|linux --fault-ppm N --seed S --gen SPEC
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plat/fault.h"
#include "stagenet/back.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

#define MAX_BLOCKS 256

static struct sn_back *running;

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		sn_back_stop(running);
}

struct toggler {
	struct sn_plat *plat;
	struct sn_fault_cfg on;
	sigset_t set;
	atomic_bool quit;
};

/* SIGUSR1/SIGUSR2 are blocked in every thread and taken here, so the
 * wrapper's mutex is never touched from a signal handler. */
static void *toggle_faults(void *arg)
{
	struct toggler *t = arg;
	struct sn_fault_cfg off = { .seed = t->on.seed };
	int sig;

	while (!sigwait(&t->set, &sig)) {
		if (atomic_load(&t->quit))
			break;
		sn_fault_configure(t->plat, sig == SIGUSR1 ? &off : &t->on);
		fprintf(stderr, "soak_back: faults %s\n", sig == SIGUSR1 ? "off" : "on");
	}
	return NULL;
}

static int open_port(void *arg, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	const char *gen = arg;

	return sn_port_open(ctx->devid % 2 ? gen : "sink", ctx, out);
}

/* Map our own published blocks read-only.  sn_back_destroy stops the queue
 * threads and then unlinks the files, but these mappings keep the pages, so
 * the numbers printed after it are final (the library prints nothing for
 * the vifs still there at stop; `stagenet back` prints before the threads
 * are stopped). */
static unsigned int grab_blocks(struct sn_stats_block **blk)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;

	if (sn_stats_rundir(dir, sizeof(dir)) || !(d = opendir(dir)))
		return 0;
	while (n < MAX_BLOCKS && (de = readdir(d))) {
		if (strncmp(de->d_name, "back-", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (sn_stats_open(path, &blk[n]))
			continue;
		if (sn_stats_pid(blk[n]) == (int)getpid())
			n++;
		else
			sn_stats_close(blk[n]);
	}
	closedir(d);
	return n;
}

static int usage(void)
{
	fprintf(stderr, "usage: soak_back --tx-path copy|linux --fault-ppm N --seed S "
		"--gen SPEC\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sn_plat_cfg pcfg = { .kind = SN_PLAT_EMU, .domid = 0 };
	struct sn_back_cfg cfg = { 0 };
	struct sn_fault_cfg fcfg = { 0 };
	struct sn_fault_stats fst;
	struct sn_plat *emu = NULL, *plat = NULL;
	struct sn_back *b = NULL;
	struct sn_stats_block *blk[MAX_BLOCKS];
	unsigned int nblk;
	struct sigaction sa;
	struct toggler tg;
	pthread_t tg_thread;
	const char *gen = "gen";
	unsigned long ppm = 0;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tx-path"))
			cfg.tx_path = strcmp(argv[i + 1], "linux") ? SN_BACK_TX_COPY
								   : SN_BACK_TX_LINUX;
		else if (!strcmp(argv[i], "--fault-ppm"))
			ppm = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			fcfg.seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--gen"))
			gen = argv[i + 1];
		else
			return usage();
	}
	if (argc % 2 == 0 || ppm > 1000000)
		return usage();
	/* Copies and maps only: a failed unmap leaves the page mapped for
	 * good (as on Xen), a mapping no backend could give back, which would
	 * hide the leaks the soak measures behind ones it caused itself. */
	fcfg.rule[SN_FAULT_COPY].rate_ppm = (uint32_t)ppm;
	fcfg.rule[SN_FAULT_MAP].rate_ppm = (uint32_t)ppm;

	rc = sn_plat_open(&pcfg, &emu);
	if (rc) {
		fprintf(stderr, "soak_back: opening platform: %s\n", strerror(-rc));
		return 1;
	}
	rc = sn_fault_wrap(emu, &fcfg, &plat);
	if (rc) {
		fprintf(stderr, "soak_back: fault wrapper: %s\n", strerror(-rc));
		sn_plat_close(emu);
		return 1;
	}
	tg.plat = plat;
	atomic_init(&tg.quit, false);
	tg.on = fcfg;
	sigemptyset(&tg.set);
	sigaddset(&tg.set, SIGUSR1);
	sigaddset(&tg.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &tg.set, NULL);
	rc = pthread_create(&tg_thread, NULL, toggle_faults, &tg);
	if (rc) {
		fprintf(stderr, "soak_back: thread: %s\n", strerror(rc));
		goto out_plat;
	}
	cfg.plat = plat;
	cfg.port_open = open_port;
	cfg.port_arg = (void *)gen;
	cfg.port_spec = "sink|gen";
	cfg.publish_stats = true;
	cfg.log = stderr;
	rc = sn_back_create(&cfg, &b);
	if (rc) {
		fprintf(stderr, "soak_back: %s\n", strerror(-rc));
		goto out_thread;
	}
	running = b;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "soak_back: serving (tx-path %s, %lu ppm of copies and maps fail)\n",
		cfg.tx_path == SN_BACK_TX_LINUX ? "linux" : "copy", ppm);
	rc = sn_back_run(b);
	if (rc)
		fprintf(stderr, "soak_back: %s\n", strerror(-rc));
	running = NULL;
	nblk = grab_blocks(blk);
	sn_back_destroy(b);
	for (unsigned int i = 0; i < nblk; i++) {
		sn_stats_print(stderr, blk[i]);
		sn_stats_close(blk[i]);
	}
	if (!sn_fault_stats_get(plat, &fst))
		fprintf(stderr, "soak_back faults: copy %llu of %llu, map %llu of %llu\n",
			(unsigned long long)fst.injected[SN_FAULT_COPY],
			(unsigned long long)fst.seen[SN_FAULT_COPY],
			(unsigned long long)fst.injected[SN_FAULT_MAP],
			(unsigned long long)fst.seen[SN_FAULT_MAP]);
out_thread:
	atomic_store(&tg.quit, true);
	pthread_kill(tg_thread, SIGUSR1);
	pthread_join(tg_thread, NULL);
out_plat:
	sn_plat_close(plat);
	return rc ? 1 : 0;
}
