/* An emulated domain: its RAM and grant table (memfds), its entry in the
 * host's registry, and the cached view it has of other domains.  Peers'
 * memfds are reached with pidfd_getfd, which like process_vm_readv needs
 * ptrace permission over the peer: exactly the privilege a Xen backend
 * domain has through the hypervisor. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "plat/emu/emu.h"
#include "plat/xs.h"
#include "plat/xs_keys.h"

#define DEFAULT_RAM_PAGES 16384u     /* 64 MiB of guest RAM */
#define DEFAULT_GNTTAB_ENTRIES 32768u /* Xen's default max is 64 frames = 32768 v1 entries */
#define PEER_BLOCK 1024u

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_getfd_(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

void sn_emu_ptrace_hint(void)
{
	/* Process-wide diagnostic latch, not protocol state: say it once. */
	static atomic_bool said;

	if (atomic_exchange(&said, true))
		return;
	fprintf(stderr,
		"stagenet: no ptrace permission over the peer domain's process.\n"
		"  The emulated hypervisor reads and maps other domains' memory with\n"
		"  process_vm_readv/pidfd_getfd, which need it.  Run as root, or run all\n"
		"  stagenet processes as one user with `sysctl kernel.yama.ptrace_scope=0`.\n");
}

static size_t gt_bytes(uint32_t n)
{
	size_t b = (size_t)n * (sizeof(grant_entry_v1_t) + sizeof(struct sn_emu_active));

	return (b + SN_PAGE_SIZE - 1) & ~(size_t)(SN_PAGE_SIZE - 1);
}

static int gt_map(int fd, uint32_t n, struct sn_emu_gt_view *v)
{
	void *m;

	v->map_len = gt_bytes(n);
	m = mmap(NULL, v->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	v->entries = m;
	v->active = (struct sn_emu_active *)((uint8_t *)m + (size_t)n * sizeof(grant_entry_v1_t));
	v->nr_entries = n;
	return 0;
}

static void gt_unmap(struct sn_emu_gt_view *v)
{
	if (v->entries)
		munmap(v->entries, v->map_len);
	memset(v, 0, sizeof(*v));
}

/* Peers map these memfds; a hostile domain that shrank one would SIGBUS
 * every backend holding a page of it.  Sealing the size makes that
 * impossible (a Xen guest cannot take frames away from a mapper either). */
static int size_and_seal(int fd, off_t size)
{
	if (ftruncate(fd, size))
		return -errno;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	return 0;
}

static int reg_path(char *buf, size_t len, uint16_t domid, const char *leaf)
{
	int n = snprintf(buf, len, SN_EMU_REG_ROOT "/%u%s%s", domid, leaf ? "/" : "", leaf ? leaf : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int reg_write(struct sn_emu *e, xs_transaction_t t, const char *leaf, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int reg_write(struct sn_emu *e, xs_transaction_t t, const char *leaf, const char *fmt, ...)
{
	char path[128], val[64];
	va_list ap;
	int rc;

	rc = reg_path(path, sizeof(path), e->plat.domid, leaf);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return sn_xs_write(&e->plat, t, path, val, (unsigned)strlen(val));
}

/* Registry values are written by other processes: parse strictly. */
static int reg_read_u64(struct sn_emu *e, uint16_t domid, const char *leaf, int base, uint64_t *out)
{
	char path[128], *val, *end;
	unsigned int len;
	int rc;

	rc = reg_path(path, sizeof(path), domid, leaf);
	if (rc)
		return rc;
	rc = sn_xs_read(&e->plat, XBT_NULL, path, &val, &len);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	errno = 0;
	*out = strtoull(val, &end, base);
	rc = (errno || end == val || *end) ? -EPROTO : 0;
	free(val);
	return rc;
}

/* A domain's registry node goes when its process does (the host ties it to
 * the connection), and a domid registered again by a new process has a new
 * pid, or at least a new RAM mapping: the pair names the incarnation. */
int sn_emu_dom_instance(struct sn_plat *p, uint16_t domid, char **id)
{
	char path[128], *pid = NULL, *base = NULL;
	int rc;

	rc = reg_path(path, sizeof(path), domid, "pid");
	if (!rc)
		rc = p->ops->xs_read(p, XBT_NULL, path, &pid, NULL);
	if (!rc)
		rc = reg_path(path, sizeof(path), domid, "ram-base");
	if (!rc)
		rc = p->ops->xs_read(p, XBT_NULL, path, &base, NULL);
	if (!rc && asprintf(id, "%s/%s", pid, base) < 0)
		rc = -ENOMEM;
	free(pid);
	free(base);
	return rc == -ENOENT ? -ESRCH : rc;
}

static int register_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	struct sn_emu *e = (struct sn_emu *)p;
	const char *path = arg;
	char *old;
	int rc;

	if (sn_xs_read(p, t, path, &old, NULL) == 0) {
		free(old);
		return -EEXIST;
	}
	rc = reg_write(e, t, "pid", "%d", (int)e->pid);
	if (!rc)
		rc = reg_write(e, t, "ram-base", "0x%" PRIxPTR, (uintptr_t)e->ram);
	if (!rc)
		rc = reg_write(e, t, "ram-pages", "%u", e->ram_pages);
	if (!rc)
		rc = reg_write(e, t, "gnttab-entries", "%u", e->gt.nr_entries);
	if (!rc)
		rc = reg_write(e, t, "fd/ram", "%d", e->ram_fd);
	if (!rc)
		rc = reg_write(e, t, "fd/gnttab", "%d", e->gt_fd);
	if (!rc && e->evt_fd >= 0)
		rc = reg_write(e, t, "fd/evtchn", "%d", e->evt_fd);
	return rc;
}

static int register_domain(struct sn_emu *e)
{
	char path[128];
	int rc;

	rc = reg_path(path, sizeof(path), e->plat.domid, NULL);
	if (rc)
		return rc;
	/* The host ties the node's lifetime to this connection, so a domain
	 * that dies disappears from the registry on its own. */
	rc = sn_xs_txn(&e->plat, register_body, path);
	if (rc == -EEXIST)
		fprintf(stderr, "stagenet: emulated domain %u is already registered by a live process\n",
			e->plat.domid);
	return rc;
}

int sn_emu_domain_init(struct sn_emu *e, const struct sn_plat_cfg *cfg)
{
	uint32_t entries = cfg->gnttab_entries ? cfg->gnttab_entries : DEFAULT_GNTTAB_ENTRIES;
	char name[32];
	void *m;
	int rc;

	e->ram_pages = cfg->ram_pages ? cfg->ram_pages : DEFAULT_RAM_PAGES;
	if (entries <= GNTTAB_NR_RESERVED_ENTRIES)
		return -EINVAL;
	pthread_mutex_init(&e->ram_lock, NULL);
	pthread_mutex_init(&e->gt_lock, NULL);
	pthread_mutex_init(&e->map_lock, NULL);
	pthread_rwlock_init(&e->peer_lock, NULL);
	e->ram_fd = e->gt_fd = -1;

	snprintf(name, sizeof(name), "sn-ram-%u", cfg->domid);
	e->ram_fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (e->ram_fd < 0)
		return -errno;
	rc = size_and_seal(e->ram_fd, (off_t)e->ram_pages * SN_PAGE_SIZE);
	if (rc)
		goto err_ram_fd;
	m = mmap(NULL, (size_t)e->ram_pages * SN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 e->ram_fd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		goto err_ram_fd;
	}
	e->ram = m;
	e->ram_used = calloc(e->ram_pages, 1);
	if (!e->ram_used) {
		rc = -ENOMEM;
		goto err_ram_map;
	}

	snprintf(name, sizeof(name), "sn-gnttab-%u", cfg->domid);
	e->gt_fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (e->gt_fd < 0) {
		rc = -errno;
		goto err_used;
	}
	rc = size_and_seal(e->gt_fd, (off_t)gt_bytes(entries));
	if (rc)
		goto err_gt_fd;
	rc = gt_map(e->gt_fd, entries, &e->gt);
	if (rc)
		goto err_gt_fd;
	e->gt_next_free = GNTTAB_NR_RESERVED_ENTRIES;

	rc = register_domain(e);
	if (rc)
		goto err_gt_map;
	return 0;

err_gt_map:
	gt_unmap(&e->gt);
err_gt_fd:
	close(e->gt_fd);
	e->gt_fd = -1;
err_used:
	free(e->ram_used);
	e->ram_used = NULL;
err_ram_map:
	munmap(e->ram, (size_t)e->ram_pages * SN_PAGE_SIZE);
	e->ram = NULL;
err_ram_fd:
	close(e->ram_fd);
	e->ram_fd = -1;
	return rc;
}

static void peer_release(struct sn_emu_peer *p)
{
	gt_unmap(&p->gt);
	if (p->ram_fd >= 0)
		close(p->ram_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->ram_fd = p->pidfd = -1;
	p->valid = false;
}

/* Drop one reference; the last one releases the view.  It cannot be the
 * last while a cache slot points at the view: the slot holds its own. */
static void peer_unref(struct sn_emu_peer *p)
{
	/* acq_rel: the last holder sees every other holder's writes through
	 * the view (unpins in gt) happen before it unmaps. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
		peer_release(p);
		free(p);
	}
}

void sn_emu_domain_fini(struct sn_emu *e)
{
	char path[128];

	if (e->plat.xs && !reg_path(path, sizeof(path), e->plat.domid, NULL))
		sn_xs_rm(&e->plat, XBT_NULL, path);
	/* The cache's references; sn_emu_gnt_fini already dropped those of
	 * the mappings, and no operation runs during close. */
	for (size_t b = 0; b < sizeof(e->peers) / sizeof(e->peers[0]); b++) {
		if (!e->peers[b])
			continue;
		for (uint32_t i = 0; i < PEER_BLOCK; i++)
			if (e->peers[b][i])
				peer_unref(e->peers[b][i]);
		free(e->peers[b]);
		e->peers[b] = NULL;
	}
	pthread_rwlock_destroy(&e->peer_lock);
	free(e->maps);
	e->maps = NULL;
	gt_unmap(&e->gt);
	if (e->gt_fd >= 0)
		close(e->gt_fd);
	free(e->ram_used);
	if (e->ram)
		munmap(e->ram, (size_t)e->ram_pages * SN_PAGE_SIZE);
	if (e->ram_fd >= 0)
		close(e->ram_fd);
	e->ram = NULL;
	e->ram_used = NULL;
	e->gt_fd = e->ram_fd = -1;
}

int sn_emu_publish_fd(struct sn_emu *e, const char *name, int fd)
{
	char leaf[64];

	if (snprintf(leaf, sizeof(leaf), "fd/%s", name) >= (int)sizeof(leaf))
		return -ENAMETOOLONG;
	return reg_write(e, XBT_NULL, leaf, "%d", fd);
}

int sn_emu_peer_dupfd(struct sn_emu_peer *peer, int remote_fd, int *fd)
{
	int r = pidfd_getfd_(peer->pidfd, remote_fd);

	if (r < 0) {
		if (errno == EPERM)
			sn_emu_ptrace_hint();
		return errno == EBADF ? -ESRCH : -errno;
	}
	*fd = r;
	return 0;
}

int sn_emu_peer_getfd(struct sn_emu *e, struct sn_emu_peer *peer, const char *name, int *fd)
{
	char leaf[64];
	uint64_t num;
	int rc;

	if (snprintf(leaf, sizeof(leaf), "fd/%s", name) >= (int)sizeof(leaf))
		return -ENAMETOOLONG;
	rc = reg_read_u64(e, peer->domid, leaf, 10, &num);
	if (rc)
		return rc;
	if (num > INT32_MAX)
		return -EPROTO;
	return sn_emu_peer_dupfd(peer, (int)num, fd);
}

/* The registry's numbers are the guest's own to write.  An fd we dup'd
 * from it must be the memfd domain_init created for that domid (the
 * creator names a memfd; a guest cannot rename another process's), of the
 * size the registry claims and sealed against shrinking: otherwise a guest
 * could send us to another domain's process, or make us map past the end
 * of its memfd and take SIGBUS on the first access. */
static int check_memfd(int fd, const char *kind, uint16_t domid, size_t size)
{
	char path[64], link[96], want[64];
	struct stat st;
	ssize_t n;
	int seals;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "/memfd:sn-%s-%u (deleted)", kind, domid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (strcmp(link, want))
		return -EPROTO;
	if (fstat(fd, &st))
		return -errno;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || st.st_size != (off_t)size)
		return -EPROTO;
	return 0;
}

/* Fill *p from the registry; on failure *p holds nothing to release. */
static int peer_load(struct sn_emu *e, uint16_t domid, struct sn_emu_peer *p)
{
	uint64_t pid, base, pages, entries;
	int gt_fd, rc;

	memset(p, 0, sizeof(*p));
	p->domid = domid;
	p->ram_fd = p->pidfd = -1;
	rc = reg_read_u64(e, domid, "pid", 10, &pid);
	if (!rc)
		rc = reg_read_u64(e, domid, "ram-base", 16, &base);
	if (!rc)
		rc = reg_read_u64(e, domid, "ram-pages", 10, &pages);
	if (!rc)
		rc = reg_read_u64(e, domid, "gnttab-entries", 10, &entries);
	if (rc)
		return rc;
	if (pid == 0 || pid > INT32_MAX || pages == 0 || pages > (1u << 24) ||
	    entries <= GNTTAB_NR_RESERVED_ENTRIES || entries > (1u << 20) || (base & (SN_PAGE_SIZE - 1)))
		return -EPROTO;
	p->pid = (pid_t)pid;
	p->ram_base = (uintptr_t)base;
	p->ram_pages = (uint32_t)pages;
	p->pidfd = pidfd_open_(p->pid);
	if (p->pidfd < 0)
		return -ESRCH;
	rc = sn_emu_peer_getfd(e, p, "ram", &p->ram_fd);
	if (!rc)
		rc = check_memfd(p->ram_fd, "ram", domid, (size_t)pages * SN_PAGE_SIZE);
	if (rc)
		goto err;
	rc = sn_emu_peer_getfd(e, p, "gnttab", &gt_fd);
	if (rc)
		goto err;
	rc = check_memfd(gt_fd, "gnttab", domid, gt_bytes((uint32_t)entries));
	if (!rc)
		rc = gt_map(gt_fd, (uint32_t)entries, &p->gt);
	close(gt_fd);
	if (rc)
		goto err;
	p->valid = true;
	return 0;
err:
	peer_release(p);
	return rc;
}

/* How stale a "the peer is alive" answer may be.  A domain that exits and
 * is replaced by a new process under the same domid must not be reached
 * through the old view (its grant table still holds the dead domain's
 * entries).  Checking the pidfd costs a syscall, so it is done at most this
 * often per peer rather than per grant operation; re-registering a domid
 * and handshaking again takes far longer. */
#define PEER_LIVENESS_NS 1000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool pidfd_exited(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	/* A pidfd polls readable once its process has exited. */
	return poll(&pfd, 1, 0) != 0;
}

static bool peer_alive(struct sn_emu_peer *p)
{
	uint64_t now = now_ns();

	if (now - __atomic_load_n(&p->live_checked_ns, __ATOMIC_RELAXED) < PEER_LIVENESS_NS)
		return true;
	if (pidfd_exited(p->pidfd))
		return false;
	__atomic_store_n(&p->live_checked_ns, now, __ATOMIC_RELAXED);
	return true;
}

/* Take p out of the cache if it is still the cached view of its domid,
 * with the cache's reference; holders keep it until their put.  Caller
 * holds peer_lock exclusive. */
static void peer_unhook_locked(struct sn_emu *e, struct sn_emu_peer *p)
{
	struct sn_emu_peer **blk = e->peers[p->domid / PEER_BLOCK];

	if (!blk || blk[p->domid % PEER_BLOCK] != p)
		return;
	blk[p->domid % PEER_BLOCK] = NULL;
	peer_unref(p);
}

/* The cached view of domid with a reference for the caller, or NULL. */
static struct sn_emu_peer *peer_cached(struct sn_emu *e, uint16_t domid)
{
	struct sn_emu_peer **blk, *p = NULL;

	pthread_rwlock_rdlock(&e->peer_lock);
	blk = e->peers[domid / PEER_BLOCK];
	if (blk)
		p = blk[domid % PEER_BLOCK];
	/* The slot's own reference keeps the count above zero while we hold
	 * the lock (it is dropped only under the exclusive one), and the
	 * lock orders p's contents: relaxed is enough. */
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	pthread_rwlock_unlock(&e->peer_lock);
	return p;
}

int sn_emu_peer_get(struct sn_emu *e, uint16_t domid, struct sn_emu_peer **out)
{
	struct sn_emu_peer **blk, *p;
	int rc = 0;

	p = peer_cached(e, domid);
	if (p && peer_alive(p)) {
		*out = p;
		return 0;
	}
	sn_emu_peer_put(e, p);
	pthread_rwlock_wrlock(&e->peer_lock);
	blk = e->peers[domid / PEER_BLOCK];
	if (!blk) {
		blk = calloc(PEER_BLOCK, sizeof(*blk));
		if (!blk) {
			rc = -ENOMEM;
			goto out;
		}
		e->peers[domid / PEER_BLOCK] = blk;
	}
	p = blk[domid % PEER_BLOCK];
	/* A dead incarnation leaves the cache; whoever still maps through
	 * it frees it with their last put. */
	if (p && !peer_alive(p)) {
		peer_unhook_locked(e, p);
		p = NULL;
	}
	if (!p) {
		p = malloc(sizeof(*p));
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		rc = peer_load(e, domid, p);
		if (rc) {
			free(p);
			goto out;
		}
		p->live_checked_ns = now_ns();
		atomic_init(&p->refs, 1); /* the cache's */
		blk[domid % PEER_BLOCK] = p;
	}
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	*out = p;
out:
	pthread_rwlock_unlock(&e->peer_lock);
	return rc;
}

void sn_emu_peer_put(struct sn_emu *e, struct sn_emu_peer *p)
{
	if (!p)
		return;
	/* Only the cache and we hold it: if its process is gone, nothing
	 * will map through it again, so it goes now instead of lingering
	 * until the domid is looked up next.  Checked before our reference
	 * drops, while p is surely ours to read. */
	if (atomic_load_explicit(&p->refs, memory_order_relaxed) <= 2 && !peer_alive(p))
		sn_emu_peer_forget(e, p);
	peer_unref(p);
}

void sn_emu_peer_forget(struct sn_emu *e, struct sn_emu_peer *p)
{
	pthread_rwlock_wrlock(&e->peer_lock);
	peer_unhook_locked(e, p);
	pthread_rwlock_unlock(&e->peer_lock);
}

void sn_emu_peer_sweep(struct sn_emu *e, uint16_t domid)
{
	struct sn_emu_peer *p = peer_cached(e, domid);

	if (p && sn_emu_peer_ended(e, p))
		sn_emu_peer_forget(e, p);
	sn_emu_peer_put(e, p);
}

/* The registry is the guest's own to write, so it only ever tells us that
 * the incarnation we hold is gone, never which fds a live one holds: a
 * pid or RAM base other than the view's is another incarnation (the host
 * registers a domid for one connection at a time), and so is no node. */
bool sn_emu_peer_ended(struct sn_emu *e, struct sn_emu_peer *p)
{
	uint64_t pid, base;

	if (pidfd_exited(p->pidfd))
		return true;
	if (reg_read_u64(e, p->domid, "pid", 10, &pid) ||
	    reg_read_u64(e, p->domid, "ram-base", 16, &base))
		return true;
	return pid != (uint64_t)p->pid || base != (uint64_t)p->ram_base;
}

void sn_emu_peer_bad_fd(struct sn_emu *e, struct sn_emu_peer *p, const char *name, int err)
{
	uint64_t n = atomic_fetch_add_explicit(&e->peer_bad_fds, 1, memory_order_relaxed) + 1;

	/* The guest decides how often this happens: log the 1st, 2nd, 4th,
	 * 8th ... time only. */
	if (!(n & (n - 1)))
		fprintf(stderr,
			"stagenet: domain %u (pid %d) names an fd '%s' it does not hold (%s); "
			"bind refused (%" PRIu64 " so far)\n",
			p->domid, (int)p->pid, name, strerror(-err), n);
}
