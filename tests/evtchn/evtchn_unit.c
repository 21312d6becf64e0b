/* Event channels without a host: two or three domains of this process share
 * a fake registry, so evtchn.c's rules, its lock-free datapath and its
 * handling of a scribbling peer are tested quickly and deterministically.
 * White-box: includes evtchn.c to reach the shared-table layout. */
#include "plat/emu/evtchn.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evtchn/fake_domain.h"
#include "evtchn/scen.h"

static int setup(void **state)
{
	struct scen_env *env = calloc(1, sizeof(*env));

	if (!env || fake_domain_open(1, &env->a) || fake_domain_open(2, &env->b) ||
	    fake_domain_open(2, &env->b2))
		return -1;
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct scen_env *env = *state;

	sn_plat_close(env->b2);
	sn_plat_close(env->b);
	sn_plat_close(env->a);
	free(env);
	return 0;
}

/* sn_plat_close lives in plat.c, which this test does not link. */
void sn_plat_close(struct sn_plat *p)
{
	if (p)
		p->ops->close(p);
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

static struct evt_table *table_of(struct sn_plat *p)
{
	return ((struct sn_emu *)p)->evt->tab;
}

/* A peer that points its handle slot at a non-eventfd fd number must not
 * get our notify to write into that fd. */
static void t_notify_refuses_peer_fd_that_is_not_an_eventfd(void **state)
{
	struct scen_env *env = *state;
	struct scen_pair p;
	struct evt_table *tb = table_of(env->b);
	int pipefd[2];
	uint64_t hw;
	char c;

	scen_pair_open(env, &p);
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	/* a's target for pa is built lazily, on its first notify */
	hw = atomic_load(&tb->handles[p.hb->slot]);
	atomic_store(&tb->handles[p.hb->slot], hw_make(true, (uint32_t)(hw >> 32), pipefd[1]));
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), -EBADF);
	assert_int_equal(read(pipefd[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	atomic_store(&tb->handles[p.hb->slot], hw);
	/* with the slot restored the binding works again */
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), 0);
	assert_true(scen_readable(p.hb->efd, 1000));
	close(pipefd[0]);
	close(pipefd[1]);
	scen_pair_close(env, &p);
}

/* Our own port word rewritten by a peer to nonsense: errors, no crash. */
static void t_scribbled_port_word_gives_errors(void **state)
{
	struct scen_env *env = *state;
	struct scen_pair p;
	struct evt_table *ta = table_of(env->a);

	scen_pair_open(env, &p);
	atomic_store(&ta->words[p.pa], w_make(EVT_INTERDOMAIN, 0, 0xffff, 2, 0xffff));
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), -EPROTO);
	atomic_store(&ta->words[p.pa], w_make(EVT_INTERDOMAIN, 7, 0xffff, 999, 5));
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), -ESRCH);
	atomic_store(&ta->words[p.pa], 0xf);
	assert_int_equal(env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa), -EINVAL);
	assert_int_equal(env->a->ops->evt_unbind(p.ha, (sn_port_t)p.pa), 0);
	scen_pair_close(env, &p);
}

/* Fill a peer's whole table (past the header) with garbage and drive every
 * op against it: each returns a value or -errno; nothing crashes, hangs or
 * leaks (ASan checks the latter). */
static void t_garbage_peer_table_is_survived(void **state)
{
	static const uint8_t patterns[] = { 0xff, 0xa5, 0x00, 0x03, 0x13 };
	struct scen_env *env = *state;
	struct evt_table *tb = table_of(env->b);
	unsigned int i, k;

	for (k = 0; k < sizeof(patterns); k++) {
		struct scen_pair p;
		uint8_t *raw = (uint8_t *)tb;
		size_t off = offsetof(struct evt_table, handles);

		scen_pair_open(env, &p);
		memset(raw + off, patterns[k], sizeof(*tb) - off);
		for (i = 0; i < 4; i++) {
			int rc = env->a->ops->evt_notify(p.ha, (sn_port_t)p.pa);

			assert_true(rc <= 0);
			rc = env->b->ops->evt_notify(p.hb, (sn_port_t)p.pb);
			assert_true(rc <= 0);
			rc = env->a->ops->evt_bind_interdomain(p.ha, 2, (sn_port_t)(i * 1000 + 1));
			if (rc > 0)
				env->a->ops->evt_unbind(p.ha, (sn_port_t)rc);
			(void)env->b->ops->evt_pending(p.hb);
			(void)env->a->ops->evt_pending(p.ha);
		}
		env->a->ops->evt_unbind(p.ha, (sn_port_t)p.pa);
		scen_pair_close(env, &p);
		/* b's own private state still works on the scrubbed table */
		memset(raw + off, 0, sizeof(*tb) - off);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_bind_is_spuriously_pending_once, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notify_wakes_peer_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(t_masked_port_does_not_wake_until_unmask, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notifies_coalesce_into_one_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bind_rejects_port_not_offered_to_us, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notify_rejects_free_and_foreign_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notify_on_unbound_port_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unbind_returns_peer_port_to_unbound, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unbind_by_allocator_frees_and_silences, setup, teardown),
		cmocka_unit_test_setup_teardown(t_handle_close_unbinds_its_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fd_stays_readable_while_ports_remain, setup, teardown),
		cmocka_unit_test_setup_teardown(t_loopback_in_one_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(t_threads_never_lose_a_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(t_threads_ping_pong, setup, teardown),
		cmocka_unit_test_setup_teardown(t_threads_two_ports_never_lose_a_wakeup, setup, teardown),
		cmocka_unit_test_setup_teardown(t_two_binders_race_one_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(t_notify_refuses_peer_fd_that_is_not_an_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_scribbled_port_word_gives_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(t_garbage_peer_table_is_survived, setup, teardown),
	};

	return cmocka_run_group_tests_name("evtchn_unit", tests, NULL, NULL);
}
