/* Netfront control-ring client (see ctrl.h): ring and scratch page set-up,
 * bounded synchronous exchanges with out-of-order matching by id, and the
 * typed hash / gref-mapping requests built on them. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/ctrl.h"
#include "front/log.h"
#include "plat/late_eoi.h"
#include "plat/xs_keys.h"

/* Most requests one batch may have outstanding: far below the 128 ring
 * slots, and small enough for a linear id search. */
#define CTRL_BATCH_MAX 64u
/* Entries of a hash mapping that fit in the scratch page. */
#define CTRL_MAP_PER_PAGE (SN_PAGE_SIZE / sizeof(uint32_t))
/* Written into every DEL entry before sending: a backend that leaves an
 * entry's status untouched (the reference implementation does, for
 * successes) must not make us believe that gref was removed. */
#define CTRL_GREF_STATUS_UNSET 0xffffu

struct sn_front_ctrl {
	struct sn_plat *p;
	uint16_t be_domid;
	int timeout_ms;
	/* Serialises exchanges (staging set-up of several queues and a hash
	 * configuration may come from different threads) and guards st;
	 * the stats getter takes it on a const client, casting const away. */
	pthread_mutex_t lock;
	struct xen_netif_ctrl_front_ring ring;
	void *sring;
	uint32_t ring_ref;
	/* Page-sized arguments.  Shared with the backend (writable, it
	 * writes DEL statuses): we only ever put the argument in it and zero
	 * the rest, and read results back by one copy. */
	uint8_t *scratch;
	uint32_t scratch_ref;
	struct sn_evtchn *evt;
	struct sn_late_eoi eoi; /* under lock */
	int port;
	uint16_t next_id;
	bool broken;
	struct sn_front_ctrl_stats st;
	struct sn_front_log log;
};

int sn_front_ctrl_open(struct sn_plat *p, uint16_t be_domid, int timeout_ms,
		       const struct sn_front_log *log, struct sn_front_ctrl **out)
{
	struct sn_front_ctrl *c;
	void *pages = NULL;
	uint32_t refs[2];
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = p;
	c->be_domid = be_domid;
	if (log)
		c->log = *log;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : SN_FRONT_CTRL_TIMEOUT_MS;
	c->port = -1;
	rc = pthread_mutex_init(&c->lock, NULL);
	if (rc) {
		rc = -rc;
		goto err_free;
	}
	/* Ring and scratch in one allocation; both writable for the backend
	 * (it produces responses and writes DEL statuses). */
	rc = p->ops->shr_alloc(p, be_domid, 2, true, refs, &pages);
	if (rc)
		goto err_lock;
	c->sring = pages;
	c->ring_ref = refs[0];
	c->scratch = (uint8_t *)pages + SN_PAGE_SIZE;
	c->scratch_ref = refs[1];
	memset(c->scratch, 0, SN_PAGE_SIZE);
	sn_ctrl_front_init(&c->ring, c->sring);

	rc = p->ops->evt_open(p, &c->evt);
	if (rc)
		goto err_pages;
	rc = p->ops->evt_alloc_unbound(c->evt, be_domid);
	if (rc < 0)
		goto err_evt;
	c->port = rc;
	/* Ids start somewhere other than 0 so a backend echoing a zeroed
	 * slot cannot match by accident. */
	c->next_id = 1;
	*out = c;
	return 0;

err_evt:
	p->ops->evt_close(c->evt);
err_pages:
	p->ops->shr_free(p, pages, 2);
err_lock:
	pthread_mutex_destroy(&c->lock);
err_free:
	free(c);
	return rc;
}

void sn_front_ctrl_close(struct sn_front_ctrl *c)
{
	if (!c)
		return;
	if (c->port >= 0)
		c->p->ops->evt_unbind(c->evt, (sn_port_t)c->port);
	c->p->ops->evt_close(c->evt);
	/* -EBUSY: the backend still maps the ring or the scratch page; the
	 * platform quarantines them, so there is nothing more to do here. */
	c->p->ops->shr_free(c->p, c->sring, 2);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int sn_front_ctrl_write_keys(struct sn_front_ctrl *c, xs_transaction_t t,
			     const char *fe_path)
{
	int rc;

	rc = sn_xs_printf(c->p, t, fe_path, "ctrl-ring-ref", "%" PRIu32, c->ring_ref);
	if (!rc)
		rc = sn_xs_printf(c->p, t, fe_path, "event-channel-ctrl", "%lu",
				  (unsigned long)c->port);
	return rc;
}

uint32_t sn_front_ctrl_ring_ref(const struct sn_front_ctrl *c)
{
	return c->ring_ref;
}

int sn_front_ctrl_port(const struct sn_front_ctrl *c)
{
	return c->port;
}

int sn_front_ctrl_evt_fd(const struct sn_front_ctrl *c)
{
	return c->p->ops->evt_fd(c->evt);
}

bool sn_front_ctrl_broken(const struct sn_front_ctrl *c)
{
	return __atomic_load_n(&c->broken, __ATOMIC_RELAXED);
}

void sn_front_ctrl_get_stats(const struct sn_front_ctrl *c,
			     struct sn_front_ctrl_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*out = c->st;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mark_broken(struct sn_front_ctrl *c, const char *why)
{
	c->st.malformed++;
	if (!c->broken)
		sn_front_logf(&c->log, "control ring: %s; control ring disabled", why);
	__atomic_store_n(&c->broken, true, __ATOMIC_RELAXED);
}

/* Consume every published response.  Returns -EPROTO on a malformed one. */
static int collect(struct sn_front_ctrl *c, struct sn_front_ctrl_op *ops,
		   unsigned int n, unsigned int *left)
{
	RING_IDX prod = sn_ctrl_front_rsp_prod(&c->ring);

	/* Responses to requests we never published: the indices themselves
	 * are lies, nothing on the ring can be trusted any more. */
	if (sn_ctrl_front_rsp_overflow(&c->ring, prod)) {
		mark_broken(c, "more responses than requests");
		return -EPROTO;
	}
	while (c->ring.rsp_cons != prod) {
		struct xen_netif_ctrl_response rsp;
		unsigned int i;

		/* One copy; everything below looks only at rsp. */
		sn_ctrl_front_copy_rsp(&c->ring, c->ring.rsp_cons++, &rsp);
		for (i = 0; i < n; i++)
			if (!ops[i].answered && ops[i].id == rsp.id)
				break;
		if (i == n) {
			/* Late answer to a timed-out request, a duplicate or
			 * an invented id: harmless, the slot is consumed. */
			c->st.stray++;
			continue;
		}
		if (rsp.type != ops[i].type) {
			mark_broken(c, "response echoes the wrong type");
			return -EPROTO;
		}
		if (!sn_ctrl_status_valid(rsp.status)) {
			mark_broken(c, "response carries an undefined status");
			return -EPROTO;
		}
		ops[i].answered = true;
		ops[i].status = rsp.status;
		ops[i].rsp_data = rsp.data;
		(*left)--;
	}
	return 0;
}

/* Late EOI: the port taken by the wait stays masked until collect() has
 * looked at the ring; an event with no response behind it counts towards
 * the throttle (plat/late_eoi.h). */
static void end_wakeup(struct sn_front_ctrl *c, int got, bool work)
{
	if (got && !work) {
		c->st.spurious++;
		if (sn_late_eoi_done(&c->eoi, c->p, c->evt, false))
			c->st.throttled++;
	} else if (work) {
		sn_late_eoi_done(&c->eoi, c->p, c->evt, true);
	}
}

/* Caller holds c->lock. */
static int batch_locked(struct sn_front_ctrl *c, struct sn_front_ctrl_op *ops,
			unsigned int n)
{
	unsigned int i, left = n;
	int64_t deadline;
	int rc, got = 0;

	if (c->broken)
		return -EIO;
	if (!n || n > CTRL_BATCH_MAX)
		return -EINVAL;
	if (sn_ctrl_front_free(&c->ring) < n)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		struct xen_netif_ctrl_request req;

		ops[i].answered = false;
		ops[i].status = 0;
		ops[i].rsp_data = 0;
		/* Never 0 and never one of this batch's (16-bit wrap). */
		if (!c->next_id)
			c->next_id++;
		ops[i].id = c->next_id++;
		sn_ctrl_req_make(&req, ops[i].id, ops[i].type, ops[i].data[0],
				 ops[i].data[1], ops[i].data[2]);
		sn_ctrl_front_put_req(&c->ring, &req);
	}
	c->st.requests += n;
	if (sn_ctrl_front_push(&c->ring))
		c->p->ops->evt_notify(c->evt, (sn_port_t)c->port);

	deadline = now_ms() + c->timeout_ms;
	for (;;) {
		unsigned int before = left;
		struct pollfd pfd;
		int64_t wait;

		rc = collect(c, ops, n, &left);
		if (rc)
			return rc;
		end_wakeup(c, got, left < before);
		got = 0;
		if (!left)
			return 0;
		/* Arm rsp_event and re-check, so a response that lands
		 * between the check and poll still wakes us. */
		if (sn_ctrl_front_final_check(&c->ring, NULL))
			continue;
		wait = deadline - now_ms();
		if (wait <= 0) {
			c->st.timeouts++;
			return -ETIMEDOUT;
		}
		pfd.fd = c->p->ops->evt_fd(c->evt);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, sn_late_eoi_timeout(&c->eoi, c->p, c->evt,
						      (int)(wait > 50 ? 50 : wait))) < 0 &&
		    errno != EINTR)
			return -errno;
		got = sn_late_eoi_take(&c->eoi, c->p, c->evt, 2);
	}
}

int sn_front_ctrl_batch(struct sn_front_ctrl *c, struct sn_front_ctrl_op *ops,
			unsigned int n)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = batch_locked(c, ops, n);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int call_locked(struct sn_front_ctrl *c, uint16_t type, uint32_t d0,
		       uint32_t d1, uint32_t d2, uint32_t *status, uint32_t *data)
{
	struct sn_front_ctrl_op op = { .type = type, .data = { d0, d1, d2 } };
	int rc = batch_locked(c, &op, 1);

	if (rc)
		return rc;
	*status = op.status;
	if (data)
		*data = op.rsp_data;
	return 0;
}

int sn_front_ctrl_call(struct sn_front_ctrl *c, uint16_t type, uint32_t d0,
		       uint32_t d1, uint32_t d2, uint32_t *status,
		       uint32_t *data)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = call_locked(c, type, d0, d1, d2, status, data);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sn_front_ctrl_hash_set_alg(struct sn_front_ctrl *c, uint32_t alg,
			       uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, alg,
				  0, 0, status, NULL);
}

int sn_front_ctrl_hash_get_flags(struct sn_front_ctrl *c, uint32_t *flags,
				 uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0,
				  status, flags);
}

int sn_front_ctrl_hash_set_flags(struct sn_front_ctrl *c, uint32_t flags,
				 uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, flags,
				  0, 0, status, NULL);
}

/* Caller holds c->lock.  The scratch page holds exactly the argument and
 * zeroes: nothing left from an earlier exchange reaches the backend. */
static void scratch_put(struct sn_front_ctrl *c, const void *src, size_t len)
{
	memcpy(c->scratch, src, len);
	memset(c->scratch + len, 0, SN_PAGE_SIZE - len);
}

int sn_front_ctrl_hash_set_key(struct sn_front_ctrl *c, const uint8_t *key,
			       uint32_t len, uint32_t *status)
{
	int rc;

	if (len > SN_PAGE_SIZE || (len && !key))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	scratch_put(c, key, len);
	rc = call_locked(c, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, c->scratch_ref, len,
			 0, status, NULL);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sn_front_ctrl_hash_get_mapping_size(struct sn_front_ctrl *c,
					uint32_t *size, uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE,
				  0, 0, 0, status, size);
}

int sn_front_ctrl_hash_set_mapping_size(struct sn_front_ctrl *c, uint32_t size,
					uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE,
				  size, 0, 0, status, NULL);
}

int sn_front_ctrl_hash_set_mapping(struct sn_front_ctrl *c, const uint32_t *map,
				   uint32_t n, uint32_t off, uint32_t *status)
{
	uint32_t done = 0;
	int rc = 0;

	if (!n || !map)
		return -EINVAL;
	*status = XEN_NETIF_CTRL_STATUS_SUCCESS;
	pthread_mutex_lock(&c->lock);
	while (done < n) {
		uint32_t chunk = n - done, st;

		if (chunk > CTRL_MAP_PER_PAGE)
			chunk = CTRL_MAP_PER_PAGE;
		scratch_put(c, map + done, chunk * sizeof(uint32_t));
		rc = call_locked(c, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
				 c->scratch_ref, chunk, off + done, &st, NULL);
		if (rc)
			break;
		if (st != XEN_NETIF_CTRL_STATUS_SUCCESS) {
			*status = st;
			break;
		}
		done += chunk;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sn_front_ctrl_gref_size(struct sn_front_ctrl *c, uint16_t queue,
			    uint32_t *size, uint32_t *status)
{
	return sn_front_ctrl_call(c, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
				  queue, 0, 0, status, size);
}

int sn_front_ctrl_gref_add(struct sn_front_ctrl *c, uint16_t queue,
			   const struct xen_netif_gref *ents, uint32_t n,
			   uint32_t *status)
{
	int rc;

	if (!n || n > SN_CTRL_GREFS_PER_PAGE || !ents)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	scratch_put(c, ents, n * sizeof(*ents));
	rc = call_locked(c, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, queue,
			 c->scratch_ref, n, status, NULL);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sn_front_ctrl_gref_del(struct sn_front_ctrl *c, uint16_t queue,
			   struct xen_netif_gref *ents, uint32_t n,
			   uint32_t *status, uint32_t *removed)
{
	struct xen_netif_gref *back;
	uint32_t i;
	int rc;

	if (!n || n > SN_CTRL_GREFS_PER_PAGE || !ents)
		return -EINVAL;
	back = malloc(n * sizeof(*back));
	if (!back)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		ents[i].status = CTRL_GREF_STATUS_UNSET;
	pthread_mutex_lock(&c->lock);
	scratch_put(c, ents, n * sizeof(*ents));
	rc = call_locked(c, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, queue,
			 c->scratch_ref, n, status, removed);
	if (!rc) {
		/* One copy out of the shared page (the backend may still be
		 * scribbling on it), then only the status field is taken:
		 * the ref and flags are ours and stay as we sent them. */
		memcpy(back, c->scratch, n * sizeof(*back));
		for (i = 0; i < n; i++)
			ents[i].status = back[i].status;
	}
	pthread_mutex_unlock(&c->lock);
	free(back);
	return rc;
}
