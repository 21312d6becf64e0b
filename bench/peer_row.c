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

#include "bench/proc.h"
#include "bench/testpmd.h"
#include "bench/peer_row.h"
#include "bench/sample.h"

#define PEER_READY_S 20

/* One testpmd of the pair: its pid, its telemetry. */
struct peer {
	pid_t pid;
	struct sn_testpmd_tel tel;
};

/* The receiver's counters, retried while its telemetry comes up. */
static int sample(const struct sn_bench_env *e, struct peer *p, struct sn_testpmd_port_stats *st,
		  double *t)
{
	double deadline = sn_bench_now() + PEER_READY_S;
	int rc, ws;

	while ((rc = sn_testpmd_tel_stats(&p->tel, 0, st)) == -EAGAIN && !*e->stop &&
	       sn_bench_now() < deadline) {
		if (sn_proc_exited(&p->pid, &ws))
			return -ECHILD;
		sn_bench_nap(e->stop, 0.02);
	}
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
		sn_bench_nap(e->stop, 0.02);
	}
	return true;
}

static void measure(const struct sn_bench_env *e, struct sn_bench_cell *c, struct peer *rx)
{
	struct sn_testpmd_port_stats s0, s1;
	double t0, t1, deadline = sn_bench_now() + PEER_READY_S;
	int rc;

	do {
		rc = sample(e, rx, &s0, &t0);
		if (!rc && s0.rx_pkts)
			break;
		sn_bench_nap(e->stop, 0.02);
	} while (!rc && sn_bench_now() < deadline);
	if (rc || !s0.rx_pkts) {
		sn_bench_cell_fail(c, "no packets within %d s (%s)", PEER_READY_S,
				   rc ? strerror(-rc) : "connected?");
		return;
	}
	if (!sn_bench_nap(e->stop, e->o->warmup))
		goto intr;
	if ((rc = sample(e, rx, &s0, &t0)))
		goto fail;
	for (unsigned int r = 0; r < e->o->reps; r++) {
		if (!sn_bench_nap(e->stop, e->o->duration))
			goto intr;
		if ((rc = sample(e, rx, &s1, &t1)))
			goto fail;
		c->rep_mpps[c->nreps] = (double)(s1.rx_pkts - s0.rx_pkts) / (t1 - t0) / 1e6;
		c->rep_gbps[c->nreps] = (double)(s1.rx_bytes - s0.rx_bytes) * 8 / (t1 - t0) / 1e9;
		c->nreps++;
		c->c.pkts += s1.rx_pkts - s0.rx_pkts;
		c->c.bytes += s1.rx_bytes - s0.rx_bytes;
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

/* One testpmd on one CPU: vdev, forward mode, txonly frames of the cell's
 * size. */
static int peer_start(struct peer *p, const struct sn_bench_cell *c, const char *vdev,
		      const char *fwd, const char *tag, const char *log, const int *cpu)
{
	char prefix[64], txpkts[32];
	const char *extra[] = { txpkts, NULL };
	struct sn_testpmd_cfg cfg = { .prefix = prefix, .vdevs = &vdev, .nvdevs = 1, .fwd = fwd,
				      .queues = 1, .extra = extra, .out = log, .cpus = cpu,
				      .ncpus = 1 };

	snprintf(prefix, sizeof(prefix), "sn-peer-%d-%s", (int)getpid(), tag);
	snprintf(txpkts, sizeof(txpkts), "--txpkts=%u", c->frame);
	sn_testpmd_tel_init(&p->tel, prefix);
	return sn_testpmd_start(&cfg, &p->pid);
}

static void peer_stop(struct peer *p)
{
	sn_testpmd_stop(p->pid, NULL, NULL);
	p->pid = -1;
	sn_testpmd_tel_close(&p->tel);
}

void sn_bench_peer_row(const struct sn_bench_env *e, struct sn_bench_cell *c)
{
	bool tx = !strcmp(c->dir, "tx");
	char sock[PATH_MAX], vdev_h[PATH_MAX + 64], vdev_g[PATH_MAX + 64];
	char log_h[PATH_MAX], log_g[PATH_MAX], tag_h[32], tag_g[32];
	struct peer host = { .pid = -1, .tel = { .fd = -1 } }, guest = host;
	int rc;

	c->light = true;
	if (!sn_testpmd_available(NULL)) {
		c->status = SN_CELL_SKIPPED;
		snprintf(c->reason, sizeof(c->reason), "dpdk-testpmd not installed");
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
	/* vhost-user listens, virtio-user connects: the host side first, on
	 * the backend's CPU; the guest side on the frontend's. */
	rc = peer_start(&host, c, vdev_h, tx ? "rxonly" : "txonly", tag_h, log_h, &e->cpus[0]);
	if (rc) {
		sn_bench_cell_fail(c, "testpmd (vhost): %s", strerror(-rc));
		goto out;
	}
	if (!wait_socket(e, sock)) {
		sn_bench_cell_fail(c, "vhost-user socket not created (see %s)", log_h);
		goto out;
	}
	rc = peer_start(&guest, c, vdev_g, tx ? "txonly" : "rxonly", tag_g, log_g,
			&e->cpus[e->back_cpus]);
	if (rc) {
		sn_bench_cell_fail(c, "testpmd (virtio-user): %s", strerror(-rc));
		goto out;
	}
	measure(e, c, tx ? &host : &guest);
	snprintf(c->version, sizeof(c->version), "%s", tx ? host.tel.version : guest.tel.version);
out:
	peer_stop(&guest);
	peer_stop(&host);
	unlink(sock);
	sn_bench_cell_finish(c);
}
