/* In-process xenstore daemon driver (see xsd_drive.h).  Mirrors daemon.c's
 * accept, conn_event and reap, which it keeps static. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xsd_drive.h"

int xsdrv_init(struct xsd *d)
{
	int rc;

	*d = (struct xsd){ .quiet = true, .epfd = -1 };
	rc = xsd_store_init(&d->st);
	if (rc)
		return rc;
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		rc = -errno;
		xsd_store_fini(&d->st);
		return rc;
	}
	return 0;
}

struct xsd_conn *xsdrv_connect(struct xsd *d, int *client)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xsd_conn *c;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err;
	c->fd = sv[0];
	c->id = ++d->next_conn_id;
	c->epoll_mask = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, sv[0], &ev)) {
		free(c);
		goto err;
	}
	c->next = d->conns;
	d->conns = c;
	d->nconns++;
	*client = sv[1];
	return c;
err:
	close(sv[0]);
	close(sv[1]);
	return NULL;
}

bool xsdrv_step(struct xsd *d, struct xsd_conn *c)
{
	int rc;

	if (c->dead)
		return false;
	rc = xsd_conn_input(d, c);
	if (rc == -ECONNRESET)
		c->close_after_flush = true;
	else if (rc)
		c->dead = true;
	if (!c->dead && c->out_head && xsd_conn_flush(c))
		c->dead = true;
	if (!c->dead && c->close_after_flush && !c->out_head)
		c->dead = true;
	xsd_conn_want(d, c);
	return !c->dead;
}

void xsdrv_close(struct xsd *d, struct xsd_conn *c)
{
	struct xsd_conn **pp;

	xsd_watch_free_all(c);
	xsd_txn_free_all(d, c);
	xsd_registry_conn_closed(d, c);
	for (pp = &d->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = c->next;
		d->nconns--;
	}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	xsd_conn_free_output(c);
	free(c);
}

void xsdrv_fini(struct xsd *d)
{
	while (d->conns)
		xsdrv_close(d, d->conns);
	xsd_registry_fini(d);
	xsd_special_fini(d);
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = -1;
	xsd_store_fini(&d->st);
}
