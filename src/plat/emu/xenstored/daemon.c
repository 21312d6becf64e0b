/* The daemon's event loop: one epoll set holding the listening unix socket,
 * a signalfd for SIGINT/SIGTERM and every client.  Single threaded, so the
 * store, watches and registry need no locks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "plat/emu/emu.h"
#include "plat/emu/xenstored/xsd.h"

void xsd_log(struct xsd *d, const char *fmt, ...)
{
	va_list ap;

	if (d->quiet)
		return;
	va_start(ap, fmt);
	fputs("stagenet host: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void xsd_conn_want(struct xsd *d, struct xsd_conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	uint32_t mask = 0;

	if (c->dead)
		return;
	if (!c->close_after_flush && c->out_bytes < XSD_OUT_SOFT_CAP)
		mask |= EPOLLIN;
	if (c->out_head)
		mask |= EPOLLOUT;
	if (mask == c->epoll_mask)
		return;
	ev.events = mask;
	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epoll_mask = mask;
	else
		c->dead = true;
}

static void conn_free(struct xsd *d, struct xsd_conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	xsd_watch_free_all(c);
	xsd_txn_free_all(d, c);
	xsd_conn_free_output(c);
	free(c);
}

/* Close the dead connections.  Done after a batch of epoll events, so no
 * event in the batch points at freed memory. */
static void reap(struct xsd *d)
{
	struct xsd_conn **pp = &d->conns;

	while (*pp) {
		struct xsd_conn *c = *pp;

		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		/* Watches go first so the registry release does not queue
		 * events to the closing client. */
		xsd_watch_free_all(c);
		xsd_txn_free_all(d, c);
		xsd_registry_conn_closed(d, c);
		*pp = c->next;
		d->nconns--;
		if (c->events_dropped)
			xsd_log(d, "conn %llu closed; %llu watch events were dropped",
				(unsigned long long)c->id,
				(unsigned long long)c->events_dropped);
		conn_free(d, c);
		pp = &d->conns; /* the release may have killed others */
	}
}

static void do_accept(struct xsd *d, int lfd, int *reserve_fd)
{
	for (;;) {
		struct ucred cred;
		socklen_t credlen = sizeof(cred);
		struct epoll_event ev;
		struct xsd_conn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && *reserve_fd >= 0) {
				/* Accept and drop, or the listening socket
				 * stays readable and the loop spins. */
				close(*reserve_fd);
				fd = accept(lfd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				*reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				xsd_log(d, "out of file descriptors, connection refused");
			}
			return;
		}
		if (d->nconns >= XSD_MAX_CONNS) {
			xsd_log(d, "too many connections, refusing one");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++d->next_conn_id;
		/* Unbound, so dom0, until its process registers a domain
		 * (perms.c). */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
			c->pid = cred.pid;
		xsd_conn_resolve(d, c);
		c->epoll_mask = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = d->conns;
		d->conns = c;
		d->nconns++;
	}
}

static void conn_event(struct xsd *d, struct xsd_conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		int rc = xsd_conn_input(d, c);

		/* At EOF the peer may only have shut its sending side:
		 * answer what it asked, then close. */
		if (rc == -ECONNRESET)
			c->close_after_flush = true;
		else if (rc)
			c->dead = true;
	}
	if (!c->dead && c->out_head && xsd_conn_flush(c))
		c->dead = true;
	if (!c->dead && c->close_after_flush && !c->out_head)
		c->dead = true;
	/* A peer that hung up while we hold back its input would otherwise
	 * be reported forever. */
	if (!c->dead && (events & (EPOLLHUP | EPOLLERR)) && !(c->epoll_mask & EPOLLIN))
		c->dead = true;
	xsd_conn_want(d, c);
}

static int make_dir(const char *want, char *dir, size_t dlen, bool *made)
{
	*made = false;
	if (want) {
		if (strlen(want) >= dlen)
			return -ENAMETOOLONG;
		if (mkdir(want, 0700) && errno != EEXIST)
			return -errno;
		/* Print an absolute socket path: clients need not share our
		 * working directory. */
		char *abs = realpath(want, NULL);

		if (!abs)
			return -errno;
		if (strlen(abs) >= dlen) {
			free(abs);
			return -ENAMETOOLONG;
		}
		strcpy(dir, abs);
		free(abs);
		return 0;
	}
	const char *base = getenv("XDG_RUNTIME_DIR");

	if (!base || !*base || access(base, W_OK))
		base = "/tmp";
	if ((size_t)snprintf(dir, dlen, "%s/stagenet-host-XXXXXX", base) >= dlen)
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return -errno;
	*made = true;
	return 0;
}

static int listen_on(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A leftover socket from a crashed daemon may be replaced; a live
	 * one may not. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (errno == ECONNREFUSED)
		unlink(path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(fd, 128)) {
		rc = -errno;
		close(fd);
		unlink(path);
		return rc;
	}
	*out = fd;
	return 0;
}

/* The registry is dom0's: only a process not yet a guest can register a
 * domain, and once registered it cannot write its entry again.  Everyone
 * reads it: the emulated hypervisor runs in each domain's process and finds
 * its peers there. */
static int registry_root(struct xsd *d)
{
	static const char perms[] = "r0";
	int rc = xsd_tree_mkdir(&d->st, &d->st.root, SN_EMU_REG_ROOT);

	if (rc < 0)
		return rc;
	rc = xsd_tree_set_perms(&d->st, &d->st.root, SN_EMU_REG_ROOT, perms, sizeof(perms));
	return rc < 0 ? rc : 0;
}

int sn_xsd_run(const struct sn_xsd_cfg *cfg)
{
	struct xsd d = { .quiet = cfg->quiet, .epfd = -1 };
	char dir[256], path[300];
	struct epoll_event ev, evs[64];
	sigset_t mask, oldmask;
	int lfd = -1, sfd = -1, reserve, rc;
	bool made_dir, stop = false;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask))
		return -errno;
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		rc = -errno;
		goto out_sigmask;
	}
	rc = make_dir(cfg->dir, dir, sizeof(dir), &made_dir);
	if (rc) {
		xsd_log(&d, "cannot create directory %s: %s",
			cfg->dir ? cfg->dir : "(temporary)", strerror(-rc));
		goto out_sfd;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/socket", dir) >= sizeof(path)) {
		rc = -ENAMETOOLONG;
		goto out_dir;
	}
	rc = xsd_store_init(&d.st);
	if (!rc)
		rc = registry_root(&d);
	if (rc)
		goto out_store;
	rc = listen_on(path, &lfd);
	if (rc) {
		xsd_log(&d, "cannot listen on %s: %s", path, strerror(-rc));
		goto out_store;
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0) {
		rc = -errno;
		goto out_listen;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &lfd;
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, lfd, &ev)) {
		rc = -errno;
		goto out_epoll;
	}
	ev.data.ptr = &sfd;
	if (epoll_ctl(d.epfd, EPOLL_CTL_ADD, sfd, &ev)) {
		rc = -errno;
		goto out_epoll;
	}
	reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (cfg->ready)
		cfg->ready(cfg->ready_arg, path);

	while (!stop) {
		int n = epoll_wait(d.epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si))
					stop = true;
			} else if (evs[i].data.ptr == &lfd) {
				do_accept(&d, lfd, &reserve);
			} else {
				conn_event(&d, evs[i].data.ptr, evs[i].events);
			}
		}
		reap(&d);
	}
	if (reserve >= 0)
		close(reserve);
	while (d.conns) {
		struct xsd_conn *c = d.conns;

		d.conns = c->next;
		conn_free(&d, c);
	}
	xsd_registry_fini(&d);
out_epoll:
	close(d.epfd);
out_listen:
	close(lfd);
	unlink(path);
out_store:
	xsd_special_fini(&d);
	xsd_store_fini(&d.st);
out_dir:
	if (made_dir)
		rmdir(dir);
out_sfd:
	close(sfd);
out_sigmask:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return rc;
}
