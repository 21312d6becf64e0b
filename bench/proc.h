/* Child `stagenet` processes, as the benchmark and the tests start them: an
 * argv built one option at a time, output in files, optionally pinned, and
 * every wait bounded (nothing started here may outlive its starter). */
#ifndef STAGENET_BENCH_PROC_H
#define STAGENET_BENCH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SN_ARGV_MAX 32    /* arguments, argv[0] included */
#define SN_ARGV_BYTES 2048 /* their text */

/* An argv that owns its strings.  Adding past either limit sets overflow
 * and is otherwise ignored; sn_proc_start then refuses it. */
struct sn_argv {
	char *v[SN_ARGV_MAX + 1];
	char buf[SN_ARGV_BYTES];
	size_t used;
	unsigned int n;
	bool overflow;
};

/* argv[0] = "stagenet", then subcmd. */
void sn_argv_init(struct sn_argv *a, const char *subcmd);
void sn_argv_add(struct sn_argv *a, const char *arg);
void sn_argv_addf(struct sn_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An option and its value: "--name", printf(fmt, ...). */
void sn_argv_opt(struct sn_argv *a, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* CPUs this process may run on, in order; returns how many (<= max). */
int sn_bench_allowed_cpus(int *cpus, int max);
/* Pin the calling process to the given CPUs; 0 or -errno. */
int sn_bench_pin(const int *cpus, int n);

struct sn_proc_spec {
	const char *exe;            /* the binary to run */
	const struct sn_argv *argv;
	const char *out, *err;      /* files to truncate and write; NULL = inherit ours */
	const int *cpus;            /* pinned to these before exec (ncpus 0: not pinned) */
	int ncpus;
};

/* fork + exec with stdin on /dev/null, SIGINT/SIGTERM at their defaults and
 * SIGTERM on the death of the calling thread.  Returns the pid or -errno. */
pid_t sn_proc_start(const struct sn_proc_spec *s);
/* Wait up to timeout_ms for pid to exit; past it SIGKILL.  Returns the wait
 * status, or -ETIMEDOUT when it had to be killed. */
int sn_proc_wait(pid_t pid, int timeout_ms);
/* SIGTERM, then sn_proc_wait.  pid <= 0: nothing to stop, returns 0. */
int sn_proc_stop(pid_t pid, int timeout_ms);
/* Start and wait: the exit code (128 + signal), or -errno / -ETIMEDOUT. */
int sn_proc_run(const struct sn_proc_spec *s, int timeout_ms);
/* Whether *pid has exited (reaped, *pid set to -1, status in *st). */
bool sn_proc_exited(pid_t *pid, int *st);
/* CPU time (user + system, all threads) pid has used, in seconds; < 0 if
 * it cannot be read. */
double sn_proc_cpu_s(pid_t pid);

/* The whole file, NUL-terminated (free() it), or NULL. */
char *sn_slurp(const char *path);
/* Its last non-empty line into buf ("" if none). */
void sn_last_line(const char *path, char *buf, size_t len);
/* Remove a directory tree (best effort). */
void sn_rm_tree(const char *dir);

#endif
