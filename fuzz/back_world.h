/* One netback queue's guest-TX half, in-process over the emulated host, for
 * the back_tx fuzz harness and tests/hostile: a frontend domain that grants
 * a TX ring and data pages and writes the ring by hand, and the real
 * sn_back_tx_action on a queue set up as connect leaves it, on a
 * fault-wrapped backend platform, with a port that captures packets. */
#ifndef SN_FUZZ_BACK_WORLD_H
#define SN_FUZZ_BACK_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "back/common.h"

#define BW_NDATA 24u /* data pages 0..15 writable grants, 16..23 read-only
		      * grants of pages 0..7 */
#define BW_CAPS 64u  /* packets kept by the port (the rest are counted) */
#define BW_RXBUF 16u /* RX buffer pages the frontend posts (writable) */
#define BW_INJ 16u   /* packets queued for the port to hand to RX */

struct bw_cap {
	uint32_t len;
	uint16_t flags;
	uint8_t data[SN_PKT_MAX_LEN];
};

struct back_world {
	struct sn_plat *fp, *bp; /* frontend; backend = fault wrapper */
	struct netif_tx_sring *ring; /* frontend's view of the TX ring */
	uint32_t ring_ref;
	uint8_t *dpages;             /* data pages 0..15, frontend's view */
	uint32_t data_ref[BW_NDATA];
	void *ring_map;              /* backend's mapping */

	struct sn_back back;
	struct sn_back_vif vif;
	struct sn_back_queue q;
	struct sn_qstats st;
	struct sn_port port;
	uint64_t sent;               /* packets the port took */
	struct bw_cap *caps;         /* the first BW_CAPS of them */
	bool started;

	/* Guest RX: the frontend's RX ring and buffers, and packets the
	 * port hands to the backend (injected by the caller). */
	struct netif_rx_sring *rx_ring;
	uint32_t rx_ring_ref;
	struct netif_rx_front_ring rxf;
	uint8_t *rxbuf;
	uint32_t rxbuf_ref[BW_RXBUF];
	void *rx_map;
	struct sn_pkt inj[BW_INJ];
	uint8_t *inj_data;
	unsigned int ninj, inj_pos;
	bool rx_started;
	/* The padding of each RX request bw_rx_start posts (persist flags
	 * when the vif has them, README "Persist flags"); zero by default. */
	uint16_t rx_pad[BW_RXBUF];
};

/* Open both domains (and the in-process host) once; aborts on failure. */
void bw_init(struct back_world *w, uint16_t fe_domid, uint16_t be_domid);
/* Fresh ring at index start (frontend side zeroed) and a fresh TX state:
 * linux = the map path, staged = a table holding data pages 0, 3, ... */
void bw_start(struct back_world *w, RING_IDX start, bool linux_path,
	      bool staged);
/* After bw_start: the frontend negotiated persist flags (a table of 16
 * entries if bw_start made none) and the vif's ring pages are known, so
 * flagged slots reach sn_back_persist_slot; bw_stop undoes it. */
void bw_persist(struct back_world *w);
/* Run the queue until idle twice, or the frontend is judged rogue
 * (returns -EPROTO); else the packets handled. */
int bw_run(struct back_world *w);
/* Tear the TX state down as disconnect does; returns how many data pages
 * are still pinned afterwards (0 = nothing leaked). */
unsigned int bw_stop(struct back_world *w);
/* Guest RX: fresh RX ring and RX state; post n buffers (ids 0..n-1). */
void bw_rx_start(struct back_world *w, unsigned int n);
/* Queue a packet of len bytes (pattern seeded by len) for the port. */
struct sn_pkt *bw_inject(struct back_world *w, uint32_t len, uint16_t flags);
/* Run sn_back_rx_action until idle twice; returns packets handled. */
int bw_rx_run(struct back_world *w);
void bw_rx_stop(struct back_world *w);

/* Whether the datapath woke the control thread (drains the wake fd). */
bool bw_woken(struct back_world *w);

#endif
