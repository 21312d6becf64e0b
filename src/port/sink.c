/* `sink` port: takes every packet, counts it, and checks frames in the gen
 * format (genfmt.h) byte for byte: headers are rebuilt from the packet's
 * own stream/seq and compared, the payload is compared with the pattern,
 * and sequence numbers are tracked per stream (gap -> lost, old -> bad_seq).
 * `sink:light` only counts, as DPDK testpmd's rxonly does: the benchmark's
 * like-with-like comparison with testpmd (README "Ports").  `sink:echo`
 * checks as `sink` does and then sends every frame back (the reflector of
 * `gen:ping`), through a small FIFO and an eventfd that is readable while
 * frames wait.  `sink:foreign` checks gen frames as `sink` does and counts
 * every other frame as received, not as bad: the benchmark's far-end
 * senders (DPDK testpmd's txonly) carry no gen header or sequence. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "port/csum.h"
#include "port/genfmt.h"
#include "port/port_impl.h"

/* More streams than this are not tracked (a flood of forged stream ids
 * must not grow memory without bound); their packets still get checked. */
#define SINK_MAX_STREAMS (1u << 20)
/* echo: frames waiting to go back, and the largest one echoed (a ping is
 * small; a larger frame is counted and not echoed). */
#define ECHO_SLOTS 64u
#define ECHO_MAX_FRAME 2048u

struct sink_stream {
	uint32_t stream;
	uint32_t used;
	uint64_t next; /* next expected sequence number */
};

struct sink_port {
	struct sn_port port;
	struct sink_stream *tab;
	uint32_t cap, nused; /* cap is a power of two */
	bool light, echo, foreign;
	int efd;            /* echo: readable while frames wait */
	bool efd_set;
	uint32_t e_head, e_tail;
	uint32_t e_len[ECHO_SLOTS];
	uint8_t *e_buf;     /* ECHO_SLOTS x ECHO_MAX_FRAME */
	uint8_t expect[SN_GENFMT_TCP_HLEN + SN_GENFMT_PHDR];
	/* expect holds the headers of (t_len, t_tcp) for stream 0, seq 0, with
	 * their IP header sum t_sum0 (id 0); each frame of that shape only
	 * patches the fields its stream and seq change, as gen does.  sport
	 * of the last stream seen, cached (a division). */
	uint32_t t_len;
	bool t_tcp, t_valid;
	uint16_t t_sum0;
	uint32_t sp_stream;
	uint16_t sp_port;
	struct sn_genfmt_pattern pat;
};

static uint32_t stream_slot(uint32_t stream, uint32_t cap)
{
	return (stream * 0x9E3779B1u) & (cap - 1);
}

static struct sink_stream *stream_find(struct sink_port *s, uint32_t stream)
{
	uint32_t i;

	/* Keep the load at most 1/2; growth is amortised over new streams,
	 * never paid per packet of a known one. */
	if ((s->nused + 1) * 2 > s->cap && s->cap < 2 * SINK_MAX_STREAMS) {
		uint32_t ncap = s->cap * 2;
		struct sink_stream *nt = calloc(ncap, sizeof(*nt));

		if (nt) {
			for (uint32_t j = 0; j < s->cap; j++) {
				if (!s->tab[j].used)
					continue;
				i = stream_slot(s->tab[j].stream, ncap);
				while (nt[i].used)
					i = (i + 1) & (ncap - 1);
				nt[i] = s->tab[j];
			}
			free(s->tab);
			s->tab = nt;
			s->cap = ncap;
		}
	}
	i = stream_slot(stream, s->cap);
	while (s->tab[i].used) {
		if (s->tab[i].stream == stream)
			return &s->tab[i];
		i = (i + 1) & (s->cap - 1);
	}
	if ((s->nused + 1) * 2 > s->cap)
		return NULL;
	s->tab[i].used = 1;
	s->tab[i].stream = stream;
	s->tab[i].next = 0;
	s->nused++;
	return &s->tab[i];
}

static void wr16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* s->expect becomes what the headers of a len-byte frame of stream/seq
 * must be: the same bytes sn_genfmt_headers writes (genfmt.h), built from
 * a per-shape template instead of from scratch. */
static void expect_headers(struct sink_port *s, uint32_t len, bool tcp, uint32_t stream,
			   uint64_t seq)
{
	uint32_t hlen = tcp ? SN_GENFMT_TCP_HLEN : SN_GENFMT_UDP_HLEN;
	uint16_t idw, c;

	if (!s->t_valid || s->t_len != len || s->t_tcp != tcp) {
		sn_genfmt_headers(s->expect, len, tcp, 0, 0);
		memcpy(&c, s->expect + 24, 2);
		s->t_sum0 = (uint16_t)~c;
		s->t_len = len;
		s->t_tcp = tcp;
		s->t_valid = true;
		s->sp_stream = 0;
		s->sp_port = sn_genfmt_sport(0);
	}
	if (stream != s->sp_stream) {
		s->sp_stream = stream;
		s->sp_port = sn_genfmt_sport(stream);
	}
	wr16be(s->expect + 18, (uint16_t)seq);
	/* RFC 1624: only the IP id differs from the template's (0). */
	memcpy(&idw, s->expect + 18, 2);
	c = (uint16_t)~sn_csum_fold((uint64_t)s->t_sum0 + idw);
	memcpy(s->expect + 24, &c, 2);
	wr16be(s->expect + 34, s->sp_port);
	if (tcp) {
		uint32_t tseq = (uint32_t)(1 + seq * (len - hlen));

		wr16be(s->expect + 38, (uint16_t)(tseq >> 16));
		wr16be(s->expect + 40, (uint16_t)tseq);
	}
	sn_genfmt_put_le(s->expect + hlen + 4, stream, 4);
	sn_genfmt_put_le(s->expect + hlen + 8, seq, 8);
}

/* 0: all good; 1: headers good, payload/checksum bad (sequence still
 * trustworthy); -1: not a well-formed gen frame. */
static int sink_check(struct sink_port *s, const uint8_t *f, uint32_t len,
		      uint32_t *stream, uint64_t *seq)
{
	uint32_t hlen, csum_at;
	bool tcp;
	int bad = 0;

	if (len < SN_GENFMT_UDP_HLEN + SN_GENFMT_PHDR)
		return -1;
	if (f[23] == 6)
		tcp = true;
	else if (f[23] == 17)
		tcp = false;
	else
		return -1;
	hlen = tcp ? SN_GENFMT_TCP_HLEN : SN_GENFMT_UDP_HLEN;
	if (len < hlen + SN_GENFMT_PHDR)
		return -1;
	if (sn_genfmt_get_le(f + hlen, 4) != SN_GENFMT_MAGIC)
		return -1;
	*stream = (uint32_t)sn_genfmt_get_le(f + hlen + 4, 4);
	*seq = sn_genfmt_get_le(f + hlen + 8, 8);
	expect_headers(s, len, tcp, *stream, *seq);
	csum_at = tcp ? 50 : 40;
	if (memcmp(f, s->expect, csum_at) ||
	    memcmp(f + csum_at + 2, s->expect + csum_at + 2, hlen + SN_GENFMT_PHDR - csum_at - 2))
		return -1;
	/* Somebody on the path may have finished the checksum (a software
	 * fallback, a real NIC): then it must be correct. */
	if (memcmp(f + csum_at, s->expect + csum_at, 2) && sn_l4_csum_verify(f, len))
		bad = 1;
	if (memcmp(f + hlen + SN_GENFMT_PHDR, sn_genfmt_payload(&s->pat, *seq) + SN_GENFMT_PHDR,
		   len - hlen - SN_GENFMT_PHDR))
		bad = 1;
	return bad;
}

static int sink_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct sink_port *s = (struct sink_port *)p;

	for (unsigned int i = 0; i < n; i++) {
		const struct sn_pkt *pk = pkts[i];
		struct sink_stream *st;
		uint32_t stream;
		uint64_t seq;
		int rc;

		p->stats.sent_pkts++;
		p->stats.sent_bytes += pk->len;
		if (s->echo && pk->len <= ECHO_MAX_FRAME && s->e_tail - s->e_head < ECHO_SLOTS) {
			uint32_t at = s->e_tail++ % ECHO_SLOTS;

			memcpy(s->e_buf + (size_t)at * ECHO_MAX_FRAME, pk->data, pk->len);
			s->e_len[at] = pk->len;
			if (!s->efd_set) {
				uint64_t one = 1;

				s->efd_set = write(s->efd, &one, sizeof(one)) == sizeof(one);
			}
		}
		if (s->light)
			continue;
		rc = sink_check(s, pk->data, pk->len, &stream, &seq);
		if (rc < 0 && s->foreign)
			continue;
		if (rc)
			p->stats.bad_payload++;
		if (rc < 0)
			continue;
		st = stream_find(s, stream);
		if (!st)
			continue;
		if (seq == st->next) {
			st->next++;
		} else if (seq > st->next) {
			p->stats.lost += seq - st->next;
			st->next = seq + 1;
		} else {
			/* Duplicate or late: it was already counted lost when the
			 * gap was seen, so only flag it. */
			p->stats.bad_seq++;
		}
	}
	return (int)n;
}

static int sink_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct sink_port *s = (struct sink_port *)p;
	unsigned int i;

	if (!s->echo)
		return -ENODATA; /* a plain sink never produces */
	for (i = 0; i < n && s->e_head != s->e_tail; i++) {
		uint32_t at = s->e_head % ECHO_SLOTS, len = s->e_len[at];

		if (pkts[i]->cap < len)
			break;
		memcpy(pkts[i]->data, s->e_buf + (size_t)at * ECHO_MAX_FRAME, len);
		pkts[i]->len = len;
		pkts[i]->flags = 0;
		pkts[i]->gso_size = 0;
		pkts[i]->gso_type = 0;
		s->e_head++;
		p->stats.recv_pkts++;
		p->stats.recv_bytes += len;
	}
	if (s->e_head == s->e_tail && s->efd_set) {
		uint64_t cnt;

		/* Empty again: not readable until the next frame. */
		if (read(s->efd, &cnt, sizeof(cnt)) == sizeof(cnt))
			s->efd_set = false;
	}
	return (int)i;
}

static int sink_fd(struct sn_port *p)
{
	return ((struct sink_port *)p)->efd;
}

static void sink_close(struct sn_port *p)
{
	struct sink_port *s = (struct sink_port *)p;

	if (s->efd >= 0)
		close(s->efd);
	free(s->e_buf);
	free(s->tab);
	free(s);
}

static const struct sn_port_ops sink_ops = {
	.kind = "sink",
	.send = sink_send,
	.recv = sink_recv,
	.fd = sink_fd,
	.close = sink_close,
};

int sn_port_sink_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	struct sink_port *s;
	bool light = args && !strcmp(args, "light"), echo = args && !strcmp(args, "echo");
	bool foreign = args && !strcmp(args, "foreign");

	(void)ctx;
	if (args && *args && !light && !echo && !foreign) {
		fprintf(stderr, "stagenet: sink: bad option '%s' (light, echo or foreign)\n", args);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cap = 64;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (!s->tab) {
		free(s);
		return -ENOMEM;
	}
	s->port.ops = &sink_ops;
	s->light = light;
	s->echo = echo;
	s->foreign = foreign;
	s->efd = -1;
	if (echo) {
		s->e_buf = malloc((size_t)ECHO_SLOTS * ECHO_MAX_FRAME);
		s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!s->e_buf || s->efd < 0) {
			if (s->efd >= 0)
				close(s->efd);
			free(s->e_buf);
			free(s->tab);
			free(s);
			return -ENOMEM;
		}
	}
	sn_genfmt_pattern_init(&s->pat);
	*out = &s->port;
	return 0;
}
