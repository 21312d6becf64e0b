/* stagenet: one binary, one subcommand per job (see README "Commands"). */
#include "cli/cli.h"

static const struct sn_cmd cmds[] = {
	{ "host", "run the emulated Xen host (xenstore daemon + domain registry)", sn_cmd_host,
	  &sn_host_spec },
	{ "front", "run a netfront: one vif of this domain attached to a port", sn_cmd_front,
	  &sn_front_spec },
	{ "back", "run the netback daemon: serve every vif of this backend domain", sn_cmd_back,
	  &sn_back_spec },
	{ "vif-add", "toolstack: create a vif's xenstore directories (as libxl does)", sn_cmd_vif_add,
	  &sn_vif_add_spec },
	{ "vif-del", "toolstack: close and remove a vif's xenstore directories", sn_cmd_vif_del,
	  &sn_vif_del_spec },
	{ "probe", "measure grant copy / map / event costs on this platform", sn_cmd_probe,
	  &sn_probe_spec },
	{ "stats", "print the counters running daemons publish", sn_cmd_stats,
	  &sn_stats_spec },
	{ "bench", "reproduce the proposal's performance tables (self-contained)", sn_cmd_bench,
	  &sn_bench_spec },
	{ "wire", "print the Ethernet line-rate glossary (Mpps per frame size)", sn_cmd_wire,
	  &sn_wire_spec },
};

int main(int argc, char **argv)
{
	return sn_opts_main(cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
