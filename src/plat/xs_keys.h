/* The one family of xenstore key helpers every caller uses (backend,
 * frontend, the vif-add/vif-del toolstack step): read a number or flag with
 * bounds, write a formatted value, write only while a device exists, and
 * run a transaction with the one retry limit.  They go through p->ops, so a
 * wrapped platform (fault.c) sees every call. */
#ifndef STAGENET_PLAT_XS_KEYS_H
#define STAGENET_PLAT_XS_KEYS_H

#include <stdbool.h>

#include "stagenet/plat.h"

/* Commits tried before a transaction gives up with -EAGAIN.  A commit
 * fails only when another writer changed a node this transaction read or
 * wrote, so every failure means someone else made progress, and Linux's
 * xenbus retries without bound.  The cap is a backstop against a bug, not
 * a defence against guests: no bounded caller reads a node a guest can
 * write inside its transaction except vif-add, which empties the guest's
 * own directory.  A try costs one round trip, so the larger of the limits
 * the tree used (16, 32, 100) loses fewer legitimate races for a stall of
 * milliseconds at worst. */
#define SN_XS_TXN_TRIES 100

/* Longest path the helpers build from dir and key. */
#define SN_XS_PATH_MAX 512

/* The helpers build dir/key (or dir alone when key is NULL); a path that
 * does not fit is -ENAMETOOLONG. */

/* The value of dir/key, malloc'd and NUL-terminated, into *out. */
int sn_xs_read_str(struct sn_plat *p, xs_transaction_t t, const char *dir,
		   const char *key, char **out);

/* dir/key as an unsigned decimal in [min, max] into *out.  -ENOENT when
 * the key is absent, -EINVAL when it is not such a number (a peer's keys
 * are untrusted text: empty, negative, trailing bytes and overflow are all
 * refused, never half-parsed; leading blanks and '+' pass, as strtoul
 * takes them); *out is only written on success. */
int sn_xs_read_ulong(struct sn_plat *p, xs_transaction_t t, const char *dir,
		     const char *key, unsigned long min, unsigned long max,
		     unsigned long *out);

/* A feature flag: *out is true only when dir/key holds the number 1.  An
 * absent or unparsable key reads as "not offered" and returns 0; other
 * failures (the daemon, permissions) return -errno with *out false. */
int sn_xs_read_bool(struct sn_plat *p, xs_transaction_t t, const char *dir,
		    const char *key, bool *out);

/* Write dir/key = the formatted value (at most 255 bytes, else -EINVAL). */
int sn_xs_printf(struct sn_plat *p, xs_transaction_t t, const char *dir,
		 const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Write dir/key = val, in its own transaction, only while the device
 * directory dir still exists (its state key does), like Linux's
 * xenbus_switch_state: a plain write after the toolstack removed dir would
 * re-create it with a lone key.  0, -ENOENT when the device is gone, other
 * -errno. */
int sn_xs_write_if_present(struct sn_plat *p, const char *dir, const char *key,
			   const char *val);

/* Run body in a transaction and commit it, starting over (body included)
 * while the commit conflicts, at most SN_XS_TXN_TRIES times.  A non-zero
 * return from body aborts the transaction and is returned as is, never
 * retried.  0, body's error, -EAGAIN when every try conflicted, or the
 * daemon's -errno. */
int sn_xs_txn(struct sn_plat *p,
	      int (*body)(struct sn_plat *p, xs_transaction_t t, void *arg),
	      void *arg);

#endif
