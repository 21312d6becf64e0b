#!/usr/bin/env bash
# One libFuzzer harness for `make fuzz` / `make fuzz-merge` (Makefile):
#   fuzz/run.sh BUILD SECONDS HARNESS          fuzz, then merge
#   fuzz/run.sh BUILD merge HARNESS            merge only
# Fuzzing runs SECONDS on fuzz/corpus/HARNESS plus the harness's work
# directory BUILD/fuzz-work/HARNESS, which keeps what it found across runs
# (libFuzzer writes new inputs into its first corpus directory).  The log is
# BUILD/fuzz-HARNESS.log (the merge's BUILD/fuzz-merge/HARNESS.log) and ends
# with one verdict line that scripts/ci-summary.py reads:
# "fuzz: HARNESS clean ..." or "fuzz: HARNESS FAILED ...".  A crash, leak or timeout leaves its input in
# fuzz/crashes/.
#
# Merging (FUZZ_MERGE=1, the default, or the "merge" form) adds to
# fuzz/corpus/HARNESS only the work inputs that reach coverage the
# committed corpus does not (libFuzzer -merge=1, which keeps the first
# directory and adds a minimal set from the others), so the committed seeds
# keep their names and every run's findings can be committed.
set -uo pipefail
build=$1 secs=$2 h=$3
exe=$build/fuzz/fuzz_$h
work=$build/fuzz-work/$h
corpus=fuzz/corpus/$h
log=$build/fuzz-$h.log
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
opts=(-timeout=10 -rss_limit_mb=2048 -max_len=65536)
mkdir -p "$work" fuzz/crashes

merge() {
	local before after
	before=$(ls "$corpus" | wc -l)
	mkdir -p "$build/fuzz-merge"
	"$exe" -merge=1 "${opts[@]}" "$corpus" "$work" >"$build/fuzz-merge/$h.log" 2>&1 || {
		tail -20 "$build/fuzz-merge/$h.log"
		echo "fuzz: $h merge FAILED (see $build/fuzz-merge/$h.log)"
		return 1
	}
	after=$(ls "$corpus" | wc -l)
	echo "fuzz: $h corpus $before -> $after inputs ($corpus)"
}

if [ "$secs" = merge ]; then
	merge
	exit
fi
"$exe" -max_total_time="$secs" "${opts[@]}" -print_final_stats=1 \
	-artifact_prefix="fuzz/crashes/$h-" "$work" "$corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$rc" != 0 ]; then
	tail -40 "$log"
	echo "fuzz: $h FAILED (exit $rc after ${runs:-?} runs; input in fuzz/crashes/)" | tee -a "$log"
	exit 1
fi
echo "fuzz: $h clean, ${runs:-?} runs in $secs s" | tee -a "$log"
if [ "${FUZZ_MERGE:-1}" = 1 ]; then
	merge || exit 1
fi
exit 0
