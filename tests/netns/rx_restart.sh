#!/bin/bash
# Multi-process restart in the guest-RX direction (tests/netback/back_proc.c
# covers guest TX): `stagenet host` + `stagenet back --port gen` + `stagenet
# front --port sink`; the frontend is SIGKILLed mid-traffic, the backend
# must go Closed, return to InitWait (6 -> 2) for the next frontend and feed
# it: the new sink sees packets with no sequence or payload errors.
# Needs no root.
set -u

# shellcheck source=tests/netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${SN_STAGENET:?SN_STAGENET must point at the stagenet binary}"
SN=$SN_STAGENET
command -v xenstore-read >/dev/null 2>&1 || fail "xenstore-read not found: run 'make deps' (xenstore-utils)"

T=$(mktemp -d /tmp/sn-rxrestart-XXXXXX)
PIDS=
DOM=9

trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Live guest-RX packets of the running frontend (its stats block).
front_rx() {
	counter "$("$SN" stats "front-$DOM-0" 2>/dev/null)" rx_pkts
}
front_rx_at_least() {
	local v
	v=$(front_rx)
	[ -n "$v" ] && [ "$v" -ge "$1" ]
}

start_host

"$SN" vif-add --domid $DOM --devid 0 || fail "vif-add"
# An endless, rate-limited generator: traffic is flowing when we kill.
"$SN" back --port gen:size=300,rate=20000 >"$T/back.out" 2>"$T/back.err" &
bpid=$!
PIDS="$bpid $PIDS"
wait_for 10 state_is $DOM 2 || fail "backend never reached InitWait"

# A sink has no input of its own: --linger-ms keeps the frontend running
# until it is signalled.
"$SN" front --domid $DOM --devid 0 --port sink --linger-ms 600000 \
	--connect-timeout 10000 >"$T/front1.out" 2>"$T/front1.err" &
f1=$!
PIDS="$f1 $PIDS"
wait_for 15 state_is $DOM 4 || fail "backend never Connected"
wait_for 15 front_rx_at_least 500 || fail "first frontend received nothing"
echo "SIGKILL to the frontend (pid $f1); the shell reports it as Killed"
kill -KILL $f1
wait $f1 2>/dev/null
PIDS=$(echo " $PIDS " | sed "s/ $f1 / /")
wait_for 15 state_is $DOM 6 || fail "backend did not close after the frontend died"
kill -0 $bpid || fail "backend died with its frontend"

"$SN" front --domid $DOM --devid 0 --port sink --linger-ms 600000 \
	--connect-timeout 10000 >"$T/front2.out" 2>"$T/front2.err" &
f2=$!
PIDS="$f2 $PIDS"
wait_for 15 state_is $DOM 4 || fail "backend did not serve the new frontend"
# Closed -> InitWait -> Connected, as Linux netback reconnects.
grep -q "vif$DOM.0: state 6 -> 2" "$T/back.err" || fail "backend did not return to InitWait"
# Its stats block is new (the killed one's is gone), so these are the new
# frontend's own packets.
wait_for 15 front_rx_at_least 500 || fail "new frontend received nothing"
stop_clean front2 $f2
line=$(grep '^front port 0:' "$T/front2.out")
echo "$line"
echo "$line" | grep -q 'drops=0 lost=0 bad_seq=0 bad_payload=0' || fail "new frontend's sink: $line"
sent=$(echo "$line" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
[ -n "$sent" ] && [ "$sent" -ge 500 ] || fail "new frontend's sink took $sent packets"

stop_clean back $bpid
grep -q '^ *fatal_errors' "$T/back.out" && fail "backend counted fatal errors"
echo "passed"
exit 0
