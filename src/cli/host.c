/* `stagenet host`: the emulated Xen host, i.e. the xenstore daemon with the
 * domain registry.  Prints XENSTORED_PATH=<socket> once it accepts
 * connections, in the foreground or (--daemon) from the parent. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "stagenet/host.h"

struct host_opts {
	const char *dir, *pidfile;
	bool daemon, quiet;
};

static const struct sn_opt host_opts[] = {
	{ .name = "dir", .arg = "DIR", .kind = SN_OPT_STR, .off = offsetof(struct host_opts, dir),
	  .help = "put the socket in DIR (default: a new temporary directory under "
		  "$XDG_RUNTIME_DIR or /tmp)" },
	{ .name = "daemon", .kind = SN_OPT_SET, .off = offsetof(struct host_opts, daemon),
	  .help = "detach; the parent prints the line and exits 0" },
	{ .name = "pidfile", .arg = "F", .kind = SN_OPT_STR,
	  .off = offsetof(struct host_opts, pidfile), .help = "write the daemon's pid to F" },
	{ .name = "quiet", .kind = SN_OPT_SET, .off = offsetof(struct host_opts, quiet),
	  .help = "no log messages on stderr" },
	{ .name = NULL },
};

const struct sn_opts_spec sn_host_spec = {
	.cmd = "host",
	.doc = "Run the emulated Xen host: a xenstore daemon on a unix socket (every client "
	       "is dom0) that also keeps the emulated domain registry.  Prints "
	       "XENSTORED_PATH=<socket> once ready; export it for clients.",
	.doc_after = "SIGINT/SIGTERM shut it down cleanly (socket removed, exit 0).",
	.opts = host_opts,
};

struct ready_ctx {
	int fd; /* -1: print to stdout; else the pipe to the waiting parent */
	const char *pidfile;
};

static int write_pidfile(const char *f)
{
	FILE *p = fopen(f, "w");

	if (!p)
		return -errno;
	fprintf(p, "%d\n", (int)getpid());
	return fclose(p) ? -errno : 0;
}

static void on_ready(void *arg, const char *path)
{
	struct ready_ctx *r = arg;

	if (r->pidfile && write_pidfile(r->pidfile))
		fprintf(stderr, "stagenet host: cannot write %s: %s\n", r->pidfile,
			strerror(errno));
	if (r->fd < 0) {
		printf("XENSTORED_PATH=%s\n", path);
		fflush(stdout);
		return;
	}
	dprintf(r->fd, "XENSTORED_PATH=%s\n", path);
	close(r->fd);
	r->fd = -1;
	/* Setup errors went to the caller's stderr; from here on a detached
	 * daemon must not hold the caller's terminal or pipe open. */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

/* Fork; the child runs the daemon and reports readiness through a pipe, the
 * parent forwards the line and exits 0 only if it came. */
static int daemonize(struct ready_ctx *r)
{
	char buf[512];
	size_t have = 0;
	int pfd[2], null;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
		r->fd = pfd[1];
		return 0;
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + have, sizeof(buf) - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == sizeof(buf) - 1)
			break;
	}
	close(pfd[0]);
	buf[have] = '\0';
	if (!have || buf[have - 1] != '\n') {
		int st;

		fprintf(stderr, "stagenet host: daemon failed to start\n");
		waitpid(pid, &st, WNOHANG);
		exit(1);
	}
	fputs(buf, stdout);
	fflush(stdout);
	exit(0);
}

int sn_cmd_host(int argc, char **argv)
{
	struct ready_ctx r = { .fd = -1 };
	struct sn_xsd_cfg cfg = { .ready = on_ready, .ready_arg = &r };
	struct host_opts o = { 0 };
	int rc;

	rc = sn_opts_parse(&sn_host_spec, argc, argv, &o);
	if (rc)
		return sn_opts_exit(rc);
	cfg.dir = o.dir;
	cfg.quiet = o.quiet;
	r.pidfile = o.pidfile;
	/* Clients that vanish must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if (o.daemon) {
		rc = daemonize(&r);
		if (rc) {
			fprintf(stderr, "stagenet host: cannot daemonize: %s\n", strerror(-rc));
			return 1;
		}
	}
	rc = sn_xsd_run(&cfg);
	if (r.fd >= 0)
		close(r.fd);
	if (rc) {
		fprintf(stderr, "stagenet host: %s\n", strerror(-rc));
		return 1;
	}
	if (r.pidfile)
		unlink(r.pidfile);
	return 0;
}
