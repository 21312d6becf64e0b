/* Event channels on the emulated host: the same scenarios as the unit test
 * but through sn_plat_open and the real registry (pidfd_getfd), plus
 * domains in separate processes, including one that is SIGKILLed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/dom.h"
#include "common/host_fixture.h"
#include "evtchn/scen.h"

#define DOM_A 1
#define DOM_B 2
#define DOM_C 3 /* the child process */
#define WAIT_MS 5000

static struct sn_test_host host;

static int group_setup(void **state)
{
	(void)state;
	/* the child's failures go to stderr; keep cmocka's output ordered */
	setvbuf(stdout, NULL, _IONBF, 0);
	return sn_test_host_start(&host) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sn_test_host_stop(&host);
	return 0;
}

static int open_dom(uint16_t domid, struct sn_plat **out)
{
	int rc, tries;

	/* A domain that just exited is unregistered by the host when its
	 * connection closes: retry briefly on -EEXIST. */
	for (tries = 0; tries < 100; tries++) {
		rc = sn_test_dom_try(domid, NULL, out);
		if (rc != -EEXIST)
			return rc;
		usleep(50 * 1000);
	}
	return rc;
}

static int setup(void **state)
{
	struct scen_env *env = calloc(1, sizeof(*env));

	if (!env)
		return -1;
	if (open_dom(DOM_A, &env->a) || open_dom(DOM_B, &env->b)) {
		sn_plat_close(env->a);
		free(env);
		return -1;
	}
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct scen_env *env = *state;

	sn_plat_close(env->b);
	sn_plat_close(env->a);
	free(env);
	return 0;
}

#define SCEN(fn)                                                            \
	static void t_##fn(void **state) { scen_##fn(*state); }
SCEN(bind_is_spuriously_pending_once)
SCEN(notify_wakes_peer_both_ways)
SCEN(masked_port_does_not_wake_until_unmask)
SCEN(notifies_coalesce_into_one_delivery)
SCEN(bind_rejects_port_not_offered_to_us)
SCEN(notify_rejects_free_and_foreign_ports)
SCEN(notify_on_unbound_port_is_noop)
SCEN(unbind_returns_peer_port_to_unbound)
SCEN(unbind_by_allocator_frees_and_silences)
SCEN(handle_close_unbinds_its_ports)
SCEN(fd_stays_readable_while_ports_remain)
SCEN(loopback_in_one_domain)
SCEN(threads_never_lose_a_wakeup)
SCEN(threads_ping_pong)
SCEN(threads_two_ports_never_lose_a_wakeup)
SCEN(two_binders_race_one_wins)

/* --- a domain in a child process ------------------------------------------
 * Parent and child exchange one-byte commands (plus an int) over pipes.
 * The child never uses cmocka: a failed check exits with its line number. */

struct link {
	int to_child, from_child; /* parent's ends */
	int c_in, c_out;          /* child's ends */
	pid_t pid;
};

#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			_exit(__LINE__ & 0xff ? __LINE__ & 0xff : 1);        \
		}                                                            \
	} while (0)

static int send_msg(int fd, char cmd, int val)
{
	char buf[1 + sizeof(int)];

	buf[0] = cmd;
	memcpy(buf + 1, &val, sizeof(int));
	return write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : -EIO;
}

/* Bounded: a child that hangs or dies makes this fail, not block. */
static int recv_msg(int fd, char *cmd, int *val)
{
	char buf[1 + sizeof(int)];
	size_t have = 0;

	while (have < sizeof(buf)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, WAIT_MS * 2) != 1)
			return -ETIMEDOUT;
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			return -EPIPE;
		have += (size_t)n;
	}
	*cmd = buf[0];
	memcpy(val, buf + 1, sizeof(int));
	return 0;
}

static void expect_msg(struct link *l, char cmd, int *val)
{
	char c = 0;
	int v = 0;

	assert_int_equal(recv_msg(l->from_child, &c, &v), 0);
	assert_int_equal(c, cmd);
	if (val)
		*val = v;
}

static void link_fork(struct link *l, void (*child)(struct link *))
{
	int a[2], b[2];

	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	l->c_in = a[0];
	l->to_child = a[1];
	l->from_child = b[0];
	l->c_out = b[1];
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid == 0) {
		close(l->to_child);
		close(l->from_child);
		child(l);
		_exit(0);
	}
	close(l->c_in);
	close(l->c_out);
}

/* Reap within a bound; SIGKILL a child that outstays it. */
static int link_wait(struct link *l)
{
	int status = 0, i;

	for (i = 0; i < WAIT_MS / 10; i++) {
		if (waitpid(l->pid, &status, WNOHANG) == l->pid)
			goto done;
		usleep(10 * 1000);
	}
	kill(l->pid, SIGKILL);
	waitpid(l->pid, &status, 0);
done:
	close(l->to_child);
	close(l->from_child);
	return status;
}

static void child_msg(struct link *l, char want, int *val)
{
	char c;
	int v;

	CHECK(recv_msg(l->c_in, &c, &v) == 0);
	CHECK(c == want);
	if (val)
		*val = v;
}

/* Take one event of port in the child and re-arm it. */
static void child_take(struct sn_plat *p, struct sn_evtchn *h, int port)
{
	CHECK(scen_readable(p->ops->evt_fd(h), WAIT_MS));
	CHECK(p->ops->evt_pending(h) == port);
	CHECK(p->ops->evt_pending(h) == -EAGAIN);
	CHECK(p->ops->evt_unmask(h, (sn_port_t)port) == 0);
	CHECK(!scen_readable(p->ops->evt_fd(h), 0));
}

static void child_semantics(struct link *l)
{
	struct sn_plat *c;
	struct sn_evtchn *h, *h2;
	int pa, pc, pc2;

	CHECK(open_dom(DOM_C, &c) == 0);
	CHECK(c->ops->evt_open(c, &h) == 0);
	child_msg(l, 'A', &pa);
	pc = c->ops->evt_bind_interdomain(h, DOM_A, (sn_port_t)pa);
	CHECK(pc > 0);
	child_take(c, h, pc); /* the bind's spurious event */
	CHECK(send_msg(l->c_out, 'B', pc) == 0);

	/* parent sent 5 notifies: one delivery */
	child_msg(l, 'N', NULL);
	CHECK(scen_readable(c->ops->evt_fd(h), WAIT_MS));
	CHECK(c->ops->evt_pending(h) == pc);
	CHECK(c->ops->evt_pending(h) == -EAGAIN);
	CHECK(send_msg(l->c_out, 'n', 0) == 0);

	/* port still masked: the parent's notify must not wake us */
	child_msg(l, 'M', NULL);
	CHECK(!scen_readable(c->ops->evt_fd(h), 0));
	CHECK(c->ops->evt_unmask(h, (sn_port_t)pc) == 0);
	child_take(c, h, pc);

	/* the other direction */
	CHECK(c->ops->evt_notify(h, (sn_port_t)pc) == 0);
	CHECK(send_msg(l->c_out, 'P', 0) == 0);

	/* unbind: the parent's port goes back to unbound for us */
	child_msg(l, 'U', NULL);
	CHECK(c->ops->evt_unbind(h, (sn_port_t)pc) == 0);
	CHECK(send_msg(l->c_out, 'u', 0) == 0);
	child_msg(l, 'R', NULL); /* parent notified the unbound port */
	CHECK(!scen_readable(c->ops->evt_fd(h), 0));
	CHECK(c->ops->evt_open(c, &h2) == 0);
	pc2 = c->ops->evt_bind_interdomain(h2, DOM_A, (sn_port_t)pa);
	CHECK(pc2 > 0);
	child_take(c, h2, pc2); /* spurious once, nothing from before */
	CHECK(c->ops->evt_pending(h2) == -EAGAIN);
	CHECK(send_msg(l->c_out, 'r', pc2) == 0);
	child_msg(l, 'X', NULL);
	child_take(c, h2, pc2);
	c->ops->evt_close(h2);
	c->ops->evt_close(h);
	sn_plat_close(c);
	CHECK(send_msg(l->c_out, 'x', 0) == 0);
}

static void t_across_processes(void **state)
{
	struct scen_env *env = *state;
	const struct sn_plat_ops *A = env->a->ops;
	struct sn_evtchn *ha;
	struct link l;
	int pa, pc, i, st;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	pa = A->evt_alloc_unbound(ha, DOM_C);
	assert_true(pa > 0);
	link_fork(&l, child_semantics);
	assert_int_equal(send_msg(l.to_child, 'A', pa), 0);
	expect_msg(&l, 'B', &pc);
	assert_false(scen_readable(A->evt_fd(ha), 0));

	for (i = 0; i < 5; i++)
		assert_int_equal(A->evt_notify(ha, (sn_port_t)pa), 0);
	assert_int_equal(send_msg(l.to_child, 'N', 0), 0);
	expect_msg(&l, 'n', NULL);

	assert_int_equal(A->evt_notify(ha, (sn_port_t)pa), 0);
	assert_int_equal(send_msg(l.to_child, 'M', 0), 0);

	expect_msg(&l, 'P', NULL);
	assert_true(scen_readable(A->evt_fd(ha), WAIT_MS));
	assert_int_equal(A->evt_pending(ha), pa);
	assert_int_equal(A->evt_unmask(ha, (sn_port_t)pa), 0);

	assert_int_equal(send_msg(l.to_child, 'U', 0), 0);
	expect_msg(&l, 'u', NULL);
	assert_int_equal(A->evt_notify(ha, (sn_port_t)pa), 0);
	assert_int_equal(send_msg(l.to_child, 'R', 0), 0);
	expect_msg(&l, 'r', &pc);
	assert_int_equal(A->evt_notify(ha, (sn_port_t)pa), 0);
	assert_int_equal(send_msg(l.to_child, 'X', 0), 0);
	expect_msg(&l, 'x', NULL);
	st = link_wait(&l);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	A->evt_close(ha);
}

/* The child serves commands until killed: 'A' port = bind it (reply 'B'
 * with our port), 'N' = take one event on the last bound port (reply 'n'). */
static void child_bind_and_wait(struct link *l)
{
	struct sn_plat *c;
	struct sn_evtchn *h;
	int v, pc = -1;
	char cmd;

	CHECK(open_dom(DOM_C, &c) == 0);
	CHECK(c->ops->evt_open(c, &h) == 0);
	/* ends when the parent kills us, or goes away (recv fails) */
	while (recv_msg(l->c_in, &cmd, &v) == 0) {
		if (cmd == 'A') {
			pc = c->ops->evt_bind_interdomain(h, DOM_A, (sn_port_t)v);
			CHECK(pc > 0);
			child_take(c, h, pc);
			CHECK(send_msg(l->c_out, 'B', pc) == 0);
		} else {
			CHECK(cmd == 'N');
			child_take(c, h, pc);
			CHECK(send_msg(l->c_out, 'n', 0) == 0);
		}
	}
}

/* A peer SIGKILLed with bindings in place: our notifies neither crash nor
 * hang (whether the binding was cached or not), and a new process taking
 * its domid is served correctly (nothing cached of the dead one reaches
 * it). */
static void t_dead_peer_is_survived_and_forgotten(void **state)
{
	struct scen_env *env = *state;
	const struct sn_plat_ops *A = env->a->ops;
	struct sn_evtchn *ha;
	struct link l;
	int pa_used, pa_cold, pa_new, pc, i, rc, st;

	assert_int_equal(A->evt_open(env->a, &ha), 0);
	pa_used = A->evt_alloc_unbound(ha, DOM_C);
	pa_cold = A->evt_alloc_unbound(ha, DOM_C);
	link_fork(&l, child_bind_and_wait);
	assert_int_equal(send_msg(l.to_child, 'A', pa_cold), 0);
	expect_msg(&l, 'B', &pc);
	assert_int_equal(send_msg(l.to_child, 'A', pa_used), 0);
	expect_msg(&l, 'B', &pc);
	assert_int_equal(A->evt_notify(ha, (sn_port_t)pa_used), 0); /* caches the target */
	assert_int_equal(send_msg(l.to_child, 'N', 0), 0);
	expect_msg(&l, 'n', NULL);
	kill(l.pid, SIGKILL);
	st = link_wait(&l);
	assert_true(WIFSIGNALED(st));

	/* cached path: a no-op; coalesced after the first */
	for (i = 0; i < 100; i++)
		assert_int_equal(A->evt_notify(ha, (sn_port_t)pa_used), 0);
	/* uncached path: the lookup finds the domain gone */
	rc = A->evt_notify(ha, (sn_port_t)pa_cold);
	assert_true(rc == 0 || rc == -ESRCH);
	assert_false(scen_readable(A->evt_fd(ha), 0));

	/* a new domain C binds a fresh port and is woken exactly once per
	 * notify; the old ports, linked to the dead process, never reach it
	 * (child_take checks there is nothing else pending) */
	pa_new = A->evt_alloc_unbound(ha, DOM_C);
	link_fork(&l, child_bind_and_wait);
	assert_int_equal(send_msg(l.to_child, 'A', pa_new), 0);
	expect_msg(&l, 'B', &pc);
	for (i = 0; i < 3; i++) {
		rc = A->evt_notify(ha, (sn_port_t)pa_used);
		assert_true(rc == 0 || rc == -ESRCH);
		rc = A->evt_notify(ha, (sn_port_t)pa_cold);
		assert_true(rc == 0 || rc == -ESRCH);
		assert_int_equal(A->evt_notify(ha, (sn_port_t)pa_new), 0);
		assert_int_equal(send_msg(l.to_child, 'N', 0), 0);
		expect_msg(&l, 'n', NULL);
	}
	kill(l.pid, SIGKILL);
	link_wait(&l);
	assert_int_equal(A->evt_unbind(ha, (sn_port_t)pa_used), 0);
	A->evt_close(ha);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(t_##fn, setup, teardown)
		T(bind_is_spuriously_pending_once),
		T(notify_wakes_peer_both_ways),
		T(masked_port_does_not_wake_until_unmask),
		T(notifies_coalesce_into_one_delivery),
		T(bind_rejects_port_not_offered_to_us),
		T(notify_rejects_free_and_foreign_ports),
		T(notify_on_unbound_port_is_noop),
		T(unbind_returns_peer_port_to_unbound),
		T(unbind_by_allocator_frees_and_silences),
		T(handle_close_unbinds_its_ports),
		T(fd_stays_readable_while_ports_remain),
		T(loopback_in_one_domain),
		T(threads_never_lose_a_wakeup),
		T(threads_ping_pong),
		T(threads_two_ports_never_lose_a_wakeup),
		T(two_binders_race_one_wins),
		T(across_processes),
		T(dead_peer_is_survived_and_forgotten),
#undef T
	};

	return cmocka_run_group_tests_name("evtchn_emu", tests, group_setup, group_teardown);
}
