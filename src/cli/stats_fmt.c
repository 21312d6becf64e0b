/* The machine-readable forms of `stagenet stats` (README "stagenet stats"):
 * JSON with the escaping `stagenet bench --json` uses, and the Prometheus
 * text exposition format (version 0.0.4) that node-exporter's textfile
 * collector reads: one family per counter, every sample of a family
 * together after its HELP and TYPE lines, labels vif, queue and role. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/report.h"
#include "cli/stats_fmt.h"

/* HELP texts; a counter added to SN_QSTATS without one here gets a generic
 * text (the exposition format needs one line, any text). */
static const char *const help[SN_QS__COUNT] = {
	[SN_QS_tx_pkts] = "Guest-TX packets delivered (frontend to backend).",
	[SN_QS_tx_bytes] = "Guest-TX bytes delivered.",
	[SN_QS_rx_pkts] = "Guest-RX packets delivered (backend to frontend).",
	[SN_QS_rx_bytes] = "Guest-RX bytes delivered.",
	[SN_QS_tx_drop_malformed] = "TX packets refused by validation (answered ERROR).",
	[SN_QS_tx_drop_grant] = "TX packets lost to a failed grant operation.",
	[SN_QS_tx_drop_port] = "TX packets the port would not take.",
	[SN_QS_rx_drop_no_slots] = "RX packets dropped: the frontend posted too few buffers.",
	[SN_QS_rx_drop_queue_full] = "RX packets dropped at the backlog cap.",
	[SN_QS_rx_drop_grant] = "RX packets lost to a failed grant operation.",
	[SN_QS_rx_drop_port] = "RX packets the receiving port refused.",
	[SN_QS_rx_drop_malformed] = "RX response chains refused without breaking the queue.",
	[SN_QS_grant_copies] = "Grant copy segments.",
	[SN_QS_grant_copy_batches] = "Grant copy calls (hypercalls).",
	[SN_QS_grant_maps] = "Grant map operations.",
	[SN_QS_grant_unmaps] = "Grant unmap operations.",
	[SN_QS_memcpy_bytes] = "Bytes moved by memcpy through staged mappings.",
	[SN_QS_staged_slots] = "Ring slots served through a staged grant.",
	[SN_QS_unstaged_slots] = "Ring slots served through grant operations.",
	[SN_QS_notify_sent] = "Event channel notifications sent.",
	[SN_QS_notify_recv] = "Event channel notifications received.",
	[SN_QS_spurious_events] = "Events with no work behind them.",
	[SN_QS_fatal_errors] = "Times the peer was declared rogue.",
	[SN_QS_ctrl_requests] = "Control-ring requests handled or sent.",
	[SN_QS_ctrl_errors] = "Control-ring requests answered non-SUCCESS.",
	[SN_QS_spurious_polls] = "Idle busy-polls run after a spurious event.",
	[SN_QS_evt_throttled] = "Spurious events whose channel stayed masked (late EOI).",
	[SN_QS_ctrl_spurious] = "Control-ring events with no work behind them.",
	[SN_QS_ctrl_throttled] = "Spurious control-ring events whose channel stayed masked.",
	[SN_QS_port_drop_runt] = "Frames a port read shorter than an Ethernet header.",
	[SN_QS_port_drop_giant] = "Frames a port read longer than 65535 bytes or its buffer.",
	[SN_QS_port_drop_truncated] = "Records cut short at capture (pcap).",
	[SN_QS_port_drop_offload] = "Frames whose offload metadata the other side cannot express.",
	[SN_QS_port_drop_send] = "Frames the port's write refused one by one.",
	[SN_QS_rx_drop_mcast] = "Guest-RX multicast frames not in the frontend's filter list.",
};

/* The role comes from a file anyone in the run directory could have
 * written: keep it to what every consumer takes unescaped. */
static void safe_role(const struct sn_stats_block *b, struct sn_stats_info *in)
{
	sn_stats_describe(b, in);
	for (char *p = in->role; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			*p = '_';
}

static void write_json(FILE *f, struct sn_stats_block *const *blocks, size_t n)
{
	fputs("[", f);
	for (size_t i = 0; i < n; i++) {
		struct sn_stats_info in;
		uint64_t total[SN_QS__COUNT];

		safe_role(blocks[i], &in);
		fprintf(f, "%s\n  {\"role\": ", i ? "," : "");
		sn_json_string(f, in.role);
		fprintf(f, ", \"domid\": %u, \"devid\": %u, \"pid\": %d, \"alive\": %s, "
			"\"queues\": [", in.domid, in.devid, sn_stats_pid(blocks[i]),
			sn_stats_alive(blocks[i]) ? "true" : "false");
		for (uint16_t q = 0; q < in.nqueues; q++) {
			fprintf(f, "%s\n    {\"queue\": %u", q ? "," : "", q);
			for (int c = 0; c < SN_QS__COUNT; c++) {
				fputs(", ", f);
				sn_json_string(f, sn_qstat_names[c]);
				fprintf(f, ": %llu", (unsigned long long)sn_stats_counter(
						     blocks[i], q, (enum sn_qstat)c));
			}
			fputc('}', f);
		}
		fputs("],\n   \"total\": {", f);
		sn_stats_totals(blocks[i], total);
		for (int c = 0; c < SN_QS__COUNT; c++) {
			fputs(c ? ", " : "", f);
			sn_json_string(f, sn_qstat_names[c]);
			fprintf(f, ": %llu", (unsigned long long)total[c]);
		}
		fputs("}}", f);
	}
	fputs(n ? "\n]\n" : "]\n", f);
}

static void write_prom(FILE *f, struct sn_stats_block *const *blocks, size_t n)
{
	for (int c = 0; c < SN_QS__COUNT; c++) {
		fprintf(f, "# HELP stagenet_%s_total %s\n", sn_qstat_names[c],
			help[c] ? help[c] : "A stagenet per-queue counter (README \"stagenet stats\").");
		fprintf(f, "# TYPE stagenet_%s_total counter\n", sn_qstat_names[c]);
		for (size_t i = 0; i < n; i++) {
			struct sn_stats_info in;

			safe_role(blocks[i], &in);
			for (uint16_t q = 0; q < in.nqueues; q++)
				fprintf(f, "stagenet_%s_total{vif=\"vif%u.%u\",queue=\"%u\",role=\"%s\"} "
					"%llu\n", sn_qstat_names[c], in.domid, in.devid, q, in.role,
					(unsigned long long)sn_stats_counter(blocks[i], q,
									     (enum sn_qstat)c));
		}
	}
}

int sn_stats_write(FILE *f, enum sn_stats_format fmt, struct sn_stats_block *const *blocks,
		   size_t n)
{
	switch (fmt) {
	case SN_STATS_FMT_TEXT:
		/* stats.c prints text block by block, with its stale notes. */
		return -EINVAL;
	case SN_STATS_FMT_JSON:
		write_json(f, blocks, n);
		break;
	case SN_STATS_FMT_PROM:
		write_prom(f, blocks, n);
		break;
	}
	return fflush(f) || ferror(f) ? -EIO : 0;
}
