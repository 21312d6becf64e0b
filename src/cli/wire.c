/* `stagenet wire`: print the line-rate glossary (frames per second a link
 * can carry), the yardstick for the benchmark's packet rates. */
#include <stdio.h>

#include "bench/wire.h"
#include "cli/cli.h"

static const struct sn_opt wire_opts[] = { { .name = NULL } };

const struct sn_opts_spec sn_wire_spec = {
	.cmd = "wire",
	.doc = "Print the Ethernet line rate in Mpps for frames of 64..65535 bytes at 10, "
	       "40 and 100 Gbit/s.",
	.opts = wire_opts,
};

int sn_cmd_wire(int argc, char **argv)
{
	char none;
	int rc = sn_opts_parse(&sn_wire_spec, argc, argv, &none);

	if (rc)
		return sn_opts_exit(rc);
	sn_wire_print(stdout);
	return 0;
}
