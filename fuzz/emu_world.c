/* In-process emulated host for the fuzz harnesses (see emu_world.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "emu_world.h"
#include "plat/emu/emu.h"
#include "plat/emu/xenstored/xsd.h"

/* One host per harness process: libFuzzer calls in from one thread and
 * the daemon serves until exit. */
static struct {
	char dir[64], sock[128];
	pthread_t thr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, ready;
} host = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void ready(void *arg, const char *path)
{
	(void)arg;
	pthread_mutex_lock(&host.lock);
	snprintf(host.sock, sizeof(host.sock), "%s", path);
	host.ready = true;
	pthread_cond_signal(&host.cond);
	pthread_mutex_unlock(&host.lock);
}

static void *daemon_main(void *arg)
{
	struct sn_xsd_cfg cfg = { .dir = host.dir, .ready = ready, .quiet = true };
	int rc;

	(void)arg;
	rc = sn_xsd_run(&cfg);
	fprintf(stderr, "emu_world: xenstore daemon ended: %d\n", rc);
	abort();
}

static void cleanup(void)
{
	if (host.dir[0]) {
		unlink(host.sock);
		rmdir(host.dir);
		host.dir[0] = '\0';
	}
}

void emu_world_seal(void)
{
	cleanup();
}

void emu_world_start(void)
{
	if (host.started)
		return;
	host.started = true;
	snprintf(host.dir, sizeof(host.dir), "/tmp/sn-fuzz-XXXXXX");
	if (!mkdtemp(host.dir) || pthread_create(&host.thr, NULL, daemon_main, NULL))
		abort();
	atexit(cleanup);
	pthread_mutex_lock(&host.lock);
	while (!host.ready)
		pthread_cond_wait(&host.cond, &host.lock);
	pthread_mutex_unlock(&host.lock);
}

struct sn_plat *emu_world_dom(uint16_t domid, uint32_t ram_pages)
{
	struct sn_plat_cfg cfg = { .kind = SN_PLAT_EMU, .domid = domid,
				   .ram_pages = ram_pages, .gnttab_entries = 256,
				   .xs_path = host.sock };
	struct sn_plat *p;

	emu_world_start();
	if (sn_plat_open(&cfg, &p)) {
		fprintf(stderr, "emu_world: cannot open domain %u\n", domid);
		abort();
	}
	return p;
}

int emu_world_pinned(struct sn_plat *p, uint32_t ref)
{
	const struct sn_emu *e = (const struct sn_emu *)p;
	uint16_t f = __atomic_load_n(&e->gt.entries[ref].flags, __ATOMIC_SEQ_CST);

	return !!(f & (GTF_reading | GTF_writing));
}
