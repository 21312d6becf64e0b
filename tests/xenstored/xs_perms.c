/* xenstore permissions in `stagenet host`: each connection acts as the
 * domain of the process behind it (src/plat/emu/xenstored/perms.c), with
 * xenstored's rules.  This process plays dom0 through a handle opened before
 * it registered any domain, and guests 5 and 6 through the handles that
 * registered them; the directories are the ones libxl makes for a vif of
 * frontend 5 served by a backend in driver domain 6. */
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

#include "checked_stop.h"
#include "common/host_fixture.h"
#include "plat/emu/emu.h"

#define FE "/local/domain/5/device/vif/0"
#define BE "/local/domain/6/backend/vif/5/0"

struct ctx {
	struct sn_test_host host;
	struct xs_handle *dom0, *g5, *g6;
};

static void set_perms(struct xs_handle *h, const char *path, unsigned int owner,
		      unsigned int owner_letter, unsigned int other, unsigned int other_letter)
{
	struct xs_permissions p[2] = {
		{ .id = owner, .perms = owner_letter },
		{ .id = other, .perms = other_letter },
	};

	assert_true(xs_set_permissions(h, XBT_NULL, path, p, 2));
}

/* Register domid through h, as src/plat/emu/domain.c does. */
static void register_dom(struct xs_handle *h, unsigned int domid)
{
	char path[64];
	xs_transaction_t t = xs_transaction_start(h);

	assert_int_not_equal(t, XBT_NULL);
	snprintf(path, sizeof(path), SN_EMU_REG_ROOT "/%u/pid", domid);
	assert_true(xs_write(h, t, path, "1", 1));
	assert_true(xs_transaction_end(h, t, false));
}

static void put(struct xs_handle *h, const char *path, const char *v)
{
	assert_true(xs_write(h, XBT_NULL, path, v, (unsigned int)strlen(v)));
}

/* The write fails with err. */
static void put_fails(struct xs_handle *h, xs_transaction_t t, const char *path, int err)
{
	errno = 0;
	assert_false(xs_write(h, t, path, "x", 1));
	assert_int_equal(errno, err);
}

static char *get(struct xs_handle *h, const char *path)
{
	unsigned int len;

	return xs_read(h, XBT_NULL, path, &len);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sn_test_host_start(&c->host), 0);
	/* Opened before this process registers anything: stays dom0. */
	c->dom0 = xs_open(0);
	assert_non_null(c->dom0);
	put(c->dom0, "/local/domain/0/secret", "s");
	/* The toolstack's part, as vif-add does it. */
	assert_true(xs_mkdir(c->dom0, XBT_NULL, "/local/domain/5"));
	set_perms(c->dom0, "/local/domain/5", 0, XS_PERM_NONE, 5, XS_PERM_READ);
	assert_true(xs_mkdir(c->dom0, XBT_NULL, "/local/domain/6"));
	set_perms(c->dom0, "/local/domain/6", 0, XS_PERM_NONE, 6, XS_PERM_READ);
	assert_true(xs_mkdir(c->dom0, XBT_NULL, FE));
	set_perms(c->dom0, FE, 5, XS_PERM_NONE, 6, XS_PERM_READ);
	assert_true(xs_mkdir(c->dom0, XBT_NULL, BE));
	set_perms(c->dom0, BE, 6, XS_PERM_NONE, 5, XS_PERM_READ);
	put(c->dom0, BE "/state", "1");
	put(c->dom0, FE "/state", "1");
	c->g5 = xs_open(0);
	assert_non_null(c->g5);
	register_dom(c->g5, 5);
	c->g6 = xs_open(0);
	assert_non_null(c->g6);
	register_dom(c->g6, 6);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	xs_close(c->g6);
	xs_close(c->g5);
	xs_close(c->dom0);
	stop_host_checked(&c->host);
	free(c);
	return 0;
}

static void guest_reads_and_writes_its_own_device_dir(void **state)
{
	struct ctx *c = *state;
	char *v;

	put(c->g5, FE "/state", "4");
	put(c->g5, FE "/queue-0/tx-ring-ref", "8");
	v = get(c->g5, FE "/queue-0/tx-ring-ref");
	assert_non_null(v);
	assert_string_equal(v, "8");
	free(v);
	/* A guest's relative paths are under its own home. */
	v = get(c->g5, "device/vif/0/state");
	assert_non_null(v);
	assert_string_equal(v, "4");
	free(v);
	/* And the backend reads it. */
	v = get(c->g6, FE "/state");
	assert_non_null(v);
	assert_string_equal(v, "4");
	free(v);
}

static void guest_cannot_write_the_backend_or_another_guest(void **state)
{
	struct ctx *c = *state;
	char *v;

	/* The frontend reads the backend's directory but cannot change it,
	 * and the backend cannot change the frontend's. */
	v = get(c->g5, BE "/state");
	assert_non_null(v);
	free(v);
	put_fails(c->g5, XBT_NULL, BE "/state", EACCES);
	put_fails(c->g5, XBT_NULL, BE "/feature-sg", EACCES);
	put_fails(c->g6, XBT_NULL, FE "/state", EACCES);
	errno = 0;
	assert_false(xs_rm(c->g5, XBT_NULL, BE));
	assert_int_equal(errno, EACCES);
	errno = 0;
	assert_false(xs_mkdir(c->g5, XBT_NULL, BE "/new"));
	assert_int_equal(errno, EACCES);
	/* dom0's nodes: neither readable nor writable, and a missing node
	 * there is EACCES too (nothing to learn from ENOENT). */
	errno = 0;
	assert_null(get(c->g5, "/local/domain/0/secret"));
	assert_int_equal(errno, EACCES);
	errno = 0;
	assert_null(get(c->g5, "/local/domain/0/missing"));
	assert_int_equal(errno, EACCES);
	put_fails(c->g5, XBT_NULL, "/local/domain/0/secret", EACCES);
	put_fails(c->g5, XBT_NULL, "/local/domain/7/x", EACCES);
	/* A missing node in a readable directory is plain ENOENT. */
	errno = 0;
	assert_null(get(c->g5, BE "/missing"));
	assert_int_equal(errno, ENOENT);
	v = get(c->dom0, BE "/state");
	assert_non_null(v);
	assert_string_equal(v, "1");
	free(v);
}

static void guest_cannot_set_perms_it_does_not_own(void **state)
{
	struct ctx *c = *state;
	struct xs_permissions p[2] = {
		{ .id = 5, .perms = XS_PERM_NONE },
		{ .id = 6, .perms = XS_PERM_WRITE },
	};
	struct xs_permissions *got;
	unsigned int n;

	/* Not the owner: EACCES. */
	errno = 0;
	assert_false(xs_set_permissions(c->g5, XBT_NULL, BE, p, 2));
	assert_int_equal(errno, EACCES);
	/* The owner may change the ACL but not give the node away. */
	assert_true(xs_set_permissions(c->g5, XBT_NULL, FE, p, 2));
	p[0].id = 6;
	errno = 0;
	assert_false(xs_set_permissions(c->g5, XBT_NULL, FE, p, 2));
	assert_int_equal(errno, EPERM);
	got = xs_get_permissions(c->g5, XBT_NULL, FE, &n);
	assert_non_null(got);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].id, 5);
	assert_int_equal(got[1].perms, XS_PERM_WRITE);
	free(got);
	/* dom0 may do both. */
	set_perms(c->dom0, FE, 6, XS_PERM_NONE, 5, XS_PERM_READ);
}

static void child_inherits_parent_perms_owned_by_creator(void **state)
{
	struct ctx *c = *state;
	struct xs_permissions *got;
	unsigned int n;

	/* Guest 5 creates two levels under a dir dom0 gave it: both inherit
	 * the parent's ACL, owned by 5 (xenstored's rule for guests). */
	put(c->g5, FE "/a/b", "1");
	for (int i = 0; i < 2; i++) {
		got = xs_get_permissions(c->dom0, XBT_NULL, i ? FE "/a/b" : FE "/a", &n);
		assert_non_null(got);
		assert_int_equal(n, 2);
		assert_int_equal(got[0].id, 5);
		assert_int_equal(got[0].perms, XS_PERM_NONE);
		assert_int_equal(got[1].id, 6);
		assert_int_equal(got[1].perms, XS_PERM_READ);
		free(got);
	}
	/* dom0 creating under the backend's dir keeps the backend as owner. */
	put(c->dom0, BE "/x/y", "1");
	got = xs_get_permissions(c->dom0, XBT_NULL, BE "/x/y", &n);
	assert_non_null(got);
	assert_int_equal(got[0].id, 6);
	free(got);
	put(c->g6, BE "/x/y", "2");
	/* A guest writing in its readable (not writable) home: EACCES. */
	put_fails(c->g5, XBT_NULL, "/local/domain/5/data", EACCES);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Events arriving within ms (a watch's initial event counts too): how many
 * in all, and in *mine how many carry token. */
static int events(struct xs_handle *h, const char *token, int *mine, int ms)
{
	long deadline = now_ms() + ms;
	int n = 0;

	*mine = 0;
	while (now_ms() < deadline) {
		struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
		char **ev = xs_check_watch(h);

		if (ev) {
			*mine += !strcmp(ev[XS_WATCH_TOKEN], token);
			n++;
			free(ev);
			continue;
		}
		poll(&p, 1, 20);
	}
	return n;
}

static void special_watches_are_dom0s(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *g7 = xs_open(0);
	int in;

	/* Xen answers the WATCH (and its initial event) but delivers no
	 * @introduceDomain/@releaseDomain event to a guest. */
	assert_true(xs_watch(c->g5, "@introduceDomain", "in"));
	assert_true(xs_watch(c->g5, "@releaseDomain", "out"));
	assert_true(xs_watch(c->dom0, "@introduceDomain", "in"));
	assert_int_equal(events(c->g5, "in", &in, 100), 2);
	assert_int_equal(in, 1);
	assert_int_equal(events(c->dom0, "in", &in, 100), 1);
	assert_non_null(g7);
	register_dom(g7, 7);
	xs_close(g7);
	assert_int_equal(events(c->dom0, "in", &in, 300), 1);
	assert_int_equal(events(c->g5, "in", &in, 300), 0);
	/* Nor may a guest ask about domains or release one. */
	errno = 0;
	assert_false(xs_is_domain_introduced(c->g5, 6));
	assert_int_equal(errno, EACCES);
	errno = 0;
	assert_false(xs_release_domain(c->g5, 6));
	assert_int_equal(errno, EACCES);
	/* Until the toolstack lets it read the special node. */
	set_perms(c->dom0, "@introduceDomain", 0, XS_PERM_NONE, 5, XS_PERM_READ);
	g7 = xs_open(0);
	assert_non_null(g7);
	register_dom(g7, 8);
	assert_int_equal(events(c->g5, "in", &in, 300), 1);
	assert_int_equal(in, 1);
	xs_close(g7);
}

static void watch_events_only_for_readable_nodes(void **state)
{
	struct ctx *c = *state;
	int be;

	assert_true(xs_watch(c->g5, "/local/domain/0", "d0"));
	assert_true(xs_watch(c->g5, BE, "be"));
	/* The initial events come whatever the perms, as in xenstored. */
	assert_int_equal(events(c->g5, "be", &be, 100), 2);
	assert_int_equal(be, 1);
	put(c->dom0, "/local/domain/0/secret", "t");
	put(c->g6, BE "/state", "2");
	assert_int_equal(events(c->g5, "be", &be, 300), 1);
	assert_int_equal(be, 1);
}

static void guest_cannot_claim_another_domid(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *later;
	xs_transaction_t t;

	/* A registered connection cannot register again, take a live
	 * entry, or make itself dom0. */
	put_fails(c->g5, XBT_NULL, SN_EMU_REG_ROOT "/9/pid", EACCES);
	put_fails(c->g5, XBT_NULL, SN_EMU_REG_ROOT "/6/pid", EACCES);
	put_fails(c->g5, XBT_NULL, SN_EMU_REG_ROOT "/0/pid", EACCES);
	put_fails(c->g5, XBT_NULL, SN_EMU_REG_ROOT "/5/pid", EACCES);
	/* A connection this process opens now acts as its domain (the
	 * lowest it registered), not dom0: no way around the rules by
	 * reconnecting, nor by registering dom0 on it. */
	later = xs_open(0);
	assert_non_null(later);
	put_fails(later, XBT_NULL, "/local/domain/0/x", EACCES);
	put_fails(later, XBT_NULL, SN_EMU_REG_ROOT "/0/pid", EACCES);
	put_fails(later, XBT_NULL, SN_EMU_REG_ROOT "/6/pid", EACCES);
	t = xs_transaction_start(later);
	assert_int_not_equal(t, XBT_NULL);
	put_fails(later, t, SN_EMU_REG_ROOT "/0/pid", EACCES);
	xs_transaction_end(later, t, true);
	put(later, FE "/from-later", "1");
	xs_close(later);
	/* The registry's keys are the hypervisor's: readable, never
	 * writable by the domain itself. */
	free(get(c->g5, SN_EMU_REG_ROOT "/6/pid"));
}

static void transaction_obeys_the_same_checks(void **state)
{
	struct ctx *c = *state;
	xs_transaction_t t = xs_transaction_start(c->g5);
	char *v;

	assert_int_not_equal(t, XBT_NULL);
	put_fails(c->g5, t, BE "/state", EACCES);
	errno = 0;
	assert_null(xs_read(c->g5, t, "/local/domain/0/secret", NULL));
	assert_int_equal(errno, EACCES);
	assert_true(xs_write(c->g5, t, FE "/in-txn", "1", 1));
	assert_true(xs_transaction_end(c->g5, t, false));
	v = get(c->g6, FE "/in-txn");
	assert_non_null(v);
	free(v);
	v = get(c->dom0, BE "/state");
	assert_string_equal(v, "1");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(guest_reads_and_writes_its_own_device_dir),
		T(guest_cannot_write_the_backend_or_another_guest),
		T(guest_cannot_set_perms_it_does_not_own),
		T(child_inherits_parent_perms_owned_by_creator),
		T(special_watches_are_dom0s),
		T(watch_events_only_for_readable_nodes),
		T(guest_cannot_claim_another_domid),
		T(transaction_obeys_the_same_checks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
