/* xenstore ops shared by both platforms: both reach xenstore through
 * libxenstore (the emulated host through XENSTORED_PATH). */
#ifndef STAGENET_PLAT_XS_H
#define STAGENET_PLAT_XS_H

#include "stagenet/plat.h"

/* Open p->xs (path NULL = libxenstore's own choice, which honours
 * $XENSTORED_PATH). */
int sn_xs_connect(struct sn_plat *p, const char *path);
void sn_xs_disconnect(struct sn_plat *p);

int sn_xs_read(struct sn_plat *p, xs_transaction_t t, const char *path,
	       char **val, unsigned int *len);
int sn_xs_write(struct sn_plat *p, xs_transaction_t t, const char *path,
		const void *val, unsigned int len);
int sn_xs_mkdir(struct sn_plat *p, xs_transaction_t t, const char *path);
int sn_xs_rm(struct sn_plat *p, xs_transaction_t t, const char *path);
int sn_xs_directory(struct sn_plat *p, xs_transaction_t t, const char *path,
		    char ***ents, unsigned int *num);
int sn_xs_set_perms(struct sn_plat *p, xs_transaction_t t, const char *path,
		    const struct xs_permissions *perms, unsigned int num);
int sn_xs_get_perms(struct sn_plat *p, xs_transaction_t t, const char *path,
		    struct xs_permissions **perms, unsigned int *num);
int sn_xs_watch(struct sn_plat *p, const char *path, const char *token);
int sn_xs_unwatch(struct sn_plat *p, const char *path, const char *token);
int sn_xs_watch_fd(struct sn_plat *p);
int sn_xs_read_watch(struct sn_plat *p, struct sn_xs_event *ev);
int sn_xs_txn_start(struct sn_plat *p, xs_transaction_t *t);
int sn_xs_txn_end(struct sn_plat *p, xs_transaction_t t, bool abort);

/* Initialiser fragment for an ops table. */
#define SN_XS_OPS                                                      \
	.xs_read = sn_xs_read, .xs_write = sn_xs_write,                \
	.xs_mkdir = sn_xs_mkdir, .xs_rm = sn_xs_rm,                    \
	.xs_directory = sn_xs_directory,                               \
	.xs_set_perms = sn_xs_set_perms,                               \
	.xs_get_perms = sn_xs_get_perms, .xs_watch = sn_xs_watch,      \
	.xs_unwatch = sn_xs_unwatch, .xs_watch_fd = sn_xs_watch_fd,    \
	.xs_read_watch = sn_xs_read_watch,                             \
	.xs_txn_start = sn_xs_txn_start, .xs_txn_end = sn_xs_txn_end

#endif
