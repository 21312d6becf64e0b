#!/bin/bash
# Peers that offer less than Linux, through TAPs in two namespaces: for each
# feature set of a real peer (FreeBSD, MiniOS, Windows with GSO off as the
# frontend; QEMU's xen_nic, FreeBSD netback as the backend), acted by
# `stagenet front/back --features-off` while the other side runs with every
# TAP offload on, TCP over IPv4 and IPv6 both ways (iperf3) must run, with
# no drop counted, no checksum error in either kernel (TcpInCsumErrors), no
# frame above the MTU into a frontend without SG, and for the MiniOS set
# (feature-no-csum-offload too: every checksum complete on the wire)
# tcpdump -vv on the far side sees no incorrect checksum.
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
for t in ip iperf3 tcpdump ss timeout nstat xenstore-read; do
	command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run 'make deps'"
done

T=$(mktemp -d /tmp/sn-peers-XXXXXX)
NSA=sn-pa-$$
NSB=sn-pb-$$
PIDS=
# A stalled connection moves a few KiB at most; 1 MB in 2 s is far below a
# working path and far above a stalled one.
IPERF_MIN_BYTES=1000000

# shellcheck disable=SC2317
on_cleanup() {
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

csum_errors() {
	ip netns exec "$1" nstat -asz TcpInCsumErrors 2>/dev/null |
		awk '$1 == "TcpInCsumErrors" { print $2 }'
}

start_host
ip netns add "$NSA" || fail "ip netns add $NSA"
ip netns add "$NSB" || fail "ip netns add $NSB"
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
done

# name | backend --features-off | frontend --features-off | frontend has SG
dom=0
while IFS='|' read -r name boff foff fsg; do
	[ -n "$name" ] || continue
	dom=$((dom + 1))
	log "$name (domain $dom)"
	"$SN" vif-add --domid $dom --devid 0 || fail "vif-add $dom"
	bargs=; fargs=
	[ -n "$boff" ] && bargs="--features-off $boff"
	[ -n "$foff" ] && fargs="--features-off $foff"
	# shellcheck disable=SC2086
	start "back-$name" "$NSA" "$SN" back --port tap $bargs
	bpid=$LAST_PID
	wait_for 10 state_is $dom 2 || fail "$name: backend never reached InitWait"
	# shellcheck disable=SC2086
	start "front-$name" "$NSB" "$SN" front --domid $dom --devid 0 --port tap:eth-sn \
		--connect-timeout 10000 $fargs
	fpid=$LAST_PID
	wait_for 15 state_is $dom 4 || fail "$name: backend never Connected"
	wait_for 10 ip -n "$NSA" link show vif$dom.0 || fail "$name: no vif$dom.0"
	wait_for 10 ip -n "$NSB" link show eth-sn || fail "$name: no eth-sn"
	ip -n "$NSA" addr add 10.99.0.1/24 dev vif$dom.0
	ip -n "$NSB" addr add 10.99.0.2/24 dev eth-sn
	ip -n "$NSA" addr add fd99::1/64 dev vif$dom.0 nodad
	ip -n "$NSB" addr add fd99::2/64 dev eth-sn nodad
	ip -n "$NSA" link set vif$dom.0 up
	ip -n "$NSB" link set eth-sn up
	wait_for 10 ip netns exec "$NSA" ping -c 1 -W 1 10.99.0.2 ||
		fail "$name: no IPv4 connectivity"
	wait_for 10 ip netns exec "$NSA" ping -6 -c 1 -W 1 fd99::2 ||
		fail "$name: no IPv6 connectivity"
	ea=$(csum_errors "$NSA"); eb=$(csum_errors "$NSB")
	# The far side of guest RX is the frontend's TAP: what it receives,
	# as the frontend's kernel sees it.
	start "tcpdump-$name" "$NSB" tcpdump -vv -n -e -Q in -i eth-sn -s 200 tcp
	tdpid=$LAST_PID
	sleep 1
	iperf "$name-tcp4" 10.99.0.1 -t 2
	iperf "$name-tcp4-R" 10.99.0.1 -t 2 -R
	iperf "$name-tcp6" fd99::1 -t 2
	iperf "$name-tcp6-R" fd99::1 -t 2 -R
	stop "tcpdump-$name" "$tdpid"
	[ "$(csum_errors "$NSA")" = "$ea" ] || fail "$name: TCP checksum errors in $NSA"
	[ "$(csum_errors "$NSB")" = "$eb" ] || fail "$name: TCP checksum errors in $NSB"
	frames=$(grep -c ' length ' "$T/tcpdump-$name.out")
	[ "$frames" -gt 1000 ] || fail "$name: tcpdump saw only $frames frames"
	if [ "$fsg" = nosg ]; then
		big=$(awk '/ length / { for (i = 1; i < NF; i++) if ($i == "length") { l = $(i + 1); sub(/:.*/, "", l); if (l + 0 > 1514) n++; break } } END { print n + 0 }' "$T/tcpdump-$name.out")
		[ "$big" = 0 ] || fail "$name: $big frames above the MTU into a frontend without SG"
	fi
	case $foff in *csum,*|*csum)
		bad=$(grep -c 'incorrect' "$T/tcpdump-$name.out")
		log "$name: tcpdump -vv: $frames frames, $bad incorrect checksums"
		[ "$bad" = 0 ] || fail "$name: tcpdump -vv saw $bad incorrect checksums: $(grep -m 3 incorrect "$T/tcpdump-$name.out")" ;;
	esac
	st=$("$SN" stats "back-$dom-0")
	fst=$("$SN" stats "front-$dom-0")
	for c in rx_drop_port tx_drop_malformed fatal_errors; do
		[ -z "$(counter "$st" $c)" ] || fail "$name: backend $c = $(counter "$st" $c)"
		[ -z "$(counter "$fst" $c)" ] || fail "$name: frontend $c = $(counter "$fst" $c)"
	done
	stop_clean "front-$name" $fpid
	"$SN" vif-del --domid $dom --devid 0 || fail "vif-del $dom"
	stop_clean "back-$name" $bpid
done <<'PEERS'
freebsd-netfront||gso-tcpv6,ipv6-csum-offload|sg
minios-netfront||sg,gso-tcpv4,gso-tcpv6,ipv6-csum-offload,csum|nosg
windows-nogso-netfront||gso-tcpv4,gso-tcpv6|sg
qemu-xen_nic|sg,gso-tcpv4,gso-tcpv6,ipv6-csum-offload||sg
freebsd-netback|gso-tcpv6,ipv6-csum-offload||sg
PEERS

log "all passed"
exit 0
