/* The fault-injection platform (see fault.h): every op forwards to the
 * wrapped platform except the elements a rule picks, which fail the way a
 * hypervisor fails them.  Spurious events ride on an eventfd joined with the
 * inner handle's fd in an epoll set, so pollers wake for either. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "plat/fault.h"

struct fault_plat {
	struct sn_plat plat; /* must be first */
	struct sn_plat *inner;
	/* Protects everything below: decisions are made under it so the
	 * per-kind streams and nth counts stay consistent across threads
	 * (one lock per wrapper; the cost is irrelevant in tests). */
	pthread_mutex_t lock;
	struct sn_fault_cfg cfg;
	uint64_t rng[SN_FAULT_NR];
	uint64_t count[SN_FAULT_NR];    /* elements since the last configure */
	uint64_t injected_cfg[SN_FAULT_NR]; /* injections since then (for max) */
	struct sn_fault_stats st;
};

/* Our event channel handle: the inner one plus a spurious-event source. */
struct fault_evtchn {
	struct fault_plat *fp;
	struct sn_evtchn *inner;
	int efd;  /* eventfd: readable while spurious events are queued */
	int epfd; /* epoll of inner fd + efd, handed out as evt_fd */
	pthread_mutex_t lock; /* protects spurious, ports, nr/cap, rr */
	uint32_t spurious;
	sn_port_t *ports; /* ports bound on this handle */
	uint32_t nr_ports, cap_ports, rr;
};

static const struct sn_plat_ops fault_ops;

static struct fault_plat *fp_of(struct sn_plat *p)
{
	return (struct fault_plat *)p;
}

static struct fault_evtchn *fe_of(struct sn_evtchn *e)
{
	return (struct fault_evtchn *)e;
}

/* splitmix64: tiny, full-period, good enough to pick elements. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void reseed(struct fault_plat *fp)
{
	for (int k = 0; k < SN_FAULT_NR; k++) {
		fp->rng[k] = fp->cfg.seed ^ (0x51ed2701u * (uint64_t)(k + 1));
		fp->count[k] = 0;
		fp->injected_cfg[k] = 0;
	}
}

/* fp->lock held.  One element of kind k: fail it? */
static bool decide(struct fault_plat *fp, enum sn_fault_kind k)
{
	const struct sn_fault_rule *r = &fp->cfg.rule[k];
	uint64_t n = ++fp->count[k];
	bool hit = false;

	fp->st.seen[k]++;
	/* Draw for every element, hit or not, so the rate stream does not
	 * shift when nth triggers are added to a config. */
	if (r->rate_ppm && rng_next(&fp->rng[k]) % 1000000u < r->rate_ppm)
		hit = true;
	if (r->nth && (r->every ? n % r->nth == 0 : n == r->nth))
		hit = true;
	if (hit && r->max && fp->injected_cfg[k] >= r->max)
		hit = false;
	if (hit)
		fp->injected_cfg[k]++;
	return hit;
}

/* fp->lock held */
static int16_t fault_status(const struct fault_plat *fp, enum sn_fault_kind k)
{
	int16_t s = fp->cfg.rule[k].status;

	return s ? s : GNTST_general_error;
}

/* ---- gnttab ------------------------------------------------------------ */

static int fault_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs)
{
	struct fault_plat *fp = fp_of(p);
	uint32_t *keep, nk = 0, nfail = 0;
	sn_copy_seg *sub;
	int16_t st = GNTST_general_error;
	bool *fail;
	int rc;

	if (!count)
		return fp->inner->ops->gnt_copy(fp->inner, count, segs);
	fail = calloc(count, sizeof(*fail));
	if (!fail)
		return -ENOMEM;
	pthread_mutex_lock(&fp->lock);
	for (uint32_t i = 0; i < count; i++) {
		fail[i] = decide(fp, SN_FAULT_COPY);
		nfail += fail[i];
	}
	fp->st.injected[SN_FAULT_COPY] += nfail;
	st = fault_status(fp, SN_FAULT_COPY); /* cfg may change under us */
	pthread_mutex_unlock(&fp->lock);
	if (!nfail) {
		free(fail);
		return fp->inner->ops->gnt_copy(fp->inner, count, segs);
	}
	/* Only the surviving segments reach the inner platform: a failed
	 * segment must not move any byte. */
	sub = malloc(count * sizeof(*sub));
	keep = malloc(count * sizeof(*keep));
	if (!sub || !keep) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (fail[i]) {
			segs[i].status = st;
			continue;
		}
		keep[nk] = i;
		sub[nk++] = segs[i];
	}
	rc = nk ? fp->inner->ops->gnt_copy(fp->inner, nk, sub) : 0;
	if (rc == 0)
		for (uint32_t j = 0; j < nk; j++)
			segs[keep[j]].status = sub[j].status;
out:
	free(keep);
	free(sub);
	free(fail);
	return rc;
}

static int fault_gnt_map(struct sn_plat *p, uint32_t count,
			 const uint16_t *domids, const uint32_t *refs,
			 bool writable, void **addrs, int16_t *status)
{
	struct fault_plat *fp = fp_of(p);
	int16_t st = GNTST_general_error;
	uint32_t *keep = NULL, *srefs = NULL, nk = 0, nfail = 0;
	uint16_t *sdom = NULL;
	int16_t *sst = NULL;
	void **saddr = NULL;
	bool *fail;
	int rc = -ENOMEM;

	if (!count)
		return fp->inner->ops->gnt_map(fp->inner, count, domids, refs,
					       writable, addrs, status);
	fail = calloc(count, sizeof(*fail));
	if (!fail)
		return -ENOMEM;
	pthread_mutex_lock(&fp->lock);
	for (uint32_t i = 0; i < count; i++) {
		fail[i] = decide(fp, SN_FAULT_MAP);
		nfail += fail[i];
	}
	fp->st.injected[SN_FAULT_MAP] += nfail;
	st = fault_status(fp, SN_FAULT_MAP); /* cfg may change under us */
	pthread_mutex_unlock(&fp->lock);
	if (!nfail) {
		free(fail);
		return fp->inner->ops->gnt_map(fp->inner, count, domids, refs,
					       writable, addrs, status);
	}
	keep = malloc(count * sizeof(*keep));
	srefs = malloc(count * sizeof(*srefs));
	sdom = malloc(count * sizeof(*sdom));
	sst = malloc(count * sizeof(*sst));
	saddr = malloc(count * sizeof(*saddr));
	if (!keep || !srefs || !sdom || !sst || !saddr)
		goto out;
	for (uint32_t i = 0; i < count; i++) {
		if (fail[i]) {
			addrs[i] = NULL;
			status[i] = st;
			continue;
		}
		keep[nk] = i;
		sdom[nk] = domids[i];
		srefs[nk++] = refs[i];
	}
	rc = nk ? fp->inner->ops->gnt_map(fp->inner, nk, sdom, srefs, writable,
					  saddr, sst) : 0;
	if (rc == 0) {
		for (uint32_t j = 0; j < nk; j++) {
			addrs[keep[j]] = saddr[j];
			status[keep[j]] = sst[j];
		}
	}
out:
	free(saddr);
	free(sst);
	free(sdom);
	free(srefs);
	free(keep);
	free(fail);
	return rc;
}

static int fault_gnt_unmap(struct sn_plat *p, uint32_t count,
			   void *const *addrs, int16_t *status)
{
	struct fault_plat *fp = fp_of(p);
	int16_t st = GNTST_general_error;
	uint32_t *keep = NULL, nk = 0, nfail = 0;
	int16_t *sst = NULL;
	void **saddr = NULL;
	bool *fail;
	int rc = -ENOMEM;

	if (!count)
		return fp->inner->ops->gnt_unmap(fp->inner, count, addrs, status);
	fail = calloc(count, sizeof(*fail));
	if (!fail)
		return -ENOMEM;
	pthread_mutex_lock(&fp->lock);
	for (uint32_t i = 0; i < count; i++) {
		fail[i] = decide(fp, SN_FAULT_UNMAP);
		nfail += fail[i];
	}
	fp->st.injected[SN_FAULT_UNMAP] += nfail;
	st = fault_status(fp, SN_FAULT_UNMAP); /* cfg may change under us */
	pthread_mutex_unlock(&fp->lock);
	if (!nfail) {
		free(fail);
		return fp->inner->ops->gnt_unmap(fp->inner, count, addrs, status);
	}
	keep = malloc(count * sizeof(*keep));
	sst = malloc(count * sizeof(*sst));
	saddr = malloc(count * sizeof(*saddr));
	if (!keep || !sst || !saddr)
		goto out;
	for (uint32_t i = 0; i < count; i++) {
		if (fail[i]) {
			status[i] = st;
			continue;
		}
		keep[nk] = i;
		saddr[nk++] = addrs[i];
	}
	rc = nk ? fp->inner->ops->gnt_unmap(fp->inner, nk, saddr, sst) : 0;
	if (rc == 0)
		for (uint32_t j = 0; j < nk; j++)
			status[keep[j]] = sst[j];
out:
	free(saddr);
	free(sst);
	free(keep);
	free(fail);
	return rc;
}

/* ---- gntshr ------------------------------------------------------------ */

static bool decide_one(struct fault_plat *fp, enum sn_fault_kind k)
{
	bool hit;

	pthread_mutex_lock(&fp->lock);
	hit = decide(fp, k);
	fp->st.injected[k] += hit;
	pthread_mutex_unlock(&fp->lock);
	return hit;
}

static int fault_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count,
			   bool writable, uint32_t *refs, void **addr)
{
	struct sn_plat *in = fp_of(p)->inner;

	return in->ops->shr_alloc(in, domid, count, writable, refs, addr);
}

static int fault_shr_free(struct sn_plat *p, void *addr, uint32_t count)
{
	struct fault_plat *fp = fp_of(p);

	/* A peer that keeps the pages pinned forever: the caller must treat
	 * them as gone (never reuse), exactly like a quarantined page. */
	if (decide_one(fp, SN_FAULT_FREE))
		return -EBUSY;
	return fp->inner->ops->shr_free(fp->inner, addr, count);
}

static int fault_shr_grant(struct sn_plat *p, uint16_t domid, const void *page,
			   bool writable, uint32_t *ref)
{
	struct sn_plat *in = fp_of(p)->inner;

	return in->ops->shr_grant(in, domid, page, writable, ref);
}

static int fault_shr_revoke(struct sn_plat *p, uint32_t ref)
{
	struct fault_plat *fp = fp_of(p);

	if (decide_one(fp, SN_FAULT_REVOKE))
		return -EBUSY;
	return fp->inner->ops->shr_revoke(fp->inner, ref);
}

/* ---- evtchn ------------------------------------------------------------ */

static void efd_set(int efd, bool on)
{
	uint64_t v = 1;

	if (on) {
		if (write(efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: counter saturated, it is readable anyway */
		}
	} else if (read(efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already drained */
	}
}

/* fe->lock held */
static void queue_spurious(struct fault_evtchn *fe, uint32_t n)
{
	if (!n)
		return;
	/* Without a bound port there is nothing to report: stay quiet until
	 * add_port, or pollers would spin on a readable fd. */
	if (!fe->spurious && fe->nr_ports)
		efd_set(fe->efd, true);
	fe->spurious += n;
}

static int fault_evt_open(struct sn_plat *p, struct sn_evtchn **out)
{
	struct fault_plat *fp = fp_of(p);
	struct epoll_event ev = { .events = EPOLLIN };
	struct fault_evtchn *fe;
	int rc;

	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->fp = fp;
	fe->efd = fe->epfd = -1;
	rc = fp->inner->ops->evt_open(fp->inner, &fe->inner);
	if (rc)
		goto err_free;
	fe->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fe->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (fe->efd < 0 || fe->epfd < 0) {
		rc = -errno;
		goto err_fds;
	}
	/* An epoll fd polls readable while any member is: callers keep a
	 * single fd and wake for real and spurious events alike. */
	if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->efd, &ev) ||
	    epoll_ctl(fe->epfd, EPOLL_CTL_ADD,
		      fp->inner->ops->evt_fd(fe->inner), &ev)) {
		rc = -errno;
		goto err_fds;
	}
	pthread_mutex_init(&fe->lock, NULL);
	*out = (struct sn_evtchn *)fe;
	return 0;

err_fds:
	if (fe->epfd >= 0)
		close(fe->epfd);
	if (fe->efd >= 0)
		close(fe->efd);
	fp->inner->ops->evt_close(fe->inner);
err_free:
	free(fe);
	return rc;
}

static void fault_evt_close(struct sn_evtchn *e)
{
	struct fault_evtchn *fe = fe_of(e);

	if (!fe)
		return;
	close(fe->epfd);
	close(fe->efd);
	fe->fp->inner->ops->evt_close(fe->inner);
	pthread_mutex_destroy(&fe->lock);
	free(fe->ports);
	free(fe);
}

static int fault_evt_fd(struct sn_evtchn *e)
{
	return fe_of(e)->epfd;
}

static int add_port(struct fault_evtchn *fe, int port)
{
	if (port < 0)
		return port;
	pthread_mutex_lock(&fe->lock);
	if (fe->nr_ports == fe->cap_ports) {
		uint32_t cap = fe->cap_ports ? fe->cap_ports * 2 : 8;
		sn_port_t *np = realloc(fe->ports, cap * sizeof(*np));

		if (!np) {
			/* The port works; it just never carries spurious
			 * events. */
			pthread_mutex_unlock(&fe->lock);
			return port;
		}
		fe->ports = np;
		fe->cap_ports = cap;
	}
	fe->ports[fe->nr_ports++] = (sn_port_t)port;
	if (fe->spurious && fe->nr_ports == 1)
		efd_set(fe->efd, true);
	pthread_mutex_unlock(&fe->lock);
	return port;
}

static int fault_evt_alloc_unbound(struct sn_evtchn *e, uint16_t remote_domid)
{
	struct fault_evtchn *fe = fe_of(e);

	return add_port(fe, fe->fp->inner->ops->evt_alloc_unbound(fe->inner,
								  remote_domid));
}

static int fault_evt_bind_interdomain(struct sn_evtchn *e, uint16_t remote_domid,
				      sn_port_t remote_port)
{
	struct fault_evtchn *fe = fe_of(e);

	return add_port(fe, fe->fp->inner->ops->evt_bind_interdomain(
				    fe->inner, remote_domid, remote_port));
}

static int fault_evt_notify(struct sn_evtchn *e, sn_port_t port)
{
	struct fault_evtchn *fe = fe_of(e);

	return fe->fp->inner->ops->evt_notify(fe->inner, port);
}

static int fault_evt_pending(struct sn_evtchn *e)
{
	struct fault_evtchn *fe = fe_of(e);
	struct fault_plat *fp = fe->fp;
	uint32_t burst = 0;
	int port = -EAGAIN;

	pthread_mutex_lock(&fp->lock);
	if (decide(fp, SN_FAULT_EVENT)) {
		burst = fp->cfg.rule[SN_FAULT_EVENT].burst;
		burst = burst ? burst : 1;
		fp->st.injected[SN_FAULT_EVENT] += burst;
	}
	pthread_mutex_unlock(&fp->lock);

	pthread_mutex_lock(&fe->lock);
	queue_spurious(fe, burst);
	/* Spurious first: a storm must be survivable even when it arrives
	 * ahead of real work. */
	if (fe->spurious && fe->nr_ports) {
		port = (int)fe->ports[fe->rr++ % fe->nr_ports];
		if (!--fe->spurious)
			efd_set(fe->efd, false);
	}
	pthread_mutex_unlock(&fe->lock);
	if (port >= 0)
		return port;
	return fp->inner->ops->evt_pending(fe->inner);
}

static int fault_evt_unmask(struct sn_evtchn *e, sn_port_t port)
{
	struct fault_evtchn *fe = fe_of(e);

	return fe->fp->inner->ops->evt_unmask(fe->inner, port);
}

static int fault_evt_unbind(struct sn_evtchn *e, sn_port_t port)
{
	struct fault_evtchn *fe = fe_of(e);
	int rc = fe->fp->inner->ops->evt_unbind(fe->inner, port);

	if (rc == 0) {
		pthread_mutex_lock(&fe->lock);
		for (uint32_t i = 0; i < fe->nr_ports; i++) {
			if (fe->ports[i] == port) {
				fe->ports[i] = fe->ports[--fe->nr_ports];
				break;
			}
		}
		if (fe->spurious && !fe->nr_ports)
			efd_set(fe->efd, false);
		pthread_mutex_unlock(&fe->lock);
	}
	return rc;
}

/* ---- xenstore and domains: straight through ------------------------------ */

#define IN(p) (fp_of(p)->inner)

static int fault_xs_read(struct sn_plat *p, xs_transaction_t t,
			 const char *path, char **val, unsigned int *len)
{
	return IN(p)->ops->xs_read(IN(p), t, path, val, len);
}

static int fault_xs_write(struct sn_plat *p, xs_transaction_t t,
			  const char *path, const void *val, unsigned int len)
{
	return IN(p)->ops->xs_write(IN(p), t, path, val, len);
}

static int fault_xs_mkdir(struct sn_plat *p, xs_transaction_t t,
			  const char *path)
{
	return IN(p)->ops->xs_mkdir(IN(p), t, path);
}

static int fault_xs_rm(struct sn_plat *p, xs_transaction_t t, const char *path)
{
	return IN(p)->ops->xs_rm(IN(p), t, path);
}

static int fault_xs_directory(struct sn_plat *p, xs_transaction_t t,
			      const char *path, char ***ents, unsigned int *num)
{
	return IN(p)->ops->xs_directory(IN(p), t, path, ents, num);
}

static int fault_xs_set_perms(struct sn_plat *p, xs_transaction_t t,
			      const char *path,
			      const struct xs_permissions *perms,
			      unsigned int num)
{
	return IN(p)->ops->xs_set_perms(IN(p), t, path, perms, num);
}

static int fault_xs_get_perms(struct sn_plat *p, xs_transaction_t t,
			      const char *path, struct xs_permissions **perms,
			      unsigned int *num)
{
	return IN(p)->ops->xs_get_perms(IN(p), t, path, perms, num);
}

static int fault_xs_watch(struct sn_plat *p, const char *path,
			  const char *token)
{
	return IN(p)->ops->xs_watch(IN(p), path, token);
}

static int fault_xs_unwatch(struct sn_plat *p, const char *path,
			    const char *token)
{
	return IN(p)->ops->xs_unwatch(IN(p), path, token);
}

static int fault_xs_watch_fd(struct sn_plat *p)
{
	return IN(p)->ops->xs_watch_fd(IN(p));
}

static int fault_xs_read_watch(struct sn_plat *p, struct sn_xs_event *ev)
{
	return IN(p)->ops->xs_read_watch(IN(p), ev);
}

static int fault_xs_txn_start(struct sn_plat *p, xs_transaction_t *t)
{
	return IN(p)->ops->xs_txn_start(IN(p), t);
}

static int fault_xs_txn_end(struct sn_plat *p, xs_transaction_t t, bool abort)
{
	return IN(p)->ops->xs_txn_end(IN(p), t, abort);
}

static int fault_dom_instance(struct sn_plat *p, uint16_t domid, char **id)
{
	return IN(p)->ops->dom_instance(IN(p), domid, id);
}

#undef IN

/* ---- lifetime and control --------------------------------------------- */

static void fault_close(struct sn_plat *p)
{
	struct fault_plat *fp = fp_of(p);

	sn_plat_close(fp->inner);
	pthread_mutex_destroy(&fp->lock);
	free(fp);
}

static const struct sn_plat_ops fault_ops = {
	.name = "fault",
	.close = fault_close,
	.gnt_copy = fault_gnt_copy,
	.gnt_map = fault_gnt_map,
	.gnt_unmap = fault_gnt_unmap,
	.shr_alloc = fault_shr_alloc,
	.shr_free = fault_shr_free,
	.shr_grant = fault_shr_grant,
	.shr_revoke = fault_shr_revoke,
	.evt_open = fault_evt_open,
	.evt_close = fault_evt_close,
	.evt_fd = fault_evt_fd,
	.evt_alloc_unbound = fault_evt_alloc_unbound,
	.evt_bind_interdomain = fault_evt_bind_interdomain,
	.evt_notify = fault_evt_notify,
	.evt_pending = fault_evt_pending,
	.evt_unmask = fault_evt_unmask,
	.evt_unbind = fault_evt_unbind,
	.xs_read = fault_xs_read,
	.xs_write = fault_xs_write,
	.xs_mkdir = fault_xs_mkdir,
	.xs_rm = fault_xs_rm,
	.xs_directory = fault_xs_directory,
	.xs_set_perms = fault_xs_set_perms,
	.xs_get_perms = fault_xs_get_perms,
	.xs_watch = fault_xs_watch,
	.xs_unwatch = fault_xs_unwatch,
	.xs_watch_fd = fault_xs_watch_fd,
	.xs_read_watch = fault_xs_read_watch,
	.xs_txn_start = fault_xs_txn_start,
	.xs_txn_end = fault_xs_txn_end,
	.dom_instance = fault_dom_instance,
};

int sn_fault_wrap(struct sn_plat *inner, const struct sn_fault_cfg *cfg,
		  struct sn_plat **out)
{
	struct fault_plat *fp;

	if (!inner || !out)
		return -EINVAL;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	/* Copy the identity so code reading the common head (kind, domid,
	 * the xenstore handle) sees the wrapped platform's. */
	fp->plat.ops = &fault_ops;
	fp->plat.kind = inner->kind;
	fp->plat.domid = inner->domid;
	fp->plat.xs = inner->xs;
	fp->inner = inner;
	pthread_mutex_init(&fp->lock, NULL);
	if (cfg)
		fp->cfg = *cfg;
	reseed(fp);
	*out = &fp->plat;
	return 0;
}

bool sn_fault_is(const struct sn_plat *p)
{
	return p && p->ops == &fault_ops;
}

int sn_fault_configure(struct sn_plat *p, const struct sn_fault_cfg *cfg)
{
	struct fault_plat *fp;

	if (!sn_fault_is(p))
		return -EINVAL;
	fp = fp_of(p);
	pthread_mutex_lock(&fp->lock);
	if (cfg)
		fp->cfg = *cfg;
	else
		memset(&fp->cfg, 0, sizeof(fp->cfg));
	reseed(fp);
	pthread_mutex_unlock(&fp->lock);
	return 0;
}

int sn_fault_stats_get(struct sn_plat *p, struct sn_fault_stats *out)
{
	struct fault_plat *fp;

	if (!sn_fault_is(p) || !out)
		return -EINVAL;
	fp = fp_of(p);
	pthread_mutex_lock(&fp->lock);
	*out = fp->st;
	pthread_mutex_unlock(&fp->lock);
	return 0;
}

int sn_fault_evt_inject(struct sn_plat *p, struct sn_evtchn *e, uint32_t n)
{
	struct fault_evtchn *fe;

	if (!sn_fault_is(p) || !e)
		return -EINVAL;
	fe = fe_of(e);
	if (fe->fp != fp_of(p))
		return -EINVAL;
	pthread_mutex_lock(&fe->fp->lock);
	fe->fp->st.injected[SN_FAULT_EVENT] += n;
	pthread_mutex_unlock(&fe->fp->lock);
	pthread_mutex_lock(&fe->lock);
	queue_spurious(fe, n);
	pthread_mutex_unlock(&fe->lock);
	return 0;
}

struct sn_plat *sn_fault_inner(struct sn_plat *p)
{
	return sn_fault_is(p) ? fp_of(p)->inner : NULL;
}
