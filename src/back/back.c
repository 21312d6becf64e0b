/* netback's public API: create and destroy a backend, drive its control
 * thread (poll, run, stop), and look at its vifs from other threads.  What
 * a control step does with xenstore is xenbus.c's. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "back/common.h"

int sn_back_create(const struct sn_back_cfg *cfg, struct sn_back **out)
{
	struct sn_back *b;
	long ncpu;
	int rc;

	if (!cfg || !cfg->plat)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->plat = cfg->plat;
	if (!b->cfg.port_spec)
		b->cfg.port_spec = "sink";
	b->max_queues = cfg->max_queues;
	if (!b->max_queues) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		b->max_queues = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (uint16_t)ncpu;
	}
	if (b->max_queues > SN_BACK_MAX_QUEUES)
		b->max_queues = SN_BACK_MAX_QUEUES;
	pthread_mutex_init(&b->lock, NULL);
	b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->wake_fd < 0) {
		rc = -errno;
		goto err_free;
	}
	rc = sn_back_xb_start(b);
	if (rc)
		goto err_fd;
	b->rescan = true;
	*out = b;
	return 0;
err_fd:
	close(b->wake_fd);
err_free:
	pthread_mutex_destroy(&b->lock);
	free(b);
	return rc;
}

static void gone_free_all(struct sn_back *b)
{
	while (b->gone) {
		struct sn_back_vif *v = b->gone;

		b->gone = v->next;
		sn_back_vif_free(v);
	}
	b->ngone = 0;
}

void sn_back_destroy(struct sn_back *b)
{
	if (!b)
		return;
	sn_back_xb_stop(b);
	gone_free_all(b);
	close(b->wake_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void sn_back_stop(struct sn_back *b)
{
	uint64_t one = 1;
	ssize_t r;

	atomic_store(&b->stop, true);
	r = write(b->wake_fd, &one, sizeof(one));
	(void)r;
}

void sn_back_wake(struct sn_back *b)
{
	uint64_t one = 1;
	ssize_t r = write(b->wake_fd, &one, sizeof(one));

	(void)r;
}

int sn_back_poll(struct sn_back *b, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = b->plat->ops->xs_watch_fd(b->plat), .events = POLLIN },
		{ .fd = b->wake_fd, .events = POLLIN },
	};
	uint64_t cnt;
	int rc;

	if (b->rescan)
		timeout_ms = 0;
	rc = poll(pfd, 2, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return -errno;
	if (read(b->wake_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	return sn_back_xb_step(b);
}

int sn_back_run(struct sn_back *b)
{
	int rc = 0;

	while (!atomic_load(&b->stop)) {
		rc = sn_back_poll(b, 1000);
		if (rc)
			break;
	}
	return rc;
}

struct sn_back_vif *sn_back_vif_find(struct sn_back *b, uint16_t domid,
				     uint16_t devid)
{
	for (struct sn_back_vif *v = b->vifs; v; v = v->next)
		if (v->domid == domid && v->devid == devid)
			return v;
	return NULL;
}

int sn_back_vif_state(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	int rc;

	pthread_mutex_lock(&b->lock);
	v = sn_back_vif_find(b, domid, devid);
	rc = v ? v->state : -ENOENT;
	pthread_mutex_unlock(&b->lock);
	return rc;
}

bool sn_back_vif_disabled(struct sn_back *b, uint16_t domid, uint16_t devid)
{
	struct sn_back_vif *v;
	bool d;

	pthread_mutex_lock(&b->lock);
	v = sn_back_vif_find(b, domid, devid);
	d = v && atomic_load(&v->disabled);
	pthread_mutex_unlock(&b->lock);
	return d;
}

int sn_back_vif_stats(struct sn_back *b, uint16_t domid, uint16_t devid,
		      uint16_t queue, struct sn_qstats *out)
{
	struct sn_back_vif *v;
	int rc = -ENOENT;

	pthread_mutex_lock(&b->lock);
	v = sn_back_vif_find(b, domid, devid);
	if (v && queue < v->stats_max) {
		for (unsigned int i = 0; i < SN_QS__COUNT; i++)
			out->v[i] = __atomic_load_n(&v->stats[queue].v[i],
						    __ATOMIC_RELAXED);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void sn_back_vif_gone(struct sn_back *b, struct sn_back_vif *v)
{
	struct sn_back_vif **pp;

	/* While running with a log, the removal is where its counters are
	 * said.  Once stop is set the exit print is next, but it walks only
	 * b->vifs: a vif-del handled in the same step as the signal would
	 * vanish from both, so it is kept for that print instead. */
	if (b->cfg.log && !atomic_load(&b->stop)) {
		sn_back_print_vif_stats(v, b->cfg.log);
		sn_back_vif_free(v);
		return;
	}
	sn_back_vif_retire(v);
	v->next = NULL;
	pthread_mutex_lock(&b->lock);
	if (b->ngone == SN_BACK_GONE_MAX) {
		/* Bounded under vif churn with no log: the oldest goes. */
		struct sn_back_vif *old = b->gone;

		b->gone = old->next;
		b->ngone--;
		b->gone_lost++;
		sn_back_vif_free(old);
	}
	for (pp = &b->gone; *pp; pp = &(*pp)->next)
		;
	*pp = v;
	b->ngone++;
	pthread_mutex_unlock(&b->lock);
}

void sn_back_print_stats(struct sn_back *b, FILE *f)
{
	pthread_mutex_lock(&b->lock);
	for (struct sn_back_vif *v = b->vifs; v; v = v->next)
		sn_back_print_vif_stats(v, f);
	/* Printed once: then they are let go. */
	for (struct sn_back_vif *v = b->gone; v; v = v->next) {
		fprintf(f, "back vif%u.%u: removed; its last counters:\n", v->domid,
			v->devid);
		sn_back_print_vif_stats(v, f);
	}
	gone_free_all(b);
	if (b->gone_lost)
		fprintf(f, "back: counters of %llu more removed vifs were not kept\n",
			(unsigned long long)b->gone_lost);
	b->gone_lost = 0;
	pthread_mutex_unlock(&b->lock);
}
