/* Test fixture: start a private `stagenet host` in a temporary directory and
 * point XENSTORED_PATH at it, so every test gets its own emulated host. */
#ifndef STAGENET_TEST_HOST_FIXTURE_H
#define STAGENET_TEST_HOST_FIXTURE_H

#include <sys/types.h>

struct sn_test_host {
	pid_t pid;
	char dir[256];  /* mkdtemp'd directory given to --dir */
	char path[320]; /* the socket path the daemon printed */
};

/* Starts "$SN_STAGENET host" (SN_STAGENET is set by meson to the built
 * binary) in a /tmp directory through bench/host.h, and exports
 * XENSTORED_PATH and SN_RUNDIR (<dir>/run) in this process.  Returns 0 or
 * -errno. */
int sn_test_host_start(struct sn_test_host *h);
/* SIGTERM, wait (SIGKILL after 5 s), remove the directory and everything
 * in it. */
void sn_test_host_stop(struct sn_test_host *h);

/* cmocka group setup / teardown: one host for the whole group, in
 * sn_test_group_host. */
extern struct sn_test_host sn_test_group_host;
int sn_test_host_group_setup(void **state);
int sn_test_host_group_teardown(void **state);

#endif
