/* dpdk-testpmd as a peer process (bench/testpmd.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/proc.h"
#include "bench/testpmd.h"

#define TP_EXE "dpdk-testpmd"

static const char *tp_exe(const char *exe)
{
	return exe ? exe : TP_EXE;
}

/* The binary's path (sn_proc_start execs without a PATH search). */
static bool tp_resolve(const char *exe, char *buf, size_t len)
{
	const char *e = tp_exe(exe), *path = getenv("PATH");
	char *copy, *tok, *save = NULL;
	bool found = false;

	if (strchr(e, '/')) {
		snprintf(buf, len, "%s", e);
		return access(e, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/bin:/bin");
	if (!copy)
		return false;
	for (tok = strtok_r(copy, ":", &save); tok && !found; tok = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", tok, e);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

bool sn_testpmd_available(const char *exe)
{
	char p[512];

	return tp_resolve(exe, p, sizeof(p));
}

int sn_testpmd_start(const struct sn_testpmd_cfg *c, pid_t *pid)
{
	struct sn_argv a;
	struct sn_proc_spec s = { .argv = &a, .out = c->out, .err = c->out,
				  .cpus = c->cpus, .ncpus = c->ncpus };
	unsigned int q = c->queues ? c->queues : 1;
	char exe[512];
	pid_t p;

	if (!tp_resolve(c->exe, exe, sizeof(exe)))
		return -ENOENT;
	s.exe = exe;
	/* sn_argv's argv[0] is "stagenet"; EAL only prints it. */
	sn_argv_init(&a, "--no-huge");
	sn_argv_opt(&a, "-m", "256");
	sn_argv_add(&a, "--no-pci");
	sn_argv_addf(&a, "--file-prefix=%s", c->prefix);
	/* Two lcores: the main one and one forwarding core. */
	if (c->ncpus >= 2)
		sn_argv_opt(&a, "-l", "%d,%d", c->cpus[0], c->cpus[1]);
	else if (c->ncpus == 1)
		sn_argv_opt(&a, "--lcores", "0@%d,1@%d", c->cpus[0], c->cpus[0]);
	else
		sn_argv_opt(&a, "-l", "0,1");
	for (unsigned int i = 0; i < c->nvdevs; i++)
		sn_argv_opt(&a, "--vdev", "%s", c->vdevs[i]);
	sn_argv_add(&a, "--");
	sn_argv_add(&a, "--total-num-mbufs=16384");
	sn_argv_addf(&a, "--forward-mode=%s", c->fwd ? c->fwd : "io");
	sn_argv_add(&a, "-a");
	sn_argv_add(&a, "--stats-period=1");
	sn_argv_add(&a, "--nb-cores=1");
	sn_argv_addf(&a, "--rxq=%u", q);
	sn_argv_addf(&a, "--txq=%u", q);
	for (const char *const *e = c->extra; e && *e; e++)
		sn_argv_add(&a, *e);
	p = sn_proc_start(&s);
	if (p < 0)
		return (int)p;
	*pid = p;
	return 0;
}

static uint64_t field(const char *blk, const char *end, const char *name)
{
	const char *f = strstr(blk, name);

	if (!f || (end && f > end))
		return 0;
	return strtoull(f + strlen(name), NULL, 10);
}

int sn_testpmd_read_stats(const char *out, unsigned int port,
			  struct sn_testpmd_port_stats *st)
{
	char key[64], *text = sn_slurp(out), *blk = NULL, *end;

	memset(st, 0, sizeof(*st));
	if (!text)
		return -ENOENT;
	snprintf(key, sizeof(key), "NIC statistics for port %u ", port);
	for (char *p = text; (p = strstr(p, key)); p++)
		blk = p;
	if (!blk) {
		free(text);
		return -ENOENT;
	}
	/* The block ends at the next line of '#'s after its own header. */
	end = strstr(blk + strlen(key), "\n  ####");
	st->rx_pkts = field(blk, end, "RX-packets:");
	st->rx_bytes = field(blk, end, "RX-bytes:");
	st->tx_pkts = field(blk, end, "TX-packets:");
	st->tx_bytes = field(blk, end, "TX-bytes:");
	st->rx_pps = field(blk, end, "Rx-pps:");
	st->tx_pps = field(blk, end, "Tx-pps:");
	st->rx_bps = field(blk, end, "Rx-bps:");
	st->tx_bps = field(blk, end, "Tx-bps:");
	free(text);
	return 0;
}

int sn_testpmd_stop(pid_t pid, const char *out, uint64_t *dropped)
{
	char *text, *acc;
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGINT);
	st = sn_proc_wait(pid, 5000);
	if (st == -ETIMEDOUT)
		return st;
	if (!dropped)
		return 0;
	*dropped = 0;
	text = sn_slurp(out);
	acc = text ? strstr(text, "Accumulated forward statistics") : NULL;
	if (!acc) {
		free(text);
		return -EBADMSG;
	}
	for (const char *k = acc; (k = strstr(k, "-dropped:")) && k - acc < 600; k += 9)
		*dropped += strtoull(k + 9, NULL, 10);
	free(text);
	return 0;
}

#define TELEMETRY_MAX 16384 /* DPDK's max_output_len */

void sn_testpmd_tel_init(struct sn_testpmd_tel *t, const char *prefix)
{
	/* Where EAL puts a file prefix's runtime directory: root's in
	 * /var/run, everyone else's in $XDG_RUNTIME_DIR or /tmp. */
	const char *base = "/var/run";

	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (!base)
			base = "/tmp";
	}
	t->fd = -1;
	t->version[0] = '\0';
	snprintf(t->rundir, sizeof(t->rundir), "%s/dpdk/%s", base, prefix);
}

static int tel_connect(struct sn_testpmd_tel *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hello[512];
	const char *v, *e;
	ssize_t got;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk_telemetry.v2",
			     t->rundir) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto again;
	/* The first message names the version: {"version":"DPDK 22.11.1",...}. */
	got = recv(fd, hello, sizeof(hello) - 1, 0);
	if (got <= 0)
		goto again;
	hello[got] = '\0';
	v = strstr(hello, "\"version\":\"");
	if (v) {
		v += strlen("\"version\":\"");
		e = strchr(v, '"');
		if (e && (size_t)(e - v) < sizeof(t->version)) {
			memcpy(t->version, v, (size_t)(e - v));
			t->version[e - v] = '\0';
		}
	}
	t->fd = fd;
	return 0;
again:
	close(fd);
	return -EAGAIN;
}

/* A non-negative integer member of the reply; the reply is another
 * program's output, so a missing or malformed one is an error, never a
 * guess. */
static int json_u64(const char *doc, const char *key, uint64_t *out)
{
	char pat[48];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(doc, pat);
	if (!p)
		return -EPROTO;
	p += strlen(pat);
	if (*p < '0' || *p > '9')
		return -EPROTO;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno || end == p ? -EPROTO : 0;
}

int sn_testpmd_tel_stats(struct sn_testpmd_tel *t, unsigned int port,
			 struct sn_testpmd_port_stats *st)
{
	char req[48], *buf;
	ssize_t got;
	int rc;

	memset(st, 0, sizeof(*st));
	if (t->fd < 0) {
		rc = tel_connect(t);
		if (rc)
			return rc;
	}
	buf = malloc(TELEMETRY_MAX + 1);
	if (!buf)
		return -ENOMEM;
	snprintf(req, sizeof(req), "/ethdev/stats,%u", port);
	rc = -EPROTO;
	if (send(t->fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto out;
	got = recv(t->fd, buf, TELEMETRY_MAX, 0);
	if (got <= 0)
		goto out;
	buf[got] = '\0';
	if (json_u64(buf, "ipackets", &st->rx_pkts) || json_u64(buf, "opackets", &st->tx_pkts) ||
	    json_u64(buf, "ibytes", &st->rx_bytes) || json_u64(buf, "obytes", &st->tx_bytes))
		goto out;
	rc = 0;
out:
	if (rc) {
		/* The port is not probed yet, or testpmd went away: reconnect
		 * next time. */
		close(t->fd);
		t->fd = -1;
		rc = -EAGAIN;
	}
	free(buf);
	return rc;
}

void sn_testpmd_tel_close(struct sn_testpmd_tel *t)
{
	DIR *d;
	struct dirent *e;

	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (!t->rundir[0])
		return;
	d = opendir(t->rundir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	rmdir(t->rundir);
}
