/* Emulated event channels.  Each domain keeps its port table and handle
 * table in one sealed memfd that peers map; the "hypervisor" runs in the
 * caller, so send = set the peer port's pending bit + kick its eventfd.
 *
 * Shared state (any mapper may write it, so every read is copied once into a
 * local and validated):
 *   port word (64-bit, changed only by cmpxchg, both ends of a binding write
 *   it):  state:4 | gen:12 | owner handle slot:16 | remote domid:16 |
 *         remote port:16
 *   port flags (32-bit): PENDING, MASKED.  Notify is one fetch_or on them.
 *   handle word (64-bit): live:1 | gen:31 | fd number in the owner:32
 * Private state (sn_emu_evtchn_shared, per domain): which handle owns each
 * port, and per local port a cached "target" (peer table mapping + our dup
 * of the peer handle's eventfd) that makes notify lock-free.
 *
 * Threading: any op may be called from any thread.  Concurrent notifies of
 * one port are fine; notify racing with unbind/close of that same port is
 * a caller bug (as with fds), which is what lets unbind free the caches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plat/emu/emu.h"

#define EVT_NR_PORTS 4096u   /* Xen's 2-level ABI limit for 64-bit guests */
#define EVT_NR_HANDLES 1024u /* open handles per domain */
#define EVT_MAGIC 0x56454e53u /* "SNEV" in memory (little-endian) */
#define EVT_VERSION 1u

enum evt_state {
	EVT_FREE = 0,
	EVT_RESERVED = 1, /* allocated locally, bind still in progress */
	EVT_UNBOUND = 2,  /* waiting for remote domid to bind */
	EVT_INTERDOMAIN = 3,
};

#define EVT_F_PENDING 1u
#define EVT_F_MASKED 2u

#define HW_LIVE (1ull << 63)

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
	       "port words are shared between processes: need address-free atomics");

/* Flags are written on every event, from both sides: one cache line per
 * port so ports of different queues (threads) do not false-share. */
struct evt_flags {
	_Alignas(64) _Atomic uint32_t v;
};

struct evt_table {
	uint32_t magic, version, nr_ports, nr_handles;
	uint16_t domid;
	_Atomic uint64_t handles[EVT_NR_HANDLES];
	/* Words change only when a binding does: packed apart from the
	 * flags, they stay read-shared in every notifier's cache. */
	_Atomic uint64_t words[EVT_NR_PORTS];
	struct evt_flags flags[EVT_NR_PORTS];
};

/* One mapping of some domain's table, shared by all targets to it. */
struct evt_map {
	struct evt_map *next;
	uint16_t domid;
	dev_t dev;
	ino_t ino; /* identifies the memfd: a restarted peer has a new one */
	struct evt_table *tab;
	pid_t pid; /* the process that published it */
	bool self;
	unsigned int refs;
};

/* Where notify on one local port lands; immutable once published. */
struct evt_target {
	struct evt_target *next; /* retired list */
	uint64_t word;           /* our port word it was built for */
	_Atomic uint32_t *peer_flags; /* the remote port's, in map->tab */
	struct evt_map *map;     /* holds a reference */
	int efd;                 /* our dup of the remote handle's eventfd */
};

struct sn_emu_evtchn_shared {
	struct evt_table *tab; /* our own table (the memfd e->evt_fd) */
	pthread_mutex_t lock;  /* protects handles[], port allocation,
				* maps, target building and retired[] */
	struct sn_evtchn *handles[EVT_NR_HANDLES];
	uint32_t handle_gen;
	uint32_t port_hint;
	/* Read without the lock on the datapath; written under it. */
	_Atomic(struct sn_evtchn *) owner[EVT_NR_PORTS];
	_Atomic(struct evt_target *) target[EVT_NR_PORTS];
	/* Targets replaced while another thread might still be using them;
	 * freed when the port is unbound. */
	struct evt_target *retired[EVT_NR_PORTS];
	struct evt_map *maps;
	struct evt_map self_map;
};

struct sn_evtchn {
	struct sn_emu *e;
	struct sn_emu_evtchn_shared *d;
	int efd;
	uint32_t slot;
	pthread_mutex_t lock; /* protects ports[], nr_ports, cap_ports, rr */
	sn_port_t *ports;
	uint32_t nr_ports, cap_ports, rr;
};

/* ---- encoding ---------------------------------------------------------- */

static inline unsigned int w_state(uint64_t w) { return (unsigned int)(w & 0xf); }
static inline unsigned int w_gen(uint64_t w) { return (unsigned int)((w >> 4) & 0xfff); }
static inline unsigned int w_owner(uint64_t w) { return (unsigned int)((w >> 16) & 0xffff); }
static inline uint16_t w_rdom(uint64_t w) { return (uint16_t)(w >> 32); }
static inline unsigned int w_rport(uint64_t w) { return (unsigned int)(w >> 48); }

/* Every transition bumps gen so a cached target built for an older binding
 * of the same port never matches (ABA needs 4096 transitions in between). */
static inline uint64_t w_make(unsigned int state, uint64_t prev, unsigned int owner,
			      uint16_t rdom, unsigned int rport)
{
	return (uint64_t)state | (uint64_t)((w_gen(prev) + 1) & 0xfff) << 4 |
	       (uint64_t)(owner & 0xffff) << 16 | (uint64_t)rdom << 32 |
	       (uint64_t)(rport & 0xffff) << 48;
}

static inline uint64_t hw_make(bool live, uint32_t gen, int fd)
{
	return (live ? HW_LIVE : 0) | (uint64_t)(gen & 0x7fffffffu) << 32 | (uint32_t)fd;
}

static inline uint16_t self_domid(const struct sn_emu *e)
{
	return e->plat.domid;
}

static uint16_t resolve_domid(const struct sn_emu *e, uint16_t domid)
{
	return domid == DOMID_SELF ? self_domid(e) : domid;
}

/* ---- eventfd ------------------------------------------------------------ */

static void efd_kick(int efd)
{
	uint64_t one = 1;

	/* Only failure is EAGAIN on a counter near 2^64 (already readable)
	 * or a peer-closed fd after its death: both leave nothing to do. */
	if (write(efd, &one, sizeof(one)) < 0)
		return;
}

static void efd_drain(int efd)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: already empty */
}

/* A peer hands us an fd number from its table; writing 8 bytes to whatever
 * that dups to must be harmless, so accept eventfds only. */
static int check_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") ? -EBADF : 0;
}

/* ---- peer table mappings (d->lock held) --------------------------------- */

static void map_put(struct sn_emu_evtchn_shared *d, struct evt_map *m)
{
	struct evt_map **pp;

	if (!m || m->self || --m->refs)
		return;
	for (pp = &d->maps; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	munmap(m->tab, sizeof(*m->tab));
	free(m);
}

static int map_get(struct sn_emu *e, uint16_t domid, struct evt_map **out)
{
	struct sn_emu_evtchn_shared *d = e->evt;
	struct sn_emu_peer *peer;
	struct evt_map *m;
	struct evt_table *tab;
	struct stat st;
	pid_t pid;
	int fd, seals, rc, tries;

	if (domid == self_domid(e)) {
		*out = &d->self_map;
		return 0;
	}
	/* The view domain.c hands us may be of an incarnation that has just
	 * ended (its liveness check is rate-limited): a failed fd lookup may
	 * mean that, and then we forget that view and look once more.  But
	 * only then: a live incarnation whose registry names an fd it does not
	 * hold is lying (or broken), and loading its view again on every bind
	 * would let it pile up our fds; that bind fails, the view stays. */
	for (tries = 0;; tries++) {
		rc = sn_emu_peer_get(e, domid, &peer);
		if (rc)
			return rc;
		rc = sn_emu_peer_getfd(e, peer, "evtchn", &fd);
		if (!rc)
			break;
		if (rc == -ENOENT)
			rc = -ESRCH;
		if (rc == -ESRCH && sn_emu_peer_ended(e, peer)) {
			sn_emu_peer_forget(e, peer);
			if (!tries) {
				sn_emu_peer_put(e, peer);
				continue;
			}
		} else if (rc == -ESRCH) {
			sn_emu_peer_bad_fd(e, peer, "evtchn", rc);
		}
		sn_emu_peer_put(e, peer);
		return rc;
	}
	pid = peer->pid;
	sn_emu_peer_put(e, peer);
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out_fd;
	}
	for (m = d->maps; m; m = m->next) {
		if (m->domid == domid && m->dev == st.st_dev && m->ino == st.st_ino) {
			m->refs++;
			*out = m;
			rc = 0;
			goto out_fd;
		}
	}
	/* The peer could shrink an unsealed memfd under our mapping and turn
	 * our next notify into SIGBUS. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || st.st_size < (off_t)sizeof(*tab)) {
		rc = -EPROTO;
		goto out_fd;
	}
	tab = mmap(NULL, sizeof(*tab), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (tab == MAP_FAILED) {
		rc = -errno;
		goto out_fd;
	}
	if (tab->magic != EVT_MAGIC || tab->version != EVT_VERSION ||
	    tab->nr_ports != EVT_NR_PORTS || tab->nr_handles != EVT_NR_HANDLES ||
	    tab->domid != domid) {
		rc = -EPROTO;
		goto out_unmap;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		rc = -ENOMEM;
		goto out_unmap;
	}
	m->domid = domid;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->tab = tab;
	m->pid = pid;
	m->refs = 1;
	m->next = d->maps;
	d->maps = m;
	*out = m;
	close(fd);
	return 0;

out_unmap:
	munmap(tab, sizeof(*tab));
out_fd:
	close(fd);
	return rc;
}

/* ---- targets (d->lock held) --------------------------------------------- */

static void target_free(struct sn_emu_evtchn_shared *d, struct evt_target *t)
{
	while (t) {
		struct evt_target *next = t->next;

		close(t->efd);
		map_put(d, t->map);
		free(t);
		t = next;
	}
}

/* Publish t as port's notify target.  The old one may be in use by a
 * concurrent notifier, so it is only retired, not freed. */
static void target_set(struct sn_emu_evtchn_shared *d, sn_port_t port, struct evt_target *t)
{
	/* release: a notifier that loads t (acquire) sees it fully built */
	struct evt_target *old = atomic_exchange_explicit(&d->target[port], t,
							  memory_order_acq_rel);

	if (old) {
		old->next = d->retired[port];
		d->retired[port] = old;
	}
}

static void target_drop_all(struct sn_emu_evtchn_shared *d, sn_port_t port)
{
	target_free(d, atomic_exchange(&d->target[port], NULL));
	target_free(d, d->retired[port]);
	d->retired[port] = NULL;
}

/* Build a target for remote port rport of map, whose word (already read,
 * copied and validated by the caller) is pw.  On success the target owns
 * the caller's reference to m; on failure the caller keeps it. */
static int target_build(struct sn_emu *e, struct evt_map *m, unsigned int rport, uint64_t pw,
			struct evt_target **out)
{
	struct sn_emu_evtchn_shared *d = e->evt;
	_Atomic uint64_t *rword = &m->tab->words[rport];
	unsigned int slot = w_owner(pw);
	struct evt_target *t;
	int efd, rc;

	if (slot >= EVT_NR_HANDLES)
		return -EPROTO;
	if (m->self) {
		/* Our own handle: use the private pointer, never an fd number
		 * from shared memory that a peer could have rewritten. */
		if (!d->handles[slot])
			return -ESRCH;
		efd = fcntl(d->handles[slot]->efd, F_DUPFD_CLOEXEC, 0);
		if (efd < 0)
			return -errno;
	} else {
		struct sn_emu_peer *peer;
		uint64_t hw = atomic_load(&m->tab->handles[slot]);

		if (!(hw & HW_LIVE))
			return -ESRCH;
		rc = sn_emu_peer_get(e, m->domid, &peer);
		if (rc)
			return rc;
		/* fd numbers in m are only meaningful in the process that
		 * published m: if the domain restarted, its old table is
		 * dead and the number would dup an unrelated fd. */
		if (peer->pid != m->pid) {
			sn_emu_peer_put(e, peer);
			return -ESRCH;
		}
		rc = sn_emu_peer_dupfd(peer, (int)(uint32_t)hw, &efd);
		sn_emu_peer_put(e, peer);
		if (rc)
			return rc;
		rc = check_eventfd(efd);
		if (rc)
			goto err_fd;
		/* The peer closes a handle's fd only after clearing its slot,
		 * so an unchanged slot and port word (seq_cst loads, after
		 * the dup) mean the dup got that handle's eventfd and not a
		 * recycled fd number. */
		if (atomic_load(&m->tab->handles[slot]) != hw || atomic_load(rword) != pw) {
			rc = -EAGAIN;
			goto err_fd;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		rc = -ENOMEM;
		goto err_fd;
	}
	t->peer_flags = &m->tab->flags[rport].v;
	t->map = m;
	t->efd = efd;
	*out = t;
	return 0;

err_fd:
	close(efd);
	return rc;
}

/* ---- local ports (d->lock held) ------------------------------------------ */

static int port_alloc(struct sn_emu_evtchn_shared *d, unsigned int state, unsigned int slot,
		      uint16_t rdom, unsigned int rport)
{
	uint32_t i;

	for (i = 0; i < EVT_NR_PORTS; i++) {
		uint32_t p = (d->port_hint + i) % EVT_NR_PORTS;
		_Atomic uint64_t *word = &d->tab->words[p];
		uint64_t w;

		if (p == 0) /* never valid, as on Xen */
			continue;
		w = atomic_load(word);
		if (w_state(w) != EVT_FREE)
			continue;
		/* Clear leftovers (a late notify of the previous binding)
		 * before the port becomes visible as allocated. */
		atomic_store(&d->tab->flags[p].v, 0);
		/* cmpxchg: a hostile peer may write our table; never
		 * overwrite a word we did not just read. */
		if (!atomic_compare_exchange_strong(word, &w,
						    w_make(state, w, slot, rdom, rport)))
			continue;
		d->port_hint = p + 1;
		return (int)p;
	}
	return -ENOSPC;
}

static int handle_reserve(struct sn_evtchn *h)
{
	sn_port_t *n;
	uint32_t cap;

	if (h->nr_ports < h->cap_ports)
		return 0;
	cap = h->cap_ports ? h->cap_ports * 2 : 8;
	n = realloc(h->ports, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	h->ports = n;
	h->cap_ports = cap;
	return 0;
}

static void handle_add_port(struct sn_evtchn *h, sn_port_t port)
{
	pthread_mutex_lock(&h->lock);
	h->ports[h->nr_ports++] = port; /* capacity reserved beforehand */
	pthread_mutex_unlock(&h->lock);
	atomic_store_explicit(&h->d->owner[port], h, memory_order_release);
}

/* Return an interdomain peer's port to unbound(us), Xen's close semantics.
 * w is the last word our port had. */
static void peer_unlink(struct sn_emu *e, sn_port_t port, uint64_t w, struct evt_target *t)
{
	struct sn_emu_evtchn_shared *d = e->evt;
	unsigned int rport = w_rport(w);
	struct evt_map *m = NULL;
	_Atomic uint64_t *rword;
	uint64_t pw;
	int tries;

	if (rport == 0 || rport >= EVT_NR_PORTS)
		return;
	if (t && t->word == w) {
		m = t->map;
	} else if (map_get(e, w_rdom(w), &m)) {
		return; /* peer gone: nothing left to update */
	}
	rword = &m->tab->words[rport];
	for (tries = 0; tries < 64; tries++) {
		pw = atomic_load(rword);
		/* RESERVED(us, port) is a binder between linking our end and
		 * its own: unlinking it too makes its bind end unbound, as if
		 * we had closed just after it. */
		if ((w_state(pw) != EVT_INTERDOMAIN && w_state(pw) != EVT_RESERVED) ||
		    w_rdom(pw) != self_domid(e) || w_rport(pw) != port)
			break; /* the peer unbound it already, or never linked */
		if (atomic_compare_exchange_strong(rword, &pw,
						   w_make(EVT_UNBOUND, pw, w_owner(pw),
							  self_domid(e), 0)))
			break;
	}
	if (!(t && t->word == w))
		map_put(d, m);
}

/* Free a port of h.  d->lock held. */
static void port_release(struct sn_evtchn *h, sn_port_t port)
{
	struct sn_emu_evtchn_shared *d = h->d;
	_Atomic uint64_t *word = &d->tab->words[port];
	uint32_t i;
	uint64_t w;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nr_ports; i++) {
		if (h->ports[i] == port) {
			h->ports[i] = h->ports[--h->nr_ports];
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	atomic_store(&d->owner[port], NULL);

	/* A binder racing us may turn unbound into interdomain; the cmpxchg
	 * loop sees which one we actually free. */
	w = atomic_load(word);
	while (!atomic_compare_exchange_weak(word, &w, w_make(EVT_FREE, w, 0, 0, 0)))
		;
	atomic_store(&d->tab->flags[port].v, 0);
	if (w_state(w) == EVT_INTERDOMAIN)
		peer_unlink(h->e, port, w, atomic_load(&d->target[port]));
	target_drop_all(d, port);
}

/* ---- domain init/fini ---------------------------------------------------- */

int sn_emu_evtchn_init(struct sn_emu *e)
{
	struct sn_emu_evtchn_shared *d;
	int fd, rc;

	e->evt_fd = -1;
	e->evt = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	fd = memfd_create("sn-evtchn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	if (ftruncate(fd, sizeof(struct evt_table)) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		rc = -errno;
		goto err_fd;
	}
	d->tab = mmap(NULL, sizeof(*d->tab), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (d->tab == MAP_FAILED) {
		rc = -errno;
		goto err_fd;
	}
	d->tab->magic = EVT_MAGIC;
	d->tab->version = EVT_VERSION;
	d->tab->nr_ports = EVT_NR_PORTS;
	d->tab->nr_handles = EVT_NR_HANDLES;
	d->tab->domid = self_domid(e);
	rc = pthread_mutex_init(&d->lock, NULL);
	if (rc) {
		rc = -rc;
		goto err_unmap;
	}
	d->port_hint = 1;
	d->self_map.domid = self_domid(e);
	d->self_map.tab = d->tab;
	d->self_map.self = true;
	e->evt = d;
	e->evt_fd = fd;
	return 0;

err_unmap:
	munmap(d->tab, sizeof(*d->tab));
err_fd:
	close(fd);
err_free:
	free(d);
	return rc;
}

void sn_emu_evtchn_fini(struct sn_emu *e)
{
	struct sn_emu_evtchn_shared *d = e->evt;
	uint32_t i;

	if (!d)
		return;
	/* Handles the caller leaked: close them so peers see our ports go
	 * back to unbound instead of pointing at a dead table. */
	for (i = 0; i < EVT_NR_HANDLES; i++)
		if (d->handles[i])
			sn_emu_evt_close(d->handles[i]);
	for (i = 0; i < EVT_NR_PORTS; i++)
		target_drop_all(d, i);
	while (d->maps) { /* only reachable if a ref leaked; be safe */
		struct evt_map *m = d->maps;

		d->maps = m->next;
		munmap(m->tab, sizeof(*m->tab));
		free(m);
	}
	pthread_mutex_destroy(&d->lock);
	munmap(d->tab, sizeof(*d->tab));
	close(e->evt_fd);
	free(d);
	e->evt = NULL;
	e->evt_fd = -1;
}

/* ---- handles -------------------------------------------------------------- */

int sn_emu_evt_open(struct sn_plat *p, struct sn_evtchn **out)
{
	struct sn_emu *e = (struct sn_emu *)p;
	struct sn_emu_evtchn_shared *d = e->evt;
	struct sn_evtchn *h;
	uint32_t i;
	int rc;

	if (!d)
		return -ENODEV;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->e = e;
	h->d = d;
	rc = pthread_mutex_init(&h->lock, NULL);
	if (rc) {
		rc = -rc;
		goto err_free;
	}
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		rc = -errno;
		goto err_mutex;
	}
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < EVT_NR_HANDLES && d->handles[i]; i++)
		;
	if (i == EVT_NR_HANDLES) {
		pthread_mutex_unlock(&d->lock);
		rc = -EMFILE;
		goto err_efd;
	}
	h->slot = i;
	d->handles[i] = h;
	/* A fresh gen per open lets peers tell a reused slot from the
	 * handle whose fd they dup'd. */
	atomic_store(&d->tab->handles[i], hw_make(true, ++d->handle_gen, h->efd));
	pthread_mutex_unlock(&d->lock);
	*out = h;
	return 0;

err_efd:
	close(h->efd);
err_mutex:
	pthread_mutex_destroy(&h->lock);
err_free:
	free(h);
	return rc;
}

void sn_emu_evt_close(struct sn_evtchn *h)
{
	struct sn_emu_evtchn_shared *d;

	if (!h)
		return;
	d = h->d;
	pthread_mutex_lock(&d->lock);
	while (h->nr_ports)
		port_release(h, h->ports[h->nr_ports - 1]);
	/* Clear the slot before closing the fd: target_build relies on it
	 * (an fd number is only trusted while its slot is unchanged). */
	atomic_store(&d->tab->handles[h->slot], hw_make(false, d->handle_gen, -1));
	d->handles[h->slot] = NULL;
	pthread_mutex_unlock(&d->lock);
	close(h->efd);
	pthread_mutex_destroy(&h->lock);
	free(h->ports);
	free(h);
}

int sn_emu_evt_fd(struct sn_evtchn *h)
{
	return h->efd;
}

static bool owned(const struct sn_evtchn *h, sn_port_t port)
{
	/* relaxed: ownership only changes in bind/unbind, which the caller
	 * must not race with other ops on the same port */
	return port > 0 && port < EVT_NR_PORTS &&
	       atomic_load_explicit(&h->d->owner[port], memory_order_relaxed) == h;
}

int sn_emu_evt_alloc_unbound(struct sn_evtchn *h, uint16_t remote_domid)
{
	struct sn_emu_evtchn_shared *d = h->d;
	uint16_t rdom = resolve_domid(h->e, remote_domid);
	int port, rc;

	if (rdom >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&h->lock);
	rc = handle_reserve(h);
	pthread_mutex_unlock(&h->lock);
	if (rc)
		goto out;
	port = port_alloc(d, EVT_UNBOUND, h->slot, rdom, 0);
	if (port < 0) {
		rc = port;
		goto out;
	}
	handle_add_port(h, (sn_port_t)port);
	rc = port;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int sn_emu_evt_bind_interdomain(struct sn_evtchn *h, uint16_t remote_domid,
				sn_port_t remote_port)
{
	struct sn_emu_evtchn_shared *d = h->d;
	uint16_t rdom = resolve_domid(h->e, remote_domid);
	uint16_t me = self_domid(h->e);
	struct evt_target *t = NULL;
	struct evt_map *m;
	_Atomic uint64_t *rword, *word;
	uint64_t pw, w;
	int lp, rc, tries;

	if (rdom >= DOMID_FIRST_RESERVED || remote_port == 0 || remote_port >= EVT_NR_PORTS)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&h->lock);
	rc = handle_reserve(h);
	pthread_mutex_unlock(&h->lock);
	if (rc)
		goto out_unlock;
	rc = map_get(h->e, rdom, &m);
	if (rc)
		goto out_unlock;
	/* Reserved first, so the port number we link the peer to is ours and
	 * not yet visible as bound. */
	lp = port_alloc(d, EVT_RESERVED, h->slot, rdom, remote_port);
	if (lp < 0) {
		rc = lp;
		goto out_map;
	}
	word = &d->tab->words[lp];
	rword = &m->tab->words[remote_port];
	for (tries = 0;; tries++) {
		pw = atomic_load(rword);
		/* Xen: the remote port must be unbound and offered to us. */
		if (w_state(pw) != EVT_UNBOUND || w_rdom(pw) != me || tries >= 8) {
			rc = -EINVAL;
			goto out_port;
		}
		rc = target_build(h->e, m, remote_port, pw, &t);
		if (rc == -EAGAIN)
			continue;
		if (rc)
			goto out_port;
		/* cmpxchg: of two domains binding the same unbound port only
		 * one wins; the other re-reads, sees interdomain, -EINVAL. */
		if (atomic_compare_exchange_strong(rword, &pw,
						   w_make(EVT_INTERDOMAIN, pw, w_owner(pw), me,
							  (unsigned int)lp)))
			break;
		t->map = NULL; /* the ref stays with m for the next try */
		target_free(d, t);
		t = NULL;
	}
	/* Xen marks the new port pending so that events the peer sent before
	 * the bind are not lost; the caller sees one spurious event.  flags
	 * before word: the port is consistent once it reads interdomain. */
	atomic_store(&d->tab->flags[lp].v, EVT_F_PENDING);
	/* Only from RESERVED: if the peer closed its port meanwhile, it set
	 * ours unbound, and that is the correct outcome to keep. */
	w = atomic_load(word);
	while (w_state(w) == EVT_RESERVED &&
	       !atomic_compare_exchange_weak(word, &w,
					     w_make(EVT_INTERDOMAIN, w, h->slot, rdom,
						    remote_port)))
		;
	t->word = atomic_load(word);
	target_set(d, (sn_port_t)lp, t);
	handle_add_port(h, (sn_port_t)lp);
	pthread_mutex_unlock(&d->lock);
	/* After the pending store (seq_cst, and the write syscall orders it
	 * for the reader): pending() that sees the counter sees the bit. */
	efd_kick(h->efd);
	return lp;

out_port:
	w = atomic_load(word);
	while (!atomic_compare_exchange_weak(word, &w, w_make(EVT_FREE, w, 0, 0, 0)))
		;
out_map:
	map_put(d, m);
out_unlock:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int sn_emu_evt_unbind(struct sn_evtchn *h, sn_port_t port)
{
	struct sn_emu_evtchn_shared *d = h->d;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	if (owned(h, port))
		port_release(h, port);
	else
		rc = -EINVAL;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Cache miss: (re)build port's target.  Returns 1 with *out set, 0 when the
 * port has no live peer end to deliver to (no effect, as Xen), or -errno. */
static int notify_slow(struct sn_evtchn *h, sn_port_t port, struct evt_target **out)
{
	struct sn_emu_evtchn_shared *d = h->d;
	struct evt_target *t;
	struct evt_map *m;
	unsigned int rport;
	uint64_t w, pw;
	int rc, tries;

	pthread_mutex_lock(&d->lock);
	for (tries = 0; tries < 8; tries++) {
		w = atomic_load(&d->tab->words[port]);
		if (!owned(h, port)) {
			rc = -EINVAL;
			goto out;
		}
		if (w_state(w) != EVT_INTERDOMAIN) {
			rc = 0;
			goto out;
		}
		t = atomic_load(&d->target[port]);
		if (t && t->word == w) { /* another thread refreshed it */
			*out = t;
			rc = 1;
			goto out;
		}
		rport = w_rport(w);
		if (rport == 0 || rport >= EVT_NR_PORTS) {
			rc = -EPROTO; /* our word was scribbled on */
			goto out;
		}
		rc = map_get(h->e, w_rdom(w), &m);
		if (rc)
			goto out; /* -ESRCH: the peer is gone */
		pw = atomic_load(&m->tab->words[rport]);
		if (w_state(pw) != EVT_INTERDOMAIN || w_rdom(pw) != self_domid(h->e) ||
		    w_rport(pw) != port) {
			/* The peer is mid-bind (it links our end first and
			 * then marks its own pending) or has gone: either
			 * way nothing of ours can be lost. */
			map_put(d, m);
			rc = 0;
			goto out;
		}
		rc = target_build(h->e, m, rport, pw, &t);
		if (rc == -EAGAIN) {
			map_put(d, m);
			continue;
		}
		if (rc) {
			map_put(d, m);
			goto out;
		}
		t->word = w;
		target_set(d, port, t);
		*out = t;
		rc = 1;
		goto out;
	}
	rc = -EAGAIN;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* The datapath: one load of our port word, one of the cached target, one
 * atomic RMW on the peer's flags and at most one write(). */
int sn_emu_evt_notify(struct sn_evtchn *h, sn_port_t port)
{
	struct sn_emu_evtchn_shared *d = h->d;
	struct evt_target *t;
	uint32_t old;
	uint64_t w;
	int rc;

	if (!owned(h, port))
		return -EINVAL;
	/* relaxed is enough for the word: it only selects the cached target,
	 * whose contents are ordered by the acquire load below. */
	w = atomic_load_explicit(&d->tab->words[port], memory_order_relaxed);
	if (w_state(w) == EVT_UNBOUND)
		return 0; /* Xen: sending on an unbound port does nothing */
	if (w_state(w) != EVT_INTERDOMAIN)
		return -EINVAL;
	t = atomic_load_explicit(&d->target[port], memory_order_acquire);
	if (!t || t->word != w) {
		rc = notify_slow(h, port, &t);
		if (rc <= 0)
			return rc;
	}
	/* seq_cst RMW: releases the caller's ring writes to whoever clears
	 * PENDING next (its RMW reads ours), and is totally ordered with
	 * unmask's fetch_and, so exactly one of us sees the other and the
	 * event is delivered once. */
	old = atomic_fetch_or(t->peer_flags, EVT_F_PENDING);
	if (!(old & (EVT_F_PENDING | EVT_F_MASKED)))
		efd_kick(t->efd);
	/* else: already pending (coalesced, the reader has a wakeup coming)
	 * or masked (unmask delivers it). */
	return 0;
}

/* h->lock held */
static bool any_deliverable(const struct sn_evtchn *h)
{
	uint32_t i;

	for (i = 0; i < h->nr_ports; i++) {
		uint32_t f = atomic_load(&h->d->tab->flags[h->ports[i]].v);

		if ((f & (EVT_F_PENDING | EVT_F_MASKED)) == EVT_F_PENDING)
			return true;
	}
	return false;
}

int sn_emu_evt_pending(struct sn_evtchn *h)
{
	struct evt_table *tab = h->d->tab;
	int port = -EAGAIN;
	uint32_t i, n;

	pthread_mutex_lock(&h->lock);
	n = h->nr_ports;
	/* Round-robin from after the last delivered port, so one busy port
	 * cannot starve the others of this handle. */
	for (i = 0; i < n && port < 0; i++) {
		uint32_t idx = (h->rr + i) % n;
		_Atomic uint32_t *fl = &tab->flags[h->ports[idx]].v;
		uint32_t f = atomic_load(fl);

		/* Claim = clear pending and mask, in one step (the Linux
		 * driver masks on delivery); seq_cst pairs with notify. */
		while ((f & (EVT_F_PENDING | EVT_F_MASKED)) == EVT_F_PENDING) {
			if (atomic_compare_exchange_weak(fl, &f,
							 (f & ~EVT_F_PENDING) | EVT_F_MASKED)) {
				port = (int)h->ports[idx];
				h->rr = idx + 1;
				break;
			}
		}
	}
	/* Level-triggered fd: readable iff some port is deliverable.  Every
	 * transition to deliverable writes the eventfd after setting the
	 * bit, so drain first and rescan second: a notify whose write we
	 * just drained set its bit before that write, so the rescan sees it
	 * and re-arms the fd. */
	if (!any_deliverable(h)) {
		efd_drain(h->efd);
		/* Orders the rescan after the read (the syscall already is a
		 * barrier; this keeps the compiler from hoisting loads). */
		atomic_thread_fence(memory_order_seq_cst);
		if (any_deliverable(h))
			efd_kick(h->efd);
	}
	pthread_mutex_unlock(&h->lock);
	return port;
}

int sn_emu_evt_unmask(struct sn_evtchn *h, sn_port_t port)
{
	uint32_t old;

	if (!owned(h, port))
		return -EINVAL;
	/* seq_cst RMW, ordered with notify's fetch_or: if a notify hit while
	 * masked we see its PENDING and deliver it; otherwise it sees the
	 * mask cleared and delivers itself. */
	old = atomic_fetch_and(&h->d->tab->flags[port].v, ~EVT_F_MASKED);
	if ((old & (EVT_F_PENDING | EVT_F_MASKED)) == (EVT_F_PENDING | EVT_F_MASKED))
		efd_kick(h->efd);
	return 0;
}
