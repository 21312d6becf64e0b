# dom0 half of scenario C (sourced by dom0-scen.sh): three domUs in turn,
# each against a fresh `stagenet back` (staging on by default):
#   C1  TAP both sides: ping and TCP both ways, staged slots on both sides
#   C2  back gen -> front sink: sink checks every byte; back staged, no grant ops
#   C3  front gen -> back pcap:out: the capture equals, frame byte for frame
#       byte, the reference make-ref.sh wrote on the host from the same
#       generator; back staged, no grant ops
DOMU_FLAGS="lab.nonetfront lab.ngen=$N_GEN"
small_frames_staged() { # stats-file dir(tx|rx) label
	local f=$1 p=$2 c
	c="${p}_pkts $(total ${p}_pkts $f) ${p}_bytes $(total ${p}_bytes $f) staged_slots $(total staged_slots $f) unstaged_slots $(total unstaged_slots $f) grant_copies $(total grant_copies $f) grant_maps $(total grant_maps $f)"
	check "$3" "$c" test "$(total ${p}_pkts $f)" = "$N_GEN" -a "$(total ${p}_bytes $f)" = $((N_GEN * 200)) \
		-a "$(total staged_slots $f)" -ge "$N_GEN" -a "$(total grant_copies $f)" = 0 -a "$(total grant_maps $f)" = 0
}
# byte-exact: the capture has N records of 200 bytes and differs from the
# reference only in record timestamps (bytes 0-7 of each 16-byte record
# header); prints what differs
pcap_exact() { # got ref
	local want=$((24 + N_GEN * 216)) size
	size=$(stat -c %s "$1" 2>/dev/null || echo 0)
	[ "$size" = "$want" ] || { echo "capture is $size bytes, want $want ($N_GEN frames of 200)"; return 1; }
	cmp -l "$1" "$2" | awk -v n="$N_GEN" '
		{o = $1 - 1; if (o < 24) hdr++; else if ((o - 24) % 216 >= 8) {bad++; f[int((o - 24) / 216)] = 1}}
		END {for (k in f) nf++; if (hdr) printf "file header differs; ";
		     printf "%d of %d frames byte-identical to the reference\n", n - nf, n; exit (hdr || bad) ? 1 : 0}'
}

# results are named C1/..., C2/..., C3/...
S=C1
if start_back back1 --port tap; then
	serve_down
	# the stock vif-bridge, as in scenario A
	if xl_create domu1 C1; then
		backend_connected $DOMID
		check vif-on-bridge "vif$DOMID.0 enslaved to xenbr0 by vif-bridge" \
			test -e /sys/class/net/xenbr0/brif/vif$DOMID.0
		ping_and_tcp domu1
		domu_result domu1 front-staged 120
		$SN stats > /tmp/stats-c1.txt 2>&1; cat /tmp/stats-c1.txt
		check back-staged-tap "back staged_slots $(total staged_slots /tmp/stats-c1.txt)" \
			test "$(total staged_slots /tmp/stats-c1.txt)" -gt 0
	fi
	show_domu_log domu1
	xl destroy domu1
	stop_back back1
fi

S=C2
if start_back back2 --port gen:count=$N_GEN,size=200; then
	if xl_create domu2 C2 'vif=["mac=00:16:3e:00:00:02,script=/etc/lab/vif-none"]'; then
		backend_connected $DOMID
		domu_wait domu2 DOMU-C2-RECEIVED 240
		$SN stats > /tmp/stats-c2.txt 2>&1; cat /tmp/stats-c2.txt
		small_frames_staged /tmp/stats-c2.txt rx back-gen-staged
		domu_result domu2 sink-exact 120
		domu_result domu2 front-staged 60
	fi
	show_domu_log domu2
	xl destroy domu2
	stop_back back2
fi

S=C3
if start_back back3 --port pcap:out=/tmp/c3.pcap --max-queues 1; then
	if xl_create domu3 C3 'vif=["mac=00:16:3e:00:00:02,script=/etc/lab/vif-none"]'; then
		backend_connected $DOMID
		domu_result domu3 front-gen 240
		# the frontend is gone: the counters are the ones back prints on exit
		stop_back back3
		small_frames_staged /tmp/back3.out tx back-pcap-staged
		# the capture is complete once back has exited
		pcap_exact /tmp/c3.pcap /etc/lab/c3-ref.pcap > /tmp/c3.cmp; rc=$?
		check sink-exact "$(cat /tmp/c3.cmp)" test $rc = 0
	fi
	show_domu_log domu3
	stop_back back3
	xl destroy domu3
fi
