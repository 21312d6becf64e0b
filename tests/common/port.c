/* The test port (see port.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/port.h"

#define ETHERTYPE_TEST 0x88b5

void sn_test_pattern(uint8_t *d, uint32_t len, uint32_t seq)
{
	uint32_t i;

	memset(d, 0xff, 6);
	memset(d + 6, 0x02, 6);
	d[12] = ETHERTYPE_TEST >> 8;
	d[13] = ETHERTYPE_TEST & 0xff;
	memcpy(d + 14, &seq, 4);
	memcpy(d + 18, &len, 4);
	for (i = 22; i < len; i++)
		d[i] = (uint8_t)(seq * 13 + i * 3 + (i >> 11));
}

bool sn_test_pattern_ok(const uint8_t *d, uint32_t len)
{
	uint32_t seq, l, i;

	if (len < 22)
		return false;
	memcpy(&seq, d + 14, 4);
	memcpy(&l, d + 18, 4);
	if (l != len)
		return false;
	for (i = 22; i < len; i++)
		if (d[i] != (uint8_t)(seq * 13 + i * 3 + (i >> 11)))
			return false;
	return true;
}

struct tport {
	struct sn_port base;
	struct sn_port_ops ops; /* tport_ops and the optional ops sh asks for */
	struct sn_test_port *sh;
	uint16_t queue;
	unsigned int made;
	int fd;
};

static void pkt_copy(struct sn_test_pkt *c, const struct sn_pkt *p)
{
	c->data = malloc(p->len ? p->len : 1);
	memcpy(c->data, p->data, p->len);
	c->len = p->len;
	c->flags = p->flags;
	c->gso_size = p->gso_size;
	c->gso_type = p->gso_type;
}

static int capture_send(struct sn_test_port *sh, struct sn_pkt *const *pkts, unsigned int n)
{
	unsigned int i;

	pthread_mutex_lock(&sh->lock);
	for (i = 0; i < n && sh->ncaps < SN_TEST_MAX_CAPS; i++)
		pkt_copy(&sh->caps[sh->ncaps++], pkts[i]);
	pthread_mutex_unlock(&sh->lock);
	return (int)i;
}

/* bounded: take no more than the room left, and use it up. */
static unsigned int room_take(struct sn_test_port *sh, unsigned int n)
{
	int room = atomic_load(&sh->room);
	unsigned int k;

	do {
		if (room <= 0)
			return 0;
		k = (unsigned int)room < n ? (unsigned int)room : n;
	} while (!atomic_compare_exchange_weak(&sh->room, &room, room - (int)k));
	return k;
}

static int tport_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tport *t = (struct tport *)p;
	unsigned int i;

	if (t->sh->bounded)
		n = room_take(t->sh, n);
	if (t->sh->capture)
		return capture_send(t->sh, pkts, n);
	for (i = 0; i < n; i++) {
		if (sn_test_pattern_ok(pkts[i]->data, pkts[i]->len))
			t->sh->got++;
		else
			t->sh->bad++;
	}
	return (int)n;
}

static int injected_recv(struct sn_test_port *sh, struct sn_pkt *const *pkts, unsigned int n,
			 uint64_t max_bytes)
{
	unsigned int i = 0;
	int rc;

	pthread_mutex_lock(&sh->lock);
	while (i < n && sh->inj_pos < sh->ninj && sh->inj[sh->inj_pos].len <= max_bytes) {
		struct sn_test_pkt *c = &sh->inj[sh->inj_pos++];

		max_bytes -= c->len;
		memcpy(pkts[i]->data, c->data, c->len);
		pkts[i]->len = c->len;
		pkts[i]->flags = c->flags;
		pkts[i]->gso_size = c->gso_size;
		pkts[i]->gso_type = c->gso_type;
		i++;
	}
	/* -ENOBUFS: the next one is there but does not fit (recv_budget). */
	rc = !i && n && sh->inj_pos < sh->ninj ? -ENOBUFS : (int)i;
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int tport_recv_budget(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n,
			     uint64_t max_bytes)
{
	struct tport *t = (struct tport *)p;
	unsigned int i;

	if (t->sh->capture)
		return injected_recv(t->sh, pkts, n, max_bytes);
	for (i = 0; i < n && (t->sh->flood ? !atomic_load(&t->sh->stop) :
					    t->made < t->sh->to_make); i++, t->made++) {
		uint32_t len = t->sh->len(t->made);

		if (len > max_bytes) {
			if (!i)
				return -ENOBUFS;
			break;
		}
		max_bytes -= len;
		sn_test_pattern(pkts[i]->data, len, t->made * 16u + t->queue);
		pkts[i]->len = len;
		pkts[i]->flags = 0;
		pkts[i]->queue = t->queue;
		t->sh->made++;
	}
	if (!i && !t->sh->flood && t->made >= t->sh->to_make)
		return -ENODATA;
	return (int)i;
}

static int tport_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	return tport_recv_budget(p, pkts, n, UINT64_MAX);
}

static int tport_fd(struct sn_port *p)
{
	return ((struct tport *)p)->fd;
}

static void tport_close(struct sn_port *p)
{
	struct tport *t = (struct tport *)p;

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static int tport_tx_room(struct sn_port *p)
{
	struct sn_test_port *sh = ((struct tport *)p)->sh;
	int room = atomic_load(&sh->room);

	sh->tx_room_calls++;
	return room > 0 ? room : 0;
}

static const struct sn_port_ops tport_ops = {
	.kind = "test",
	.send = tport_send,
	.recv = tport_recv,
	.fd = tport_fd,
	.close = tport_close,
};

int sn_test_port_open(void *arg, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct tport *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->sh = arg;
	t->ops = tport_ops;
	if (t->sh->bounded)
		t->ops.tx_room = tport_tx_room;
	if (t->sh->holds)
		t->ops.recv_budget = tport_recv_budget;
	t->base.ops = &t->ops;
	t->queue = ctx->queue;
	t->fd = -1;
	if (t->sh->flood) {
		t->fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->fd < 0) {
			free(t);
			return -errno;
		}
	}
	*out = &t->base;
	return 0;
}

void sn_test_port_init(struct sn_test_port *sh)
{
	pthread_mutex_init(&sh->lock, NULL);
}

void sn_test_port_fini(struct sn_test_port *sh)
{
	sn_test_port_clear(sh);
	pthread_mutex_destroy(&sh->lock);
}

unsigned int sn_test_port_ncaps(struct sn_test_port *sh)
{
	unsigned int n;

	pthread_mutex_lock(&sh->lock);
	n = sh->ncaps;
	pthread_mutex_unlock(&sh->lock);
	return n;
}

void sn_test_port_clear(struct sn_test_port *sh)
{
	pthread_mutex_lock(&sh->lock);
	for (unsigned int i = 0; i < sh->ncaps; i++)
		free(sh->caps[i].data);
	sh->ncaps = 0;
	for (unsigned int i = 0; i < sh->ninj; i++)
		free(sh->inj[i].data);
	sh->ninj = sh->inj_pos = 0;
	pthread_mutex_unlock(&sh->lock);
}

void sn_test_port_inject(struct sn_test_port *sh, const uint8_t *data, uint32_t len,
			 uint16_t flags, uint16_t gso_size, uint8_t gso_type)
{
	struct sn_test_pkt *c;

	pthread_mutex_lock(&sh->lock);
	assert_true(sh->ninj < SN_TEST_MAX_INJ);
	c = &sh->inj[sh->ninj++];
	c->data = malloc(len ? len : 1);
	memcpy(c->data, data, len);
	c->len = len;
	c->flags = flags;
	c->gso_size = gso_size;
	c->gso_type = gso_type;
	pthread_mutex_unlock(&sh->lock);
}
