/* The xenstore key helpers (plat/xs_keys.h) against a private `stagenet
 * host`: bounds, absent keys and untrusted text on reads, the length limits
 * on writes, write-if-present on a removed device, and the transaction
 * retry on a real commit conflict; plus the emulated dom_instance op. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <limits.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "plat/xs_keys.h"
#include "stagenet/plat.h"

#define DIR "/test/dev"

struct ctx {
	struct sn_plat *p;     /* the caller under test */
	struct sn_plat *other; /* a second connection: the concurrent writer */
};

static struct sn_plat *open_xs(void)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .xs_only = true };
	struct sn_plat *p = NULL;

	assert_int_equal(sn_plat_open(&cfg, &p), 0);
	return p;
}

static void put(struct sn_plat *p, const char *key, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), DIR "/%s", key);
	assert_int_equal(p->ops->xs_write(p, XBT_NULL, path, val, (unsigned)strlen(val)), 0);
}

/* The value at path, or NULL when absent (caller frees). */
static char *get(struct sn_plat *p, const char *path)
{
	char *v = NULL;

	return p->ops->xs_read(p, XBT_NULL, path, &v, NULL) ? NULL : v;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->p = open_xs();
	c->other = open_xs();
	c->p->ops->xs_rm(c->p, XBT_NULL, DIR);
	put(c->p, "state", "1");
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	sn_plat_close(c->other);
	sn_plat_close(c->p);
	free(c);
	return 0;
}

static void read_ulong_bounds(void **state)
{
	struct ctx *c = *state;
	unsigned long v;

	put(c->p, "n", "68");
	v = 0;
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 68, 65535, &v), 0);
	assert_int_equal(v, 68);
	put(c->p, "n", "65535");
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 68, 65535, &v), 0);
	assert_int_equal(v, 65535);
	v = 7;
	put(c->p, "n", "67");
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 68, 65535, &v), -EINVAL);
	put(c->p, "n", "65536");
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 68, 65535, &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on failure */
	put(c->p, "n", "4294967295");
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 0, UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
}

static void read_ulong_untrusted_text(void **state)
{
	static const char *const bad[] = {
		"", "abc", "12x", "1.5", "-1", " -1", "-0", "0x10",
		"99999999999999999999999999",
	};
	struct ctx *c = *state;
	unsigned long v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		put(c->p, "n", bad[i]);
		if (sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 0, ULONG_MAX, &v) != -EINVAL)
			fail_msg("\"%s\" was not refused", bad[i]);
		assert_int_equal(v, 7);
	}
	/* What strtoul itself takes in front of the digits still passes. */
	put(c->p, "n", "+5");
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "n", 0, 9, &v), 0);
	assert_int_equal(v, 5);
}

static void read_missing_and_dir_itself(void **state)
{
	struct ctx *c = *state;
	unsigned long v = 7;
	char *s = (char *)&v;

	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR, "nope", 0, 9, &v), -ENOENT);
	assert_int_equal(v, 7);
	assert_int_equal(sn_xs_read_str(c->p, XBT_NULL, DIR, "nope", &s), -ENOENT);
	assert_int_equal(sn_xs_read_str(c->p, XBT_NULL, DIR, "state", &s), 0);
	assert_string_equal(s, "1");
	free(s);
	/* key NULL: dir is the whole path. */
	assert_int_equal(sn_xs_read_ulong(c->p, XBT_NULL, DIR "/state", NULL, 0, 9, &v), 0);
	assert_int_equal(v, 1);
}

static void read_bool_cases(void **state)
{
	static const struct {
		const char *val; /* NULL: key absent */
		bool want;
	} cases[] = {
		{ "1", true }, { "0", false }, { "2", false }, { "yes", false },
		{ "-1", false }, { "", false }, { NULL, false },
	};
	struct ctx *c = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool on = !cases[i].want; /* must be overwritten either way */

		c->p->ops->xs_rm(c->p, XBT_NULL, DIR "/f");
		if (cases[i].val)
			put(c->p, "f", cases[i].val);
		assert_int_equal(sn_xs_read_bool(c->p, XBT_NULL, DIR, "f", &on), 0);
		if (on != cases[i].want)
			fail_msg("\"%s\" read as %d", cases[i].val ? cases[i].val : "(absent)", on);
	}
}

static void printf_limits(void **state)
{
	struct ctx *c = *state;
	char big[SN_XS_PATH_MAX], *v;

	assert_int_equal(sn_xs_printf(c->p, XBT_NULL, DIR, "w", "%u-%s", 42u, "x"), 0);
	v = get(c->p, DIR "/w");
	assert_non_null(v);
	assert_string_equal(v, "42-x");
	free(v);

	memset(big, 'a', sizeof(big) - 1);
	big[300] = '\0';
	/* A value that does not fit is refused, not truncated. */
	assert_int_equal(sn_xs_printf(c->p, XBT_NULL, DIR, "w", "%s", big), -EINVAL);
	v = get(c->p, DIR "/w");
	assert_string_equal(v, "42-x");
	free(v);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sn_xs_printf(c->p, XBT_NULL, DIR, big, "1"), -ENAMETOOLONG);
}

static void write_if_present_gone(void **state)
{
	struct ctx *c = *state;
	char *v;

	assert_int_equal(sn_xs_write_if_present(c->p, DIR, "error", "boom"), 0);
	v = get(c->p, DIR "/error");
	assert_non_null(v);
	assert_string_equal(v, "boom");
	free(v);

	/* The toolstack removed the device: nothing may re-create it. */
	assert_int_equal(c->other->ops->xs_rm(c->other, XBT_NULL, DIR), 0);
	assert_int_equal(sn_xs_write_if_present(c->p, DIR, "state", "6"), -ENOENT);
	assert_null(get(c->p, DIR));
}

struct conflict {
	struct sn_plat *other;
	int calls;
	int conflicts; /* this many first tries are made to conflict */
	int fail_with; /* body error to return instead, 0 = none */
};

/* Reads the key, then (while told to) lets the other connection change it
 * before the commit, which makes the daemon refuse the commit (EAGAIN). */
static int conflict_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	struct conflict *k = arg;
	char *v = NULL;
	int rc;

	k->calls++;
	rc = sn_xs_read_str(p, t, DIR, "n", &v);
	free(v);
	if (rc)
		return rc;
	if (k->calls <= k->conflicts)
		assert_int_equal(sn_xs_printf(k->other, XBT_NULL, DIR, "n", "%d", k->calls), 0);
	rc = sn_xs_printf(p, t, DIR, "n", "mine");
	return rc ? rc : k->fail_with;
}

static void txn_retries_conflict(void **state)
{
	struct ctx *c = *state;
	struct conflict k = { .other = c->other, .conflicts = 2 };
	char *v;

	put(c->p, "n", "0");
	assert_int_equal(sn_xs_txn(c->p, conflict_body, &k), 0);
	assert_int_equal(k.calls, 3);
	v = get(c->p, DIR "/n");
	assert_string_equal(v, "mine");
	free(v);
}

static void txn_gives_up_at_the_limit(void **state)
{
	struct ctx *c = *state;
	struct conflict k = { .other = c->other, .conflicts = 1 << 20 };
	char *v;

	put(c->p, "n", "0");
	assert_int_equal(sn_xs_txn(c->p, conflict_body, &k), -EAGAIN);
	assert_int_equal(k.calls, SN_XS_TXN_TRIES);
	v = get(c->p, DIR "/n");
	assert_string_not_equal(v, "mine");
	free(v);
}

static void txn_body_error_aborts(void **state)
{
	struct ctx *c = *state;
	struct conflict k = { .other = c->other, .fail_with = -EPROTO };
	char *v;

	put(c->p, "n", "0");
	assert_int_equal(sn_xs_txn(c->p, conflict_body, &k), -EPROTO);
	assert_int_equal(k.calls, 1);
	v = get(c->p, DIR "/n");
	assert_string_equal(v, "0"); /* the body's write was rolled back */
	free(v);
}

/* The emulated dom_instance: present while the domain's process holds its
 * registration, a different string for the next domain under that domid,
 * -ESRCH once none runs. */
static void emu_dom_instance(void **state)
{
	struct ctx *c = *state;
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = 77 };
	struct sn_plat *dom;
	char *first = NULL, *second = NULL, *none = NULL;
	unsigned long base;
	void *hold;
	int rc = 0;

	assert_int_equal(c->p->ops->dom_instance(c->p, 77, &none), -ESRCH);
	assert_int_equal(sn_plat_open(&cfg, &dom), 0);
	assert_int_equal(c->p->ops->dom_instance(c->p, 77, &first), 0);
	sn_plat_close(dom);
	/* The host drops the registration when the connection closes. */
	for (int i = 0; i < 500; i++) {
		rc = c->p->ops->dom_instance(c->p, 77, &none);
		if (rc == -ESRCH)
			break;
		free(none);
		none = NULL;
		poll(NULL, 0, 10);
	}
	assert_int_equal(rc, -ESRCH);
	/* Same process, so the same pid: hold the first one's RAM address so
	 * the second domain's RAM lands elsewhere, as in another process. */
	assert_int_equal(sscanf(first, "%*d/%lx", &base), 1);
	hold = mmap((void *)base, SN_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(hold, (void *)base);
	assert_int_equal(sn_plat_open(&cfg, &dom), 0);
	assert_int_equal(c->p->ops->dom_instance(c->p, 77, &second), 0);
	assert_string_not_equal(first, second);
	sn_plat_close(dom);
	munmap(hold, SN_PAGE_SIZE);
	free(first);
	free(second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_ulong_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(read_ulong_untrusted_text, setup, teardown),
		cmocka_unit_test_setup_teardown(read_missing_and_dir_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(read_bool_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(printf_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(write_if_present_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(txn_retries_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(txn_gives_up_at_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(txn_body_error_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(emu_dom_instance, setup, teardown),
	};

	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
