/* netback's control-ring server for one vif: maps the frontend's
 * `ctrl-ring-ref`, binds `event-channel-ctrl`, and answers hash (types
 * 1-7) and gref-mapping (types 8-10) requests, one response per request. */
#ifndef SN_BACK_CTRL_H
#define SN_BACK_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "back/hash.h"
#include "back/staging.h"
#include "proto/ctrl.h"
#include "stagenet/plat.h"
#include "stagenet/stats.h"

struct sn_back_ctrl_cfg {
	struct sn_plat *plat;
	uint16_t fe_domid;
	uint32_t ring_ref;      /* ctrl-ring-ref */
	uint32_t evtchn;        /* event-channel-ctrl (the frontend's port) */
	unsigned int nqueues;   /* queue indices accepted: 0..nqueues-1 */
	/* nqueues staging tables, or NULL when staging is off
	 * (`--staging-max 0`: GET/ADD/DEL answer NOT_SUPPORTED).  The array is
	 * copied at open; the tables are not owned. */
	struct sn_back_gref_table *const *tables;
	struct sn_back_hash *hash; /* not owned; NULL = hash types NOT_SUPPORTED */
	/* The vif's TX/RX ring grefs (copied at open; NULL = none).  These and
	 * ring_ref are never a gref list, a list entry or a hash page
	 * (ring_grefs.h): such a request answers INVALID_PARAMETER. */
	const struct sn_back_ring_grefs *rings;
	struct sn_qstats *st;      /* ctrl_* counters; may be NULL */
};

struct sn_back_ctrl;

/* Map the ring (writable, through gnt_map), attach at rsp_prod and bind
 * the event channel.  On failure err says why and nothing is held. */
int sn_back_ctrl_open(const struct sn_back_ctrl_cfg *cfg,
		      struct sn_back_ctrl **out, char *err, size_t errlen);
/* Unbind and unmap the ring.  The tables and hash state are the caller's
 * (it unmaps the staged grefs with sn_gref_table_unmap_all). */
void sn_back_ctrl_close(struct sn_back_ctrl *c);

/* Pollable: readable when the frontend kicked the control ring. */
int sn_back_ctrl_fd(const struct sn_back_ctrl *c);

/* Take pending event(s), answer up to budget requests, publish and notify,
 * re-arm.  Returns the number answered (>= 0; *more set when requests
 * remain beyond the budget) or -EPROTO when the frontend published more
 * requests than the ring holds (rogue: the caller stops serving it). */
int sn_back_ctrl_process(struct sn_back_ctrl *c, unsigned int budget,
			 bool *more);
/* The poll timeout for the caller's wait on sn_back_ctrl_fd: timeout_ms
 * (-1: none), shortened to when a throttled channel is re-enabled (late
 * EOI, plat/late_eoi.h); re-enables it when due. */
int sn_back_ctrl_timeout(struct sn_back_ctrl *c, int timeout_ms);

/* One privately copied request: the status to answer and *data.
 *  - unknown types (0, > 10): NOT_SUPPORTED.
 *  - GET_GREF_MAPPING_SIZE(queue): SUCCESS, data = the maximum number of
 *    entries of that queue's table (netif.h), however many it holds;
 *    INVALID_PARAMETER for a queue >= nqueues.
 *  - ADD_GREF_MAPPING(queue, list gref, count): count 1..512, the list at
 *    offset 0 of the page, grant-copied in once.  All or nothing: a bad
 *    queue or count, an unreadable list, an unmappable entry, a duplicate
 *    (in the list or already present) or a full table -> INVALID_PARAMETER
 *    and no change.  XEN_NETIF_CTRLF_GREF_readonly maps read-only.  The
 *    per-entry status is not written (spec).
 *  - DEL_GREF_MAPPING(queue, list gref, count): the list page is mapped
 *    writable (a page we cannot write -> INVALID_PARAMETER, nothing done),
 *    copied once, and every entry's status written: SUCCESS (removed) or
 *    INVALID_PARAMETER (not present, or in flight on a ring: it stays).
 *    data = entries removed; status SUCCESS when all were removed, else
 *    INVALID_PARAMETER.  A bad queue or count writes nothing.
 *  - with cfg.tables NULL all three answer NOT_SUPPORTED.
 *  - a list gref (ADD or DEL), an ADD entry, a hash key or mapping gref
 *    that is one of the vif's ring grefs or ring_ref: INVALID_PARAMETER,
 *    nothing read, mapped or written (DEL's list is not mapped, so no
 *    entry status is written either). */
uint32_t sn_back_ctrl_handle(struct sn_back_ctrl *c,
			     const struct xen_netif_ctrl_request *req,
			     uint32_t *data);

#endif /* SN_BACK_CTRL_H */
