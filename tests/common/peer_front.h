/* The crafted frontend of the test peer library, with the netback test
 * harness it runs against: a private host, the real backend (sn_back) on
 * its own control thread with capturing test ports (inproc.h, port.h), and
 * a hand-driven frontend domain that owns its rings, announces what
 * struct h_fe_keys says and writes requests slot by slot.  Its
 * control-ring half (no xenstore) is peer_front_ctrl.h. */
#ifndef SN_TEST_PEER_FRONT_H
#define SN_TEST_PEER_FRONT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "back/common.h"
#include "proto/slots.h"
#include "common/host_fixture.h"
#include "common/inproc.h"
#include "common/peer_keys.h"
#include "stagenet/back.h"

#define H_FE_DOMID 7
#define H_DATA_PAGES 320 /* read-only TX data pages per frontend */
#define H_RX_PAGES 256   /* writable RX buffers per frontend */

struct h_ctx {
	struct sn_test_host host;
	struct sn_plat *bplat; /* backend domain 0 */
	struct sn_plat *fplat; /* frontend domain H_FE_DOMID */
	/* The real netback; its ports capture (b.sh.capture): set
	 * b.sh.flood before h_back_start for a port that cannot be
	 * back-pressured (tap). */
	struct sn_test_back b;
	/* Extra `vif-add --rate` for the next h_fe_connect (NULL = none). */
	const char *rate;
	/* Feature keys h_fe_connect writes (all default: request-rx-copy,
	 * feature-rx-notify, feature-sg, feature-gso-tcpv4/6 on, the rest
	 * absent). */
	struct sn_peer_keys fe_keys;
};

struct h_fe {
	struct h_ctx *t;
	uint16_t devid;
	void *tx_page, *rx_page;
	uint32_t tx_ref, rx_ref;
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	struct sn_evtchn *evt;
	int port;
	uint8_t *data;             /* H_DATA_PAGES pages, granted read-only */
	uint32_t data_ref[H_DATA_PAGES];
	uint8_t *rxbuf;            /* H_RX_PAGES pages, granted writable */
	uint32_t rx_ref_tab[H_RX_PAGES];
};

/* Group setup/teardown: host + both platforms. */
int h_setup(void **state);
int h_teardown(void **state);
/* Start/stop the backend with the given cfg tweaks (plat, port and log
 * are filled in). */
void h_back_start(struct h_ctx *t, const struct sn_back_cfg *tweak);
void h_back_stop(struct h_ctx *t);
/* Run `stagenet <args...>` (NULL-terminated); returns its exit status. */
int h_run_cli(const char *const *args);

/* What a crafted frontend announces in one transaction, ending with
 * state Connected: its rings (flat keys for one queue, queue-N/ for
 * more), optionally a control ring, and its feature keys. */
#define H_MAX_Q 8
struct h_fe_keys {
	uint16_t nq;
	struct {
		uint32_t tx_ref, rx_ref;
		int port;
	} q[H_MAX_Q];
	bool ctrl;          /* write ctrl-ring-ref */
	uint32_t ctrl_ref;
	int ctrl_port;      /* event-channel-ctrl; < 0: left out */
	/* NULL: t->fe_keys; either way over h_fe_connect's defaults. */
	const struct sn_peer_keys *keys;
};
/* Write k for vif devid as the frontend domain; does not wait. */
void h_fe_announce(struct h_ctx *t, uint16_t devid, const struct h_fe_keys *k);

/* Frontend: vif-add, rings, keys, wait for backend Connected. */
void h_fe_connect(struct h_ctx *t, struct h_fe *fe, uint16_t devid);
/* The first half of h_fe_connect: vif-add, then the rings and the data
 * and RX pages granted (no event channel, no keys yet). */
void h_fe_alloc(struct h_ctx *t, struct h_fe *fe, uint16_t devid);
/* vif-add of devid (with t->rate) and wait for the backend's InitWait. */
void h_vif_add(struct h_ctx *t, uint16_t devid);
/* Write a key as domain p: <dir>/<key> = printf(fmt, ...) in transaction
 * x; returns 0 or -errno. */
int h_xs_w(struct sn_plat *p, xs_transaction_t x, const char *dir,
	   const char *key, const char *fmt, ...);
/* Read <dir>/<key> as domain p: the value (free() it), or NULL. */
char *h_xs_r(struct sn_plat *p, const char *dir, const char *key);
/* Fail the test unless <dir>/<key>, read as domain p, is want. */
void h_xs_expect(struct sn_plat *p, const char *dir, const char *key, const char *want);
/* Close (state 6), wait for the backend, vif-del, free everything. */
void h_fe_close(struct h_fe *fe);
/* The second half of h_fe_close: event channel closed, rings and pages
 * revoked (asserted: the backend must have unmapped them). */
void h_fe_free(struct h_fe *fe);
/* The first half of h_fe_close: frontend Closed, wait for the backend's
 * Closed, vif-del. */
void h_vif_close(struct h_ctx *t, uint16_t devid);
/* Backend state of the vif, read from xenstore (-1 = absent). */
int h_be_state(struct h_ctx *t, uint16_t devid);
/* The same for a vif of any frontend domid, read as domain p. */
int h_dom_be_state(struct sn_plat *p, uint16_t domid, uint16_t devid);
bool h_wait_be_state(struct h_ctx *t, uint16_t devid, int state);

/* Raw ring writes (no validation: these tests lie on purpose). */
void h_tx_req(struct h_fe *fe, uint32_t gref, uint16_t off, uint16_t flags,
	      uint16_t id, uint16_t size);
void h_tx_extra(struct h_fe *fe, const struct netif_extra_info *x);
void h_tx_push(struct h_fe *fe);
/* Wait until n responses are available (5 s); returns how many are. */
unsigned int h_tx_wait(struct h_fe *fe, unsigned int n);
void h_tx_rsp(struct h_fe *fe, unsigned int i, struct netif_tx_response *out);
void h_tx_consume(struct h_fe *fe, unsigned int n);
/* Wait for n responses and consume them into status-by-id st[1024] (ids
 * < 1024, each answered once, H_NO_RSP where none; order is free: linux
 * mode answers mapped slots after copied ones); returns the number of
 * NULL responses (extra slots). */
#define H_NO_RSP 0x7fff
unsigned int h_tx_collect(struct h_fe *fe, unsigned int n, int16_t *st);

void h_rx_post(struct h_fe *fe, unsigned int n);
unsigned int h_rx_wait(struct h_fe *fe, unsigned int n);
void h_rx_rsp(struct h_fe *fe, unsigned int i, struct netif_rx_response *out);

/* Grant mappings the backend domain holds right now (rings, staged grefs,
 * linux-mode data maps): the emulated gntdev's own table. */
uint32_t h_back_maps(struct h_ctx *t);

/* Backend counters of queue 0 of the vif. */
uint64_t h_stat(struct h_ctx *t, uint16_t devid, enum sn_qstat c);
bool h_wait_disabled(struct h_ctx *t, uint16_t devid);
/* Captured TX packets (snapshot count; the packets: t->b.sh.caps[]). */
unsigned int h_ncaps(struct h_ctx *t);
bool h_wait_caps(struct h_ctx *t, unsigned int n);
void h_caps_clear(struct h_ctx *t);
void h_inject(struct h_ctx *t, const uint8_t *data, uint32_t len,
	      uint16_t flags, uint16_t gso_size, uint8_t gso_type);

void h_sleep_ms(unsigned int ms);

/* A byte pattern from seed, for frames a test compares afterwards. */
void h_fill(uint8_t *p, uint32_t len, uint32_t seed);
/* Parse the next packet off fe's RX ring as netfront would, check slot i
 * carries id i, reassemble it and compare with want; want_flags are the
 * csum_blank/data_validated flags it must carry, gso/mss its GSO extra. */
void h_fe_expect_rx(struct h_fe *fe, const uint8_t *want, uint32_t len,
		    uint16_t want_flags, bool gso, uint16_t mss);

#endif
