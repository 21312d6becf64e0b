/* dpdk-testpmd as a peer process (bench/testpmd.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/proc.h"
#include "bench/testpmd.h"

#define TP_EXE "dpdk-testpmd"

static const char *tp_exe(const char *exe)
{
	return exe ? exe : TP_EXE;
}

/* The binary's path (sn_proc_start execs without a PATH search). */
static bool tp_resolve(const char *exe, char *buf, size_t len)
{
	const char *e = tp_exe(exe), *path = getenv("PATH");
	char *copy, *tok, *save = NULL;
	bool found = false;

	if (strchr(e, '/')) {
		snprintf(buf, len, "%s", e);
		return access(e, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/bin:/bin");
	if (!copy)
		return false;
	for (tok = strtok_r(copy, ":", &save); tok && !found; tok = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", tok, e);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

bool sn_testpmd_available(const char *exe)
{
	char p[512];

	return tp_resolve(exe, p, sizeof(p));
}

int sn_testpmd_start(const struct sn_testpmd_cfg *c, pid_t *pid)
{
	struct sn_argv a;
	struct sn_proc_spec s = { .argv = &a, .out = c->out, .err = c->out,
				  .cpus = c->cpus, .ncpus = c->ncpus };
	unsigned int q = c->queues ? c->queues : 1;
	char exe[512];
	pid_t p;

	if (!tp_resolve(c->exe, exe, sizeof(exe)))
		return -ENOENT;
	s.exe = exe;
	/* sn_argv's argv[0] is "stagenet"; EAL only prints it. */
	sn_argv_init(&a, "--no-huge");
	sn_argv_opt(&a, "-m", "256");
	sn_argv_add(&a, "--no-pci");
	sn_argv_addf(&a, "--file-prefix=%s", c->prefix);
	/* Two lcores: the main one and one forwarding core. */
	if (c->ncpus >= 2)
		sn_argv_opt(&a, "-l", "%d,%d", c->cpus[0], c->cpus[1]);
	else if (c->ncpus == 1)
		sn_argv_opt(&a, "--lcores", "0@%d,1@%d", c->cpus[0], c->cpus[0]);
	else
		sn_argv_opt(&a, "-l", "0,1");
	for (unsigned int i = 0; i < c->nvdevs; i++)
		sn_argv_opt(&a, "--vdev", "%s", c->vdevs[i]);
	sn_argv_add(&a, "--");
	sn_argv_add(&a, "--total-num-mbufs=16384");
	sn_argv_addf(&a, "--forward-mode=%s", c->fwd ? c->fwd : "io");
	sn_argv_add(&a, "-a");
	sn_argv_add(&a, "--stats-period=1");
	sn_argv_add(&a, "--nb-cores=1");
	sn_argv_addf(&a, "--rxq=%u", q);
	sn_argv_addf(&a, "--txq=%u", q);
	for (const char *const *e = c->extra; e && *e; e++)
		sn_argv_add(&a, *e);
	p = sn_proc_start(&s);
	if (p < 0)
		return (int)p;
	*pid = p;
	return 0;
}

static uint64_t field(const char *blk, const char *end, const char *name)
{
	const char *f = strstr(blk, name);

	if (!f || (end && f > end))
		return 0;
	return strtoull(f + strlen(name), NULL, 10);
}

int sn_testpmd_read_stats(const char *out, unsigned int port,
			  struct sn_testpmd_port_stats *st)
{
	char key[64], *text = sn_slurp(out), *blk = NULL, *end;

	memset(st, 0, sizeof(*st));
	if (!text)
		return -ENOENT;
	snprintf(key, sizeof(key), "NIC statistics for port %u ", port);
	for (char *p = text; (p = strstr(p, key)); p++)
		blk = p;
	if (!blk) {
		free(text);
		return -ENOENT;
	}
	/* The block ends at the next line of '#'s after its own header. */
	end = strstr(blk + strlen(key), "\n  ####");
	st->rx_pkts = field(blk, end, "RX-packets:");
	st->rx_bytes = field(blk, end, "RX-bytes:");
	st->tx_pkts = field(blk, end, "TX-packets:");
	st->tx_bytes = field(blk, end, "TX-bytes:");
	st->rx_pps = field(blk, end, "Rx-pps:");
	st->tx_pps = field(blk, end, "Tx-pps:");
	st->rx_bps = field(blk, end, "Rx-bps:");
	st->tx_bps = field(blk, end, "Tx-bps:");
	free(text);
	return 0;
}

int sn_testpmd_stop(pid_t pid, const char *out, uint64_t *dropped)
{
	char *text, *acc;
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGINT);
	st = sn_proc_wait(pid, 5000);
	if (st == -ETIMEDOUT)
		return st;
	if (!dropped)
		return 0;
	*dropped = 0;
	text = sn_slurp(out);
	acc = text ? strstr(text, "Accumulated forward statistics") : NULL;
	if (!acc) {
		free(text);
		return -EBADMSG;
	}
	for (const char *k = acc; (k = strstr(k, "-dropped:")) && k - acc < 600; k += 9)
		*dropped += strtoull(k + 9, NULL, 10);
	free(text);
	return 0;
}
