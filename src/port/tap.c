/* `tap` port: a Linux TAP device (one fd per queue with IFF_MULTI_QUEUE)
 * carrying a virtio-net header on every frame, so GSO and partial-checksum
 * packets cross between the kernel and netif without being segmented or
 * checksummed in software. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xen/io/netif.h>

#include "port/csum.h"
#include "port/port_impl.h"

struct tap_port {
	struct sn_port port;
	int fd;
	uint16_t queue;
	char name[IFNAMSIZ];
};

int sn_vnet_hdr_to_pkt(const struct virtio_net_hdr *h, struct sn_pkt *p)
{
	uint16_t flags = 0;

	/* The kernel wrote this header, but a bad value must still be a
	 * counted drop here rather than an out-of-bounds write later. */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if ((uint32_t)h->csum_start + h->csum_offset + 2u > p->len)
			return -EBADMSG;
		flags |= SN_PKT_CSUM_PARTIAL;
		p->csum_start = h->csum_start;
		p->csum_offset = h->csum_offset;
	} else {
		p->csum_start = 0;
		p->csum_offset = 0;
		if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
			flags |= SN_PKT_CSUM_VALID;
	}
	p->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	p->gso_size = 0;
	/* ECN is dropped: netif cannot express it, and we never offer
	 * TUN_F_TSO_ECN, so the kernel segments such packets itself. */
	switch (h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		p->gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
		if (!h->gso_size)
			return -EBADMSG;
		flags |= SN_PKT_GSO;
		p->gso_size = h->gso_size;
	}
	p->flags = flags;
	return 0;
}

int sn_pkt_to_vnet_hdr(struct sn_pkt *p, struct virtio_net_hdr *h)
{
	struct sn_l4_loc loc;
	bool have_loc = false;
	int rc;

	memset(h, 0, sizeof(*h));
	if (p->flags & SN_PKT_GSO) {
		if (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4)
			h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		else if (p->gso_type == XEN_NETIF_GSO_TYPE_TCPV6)
			h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
		else
			return -EPROTONOSUPPORT;
		if (!p->gso_size)
			return -EBADMSG;
		rc = sn_l4_locate(p->data, p->len, &loc);
		if (rc)
			return rc;
		if (loc.l4_proto != IPPROTO_TCP)
			return -EBADMSG;
		have_loc = true;
		h->gso_size = p->gso_size;
		h->hdr_len = (uint16_t)(loc.l4_off + loc.l4_hlen);
		/* The kernel segments GSO frames only as CHECKSUM_PARTIAL; a
		 * frame that arrives without csum_blank gets its field reseeded
		 * with the pseudo-header sum so per-segment checksums come
		 * out right. */
		if (!(p->flags & SN_PKT_CSUM_PARTIAL)) {
			uint16_t seed = sn_l4_pseudo_csum(p->data, &loc, loc.l4_len);

			memcpy(p->data + loc.l4_off + loc.csum_offset, &seed, 2);
			p->flags |= SN_PKT_CSUM_PARTIAL;
			p->csum_start = loc.l4_off;
			p->csum_offset = loc.csum_offset;
		}
	}
	if (p->flags & SN_PKT_CSUM_PARTIAL) {
		if (!p->csum_start) {
			if (!have_loc) {
				rc = sn_l4_locate(p->data, p->len, &loc);
				if (rc)
					return rc;
			}
			p->csum_start = loc.l4_off;
			p->csum_offset = loc.csum_offset;
		}
		if ((uint32_t)p->csum_start + p->csum_offset + 2u > p->len)
			return -EBADMSG;
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = p->csum_start;
		h->csum_offset = p->csum_offset;
	} else if (p->flags & SN_PKT_CSUM_VALID) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return 0;
}

static int tap_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tap_port *t = (struct tap_port *)p;
	unsigned int got = 0;

	while (got < n) {
		struct sn_pkt *pk = pkts[got];
		struct virtio_net_hdr h;
		uint8_t spill;
		/* The spill byte tells a frame that exactly fits from one the
		 * tap cut short to fit the buffer. */
		struct iovec iov[3] = {
			{ .iov_base = &h, .iov_len = sizeof(h) },
			{ .iov_base = pk->data, .iov_len = pk->cap },
			{ .iov_base = &spill, .iov_len = 1 },
		};
		ssize_t r = readv(t->fd, iov, 3);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (got)
				break; /* report what we have; the error recurs */
			return -errno;
		}
		if ((size_t)r < sizeof(h) + 14) {
			sn_port_drop(p, SN_QS_port_drop_runt);
			continue;
		}
		/* Past cap the spill byte was written: the tap had more. */
		if ((size_t)r - sizeof(h) > pk->cap ||
		    (size_t)r - sizeof(h) > SN_PKT_MAX_LEN) {
			sn_port_drop(p, SN_QS_port_drop_giant);
			continue;
		}
		pk->len = (uint32_t)((size_t)r - sizeof(h));
		if (sn_vnet_hdr_to_pkt(&h, pk)) {
			sn_port_drop(p, SN_QS_port_drop_offload);
			continue;
		}
		pk->queue = t->queue;
		pk->hash = 0;
		pk->hash_type = 0;
		p->stats.recv_pkts++;
		p->stats.recv_bytes += pk->len;
		got++;
	}
	return (int)got;
}

static int tap_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct tap_port *t = (struct tap_port *)p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct sn_pkt *pk = pkts[i];
		struct virtio_net_hdr h;
		struct iovec iov[2] = {
			{ .iov_base = &h, .iov_len = sizeof(h) },
			{ .iov_base = pk->data, .iov_len = pk->len },
		};
		ssize_t r;

		/* Headers we cannot map are dropped here and counted, taken
		 * from the caller's point of view (retrying cannot help). */
		if (sn_pkt_to_vnet_hdr(pk, &h)) {
			sn_port_drop(p, SN_QS_port_drop_offload);
			continue;
		}
		do
			r = writev(t->fd, iov, 2);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			/* Backpressure: leave the rest to the caller. */
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				break;
			/* EIO (link down), EINVAL (kernel refused the frame):
			 * per-packet, so count and go on. */
			sn_port_drop(p, SN_QS_port_drop_send);
			continue;
		}
		p->stats.sent_pkts++;
		p->stats.sent_bytes += pk->len;
	}
	return (int)i;
}

static int tap_fd(struct sn_port *p)
{
	return ((struct tap_port *)p)->fd;
}

static void tap_close(struct sn_port *p)
{
	struct tap_port *t = (struct tap_port *)p;

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

/* What the kernel may hand us, from what the netif peer negotiated, as
 * Linux netback derives its netdev features (xenvif_fix_features): no TSO
 * without SG or without checksum offload for that IP version.  Frames the
 * kernel queued before this call, or under the old setting, still arrive:
 * the datapath segments them (port/segment.h). */
unsigned int sn_tap_offload_flags(unsigned int bits)
{
	unsigned int f = 0;

	if (bits & (SN_OFFLOAD_CSUM4 | SN_OFFLOAD_CSUM6))
		f |= TUN_F_CSUM;
	if ((bits & SN_OFFLOAD_SG) && (bits & SN_OFFLOAD_CSUM4) && (bits & SN_OFFLOAD_TSO4))
		f |= TUN_F_TSO4;
	if ((bits & SN_OFFLOAD_SG) && (bits & SN_OFFLOAD_CSUM6) && (bits & SN_OFFLOAD_TSO6))
		f |= TUN_F_TSO6;
	return f;
}

static int tap_set_offloads(struct sn_port *p, unsigned int bits)
{
	struct tap_port *t = (struct tap_port *)p;

	if (ioctl(t->fd, TUNSETOFFLOAD, sn_tap_offload_flags(bits)) < 0)
		return -errno;
	return 0;
}

static const struct sn_port_ops tap_ops = {
	.set_offloads = tap_set_offloads,
	.kind = "tap",
	.send = tap_send,
	.recv = tap_recv,
	.fd = tap_fd,
	.close = tap_close,
};

/* Bring the link up (and set the MTU) like a hotplug script would; best
 * effort, since an unprivileged user may own the tap but not the link. */
static void tap_link_up(const char *name, uint32_t mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		(void)ioctl(s, SIOCSIFMTU, &ifr);
	}
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* The device name: NAME from the spec, else Linux netback's vif<domid>.<devid>
 * on the backend (so vif scripts and habits carry over). */
static int tap_name(const char *args, const struct sn_port_ctx *ctx, char *name)
{
	if (args && *args) {
		if (strlen(args) >= IFNAMSIZ || strchr(args, '/') || strchr(args, ' ')) {
			fprintf(stderr, "stagenet: tap: bad interface name '%s'\n", args);
			return -EINVAL;
		}
		snprintf(name, IFNAMSIZ, "%s", args);
		return 0;
	}
	if (ctx->backend) {
		snprintf(name, IFNAMSIZ, "vif%u.%u", ctx->domid, ctx->devid);
		return 0;
	}
	fprintf(stderr, "stagenet: tap: the frontend needs a name (tap:NAME)\n");
	return -EINVAL;
}

/* Open /dev/net/tun and attach to (or create) device name as one more
 * queue.  Returns the fd or -errno, with a message. */
static int tap_attach(const char *name)
{
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "stagenet: tap: /dev/net/tun: %s\n", strerror(errno));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* Every queue attaches with IFF_MULTI_QUEUE (the kernel requires the
	 * same flags on all of them), so queue count can change freely. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		fprintf(stderr, "stagenet: tap: TUNSETIFF %s: %s\n", name, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int sn_port_tap_hold(const char *args, const struct sn_port_ctx *ctx)
{
	char name[IFNAMSIZ];
	struct ifreq ifr;
	int fd, rc;

	rc = tap_name(args, ctx, name);
	if (rc)
		return rc;
	fd = tap_attach(name);
	if (fd < 0)
		return fd;
	/* A detached queue gets no packets, yet its fd keeps the device (and
	 * what hotplug did to it: bridge port, MTU, up) while queues come and
	 * go with frontend connections. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0) {
		rc = -errno;
		fprintf(stderr, "stagenet: tap: detaching the holder of %s: %s\n", name,
			strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int sn_port_held_name(int fd, char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	return 0;
}

int sn_port_tap_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct tap_port *t;
	unsigned int offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int hsz = (int)sizeof(struct virtio_net_hdr);
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	t->port.ops = &tap_ops;
	t->queue = ctx->queue;
	rc = tap_name(args, ctx, t->name);
	if (rc)
		goto err_free;
	t->fd = tap_attach(t->name);
	if (t->fd < 0) {
		rc = t->fd;
		goto err_free;
	}
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hsz) < 0 || ioctl(t->fd, TUNSETOFFLOAD, offload) < 0) {
		rc = -errno;
		fprintf(stderr, "stagenet: tap: offload setup on %s: %s\n", t->name, strerror(errno));
		goto err_close;
	}
	if (ctx->queue == 0)
		tap_link_up(t->name, ctx->mtu);
	*out = &t->port;
	return 0;

err_close:
	close(t->fd);
err_free:
	free(t);
	return rc;
}
