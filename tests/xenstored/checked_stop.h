/* Stop the fixture's host and require a clean exit (status 0): under the
 * sanitizers a leak or error in the daemon then fails the test instead of
 * only being printed. */
#ifndef STAGENET_TEST_XSD_CHECKED_STOP_H
#define STAGENET_TEST_XSD_CHECKED_STOP_H

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/host_fixture.h"

static inline void stop_host_checked(struct sn_test_host *h)
{
	struct timespec ts;
	long deadline;
	int st = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	kill(h->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(h->pid, &st, WNOHANG);

		if (r == h->pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (r < 0 || ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > deadline) {
			sn_test_host_stop(h); /* SIGKILL and clean up */
			fail_msg("stagenet host did not exit on SIGTERM");
		}
		usleep(10000);
	}
	h->pid = -1;
	sn_test_host_stop(h); /* removes the directory */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

#endif
