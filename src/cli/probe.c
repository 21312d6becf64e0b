/* `stagenet probe`: print what each hypervisor primitive costs on this
 * platform, next to memcpy, so the emulator's cost model can be checked
 * (the work is in bench/primitives.c, shared with `stagenet bench`). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench/primitives.h"
#include "cli/cli.h"

static void probe_usage(FILE *f)
{
	fprintf(f,
		"usage: stagenet probe [--platform emu|xen|auto] [--domid N] [--iters N]\n"
		"\n"
		"Times grant copy (64 B segments, batches of %u), grant map+unmap of one\n"
		"page and an event-channel round trip between two domains, next to a\n"
		"64 B and a 4 KiB memcpy.  On emu it starts its own `stagenet host`\n"
		"unless XENSTORED_PATH is set, and a granter domain (domid N+1) in a\n"
		"child process.\n"
		"\n"
		SN_COMMON_OPTS_HELP
		"  --iters N                timed iterations per row (default %u)\n",
		SN_PRIM_COPY_BATCH, SN_PRIM_DEFAULT_ITERS);
}

int sn_cmd_probe(int argc, char **argv)
{
	struct sn_primitives_cfg cfg = { .iters = SN_PRIM_DEFAULT_ITERS };
	struct sn_common_opts o;
	int rc;

	sn_common_opts_init(&o);
	for (int i = 1; i < argc; i++) {
		long v;

		rc = sn_common_opt(&o, argc, argv, &i);
		if (rc < 0)
			return 2;
		if (rc > 0)
			continue;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			probe_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--iters")) {
			if (i + 1 >= argc ||
			    sn_parse_long(argv[i + 1], 1, 100000000, &v)) {
				fprintf(stderr, "stagenet probe: --iters needs a number 1..100000000\n");
				return 2;
			}
			cfg.iters = (uint32_t)v;
			i++;
			continue;
		}
		fprintf(stderr, "stagenet probe: unknown option '%s'\n", argv[i]);
		probe_usage(stderr);
		return 2;
	}
	cfg.platform = o.platform;
	cfg.domid = o.domid;
	rc = sn_bench_primitives(&cfg, stdout);
	if (rc) {
		fprintf(stderr, "stagenet probe: failed: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
