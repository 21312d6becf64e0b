/* The soak's noisy guest (tests/soak/run): a real netfront (the library)
 * that connects its vif and then, instead of moving packets, kicks the
 * backend's TX and RX channels with no work behind them, at a capped rate
 * for a bounded time: the notification storm one guest can always make.
 * Prints how many kicks it sent.
 *
 * Usage: soak_storm DOMID DEVID SECONDS KICKS_PER_SECOND
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/nic.h"

static atomic_bool stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sn_plat_cfg pcfg = { .kind = SN_PLAT_EMU };
	struct sn_front_cfg cfg = { .queues = 1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct sn_plat *plat = NULL;
	struct sn_front *nic = NULL;
	unsigned long long kicks = 0;
	double secs, rate, t0, end;
	int rc, waited = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: soak_storm DOMID DEVID SECONDS KICKS_PER_SECOND\n");
		return 2;
	}
	pcfg.domid = (uint16_t)atoi(argv[1]);
	cfg.devid = (uint16_t)atoi(argv[2]);
	secs = atof(argv[3]);
	rate = atof(argv[4]);
	if (secs <= 0 || secs > 86400 || rate <= 0 || rate > 1e7)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = sn_plat_open(&pcfg, &plat);
	if (rc) {
		fprintf(stderr, "soak_storm: platform: %s\n", strerror(-rc));
		return 1;
	}
	rc = sn_front_open(plat, &cfg, &nic);
	if (rc) {
		fprintf(stderr, "soak_storm: open: %s\n", strerror(-rc));
		goto out_plat;
	}
	/* Connect in slices so a signal still ends the wait (30 s at most). */
	do {
		rc = sn_front_connect(nic, 200);
		waited += 200;
	} while (rc == -ETIMEDOUT && !atomic_load(&stop) && waited < 30000);
	if (rc) {
		fprintf(stderr, "soak_storm: connect: %s\n", strerror(-rc));
		goto out_nic;
	}
	fprintf(stderr, "soak_storm: connected, kicking for %.1f s at <= %.0f/s\n", secs, rate);
	t0 = now_s();
	end = t0 + secs;
	while (!atomic_load(&stop)) {
		double t = now_s();
		struct timespec pause = { 0, 1000000 };

		if (t >= end)
			break;
		/* Token bucket in 1 ms steps: never more than rate kicks/s. */
		while ((double)kicks < (t - t0) * rate) {
			for (uint16_t q = 0; q < sn_front_num_queues(nic); q++) {
				struct sn_front_queue *fq = &nic->q[q];

				sn_front_notify(fq, fq->port_tx);
				if (fq->port_rx != fq->port_tx)
					sn_front_notify(fq, fq->port_rx);
			}
			kicks++;
		}
		nanosleep(&pause, NULL);
	}
	printf("soak_storm: kicks=%llu\n", kicks);
	fflush(stdout);
out_nic:
	sn_front_close(nic, 5000);
out_plat:
	sn_plat_close(plat);
	return rc ? 1 : 0;
}
