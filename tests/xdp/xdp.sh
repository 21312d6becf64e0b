#!/bin/bash
# The backend on an AF_XDP port: namespace W ("the wire") holds veth end
# xw, namespace X holds the other end xb and the backend's xdp port on it,
# namespace B the frontend's TAP; the only path W <-> B is AF_XDP + netif.
# ping, iperf3 TCP and UDP both ways (guest TCP is GSO with csum_blank: the
# port segments and checksums it), a varied pcap replayed from B and
# captured byte-exact in W (and back), with 1 and 2 queues; then SIGTERM
# and SIGKILL of the backend: no program left attached, or the leftover
# replaced at the next start, and traffic passes afterwards; last, the
# frontend on the xdp port (backend on a TAP in B): ping and TCP both ways.
# Needs root and libxdp; exits 77 with a message otherwise.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (namespaces, AF_XDP)"
	exit 77
fi
# shellcheck source=tests/netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
: "${SN_STAGENET:?SN_STAGENET must point at the stagenet binary}"
SN=$SN_STAGENET
for t in ip ping iperf3 tcpdump tcpreplay ss timeout xenstore-read ethtool nsenter xdp-loader; do
	command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run 'make deps'"
done

T=$(mktemp -d /tmp/sn-xdp-XXXXXX)
NSW=sn-xw-$$
NSX=sn-xx-$$
NSB=sn-xb-$$
PIDS=

# shellcheck disable=SC2317
on_cleanup() {
	ip netns del "$NSW" 2>/dev/null
	ip netns del "$NSX" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

XDP_DIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tests/xdp/lib.sh
. "$XDP_DIR/lib.sh"
xdp_build_check "${1:-}" || exit 77
bpffs_mount || fail "cannot mount bpffs at /sys/fs/bpf"

start_host
for ns in "$NSW" "$NSX" "$NSB"; do
	ip netns add "$ns" || fail "ip netns add $ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done

ping_ok() {
	local what=$1 out
	shift
	out=$(timeout 30 ip netns exec "$@" 2>&1)
	echo "$out" | grep -q '^10 packets transmitted, 10 received, 0% packet loss' ||
		fail "$what: ping lost packets: $out"
}

# One backend per queue count: veth xw (W) <-> xb (X) with NQ queues.
dom=0
for NQ in 1 2; do
	dom=$((dom + 1))
	log "xdp port, $NQ queue(s) (domain $dom)"
	ip -n "$NSW" link del xw 2>/dev/null
	veth_pair "$NSW" xw "$NSX" xb "$NQ"
	ip -n "$NSW" addr add 10.98.0.1/24 dev xw
	"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
	start_xback "back-$NQ" --port xdp:xb --max-queues "$NQ"
	bpid=$LAST_PID
	wait_for 10 state_is $dom 2 || fail "$NQ: backend never reached InitWait"
	start "front-$NQ" "$NSB" "$SN" front --domid $dom --devid 0 --port tap:eth-sn \
		--queues "$NQ" --connect-timeout 10000
	fpid=$LAST_PID
	wait_for 15 state_is $dom 4 || fail "$NQ: backend never Connected"
	grep -q "connected, $NQ queue" "$T/back-$NQ.err" || fail "$NQ: not $NQ queues"
	wait_for 10 ip -n "$NSB" link show eth-sn || fail "$NQ: no eth-sn in $NSB"
	ip -n "$NSB" addr add 10.98.0.2/24 dev eth-sn
	ip -n "$NSB" link set eth-sn up
	xdp_attached "$NSX" xb || fail "$NQ: no AF_XDP program on xb"
	wait_for 10 ip netns exec "$NSW" ping -c 1 -W 1 10.98.0.2 ||
		fail "$NQ: no connectivity W -> B"
	ping_ok "$NQ W->B" "$NSW" ping -c 10 -i 0.05 -W 2 10.98.0.2
	ping_ok "$NQ B->W" "$NSB" ping -c 10 -i 0.05 -W 2 10.98.0.1

	NSA=$NSW NSB=$NSB iperf "xdp$NQ-tcp" 10.98.0.1 -t 2 -P "$NQ"
	NSA=$NSW NSB=$NSB iperf "xdp$NQ-tcp-R" 10.98.0.1 -t 2 -R -P "$NQ"
	NSA=$NSW NSB=$NSB iperf "xdp$NQ-udp" 10.98.0.1 -u -b 20M -t 1
	NSA=$NSW NSB=$NSB iperf "xdp$NQ-udp-R" 10.98.0.1 -u -b 20M -t 1 -R

	replay_exact "$NQ" eth-sn xw
	st=$("$SN" stats "back-$dom-0")
	tp=$(counter "$st" tx_pkts); tb=$(counter "$st" tx_bytes)
	[ -n "$tp" ] && [ "$tp" -gt 0 ] || fail "$NQ: no guest TX counted: $st"
	# The guest's TCP came as GSO (average over one frame): the port
	# segmented it, or iperf3 TCP above could not have passed.
	[ $((tb / tp)) -gt 1514 ] || fail "$NQ: guest TX saw no GSO (avg $((tb / tp)) B)"
	[ -z "$(counter "$st" fatal_errors)" ] || fail "$NQ: fatal errors: $st"

	stop_clean "front-$NQ" $fpid
	"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
	stop_clean "back-$NQ" $bpid
	! xdp_attached "$NSX" xb || fail "$NQ: XDP program left on xb after a clean stop"
done

# ---- SIGTERM and SIGKILL of the backend
ip -n "$NSW" link del xw 2>/dev/null
veth_pair "$NSW" xw "$NSX" xb 1
ip -n "$NSW" addr add 10.98.0.1/24 dev xw
ip -n "$NSW" addr add 10.97.0.1/24 dev xw
# up: start a backend and frontend for domain $dom and check W -> B.
up() {
	"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
	start_xback "back-$1" --port xdp:xb --max-queues 1
	bpid=$LAST_PID
	wait_for 10 state_is $dom 2 || fail "$1: backend never reached InitWait"
	start "front-$1" "$NSB" "$SN" front --domid $dom --devid 0 --port tap:eth-sn \
		--connect-timeout 10000
	fpid=$LAST_PID
	wait_for 15 state_is $dom 4 || fail "$1: backend never Connected"
	wait_for 10 ip -n "$NSB" link show eth-sn || fail "$1: no eth-sn in $NSB"
	ip -n "$NSB" addr add 10.98.0.2/24 dev eth-sn
	ip -n "$NSB" link set eth-sn up
	# Each frontend TAP has a new MAC: W must not wait out a stale entry.
	ip -n "$NSW" neigh flush dev xw
	wait_for 10 ip netns exec "$NSW" ping -c 1 -W 1 10.98.0.2 || fail "$1: no W -> B"
	ping_ok "$1 W->B" "$NSW" ping -c 10 -i 0.05 -W 2 10.98.0.2
}
down() {
	stop "front-$1" "$fpid"
	"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
}
# The interface carries the namespace's own traffic afterwards.
x_passes() {
	ip -n "$NSX" addr add 10.97.0.2/24 dev xb
	ping_ok "$1: W->X on xb" "$NSW" ping -c 10 -i 0.05 -W 2 10.97.0.2
	ip -n "$NSX" addr del 10.97.0.2/24 dev xb
}

dom=$((dom + 1))
log "SIGTERM (domain $dom)"
up term
kill -TERM "$bpid"
wait_for 10 sh -c "! kill -0 $bpid" || fail "backend ignored SIGTERM"
wait "$bpid"; rc=$?
PIDS=$(echo " $PIDS " | sed "s/ $bpid / /")
[ $rc -eq 0 ] || fail "backend exited $rc on SIGTERM"
! xdp_attached "$NSX" xb || fail "XDP program left on xb after SIGTERM"
down term
x_passes SIGTERM

dom=$((dom + 1))
log "SIGKILL (domain $dom)"
up kill
kill -KILL "$bpid"
wait "$bpid" 2>/dev/null
PIDS=$(echo " $PIDS " | sed "s/ $bpid / /")
# Nothing can detach after SIGKILL: the program stays, passing frames
# to the stack (no socket in its map), until the next start replaces it.
xdp_attached "$NSX" xb || fail "no program on xb after SIGKILL (test premise)"
old=$(ip -n "$NSX" link show xb | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
x_passes SIGKILL
# The frontend waits for a backend that is gone; it is not under test.
kill -KILL "$fpid"
down kill
dom=$((dom + 1))
log "restart after SIGKILL (domain $dom)"
up restart
grep -q 'detached the AF_XDP program a killed stagenet left' "$T/back-restart.err" ||
	fail "restart did not replace the leftover program"
new=$(ip -n "$NSX" link show xb | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
[ -n "$new" ] && [ "$new" != "$old" ] || fail "program id $old still attached after restart"
down restart
stop_clean back-restart "$bpid"
! xdp_attached "$NSX" xb || fail "XDP program left on xb after the restarted backend stopped"
x_passes restart

# ---- the frontend on an xdp port: a guest's NIC queue on a netif vif
# (backend TAP vif<D>.0 in B, frontend AF_XDP on xb in X, wire W).
dom=$((dom + 1))
log "frontend on xdp:xb (domain $dom)"
"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
start back-fx "$NSB" "$SN" back --port tap --max-queues 1
bpid=$LAST_PID
wait_for 10 state_is $dom 2 || fail "front xdp: backend never reached InitWait"
start front-fx - nsenter --net="/run/netns/$NSX" "$SN" front --domid $dom --devid 0 \
	--port xdp:xb --connect-timeout 10000
fpid=$LAST_PID
wait_for 15 state_is $dom 4 || fail "front xdp: backend never Connected"
wait_for 10 ip -n "$NSB" link show vif$dom.0 || fail "front xdp: no vif$dom.0 in $NSB"
ip -n "$NSB" addr add 10.98.0.2/24 dev vif$dom.0
ip -n "$NSB" link set vif$dom.0 up
ip -n "$NSW" neigh flush dev xw
wait_for 10 ip netns exec "$NSW" ping -c 1 -W 1 10.98.0.2 || fail "front xdp: no W -> B"
ping_ok "front xdp W->B" "$NSW" ping -c 10 -i 0.05 -W 2 10.98.0.2
NSA=$NSW NSB=$NSB iperf "front-xdp-tcp" 10.98.0.1 -t 1
NSA=$NSW NSB=$NSB iperf "front-xdp-tcp-R" 10.98.0.1 -t 1 -R
xdp_attached "$NSX" xb || fail "front xdp: no program on xb"
stop_clean front-fx "$fpid"
! xdp_attached "$NSX" xb || fail "front xdp: program left on xb after a clean stop"
"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
stop_clean back-fx "$bpid"

log "all passed"
exit 0
