/* libFuzzer harness: arbitrary bytes as one client's stream into the
 * emulated host's xenstore daemon, in-process (xsd_drive.c runs the
 * daemon's own connection code over a socketpair).  A second client
 * watches "/" and never reads, so every change also goes through the
 * bounded event queue (XSA-349), checked after each input. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xsd_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xsd_sockmsg watch_req = { .type = XS_WATCH };
	struct xsd_conn *c, *w;
	int cfd, wfd;
	size_t off = 0;
	struct xsd d;

	/* Inputs must fit the socket buffer; 64 KiB is many 4 KiB payloads. */
	if (size > 65536)
		return -1;
	if (xsdrv_init(&d))
		abort();
	w = xsdrv_connect(&d, &wfd);
	c = xsdrv_connect(&d, &cfd);
	if (!w || !c || xsd_watch_add(&d, w, "/", "fuzz", &watch_req) != 1)
		abort();
	if (!size)
		shutdown(cfd, SHUT_WR);
	/* Feed as the socket takes it, EOF after the last byte; replies are
	 * drained as a client would, the watcher's never are. */
	for (int rounds = 0; rounds < 100000; rounds++) {
		if (off < size) {
			ssize_t n = send(cfd, data + off, size - off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0)
				off += (size_t)n;
			if (off == size)
				shutdown(cfd, SHUT_WR);
		}
		if (!xsdrv_step(&d, c))
			break;
		drain(cfd);
	}
	if (!c->dead) {
		fprintf(stderr, "daemon never finished the input\n");
		abort();
	}
	if (w->events_pending > XSD_MAX_EVENTS_PENDING) {
		fprintf(stderr, "watch queue unbounded: %u\n", w->events_pending);
		abort();
	}
	close(cfd);
	close(wfd);
	xsdrv_fini(&d);
	return 0;
}
