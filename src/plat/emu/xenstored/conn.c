/* One client connection: request framing on input, a bounded queue of
 * replies and watch events on output.  A client that stops reading gets
 * its watch events dropped (and counted) past XSD_MAX_EVENTS_PENDING, and
 * its requests are not processed while its replies pile up (XSA-349). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plat/emu/xenstored/xsd.h"

int xsd_conn_send(struct xsd *d, struct xsd_conn *c, uint32_t type,
		  uint32_t req_id, uint32_t tx_id, const void *p1,
		  uint32_t l1, const void *p2, uint32_t l2)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id,
				 .tx_id = tx_id, .len = l1 + l2 };
	bool ev = type == XS_WATCH_EVENT;
	struct xsd_msg *m;

	if (c->dead)
		return -EPIPE;
	/* An event longer than a payload (deep path, long token) would make
	 * libxenstore's reader drop the connection: count it as dropped. */
	if (l1 + l2 > XENSTORE_PAYLOAD_MAX) {
		if (ev)
			c->events_dropped++;
		return -E2BIG;
	}
	if (ev && c->events_pending >= XSD_MAX_EVENTS_PENDING) {
		c->events_dropped++;
		if (c->events_dropped == 1 || !(c->events_dropped % 1024))
			xsd_log(d, "conn %llu: %llu watch events dropped (not reading)",
				(unsigned long long)c->id,
				(unsigned long long)c->events_dropped);
		return -ENOBUFS;
	}
	m = malloc(sizeof(*m) + sizeof(h) + h.len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->is_event = ev;
	m->len = (uint32_t)sizeof(h) + h.len;
	m->off = 0;
	memcpy(m->data, &h, sizeof(h));
	if (l1)
		memcpy(m->data + sizeof(h), p1, l1);
	if (l2)
		memcpy(m->data + sizeof(h) + l1, p2, l2);
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->out_bytes += m->len;
	if (ev)
		c->events_pending++;
	xsd_conn_want(d, c);
	return 0;
}

int xsd_conn_error(struct xsd *d, struct xsd_conn *c,
		   const struct xsd_sockmsg *req, int err)
{
	const char *name = xsd_errno_name(err);

	return xsd_conn_send(d, c, XS_ERROR, req->req_id, req->tx_id, name,
			     (uint32_t)strlen(name) + 1, NULL, 0);
}

int xsd_conn_flush(struct xsd_conn *c)
{
	while (c->out_head) {
		struct xsd_msg *m = c->out_head;
		ssize_t n = send(c->fd, m->data + m->off, m->len - m->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		m->off += (uint32_t)n;
		c->out_bytes -= (uint32_t)n;
		if (m->off < m->len)
			continue;
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		if (m->is_event)
			c->events_pending--;
		free(m);
	}
	return 0;
}

void xsd_conn_free_output(struct xsd_conn *c)
{
	while (c->out_head) {
		struct xsd_msg *m = c->out_head;

		c->out_head = m->next;
		free(m);
	}
	c->out_tail = NULL;
	c->out_bytes = 0;
	c->events_pending = 0;
}

static int read_some(int fd, void *buf, size_t want, size_t *got)
{
	ssize_t n;

	do
		n = recv(fd, buf, want, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET; /* EOF, possibly mid message */
	*got = (size_t)n;
	return 0;
}

int xsd_conn_input(struct xsd *d, struct xsd_conn *c)
{
	const uint32_t hl = sizeof(c->hdr);

	while (!c->dead && !c->close_after_flush &&
	       c->out_bytes < XSD_OUT_SOFT_CAP) {
		size_t got;
		int rc;

		if (c->in_have < hl) {
			rc = read_some(c->fd, (char *)&c->hdr + c->in_have,
				       hl - c->in_have, &got);
			if (rc)
				return rc == -EAGAIN ? 0 : rc;
			c->in_have += (uint32_t)got;
			if (c->in_have < hl)
				continue;
			/* A length we cannot hold leaves no way to find the
			 * next header: answer once, then drop the client
			 * (xenstored drops it too). */
			if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
				xsd_log(d, "conn %llu: payload length %u too big",
					(unsigned long long)c->id, c->hdr.len);
				xsd_conn_error(d, c, &c->hdr, E2BIG);
				c->close_after_flush = true;
				xsd_conn_want(d, c);
				return 0;
			}
		}
		if (c->in_have < hl + c->hdr.len) {
			rc = read_some(c->fd, c->in + (c->in_have - hl),
				       hl + c->hdr.len - c->in_have, &got);
			if (rc)
				return rc == -EAGAIN ? 0 : rc;
			c->in_have += (uint32_t)got;
			if (c->in_have < hl + c->hdr.len)
				continue;
		}
		c->in[c->hdr.len] = '\0';
		xsd_handle(d, c);
		c->in_have = 0;
	}
	return 0;
}
