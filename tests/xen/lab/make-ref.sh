#!/bin/bash
# Writes the reference capture of scenario C3 on this host: what `stagenet
# front --port gen:count=N,size=200` puts on the wire, captured by `stagenet
# back --port pcap:out`, both on the emulated Xen host.  gen frames depend
# only on (queue, flow, sequence, size), never on domids, so the capture the
# real-Xen backend writes in C3 must equal this one in every frame byte
# (dom0 compares them with cmp, ignoring the record timestamps).
#   make-ref.sh STAGENET N OUT.pcap
set -uo pipefail
SN=$1 N=$2 OUT=$3
D=$(mktemp -d /tmp/stagenet-xenlab-ref.XXXXXX)
BPID= HPID=
cleanup() {
	[ -n "$BPID" ] && kill -TERM "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
	[ -n "$HPID" ] && kill -TERM "$HPID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "make-ref: $*" >&2; tail -5 "$D"/*.log >&2 2>/dev/null; exit 1; }
eval "$("$SN" host --dir "$D" --daemon --pidfile "$D/pid" --quiet)" || fail "stagenet host"
HPID=$(cat "$D/pid")
export XENSTORED_PATH SN_RUNDIR=$D/run
"$SN" vif-add --domid 1 --devid 0 || fail "vif-add"
"$SN" back --platform emu --port "pcap:out=$D/ref.pcap" --max-queues 1 --quiet > "$D/back.log" 2>&1 &
BPID=$!
"$SN" front --platform emu --domid 1 --devid 0 --port "gen:count=$N,size=200" \
	--connect-timeout 20000 > "$D/front.log" 2>&1 || fail "front"
"$SN" vif-del --domid 1 --devid 0 --timeout-ms 5000 || fail "vif-del"
kill -TERM "$BPID"; wait "$BPID"; rc=$?; BPID=
[ $rc = 0 ] || fail "back exited $rc"
# 24-byte file header + N records of 16 + 200 bytes
[ "$(stat -c %s "$D/ref.pcap")" = $((24 + N * 216)) ] || fail "reference capture has the wrong size"
mv "$D/ref.pcap" "$OUT"
