/* Unit tests of the real-Xen platform that need no hypervisor: the errno to
 * GNTST mapping of failed maps, and a clean, explained failure of open()
 * on a machine without /dev/xen. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plat/xen.h"
#include "stagenet/plat.h"

static void map_errno_einval_is_bad_gntref(void **state)
{
	(void)state;
	assert_int_equal(sn_xen_map_errno_to_gntst(EINVAL), GNTST_bad_gntref);
}

static void map_errno_eperm_eacces_are_permission_denied(void **state)
{
	(void)state;
	assert_int_equal(sn_xen_map_errno_to_gntst(EPERM),
			 GNTST_permission_denied);
	assert_int_equal(sn_xen_map_errno_to_gntst(EACCES),
			 GNTST_permission_denied);
}

static void map_errno_resource_and_domain_codes(void **state)
{
	(void)state;
	assert_int_equal(sn_xen_map_errno_to_gntst(ESRCH), GNTST_bad_domain);
	assert_int_equal(sn_xen_map_errno_to_gntst(ENOMEM), GNTST_no_space);
	assert_int_equal(sn_xen_map_errno_to_gntst(ENOSPC), GNTST_no_space);
	assert_int_equal(sn_xen_map_errno_to_gntst(EAGAIN), GNTST_eagain);
}

static void map_errno_never_okay(void **state)
{
	(void)state;
	/* A failed map must never be reported as mapped, whatever errno the
	 * library left behind (including 0). */
	for (int e = 0; e < 200; e++)
		assert_int_not_equal(sn_xen_map_errno_to_gntst(e), GNTST_okay);
	assert_int_equal(sn_xen_map_errno_to_gntst(EIO), GNTST_general_error);
	assert_int_equal(sn_xen_map_errno_to_gntst(0), GNTST_general_error);
}

/* Without Xen, opening the xen platform must fail with -errno and say
 * which device is missing, not crash or return a half-built context. */
static void open_without_xen_names_the_device(void **state)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_XEN };
	struct sn_plat *p = NULL;
	char tmpl[] = "/tmp/sn-xen-unit-XXXXXX";
	char buf[1024];
	int fd, saved, rc;
	ssize_t n;

	(void)state;
	if (access("/dev/xen", F_OK) == 0) {
		print_message("skip: /dev/xen exists, this checks its absence\n");
		skip();
	}
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	unlink(tmpl);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);

	rc = sn_plat_open(&cfg, &p);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';

	assert_true(rc < 0);
	assert_int_not_equal(rc, -ENOSYS);
	assert_null(p);
	assert_non_null(strstr(buf, "/dev/xen/gntdev"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_errno_einval_is_bad_gntref),
		cmocka_unit_test(map_errno_eperm_eacces_are_permission_denied),
		cmocka_unit_test(map_errno_resource_and_domain_codes),
		cmocka_unit_test(map_errno_never_okay),
		cmocka_unit_test(open_without_xen_names_the_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
