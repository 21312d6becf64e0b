# dom0 half of scenario D (sourced by dom0-scen.sh): stock Linux xen-netfront
# in a 2-vCPU domU (2 queues) against `stagenet back --port tap` on xenbr0:
#   TCP both ways over both queues (8 connections each way; stagenet back's
#   per-queue counters); an XDP program in the domU that drops ICMP (netfront's
#   Reconfiguring/Reconfigured handshake and RX at the XDP headroom): ping
#   stops, TCP runs; unloaded: ping is back; xl network-detach/attach while the
#   domU runs; stagenet back killed and restarted under the connected
#   frontend, then the vif re-created by the toolstack.
DOMU_FLAGS=
mkdir -p /srv/www
seq 1 12000 > /srv/www/d.bin
seq 50001 62000 > /tmp/u.bin
busybox httpd -p 10.0.0.1:80 -h /srv/www
# one counter of one queue from `stagenet stats` output, 0 if absent
qtotal() { # counter queue file
	awk -v c="$1" -v q="$2" '/^  queue [0-9]+:/ {cur = $2; sub(":", "", cur); next}
		/^  total:/ {cur = ""} cur == q && $1 == c {v = $2} END {print v + 0}' "$3"
}
fetch_up() { # n: fetches of u.bin from the domU; prints how many matched
	local ok=0 k
	for k in $(seq 1 "$1"); do
		rm -f /tmp/u.got
		timeout 60 busybox wget -q -O /tmp/u.got http://10.0.0.2/u.bin 2>/dev/null &&
			cmp -s /tmp/u.got /tmp/u.bin && ok=$((ok + 1))
	done
	echo $ok
}
fe() { xenstore-read /local/domain/$DOMID/device/vif/$DEVID/$1 2>/dev/null; }
be() { xenstore-read /local/domain/0/backend/vif/$DOMID/$DEVID/$1 2>/dev/null; }
# xl network-detach then network-attach of the vif while the domU runs
reattach() { # round
	local i=0 rc
	mark "xl network-detach domu $DEVID"
	timeout 90 xl network-detach domu $DEVID; rc=$?
	until [ -z "$(xenstore-list /local/domain/0/backend/vif/$DOMID 2>/dev/null)" ]; do
		i=$((i + 1)); [ $i -gt 150 ] && break; sleep 0.2
	done
	check reattach$1-detach "xl network-detach rc=$rc, backend vifs left: $(xenstore-list /local/domain/0/backend/vif/$DOMID 2>/dev/null | xargs)" \
		test $rc = 0 -a -z "$(xenstore-list /local/domain/0/backend/vif/$DOMID 2>/dev/null)"
	mark "xl network-attach domu"
	timeout 90 xl network-attach domu bridge=xenbr0 mac=00:16:3e:00:00:02; rc=$?
	DEVID=$(xenstore-list /local/domain/0/backend/vif/$DOMID 2>/dev/null | head -1)
	check reattach$1-attach "xl network-attach rc=$rc, devid ${DEVID:-none}" test $rc = 0 -a -n "$DEVID"
	[ $rc = 0 ] && [ -n "$DEVID" ] || return 1
	backend_connected $DOMID $DEVID reattach$1-connected
	domu_result domu reattach$1-ping 150
	domu_result domu reattach$1-tcp-dom0-to-domU 120
	domu_wait domu "DOMU-D-REATTACHED-$1" 30
	check reattach$1-ping-dom0-to-domU "ping 10.0.0.2" ping -c 2 -W 2 10.0.0.2
	n=$(fetch_up 1)
	check reattach$1-tcp-domU-to-dom0 "$n of 1 fetch of u.bin identical" test "$n" = 1
}

S=D
BACKNAME=back
start_back back --port tap --max-queues 2 || return 0
DEVID=0
if xl_create domu D vcpus=2; then
	backend_connected $DOMID
	check fe-queues "frontend multi-queue-num-queues $(fe multi-queue-num-queues)" test "$(fe multi-queue-num-queues)" = 2
	domu_result domu queues 120
	domu_result domu tcp-dom0-to-domU 240
	if domu_wait domu DOMU-D-SERVING 30; then
		n=$(fetch_up 8)
	fi
	check tcp-domU-to-dom0 "${n:-0} of 8 fetches of u.bin identical" test "${n:-0}" = 8
	$SN stats > /tmp/stats-d.txt 2>&1; cat /tmp/stats-d.txt
	c="queue 0: tx_pkts $(qtotal tx_pkts 0 /tmp/stats-d.txt) rx_pkts $(qtotal rx_pkts 0 /tmp/stats-d.txt); queue 1: tx_pkts $(qtotal tx_pkts 1 /tmp/stats-d.txt) rx_pkts $(qtotal rx_pkts 1 /tmp/stats-d.txt)"
	check both-queues "$c" test "$(qtotal tx_pkts 0 /tmp/stats-d.txt)" -gt 0 -a "$(qtotal rx_pkts 0 /tmp/stats-d.txt)" -gt 0 \
		-a "$(qtotal tx_pkts 1 /tmp/stats-d.txt)" -gt 0 -a "$(qtotal rx_pkts 1 /tmp/stats-d.txt)" -gt 0

	# XDP: the domU loads the program once go-xdp is there
	touch /srv/www/go-xdp
	if domu_wait domu 'DOMU-D-XDP-LOADED|DOMU-D-ABORT' 300; then
		domu_result domu xdp-load 5
		domu_result domu xdp-drops-ping 5
		domu_result domu xdp-tcp-dom0-to-domU 5
		# what reached the guest while the program ran (its ping and fetch;
		# a log line, not a check: Linux netfront drops a multi-slot frame
		# when XDP is on, which its rx_errors count)
		$SN stats > /tmp/stats-xdp.txt 2>&1
		echo "back RX while XDP on: $(($(total rx_pkts /tmp/stats-xdp.txt) - $(total rx_pkts /tmp/stats-d.txt))) frames, $(($(total rx_bytes /tmp/stats-xdp.txt) - $(total rx_bytes /tmp/stats-d.txt))) bytes"
		xenstore-ls -f /local/domain/$DOMID/device/vif/$DEVID | grep -E '/(state|xdp-headroom) ='
		check xdp-handshake "frontend xdp-headroom $(fe xdp-headroom) state $(fe state), backend state $(be state); back log: $(grep 'RX headroom' /tmp/back.log | tail -1)" \
			test "$(fe xdp-headroom)" -gt 0 -a "$(fe state)" = 4 -a "$(be state)" = 4 -a -n "$(grep "RX headroom $(fe xdp-headroom)" /tmp/back.log)"
		if ping -c 2 -W 2 10.0.0.2 >/dev/null 2>&1; then res xdp-ping-dom0-to-domU FAIL "echo requests passed the domU's XDP program"
		else res xdp-ping-dom0-to-domU PASS "no reply: the domU's XDP program dropped the echo requests"; fi
		n=$(fetch_up 1)
		check xdp-tcp-domU-to-dom0 "$n of 1 fetch of u.bin identical with XDP loaded" test "$n" = 1
		touch /srv/www/go-unload
		if domu_wait domu 'DOMU-D-XDP-OFF|DOMU-D-ABORT' 300; then
			domu_result domu xdp-unload 5
			domu_result domu xdp-off-ping 5
			check xdp-off-handshake "frontend xdp-headroom $(fe xdp-headroom) state $(fe state), backend state $(be state); back log: $(grep 'RX headroom' /tmp/back.log | tail -1)" \
				test "$(fe xdp-headroom)" = 0 -a "$(fe state)" = 4 -a "$(be state)" = 4 -a -n "$(grep 'RX headroom 0' /tmp/back.log)"
			check xdp-off-ping-dom0-to-domU "ping 10.0.0.2" ping -c 2 -W 2 10.0.0.2
		fi
	else
		res xdp-load FAIL "no XDP result from the domU within 300 s"
	fi

	if ! grep -a -q DOMU-D-ABORT $CONS/guest-domu.log && reattach 1; then
		# stagenet back dies under the connected frontend and a new one
		# starts: it must not re-attach the old rings silently.  Linux
		# netfront answers the backend's Closing with Closed and has no
		# way back by itself; the toolstack then re-creates the vif.
		kill -KILL $BACKPID; wait $BACKPID 2>/dev/null; BACKPID=
		mark "stagenet back killed; frontend state $(fe state)"
		echo "---- stagenet back log (back, killed) ----"; cat /tmp/back.log /tmp/back.out
		BACKNAME=back2
		start_back back2 --port tap --max-queues 2
		i=0
		until [ "$(fe state)" = 6 ]; do
			i=$((i + 1)); [ $i -gt 150 ] && break; sleep 0.2
		done
		check restart-reconnect "new backend: '$(grep -o 'asking it to reconnect' /tmp/back2.log)'; frontend state $(fe state), backend state $(be state)" \
			test "$(fe state)" = 6 -a -n "$(grep 'asking it to reconnect' /tmp/back2.log)"
		reattach 2
	fi
fi
show_domu_log domu
xl destroy domu
stop_back $BACKNAME
