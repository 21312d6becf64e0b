# Sourced by the tests/netns scripts: failing, logging, bounded process stops,
# polling, the emulated host, background processes in namespaces, iperf3
# runs, and the cleanup every script traps on EXIT.
# The script sets SN (the binary), T (its temporary directory) and PIDS
# (started processes, newest first) before using them; it may define
# on_cleanup for its own teardown (namespaces).
# shellcheck shell=bash

HOST_PID=

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Bounded stop: SIGINT (clean exit, counters printed), then SIGKILL.
# Returns the process's exit status (137 when it had to be killed).
stop_pid() {
	local p=$1 i=0
	kill -INT "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return; }
	while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$p" 2>/dev/null; then
		echo "warning: pid $p ignored SIGINT, killing" >&2
		kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
}

# stop NAME PID: stop one started process, drop it from the cleanup list.
stop() {
	stop_pid "$2"
	STOP_RC=$?
	PIDS=$(echo " $PIDS " | sed "s/ $2 / /")
}

# A stagenet daemon must exit 0 on SIGINT (and print no sanitizer report).
stop_clean() {
	local name=$1 pid=$2 rc
	stop "$name" "$pid"
	rc=$STOP_RC
	[ "$rc" -eq 0 ] || fail "$name exited $rc on SIGINT"
	if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T/$name.err"; then
		fail "$name: sanitizer report"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	for p in $PIDS; do
		stop_pid "$p"
	done
	[ -n "$HOST_PID" ] && stop_pid "$HOST_PID"
	if declare -F on_cleanup >/dev/null; then
		on_cleanup
	fi
	if [ $rc -ne 0 ]; then
		for f in "$T"/*.err "$T"/*.out; do
			[ -s "$f" ] || continue
			echo "---- $f" >&2
			tail -n 40 "$f" >&2
		done
	fi
	# SN_NETNS_KEEP=1 keeps the logs and captures of a failed run.
	if [ $rc -ne 0 ] && [ -n "${SN_NETNS_KEEP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit $rc
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s, fail after SECONDS.
wait_for() {
	local n=$(($1 * 10)) i=0
	shift
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt $n ] || return 1
		sleep 0.1
	done
}

# The emulated host in $T/host, stats blocks in $T/run; exports
# XENSTORED_PATH and SN_RUNDIR, sets HOST_PID (stopped last by cleanup).
start_host() {
	mkdir -p "$T/run" "$T/host"
	export SN_RUNDIR=$T/run
	"$SN" host --dir "$T/host" >"$T/host.out" 2>"$T/host.err" &
	HOST_PID=$!
	wait_for 10 grep -q '^XENSTORED_PATH=' "$T/host.out" || fail "host did not print XENSTORED_PATH"
	XENSTORED_PATH=$(sed -n 's/^XENSTORED_PATH=//p' "$T/host.out")
	export XENSTORED_PATH
}

be_state() {
	xenstore-read "/local/domain/0/backend/vif/$1/0/state" 2>/dev/null
}
# state_is DOMID STATE: the backend's vif<DOMID>.0 is in that xenbus state.
state_is() { [ "$(be_state "$1")" = "$2" ]; }

# counter TEXT NAME: the "total:" value of NAME in a stats printout.
counter() {
	echo "$1" | awk -v n="$2" '/^  total:/ { t = 1 } t && $1 == n { print $2; exit }'
}

log() { echo "== $*"; }

# start NAME NS CMD...: run CMD in namespace NS ("-" for this one) in the
# background, its output in $T/NAME.out and .err; LAST_PID is its pid and it
# joins PIDS (stopped by cleanup).
start() {
	local name=$1 ns=$2
	shift 2
	if [ "$ns" = - ]; then
		"$@" >"$T/$name.out" 2>"$T/$name.err" &
	else
		# ip netns exec execs the command, so $! is the command itself.
		ip netns exec "$ns" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	fi
	LAST_PID=$!
	PIDS="$LAST_PID $PIDS"
}

# check_iperf WHAT JSON: the run ended without error and received at least
# IPERF_MIN_BYTES (default 1) bytes.
check_iperf() {
	local what=$1 json=$2 bytes min=${IPERF_MIN_BYTES:-1}
	[ -s "$json" ] || fail "$what: iperf3 wrote no JSON"
	if grep -q '"error"' "$json"; then
		fail "$what: iperf3 error: $(grep '"error"' "$json")"
	fi
	bytes=$(sed -n '/"sum_received"/,/}/p' "$json" | sed -n 's/.*"bytes":[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$bytes" ] && [ "$bytes" -ge "$min" ] ||
		fail "$what: ${bytes:-no} bytes received, at least $min expected"
	echo "== $what: $bytes bytes received"
}

# iperf NAME ADDR ARGS...: one server in $NSA (single test), the client in
# $NSB connecting to ADDR with ARGS.
iperf() {
	local name=$1 addr=$2 spid
	shift 2
	start "iperf-$name-server" "$NSA" timeout 60 iperf3 -s -1 -p 5201
	spid=$LAST_PID
	wait_for 10 sh -c "ip netns exec $NSA ss -ltn | grep -q ':5201 '" ||
		fail "$name: iperf3 server did not listen"
	timeout 60 ip netns exec "$NSB" iperf3 -c "$addr" -p 5201 -J "$@" \
		>"$T/iperf-$name.json" 2>"$T/iperf-$name.err" ||
		fail "$name: iperf3 client failed: $(grep '"error"' "$T/iperf-$name.json")"
	check_iperf "$name" "$T/iperf-$name.json"
	# The server ends after one test (-1); bounded by its timeout anyway.
	wait_for 10 sh -c "! kill -0 $spid" || stop "iperf-$name-server" "$spid"
	wait "$spid" 2>/dev/null
	PIDS=$(echo " $PIDS " | sed "s/ $spid / /")
}
