/* The crafted backend of the test peer library, for frontend tests: the
 * test is the backend domain, writes the toolstack's vif keys and the
 * feature keys of fb_features (queue count, the peer_keys.h table) itself,
 * maps the frontend's rings through gnt_map and then answers honestly (echo
 * TX into RX) or lies on purpose by writing the rings directly.  Its
 * control-ring half is peer_back_ctrl.h. */
#ifndef SN_TEST_PEER_BACK_H
#define SN_TEST_PEER_BACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/peer_keys.h"
#include "proto/ring.h"
#include "stagenet/front.h"
#include "stagenet/plat.h"

#define FB_MAX_QUEUES 4

struct fb_queue {
	struct netif_tx_back_ring tx;
	struct netif_rx_back_ring rx;
	void *tx_page, *rx_page;
	int port_tx, port_rx; /* our local ports (equal when shared) */
	int fe_port_tx, fe_port_rx;
};

/* What fb_echo did with each slot, since fb_init. */
struct fb_slot_stats {
	unsigned int tx_staged, tx_copied, rx_staged, rx_copied;
	unsigned int gso_pkts;
	unsigned int tx_multi_slot; /* TX packets over more than one slot */
	unsigned int tx_csum_blank; /* TX packets sent csum_blank */
	/* The last TX packet's first slot (gref, offset): header checks. */
	uint32_t last_gref;
	uint16_t last_off;
};

struct fake_back {
	struct sn_plat *p; /* the backend domain */
	uint16_t fe_domid, devid;
	char fe[128], be[128];
	struct sn_evtchn *evt;
	uint16_t nq;
	struct fb_queue q[FB_MAX_QUEUES];
	/* Set after fb_init by a test that also runs the control-ring peer
	 * (peer_back_ctrl.h): the backend's standing mapping of a staged
	 * ref, or NULL, which fb_echo then reads or fills by memcpy instead
	 * of a grant copy. */
	uint8_t *(*staged)(void *arg, uint32_t ref);
	void *staged_arg;
	struct fb_slot_stats st;
};

/* What the backend advertises.  split, gso and no_ipv6_csum are
 * shorthands for the table's defaults; any entry of keys set (on, off,
 * omitted) wins over them and over the keys written by default
 * (feature-sg, feature-rx-copy, feature-ipv6-csum-offload on; everything
 * else absent). */
struct fb_features {
	unsigned int max_queues; /* 0: key absent */
	bool split;
	bool gso;
	bool no_ipv6_csum; /* feature-ipv6-csum-offload left out */
	struct sn_peer_keys keys;
};

/* Write the toolstack's keys for vif devid of fe_domid (what libxl writes
 * on both sides before either driver runs) and our feature keys; backend
 * state Initialising. */
void fb_init(struct fake_back *fb, struct sn_plat *p, uint16_t fe_domid,
	     uint16_t devid, const struct fb_features *f);
void fb_set_state(struct fake_back *fb, int state);
int fb_fe_state(struct fake_back *fb);
/* Read the frontend's keys, map its rings, bind its event channels. */
void fb_connect(struct fake_back *fb);
/* Unmap rings and unbind (what a backend does on the frontend's Closing). */
void fb_disconnect(struct fake_back *fb);
/* Read a frontend key (relative to its vif dir) or NULL; caller frees. */
char *fb_fe_read(struct fake_back *fb, const char *key);

/* Echo every complete TX packet of queue qi into its RX ring, offloads
 * mapped across, staged refs through their mappings; counted in fb->st.
 * Returns packets echoed. */
int fb_echo(struct fake_back *fb, uint16_t qi);
void fb_kick(struct fake_back *fb, uint16_t qi);
/* Poll the frontend's control (2 ms apart, at most tries times) until it
 * reports want; fails the test otherwise.  The state read is synchronous:
 * watch events only add wake-ups. */
void fb_poll_front(struct sn_front *nic, enum sn_front_event want, unsigned int tries);
/* One grant copy of len bytes between the frontend's ref at off and local
 * (from_fe: frontend to local); asserts it succeeded. */
void fb_copy_seg(struct fake_back *fb, bool from_fe, uint32_t ref, uint16_t off,
		 uint8_t *local, uint16_t len);

/* The world of a frontend test against the crafted backend: a backend and
 * a frontend domain, the crafted backend, the NIC under test and 8 packet
 * buffers; one per test through fb_world_setup/fb_world_teardown (cmocka
 * setup and teardown).  Teardown closes a NIC the test left up as a
 * backend would: unmap on the frontend's Closing, then Closed. */
struct fb_world {
	struct sn_plat *fe, *be;
	struct fake_back fb;
	struct sn_front *nic;
	uint8_t *mem;
	struct sn_pkt pk[8];
	struct sn_pkt *pp[8];
};
int fb_world_setup(void **state);
int fb_world_teardown(void **state);

#endif
