/* Internal interface of the emulated Xen host.  A domain is a process (or a
 * thread, in in-process tests) with a sn_emu context; the "hypervisor" code
 * runs in the caller and reaches other domains through the registry that
 * `stagenet host` keeps in xenstore, and through fds obtained with
 * pidfd_getfd (which needs ptrace permission, like process_vm_readv). */
#ifndef STAGENET_EMU_H
#define STAGENET_EMU_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "stagenet/plat.h"

/* Registry layout in xenstore (written by the domain, one transaction):
 *   /tool/stagenet/domain/<domid>/pid          decimal pid
 *   /tool/stagenet/domain/<domid>/ram-base     hex virtual address of RAM page 0
 *   /tool/stagenet/domain/<domid>/ram-pages    decimal
 *   /tool/stagenet/domain/<domid>/gnttab-entries decimal
 *   /tool/stagenet/domain/<domid>/fd/<name>    decimal fd number in that pid
 *                                             (ram, gnttab, evtchn, ...)
 * `stagenet host` deletes the subtree and fires @releaseDomain when the
 * connection that created it closes, so a dead domain disappears. */
#define SN_EMU_REG_ROOT "/tool/stagenet/domain"

/* Hypervisor pin state, one per grant entry, kept beside the entries in
 * the granter's grant-table memfd (Xen keeps it in its active grant table;
 * the counters live in shared memory here because the "hypervisor" runs in
 * every caller, and a grantee that restarts or looks the granter up again
 * must see the pins already taken).  The granter can write all of it: a
 * forged count only decides when the granter's own revoke succeeds, and
 * the emulated host waits on none of it (its entry locks are the
 * grantee's own: sn_emu_gt_view.locks). */
struct sn_emu_active {
	_Atomic uint32_t rd_pins; /* read-only maps+copies holding it */
	_Atomic uint32_t wr_pins; /* writable maps+copies holding it */
	/* The entry lock of a plain table (grant_rules.h's unit tests).  The
	 * emulated host never takes it: a granter that sets it would make
	 * every grantee wait (README "Security model"). */
	_Atomic uint32_t lock;
};

/* Entry locks a grantee keeps in its own memory, striped by ref. */
#define SN_EMU_PIN_LOCKS 1024u

/* Grant-table memfd layout: entries[n] then active[n]. */
struct sn_emu_gt_view {
	grant_entry_v1_t *entries;
	struct sn_emu_active *active;
	/* Where pin and unpin take an entry's lock (Xen's act->lock, which
	 * serialises them so a last unpin clearing GTF_reading cannot race a
	 * new pin and leave a pinned entry revocable): NULL, active[ref].lock;
	 * else locks[ref % SN_EMU_PIN_LOCKS], the grantee's private stripes,
	 * which only its own threads can hold. */
	_Atomic uint32_t *locks;
	uint32_t nr_entries;
	size_t map_len;
};

/* What one domain knows of another (or of itself) after a registry lookup.
 * Immutable once published, and reference-counted: the peer cache holds
 * one while the view is the current one for its domid, every grant mapping
 * made through it holds one until it is unmapped (unmap writes the pin
 * counts in gt), and every operation in flight holds one for its duration.
 * The cache lets go once the incarnation has ended, and the last
 * sn_emu_peer_put closes the pidfd and the RAM dup and unmaps the grant
 * table, so a dead guest's memory is released as soon as nothing maps
 * through its view. */
struct sn_emu_peer {
	uint16_t domid;
	bool valid;
	pid_t pid;
	int pidfd;
	uintptr_t ram_base;
	uint32_t ram_pages;
	int ram_fd; /* our dup of the peer's RAM memfd (for map) */
	struct sn_emu_gt_view gt;
	uint64_t live_checked_ns; /* last pidfd liveness check (atomic) */
	_Atomic uint32_t refs;
};

struct sn_emu_evtchn_shared; /* defined by evtchn.c */

struct sn_emu {
	struct sn_plat plat; /* must be first */
	pid_t pid;

	/* Guest RAM: a memfd mapped at ram; pages handed out by shr_alloc. */
	int ram_fd;
	uint8_t *ram;
	uint32_t ram_pages;
	pthread_mutex_t ram_lock; /* protects the page allocator below */
	uint8_t *ram_used;        /* one byte per page: 0 free, 1 used, 2 quarantined */
	uint32_t ram_hint;

	/* Our own grant table (we are the granter). */
	int gt_fd;
	struct sn_emu_gt_view gt;
	pthread_mutex_t gt_lock; /* protects ref allocation */
	uint32_t gt_next_free;

	/* Our event channel table (evtchn.c owns its layout). */
	int evt_fd;
	struct sn_emu_evtchn_shared *evt;

	/* Local map handles: addr -> (domid, ref, writable) for unmap. */
	pthread_mutex_t map_lock;
	struct sn_emu_map *maps;
	uint32_t nr_maps, cap_maps;

	/* Entry locks for the grants we pin as a grantee (gnttab.c): private,
	 * so a granter writing its own grant-table memfd never makes us wait.
	 * A lock wait that still runs out of its bound (grant_rules.h) means
	 * one of our threads was descheduled holding it; counted, for tests. */
	_Atomic uint32_t pin_locks[SN_EMU_PIN_LOCKS];
	_Atomic uint64_t pin_lock_timeouts;   /* pins failed: lock not taken */
	_Atomic uint64_t unpin_lock_timeouts; /* unpins skipped: pin left held */

	/* Peer cache: 64 lazily allocated blocks of 1024 pointers, indexed by
	 * domid, each slot holding a reference to the current view of that
	 * domid.  Readers take the lock shared just long enough to take their
	 * own reference; a slot is emptied (and its reference dropped) only
	 * under the lock exclusive, so a reader never finds a view whose
	 * count may reach zero. */
	pthread_rwlock_t peer_lock;
	struct sn_emu_peer **peers[65536 / 1024];
	/* Fd lookups that failed on a live incarnation of a peer (its registry
	 * names an fd it does not hold): an error for that operation only,
	 * never a reason to load the view again. */
	_Atomic uint64_t peer_bad_fds;

	/* gntshr.c's private allocator state (refs and page bookkeeping the
	 * peers cannot touch); created on first use, freed by shr_fini. */
	struct sn_emu_shr *shr;
};

/* domain.c.  domain_init creates RAM and the grant table and registers the
 * domain, publishing fds "ram", "gnttab" and (when e->evt_fd >= 0, set up
 * by sn_emu_evtchn_init which runs first) "evtchn". */
int sn_emu_domain_init(struct sn_emu *e, const struct sn_plat_cfg *cfg);
void sn_emu_domain_fini(struct sn_emu *e);
/* dom_instance op: reads the registry only, so it works on any platform
 * context connected to the emulated host's xenstore (xs_only too). */
int sn_emu_dom_instance(struct sn_plat *p, uint16_t domid, char **id);
/* Publish one more fd in our registry entry (before others look for it). */
int sn_emu_publish_fd(struct sn_emu *e, const char *name, int fd);
/* Look up (cached) a domain; -ESRCH if not registered or dead, -EPERM with
 * a logged hint when ptrace permission is missing.  On success *out holds a
 * reference the caller drops with sn_emu_peer_put. */
int sn_emu_peer_get(struct sn_emu *e, uint16_t domid, struct sn_emu_peer **out);
/* Drop a reference; the last one releases the view. */
void sn_emu_peer_put(struct sn_emu *e, struct sn_emu_peer *peer);
/* Unhook view peer from the cache if it is still the cached one, so the
 * next lookup re-reads the registry (holders keep it until their put).
 * Only for a view whose incarnation has ended (sn_emu_peer_ended, or the
 * kernel said so). */
void sn_emu_peer_forget(struct sn_emu *e, struct sn_emu_peer *peer);
/* Let go of the cached view of domid if its incarnation has ended (called
 * when someone asks the registry about domid: the backend does on
 * @releaseDomain, which is when a guest that already closed its vifs
 * dies). */
void sn_emu_peer_sweep(struct sn_emu *e, uint16_t domid);
/* Whether the incarnation behind peer is over: its process exited, or the
 * registry no longer names it (node gone, other pid or RAM base).  Asked
 * when a lookup through peer fails, so that a live guest whose registry
 * names fds it does not hold cannot make us load views at will. */
bool sn_emu_peer_ended(struct sn_emu *e, struct sn_emu_peer *peer);
/* Count (and log, sparsely) a failed fd lookup of a live peer. */
void sn_emu_peer_bad_fd(struct sn_emu *e, struct sn_emu_peer *peer, const char *name, int err);
/* Obtain our own dup of a named fd of a peer (caller closes it). */
int sn_emu_peer_getfd(struct sn_emu *e, struct sn_emu_peer *peer,
		      const char *name, int *fd);
/* Obtain our own dup of the peer's fd number `remote_fd` (pidfd_getfd). */
int sn_emu_peer_dupfd(struct sn_emu_peer *peer, int remote_fd, int *fd);

/* gnttab.c (the hypervisor side: validate, pin, copy, map, unmap) */
int sn_emu_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs);
int sn_emu_gnt_map(struct sn_plat *p, uint32_t count, const uint16_t *domids,
		   const uint32_t *refs, bool writable, void **addrs,
		   int16_t *status);
int sn_emu_gnt_unmap(struct sn_plat *p, uint32_t count, void *const *addrs,
		     int16_t *status);
/* Unmap and unpin every grant still mapped (gntdev does this on close).
 * Call before sn_emu_domain_fini: each mapping holds a reference to the
 * view it was made through. */
void sn_emu_gnt_fini(struct sn_emu *e);

/* gntshr.c (the granter side) */
int sn_emu_shr_alloc(struct sn_plat *p, uint16_t domid, uint32_t count,
		     bool writable, uint32_t *refs, void **addr);
int sn_emu_shr_free(struct sn_plat *p, void *addr, uint32_t count);
int sn_emu_shr_grant(struct sn_plat *p, uint16_t domid, const void *page,
		     bool writable, uint32_t *ref);
int sn_emu_shr_revoke(struct sn_plat *p, uint32_t ref);
/* Free gntshr's private state (RAM and grant table stay domain.c's). */
void sn_emu_shr_fini(struct sn_emu *e);

/* evtchn.c */
int sn_emu_evtchn_init(struct sn_emu *e);
void sn_emu_evtchn_fini(struct sn_emu *e);
int sn_emu_evt_open(struct sn_plat *p, struct sn_evtchn **out);
void sn_emu_evt_close(struct sn_evtchn *h);
int sn_emu_evt_fd(struct sn_evtchn *h);
int sn_emu_evt_alloc_unbound(struct sn_evtchn *h, uint16_t remote_domid);
int sn_emu_evt_bind_interdomain(struct sn_evtchn *h, uint16_t remote_domid,
				sn_port_t remote_port);
int sn_emu_evt_notify(struct sn_evtchn *h, sn_port_t port);
int sn_emu_evt_pending(struct sn_evtchn *h);
int sn_emu_evt_unmask(struct sn_evtchn *h, sn_port_t port);
int sn_emu_evt_unbind(struct sn_evtchn *h, sn_port_t port);

/* The one message for a missing ptrace permission (process_vm_readv and
 * pidfd_getfd both need it). */
void sn_emu_ptrace_hint(void);

#endif
