# domU half of scenario C (sourced by domu-scen.sh): stagenet front with
# staging against stagenet back.  C1 TAP + ping/TCP, C2 back gen -> front
# sink (byte-exact check by the sink), C3 front gen -> back sink.
N=$(sed -n 's/.*lab\.ngen=\([0-9]*\).*/\1/p' /proc/cmdline)
N=${N:-2000}
STG="--staging page"
case "$S" in
C1)
	start_front tap:sn0 $STG
	if wait_netdev sn0 150; then
		ip link set sn0 address 00:16:3e:00:00:02
		net_tests sn0
		wait_fetched
	fi
	$SN stats > /tmp/stats.txt 2>&1; cat /tmp/stats.txt
	st=$(total staged_slots /tmp/stats.txt)
	if [ "$st" -gt 0 ] && ! grep -q 'staging grants .*unavailable' /tmp/front.log; then
		r front-staged PASS "staged_slots $st"
	else r front-staged FAIL "staged_slots $st; $(grep 'staging grants' /tmp/front.log)"; fi
	stop_front
	echo "---- stagenet front output and log ----"; cat /tmp/front.out /tmp/front.log
	;;
C2)
	start_front sink $STG --linger-ms 600000
	i=0
	while :; do
		$SN stats > /tmp/stats.txt 2>&1
		[ "$(total rx_pkts /tmp/stats.txt)" -ge "$N" ] && break
		i=$((i + 1)); [ $i -gt 400 ] && break; sleep 0.5
	done
	cat /tmp/stats.txt
	echo "DOMU[$(up)] DOMU-C2-RECEIVED"
	# dom0 reads the backend's counters while the vif is still up
	sleep 8
	stop_front
	cat /tmp/front.out /tmp/front.log
	l=$(grep '^front port 0:' /tmp/front.out)
	if echo "$l" | grep -q "sent=$N recv=0 drops=0 lost=0 bad_seq=0 bad_payload=0"; then
		r sink-exact PASS "$l"
	else r sink-exact FAIL "want sent=$N and no loss/errors: $l"; fi
	st=$(total staged_slots /tmp/stats.txt); gc=$(total grant_copies /tmp/stats.txt)
	if [ "$st" -gt 0 ]; then r front-staged PASS "staged_slots $st grant_copies $gc"
	else r front-staged FAIL "staged_slots $st grant_copies $gc"; fi
	;;
C3)
	start_front gen:count=$N,size=200 $STG --linger-ms 3000
	i=0
	while kill -0 $FPID 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 1000 ] && { kill -INT $FPID; break; }; sleep 0.2
	done
	wait $FPID; rc=$?
	cat /tmp/front.out /tmp/front.log
	tx=$(total tx_pkts /tmp/front.out); st=$(total staged_slots /tmp/front.out)
	if [ "$rc" = 0 ] && [ "$tx" = "$N" ] && [ "$st" -gt 0 ]; then
		r front-gen PASS "tx_pkts $tx staged_slots $st"
	else r front-gen FAIL "exit $rc tx_pkts $tx (want $N) staged_slots $st"; fi
	;;
esac
