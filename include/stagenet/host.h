/* The emulated Xen host (`stagenet host`): its xenstore daemon, which also
 * keeps the emulated domain registry.  The one entry point the command
 * needs; the daemon's internals stay in src/plat/emu/xenstored/. */
#ifndef STAGENET_HOST_H
#define STAGENET_HOST_H

#include <stdbool.h>

struct sn_xsd_cfg {
	/* Directory for the socket; NULL = a fresh mkdtemp directory under
	 * $XDG_RUNTIME_DIR (or /tmp), removed again at shutdown. */
	const char *dir;
	/* Called once, when the socket accepts connections. */
	void (*ready)(void *arg, const char *sock_path);
	void *ready_arg;
	bool quiet; /* no log lines on stderr */
};

/* Serve until SIGINT/SIGTERM (blocked and taken through a signalfd).
 * Returns 0 after a clean shutdown (socket removed), -errno on setup
 * failure. */
int sn_xsd_run(const struct sn_xsd_cfg *cfg);

#endif
