/* netback as a library: a backend serves every vif the toolstack creates
 * under /local/domain/<our domid>/backend/vif, one thread per queue, each
 * queue moving packets between the guest's rings and its own port. */
#ifndef STAGENET_BACK_H
#define STAGENET_BACK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stagenet/plat.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

/* How guest-TX data is fetched from the frontend's grants. */
enum sn_back_tx_path {
	/* Every byte by batched grant copy (one copy call per batch). */
	SN_BACK_TX_COPY = 0,
	/* Linux netback: grant-copy the first SN_BACK_TX_COPY_LEN bytes,
	 * grant-map the rest read-only, unmap in batches, answer mapped slots
	 * only after their unmap. */
	SN_BACK_TX_LINUX,
};

#define SN_BACK_TX_COPY_LEN 128u /* XEN_NETBACK_TX_COPY_LEN */
#define SN_BACK_MAX_QUEUES 16u

/* Opens the port of one queue; the default opens cfg->port_spec with
 * sn_port_open.  Tests inject their own ports through this. */
typedef int (*sn_back_port_open_fn)(void *arg, const struct sn_port_ctx *ctx,
				    struct sn_port **out);

struct sn_back_cfg {
	struct sn_plat *plat;          /* not owned; its domid is the backend's */
	const char *port_spec;         /* default "sink" */
	sn_back_port_open_fn port_open; /* NULL = sn_port_open(port_spec) */
	void *port_arg;
	enum sn_back_tx_path tx_path;
	bool busy_poll;                /* spin instead of sleeping on events */
	uint16_t max_queues;           /* multi-queue-max-queues; 0 = min(ncpu, 8) */
	bool no_split_evtchn;          /* do not offer feature-split-event-channels */
	uint32_t rx_queue_pkts;        /* RX backlog cap in packets; 0 = 64 */
	uint32_t rx_queue_bytes;       /* RX backlog cap in bytes; 0 = 1 MiB */
	uint32_t rx_drain_ms;          /* head packet waits this long for slots; 0 = 500 */
	uint32_t port_full_ms;         /* guest TX waits this long for a full port; 0 = 20 */
	bool publish_stats;            /* sn_stats_publish per vif */
	/* Staging grants: entries per queue in the gref mapping table
	 * (0 = SN_BACK_STAGING_DEFAULT, 1024); staging_off is `--staging-max
	 * 0`: the control ring answers GREF messages NOT_SUPPORTED. */
	uint32_t staging_max;
	bool staging_off;
	/* Do not offer feature-persistent-grefs (persist flags on the data
	 * rings, README "Persist flags"); also off with staging_off. */
	bool persist_off;
	bool no_ctrl_ring;             /* do not offer feature-ctrl-ring */
	/* SN_OFFLOAD_SG/TSO4/TSO6/CSUM6 (stagenet/port.h) written "0" instead
	 * of "1": testing, to act as a backend that offers less. */
	unsigned int features_off;
	FILE *log;                     /* one line per lifecycle event; NULL = quiet */
};

struct sn_back;

int sn_back_create(const struct sn_back_cfg *cfg, struct sn_back **out);
/* Stops every queue thread, unmaps everything, writes every vif's state
 * Closed (a frontend must not stay Connected to rings nobody serves),
 * frees.  The other keys are left as they are (the toolstack owns the
 * directories). */
void sn_back_destroy(struct sn_back *b);

/* Control loop: handles xenstore watch events and vifs disabled by their
 * datapath, until sn_back_stop.  Returns 0 or -errno. */
int sn_back_run(struct sn_back *b);
/* One control step: wait up to timeout_ms for work, handle it.  For
 * callers with their own loop. */
int sn_back_poll(struct sn_back *b, int timeout_ms);
/* Async-signal-safe and thread-safe: make sn_back_run return. */
void sn_back_stop(struct sn_back *b);

/* Introspection (control thread or while the control loop is stopped).
 * The xenbus state the backend last wrote for a vif, -ENOENT if unknown. */
int sn_back_vif_state(struct sn_back *b, uint16_t domid, uint16_t devid);
/* True once the datapath declared the frontend rogue (until reconnect). */
bool sn_back_vif_disabled(struct sn_back *b, uint16_t domid, uint16_t devid);
/* Snapshot of one queue's counters; -ENOENT for an unknown vif/queue.
 * Counters of a vif survive its disconnects; they go with the vif. */
int sn_back_vif_stats(struct sn_back *b, uint16_t domid, uint16_t devid,
		      uint16_t queue, struct sn_qstats *out);
/* Print every vif's counters. */
void sn_back_print_stats(struct sn_back *b, FILE *f);

#endif
