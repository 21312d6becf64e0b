/* Child `stagenet` processes for the benchmark and the tests (proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/proc.h"

#define POLL_NS 5000000L

void sn_argv_init(struct sn_argv *a, const char *subcmd)
{
	memset(a, 0, sizeof(*a));
	sn_argv_add(a, "stagenet");
	sn_argv_add(a, subcmd);
}

static void argv_vadd(struct sn_argv *a, const char *fmt, va_list ap)
{
	size_t room = sizeof(a->buf) - a->used;
	int n;

	if (a->overflow || a->n >= SN_ARGV_MAX) {
		a->overflow = true;
		return;
	}
	n = vsnprintf(a->buf + a->used, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = true;
		return;
	}
	a->v[a->n++] = a->buf + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

void sn_argv_add(struct sn_argv *a, const char *arg)
{
	sn_argv_addf(a, "%s", arg);
}

void sn_argv_addf(struct sn_argv *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	argv_vadd(a, fmt, ap);
	va_end(ap);
}

void sn_argv_opt(struct sn_argv *a, const char *name, const char *fmt, ...)
{
	va_list ap;

	sn_argv_add(a, name);
	va_start(ap, fmt);
	argv_vadd(a, fmt, ap);
	va_end(ap);
}

int sn_bench_allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

int sn_bench_pin(const int *cpus, int n)
{
	cpu_set_t set;

	if (n <= 0)
		return 0;
	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		if (cpus[i] >= 0 && cpus[i] < CPU_SETSIZE)
			CPU_SET(cpus[i], &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* In the child: one path (NULL = leave fd alone) onto fd. */
static int redirect(const char *path, int flags, int fd)
{
	int f;

	if (!path)
		return 0;
	f = open(path, flags | O_CLOEXEC, 0600);
	if (f < 0 || dup2(f, fd) < 0)
		return -1;
	return 0;
}

pid_t sn_proc_start(const struct sn_proc_spec *s)
{
	pid_t pid, parent = getpid();

	if (s->argv->overflow || s->argv->n == 0)
		return -E2BIG;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid != 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* If the starter dies without stopping us, stop anyway (cleanly: the
	 * daemons handle SIGTERM); getppid closes the race with a parent
	 * that died before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
		_exit(125);
	if (s->ncpus > 0 && sn_bench_pin(s->cpus, s->ncpus))
		_exit(126);
	if (redirect("/dev/null", O_RDONLY, STDIN_FILENO) ||
	    redirect(s->out, O_WRONLY | O_CREAT | O_TRUNC, STDOUT_FILENO) ||
	    redirect(s->err, O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO))
		_exit(127);
	execv(s->exe, s->argv->v);
	_exit(127);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sn_proc_wait(pid_t pid, int timeout_ms)
{
	double end = now_s() + timeout_ms / 1e3;
	int st;

	while (now_s() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = POLL_NS }, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

int sn_proc_stop(pid_t pid, int timeout_ms)
{
	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	return sn_proc_wait(pid, timeout_ms);
}

int sn_proc_run(const struct sn_proc_spec *s, int timeout_ms)
{
	pid_t pid = sn_proc_start(s);
	int st;

	if (pid < 0)
		return pid;
	st = sn_proc_wait(pid, timeout_ms);
	if (st < 0)
		return st;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool sn_proc_exited(pid_t *pid, int *st)
{
	if (*pid > 0 && waitpid(*pid, st, WNOHANG) == *pid) {
		*pid = -1;
		return true;
	}
	return false;
}

double sn_proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	const char *p;
	FILE *f;
	size_t got;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	/* The command name may hold spaces and parentheses: fields count from
	 * the last ')'.  utime and stime are fields 14 and 15 of proc(5). */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

char *sn_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)len + 1);
	if (buf) {
		size_t got = fread(buf, 1, (size_t)len, f);

		buf[got] = '\0';
	}
	fclose(f);
	return buf;
}

void sn_last_line(const char *path, char *buf, size_t len)
{
	char *txt = sn_slurp(path), *end, *start;

	buf[0] = '\0';
	if (!txt)
		return;
	end = txt + strlen(txt);
	while (end > txt && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(txt, '\n');
	snprintf(buf, len, "%s", start ? start + 1 : txt);
	free(txt);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

void sn_rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
