/* The crafted frontend and the netback test harness (see peer_front.h). */
#include <errno.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/xenbus.h>

#include "common/dom.h"
#include "common/peer_front.h"
#include "plat/emu/emu.h"
#include "proto/extra.h"
#include "proto/rxrsp.h"

extern char **environ;

#define WAIT_MS 5000

void h_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- captured and injected packets ------------------------------------- */

unsigned int h_ncaps(struct h_ctx *t)
{
	return sn_test_port_ncaps(&t->b.sh);
}

bool h_wait_caps(struct h_ctx *t, unsigned int n)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		if (h_ncaps(t) >= n)
			return true;
		h_sleep_ms(1);
	}
	return h_ncaps(t) >= n;
}

void h_caps_clear(struct h_ctx *t)
{
	sn_test_port_clear(&t->b.sh);
}

void h_inject(struct h_ctx *t, const uint8_t *data, uint32_t len,
	      uint16_t flags, uint16_t gso_size, uint8_t gso_type)
{
	sn_test_port_inject(&t->b.sh, data, len, flags, gso_size, gso_type);
}

/* ---- setup ------------------------------------------------------------- */

int h_setup(void **state)
{
	struct h_ctx *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->b.sh.capture = true;
	sn_test_port_init(&t->b.sh);
	if (sn_test_host_start(&t->host)) {
		fprintf(stderr, "cannot start stagenet host\n");
		free(t);
		return -1;
	}
	if (sn_test_dom_try(0, NULL, &t->bplat) || sn_test_dom_try(H_FE_DOMID, NULL, &t->fplat)) {
		fprintf(stderr, "cannot open emulated platforms\n");
		sn_test_host_stop(&t->host);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int h_teardown(void **state)
{
	struct h_ctx *t = *state;

	if (!t)
		return 0;
	if (t->b.running)
		h_back_stop(t);
	sn_plat_close(t->fplat);
	sn_plat_close(t->bplat);
	sn_test_host_stop(&t->host);
	sn_test_port_fini(&t->b.sh);
	free(t);
	return 0;
}

void h_back_start(struct h_ctx *t, const struct sn_back_cfg *tweak)
{
	struct sn_back_cfg cfg = { 0 };

	if (tweak)
		cfg = *tweak;
	cfg.plat = t->bplat;
	if (!cfg.max_queues)
		cfg.max_queues = 4;
	sn_test_back_start_cfg(&t->b, &cfg);
}

void h_back_stop(struct h_ctx *t)
{
	sn_test_back_stop(&t->b);
	h_caps_clear(t);
}

int h_run_cli(const char *const *args)
{
	const char *exe = getenv("SN_STAGENET");
	char *argv[32];
	pid_t pid;
	int st, n = 0;

	assert_non_null(exe);
	argv[n++] = (char *)exe;
	for (; args[n - 1] && n < 31; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	if (posix_spawn(&pid, exe, NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- frontend ------------------------------------------------------------ */

int h_xs_w(struct sn_plat *p, xs_transaction_t x, const char *dir,
	   const char *key, const char *fmt, ...)
{
	char path[256], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return p->ops->xs_write(p, x, path, val, strlen(val));
}

char *h_xs_r(struct sn_plat *p, const char *dir, const char *key)
{
	char path[256], *val = NULL;
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (p->ops->xs_read(p, XBT_NULL, path, &val, &len))
		return NULL;
	return val;
}

void h_xs_expect(struct sn_plat *p, const char *dir, const char *key, const char *want)
{
	char *v = h_xs_r(p, dir, key);

	if (!v)
		fail_msg("%s/%s missing", dir, key);
	if (strcmp(v, want))
		fail_msg("%s/%s = '%s', want '%s'", dir, key, v, want);
	free(v);
}

int h_dom_be_state(struct sn_plat *p, uint16_t domid, uint16_t devid)
{
	char path[128], *val = NULL;
	unsigned int len;
	int s;

	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%u/state", domid, devid);
	if (p->ops->xs_read(p, XBT_NULL, path, &val, &len))
		return -1;
	s = atoi(val);
	free(val);
	return s;
}

int h_be_state(struct h_ctx *t, uint16_t devid)
{
	return h_dom_be_state(t->bplat, H_FE_DOMID, devid);
}

bool h_wait_be_state(struct h_ctx *t, uint16_t devid, int state)
{
	for (int ms = 0; ms < WAIT_MS; ms += 2) {
		if (h_be_state(t, devid) == state)
			return true;
		h_sleep_ms(2);
	}
	return false;
}

void h_vif_add(struct h_ctx *t, uint16_t devid)
{
	char devs[8], dom[8];
	const char *add[] = { "vif-add", "--domid", dom, "--devid", devs,
			      t->rate ? "--rate" : NULL, t->rate, NULL };

	snprintf(devs, sizeof(devs), "%u", devid);
	snprintf(dom, sizeof(dom), "%u", H_FE_DOMID);
	assert_int_equal(h_run_cli(add), 0);
	assert_true(h_wait_be_state(t, devid, XenbusStateInitWait));
}

void h_fe_alloc(struct h_ctx *t, struct h_fe *fe, uint16_t devid)
{
	const struct sn_plat_ops *ops = t->fplat->ops;

	memset(fe, 0, sizeof(*fe));
	fe->t = t;
	fe->devid = devid;
	h_vif_add(t, devid);

	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &fe->tx_ref, &fe->tx_page), 0);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, 1, true, &fe->rx_ref, &fe->rx_page), 0);
	sn_tx_front_init(&fe->tx, fe->tx_page);
	sn_rx_front_init(&fe->rx, fe->rx_page);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, H_DATA_PAGES, false, fe->data_ref,
					(void **)&fe->data), 0);
	assert_int_equal(ops->shr_alloc(t->fplat, 0, H_RX_PAGES, true, fe->rx_ref_tab,
					(void **)&fe->rxbuf), 0);
}

static const struct sn_peer_keys fe_dflt = { .k = {
	[SN_PEER_REQUEST_RX_COPY] = SN_PEER_ON,
	[SN_PEER_RX_NOTIFY] = SN_PEER_ON,
	[SN_PEER_SG] = SN_PEER_ON,
	[SN_PEER_GSO_TCPV4] = SN_PEER_ON,
	[SN_PEER_GSO_TCPV6] = SN_PEER_ON,
} };

static int announce_once(struct h_ctx *t, xs_transaction_t x, const char *fe_path,
			 const struct h_fe_keys *k)
{
	char qdir[160];
	int rc = 0;

	for (unsigned int i = 0; i < k->nq && !rc; i++) {
		if (k->nq > 1)
			snprintf(qdir, sizeof(qdir), "%s/queue-%u", fe_path, i);
		else
			snprintf(qdir, sizeof(qdir), "%s", fe_path);
		rc = h_xs_w(t->fplat, x, qdir, "tx-ring-ref", "%u", k->q[i].tx_ref) ||
		     h_xs_w(t->fplat, x, qdir, "rx-ring-ref", "%u", k->q[i].rx_ref) ||
		     h_xs_w(t->fplat, x, qdir, "event-channel", "%d", k->q[i].port);
	}
	return rc ||
	       (k->ctrl && h_xs_w(t->fplat, x, fe_path, "ctrl-ring-ref", "%u", k->ctrl_ref)) ||
	       (k->ctrl && k->ctrl_port >= 0 &&
		h_xs_w(t->fplat, x, fe_path, "event-channel-ctrl", "%d", k->ctrl_port)) ||
	       sn_peer_keys_write(t->fplat, x, fe_path, k->keys ? k->keys : &t->fe_keys,
				  &fe_dflt) ||
	       h_xs_w(t->fplat, x, fe_path, "multi-queue-num-queues", "%u", k->nq) ||
	       h_xs_w(t->fplat, x, fe_path, "state", "%d", XenbusStateConnected);
}

void h_fe_announce(struct h_ctx *t, uint16_t devid, const struct h_fe_keys *k)
{
	const struct sn_plat_ops *ops = t->fplat->ops;
	char fe_path[128];
	xs_transaction_t x;
	int rc;

	assert_true(k->nq >= 1 && k->nq <= H_MAX_Q);
	snprintf(fe_path, sizeof(fe_path), "/local/domain/%u/device/vif/%u",
		 H_FE_DOMID, devid);
	do {
		assert_int_equal(ops->xs_txn_start(t->fplat, &x), 0);
		assert_int_equal(announce_once(t, x, fe_path, k), 0);
		rc = ops->xs_txn_end(t->fplat, x, false);
	} while (rc == -EAGAIN);
	assert_int_equal(rc, 0);
}

void h_fe_connect(struct h_ctx *t, struct h_fe *fe, uint16_t devid)
{
	const struct sn_plat_ops *ops = t->fplat->ops;
	struct h_fe_keys k = { .nq = 1 };

	h_fe_alloc(t, fe, devid);
	assert_int_equal(ops->evt_open(t->fplat, &fe->evt), 0);
	fe->port = ops->evt_alloc_unbound(fe->evt, 0);
	assert_true(fe->port >= 0);
	k.q[0].tx_ref = fe->tx_ref;
	k.q[0].rx_ref = fe->rx_ref;
	k.q[0].port = fe->port;
	h_fe_announce(t, devid, &k);
	assert_true(h_wait_be_state(t, devid, XenbusStateConnected));
}

void h_vif_close(struct h_ctx *t, uint16_t devid)
{
	char devs[8], dom[8], path[128];
	const char *del[] = { "vif-del", "--domid", dom, "--devid", devs, NULL };

	snprintf(devs, sizeof(devs), "%u", devid);
	snprintf(dom, sizeof(dom), "%u", H_FE_DOMID);
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u/state",
		 H_FE_DOMID, devid);
	t->fplat->ops->xs_write(t->fplat, XBT_NULL, path, "6", 1);
	assert_true(h_wait_be_state(t, devid, XenbusStateClosed));
	assert_int_equal(h_run_cli(del), 0);
}

void h_fe_close(struct h_fe *fe)
{
	h_vif_close(fe->t, fe->devid);
	h_fe_free(fe);
}

void h_fe_free(struct h_fe *fe)
{
	struct h_ctx *t = fe->t;
	const struct sn_plat_ops *ops = t->fplat->ops;

	/* The backend has unmapped everything: every revoke succeeds. */
	ops->evt_close(fe->evt);
	assert_int_equal(ops->shr_free(t->fplat, fe->rxbuf, H_RX_PAGES), 0);
	assert_int_equal(ops->shr_free(t->fplat, fe->data, H_DATA_PAGES), 0);
	assert_int_equal(ops->shr_free(t->fplat, fe->rx_page, 1), 0);
	assert_int_equal(ops->shr_free(t->fplat, fe->tx_page, 1), 0);
}

void h_tx_req(struct h_fe *fe, uint32_t gref, uint16_t off, uint16_t flags,
	      uint16_t id, uint16_t size)
{
	struct netif_tx_request r = {
		.gref = gref, .offset = off, .flags = flags, .id = id, .size = size,
	};

	sn_tx_front_put_req(&fe->tx, &r);
}

void h_tx_extra(struct h_fe *fe, const struct netif_extra_info *x)
{
	sn_tx_front_write_slot(&fe->tx, fe->tx.req_prod_pvt++, x, sizeof(*x));
}

void h_tx_push(struct h_fe *fe)
{
	if (sn_tx_front_push(&fe->tx))
		fe->t->fplat->ops->evt_notify(fe->evt, (sn_port_t)fe->port);
}

unsigned int h_tx_wait(struct h_fe *fe, unsigned int n)
{
	unsigned int have = 0;

	for (int ms = 0; ms < WAIT_MS; ms++) {
		have = sn_tx_front_rsp_prod(&fe->tx) - fe->tx.rsp_cons;
		if (have >= n)
			break;
		h_sleep_ms(1);
	}
	return have;
}

void h_tx_rsp(struct h_fe *fe, unsigned int i, struct netif_tx_response *out)
{
	static const uint8_t zero[8];
	struct netif_tx_response r[3]; /* the slot is 12 bytes */

	sn_ring_slot_load(r, sn_tx_slot(fe->tx.sring, fe->tx.nr_ents,
					fe->tx.rsp_cons + i), 12);
	/* XSA-216: the 8 bytes after a 4-byte response are zero, not the
	 * request that was there. */
	assert_memory_equal((const uint8_t *)r + 4, zero, 8);
	*out = r[0];
}

void h_tx_consume(struct h_fe *fe, unsigned int n)
{
	fe->tx.rsp_cons += n;
}

unsigned int h_tx_collect(struct h_fe *fe, unsigned int n, int16_t *st)
{
	struct netif_tx_response r;
	unsigned int nulls = 0;

	for (unsigned int i = 0; i < 1024; i++)
		st[i] = H_NO_RSP;
	assert_int_equal(h_tx_wait(fe, n), n);
	for (unsigned int i = 0; i < n; i++) {
		h_tx_rsp(fe, i, &r);
		if (r.status == NETIF_RSP_NULL) {
			nulls++;
			continue;
		}
		assert_true(r.id < 1024);
		assert_int_equal(st[r.id], H_NO_RSP);
		st[r.id] = r.status;
	}
	h_tx_consume(fe, n);
	return nulls;
}

void h_rx_post(struct h_fe *fe, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		RING_IDX idx = fe->rx.req_prod_pvt;
		struct netif_rx_request r = {
			.id = (uint16_t)(idx & (SN_RX_RING_SIZE - 1)),
			.gref = fe->rx_ref_tab[idx & (SN_RX_RING_SIZE - 1)],
		};

		sn_rx_front_put_req(&fe->rx, &r);
	}
	if (sn_rx_front_push(&fe->rx))
		fe->t->fplat->ops->evt_notify(fe->evt, (sn_port_t)fe->port);
}

unsigned int h_rx_wait(struct h_fe *fe, unsigned int n)
{
	unsigned int have = 0;

	for (int ms = 0; ms < WAIT_MS; ms++) {
		have = sn_rx_front_rsp_prod(&fe->rx) - fe->rx.rsp_cons;
		if (have >= n)
			break;
		h_sleep_ms(1);
	}
	return have;
}

void h_rx_rsp(struct h_fe *fe, unsigned int i, struct netif_rx_response *out)
{
	sn_rx_front_copy_rsp(&fe->rx, fe->rx.rsp_cons + i, out);
}

uint64_t h_stat(struct h_ctx *t, uint16_t devid, enum sn_qstat c)
{
	struct sn_qstats s;

	if (sn_back_vif_stats(t->b.back, H_FE_DOMID, devid, 0, &s))
		return UINT64_MAX;
	return s.v[c];
}

uint32_t h_back_maps(struct h_ctx *t)
{
	struct sn_emu *e = (struct sn_emu *)t->bplat;
	uint32_t n;

	pthread_mutex_lock(&e->map_lock);
	n = e->nr_maps;
	pthread_mutex_unlock(&e->map_lock);
	return n;
}

bool h_wait_disabled(struct h_ctx *t, uint16_t devid)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		if (sn_back_vif_disabled(t->b.back, H_FE_DOMID, devid))
			return true;
		h_sleep_ms(1);
	}
	return false;
}

/* ---- reading guest RX ------------------------------------------------ */

void h_fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((seed * 131u) ^ (i * 7u) ^ (i >> 9));
}

/* Parse the next packet off the RX ring as netfront would, check slot i
 * carries id i, reassemble it and compare with want. */
void h_fe_expect_rx(struct h_fe *fe, const uint8_t *want, uint32_t len,
		      uint16_t want_flags, bool gso, uint16_t mss)
{
	struct sn_rxpkt pkt;
	uint8_t *got = malloc(len ? len : 1);
	uint32_t off = 0;

	assert_non_null(got);
	assert_int_equal(sn_rxrsp_parse_ring(&fe->rx, sn_rx_front_rsp_prod(&fe->rx), &pkt), 0);
	assert_int_equal(pkt.verdict, SN_RXRSP_OK);
	assert_int_equal(pkt.len, len);
	assert_int_equal(pkt.flags & (NETRXF_csum_blank | NETRXF_data_validated), want_flags);
	assert_int_equal(!!(pkt.extra_mask & SN_EXTRA_BIT(XEN_NETIF_EXTRA_TYPE_GSO)), gso);
	if (gso) {
		uint16_t m;
		uint8_t type;

		assert_int_equal(sn_extra_gso_decode(&pkt.extra[XEN_NETIF_EXTRA_TYPE_GSO],
						     &m, &type), 0);
		assert_int_equal(m, mss);
		assert_int_equal(type, XEN_NETIF_GSO_TYPE_TCPV4);
	}
	for (unsigned int k = 0; k < pkt.nr_data; k++) {
		RING_IDX idx = sn_rxpkt_slot_idx(&pkt, k);
		uint16_t id = pkt.slot[k].id;

		/* Linux netfront indexes buffers by slot: id == slot. */
		assert_int_equal(id, idx & (SN_RX_RING_SIZE - 1));
		memcpy(got + off, fe->rxbuf + (size_t)id * SN_PAGE_SIZE + pkt.slot[k].offset,
		       (size_t)pkt.slot[k].status);
		off += (uint32_t)pkt.slot[k].status;
	}
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	fe->rx.rsp_cons += pkt.nr_slots;
	free(got);
}
