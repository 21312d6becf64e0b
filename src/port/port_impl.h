/* Internals shared by the port kinds: per-kind constructors, the spec
 * argument parser, and the tap's virtio-net header mapping (exposed so it
 * can be unit-tested without a tap device). */
#ifndef STAGENET_PORT_IMPL_H
#define STAGENET_PORT_IMPL_H

#include <linux/virtio_net.h>
#include <stddef.h>

#include "stagenet/port.h"

/* args: the text after "kind:" (NULL or "" when absent). */
int sn_port_tap_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
int sn_port_pcap_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
int sn_port_gen_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
int sn_port_sink_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
/* AF_XDP (xdp.c), or xdp_none.c's clear error in a build without libxdp. */
int sn_port_xdp_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out);
int sn_port_vhost_user_open(const char *args, const struct sn_port_ctx *ctx,
			    struct sn_port **out);
/* sn_port_hold for a tap: the fd, or -errno. */
int sn_port_tap_hold(const char *args, const struct sn_port_ctx *ctx);
/* sn_port_hold for vhost-user: the device (socket, session, reconnects)
 * lives until the returned fd is closed; -errno. */
int sn_port_vhost_user_hold(const char *args, const struct sn_port_ctx *ctx);

/* A frame refused inside the port, counted in the port's verdict and, by
 * reason, in the queue's published counters. */
static inline void sn_port_drop(struct sn_port *p, enum sn_qstat why)
{
	p->stats.drops++;
	if (p->qs)
		sn_qstat_add(p->qs, why, 1);
}

/* Walk "k=v,k=v" in a writable copy: returns 1 with key and val set (val ""
 * when there is no '='), 0 at the end. */
int sn_port_kv_next(char **cursor, char **key, char **val);
/* Decimal/hex unsigned in [min, max] or -EINVAL. */
int sn_port_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* virtio-net header (as a tap with IFF_VNET_HDR reads/writes it) <->
 * sn_pkt offload fields.  p->data/len must be set.  Both return 0 or
 * -errno for a header the other side cannot express (unknown GSO type,
 * checksum outside the packet, GSO packet without parsable headers). */
int sn_vnet_hdr_to_pkt(const struct virtio_net_hdr *h, struct sn_pkt *p);
int sn_pkt_to_vnet_hdr(struct sn_pkt *p, struct virtio_net_hdr *h);

/* SN_OFFLOAD_* bits -> TUN_F_* flags for TUNSETOFFLOAD. */
unsigned int sn_tap_offload_flags(unsigned int bits);

#endif
