#!/bin/bash
# Open vSwitch with DPDK as the vhost-user peer: `stagenet back --port
# vhost-user:DIR,server` serves two vifs, a private ovs-vswitchd-dpdk (own
# database, run directory and hugetlbfs mount in a temporary directory; no
# system OVS is touched) attaches one dpdkvhostuserclient port per vif to a
# netdev bridge with flows between them.  Frontend A's gen -> backend ->
# OVS -> backend -> frontend B's sink, which checks every sequence number
# and payload byte.  Reserves 2 MiB hugepages and gives them back.
# Root; skipped (77) without openvswitch-switch-dpdk or when OVS-DPDK cannot
# start here.
set -u

# shellcheck source=tests/netns/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

: "${SN_STAGENET:?SN_STAGENET must point at the stagenet binary}"
SN=$SN_STAGENET
VSWITCHD=${SN_OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
PAGES=256          # 512 MiB of 2 MiB pages: OVS's mbuf pool and the EAL
COUNT=3000
DA=11 DB=12

skip() {
	echo "skip: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (hugepages, OVS-DPDK)"
[ -x "$VSWITCHD" ] || skip "$VSWITCHD not found (Debian package openvswitch-switch-dpdk)"
for c in ovsdb-server ovsdb-tool ovs-vsctl ovs-ofctl xenstore-read; do
	command -v $c >/dev/null 2>&1 || skip "$c not found (make deps)"
done
[ -r "$SCHEMA" ] || skip "$SCHEMA missing"

# /tmp and a short name: the vhost-user sockets must fit a sockaddr_un.
T=$(mktemp -d /tmp/sn-ovs-XXXXXX)
PIDS=
HP_FILE=/proc/sys/vm/nr_hugepages
HP0=
MOUNTED=
OVS_PIDS=

# SIGTERM, not lib.sh's SIGINT: a background job of a script starts with
# SIGINT ignored, and OVS leaves an ignored signal ignored.
stop_ovs() {
	local p i
	for p in $OVS_PIDS; do
		kill -TERM "$p" 2>/dev/null
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	OVS_PIDS=
}

# After cleanup stopped the stagenet processes: OVS, then the mount and
# the pages go back, then cleanup removes $T.
on_cleanup() {
	stop_ovs
	[ -n "$MOUNTED" ] && umount "$T/huge"
	[ -n "$HP0" ] && echo "$HP0" >"$HP_FILE"
}

# start_ovs NAME CMD...: like lib.sh's start, stopped by stop_ovs.
start_ovs() {
	start "$@"
	PIDS=$(echo " $PIDS " | sed "s/ $LAST_PID / /")
	OVS_PIDS="$LAST_PID $OVS_PIDS"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Reserve our pages on top of whatever is reserved already.
HP0=$(cat "$HP_FILE")
echo $((HP0 + PAGES)) >"$HP_FILE" 2>/dev/null
free_pages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
[ "${free_pages:-0}" -ge $PAGES ] || skip "could not reserve $PAGES 2 MiB hugepages ($free_pages free)"
mkdir -p "$T/huge" "$T/ovs" "$T/vhu"
mount -t hugetlbfs -o pagesize=2M none "$T/huge" || skip "cannot mount hugetlbfs"
MOUNTED=1

start_host
"$SN" vif-add --domid $DA --devid 0 >/dev/null || fail "vif-add $DA"
"$SN" vif-add --domid $DB --devid 0 >/dev/null || fail "vif-add $DB"
start back - "$SN" back --port "vhost-user:$T/vhu,server"
wait_for 10 test -S "$T/vhu/vif$DA.0.sock" -a -S "$T/vhu/vif$DB.0.sock" ||
	fail "backend did not create the vhost-user sockets"

# A private OVS: every path under $T/ovs, nothing under /var/run or /etc.
export OVS_RUNDIR=$T/ovs OVS_DBDIR=$T/ovs OVS_LOGDIR=$T/ovs OVS_SYSCONFDIR=$T/ovs
OVSDB=unix:$T/ovs/db.sock
ovsdb-tool create "$T/ovs/conf.db" "$SCHEMA" || fail "ovsdb-tool create"
start_ovs ovsdb - ovsdb-server "$T/ovs/conf.db" --remote="punix:$T/ovs/db.sock" \
	--unixctl="$T/ovs/ovsdb.ctl" --pidfile="$T/ovs/ovsdb.pid" --log-file="$T/ovs/ovsdb.log"
wait_for 10 test -S "$T/ovs/db.sock" || fail "ovsdb-server did not start"
VSCTL="ovs-vsctl --db=$OVSDB --timeout=10"
# --no-pci: the switch must not probe this machine's NICs; --in-memory: no
# files in /var/run/dpdk, no clash with any other DPDK process.
$VSCTL --no-wait init || fail "ovs-vsctl init"
$VSCTL --no-wait set Open_vSwitch . other_config:dpdk-init=true \
	other_config:dpdk-socket-mem=128 other_config:dpdk-socket-limit=$((PAGES * 2)) \
	"other_config:dpdk-extra=--in-memory --no-pci --huge-dir=$T/huge" \
	other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 ||
	fail "ovs-vsctl set other_config"
start_ovs vswitchd - "$VSWITCHD" "$OVSDB" --unixctl="$T/ovs/vswitchd.ctl" \
	--pidfile="$T/ovs/vswitchd.pid" --log-file="$T/ovs/vswitchd.log"
if ! wait_for 30 grep -q 'DPDK Enabled - initialized' "$T/ovs/vswitchd.log"; then
	tail -n 20 "$T/ovs/vswitchd.log" 2>/dev/null
	skip "ovs-vswitchd-dpdk did not initialize DPDK here (log above)"
fi
$VSCTL add-br br0 -- set bridge br0 datapath_type=netdev || fail "add-br"
for d in $DA $DB; do
	$VSCTL add-port br0 vhu$d -- set Interface vhu$d type=dpdkvhostuserclient \
		"options:vhost-server-path=$T/vhu/vif$d.0.sock" || fail "add-port vhu$d"
done
# Each vif's frames go to the other: what gen addresses does not matter.
ovs-ofctl del-flows br0 || fail "del-flows"
ovs-ofctl add-flow br0 "in_port=vhu$DA,actions=output:vhu$DB" || fail "add-flow"
ovs-ofctl add-flow br0 "in_port=vhu$DB,actions=output:vhu$DA" || fail "add-flow"
wait_for 20 sh -c "[ \$(grep -c 'sock: connected' '$T/back.err') -ge 2 ]" ||
	fail "OVS did not connect to both vifs"
log "OVS-DPDK connected to vif$DA.0 and vif$DB.0"

start sink - "$SN" front --domid $DB --devid 0 --port sink
spid=$LAST_PID
# OVS enables a vring once the guest side runs: wait for the sink's vif.
wait_for 10 sh -c "\"$SN\" stats front-$DB-0 >/dev/null 2>&1" || fail "sink frontend did not come up"
start gen - "$SN" front --domid $DA --devid 0 --port "gen:size=1000,count=$COUNT,rate=20000" \
	--linger-ms 300
gpid=$LAST_PID
wait_for 20 sh -c "! kill -0 $gpid" || fail "gen frontend did not finish"
stop gen "$gpid"
# Until the sink's count stands still for a second.
last=-1
for _ in $(seq 40); do
	now=$(counter "$("$SN" stats "front-$DB-0" 2>/dev/null)" rx_pkts)
	[ "${now:-0}" = "$last" ] && break
	last=${now:-0}
	sleep 1
done
ovs-vsctl --db="$OVSDB" get Interface vhu$DA statistics >"$T/ovs-a.stats" 2>&1
ovs-vsctl --db="$OVSDB" get Interface vhu$DB statistics >"$T/ovs-b.stats" 2>&1
back_stats=$("$SN" stats "back-$DA-0" 2>/dev/null; "$SN" stats "back-$DB-0" 2>/dev/null)
stop_clean sink "$spid"

made=$(sed -n 's/.*front port [0-9]*: sent=[0-9]* recv=\([0-9]*\).*/\1/p' "$T/gen.err" "$T/gen.out" | head -n 1)
got=$(sed -n 's/.*front port [0-9]*: sent=\([0-9]*\).*/\1/p' "$T/sink.err" "$T/sink.out" | head -n 1)
log "gen made ${made:-?}, sink got ${got:-?}"
log "OVS vhu$DA: $(cat "$T/ovs-a.stats")"
log "OVS vhu$DB: $(cat "$T/ovs-b.stats")"
echo "$back_stats" | grep -i 'drop' || true
[ "${made:-0}" -eq $COUNT ] || fail "gen made ${made:-nothing}, not $COUNT"
grep -q 'bad_seq=0 bad_payload=0' "$T/sink.err" "$T/sink.out" ||
	fail "sink saw frames out of order or changed: $(grep 'front port' "$T/sink.err" "$T/sink.out")"
[ "${got:-0}" -gt 0 ] || fail "no frame crossed OVS"
[ "$got" -le "$made" ] || fail "sink got more than gen made"
log "OK: $got of $made frames through OVS-DPDK byte-exact"
exit 0
