/* libxenstore behind the platform ops.  libxenstore reports errors through
 * errno; this file turns them into -errno returns once, here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plat/xs.h"

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

int sn_xs_connect(struct sn_plat *p, const char *path)
{
	/* libxenstore has no per-handle socket path: it reads XENSTORED_PATH
	 * at open time, so an explicit path is handed over through it. */
	if (path && setenv("XENSTORED_PATH", path, 1))
		return neg_errno();
	p->xs = xs_open(0);
	if (!p->xs)
		return neg_errno();
	return 0;
}

void sn_xs_disconnect(struct sn_plat *p)
{
	if (p->xs) {
		xs_close(p->xs);
		p->xs = NULL;
	}
}

int sn_xs_read(struct sn_plat *p, xs_transaction_t t, const char *path,
	       char **val, unsigned int *len)
{
	unsigned int l = 0;
	char *v;

	errno = 0;
	v = xs_read(p->xs, t, path, &l);
	if (!v)
		return neg_errno();
	*val = v;
	if (len)
		*len = l;
	return 0;
}

int sn_xs_write(struct sn_plat *p, xs_transaction_t t, const char *path,
		const void *val, unsigned int len)
{
	errno = 0;
	return xs_write(p->xs, t, path, val, len) ? 0 : neg_errno();
}

int sn_xs_mkdir(struct sn_plat *p, xs_transaction_t t, const char *path)
{
	errno = 0;
	return xs_mkdir(p->xs, t, path) ? 0 : neg_errno();
}

int sn_xs_rm(struct sn_plat *p, xs_transaction_t t, const char *path)
{
	errno = 0;
	return xs_rm(p->xs, t, path) ? 0 : neg_errno();
}

int sn_xs_directory(struct sn_plat *p, xs_transaction_t t, const char *path,
		    char ***ents, unsigned int *num)
{
	char **d;

	errno = 0;
	d = xs_directory(p->xs, t, path, num);
	if (!d)
		return neg_errno();
	*ents = d;
	return 0;
}

int sn_xs_set_perms(struct sn_plat *p, xs_transaction_t t, const char *path,
		    const struct xs_permissions *perms, unsigned int num)
{
	errno = 0;
	/* libxenstore takes a non-const array but does not modify it. */
	return xs_set_permissions(p->xs, t, path,
				  (struct xs_permissions *)perms, num) ?
		       0 :
		       neg_errno();
}

int sn_xs_get_perms(struct sn_plat *p, xs_transaction_t t, const char *path,
		    struct xs_permissions **perms, unsigned int *num)
{
	struct xs_permissions *r;

	errno = 0;
	r = xs_get_permissions(p->xs, t, path, num);
	if (!r)
		return neg_errno();
	*perms = r;
	return 0;
}

int sn_xs_watch(struct sn_plat *p, const char *path, const char *token)
{
	errno = 0;
	return xs_watch(p->xs, path, token) ? 0 : neg_errno();
}

int sn_xs_unwatch(struct sn_plat *p, const char *path, const char *token)
{
	errno = 0;
	return xs_unwatch(p->xs, path, token) ? 0 : neg_errno();
}

int sn_xs_watch_fd(struct sn_plat *p)
{
	return xs_fileno(p->xs);
}

int sn_xs_read_watch(struct sn_plat *p, struct sn_xs_event *ev)
{
	size_t lp, lt;
	char **w;

	/* xs_check_watch never blocks: it only looks at the queue that the
	 * library's reader thread filled. */
	errno = 0;
	w = xs_check_watch(p->xs);
	if (!w)
		return errno == EAGAIN || errno == 0 ? -EAGAIN : -errno;
	/* Repack into one block owned by ev->path so callers free once. */
	lp = strlen(w[XS_WATCH_PATH]) + 1;
	lt = strlen(w[XS_WATCH_TOKEN]) + 1;
	ev->path = malloc(lp + lt);
	if (!ev->path) {
		free(w);
		return -ENOMEM;
	}
	memcpy(ev->path, w[XS_WATCH_PATH], lp);
	ev->token = ev->path + lp;
	memcpy(ev->token, w[XS_WATCH_TOKEN], lt);
	free(w);
	return 0;
}

int sn_xs_txn_start(struct sn_plat *p, xs_transaction_t *t)
{
	errno = 0;
	*t = xs_transaction_start(p->xs);
	return *t == XBT_NULL ? neg_errno() : 0;
}

int sn_xs_txn_end(struct sn_plat *p, xs_transaction_t t, bool abort)
{
	errno = 0;
	return xs_transaction_end(p->xs, t, abort) ? 0 : neg_errno();
}
