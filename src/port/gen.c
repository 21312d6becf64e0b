/* `gen` port: a packet generator for tests and the benchmark.  Frames follow
 * genfmt.h so a `sink` can verify every byte.  Per packet it copies a
 * prebuilt header template, patches the per-sequence fields and copies the
 * payload from a precomputed pattern: no allocation, no header rebuild.
 * `light` does what DPDK testpmd's txonly does instead: the whole frame is
 * one copy of a template built once (sequence 0), so a `sink:light` can
 * count it but nothing can check its order or payload (README "Ports").
 * `ping` keeps one frame in flight: the next leaves only when the last came
 * back (through a `sink:echo` on the other side), and the round trips are
 * reported at close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "port/csum.h"
#include "port/genfmt.h"
#include "port/port_impl.h"
#include "proto/ring.h"

struct gen_port {
	struct sn_port port;
	uint32_t size;
	uint32_t flows;
	uint64_t count;   /* 0 = unlimited */
	uint64_t rate;    /* packets/s, 0 = unlimited */
	uint64_t emitted;
	uint16_t queue;
	bool tcp, gso, light;
	uint32_t hlen;
	uint8_t *frame;   /* light: the whole frame, written once */
	uint16_t ip_sum0; /* folded header sum of the template (IP id 0) */
	uint32_t sp_stream; /* sport of the last stream, cached (a division) */
	uint16_t sp_port;
	double tokens;
	struct timespec last;
	int tfd;          /* rate: a timer, so an event-mode loop sleeps between bursts */
	bool ping, in_flight;
	uint64_t ping_seq; /* of the frame in flight */
	struct timespec sent_at;
	uint64_t rtts;     /* round trips seen; the last GEN_RTT_KEEP in rtt_ns */
	uint32_t *rtt_ns;
	uint8_t tmpl[SN_GENFMT_TCP_HLEN + SN_GENFMT_PHDR];
	struct sn_genfmt_pattern pat;
};

/* Round trips kept for the report: the most recent ones, so a warm-up
 * before a measurement mostly falls out. */
#define GEN_RTT_KEEP 16384u
/* A ping frame not back within this long was lost: send the next. */
#define GEN_PING_GIVE_UP_NS 1000000000ll

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000ll + (b->tv_nsec - a->tv_nsec);
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static unsigned int gen_budget(struct gen_port *g, unsigned int n)
{
	struct timespec now;
	double dt, burst;

	if (!g->rate)
		return n;
	if (g->tfd >= 0) {
		uint64_t ticks;

		/* Level-triggered: drain it, or an event loop would spin. */
		if (read(g->tfd, &ticks, sizeof(ticks)) < 0)
			ticks = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - g->last.tv_sec) + (double)(now.tv_nsec - g->last.tv_nsec) / 1e9;
	g->last = now;
	/* Cap the bucket at 10 ms worth (at least one burst) so a stalled
	 * caller does not get a long line-rate burst afterwards, yet a caller
	 * that polls on a millisecond timer (netback, whose timer sleeps
	 * longer under load) still gets the whole rate. */
	burst = (double)g->rate / 100.0;
	if (burst < n)
		burst = n;
	g->tokens += dt * (double)g->rate;
	if (g->tokens > burst)
		g->tokens = burst;
	/* Whole bursts only: a trickle of one packet per token would keep
	 * an event-mode peer polling forever; the offered rate is the same. */
	if (g->tokens < n)
		return 0;
	g->tokens -= n;
	return n;
}

static int gen_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct gen_port *g = (struct gen_port *)p;
	uint32_t plen = g->size - g->hlen - SN_GENFMT_PHDR;
	unsigned int i;

	if (g->count && g->emitted >= g->count)
		return -ENODATA;
	if (g->ping) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (g->in_flight && ns_between(&g->sent_at, &now) < GEN_PING_GIVE_UP_NS)
			return 0;
		n = n ? 1 : 0;
		g->in_flight = n > 0;
		g->ping_seq = g->emitted;
		g->sent_at = now;
	}
	if (g->count && g->count - g->emitted < n)
		n = (unsigned int)(g->count - g->emitted);
	n = gen_budget(g, n);
	for (i = 0; i < n; i++) {
		struct sn_pkt *pk = pkts[i];
		uint32_t flow = (uint32_t)(g->emitted % g->flows);
		uint64_t seq = g->emitted / g->flows;
		uint32_t stream = (uint32_t)g->queue << 16 | flow;
		uint8_t *f = pk->data, *pl = f + g->hlen;
		uint16_t idw, c;

		if (pk->cap < g->size)
			break;
		if (g->light) {
			memcpy(f, g->frame, g->size);
			goto meta;
		}
		memcpy(f, g->tmpl, g->hlen);
		put16be(f + 18, (uint16_t)seq);
		/* RFC 1624 incremental update: only the IP id differs from the
		 * template, whose id was 0. */
		memcpy(&idw, f + 18, 2);
		c = (uint16_t)~sn_csum_fold((uint64_t)g->ip_sum0 + idw);
		memcpy(f + 24, &c, 2);
		if (stream != g->sp_stream) {
			g->sp_stream = stream;
			g->sp_port = sn_genfmt_sport(stream);
		}
		put16be(f + 34, g->sp_port);
		if (g->tcp)
			put32be(f + 38, (uint32_t)(1 + seq * (g->size - g->hlen)));
		sn_genfmt_put_le(pl, SN_GENFMT_MAGIC, 4);
		sn_genfmt_put_le(pl + 4, stream, 4);
		sn_genfmt_put_le(pl + 8, seq, 8);
		memcpy(pl + SN_GENFMT_PHDR, sn_genfmt_payload(&g->pat, seq) + SN_GENFMT_PHDR, plen);
meta:
		pk->len = g->size;
		pk->queue = g->queue;
		pk->hash = 0;
		pk->hash_type = 0;
		pk->gso_size = 0;
		pk->gso_type = 0;
		pk->csum_start = 0;
		pk->csum_offset = 0;
		pk->flags = 0;
		if (g->tcp) {
			pk->flags = SN_PKT_CSUM_PARTIAL;
			pk->csum_start = 34;
			pk->csum_offset = 16;
		}
		if (g->gso) {
			pk->flags |= SN_PKT_GSO;
			pk->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
			pk->gso_size = SN_GENFMT_MSS;
		}
		g->emitted++;
		p->stats.recv_pkts++;
		p->stats.recv_bytes += g->size;
	}
	if (i == 0 && n > 0)
		return -EMSGSIZE; /* caller's buffers are smaller than size= */
	return (int)i;
}

/* recv within a byte budget: a generator's next frames simply wait. */
static int gen_recv_budget(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n,
			   uint64_t max_bytes)
{
	struct gen_port *g = (struct gen_port *)p;

	if (max_bytes / g->size < n)
		n = (unsigned int)(max_bytes / g->size);
	if (n)
		return gen_recv(p, pkts, n);
	if (g->count && g->emitted >= g->count)
		return -ENODATA;
	/* Nothing fits: still take the rate timer's ticks, or a queue that
	 * polls its fd would spin on it. */
	(void)gen_budget(g, 0);
	return -ENOBUFS;
}

/* A generator has nothing to deliver to; it takes and discards what it is
 * given so the reverse direction does not count as port drops. */
static int gen_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct gen_port *g = (struct gen_port *)p;

	for (unsigned int i = 0; i < n; i++) {
		const struct sn_pkt *pk = pkts[i];

		p->stats.sent_pkts++;
		p->stats.sent_bytes += pk->len;
		/* Our frame back (by its sequence number, read from the
		 * frame with bounds checked: it came from a peer). */
		if (g->ping && g->in_flight && pk->len >= g->hlen + SN_GENFMT_PHDR &&
		    sn_genfmt_get_le(pk->data + g->hlen + 8, 8) == g->ping_seq / g->flows) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			g->rtt_ns[g->rtts++ % GEN_RTT_KEEP] =
				(uint32_t)ns_between(&g->sent_at, &now);
			g->in_flight = false;
		}
	}
	return (int)n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The one line a ping generator leaves (stderr, at close), read by
 * `stagenet bench`: median and 99th percentile of the kept round trips. */
static void gen_ping_report(struct gen_port *g)
{
	uint32_t n = g->rtts < GEN_RTT_KEEP ? (uint32_t)g->rtts : GEN_RTT_KEEP;

	if (!n) {
		fprintf(stderr, "stagenet: gen ping: no round trips\n");
		return;
	}
	qsort(g->rtt_ns, n, sizeof(*g->rtt_ns), cmp_u32);
	fprintf(stderr, "stagenet: gen ping: %llu round trips, rtt_us median=%.2f p99=%.2f\n",
		(unsigned long long)g->rtts, g->rtt_ns[n / 2] / 1e3,
		g->rtt_ns[(uint32_t)((uint64_t)n * 99 / 100)] / 1e3);
}

static int gen_fd(struct sn_port *p)
{
	return ((struct gen_port *)p)->tfd;
}

static void gen_close(struct sn_port *p)
{
	struct gen_port *g = (struct gen_port *)p;

	if (g->ping)
		gen_ping_report(g);
	if (g->tfd >= 0)
		close(g->tfd);
	free(g->rtt_ns);
	free(g->frame);
	free(g);
}

/* A rate-limited generator is an input that becomes ready over time: a
 * periodic timer (about one burst of 32 at the rate, at least every 20 us
 * apart) makes its fd readable so a sleeping queue loop wakes for it. */
static int gen_timer(struct gen_port *g)
{
	uint64_t ns = 32000000000ull / g->rate;
	struct itimerspec its;

	if (ns < 20000)
		ns = 20000;
	its.it_interval.tv_sec = (time_t)(ns / 1000000000u);
	its.it_interval.tv_nsec = (long)(ns % 1000000000u);
	its.it_value = its.it_interval;
	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g->tfd < 0)
		return -errno;
	if (timerfd_settime(g->tfd, 0, &its, NULL))
		return -errno;
	return 0;
}

static const struct sn_port_ops gen_ops = {
	.kind = "gen",
	.send = gen_send,
	.recv = gen_recv,
	.fd = gen_fd,
	.close = gen_close,
	.recv_budget = gen_recv_budget,
};

int sn_port_gen_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	uint64_t size = SN_GENFMT_MIN_UDP, count = 0, rate = 0, flows = 1;
	char *copy = NULL, *cur, *k, *v;
	bool want_tcp = false, light = false, ping = false;
	struct gen_port *g = NULL;
	uint16_t c;
	int rc = -EINVAL;

	copy = strdup(args ? args : "");
	if (!copy)
		return -ENOMEM;
	cur = copy;
	while (sn_port_kv_next(&cur, &k, &v)) {
		int bad;

		if (!strcmp(k, "size"))
			bad = sn_port_parse_u64(v, SN_GENFMT_MIN_UDP, SN_PKT_MAX_LEN, &size);
		else if (!strcmp(k, "count"))
			bad = sn_port_parse_u64(v, 0, UINT64_MAX, &count);
		else if (!strcmp(k, "rate"))
			bad = sn_port_parse_u64(v, 0, 1000000000, &rate);
		else if (!strcmp(k, "flows"))
			bad = sn_port_parse_u64(v, 1, 65535, &flows);
		else if (!strcmp(k, "light") && !*v) {
			light = true;
			bad = 0;
		} else if (!strcmp(k, "ping") && !*v) {
			ping = true;
			bad = 0;
		} else if (!strcmp(k, "proto") && (!strcmp(v, "udp") || !strcmp(v, "tcp"))) {
			want_tcp = !strcmp(v, "tcp");
			bad = 0;
		} else
			bad = -EINVAL;
		if (bad) {
			fprintf(stderr, "stagenet: gen: bad option '%s%s%s' (size=60..65535, "
				"count=N, rate=PPS, flows=1..65535, proto=udp|tcp, light, ping)\n",
				k, *v ? "=" : "", v);
			goto out;
		}
	}
	if (want_tcp && size < SN_GENFMT_MIN_TCP) {
		fprintf(stderr, "stagenet: gen: proto=tcp needs size >= %u\n", SN_GENFMT_MIN_TCP);
		goto out;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = -ENOMEM;
		goto out;
	}
	g->port.ops = &gen_ops;
	g->tfd = -1;
	g->size = (uint32_t)size;
	g->count = count;
	g->rate = rate;
	g->flows = (uint32_t)flows;
	g->queue = ctx->queue;
	g->tcp = want_tcp || size > SN_GENFMT_MAX_UDP;
	g->gso = size > SN_GENFMT_MAX_UDP;
	clock_gettime(CLOCK_MONOTONIC, &g->last);
	sn_genfmt_pattern_init(&g->pat);
	g->hlen = sn_genfmt_headers(g->tmpl, g->size, g->tcp, 0, 0);
	memcpy(&c, g->tmpl + 24, 2);
	g->ip_sum0 = (uint16_t)~c;
	g->sp_stream = (uint32_t)g->queue << 16;
	g->sp_port = sn_genfmt_sport(g->sp_stream);
	g->light = light;
	g->ping = ping && !light;
	if (ping && (light || flows != 1)) {
		fprintf(stderr, "stagenet: gen: ping takes neither light nor flows\n");
		goto out;
	}
	if (ping) {
		g->rtt_ns = calloc(GEN_RTT_KEEP, sizeof(*g->rtt_ns));
		if (!g->rtt_ns) {
			rc = -ENOMEM;
			goto out;
		}
	}
	/* Netback takes a port with an fd for the network side, which cannot
	 * be back-pressured (back/rx.c drops when its backlog is full); a
	 * generator must wait instead, so there it has none and netback polls
	 * it on its retry timer. */
	if (rate && !ctx->backend) {
		rc = gen_timer(g);
		if (rc)
			goto out;
	}
	if (light) {
		g->frame = malloc(g->size);
		if (!g->frame) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(g->frame, g->tmpl, g->hlen + SN_GENFMT_PHDR);
		memcpy(g->frame + g->hlen + SN_GENFMT_PHDR,
		       sn_genfmt_payload(&g->pat, 0) + SN_GENFMT_PHDR,
		       g->size - g->hlen - SN_GENFMT_PHDR);
	}
	*out = &g->port;
	g = NULL;
	rc = 0;
out:
	if (g) {
		if (g->tfd >= 0)
			close(g->tfd);
		free(g->rtt_ns);
		free(g->frame);
	}
	free(g);
	free(copy);
	return rc;
}
