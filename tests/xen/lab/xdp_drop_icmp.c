// SPDX-License-Identifier: GPL-2.0
/* Scenario D's XDP program, loaded in the domU on xen-netfront's eth0 with
 * `ip link set dev eth0 xdp obj xdp_drop_icmp.o sec xdp`: drops IPv4 ICMP
 * and passes everything else.  A ping that stops while TCP still runs shows
 * that the program runs on the frames stagenet back delivers at the XDP
 * headroom the frontend asked for (README "Running on real Xen"). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop_icmp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	/* the verifier demands the bounds check before each header read */
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return ip->protocol == IPPROTO_ICMP ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
