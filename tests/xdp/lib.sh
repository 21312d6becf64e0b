# Sourced by the tests/xdp scripts after tests/netns/lib.sh: bpffs, veth
# pairs, the backend in its namespace, the attached-program check and the
# byte-exact pcap replay.
# shellcheck shell=bash

# xdp_build_check HAVE: HAVE is meson's "yes"/"no" for libxdp in this build.
xdp_build_check() {
	if [ "${1:-}" != yes ]; then
		echo "SKIP: built without libxdp/libbpf (make deps, then reconfigure)"
		return 1
	fi
}

# libxdp keeps its dispatcher state in bpffs; a host without it mounted
# gets it here, as the port's error message tells users to do.
bpffs_mount() {
	[ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] && return 0
	log "mounting bpffs at /sys/fs/bpf"
	mount -t bpf bpf /sys/fs/bpf
}

# veth_pair NS1 IF1 NS2 IF2 NQ: a veth pair with NQ queues each way, both
# ends up.  IF1's stack must put finished frames on the wire, as a NIC's
# peer would: no checksum offload, no GSO (XDP sees frames as sent).
veth_pair() {
	ip link add "$2" numtxqueues "$5" numrxqueues "$5" netns "$1" type veth \
		peer name "$4" numtxqueues "$5" numrxqueues "$5" netns "$3" ||
		fail "veth pair $2/$4"
	ip netns exec "$1" ethtool -K "$2" tx off tso off gso off >/dev/null 2>&1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# start_xback NAME ARGS...: the backend in $NSX.  nsenter changes only the
# network namespace, so the backend sees the host's bpffs (ip netns exec
# remounts /sys and would hide it).
start_xback() {
	local name=$1
	shift
	start "$name" - nsenter --net="/run/netns/$NSX" "$SN" back "$@"
}

# xdp_attached NS IF: an XDP program is attached to IF.
xdp_attached() {
	ip -n "$1" link show "$2" | grep -q 'prog/xdp'
}

# replay_exact TAG: the varied pcap (mkpcap.py) from B's TAP to W (guest
# TX: netif, then the port's AF_XDP TX) and from W to B (AF_XDP RX, then
# netif), captured at the other end and compared byte for byte.
replay_exact() {
	local tag=$1 dir sns sif dns dif n
	n=$(python3 "$XDP_DIR/mkpcap.py" "$T/varied.pcap") || fail "mkpcap"
	for dir in tx rx; do
		if [ $dir = tx ]; then
			sns=$NSB sif=eth-sn dns=$NSW dif=xw
		else
			sns=$NSW sif=xw dns=$NSB dif=eth-sn
		fi
		start "cap-$tag-$dir" "$dns" tcpdump -i "$dif" -U -s 0 -w "$T/cap-$tag-$dir.pcap" \
			ether src 02:5e:00:00:00:01
		wait_for 10 grep -q 'listening on' "$T/cap-$tag-$dir.err" ||
			fail "$tag $dir: tcpdump did not start"
		timeout 30 ip netns exec "$sns" tcpreplay -q -i "$sif" "$T/varied.pcap" \
			>"$T/replay-$tag-$dir.out" 2>&1 || fail "$tag $dir: tcpreplay failed"
		wait_for 10 sh -c "[ \$(python3 '$XDP_DIR/mkpcap.py' --count '$T/cap-$tag-$dir.pcap') -ge $n ]"
		stop "cap-$tag-$dir" "$LAST_PID"
		python3 "$XDP_DIR/mkpcap.py" --compare "$T/varied.pcap" "$T/cap-$tag-$dir.pcap" ||
			fail "$tag $dir: capture differs from the replayed pcap"
		log "$tag $dir: $n frames byte-exact"
	done
}
