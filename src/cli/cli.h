/* Subcommand entry points and the option helpers every subcommand shares. */
#ifndef STAGENET_CLI_H
#define STAGENET_CLI_H

#include "stagenet/plat.h"

struct sn_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int sn_cmd_host(int argc, char **argv);
int sn_cmd_probe(int argc, char **argv);
int sn_cmd_back(int argc, char **argv);
int sn_cmd_vif_add(int argc, char **argv);
int sn_cmd_vif_del(int argc, char **argv);
int sn_cmd_stats(int argc, char **argv);
int sn_cmd_front(int argc, char **argv);
int sn_cmd_bench(int argc, char **argv);
int sn_cmd_wire(int argc, char **argv);

/* Common options: --platform emu|xen|auto, --domid N.  Returns 1 if
 * argv[*i] was consumed (advancing *i past its value), 0 if not ours,
 * -EINVAL (after printing why) for a bad value. */
struct sn_common_opts {
	enum sn_plat_kind platform;
	int domid; /* -1 = not given */
};
void sn_common_opts_init(struct sn_common_opts *o);
int sn_common_opt(struct sn_common_opts *o, int argc, char **argv, int *i);
/* Parse a decimal integer in [min, max]; -EINVAL otherwise. */
int sn_parse_long(const char *s, long min, long max, long *out);

#define SN_COMMON_OPTS_HELP                                                   \
	"  --platform emu|xen|auto  hypervisor interface (default auto: xen when\n" \
	"                           /dev/xen/privcmd exists, else emu)\n"          \
	"  --domid N                our domain id (emu; default depends on role)\n"

#endif
