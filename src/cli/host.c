/* STUB */
#include <stdio.h>
#include "cli/cli.h"
int sn_cmd_host(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return 1; }
