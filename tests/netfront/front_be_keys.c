/* Netfront against a backend whose required key is not what it needs: the
 * connect fails and the log says which key and why, since each reason
 * points elsewhere (missing: a backend that never wrote it or a directory
 * made anew behind it; not 1: a backend without copy; unreadable: the
 * directory's permissions). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/host_fixture.h"
#include "common/main.h"
#include "common/peer_back.h"
#include "stagenet/front.h"

struct logbuf {
	char text[4096];
	size_t len;
};

/* Each line appended, cut at the buffer's end. */
static void log_to_buf(void *arg, const char *fmt, va_list ap)
{
	struct logbuf *l = arg;
	size_t room = sizeof(l->text) - l->len;
	int n;

	if (room < 2)
		return;
	n = vsnprintf(l->text + l->len, room - 1, fmt, ap);
	if (n < 0)
		return;
	l->len += (size_t)n < room - 2 ? (size_t)n : room - 2;
	l->text[l->len++] = '\n';
	l->text[l->len] = '\0';
}

/* Open devid against the crafted backend, let it reach InitWait, and
 * return what the connect step came to; the log in *l. */
static int connect_once(struct fb_world *t, uint16_t devid, struct logbuf *l)
{
	struct sn_front_cfg cfg = { .devid = devid, .queues = 1,
				    .log = { .fn = log_to_buf, .arg = l } };
	enum sn_front_event ev;
	int rc;

	assert_int_equal(sn_front_open(t->fe, &cfg, &t->nic), 0);
	fb_set_state(&t->fb, XenbusStateInitWait);
	rc = sn_front_poll_ctrl(t->nic, &ev);
	/* Refused before anything was granted or announced. */
	assert_null(fb_fe_read(&t->fb, "tx-ring-ref"));
	fb_set_state(&t->fb, XenbusStateClosed);
	sn_front_close(t->nic, 2000);
	t->nic = NULL;
	t->be->ops->evt_close(t->fb.evt);
	t->fb.evt = NULL;
	return rc;
}

static void missing_rx_copy_is_said_missing(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .keys.k[SN_PEER_RX_COPY] = SN_PEER_OMIT };
	struct logbuf l = { .len = 0 };

	fb_init(&t->fb, t->be, t->fe->domid, 0, &f);
	assert_int_equal(connect_once(t, 0, &l), -EPROTONOSUPPORT);
	if (!strstr(l.text, "lacks feature-rx-copy: key missing"))
		fail_msg("log: %s", l.text);
}

static void rx_copy_zero_is_said_not_1(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { .keys.k[SN_PEER_RX_COPY] = SN_PEER_OFF };
	struct logbuf l = { .len = 0 };

	fb_init(&t->fb, t->be, t->fe->domid, 1, &f);
	assert_int_equal(connect_once(t, 1, &l), -EPROTONOSUPPORT);
	if (!strstr(l.text, "lacks feature-rx-copy: not 1"))
		fail_msg("log: %s", l.text);
}

/* Present but readable by the backend alone: EACCES, said as such, not
 * taken for a backend without the feature. */
static void unreadable_rx_copy_is_said_unreadable(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	const struct xs_permissions own[1] = { { .id = t->be->domid, .perms = XS_PERM_NONE } };
	struct logbuf l = { .len = 0 };
	char path[200];

	fb_init(&t->fb, t->be, t->fe->domid, 2, &f);
	snprintf(path, sizeof(path), "%s/feature-rx-copy", t->fb.be);
	assert_int_equal(t->be->ops->xs_set_perms(t->be, XBT_NULL, path, own, 1), 0);
	assert_int_equal(connect_once(t, 2, &l), -EACCES);
	if (!strstr(l.text, "lacks feature-rx-copy: cannot read it: Permission denied"))
		fail_msg("log: %s", l.text);
}

/* Any other key the frontend reads: an unreadable one is named. */
static void unreadable_feature_key_is_named(void **state)
{
	struct fb_world *t = *state;
	struct fb_features f = { 0 };
	const struct xs_permissions own[1] = { { .id = t->be->domid, .perms = XS_PERM_NONE } };
	struct logbuf l = { .len = 0 };
	char path[200], want[240];

	fb_init(&t->fb, t->be, t->fe->domid, 3, &f);
	snprintf(path, sizeof(path), "%s/feature-sg", t->fb.be);
	assert_int_equal(t->be->ops->xs_set_perms(t->be, XBT_NULL, path, own, 1), 0);
	assert_int_equal(connect_once(t, 3, &l), -EACCES);
	snprintf(want, sizeof(want), "cannot read %s: Permission denied", path);
	if (!strstr(l.text, want))
		fail_msg("log: %s", l.text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fb_world_setup, fb_world_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(missing_rx_copy_is_said_missing),
		T(rx_copy_zero_is_said_not_1),
		T(unreadable_rx_copy_is_said_unreadable),
		T(unreadable_feature_key_is_named),
	};

	sn_test_filter(argc, argv);
	return cmocka_run_group_tests(tests, sn_test_host_group_setup,
				      sn_test_host_group_teardown);
}
