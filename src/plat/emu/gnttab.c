/* The emulated hypervisor's side of using grants: GNTTABOP_copy as one
 * process_vm_readv/writev per peer per batch, map as an mmap of the
 * granter's RAM memfd, unmap as munmap.  Every op validates and pins the
 * entry first, with Xen's rules and GNTST_* codes (grant_rules.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "plat/emu/emu.h"
#include "plat/emu/grant_rules.h"

/* Segments per process_vm_* call: bounds the stack arrays (no malloc on the
 * datapath) and stays far below IOV_MAX.  Linux gntdev batches 16 ops per
 * hypercall; a bigger batch only makes our syscall cheaper per byte. */
#define COPY_CHUNK 64u

/* A peer for the duration of one call, holding a reference to its view
 * (the cache may move on to a new incarnation meanwhile; this one stays
 * mapped until we put it). */
struct peer_snap {
	uint16_t domid;
	int err;   /* sn_emu_peer_get's result */
	struct sn_emu_peer *peer; /* referenced when !err */
	bool dead; /* process_vm_* said ESRCH: forget it after the batch */
	pid_t pid;
	uintptr_t ram_base;
	uint32_t ram_pages;
	int ram_fd;
	struct sn_emu_gt_view gt;
};

/* One pinned segment of a chunk. */
struct pinned {
	uint32_t seg;  /* index into the chunk */
	uint32_t snap; /* index into the snapshots */
	uint32_t ref;
	bool write;    /* dest is the gref: process_vm_writev */
	bool done;     /* transferred, or failed with its status set */
	struct iovec local, remote;
};

/* One live mapping: what unmap needs to unpin.  It holds a reference to
 * the view it was made through, so the entry pointers stay valid after the
 * peer dies or is replaced, and unmap never needs a registry lookup; the
 * unmap's put is what lets a dead guest's view go. */
struct sn_emu_map {
	uintptr_t addr; /* 0 = empty slot */
	struct sn_emu_peer *peer;
	grant_entry_v1_t *ent;
	struct sn_emu_active *act;
	_Atomic uint32_t *lock; /* one of our pin_locks */
	bool write;
};

static void snap_fill(struct sn_emu *e, uint16_t domid, struct peer_snap *s)
{
	struct sn_emu_peer *p;

	memset(s, 0, sizeof(*s));
	s->domid = domid;
	s->err = sn_emu_peer_get(e, domid, &p);
	if (s->err)
		return;
	s->peer = p;
	s->pid = p->pid;
	s->ram_base = p->ram_base;
	s->ram_pages = p->ram_pages;
	s->ram_fd = p->ram_fd;
	s->gt = p->gt;
	/* Xen's entry lock is the hypervisor's, out of the granter's reach;
	 * ours is this domain's private memory for the same reason: the lock
	 * word beside the entries is the granter's to write, and one it holds
	 * would make every pin fail and every unpin wait on our control or
	 * datapath threads (README "Security model"). */
	s->gt.locks = e->pin_locks;
}

static int16_t pin(struct sn_emu *e, const struct sn_emu_gt_view *gt, uint32_t ref, bool write)
{
	bool lock_timeout = false;
	int16_t st = sn_gt_pin_do(gt, ref, e->plat.domid, write, NULL, NULL, &lock_timeout);

	if (lock_timeout)
		atomic_fetch_add_explicit(&e->pin_lock_timeouts, 1, memory_order_relaxed);
	return st;
}

static void unpin_entry(struct sn_emu *e, grant_entry_v1_t *ent, struct sn_emu_active *act,
			_Atomic uint32_t *lock, bool write)
{
	if (!sn_gt_unpin_entry(ent, act, lock, write))
		atomic_fetch_add_explicit(&e->unpin_lock_timeouts, 1, memory_order_relaxed);
}

static void unpin(struct sn_emu *e, const struct sn_emu_gt_view *gt, uint32_t ref, bool write)
{
	unpin_entry(e, &gt->entries[ref], &gt->active[ref], sn_gt_lock_of(gt, ref), write);
}

static uint32_t snap_find(struct sn_emu *e, struct peer_snap *snaps, uint32_t *nr, uint16_t domid)
{
	for (uint32_t i = 0; i < *nr; i++)
		if (snaps[i].domid == domid)
			return i;
	snap_fill(e, domid, &snaps[*nr]);
	return (*nr)++;
}

/* A peer lookup failure is a per-segment bad_domain unless it is about us
 * (no ptrace permission, no memory): then the whole call fails. */
static bool snap_fatal(int err)
{
	return err == -EPERM || err == -ENOMEM;
}

static ssize_t vm_xfer(pid_t pid, bool write, const struct iovec *local, const struct iovec *remote,
		       unsigned long n)
{
	return write ? process_vm_writev(pid, local, n, remote, n, 0)
		     : process_vm_readv(pid, local, n, remote, n, 0);
}

/* After a short or faulting batch: redo each unfinished segment alone so
 * each gets its own status.  A fault cannot be told apart between our
 * buffer and the granter's page without another syscall; the granter's
 * page was validated inside its RAM, so report bad_page either way. */
static int xfer_one_by_one(sn_copy_seg *segs, struct peer_snap *s, struct pinned **grp,
			   uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct pinned *pn = grp[i];
		ssize_t r;

		if (pn->done)
			continue;
		pn->done = true;
		r = vm_xfer(s->pid, pn->write, &pn->local, &pn->remote, 1);
		if (r == (ssize_t)pn->local.iov_len)
			continue;
		if (r < 0 && errno == EPERM) {
			sn_emu_ptrace_hint();
			return -EPERM;
		}
		if (r < 0 && errno == ESRCH) {
			s->dead = true;
			segs[pn->seg].status = GNTST_bad_domain;
		} else {
			segs[pn->seg].status = GNTST_bad_page;
		}
	}
	return 0;
}

/* All pinned segments of one (peer, direction) in one syscall. */
static int xfer_group(sn_copy_seg *segs, struct peer_snap *snaps, struct pinned *pins,
		      uint32_t npins, uint32_t first)
{
	struct iovec local[COPY_CHUNK], remote[COPY_CHUNK];
	struct pinned *grp[COPY_CHUNK];
	struct peer_snap *s = &snaps[pins[first].snap];
	bool write = pins[first].write;
	size_t total = 0;
	uint32_t n = 0;
	ssize_t r;

	for (uint32_t i = first; i < npins; i++) {
		struct pinned *pn = &pins[i];

		if (pn->done || pn->snap != pins[first].snap || pn->write != write)
			continue;
		grp[n] = pn;
		local[n] = pn->local;
		remote[n] = pn->remote;
		total += pn->local.iov_len;
		n++;
	}
	r = vm_xfer(s->pid, write, local, remote, n);
	if (r >= 0 && (size_t)r == total) {
		for (uint32_t i = 0; i < n; i++)
			grp[i]->done = true;
		return 0;
	}
	if (r < 0) {
		switch (errno) {
		case EPERM:
			sn_emu_ptrace_hint();
			return -EPERM;
		case ESRCH:
			s->dead = true;
			for (uint32_t i = 0; i < n; i++) {
				grp[i]->done = true;
				segs[grp[i]->seg].status = GNTST_bad_domain;
			}
			return 0;
		case ENOMEM:
			return -ENOMEM;
		default:
			r = 0;
			break;
		}
	}
	/* Partial transfers stop at an iovec element boundary; what lies
	 * before r is done, the rest is retried one by one. */
	for (uint32_t i = 0; i < n && (size_t)r >= grp[i]->local.iov_len; i++) {
		r -= (ssize_t)grp[i]->local.iov_len;
		grp[i]->done = true;
	}
	return xfer_one_by_one(segs, s, grp, n);
}

static int copy_chunk(struct sn_emu *e, sn_copy_seg *segs, uint32_t n)
{
	struct peer_snap snaps[COPY_CHUNK];
	struct pinned pins[COPY_CHUNK];
	uint32_t nsnaps = 0, npins = 0;
	int rc = 0;

	for (uint32_t i = 0; i < n; i++) {
		sn_copy_seg *sg = &segs[i];
		bool write = sg->flags & GNTCOPY_dest_gref;
		uint16_t domid = write ? sg->dest.foreign.domid : sg->source.foreign.domid;
		uint32_t ref = write ? sg->dest.foreign.ref : sg->source.foreign.ref;
		uint16_t off = write ? sg->dest.foreign.offset : sg->source.foreign.offset;
		struct peer_snap *s;
		uint32_t si, frame;
		int16_t st;

		sg->status = GNTST_okay;
		si = snap_find(e, snaps, &nsnaps, domid);
		s = &snaps[si];
		if (s->err) {
			if (snap_fatal(s->err)) {
				rc = s->err;
				goto unpin;
			}
			sg->status = GNTST_bad_domain;
			continue;
		}
		st = pin(e, &s->gt, ref, write);
		if (st != GNTST_okay) {
			sg->status = st;
			continue;
		}
		frame = sn_gt_frame(&s->gt, ref);
		if (frame >= s->ram_pages) {
			unpin(e, &s->gt, ref, write);
			sg->status = GNTST_bad_page;
			continue;
		}
		pins[npins] = (struct pinned){
			.seg = i,
			.snap = si,
			.ref = ref,
			.write = write,
			.local = { write ? sg->source.virt : sg->dest.virt, sg->len },
			.remote = { (void *)(s->ram_base + (uintptr_t)frame * SN_PAGE_SIZE + off),
				    sg->len },
		};
		npins++;
	}

	for (uint32_t i = 0; i < npins && !rc; i++)
		if (!pins[i].done)
			rc = xfer_group(segs, snaps, pins, npins, i);

unpin:
	/* Only now may the granter revoke: the flags showed the pin for
	 * exactly the duration of the copy, as inside GNTTABOP_copy. */
	for (uint32_t i = 0; i < npins; i++)
		unpin(e, &snaps[pins[i].snap].gt, pins[i].ref, pins[i].write);
	for (uint32_t i = 0; i < nsnaps; i++) {
		/* process_vm_* said ESRCH: the process is gone. */
		if (snaps[i].dead)
			sn_emu_peer_forget(e, snaps[i].peer);
		sn_emu_peer_put(e, snaps[i].peer);
	}
	return rc;
}

/* Batch rules follow libxengnttab over Linux gntdev, not the raw
 * hypercall: a segment whose gref side has offset+len beyond the page, or
 * with no gref side, fails the whole call with EINVAL (gntdev checks that
 * before any hypercall, so GNTST_bad_copy_arg never reaches a gntdev
 * user).  gntdev also accepts gref-to-gref; the stagenet platform contract
 * (plat.h) rejects it, as nothing needs it and it would need a bounce
 * buffer here.  Unlike gntdev, which fails mid-batch after copying the
 * earlier batches, we check everything first, so -EINVAL means nothing
 * was copied. */
int sn_emu_gnt_copy(struct sn_plat *p, uint32_t count, sn_copy_seg *segs)
{
	struct sn_emu *e = (struct sn_emu *)p;
	int rc;

	for (uint32_t i = 0; i < count; i++) {
		const sn_copy_seg *sg = &segs[i];
		unsigned int gref = sg->flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref);
		unsigned int off;

		if (gref == GNTCOPY_source_gref)
			off = sg->source.foreign.offset;
		else if (gref == GNTCOPY_dest_gref)
			off = sg->dest.foreign.offset;
		else
			return -EINVAL;
		if (off + (unsigned int)sg->len > SN_PAGE_SIZE)
			return -EINVAL;
	}
	for (uint32_t done = 0; done < count; done += COPY_CHUNK) {
		uint32_t n = count - done < COPY_CHUNK ? count - done : COPY_CHUNK;

		rc = copy_chunk(e, segs + done, n);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- the local handle table: open addressing keyed by page address -------- */

static size_t map_slot(uintptr_t addr, uint32_t cap)
{
	return (size_t)(((uint64_t)(addr >> SN_PAGE_SHIFT) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int map_grow(struct sn_emu *e)
{
	uint32_t cap = e->cap_maps ? e->cap_maps * 2 : 64;
	struct sn_emu_map *old = e->maps, *nm;

	nm = calloc(cap, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->cap_maps; i++) {
		size_t j;

		if (!old[i].addr)
			continue;
		for (j = map_slot(old[i].addr, cap); nm[j].addr; j = (j + 1) & (cap - 1))
			;
		nm[j] = old[i];
	}
	free(old);
	e->maps = nm;
	e->cap_maps = cap;
	return 0;
}

/* Caller holds map_lock. */
static int map_insert(struct sn_emu *e, const struct sn_emu_map *m)
{
	size_t j;
	int rc;

	if ((e->nr_maps + 1) * 2 > e->cap_maps) {
		rc = map_grow(e);
		if (rc)
			return rc;
	}
	for (j = map_slot(m->addr, e->cap_maps); e->maps[j].addr; j = (j + 1) & (e->cap_maps - 1))
		;
	e->maps[j] = *m;
	e->nr_maps++;
	return 0;
}

/* Caller holds map_lock.  Backward-shift deletion keeps probe chains
 * intact without tombstones. */
static bool map_remove(struct sn_emu *e, uintptr_t addr, struct sn_emu_map *out)
{
	uint32_t mask = e->cap_maps - 1;
	size_t i, j;

	if (!e->cap_maps)
		return false;
	for (i = map_slot(addr, e->cap_maps); e->maps[i].addr != addr; i = (i + 1) & mask)
		if (!e->maps[i].addr)
			return false;
	*out = e->maps[i];
	for (j = (i + 1) & mask; e->maps[j].addr; j = (j + 1) & mask) {
		size_t home = map_slot(e->maps[j].addr, e->cap_maps);

		/* Move j back into the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			e->maps[i] = e->maps[j];
			i = j;
		}
	}
	e->maps[i].addr = 0;
	e->nr_maps--;
	return true;
}

static int16_t map_one(struct sn_emu *e, uint16_t domid, uint32_t ref, bool writable,
		       void **addr, int *fatal)
{
	struct peer_snap s;
	struct sn_emu_map m;
	uint32_t frame;
	void *va;
	int16_t st;
	int rc;

	snap_fill(e, domid, &s);
	if (s.err) {
		if (snap_fatal(s.err))
			*fatal = s.err;
		return GNTST_bad_domain;
	}
	st = pin(e, &s.gt, ref, writable);
	if (st != GNTST_okay)
		goto err_put;
	frame = sn_gt_frame(&s.gt, ref);
	if (frame >= s.ram_pages) {
		st = GNTST_bad_page;
		goto err_unpin;
	}
	va = mmap(NULL, SN_PAGE_SIZE, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, s.ram_fd,
		  (off_t)frame * SN_PAGE_SIZE);
	if (va == MAP_FAILED) {
		st = errno == ENOMEM ? GNTST_no_device_space : GNTST_general_error;
		goto err_unpin;
	}
	m = (struct sn_emu_map){
		.addr = (uintptr_t)va,
		.peer = s.peer, /* the mapping takes our reference */
		.ent = &s.gt.entries[ref],
		.act = &s.gt.active[ref],
		.lock = sn_gt_lock_of(&s.gt, ref),
		.write = writable,
	};
	pthread_mutex_lock(&e->map_lock);
	rc = map_insert(e, &m);
	pthread_mutex_unlock(&e->map_lock);
	if (rc) {
		st = GNTST_no_space; /* Xen: maptrack exhausted */
		goto err_unmap;
	}
	*addr = va;
	return GNTST_okay;

err_unmap:
	munmap(va, SN_PAGE_SIZE);
err_unpin:
	unpin(e, &s.gt, ref, writable);
err_put:
	sn_emu_peer_put(e, s.peer);
	return st;
}

/* Unmap first, unpin after: as Xen flushes the TLB before dropping the
 * pin, the granter may reuse the page only once we cannot reach it. */
static int16_t unmap_one(struct sn_emu *e, void *addr)
{
	struct sn_emu_map m;
	bool found;

	pthread_mutex_lock(&e->map_lock);
	found = map_remove(e, (uintptr_t)addr, &m);
	pthread_mutex_unlock(&e->map_lock);
	if (!found)
		return GNTST_bad_virt_addr;
	munmap(addr, SN_PAGE_SIZE);
	unpin_entry(e, m.ent, m.act, m.lock, m.write);
	sn_emu_peer_put(e, m.peer);
	return GNTST_okay;
}

int sn_emu_gnt_map(struct sn_plat *p, uint32_t count, const uint16_t *domids,
		   const uint32_t *refs, bool writable, void **addrs, int16_t *status)
{
	struct sn_emu *e = (struct sn_emu *)p;
	int fatal = 0;
	uint32_t i;

	for (i = 0; i < count; i++) {
		addrs[i] = NULL;
		status[i] = map_one(e, domids[i], refs[i], writable, &addrs[i], &fatal);
		if (fatal)
			break;
	}
	if (!fatal)
		return 0;
	/* A failure about us (no ptrace permission, no memory) fails the
	 * call; leave nothing mapped that the caller would not unmap. */
	while (i--) {
		if (addrs[i]) {
			unmap_one(e, addrs[i]);
			addrs[i] = NULL;
			status[i] = GNTST_general_error;
		}
	}
	return fatal;
}

int sn_emu_gnt_unmap(struct sn_plat *p, uint32_t count, void *const *addrs, int16_t *status)
{
	struct sn_emu *e = (struct sn_emu *)p;

	for (uint32_t i = 0; i < count; i++)
		status[i] = unmap_one(e, addrs[i]);
	return 0;
}

void sn_emu_gnt_fini(struct sn_emu *e)
{
	for (uint32_t i = 0; i < e->cap_maps; i++) {
		struct sn_emu_map *m = &e->maps[i];

		if (!m->addr)
			continue;
		munmap((void *)m->addr, SN_PAGE_SIZE);
		unpin_entry(e, m->ent, m->act, m->lock, m->write);
		sn_emu_peer_put(e, m->peer);
	}
	free(e->maps);
	e->maps = NULL;
	e->nr_maps = e->cap_maps = 0;
}
