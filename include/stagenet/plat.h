/* stagenet platform layer: the hypervisor interface every protocol file sees.
 * Two implementations sit behind one ops table: real Xen (libxengnttab,
 * libxengntshr, libxenevtchn, libxenstore) and the emulated Xen host.  The
 * protocol code never makes a hypervisor call any other way. */
#ifndef STAGENET_PLAT_H
#define STAGENET_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xengnttab.h>
#include <xenstore.h>
#include <xen/grant_table.h>

#define SN_PAGE_SIZE 4096u
#define SN_PAGE_SHIFT 12

/* The real libxengnttab segment layout is the ABI of a batched grant copy;
 * the emulator consumes the same struct so callers build one batch format. */
typedef xengnttab_grant_copy_segment_t sn_copy_seg;

typedef uint32_t sn_port_t;

enum sn_plat_kind {
	SN_PLAT_AUTO = 0, /* xen when /dev/xen/privcmd exists, else emu */
	SN_PLAT_EMU,
	SN_PLAT_XEN,
};

struct sn_plat_cfg {
	enum sn_plat_kind kind;
	/* emu: the domid this process (or thread) acts as.  xen: ignored, the
	 * domain is whatever we run in. */
	uint16_t domid;
	/* emu: guest RAM pages backing shr_alloc (0 = default 16384 = 64 MiB). */
	uint32_t ram_pages;
	/* emu: grant table entries (0 = default 32768). */
	uint32_t gnttab_entries;
	/* xenstore socket; NULL = $XENSTORED_PATH, then libxenstore's default. */
	const char *xs_path;
	/* Only the xenstore ops (and dom_instance) will be used: a toolstack
	 * step such as vif-add.  No domain is registered (emu) and no grant or
	 * event-channel device is opened (xen); those ops fail -EOPNOTSUPP.
	 * domid is taken from this cfg as given. */
	bool xs_only;
};

struct sn_plat;
struct sn_evtchn; /* one event channel handle: a pollable fd and its ports */

/* A xenstore watch event as libxenstore reports it. */
struct sn_xs_event {
	char *path;  /* malloc'd; free with free() */
	char *token; /* points into the same allocation as path */
};

/* Every int-returning op returns 0 (or a non-negative value where stated)
 * on success and -errno on failure.  Per-element hypervisor status codes
 * (GNTST_*) are reported in the element, never in the return value, so one
 * bad grant in a batch never hides the outcome of the others. */
struct sn_plat_ops {
	const char *name;
	void (*close)(struct sn_plat *p);

	/* --- gnttab: use grants other domains made to us --------------------
	 * Batched copy; each segment gets its own GNTST_* status.  Returns
	 * -EINVAL for a malformed batch (both or neither side a gref, gref
	 * side offset+len > page). */
	int (*gnt_copy)(struct sn_plat *p, uint32_t count, sn_copy_seg *segs);
	/* Map count independent grants (one page each).  addrs[i] is set for
	 * status[i] == GNTST_okay and NULL otherwise.  writable=false maps
	 * read-only (GNTMAP_readonly). */
	int (*gnt_map)(struct sn_plat *p, uint32_t count, const uint16_t *domids,
		       const uint32_t *refs, bool writable, void **addrs,
		       int16_t *status);
	/* Unmap pages returned by gnt_map; status per page. */
	int (*gnt_unmap)(struct sn_plat *p, uint32_t count, void *const *addrs,
			 int16_t *status);

	/* --- gntshr: grant our own pages ----------------------------------
	 * Allocate count zeroed, page-aligned, contiguous pages and grant each
	 * to domid; refs[i] is page i's grant.  */
	int (*shr_alloc)(struct sn_plat *p, uint16_t domid, uint32_t count,
			 bool writable, uint32_t *refs, void **addr);
	/* Revoke the grants of and release pages from shr_alloc.  A page the
	 * peer still has pinned is never reused: it is quarantined and retried
	 * by later calls (Xen's deferred end_foreign_access); returns -EBUSY
	 * when any page had to be quarantined. */
	int (*shr_free)(struct sn_plat *p, void *addr, uint32_t count);
	/* Grant one more reference to a page already obtained from shr_alloc
	 * (netfront grants per fragment).  -EOPNOTSUPP where the platform
	 * cannot (gntalloc on real Xen). */
	int (*shr_grant)(struct sn_plat *p, uint16_t domid, const void *page,
			 bool writable, uint32_t *ref);
	/* End a grant from shr_grant.  -EBUSY if the peer still has it pinned
	 * (GTF_reading/GTF_writing): the caller must not reuse the page. */
	int (*shr_revoke)(struct sn_plat *p, uint32_t ref);

	/* --- evtchn --------------------------------------------------------- */
	int (*evt_open)(struct sn_plat *p, struct sn_evtchn **out);
	void (*evt_close)(struct sn_evtchn *e);
	/* Readable when some bound port has a pending, unmasked event. */
	int (*evt_fd)(struct sn_evtchn *e);
	/* Returns the new local port (>= 0) or -errno. */
	int (*evt_alloc_unbound)(struct sn_evtchn *e, uint16_t remote_domid);
	int (*evt_bind_interdomain)(struct sn_evtchn *e, uint16_t remote_domid,
				    sn_port_t remote_port);
	int (*evt_notify)(struct sn_evtchn *e, sn_port_t port);
	/* Next port with a delivered event (>= 0), which is now masked until
	 * evt_unmask; -EAGAIN when none.  Never blocks. */
	int (*evt_pending)(struct sn_evtchn *e);
	int (*evt_unmask)(struct sn_evtchn *e, sn_port_t port);
	int (*evt_unbind)(struct sn_evtchn *e, sn_port_t port);

	/* --- xenstore (libxenstore on both platforms) ------------------------
	 * Strings returned through char ** are malloc'd; the caller frees. */
	int (*xs_read)(struct sn_plat *p, xs_transaction_t t, const char *path,
		       char **val, unsigned int *len);
	int (*xs_write)(struct sn_plat *p, xs_transaction_t t, const char *path,
			const void *val, unsigned int len);
	int (*xs_mkdir)(struct sn_plat *p, xs_transaction_t t, const char *path);
	int (*xs_rm)(struct sn_plat *p, xs_transaction_t t, const char *path);
	/* *ents is one malloc'd block holding the array and the strings. */
	int (*xs_directory)(struct sn_plat *p, xs_transaction_t t,
			    const char *path, char ***ents, unsigned int *num);
	int (*xs_set_perms)(struct sn_plat *p, xs_transaction_t t,
			    const char *path, const struct xs_permissions *perms,
			    unsigned int num);
	int (*xs_get_perms)(struct sn_plat *p, xs_transaction_t t,
			    const char *path, struct xs_permissions **perms,
			    unsigned int *num);
	int (*xs_watch)(struct sn_plat *p, const char *path, const char *token);
	int (*xs_unwatch)(struct sn_plat *p, const char *path, const char *token);
	/* Pollable fd for watch events. */
	int (*xs_watch_fd)(struct sn_plat *p);
	/* Next queued watch event; -EAGAIN when none (never blocks). */
	int (*xs_read_watch)(struct sn_plat *p, struct sn_xs_event *ev);
	int (*xs_txn_start)(struct sn_plat *p, xs_transaction_t *t);
	/* -EAGAIN when the transaction conflicted and must be retried. */
	int (*xs_txn_end)(struct sn_plat *p, xs_transaction_t t, bool abort);

	/* --- domains ---------------------------------------------------------
	 * Which incarnation of a domain runs under domid now: an opaque string
	 * (malloc'd into *id) that differs when the domid is reused by a new
	 * domain, so a backend can tell its frontend died and came back
	 * between two looks.  -ESRCH when no domain runs under domid (other
	 * -errno when that cannot be told). */
	int (*dom_instance)(struct sn_plat *p, uint16_t domid, char **id);
};

/* Common head of every platform context; implementations embed it first. */
struct sn_plat {
	const struct sn_plat_ops *ops;
	enum sn_plat_kind kind;
	uint16_t domid; /* our own domid (xen: from xenstore "domid") */
	struct xs_handle *xs;
};

/* Resolve SN_PLAT_AUTO the documented way. */
enum sn_plat_kind sn_plat_default_kind(void);
const char *sn_plat_kind_name(enum sn_plat_kind kind);
/* Parse "emu" / "xen" / "auto". */
int sn_plat_kind_parse(const char *s, enum sn_plat_kind *out);

int sn_plat_open(const struct sn_plat_cfg *cfg, struct sn_plat **out);
void sn_plat_close(struct sn_plat *p);

/* Shorthands so call sites read like the libxen API they mirror. */
static inline int sn_gnt_copy(struct sn_plat *p, uint32_t n, sn_copy_seg *s)
{
	return p->ops->gnt_copy(p, n, s);
}

/* Take the ports that fired on e, at most max of them, each once, and only
 * then re-enable them.  Unmasking inside the loop lets a port fire again
 * at once, so a peer kicking faster than we loop could keep us there as
 * long as it liked (XSA-332/391); a kick that lands meanwhile stays
 * pending and unmask re-raises it for the next call.  Returns how many
 * fired (a queue binds one or two ports, its control ring one more). */
static inline int sn_evt_take_fired(struct sn_plat *p, struct sn_evtchn *e, int max)
{
	int fired[8], got = 0, port;

	if (max > (int)(sizeof(fired) / sizeof(fired[0])))
		max = (int)(sizeof(fired) / sizeof(fired[0]));
	while (got < max && (port = p->ops->evt_pending(e)) >= 0)
		fired[got++] = port;
	for (int i = 0; i < got; i++)
		p->ops->evt_unmask(e, (sn_port_t)fired[i]);
	return got;
}

#endif
