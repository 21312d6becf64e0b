/* `xdp` port: one AF_XDP socket per netif queue on a NIC queue, through
 * libxdp (its default redirect program, attached via the dispatcher so
 * other XDP programs on the interface keep running).  AF_XDP carries no
 * offload metadata, so frames leave fully segmented and checksummed
 * (port/segment.h) and arrive without offload flags. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "port/port_impl.h"
#include "port/segment.h"

/* Ring sizes (entries, powers of two).  The UMEM holds one frame per fill
 * ring entry (RX) plus one per TX ring entry, so neither direction can
 * starve the other and the fill ring can always be kept full. */
#define XP_RING 1024u
#define XP_FRAME XSK_UMEM__DEFAULT_FRAME_SIZE
#define XP_NFRAMES (2u * XP_RING)
#define XP_BATCH 64u

struct xdp_port {
	struct sn_port port;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint8_t *area;
	int fd;
	int lock_fd;
	uint16_t queue;
	uint32_t nic_queue;
	uint32_t nfree;             /* TX frames not in flight */
	uint64_t free[XP_RING];     /* their UMEM addresses */
	char ifname[IF_NAMESIZE];
	char lock_path[64];
};

struct xdp_args {
	char ifname[IF_NAMESIZE];
	uint32_t queue;
	uint32_t xdp_flags;  /* XDP_FLAGS_DRV_MODE / SKB_MODE, 0 = libxdp picks */
	uint16_t bind_flags; /* XDP_ZEROCOPY / XDP_COPY, 0 = kernel picks */
	bool zc_asked;
};

static int parse_args(const char *args, struct xdp_args *a)
{
	char *copy, *cur, *k, *v;
	uint64_t q;
	int rc = 0;
	bool first = true;

	memset(a, 0, sizeof(*a));
	if (!args || !*args) {
		fprintf(stderr, "stagenet: xdp: an interface is required (xdp:IFNAME)\n");
		return -EINVAL;
	}
	copy = strdup(args);
	if (!copy)
		return -ENOMEM;
	cur = copy;
	while (!rc && sn_port_kv_next(&cur, &k, &v)) {
		if (first) {
			first = false;
			if (!*k || *v || strlen(k) >= IF_NAMESIZE || strchr(k, '/')) {
				fprintf(stderr, "stagenet: xdp: bad interface name '%s'\n", k);
				rc = -EINVAL;
			} else {
				snprintf(a->ifname, sizeof(a->ifname), "%s", k);
			}
		} else if (!strcmp(k, "queue")) {
			if (sn_port_parse_u64(v, 0, 65535, &q)) {
				fprintf(stderr, "stagenet: xdp: bad queue '%s' (0..65535)\n", v);
				rc = -EINVAL;
			}
			a->queue = (uint32_t)q;
		} else if (!strcmp(k, "mode") && !strcmp(v, "native")) {
			a->xdp_flags = XDP_FLAGS_DRV_MODE;
		} else if (!strcmp(k, "mode") && !strcmp(v, "generic")) {
			a->xdp_flags = XDP_FLAGS_SKB_MODE;
		} else if (!strcmp(k, "zerocopy") && !*v) {
			a->bind_flags = XDP_ZEROCOPY;
			a->zc_asked = true;
		} else if (!strcmp(k, "copy") && !*v) {
			a->bind_flags = XDP_COPY;
		} else {
			fprintf(stderr, "stagenet: xdp: unknown option '%s%s%s' (queue=N, "
				"mode=native|generic, zerocopy, copy)\n", k, *v ? "=" : "", v);
			rc = -EINVAL;
		}
	}
	free(copy);
	return rc;
}

/* AF_XDP needs CAP_NET_RAW for the socket, CAP_NET_ADMIN to attach the
 * program and CAP_BPF (or CAP_SYS_ADMIN on older kernels) to load it;
 * checked up front so the user gets one sentence instead of libbpf's
 * EPERM from deep inside program loading. */
static bool has_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	unsigned int need[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF };

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return false;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		unsigned int c = need[i];

		if (!(d[c / 32].effective & (1u << (c % 32)))) {
			/* CAP_SYS_ADMIN covers BPF loading on kernels before 5.8. */
			if (c == CAP_BPF && (d[0].effective & (1u << CAP_SYS_ADMIN)))
				continue;
			return false;
		}
	}
	return true;
}

/* The interface's RX and TX queue counts through ethtool's channels
 * (answered in the caller's network namespace, unlike /sys/class/net,
 * which shows the namespace sysfs was mounted in).  0 when the driver
 * cannot say: the kernel's bind then has the last word. */
static void count_queues(const char *ifname, uint32_t *rxq, uint32_t *txq)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*rxq = *txq = 0;
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (char *)&ch;
	if (!ioctl(s, SIOCETHTOOL, &ifr)) {
		*rxq = ch.combined_count + ch.rx_count;
		*txq = ch.combined_count + ch.tx_count;
	}
	close(s);
}

/* libxdp returns NULL or an encoded error for objects it could not make. */
static bool bad_ptr(const void *p)
{
	return !p || libxdp_get_error(p);
}

/* The id of libxdp's AF_XDP redirect program on the interface, 0 if none. */
static uint32_t xsk_prog_id(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *prog = NULL;
	uint32_t id = 0;

	if (bad_ptr(mp))
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		prog = xdp_multiprog__main_prog(mp);
		if (prog && !strcmp(xdp_program__name(prog), "xsk_def_prog"))
			id = xdp_program__id(prog);
	} else {
		while ((prog = xdp_multiprog__next_prog(prog, mp)))
			if (!strcmp(xdp_program__name(prog), "xsk_def_prog")) {
				id = xdp_program__id(prog);
				break;
			}
	}
	xdp_multiprog__close(mp);
	return id;
}

/* Ownership of the interface's redirect program across stagenet runs.
 * libxdp counts its users in a map inside the program, so a process that
 * dies by SIGKILL leaves the count up and the program attached forever.
 * Every live port holds a shared flock on a file named after the network
 * namespace and ifindex; whoever gets it exclusively knows no stagenet
 * uses the interface, and a program whose id the file recorded is then a
 * leftover of ours: detached before libxdp attaches a fresh one.  A
 * program of another application (another id) is never touched. */
static int lock_open(int ifindex, const struct xdp_args *a, bool *cleaned, char *path,
		     size_t pathlen)
{
	char buf[32];
	struct stat ns;
	uint32_t old, cur;
	ssize_t r;
	int fd;

	*cleaned = false;
	if (stat("/proc/self/ns/net", &ns))
		ns.st_ino = 0;
	(void)mkdir("/run/stagenet", 0700);
	snprintf(path, pathlen, "/run/stagenet/xdp-%lu-%d.lock", (unsigned long)ns.st_ino,
		 ifindex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "stagenet: xdp: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB)) {
		r = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		old = (uint32_t)strtoul(buf, NULL, 10);
		cur = xsk_prog_id(ifindex);
		if (old && cur == old) {
			struct xdp_program *p = xdp_program__from_id(cur);
			enum xdp_attach_mode m = a->xdp_flags & XDP_FLAGS_SKB_MODE ? XDP_MODE_SKB :
						 a->xdp_flags & XDP_FLAGS_DRV_MODE ? XDP_MODE_NATIVE :
						 XDP_MODE_UNSPEC;
			struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

			if (!bad_ptr(mp)) {
				m = xdp_multiprog__attach_mode(mp);
				xdp_multiprog__close(mp);
			}
			if (!bad_ptr(p)) {
				if (!xdp_program__detach(p, ifindex, m, 0))
					*cleaned = true;
				xdp_program__close(p);
			}
		}
	}
	/* Shared from here on: the process's other queues and vifs take it
	 * too, and the kernel drops it when we die however we die. */
	if (flock(fd, LOCK_SH)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static void lock_record(int fd, int ifindex)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%u\n", xsk_prog_id(ifindex));

	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		return; /* best effort: only the SIGKILL cleanup relies on it */
}

static void refill_fq(struct xdp_port *x, const uint64_t *addrs, uint32_t n)
{
	uint32_t idx;

	/* The fill ring has room for every RX frame, so this never falls
	 * short; a failure would mean a kernel bug, not backpressure. */
	if (xsk_ring_prod__reserve(&x->fq, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx + i) = addrs[i];
	xsk_ring_prod__submit(&x->fq, n);
}

static int xdp_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct xdp_port *x = (struct xdp_port *)p;
	uint64_t back[XP_BATCH];
	uint32_t idx, got, i, nback = 0;
	unsigned int out = 0;

	if (n > XP_BATCH)
		n = XP_BATCH;
	got = xsk_ring_cons__peek(&x->rx, n, &idx);
	if (!got) {
		/* Copy and generic modes fill the ring from the socket's own
		 * context only when woken. */
		if (xsk_ring_prod__needs_wakeup(&x->fq))
			(void)recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	for (i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		uint64_t addr = xsk_umem__extract_addr(d->addr);
		uint64_t off = xsk_umem__add_offset_to_addr(d->addr);
		uint32_t len = d->len;
		struct sn_pkt *pk = pkts[out];

		/* The descriptor comes from the kernel, yet it indexes our
		 * memory: checked before any byte is read, and a frame that
		 * is not one of ours never goes back to the fill ring. */
		if (addr >= (uint64_t)XP_NFRAMES * XP_FRAME || off >= (uint64_t)XP_NFRAMES * XP_FRAME ||
		    len > XP_FRAME - off % XP_FRAME) {
			sn_port_drop(p, SN_QS_port_drop_giant);
			continue;
		}
		back[nback++] = addr - addr % XP_FRAME;
		if (len < 14) {
			sn_port_drop(p, SN_QS_port_drop_runt);
			continue;
		}
		if (len > pk->cap) {
			sn_port_drop(p, SN_QS_port_drop_giant);
			continue;
		}
		memcpy(pk->data, x->area + off, len);
		pk->len = len;
		pk->flags = 0;
		pk->gso_size = 0;
		pk->gso_type = 0;
		pk->csum_start = pk->csum_offset = 0;
		pk->queue = x->queue;
		pk->hash = 0;
		pk->hash_type = 0;
		p->stats.recv_pkts++;
		p->stats.recv_bytes += len;
		out++;
	}
	xsk_ring_cons__release(&x->rx, got);
	refill_fq(x, back, nback);
	return (int)out;
}

static void reclaim_tx(struct xdp_port *x)
{
	uint32_t idx, n = xsk_ring_cons__peek(&x->cq, XP_RING, &idx);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = *xsk_ring_cons__comp_addr(&x->cq, idx + i);

		/* A completion we never sent would overflow the free stack. */
		if (x->nfree < XP_RING)
			x->free[x->nfree++] = a - a % XP_FRAME;
	}
	xsk_ring_cons__release(&x->cq, n);
}

/* Copy mode sends at most 32 frames per sendto and says EAGAIN when more
 * are queued (or the completion ring is full): then the kick goes on,
 * after taking completions, while that makes progress.  Zero-copy
 * drivers take the whole ring on the first kick. */
static void kick_tx(struct xdp_port *x)
{
	for (unsigned int i = 0; i < XP_RING / 32; i++) {
		if (!xsk_ring_prod__needs_wakeup(&x->tx))
			return;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN) {
			if (errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
				sn_port_drop(&x->port, SN_QS_port_drop_send);
			return;
		}
		if (xsk_prod_nb_free(&x->tx, XP_RING) >= XP_RING)
			return;
		reclaim_tx(x);
	}
}

/* Make room for n frames (frames and TX slots): what is pending goes to
 * the kernel first, since copy mode completes only inside the kick. */
static bool tx_room(struct xdp_port *x, uint32_t n, uint32_t *pending)
{
	if (x->nfree >= n && xsk_prod_nb_free(&x->tx, n) >= n)
		return true;
	if (*pending) {
		xsk_ring_prod__submit(&x->tx, *pending);
		*pending = 0;
	}
	kick_tx(x);
	reclaim_tx(x);
	return x->nfree >= n && xsk_prod_nb_free(&x->tx, n) >= n;
}

/* Queue one filled frame; tx_room made sure the slot exists. */
static void tx_put(struct xdp_port *x, uint64_t addr, uint32_t len, uint32_t *pending)
{
	struct xdp_desc *d;
	uint32_t idx = 0;

	(void)xsk_ring_prod__reserve(&x->tx, 1, &idx);
	d = xsk_ring_prod__tx_desc(&x->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	(*pending)++;
}

static int xdp_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct xdp_port *x = (struct xdp_port *)p;
	uint32_t pending = 0, bytes, segs;
	unsigned int i;

	reclaim_tx(x);
	for (i = 0; i < n; i++) {
		struct sn_pkt *pk = pkts[i];
		enum sn_fit fit = sn_offload_fit(pk, 0, XP_FRAME);
		struct sn_gso_iter it;

		if (fit == SN_FIT_TOO_BIG) {
			sn_port_drop(p, SN_QS_port_drop_giant);
			continue;
		}
		if (fit != SN_FIT_SEGMENT) {
			struct sn_pkt f = *pk;
			uint64_t addr;

			if (!tx_room(x, 1, &pending))
				break;
			addr = x->free[--x->nfree];
			f.data = x->area + addr;
			f.cap = XP_FRAME;
			memcpy(f.data, pk->data, pk->len);
			/* Finished in our copy: the wire has no checksum
			 * offload to hand it to. */
			if (fit == SN_FIT_CSUM && sn_pkt_csum_finish(&f)) {
				x->free[x->nfree++] = addr;
				sn_port_drop(p, SN_QS_port_drop_offload);
				continue;
			}
			tx_put(x, addr, pk->len, &pending);
			p->stats.sent_pkts++;
			p->stats.sent_bytes += pk->len;
			continue;
		}
		if (sn_gso_begin(&it, pk, XP_FRAME, false)) {
			sn_port_drop(p, SN_QS_port_drop_offload);
			continue;
		}
		segs = sn_gso_count(&it);
		if (segs > XP_RING) {
			sn_port_drop(p, SN_QS_port_drop_offload);
			continue;
		}
		/* All segments or none: a half-sent TCP burst is a loss the
		 * sender repairs slowly. */
		if (!tx_room(x, segs, &pending))
			break;
		bytes = 0;
		for (uint32_t k = 0; k < segs; k++) {
			struct sn_pkt seg = { .cap = XP_FRAME };
			uint64_t addr = x->free[x->nfree - 1];

			seg.data = x->area + addr;
			if (sn_gso_next(&it, &seg) <= 0)
				break;
			x->nfree--;
			tx_put(x, addr, seg.len, &pending);
			bytes += seg.len;
		}
		p->stats.sent_pkts++;
		p->stats.sent_bytes += bytes;
	}
	if (pending)
		xsk_ring_prod__submit(&x->tx, pending);
	/* One kick per burst, and only when the kernel asks for it. */
	kick_tx(x);
	return (int)i;
}

static int xdp_fd(struct sn_port *p)
{
	return ((struct xdp_port *)p)->fd;
}

static void xdp_close(struct sn_port *p)
{
	struct xdp_port *x = (struct xdp_port *)p;

	/* The last socket of the process on this interface detaches the
	 * program (libxdp's count); the lock goes after it so a starting
	 * process never sees our live program as a leftover. */
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		(void)xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, (size_t)XP_NFRAMES * XP_FRAME);
	/* The last user on a clean close removes the file: only a killed
	 * process's record has to outlive it.  A process that opened the
	 * file just before the unlink locks an orphan, which can only cost
	 * a later cleanup (its record is not found), never a wrong one. */
	if (x->lock_fd >= 0) {
		if (!flock(x->lock_fd, LOCK_EX | LOCK_NB))
			(void)unlink(x->lock_path);
		close(x->lock_fd);
	}
	free(x);
}

static const struct sn_port_ops xdp_ops = {
	.kind = "xdp",
	.send = xdp_send,
	.recv = xdp_recv,
	.fd = xdp_fd,
	.close = xdp_close,
};

static int create_socket(struct xdp_port *x, const struct xdp_args *a, uint16_t bind_flags)
{
	struct xsk_socket_config cfg = {
		.rx_size = XP_RING,
		.tx_size = XP_RING,
		.xdp_flags = a->xdp_flags,
		.bind_flags = (uint16_t)(bind_flags | XDP_USE_NEED_WAKEUP),
	};

	return xsk_socket__create(&x->xsk, a->ifname, x->nic_queue, x->umem, &x->rx, &x->tx,
				  &cfg);
}

static void explain(const struct xdp_port *x, const struct xdp_args *a, int rc)
{
	const char *why;

	switch (rc) {
	case -EOPNOTSUPP:
		why = a->xdp_flags & XDP_FLAGS_DRV_MODE ?
			"the driver has no native XDP support (try mode=generic)" :
			"no XDP support for this interface";
		break;
	case -EBUSY:
		why = "the NIC queue is already bound to an AF_XDP socket (another vif, "
		      "queue range or process): give each vif its own queue= range";
		break;
	case -EEXIST:
		why = "another XDP program is attached in a different mode, or without "
		      "libxdp's dispatcher (xdp-loader status)";
		break;
	case -EPERM:
	case -EACCES:
		why = "permission denied (needs root or CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF)";
		break;
	case -EINVAL:
		why = "rejected by the kernel (MTU too large for XDP, or queue out of range)";
		break;
	default:
		why = strerror(-rc);
	}
	fprintf(stderr, "stagenet: xdp: %s queue %u: %s\n", a->ifname, x->nic_queue, why);
}

/* libbpf and libxdp narrate every ELF section they skip and every
 * fallback they take at info level; their warnings are kept. */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int quiet_libxdp(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return level == LIBXDP_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int sn_port_xdp_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XP_RING,
		.comp_size = XP_RING,
		.frame_size = XP_FRAME,
		.frame_headroom = 0,
	};
	struct xdp_port *x;
	struct xdp_args a;
	struct statfs sfs;
	bool cleaned;
	uint32_t rxq, txq;
	int ifindex, rc;
	uint64_t rxaddr[XP_RING];

	rc = parse_args(args, &a);
	if (rc)
		return rc;
	(void)libbpf_set_print(quiet_libbpf);
	(void)libxdp_set_print(quiet_libxdp);
	ifindex = (int)if_nametoindex(a.ifname);
	if (!ifindex) {
		fprintf(stderr, "stagenet: xdp: no interface '%s' in this network namespace\n",
			a.ifname);
		return -ENODEV;
	}
	if (!has_caps()) {
		fprintf(stderr, "stagenet: xdp: %s: needs root, or CAP_NET_ADMIN, CAP_NET_RAW and "
			"CAP_BPF\n", a.ifname);
		return -EPERM;
	}
	if (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		fprintf(stderr, "stagenet: xdp: bpffs is not mounted at /sys/fs/bpf (libxdp keeps "
			"its dispatcher there): mount -t bpf bpf /sys/fs/bpf\n");
		return -ENOENT;
	}
	count_queues(a.ifname, &rxq, &txq);
	if (rxq && txq && a.queue + ctx->nqueues > (rxq < txq ? rxq : txq)) {
		fprintf(stderr, "stagenet: xdp: %s has %u rx / %u tx queues; queues %u..%u "
			"needed (queue=%u, %u netif queues): raise them with ethtool -L, or "
			"lower --max-queues\n", a.ifname, rxq, txq, a.queue,
			a.queue + ctx->nqueues - 1u, a.queue, ctx->nqueues);
		return -ERANGE;
	}

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->port.ops = &xdp_ops;
	x->lock_fd = -1;
	x->fd = -1;
	x->queue = ctx->queue;
	x->nic_queue = a.queue + ctx->queue;
	snprintf(x->ifname, sizeof(x->ifname), "%s", a.ifname);
	x->area = mmap(NULL, (size_t)XP_NFRAMES * XP_FRAME, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		rc = -ENOMEM;
		goto err;
	}
	rc = lock_open(ifindex, &a, &cleaned, x->lock_path, sizeof(x->lock_path));
	if (rc < 0)
		goto err;
	x->lock_fd = rc;
	if (cleaned)
		fprintf(stderr, "stagenet: xdp: %s: detached the AF_XDP program a killed "
			"stagenet left attached\n", a.ifname);
	rc = xsk_umem__create(&x->umem, x->area, (uint64_t)XP_NFRAMES * XP_FRAME, &x->fq, &x->cq,
			      &ucfg);
	if (rc) {
		fprintf(stderr, "stagenet: xdp: UMEM: %s\n", strerror(-rc));
		goto err;
	}
	/* A socket closed just before (a reconnecting vif, a restarted
	 * process) releases its queue from a kernel work item: EBUSY for a
	 * moment, so a bounded wait before calling the queue taken. */
	for (int tries = 0; tries < 40; tries++) {
		rc = create_socket(x, &a, a.bind_flags);
		if (rc != -EBUSY)
			break;
		usleep(25000);
	}
	if (rc && a.zc_asked && rc != -EBUSY && rc != -EPERM) {
		/* Said once per port, at its first queue. */
		if (ctx->queue == 0)
			fprintf(stderr, "stagenet: xdp: %s: no zero-copy support in the driver "
				"(%s); using copy mode\n", a.ifname, strerror(-rc));
		rc = create_socket(x, &a, XDP_COPY);
	}
	if (rc) {
		explain(x, &a, rc);
		goto err;
	}
	x->fd = xsk_socket__fd(x->xsk);
	lock_record(x->lock_fd, ifindex);

	/* RX frames are the first half of the UMEM, all in the fill ring;
	 * TX frames the second half, on the free stack. */
	for (uint32_t i = 0; i < XP_RING; i++) {
		rxaddr[i] = (uint64_t)i * XP_FRAME;
		x->free[i] = (uint64_t)(XP_RING + i) * XP_FRAME;
	}
	x->nfree = XP_RING;
	refill_fq(x, rxaddr, XP_RING);
	*out = &x->port;
	return 0;

err:
	xdp_close(&x->port);
	return rc;
}
