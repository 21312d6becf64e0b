/* Toolstack steps from a forked process (see toolstack.h).  A fork, not a
 * connection of this process: the emulated host takes every connection of a
 * process that registered a domain for that domain. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/toolstack.h"
#include "plat/xs_keys.h"
#include "stagenet/plat.h"

struct ts_job {
	const struct sn_test_ts_dir *dirs;
	unsigned int ndirs;
	const char *const *kv;
	unsigned int nkv;
};

static int ts_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const struct ts_job *j = arg;
	int rc;

	for (unsigned int i = 0; i < j->ndirs; i++) {
		const struct xs_permissions perms[2] = {
			{ .id = j->dirs[i].owner, .perms = XS_PERM_NONE },
			{ .id = j->dirs[i].peer, .perms = XS_PERM_READ },
		};

		p->ops->xs_rm(p, t, j->dirs[i].path);
		rc = p->ops->xs_mkdir(p, t, j->dirs[i].path);
		if (!rc)
			rc = p->ops->xs_set_perms(p, t, j->dirs[i].path, perms, 2);
		if (rc)
			return rc;
	}
	for (unsigned int i = 0; i < j->nkv; i++) {
		const char *v = j->kv[2 * i + 1];

		rc = p->ops->xs_write(p, t, j->kv[2 * i], v, (unsigned int)strlen(v));
		if (rc)
			return rc;
	}
	return 0;
}

static int ts_rm_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const struct ts_job *j = arg;
	int rc;

	for (unsigned int i = 0; i < j->nkv; i++) {
		rc = p->ops->xs_rm(p, t, j->kv[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void ts_run(int (*body)(struct sn_plat *p, xs_transaction_t t, void *arg),
		   struct ts_job *j)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .xs_only = true };
		struct sn_plat *p;
		int rc = sn_plat_open(&cfg, &p);

		if (!rc) {
			rc = sn_xs_txn(p, body, j);
			sn_plat_close(p);
		}
		_exit(rc ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

void sn_test_toolstack(const struct sn_test_ts_dir *dirs, unsigned int ndirs,
		       const char *const *kv, unsigned int nkv)
{
	struct ts_job j = { .dirs = dirs, .ndirs = ndirs, .kv = kv, .nkv = nkv };

	ts_run(ts_body, &j);
}

void sn_test_toolstack_rm(const char *const *paths, unsigned int n)
{
	struct ts_job j = { .kv = paths, .nkv = n };

	ts_run(ts_rm_body, &j);
}
