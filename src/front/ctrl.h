/* Netfront control-ring client: one per NIC.  Owns the ring page granted to
 * the backend, its event channel and a scratch page for the page-sized
 * arguments (hash key, hash mapping, gref lists), and runs synchronous,
 * bounded-time request/response exchanges over the ring (netif.h "Control
 * ring"). */
#ifndef SN_FRONT_CTRL_H
#define SN_FRONT_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/ctrl.h"
#include "stagenet/front.h"
#include "stagenet/plat.h"

/* Default bound on one exchange: the backend answers from its own thread,
 * so a second of silence means it is gone or lying, not slow. */
#define SN_FRONT_CTRL_TIMEOUT_MS 1000

struct sn_front_ctrl;

/* One request of a batch.  Filled in by the caller: type, data.  Filled in
 * by sn_front_ctrl_batch: status and rsp_data once answered (answered). */
struct sn_front_ctrl_op {
	uint16_t type;
	uint32_t data[3];
	bool answered;
	uint32_t status;
	uint32_t rsp_data;
	uint16_t id; /* private: the id the request went out with */
};

/* What the client sent, and what went wrong with the answers. */
struct sn_front_ctrl_stats {
	uint64_t requests;     /* requests put on the ring */
	uint64_t stray;        /* responses with an unknown or already-answered id,
				* ignored */
	uint64_t timeouts;     /* exchanges that ran out of time */
	uint64_t malformed;    /* responses that broke the protocol */
	uint64_t spurious;     /* events with no response behind them */
	uint64_t throttled;    /* ... whose channel stayed masked (late EOI) */
};

/* Allocate the ring page (granted writable to be_domid), an event channel
 * (alloc_unbound towards be_domid) and the scratch page.  timeout_ms <= 0
 * selects SN_FRONT_CTRL_TIMEOUT_MS.  Nothing is written to xenstore.  A
 * control ring found lying is said once through log (NULL: quiet). */
int sn_front_ctrl_open(struct sn_plat *p, uint16_t be_domid, int timeout_ms,
		       const struct sn_front_log *log, struct sn_front_ctrl **out);
/* Unbind, close, and release both pages (a page the backend still maps is
 * quarantined by shr_free, never reused).  NULL is fine. */
void sn_front_ctrl_close(struct sn_front_ctrl *c);

/* Write ctrl-ring-ref and event-channel-ctrl under fe_path inside the
 * handshake transaction t (the caller does this only when the backend
 * advertised feature-ctrl-ring = 1). */
int sn_front_ctrl_write_keys(struct sn_front_ctrl *c, xs_transaction_t t,
			     const char *fe_path);
uint32_t sn_front_ctrl_ring_ref(const struct sn_front_ctrl *c);
int sn_front_ctrl_port(const struct sn_front_ctrl *c);
/* Pollable fd of the control event channel (tests, diagnostics). */
int sn_front_ctrl_evt_fd(const struct sn_front_ctrl *c);

/* Send n (1..64) requests with fresh ids, then collect their responses in
 * whatever order they come.  Every response is copied once into private
 * memory and then validated: an id we are not waiting for (unknown, stale
 * from a timed-out exchange, or a duplicate) is ignored and counted; a
 * response that echoes the wrong type, carries an undefined status, or
 * exceeds what we published is malformed and makes the ring unusable.
 * Returns 0 when every op was answered (statuses in the ops), -ETIMEDOUT,
 * -EPROTO (malformed; later calls return -EIO), -ENOSPC (ring full) or
 * another -errno. */
int sn_front_ctrl_batch(struct sn_front_ctrl *c, struct sn_front_ctrl_op *ops,
			unsigned int n);
/* One request.  Returns 0 with *status (and *data if not NULL) set, or the
 * errors of sn_front_ctrl_batch. */
int sn_front_ctrl_call(struct sn_front_ctrl *c, uint16_t type, uint32_t d0,
		       uint32_t d1, uint32_t d2, uint32_t *status,
		       uint32_t *data);
bool sn_front_ctrl_broken(const struct sn_front_ctrl *c);
void sn_front_ctrl_get_stats(const struct sn_front_ctrl *c,
			     struct sn_front_ctrl_stats *out);

/*
 * Typed helpers.  Each returns 0 when the exchange happened, with the
 * backend's XEN_NETIF_CTRL_STATUS_* in *status; a transport error is the
 * negative return value.
 */
int sn_front_ctrl_hash_set_alg(struct sn_front_ctrl *c, uint32_t alg,
			       uint32_t *status);
int sn_front_ctrl_hash_get_flags(struct sn_front_ctrl *c, uint32_t *flags,
				 uint32_t *status);
int sn_front_ctrl_hash_set_flags(struct sn_front_ctrl *c, uint32_t flags,
				 uint32_t *status);
/* The key travels in the scratch page, granted to the backend. */
int sn_front_ctrl_hash_set_key(struct sn_front_ctrl *c, const uint8_t *key,
			       uint32_t len, uint32_t *status);
int sn_front_ctrl_hash_get_mapping_size(struct sn_front_ctrl *c,
					uint32_t *size, uint32_t *status);
int sn_front_ctrl_hash_set_mapping_size(struct sn_front_ctrl *c, uint32_t size,
					uint32_t *status);
/* Entries [off, off + n) of the mapping; sent in chunks of one page (1024
 * entries).  *status is the first non-SUCCESS status, if any. */
int sn_front_ctrl_hash_set_mapping(struct sn_front_ctrl *c, const uint32_t *map,
				   uint32_t n, uint32_t off, uint32_t *status);

/* GET_GREF_MAPPING_SIZE: the maximum number of entries of queue's table
 * (netif.h; README "Staging grants"). */
int sn_front_ctrl_gref_size(struct sn_front_ctrl *c, uint16_t queue,
			    uint32_t *size, uint32_t *status);
/* ADD_GREF_MAPPING of 1..512 entries (all or nothing on the backend). */
int sn_front_ctrl_gref_add(struct sn_front_ctrl *c, uint16_t queue,
			   const struct xen_netif_gref *ents, uint32_t n,
			   uint32_t *status);
/* DEL_GREF_MAPPING of 1..512 entries.  ents[i].status is replaced by the
 * per-entry status the backend wrote (read once, after the response); an
 * entry the backend left unwritten keeps a value that is not SUCCESS, so
 * only an explicit SUCCESS counts as removed.  *removed = response data. */
int sn_front_ctrl_gref_del(struct sn_front_ctrl *c, uint16_t queue,
			   struct xen_netif_gref *ents, uint32_t n,
			   uint32_t *status, uint32_t *removed);

#endif /* SN_FRONT_CTRL_H */
