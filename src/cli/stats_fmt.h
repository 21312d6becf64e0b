/* `stagenet stats --format`: the published blocks as text, JSON or the
 * Prometheus text exposition format. */
#ifndef STAGENET_CLI_STATS_FMT_H
#define STAGENET_CLI_STATS_FMT_H

#include <stddef.h>
#include <stdio.h>

#include "stagenet/stats.h"

enum sn_stats_format {
	SN_STATS_FMT_TEXT,
	SN_STATS_FMT_JSON,
	SN_STATS_FMT_PROM,
};

/* Write n blocks as one JSON or Prometheus document (every counter of
 * every queue, zeros included).  0, -EIO when the stream failed, -EINVAL
 * for text (printed by stats.c block by block). */
int sn_stats_write(FILE *f, enum sn_stats_format fmt, struct sn_stats_block *const *blocks,
		   size_t n);

#endif
