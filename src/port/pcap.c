/* `pcap` port: read frames from a capture file and/or append frames to
 * one, through libpcap (DLT_EN10MB).  With several queues each queue uses
 * its own files, FILE.q<N>, so no two writers share a dump. */
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "port/port_impl.h"

/* Big enough for any netif packet; GSO frames are stored whole. */
#define PCAP_SNAPLEN 262144

struct pcap_port {
	struct sn_port port;
	pcap_t *in;
	pcap_t *dead; /* the handle pcap_dump_open needs for the link type */
	pcap_dumper_t *out;
	uint16_t queue;
};

static int pcap_port_recv(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct pcap_port *pp = (struct pcap_port *)p;
	unsigned int got = 0;

	if (!pp->in)
		return -ENODATA;
	while (got < n) {
		struct pcap_pkthdr *h;
		const u_char *d;
		struct sn_pkt *pk = pkts[got];
		int r = pcap_next_ex(pp->in, &h, &d);

		if (r == PCAP_ERROR_BREAK) { /* end of file */
			if (got)
				break;
			return -ENODATA;
		}
		if (r != 1) {
			if (got)
				break;
			return -EIO;
		}
		/* A file is input from anywhere: a record that was cut short
		 * at capture, or too big for netif, is dropped and counted.
		 * A cut record is "truncated" whatever its captured length:
		 * the frame on the wire was another one. */
		if (h->caplen != h->len) {
			sn_port_drop(p, SN_QS_port_drop_truncated);
			continue;
		}
		if (h->caplen < 14) {
			sn_port_drop(p, SN_QS_port_drop_runt);
			continue;
		}
		if (h->caplen > SN_PKT_MAX_LEN || h->caplen > pk->cap) {
			sn_port_drop(p, SN_QS_port_drop_giant);
			continue;
		}
		memcpy(pk->data, d, h->caplen);
		pk->len = h->caplen;
		pk->flags = 0;
		pk->gso_size = 0;
		pk->gso_type = 0;
		pk->hash = 0;
		pk->hash_type = 0;
		pk->csum_start = 0;
		pk->csum_offset = 0;
		pk->queue = pp->queue;
		p->stats.recv_pkts++;
		p->stats.recv_bytes += pk->len;
		got++;
	}
	return (int)got;
}

/* Frames are written as they are: a CSUM_PARTIAL frame shows its
 * pseudo-header seed, like a capture on a host with checksum offload. */
static int pcap_port_send(struct sn_port *p, struct sn_pkt *const *pkts, unsigned int n)
{
	struct pcap_port *pp = (struct pcap_port *)p;
	struct pcap_pkthdr h;
	struct timeval tv;

	if (!pp->out)
		return 0;
	gettimeofday(&tv, NULL);
	for (unsigned int i = 0; i < n; i++) {
		h.ts = tv;
		h.caplen = h.len = pkts[i]->len;
		pcap_dump((u_char *)pp->out, &h, pkts[i]->data);
		p->stats.sent_pkts++;
		p->stats.sent_bytes += pkts[i]->len;
	}
	/* One flush per burst: a reader (tcpdump -r, a test) sees whole
	 * records even while we run, and a crash loses at most one burst. */
	if (n && pcap_dump_flush(pp->out))
		return -EIO;
	return (int)n;
}

static int pcap_port_fd(struct sn_port *p)
{
	(void)p;
	return -1; /* a file is always readable */
}

static void pcap_port_close(struct sn_port *p)
{
	struct pcap_port *pp = (struct pcap_port *)p;

	if (pp->out)
		pcap_dump_close(pp->out);
	if (pp->dead)
		pcap_close(pp->dead);
	if (pp->in)
		pcap_close(pp->in);
	free(pp);
}

static const struct sn_port_ops pcap_ops = {
	.kind = "pcap",
	.send = pcap_port_send,
	.recv = pcap_port_recv,
	.fd = pcap_port_fd,
	.close = pcap_port_close,
};

static int queue_path(char *buf, size_t len, const char *file, const struct sn_port_ctx *ctx)
{
	int r;

	if (ctx->nqueues > 1)
		r = snprintf(buf, len, "%s.q%u", file, ctx->queue);
	else
		r = snprintf(buf, len, "%s", file);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int sn_port_pcap_open(const char *args, const struct sn_port_ctx *ctx, struct sn_port **out)
{
	char errbuf[PCAP_ERRBUF_SIZE], path[PATH_MAX];
	char *copy, *cur, *k, *v, *in_file = NULL, *out_file = NULL;
	struct pcap_port *pp = NULL;
	int rc = -EINVAL;

	copy = strdup(args ? args : "");
	if (!copy)
		return -ENOMEM;
	cur = copy;
	while (sn_port_kv_next(&cur, &k, &v)) {
		if (!strcmp(k, "in") && *v) {
			in_file = v;
		} else if (!strcmp(k, "out") && *v) {
			out_file = v;
		} else {
			fprintf(stderr, "stagenet: pcap: bad option '%s' (in=FILE, out=FILE)\n", k);
			goto err;
		}
	}
	if (!in_file && !out_file) {
		fprintf(stderr, "stagenet: pcap: needs in=FILE and/or out=FILE\n");
		goto err;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		rc = -ENOMEM;
		goto err;
	}
	pp->port.ops = &pcap_ops;
	pp->queue = ctx->queue;
	if (in_file) {
		rc = queue_path(path, sizeof(path), in_file, ctx);
		if (rc)
			goto err;
		pp->in = pcap_open_offline(path, errbuf);
		if (!pp->in) {
			fprintf(stderr, "stagenet: pcap: %s: %s\n", path, errbuf);
			rc = -ENOENT;
			goto err;
		}
		if (pcap_datalink(pp->in) != DLT_EN10MB) {
			fprintf(stderr, "stagenet: pcap: %s: not an Ethernet capture\n", path);
			rc = -EPROTONOSUPPORT;
			goto err;
		}
	}
	if (out_file) {
		rc = queue_path(path, sizeof(path), out_file, ctx);
		if (rc)
			goto err;
		pp->dead = pcap_open_dead(DLT_EN10MB, PCAP_SNAPLEN);
		if (!pp->dead) {
			rc = -ENOMEM;
			goto err;
		}
		pp->out = pcap_dump_open(pp->dead, path);
		if (!pp->out) {
			fprintf(stderr, "stagenet: pcap: %s: %s\n", path, pcap_geterr(pp->dead));
			rc = -EIO;
			goto err;
		}
	}
	free(copy);
	*out = &pp->port;
	return 0;

err:
	if (pp)
		pcap_port_close(&pp->port);
	free(copy);
	return rc;
}
