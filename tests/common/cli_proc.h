/* Test helpers for `stagenet` processes as a user runs them, on the group's
 * private host (sn_test_group_host): spawn with output to a file in the
 * host's directory, bounded reap, read the output back, read counters from
 * a printout or from a running daemon's stats block. */
#ifndef STAGENET_TEST_CLI_PROC_H
#define STAGENET_TEST_CLI_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "stagenet/stats.h"

/* How long a helper waits for a process or a counter. */
#define SN_TEST_CLI_WAIT_MS 60000

/* cmocka group setup / teardown: the host, stats blocks of the daemons in
 * its directory (SN_RUNDIR), and the directory removed with every output. */
int sn_test_cli_group_setup(void **state);
int sn_test_cli_group_teardown(void **state);

/* Start `stagenet <args...>` (NULL-terminated) with stdout+stderr in
 * <host dir>/<out> (out NULL: /dev/null). */
pid_t sn_test_spawn(const char *out, ...);
/* The same with the arguments in a NULL-terminated array. */
pid_t sn_test_spawnv(const char *out, const char *const *args);
/* Exit status (128 + signal when killed); a process still running after
 * timeout_ms is killed and fails the test. */
int sn_test_reap(pid_t pid, int timeout_ms);
/* The whole of <host dir>/<out>, NUL-terminated; free() it. */
char *sn_test_slurp(const char *out);
/* First "name <number>" in a stats printout (the first queue's line), or
 * -1 when there is none. */
long long sn_test_counter(const char *text, const char *name);
/* Live counter of a running daemon through its published stats block. */
uint64_t sn_test_live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c);
/* Wait (SN_TEST_CLI_WAIT_MS at most) until that counter reaches want. */
void sn_test_wait_live(const char *role, uint16_t domid, uint16_t q, enum sn_qstat c,
		       uint64_t want);
/* `stagenet vif-add` of devid 0 for domid (backend: domain 0); returns domid. */
uint16_t sn_test_cli_vif_add(uint16_t domid);

#endif
