#!/bin/bash
# dom0 half of the lab scenarios (run by dom0-init as "$0 SCEN").  Prints one
# "LABRESULT <scen>/<check> PASS|FAIL <detail>" line per check, including the
# domU's own checks, which it copies from the guest console log.  Every wait
# here is bounded.
#   A  stagenet back (dom0, tap on xenbr0 through vif-bridge) <-> Linux netfront
#   B  Linux netback (dom0) <-> stagenet front (domU, tap)
#   C  stagenet back <-> stagenet front, gen -> sink both ways, staging if built in
#   D  stagenet back <-> Linux netfront with 2 queues: TCP over both, XDP in
#      the domU, xl network-detach/attach, stagenet back restarted
S=$1
SN=/opt/sn/sn
CONS=/var/log/xen/console
N_GEN=$(sed -n 's/.*lab\.ngen=\([0-9]*\).*/\1/p' /proc/cmdline)
N_GEN=${N_GEN:-2000}
mark() { echo "LAB[dom0 $(cut -d' ' -f1 /proc/uptime)] $*"; }
res() { echo "LABRESULT $S/$1 $2 ${3:-}"; }
check() { # name detail command...: PASS if the command succeeds
	local n=$1 d=$2; shift 2
	if "$@"; then res "$n" PASS "$d"; else res "$n" FAIL "$d"; fi
}
# counter value from `stagenet stats`-style output ("total:" section), 0 if absent
total() { awk -v c="$1" '/^  total:/ {t = 1; next} t && $1 == c {v = $2} END {print v + 0}' "$2"; }
# wait for an extended regexp in a domU's console log
domu_wait() { # dom re secs
	local i=0
	until grep -a -q -E "$2" $CONS/guest-$1.log 2>/dev/null; do
		i=$((i + 1)); [ $i -gt $(($3 * 5)) ] && return 1; sleep 0.2
	done
}
# copy a domU check's result line; FAIL if it never came
domu_result() { # dom name secs
	if domu_wait "$1" "DOMURESULT $2 (PASS|FAIL)" "$3"; then
		grep -a -m1 "DOMURESULT $2 " $CONS/guest-$1.log | tr -d '\r' |
			sed "s|.*DOMURESULT |LABRESULT $S/|"
	else
		res "$2" FAIL "no result from the domU within $3 s"
	fi
}
start_back() { # log-prefix args...
	local p=$1; shift
	$SN back --platform xen "$@" > /tmp/$p.out 2> /tmp/$p.log &
	BACKPID=$!
	local i=0
	until grep -q 'serving' /tmp/$p.log; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $BACKPID 2>/dev/null; then
			res "$p-start" FAIL "stagenet back did not start"; cat /tmp/$p.log; return 1
		fi
		sleep 0.2
	done
	res "$p-start" PASS "stagenet back $*"
}
stop_back() { # log-prefix
	[ -n "$BACKPID" ] || return 0
	kill -TERM $BACKPID 2>/dev/null
	local i=0
	while kill -0 $BACKPID 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { kill -KILL $BACKPID; break; }; sleep 0.1
	done
	wait $BACKPID 2>/dev/null
	BACKPID=
	echo "---- stagenet back log ($1) ----"; cat /tmp/$1.log /tmp/$1.out
}
xl_create() { # name scen cfg-extra...
	local name=$1 sc=$2; shift 2
	mark "xl create $name ($sc)"
	xl create /etc/xen/domu.cfg "name=\"$name\"" \
		"extra=\"console=hvc0 loglevel=4 lab.scen=$sc $DOMU_FLAGS\"" "$@" > /tmp/xl-$name.log 2>&1
	local rc=$?
	cat /tmp/xl-$name.log
	check "xl-create-$name" "xl create rc=$rc" [ $rc = 0 ]
	DOMID=$(xl domid "$name" 2>/dev/null)
	return $rc
}
backend_connected() { # domid [devid [check-name]]: backend state 4 and hotplug-status connected
	local be=/local/domain/0/backend/vif/$1/${2:-0} i=0
	until [ "$(xenstore-read $be/state 2>/dev/null)" = 4 ] &&
	      [ "$(xenstore-read $be/hotplug-status 2>/dev/null)" = connected ]; do
		i=$((i + 1)); [ $i -gt 900 ] && break; sleep 0.2
	done
	xenstore-ls -f $be | grep -E '/(state|hotplug-status|feature-ctrl-ring|request-rx-copy|ctrl-ring-ref)? ='
	xenstore-ls -f /local/domain/$1/device/vif/${2:-0} | grep -E '/(state|ctrl-ring-ref|request-rx-copy|multi-queue-num-queues) ='
	check "${3:-backend-connected}" "backend state 4, hotplug-status connected" \
		test "$(xenstore-read $be/state 2>/dev/null)" = 4 -a \
		  "$(xenstore-read $be/hotplug-status 2>/dev/null)" = connected
}
# TCP data both ways, fetched by the receiving side (busybox nc / bash): dom0
# serves down.bin on 5001 (started before the domU exists), the domU serves
# up.bin on 5002 once it printed DOMU-SERVING.
seq 1 12000 > /tmp/down.bin
seq 30001 42000 > /tmp/up.bin
serve_down() { (timeout 300 busybox nc -l -p 5001 < /tmp/down.bin) & }
ping_and_tcp() { # dom
	local i=0
	until ping -c1 -W1 10.0.0.2 >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 90 ] && break
	done
	check ping-dom0-to-domU "ping 10.0.0.2" ping -c 3 -i 0.3 -W 2 10.0.0.2
	domu_result "$1" ping-domU-to-dom0 180
	check ping-mtu-dom0-to-domU "1514-byte frames" ping -c 2 -s 1472 -W 5 10.0.0.2
	domu_result "$1" ping-mtu-domU-to-dom0 120
	domu_result "$1" tcp-dom0-to-domU 180
	if domu_wait "$1" DOMU-SERVING 120; then
		for i in 1 2 3 4 5; do
			# not busybox nc: it quits at the end of its stdin, before the data came
			timeout 60 bash -c 'cat < /dev/tcp/10.0.0.2/5002' > /tmp/up.got 2>/dev/null
			[ -s /tmp/up.got ] && break; sleep 1
		done
	fi
	echo "---- dom0 /proc/net/snmp, after domU -> dom0 ----"; grep -E '^(Ip|Tcp):' /proc/net/snmp
	ip -s -s link show dev vif${DOMID}.0
	check tcp-domU-to-dom0 "got $(wc -c < /tmp/up.got 2>/dev/null || echo 0) of $(wc -c < /tmp/up.bin) bytes" \
		cmp -s /tmp/up.bin /tmp/up.got
}
show_domu_log() {
	echo "---- domU $1 console ----"; tr -d '\r' < $CONS/guest-$1.log; echo "---- end domU $1 ----"
}

case "$S" in
A)
	DOMU_FLAGS=
	start_back back --port tap || exit 1
	serve_down
	# domu.cfg's vif: bridge=xenbr0 with the stock vif-bridge script, which
	# needs vif<domid>.0 to exist when the backend reaches InitWait
	xl_create domu A && {
		backend_connected $DOMID
		check vif-on-bridge "vif$DOMID.0 enslaved to xenbr0 by vif-bridge" \
			test -e /sys/class/net/xenbr0/brif/vif$DOMID.0
		ping_and_tcp domu
		ip -s link show vif$DOMID.0
		$SN stats > /tmp/stats-back.txt 2>&1; cat /tmp/stats-back.txt
		check back-counters "stagenet back: tx_pkts $(total tx_pkts /tmp/stats-back.txt), rx_pkts $(total rx_pkts /tmp/stats-back.txt)" \
			test "$(total tx_pkts /tmp/stats-back.txt)" -gt 0 -a "$(total rx_pkts /tmp/stats-back.txt)" -gt 0
	}
	show_domu_log domu
	xl destroy domu
	stop_back back
	;;
B)
	DOMU_FLAGS=lab.nonetfront
	# the platform layer itself (tests/xen/xen_platform.c): xenstore domid,
	# an event channel looped back, own grants mapped and copied through
	# gntdev; again in the domU below
	if [ -x /opt/sn/test_xen_platform ]; then
		LD_LIBRARY_PATH=/opt/sn/lib /opt/sn/test_xen_platform > /tmp/xp.log 2>&1
		rc=$?
		cat /tmp/xp.log
		check xen-platform-dom0 "test_xen_platform in dom0: $(grep -a -E 'PASSED|FAILED' /tmp/xp.log | tr '\n' ' ')" test $rc = 0
		DOMU_FLAGS="$DOMU_FLAGS lab.plattest"
	fi
	serve_down
	xl_create domu B && {
		backend_connected $DOMID
		check vif-on-bridge "vif$DOMID.0 (Linux netback) on xenbr0" \
			test -e /sys/class/net/xenbr0/brif/vif$DOMID.0
		ping_and_tcp domu
		domu_result domu staging-fallback 120
		grep -q lab.plattest <<< "$DOMU_FLAGS" && domu_result domu xen-platform-domU 60
		domu_result domu front-counters 120
		ip -s link show vif$DOMID.0
	}
	show_domu_log domu
	xl destroy domu
	;;
C)
	. /etc/lab/dom0-scen-c.sh
	;;
D)
	. /etc/lab/dom0-scen-d.sh
	;;
*)
	res scenario FAIL "unknown scenario '$S'"
	;;
esac
exit 0
