/* Packet ends ("ports"): where packets come from and go to outside the
 * netif rings.  One port instance per queue, so each queue thread owns its
 * port without locks.  Burst API: no per-packet indirect calls. */
#ifndef STAGENET_PORT_H
#define STAGENET_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stagenet/pkt.h"
#include "stagenet/stats.h"

struct sn_port;

/* Offloads the netif peer negotiated, as given to set_offloads: what a
 * port may hand to recv.  Anything beyond them that still arrives is
 * segmented / checksummed in software (src/port/segment.h). */
enum {
	SN_OFFLOAD_CSUM4 = 1u << 0, /* csum_blank for IPv4 */
	SN_OFFLOAD_CSUM6 = 1u << 1, /* csum_blank for IPv6 (feature-ipv6-csum-offload) */
	SN_OFFLOAD_TSO4 = 1u << 2,  /* feature-gso-tcpv4 */
	SN_OFFLOAD_TSO6 = 1u << 3,  /* feature-gso-tcpv6 */
	SN_OFFLOAD_SG = 1u << 4,    /* feature-sg: frames over one page */
	SN_OFFLOAD_ALL = 0x1fu,
};

struct sn_port_ops {
	const char *kind;
	/* Packets leaving stagenet into the port's world.  The port copies
	 * what it keeps; returns how many it took (the rest are the caller's
	 * to drop and count), or -errno. */
	int (*send)(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n);
	/* Packets entering stagenet: fill up to n caller-owned packets (data
	 * buffers of pkts[i]->cap bytes).  Returns how many were filled, 0 when
	 * none is ready now, -errno on failure, -ENODATA at end of input
	 * (pcap file consumed, generator count reached). */
	int (*recv)(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n);
	/* Pollable fd that is readable when recv may return packets; -1 when
	 * the port is always ready (generator) or never produces (sink). */
	int (*fd)(struct sn_port *p);
	void (*close)(struct sn_port *p);
	/* Optional (NULL: the port produces no offloaded frames it was not
	 * asked for, or cannot be told).  Called at every connect with the
	 * SN_OFFLOAD_* bits this peer negotiated; 0 or -errno. */
	int (*set_offloads)(struct sn_port *p, unsigned int bits);
	/* Optional (NULL: send never runs out of room, or drops by itself).
	 * How many frames send can take now without dropping, after taking
	 * back what the far side consumed; -1 when unbounded (no session).
	 * A backend takes no more guest TX than this, so a peer that is
	 * merely slower back-pressures the guest instead of losing frames
	 * (README "vhost-user port"). */
	int (*tx_room)(struct sn_port *p);
	/* Optional (NULL: the port's input cannot be held back, like a
	 * NIC's: what the caller has no room for is taken and dropped).
	 * recv that also stops before the frames' total length would pass
	 * max_bytes; a frame that does not fit stays in the port for a later
	 * call.  -ENOBUFS when the first ready frame does not fit (nothing
	 * filled; 0 still means none is ready).  A port whose input waits
	 * without loss (a generator, a peer that keeps its frames in its
	 * ring) has it, so a backend that asks only for what its backlog can
	 * hold never drops its frames. */
	int (*recv_budget)(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n,
			   uint64_t max_bytes);
};

struct sn_port_stats {
	uint64_t sent_pkts, sent_bytes;   /* taken by send */
	uint64_t recv_pkts, recv_bytes;   /* produced by recv */
	uint64_t drops;                   /* could not deliver (full, error) */
	uint64_t bad_seq, bad_payload;    /* sink checks (gen/sink) */
	uint64_t lost;                    /* sink: sequence gaps */
};

struct sn_port {
	const struct sn_port_ops *ops;
	struct sn_port_stats stats;
	/* The owning queue's published counters, or NULL: each frame the
	 * port refuses (pcap/tap reads and writes) also counts there by
	 * reason (SN_QS_port_drop_*), live for `stagenet stats`, besides
	 * stats.drops.  Set by the queue's owner after opening, written only
	 * from the queue's thread. */
	struct sn_qstats *qs;
};

/* Where a port instance sits, for names and per-queue state. */
struct sn_port_ctx {
	uint16_t domid;   /* frontend domid of the vif */
	uint16_t devid;   /* vif device id */
	uint16_t queue;   /* this instance's queue */
	uint16_t nqueues; /* queues of the vif */
	bool backend;     /* true: netback side (tap default name vif<domid>.<devid>) */
	uint32_t mtu;
};

/* Open a port from a spec string:
 *   tap[:NAME]            Linux TAP with IFF_VNET_HDR (multi-queue)
 *   pcap:in=FILE[,out=FILE] | pcap:out=FILE   libpcap files
 *   gen[:size=N,count=N,rate=PPS,flows=N]   generator (sequence + payload pattern)
 *   sink                  counts, checks sequence numbers and payloads
 *   xdp:IF[,queue=N][,mode=native|generic][,zerocopy|copy]   AF_XDP on a NIC
 *   vhost-user:PATH[,server][,queues=N]  vhost-user front-end (README
 *                         "vhost-user port"); every queue of a vif shares
 *                         one socket and session; sn_port_hold keeps it
 *                         for the vif's life
 * Returns 0 or -errno (with a message on stderr for a bad spec).
 *
 * Details (src/port/):
 *   tap: NAME defaults to vif<domid>.<devid> on the backend and is required
 *     on the frontend.  Queue 0 brings the link up (and sets ctx->mtu when
 *     non-zero), best effort.  send may rewrite a packet's csum_start/offset
 *     (derived from headers when netif left them 0) and, for a GSO packet
 *     without CSUM_PARTIAL, its L4 checksum field (pseudo-header seed).
 *     Frames whose offloads cannot be expressed are dropped and counted in
 *     stats.drops but reported as taken; EAGAIN/ENOBUFS stop the burst.
 *     Opens offering TSO4/TSO6; set_offloads (TUNSETOFFLOAD) narrows that
 *     to what the peer negotiated: TSO only with SG and that IP version's
 *     checksum offload.
 *   pcap, gen, sink: no set_offloads; what they produce beyond the peer's
 *     features is segmented / checksummed by the netif side.
 *   pcap: with nqueues > 1 every queue uses FILE.q<queue> (in and out), so
 *     one writer per file.  Frames are written as given (a CSUM_PARTIAL frame
 *     shows its seed); read frames carry no offload flags.  send flushes per
 *     burst.  Records cut at capture or > 64 KiB are dropped and counted.
 *   gen: size 60..65535 (default 60), count 0 = unlimited, rate 0 = as fast
 *     as possible (token bucket, <= 1 ms of burst), flows 1..65535 (default
 *     1), proto=udp (default: UDP up to 1514, larger frames TCPv4 GSO with
 *     MSS 1448 and CSUM_PARTIAL) or proto=tcp (TCP for all sizes, size >= 70).
 *     Frame format: src/port/genfmt.h.  send discards (counted as sent).
 *   sink: stats.sent_* count everything; bad_payload = not a gen frame or
 *     any byte wrong; per stream (queue, flow) a sequence gap adds to lost,
 *     an old sequence (duplicate or late) to bad_seq.  recv: -ENODATA.
 *   gen/pcap/sink fd() is -1.
 *   xdp: queue i of the vif binds NIC queue N+i (N default 0); a queue
 *     another socket holds (another vif of the same backend, another
 *     process) is an error naming it.  Frames leave complete: GSO is
 *     segmented and csum_blank finished in software, frames over the 4 KiB
 *     UMEM frame are dropped as port_drop_giant; received frames carry no
 *     offload flags, so no set_offloads.  fd() is the AF_XDP socket.
 *     Needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF) and bpffs at
 *     /sys/fs/bpf; without libxdp in the build it refuses with a message.
 *   vhost-user: fd() is the queue pair's call eventfd (stable across
 *     sessions); send returns 0 while no session runs; set_offloads
 *     narrows the GUEST_* features (a renegotiation). */
int sn_port_open(const char *spec, const struct sn_port_ctx *ctx, struct sn_port **out);

/* Create, before any queue opens, the object a port kind keeps for the life
 * of a vif, so the toolstack's hotplug script finds it at InitWait the way
 * it finds Linux netback's vif<domid>.<devid> (created at probe, before
 * InitWait, not at connect).  tap: the netdev, created with
 * the flags the queues use and then held by an fd whose queue is detached
 * (it carries no traffic, it only keeps the device across connections).
 * vhost-user: the socket and its session, so the peer is connected before
 * the frontend is; the fd is one end of a socketpair whose hangup releases
 * it (sn_port_held_name fails on it: the spec is used as given).
 * Returns that fd, to close when the vif goes away; -EOPNOTSUPP for kinds
 * with nothing to hold; other -errno with a message on stderr. */
int sn_port_hold(const char *spec, const struct sn_port_ctx *ctx);
/* The current name of a held device (a hotplug script may have renamed
 * it, as vif-bridge does for vifname=): name has IFNAMSIZ bytes.  0 or
 * -errno. */
int sn_port_held_name(int fd, char *name);

/* One line "<who>: sent= recv= drops= lost= bad_seq= bad_payload=": the
 * port's verdict as both daemons print it (stagenet bench parses it). */
void sn_port_print_stats(FILE *f, const char *who, const struct sn_port_stats *st);

/* The op when the port has one; 0 otherwise. */
static inline int sn_port_set_offloads(struct sn_port *p, unsigned int bits)
{
	return p && p->ops->set_offloads ? p->ops->set_offloads(p, bits) : 0;
}

static inline void sn_port_close(struct sn_port *p)
{
	if (p)
		p->ops->close(p);
}

#endif
