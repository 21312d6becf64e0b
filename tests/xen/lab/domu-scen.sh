#!/bin/sh
# domU half of the lab scenarios (busybox sh; run by domu-init as "$0 SCEN").
# Prints "DOMURESULT <check> PASS|FAIL <detail>" lines on the console, which
# dom0 copies into its own results; "DOMU-SERVING" tells dom0 that up.bin is
# being served on port 5002.
S=$1
SN=/opt/sn/stagenet
r() { echo "DOMURESULT $1 $2 $3"; }
up() { cut -d' ' -f1 /proc/uptime; }
seq 1 12000 > /tmp/down.bin
seq 30001 42000 > /tmp/up.bin
# total counter from `stagenet stats`-style output, 0 if absent
total() { awk -v c="$1" '/^  total:/ {t = 1; next} t && $1 == c {v = $2} END {print v + 0}' "$2"; }
wait_netdev() { # name secs
	i=0
	until [ -e /sys/class/net/$1 ]; do
		i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && return 1; sleep 0.1
	done
}
start_front() { # port-spec extra-args...
	p=$1; shift
	$SN front --platform xen --devid 0 --port "$p" "$@" > /tmp/front.out 2> /tmp/front.log &
	FPID=$!
	echo "DOMU[$(up)] started stagenet front --port $p $* (pid $FPID)"
}
stop_front() {
	kill -INT $FPID 2>/dev/null
	i=0
	while kill -0 $FPID 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { kill -KILL $FPID; break; }; sleep 0.1
	done
	wait $FPID
	echo "front exit status $?"
}
net_tests() { # ifname
	ip addr add 10.0.0.2/24 dev $1
	ip link set $1 up
	ip addr show $1
	if ping -c 3 -w 60 10.0.0.1; then r ping-domU-to-dom0 PASS "ping 10.0.0.1 over $1"
	else r ping-domU-to-dom0 FAIL "ping 10.0.0.1 over $1"; fi
	# MTU-sized frames (no GSO): 1472 B of ICMP payload = 1514 B frames
	if ping -c 2 -s 1472 -w 30 10.0.0.1; then r ping-mtu-domU-to-dom0 PASS "1514-byte frames"
	else r ping-mtu-domU-to-dom0 FAIL "1514-byte frames"; fi
	# busybox nc quits when its stdin ends, even with data still to come:
	# its stdin is a FIFO that stays open (and silent) until it is done
	mkfifo /tmp/hold
	for i in 1 2 3 4 5; do
		sleep 300 > /tmp/hold &
		sp=$!
		timeout 60 nc 10.0.0.1 5001 < /tmp/hold > /tmp/down.got 2>/dev/null
		kill $sp 2>/dev/null
		[ -s /tmp/down.got ] && break; sleep 1
	done
	n=$(wc -c < /tmp/down.got); m=$(wc -c < /tmp/down.bin)
	if cmp -s /tmp/down.bin /tmp/down.got; then r tcp-dom0-to-domU PASS "got $n of $m bytes, identical"
	else r tcp-dom0-to-domU FAIL "got $n of $m bytes"; fi
	echo "---- domU /proc/net/snmp, after dom0 -> domU ----"; grep -E '^(Ip|Tcp):' /proc/net/snmp
	timeout 300 nc -l -p 5002 < /tmp/up.bin &
	NCPID=$!
	sleep 0.5
	echo "DOMU[$(up)] DOMU-SERVING"
}
# Keep the interface (and, for a userspace frontend, the process behind it)
# up until dom0 has fetched up.bin: nc -l exits once it has sent the file.
# Under TCG dom0 may need tens of seconds to see DOMU-SERVING on the console
# and connect, so a fixed sleep here lost the race (C1, first stage run).
wait_fetched() {
	i=0
	while kill -0 $NCPID 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 1200 ] && { echo "DOMU[$(up)] up.bin not fetched within 120 s"; break; }
		sleep 0.1
	done
	echo "DOMU[$(up)] up.bin served (nc done)"
	sleep 1
}

case "$S" in
A)
	wait_netdev eth0 60
	echo "DOMU[$(up)] eth0 driver: $(basename $(readlink /sys/class/net/eth0/device/driver))"
	net_tests eth0
	;;
B)
	if grep -q lab.plattest /proc/cmdline; then
		/opt/sn/test_xen_platform > /tmp/xp.log 2>&1
		rc=$?
		cat /tmp/xp.log
		if [ $rc = 0 ]; then r xen-platform-domU PASS "test_xen_platform in the domU: $(grep -E 'PASSED|FAILED' /tmp/xp.log | tr '\n' ' ')"
		else r xen-platform-domU FAIL "test_xen_platform in the domU exited $rc"; fi
	fi
	STG=
	$SN front --help | grep -q -- '--staging' && STG="--staging page"
	start_front tap:sn0 $STG
	if wait_netdev sn0 150; then
		ip link set sn0 address 00:16:3e:00:00:02
		net_tests sn0
		wait_fetched
	else
		r ping-domU-to-dom0 FAIL "stagenet front made no TAP"
	fi
	$SN stats > /tmp/stats.txt 2>&1
	cat /tmp/stats.txt
	tx=$(total tx_pkts /tmp/stats.txt); rx=$(total rx_pkts /tmp/stats.txt)
	if [ "$tx" -gt 0 ] && [ "$rx" -gt 0 ]; then r front-counters PASS "tx_pkts $tx rx_pkts $rx"
	else r front-counters FAIL "tx_pkts $tx rx_pkts $rx"; fi
	if [ -n "$STG" ]; then
		n=$(grep -c 'staging grants .*unavailable' /tmp/front.log)
		if [ "$n" = 1 ]; then r staging-fallback PASS "$(grep 'staging grants' /tmp/front.log)"
		else r staging-fallback FAIL "$n fallback lines in the front log"; fi
	else
		r staging-fallback PASS "SKIPPED-NO-STAGING: this stagenet front has no --staging"
	fi
	stop_front
	echo "---- stagenet front output and log ----"; cat /tmp/front.out /tmp/front.log
	;;
C1|C2|C3)
	. /lab/domu-scen-c.sh
	;;
D)
	. /lab/domu-scen-d.sh
	;;
*)
	r scenario FAIL "unknown scenario '$S'"
	;;
esac
