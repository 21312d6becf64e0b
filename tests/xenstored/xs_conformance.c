/* xenstore conformance of `stagenet host` as libxenstore sees it: every
 * message type the project and Debian's tools use, watch semantics
 * (initial event, subtree events, rm of a parent, unwatch), transactions
 * (EAGAIN on conflict, clean commit on disjoint paths, events at commit),
 * permissions, the domain path, and a directory too big for one reply. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <xenstore.h>

#include "common/host_fixture.h"
#include "checked_stop.h"

#define EVENT_TIMEOUT_MS 5000

struct ctx {
	struct sn_test_host host;
	struct xs_handle *a, *b; /* two independent clients */
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sn_test_host_start(&c->host), 0);
	c->a = xs_open(0);
	c->b = xs_open(0);
	assert_non_null(c->a);
	assert_non_null(c->b);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	xs_close(c->a);
	xs_close(c->b);
	stop_host_checked(&c->host);
	free(c);
	return 0;
}

static char *rd(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	unsigned int len;

	return xs_read(h, t, path, &len);
}

static void assert_value(struct xs_handle *h, const char *path, const char *want)
{
	char *v = rd(h, XBT_NULL, path);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void wr(struct xs_handle *h, xs_transaction_t t, const char *path,
	       const char *val)
{
	assert_true(xs_write(h, t, path, val, (unsigned)strlen(val)));
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next watch event (path, token), failing the test after the timeout. */
static void next_event(struct xs_handle *h, char *path, size_t plen,
		       char *token, size_t tlen)
{
	long deadline = now_ms() + EVENT_TIMEOUT_MS;

	for (;;) {
		struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
		char **ev = xs_check_watch(h);

		if (ev) {
			snprintf(path, plen, "%s", ev[XS_WATCH_PATH]);
			snprintf(token, tlen, "%s", ev[XS_WATCH_TOKEN]);
			free(ev);
			return;
		}
		assert_true(now_ms() < deadline);
		poll(&p, 1, 50);
	}
}

static void expect_event(struct xs_handle *h, const char *path, const char *token)
{
	char p[4096], t[256];

	next_event(h, p, sizeof(p), t, sizeof(t));
	assert_string_equal(p, path);
	assert_string_equal(t, token);
}

/* The events we must NOT get are proven absent by a sentinel write that
 * must be the very next event (events on one connection are ordered). */
static void expect_only_sentinel(struct ctx *c, struct xs_handle *w,
				 const char *sentinel, const char *token)
{
	wr(c->b, XBT_NULL, sentinel, "s");
	expect_event(w, sentinel, token);
}

static void read_write_roundtrip(void **state)
{
	struct ctx *c = *state;
	char *v;
	unsigned int len;
	static const char bin[] = { 'a', 0, 'b', (char)0xff };

	wr(c->a, XBT_NULL, "/t/x", "hello");
	assert_value(c->b, "/t/x", "hello");
	/* Parents are created on the way, with an empty value. */
	assert_value(c->b, "/t", "");
	/* Empty and binary values keep their exact length. */
	wr(c->a, XBT_NULL, "/t/empty", "");
	v = xs_read(c->b, XBT_NULL, "/t/empty", &len);
	assert_non_null(v);
	assert_int_equal(len, 0);
	free(v);
	assert_true(xs_write(c->a, XBT_NULL, "/t/bin", bin, sizeof(bin)));
	v = xs_read(c->b, XBT_NULL, "/t/bin", &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(v, bin, sizeof(bin));
	free(v);
	/* Overwrite. */
	wr(c->a, XBT_NULL, "/t/x", "bye");
	assert_value(c->b, "/t/x", "bye");
	/* Missing node. */
	errno = 0;
	assert_null(rd(c->a, XBT_NULL, "/t/nope"));
	assert_int_equal(errno, ENOENT);
}

static void initial_tree(void **state)
{
	struct ctx *c = *state;
	static const char *const nodes[] = { "/", "/local", "/local/domain",
					     "/local/domain/0", "/tool" };

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		assert_value(c->a, nodes[i], "");
}

static void relative_paths_resolve_to_dom0(void **state)
{
	struct ctx *c = *state;

	wr(c->a, XBT_NULL, "rel/node", "r");
	assert_value(c->b, "/local/domain/0/rel/node", "r");
	assert_value(c->b, "rel/node", "r");
}

static void invalid_paths_are_einval(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[] = { "/a//b", "/a/", "/a b", "/a*", "" };
	char longp[3100];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_false(xs_write(c->a, XBT_NULL, bad[i], "x", 1));
		assert_int_equal(errno, EINVAL);
	}
	/* Paths up to 3072 bytes are fine, longer ones are not. */
	memset(longp, 'p', sizeof(longp));
	longp[0] = '/';
	longp[3072] = '\0';
	assert_true(xs_write(c->a, XBT_NULL, longp, "x", 1));
	assert_value(c->b, longp, "x");
	longp[3072] = 'p';
	longp[3073] = '\0';
	errno = 0;
	assert_false(xs_write(c->a, XBT_NULL, longp, "x", 1));
	assert_int_equal(errno, EINVAL);
}

static void mkdir_directory_rm(void **state)
{
	struct ctx *c = *state;
	unsigned int n;
	char **l;

	assert_true(xs_mkdir(c->a, XBT_NULL, "/d/one"));
	assert_true(xs_mkdir(c->a, XBT_NULL, "/d/one")); /* exists: fine */
	wr(c->a, XBT_NULL, "/d/two/leaf", "v");
	l = xs_directory(c->b, XBT_NULL, "/d", &n);
	assert_non_null(l);
	assert_int_equal(n, 2);
	/* Creation order, as xenstored lists them. */
	assert_string_equal(l[0], "one");
	assert_string_equal(l[1], "two");
	free(l);
	l = xs_directory(c->b, XBT_NULL, "/d/one", &n);
	assert_non_null(l);
	assert_int_equal(n, 0);
	free(l);
	errno = 0;
	assert_null(xs_directory(c->b, XBT_NULL, "/d/none", &n));
	assert_int_equal(errno, ENOENT);

	/* rm takes the whole subtree. */
	assert_true(xs_rm(c->a, XBT_NULL, "/d/two"));
	assert_null(rd(c->b, XBT_NULL, "/d/two/leaf"));
	assert_null(rd(c->b, XBT_NULL, "/d/two"));
	l = xs_directory(c->b, XBT_NULL, "/d", &n);
	assert_non_null(l);
	assert_int_equal(n, 1);
	free(l);
	/* rm of a missing node: fine if the parent exists, else ENOENT. */
	assert_true(xs_rm(c->a, XBT_NULL, "/d/gone"));
	errno = 0;
	assert_false(xs_rm(c->a, XBT_NULL, "/d/gone/deeper"));
	assert_int_equal(errno, ENOENT);
	/* A top-level node can. */
	wr(c->a, XBT_NULL, "/top", "t");
	assert_true(xs_rm(c->a, XBT_NULL, "/top"));
	assert_null(rd(c->b, XBT_NULL, "/top"));
	/* The root cannot go. */
	errno = 0;
	assert_false(xs_rm(c->a, XBT_NULL, "/"));
	assert_int_equal(errno, EINVAL);
}

static void big_directory_uses_directory_part(void **state)
{
	struct ctx *c = *state;
	enum { N = 1500 }; /* names of ~9 bytes: well over 4096 */
	char path[64];
	unsigned int n;
	char **l;

	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/big/entry-%04d", i);
		wr(c->a, XBT_NULL, path, "");
	}
	l = xs_directory(c->b, XBT_NULL, "/big", &n);
	assert_non_null(l);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "entry-%04d", i);
		assert_string_equal(l[i], path);
	}
	free(l);
}

static void perms_roundtrip_and_inheritance(void **state)
{
	struct ctx *c = *state;
	struct xs_permissions set[3] = {
		{ .id = 5, .perms = XS_PERM_NONE },
		{ .id = 7, .perms = XS_PERM_READ },
		{ .id = 9, .perms = XS_PERM_READ | XS_PERM_WRITE },
	};
	struct xs_permissions *got;
	unsigned int n;

	/* Default: like the root, owner dom0, no access for others. */
	wr(c->a, XBT_NULL, "/p/node", "v");
	got = xs_get_permissions(c->b, XBT_NULL, "/p/node", &n);
	assert_non_null(got);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].id, 0);
	assert_int_equal(got[0].perms, XS_PERM_NONE);
	free(got);

	assert_true(xs_set_permissions(c->a, XBT_NULL, "/p/node", set, 3));
	got = xs_get_permissions(c->b, XBT_NULL, "/p/node", &n);
	assert_non_null(got);
	assert_int_equal(n, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(got[i].id, set[i].id);
		assert_int_equal(got[i].perms, set[i].perms);
	}
	free(got);

	/* A new child inherits its parent's permissions. */
	wr(c->a, XBT_NULL, "/p/node/child", "c");
	got = xs_get_permissions(c->b, XBT_NULL, "/p/node/child", &n);
	assert_non_null(got);
	assert_int_equal(n, 3);
	assert_int_equal(got[2].id, 9);
	assert_int_equal(got[2].perms, XS_PERM_READ | XS_PERM_WRITE);
	free(got);

	/* Stored, not enforced: every socket client is dom0. */
	wr(c->b, XBT_NULL, "/p/node", "w");
	errno = 0;
	assert_false(xs_set_permissions(c->a, XBT_NULL, "/p/missing", set, 1));
	assert_int_equal(errno, ENOENT);
}

static void domain_path(void **state)
{
	struct ctx *c = *state;
	char *p = xs_get_domain_path(c->a, 0);

	assert_non_null(p);
	assert_string_equal(p, "/local/domain/0");
	free(p);
	p = xs_get_domain_path(c->a, 42);
	assert_non_null(p);
	assert_string_equal(p, "/local/domain/42");
	free(p);
}

static void watch_initial_and_subtree_events(void **state)
{
	struct ctx *c = *state;

	wr(c->a, XBT_NULL, "/w/sib", "x");
	assert_true(xs_watch(c->a, "/w/node", "tok"));
	/* The initial event names the watched path itself. */
	expect_event(c->a, "/w/node", "tok");
	/* Changes at and below fire, with the changed path. */
	wr(c->b, XBT_NULL, "/w/node", "1");
	expect_event(c->a, "/w/node", "tok");
	wr(c->b, XBT_NULL, "/w/node/deep/er", "2");
	expect_event(c->a, "/w/node/deep/er", "tok");
	assert_true(xs_mkdir(c->b, XBT_NULL, "/w/node/dir"));
	expect_event(c->a, "/w/node/dir", "tok");
	struct xs_permissions p = { .id = 3, .perms = XS_PERM_READ };
	assert_true(xs_set_permissions(c->b, XBT_NULL, "/w/node", &p, 1));
	expect_event(c->a, "/w/node", "tok");
	assert_true(xs_rm(c->b, XBT_NULL, "/w/node/deep"));
	expect_event(c->a, "/w/node/deep", "tok");
	/* Siblings, a prefix-named node and the parent do not fire. */
	wr(c->b, XBT_NULL, "/w/sib", "y");
	wr(c->b, XBT_NULL, "/w/nodeX", "y");
	wr(c->b, XBT_NULL, "/w", "y");
	expect_only_sentinel(c, c->a, "/w/node/sentinel", "tok");
}

static void watch_fires_on_rm_of_parent(void **state)
{
	struct ctx *c = *state;

	wr(c->a, XBT_NULL, "/r/a/b/c", "x");
	assert_true(xs_watch(c->a, "/r/a/b/c", "leaf"));
	expect_event(c->a, "/r/a/b/c", "leaf");
	assert_true(xs_watch(c->a, "/r", "top"));
	expect_event(c->a, "/r", "top");
	assert_true(xs_rm(c->b, XBT_NULL, "/r/a"));
	/* One event per watch: the top watch sees the removed node, the
	 * watch on the removed child sees its own path. */
	char p1[256], t1[64], p2[256], t2[64];
	next_event(c->a, p1, sizeof(p1), t1, sizeof(t1));
	next_event(c->a, p2, sizeof(p2), t2, sizeof(t2));
	if (!strcmp(t1, "leaf")) {
		assert_string_equal(p1, "/r/a/b/c");
		assert_string_equal(t2, "top");
		assert_string_equal(p2, "/r/a");
	} else {
		assert_string_equal(t1, "top");
		assert_string_equal(p1, "/r/a");
		assert_string_equal(t2, "leaf");
		assert_string_equal(p2, "/r/a/b/c");
	}
	assert_true(xs_unwatch(c->a, "/r/a/b/c", "leaf"));
	expect_only_sentinel(c, c->a, "/r/sentinel", "top");
}

static void unwatch_stops_events(void **state)
{
	struct ctx *c = *state;

	assert_true(xs_watch(c->a, "/u", "one"));
	expect_event(c->a, "/u", "one");
	assert_true(xs_watch(c->a, "/u2", "two"));
	expect_event(c->a, "/u2", "two");
	assert_true(xs_unwatch(c->a, "/u", "one"));
	wr(c->b, XBT_NULL, "/u/x", "1");
	expect_only_sentinel(c, c->a, "/u2/sentinel", "two");
	/* Unknown watch: ENOENT; duplicate watch: EEXIST. */
	errno = 0;
	assert_false(xs_unwatch(c->a, "/u", "one"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_false(xs_watch(c->a, "/u2", "two"));
	assert_int_equal(errno, EEXIST);
}

static void relative_watch_reports_relative_paths(void **state)
{
	struct ctx *c = *state;

	assert_true(xs_watch(c->a, "relw", "rt"));
	expect_event(c->a, "relw", "rt");
	wr(c->b, XBT_NULL, "/local/domain/0/relw/x", "1");
	expect_event(c->a, "relw/x", "rt");
}

static void special_watches_are_watchable(void **state)
{
	struct ctx *c = *state;

	assert_true(xs_watch(c->a, "@introduceDomain", "in"));
	expect_event(c->a, "@introduceDomain", "in");
	assert_true(xs_watch(c->a, "@releaseDomain", "out"));
	expect_event(c->a, "@releaseDomain", "out");
	/* Ordinary changes do not fire them. */
	assert_true(xs_watch(c->a, "/s", "s"));
	expect_event(c->a, "/s", "s");
	expect_only_sentinel(c, c->a, "/s/x", "s");
}

static void txn_conflict_is_eagain(void **state)
{
	struct ctx *c = *state;
	xs_transaction_t t;

	wr(c->a, XBT_NULL, "/tx/shared", "0");
	t = xs_transaction_start(c->a);
	assert_int_not_equal(t, XBT_NULL);
	free(rd(c->a, t, "/tx/shared"));
	wr(c->a, t, "/tx/mine", "1");
	/* Someone else changes what the txn read. */
	wr(c->b, XBT_NULL, "/tx/shared", "other");
	errno = 0;
	assert_false(xs_transaction_end(c->a, t, false));
	assert_int_equal(errno, EAGAIN);
	/* Nothing of the failed txn is applied. */
	assert_null(rd(c->b, XBT_NULL, "/tx/mine"));
	assert_value(c->b, "/tx/shared", "other");

	/* Written-node conflict too: both sides write the same node. */
	t = xs_transaction_start(c->a);
	wr(c->a, t, "/tx/shared", "txn");
	wr(c->b, XBT_NULL, "/tx/shared", "outside");
	errno = 0;
	assert_false(xs_transaction_end(c->a, t, false));
	assert_int_equal(errno, EAGAIN);
	assert_value(c->b, "/tx/shared", "outside");

	/* Listed directory gains a child. */
	unsigned int n;
	t = xs_transaction_start(c->a);
	free(xs_directory(c->a, t, "/tx", &n));
	wr(c->b, XBT_NULL, "/tx/newkid", "k");
	errno = 0;
	assert_false(xs_transaction_end(c->a, t, false));
	assert_int_equal(errno, EAGAIN);
}

static void txn_disjoint_paths_commit(void **state)
{
	struct ctx *c = *state;
	xs_transaction_t ta, tb;

	/* Two backends on unrelated vifs under one parent, each creating
	 * new nodes: no conflict. */
	assert_true(xs_mkdir(c->a, XBT_NULL, "/be/vif"));
	ta = xs_transaction_start(c->a);
	tb = xs_transaction_start(c->b);
	assert_int_not_equal(ta, XBT_NULL);
	assert_int_not_equal(tb, XBT_NULL);
	assert_int_not_equal(ta, tb);
	assert_null(rd(c->a, ta, "/be/vif/1/state"));
	assert_null(rd(c->b, tb, "/be/vif/2/state"));
	wr(c->a, ta, "/be/vif/1/state", "2");
	wr(c->b, tb, "/be/vif/2/state", "2");
	wr(c->a, XBT_NULL, "/be/vif/3/state", "unrelated");
	assert_true(xs_transaction_end(c->b, tb, false));
	assert_true(xs_transaction_end(c->a, ta, false));
	assert_value(c->b, "/be/vif/1/state", "2");
	assert_value(c->a, "/be/vif/2/state", "2");
}

static void txn_snapshot_and_abort(void **state)
{
	struct ctx *c = *state;
	xs_transaction_t t;

	wr(c->a, XBT_NULL, "/snap/v", "before");
	t = xs_transaction_start(c->a);
	wr(c->b, XBT_NULL, "/snap/v", "after");
	/* The txn reads its snapshot... */
	char *v = rd(c->a, t, "/snap/v");
	assert_non_null(v);
	assert_string_equal(v, "before");
	free(v);
	/* ...and its own writes, invisible outside until commit. */
	wr(c->a, t, "/snap/own", "o");
	assert_value(c->a, "/snap/v", "after");
	v = rd(c->a, t, "/snap/own");
	assert_non_null(v);
	free(v);
	assert_null(rd(c->b, XBT_NULL, "/snap/own"));
	/* Abort drops everything. */
	assert_true(xs_transaction_end(c->a, t, true));
	assert_null(rd(c->b, XBT_NULL, "/snap/own"));
	/* A finished txn id is gone. */
	errno = 0;
	assert_null(rd(c->a, t, "/snap/v"));
	assert_int_equal(errno, ENOENT);
}

static void txn_events_fire_at_commit(void **state)
{
	struct ctx *c = *state;
	xs_transaction_t t;

	assert_true(xs_watch(c->a, "/ev", "ev"));
	expect_event(c->a, "/ev", "ev");
	t = xs_transaction_start(c->b);
	wr(c->b, t, "/ev/in-txn", "1");
	/* Nothing yet: the sentinel comes first. */
	expect_only_sentinel(c, c->a, "/ev/sentinel", "ev");
	assert_true(xs_transaction_end(c->b, t, false));
	expect_event(c->a, "/ev/in-txn", "ev");
	assert_value(c->a, "/ev/in-txn", "1");
}

static void txn_rm_and_perms(void **state)
{
	struct ctx *c = *state;
	struct xs_permissions p = { .id = 4, .perms = XS_PERM_WRITE };
	struct xs_permissions *got;
	xs_transaction_t t;
	unsigned int n;

	wr(c->a, XBT_NULL, "/tr/a/b", "x");
	wr(c->a, XBT_NULL, "/tr/c", "y");
	t = xs_transaction_start(c->a);
	assert_true(xs_rm(c->a, t, "/tr/a"));
	assert_true(xs_set_permissions(c->a, t, "/tr/c", &p, 1));
	assert_true(xs_mkdir(c->a, t, "/tr/m"));
	assert_null(rd(c->a, t, "/tr/a/b"));
	assert_value(c->b, "/tr/a/b", "x");
	assert_true(xs_transaction_end(c->a, t, false));
	assert_null(rd(c->b, XBT_NULL, "/tr/a"));
	assert_value(c->b, "/tr/m", "");
	got = xs_get_permissions(c->b, XBT_NULL, "/tr/c", &n);
	assert_non_null(got);
	assert_int_equal(n, 1);
	assert_int_equal(got[0].id, 4);
	assert_int_equal(got[0].perms, XS_PERM_WRITE);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(read_write_roundtrip),
		T(initial_tree),
		T(relative_paths_resolve_to_dom0),
		T(invalid_paths_are_einval),
		T(mkdir_directory_rm),
		T(big_directory_uses_directory_part),
		T(perms_roundtrip_and_inheritance),
		T(domain_path),
		T(watch_initial_and_subtree_events),
		T(watch_fires_on_rm_of_parent),
		T(unwatch_stops_events),
		T(relative_watch_reports_relative_paths),
		T(special_watches_are_watchable),
		T(txn_conflict_is_eagain),
		T(txn_disjoint_paths_commit),
		T(txn_snapshot_and_abort),
		T(txn_events_fire_at_commit),
		T(txn_rm_and_perms),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
