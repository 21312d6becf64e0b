/* Crafted vhost-user back-end (tests/common/peer_vhost.h).  It trusts the
 * front-end under test: it is test code, and the front-end is ours. */
#include <errno.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/peer_vhost.h"
#include "port/vhost_user.h"

struct pv_vq {
	uint16_t num, last_avail, used_idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int call;
};

struct peer_vhost {
	char path[108];
	int listen_fd, conn_fd, stop_fd;
	pthread_t thread;
	pthread_mutex_t lock;  /* the session state below */
	uint8_t *map;
	size_t map_len;
	struct vu_region reg;
	struct pv_vq vq[2];    /* 0 = receiveq, 1 = transmitq */
	unsigned int enabled;
	_Atomic unsigned int sessions, ended;
};

static void *pv_gpa(struct peer_vhost *pv, uint64_t gpa)
{
	return pv->map + (gpa - pv->reg.gpa);
}

static void *pv_uva(struct peer_vhost *pv, uint64_t uva)
{
	return pv->map + (uva - pv->reg.uva);
}

static void pv_reset(struct peer_vhost *pv)
{
	if (pv->map)
		munmap(pv->map, pv->map_len);
	pv->map = NULL;
	for (int i = 0; i < 2; i++) {
		if (pv->vq[i].call >= 0)
			close(pv->vq[i].call);
		memset(&pv->vq[i], 0, sizeof(pv->vq[i]));
		pv->vq[i].call = -1;
	}
	pv->enabled = 0;
}

static int pv_reply(struct peer_vhost *pv, uint32_t req, const void *pl, uint32_t size)
{
	struct vu_msg_hdr h = { .request = req, .flags = VU_VERSION | VU_FLAG_REPLY, .size = size };

	if (write(pv->conn_fd, &h, sizeof(h)) != sizeof(h) ||
	    write(pv->conn_fd, pl, size) != (ssize_t)size)
		return -EIO;
	return 0;
}

/* One message; -1 when the connection ended. */
static int pv_message(struct peer_vhost *pv)
{
	struct vu_msg_hdr h;
	union vu_payload p;
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_REGIONS)];
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	uint64_t v;
	ssize_t r = recvmsg(pv->conn_fd, &m, MSG_WAITALL);

	if (r != sizeof(h) || h.size > sizeof(p))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	memset(&p, 0, sizeof(p));
	if (h.size && recv(pv->conn_fd, &p, h.size, MSG_WAITALL) != (ssize_t)h.size)
		return -1;
	pthread_mutex_lock(&pv->lock);
	switch (h.request) {
	case VU_GET_FEATURES:
		v = (1ull << 32) | (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VU_F_PROTOCOL_FEATURES);
		pv_reply(pv, h.request, &v, sizeof(v));
		break;
	case VU_GET_PROTOCOL_FEATURES:
		v = 0;
		pv_reply(pv, h.request, &v, sizeof(v));
		break;
	case VU_SET_MEM_TABLE:
		pv_reset(pv);
		pv->reg = p.mem.r[0];
		pv->map_len = pv->reg.size + pv->reg.mmap_offset;
		pv->map = mmap(NULL, pv->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (pv->map == MAP_FAILED)
			pv->map = NULL;
		else
			pv->map += pv->reg.mmap_offset;
		break;
	case VU_SET_VRING_NUM:
		if (p.state.index < 2)
			pv->vq[p.state.index].num = (uint16_t)p.state.num;
		break;
	case VU_SET_VRING_ADDR:
		if (p.addr.index < 2 && pv->map) {
			struct pv_vq *q = &pv->vq[p.addr.index];

			q->desc = pv_uva(pv, p.addr.desc);
			q->avail = pv_uva(pv, p.addr.avail);
			q->used = pv_uva(pv, p.addr.used);
		}
		break;
	case VU_SET_VRING_CALL:
		if ((p.u64 & 0xff) < 2) {
			pv->vq[p.u64 & 0xff].call = fd;
			fd = -1;
		}
		break;
	case VU_SET_VRING_ENABLE:
		if (p.state.num && ++pv->enabled == 2)
			atomic_fetch_add(&pv->sessions, 1);
		break;
	case VU_GET_VRING_BASE:
		if (p.state.index < 2)
			p.state.num = pv->vq[p.state.index].last_avail;
		pv_reply(pv, h.request, &p, sizeof(p.state));
		pv->enabled = 0;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&pv->lock);
	if (fd >= 0)
		close(fd);
	return 0;
}

static void pv_end(struct peer_vhost *pv)
{
	pthread_mutex_lock(&pv->lock);
	if (pv->conn_fd >= 0) {
		close(pv->conn_fd);
		pv->conn_fd = -1;
		pv_reset(pv);
		atomic_fetch_add(&pv->ended, 1);
	}
	pthread_mutex_unlock(&pv->lock);
}

static void *pv_thread(void *arg)
{
	struct peer_vhost *pv = arg;

	for (;;) {
		struct pollfd f[2] = { { .fd = pv->conn_fd >= 0 ? pv->conn_fd : pv->listen_fd,
					 .events = POLLIN },
				       { .fd = pv->stop_fd, .events = POLLIN } };

		if (poll(f, 2, 100) < 0)
			continue;
		if (f[1].revents)
			break;
		if (!f[0].revents)
			continue;
		if (pv->conn_fd < 0) {
			int c = accept(pv->listen_fd, NULL, NULL);

			pthread_mutex_lock(&pv->lock);
			pv->conn_fd = c;
			pthread_mutex_unlock(&pv->lock);
		} else if (pv_message(pv) < 0) {
			pv_end(pv);
		}
	}
	return NULL;
}

int peer_vhost_listen(const char *path, struct peer_vhost **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct peer_vhost *pv = calloc(1, sizeof(*pv));

	if (!pv)
		return -ENOMEM;
	snprintf(pv->path, sizeof(pv->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	pv->conn_fd = -1;
	pv->vq[0].call = pv->vq[1].call = -1;
	pthread_mutex_init(&pv->lock, NULL);
	unlink(path);
	pv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pv->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pv->listen_fd < 0 || pv->stop_fd < 0 ||
	    bind(pv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(pv->listen_fd, 4) < 0 || pthread_create(&pv->thread, NULL, pv_thread, pv)) {
		int rc = -errno;

		close(pv->listen_fd);
		free(pv);
		return rc ? rc : -EIO;
	}
	*out = pv;
	return 0;
}

bool peer_vhost_wait_session(struct peer_vhost *pv, unsigned int n, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 10; i++) {
		if (atomic_load(&pv->sessions) >= n)
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

unsigned int peer_vhost_ended(struct peer_vhost *pv)
{
	return atomic_load(&pv->ended);
}

int peer_vhost_rx_put(struct peer_vhost *pv, const void *frame, uint32_t len,
		      enum peer_vhost_lie lie)
{
	struct pv_vq *q = &pv->vq[0];
	struct virtio_net_hdr_mrg_rxbuf h = { .num_buffers = 1 };
	int rc = -EAGAIN;

	pthread_mutex_lock(&pv->lock);
	if (pv->map && q->avail &&
	    __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail) {
		uint16_t id = q->avail->ring[q->last_avail++ & (q->num - 1)];
		uint8_t *b = pv_gpa(pv, q->desc[id].addr);
		struct vring_used_elem *u = &q->used->ring[q->used_idx & (q->num - 1)];

		memcpy(b, &h, sizeof(h));
		memcpy(b + sizeof(h), frame, len);
		u->id = lie == PV_LIE_ID ? (uint32_t)q->num + 7 : id;
		u->len = lie == PV_LIE_LEN ? q->desc[id].len + 4096 : (uint32_t)(sizeof(h) + len);
		q->used_idx = (uint16_t)(q->used_idx + (lie == PV_LIE_JUMP ? 5000 : 1));
		__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
		if (q->call >= 0)
			(void)eventfd_write(q->call, 1);
		rc = 0;
	}
	pthread_mutex_unlock(&pv->lock);
	return rc;
}

int peer_vhost_tx_get(struct peer_vhost *pv, void *buf, uint32_t cap)
{
	struct pv_vq *q = &pv->vq[1];
	int rc = -EAGAIN;

	pthread_mutex_lock(&pv->lock);
	if (pv->map && q->avail &&
	    __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail) {
		uint16_t head = q->avail->ring[q->last_avail++ & (q->num - 1)], id = head;
		uint32_t off = 0, skip = sizeof(struct virtio_net_hdr_mrg_rxbuf);

		rc = 0;
		for (unsigned int k = 0; k < q->num; k++) {
			uint8_t *b = pv_gpa(pv, q->desc[id].addr);
			uint32_t l = q->desc[id].len, s = skip < l ? skip : l;

			skip -= s;
			if (off + (l - s) > cap) {
				rc = -EMSGSIZE;
				break;
			}
			memcpy((uint8_t *)buf + off, b + s, l - s);
			off += l - s;
			if (!(q->desc[id].flags & VRING_DESC_F_NEXT))
				break;
			id = q->desc[id].next;
		}
		q->used->ring[q->used_idx & (q->num - 1)].id = head;
		q->used->ring[q->used_idx & (q->num - 1)].len = 0;
		q->used_idx++;
		__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
		if (!rc)
			rc = (int)off;
	}
	pthread_mutex_unlock(&pv->lock);
	return rc;
}

void peer_vhost_disconnect(struct peer_vhost *pv)
{
	pv_end(pv);
}

void peer_vhost_free(struct peer_vhost *pv)
{
	if (!pv)
		return;
	(void)eventfd_write(pv->stop_fd, 1);
	pthread_join(pv->thread, NULL);
	pv_end(pv);
	close(pv->listen_fd);
	close(pv->stop_fd);
	unlink(pv->path);
	pthread_mutex_destroy(&pv->lock);
	free(pv);
}
