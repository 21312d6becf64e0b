/* xenstore key helpers over the platform ops (see xs_keys.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plat/xs_keys.h"

static int key_path(char *buf, size_t sz, const char *dir, const char *key)
{
	int n = key ? snprintf(buf, sz, "%s/%s", dir, key) :
		      snprintf(buf, sz, "%s", dir);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int sn_xs_read_str(struct sn_plat *p, xs_transaction_t t, const char *dir,
		   const char *key, char **out)
{
	char path[SN_XS_PATH_MAX];
	unsigned int len;
	int rc;

	rc = key_path(path, sizeof(path), dir, key);
	if (rc)
		return rc;
	return p->ops->xs_read(p, t, path, out, &len);
}

int sn_xs_read_ulong(struct sn_plat *p, xs_transaction_t t, const char *dir,
		     const char *key, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	char *val = NULL, *end;
	unsigned long v;
	int rc;

	rc = sn_xs_read_str(p, t, dir, key, &val);
	if (rc)
		return rc;
	/* strtoul takes "-1" (after any blanks) as ULONG_MAX: refuse a minus
	 * anywhere rather than let it wrap into range. */
	errno = 0;
	v = strtoul(val, &end, 10);
	if (!val[0] || *end || errno || strchr(val, '-') || v < min || v > max)
		rc = -EINVAL;
	else
		*out = v;
	free(val);
	return rc;
}

int sn_xs_read_bool(struct sn_plat *p, xs_transaction_t t, const char *dir,
		    const char *key, bool *out)
{
	unsigned long v = 0;
	int rc = sn_xs_read_ulong(p, t, dir, key, 0, 1, &v);

	*out = !rc && v == 1;
	return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
}

int sn_xs_printf(struct sn_plat *p, xs_transaction_t t, const char *dir,
		 const char *key, const char *fmt, ...)
{
	char path[SN_XS_PATH_MAX], val[256];
	va_list ap;
	int rc, n;

	rc = key_path(path, sizeof(path), dir, key);
	if (rc)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -EINVAL;
	return p->ops->xs_write(p, t, path, val, (unsigned int)n);
}

int sn_xs_txn(struct sn_plat *p,
	      int (*body)(struct sn_plat *p, xs_transaction_t t, void *arg),
	      void *arg)
{
	int rc = -EAGAIN;

	for (int tries = 0; tries < SN_XS_TXN_TRIES && rc == -EAGAIN; tries++) {
		xs_transaction_t t;

		rc = p->ops->xs_txn_start(p, &t);
		if (rc)
			return rc;
		rc = body(p, t, arg);
		if (rc) {
			p->ops->xs_txn_end(p, t, true);
			return rc;
		}
		rc = p->ops->xs_txn_end(p, t, false);
	}
	return rc;
}

struct write_if_present {
	const char *dir, *key, *val;
};

static int write_if_present_body(struct sn_plat *p, xs_transaction_t t, void *arg)
{
	const struct write_if_present *w = arg;
	char *cur = NULL;
	int rc;

	rc = sn_xs_read_str(p, t, w->dir, "state", &cur);
	free(cur);
	/* xenstored answers for a missing node with its nearest existing
	 * parent's permissions: a removed device whose parent the caller may
	 * not read is EACCES, and gone all the same. */
	if (rc == -EACCES)
		rc = -ENOENT;
	if (rc)
		return rc;
	return sn_xs_printf(p, t, w->dir, w->key, "%s", w->val);
}

int sn_xs_write_if_present(struct sn_plat *p, const char *dir, const char *key,
			   const char *val)
{
	struct write_if_present w = { .dir = dir, .key = key, .val = val };

	return sn_xs_txn(p, write_if_present_body, &w);
}
