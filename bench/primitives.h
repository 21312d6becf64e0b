/* Cost probe of the platform primitives (grant copy, map+unmap, event round
 * trip) next to plain memcpy, so the emulator's cost model can be checked
 * against the machine.  Used by `stagenet probe` and `stagenet bench
 * --primitives`. */
#ifndef STAGENET_BENCH_PRIMITIVES_H
#define STAGENET_BENCH_PRIMITIVES_H

#include <stdint.h>
#include <stdio.h>

#include "stagenet/plat.h"

#define SN_PRIM_COPY_SEG_LEN 64u /* bytes per grant-copy segment */
#define SN_PRIM_COPY_BATCH 32u   /* segments per grant-copy call */
#define SN_PRIM_DEFAULT_ITERS 10000u

struct sn_primitives_cfg {
	enum sn_plat_kind platform; /* SN_PLAT_AUTO resolves as plat.h says */
	/* emu: the measuring ("user") domain; the granter is domid + 1.
	 * -1 = 0.  xen: ignored, both sides are the domain we run in. */
	int domid;
	/* Timed iterations per row (0 = SN_PRIM_DEFAULT_ITERS).  The memcpy
	 * rows run at least 200000, best of 5 rounds, so their few ns are
	 * above clock and frequency-scaling noise. */
	uint32_t iters;
	/* emu without $XENSTORED_PATH: the binary whose `host` subcommand is
	 * started as a private host (NULL = /proc/self/exe). */
	const char *stagenet_exe;
};

/* Nanoseconds per operation, one field per printed row. */
struct sn_primitives_result {
	enum sn_plat_kind platform;
	uint16_t user_domid, granter_domid;
	uint32_t iters;
	double memcpy_64;      /* memcpy of 64 B */
	double memcpy_4k;      /* memcpy of 4 KiB */
	double copy_seg;       /* grant copy, per 64 B segment in a batch of 32 */
	double copy_batch;     /* grant copy, per batch of 32 segments */
	double map_unmap;      /* map, one read, unmap of one granted page */
	double evt_round_trip; /* notify, peer wakes and notifies back */
};

/* Run every measurement (starting and stopping whatever it needs: on emu a
 * private host unless $XENSTORED_PATH is set, and a granter domain in a
 * child process).  Returns 0 or -errno after printing why to stderr. */
int sn_bench_primitives_measure(const struct sn_primitives_cfg *cfg,
				struct sn_primitives_result *res);
/* The aligned table `stagenet probe` prints. */
void sn_bench_primitives_print(const struct sn_primitives_result *res,
			       FILE *out);
/* measure + print. */
int sn_bench_primitives(const struct sn_primitives_cfg *cfg, FILE *out);

#endif
