/* XSA-349 at the xenstore daemon: a client watches "/" and never reads while
 * another floods changes.  The daemon's real connection code runs in-process
 * (fuzz/xsd_drive.c, shared with the fuzz harness) so the test can look at
 * the watcher's queue directly: bounded, drops counted, and every other
 * client keeps being served. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "xsd_drive.h"

#define WRITES 20000u

static void send_msg(int fd, uint32_t type, const void *p, uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = 1, .len = len };
	char buf[sizeof(h) + 256];

	assert_true(len <= 256);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, len);
	assert_int_equal(send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL),
			 (ssize_t)(sizeof(h) + len));
}

/* Read exactly n bytes that the daemon already queued into the socket. */
static bool recv_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* One message; false when nothing (complete) is waiting. */
static bool recv_msg(int fd, struct xsd_sockmsg *h, char *payload)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, 0) != 1)
		return false;
	if (!recv_all(fd, h, sizeof(*h)))
		return false;
	assert_true(h->len <= XENSTORE_PAYLOAD_MAX);
	assert_true(recv_all(fd, payload, h->len));
	payload[h->len] = '\0';
	return true;
}

/* Send one request from client fd (daemon side c) and take its reply. */
static void request(struct xsd *d, struct xsd_conn *c, int fd, uint32_t type,
		    const void *p, uint32_t len, struct xsd_sockmsg *h,
		    char *payload)
{
	send_msg(fd, type, p, len);
	assert_true(xsdrv_step(d, c));
	assert_true(recv_msg(fd, h, payload));
}

static void xsa349_watch_flood(void **state)
{
	static char payload[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_conn *w, *b, *c;
	struct xsd_sockmsg h;
	uint32_t max_pending = 0, max_out = 0, events = 0;
	int wfd, bfd, cfd;
	struct xsd d;

	(void)state;
	assert_int_equal(xsdrv_init(&d), 0);
	w = xsdrv_connect(&d, &wfd);
	b = xsdrv_connect(&d, &bfd);
	c = xsdrv_connect(&d, &cfd);
	assert_non_null(w);
	assert_non_null(b);
	assert_non_null(c);

	/* The watcher registers through the wire like any client, takes
	 * the reply, then stops reading. */
	request(&d, w, wfd, XS_WATCH, "/\0flood", 8, &h, payload);
	assert_int_equal(h.type, XS_WATCH);

	for (uint32_t i = 0; i < WRITES; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "/flood/n%u", i % 97) + 1;

		memcpy(msg + n, "v", 1);
		request(&d, b, bfd, XS_WRITE, msg, (uint32_t)n + 1, &h, payload);
		/* Every write answered while the watcher is stuck. */
		assert_int_equal(h.type, XS_WRITE);
		assert_string_equal(payload, "OK");
		/* The daemon's loop also offers the watcher its output; its
		 * socket is full, so the queue must cap itself. */
		xsdrv_step(&d, w);
		if (w->events_pending > max_pending)
			max_pending = w->events_pending;
		if (w->out_bytes > max_out)
			max_out = w->out_bytes;
	}
	assert_true(max_pending <= XSD_MAX_EVENTS_PENDING);
	/* Each queued event holds at most a header, "/flood/nNN" and the
	 * token: memory is bounded by the cap, not by the flood. */
	assert_true(max_out <= XSD_MAX_EVENTS_PENDING * (sizeof(h) + 64));
	assert_true(w->events_dropped > 0);
	assert_false(w->dead);

	/* A third client is served normally during the backlog. */
	request(&d, c, cfd, XS_READ, "/flood/n5", 10, &h, payload);
	assert_int_equal(h.type, XS_READ);
	assert_string_equal(payload, "v");

	/* The watcher finally reads: what it gets plus what was dropped is
	 * every event the flood produced (+1 initial), none duplicated. */
	uint64_t dropped = w->events_dropped;

	for (int idle = 0; idle < 3;) {
		bool got = false;

		while (recv_msg(wfd, &h, payload)) {
			assert_int_equal(h.type, XS_WATCH_EVENT);
			events++;
			got = true;
		}
		assert_true(xsdrv_step(&d, w));
		idle = got ? 0 : idle + 1;
	}
	assert_int_equal(w->events_pending, 0);
	assert_int_equal(events + dropped, WRITES + 1);
	print_message("xsa349: %u events delivered, %llu dropped, peak queue %u\n",
		      events, (unsigned long long)dropped, max_pending);

	/* And the watcher is still a working client. */
	request(&d, w, wfd, XS_READ, "/flood/n1", 10, &h, payload);
	assert_int_equal(h.type, XS_READ);
	close(wfd);
	close(bfd);
	close(cfd);
	xsdrv_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xsa349_watch_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
