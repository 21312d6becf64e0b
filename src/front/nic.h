/* Netfront internals shared by xenbus.c (handshake), nic.c (NIC and queue
 * lifecycle), tx.c and rx.c.  A queue's datapath state is owned by the one
 * thread driving that queue; the control thread touches it only with the
 * queue lock held (connect, reconnect, close). */
#ifndef SN_FRONT_NIC_H
#define SN_FRONT_NIC_H

#include <pthread.h>
#include <stdatomic.h>

#include "front/staging.h"
#include "plat/late_eoi.h"
#include "proto/prefetch.h"
#include "proto/ring.h"
#include "proto/rxrsp.h"
#include "proto/slots.h"
#include "stagenet/front.h"

#define SN_FRONT_PATH_MAX 128

/* One page this side owns and grants per use.  gref is the per-use grant
 * (shr_grant) while in flight; quarantined pages were still held by the
 * backend at revoke time and are never handed out again. */
struct sn_front_buf {
	uint8_t *page;
	uint32_t alloc_ref; /* grant made by shr_alloc, used where shr_grant
			     * is unsupported (gntalloc on real Xen) */
	uint32_t gref;
	bool inflight;
	bool quarantined;
};

struct sn_front_queue {
	struct sn_front *nic;
	uint16_t id;
	/* Held by the datapath for a burst and by the control thread while it
	 * builds or tears the rings down; protects everything below. */
	pthread_mutex_t lock;
	bool up;             /* rings live and the backend connected */
	bool worked;         /* a burst moved something since the last arm */
	atomic_bool broken;  /* backend misbehaved: stop using the rings */
	struct sn_qstats *st;
	struct sn_qstats own_st;
	bool prefetchw; /* sn_cpu_has_prefetchw(), asked once (proto/prefetch.h) */

	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	void *tx_sring, *rx_sring;
	uint32_t tx_ref, rx_ref;
	bool tx_sring_lost, rx_sring_lost; /* revoke failed: leaked on purpose */

	struct sn_evtchn *evt;
	int port_tx, port_rx; /* equal when the channel is shared */
	struct sn_late_eoi eoi; /* ports taken by the last arm (late EOI) */
	bool arm_spurious;      /* the last arm took an event with no work */

	/* TX: ids from a freelist (ids < ring size); one bounce page per id.
	 * Seam for staging: a per-queue pool of pre-registered buffers will
	 * replace the bounce page for small packets. */
	struct sn_front_buf txb[SN_TX_RING_SIZE];
	uint16_t tx_next[SN_TX_RING_SIZE];
	uint16_t tx_free_head;
	uint16_t tx_free_cnt;
	struct sn_idmap tx_pending; /* ids with a request on the ring */
	/* ids whose request is a packet's first slot: a packet answered
	 * ERROR is counted once, not once per slot. */
	struct sn_idmap tx_head;

	/* RX: buffer i is posted in ring slot i (id == slot), as Linux
	 * backends expect; extra-info slots are recycled by index. */
	struct sn_front_buf rxb[SN_RX_RING_SIZE];

	/* Staging: a pool of buffers granted once and registered with the
	 * backend over the control ring (front/staging.h), set at Connected.
	 * tx_one copies packet bytes into its slots instead of txb[id].page
	 * and rx_refill posts its pages; NULL means the normal per-use grant
	 * path above.  tx_stage[id] / rx_stage[slot] name the staged slot a
	 * request uses, -1 for a normally granted one. */
	struct sn_front_staging *staging;
	int32_t tx_stage[SN_TX_RING_SIZE];
	int32_t rx_stage[SN_RX_RING_SIZE];
	bool rx_deferred; /* RX posting waits for the pool (Connected) */

	/* The thread sn_front_start gave this queue, and what it runs. */
	pthread_t thread;
	struct sn_port *port;
	struct sn_front_run run;
};

struct sn_front {
	struct sn_plat *plat;
	struct sn_front_cfg cfg;
	uint16_t devid;
	uint16_t be_domid;
	char fe_path[SN_FRONT_PATH_MAX];
	char be_path[SN_FRONT_PATH_MAX];
	char watch_token[32];
	uint8_t mac[6];
	uint32_t mtu;

	/* Backend features read at connect. */
	bool be_sg, be_gso4, be_gso6, be_ipv6_csum, be_split, be_rx_copy;
	bool be_ctrl_ring; /* feature-ctrl-ring: the staging client's hook */
	bool be_persist;   /* feature-persistent-grefs */
	/* This connect: staging persist and the backend offers it, so
	 * request-persistent-grefs = 1 and the datapath sets the flags. */
	bool persist_on;
	uint16_t be_max_queues;
	/* SN_OFFLOAD_* of the backend's features (sn_front_tx_caps), published
	 * at each connect for the queue threads to set on their ports. */
	atomic_uint tx_caps;

	uint16_t nq; /* queues agreed at the last connect */
	enum { SN_FRONT_DOWN, SN_FRONT_CONNECTING, SN_FRONT_UP } phase;
	int fe_state;          /* last state we wrote */
	bool rings_built;      /* queues_setup done, teardown pending */
	bool no_shr_grant;     /* platform cannot grant per use */
	bool shr_probed;
	atomic_uint_fast64_t quarantined;
	/* Control-ring client: built in do_connect after the data rings when
	 * staging is wanted and the backend offers feature-ctrl-ring; keys
	 * ctrl-ring-ref/event-channel-ctrl written in the same transaction. */
	struct sn_front_ctrl *ctrl;
	atomic_uint_fast64_t staging_fallbacks;
	bool staging_said; /* the one fallback line was printed */
	bool staging_planned; /* this connect wants a pool (ctrl ring offered) */
	/* Queue threads of sn_front_start: [0, nthreads) run until
	 * threads_stop (loop.c). */
	uint16_t nthreads;
	atomic_bool threads_stop;
	struct sn_front_queue q[SN_FRONT_MAX_QUEUES];
};

/* xenbus.c: keys and the XenbusState machine (sn_front_connect,
 * sn_front_poll_ctrl are there too). */
int sn_front_xb_state(struct sn_front *nic, const char *dir);
int sn_front_xb_set_state(struct sn_front *nic, int state);
int sn_front_xb_wait_be(struct sn_front *nic, const int *states, int nstates,
			int timeout_ms);
int sn_front_xb_read_features(struct sn_front *nic);
/* tx.c: SN_OFFLOAD_* bits of the backend's features. */
unsigned int sn_front_tx_caps(const struct sn_front *nic);
int sn_front_xb_write_keys(struct sn_front *nic);
/* The toolstack's keys of our vif: backend path and id, mac, mtu. */
int sn_front_xb_read_vif(struct sn_front *nic);
/* Walk both ends to Closed and release every queue (sn_front_close). */
void sn_front_xb_close(struct sn_front *nic, int timeout_ms);

/* loop.c: stop and join the threads of sn_front_start (none: no-op). */
void sn_front_threads_stop(struct sn_front *nic);

/* nic.c */
int sn_front_queues_setup(struct sn_front *nic);
void sn_front_queues_teardown(struct sn_front *nic);
/* Declare the backend rogue for this queue: counted once, datapath off. */
void sn_front_queue_fail(struct sn_front_queue *q, const char *why);
void sn_front_notify(struct sn_front_queue *q, int port);

/* buf.c: buffer pages and their grants */
/* Whether the platform grants per use (emu) or only at allocation
 * (gntalloc on real Xen); decided once, before any buffer exists. */
void sn_front_buf_probe(struct sn_front *nic);
int sn_front_buf_alloc(struct sn_front *nic, struct sn_front_buf *b, bool writable);
/* Revoke a buffer's per-use grant; on -EBUSY the page is quarantined and
 * never reused.  Returns 0 or -EBUSY. */
int sn_front_buf_revoke(struct sn_front_queue *q, struct sn_front_buf *b);
/* Grant a buffer's page to the backend for one use (gref, inflight). */
int sn_front_buf_grant(struct sn_front_queue *q, struct sn_front_buf *b,
		       bool writable);
/* Give a quarantined buffer a fresh page; the old one stays leaked. */
int sn_front_buf_replace(struct sn_front_queue *q, struct sn_front_buf *b,
			 bool writable);
/* Release a buffer page; a page the backend still holds stays with the
 * platform's quarantine, never reused. */
void sn_front_buf_release(struct sn_front_queue *q, struct sn_front_buf *b);
/* Release a shared ring page (quarantined if the backend still maps it). */
void sn_front_ring_release(struct sn_front_queue *q, void **sring);

/* staging.c: a NIC's staging pools across connects */
/* Staging pool of a queue: release it (queue lock held).  peer_gone: the
 * backend already disconnected (no DEL possible). */
void sn_front_queue_unstage(struct sn_front_queue *q, bool peer_gone);
/* Backend Connected: register a pool per queue, then post RX buffers
 * (staged ones first) on the queues that waited for it. */
void sn_front_staging_connect(struct sn_front *nic);
/* Orderly close: delete every pool while the backend can answer DEL. */
void sn_front_staging_release_all(struct sn_front *nic);
/* queues fall back to normal grants: counted, and said once per NIC. */
void sn_front_staging_fallback(struct sn_front *nic, uint16_t queues, const char *why);

/* tx.c / rx.c (called with the queue lock held) */
int sn_front_tx_gc(struct sn_front_queue *q);
int sn_front_rx_refill(struct sn_front_queue *q);
void sn_front_tx_release(struct sn_front_queue *q);
void sn_front_rx_release(struct sn_front_queue *q);

static inline void sn_front_count(struct sn_front_queue *q, enum sn_qstat c,
				  uint64_t n)
{
	sn_qstat_add(q->st, c, n);
}

#endif
