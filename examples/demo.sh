#!/bin/bash
# make demo: three replicas on loopback, steer on examples/demo.ini, a client
# in a child cgroup sending requests to the VIP, then a full teardown. Never
# attaches to the cgroup v2 root.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
ID=$$
PIN=/sys/fs/bpf/steer-demo-$ID
TMP=$(mktemp -d /tmp/steer-demo.XXXX)
CG="" PIDS=() AGENT=""

cleanup() {
	set +e
	if [ -n "$AGENT" ]; then kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; fi
	if [ -d "$PIN" ]; then
		echo "--- steer down"
		STEER_BPFFS=$PIN "$B/steer" down
	fi
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$TMP"
	echo "--- cleaned up: replicas stopped, pins removed, cgroup removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (BPF and cgroups)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then
	CGROOT=/run/steer/cgroup2
	mkdir -p "$CGROOT" && mount -t cgroup2 cgroup2 "$CGROOT"
fi
CG=$CGROOT/steer-demo-$ID
mkdir "$CG"

echo "--- starting replicas r1 r2 r3 on 127.0.0.1:18081-18083"
for i in 1 2 3; do
	"$B/steer-echo" --name "r$i" --listen "127.0.0.1:1808$i" >"$TMP/r$i.out" 2>&1 &
	PIDS+=($!)
done
for i in 1 2 3; do
	for _ in $(seq 100); do grep -q listening "$TMP/r$i.out" && break; sleep 0.05; done
done

echo "--- steer run --config examples/demo.ini (STEER_CGROUP=$CG)"
STEER_BPFFS=$PIN STEER_CGROUP=$CG STEER_CONTROL_SOCKET=$TMP/steer.sock STEER_METRICS_ADDR=off "$B/steer" run --config "$ROOT/examples/demo.ini" 2>"$TMP/agent.log" &
AGENT=$!
for _ in $(seq 200); do grep -q 'ready:' "$TMP/agent.log" && break; sleep 0.05; done
sed 's/^/    /' "$TMP/agent.log"
grep -q 'ready:' "$TMP/agent.log" || { echo "demo: the agent did not start" >&2; exit 1; }
# Replicas get traffic once their health checks pass (health_rise in a row).
for _ in $(seq 100); do
	[ "$(STEER_BPFFS=$PIN "$B/steer" status | grep -c 'state=up')" -ge 3 ] && break
	sleep 0.1
done

echo "--- 12 requests to the VIP 127.77.0.1:8080 from a client in $CG"
for n in $(seq 12); do
	sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" tcp 127.77.0.1:8080 --quiet' sh "$CG" "$B/steer-client" |
		awk -v n="$n" '$1 == "reply" {printf "    request %2d served by %s\n", n, $2}'
done

echo "--- 300 more requests: the spread"
sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" tcp 127.77.0.1:8080 --count 300 --quiet' sh "$CG" "$B/steer-client" |
	awk '$1 == "reply" {printf "    %s served %d\n", $2, $3} $1 == "ok" {printf "    ok %d, failed %d\n", $2, $4}'

echo "--- steer status"
STEER_BPFFS=$PIN "$B/steer" status | sed 's/^/    /'
echo "--- bpftool map dump pinned $PIN/steer_svc_v1"
bpftool map dump pinned "$PIN/steer_svc_v1" | sed 's/^/    /'
