#!/bin/bash
# Two network namespaces joined only by stagenet: the backend's TAP vif<D>.0
# lives in namespace A, the frontend's TAP eth-sn in namespace B, and the
# only path between them is netif over the emulated host.  Checks ping both
# ways, iperf3 TCP (TAP offloads on: GSO both ways) and UDP with --tx-path
# copy and linux (staging grants off) and with the defaults (staging on),
# and pcap files written by the pcap port read back by tcpdump.
# Needs root (namespaces, TAP); exits 77 with a message otherwise.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces, TAP)"
	exit 77
fi

# shellcheck source=tests/netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SN_STAGENET:?SN_STAGENET must point at the stagenet binary}"
SN=$SN_STAGENET
# Missing tools are a broken setup (they are in the Makefile's DEPS), not a
# reason to skip.
for t in ip ping iperf3 tcpdump ss timeout xenstore-read; do
	command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run 'make deps' (iproute2, iputils-ping, iperf3, tcpdump, xenstore-utils)"
done

T=$(mktemp -d /tmp/sn-netns-XXXXXX)
# Unique per run: other tests (and other runs) may have namespaces too.
NSA=sn-a-$$
NSB=sn-b-$$
PIDS=

# Called by lib.sh's cleanup.
# shellcheck disable=SC2317
on_cleanup() {
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ping_ok() {
	local what=$1 out
	shift
	out=$(timeout 30 ip netns exec "$@" 2>&1)
	echo "$out" | tail -n 2
	echo "$out" | grep -q '^20 packets transmitted, 20 received, 0% packet loss' ||
		fail "$what: ping lost packets: $out"
}

# ---- the emulated host
start_host

ip netns add "$NSA" || fail "ip netns add $NSA"
ip netns add "$NSB" || fail "ip netns add $NSB"
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
	# No IPv6 autoconfiguration chatter: the pcap counts must be exact.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done

# ---- ping and iperf3 through TAPs, once per TX path
# copy and linux are the issue-3 datapath, so staging grants are off for
# them (--staging-max 0: every slot by grant copy/map); "staged" is the
# default configuration, staging on.
dom=0
for path in copy linux staged; do
	dom=$((dom + 1))
	log "tx-path $path (domain $dom)"
	"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
	case $path in
	staged) bargs= ;;
	*) bargs="--tx-path $path --staging-max 0" ;;
	esac
	# shellcheck disable=SC2086
	start "back-$path" "$NSA" "$SN" back --port tap $bargs
	bpid=$LAST_PID
	wait_for 10 state_is $dom 2 || fail "$path: backend never reached InitWait"
	start "front-$path" "$NSB" "$SN" front --domid $dom --devid 0 --port tap:eth-sn \
		--connect-timeout 10000
	fpid=$LAST_PID
	wait_for 15 state_is $dom 4 || fail "$path: backend never Connected"
	wait_for 10 ip -n "$NSA" link show vif$dom.0 || fail "$path: no vif$dom.0 in $NSA"
	wait_for 10 ip -n "$NSB" link show eth-sn || fail "$path: no eth-sn in $NSB"
	ip -n "$NSA" addr add 10.99.0.1/24 dev vif$dom.0
	ip -n "$NSB" addr add 10.99.0.2/24 dev eth-sn
	ip -n "$NSA" link set vif$dom.0 up
	ip -n "$NSB" link set eth-sn up
	# The links may need a moment (ARP, carrier): a bounded warm-up.
	wait_for 10 ip netns exec "$NSA" ping -c 1 -W 1 10.99.0.2 ||
		fail "$path: no connectivity A -> B"

	ping_ok "$path A->B" "$NSA" ping -c 20 -i 0.05 -W 2 10.99.0.2
	ping_ok "$path B->A" "$NSB" ping -c 20 -i 0.05 -W 2 10.99.0.1

	# TCP with the TAP offloads left on, so TSO/GSO frames cross netif
	# in both directions (checked below from the counters).
	iperf "$path-tcp" 10.99.0.1 -t 3
	iperf "$path-tcp-R" 10.99.0.1 -t 3 -R
	iperf "$path-udp" 10.99.0.1 -u -b 50M -t 2
	iperf "$path-udp-R" 10.99.0.1 -u -b 50M -t 2 -R

	st=$("$SN" stats "back-$dom-0")
	echo "$st" | sed -n '/total:/,$p'
	tp=$(counter "$st" tx_pkts); tb=$(counter "$st" tx_bytes)
	rp=$(counter "$st" rx_pkts); rb=$(counter "$st" rx_bytes)
	[ -n "$tp" ] && [ "$tp" -gt 0 ] && [ -n "$rp" ] && [ "$rp" -gt 0 ] ||
		fail "$path: backend counters empty: $st"
	# Larger than one Ethernet frame on average: GSO packets went both
	# ways (without offloads every frame would be <= 1514 bytes).
	[ $((tb / tp)) -gt 1514 ] || fail "$path: guest TX saw no GSO (avg $((tb / tp)) B)"
	[ $((rb / rp)) -gt 1514 ] || fail "$path: guest RX saw no GSO (avg $((rb / rp)) B)"
	# Each configuration really took its own way to the data.
	m=$(counter "$st" grant_maps); u=$(counter "$st" grant_unmaps)
	c=$(counter "$st" grant_copies); sg=$(counter "$st" staged_slots)
	case $path in
	copy)
		[ -n "$c" ] && [ "$c" -gt 0 ] || fail "copy path made no grant copies"
		[ -z "$m" ] || fail "copy path grant-mapped ($m)"
		[ -z "$sg" ] || fail "copy path with staging off staged $sg slots" ;;
	linux)
		[ -n "$m" ] && [ "$m" -gt 0 ] || fail "linux path did not grant-map"
		[ "$m" = "$u" ] || fail "linux path: $m maps but $u unmaps"
		[ -z "$sg" ] || fail "linux path with staging off staged $sg slots" ;;
	staged)
		[ -n "$sg" ] && [ "$sg" -gt 0 ] || fail "default configuration staged nothing" ;;
	esac
	[ -z "$(counter "$st" fatal_errors)" ] || fail "$path: fatal errors: $st"

	stop_clean "front-$path" $fpid
	"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
	stop_clean "back-$path" $bpid
done

# ---- pcap ports, read back by tcpdump
# (1) Guest RX into a pcap: ping from A through the backend TAP; the
#     frontend in B has no stack, only pcap:out, so exactly the echo
#     requests arrive (a static neighbour entry avoids ARP).
dom=$((dom + 1))
N=25
log "pcap: TAP in $NSA -> backend -> frontend pcap:out"
"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
start back-pcap "$NSA" "$SN" back --port tap
bpid=$LAST_PID
wait_for 10 state_is $dom 2 || fail "pcap: backend never reached InitWait"
start front-pcap - "$SN" front --domid $dom --devid 0 --port "pcap:out=$T/guest-rx.pcap" \
	--connect-timeout 10000 --linger-ms 600000
fpid=$LAST_PID
wait_for 15 state_is $dom 4 || fail "pcap: backend never Connected"
wait_for 10 ip -n "$NSA" link show vif$dom.0 || fail "pcap: no vif$dom.0"
ip -n "$NSA" addr add 10.99.0.1/24 dev vif$dom.0
ip -n "$NSA" link set vif$dom.0 up
ip -n "$NSA" neigh replace 10.99.0.2 lladdr 02:00:00:00:99:02 dev vif$dom.0
# No replies can come: ping exits 1 by design.
timeout 30 ip netns exec "$NSA" ping -c $N -i 0.05 -W 1 10.99.0.2 >/dev/null 2>&1
wait_for 10 sh -c "[ \"\$('$SN' stats front-$dom-0 | awk '/^  total:/{t=1} t&&\$1==\"rx_pkts\"{print \$2}')\" -ge $N ]" ||
	fail "pcap: frontend did not receive $N packets"
stop_clean front-pcap $fpid
got=$(tcpdump -n -r "$T/guest-rx.pcap" 'icmp[icmptype] == icmp-echo and dst host 10.99.0.2' 2>/dev/null | wc -l)
all=$(tcpdump -n -r "$T/guest-rx.pcap" 2>/dev/null | wc -l)
tcpdump -n -r "$T/guest-rx.pcap" 2>/dev/null | head -n 2
log "pcap (guest RX): $got echo requests, $all packets in the file"
[ "$got" -eq $N ] || fail "pcap: tcpdump saw $got echo requests, want $N"
[ "$all" -eq $N ] || fail "pcap: tcpdump saw $all packets, want $N"
"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
stop_clean back-pcap $bpid

# (2) Guest TX into a pcap: a frontend generator with a fixed count, the
#     backend's pcap:out in front of it.
dom=$((dom + 1))
N=300
log "pcap: frontend gen:count=$N -> backend pcap:out"
"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
start back-gen - "$SN" back --port "pcap:out=$T/guest-tx.pcap" --max-queues 1
bpid=$LAST_PID
wait_for 10 state_is $dom 2 || fail "gen: backend never reached InitWait"
start front-gen - "$SN" front --domid $dom --devid 0 --port "gen:count=$N,size=700" \
	--connect-timeout 10000
fpid=$LAST_PID
# The generator ends by itself after count packets and the linger time.
wait_for 30 sh -c "! kill -0 $fpid" || fail "gen: frontend did not finish"
wait $fpid; rc=$?
PIDS=$(echo " $PIDS " | sed "s/ $fpid / /")
[ $rc -eq 0 ] || fail "gen: frontend exited $rc"
grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T/front-gen.err" &&
	fail "front-gen: sanitizer report"
wait_for 10 sh -c "[ \"\$('$SN' stats back-$dom-0 | awk '/^  total:/{t=1} t&&\$1==\"tx_pkts\"{print \$2}')\" -ge $N ]" ||
	fail "gen: backend did not pass $N packets"
"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
# The capture is flushed when the backend exits.
stop_clean back-gen $bpid
all=$(tcpdump -n -r "$T/guest-tx.pcap" 2>/dev/null | wc -l)
sized=$(tcpdump -n -e -r "$T/guest-tx.pcap" 2>/dev/null | grep -c 'length 700:')
log "pcap (guest TX): $all packets, $sized of 700 bytes"
[ "$all" -eq $N ] || fail "gen: tcpdump saw $all packets, want $N"
[ "$sized" -eq $N ] || fail "gen: tcpdump saw $sized 700-byte frames, want $N"

log "all passed"
exit 0
