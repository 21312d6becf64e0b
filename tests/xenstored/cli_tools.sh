#!/bin/sh
# Debian's xenstore-utils against `stagenet host` (a real peer nobody here
# wrote): write, read, ls, list, rm, chmod, exists and watch must work with
# XENSTORED_PATH pointing at our socket.  Starts and cleans up its own host.
# $1: the as_guest helper (run a command as a registered guest domain).
set -eu

: "${SN_STAGENET:?SN_STAGENET must point at the stagenet binary}"
as_guest=${1:?usage: cli_tools.sh AS_GUEST}
dir=$(mktemp -d /tmp/sn-xsd-cli-XXXXXX)
out="$dir/host.out"
host_pid=
watch_pid=

cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
	if [ -n "$host_pid" ]; then
		kill -TERM "$host_pid" 2>/dev/null || true
		wait "$host_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$SN_STAGENET" host --dir "$dir/run" >"$out" &
host_pid=$!
i=0
until grep -q '^XENSTORED_PATH=' "$out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "host did not print XENSTORED_PATH"
	kill -0 "$host_pid" 2>/dev/null || fail "host exited early"
	sleep 0.1
done
XENSTORED_PATH=$(sed -n 's/^XENSTORED_PATH=//p' "$out")
export XENSTORED_PATH
[ -S "$XENSTORED_PATH" ] || fail "no socket at $XENSTORED_PATH"

# write / read (several pairs at once, as the tool allows)
xenstore-write /cli/a hello /cli/b/c "with space"
[ "$(xenstore-read /cli/a)" = hello ] || fail "read /cli/a"
[ "$(xenstore-read /cli/b/c)" = "with space" ] || fail "read /cli/b/c"
xenstore-exists /cli/a || fail "exists /cli/a"
if xenstore-read /cli/missing 2>/dev/null; then fail "read of a missing node succeeded"; fi
if xenstore-exists /cli/missing; then fail "exists of a missing node"; fi

# list and ls
[ "$(xenstore-list /cli | tr '\n' ' ')" = "a b " ] || fail "list /cli: $(xenstore-list /cli)"
ls_out=$(xenstore-ls /cli)
echo "$ls_out" | grep -q '^a = "hello"' || fail "ls: $ls_out"
echo "$ls_out" | grep -q '^ c = "with space"' || fail "ls nested: $ls_out"
xenstore-ls / | grep -q '^tool = ""' || fail "ls / lacks /tool"
xenstore-ls / | grep -q '^local = ""' || fail "ls / lacks /local"

# a directory bigger than one reply (DIRECTORY_PART)
n=0
args=
while [ $n -lt 600 ]; do
	args="$args /cli/big/entry-$n x"
	n=$((n + 1))
done
# shellcheck disable=SC2086
xenstore-write $args
[ "$(xenstore-list /cli/big | wc -l)" -eq 600 ] || fail "list of a big directory"

# chmod and ls -p
xenstore-chmod /cli/a r5 w7
xenstore-ls -p /cli | grep '^a = "hello"' | grep -q '(r5,w7)' || fail "chmod/ls -p: $(xenstore-ls -p /cli)"

# watch: initial event, then a change below
xenstore-watch -n 2 /cli/w >"$dir/watch.out" 2>&1 &
watch_pid=$!
i=0
until grep -q '^/cli/w' "$dir/watch.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "no initial watch event"
	sleep 0.1
done
xenstore-write /cli/w/x 1
i=0
while kill -0 "$watch_pid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "xenstore-watch did not get its second event"
	sleep 0.1
done
wait "$watch_pid" || fail "xenstore-watch failed"
watch_pid=
grep -q '^/cli/w/x' "$dir/watch.out" || fail "watch event: $(cat "$dir/watch.out")"


# relative paths are under /local/domain/0 (these clients are dom0)
xenstore-write relnode r
[ "$(xenstore-read /local/domain/0/relnode)" = r ] || fail "relative path"

# The same tools run by a registered guest (domain 7) get xenstored's
# answers: their own directory is theirs, dom0's nodes are not.
xenstore-write /local/domain/7/data/x 1
xenstore-chmod /local/domain/7/data n7
guest() { "$as_guest" 7 "$@"; }
guest xenstore-write /local/domain/7/data/y 2 || fail "guest write in its own dir"
guest xenstore-write data/z 3 || fail "guest relative write"
[ "$(xenstore-read /local/domain/7/data/z)" = 3 ] || fail "guest relative path not under its home"
[ "$(guest xenstore-read data/y)" = 2 ] || fail "guest read in its own dir"
# x was made by dom0 before the chmod: still dom0's alone.
if guest xenstore-read data/x 2>/dev/null; then fail "guest read a node it was not given"; fi
if guest xenstore-write /cli/b/c x 2>/dev/null; then fail "guest wrote a dom0 node"; fi
if guest xenstore-write /local/domain/0/g x 2>/dev/null; then fail "guest created a dom0 node"; fi
if guest xenstore-read /cli/b/c 2>/dev/null; then fail "guest read a dom0 node"; fi
if guest xenstore-rm /cli/b 2>/dev/null; then fail "guest removed a dom0 node"; fi
if guest xenstore-ls /cli >/dev/null 2>&1; then fail "guest listed a dom0 directory"; fi
guest xenstore-chmod /cli/b n7 2>"$dir/chmod.err" && fail "guest chmod of a dom0 node"
grep -q "Permission denied" "$dir/chmod.err" || fail "guest chmod: $(cat "$dir/chmod.err")"
[ "$(xenstore-read /cli/b/c)" = "with space" ] || fail "guest changed /cli/b/c"
xenstore-exists /local/domain/0/g && fail "guest left /local/domain/0/g"
# A guest may not hand its node to another domain; dom0 may.
guest xenstore-chmod /local/domain/7/data/y n8 2>/dev/null && fail "guest gave its node away"
xenstore-chmod /local/domain/7/data/y n8
# The guest's registration went with its last process.
xenstore-exists /tool/stagenet/domain/7 && fail "guest's registration outlived it"

# rm of a subtree
xenstore-rm /cli/b
if xenstore-read /cli/b/c 2>/dev/null; then fail "rm left /cli/b/c"; fi
[ "$(xenstore-list /cli | tr '\n' ' ')" = "a big w " ] || fail "list after rm: $(xenstore-list /cli)"

# clean shutdown: exit 0, socket removed
kill -TERM "$host_pid"
wait "$host_pid" || fail "host exited non-zero"
host_pid=
[ ! -e "$XENSTORED_PATH" ] || fail "socket left behind"
echo "cli tools: ok"
