#!/usr/bin/env bash
# Demo and self-check on the emulated Xen host (`make demo`): start a private
# `stagenet host`, check the platform primitives with `stagenet probe`, talk
# to our xenstore daemon with Debian's own xenstore-utils, then the main job:
# the line-rate glossary and `stagenet bench` (the proposal's tables).
# Usage: scripts/demo.sh [path/to/stagenet]   Exits non-zero on any failure.
# SN_DEMO_BENCH_ARGS replaces the bench options (e.g. "--quick");
# SN_DEMO_OUT is where bench.json and bench.png go (default: the build dir).
set -euo pipefail

STAGENET=${1:-build/stagenet}
ITERS=${SN_DEMO_ITERS:-10000}

die() { echo "demo: FAILED: $*" >&2; exit 1; }

[ -x "$STAGENET" ] || die "$STAGENET is not an executable (run 'make' first)"
STAGENET=$(cd "$(dirname "$STAGENET")" && pwd)/$(basename "$STAGENET")
for tool in xenstore-write xenstore-read; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install xenstore-utils)"
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/stagenet-demo-XXXXXX")
host_pid=
cleanup() {
	if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
		kill -TERM "$host_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$host_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$host_pid" 2>/dev/null || true
		wait "$host_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== 1. emulated Xen host"
"$STAGENET" host --dir "$dir" >"$dir/host.out" &
host_pid=$!
path=
for _ in $(seq 100); do
	path=$(sed -n 's/.*XENSTORED_PATH=\([^[:space:]]*\).*/\1/p' "$dir/host.out" | head -n1)
	[ -n "$path" ] && break
	kill -0 "$host_pid" 2>/dev/null || die "stagenet host exited early (see above)"
	sleep 0.1
done
[ -n "$path" ] || die "stagenet host printed no XENSTORED_PATH within 10 s"
export XENSTORED_PATH=$path
echo "host pid $host_pid, XENSTORED_PATH=$XENSTORED_PATH"

echo
echo "== 2. platform self-check: cost of each primitive (stagenet probe)"
"$STAGENET" probe --platform emu --iters "$ITERS" || die "stagenet probe"

echo
echo "== 3. Debian's xenstore-utils against our xenstore daemon"
key=/tool/stagenet/demo/hello
want="hello from $(hostname) at $(date +%s)"
xenstore-write "$key" "$want" || die "xenstore-write $key"
got=$(xenstore-read "$key") || die "xenstore-read $key"
[ "$got" = "$want" ] || die "xenstore-read returned '$got', expected '$want'"
echo "xenstore-write $key \"$want\""
echo "xenstore-read  $key -> \"$got\""

echo
echo "== 4. line rate of real links, for scale (stagenet wire)"
"$STAGENET" wire || die "stagenet wire"

echo
echo "== 5. the benchmark: before (linux) vs after (staging), and like with like beside DPDK's"
echo "      virtio-user -> vhost-user (the peer row, when dpdk-testpmd is installed) (stagenet bench)"
out=${SN_DEMO_OUT:-$(dirname "$STAGENET")}
plot=()
command -v gnuplot >/dev/null && plot=(--plot "$out/bench.png")
# shellcheck disable=SC2086
"$STAGENET" bench ${SN_DEMO_BENCH_ARGS:-} --json "$out/bench.json" "${plot[@]}" ||
	die "stagenet bench (a FAILED cell lost or corrupted packets)"

echo
echo "== summary"
echo "emulated host:        up (xenstore at $XENSTORED_PATH)"
echo "platform primitives:  grant copy, map/unmap and event round trip all worked"
echo "xenstore-utils:       write + read back OK"
echo "benchmark:            every checked cell delivered every packet intact; light cells and"
echo "                      the peer row beside them; $out/bench.json${plot:+, $out/bench.png}"
echo "demo: OK"
