/* A crafted vhost-user back-end for tests: it listens on a socket, answers
 * the front-end's messages, maps the front-end's memory, and then moves
 * frames on the rings one at a time when the test asks, honestly or with
 * the lies a hostile switch could tell (README "vhost-user port"). */
#ifndef STAGENET_TEST_PEER_VHOST_H
#define STAGENET_TEST_PEER_VHOST_H

#include <stdbool.h>
#include <stdint.h>

struct peer_vhost;

/* How the next RX frame's used entry lies. */
enum peer_vhost_lie {
	PV_HONEST = 0,
	PV_LIE_JUMP,   /* used idx moves far past what was posted */
	PV_LIE_ID,     /* an id the front-end never posted */
	PV_LIE_LEN,    /* a length past the buffer */
};

/* Listen on path (replacing a stale socket) and serve connections, one at
 * a time, in a thread.  0 or -errno. */
int peer_vhost_listen(const char *path, struct peer_vhost **out);
/* Wait until session number n (1 = the first) has both rings enabled;
 * false after timeout_ms. */
bool peer_vhost_wait_session(struct peer_vhost *pv, unsigned int n, int timeout_ms);
/* Sessions whose connection ended (the front-end closed or reset it, or
 * peer_vhost_disconnect). */
unsigned int peer_vhost_ended(struct peer_vhost *pv);
/* Device -> front-end: put one frame (<= one buffer) on the RX queue and
 * notify.  0, or -EAGAIN when no buffer is posted. */
int peer_vhost_rx_put(struct peer_vhost *pv, const void *frame, uint32_t len,
		      enum peer_vhost_lie lie);
/* Front-end -> device: take one TX chain into buf (virtio-net header
 * stripped); its length, -EAGAIN when none is posted, -EMSGSIZE. */
int peer_vhost_tx_get(struct peer_vhost *pv, void *buf, uint32_t cap);
/* Close the current connection (a switch that crashed); the thread
 * accepts the next one. */
void peer_vhost_disconnect(struct peer_vhost *pv);
void peer_vhost_free(struct peer_vhost *pv);

#endif
