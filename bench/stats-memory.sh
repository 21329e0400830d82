#!/bin/bash
# Kernel memory of the per-service stats maps (steer_{hold,relay,check}_stats):
# the agent with BENCH_SERVICES services (default 256), one TCP-checked
# replica each, no client (none holding), then bpftool's bytes_memlock of
# its _v2 hashes; beside them, maps made with bpftool at 65,536 entries
# (STEER_MAX_SERVICES' runtime default): the _v1 arrays of older versions
# and the empty _v2 hashes. Prints a markdown section on stdout.
# Own netns, child cgroup and pin directory, all removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
N=${BENCH_SERVICES:-256}
ID=$$
NS=steer-bench-$ID
PIN=/sys/fs/bpf/steer-bench-$ID
REF=/sys/fs/bpf/steer-bench-ref-$ID
TMP=$(mktemp -d /tmp/steer-bench.XXXX)
CG="" AGENT=""

cleanup() {
	set +e
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -d "$PIN" ] && STEER_BPFFS=$PIN "$B/steer" down >/dev/null 2>&1
	rm -rf "$REF"
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
[ -n "$root" ] || { echo "no cgroup v2" >&2; exit 1; }
CG=$root/steer-bench-$ID
mkdir "$CG"
ip netns add "$NS"
ip -n "$NS" link set lo up
for ((i = 0; i < N; i++)); do
	printf '[service s%d]\nvip = 127.78.%d.%d:80\nreplica = 127.0.0.1:%d\n\n' \
		"$i" $((i / 250)) $((i % 250 + 1)) $((20000 + i))
done >"$TMP/steer.ini"
STEER_BPFFS=$PIN STEER_CGROUP=$CG STEER_CONTROL_SOCKET=$TMP/sock \
	nsenter --net="/run/netns/$NS" -- "$B/steer" run --config "$TMP/steer.ini" 2>"$TMP/agent.log" &
AGENT=$!
for ((t = 0; t < 200; t++)); do grep -q 'ready:' "$TMP/agent.log" && break; sleep 0.05; done
grep -q 'ready:' "$TMP/agent.log" || { echo "agent not ready: $(cat "$TMP/agent.log")" >&2; exit 1; }
# Every service's replica gets checked at least once (check stats entries).
for ((t = 0; t < 200; t++)); do
	[ "$(bpftool -j map dump pinned "$PIN/steer_check_stats_v2" | jq length)" -ge "$N" ] && break
	sleep 0.05
done

show() { bpftool -j map show pinned "$1" | jq -r '"\(.max_entries) \(.bytes_memlock)"'; }
mib() {
	awk -v b="$1" 'BEGIN {
		if (b >= 1048576) printf "%.2f MiB", b / 1048576; else printf "%.1f KiB", b / 1024 }'
}

mkdir -p "$REF"
echo "## Kernel memory of the per-service stats maps"
echo
echo "bpftool's \`bytes_memlock\` (kernel $(uname -r)); the agent with $N services, one"
echo "TCP-checked replica each, no connection held."
echo
echo "| map | value | v1 array, 65,536 entries | v2 hash, 65,536 entries, empty | v2 hash in the agent: entries, max_entries, memlock | per entry |"
echo "|---|---|---|---|---|---|"
for m in hold:1088 relay:48 check:560; do
	name=${m%:*} size=${m#*:}
	bpftool map create "$REF/a_$name" type array key 4 value "$size" entries 65536 name "a_$name"
	bpftool map create "$REF/h_$name" type hash key 4 value "$size" entries 65536 name "h_$name" flags 1
	bpftool map create "$REF/e_$name" type hash key 4 value "$size" entries "$(show "$PIN/steer_${name}_stats_v2" | cut -d' ' -f1)" name "e_$name" flags 1
	read -r _ arr < <(show "$REF/a_$name")
	read -r _ empty < <(show "$REF/h_$name")
	read -r _ empty_same < <(show "$REF/e_$name")
	read -r max used < <(show "$PIN/steer_${name}_stats_v2")
	n=$(bpftool -j map dump pinned "$PIN/steer_${name}_stats_v2" | jq length)
	per=$([ "$n" -gt 0 ] && echo "$(((used - empty_same) / n)) B" || echo "-")
	echo "| \`steer_${name}_stats\` | $size B | $(mib "$arr") | $(mib "$empty") | $n, $max, $(mib "$used") | $per |"
done
