#!/bin/bash
# Run libFuzzer targets built by `make fuzz`: run.sh DIR SECONDS TARGET...
#
# Each target TARGET (DIR/fuzz_TARGET) runs for SECONDS on DIR/corpus-TARGET,
# a copy of the committed seeds (tests/fuzz/corpus/TARGET) that keeps what
# earlier runs found, so nothing new lands in the tree. Output goes to
# DIR/TARGET.log (V=1: the terminal too); a crashing input is written as
# DIR/TARGET-crash-* (or -leak-, -timeout-, -oom-). All targets run; the
# exit status is 1 if any of them failed.
set -uo pipefail

dir=$1 seconds=$2
shift 2
here=$(dirname "$0")
failed=()

for t in "$@"; do
	bin=$dir/fuzz_$t corpus=$dir/corpus-$t log=$dir/$t.log
	mkdir -p "$corpus"
	cp -n "$here/corpus/$t"/* "$corpus"/ 2>/dev/null
	opts=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
		-artifact_prefix="$dir/$t-")
	[ -f "$here/fuzz_$t.dict" ] && opts+=(-dict="$here/fuzz_$t.dict")
	if [ "${V:-}" = 1 ]; then
		"$bin" "${opts[@]}" "$corpus" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	else
		"$bin" "${opts[@]}" "$corpus" >"$log" 2>&1
		rc=$?
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	printf '  %-9s %s: %s runs in %ss, corpus %s' FUZZ "$t" "${runs:-?}" "$seconds" \
		"$(find "$corpus" -type f | wc -l)"
	if [ "$rc" -eq 0 ]; then
		echo ", no crash"
	else
		echo ", FAILED (exit $rc; log $log)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)|runtime error' \
			"$log" | head -n 8 | sed 's/^/    /'
		failed+=("$t")
	fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}" >&2; exit 1; }
