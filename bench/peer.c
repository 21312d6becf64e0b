/* A dpdk-testpmd process as the benchmark's peer (peer.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/peer.h"

#define PEER_MBUFS "16384" /* testpmd's default pool does not fit in -m 512 */
#define PEER_STOP_MS 5000
#define TELEMETRY_MAX 16384 /* DPDK's max_output_len */

bool sn_peer_available(void)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	if (!path)
		return false;
	copy = strdup(path);
	if (!copy)
		return false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char f[PATH_MAX];

		snprintf(f, sizeof(f), "%s/%s", d, SN_PEER_TESTPMD);
		found = access(f, X_OK) == 0;
	}
	free(copy);
	return found;
}

/* Where DPDK's EAL puts the runtime directory of a file prefix: root's in
 * /var/run, everyone else's in $XDG_RUNTIME_DIR or /tmp. */
static void runtime_dir(struct sn_peer *p)
{
	const char *base = "/var/run";

	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (!base)
			base = "/tmp";
	}
	snprintf(p->rundir, sizeof(p->rundir), "%s/dpdk/%s", base, p->prefix);
}

static void exec_testpmd(const struct sn_peer_args *a, const char *prefix, int cpu)
{
	char fp[96], lcores[64], fwd[64], txpkts[32];
	char *argv[32];
	int n = 0, fd;

	snprintf(fp, sizeof(fp), "--file-prefix=%s", prefix);
	/* testpmd wants a main lcore besides the forwarding one; the main
	 * one only sleeps in its stats loop, so both share the CPU. */
	if (cpu >= 0)
		snprintf(lcores, sizeof(lcores), "0@%d,1@%d", cpu, cpu);
	else
		snprintf(lcores, sizeof(lcores), "0,1");
	snprintf(fwd, sizeof(fwd), "--forward-mode=%s", a->fwd);
	snprintf(txpkts, sizeof(txpkts), "--txpkts=%u", a->frame);
	argv[n++] = SN_PEER_TESTPMD;
	argv[n++] = "--no-huge";
	argv[n++] = "-m";
	argv[n++] = "512";
	argv[n++] = "--no-pci";
	argv[n++] = fp;
	argv[n++] = "--lcores";
	argv[n++] = lcores;
	argv[n++] = "--vdev";
	argv[n++] = (char *)a->vdev;
	argv[n++] = "--";
	argv[n++] = fwd;
	argv[n++] = "--nb-cores=1";
	argv[n++] = "--total-num-mbufs=" PEER_MBUFS;
	argv[n++] = txpkts;
	/* Without a stats period testpmd reads stdin and exits at EOF; with a
	 * long one it forwards until SIGINT. */
	argv[n++] = "--stats-period=86400";
	argv[n] = NULL;
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execvp(SN_PEER_TESTPMD, argv);
	_exit(127);
}

int sn_peer_start(struct sn_peer *p, const struct sn_peer_args *a, int cpu)
{
	pid_t parent = getpid(), pid;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->tfd = -1;
	if (a->frame < 42 || a->frame > 1514)
		return -EINVAL;
	snprintf(p->prefix, sizeof(p->prefix), "sn-peer-%d-%s", (int)parent, a->tag);
	runtime_dir(p);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* A spinning testpmd must not outlive the bench. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		exec_testpmd(a, p->prefix, cpu);
	}
	p->pid = pid;
	return 0;
}

static int telemetry_connect(struct sn_peer *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hello[512];
	ssize_t got;
	const char *v;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk_telemetry.v2",
			     p->rundir) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -EAGAIN;
	}
	/* The first message names the version: {"version":"DPDK 22.11.1",...}. */
	got = recv(fd, hello, sizeof(hello) - 1, 0);
	if (got <= 0) {
		close(fd);
		return -EAGAIN;
	}
	hello[got] = '\0';
	v = strstr(hello, "\"version\":\"");
	if (v) {
		const char *e;

		v += strlen("\"version\":\"");
		e = strchr(v, '"');
		if (e && (size_t)(e - v) < sizeof(p->version)) {
			memcpy(p->version, v, (size_t)(e - v));
			p->version[e - v] = '\0';
		}
	}
	p->tfd = fd;
	return 0;
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

int sn_peer_stats(struct sn_peer *p, struct sn_peer_stats *st)
{
	static const char req[] = "/ethdev/stats,0";
	char *buf;
	ssize_t got;
	int st_, rc;

	if (p->pid <= 0)
		return -ECHILD;
	if (waitpid(p->pid, &st_, WNOHANG) == p->pid) {
		p->pid = -1;
		return -ECHILD;
	}
	if (p->tfd < 0) {
		rc = telemetry_connect(p);
		if (rc)
			return rc;
	}
	buf = malloc(TELEMETRY_MAX + 1);
	if (!buf)
		return -ENOMEM;
	rc = -EPROTO;
	if (send(p->tfd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto out;
	got = recv(p->tfd, buf, TELEMETRY_MAX, 0);
	if (got <= 0)
		goto out;
	buf[got] = '\0';
	if (json_u64(buf, "ipackets", &st->ipackets) || json_u64(buf, "opackets", &st->opackets) ||
	    json_u64(buf, "ibytes", &st->ibytes) || json_u64(buf, "obytes", &st->obytes))
		goto out;
	rc = 0;
out:
	if (rc) {
		/* Port 0 not probed yet, or the peer went away: reconnect next time. */
		close(p->tfd);
		p->tfd = -1;
		rc = -EAGAIN;
	}
	free(buf);
	return rc;
}

static void remove_rundir(const struct sn_peer *p)
{
	DIR *d;
	struct dirent *e;

	if (!p->rundir[0])
		return;
	d = opendir(p->rundir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	rmdir(p->rundir);
}

void sn_peer_stop(struct sn_peer *p)
{
	int st;

	if (p->tfd >= 0) {
		close(p->tfd);
		p->tfd = -1;
	}
	if (p->pid > 0) {
		kill(p->pid, SIGINT);
		for (int i = 0; i < PEER_STOP_MS / 10; i++) {
			if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
				p->pid = -1;
				break;
			}
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			p->pid = -1;
		}
	}
	remove_rundir(p);
}
