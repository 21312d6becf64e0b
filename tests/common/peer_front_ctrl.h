/* The crafted frontend's control-ring half, for netback's control-ring
 * server: two emulated domains in one process (a frontend that grants
 * pages and writes a control ring by hand, and the backend running the
 * real ctrl/staging/hash code, no xenstore and no data rings). */
#ifndef SN_TEST_PEER_FRONT_CTRL_H
#define SN_TEST_PEER_FRONT_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "back/ctrl.h"
#include "common/host_fixture.h"
#include "plat/emu/emu.h"

#define ENV_MAX_Q 4u

struct env {
	struct sn_plat *fp, *bp; /* frontend, backend */
	uint16_t fid, bid;
	unsigned int nq;
	uint32_t max; /* staging-max; 0 = off */

	/* frontend's view of the control ring */
	void *ring_page;
	uint32_t ring_ref;
	struct xen_netif_ctrl_front_ring ring;
	struct sn_evtchn *fevt;
	int fport;
	uint16_t next_id;

	/* Stand-ins for a queue's TX and RX ring pages (env_open_rings): the
	 * server is told they are the vif's ring grefs; nqring = 0 or 2. */
	unsigned int nqring;
	uint32_t qring_ref[2];
	uint8_t *qring;

	/* backend */
	struct sn_back_gref_table *tables[ENV_MAX_Q];
	struct sn_back_hash hash;
	struct sn_qstats st;
	struct sn_back_ctrl *ctrl;
};

/* Starts nothing global: the caller's group setup starts the host. */
void env_open(struct env *e, unsigned int nq, uint32_t max);
/* Same, plus two writable frontend pages (e->qring, e->qring_ref) passed
 * to the server as the vif's TX and RX ring grefs. */
void env_open_rings(struct env *e, unsigned int nq, uint32_t max);
void env_close(struct env *e);

/* One request through the ring: put, push, kick, let the backend serve it
 * (asserting the kick reached its fd), read the one response, check the
 * echoed id and type.  Returns the status; *data the response data. */
uint32_t env_call(struct env *e, uint16_t type, uint32_t d0, uint32_t d1,
		  uint32_t d2, uint32_t *data);

/* Frontend pages: n contiguous pages granted to the backend. */
void *env_pages(struct env *e, uint32_t n, bool writable, uint32_t *refs);

/* Grant flags of one of the frontend's refs (GTF_reading/writing = pinned). */
uint16_t env_gflags(struct env *e, uint32_t ref);
bool env_pinned(struct env *e, uint32_t ref);

#endif
