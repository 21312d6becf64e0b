/* Runtime test of the real-Xen platform inside a Xen domain: xenstore
 * domid, an event channel looped back to ourselves, and our own gntalloc
 * grants used through gntdev (map and copy).  Skips (exit 77) without
 * /dev/xen, so it builds and runs everywhere. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stagenet/plat.h"

#define MESON_SKIP 77

static int setup(void **state)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_XEN };
	struct sn_plat *p = NULL;
	int rc;

	rc = sn_plat_open(&cfg, &p);
	if (rc) {
		print_error("sn_plat_open(xen): %s\n", strerror(-rc));
		return -1;
	}
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	sn_plat_close(*state);
	return 0;
}

static void domid_matches_xenstore(void **state)
{
	struct sn_plat *p = *state;
	char *val = NULL;
	unsigned int len = 0;

	assert_string_equal(p->ops->name, "xen");
	assert_int_equal(p->ops->xs_read(p, XBT_NULL, "domid", &val, &len), 0);
	assert_non_null(val);
	assert_int_equal(strtoul(val, NULL, 10), p->domid);
	assert_true(p->domid < DOMID_FIRST_RESERVED);
	free(val);
}

/* Wait (bounded) for a pending event on e; returns the port or -errno. */
static int wait_pending(struct sn_plat *p, struct sn_evtchn *e)
{
	struct pollfd pfd = { .fd = p->ops->evt_fd(e), .events = POLLIN };

	for (int i = 0; i < 50; i++) {
		int port = p->ops->evt_pending(e);

		if (port != -EAGAIN)
			return port;
		poll(&pfd, 1, 100);
	}
	return -ETIMEDOUT;
}

static void evtchn_loopback_notify_and_pending(void **state)
{
	struct sn_plat *p = *state;
	struct sn_evtchn *a = NULL, *b = NULL;
	int pa, pb;

	assert_int_equal(p->ops->evt_open(p, &a), 0);
	assert_int_equal(p->ops->evt_open(p, &b), 0);
	assert_true(p->ops->evt_fd(a) >= 0);

	pa = p->ops->evt_alloc_unbound(a, p->domid);
	assert_true(pa >= 0);
	pb = p->ops->evt_bind_interdomain(b, p->domid, (sn_port_t)pa);
	assert_true(pb >= 0);

	/* Nothing sent yet: pending must not block and must say so. */
	assert_int_equal(p->ops->evt_pending(a), -EAGAIN);

	assert_int_equal(p->ops->evt_notify(b, (sn_port_t)pb), 0);
	assert_int_equal(wait_pending(p, a), pa);
	assert_int_equal(p->ops->evt_unmask(a, (sn_port_t)pa), 0);
	assert_int_equal(p->ops->evt_pending(a), -EAGAIN);

	/* And the other way round. */
	assert_int_equal(p->ops->evt_notify(a, (sn_port_t)pa), 0);
	assert_int_equal(wait_pending(p, b), pb);
	assert_int_equal(p->ops->evt_unmask(b, (sn_port_t)pb), 0);

	assert_int_equal(p->ops->evt_unbind(b, (sn_port_t)pb), 0);
	assert_int_equal(p->ops->evt_unbind(a, (sn_port_t)pa), 0);
	p->ops->evt_close(b);
	p->ops->evt_close(a);
}

static void own_grant_map_and_copy(void **state)
{
	struct sn_plat *p = *state;
	uint32_t refs[2], ref;
	uint8_t *shr = NULL, *m;
	uint8_t local[64];
	void *addr = NULL;
	int16_t st = 1;
	uint16_t dom = p->domid;
	sn_copy_seg seg;

	assert_int_equal(p->ops->shr_alloc(p, dom, 2, true, refs, &addr), 0);
	shr = addr;
	for (int i = 0; i < 2 * (int)SN_PAGE_SIZE; i++)
		assert_int_equal(shr[i], 0);
	memset(shr, 0xA5, SN_PAGE_SIZE);
	memset(shr + SN_PAGE_SIZE, 0x5A, SN_PAGE_SIZE);
	shr[SN_PAGE_SIZE + 100] = 0x42;

	/* Map page 0 through gntdev and see the same bytes both ways. */
	addr = NULL;
	assert_int_equal(p->ops->gnt_map(p, 1, &dom, &refs[0], true, &addr, &st),
			 0);
	assert_int_equal(st, GNTST_okay);
	assert_non_null(addr);
	m = addr;
	assert_int_equal(m[0], 0xA5);
	assert_int_equal(m[SN_PAGE_SIZE - 1], 0xA5);
	m[7] = 0x77;
	assert_int_equal(shr[7], 0x77);
	st = 1;
	assert_int_equal(p->ops->gnt_unmap(p, 1, &addr, &st), 0);
	assert_int_equal(st, GNTST_okay);

	/* A ref that was never granted fails in its status, not the call. */
	{
		uint32_t bad = 0x7FFFFFF0u;

		addr = (void *)1;
		st = GNTST_okay;
		assert_int_equal(p->ops->gnt_map(p, 1, &dom, &bad, false, &addr,
						 &st),
				 0);
		assert_int_not_equal(st, GNTST_okay);
		assert_null(addr);
	}

	/* Grant copy 64 bytes from page 1 at offset 64. */
	memset(&seg, 0, sizeof(seg));
	seg.source.foreign.ref = refs[1];
	seg.source.foreign.domid = dom;
	seg.source.foreign.offset = 64;
	seg.dest.virt = local;
	seg.len = sizeof(local);
	seg.flags = GNTCOPY_source_gref;
	memset(local, 0, sizeof(local));
	assert_int_equal(p->ops->gnt_copy(p, 1, &seg), 0);
	assert_int_equal(seg.status, GNTST_okay);
	assert_int_equal(local[0], 0x5A);
	assert_int_equal(local[36], 0x42); /* byte 100 of the page */

	/* A segment crossing the page end is a malformed batch. */
	seg.source.foreign.offset = SN_PAGE_SIZE - 32;
	assert_int_equal(p->ops->gnt_copy(p, 1, &seg), -EINVAL);

	/* shr_grant hands back the standing grant of a shr_alloc page and
	 * refuses any other page; revoke of it is a documented no-op. */
	assert_int_equal(p->ops->shr_grant(p, dom, shr + SN_PAGE_SIZE, false,
					   &ref),
			 0);
	assert_int_equal(ref, refs[1]);
	assert_int_equal(p->ops->shr_grant(p, dom, local - ((uintptr_t)local &
							    (SN_PAGE_SIZE - 1)),
					   false, &ref),
			 -EOPNOTSUPP);
	assert_int_equal(p->ops->shr_revoke(p, refs[1]), 0);

	assert_int_equal(p->ops->shr_free(p, shr, 2), 0);
	assert_int_equal(p->ops->shr_revoke(p, refs[1]), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(domid_matches_xenstore),
		cmocka_unit_test(evtchn_loopback_notify_and_pending),
		cmocka_unit_test(own_grant_map_and_copy),
	};

	if (access("/dev/xen", F_OK) != 0) {
		printf("SKIP: /dev/xen is absent (not running in a Xen domain); "
		       "the real-Xen platform cannot be exercised here\n");
		return MESON_SKIP;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
