#!/bin/bash
# Run steer's integration tests against the real kernel (as root).
# Usage: run.sh [NAME]   NAME runs tests/integration/test_NAME.sh only.
# V=1 shows each test's full output even when it passes.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
pass=0 failn=0 skipn=0 failed=()

if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (BPF, cgroups, netns)" >&2
	exit 1
fi
if [ $# -gt 0 ] && [ -n "$1" ]; then tests=("$DIR/test_$1.sh"); else tests=("$DIR"/test_*.sh); fi

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	name=${name#test_}
	out=$(mktemp)
	start=$(date +%s%N)
	timeout --kill-after=10 300 bash "$t" >"$out" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$((ms / 1000)).$((ms % 1000 / 100))
	case $rc in
	0) pass=$((pass + 1)); printf '  PASS  %-24s %5ss\n' "$name" "$secs"
	   [ "${V:-0}" = 1 ] && cat "$out" ;;
	77) skipn=$((skipn + 1)); printf '  SKIP  %-24s %s\n' "$name" "$(grep SKIP "$out" | head -1)" ;;
	*) failn=$((failn + 1)); failed+=("$name"); printf '  FAIL  %-24s (exit %d)\n' "$name" "$rc"
	   sed 's/^/      /' "$out" ;;
	esac
	rm -f "$out"
done
echo "integration: $pass passed, $failn failed, $skipn skipped${failed[*]:+ (failed: ${failed[*]})}"
[ "$failn" -eq 0 ]
