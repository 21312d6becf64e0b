/* `stagenet wire`: print the line-rate glossary (frames per second a link
 * can carry), the yardstick for the benchmark's packet rates. */
#include <stdio.h>
#include <string.h>

#include "bench/wire.h"
#include "cli/cli.h"

int sn_cmd_wire(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: stagenet wire\n\nPrint the Ethernet line rate in Mpps for "
			       "frames of 64..65535 bytes at 10, 40 and 100 Gbit/s.\n");
			return 0;
		}
		fprintf(stderr, "stagenet wire: unknown option %s\n", argv[i]);
		return 2;
	}
	sn_wire_print(stdout);
	return 0;
}
