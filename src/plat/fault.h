/* Fault-injection platform: wraps any sn_plat and fails chosen grant copies,
 * maps, unmaps, revokes and frees, and injects spurious events, so tests can
 * drive the error paths a real hypervisor takes only rarely (XSA-361..367,
 * XSA-332/391, XSA-396).  Decisions come from a PRNG seeded by the config
 * and kept in the wrapper's context: a single-threaded run is reproducible. */
#ifndef STAGENET_PLAT_FAULT_H
#define STAGENET_PLAT_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "stagenet/plat.h"

/* What can be failed.  Counting unit ("element") per kind:
 *   COPY   one segment of gnt_copy       -> seg.status = rule.status
 *   MAP    one element of gnt_map        -> status[i] = rule.status, addr NULL
 *   UNMAP  one element of gnt_unmap      -> status[i] = rule.status; the page
 *                                           stays mapped, as on Xen
 *   REVOKE one shr_revoke call           -> -EBUSY; the grant stays active
 *   FREE   one shr_free call             -> -EBUSY; the pages stay granted
 *                                           (quarantined until close)
 *   EVENT  one evt_pending call          -> rule.burst spurious events queued
 * Event handles are wrapped too: evt_fd is an epoll fd over the inner
 * handle's fd and the spurious-event source; poll it, never read it.
 * A failed element is never passed to the inner platform, so a failed copy
 * writes nothing and a failed map maps nothing. */
enum sn_fault_kind {
	SN_FAULT_COPY,
	SN_FAULT_MAP,
	SN_FAULT_UNMAP,
	SN_FAULT_REVOKE,
	SN_FAULT_FREE,
	SN_FAULT_EVENT,
	SN_FAULT_NR
};

/* An element fails when any armed trigger fires, until max injections. */
struct sn_fault_rule {
	uint32_t rate_ppm; /* probability per element, parts per million */
	uint64_t nth;      /* 1-based element number to fail; 0 = off */
	bool every;        /* with nth: fail every nth element, not just one */
	uint64_t max;      /* stop after this many injections; 0 = no limit */
	/* GNTST_* for COPY/MAP/UNMAP (0 = GNTST_general_error); unused by
	 * REVOKE/FREE (always -EBUSY) and EVENT. */
	int16_t status;
	uint32_t burst;    /* EVENT only: spurious events per trigger (0 = 1) */
};

struct sn_fault_cfg {
	uint64_t seed; /* each kind draws from its own stream derived from it */
	struct sn_fault_rule rule[SN_FAULT_NR];
};

struct sn_fault_stats {
	uint64_t seen[SN_FAULT_NR];     /* elements examined */
	uint64_t injected[SN_FAULT_NR]; /* failed elements / spurious events */
};

/* Wrap inner.  On success *out owns inner: sn_plat_close(*out) closes inner
 * too, and inner must not be closed separately.  On failure inner is left
 * untouched (still the caller's).  cfg NULL = inject nothing. */
int sn_fault_wrap(struct sn_plat *inner, const struct sn_fault_cfg *cfg,
		  struct sn_plat **out);

/* Whether p is a fault wrapper. */
bool sn_fault_is(const struct sn_plat *p);

/* Replace the rules (e.g. arm faults only after a handshake).  The PRNG
 * streams are reseeded and nth counts restart at this call; stats keep
 * accumulating.  -EINVAL if p is not a fault wrapper. */
int sn_fault_configure(struct sn_plat *p, const struct sn_fault_cfg *cfg);

/* Snapshot of the counters since sn_fault_wrap (thread-safe). */
int sn_fault_stats_get(struct sn_plat *p, struct sn_fault_stats *out);

/* Queue n spurious events on handle e (opened through wrapper p): evt_fd
 * turns readable and evt_pending reports a port bound on e with no work
 * behind it, n times.  Counted as EVENT injections. */
int sn_fault_evt_inject(struct sn_plat *p, struct sn_evtchn *e, uint32_t n);

/* The wrapped platform. */
struct sn_plat *sn_fault_inner(struct sn_plat *p);

#endif
