/* Publishing per-queue counters in a small mmap'd file per vif and role,
 * so `stagenet stats` (another process) can read a running daemon without
 * any IPC: a fixed header, then nqueues arrays of 64-bit counters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stagenet/stats.h"

#define SN_STATS_MAGIC 0x54534E53u /* "SNST" */
#define SN_STATS_VERSION 1u
#define SN_STATS_MAX_COUNTERS 1024u

const char *const sn_qstat_names[SN_QS__COUNT] = {
#define SN_QSTAT_NAME(n) #n,
	SN_QSTATS(SN_QSTAT_NAME)
#undef SN_QSTAT_NAME
};

/* On-file header, one cache line; counters follow at offset 64.  The
 * counter count is stored so a reader built with a different list still
 * walks the arrays with the writer's stride. */
struct sn_stats_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nqueues;
	uint32_t ncounters;
	int32_t pid;
	uint16_t domid, devid;
	char role[16];
	uint8_t pad[28];
};
_Static_assert(sizeof(struct sn_stats_hdr) == 64, "stats header is one cache line");

struct sn_stats_block {
	struct sn_stats_hdr *hdr;
	uint8_t *map;
	size_t maplen;
	bool owner;
	bool kept; /* map is a private malloc'd copy (sn_stats_keep) */
	struct sn_stats_hdr hcopy; /* reader: validated private header */
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];
};

static size_t block_len(uint32_t nqueues, uint32_t ncounters)
{
	return sizeof(struct sn_stats_hdr) + (size_t)nqueues * ncounters * sizeof(uint64_t);
}

static bool dir_writable(const char *d)
{
	return access(d, W_OK | X_OK) == 0;
}

int sn_stats_rundir(char *buf, size_t len)
{
	const char *env = getenv("SN_RUNDIR");
	int r;

	if (env && *env)
		r = snprintf(buf, len, "%s", env);
	else if (dir_writable("/run/stagenet") ||
		 (access("/run/stagenet", F_OK) && dir_writable("/run")))
		r = snprintf(buf, len, "/run/stagenet");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		r = snprintf(buf, len, "%s/stagenet", env);
	else
		r = snprintf(buf, len, "/tmp/stagenet-%u", (unsigned int)getuid());
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	/* A shared /tmp fallback must really be ours, or another user could
	 * pre-create it and read or swap our files. */
	if (mkdir(tmp, strncmp(tmp, "/tmp/", 5) ? 0755 : 0700) && errno != EEXIST)
		return -errno;
	if (!strncmp(tmp, "/tmp/", 5)) {
		struct stat st;

		if (lstat(tmp, &st))
			return -errno;
		if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
			return -EPERM;
	}
	return 0;
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Another live process publishing the same vif and role would have its
 * file clobbered: refuse rather than mix two daemons' numbers. */
static int check_existing(const char *path)
{
	struct sn_stats_hdr h;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (r == (ssize_t)sizeof(h) && h.magic == SN_STATS_MAGIC && h.pid != getpid() &&
	    pid_alive(h.pid))
		return -EBUSY;
	return 0;
}

int sn_stats_publish(const char *role, uint16_t domid, uint16_t devid, uint16_t nqueues,
		     struct sn_stats_block **out)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	struct sn_stats_block *b;
	struct stat st;
	size_t len;
	int fd = -1, rc, r;

	*out = NULL;
	if (!role || !*role || strlen(role) >= sizeof(((struct sn_stats_hdr *)0)->role) ||
	    strchr(role, '/') || strchr(role, '-') || nqueues == 0)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = sn_stats_rundir(dir, sizeof(dir));
	if (rc)
		goto err_free;
	rc = mkdir_p(dir);
	if (rc)
		goto err_free;
	r = snprintf(b->path, sizeof(b->path), "%s/%s-%u-%u.stats", dir, role, domid, devid);
	if (r < 0 || (size_t)r >= sizeof(b->path)) {
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	rc = check_existing(b->path);
	if (rc)
		goto err_free;
	/* Build the block under a private name and rename it into place,
	 * so a reader never maps a half-written header. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", b->path, (int)getpid());
	(void)unlink(tmp); /* leftover of a crashed process with our pid */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	len = block_len(nqueues, SN_QS__COUNT);
	if (ftruncate(fd, (off_t)len)) {
		rc = -errno;
		goto err_unlink;
	}
	b->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		rc = -errno;
		goto err_unlink;
	}
	b->maplen = len;
	b->hdr = (struct sn_stats_hdr *)b->map;
	b->hdr->version = SN_STATS_VERSION;
	b->hdr->nqueues = nqueues;
	b->hdr->ncounters = SN_QS__COUNT;
	b->hdr->pid = (int32_t)getpid();
	b->hdr->domid = domid;
	b->hdr->devid = devid;
	snprintf(b->hdr->role, sizeof(b->hdr->role), "%s", role);
	__atomic_store_n(&b->hdr->magic, SN_STATS_MAGIC, __ATOMIC_RELEASE);
	if (fstat(fd, &st)) {
		rc = -errno;
		goto err_unmap;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	if (rename(tmp, b->path)) {
		rc = -errno;
		goto err_unmap;
	}
	close(fd);
	b->owner = true;
	*out = b;
	return 0;

err_unmap:
	munmap(b->map, b->maplen);
err_unlink:
	unlink(tmp);
	close(fd);
err_free:
	free(b);
	return rc;
}

struct sn_qstats *sn_stats_queue(struct sn_stats_block *b, uint16_t q)
{
	/* Only a block laid out by this build has our stride. */
	if (!b || q >= b->hdr->nqueues || b->hdr->ncounters != SN_QS__COUNT)
		return NULL;
	return (struct sn_qstats *)(b->map + sizeof(struct sn_stats_hdr)) + q;
}

void sn_stats_close(struct sn_stats_block *b)
{
	if (!b)
		return;
	if (b->kept)
		free(b->map);
	else
		munmap(b->map, b->maplen);
	free(b);
}

static void unlink_own(struct sn_stats_block *b)
{
	struct stat st;

	/* Remove the file only if it is still the one we created: a newer
	 * daemon may have replaced it after we were declared dead. */
	if (b->owner && !stat(b->path, &st) && st.st_dev == b->dev && st.st_ino == b->ino)
		unlink(b->path);
	b->owner = false;
}

void sn_stats_unpublish(struct sn_stats_block *b)
{
	if (!b)
		return;
	unlink_own(b);
	sn_stats_close(b);
}

int sn_stats_keep(struct sn_stats_block *b)
{
	uint8_t *copy;

	if (!b || !b->owner || b->kept)
		return -EINVAL;
	copy = malloc(b->maplen);
	if (!copy)
		return -ENOMEM;
	/* Writers are gone (the caller's contract), so plain reads of the
	 * counters are a consistent last snapshot. */
	memcpy(copy, b->map, b->maplen);
	unlink_own(b);
	munmap(b->map, b->maplen);
	b->map = copy;
	b->hdr = (struct sn_stats_hdr *)copy;
	b->kept = true;
	return 0;
}

int sn_stats_open(const char *path, struct sn_stats_block **out)
{
	struct sn_stats_block *b;
	struct sn_stats_hdr h;
	struct stat st;
	int fd, rc;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (snprintf(b->path, sizeof(b->path), "%s", path) >= (int)sizeof(b->path)) {
		rc = -ENAMETOOLONG;
		goto err_free;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto err_free;
	}
	/* Validate a private copy of the header before trusting its sizes:
	 * the file may be foreign, truncated or from another version. */
	if (fstat(fd, &st) || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		rc = -EBADMSG;
		goto err_close;
	}
	if (h.magic != SN_STATS_MAGIC || h.version != SN_STATS_VERSION || h.nqueues == 0 ||
	    h.ncounters == 0 || h.ncounters > SN_STATS_MAX_COUNTERS ||
	    (uint64_t)st.st_size < block_len(h.nqueues, h.ncounters) ||
	    memchr(h.role, '\0', sizeof(h.role)) == NULL) {
		rc = -EBADMSG;
		goto err_close;
	}
	b->maplen = block_len(h.nqueues, h.ncounters);
	b->map = mmap(NULL, b->maplen, PROT_READ, MAP_SHARED, fd, 0);
	if (b->map == MAP_FAILED) {
		rc = -errno;
		goto err_close;
	}
	close(fd);
	/* Keep the validated header: the mapped one belongs to the writer.
	 * The counters stay live in the mapping. */
	b->hcopy = h;
	b->hdr = &b->hcopy;
	*out = b;
	return 0;

err_close:
	close(fd);
err_free:
	free(b);
	return rc;
}

int sn_stats_pid(const struct sn_stats_block *b)
{
	return b->hdr->pid;
}

int sn_stats_alive(const struct sn_stats_block *b)
{
	return pid_alive(b->hdr->pid);
}

static uint64_t counter(const struct sn_stats_block *b, uint32_t q, uint32_t c)
{
	const uint64_t *v = (const uint64_t *)(b->map + sizeof(struct sn_stats_hdr));

	return __atomic_load_n(&v[(size_t)q * b->hdr->ncounters + c], __ATOMIC_RELAXED);
}

void sn_stats_describe(const struct sn_stats_block *b, struct sn_stats_info *out)
{
	/* role is NUL-terminated: sn_stats_open checked it, writers set it. */
	memcpy(out->role, b->hdr->role, sizeof(out->role));
	out->role[sizeof(out->role) - 1] = '\0';
	out->domid = b->hdr->domid;
	out->devid = b->hdr->devid;
	out->nqueues = b->hdr->nqueues;
}

uint64_t sn_stats_counter(const struct sn_stats_block *b, uint16_t q, enum sn_qstat c)
{
	if (q >= b->hdr->nqueues || (uint32_t)c >= b->hdr->ncounters)
		return 0;
	return counter(b, q, (uint32_t)c);
}

void sn_stats_totals(const struct sn_stats_block *b, uint64_t out[SN_QS__COUNT])
{
	uint32_t nc = b->hdr->ncounters < SN_QS__COUNT ? b->hdr->ncounters : SN_QS__COUNT;

	memset(out, 0, SN_QS__COUNT * sizeof(*out));
	for (uint32_t q = 0; q < b->hdr->nqueues; q++)
		for (uint32_t c = 0; c < nc; c++)
			out[c] += counter(b, q, c);
}

void sn_stats_print(FILE *f, const struct sn_stats_block *b)
{
	uint32_t nc = b->hdr->ncounters < SN_QS__COUNT ? b->hdr->ncounters : SN_QS__COUNT;
	uint64_t total[SN_QS__COUNT] = { 0 };
	bool any = false;

	fprintf(f, "%s-%u-%u: pid %d, %u queue%s\n", b->hdr->role, b->hdr->domid, b->hdr->devid,
		(int)b->hdr->pid, b->hdr->nqueues, b->hdr->nqueues == 1 ? "" : "s");
	for (uint32_t q = 0; q < b->hdr->nqueues; q++) {
		bool qany = false;

		for (uint32_t c = 0; c < nc; c++) {
			uint64_t v = counter(b, q, c);

			if (!v)
				continue;
			if (!qany)
				fprintf(f, "  queue %u:\n", q);
			qany = any = true;
			total[c] += v;
			fprintf(f, "    %-20s %llu\n", sn_qstat_names[c], (unsigned long long)v);
		}
	}
	if (!any) {
		fprintf(f, "  (all counters zero)\n");
		return;
	}
	fprintf(f, "  total:\n");
	for (uint32_t c = 0; c < nc; c++)
		if (total[c])
			fprintf(f, "    %-20s %llu\n", sn_qstat_names[c],
				(unsigned long long)total[c]);
}
