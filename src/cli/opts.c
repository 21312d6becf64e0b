/* Option helpers shared by every subcommand, so `--platform` and `--domid`
 * mean the same everywhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void sn_common_opts_init(struct sn_common_opts *o)
{
	o->platform = SN_PLAT_AUTO;
	o->domid = -1;
}

int sn_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int sn_common_opt(struct sn_common_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	long v;

	if (strcmp(a, "--platform") && strcmp(a, "--domid"))
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "stagenet: %s needs a value\n", a);
		return -EINVAL;
	}
	if (!strcmp(a, "--platform")) {
		if (sn_plat_kind_parse(argv[*i + 1], &o->platform)) {
			fprintf(stderr, "stagenet: --platform must be emu, xen or auto\n");
			return -EINVAL;
		}
	} else {
		if (sn_parse_long(argv[*i + 1], 0, 0x7FEF, &v)) {
			fprintf(stderr, "stagenet: --domid must be 0..32751\n");
			return -EINVAL;
		}
		o->domid = (int)v;
	}
	*i += 1;
	return 1;
}
