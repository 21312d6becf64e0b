/* The daemon's node tree on its own: copy-on-write snapshots stay frozen
 * while the live tree changes, generations move only on real changes, path
 * canonicalisation, and the byte/node accounting returns to its baseline
 * (nothing leaks into the global caps). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plat/emu/xenstored/xsd.h"

static void value_is(struct xsd_node *root, const char *path, const char *v)
{
	struct xsd_node *n = xsd_tree_get(root, path);

	assert_non_null(n);
	assert_int_equal(n->vlen, strlen(v));
	assert_memory_equal(n->value, v, n->vlen);
}

static void snapshot_is_frozen(void **state)
{
	struct xsd_store st;
	struct xsd_node *snap;
	uint64_t nodes0, bytes0;

	(void)state;
	assert_int_equal(xsd_store_init(&st), 0);
	nodes0 = st.nodes;
	bytes0 = st.bytes;
	assert_int_equal(xsd_tree_write(&st, &st.root, "/a/b", "1", 1), 0);
	snap = st.root;
	xsd_node_get(snap);
	assert_int_equal(xsd_tree_write(&st, &st.root, "/a/b", "2", 1), 0);
	assert_int_equal(xsd_tree_write(&st, &st.root, "/a/c", "3", 1), 0);
	assert_int_equal(xsd_tree_rm(&st, &st.root, "/local", NULL, NULL), 0);
	/* The snapshot still has the old world... */
	value_is(snap, "/a/b", "1");
	assert_null(xsd_tree_get(snap, "/a/c"));
	assert_non_null(xsd_tree_get(snap, "/local/domain/0"));
	/* ...the live tree the new one. */
	value_is(st.root, "/a/b", "2");
	value_is(st.root, "/a/c", "3");
	assert_null(xsd_tree_get(st.root, "/local"));
	xsd_node_put(&st, snap);
	assert_int_equal(xsd_tree_rm(&st, &st.root, "/a", NULL, NULL), 0);
	assert_int_equal(xsd_tree_mkdir(&st, &st.root, "/local/domain/0"), 0);
	/* Back to the initial shape: accounting balanced. */
	assert_int_equal(st.nodes, nodes0);
	assert_true(st.bytes <= bytes0 + 64); /* children arrays may stay grown */
	xsd_store_fini(&st);
	assert_int_equal(st.nodes, 0);
	assert_int_equal(st.bytes, 0);
}

static void generation_moves_on_change_only(void **state)
{
	struct xsd_store st;
	struct xsd_node *n;
	uint64_t g_parent, g_node;

	(void)state;
	assert_int_equal(xsd_store_init(&st), 0);
	assert_int_equal(xsd_tree_write(&st, &st.root, "/g/x", "1", 1), 0);
	g_parent = xsd_tree_get(st.root, "/g")->gen;
	g_node = xsd_tree_get(st.root, "/g/x")->gen;
	/* mkdir of an existing node changes nothing. */
	assert_int_equal(xsd_tree_mkdir(&st, &st.root, "/g/x"), 1);
	assert_int_equal(xsd_tree_get(st.root, "/g/x")->gen, g_node);
	/* A value change moves the node's generation, not the parent's. */
	assert_int_equal(xsd_tree_write(&st, &st.root, "/g/x", "2", 1), 0);
	n = xsd_tree_get(st.root, "/g/x");
	assert_true(n->gen > g_node);
	assert_int_equal(xsd_tree_get(st.root, "/g")->gen, g_parent);
	/* A new child moves the parent's. */
	assert_int_equal(xsd_tree_write(&st, &st.root, "/g/y", "", 0), 0);
	assert_true(xsd_tree_get(st.root, "/g")->gen > g_parent);
	/* rm of a missing node under an existing parent: no change. */
	assert_int_equal(xsd_tree_rm(&st, &st.root, "/g/zz", NULL, NULL), 1);
	assert_int_equal(xsd_tree_rm(&st, &st.root, "/nope/zz", NULL, NULL), -ENOENT);
	assert_int_equal(xsd_tree_rm(&st, &st.root, "/", NULL, NULL), -EINVAL);
	xsd_store_fini(&st);
}

static void path_canonicalisation(void **state)
{
	static const struct { const char *in, *out; int rc; } cases[] = {
		{ "/", "/", 0 },
		{ "/a/b-c_d@e", "/a/b-c_d@e", 0 },
		{ "rel", "/local/domain/0/rel", 0 },
		{ "", NULL, -EINVAL },
		{ "/a/", NULL, -EINVAL },
		{ "/a//b", NULL, -EINVAL },
		{ "/a b", NULL, -EINVAL },
		{ "/a\x01", NULL, -EINVAL },
		{ "a/", NULL, -EINVAL },
	};
	char out[XENSTORE_ABS_PATH_MAX + 1], big[XENSTORE_ABS_PATH_MAX + 2];
	bool rel;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(xsd_path_canon(cases[i].in, out, &rel), cases[i].rc);
		if (!cases[i].rc)
			assert_string_equal(out, cases[i].out);
	}
	memset(big, 'x', sizeof(big));
	big[0] = '/';
	big[XENSTORE_ABS_PATH_MAX] = '\0';
	assert_int_equal(xsd_path_canon(big, out, &rel), 0);
	big[XENSTORE_ABS_PATH_MAX] = 'x';
	big[XENSTORE_ABS_PATH_MAX + 1] = '\0';
	assert_int_equal(xsd_path_canon(big, out, &rel), -EINVAL);
	assert_true(xsd_path_is_under("/a/b", "/a"));
	assert_true(xsd_path_is_under("/a", "/a"));
	assert_false(xsd_path_is_under("/ab", "/a"));
	assert_true(xsd_path_is_under("/ab", "/"));
}

static void perms_validation(void **state)
{
	(void)state;
	assert_int_equal(xsd_perms_valid("n0", 3), 0);
	assert_int_equal(xsd_perms_valid("b5\0r7\0w65535", 13), 0);
	assert_int_equal(xsd_perms_valid("x5", 3), -EINVAL);
	assert_int_equal(xsd_perms_valid("n", 2), -EINVAL);
	assert_int_equal(xsd_perms_valid("n0", 2), -EINVAL); /* no NUL */
	assert_int_equal(xsd_perms_valid("r65536", 7), -EINVAL);
	assert_int_equal(xsd_perms_valid("r5x", 4), -EINVAL);
	assert_int_equal(xsd_perms_valid("", 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snapshot_is_frozen),
		cmocka_unit_test(generation_moves_on_change_only),
		cmocka_unit_test(path_canonicalisation),
		cmocka_unit_test(perms_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
