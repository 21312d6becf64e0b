/* `vhost-user` port: stagenet as the vhost-user front-end (the virtio-net
 * driver, the role QEMU and DPDK's virtio-user play) toward a back-end
 * such as DPDK's net_vhost PMD or Open vSwitch's dpdkvhostuser ports.
 * We own the shared memory (one memfd per session), lay out split
 * virtqueues (src/port/virtq.c) and move frames with a 12-byte
 * virtio-net header.  One socket per vif, one virtqueue pair per netif
 * queue; the per-queue port instances of a vif share one device, found by
 * socket path.  A control thread per device connects (or accepts),
 * negotiates, and reconnects when the peer goes away, while the queues
 * keep their netif side running.  README "vhost-user port". */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "port/port_impl.h"
#include "port/segment.h"
#include "port/vhost_user.h"
#include "port/virtq.h"

#define VU_RING 1024u                  /* a few ms of 64-byte frames at line rate */
#define VU_HDR 12u                     /* virtio_net_hdr_mrg_rxbuf (VERSION_1) */
#define VU_RXBUF 2048u                 /* one RX buffer; MRG_RXBUF chains them */
#define VU_TXBUF 2048u                 /* one TX descriptor; larger frames chain */
#define VU_TX_MAX_CHAIN ((VU_HDR + 65535u + VU_TXBUF - 1) / VU_TXBUF)
_Static_assert(VU_TX_MAX_CHAIN <= 255 && VU_TX_MAX_CHAIN <= VU_RING, "tx_cnt holds a chain");
#define VU_BURST 64u
#define VU_IO_TIMEOUT_MS 2000
#define VU_RETRY_MIN_MS 50
#define VU_RETRY_MAX_MS 1000
#define VU_DRAIN_EVERY 32u
#define VU_HOLD_PAIRS 8u                /* pairs a held device can grow to */

struct vu_pair {
	pthread_mutex_t lock;
	bool live;           /* rings set up in the current session */
	bool ringed;         /* rings laid out in the current mapping */
	struct sn_virtq rx;  /* virtio-net receiveq: device -> us */
	struct sn_virtq tx;  /* transmitq: us -> device */
	uint8_t *rx_bufs, *tx_bufs;
	uint8_t rx_posted[VU_RING], tx_posted[VU_RING];
	uint16_t tx_free[VU_RING];
	unsigned int n_free;
	/* Our own record of each posted TX chain (the device could rewrite
	 * the descriptor table; we never read it back). */
	uint16_t tx_next[VU_RING];
	uint8_t tx_cnt[VU_RING];
	/* RX used entries taken but not yet a whole frame (MRG_RXBUF). */
	struct sn_vq_elem hold[VU_RING];
	unsigned int n_hold;
	bool rx_irq;         /* notifications on (we were about to idle) */
	unsigned int empty_streak;
	/* Reported once per session per kind, as drops of the queue that
	 * saw them. */
	uint64_t seen_jump, seen_id, seen_len;
	/* Frames a session took with it when it ended (vu_pair_unread),
	 * counted as port_drop_session by the queue's next burst. */
	_Atomic uint64_t lost;
	/* Stable for the device's life, so a queue's poll fd never changes
	 * across sessions. */
	int call_fd, kick_rx, kick_tx;
};

struct vu_dev {
	struct vu_dev *next;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server;
	unsigned int refs;
	unsigned int npairs;          /* allocated: min(netif queues, queues=) */
	struct vu_pair *pairs;
	_Atomic unsigned int nlive;   /* pairs in the current session, 0 = down */
	_Atomic unsigned int want;    /* SN_OFFLOAD_* from set_offloads */
	unsigned int negotiated_want; /* want when the session negotiated */
	/* Queue pairs the open queue ports need (1 while only held), and
	 * what the session enabled. */
	_Atomic unsigned int want_pairs;
	unsigned int negotiated_pairs;
	/* sn_port_hold's reference: our end of a socketpair whose other end
	 * the vif keeps; its hangup is the vif going away. */
	int hold_fd;
	_Atomic unsigned int host_caps; /* SN_OFFLOAD_* the device takes from us */
	bool mrg;
	bool event_idx;               /* VIRTIO_RING_F_EVENT_IDX negotiated */
	atomic_bool stop, broken;
	int listen_fd, conn_fd, wake_fd;
	int memfd;
	uint8_t *mem;
	size_t mem_len;
	pthread_t thread;
	bool thread_started;
	bool self_free; /* the hold was the last reference: the thread frees */
};

struct vu_port {
	struct sn_port port;
	struct vu_dev *dev;
	uint16_t queue;
	uint8_t *seg; /* one segment, when the device lacks TSO */
};

/* The devices of this process, by socket path: the queue ports of one vif
 * are opened separately (one per queue thread) and must find the one
 * connection they share. */
static pthread_mutex_t vu_devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vu_dev *vu_devs;

static void vu_log(const struct vu_dev *d, const char *fmt, const char *arg)
{
	fprintf(stderr, "stagenet: vhost-user %s: ", d->path);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

/* ---- messages ---- */

static int vu_send(struct vu_dev *d, uint32_t req, const void *pl, uint32_t size,
		   const int *fds, unsigned int nfds)
{
	struct vu_msg_hdr h = { .request = req, .flags = VU_VERSION, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)pl, .iov_len = size },
	};
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_REGIONS)];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t r;

	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		r = sendmsg(d->conn_fd, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == sizeof(h) + size ? 0 : -EIO;
}

static int vu_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = recv(fd, p, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The reply to req, of exactly size bytes: anything else from the peer
 * ends the session (the socket is bounded by SO_RCVTIMEO). */
static int vu_reply(struct vu_dev *d, uint32_t req, void *pl, uint32_t size)
{
	struct vu_msg_hdr h;
	int rc = vu_read_full(d->conn_fd, &h, sizeof(h));

	if (rc)
		return rc;
	if (h.request != req || !(h.flags & VU_FLAG_REPLY) || (h.flags & 3u) != VU_VERSION ||
	    h.size != size)
		return -EPROTO;
	return vu_read_full(d->conn_fd, pl, size);
}

static int vu_get_u64(struct vu_dev *d, uint32_t req, uint64_t *out)
{
	int rc = vu_send(d, req, NULL, 0, NULL, 0);

	return rc ? rc : vu_reply(d, req, out, sizeof(*out));
}

static int vu_set_u64(struct vu_dev *d, uint32_t req, uint64_t v)
{
	return vu_send(d, req, &v, sizeof(v), NULL, 0);
}

static int vu_set_state(struct vu_dev *d, uint32_t req, uint32_t index, uint32_t num)
{
	union vu_payload p = { .state = { .index = index, .num = num } };

	return vu_send(d, req, &p, sizeof(p.state), NULL, 0);
}

static int vu_set_fd(struct vu_dev *d, uint32_t req, uint32_t index, int fd)
{
	uint64_t v = index;

	return vu_send(d, req, &v, sizeof(v), &fd, 1);
}

/* ---- session: memory, rings, features ---- */

static size_t vu_pair_bytes(void)
{
	return 2 * sn_vq_ring_bytes(VU_RING) + (size_t)VU_RING * VU_RXBUF +
	       (size_t)VU_RING * VU_TXBUF;
}

/* What we may accept from the device: only the offloads the netif peer
 * negotiated (the TAP port's rule: TSO only with SG and that version's
 * checksum offload), since the queue would otherwise segment in software. */
static uint64_t vu_guest_features(unsigned int bits)
{
	uint64_t f = 0;

	if (bits & (SN_OFFLOAD_CSUM4 | SN_OFFLOAD_CSUM6))
		f |= 1ull << VIRTIO_NET_F_GUEST_CSUM;
	if ((bits & SN_OFFLOAD_SG) && (bits & SN_OFFLOAD_CSUM4) && (bits & SN_OFFLOAD_TSO4))
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
	if ((bits & SN_OFFLOAD_SG) && (bits & SN_OFFLOAD_CSUM6) && (bits & SN_OFFLOAD_TSO6))
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO6;
	return f;
}

/* Frames a session takes with it, from a pair whose rings are still
 * mapped: TX chains the device never returned (those it used were
 * delivered, reaped or not), and RX frames it returned that we have not
 * read.  Bounded: every entry taken lowers inflight, whatever the device
 * still writes into its old mapping. */
static uint64_t vu_pair_unread(struct vu_pair *p, bool mrg)
{
	struct sn_vq_elem e[VU_BURST];
	unsigned int old = p->n_hold, i = 0;
	uint64_t lost;
	int n;

	do
		n = sn_vq_take_used(&p->tx, e, VU_BURST);
	while (n == (int)VU_BURST);
	lost = p->tx.inflight;
	if (p->n_hold < VU_RING) {
		n = sn_vq_take_used(&p->rx, p->hold + p->n_hold, VU_RING - p->n_hold);
		if (n > 0)
			p->n_hold += (unsigned int)n;
	}
	while (i < p->n_hold) {
		unsigned int nb = 1, j;
		bool counted = false;

		if (mrg && !p->hold[i].bad_len && p->hold[i].len >= VU_HDR) {
			struct virtio_net_hdr_mrg_rxbuf h;

			memcpy(&h, p->rx_bufs + (size_t)p->hold[i].id * VU_RXBUF, VU_HDR);
			if (h.num_buffers > 1)
				nb = h.num_buffers;
		}
		if (nb > p->n_hold - i)
			nb = p->n_hold - i;
		/* A length past the buffer taken before now was counted as
		 * port_drop_peer already (vu_check_peer). */
		for (j = i; j < i + nb; j++)
			counted |= j < old && p->hold[j].bad_len;
		if (!counted)
			lost++;
		i += nb;
	}
	return lost;
}

static void vu_session_down(struct vu_dev *d)
{
	atomic_store(&d->nlive, 0);
	for (unsigned int i = 0; i < d->npairs; i++) {
		struct vu_pair *p = &d->pairs[i];

		pthread_mutex_lock(&p->lock);
		if (p->ringed) {
			uint64_t n = vu_pair_unread(p, d->mrg);

			if (n)
				atomic_fetch_add(&p->lost, n);
		}
		p->ringed = false;
		p->tx.inflight = 0;
		p->live = false;
		p->n_hold = 0;
		pthread_mutex_unlock(&p->lock);
	}
	/* The old peer may keep its mapping: the next session gets fresh
	 * memory it never saw. */
	if (d->mem)
		munmap(d->mem, d->mem_len);
	d->mem = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	d->memfd = -1;
}

static void vu_conn_close(struct vu_dev *d)
{
	vu_session_down(d);
	if (d->conn_fd >= 0)
		close(d->conn_fd);
	d->conn_fd = -1;
}

static void vu_pair_rings(struct vu_dev *d, unsigned int i, uint64_t *rx_gpa, uint64_t *tx_gpa)
{
	size_t base = i * vu_pair_bytes(), rb = sn_vq_ring_bytes(VU_RING);

	*rx_gpa = base;
	*tx_gpa = base + rb;
	(void)d;
}

static int vu_pair_init(struct vu_dev *d, unsigned int i)
{
	struct vu_pair *p = &d->pairs[i];
	size_t base = i * vu_pair_bytes(), rb = sn_vq_ring_bytes(VU_RING);
	uint64_t rxb = base + 2 * rb, txb = rxb + (uint64_t)VU_RING * VU_RXBUF;
	int rc;

	pthread_mutex_lock(&p->lock);
	rc = sn_vq_init(&p->rx, VU_RING, d->mem + base, p->rx_posted, rxb, VU_RXBUF, true);
	if (!rc)
		rc = sn_vq_init(&p->tx, VU_RING, d->mem + base + rb, p->tx_posted, txb,
				VU_TXBUF, false);
	if (!rc && d->event_idx) {
		sn_vq_use_event_idx(&p->rx);
		sn_vq_use_event_idx(&p->tx);
	}
	if (!rc) {
		p->rx_bufs = d->mem + rxb;
		p->tx_bufs = d->mem + txb;
		for (uint16_t k = 0; k < VU_RING; k++) {
			sn_vq_post(&p->rx, k, VU_RXBUF);
			p->tx_free[k] = (uint16_t)(VU_RING - 1 - k);
		}
		p->n_free = VU_RING;
		p->n_hold = 0;
		p->empty_streak = 0;
		/* TX completions are reaped when we send; never wake us. */
		sn_vq_irq_disable(&p->tx);
		p->rx_irq = true;
		(void)sn_vq_publish(&p->rx);
		p->seen_jump = p->seen_id = p->seen_len = 0;
		p->ringed = true;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int vu_ring_setup(struct vu_dev *d, unsigned int vqi, uint64_t gpa, int kick, int call,
			 bool enable_msg)
{
	struct vu_pair *p = &d->pairs[vqi / 2];
	struct sn_virtq *q = (vqi & 1) ? &p->tx : &p->rx;
	union vu_payload a;
	int rc;

	/* The ring addresses are ours (front-end virtual addresses), as the
	 * protocol has them without an IOMMU; descriptors carry "guest
	 * physical" offsets into the one region. */
	(void)gpa;
	rc = vu_set_state(d, VU_SET_VRING_NUM, vqi, VU_RING);
	if (rc)
		return rc;
	memset(&a, 0, sizeof(a));
	a.addr.index = vqi;
	a.addr.desc = (uint64_t)(uintptr_t)q->desc;
	a.addr.avail = (uint64_t)(uintptr_t)q->avail;
	a.addr.used = (uint64_t)(uintptr_t)q->used;
	rc = vu_send(d, VU_SET_VRING_ADDR, &a, sizeof(a.addr), NULL, 0);
	if (!rc)
		rc = vu_set_state(d, VU_SET_VRING_BASE, vqi, 0);
	if (!rc)
		rc = vu_set_fd(d, VU_SET_VRING_KICK, vqi, kick);
	if (!rc)
		rc = vu_set_fd(d, VU_SET_VRING_CALL, vqi, call);
	if (!rc && enable_msg)
		rc = vu_set_state(d, VU_SET_VRING_ENABLE, vqi, 1);
	return rc;
}

static int vu_session_up(struct vu_dev *d, bool fresh)
{
	uint64_t dev_f, want_f, f, pf = 0, qn = 1, rx_gpa, tx_gpa;
	unsigned int want = atomic_load(&d->want), np, host = SN_OFFLOAD_SG;
	union vu_payload mt;
	int rc;

	if (fresh && (rc = vu_send(d, VU_SET_OWNER, NULL, 0, NULL, 0)))
		return rc;
	rc = vu_get_u64(d, VU_GET_FEATURES, &dev_f);
	if (rc)
		return rc;
	want_f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
		 (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4) |
		 (1ull << VIRTIO_NET_F_HOST_TSO6) | (1ull << VU_F_PROTOCOL_FEATURES) |
		 (1ull << VIRTIO_RING_F_EVENT_IDX) |
		 vu_guest_features(want);
	f = dev_f & want_f;
	/* A TSO bit without the checksum bit it depends on is not valid. */
	if (!(f & (1ull << VIRTIO_NET_F_CSUM)))
		f &= ~((1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6));
	if (!(f & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
		f &= ~((1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6));
	if (!(f & (1ull << VIRTIO_F_VERSION_1))) {
		vu_log(d, "%s", "peer lacks VIRTIO_F_VERSION_1 (legacy headers unsupported)");
		return -EPROTONOSUPPORT;
	}
	if (f & (1ull << VU_F_PROTOCOL_FEATURES)) {
		rc = vu_get_u64(d, VU_GET_PROTOCOL_FEATURES, &pf);
		if (rc)
			return rc;
		pf &= 1ull << VU_PROTOCOL_F_MQ;
		rc = vu_set_u64(d, VU_SET_PROTOCOL_FEATURES, pf);
		if (rc)
			return rc;
		if (pf & (1ull << VU_PROTOCOL_F_MQ)) {
			rc = vu_get_u64(d, VU_GET_QUEUE_NUM, &qn);
			if (rc)
				return rc;
		}
	}
	np = atomic_load(&d->want_pairs);
	if (np > d->npairs)
		np = d->npairs;
	if (qn < np)
		np = qn ? (unsigned int)qn : 1;
	rc = vu_set_u64(d, VU_SET_FEATURES, f);
	if (rc)
		return rc;
	d->mrg = f & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	d->event_idx = f & (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (f & (1ull << VIRTIO_NET_F_CSUM))
		host |= SN_OFFLOAD_CSUM4 | SN_OFFLOAD_CSUM6;
	if (f & (1ull << VIRTIO_NET_F_HOST_TSO4))
		host |= SN_OFFLOAD_TSO4;
	if (f & (1ull << VIRTIO_NET_F_HOST_TSO6))
		host |= SN_OFFLOAD_TSO6;
	atomic_store(&d->host_caps, host);

	d->mem_len = np * vu_pair_bytes();
	d->memfd = memfd_create("stagenet-vhost-user", MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, (off_t)d->mem_len) < 0)
		return -errno;
	d->mem = mmap(NULL, d->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	memset(&mt, 0, sizeof(mt));
	mt.mem.nregions = 1;
	mt.mem.r[0].gpa = 0;
	mt.mem.r[0].size = d->mem_len;
	mt.mem.r[0].uva = (uint64_t)(uintptr_t)d->mem;
	mt.mem.r[0].mmap_offset = 0;
	rc = vu_send(d, VU_SET_MEM_TABLE, &mt, 8 + sizeof(struct vu_region), &d->memfd, 1);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < np; i++) {
		struct vu_pair *p = &d->pairs[i];
		bool en = pf || (f & (1ull << VU_F_PROTOCOL_FEATURES));

		rc = vu_pair_init(d, i);
		if (rc)
			return rc;
		vu_pair_rings(d, i, &rx_gpa, &tx_gpa);
		rc = vu_ring_setup(d, 2 * i, rx_gpa, p->kick_rx, p->call_fd, en);
		if (!rc)
			rc = vu_ring_setup(d, 2 * i + 1, tx_gpa, p->kick_tx, p->call_fd, en);
		if (rc)
			return rc;
	}
	d->negotiated_want = want;
	d->negotiated_pairs = atomic_load(&d->want_pairs);
	for (unsigned int i = 0; i < np; i++) {
		struct vu_pair *p = &d->pairs[i];

		pthread_mutex_lock(&p->lock);
		p->live = true;
		pthread_mutex_unlock(&p->lock);
		/* Wake a queue asleep on the call fd: there is a ring now. */
		(void)eventfd_write(p->call_fd, 1);
	}
	atomic_store(&d->nlive, np);
	return 0;
}

/* Stop the rings (GET_VRING_BASE) without closing the socket, so features
 * can be negotiated again (the netif peer's offloads changed). */
static int vu_session_stop(struct vu_dev *d)
{
	unsigned int np = atomic_load(&d->nlive);
	int rc = 0;

	atomic_store(&d->nlive, 0);
	for (unsigned int v = 0; v < 2 * np && !rc; v++) {
		union vu_payload st = { .state = { .index = v } };

		rc = vu_send(d, VU_GET_VRING_BASE, &st, sizeof(st.state), NULL, 0);
		if (!rc)
			rc = vu_reply(d, VU_GET_VRING_BASE, &st, sizeof(st.state));
	}
	vu_session_down(d);
	return rc;
}

/* ---- control thread ---- */

/* Sleep up to ms on the wake fd; true when woken. */
static bool vu_wait_wake(struct vu_dev *d, int ms)
{
	struct pollfd pf[2] = {
		{ .fd = d->wake_fd, .events = POLLIN },
		{ .fd = d->hold_fd, .events = POLLIN },
	};
	uint64_t v;

	if (poll(pf, 2, ms) > 0) {
		(void)eventfd_read(d->wake_fd, &v);
		return true;
	}
	return false;
}

static void vu_sock_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = VU_IO_TIMEOUT_MS / 1000,
			      .tv_usec = (VU_IO_TIMEOUT_MS % 1000) * 1000 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int vu_get_conn(struct vu_dev *d, int *backoff)
{
	if (d->server) {
		struct pollfd pf[3] = {
			{ .fd = d->listen_fd, .events = POLLIN },
			{ .fd = d->wake_fd, .events = POLLIN },
			{ .fd = d->hold_fd, .events = POLLIN },
		};

		if (poll(pf, 3, -1) <= 0 || pf[1].revents || pf[2].revents) {
			uint64_t v;

			(void)eventfd_read(d->wake_fd, &v);
			return -EAGAIN;
		}
		d->conn_fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (d->conn_fd < 0)
			return -errno;
	} else {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		memcpy(sa.sun_path, d->path, sizeof(sa.sun_path));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			/* Retry with backoff: the back-end may not be up yet. */
			vu_wait_wake(d, *backoff);
			if (*backoff < VU_RETRY_MAX_MS)
				*backoff *= 2;
			return -EAGAIN;
		}
		d->conn_fd = fd;
	}
	vu_sock_timeouts(d->conn_fd);
	return 0;
}

static void vu_dev_unlink(struct vu_dev *d);

/* The vif dropped its hold (sn_port_hold).  true when that was the last
 * reference: the control thread then frees the device on its way out. */
static bool vu_hold_gone(struct vu_dev *d)
{
	bool last;

	pthread_mutex_lock(&vu_devs_lock);
	close(d->hold_fd);
	d->hold_fd = -1;
	last = --d->refs == 0;
	if (last) {
		vu_dev_unlink(d);
		d->self_free = true;
	}
	pthread_mutex_unlock(&vu_devs_lock);
	return last;
}

static void vu_dev_free(struct vu_dev *d);

static void *vu_thread(void *arg)
{
	struct vu_dev *d = arg;
	int backoff = VU_RETRY_MIN_MS;

	while (!atomic_load(&d->stop)) {
		struct pollfd pf[3];

		if (d->hold_fd >= 0) {
			struct pollfd h = { .fd = d->hold_fd, .events = POLLIN };

			if (poll(&h, 1, 0) > 0 && vu_hold_gone(d))
				break;
		}
		char junk[256];
		int rc;

		if (d->conn_fd < 0) {
			if (vu_get_conn(d, &backoff))
				continue;
			rc = vu_session_up(d, true);
			if (rc) {
				vu_log(d, "negotiation failed: %s", strerror(-rc));
				vu_conn_close(d);
				vu_wait_wake(d, backoff);
				if (backoff < VU_RETRY_MAX_MS)
					backoff *= 2;
				continue;
			}
			backoff = VU_RETRY_MIN_MS;
			vu_log(d, "connected%s", d->event_idx ? " (event_idx)" : "");
		}
		pf[0] = (struct pollfd){ .fd = d->conn_fd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = d->wake_fd, .events = POLLIN };
		pf[2] = (struct pollfd){ .fd = d->hold_fd, .events = POLLIN };
		if (poll(pf, 3, -1) < 0)
			continue;
		if (pf[2].revents && vu_hold_gone(d))
			break;
		if (pf[0].revents) {
			/* The back-end sends nothing unasked on this channel:
			 * EOF is the peer gone, anything else is ignored. */
			ssize_t r = recv(d->conn_fd, junk, sizeof(junk), MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				vu_log(d, "%s", "peer disconnected");
				vu_conn_close(d);
				continue;
			}
		}
		if (pf[1].revents) {
			uint64_t v;

			(void)eventfd_read(d->wake_fd, &v);
			if (atomic_load(&d->stop))
				break;
			if (atomic_exchange(&d->broken, false)) {
				vu_log(d, "%s", "peer broke the ring protocol: resetting");
				vu_conn_close(d);
				continue;
			}
			if ((vu_guest_features(atomic_load(&d->want)) !=
			     vu_guest_features(d->negotiated_want) ||
			     atomic_load(&d->want_pairs) != d->negotiated_pairs) &&
			    atomic_load(&d->nlive)) {
				rc = vu_session_stop(d);
				if (!rc)
					rc = vu_session_up(d, false);
				if (rc) {
					vu_log(d, "renegotiation failed: %s", strerror(-rc));
					vu_conn_close(d);
				} else {
					vu_log(d, "%s", "features or queues renegotiated");
				}
			}
		}
	}
	vu_conn_close(d);
	if (d->self_free) {
		pthread_detach(pthread_self());
		d->thread_started = false;
		vu_dev_free(d);
	}
	return NULL;
}

static void vu_wake(struct vu_dev *d)
{
	(void)eventfd_write(d->wake_fd, 1);
}

/* ---- datapath ---- */

/* The pair queue q uses, locked, or NULL while no session runs. */
static struct vu_pair *vu_pair_get(struct vu_port *vp)
{
	struct vu_dev *d = vp->dev;
	unsigned int np = atomic_load_explicit(&d->nlive, memory_order_acquire);
	struct vu_pair *p = &d->pairs[vp->queue % d->npairs];

	if (atomic_load_explicit(&p->lost, memory_order_relaxed)) {
		uint64_t n = atomic_exchange(&p->lost, 0);

		vp->port.stats.drops += n;
		if (vp->port.qs)
			sn_qstat_add(vp->port.qs, SN_QS_port_drop_session, n);
	}
	if (!np)
		return NULL;
	p = &d->pairs[vp->queue % np];
	pthread_mutex_lock(&p->lock);
	if (!p->live) {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	return p;
}

/* Count new protocol violations on this pair as drops; true when the
 * device must be reset. */
static bool vu_check_peer(struct vu_port *vp, struct vu_pair *p)
{
	uint64_t jump = p->rx.err_jump + p->tx.err_jump, id = p->rx.err_id + p->tx.err_id,
		 len = p->rx.err_len + p->tx.err_len;
	bool reset = false;

	for (; p->seen_len < len; p->seen_len++)
		sn_port_drop(&vp->port, SN_QS_port_drop_peer);
	for (; p->seen_id < id; p->seen_id++) {
		sn_port_drop(&vp->port, SN_QS_port_drop_peer);
		reset = true;
	}
	for (; p->seen_jump < jump; p->seen_jump++) {
		sn_port_drop(&vp->port, SN_QS_port_drop_peer);
		reset = true;
	}
	return reset;
}

static void vu_reset_request(struct vu_port *vp, struct vu_pair *p)
{
	/* No more ring work until the control thread has reset the device:
	 * the ring state is no longer one we can trust. */
	p->live = false;
	atomic_store(&vp->dev->broken, true);
	vu_wake(vp->dev);
}

static void vu_kick(int fd)
{
	(void)eventfd_write(fd, 1);
}

static void vu_tx_reclaim(struct vu_port *vp, struct vu_pair *p)
{
	struct sn_vq_elem e[VU_BURST];
	int n;

	do {
		n = sn_vq_take_used(&p->tx, e, VU_BURST);
		for (int i = 0; i < n; i++) {
			uint16_t id = e[i].id;

			for (unsigned int k = p->tx_cnt[id]; k; k--) {
				p->tx_free[p->n_free++] = id;
				id = p->tx_next[id];
			}
		}
	} while (n == (int)VU_BURST);
	if (vu_check_peer(vp, p))
		vu_reset_request(vp, p);
}

/* Copy header + frame into a chain of free TX descriptors and post it.
 * The caller checked there are enough. */
static void vu_tx_chain(struct vu_pair *p, const struct virtio_net_hdr_mrg_rxbuf *h,
			const uint8_t *data, uint32_t len)
{
	uint32_t total = VU_HDR + len, off = 0;
	unsigned int k = (total + VU_TXBUF - 1) / VU_TXBUF;
	uint16_t head = p->tx_free[p->n_free - 1], id = head;

	for (unsigned int j = 0; j < k; j++) {
		uint8_t *buf = p->tx_bufs + (size_t)id * VU_TXBUF;
		uint32_t room = VU_TXBUF, piece;
		int next = j + 1 < k ? p->tx_free[p->n_free - 2] : -1;

		p->n_free--;
		if (j == 0) {
			memcpy(buf, h, VU_HDR);
			buf += VU_HDR;
			room -= VU_HDR;
		}
		piece = len - off < room ? len - off : room;
		memcpy(buf, data + off, piece);
		off += piece;
		sn_vq_desc_set(&p->tx, id, piece + (j == 0 ? VU_HDR : 0), next);
		if (next >= 0)
			p->tx_next[id] = (uint16_t)next;
		id = (uint16_t)next;
	}
	p->tx_cnt[head] = (uint8_t)k;
	sn_vq_post_head(&p->tx, head);
}

static unsigned int vu_tx_descs(uint32_t len)
{
	return (VU_HDR + len + VU_TXBUF - 1) / VU_TXBUF;
}

/* One frame: 1 posted or dropped (counted), 0 no room (back-pressure). */
static int vu_tx_one(struct vu_port *vp, struct vu_pair *p, struct sn_pkt *pk)
{
	struct virtio_net_hdr_mrg_rxbuf h;

	if (pk->len > SN_PKT_MAX_LEN) {
		sn_port_drop(&vp->port, SN_QS_port_drop_giant);
		return 1;
	}
	if (vu_tx_descs(pk->len) > p->n_free)
		return 0;
	if (sn_pkt_to_vnet_hdr(pk, &h.hdr)) {
		sn_port_drop(&vp->port, SN_QS_port_drop_offload);
		return 1;
	}
	/* A driver must not send DATA_VALID (virtio 1.1, 5.1.6.2.1): a
	 * device may refuse the frame for it. */
	h.hdr.flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	h.num_buffers = 0;
	vu_tx_chain(p, &h, pk->data, pk->len);
	vp->port.stats.sent_pkts++;
	vp->port.stats.sent_bytes += pk->len;
	return 1;
}

/* A GSO frame the device did not negotiate: segment it, each segment
 * copied once more into TX descriptors.  false when there is no room for
 * all of them (back-pressure). */
static bool vu_tx_segment(struct vu_port *vp, struct vu_pair *p, struct sn_pkt *pk,
			  unsigned int caps, uint8_t *scratch)
{
	struct sn_gso_iter it;

	if (sn_gso_begin(&it, pk, SN_PKT_MAX_LEN, sn_offload_csum_ok(pk, caps))) {
		sn_port_drop(&vp->port, SN_QS_port_drop_offload);
		return true;
	}
	if (sn_gso_count(&it) * vu_tx_descs(sn_gso_max_len(&it)) > p->n_free)
		return false;
	for (;;) {
		struct sn_pkt seg = { .data = scratch, .cap = SN_PKT_MAX_LEN };
		struct virtio_net_hdr_mrg_rxbuf h;

		if (sn_gso_next(&it, &seg) != 1)
			break;
		if (sn_pkt_to_vnet_hdr(&seg, &h.hdr)) {
			sn_port_drop(&vp->port, SN_QS_port_drop_offload);
			continue;
		}
		h.hdr.flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
		h.num_buffers = 0;
		vu_tx_chain(p, &h, seg.data, seg.len);
	}
	vp->port.stats.sent_pkts++;
	vp->port.stats.sent_bytes += pk->len;
	return true;
}

/* Free TX descriptors once the peer's consumed ones are back: a frame up
 * to one buffer takes one, so this is how many frames of that size send
 * takes now.  -1 without a session (send counts those itself). */
static int vu_tx_room(struct sn_port *port)
{
	struct vu_port *vp = (struct vu_port *)port;
	struct vu_pair *p = vu_pair_get(vp);
	int room = -1;

	if (!p)
		return -1;
	vu_tx_reclaim(vp, p);
	if (p->live)
		room = (int)p->n_free;
	pthread_mutex_unlock(&p->lock);
	return room;
}

static int vu_send_burst(struct sn_port *port, struct sn_pkt *const *pkts, unsigned int n)
{
	struct vu_port *vp = (struct vu_port *)port;
	struct vu_pair *p = vu_pair_get(vp);
	unsigned int caps, i, posted = 0;
	uint16_t before;

	if (!p)
		return 0; /* no peer: the caller counts what was not taken */
	vu_tx_reclaim(vp, p);
	if (!p->live) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	caps = atomic_load_explicit(&vp->dev->host_caps, memory_order_relaxed);
	before = p->tx.avail_idx;
	for (i = 0; i < n; i++) {
		struct sn_pkt *pk = pkts[i];

		switch (sn_offload_fit(pk, caps, SN_PKT_MAX_LEN)) {
		case SN_FIT_OK:
			break;
		case SN_FIT_CSUM:
			if (sn_pkt_csum_finish(pk)) {
				sn_port_drop(port, SN_QS_port_drop_offload);
				continue;
			}
			break;
		case SN_FIT_SEGMENT:
			if (!vp->seg && !(vp->seg = malloc(SN_PKT_MAX_LEN))) {
				sn_port_drop(port, SN_QS_port_drop_offload);
				continue;
			}
			if (!vu_tx_segment(vp, p, pk, caps, vp->seg))
				goto done;
			continue;
		case SN_FIT_TOO_BIG:
			sn_port_drop(port, SN_QS_port_drop_giant);
			continue;
		}
		if (!vu_tx_one(vp, p, pk))
			break;
	}
done:
	posted = (uint16_t)(p->tx.avail_idx - before);
	/* One kick per burst, and none while the device polls. */
	if (posted && sn_vq_publish(&p->tx))
		vu_kick(p->kick_tx);
	pthread_mutex_unlock(&p->lock);
	return (int)i;
}

/* Give the hold entries [0, k) back to the device and drop them from the
 * hold. */
static void vu_rx_repost(struct vu_pair *p, unsigned int k)
{
	for (unsigned int j = 0; j < k; j++)
		sn_vq_post(&p->rx, p->hold[j].id, VU_RXBUF);
	memmove(p->hold, p->hold + k, (p->n_hold - k) * sizeof(p->hold[0]));
	p->n_hold -= k;
}

/* Assemble one frame from the head of the hold.  1 frame, 0 dropped
 * (counted, buffers given back), -EAGAIN when its buffers are not all
 * used yet, -ENOSPC when it is longer than *budget (it stays in the hold,
 * its buffers not given back: the device is back-pressured). */
static int vu_rx_one(struct vu_port *vp, struct vu_pair *p, struct sn_pkt *pk, bool mrg,
		     uint64_t *budget)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	const struct sn_vq_elem *e0 = &p->hold[0];
	unsigned int nb = 1, j;
	uint32_t total = 0;

	if (e0->bad_len) {
		vu_rx_repost(p, 1); /* counted by vu_check_peer */
		return 0;
	}
	if (e0->len < VU_HDR + 14) {
		sn_port_drop(&vp->port, SN_QS_port_drop_runt);
		vu_rx_repost(p, 1);
		return 0;
	}
	/* The header is read once into our copy; the device may rewrite the
	 * buffer at any time. */
	memcpy(&h, p->rx_bufs + (size_t)e0->id * VU_RXBUF, VU_HDR);
	if (mrg) {
		nb = h.num_buffers;
		if (nb == 0 || nb > VU_RING) {
			sn_port_drop(&vp->port, SN_QS_port_drop_peer);
			vu_rx_repost(p, 1);
			return 0;
		}
		if (nb > p->n_hold) {
			/* Everything we posted is in the hold and still not
			 * enough: the device can never complete this frame. */
			if (p->rx.inflight == 0) {
				sn_port_drop(&vp->port, SN_QS_port_drop_peer);
				vu_rx_repost(p, p->n_hold);
				return 0;
			}
			return -EAGAIN;
		}
	}
	for (j = 0; j < nb; j++) {
		if (p->hold[j].bad_len) {
			vu_rx_repost(p, nb);
			return 0;
		}
		total += p->hold[j].len;
	}
	total -= VU_HDR;
	if (total > pk->cap || total > SN_PKT_MAX_LEN) {
		sn_port_drop(&vp->port, SN_QS_port_drop_giant);
		vu_rx_repost(p, nb);
		return 0;
	}
	if (total > *budget)
		return -ENOSPC;
	*budget -= total;
	{
		uint32_t off = 0;

		for (j = 0; j < nb; j++) {
			const uint8_t *b = p->rx_bufs + (size_t)p->hold[j].id * VU_RXBUF;
			uint32_t l = p->hold[j].len;

			if (j == 0) {
				b += VU_HDR;
				l -= VU_HDR;
			}
			memcpy(pk->data + off, b, l);
			off += l;
		}
	}
	vu_rx_repost(p, nb);
	pk->len = total;
	if (sn_vnet_hdr_to_pkt(&h.hdr, pk)) {
		sn_port_drop(&vp->port, SN_QS_port_drop_offload);
		return 0;
	}
	pk->queue = vp->queue;
	pk->hash = 0;
	pk->hash_type = 0;
	vp->port.stats.recv_pkts++;
	vp->port.stats.recv_bytes += pk->len;
	return 1;
}

static int vu_recv_budget(struct sn_port *port, struct sn_pkt *const *pkts, unsigned int n,
			  uint64_t max_bytes)
{
	struct vu_port *vp = (struct vu_port *)port;
	struct vu_pair *p = vu_pair_get(vp);
	unsigned int got = 0;
	uint16_t before;
	bool retried = false, held = false;

	if (!p)
		return 0;
	before = p->rx.avail_idx;
again:
	while (got < n) {
		int r;

		if (p->n_hold < VU_RING) {
			r = sn_vq_take_used(&p->rx, p->hold + p->n_hold, VU_RING - p->n_hold);
			if (r > 0)
				p->n_hold += (unsigned int)r;
			if (vu_check_peer(vp, p)) {
				vu_reset_request(vp, p);
				goto out;
			}
		}
		if (!p->n_hold)
			break;
		r = vu_rx_one(vp, p, pkts[got], vp->dev->mrg, &max_bytes);
		if (r == -ENOSPC)
			held = true;
		if (r < 0)
			break;
		got += (unsigned int)r;
	}
	if (got || held) {
		p->empty_streak = 0;
		if (p->rx_irq) {
			sn_vq_irq_disable(&p->rx);
			p->rx_irq = false;
		}
	} else if (!retried) {
		/* Idle: let the device notify us before the queue sleeps on
		 * the call fd, then look once more (it may have added entries
		 * before it saw the flag).  The call fd is drained only now and
		 * then: it is read only while idle, never per frame. */
		retried = true;
		if (!p->rx_irq) {
			p->rx_irq = true;
			if (sn_vq_irq_enable(&p->rx))
				goto again;
		}
		if (++p->empty_streak >= VU_DRAIN_EVERY) {
			uint64_t v;

			p->empty_streak = 0;
			(void)read(p->call_fd, &v, sizeof(v));
			if (sn_vq_used_pending(&p->rx))
				goto again;
		}
	}
out:
	if (p->live && p->rx.avail_idx != before && sn_vq_publish(&p->rx))
		vu_kick(p->kick_rx);
	pthread_mutex_unlock(&p->lock);
	return !got && held ? -ENOBUFS : (int)got;
}

static int vu_recv_burst(struct sn_port *port, struct sn_pkt *const *pkts, unsigned int n)
{
	return vu_recv_budget(port, pkts, n, UINT64_MAX);
}

static int vu_fd(struct sn_port *port)
{
	struct vu_port *vp = (struct vu_port *)port;

	return vp->dev->pairs[vp->queue % vp->dev->npairs].call_fd;
}

static int vu_set_offloads(struct sn_port *port, unsigned int bits)
{
	struct vu_dev *d = ((struct vu_port *)port)->dev;

	if (atomic_exchange(&d->want, bits) != bits)
		vu_wake(d);
	return 0;
}

/* ---- device lifetime ---- */

static void vu_dev_free(struct vu_dev *d)
{
	if (d->thread_started) {
		atomic_store(&d->stop, true);
		vu_wake(d);
		pthread_join(d->thread, NULL);
	}
	vu_conn_close(d);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->path);
	}
	for (unsigned int i = 0; d->pairs && i < d->npairs; i++) {
		struct vu_pair *p = &d->pairs[i];

		if (p->call_fd >= 0)
			close(p->call_fd);
		if (p->kick_rx >= 0)
			close(p->kick_rx);
		if (p->kick_tx >= 0)
			close(p->kick_tx);
		pthread_mutex_destroy(&p->lock);
	}
	free(d->pairs);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	if (d->hold_fd >= 0)
		close(d->hold_fd);
	free(d);
}

/* Under vu_devs_lock. */
static void vu_dev_unlink(struct vu_dev *d)
{
	for (struct vu_dev **pp = &vu_devs; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
}

static int vu_listen(struct vu_dev *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, d->path, sizeof(sa.sun_path));
	/* A socket left by an earlier run is ours to replace; any other
	 * file is not. */
	if (!lstat(d->path, &st) && S_ISSOCK(st.st_mode))
		unlink(d->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	d->listen_fd = fd;
	return 0;
}

static int vu_dev_new(const char *path, bool server, unsigned int npairs,
		      unsigned int want_pairs, int hold_fd, struct vu_dev **out)
{
	struct vu_dev *d = calloc(1, sizeof(*d));
	int rc;

	if (!d) {
		if (hold_fd >= 0)
			close(hold_fd);
		return -ENOMEM;
	}
	d->hold_fd = hold_fd;
	d->want_pairs = want_pairs;
	/* Until a frontend says otherwise, take every offload (the netif
	 * side segments what its peer lacks), so a connect with a full-
	 * featured frontend needs no renegotiation. */
	d->want = SN_OFFLOAD_ALL;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->server = server;
	d->npairs = npairs;
	d->listen_fd = d->conn_fd = d->memfd = -1;
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->pairs = calloc(npairs, sizeof(*d->pairs));
	if (d->wake_fd < 0 || !d->pairs) {
		rc = d->wake_fd < 0 ? -errno : -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < npairs; i++) {
		struct vu_pair *p = &d->pairs[i];

		pthread_mutex_init(&p->lock, NULL);
		p->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		p->kick_rx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		p->kick_tx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->call_fd < 0 || p->kick_rx < 0 || p->kick_tx < 0) {
			rc = -errno;
			d->npairs = i + 1;
			goto err;
		}
	}
	if (server) {
		rc = vu_listen(d);
		if (rc) {
			fprintf(stderr, "stagenet: vhost-user: listen on %s: %s\n", path,
				strerror(-rc));
			goto err;
		}
	}
	rc = -pthread_create(&d->thread, NULL, vu_thread, d);
	if (rc)
		goto err;
	d->thread_started = true;
	*out = d;
	return 0;
err:
	vu_dev_free(d);
	return rc;
}

static void vu_port_close(struct sn_port *port)
{
	struct vu_port *vp = (struct vu_port *)port;
	struct vu_dev *d = vp->dev;
	bool last;

	pthread_mutex_lock(&vu_devs_lock);
	last = --d->refs == 0;
	if (last)
		vu_dev_unlink(d);
	pthread_mutex_unlock(&vu_devs_lock);
	if (last)
		vu_dev_free(d);
	free(vp->seg);
	free(vp);
}

static const struct sn_port_ops vu_ops = {
	.kind = "vhost-user",
	.send = vu_send_burst,
	.recv = vu_recv_burst,
	.fd = vu_fd,
	.close = vu_port_close,
	.set_offloads = vu_set_offloads,
	.tx_room = vu_tx_room,
	.recv_budget = vu_recv_budget,
};

/* PATH with {domid} and {devid} replaced; a directory gets
 * vif<domid>.<devid>.sock in it. */
static int vu_resolve(const char *spec, const struct sn_port_ctx *ctx, char *out, size_t len)
{
	char buf[512];
	size_t o = 0;
	struct stat st;

	for (const char *s = spec; *s; ) {
		int w;

		if (!strncmp(s, "{domid}", 7)) {
			w = snprintf(buf + o, sizeof(buf) - o, "%u", ctx->domid);
			s += 7;
		} else if (!strncmp(s, "{devid}", 7)) {
			w = snprintf(buf + o, sizeof(buf) - o, "%u", ctx->devid);
			s += 7;
		} else {
			w = snprintf(buf + o, sizeof(buf) - o, "%c", *s);
			s++;
		}
		if (w < 0 || (size_t)w >= sizeof(buf) - o)
			return -ENAMETOOLONG;
		o += (size_t)w;
	}
	if (!stat(buf, &st) && S_ISDIR(st.st_mode)) {
		if ((size_t)snprintf(out, len, "%s/vif%u.%u.sock", buf, ctx->domid, ctx->devid) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	if ((size_t)snprintf(out, len, "%s", buf) >= len)
		return -ENAMETOOLONG;
	return 0;
}

struct vu_spec {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server;
	unsigned int queues; /* 0: as many as the netif queues */
};

static int vu_parse(const char *args, const struct sn_port_ctx *ctx, struct vu_spec *sp)
{
	char *copy, *cur, *key, *val;
	uint64_t queues = 0;
	int rc;

	memset(sp, 0, sizeof(*sp));
	if (!args || !*args || *args == ',') {
		fprintf(stderr, "stagenet: vhost-user: needs a socket path (vhost-user:PATH)\n");
		return -EINVAL;
	}
	copy = strdup(args);
	if (!copy)
		return -ENOMEM;
	cur = strchr(copy, ',');
	if (cur)
		*cur++ = '\0';
	rc = vu_resolve(copy, ctx, sp->path, sizeof(sp->path));
	if (rc) {
		fprintf(stderr, "stagenet: vhost-user: socket path too long: %s\n", copy);
		goto out;
	}
	while (cur && sn_port_kv_next(&cur, &key, &val)) {
		if (!strcmp(key, "server") && !*val) {
			sp->server = true;
		} else if (!strcmp(key, "queues")) {
			rc = sn_port_parse_u64(val, 1, 256, &queues);
			if (rc) {
				fprintf(stderr, "stagenet: vhost-user: bad queues=%s\n", val);
				goto out;
			}
		} else {
			fprintf(stderr, "stagenet: vhost-user: unknown option '%s' "
				"(server, queues=N)\n", key);
			rc = -EINVAL;
			goto out;
		}
	}
	sp->queues = (unsigned int)queues;
out:
	free(copy);
	return rc;
}

int sn_port_vhost_user_hold(const char *args, const struct sn_port_ctx *ctx)
{
	struct vu_spec sp;
	struct vu_dev *d;
	int sv[2], rc;

	rc = vu_parse(args, ctx, &sp);
	if (rc)
		return rc;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pthread_mutex_lock(&vu_devs_lock);
	for (d = vu_devs; d; d = d->next)
		if (!strcmp(d->path, sp.path))
			break;
	if (d) {
		rc = -EBUSY;
		close(sv[1]);
	} else {
		/* Without queues= a held device starts with one pair and
		 * grows to what the frontend connects with. */
		rc = vu_dev_new(sp.path, sp.server, sp.queues ? sp.queues : VU_HOLD_PAIRS,
				sp.queues ? sp.queues : 1, sv[1], &d);
		if (!rc) {
			d->refs++;
			d->next = vu_devs;
			vu_devs = d;
		}
	}
	pthread_mutex_unlock(&vu_devs_lock);
	if (rc) {
		close(sv[0]);
		return rc;
	}
	return sv[0];
}

int sn_port_vhost_user_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct vu_port *vp;
	struct vu_spec sp;
	struct vu_dev *d;
	unsigned int np;
	int rc;

	rc = vu_parse(args, ctx, &sp);
	if (rc)
		return rc;
	np = ctx->nqueues;
	if (sp.queues && sp.queues < np)
		np = sp.queues;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->port.ops = &vu_ops;
	vp->queue = ctx->queue;
	pthread_mutex_lock(&vu_devs_lock);
	for (d = vu_devs; d; d = d->next)
		if (!strcmp(d->path, sp.path))
			break;
	if (d && d->server != sp.server) {
		rc = -EBUSY;
	} else if (!d) {
		rc = vu_dev_new(sp.path, sp.server, np, np, -1, &d);
		if (!rc) {
			d->next = vu_devs;
			vu_devs = d;
		}
	}
	if (!rc) {
		d->refs++;
		vp->dev = d;
		/* A held device grows to the queues this connect brought
		 * (the control thread renegotiates). */
		if (np > d->npairs)
			np = d->npairs;
		if (atomic_exchange(&d->want_pairs, np) != np)
			vu_wake(d);
	}
	pthread_mutex_unlock(&vu_devs_lock);
	if (rc) {
		free(vp);
		return rc;
	}
	*out = &vp->port;
	return 0;
}
