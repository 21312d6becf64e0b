/* Test fixture: a private `stagenet host` per test, in its own temporary
 * directory, found through the XENSTORED_PATH line it prints when ready. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/host_fixture.h"

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000

static void rm_run_dir(const char *dir)
{
	char p[512], f[800];
	struct dirent *d;
	DIR *dh;

	snprintf(p, sizeof(p), "%s/run", dir);
	dh = opendir(p);
	if (!dh)
		return;
	while ((d = readdir(dh)))
		if (d->d_name[0] != '.') {
			snprintf(f, sizeof(f), "%s/%s", p, d->d_name);
			unlink(f);
		}
	closedir(dh);
	rmdir(p);
}

static void rm_dir(const char *dir)
{
	char p[512];

	rm_run_dir(dir);

	/* The daemon removes its socket; a killed one may leave it. */
	snprintf(p, sizeof(p), "%s/socket", dir);
	unlink(p);
	rmdir(dir);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one line from fd within the deadline. */
static int read_line(int fd, char *buf, size_t len)
{
	long deadline = now_ms() + READY_TIMEOUT_MS;
	size_t have = 0;

	while (have + 1 < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		n = read(fd, buf + have, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE; /* daemon died before it was ready */
		if (buf[have] == '\n') {
			buf[have] = '\0';
			return 0;
		}
		have++;
	}
	return -E2BIG;
}

int sn_test_host_start(struct sn_test_host *h)
{
	const char *bin = getenv("SN_STAGENET");
	const char *pre = "XENSTORED_PATH=";
	char line[512];
	int pfd[2], rc;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	if (!bin || !*bin)
		return -ENOENT;
	snprintf(h->dir, sizeof(h->dir), "/tmp/sn-test-host-XXXXXX");
	if (!mkdtemp(h->dir))
		return -errno;
	if (pipe2(pfd, O_CLOEXEC)) {
		rc = -errno;
		goto out_dir;
	}
	h->pid = fork();
	if (h->pid < 0) {
		rc = -errno;
		goto out_pipe;
	}
	if (h->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execl(bin, bin, "host", "--dir", h->dir, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	rc = read_line(pfd[0], line, sizeof(line));
	close(pfd[0]);
	if (rc)
		goto out_kill;
	if (strncmp(line, pre, strlen(pre)) ||
	    strlen(line + strlen(pre)) >= sizeof(h->path)) {
		rc = -EPROTO;
		goto out_kill;
	}
	strcpy(h->path, line + strlen(pre));
	if (setenv("XENSTORED_PATH", h->path, 1)) {
		rc = -errno;
		goto out_kill;
	}
	/* Stats files of daemons under test go beside the socket, so tests
	 * running in parallel never share /run/stagenet. */
	{
		char run[sizeof(h->dir) + 8];

		snprintf(run, sizeof(run), "%s/run", h->dir);
		if (mkdir(run, 0700) || setenv("SN_RUNDIR", run, 1)) {
			rc = -errno;
			goto out_kill;
		}
	}
	return 0;

out_kill:
	sn_test_host_stop(h);
	return rc;
out_pipe:
	close(pfd[0]);
	close(pfd[1]);
out_dir:
	rm_dir(h->dir);
	return rc;
}

void sn_test_host_stop(struct sn_test_host *h)
{
	long deadline = now_ms() + STOP_TIMEOUT_MS;
	int st;

	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		for (;;) {
			pid_t r = waitpid(h->pid, &st, WNOHANG);

			if (r == h->pid) {
				/* Make daemon-side sanitizer reports visible. */
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					fprintf(stderr, "host_fixture: stagenet host (pid %d) ended badly (status 0x%x)\n",
						(int)h->pid, st);
				break;
			}
			if (r < 0 && errno != EINTR)
				break;
			if (now_ms() >= deadline) {
				fprintf(stderr, "host_fixture: stagenet host (pid %d) ignored SIGTERM, killing it\n",
					(int)h->pid);
				kill(h->pid, SIGKILL);
				waitpid(h->pid, &st, 0);
				break;
			}
			usleep(10000);
		}
		h->pid = -1;
	}
	if (h->dir[0]) {
		rm_dir(h->dir);
		h->dir[0] = '\0';
	}
}

struct sn_test_host sn_test_group_host;

int sn_test_host_group_setup(void **state)
{
	(void)state;
	return sn_test_host_start(&sn_test_group_host);
}

int sn_test_host_group_teardown(void **state)
{
	(void)state;
	sn_test_host_stop(&sn_test_group_host);
	return 0;
}
