/* Event-channel scenarios (see scen.h).  Each one states the Xen/Linux
 * evtchn rule it checks; all waits are bounded polls. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evtchn/scen.h"

#define WAIT_MS 5000 /* generous bound for a wakeup that must come */
#define FREE_PORT 4000u

bool scen_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n == 1 && (pfd.revents & POLLIN);
}

static int efd(struct scen_env *env, struct sn_evtchn *h)
{
	return env->a->ops->evt_fd(h);
}

/* Take exactly one event for port and re-arm it. */
static void expect_one(struct sn_plat *p, struct sn_evtchn *h, int port)
{
	assert_true(scen_readable(p->ops->evt_fd(h), WAIT_MS));
	assert_int_equal(p->ops->evt_pending(h), port);
	assert_int_equal(p->ops->evt_pending(h), -EAGAIN);
	assert_int_equal(p->ops->evt_unmask(h, (sn_port_t)port), 0);
	assert_false(scen_readable(p->ops->evt_fd(h), 0));
}

static void expect_none(struct sn_plat *p, struct sn_evtchn *h)
{
	assert_false(scen_readable(p->ops->evt_fd(h), 0));
	assert_int_equal(p->ops->evt_pending(h), -EAGAIN);
}

void scen_pair_open(struct scen_env *env, struct scen_pair *p)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;

	assert_int_equal(A->evt_open(env->a, &p->ha), 0);
	assert_int_equal(B->evt_open(env->b, &p->hb), 0);
	p->pa = A->evt_alloc_unbound(p->ha, env->b->domid);
	assert_true(p->pa > 0);
	p->pb = B->evt_bind_interdomain(p->hb, env->a->domid, (sn_port_t)p->pa);
	assert_true(p->pb > 0);
	expect_one(env->b, p->hb, p->pb); /* the bind's spurious event */
	expect_none(env->a, p->ha);
}

void scen_pair_close(struct scen_env *env, struct scen_pair *p)
{
	env->b->ops->evt_close(p->hb);
	env->a->ops->evt_close(p->ha);
}

void scen_bind_is_spuriously_pending_once(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct sn_evtchn *ha, *hb;
	int pa, pb;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	assert_int_equal(B->evt_open(env->b, &hb), 0);
	pa = A->evt_alloc_unbound(ha, env->b->domid);
	assert_true(pa > 0);
	expect_none(env->b, hb);
	pb = B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pa);
	assert_true(pb > 0);
	/* Xen marks the binder's new port pending; only that side. */
	expect_one(env->b, hb, pb);
	expect_none(env->a, ha);
	B->evt_close(hb);
	A->evt_close(ha);
}

void scen_notify_wakes_peer_both_ways(struct scen_env *env)
{
	struct scen_pair p;

	scen_pair_open(env, &p);
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	expect_one(env->b, p.hb, p.pb);
	expect_none(env->a, p.ha); /* the sender is not woken */
	assert_int_equal(env->b->ops->evt_notify(p.hb, (sn_port_t)p.pb), 0);
	expect_one(env->a, p.ha, p.pa);
	expect_none(env->b, p.hb);
	scen_pair_close(env, &p);
}

void scen_masked_port_does_not_wake_until_unmask(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct scen_pair p;

	scen_pair_open(env, &p);
	A->evt_notify(p.ha, (sn_port_t)p.pa);
	assert_true(scen_readable(efd(env, p.hb), WAIT_MS));
	assert_int_equal(B->evt_pending(p.hb), p.pb); /* now masked */
	assert_false(scen_readable(efd(env, p.hb), 0));
	/* notify is synchronous: after it returns the fd state is final */
	assert_int_equal(A->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	assert_false(scen_readable(efd(env, p.hb), 0));
	assert_int_equal(B->evt_pending(p.hb), -EAGAIN);
	/* unmask delivers what arrived while masked */
	assert_int_equal(B->evt_unmask(p.hb, (sn_port_t)p.pb), 0);
	assert_true(scen_readable(efd(env, p.hb), 0));
	assert_int_equal(B->evt_pending(p.hb), p.pb);
	assert_int_equal(B->evt_unmask(p.hb, (sn_port_t)p.pb), 0);
	expect_none(env->b, p.hb);
	scen_pair_close(env, &p);
}

void scen_notifies_coalesce_into_one_delivery(struct scen_env *env)
{
	struct scen_pair p;
	int i;

	scen_pair_open(env, &p);
	for (i = 0; i < 10; i++)
		assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	expect_one(env->b, p.hb, p.pb);
	expect_none(env->b, p.hb);
	scen_pair_close(env, &p);
}

void scen_bind_rejects_port_not_offered_to_us(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	uint16_t other = (uint16_t)(env->b->domid + 100);
	struct sn_evtchn *ha, *hb;
	int pa, pb, pother;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	assert_int_equal(B->evt_open(env->b, &hb), 0);
	pother = A->evt_alloc_unbound(ha, other);
	assert_true(pother > 0);
	assert_int_equal(B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pother), -EINVAL);
	assert_int_equal(B->evt_bind_interdomain(hb, env->a->domid, FREE_PORT), -EINVAL);
	assert_int_equal(B->evt_bind_interdomain(hb, env->a->domid, 0), -EINVAL);
	assert_int_equal(B->evt_bind_interdomain(hb, env->a->domid, 1u << 20), -EINVAL);
	/* a port already bound is no longer unbound */
	pa = A->evt_alloc_unbound(ha, env->b->domid);
	pb = B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pa);
	assert_true(pb > 0);
	assert_int_equal(B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pa), -EINVAL);
	/* nobody registered as this domain */
	assert_int_equal(B->evt_bind_interdomain(hb, 4321, (sn_port_t)pa), -ESRCH);
	/* failed binds leave nothing pending but the good bind's event */
	expect_one(env->b, hb, pb);
	B->evt_close(hb);
	A->evt_close(ha);
}

void scen_notify_rejects_free_and_foreign_ports(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops;
	struct sn_evtchn *h2;
	struct scen_pair p;

	scen_pair_open(env, &p);
	assert_int_equal(A->evt_notify(p.ha, FREE_PORT), -EINVAL);
	assert_int_equal(A->evt_notify(p.ha, 0), -EINVAL);
	assert_int_equal(A->evt_notify(p.ha, 1u << 20), -EINVAL);
	assert_int_equal(A->evt_unmask(p.ha, FREE_PORT), -EINVAL);
	assert_int_equal(A->evt_unbind(p.ha, FREE_PORT), -EINVAL);
	/* a port of the same domain but another handle is not ours */
	assert_int_equal(A->evt_open(env->a, &h2), 0);
	assert_int_equal(A->evt_notify(h2, (sn_port_t)p.pa), -EINVAL);
	assert_int_equal(A->evt_unbind(h2, (sn_port_t)p.pa), -EINVAL);
	A->evt_close(h2);
	expect_none(env->b, p.hb);
	scen_pair_close(env, &p);
}

void scen_notify_on_unbound_port_is_noop(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct sn_evtchn *ha, *hb;
	int pa, pb;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	assert_int_equal(B->evt_open(env->b, &hb), 0);
	pa = A->evt_alloc_unbound(ha, env->b->domid);
	assert_int_equal(A->evt_notify(ha, (sn_port_t)pa), 0);
	expect_none(env->a, ha);
	expect_none(env->b, hb);
	/* and it did not leave an event behind for the later binder */
	pb = B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pa);
	expect_one(env->b, hb, pb);
	expect_none(env->b, hb);
	B->evt_close(hb);
	A->evt_close(ha);
}

void scen_unbind_returns_peer_port_to_unbound(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct sn_evtchn *hb2;
	struct scen_pair p;
	int pb2;

	scen_pair_open(env, &p);
	assert_int_equal(B->evt_unbind(p.hb, (sn_port_t)p.pb), 0);
	assert_int_equal(B->evt_unbind(p.hb, (sn_port_t)p.pb), -EINVAL);
	assert_int_equal(B->evt_notify(p.hb, (sn_port_t)p.pb), -EINVAL);
	/* the allocator's port is unbound again: its notify is a no-op ... */
	assert_int_equal(A->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	expect_none(env->b, p.hb);
	/* ... and b may bind it afresh, from another handle */
	assert_int_equal(B->evt_open(env->b, &hb2), 0);
	pb2 = B->evt_bind_interdomain(hb2, env->a->domid, (sn_port_t)p.pa);
	assert_true(pb2 > 0);
	expect_one(env->b, hb2, pb2);
	assert_int_equal(A->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	expect_one(env->b, hb2, pb2);
	expect_none(env->b, p.hb);
	B->evt_close(hb2);
	scen_pair_close(env, &p);
}

void scen_unbind_by_allocator_frees_and_silences(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct scen_pair p;

	scen_pair_open(env, &p);
	assert_int_equal(A->evt_unbind(p.ha, (sn_port_t)p.pa), 0);
	assert_int_equal(B->evt_notify(p.hb, (sn_port_t)p.pb), 0);
	expect_none(env->a, p.ha);
	/* the freed port cannot be bound: it is not unbound, it is free */
	assert_int_equal(B->evt_bind_interdomain(p.hb, env->a->domid, (sn_port_t)p.pa), -EINVAL);
	/* b's port is unbound(a) now, so a may bind to it in turn */
	{
		int pa2 = A->evt_bind_interdomain(p.ha, env->b->domid, (sn_port_t)p.pb);

		assert_true(pa2 > 0);
		expect_one(env->a, p.ha, pa2);
		assert_int_equal(B->evt_notify(p.hb, (sn_port_t)p.pb), 0);
		expect_one(env->a, p.ha, pa2);
	}
	scen_pair_close(env, &p);
}

void scen_handle_close_unbinds_its_ports(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct sn_evtchn *hb2;
	struct scen_pair p;
	int pb2;

	scen_pair_open(env, &p);
	B->evt_close(p.hb);
	assert_int_equal(A->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	assert_int_equal(B->evt_open(env->b, &p.hb), 0);
	assert_int_equal(B->evt_open(env->b, &hb2), 0);
	pb2 = B->evt_bind_interdomain(hb2, env->a->domid, (sn_port_t)p.pa);
	assert_true(pb2 > 0);
	expect_one(env->b, hb2, pb2);
	assert_int_equal(A->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	expect_one(env->b, hb2, pb2);
	expect_none(env->b, p.hb);
	B->evt_close(hb2);
	scen_pair_close(env, &p);
}

void scen_fd_stays_readable_while_ports_remain(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct sn_evtchn *ha, *hb;
	int pa[3], pb[3], got[3], i, j, seen;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	assert_int_equal(B->evt_open(env->b, &hb), 0);
	for (i = 0; i < 3; i++) {
		pa[i] = A->evt_alloc_unbound(ha, env->b->domid);
		pb[i] = B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)pa[i]);
		assert_true(pb[i] > 0);
	}
	/* the three spurious bind events, then three real ones */
	for (int round = 0; round < 2; round++) {
		if (round)
			for (i = 0; i < 3; i++)
				A->evt_notify(ha, (sn_port_t)pa[i]);
		for (i = 0; i < 3; i++) {
			assert_true(scen_readable(efd(env, hb), WAIT_MS));
			got[i] = B->evt_pending(hb);
			assert_true(got[i] > 0);
		}
		assert_false(scen_readable(efd(env, hb), 0));
		assert_int_equal(B->evt_pending(hb), -EAGAIN);
		for (i = 0; i < 3; i++) {
			seen = 0;
			for (j = 0; j < 3; j++)
				seen += got[j] == pb[i];
			assert_int_equal(seen, 1);
			B->evt_unmask(hb, (sn_port_t)pb[i]);
		}
		assert_false(scen_readable(efd(env, hb), 0));
	}
	B->evt_close(hb);
	A->evt_close(ha);
}

void scen_loopback_in_one_domain(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops;
	struct sn_evtchn *h1, *h2;
	int p1, p2;

	assert_int_equal(A->evt_open(env->a, &h1), 0);
	assert_int_equal(A->evt_open(env->a, &h2), 0);
	p1 = A->evt_alloc_unbound(h1, DOMID_SELF);
	assert_true(p1 > 0);
	p2 = A->evt_bind_interdomain(h2, env->a->domid, (sn_port_t)p1);
	assert_true(p2 > 0);
	expect_one(env->a, h2, p2);
	A->evt_notify(h1, (sn_port_t)p1);
	expect_one(env->a, h2, p2);
	expect_none(env->a, h1);
	A->evt_notify(h2, (sn_port_t)p2);
	expect_one(env->a, h1, p1);
	A->evt_close(h2);
	assert_int_equal(A->evt_notify(h1, (sn_port_t)p1), 0);
	expect_none(env->a, h1);
	A->evt_close(h1);
}

/* --- threads --------------------------------------------------------------- */

#define STRESS_N 20000

struct stress {
	struct scen_env *env;
	struct scen_pair *p;
	_Atomic uint32_t produced;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	uint32_t i;

	for (i = 1; i <= STRESS_N; i++) {
		/* release: the consumer that sees the event sees the count
		 * (the notify's own ordering is what is under test; this
		 * only keeps the test's data race-free) */
		atomic_store_explicit(&s->produced, i, memory_order_release);
		s->env->a->ops->evt_notify(s->p->ha, (sn_port_t)s->p->pa);
	}
	return NULL;
}

void scen_threads_never_lose_a_wakeup(struct scen_env *env)
{
	const struct sn_plat_ops *B = env->b->ops;
	struct scen_pair p;
	struct stress s = { .env = env, .p = &p };
	pthread_t th;
	uint32_t seen = 0;
	int port;

	scen_pair_open(env, &p);
	assert_int_equal(pthread_create(&th, NULL, stress_producer, &s), 0);
	/* Any lost wakeup leaves the consumer waiting on a silent fd with
	 * work outstanding: poll times out and the test fails. */
	while (seen < STRESS_N) {
		if (!scen_readable(efd(env, p.hb), WAIT_MS))
			break;
		port = B->evt_pending(p.hb);
		if (port == -EAGAIN)
			continue; /* a wakeup may be spurious, never missing */
		assert_int_equal(port, p.pb);
		assert_int_equal(B->evt_unmask(p.hb, (sn_port_t)port), 0);
		seen = atomic_load_explicit(&s.produced, memory_order_acquire);
	}
	pthread_join(th, NULL);
	assert_int_equal(seen, STRESS_N);
	scen_pair_close(env, &p);
}

/* Two ports on one handle: the fd must stay level-correct while pending()
 * drains it for one port and a notify lands on the other.  Lock-step, so
 * no later event can re-arm the fd and hide a lost wakeup: the producer
 * sends event i only after the consumer took event i-1, then races the
 * consumer's next pending() (its drain-and-rescan window). */
struct stress2 {
	struct scen_env *env;
	struct sn_evtchn *ha;
	int pa[2];
	_Atomic uint32_t taken;
	_Atomic bool stop;
};

static void *stress2_producer(void *arg)
{
	struct stress2 *s = arg;
	uint32_t i;

	for (i = 1; i <= STRESS_N; i++) {
		while (atomic_load(&s->taken) != i - 1)
			if (atomic_load(&s->stop))
				return NULL;
		s->env->a->ops->evt_notify(s->ha, (sn_port_t)s->pa[i & 1]);
	}
	return NULL;
}

void scen_threads_two_ports_never_lose_a_wakeup(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops, *B = env->b->ops;
	struct stress2 s = { .env = env };
	struct sn_evtchn *hb;
	int pb[2], port, k;
	pthread_t th;

	assert_int_equal(A->evt_open(env->a, &s.ha), 0);
	assert_int_equal(B->evt_open(env->b, &hb), 0);
	for (k = 0; k < 2; k++) {
		s.pa[k] = A->evt_alloc_unbound(s.ha, env->b->domid);
		pb[k] = B->evt_bind_interdomain(hb, env->a->domid, (sn_port_t)s.pa[k]);
		assert_true(pb[k] > 0);
	}
	for (k = 0; k < 2; k++) { /* the binds' spurious events */
		port = B->evt_pending(hb);
		assert_true(port == pb[0] || port == pb[1]);
		B->evt_unmask(hb, (sn_port_t)port);
	}
	assert_int_equal(B->evt_pending(hb), -EAGAIN);
	assert_int_equal(pthread_create(&th, NULL, stress2_producer, &s), 0);
	while (atomic_load(&s.taken) < STRESS_N) {
		if (!scen_readable(B->evt_fd(hb), WAIT_MS))
			break;
		while ((port = B->evt_pending(hb)) > 0) {
			assert_true(port == pb[0] || port == pb[1]);
			B->evt_unmask(hb, (sn_port_t)port);
			atomic_fetch_add(&s.taken, 1);
		}
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&s.taken), STRESS_N);
	B->evt_close(hb);
	A->evt_close(s.ha);
}

#define PINGPONG_N 2000

static void *pong(void *arg)
{
	struct stress *s = arg;
	const struct sn_plat_ops *B = s->env->b->ops;
	int i, port;

	for (i = 0; i < PINGPONG_N; i++) {
		do {
			if (!scen_readable(B->evt_fd(s->p->hb), WAIT_MS))
				return (void *)1;
			port = B->evt_pending(s->p->hb);
		} while (port == -EAGAIN);
		if (port != s->p->pb)
			return (void *)2;
		B->evt_unmask(s->p->hb, (sn_port_t)port);
		B->evt_notify(s->p->hb, (sn_port_t)s->p->pb);
	}
	return NULL;
}

void scen_threads_ping_pong(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops;
	struct scen_pair p;
	struct stress s = { .env = env, .p = &p };
	pthread_t th;
	void *res;
	int i, port = 0;

	scen_pair_open(env, &p);
	assert_int_equal(pthread_create(&th, NULL, pong, &s), 0);
	for (i = 0; i < PINGPONG_N; i++) {
		A->evt_notify(p.ha, (sn_port_t)p.pa);
		do {
			if (!scen_readable(A->evt_fd(p.ha), WAIT_MS))
				break;
			port = A->evt_pending(p.ha);
		} while (port == -EAGAIN);
		if (port != p.pa)
			break;
		A->evt_unmask(p.ha, (sn_port_t)port);
	}
	pthread_join(th, &res);
	assert_int_equal(i, PINGPONG_N);
	assert_null(res);
	scen_pair_close(env, &p);
}

struct racer {
	struct scen_env *env;
	struct sn_plat *b;
	struct sn_evtchn *h;
	int port;
	_Atomic int *go;
	int rc;
};

static void *race_bind(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(r->go))
		;
	r->rc = r->b->ops->evt_bind_interdomain(r->h, r->env->a->domid, (sn_port_t)r->port);
	return NULL;
}

void scen_two_binders_race_one_wins(struct scen_env *env)
{
	const struct sn_plat_ops *A = env->a->ops;
	struct sn_plat *b[2] = { env->b, env->b2 ? env->b2 : env->b };
	struct sn_evtchn *ha, *hb[2];
	int round, i, wins;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	for (round = 0; round < 200; round++) {
		_Atomic int go = 0;
		struct racer r[2];
		pthread_t th[2];
		int pa = A->evt_alloc_unbound(ha, env->b->domid);

		assert_true(pa > 0);
		for (i = 0; i < 2; i++) {
			assert_int_equal(b[i]->ops->evt_open(b[i], &hb[i]), 0);
			r[i] = (struct racer){ .env = env, .b = b[i], .h = hb[i], .port = pa,
					       .go = &go };
			assert_int_equal(pthread_create(&th[i], NULL, race_bind, &r[i]), 0);
		}
		atomic_store(&go, 1);
		wins = 0;
		for (i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			if (r[i].rc > 0)
				wins++;
			else
				assert_int_equal(r[i].rc, -EINVAL);
		}
		assert_int_equal(wins, 1);
		/* only the winner got the bind's event; when the winner is
		 * b itself, a's notify reaches it (b2 is not in a registry a
		 * could look up) */
		for (i = 0; i < 2; i++) {
			if (r[i].rc > 0) {
				expect_one(b[i], hb[i], r[i].rc);
				if (b[i] == env->b) {
					A->evt_notify(ha, (sn_port_t)pa);
					expect_one(b[i], hb[i], r[i].rc);
				}
			} else {
				expect_none(b[i], hb[i]);
			}
		}
		for (i = 0; i < 2; i++)
			b[i]->ops->evt_close(hb[i]);
		A->evt_unbind(ha, (sn_port_t)pa);
	}
	A->evt_close(ha);
}
