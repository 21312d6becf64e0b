/* netback internals shared by its files: the backend, its vifs and their
 * queues.  back.c is the public API; xenbus.c drives the state machine on
 * the control thread; vif.c owns vif/queue lifetime and the queue threads;
 * map.c maps rings and binds event channels; tx.c and rx.c are the two
 * halves of the datapath. */
#ifndef SN_BACK_COMMON_H
#define SN_BACK_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "back/ctrl.h"
#include "back/hash.h"
#include "back/ring_grefs.h"
#include "back/staging.h"
#include "plat/late_eoi.h"
#include "proto/prefetch.h"
#include "proto/ring.h"
#include "stagenet/back.h"

#define SN_BACK_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, SN_PAGE_SIZE)
#define SN_BACK_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, SN_PAGE_SIZE)
/* Packets fetched per TX batch: one grant-copy call (and, in linux mode,
 * one unmap call) per batch.  64, the queue's budget per turn: one push,
 * one notification check and one port send for all of them (README
 * "Performance work"). */
#define SN_BACK_TX_BATCH 64u
/* Distance between the guest-RX backlog's packet buffers: one cache line
 * more than a buffer, so that the first lines of consecutive buffers
 * (where every small packet lives) fall in different cache sets instead of
 * all at the same offset of a 4 KiB page, one L1 set for the whole
 * backlog.  (The TX batch's buffers showed no gain from it: README
 * "Performance work".) */
#define SN_BACK_PKT_STRIDE (SN_PKT_BUF_SIZE + SN_CACHE_LINE)
/* Data slots a TX packet may use (first + 18 continuation). */
#define SN_BACK_TX_MAX_SLOTS (1u + XEN_NETIF_NR_SLOTS_MIN)
/* RX packets placed per grant-copy call. */
#define SN_BACK_RX_BATCH 32u
/* How long guest TX waits in its ring for a full port (tx_room) before
 * the port counts as stuck and frames are dropped instead (back/tx.c). */
#define SN_BACK_PORT_FULL_MS 20u
/* While it waits, the queue looks at tx_room again this often (ms). */
#define SN_BACK_PORT_FULL_POLL_MS 1
/* Largest data slot count of one RX packet (64 KiB / 4 KiB, rounded up). */
#define SN_BACK_RX_MAX_DATA_SLOTS 17u
/* Largest RX headroom served: Linux's XEN_NETIF_MAX_XDP_HEADROOM is more
 * than a page, but the first response's offset + data must stay inside its
 * page, so at least one byte of data follows the headroom. */
#define SN_BACK_XDP_HEADROOM_MAX (SN_PAGE_SIZE - 1u)
#define SN_BACK_MCAST_MAX 64u /* Linux XEN_NETBK_MCAST_MAX */

/* Filled by the control thread at connect, read-only to the datapath. */
struct sn_back_features {
	bool sg, gso_tcpv4, gso_tcpv6, ipv6_csum, no_csum;
	bool rx_notify;
	/* feature-persistent-grefs offered and request-persistent-grefs set:
	 * the datapath reads the persist flags (README "Persist flags"). */
	bool persist;
	uint64_t credit_bytes; /* 0 = unlimited */
	uint64_t credit_usec;
};

/* SN_OFFLOAD_* bits of what this frontend negotiated (rx.c): the port's
 * offloads at connect and the software fallback's target. */
unsigned int sn_back_rx_caps(const struct sn_back_features *f);

struct sn_back_qparams {
	uint32_t tx_ref, rx_ref;
	uint32_t evt_tx, evt_rx; /* equal when not split */
	bool split;
};

/* Staged grefs (GREF_MAPPING control messages): tx.c and rx.c look each
 * slot's gref up in the queue's table and, on a hit, memcpy through the
 * standing mapping while holding the entry's in-flight reference (so DEL
 * refuses it); with no table every slot takes the grant path. */
static inline struct sn_gref_ent *
sn_back_staged_get(struct sn_back_gref_table *t, uint32_t gref, bool writable)
{
	return t ? sn_gref_table_get(t, gref, writable) : NULL;
}

struct sn_back_txstate; /* tx.c */
struct sn_back_rxstate; /* rx.c */

struct sn_back_queue {
	struct sn_back_vif *vif;
	struct sn_plat *plat;
	uint16_t id;
	uint16_t fe_domid;

	/* Rings: page mapped writable through gnt_map (never a standing
	 * mapping of guest memory beyond what the grant allows). */
	void *tx_page, *rx_page;
	struct netif_tx_back_ring tx;
	struct netif_rx_back_ring rx;

	struct sn_evtchn *evt;
	int tx_port, rx_port; /* local ports; equal when not split; -1 unbound */
	int kick_fd;          /* eventfd: wakes the thread for stop */
	struct sn_late_eoi eoi; /* the queue thread's own */

	pthread_t thread;
	bool thread_started;
	atomic_bool stop;

	struct sn_port *port;
	struct sn_qstats *st;
	struct sn_back_txstate *txs;
	struct sn_back_rxstate *rxs;
	/* Staging table, created at connect when the frontend has a control
	 * ring and staging is on; NULL otherwise.  Unmapped after the queue
	 * thread stopped. */
	struct sn_back_gref_table *grefs;
	bool prefetchw; /* sn_cpu_has_prefetchw(), asked once (proto/prefetch.h) */
};

struct sn_back_vif {
	struct sn_back *back;
	struct sn_back_vif *next;
	uint16_t domid, devid; /* frontend domid, device id */
	char *be_path, *fe_path;

	int state;          /* the xenbus state we last wrote */
	bool awaiting_init; /* frontend died: wait for it to write Initialising */
	char *fe_ident;     /* which incarnation of the frontend domain we connected to */
	bool connected;     /* queues mapped and running */
	bool seen;          /* rescan mark */
	/* Set by any queue of this vif on a fatal protocol error; the control
	 * thread tears the datapath down (the XSA-90 lesson: never free from
	 * inside the datapath loop). */
	atomic_bool disabled;
	const char *_Atomic fatal_why;

	struct sn_back_features feat;
	/* Bytes in front of the data in the first slot of every RX response
	 * (Linux netfront's xdp-headroom, for its XDP program): written by
	 * the control thread at connect and on Reconfiguring, read once per
	 * RX pass by the queue threads (rx.c). */
	_Atomic uint16_t xdp_headroom;
	uint8_t mac[6];
	uint32_t mtu;
	/* sn_port_hold's fd (the tap netdev, made before InitWait for the
	 * hotplug script), or -1; closed when the vif goes away. */
	int port_hold_fd;

	/* Multicast filter, shared by the vif's queues (TX adds/removes,
	 * RX reads).  The lock protects mcast[], n_mcast and mcast_all.
	 * mcast_on is the frontend's request-multicast-control, re-read by
	 * the control thread whenever it changes while connected (dynamic
	 * multicast control).  mcast_all: an ADD found the list full, so
	 * every multicast frame passes until the list is cleared at
	 * disconnect (README "`stagenet back`"). */
	pthread_mutex_t mcast_lock;
	uint8_t mcast[SN_BACK_MCAST_MAX][6];
	unsigned int n_mcast;
	bool mcast_all;
	atomic_bool mcast_on;

	/* Connected is held back until the toolstack's hotplug script wrote
	 * hotplug-status = connected (only when a script is configured),
	 * as Linux netback's hotplug-status watch does. */
	bool hotplug_wait;
	/* The frontend closed while the toolstack had set online = 0: the
	 * device is being removed, so it is not offered again (Linux
	 * unregisters it); only a re-created directory brings it back. */
	bool offline;

	uint16_t max_queues; /* offered: ours, capped by the toolstack's */
	/* Control ring (ctrl.c): the frontend's keys, read at connect, and
	 * the server with its own thread, started after the queues and
	 * stopped before their tables are unmapped.  hash is the frontend's
	 * RX hash configuration (RX steering and HASH extras). */
	bool ctrl_present;
	uint32_t ctrl_ref, ctrl_evt;
	struct sn_back_ctrl *ctrl;
	pthread_t ctrl_thread;
	bool ctrl_thread_started;
	atomic_bool ctrl_stop;
	int ctrl_kick_fd;
	struct sn_back_hash hash;
	bool hash_init;
	unsigned int nq; /* connected queues */
	struct sn_back_queue *q;
	/* Every queue's tx/rx ring gref and ctrl_ref, set at connect before
	 * any thread starts: never a buffer or a table (ring_grefs.h). */
	struct sn_back_ring_grefs rings;

	struct sn_stats_block *stats_blk; /* published, or NULL */
	struct sn_qstats *stats;          /* stats_max entries */
	uint16_t stats_max;
};

struct sn_back {
	struct sn_back_cfg cfg;
	struct sn_plat *plat;
	char *be_root; /* /local/domain/<B>/backend/vif */
	int wake_fd;   /* eventfd: stop request or a vif was disabled */
	atomic_bool stop;
	bool rescan;   /* a watch fired: re-read every vif */
	uint16_t max_queues;
	/* Protects the vif list against introspection from other threads;
	 * only the control thread changes it. */
	pthread_mutex_t lock;
	struct sn_back_vif *vifs;
	/* Removed vifs whose counters nobody printed yet (removed while
	 * stopping, when the exit print is next, or with no log), oldest
	 * first, at most SN_BACK_GONE_MAX; under lock like vifs. */
	struct sn_back_vif *gone;
	unsigned int ngone;
	uint64_t gone_lost; /* evicted past the cap, never printed */
};

#define SN_BACK_GONE_MAX 64

/* vif.c */
int sn_back_vif_new(struct sn_back *b, uint16_t domid, uint16_t devid,
		    struct sn_back_vif **out);
void sn_back_vif_free(struct sn_back_vif *v);
int sn_back_vif_connect(struct sn_back_vif *v, unsigned int nq,
			const struct sn_back_qparams *qp, char *err, size_t errlen);
void sn_back_vif_disconnect(struct sn_back_vif *v);
/* A removed vif down to its counters: disconnected, its held port device
 * closed, its stats file removed; the numbers stay for printing until
 * sn_back_vif_free. */
void sn_back_vif_retire(struct sn_back_vif *v);
/* Datapath: declare the frontend rogue (any queue thread). */
void sn_back_vif_fatal(struct sn_back_queue *q, const char *why);

/* back.c */
void sn_back_wake(struct sn_back *b);
/* Control thread, or any thread holding b->lock. */
struct sn_back_vif *sn_back_vif_find(struct sn_back *b, uint16_t domid,
				     uint16_t devid);
/* Control thread, for a vif already off the list: print its counters to
 * the log now, or keep them for the next sn_back_print_stats; frees v
 * either way (now or once printed). */
void sn_back_vif_gone(struct sn_back *b, struct sn_back_vif *v);

/* xenbus.c: the control thread's side of xenstore.  start watches the
 * backend directory and domain deaths; stop removes every vif and the
 * watches.  step handles queued watch events (re-reading every vif when
 * any fired) and tears down vifs whose datapath declared the frontend
 * rogue; 0 or -errno. */
int sn_back_xb_start(struct sn_back *b);
void sn_back_xb_stop(struct sn_back *b);
int sn_back_xb_step(struct sn_back *b);

/* vif.c */
void sn_back_print_vif_stats(struct sn_back_vif *v, FILE *f);

/* map.c */
int sn_back_queue_map(struct sn_back_queue *q, const struct sn_back_qparams *qp,
		      char *err, size_t errlen);
void sn_back_queue_unmap(struct sn_back_queue *q);
void sn_back_notify(struct sn_back_queue *q, int port);

/* ctrl.c: the vif's control-ring service.  start maps the ring (if the
 * frontend gave one), creates the staging tables of every queue and starts
 * the control thread; stop undoes all of it, unmapping every staged gref.
 * Call stop only after the queue threads have stopped. */
int sn_back_vif_ctrl_start(struct sn_back_vif *v, char *err, size_t errlen);
void sn_back_vif_ctrl_stop(struct sn_back_vif *v);

/* persist.c: a data slot's gref after the persist flag had its say (only
 * called when the frontend negotiated persist flags): hit is what
 * sn_back_staged_get found.  Returns the entry to memcpy through (held)
 * or NULL for the normal grant path.  flush unmaps the batch's retired
 * entries; call it after the batch dropped its references and before its
 * responses are pushed. */
struct sn_gref_ent *sn_back_persist_slot(struct sn_back_queue *q,
					 struct sn_gref_ent *hit, uint32_t gref,
					 bool flagged, bool writable);
void sn_back_persist_flush(struct sn_back_queue *q);

/* tx.c: returns packets handled (>= 0) or -EPROTO when the frontend was
 * declared rogue. */
int sn_back_tx_init(struct sn_back_queue *q);
void sn_back_tx_fini(struct sn_back_queue *q);
int sn_back_tx_action(struct sn_back_queue *q, unsigned int budget);
/* Before sleeping: re-arm TX request events; true if requests arrived
 * meanwhile.  *timeout_ms shortened while waiting for rate credit or for
 * room in a full port (requests pending then are not "work now"). */
bool sn_back_tx_rearm(struct sn_back_queue *q, int *timeout_ms);

/* rx.c */
int sn_back_rx_init(struct sn_back_queue *q);
void sn_back_rx_fini(struct sn_back_queue *q);
int sn_back_rx_action(struct sn_back_queue *q, unsigned int budget);
/* Before sleeping: true if RX has work now; *timeout_ms shortened when
 * the head packet's drain deadline or the port needs a timed retry;
 * *port_fd is the fd to poll for port input, or -1. */
bool sn_back_rx_rearm(struct sn_back_queue *q, int *timeout_ms, int *port_fd);

static inline void sn_back_count(struct sn_back_queue *q, enum sn_qstat c,
				 uint64_t n)
{
	sn_qstat_add(q->st, c, n);
}

#endif
