# domU half of scenario D (sourced by domu-scen.sh): stock Linux xen-netfront,
# 2 vCPUs so 2 queues, against stagenet back.  Fetches from dom0's httpd
# (10.0.0.1:80) and serves u.bin on its own (port 80) for dom0 to fetch; dom0
# paces the XDP steps through flag files on its httpd, and the detach/attach
# rounds through the device itself (eth gone, then a new one).
IP=/opt/sn/ip       # iproute2: busybox ip cannot load XDP
W=http://10.0.0.1
IF=eth0
seq 1 12000 > /tmp/d.bin
mkdir -p /www
seq 50001 62000 > /www/u.bin
# fetch URL N times, each compared with /tmp/d.bin; prints how many matched.
# timeout(1), not wget -T: the lab's busybox (Debian 1.35 static) crashes
# with -T.
fetch() { # url n
	ok=0 k=0
	while [ $k -lt $2 ]; do
		k=$((k + 1))
		rm -f /tmp/f.got
		timeout 60 wget -q -O /tmp/f.got "$1" 2>/dev/null && cmp -s /tmp/f.got /tmp/d.bin && ok=$((ok + 1))
	done
	echo $ok
}
wait_ping() { # tries
	i=0
	until ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt $1 ] && return 1
	done
	# (until's own status is its body's last one: a ping that failed once)
	return 0
}
# dom0 touches a flag file on its httpd when the next step may begin
wait_go() { # name secs
	i=0
	until timeout 10 wget -q -O /dev/null "$W/$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt $2 ] && return 1; sleep 1
	done
}
# `ip link set ... xdp` in the background: netfront waits for the backend's
# Reconfigured without a timeout (and holds the RTNL while it does), so a
# backend that never answers leaves the command stuck for good
ip_xdp() { # name args...
	n=$1; shift
	HUNG=
	$IP link set dev $IF xdp "$@" > /tmp/$n.log 2>&1 &
	xp=$!
	i=0
	while kill -0 $xp 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1
	done
	if kill -0 $xp 2>/dev/null; then
		r $n FAIL "ip link set dev $IF xdp $* still running after 60 s (no Reconfigured from the backend?)"
		echo "DOMU[$(up)] DOMU-D-ABORT"
		HUNG=1
		return 1
	fi
	wait $xp; rc=$?
	cat /tmp/$n.log
	$IP link show dev $IF
	return $rc
}
setup_if() {
	ip addr add 10.0.0.2/24 dev $IF
	ip link set $IF up
}
# one toolstack round: the vif goes (xl network-detach), a new one comes
# (xl network-attach); then ping and TCP over the new device
reattach() { # round
	i=0
	while [ -e /sys/class/net/$IF ]; do
		i=$((i + 1)); [ $i -gt 1800 ] && { r reattach$1-ping FAIL "$IF still present after 180 s"; return 1; }
		sleep 0.1
	done
	echo "DOMU[$(up)] $IF removed"
	i=0 IF=
	while [ -z "$IF" ]; do
		IF=$(ls /sys/class/net | grep '^eth' | head -1)
		i=$((i + 1)); [ $i -gt 1800 ] && { r reattach$1-ping FAIL "no new eth device within 180 s"; return 1; }
		[ -n "$IF" ] || sleep 0.1
	done
	echo "DOMU[$(up)] new device $IF ($(ls -d /sys/class/net/$IF/queues/tx-* | wc -l) tx queues)"
	setup_if
	# the device exists from the probe on; its carrier comes with the
	# connect
	i=0
	until [ "$(cat /sys/class/net/$IF/carrier 2>/dev/null)" = 1 ]; do
		i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1
	done
	echo "DOMU[$(up)] $IF carrier $(cat /sys/class/net/$IF/carrier 2>/dev/null)"
	ping -c 1 -W 2 10.0.0.1
	if wait_ping 90; then r reattach$1-ping PASS "ping 10.0.0.1 over the re-attached $IF"
	else r reattach$1-ping FAIL "no ping reply over the re-attached $IF: $(ping -c 1 -W 2 10.0.0.1 2>&1 | tr '\n' ' ') $(ip neigh | tr '\n' ' ') $(grep Icmp: /proc/net/snmp | tail -1)"; fi
	ip -s link show dev $IF; ip addr show dev $IF; ip route
	n=$(fetch $W/d.bin 1)
	if [ "$n" = 1 ]; then r reattach$1-tcp-dom0-to-domU PASS "fetch identical"
	else r reattach$1-tcp-dom0-to-domU FAIL "fetch failed or differs"; fi
	echo "DOMU[$(up)] DOMU-D-REATTACHED-$1"
}

d_main() {
	wait_netdev $IF 60 || { r queues FAIL "no $IF"; return; }
	nq=$(ls -d /sys/class/net/$IF/queues/tx-* | wc -l)
	if [ "$nq" = 2 ]; then r queues PASS "$IF: $nq tx queues, $(nproc) vCPUs"
	else r queues FAIL "$IF: $nq tx queues (want 2), $(nproc) vCPUs"; fi
	setup_if
	wait_ping 90
	httpd -p 80 -h /www
	# 8 connections each way: each picks its queue by flow hash, in
	# netfront (TX) and in the tap (RX)
	n=$(fetch $W/d.bin 8)
	if [ "$n" = 8 ]; then r tcp-dom0-to-domU PASS "8 of 8 fetches of $(wc -c < /tmp/d.bin) bytes identical"
	else r tcp-dom0-to-domU FAIL "$n of 8 fetches identical"; fi
	echo "DOMU[$(up)] DOMU-D-SERVING"

	wait_go go-xdp 240 || { r xdp-load FAIL "dom0 never said go"; echo "DOMU[$(up)] DOMU-D-ABORT"; return; }
	mkdir -p /sys/fs/bpf; mount -t bpf bpf /sys/fs/bpf
	ip_xdp xdp-load obj /lab/xdp_drop_icmp.o sec xdp; rc=$?
	[ -z "$HUNG" ] || return
	if [ $rc = 0 ] && $IP link show dev $IF | grep -q 'prog/xdp'; then r xdp-load PASS "$($IP link show dev $IF | grep prog/xdp | xargs)"
	else r xdp-load FAIL "ip exit $rc: $(tr '\n' ' ' < /tmp/xdp-load.log)"; fi
	if ping -c 3 -W 2 10.0.0.1; then r xdp-drops-ping FAIL "ping replies passed the XDP program"
	else r xdp-drops-ping PASS "no ICMP reply passed the XDP program"; fi
	n=$(fetch $W/d.bin 1)
	if [ "$n" = 1 ]; then r xdp-tcp-dom0-to-domU PASS "fetch identical with XDP loaded"
	else r xdp-tcp-dom0-to-domU FAIL "fetch failed or differs with XDP loaded"; fi
	cat /proc/net/dev
	echo "DOMU[$(up)] DOMU-D-XDP-LOADED"

	wait_go go-unload 240 || echo "DOMU[$(up)] no go-unload from dom0; unloading anyway"
	ip_xdp xdp-unload off
	[ -z "$HUNG" ] || return
	if ! $IP link show dev $IF | grep -q 'prog/xdp'; then r xdp-unload PASS "no XDP program on $IF"
	else r xdp-unload FAIL "$(tr '\n' ' ' < /tmp/xdp-unload.log)"; fi
	if wait_ping 30; then r xdp-off-ping PASS "ping 10.0.0.1 again with the program unloaded"
	else r xdp-off-ping FAIL "no ping reply with the program unloaded"; fi
	echo "DOMU[$(up)] DOMU-D-XDP-OFF"

	reattach 1 && reattach 2
}
d_main
