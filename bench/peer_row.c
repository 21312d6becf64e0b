/* The peer row (peer_row.h): vhost-user on the backend's CPU, virtio-user on
 * the frontend's, the receiver's port counters read over the same warm-up
 * and repetitions as a cell. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/peer.h"
#include "bench/peer_row.h"
#include "bench/sample.h"

#define PEER_READY_S 20

static bool nap(const struct sn_bench_env *e, double s)
{
	double end = sn_bench_now() + s;

	while (!*e->stop) {
		double left = end - sn_bench_now();

		if (left <= 0)
			return true;
		if (left > 0.05)
			left = 0.05;
		nanosleep(&(struct timespec){ .tv_nsec = (long)(left * 1e9) }, NULL);
	}
	return false;
}

/* The receiver's counters, retried while its telemetry comes up. */
static int sample(const struct sn_bench_env *e, struct sn_peer *p, struct sn_peer_stats *st,
		  double *t)
{
	double deadline = sn_bench_now() + PEER_READY_S;
	int rc;

	while ((rc = sn_peer_stats(p, st)) == -EAGAIN && !*e->stop && sn_bench_now() < deadline)
		nap(e, 0.02);
	*t = sn_bench_now();
	return *e->stop ? -EINTR : rc;
}

static bool wait_socket(const struct sn_bench_env *e, const char *path)
{
	double deadline = sn_bench_now() + PEER_READY_S;
	struct stat sb;

	while (stat(path, &sb)) {
		if (*e->stop || sn_bench_now() > deadline)
			return false;
		nap(e, 0.02);
	}
	return true;
}

static void measure(const struct sn_bench_env *e, struct sn_bench_cell *c, struct sn_peer *rx)
{
	struct sn_peer_stats s0, s1;
	double t0, t1, deadline = sn_bench_now() + PEER_READY_S;
	int rc;

	do {
		rc = sample(e, rx, &s0, &t0);
		if (!rc && s0.ipackets)
			break;
		nap(e, 0.02);
	} while (!rc && sn_bench_now() < deadline);
	if (rc || !s0.ipackets) {
		sn_bench_cell_fail(c, "no packets within %d s (%s)", PEER_READY_S,
				   rc ? strerror(-rc) : "connected?");
		return;
	}
	if (!nap(e, e->o->warmup))
		goto intr;
	if ((rc = sample(e, rx, &s0, &t0)))
		goto fail;
	for (unsigned int r = 0; r < e->o->reps; r++) {
		if (!nap(e, e->o->duration))
			goto intr;
		if ((rc = sample(e, rx, &s1, &t1)))
			goto fail;
		c->rep_mpps[c->nreps] = (double)(s1.ipackets - s0.ipackets) / (t1 - t0) / 1e6;
		c->rep_gbps[c->nreps] = (double)(s1.ibytes - s0.ibytes) * 8 / (t1 - t0) / 1e9;
		c->nreps++;
		c->c.pkts += s1.ipackets - s0.ipackets;
		c->c.bytes += s1.ibytes - s0.ibytes;
		c->secs += t1 - t0;
		s0 = s1;
		t0 = t1;
	}
	return;
intr:
	sn_bench_cell_fail(c, "interrupted");
	return;
fail:
	sn_bench_cell_fail(c, "testpmd: %s", strerror(-rc));
}

void sn_bench_peer_row(const struct sn_bench_env *e, struct sn_bench_cell *c)
{
	bool tx = !strcmp(c->dir, "tx");
	char sock[PATH_MAX], vdev_h[PATH_MAX + 64], vdev_g[PATH_MAX + 64];
	char log_h[PATH_MAX], log_g[PATH_MAX], tag_h[32], tag_g[32];
	struct sn_peer host = { .pid = -1, .tfd = -1 }, guest = { .pid = -1, .tfd = -1 };
	struct sn_peer_args ah, ag;
	int rc;

	c->light = true;
	if (!sn_peer_available()) {
		c->status = SN_CELL_SKIPPED;
		snprintf(c->reason, sizeof(c->reason), "%s not installed", SN_PEER_TESTPMD);
		return;
	}
	if (c->frame > 1514 || e->ncpus < 2) {
		c->status = SN_CELL_SKIPPED;
		snprintf(c->reason, sizeof(c->reason), "%s",
			 e->ncpus < 2 ? "needs two CPUs" : "testpmd txonly sends no GSO packets");
		return;
	}
	snprintf(sock, sizeof(sock), "%s/peer-%s-%u.sock", e->dir, c->dir, c->frame);
	unlink(sock);
	snprintf(vdev_h, sizeof(vdev_h), "net_vhost0,iface=%s,queues=1", sock);
	snprintf(vdev_g, sizeof(vdev_g), "net_virtio_user0,path=%s,queues=1", sock);
	snprintf(log_h, sizeof(log_h), "%s/peer-vhost-%s-%u.log", e->dir, c->dir, c->frame);
	snprintf(log_g, sizeof(log_g), "%s/peer-virtio-%s-%u.log", e->dir, c->dir, c->frame);
	snprintf(tag_h, sizeof(tag_h), "h%s%u", c->dir, c->frame);
	snprintf(tag_g, sizeof(tag_g), "g%s%u", c->dir, c->frame);
	ah = (struct sn_peer_args){ .vdev = vdev_h, .fwd = tx ? "rxonly" : "txonly",
				    .frame = c->frame, .tag = tag_h, .log = log_h };
	ag = (struct sn_peer_args){ .vdev = vdev_g, .fwd = tx ? "txonly" : "rxonly",
				    .frame = c->frame, .tag = tag_g, .log = log_g };
	/* vhost-user listens, virtio-user connects: the host side first, on
	 * the backend's CPU; the guest side on the frontend's. */
	rc = sn_peer_start(&host, &ah, e->cpus[0]);
	if (rc) {
		sn_bench_cell_fail(c, "testpmd (vhost): %s", strerror(-rc));
		goto out;
	}
	if (!wait_socket(e, sock)) {
		sn_bench_cell_fail(c, "vhost-user socket not created (see %s)", log_h);
		goto out;
	}
	rc = sn_peer_start(&guest, &ag, e->cpus[e->back_cpus]);
	if (rc) {
		sn_bench_cell_fail(c, "testpmd (virtio-user): %s", strerror(-rc));
		goto out;
	}
	measure(e, c, tx ? &host : &guest);
	snprintf(c->version, sizeof(c->version), "%s", tx ? host.version : guest.version);
out:
	sn_peer_stop(&guest);
	sn_peer_stop(&host);
	unlink(sock);
	sn_bench_cell_finish(c);
}
