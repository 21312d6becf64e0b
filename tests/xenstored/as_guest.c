/* `as_guest DOMID COMMAND ARGS...`: register emulated domain DOMID with the
 * `stagenet host` at XENSTORED_PATH, then exec COMMAND in this same process,
 * so every connection it opens acts as that guest (the host resolves a
 * connection by its process, src/plat/emu/xenstored/perms.c).  The
 * registering connection stays open across the exec and closes when COMMAND
 * exits, which releases the domain.  Used by cli_tools.sh to run Debian's
 * xenstore tools as a guest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "plat/emu/emu.h"

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *sock = getenv("XENSTORED_PATH");
	char body[128], reply[64];
	struct xsd_sockmsg h = { .type = XS_WRITE };
	int fd, n, off;

	if (argc < 3 || !sock || strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: XENSTORED_PATH=... as_guest DOMID COMMAND [ARGS...]\n");
		return 2;
	}
	strcpy(sa.sun_path, sock);
	/* No SOCK_CLOEXEC: COMMAND inherits the registration. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("connect");
	off = snprintf(body, sizeof(body), SN_EMU_REG_ROOT "/%s/pid", argv[1]) + 1;
	off += snprintf(body + off, sizeof(body) - (size_t)off, "%d", (int)getpid());
	h.len = (uint32_t)off;
	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || write(fd, body, (size_t)off) != off)
		return fail("write");
	if (read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || h.len >= sizeof(reply))
		return fail("read");
	n = (int)read(fd, reply, h.len);
	if (n != (int)h.len)
		return fail("read");
	reply[n] = '\0';
	if (h.type == XS_ERROR) {
		fprintf(stderr, "as_guest: registering domain %s: %s\n", argv[1], reply);
		return 1;
	}
	execvp(argv[2], argv + 2);
	return fail(argv[2]);
}
