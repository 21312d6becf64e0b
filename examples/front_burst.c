/* A frontend that uses libstagenet's burst API directly (README "Library"):
 * it connects vif DEVID of this domain, receives COUNT frames from the
 * backend with sn_front_rx_burst and sends each one back with
 * sn_front_tx_burst, then closes the vif.  Built only from the installed
 * library:
 *
 *     cc -o front_burst front_burst.c $(pkg-config --cflags --libs stagenet)
 *     XENSTORED_PATH=... ./front_burst DOMID DEVID COUNT [emu|xen|auto [LINGER_S]]
 *
 * Prints "received N sent N" once all COUNT came and went, then keeps the
 * vif up LINGER_S seconds (default 1; SIGINT/SIGTERM end it sooner) so the
 * backend takes the last frames off the ring before the vif closes, and
 * exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stagenet/front.h>
#include <stagenet/plat.h>

#define BURST 32
#define DEADLINE_S 30

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(void *arg, const char *fmt, va_list ap)
{
	(void)arg;
	fputs("front_burst: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Receive on queue 0 and send every frame straight back until count went
 * through both ways or the deadline passed. */
static int reflect(struct sn_front *nic, struct sn_pkt *pkts[BURST], long count,
		   long *got, long *sent)
{
	double deadline = now_s() + DEADLINE_S;
	int n = 0, done = 0;

	while (*sent < count && now_s() < deadline && !stop) {
		if (done == n) {
			n = sn_front_rx_burst(nic, 0, pkts, BURST);
			if (n < 0)
				return n;
			done = 0;
			*got += n;
			if (n == 0) {
				/* Spin 50 us on the ring, then sleep on the event
				 * channel for at most 100 ms. */
				int rc = sn_front_queue_wait(nic, 0, 100, 50);

				if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR)
					return rc;
				continue;
			}
		}
		/* The ring may take fewer than offered: retry the rest. */
		int rc = sn_front_tx_burst(nic, 0, pkts + done, (unsigned int)(n - done));

		if (rc < 0)
			return rc;
		done += rc;
		*sent += rc;
		if (rc == 0)
			sn_front_queue_wait(nic, 0, 10, 50);
	}
	/* Let the last TX responses come back before closing. */
	sn_front_tx_burst(nic, 0, NULL, 0);
	return *sent == count ? 0 : -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	struct sn_plat_cfg pcfg = { .kind = SN_PLAT_AUTO };
	struct sn_front_cfg fcfg = { .queues = 1, .log = { log_line, NULL } };
	struct sn_pkt *pkts[BURST] = { 0 };
	struct sn_front *nic = NULL;
	struct sn_plat *plat = NULL;
	long count, got = 0, sent = 0;
	double linger = 1;
	int rc;

	if (argc < 4 || (argc > 4 && sn_plat_kind_parse(argv[4], &pcfg.kind))) {
		fprintf(stderr, "usage: %s DOMID DEVID COUNT [emu|xen|auto [LINGER_S]]\n", argv[0]);
		return 2;
	}
	if (argc > 5)
		linger = strtod(argv[5], NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pcfg.domid = (uint16_t)strtoul(argv[1], NULL, 0);
	fcfg.devid = (uint16_t)strtoul(argv[2], NULL, 0);
	count = strtol(argv[3], NULL, 0);
	for (int i = 0; i < BURST; i++) {
		pkts[i] = calloc(1, sizeof(*pkts[i]));
		if (!pkts[i] || !(pkts[i]->data = malloc(SN_PKT_MAX_LEN))) {
			rc = -ENOMEM;
			goto out_pkts;
		}
		pkts[i]->cap = SN_PKT_MAX_LEN;
	}
	rc = sn_plat_open(&pcfg, &plat);
	if (rc) {
		fprintf(stderr, "front_burst: platform: %s\n", strerror(-rc));
		goto out_pkts;
	}
	rc = sn_front_open(plat, &fcfg, &nic);
	if (rc) {
		fprintf(stderr, "front_burst: open vif %u: %s\n", fcfg.devid, strerror(-rc));
		goto out_plat;
	}
	rc = sn_front_connect(nic, 10000);
	if (rc) {
		fprintf(stderr, "front_burst: connect: %s\n", strerror(-rc));
		goto out_nic;
	}
	rc = reflect(nic, pkts, count, &got, &sent);
	printf("received %ld sent %ld\n", got, sent);
	fflush(stdout);
	if (rc) {
		fprintf(stderr, "front_burst: %s\n", strerror(-rc));
		goto out_nic;
	}
	/* Requests still on the TX ring are the backend's to take; closing
	 * now could cut them off, so stay connected a while, still reaping
	 * TX responses. */
	for (double end = now_s() + linger; !stop && now_s() < end;) {
		sn_front_tx_burst(nic, 0, NULL, 0);
		sn_front_queue_wait(nic, 0, 100, 50);
	}
out_nic:
	sn_front_close(nic, 2000);
out_plat:
	sn_plat_close(plat);
out_pkts:
	for (int i = 0; i < BURST; i++) {
		if (pkts[i])
			free(pkts[i]->data);
		free(pkts[i]);
	}
	return rc ? 1 : 0;
}
