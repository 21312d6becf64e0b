/* xdp port against the real kernel, in a private network namespace with a
 * veth pair xa <-> xb (two queues): the port on xb, an AF_PACKET socket on
 * xa sees what the port sent and injects what it receives.  Covers the
 * software offloads (csum_blank completed, GSO segmented), the counted
 * drops, the error messages users meet, and the leftover program of a
 * killed process.  Needs root and bpffs; skips (77) otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/io/netif.h>

#include "../port/pkts.h"
#include "port/csum.h"
#include "stagenet/port.h"
#include "stagenet/stats.h"

struct xenv {
	struct sn_port *x;
	struct test_burst b;
	int ps; /* AF_PACKET on xa */
	int xa;
};

static const struct sn_port_ctx ctx2 = { .domid = 1, .queue = 0, .nqueues = 2, .backend = true };

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool attached(const char *ifname)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "ip link show %s | grep -q prog/xdp", ifname);
	return sh(cmd) == 0;
}

/* Run fn with stderr captured into out (NUL-terminated); returns fn's rc. */
static int capture(int (*fn)(void *), void *arg, char *out, size_t cap)
{
	FILE *tmp = tmpfile();
	int saved = dup(2), rc;
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), 2);
	rc = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	fputs(out, stderr);
	return rc;
}

struct open_arg {
	const char *spec;
	struct sn_port_ctx ctx;
	struct sn_port *p;
};

static int do_open(void *a)
{
	struct open_arg *o = a;

	return sn_port_open(o->spec, &o->ctx, &o->p);
}

static int open_msg(const char *spec, const struct sn_port_ctx *c, char *msg, size_t cap,
		    struct sn_port **out)
{
	struct open_arg o = { .spec = spec, .ctx = *c };
	int rc = capture(do_open, &o, msg, cap);

	if (out)
		*out = o.p;
	else
		sn_port_close(o.p);
	return rc;
}

static int setup(void **state)
{
	struct xenv *e = calloc(1, sizeof(*e));
	struct sockaddr_ll sll = { 0 };

	if (!e)
		return -1;
	*state = e;
	if (sh("ip link add xa numtxqueues 2 numrxqueues 2 type veth peer name xb "
	       "numtxqueues 2 numrxqueues 2 && ethtool -K xa tx off tso off gso off >/dev/null && "
	       "ip link set xa up && ip link set xb up && ip link set lo up"))
		return -1;
	if (sn_port_open("xdp:xb", &ctx2, &e->x) || test_burst_init(&e->b, 16))
		return -1;
	e->xa = (int)if_nametoindex("xa");
	e->ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (e->ps < 0)
		return -1;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = e->xa;
	return bind(e->ps, (struct sockaddr *)&sll, sizeof(sll));
}

static int teardown(void **state)
{
	struct xenv *e = *state;

	if (e->ps > 0)
		close(e->ps);
	sn_port_close(e->x);
	test_burst_free(&e->b);
	free(e);
	return 0;
}

/* Next frame arriving on xa (what the port sent), skipping our own. */
static ssize_t xa_read(struct xenv *e, uint8_t *buf, size_t cap)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = { .fd = e->ps, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r;

		if (poll(&pfd, 1, 2000) != 1)
			return -1;
		r = recvfrom(e->ps, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (r < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		return r;
	}
	return -1;
}

static void xa_drain(struct xenv *e)
{
	uint8_t buf[2048];

	while (recv(e->ps, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Ethernet + IPv4 + TCP (or UDP) of pay payload bytes, checksums zero. */
static uint32_t mk_frame(uint8_t *f, uint8_t proto, uint32_t pay)
{
	uint32_t l4h = proto == 6 ? 20 : 8, ip_len = 20 + l4h + pay;
	uint8_t *ip = f + 14, *l4 = ip + 20;

	memset(f, 0, 14 + ip_len);
	memcpy(f, "\x02\x00\x00\x00\x00\xaa\x02\x00\x00\x00\x00\xbb\x08\x00", 14);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	{
		uint16_t c = (uint16_t)~sn_csum_fold(sn_csum_add(0, ip, 20));

		memcpy(ip + 10, &c, 2);
	}
	l4[1] = 7;
	l4[3] = 9;
	if (proto == 6) {
		l4[12] = 0x50;
		l4[13] = 0x18;
	} else {
		l4[4] = (uint8_t)((8 + pay) >> 8);
		l4[5] = (uint8_t)(8 + pay);
	}
	for (uint32_t i = 0; i < pay; i++)
		l4[l4h + i] = (uint8_t)(i * 31 + 5);
	return 14 + ip_len;
}

static void set_pkt(struct sn_pkt *p, const uint8_t *f, uint32_t len)
{
	memcpy(p->data, f, len);
	p->len = len;
	p->flags = 0;
	p->gso_type = 0;
	p->gso_size = 0;
	p->csum_start = p->csum_offset = 0;
}

/* Seed the L4 checksum field with the pseudo-header sum, as netif's
 * csum_blank promises. */
static void seed(struct sn_pkt *p)
{
	struct sn_l4_loc loc;
	uint16_t s;

	assert_int_equal(sn_l4_locate(p->data, p->len, &loc), 0);
	s = sn_l4_pseudo_csum(p->data, &loc, loc.l4_len);
	memcpy(p->data + loc.l4_off + loc.csum_offset, &s, 2);
	p->flags |= SN_PKT_CSUM_PARTIAL;
}

static void send_plain_and_csum_blank(void **state)
{
	struct xenv *e = *state;
	static uint8_t f[2048], got[2048];
	uint32_t len = mk_frame(f, 17, 300);
	ssize_t r;

	xa_drain(e);
	/* Checksum already right (zero = none for UDP/IPv4): byte-exact. */
	set_pkt(&e->b.pkt[0], f, len);
	assert_int_equal(e->x->ops->send(e->x, e->b.ptr, 1), 1);
	r = xa_read(e, got, sizeof(got));
	assert_int_equal(r, len);
	assert_memory_equal(got, f, len);
	/* csum_blank: the wire gets the finished checksum. */
	len = mk_frame(f, 6, 999);
	set_pkt(&e->b.pkt[0], f, len);
	seed(&e->b.pkt[0]);
	assert_int_equal(e->x->ops->send(e->x, e->b.ptr, 1), 1);
	r = xa_read(e, got, sizeof(got));
	assert_int_equal(r, len);
	assert_int_equal(sn_l4_csum_verify(got, (uint32_t)r), 0);
	assert_int_equal(e->x->stats.sent_pkts, 2);
}

static void send_gso_segments(void **state)
{
	struct xenv *e = *state;
	static uint8_t f[20000], got[2048];
	uint32_t len = mk_frame(f, 6, 10000), total = 0;
	struct sn_pkt *p = &e->b.pkt[0];
	int n = 0;

	xa_drain(e);
	set_pkt(p, f, len);
	p->flags = SN_PKT_GSO;
	p->gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	p->gso_size = 1448;
	seed(p);
	assert_int_equal(e->x->ops->send(e->x, e->b.ptr, 1), 1);
	/* 10000 / 1448: six full segments and one of 1312 bytes, each a
	 * valid frame with a complete checksum. */
	while (total < 10000) {
		ssize_t r = xa_read(e, got, sizeof(got));

		assert_true(r > 54 && r <= 1514);
		assert_int_equal(sn_l4_csum_verify(got, (uint32_t)r), 0);
		total += (uint32_t)r - 54;
		n++;
	}
	assert_int_equal(total, 10000);
	assert_int_equal(n, 7);
}

static void send_too_big_counted(void **state)
{
	struct xenv *e = *state;
	static uint8_t f[6000];
	struct sn_qstats qs = { 0 };
	uint64_t drops = e->x->stats.drops;
	uint32_t len = mk_frame(f, 17, 5000);

	e->x->qs = &qs;
	set_pkt(&e->b.pkt[0], f, len);
	/* Taken (retrying cannot help) but dropped, with its reason. */
	assert_int_equal(e->x->ops->send(e->x, e->b.ptr, 1), 1);
	assert_int_equal(qs.v[SN_QS_port_drop_giant], 1);
	assert_int_equal(e->x->stats.drops, drops + 1);
	/* A GSO frame whose headers do not parse cannot be segmented. */
	len = mk_frame(f, 17, 3000);
	set_pkt(&e->b.pkt[0], f, len);
	e->b.pkt[0].flags = SN_PKT_GSO;
	e->b.pkt[0].gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
	e->b.pkt[0].gso_size = 1000;
	assert_int_equal(e->x->ops->send(e->x, e->b.ptr, 1), 1);
	assert_int_equal(qs.v[SN_QS_port_drop_offload], 1);
	e->x->qs = NULL;
}

static int port_recv_wait(struct xenv *e, unsigned int n)
{
	for (int i = 0; i < 40; i++) {
		struct pollfd pfd = { .fd = e->x->ops->fd(e->x), .events = POLLIN };
		int got;

		(void)poll(&pfd, 1, 50);
		got = e->x->ops->recv(e->x, e->b.ptr, n);
		if (got)
			return got;
	}
	return 0;
}

static void inject(struct xenv *e, const uint8_t *f, uint32_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = e->xa, .sll_halen = 6 };

	assert_int_equal(sendto(e->ps, f, len, 0, (struct sockaddr *)&to, sizeof(to)), len);
}

static void recv_exact_and_too_big(void **state)
{
	struct xenv *e = *state;
	static uint8_t f[2048];
	struct sn_qstats qs = { 0 };
	uint32_t len = mk_frame(f, 17, 777), cap = e->b.pkt[0].cap;
	int got;

	/* The kernel's own frames on a new link could come first. */
	while (e->x->ops->recv(e->x, e->b.ptr, 16) > 0)
		;
	inject(e, f, len);
	got = port_recv_wait(e, 1);
	assert_int_equal(got, 1);
	assert_int_equal(e->b.pkt[0].len, len);
	assert_memory_equal(e->b.pkt[0].data, f, len);
	assert_int_equal(e->b.pkt[0].flags, 0);
	/* A frame over the caller's buffer: a counted drop, not a cut. */
	e->x->qs = &qs;
	e->b.pkt[0].cap = len - 1;
	inject(e, f, len);
	for (int i = 0; i < 40 && !qs.v[SN_QS_port_drop_giant]; i++)
		(void)port_recv_wait(e, 1);
	e->b.pkt[0].cap = cap;
	e->x->qs = NULL;
	assert_int_equal(qs.v[SN_QS_port_drop_giant], 1);
}

static void errors_have_messages(void **state)
{
	struct sn_port_ctx c1 = { .domid = 1, .queue = 0, .nqueues = 1, .backend = true };
	struct sn_port *p;
	char msg[1024];

	(void)state;
	assert_int_equal(open_msg("xdp:nosuch0", &c1, msg, sizeof(msg), NULL), -ENODEV);
	assert_non_null(strstr(msg, "no interface 'nosuch0'"));
	assert_int_equal(open_msg("xdp", &c1, msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "an interface is required"));
	assert_int_equal(open_msg("xdp:xb,speed=9", &c1, msg, sizeof(msg), NULL), -EINVAL);
	assert_non_null(strstr(msg, "unknown option 'speed=9'"));
	/* xb has two queues; queue=1 with two netif queues needs three. */
	assert_int_equal(open_msg("xdp:xb,queue=1", &ctx2, msg, sizeof(msg), NULL), -ERANGE);
	assert_non_null(strstr(msg, "xb has 2 rx / 2 tx queues; queues 1..2 needed"));
	/* Queue 0 is the fixture's: a second socket there is refused. */
	assert_int_equal(open_msg("xdp:xb", &c1, msg, sizeof(msg), NULL), -EBUSY);
	assert_non_null(strstr(msg, "already bound to an AF_XDP socket"));
	/* lo has no driver XDP. */
	assert_int_equal(open_msg("xdp:lo,mode=native", &c1, msg, sizeof(msg), NULL),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "no native XDP support"));
	/* veth has no zero-copy AF_XDP: copy mode, said once. */
	assert_int_equal(open_msg("xdp:xa,zerocopy", &c1, msg, sizeof(msg), &p), 0);
	assert_non_null(strstr(msg, "no zero-copy support in the driver"));
	assert_non_null(strstr(msg, "using copy mode"));
	sn_port_close(p);
}

/* In a child (the changes stay there): open fails as expected, with msg. */
static void child_open_fails(void (*prep)(void), int want_rc, const char *want_msg)
{
	struct sn_port_ctx c1 = { .domid = 1, .queue = 0, .nqueues = 1, .backend = true };
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		char msg[1024];
		int rc;

		prep();
		rc = open_msg("xdp:xa", &c1, msg, sizeof(msg), NULL);
		_exit(rc == want_rc && strstr(msg, want_msg) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void drop_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	syscall(SYS_capget, &h, d);
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	syscall(SYS_capset, &h, d);
}

static void hide_bpffs(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(2);
	(void)umount2("/sys/fs/bpf", MNT_DETACH);
}

static void errors_caps_and_bpffs(void **state)
{
	(void)state;
	child_open_fails(drop_net_admin, -EPERM, "needs root, or CAP_NET_ADMIN, CAP_NET_RAW and "
			 "CAP_BPF");
	child_open_fails(hide_bpffs, -ENOENT, "bpffs is not mounted at /sys/fs/bpf");
}

/* A process killed with its socket open leaves the program attached
 * (libxdp's user count stays up); the next open finds and replaces it,
 * and its close leaves the interface clean. */
static void killed_leftover_replaced(void **state)
{
	struct sn_port_ctx c1 = { .domid = 1, .queue = 0, .nqueues = 1, .backend = true };
	struct sn_port *p;
	char msg[1024];
	pid_t pid;
	int st;

	(void)state;
	assert_false(attached("xa"));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sn_port_open("xdp:xa", &c1, &p))
			_exit(1);
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_true(attached("xa"));
	assert_int_equal(open_msg("xdp:xa", &c1, msg, sizeof(msg), &p), 0);
	assert_non_null(strstr(msg, "detached the AF_XDP program a killed stagenet left"));
	assert_true(attached("xa"));
	sn_port_close(p);
	assert_false(attached("xa"));
}

static int run_in_netns(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(send_plain_and_csum_blank),
		cmocka_unit_test(send_gso_segments),
		cmocka_unit_test(send_too_big_counted),
		cmocka_unit_test(recv_exact_and_too_big),
		cmocka_unit_test(errors_have_messages),
		cmocka_unit_test(errors_caps_and_bpffs),
		cmocka_unit_test(killed_leftover_replaced),
	};

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 2 || strcmp(argv[1], "yes")) {
		printf("built without libxdp/libbpf: skipped\n");
		return 77;
	}
	if (geteuid() != 0) {
		printf("xdp port test needs root: skipped\n");
		return 77;
	}
	if (sh("[ \"$(stat -f -c %T /sys/fs/bpf)\" = bpf_fs ] || mount -t bpf bpf /sys/fs/bpf")) {
		printf("xdp port test: no bpffs at /sys/fs/bpf and cannot mount it: skipped\n");
		return 77;
	}
	/* A child owns the namespace: the veths vanish with it. */
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		alarm(60);
		_exit(run_in_netns());
	}
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "xdp port test child died with signal %d\n", WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}
