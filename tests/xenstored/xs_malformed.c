/* Hostile clients on the raw socket: bad lengths, missing NULs, unknown
 * types, disconnects mid message, a watch-event flood to a client that never
 * reads (XSA-349), a request flood without reading replies.  Each gets an
 * error reply or a closed connection, and a fresh client is still served. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "common/host_fixture.h"
#include "checked_stop.h"

#define IO_TIMEOUT_MS 5000

static int setup(void **state)
{
	struct sn_test_host *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(sn_test_host_start(h), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct sn_test_host *h = *state;

	stop_host_checked(h);
	free(h);
	return 0;
}

static int raw_connect(const struct sn_test_host *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(h->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, h->path, strlen(h->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void send_msg(int fd, uint32_t type, uint32_t tx, const void *pl,
		     uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = 77, .tx_id = tx,
				 .len = len };

	send_all(fd, &h, sizeof(h));
	if (len)
		send_all(fd, pl, len);
}

/* Read exactly len bytes; 0, or -ECONNRESET when the daemon closed. */
static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, IO_TIMEOUT_MS), 1);
		n = recv(fd, p, len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return -ECONNRESET;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_msg(int fd, struct xsd_sockmsg *h, char *buf)
{
	int rc = recv_all(fd, h, sizeof(*h));

	if (rc)
		return rc;
	assert_true(h->len <= XENSTORE_PAYLOAD_MAX);
	rc = recv_all(fd, buf, h->len);
	buf[h->len] = '\0';
	return rc;
}

static void expect_error(int fd, const char *name)
{
	struct xsd_sockmsg h;
	char buf[XENSTORE_PAYLOAD_MAX + 1];

	assert_int_equal(recv_msg(fd, &h, buf), 0);
	assert_int_equal(h.type, XS_ERROR);
	assert_int_equal(h.req_id, 77);
	assert_string_equal(buf, name);
}

static void expect_closed(int fd)
{
	char b;

	assert_int_equal(recv_all(fd, &b, 1), -ECONNRESET);
}

/* A fresh libxenstore client gets served: the daemon survived. */
static void assert_alive(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned int len;
	char *v;

	assert_non_null(xs);
	assert_true(xs_write(xs, XBT_NULL, "/alive", "yes", 3));
	v = xs_read(xs, XBT_NULL, "/alive", &len);
	assert_non_null(v);
	assert_string_equal(v, "yes");
	free(v);
	xs_close(xs);
}

static void oversized_length_is_refused_and_closed(void **state)
{
	struct sn_test_host *h = *state;
	struct xsd_sockmsg m = { .type = XS_READ, .req_id = 77,
				 .len = XENSTORE_PAYLOAD_MAX + 1 };
	int fd = raw_connect(h);

	send_all(fd, &m, sizeof(m));
	expect_error(fd, "E2BIG");
	expect_closed(fd);
	close(fd);

	fd = raw_connect(h);
	m.len = 0xFFFFFFFFu;
	send_all(fd, &m, sizeof(m));
	expect_error(fd, "E2BIG");
	expect_closed(fd);
	close(fd);
	assert_alive();
}

static void missing_nul_and_bad_args_are_einval(void **state)
{
	struct sn_test_host *h = *state;
	int fd = raw_connect(h);
	static const char perms_bad[] = "/a\0x5";
	static const char perms_bad2[] = "/a\0n";
	static const char dirpart_bad[] = "/\0abc";

	send_msg(fd, XS_READ, 0, "/local", 6); /* no NUL */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_WRITE, 0, "/local", 6); /* no separator at all */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_READ, 0, NULL, 0); /* empty payload */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_READ, 0, "/a\0/b", 6); /* two strings for one arg */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_MKDIR, 0, "/a\0junk", 8);
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_SET_PERMS, 0, perms_bad, sizeof(perms_bad));
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_SET_PERMS, 0, perms_bad2, sizeof(perms_bad2));
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_SET_PERMS, 0, "/a", 3); /* no perms at all */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_WATCH, 0, "/a", 3); /* no token */
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_DIRECTORY_PART, 0, dirpart_bad, sizeof(dirpart_bad));
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_GET_DOMAIN_PATH, 0, "abc", 4);
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_GET_DOMAIN_PATH, 0, "99999", 6);
	expect_error(fd, "EINVAL");
	send_msg(fd, XS_TRANSACTION_END, 0, "T", 2); /* no txn */
	expect_error(fd, "ENOENT");
	send_msg(fd, XS_READ, 12345, "/", 2); /* unknown txn id */
	expect_error(fd, "ENOENT");
	/* The connection is still usable after all that. */
	send_msg(fd, XS_READ, 0, "/local", 7);
	{
		struct xsd_sockmsg r;
		char buf[XENSTORE_PAYLOAD_MAX + 1];

		assert_int_equal(recv_msg(fd, &r, buf), 0);
		assert_int_equal(r.type, XS_READ);
		assert_int_equal(r.len, 0);
	}
	close(fd);
	assert_alive();
}

static void unknown_types_are_enosys(void **state)
{
	struct sn_test_host *h = *state;
	static const uint32_t types[] = { XS_TYPE_COUNT, 20, 999, XS_INVALID,
					  0xFFFFFFFFu, XS_WATCH_EVENT, XS_ERROR,
					  XS_INTRODUCE, XS_SET_TARGET };
	int fd = raw_connect(h);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		send_msg(fd, types[i], 0, "x", 2);
		expect_error(fd, "ENOSYS");
	}
	close(fd);
	assert_alive();
}

static void length_mismatch_and_partial_messages(void **state)
{
	struct sn_test_host *h = *state;
	struct xsd_sockmsg m = { .type = XS_WRITE, .req_id = 77, .len = 100 };
	int fd;

	/* Disconnect mid header. */
	fd = raw_connect(h);
	send_all(fd, &m, 7);
	close(fd);
	assert_alive();
	/* Disconnect mid payload. */
	fd = raw_connect(h);
	send_all(fd, &m, sizeof(m));
	send_all(fd, "/half", 5);
	close(fd);
	assert_alive();
	/* A short len: the rest of the payload is read as the next header,
	 * which here claims an absurd length, so the client is dropped. */
	fd = raw_connect(h);
	{
		char buf[sizeof(m) + 3 + 16];
		struct xsd_sockmsg junk = { .type = 0x41414141, .req_id = 77,
					    .len = 0x41414141 };

		m.type = XS_READ;
		m.len = 2; /* "/a" without its NUL */
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), "/a", 2);
		memcpy(buf + sizeof(m) + 2, &junk, sizeof(junk));
		send_all(fd, buf, sizeof(m) + 2 + sizeof(junk));
	}
	expect_error(fd, "EINVAL");
	expect_error(fd, "E2BIG");
	expect_closed(fd);
	close(fd);
	/* A client stuck mid message does not hold up others. */
	fd = raw_connect(h);
	m.len = 50;
	send_all(fd, &m, sizeof(m));
	send_all(fd, "/x", 2);
	assert_alive();
	close(fd);
	assert_alive();
}

/* XSA-349: events to a client that never reads are capped, not queued
 * without bound, and the daemon keeps serving everyone else. */
static void watch_event_flood_is_bounded(void **state)
{
	struct sn_test_host *h = *state;
	enum { WRITES = 3000, TOKEN = 2000 };
	char token[TOKEN + 1], payload[8 + TOKEN + 1];
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg r;
	struct xs_handle *w;
	int fd = raw_connect(h), events = 0;

	memset(token, 't', TOKEN);
	token[TOKEN] = '\0';
	memcpy(payload, "/flood", 7);
	memcpy(payload + 7, token, TOKEN + 1);
	send_msg(fd, XS_WATCH, 0, payload, 7 + TOKEN + 1);
	assert_int_equal(recv_msg(fd, &r, buf), 0);
	assert_int_equal(r.type, XS_WATCH);
	assert_int_equal(recv_msg(fd, &r, buf), 0);
	assert_int_equal(r.type, XS_WATCH_EVENT);

	/* Each write is answered only after its events were queued. */
	w = xs_open(0);
	assert_non_null(w);
	for (int i = 0; i < WRITES; i++)
		assert_true(xs_write(w, XBT_NULL, "/flood/n", "v", 1));
	xs_close(w);
	assert_alive();

	/* Now drain: a request sent after the flood is answered after the
	 * events that were kept. */
	send_msg(fd, XS_READ, 0, "/flood/n", 9);
	for (;;) {
		assert_int_equal(recv_msg(fd, &r, buf), 0);
		if (r.type != XS_WATCH_EVENT)
			break;
		assert_string_equal(buf, "/flood/n");
		assert_string_equal(buf + 9, token);
		events++;
	}
	assert_int_equal(r.type, XS_READ);
	print_message("flood: %d of %d events delivered\n", events, WRITES + 0);
	assert_true(events > 0);
	/* Queue cap (1024) plus what the kernel socket buffer held. */
	assert_true(events < WRITES);
	close(fd);
	assert_alive();
}

/* Requests sent without reading replies: the daemon stops reading from that
 * client instead of buffering replies without bound. */
static void request_flood_without_reading(void **state)
{
	struct sn_test_host *h = *state;
	int fd = raw_connect(h);
	char msg[sizeof(struct xsd_sockmsg) + 2];
	struct xsd_sockmsg m = { .type = XS_READ, .req_id = 77, .len = 2 };
	size_t sent = 0;

	memcpy(msg, &m, sizeof(m));
	memcpy(msg + sizeof(m), "/", 2);
	/* Until the socket is full both ways. */
	for (int i = 0; i < 200000; i++) {
		ssize_t n = send(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			break;
		sent += (size_t)n;
	}
	assert_true(sent > 0);
	assert_alive();
	close(fd);
	assert_alive();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(oversized_length_is_refused_and_closed),
		T(missing_nul_and_bad_args_are_einval),
		T(unknown_types_are_enosys),
		T(length_mismatch_and_partial_messages),
		T(watch_event_flood_is_bounded),
		T(request_flood_without_reading),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
