/* Netfront as a library: one NIC (a vif of this domain) with N queues, its
 * xenstore handshake, and burst-style TX/RX.  Each queue is meant to be
 * driven by one thread; the control calls (connect, poll_ctrl, close) may
 * run on another thread and serialise with the queues internally. */
#ifndef STAGENET_FRONT_H
#define STAGENET_FRONT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stagenet/pkt.h"
#include "stagenet/plat.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

/* Most queues a NIC will ask for (Linux netback offers min(8, ncpus)). */
#define SN_FRONT_MAX_QUEUES 16u

struct sn_front;
struct sn_port;

/* Where the library reports what it does not return: a backend declared
 * rogue, staging unavailable, a bad toolstack key.  fn gets one line per
 * call, printf-style, without the trailing newline, possibly from several
 * queue threads at once; the library never prints by itself (fn NULL:
 * quiet). */
struct sn_front_log {
	void (*fn)(void *arg, const char *fmt, va_list ap);
	void *arg;
};

/* Staging grants (README "Staging grants"): buffers granted once per
 * queue and registered with the backend over the control ring, so it
 * memcpys through a standing mapping instead of a grant operation per
 * slot. */
#ifndef SN_FRONT_STAGING_POLICY_DEFINED
#define SN_FRONT_STAGING_POLICY_DEFINED
enum sn_front_staging_policy {
	SN_STAGING_OFF = 0, /* normal per-use grants only (library default) */
	/* 256-byte header slots, 16 per page, 16 pages per queue (the
	 * proposal's "16 grants per ring"): TX copies the first <= 256
	 * bytes into a slot, the rest of the packet is granted normally;
	 * RX keeps normal pages (an RX buffer must be a whole page). */
	SN_STAGING_HEADER,
	/* Whole pages: TX copies a packet into staged pages slot by slot,
	 * RX posts staged pages (`stagenet front` default). */
	SN_STAGING_PAGE,
	/* Whole pages as PAGE, but no control ring: each request names a
	 * pool page with the persist flag, and the backend maps it on first
	 * sight (README "Persist flags").  Used when the backend offers
	 * feature-persistent-grefs; without it the pool is still reused (its
	 * grants kept), the flags are not sent, the backend grant-copies. */
	SN_STAGING_PERSIST,
};
#endif

struct sn_front_cfg {
	uint16_t devid;      /* vif device id: device/vif/<devid> of our domain */
	uint16_t queues;     /* wanted (clamped to multi-queue-max-queues); 0 = 1 */
	/* SN_OFFLOAD_SG/TSO4/TSO6/CSUM6 (stagenet/port.h) written "0" instead
	 * of "1", SN_OFFLOAD_CSUM4 as feature-no-csum-offload=1: testing, to
	 * act as a frontend that offers less. */
	unsigned int features_off;
	bool no_split_evtchn; /* true: one shared event-channel per queue even
			       * when the backend offers split channels */
	/* Counters: one sn_qstats per queue, caller-owned (e.g. from
	 * sn_stats_queue) or NULL to use private ones. */
	struct sn_qstats *stats[SN_FRONT_MAX_QUEUES];
	/* Used only when the backend offers feature-ctrl-ring; any failure
	 * (NOT_SUPPORTED, table full, no answer) falls back to normal grants,
	 * said once through log and counted (sn_front_staging_fallbacks). */
	enum sn_front_staging_policy staging;
	uint32_t staging_pages; /* pages per queue; 0 = the policy's default */
	/* SN_STAGING_PERSIST: percent of each pool retired and replaced per
	 * second (its next use goes without the flag, then a new grant). */
	uint32_t persist_churn_pct;
	struct sn_front_log log;
};

/* Handshake states as seen from outside (xenbus numbers, io/xenbus.h). */
enum sn_front_event {
	SN_FRONT_EV_NONE = 0,
	SN_FRONT_EV_RECONNECTED, /* backend came back, rings re-created */
	SN_FRONT_EV_DOWN,        /* backend closing/gone; datapath stopped */
};

/* Read device/vif/<devid> of our domain (following its `backend` key),
 * set our state to Initialising and watch the backend.  No rings yet. */
int sn_front_open(struct sn_plat *p, const struct sn_front_cfg *cfg,
		  struct sn_front **out);
/* Wait (up to timeout_ms, <0 = forever) for the backend's InitWait, build
 * rings/grants/event channels, write our keys in one transaction, switch
 * to Connected and wait for the backend's Connected.  Says the outcome
 * (queues, mtu, staged queues) through cfg.log. */
int sn_front_connect(struct sn_front *nic, int timeout_ms);
/* Closing -> wait for backend Closing/Closed -> Closed, then release every
 * ring, grant and buffer and free the NIC.  Safe on a NIC never connected. */
void sn_front_close(struct sn_front *nic, int timeout_ms);

/* Queues in use (agreed with the backend at the last connect). */
uint16_t sn_front_num_queues(const struct sn_front *nic);
/* Interface MTU from the toolstack's `mtu` key (1500 when absent). */
uint32_t sn_front_mtu(const struct sn_front *nic);
const uint8_t *sn_front_mac(const struct sn_front *nic);
/* Per-flow queue choice (hash of L3 addresses and L4 ports); also stores
 * the result in pkt->queue. */
uint16_t sn_front_pick_queue(const struct sn_front *nic, struct sn_pkt *pkt);

/* Copy up to n packets into the TX ring of queue q (also collects TX
 * responses; n = 0 only does that).  The caller keeps its packets; a
 * CSUM_PARTIAL packet the backend cannot offload has its checksum finished
 * in place.  Returns how many were consumed: queued, or dropped and counted
 * (empty, over 65535 bytes, GSO the backend did not offer); the rest did
 * not fit, retry later.  -EIO once the queue was declared broken,
 * -ENOTCONN while disconnected. */
int sn_front_tx_burst(struct sn_front *nic, uint16_t q, struct sn_pkt *const *pkts,
		      unsigned int n);
/* Fill up to n caller-owned packets (cap >= 65535 recommended; a longer
 * packet is dropped and counted) from the RX ring of queue q, refilling
 * the ring.  Returns the count, -EIO when broken, -ENOTCONN when down. */
int sn_front_rx_burst(struct sn_front *nic, uint16_t q, struct sn_pkt *const *pkts,
		      unsigned int n);

/* Pollable fd for queue q's event channel(s). */
int sn_front_queue_fd(struct sn_front *nic, uint16_t q);
/* Consume pending events, arm rsp_event on both rings and report whether
 * work is waiting (1) or the caller may sleep on the fd (0).  Call before
 * blocking so no response slips between the check and the sleep. */
int sn_front_queue_arm(struct sn_front *nic, uint16_t q);
/* Sleep until queue q has work or timeout_ms passes; spins poll_us
 * microseconds on the rings first (NAPI-style), then arms, re-checks and
 * sleeps on the fd.  The wait sn_front_queue_run makes between bursts. */
int sn_front_queue_wait(struct sn_front *nic, uint16_t q, int timeout_ms,
			unsigned int poll_us);
bool sn_front_queue_broken(const struct sn_front *nic, uint16_t q);
struct sn_qstats *sn_front_queue_stats(struct sn_front *nic, uint16_t q);
/* One line per queue in use, "front queue Q: name=value ...", for counters
 * not published (cfg.stats NULL); published ones print with sn_stats_print. */
void sn_front_print_stats(struct sn_front *nic, FILE *f);

/* One queue's worker: the caller sets stop and busy_poll; the loop sets
 * the rest, which other threads may read while it runs. */
struct sn_front_run {
	const atomic_bool *stop; /* sn_front_queue_run returns once it is set */
	bool busy_poll;          /* never sleep on the event channel */
	atomic_bool eof;         /* the port's input ended (also set on return) */
	atomic_bool had_input;   /* the port produced at least one packet */
};
/* The queue loop (`stagenet front` runs one per queue, on its own thread):
 * packets from queue q's RX ring go to the port, the port's packets go out
 * on q's TX ring, until *run->stop.  Between empty turns it spins, then
 * sleeps in sn_front_queue_wait's wait (also woken by the port's fd while
 * there is room to send); with busy_poll it spins and yields.  While the
 * queue is down or broken it retries every 20 ms (the control thread
 * reconnects).  Returns 0 once stopped, -EINVAL (no such queue), -ENOMEM. */
int sn_front_queue_run(struct sn_front *nic, uint16_t q, struct sn_port *port,
		       struct sn_front_run *run);

/* Serving a NIC the way `stagenet front` does.  Once connected: open one
 * port per queue from port_spec (sn_port_open; a failure is said through
 * cfg.log and leaves the ports opened before it) and start one thread per
 * queue running sn_front_queue_run on it (busy_poll as in struct
 * sn_front_run).  The ports stay open until sn_front_close. */
int sn_front_start(struct sn_front *nic, const char *port_spec, bool busy_poll);
/* Queue q's port from sn_front_start (its stats are the port's verdict),
 * NULL when it has none. */
struct sn_port *sn_front_queue_port(struct sn_front *nic, uint16_t q);
/* The control thread's loop: follow the backend (sn_front_poll_ctrl; its
 * going away and coming back are said through cfg.log) until *stop, or,
 * with linger_ms >= 0, until linger_ms after every port's input ended
 * while one had some (a port without input, a sink, never ends).  Then
 * stops and joins the queue threads.  Returns 0 or -errno. */
int sn_front_run(struct sn_front *nic, const atomic_bool *stop, long linger_ms);

/* Control path: pollable fd for xenstore watch events and the handler
 * that follows backend state changes (reconnects after the backend went
 * away and returned to InitWait). */
int sn_front_ctrl_fd(struct sn_front *nic);
int sn_front_poll_ctrl(struct sn_front *nic, enum sn_front_event *ev);

/* Queues that asked for staging and run on normal grants instead, summed
 * over every connect. */
uint64_t sn_front_staging_fallbacks(const struct sn_front *nic);
/* Whether queue q currently has a registered staging pool. */
bool sn_front_queue_staged(struct sn_front *nic, uint16_t q);

/* Pages quarantined because the backend still held their grant at revoke
 * time; never reused. */
uint64_t sn_front_quarantined(const struct sn_front *nic);

#endif
