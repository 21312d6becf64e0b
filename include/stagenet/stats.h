/* Per-queue counters shared by netback and netfront, published in a small
 * shared-memory file so `stagenet stats` can read a running daemon.
 * "tx"/"rx" are always from the guest's point of view (tx = frontend to
 * backend), on both sides, so the two sides' numbers line up. */
#ifndef STAGENET_STATS_H
#define STAGENET_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SN_QSTATS(X)                                                         \
	X(tx_pkts)            /* guest-TX packets delivered */                \
	X(tx_bytes)                                                           \
	X(rx_pkts)            /* guest-RX packets delivered */                \
	X(rx_bytes)                                                           \
	X(tx_drop_malformed)  /* TX packet refused by validation (non-fatal) */ \
	X(tx_drop_grant)      /* TX packet lost to a failed grant op */       \
	X(tx_drop_port)       /* TX packet the port would not take */          \
	X(rx_drop_no_slots)   /* RX packet dropped: frontend posted too few */ \
	X(rx_drop_queue_full) /* RX packet dropped: queue bytes/pkts cap */    \
	X(rx_drop_grant)      /* RX packet lost to a failed grant op */       \
	X(rx_drop_port)       /* RX packet refused by the receiving port */   \
	X(rx_drop_malformed)  /* RX response chain refused (non-fatal) */    \
	X(grant_copies)       /* grant copy segments */                       \
	X(grant_copy_batches) /* grant copy calls (hypercalls) */             \
	X(grant_maps)                                                         \
	X(grant_unmaps)                                                       \
	X(memcpy_bytes)       /* bytes moved by plain memcpy (staging) */     \
	X(staged_slots)       /* ring slots served through a staged gref */   \
	X(unstaged_slots)     /* ring slots served through grant ops */      \
	X(notify_sent)                                                        \
	X(notify_recv)                                                        \
	X(spurious_events)    /* events with no work behind them */           \
	X(fatal_errors)       /* peer declared rogue */                       \
	X(ctrl_requests)      /* control-ring requests handled/sent */        \
	X(ctrl_errors)        /* control-ring requests answered non-SUCCESS */ \
	X(spurious_polls)     /* idle busy-polls run after a spurious event */ \
	X(evt_throttled)      /* spurious events whose channel stayed masked */ \
	X(ctrl_spurious)      /* control-ring events with no work behind them */ \
	X(ctrl_throttled)     /* ... whose channel stayed masked (late EOI) */ \
	X(port_drop_runt)     /* port: frame read shorter than 14 bytes */    \
	X(port_drop_giant)    /* port: frame read over 65535 B or its buffer */ \
	X(port_drop_truncated) /* port: record cut short at capture (pcap) */ \
	X(port_drop_offload)  /* port: offload header the other side cannot express */ \
	X(port_drop_send)     /* port: write refused for this frame (EIO, EINVAL) */ \
	X(rx_drop_mcast)      /* RX multicast not in the frontend's filter list */ \
	X(sleeps)             /* event mode: the queue loop slept on its events */ \
	X(persist_maps)       /* persist flag: gref mapped on first sight (also in grant_maps) */ \
	X(persist_unmaps)     /* persist entry unmapped: a slot dropped the flag (also in grant_unmaps) */ \
	X(persist_table_full) /* flagged slot on the normal path: table full */ \
	X(persist_refused)    /* flagged slot on the normal path: map failed, ring gref, permission */ \
	X(persist_retired)    /* frontend: pool buffers retired and replaced (churn) */ \
	X(port_drop_peer)     /* port: the vhost-user peer broke the ring protocol */ \
	X(port_drop_session)  /* port: in flight when a vhost-user session ended */

enum sn_qstat {
#define SN_QSTAT_ENUM(n) SN_QS_##n,
	SN_QSTATS(SN_QSTAT_ENUM)
#undef SN_QSTAT_ENUM
	SN_QS__COUNT
};

struct sn_qstats {
	uint64_t v[SN_QS__COUNT];
};

extern const char *const sn_qstat_names[SN_QS__COUNT];

/* A published block: header + nqueues sn_qstats, in a file under the run
 * directory ($SN_RUNDIR, default /run/stagenet or $XDG_RUNTIME_DIR/stagenet)
 * named "<role>-<domid>-<devid>.stats".  Writers bump counters with relaxed
 * atomics from their queue thread only; readers may see a torn snapshot
 * across counters, never within one. */
struct sn_stats_block;

int sn_stats_publish(const char *role, uint16_t domid, uint16_t devid,
		     uint16_t nqueues, struct sn_stats_block **out);
struct sn_qstats *sn_stats_queue(struct sn_stats_block *b, uint16_t q);
void sn_stats_unpublish(struct sn_stats_block *b); /* removes the file */
/* Writer, once nothing writes the block any more: remove the file (the
 * vif is gone, `stagenet stats` no longer lists it) but keep the last
 * numbers in private memory, still printable with sn_stats_print, until
 * sn_stats_close.  0 or -errno (block unchanged). */
int sn_stats_keep(struct sn_stats_block *b);
/* Print one block (all queues, non-zero counters, plus totals). */
void sn_stats_print(FILE *f, const struct sn_stats_block *b);
/* Each counter summed over the block's queues (a reader's snapshot: every
 * counter is read once, relaxed; counters are not consistent with each
 * other to the packet). */
void sn_stats_totals(const struct sn_stats_block *b, uint64_t out[SN_QS__COUNT]);

/* Readers (stagenet stats).  sn_stats_rundir writes the directory blocks
 * are published in (it may not exist yet); sn_stats_open maps a published
 * file read-only after validating its header; sn_stats_close unmaps any
 * block without removing its file. */
int sn_stats_rundir(char *buf, size_t len);
int sn_stats_open(const char *path, struct sn_stats_block **out);
void sn_stats_close(struct sn_stats_block *b);
/* Writer's pid, and whether that process still exists. */
int sn_stats_pid(const struct sn_stats_block *b);
int sn_stats_alive(const struct sn_stats_block *b);
/* Who published a block, for readers that format it themselves
 * (`stagenet stats --format json|prometheus`). */
struct sn_stats_info {
	char role[16]; /* NUL-terminated ("back", "front") */
	uint16_t domid, devid, nqueues;
};
void sn_stats_describe(const struct sn_stats_block *b, struct sn_stats_info *out);
/* One counter of queue q (q < nqueues); 0 for a counter the writer's
 * build does not have. */
uint64_t sn_stats_counter(const struct sn_stats_block *b, uint16_t q, enum sn_qstat c);

static inline void sn_qstat_add(struct sn_qstats *s, enum sn_qstat c, uint64_t n)
{
	__atomic_store_n(&s->v[c], __atomic_load_n(&s->v[c], __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

#endif
