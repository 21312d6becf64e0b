/* The domain registry of `stagenet host`: /tool/stagenet/domain/<domid> is
 * owned by the connection that created it; closing that connection removes
 * the subtree and fires @releaseDomain, which is how a dead emulated domain
 * disappears and how a backend notices its frontend died. */
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
#include "plat/emu/emu.h"

#define EVENT_TIMEOUT_MS 5000

struct ctx {
	struct sn_test_host host;
	struct xs_handle *watcher;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(sn_test_host_start(&c->host), 0);
	c->watcher = xs_open(0);
	assert_non_null(c->watcher);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	xs_close(c->watcher);
	stop_host_checked(&c->host);
	free(c);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Skip events until one with this path arrives (fail on timeout). */
static void wait_event(struct xs_handle *h, const char *path)
{
	long deadline = now_ms() + EVENT_TIMEOUT_MS;

	for (;;) {
		struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
		char **ev = xs_check_watch(h);

		if (ev) {
			bool hit = !strcmp(ev[XS_WATCH_PATH], path);

			free(ev);
			if (hit)
				return;
			continue;
		}
		assert_true(now_ms() < deadline);
		poll(&p, 1, 50);
	}
}

static void watch_specials(struct xs_handle *h)
{
	assert_true(xs_watch(h, "@introduceDomain", "in"));
	wait_event(h, "@introduceDomain");
	assert_true(xs_watch(h, "@releaseDomain", "out"));
	wait_event(h, "@releaseDomain");
}

static bool exists(struct xs_handle *h, const char *path)
{
	unsigned int len;
	char *v = xs_read(h, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

static void close_removes_entry_and_fires_release(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *dom = xs_open(0);

	assert_non_null(dom);
	watch_specials(c->watcher);
	assert_true(xs_watch(c->watcher, SN_EMU_REG_ROOT "/7", "node"));
	wait_event(c->watcher, SN_EMU_REG_ROOT "/7");

	assert_true(xs_write(dom, XBT_NULL, SN_EMU_REG_ROOT "/7/pid", "123", 3));
	wait_event(c->watcher, "@introduceDomain");
	assert_true(xs_is_domain_introduced(c->watcher, 7));
	assert_true(exists(c->watcher, SN_EMU_REG_ROOT "/7/pid"));

	xs_close(dom);
	/* The subtree removal fires the normal watches, then @releaseDomain. */
	wait_event(c->watcher, SN_EMU_REG_ROOT "/7");
	wait_event(c->watcher, "@releaseDomain");
	assert_false(exists(c->watcher, SN_EMU_REG_ROOT "/7/pid"));
	assert_false(exists(c->watcher, SN_EMU_REG_ROOT "/7"));
	assert_false(xs_is_domain_introduced(c->watcher, 7));
}

/* Registration the way src/plat/emu/domain.c does it: in a transaction. */
static void txn_registration_is_owned_by_committer(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *dom = xs_open(0), *other = xs_open(0);
	xs_transaction_t t;

	assert_non_null(dom);
	assert_non_null(other);
	watch_specials(c->watcher);
	t = xs_transaction_start(dom);
	assert_int_not_equal(t, XBT_NULL);
	assert_true(xs_write(dom, t, SN_EMU_REG_ROOT "/9/pid", "1", 1));
	assert_true(xs_write(dom, t, SN_EMU_REG_ROOT "/9/fd/ram", "5", 1));
	assert_true(xs_transaction_end(dom, t, false));
	wait_event(c->watcher, "@introduceDomain");

	/* Another client adding to the entry does not take it over, and its
	 * going away leaves the entry alone. */
	assert_true(xs_write(other, XBT_NULL, SN_EMU_REG_ROOT "/9/extra", "x", 1));
	xs_close(other);
	assert_true(exists(c->watcher, SN_EMU_REG_ROOT "/9/pid"));

	xs_close(dom);
	wait_event(c->watcher, "@releaseDomain");
	assert_false(exists(c->watcher, SN_EMU_REG_ROOT "/9"));
}

static void explicit_rm_fires_release(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *dom = xs_open(0);

	assert_non_null(dom);
	watch_specials(c->watcher);
	assert_true(xs_write(dom, XBT_NULL, SN_EMU_REG_ROOT "/3/pid", "1", 1));
	wait_event(c->watcher, "@introduceDomain");
	assert_true(xs_rm(dom, XBT_NULL, SN_EMU_REG_ROOT "/3"));
	wait_event(c->watcher, "@releaseDomain");
	/* Closing afterwards releases nothing more and breaks nothing. */
	assert_true(xs_write(c->watcher, XBT_NULL, SN_EMU_REG_ROOT "/4/pid", "1", 1));
	xs_close(dom);
	assert_true(exists(c->watcher, SN_EMU_REG_ROOT "/4/pid"));
}

static void unrelated_nodes_survive_close(void **state)
{
	struct ctx *c = *state;
	struct xs_handle *dom = xs_open(0);

	assert_non_null(dom);
	/* Only registry entries are tied to their creator. */
	assert_true(xs_write(dom, XBT_NULL, "/local/domain/0/backend/x", "1", 1));
	assert_true(xs_write(dom, XBT_NULL, SN_EMU_REG_ROOT "-not/5/pid", "1", 1));
	xs_close(dom);
	assert_true(exists(c->watcher, "/local/domain/0/backend/x"));
	assert_true(exists(c->watcher, SN_EMU_REG_ROOT "-not/5/pid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(close_removes_entry_and_fires_release),
		T(txn_registration_is_owned_by_committer),
		T(explicit_rm_fires_release),
		T(unrelated_nodes_survive_close),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
