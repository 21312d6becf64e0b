/* tap port against the real kernel, inside a private network namespace:
 * frames (plain and 64 KiB GSO) go port -> kernel and kernel -> port, seen
 * from a packet socket on the same interface.  Needs root; skips (77)
 * otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdint.h>

#include <cmocka.h>
#include <xen/io/netif.h>

#include "pkts.h"
#include "stagenet/port.h"

#define TAPNAME "sntap0"

struct tap_env {
	struct sn_port *tap, *gen, *sink;
	struct test_burst b;
	int ps;      /* AF_PACKET socket on the tap, with PACKET_VNET_HDR */
	int ifindex;
};

static int setup(void **state)
{
	struct sn_port_ctx ctx = { .domid = 1, .devid = 0, .queue = 0, .nqueues = 1 };
	struct tap_env *e = calloc(1, sizeof(*e));
	struct sockaddr_ll sll = { 0 };
	int one = 1;

	if (!e)
		return -1;
	*state = e;
	if (sn_port_open("tap:" TAPNAME, &ctx, &e->tap) ||
	    sn_port_open("gen:size=200,count=1000", &ctx, &e->gen) ||
	    sn_port_open("sink", &ctx, &e->sink) || test_burst_init(&e->b, 4))
		return -1;
	e->ifindex = (int)if_nametoindex(TAPNAME);
	if (!e->ifindex)
		return -1;
	e->ps = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (e->ps < 0)
		return -1;
	/* The vnet header on the packet socket lets us inject and observe
	 * GSO frames exactly as the tap carries them. */
	if (setsockopt(e->ps, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
		return -1;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = e->ifindex;
	if (bind(e->ps, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct tap_env *e = *state;

	if (e->ps > 0)
		close(e->ps);
	sn_port_close(e->tap);
	sn_port_close(e->gen);
	sn_port_close(e->sink);
	test_burst_free(&e->b);
	free(e);
	return 0;
}

/* Read the next frame from the packet socket that came in on the tap
 * (kernel RX, i.e. what the port wrote), skipping our own transmissions. */
static ssize_t ps_read_incoming(struct tap_env *e, struct virtio_net_hdr *h, uint8_t *buf,
				size_t cap)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = { .fd = e->ps, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct iovec iov[2] = { { h, sizeof(*h) }, { buf, cap } };
		struct msghdr m = { .msg_name = &from, .msg_namelen = fl, .msg_iov = iov,
				    .msg_iovlen = 2 };
		ssize_t r;

		if (poll(&pfd, 1, 2000) != 1)
			return -1;
		r = recvmsg(e->ps, &m, 0);
		if (r < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		return r - (ssize_t)sizeof(*h);
	}
	return -1;
}

/* Read from the port until the frame we injected shows up: the kernel
 * sends its own frames (IPv6 router solicitations, MLD) on a new link. */
static int tap_recv_find(struct tap_env *e, const uint8_t *want, uint32_t len)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = { .fd = e->tap->ops->fd(e->tap), .events = POLLIN };
		int got;

		if (poll(&pfd, 1, 2000) != 1)
			return -ETIMEDOUT;
		got = e->tap->ops->recv(e->tap, e->b.ptr, 1);
		if (got < 0)
			return got;
		if (got == 1 && e->b.pkt[0].len == len && !memcmp(e->b.pkt[0].data, want, len))
			return 0;
	}
	return -ETIMEDOUT;
}

static void tap_port_to_kernel_plain(void **state)
{
	struct tap_env *e = *state;
	static uint8_t buf[70000];
	struct virtio_net_hdr h;
	ssize_t r;

	assert_int_equal(e->gen->ops->recv(e->gen, e->b.ptr, 1), 1);
	assert_int_equal(e->tap->ops->send(e->tap, e->b.ptr, 1), 1);
	assert_int_equal(e->tap->stats.sent_pkts, 1);
	r = ps_read_incoming(e, &h, buf, sizeof(buf));
	assert_int_equal(r, 200);
	assert_memory_equal(buf, e->b.pkt[0].data, 200);
}

static void tap_kernel_to_port_plain(void **state)
{
	struct tap_env *e = *state;
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[200];

	assert_int_equal(e->gen->ops->recv(e->gen, e->b.ptr, 1), 1);
	memcpy(frame, e->b.pkt[0].data, 200);
	{
		struct iovec iov[2] = { { &h, sizeof(h) }, { frame, sizeof(frame) } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		assert_int_equal(sendmsg(e->ps, &m, 0), (ssize_t)(sizeof(h) + sizeof(frame)));
	}
	assert_int_equal(tap_recv_find(e, frame, 200), 0);
	assert_int_equal(e->b.pkt[0].flags & SN_PKT_GSO, 0);
}

/* A 64 KiB TCP frame crosses in one piece each way: the offloads we asked
 * for (TUNSETOFFLOAD) keep the kernel from segmenting it. */
static void tap_gso_both_ways(void **state)
{
	struct tap_env *e = *state;
	struct sn_port_ctx ctx = { .domid = 1, .queue = 0, .nqueues = 1 };
	struct sn_port *big;
	static uint8_t buf[70000], copy[65535];
	struct virtio_net_hdr h;
	ssize_t r;

	assert_int_equal(sn_port_open("gen:size=65535,count=4", &ctx, &big), 0);

	/* port -> kernel */
	assert_int_equal(big->ops->recv(big, e->b.ptr, 1), 1);
	memcpy(copy, e->b.pkt[0].data, 65535);
	assert_int_equal(e->tap->ops->send(e->tap, e->b.ptr, 1), 1);
	r = ps_read_incoming(e, &h, buf, sizeof(buf));
	assert_int_equal(r, 65535);
	assert_memory_equal(buf, copy, 65535);
	assert_int_equal(h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.gso_size, 1448);

	/* kernel -> port */
	assert_int_equal(big->ops->recv(big, e->b.ptr, 1), 1);
	memcpy(copy, e->b.pkt[0].data, 65535);
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	h.hdr_len = 54;
	{
		struct iovec iov[2] = { { &h, sizeof(h) }, { copy, sizeof(copy) } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		assert_int_equal(sendmsg(e->ps, &m, 0), (ssize_t)(sizeof(h) + sizeof(copy)));
	}
	assert_int_equal(tap_recv_find(e, copy, 65535), 0);
	assert_true(e->b.pkt[0].flags & SN_PKT_GSO);
	assert_true(e->b.pkt[0].flags & SN_PKT_CSUM_PARTIAL);
	assert_int_equal(e->b.pkt[0].gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	assert_int_equal(e->b.pkt[0].gso_size, 1448);
	assert_int_equal(e->b.pkt[0].csum_start, 34);
	assert_int_equal(e->b.pkt[0].csum_offset, 16);
	/* and the sink finds the frame intact */
	assert_int_equal(e->sink->ops->send(e->sink, e->b.ptr, 1), 1);
	assert_int_equal(e->sink->stats.bad_payload, 0);
	sn_port_close(big);
}

static void inject(struct tap_env *e, const uint8_t *frame, size_t len)
{
	struct virtio_net_hdr h = { 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)frame, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	assert_int_equal(sendmsg(e->ps, &m, 0), (ssize_t)(sizeof(h) + len));
}

/* A frame bigger than the caller's buffer is dropped and counted, never
 * delivered cut short; one that fits exactly is delivered. */
static void tap_recv_drops_frame_larger_than_buffer(void **state)
{
	struct tap_env *e = *state;
	uint8_t frame[200];
	uint64_t drops = e->tap->stats.drops;
	uint32_t cap = e->b.pkt[0].cap;

	assert_int_equal(e->gen->ops->recv(e->gen, e->b.ptr, 1), 1);
	memcpy(frame, e->b.pkt[0].data, 200);
	e->b.pkt[0].cap = 199;
	inject(e, frame, 200);
	for (int i = 0; i < 40 && e->tap->stats.drops == drops; i++) {
		struct pollfd pfd = { .fd = e->tap->ops->fd(e->tap), .events = POLLIN };

		int n;

		(void)poll(&pfd, 1, 50);
		n = e->tap->ops->recv(e->tap, e->b.ptr, 1);
		assert_true(n >= 0);
		/* anything the kernel sent that fits is not our frame */
		if (n == 1)
			assert_false(e->b.pkt[0].len == 200 &&
				     !memcmp(e->b.pkt[0].data, frame, 200));
	}
	assert_true(e->tap->stats.drops > drops);
	e->b.pkt[0].cap = 200;
	inject(e, frame, 200);
	assert_int_equal(tap_recv_find(e, frame, 200), 0);
	e->b.pkt[0].cap = cap;
}

/* Each frame the tap refuses counts by reason in the queue's counters
 * (sn_port.qs), beside the port's own drops. */
static void tap_drops_counted_by_reason(void **state)
{
	struct tap_env *e = *state;
	struct sn_qstats qs = { 0 };
	struct sn_pkt *pk = &e->b.pkt[0];
	uint8_t frame[200];
	uint64_t drops = e->tap->stats.drops;
	uint32_t cap = pk->cap;

	e->tap->qs = &qs;
	/* Send: a header netif cannot express (unknown GSO type). */
	assert_int_equal(e->gen->ops->recv(e->gen, e->b.ptr, 1), 1);
	memcpy(frame, pk->data, sizeof(frame));
	pk->flags = SN_PKT_GSO;
	pk->gso_type = 99;
	pk->gso_size = 1000;
	assert_int_equal(e->tap->ops->send(e->tap, e->b.ptr, 1), 1);
	assert_int_equal(qs.v[SN_QS_port_drop_offload], 1);
	/* Send: the kernel's tap refuses a frame shorter than Ethernet
	 * (EINVAL), per frame. */
	pk->flags = 0;
	pk->gso_type = 0;
	pk->gso_size = 0;
	pk->len = 10;
	assert_int_equal(e->tap->ops->send(e->tap, e->b.ptr, 1), 1);
	assert_int_equal(qs.v[SN_QS_port_drop_send], 1);
	/* Recv: a frame larger than the buffer. */
	pk->cap = 199;
	inject(e, frame, 200);
	for (int i = 0; i < 40 && !qs.v[SN_QS_port_drop_giant]; i++) {
		struct pollfd pfd = { .fd = e->tap->ops->fd(e->tap), .events = POLLIN };

		(void)poll(&pfd, 1, 50);
		assert_true(e->tap->ops->recv(e->tap, e->b.ptr, 1) >= 0);
	}
	pk->cap = cap;
	assert_int_equal(qs.v[SN_QS_port_drop_giant], 1);
	assert_int_equal(e->tap->stats.drops, drops + 3);
	e->tap->qs = NULL;
}

static void tap_recv_empty_is_zero(void **state)
{
	struct tap_env *e = *state;
	int n;

	/* Drain whatever the kernel sent on its own (IPv6 router solicit...),
	 * then a non-blocking read must say "nothing now", not an error. */
	while ((n = e->tap->ops->recv(e->tap, e->b.ptr, e->b.n)) > 0)
		;
	assert_int_equal(n, 0);
}

static void tap_multi_queue_and_default_name(void **state)
{
	struct sn_port_ctx q0 = { .domid = 5, .devid = 1, .queue = 0, .nqueues = 2,
				  .backend = true, .mtu = 9000 };
	struct sn_port_ctx q1 = q0;
	struct sn_port *a, *b;

	(void)state;
	q1.queue = 1;
	assert_int_equal(sn_port_open("tap", &q0, &a), 0);
	assert_int_equal(sn_port_open("tap", &q1, &b), 0);
	assert_int_not_equal(if_nametoindex("vif5.1"), 0);
	assert_int_not_equal(a->ops->fd(a), b->ops->fd(b));
	sn_port_close(a);
	sn_port_close(b);
}

static int run_in_netns(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tap_port_to_kernel_plain),
		cmocka_unit_test(tap_kernel_to_port_plain),
		cmocka_unit_test(tap_gso_both_ways),
		cmocka_unit_test(tap_recv_drops_frame_larger_than_buffer),
		cmocka_unit_test(tap_drops_counted_by_reason),
		cmocka_unit_test(tap_recv_empty_is_zero),
		cmocka_unit_test(tap_multi_queue_and_default_name),
	};

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}

int main(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("tap test needs root and /dev/net/tun: skipped\n");
		return 77;
	}
	/* A child owns the namespace: the taps vanish with it, and nothing
	 * touches the host's interfaces. */
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
		fprintf(stderr, "tap test child died with signal %d\n", WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}
