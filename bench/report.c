/* Benchmark results: summary statistics of a cell's repetitions, and the
 * tables, JSON and gnuplot bars `stagenet bench` produces from them. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/persist.h"
#include "bench/report.h"

static const char *const mode_order[] = { "copy", "linux", "staging", "persist",
					   "persist-c1", "persist-c10" };
#define NMODES (sizeof(mode_order) / sizeof(mode_order[0]))
static const char *const dir_order[] = { "tx", "rx" };

void sn_bench_cell_init(struct sn_bench_cell *c, const char *mode, const char *dir,
			uint32_t frame, uint16_t queues)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->mode, sizeof(c->mode), "%s", mode);
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->frame = frame;
	c->queues = queues;
	c->limit_fraction = -1.0;
	c->port_mpps = -1.0;
	snprintf(c->port, sizeof(c->port), "gen");
	c->cpu_pct[0] = c->cpu_pct[1] = -1.0;
	c->first_staged_s = -1.0;
}

void sn_bench_cell_fail(struct sn_bench_cell *c, const char *fmt, ...)
{
	va_list ap;

	if (c->status == SN_CELL_FAILED && c->reason[0])
		return;
	c->status = SN_CELL_FAILED;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int sn_bench_summary(const double *v, unsigned int n, double *med, double *min, double *max)
{
	double s[SN_BENCH_MAX_REPS];

	if (n == 0 || n > SN_BENCH_MAX_REPS)
		return -EINVAL;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	*min = s[0];
	*max = s[n - 1];
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
	return 0;
}

void sn_bench_cell_finish(struct sn_bench_cell *c)
{
	double lo, hi;

	if (c->status == SN_CELL_SKIPPED)
		return;
	if (c->lost || c->bad_seq || c->bad_payload)
		sn_bench_cell_fail(c, "%llu lost, %llu out of order, %llu corrupt packets",
				   (unsigned long long)c->lost, (unsigned long long)c->bad_seq,
				   (unsigned long long)c->bad_payload);
	if (c->c.drops)
		sn_bench_cell_fail(c, "%llu packets dropped", (unsigned long long)c->c.drops);
	if (c->status == SN_CELL_OK && (c->nreps == 0 || c->c.pkts == 0))
		sn_bench_cell_fail(c, "no packets delivered");
	if (c->nreps == 0)
		return;
	sn_bench_summary(c->rep_mpps, c->nreps, &c->mpps, &c->mpps_min, &c->mpps_max);
	sn_bench_summary(c->rep_gbps, c->nreps, &c->gbps, &lo, &hi);
	c->ns_per_pkt = c->mpps > 0 ? 1e3 / c->mpps : 0;
}

void sn_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* JSON has no NaN/Infinity, and a failed cell has no rate: null. */
static void json_num(FILE *f, const char *key, double v, bool valid)
{
	fprintf(f, ", \"%s\": ", key);
	if (valid && isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void json_u64(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, ", \"%s\": %llu", key, (unsigned long long)v);
}

static const char *status_name(enum sn_bench_status s)
{
	return s == SN_CELL_OK ? "ok" : s == SN_CELL_FAILED ? "failed" : "skipped";
}

int sn_bench_write_json(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	fputs("[\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct sn_bench_cell *c = &cells[i];
		bool ok = c->status == SN_CELL_OK;

		fputs("  {\"mode\": ", f);
		sn_json_string(f, c->mode);
		fputs(", \"dir\": ", f);
		sn_json_string(f, c->dir);
		fprintf(f, ", \"frame\": %u, \"queues\": %u, \"port\": ", c->frame, c->queues);
		sn_json_string(f, c->port);
		fputs(", \"status\": ", f);
		sn_json_string(f, status_name(c->status));
		json_num(f, "mpps", c->mpps, ok);
		json_num(f, "mpps_min", c->mpps_min, ok);
		json_num(f, "mpps_max", c->mpps_max, ok);
		json_num(f, "gbps", c->gbps, ok);
		json_num(f, "ns_per_pkt", c->ns_per_pkt, ok);
		json_u64(f, "grant_copies", c->c.grant_copies);
		json_u64(f, "grant_copy_batches", c->c.grant_copy_batches);
		json_u64(f, "grant_maps", c->c.grant_maps);
		json_u64(f, "grant_unmaps", c->c.grant_unmaps);
		json_u64(f, "memcpy_bytes", c->c.memcpy_bytes);
		json_u64(f, "notifications", c->c.notifications);
		json_u64(f, "staged_slots", c->c.staged_slots);
		json_u64(f, "unstaged_slots", c->c.unstaged_slots);
		json_u64(f, "sleeps", c->c.sleeps);
		json_u64(f, "packets", c->c.pkts);
		json_u64(f, "bytes", c->c.bytes);
		json_u64(f, "drops", c->c.drops);
		json_u64(f, "lost", c->lost);
		json_u64(f, "bad_seq", c->bad_seq);
		json_u64(f, "bad_payload", c->bad_payload);
		fprintf(f, ", \"payload_checked\": %s", c->payload_checked ? "true" : "false");
		fprintf(f, ", \"light\": %s", c->light ? "true" : "false");
		fprintf(f, ", \"event\": %s", c->event ? "true" : "false");
		json_u64(f, "offered_pps", c->offered_pps);
		json_num(f, "cpu_back_pct", c->cpu_pct[0], c->cpu_pct[0] >= 0);
		json_num(f, "cpu_front_pct", c->cpu_pct[1], c->cpu_pct[1] >= 0);
		if (c->ping) {
			fputs(", \"ping\": true", f);
			json_num(f, "rtt_median_us", c->rtt_med_us, ok);
			json_num(f, "rtt_p99_us", c->rtt_p99_us, ok);
		}
		if (c->version[0]) {
			fputs(", \"version\": ", f);
			sn_json_string(f, c->version);
		}
		json_u64(f, "unconfirmed", c->unconfirmed);
		fprintf(f, ", \"reps\": %u, \"rep_mpps\": [", c->nreps);
		for (unsigned int r = 0; r < c->nreps; r++)
			fprintf(f, "%s%.6g", r ? ", " : "",
				isfinite(c->rep_mpps[r]) ? c->rep_mpps[r] : 0.0);
		fputc(']', f);
		json_num(f, "seconds", c->secs, true);
		json_num(f, "limit_fraction", c->limit_fraction, c->limit_fraction >= 0 && ok);
		if (c->port_mpps >= 0)
			json_num(f, "port_mpps", c->port_mpps, ok);
		fputs(", \"policy\": ", f);
		sn_json_string(f, c->policy);
		fputs(", \"reason\": ", f);
		sn_json_string(f, c->reason);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fputs("]\n", f);
	return ferror(f) ? -EIO : 0;
}

static const struct sn_bench_cell *find_x(const struct sn_bench_cell *cells, size_t n,
					  const char *mode, const char *dir, uint32_t frame,
					  uint16_t queues, bool light)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cells[i].mode, mode) && !strcmp(cells[i].dir, dir) &&
		    cells[i].frame == frame && (queues == 0 || cells[i].queues == queues) &&
		    cells[i].light == light)
			return &cells[i];
	return NULL;
}

/* The fully checked cells: the proposal's tables. */
static const struct sn_bench_cell *find(const struct sn_bench_cell *cells, size_t n,
					const char *mode, const char *dir, uint32_t frame,
					uint16_t queues)
{
	return find_x(cells, n, mode, dir, frame, queues, false);
}

static bool is_bulk(uint32_t frame)
{
	return frame >= SN_BENCH_BULK_MIN;
}

/* The figure a table shows: Mpps for frames, Gbit/s for bulk. */
static double figure(const struct sn_bench_cell *c)
{
	return is_bulk(c->frame) ? c->gbps : c->mpps;
}

static void put_value(FILE *f, const struct sn_bench_cell *c, int w)
{
	if (!c)
		fprintf(f, " %*s", w, "-");
	else if (c->status == SN_CELL_FAILED)
		fprintf(f, " %*s", w, "FAILED");
	else if (c->status == SN_CELL_SKIPPED)
		fprintf(f, " %*s", w, "skipped");
	else
		fprintf(f, " %*.2f", w, figure(c));
}

static bool cell_ok(const struct sn_bench_cell *c)
{
	return c && c->status == SN_CELL_OK;
}

static const char *mode_title(const char *m)
{
	if (!strcmp(m, "persist-c1") || !strcmp(m, "persist-c10"))
		return !strcmp(m, "persist-c1") ? "pers1%" : "pers10%";
	return !strcmp(m, "linux") ? "before" : !strcmp(m, "staging") ? "after" : m;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static size_t distinct_frames(const struct sn_bench_cell *cells, size_t n, uint32_t *out,
			      size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < k && out[j] != cells[i].frame; j++)
			;
		if (j == k && k < max)
			out[k++] = cells[i].frame;
	}
	qsort(out, k, sizeof(*out), cmp_u32);
	return k;
}

static void frame_title(FILE *f, uint32_t frame)
{
	if (frame == 60)
		fprintf(f, "64-byte frames (60 B + 4 B CRC on the wire), Mpps");
	else if (is_bulk(frame))
		fprintf(f, "bulk: %u-byte TCPv4 GSO packets (MSS 1448), Gbit/s", frame);
	else
		fprintf(f, "%u-byte frames (%u on the wire), Mpps", frame, frame + 4);
}

/* Which columns the tables have: the modes and directions that were run,
 * the before/after ratio when both ran, the fraction of the limit row
 * when staging ran. */
struct layout {
	bool have[NMODES], have_dir[2], ratio, frac;
	int cols;
};

static void layout_of(const struct sn_bench_cell *cells, size_t n, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < n; i++) {
		for (size_t m = 0; m < NMODES; m++)
			if (!strcmp(cells[i].mode, mode_order[m]))
				l->have[m] = true;
		for (int d = 0; d < 2; d++)
			if (!strcmp(cells[i].dir, dir_order[d]))
				l->have_dir[d] = true;
	}
	l->ratio = l->have[1] && l->have[2];
	l->frac = l->have[2];
	for (size_t m = 0; m < NMODES; m++)
		l->cols += l->have[m];
	l->cols += l->ratio + l->frac;
}

/* The queue counts run at frame size fr (limit rows aside), ascending. */
static size_t frame_queues(const struct sn_bench_cell *cells, size_t n, uint32_t fr,
			   uint16_t *qs, size_t max)
{
	size_t nq = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (cells[i].frame != fr || !strcmp(cells[i].mode, "limit") ||
		    !strcmp(cells[i].mode, "peer"))
			continue;
		for (j = 0; j < nq && qs[j] != cells[i].queues; j++)
			;
		if (j == nq && nq < max)
			qs[nq++] = cells[i].queues;
	}
	for (size_t a = 1; a < nq; a++)
		for (size_t b = a; b > 0 && qs[b - 1] > qs[b]; b--) {
			uint16_t t = qs[b];

			qs[b] = qs[b - 1];
			qs[b - 1] = t;
		}
	return nq;
}

static void print_head(FILE *f, const struct layout *l)
{
	fprintf(f, "%-7s", "");
	for (int d = 0; d < 2; d++) {
		if (!l->have_dir[d])
			continue;
		fprintf(f, " | %-*s", l->cols * 9 - 1, d == 0 ? "guest TX" : "guest RX");
	}
	fprintf(f, "\n%-7s", "queues");
	for (int d = 0; d < 2; d++) {
		if (!l->have_dir[d])
			continue;
		fputs(" |", f);
		for (size_t m = 0; m < NMODES; m++)
			if (l->have[m])
				fprintf(f, " %8s", mode_title(mode_order[m]));
		if (l->ratio)
			fprintf(f, " %8s", "ratio");
		if (l->frac)
			fprintf(f, " %8s", "of limit");
	}
	fputc('\n', f);
}

/* One direction's columns of a queue count's row. */
static void print_dir_cols(FILE *f, const struct layout *l, const struct sn_bench_cell *cells,
			   size_t n, uint32_t fr, uint16_t q, int d)
{
	const struct sn_bench_cell *b, *a;

	fputs(" |", f);
	for (size_t m = 0; m < NMODES; m++)
		if (l->have[m])
			put_value(f, find(cells, n, mode_order[m], dir_order[d], fr, q), 8);
	b = find(cells, n, "linux", dir_order[d], fr, q);
	a = find(cells, n, "staging", dir_order[d], fr, q);
	if (l->ratio) {
		if (cell_ok(a) && cell_ok(b) && figure(b) > 0)
			fprintf(f, " %7.2fx", figure(a) / figure(b));
		else
			fprintf(f, " %8s", "-");
	}
	if (l->frac) {
		if (cell_ok(a) && a->limit_fraction >= 0)
			fprintf(f, " %7.0f%%", a->limit_fraction * 100);
		else
			fprintf(f, " %8s", "-");
	}
}

static void print_frame(FILE *f, const struct layout *l, const struct sn_bench_cell *cells,
			size_t n, uint32_t fr)
{
	const struct sn_bench_cell *lim = find(cells, n, "limit", "-", fr, 0);
	uint16_t qs[64];
	size_t nq = frame_queues(cells, n, fr, qs, 64);

	fputc('\n', f);
	frame_title(f, fr);
	fputs(" (median of the repetitions)\n", f);
	if (nq)
		print_head(f, l);
	for (size_t qi = 0; qi < nq; qi++) {
		fprintf(f, "%-7u", qs[qi]);
		for (int d = 0; d < 2; d++)
			if (l->have_dir[d])
				print_dir_cols(f, l, cells, n, fr, qs[qi], d);
		fputc('\n', f);
	}
	if (lim) {
		fprintf(f, "limit (bare shared-memory SPSC ring, memcpy in and out): ");
		if (lim->status == SN_CELL_OK)
			fprintf(f, "%.2f Mpps, %.2f Gbit/s [%.2f..%.2f Mpps]\n", lim->mpps,
				lim->gbps, lim->mpps_min, lim->mpps_max);
		else
			fprintf(f, "FAILED (%s)\n", lim->reason);
	}
}

static void put_rate(FILE *f, const struct sn_bench_cell *c)
{
	if (!c)
		fputs("-", f);
	else if (c->status != SN_CELL_OK)
		fprintf(f, "%s (%s)", c->status == SN_CELL_FAILED ? "FAILED" : "skipped", c->reason);
	else
		fprintf(f, "%.2f Mpps [%.2f..%.2f]", c->mpps, c->mpps_min, c->mpps_max);
}

/* Like with like: the light staging cells beside the light limit row and
 * DPDK's virtio-user/vhost-user pair (testpmd txonly -> rxonly). */
static void print_light(FILE *f, const struct sn_bench_cell *cells, size_t n, uint32_t fr)
{
	const struct sn_bench_cell *lim = find_x(cells, n, "limit", "-", fr, 0, true);
	const struct sn_bench_cell *peer[2];
	uint16_t qs[64];
	size_t nq = frame_queues(cells, n, fr, qs, 64);
	bool any = lim != NULL;

	for (int d = 0; d < 2; d++) {
		peer[d] = find_x(cells, n, "peer", dir_order[d], fr, 1, true);
		any |= peer[d] != NULL;
	}
	if (!any)
		return;
	fprintf(f, "like with like: light gen/sink (frame from a template, counted, payload "
		   "not checked, as testpmd), Mpps\n");
	fprintf(f, "%-7s | %-26s | %-26s\n", "", "guest TX", "guest RX");
	fprintf(f, "%-7s | %8s %8s %8s | %8s %8s %8s\n", "queues", "staging", "of limit",
		"of peer", "staging", "of limit", "of peer");
	for (size_t qi = 0; qi < nq; qi++) {
		bool row = false;

		for (int d = 0; d < 2; d++)
			row |= find_x(cells, n, "staging", dir_order[d], fr, qs[qi], true) != NULL;
		if (!row)
			continue;
		fprintf(f, "%-7u", qs[qi]);
		for (int d = 0; d < 2; d++) {
			const struct sn_bench_cell *a =
				find_x(cells, n, "staging", dir_order[d], fr, qs[qi], true);

			fputs(" |", f);
			put_value(f, a, 8);
			if (cell_ok(a) && a->limit_fraction >= 0)
				fprintf(f, " %7.0f%%", a->limit_fraction * 100);
			else
				fprintf(f, " %8s", "-");
			if (cell_ok(a) && cell_ok(peer[d]) && peer[d]->mpps > 0)
				fprintf(f, " %7.0f%%", a->mpps / peer[d]->mpps * 100);
			else
				fprintf(f, " %8s", "-");
		}
		fputc('\n', f);
	}
	if (lim) {
		fputs("limit, light: ", f);
		put_rate(f, lim);
		fputc('\n', f);
	}
	for (int d = 0; d < 2; d++) {
		if (!peer[d])
			continue;
		fprintf(f, "peer %s (%s testpmd, virtio-user %s vhost-user, one core each): ",
			d ? "RX" : "TX", peer[d]->version[0] ? peer[d]->version : "DPDK",
			d ? "<-" : "->");
		put_rate(f, peer[d]);
		fputc('\n', f);
	}
}

/* Per cell: the rate with its spread and the counters that explain it. */
static void print_counters(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	fprintf(f, "\nPer cell: median [min..max] Mpps, Gbit/s, ns/packet, and per delivered "
		   "packet: grant copies, copy calls, maps, unmaps, memcpy bytes, "
		   "notifications\n");
	fprintf(f, "%-32s %8s %17s %8s %8s %7s %6s %6s %6s %8s %7s\n", "cell", "Mpps",
		"[min..max]", "Gbit/s", "ns/pkt", "copies", "calls", "maps", "unmaps", "memcpy",
		"notif");
	for (size_t i = 0; i < n; i++) {
		const struct sn_bench_cell *c = &cells[i];
		char name[64], range[40];
		double p = c->c.pkts ? (double)c->c.pkts : 1.0;

		snprintf(name, sizeof(name), "%s%s%s %s %u q%u%s%s%s", c->mode,
			 c->policy[0] ? "/" : "", c->policy, c->dir, c->frame, c->queues,
			 c->light ? " light" : "", c->event ? " ev" : "", c->ping ? " ping" : "");
		if (c->offered_pps)
			snprintf(name + strlen(name), sizeof(name) - strlen(name), " @%.3gM",
				 (double)c->offered_pps / 1e6);
		if (c->status != SN_CELL_OK) {
			fprintf(f, "%-32s %s: %s\n", name,
				c->status == SN_CELL_FAILED ? "FAILED" : "skipped", c->reason);
			continue;
		}
		snprintf(range, sizeof(range), "[%.2f..%.2f]", c->mpps_min, c->mpps_max);
		fprintf(f, "%-32s %8.3f %17s %8.2f %8.1f %7.3f %6.3f %6.3f %6.3f %8.1f %7.4f\n",
			name, c->mpps, range, c->gbps, c->ns_per_pkt,
			(double)c->c.grant_copies / p, (double)c->c.grant_copy_batches / p,
			(double)c->c.grant_maps / p, (double)c->c.grant_unmaps / p,
			(double)c->c.memcpy_bytes / p, (double)c->c.notifications / p);
	}
}

void sn_bench_print_tables(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	uint32_t frames[64];
	size_t nf = distinct_frames(cells, n, frames, 64);
	struct layout l;

	layout_of(cells, n, &l);
	for (size_t fi = 0; fi < nf; fi++) {
		print_frame(f, &l, cells, n, frames[fi]);
		print_light(f, cells, n, frames[fi]);
	}
	print_counters(f, cells, n);
}

static void put_cpu(FILE *f, double pct)
{
	if (pct < 0)
		fprintf(f, " %8s", "-");
	else
		fprintf(f, " %7.0f%%", pct);
}

void sn_bench_print_event(FILE *f, const struct sn_bench_cell *cells, size_t n)
{
	uint32_t frames[64];
	size_t nf = distinct_frames(cells, n, frames, 64);

	for (size_t fi = 0; fi < nf; fi++) {
		fputc('\n', f);
		frame_title(f, frames[fi]);
		fputs(", one queue, staging: Mpps and CPU time of each side's process\n", f);
		fprintf(f, "%-24s | %-26s | %-26s\n", "", "guest TX", "guest RX");
		fprintf(f, "%-24s | %8s %8s %8s | %8s %8s %8s\n", "", "Mpps", "back CPU",
			"frontCPU", "Mpps", "back CPU", "frontCPU");
		for (size_t i = 0; i < n; i++) {
			const struct sn_bench_cell *c = &cells[i];
			char label[40];

			bool first = true;

			if (c->frame != frames[fi] || c->ping)
				continue;
			/* One row per (mode, offered rate), at its first cell. */
			for (size_t j = 0; j < i && first; j++)
				first = !(cells[j].frame == c->frame && !cells[j].ping &&
					  cells[j].event == c->event &&
					  cells[j].offered_pps == c->offered_pps);
			if (!first)
				continue;
			if (c->offered_pps)
				snprintf(label, sizeof(label), "event, offered %.3g Mpps",
					 (double)c->offered_pps / 1e6);
			else
				snprintf(label, sizeof(label), "%s, saturation",
					 c->event ? "event" : "busy-poll");
			fprintf(f, "%-24s", label);
			for (int d = 0; d < 2; d++) {
				const struct sn_bench_cell *x = NULL;

				for (size_t j = 0; j < n; j++)
					if (cells[j].frame == c->frame && !cells[j].ping &&
					    cells[j].event == c->event &&
					    cells[j].offered_pps == c->offered_pps &&
					    !strcmp(cells[j].dir, dir_order[d]))
						x = &cells[j];
				fputs(" |", f);
				put_value(f, x, 8);
				put_cpu(f, cell_ok(x) ? x->cpu_pct[0] : -1);
				put_cpu(f, cell_ok(x) ? x->cpu_pct[1] : -1);
			}
			fputc('\n', f);
		}
		for (size_t i = 0; i < n; i++) {
			const struct sn_bench_cell *c = &cells[i];

			if (c->frame != frames[fi] || !c->ping)
				continue;
			fprintf(f, "ping-pong round trip (one frame in flight), %s: ",
				c->event ? "event mode" : "busy-poll ");
			if (cell_ok(c))
				fprintf(f, "median %.1f us, p99 %.1f us (%.0f round trips/s)\n",
					c->rtt_med_us, c->rtt_p99_us, c->mpps * 1e6);
			else
				fprintf(f, "%s (%s)\n",
					c->status == SN_CELL_FAILED ? "FAILED" : "skipped", c->reason);
		}
	}
	print_counters(f, cells, n);
	sn_bench_persist_table(f, cells, n);
}

static int run_gnuplot(const char *script, const char *errlog)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		FILE *e = freopen(errlog, "w", stderr);

		(void)e;
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* A gnuplot single-quoted string: a quote inside is written twice. */
static void gp_quote(FILE *g, const char *s)
{
	fputc('\'', g);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', g);
		fputc(*s, g);
	}
	fputc('\'', g);
}

static int write_plot_files(const char *dat, const char *gp, const char *png, bool cairo,
			    const struct sn_bench_cell *cells, size_t n)
{
	uint32_t frames[64];
	size_t nf = distinct_frames(cells, n, frames, 64);
	FILE *d = fopen(dat, "w"), *g = NULL;
	int rc = -errno;

	if (!d)
		return rc;
	g = fopen(gp, "w");
	if (!g) {
		rc = -errno;
		fclose(d);
		return rc;
	}
	/* One data block per frame size: rows "TX q1", columns before/after
	 * (0 for a cell not run or failed, so the bar is simply absent). */
	for (size_t fi = 0; fi < nf; fi++) {
		fprintf(d, "# frame %u\nlabel before after\n", frames[fi]);
		for (int dd = 0; dd < 2; dd++)
			for (uint16_t q = 1; q <= 64; q++) {
				const struct sn_bench_cell *b = find(cells, n, "linux", dir_order[dd],
								     frames[fi], q);
				const struct sn_bench_cell *a = find(cells, n, "staging",
								     dir_order[dd], frames[fi], q);

				if (!a && !b)
					continue;
				fprintf(d, "\"%s %uq\" %.4f %.4f\n", dd ? "RX" : "TX", q,
					cell_ok(b) ? figure(b) : 0.0, cell_ok(a) ? figure(a) : 0.0);
			}
		fputs("\n\n", d);
	}
	fprintf(g, "set terminal %s size %zu,480\nset output ",
		cairo ? "pngcairo" : "png", nf ? 520 * nf : 520);
	gp_quote(g, png);
	fputc('\n', g);
	fprintf(g, "set style data histograms\nset style histogram clustered gap 1\n"
		   "set style fill solid 0.8 border -1\nset key top left\nset grid ytics\n"
		   "set yrange [0:*]\nset multiplot layout 1,%zu title 'stagenet bench: "
		   "before (linux) vs after (staging)'\n", nf ? nf : 1);
	for (size_t fi = 0; fi < nf; fi++) {
		if (is_bulk(frames[fi]))
			fprintf(g, "set title 'bulk: %u-byte GSO'\nset ylabel 'Gbit/s'\n",
				frames[fi]);
		else
			fprintf(g, "set title '%u-byte frames (%u on the wire)'\n"
				   "set ylabel 'Mpps'\n", frames[fi], frames[fi] + 4);
		fputs("plot ", g);
		gp_quote(g, dat);
		fprintf(g, " index %zu using 2:xtic(1) title columnheader(2), "
			   "'' index %zu using 3 title columnheader(3)\n", fi, fi);
	}
	fputs("unset multiplot\n", g);
	rc = (ferror(d) || ferror(g)) ? -EIO : 0;
	if (fclose(d))
		rc = -EIO;
	if (fclose(g))
		rc = -EIO;
	return rc;
}

int sn_bench_plot(const char *png, const char *workdir, const struct sn_bench_cell *cells,
		  size_t n)
{
	char dat[4096], gp[4096], log[4096];
	int rc;

	snprintf(dat, sizeof(dat), "%s/plot.dat", workdir);
	snprintf(gp, sizeof(gp), "%s/plot.gp", workdir);
	snprintf(log, sizeof(log), "%s/gnuplot.log", workdir);
	/* pngcairo looks better but gnuplot-nox builds may lack it. */
	rc = write_plot_files(dat, gp, png, true, cells, n);
	if (!rc)
		rc = run_gnuplot(gp, log);
	if (rc == -EIO) {
		rc = write_plot_files(dat, gp, png, false, cells, n);
		if (!rc)
			rc = run_gnuplot(gp, log);
	}
	return rc;
}
