/* The toolstack's xenstore steps for tests whose crafted peers use their own
 * device paths: done by a dom0 process, as `stagenet vif-add` does for the
 * standard ones, because a guest (every emulated domain of a test process is
 * one) may not create another domain's directories or write its keys. */
#ifndef STAGENET_TEST_TOOLSTACK_H
#define STAGENET_TEST_TOOLSTACK_H

#include <stdint.h>

/* A device directory as libxl makes it: emptied, then owned by owner with
 * read access for peer (the other end of the device). */
struct sn_test_ts_dir {
	const char *path;
	uint16_t owner, peer;
};

/* In one transaction of a forked dom0 process: make dirs[], then write
 * kv[] (path, value, path, value, ...; nkv counts the pairs).  Fails the
 * test on error. */
void sn_test_toolstack(const struct sn_test_ts_dir *dirs, unsigned int ndirs,
		       const char *const *kv, unsigned int nkv);

/* In one transaction of a forked dom0 process: remove paths[] and all
 * below them, as libxl does when it tears a device down.  Fails the test
 * on error. */
void sn_test_toolstack_rm(const char *const *paths, unsigned int n);

#endif
