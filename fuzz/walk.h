/* Hostile-ring walkers shared by the fuzz harnesses and tests/hostile: each
 * drives the real proto/ code over a ring page a peer filled, the way the
 * datapath loop does, and checks the invariants every input must keep.  A
 * walker returns NULL, or the text of the invariant that broke. */
#ifndef SN_FUZZ_WALK_H
#define SN_FUZZ_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/rxrsp.h"
#include "proto/txreq.h"

/* Backend TX: parse at req_cons, answer every consumed slot (OKAY/ERROR,
 * NULL for extras), consume, push, until the ring is empty or the
 * frontend is judged rogue. */
struct walk_tx {
	unsigned int iters, ok, dropped, slots;
	bool fatal;
	enum sn_txreq_reason reason; /* of the fatal verdict */
};
const char *walk_tx_ring(struct netif_tx_back_ring *r, struct walk_tx *out);

/* Frontend RX: posted requests are outstanding from rsp_cons; parse chains
 * until none is left or the backend is judged broken. */
struct walk_rx {
	unsigned int iters, ok, errors, slots;
	bool broken;
};
const char *walk_rx_ring(struct netif_rx_front_ring *r, struct walk_rx *out);

/* Frontend TX responses against the in-flight ids in *pending (cleared as
 * they complete). */
struct walk_txrsp {
	unsigned int done, done_error, skipped;
	bool broken;
	enum sn_txrsp_result why; /* of the broken verdict */
};
const char *walk_txrsp_ring(struct netif_tx_front_ring *r,
			    struct sn_idmap *pending, struct walk_txrsp *out);

#endif
