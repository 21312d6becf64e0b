/* The toolstack step: `stagenet vif-add` writes libxl's vif keys and
 * permissions (read back through xenstore), `stagenet vif-del` closes and
 * removes them, and a running backend follows both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <xen/io/xenbus.h>

#include "common/peer_front.h"

/* Keys are read as dom0 (t->bplat, the backend's platform here): vif 9/3
 * belongs to domains this test's frontend (domain 7) may not read. */

static void expect_perms(struct h_ctx *t, const char *path, unsigned int owner,
			 unsigned int reader)
{
	struct xs_permissions *p = NULL;
	unsigned int n = 0;

	assert_int_equal(t->bplat->ops->xs_get_perms(t->bplat, XBT_NULL, path, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].id, owner);
	assert_int_equal(p[0].perms, XS_PERM_NONE);
	assert_int_equal(p[1].id, reader);
	assert_int_equal(p[1].perms, XS_PERM_READ);
	free(p);
}

static void vif_add_writes_libxl_keys_and_perms(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "9", "--devid", "3",
			      "--backend-domid", "4", "--mac", "00:16:3e:aa:bb:cc",
			      "--mtu", "9000", "--rate", "125000,50000",
			      "--queues", "2", NULL };
	const char *fe = "/local/domain/9/device/vif/3";
	const char *be = "/local/domain/4/backend/vif/9/3";
	char path[256];

	assert_int_equal(h_run_cli(add), 0);
	h_xs_expect(t->bplat, be, "frontend", fe);
	h_xs_expect(t->bplat, be, "frontend-id", "9");
	h_xs_expect(t->bplat, be, "online", "1");
	h_xs_expect(t->bplat, be, "state", "1");
	h_xs_expect(t->bplat, be, "mac", "00:16:3e:aa:bb:cc");
	h_xs_expect(t->bplat, be, "handle", "3");
	h_xs_expect(t->bplat, be, "type", "vif");
	h_xs_expect(t->bplat, be, "mtu", "9000");
	h_xs_expect(t->bplat, be, "rate", "125000,50000");
	h_xs_expect(t->bplat, be, "multi-queue-max-queues", "2");
	h_xs_expect(t->bplat, fe, "backend", be);
	h_xs_expect(t->bplat, fe, "backend-id", "4");
	h_xs_expect(t->bplat, fe, "state", "1");
	h_xs_expect(t->bplat, fe, "handle", "3");
	h_xs_expect(t->bplat, fe, "mac", "00:16:3e:aa:bb:cc");
	h_xs_expect(t->bplat, fe, "mtu", "9000");
	/* Frontend dir owned by the guest, backend may read; and the
	 * reverse.  Keys inherit their directory's permissions. */
	expect_perms(t, fe, 9, 4);
	expect_perms(t, be, 4, 9);
	snprintf(path, sizeof(path), "%s/state", fe);
	expect_perms(t, path, 9, 4);
	snprintf(path, sizeof(path), "%s/frontend", be);
	expect_perms(t, path, 4, 9);

	const char *del[] = { "vif-del", "--domid", "9", "--devid", "3",
			      "--backend-domid", "4", NULL };
	assert_int_equal(h_run_cli(del), 0);
	assert_null(h_xs_r(t->bplat, fe, "state"));
	assert_null(h_xs_r(t->bplat, be, "state"));
}

static void vif_add_rejects_bad_arguments(void **state)
{
	const char *no_devid[] = { "vif-add", "--domid", "9", NULL };
	const char *bad_mac[] = { "vif-add", "--domid", "9", "--devid", "0",
				  "--mac", "zz", NULL };
	const char *self[] = { "vif-add", "--domid", "4", "--devid", "0",
			       "--backend-domid", "4", NULL };
	const char *del_none[] = { "vif-del", "--domid", "9", "--devid", "77", NULL };

	(void)state;
	assert_int_not_equal(h_run_cli(no_devid), 0);
	assert_int_not_equal(h_run_cli(bad_mac), 0);
	assert_int_not_equal(h_run_cli(self), 0);
	assert_int_not_equal(h_run_cli(del_none), 0);
}

/* A running backend serves a vif that appears, writes its features, and
 * forgets the vif when vif-del removes it. */
static void backend_follows_vif_add_and_del(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "7", "--devid", "5",
			      "--queues", "2", NULL };
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "5",
			      "--timeout-ms", "2000", NULL };
	const char *be = "/local/domain/0/backend/vif/7/5";
	static const char *const ones[] = {
		"feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
		"feature-ipv6-csum-offload", "feature-rx-copy",
		"feature-split-event-channels", "feature-multicast-control",
		"feature-dynamic-multicast-control",
	};

	h_back_start(t, NULL);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(h_wait_be_state(t, 5, XenbusStateInitWait));
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
		h_xs_expect(t->bplat, be, ones[i], "1");
	h_xs_expect(t->bplat, be, "feature-rx-flip", "0");
	/* The toolstack's cap (2) wins over the backend's 4. */
	h_xs_expect(t->bplat, be, "multi-queue-max-queues", "2");
	assert_int_equal(sn_back_vif_state(t->b.back, 7, 5), XenbusStateInitWait);

	assert_int_equal(h_run_cli(del), 0);
	for (int ms = 0; ms < 5000 && sn_back_vif_state(t->b.back, 7, 5) >= 0; ms++)
		h_sleep_ms(1);
	assert_int_equal(sn_back_vif_state(t->b.back, 7, 5), -ENOENT);
	h_back_stop(t);
}

/* Frontend keys that make connect impossible: the backend says why in
 * xenstore, goes Closing, and keeps serving (CVE-2026-45890 row). */
static void connect_rejects_bad_frontend_keys(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "7", "--devid", "6", NULL };
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "6",
			      "--timeout-ms", "2000", NULL };
	const char *fe = "/local/domain/7/device/vif/6";
	const char *be = "/local/domain/0/backend/vif/7/6";
	static const char *const bad_nq[] = { "0", "5", "x", "-1" };
	char path[256], *err;

	h_back_start(t, NULL);
	for (size_t i = 0; i < sizeof(bad_nq) / sizeof(bad_nq[0]) + 1; i++) {
		assert_int_equal(h_run_cli(add), 0);
		assert_true(h_wait_be_state(t, 6, XenbusStateInitWait));
		if (i < sizeof(bad_nq) / sizeof(bad_nq[0])) {
			snprintf(path, sizeof(path), "%s/multi-queue-num-queues", fe);
			t->fplat->ops->xs_write(t->fplat, XBT_NULL, path, bad_nq[i],
						strlen(bad_nq[i]));
		}
		/* Ring refs and event channel absent altogether. */
		snprintf(path, sizeof(path), "%s/state", fe);
		t->fplat->ops->xs_write(t->fplat, XBT_NULL, path, "4", 1);
		assert_true(h_wait_be_state(t, 6, XenbusStateClosing));
		err = h_xs_r(t->fplat, be, "error");
		assert_non_null(err);
		free(err);
		assert_int_equal(h_run_cli(del), 0);
	}
	h_back_stop(t);
}

/* SIGINT sets stop while the control thread sits in poll(); the step that
 * poll returns to still handles a vif-del already queued.  That vif is off
 * the list the exit print walks, so its counters are kept for that print
 * (once), while its stats file goes with it. */
static void vif_removed_while_stopping_is_printed(void **state)
{
	struct h_ctx *t = *state;
	const char *add[] = { "vif-add", "--domid", "7", "--devid", "8", NULL };
	const char *del[] = { "vif-del", "--domid", "7", "--devid", "8",
			      "--timeout-ms", "0", NULL };
	struct sn_back_cfg cfg = { .plat = t->bplat, .max_queues = 2,
				   .publish_stats = true };
	char *logbuf = NULL, *out = NULL, path[400];
	size_t loglen = 0, outlen = 0;
	struct sn_back *b;
	FILE *log, *f;

	setenv("SN_RUNDIR", t->host.dir, 1);
	log = open_memstream(&logbuf, &loglen);
	assert_non_null(log);
	cfg.log = log;
	assert_int_equal(sn_back_create(&cfg, &b), 0);
	assert_int_equal(h_run_cli(add), 0);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, 8) != XenbusStateInitWait; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(sn_back_vif_state(b, 7, 8), XenbusStateInitWait);
	snprintf(path, sizeof(path), "%s/back-7-8.stats", t->host.dir);
	assert_int_equal(access(path, F_OK), 0);

	assert_int_equal(h_run_cli(del), 0);
	sn_back_stop(b);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, 8) >= 0; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(sn_back_vif_state(b, 7, 8), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);

	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	sn_back_print_stats(b, f);
	fclose(f);
	assert_non_null(strstr(out, "back vif7.8: removed"));
	assert_non_null(strstr(out, "back-7-8: pid"));
	free(out);
	out = NULL;
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	sn_back_print_stats(b, f);
	fclose(f);
	assert_null(strstr(out, "back-7-8"));
	free(out);
	sn_back_destroy(b);
	fclose(log);
	free(logbuf);

	/* With no log (`stagenet back --quiet`) a vif removed while running
	 * is said nowhere else: the exit print has it too. */
	cfg.log = NULL;
	assert_int_equal(sn_back_create(&cfg, &b), 0);
	assert_int_equal(h_run_cli(add), 0);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, 8) != XenbusStateInitWait; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(h_run_cli(del), 0);
	for (int i = 0; i < 500 && sn_back_vif_state(b, 7, 8) >= 0; i++)
		assert_int_equal(sn_back_poll(b, 10), 0);
	assert_int_equal(sn_back_vif_state(b, 7, 8), -ENOENT);
	out = NULL;
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	sn_back_print_stats(b, f);
	fclose(f);
	assert_non_null(strstr(out, "back vif7.8: removed"));
	free(out);
	sn_back_destroy(b);
	unsetenv("SN_RUNDIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vif_add_writes_libxl_keys_and_perms),
		cmocka_unit_test(vif_add_rejects_bad_arguments),
		cmocka_unit_test(backend_follows_vif_add_and_del),
		cmocka_unit_test(connect_rejects_bad_frontend_keys),
		cmocka_unit_test(vif_removed_while_stopping_is_printed),
	};

	return cmocka_run_group_tests(tests, h_setup, h_teardown);
}
