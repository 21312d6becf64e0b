/* A hostile frontend at the xenstore level: through its own platform (the
 * connection the emulated host knows as its domain) it tries to rewrite the
 * backend's directory after the handshake, as a Xen guest could not: every
 * attempt gets EACCES from `stagenet host`, the backend's keys are unchanged
 * and the vif keeps carrying traffic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/main.h"
#include "stagenet/front.h"

static uint32_t pkt_len(unsigned int i)
{
	return 60 + (i % 1400);
}

static void write_denied(struct sn_plat *p, const char *path, const char *val)
{
	assert_int_equal(p->ops->xs_write(p, XBT_NULL, path, val, (unsigned int)strlen(val)),
			 -EACCES);
}

static void guest_cannot_rewrite_backend_keys(void **state)
{
	struct sn_test_world *w = sn_test_world_open(8192, pkt_len);
	struct sn_plat *fe;
	char be[128], path[192], *v = NULL;
	unsigned int len;

	*state = w;
	fe = w->fe;
	sn_test_back_start(&w->b, w->be, 1, false);
	sn_test_front_connect(fe, &w->nic, 1, SN_STAGING_OFF);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/%u/0", w->be->domid, fe->domid);

	/* Its state, features and the path back to the frontend. */
	snprintf(path, sizeof(path), "%s/state", be);
	write_denied(fe, path, "6");
	snprintf(path, sizeof(path), "%s/feature-sg", be);
	write_denied(fe, path, "0");
	snprintf(path, sizeof(path), "%s/frontend", be);
	write_denied(fe, path, "/local/domain/0");
	snprintf(path, sizeof(path), "%s/multi-queue-max-queues", be);
	write_denied(fe, path, "64");
	/* Nor remove it, take it over, or add a vif the toolstack never made. */
	assert_int_equal(fe->ops->xs_rm(fe, XBT_NULL, be), -EACCES);
	assert_int_equal(fe->ops->xs_set_perms(fe, XBT_NULL, be,
		(struct xs_permissions[]){ { .id = fe->domid, .perms = XS_PERM_NONE } }, 1), -EACCES);
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vif/%u/1/state", w->be->domid,
		 fe->domid);
	write_denied(fe, path, "1");
	/* dom0's keys neither. */
	write_denied(fe, "/local/domain/0/name", "x");

	snprintf(path, sizeof(path), "%s/state", be);
	assert_int_equal(w->be->ops->xs_read(w->be, XBT_NULL, path, &v, &len), 0);
	assert_string_equal(v, "4");
	free(v);
	sn_test_guest_tx(w->nic, &w->b, w->pp, 1, 200, 20000);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(guest_cannot_rewrite_backend_keys, sn_test_world_teardown),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
