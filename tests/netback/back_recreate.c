/* A vif the toolstack deleted and created again while the backend was still
 * deciding what to write into the old one: the backend must not write the
 * old incarnation's state into the new directory (which then lacks every
 * feature key, and a frontend reads "no feature-rx-copy"), and it sets up a
 * directory that lost its feature keys again as a new vif.  The race is
 * forced, not waited for: the backend runs in this thread, and its own
 * platform's xs_read of the frontend's state runs `vif-del` and `vif-add`
 * between reading the old value and returning it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/peer_front.h"

#define DEVID 9
#define BE "/local/domain/0/backend/vif/7/9"
#define FE "/local/domain/7/device/vif/9"

/* The interposed xs_read: the platform ops have no user argument, so the
 * hook's state is the test's (one backend, this thread). */
static struct {
	const struct sn_plat_ops *orig;
	struct sn_plat_ops ops;
	const char *path; /* armed: the read that triggers the toolstack */
	bool fired;
} hook;

/* The backend of the running test and its log, for the teardown (which
 * prints the log: after a failure it says what the backend did). */
static struct sn_back *cur_back;
static FILE *cur_log;
static char *cur_logbuf;
static size_t cur_loglen;
static bool cur_done; /* the test reached its end */

static int hooked_xs_read(struct sn_plat *p, xs_transaction_t t, const char *path,
			  char **val, unsigned int *len)
{
	static const char *const del[] = { "vif-del", "--domid", "7", "--devid", "9",
					   "--timeout-ms", "0", NULL };
	static const char *const add[] = { "vif-add", "--domid", "7", "--devid", "9", NULL };
	int rc = hook.orig->xs_read(p, t, path, val, len);

	if (!hook.path || strcmp(path, hook.path))
		return rc;
	/* The backend now holds the old frontend's state; before it acts on
	 * it the toolstack removes the vif and creates it again, as the soak's
	 * vif_cycle does (kill, vif-del, vif-add). */
	hook.path = NULL;
	hook.fired = true;
	assert_int_equal(h_run_cli(del), 0);
	assert_int_equal(h_run_cli(add), 0);
	return rc;
}

static void hook_install(struct sn_plat *p)
{
	hook.orig = p->ops;
	hook.ops = *p->ops;
	hook.ops.xs_read = hooked_xs_read;
	hook.path = NULL;
	hook.fired = false;
	p->ops = &hook.ops;
}

static void hook_remove(struct sn_plat *p)
{
	p->ops = hook.orig;
}

/* Step the backend until its vif reaches state (or 5 s). */
static bool poll_until(struct sn_back *b, int state)
{
	for (int i = 0; i < 500; i++) {
		if (sn_back_vif_state(b, 7, DEVID) == state)
			return true;
		assert_int_equal(sn_back_poll(b, 10), 0);
	}
	return sn_back_vif_state(b, 7, DEVID) == state;
}

/* Step a few more times with nothing left to do: no write may follow. */
static void settle(struct sn_back *b)
{
	for (int i = 0; i < 20; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
}

static struct sn_back *back_open(struct h_ctx *t)
{
	struct sn_back_cfg cfg = { .plat = t->bplat, .max_queues = 2 };
	struct sn_back *b;

	cur_done = false;
	cur_log = open_memstream(&cur_logbuf, &cur_loglen);
	assert_non_null(cur_log);
	cfg.log = cur_log;
	assert_int_equal(sn_back_create(&cfg, &b), 0);
	cur_back = b;
	return b;
}

/* The soak's failure, forced: the frontend closed (its domain died), the
 * backend answered Closed; vif-del writes online 0 and the frontend's
 * Closing; the backend reads that Closing, and before it writes its own
 * Closing the vif is deleted and added again.  That write must not land
 * in the new directory: the backend sets the new vif up (feature keys,
 * InitWait) as any new one. */
static void state_for_a_deleted_vif_stays_out_of_its_successor(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "7", "--devid", "9", NULL };
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "9",
			      "--timeout-ms", "0", NULL };
	struct sn_back *b;

	hook_install(t->bplat);
	b = back_open(t);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(poll_until(b, XenbusStateInitWait));
	h_xs_expect(t->bplat, BE, "feature-rx-copy", "1");

	assert_int_equal(h_xs_w(t->fplat, XBT_NULL, FE, "state", "%d", XenbusStateClosed), 0);
	assert_true(poll_until(b, XenbusStateClosed));
	settle(b);

	/* vif-del's first two writes, then the backend's look at them. */
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, BE, "online", "0"), 0);
	assert_int_equal(h_xs_w(t->bplat, XBT_NULL, FE, "state", "%d", XenbusStateClosing), 0);
	hook.path = FE "/state";
	for (int i = 0; i < 500 && !hook.fired; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_true(hook.fired);
	/* The toolstack's new directory: its keys, not the old vif's state. */
	assert_true(poll_until(b, XenbusStateInitWait));
	settle(b);
	h_xs_expect(t->bplat, BE, "feature-rx-copy", "1");
	h_xs_expect(t->bplat, BE, "feature-sg", "1");
	h_xs_expect(t->bplat, BE, "multi-queue-max-queues", "2");
	h_xs_expect(t->bplat, BE, "online", "1");
	h_xs_expect(t->bplat, BE, "state", "2");
	assert_int_equal(sn_back_vif_state(b, 7, DEVID), XenbusStateInitWait);
	fflush(cur_log);
	assert_non_null(strstr(cur_logbuf, "vif7.9: removed"));

	assert_int_equal(h_run_cli(del), 0);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, DEVID) >= 0; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(sn_back_vif_state(b, 7, DEVID), -ENOENT);
	cur_done = true;
}

/* Whatever took them (a directory made anew behind the backend's back, a
 * dom0 tool), a vif directory without the backend's feature keys is set up
 * again as a new vif: the frontend can connect, instead of reading no
 * feature-rx-copy for as long as the backend runs. */
static void vif_that_lost_its_feature_keys_is_set_up_again(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "7", "--devid", "9", NULL };
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "9",
			      "--timeout-ms", "0", NULL };
	static const char *const keys[] = { "feature-rx-copy", "feature-sg",
					    "feature-split-event-channels" };
	struct sn_back *b = back_open(t);

	assert_int_equal(h_run_cli(add), 0);
	assert_true(poll_until(b, XenbusStateInitWait));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char path[128];

		snprintf(path, sizeof(path), BE "/%s", keys[i]);
		assert_int_equal(t->bplat->ops->xs_rm(t->bplat, XBT_NULL, path), 0);
	}
	for (int i = 0; i < 500; i++) {
		char *v = h_xs_r(t->bplat, BE, "feature-rx-copy");

		free(v);
		if (v)
			break;
		assert_int_equal(sn_back_poll(b, 10), 0);
	}
	settle(b);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		h_xs_expect(t->bplat, BE, keys[i], "1");
	h_xs_expect(t->bplat, BE, "state", "2");
	assert_int_equal(sn_back_vif_state(b, 7, DEVID), XenbusStateInitWait);

	assert_int_equal(h_run_cli(del), 0);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, DEVID) >= 0; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(sn_back_vif_state(b, 7, DEVID), -ENOENT);
	cur_done = true;
}

/* After a pass or a failure: no backend, no hook, no vif left over. */
static int test_teardown(void **state)
{
	struct h_ctx *t = *state;
	static const char *const del[] = { "vif-del", "--domid", "7", "--devid", "9",
					   "--timeout-ms", "0", NULL };

	if (cur_back)
		sn_back_destroy(cur_back);
	cur_back = NULL;
	if (cur_log) {
		fclose(cur_log);
		if (!cur_done)
			fprintf(stderr, "the backend's log:\n%s", cur_logbuf);
		free(cur_logbuf);
	}
	cur_log = NULL;
	cur_logbuf = NULL;
	if (hook.orig)
		hook_remove(t->bplat);
	hook.orig = NULL;
	if (h_dom_be_state(t->bplat, 7, DEVID) >= 0)
		h_run_cli(del);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(state_for_a_deleted_vif_stays_out_of_its_successor,
					  test_teardown),
		cmocka_unit_test_teardown(vif_that_lost_its_feature_keys_is_set_up_again,
					  test_teardown),
	};

	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
