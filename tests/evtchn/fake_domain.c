/* A stand-in for domain.c in the evtchn unit test: an in-process registry of
 * emulated domains, so evtchn.c's logic is tested without `stagenet host`.
 * Test-only global state (the real registry lives in xenstore). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evtchn/fake_domain.h"

#define FAKE_MAX 16

static struct sn_emu *fake_doms[FAKE_MAX];
static struct sn_emu_peer fake_peers[FAKE_MAX];

static void fake_close(struct sn_plat *p)
{
	struct sn_emu *e = (struct sn_emu *)p;
	int i;

	for (i = 0; i < FAKE_MAX; i++)
		if (fake_doms[i] == e)
			fake_doms[i] = NULL;
	sn_emu_evtchn_fini(e);
	free(e);
}

static const struct sn_plat_ops fake_ops = {
	.name = "fake-emu",
	.close = fake_close,
	.evt_open = sn_emu_evt_open,
	.evt_close = sn_emu_evt_close,
	.evt_fd = sn_emu_evt_fd,
	.evt_alloc_unbound = sn_emu_evt_alloc_unbound,
	.evt_bind_interdomain = sn_emu_evt_bind_interdomain,
	.evt_notify = sn_emu_evt_notify,
	.evt_pending = sn_emu_evt_pending,
	.evt_unmask = sn_emu_evt_unmask,
	.evt_unbind = sn_emu_evt_unbind,
};

int fake_domain_open(uint16_t domid, struct sn_plat **out)
{
	struct sn_emu *e;
	int i, rc;

	for (i = 0; i < FAKE_MAX && fake_doms[i]; i++)
		;
	if (i == FAKE_MAX)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->plat.ops = &fake_ops;
	e->plat.kind = SN_PLAT_EMU;
	e->plat.domid = domid;
	e->pid = getpid();
	rc = sn_emu_evtchn_init(e);
	if (rc) {
		free(e);
		return rc;
	}
	fake_doms[i] = e;
	*out = &e->plat;
	return 0;
}

struct sn_emu *fake_domain_find(uint16_t domid)
{
	int i;

	for (i = 0; i < FAKE_MAX; i++)
		if (fake_doms[i] && fake_doms[i]->plat.domid == domid)
			return fake_doms[i];
	return NULL;
}

int sn_emu_peer_get(struct sn_emu *e, uint16_t domid, struct sn_emu_peer **out)
{
	int i;

	(void)e;
	for (i = 0; i < FAKE_MAX; i++) {
		if (fake_doms[i] && fake_doms[i]->plat.domid == domid) {
			fake_peers[i].domid = domid;
			fake_peers[i].valid = true;
			fake_peers[i].pid = getpid();
			fake_peers[i].pidfd = -1;
			*out = &fake_peers[i];
			return 0;
		}
	}
	return -ESRCH;
}

/* Views here are static: nothing to count or release. */
void sn_emu_peer_put(struct sn_emu *e, struct sn_emu_peer *peer)
{
	(void)e;
	(void)peer;
}

void sn_emu_peer_forget(struct sn_emu *e, struct sn_emu_peer *peer)
{
	(void)e;
	(void)peer;
}

/* A fake domain's fds are always the ones it holds: a failed lookup means
 * it is gone. */
bool sn_emu_peer_ended(struct sn_emu *e, struct sn_emu_peer *peer)
{
	(void)e;
	return !fake_domain_find(peer->domid);
}

void sn_emu_peer_bad_fd(struct sn_emu *e, struct sn_emu_peer *peer, const char *name, int err)
{
	(void)peer;
	(void)name;
	(void)err;
	e->peer_bad_fds++;
}

int sn_emu_peer_getfd(struct sn_emu *e, struct sn_emu_peer *peer, const char *name, int *fd)
{
	struct sn_emu *pe = fake_domain_find(peer->domid);

	(void)e;
	if (!pe)
		return -ESRCH;
	if (strcmp(name, "evtchn"))
		return -ENOENT;
	*fd = fcntl(pe->evt_fd, F_DUPFD_CLOEXEC, 0);
	return *fd < 0 ? -errno : 0;
}

int sn_emu_peer_dupfd(struct sn_emu_peer *peer, int remote_fd, int *fd)
{
	(void)peer;
	*fd = fcntl(remote_fd, F_DUPFD_CLOEXEC, 0);
	return *fd < 0 ? -errno : 0;
}

void sn_emu_ptrace_hint(void)
{
}
