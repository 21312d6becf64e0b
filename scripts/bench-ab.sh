#!/bin/bash
# A/B of two or more builds in one sitting (README "Performance work"):
#   scripts/bench-ab.sh ROUNDS DIRS BUILD_DIR...
# e.g. scripts/bench-ab.sh 3 tx,rx build-a build-b.  The builds run one
# after the other, ROUNDS times; each prints the staged and limit cells,
# checked (C) and light (L), as median/max Mpps over REPS repetitions
# (default 5) of DUR seconds (default 0.4).  Root runs them at nice -20 so
# that other work on the machine disturbs them less.
set -eu
if [ $# -lt 3 ]; then
	sed -n '2,9p' "$0" >&2
	exit 2
fi
rounds=$1 dirs=$2
shift 2
nice=()
[ "$(id -u)" = 0 ] && nice=(nice -n -20)
json=$(mktemp)
trap 'rm -f "$json"' EXIT
for _ in $(seq 1 "$rounds"); do
	for b in "$@"; do
		if ! "${nice[@]}" "$b/src/cli/stagenet" bench --modes staging --dirs "$dirs" \
			--frames 60 --queues 1 --no-peer --reps "${REPS:-5}" --duration "${DUR:-0.4}" \
			--json "$json" >/dev/null 2>&1; then
			# A failed cell (lost or corrupt frames) is a result too.
			echo "$b: stagenet bench failed; rerun it alone to see why"
			continue
		fi
		python3 - "$b" "$json" <<'PY'
import json, sys
cells = []
for c in json.load(open(sys.argv[2])):
    name = c["mode"][:3] + ("" if c["dir"] == "-" else c["dir"])
    cells.append("%s-%s %5.2f/%5.2f" % (name, "L" if c.get("light") else "C",
                                        c["mpps"], c["mpps_max"]))
print(sys.argv[1].ljust(12), " | ".join(cells))
PY
	done
done
