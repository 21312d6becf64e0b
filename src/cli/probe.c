/* `stagenet probe`: print what each hypervisor primitive costs on this
 * platform, next to memcpy, so the emulator's cost model can be checked
 * (the work is in bench/primitives.c, shared with `stagenet bench`). */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "bench/primitives.h"
#include "cli/cli.h"

struct probe_opts {
	struct sn_common_opts co;
	long iters;
};

static const struct sn_opt probe_opts[] = {
	{ .name = "iters", .arg = "N", .kind = SN_OPT_LONG, .off = offsetof(struct probe_opts, iters),
	  .min = 1, .max = 100000000, .help = "timed iterations per row (default 10000)" },
	{ .name = NULL },
};

const struct sn_opts_spec sn_probe_spec = {
	.cmd = "probe",
	.doc = "Times grant copy (64 B segments, batches of 32), grant map+unmap of one page "
	       "and an event-channel round trip between two domains, next to a 64 B and a "
	       "4 KiB memcpy.  On emu it starts its own `stagenet host` unless "
	       "XENSTORED_PATH is set, and a granter domain (domid N+1) in a child process.",
	.opts = probe_opts,
	.common = true,
	.common_off = offsetof(struct probe_opts, co),
};

_Static_assert(SN_PRIM_COPY_BATCH == 32 && SN_PRIM_DEFAULT_ITERS == 10000,
	       "sn_probe_spec's help text states these");

int sn_cmd_probe(int argc, char **argv)
{
	struct probe_opts o = { .co = { SN_PLAT_AUTO, -1 }, .iters = SN_PRIM_DEFAULT_ITERS };
	struct sn_primitives_cfg cfg = { 0 };
	int rc;

	rc = sn_opts_parse(&sn_probe_spec, argc, argv, &o);
	if (rc)
		return sn_opts_exit(rc);
	cfg.iters = (uint32_t)o.iters;
	cfg.platform = o.co.platform;
	cfg.domid = (int)o.co.domid;
	rc = sn_bench_primitives(&cfg, stdout);
	if (rc) {
		fprintf(stderr, "stagenet probe: failed: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
