/* stagenet: one binary, one subcommand per job (see README "Commands"). */
#include "cli/cli.h"

static const struct sn_cmd cmds[] = {
	{ "host", "run the emulated Xen host (xenstore daemon + domain registry)", sn_cmd_host },
	{ "front", "run a netfront: one vif of this domain attached to a port", sn_cmd_front },
	{ "back", "run the netback daemon: serve every vif of this backend domain", sn_cmd_back },
	{ "vif-add", "toolstack: create a vif's xenstore directories (as libxl does)", sn_cmd_vif_add },
	{ "vif-del", "toolstack: close and remove a vif's xenstore directories", sn_cmd_vif_del },
	{ "probe", "measure grant copy / map / event costs on this platform", sn_cmd_probe },
	{ "stats", "print the counters running daemons publish", sn_cmd_stats },
	{ "bench", "reproduce the proposal's performance tables (self-contained)", sn_cmd_bench },
	{ "wire", "print the Ethernet line-rate glossary (Mpps per frame size)", sn_cmd_wire },
};

int main(int argc, char **argv)
{
	return sn_opts_main(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
