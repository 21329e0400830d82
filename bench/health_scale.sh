#!/bin/bash
# Health checking at scale: 1000 replicas on loopback checked every 100 ms
# (10000 TCP checks a second). Measures the agent's CPU and RSS, against the
# same agent and replicas with checks off, measured in the same run.
# Prints a markdown section on stdout; details on stderr.
# Own netns, child cgroup and pin directory, all removed on exit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
N=${BENCH_REPLICAS:-1000}
SECS=${BENCH_SECONDS:-10}
ID=$$
NS=steer-bench-$ID
PIN=/sys/fs/bpf/steer-bench-$ID
TMP=$(mktemp -d /tmp/steer-bench.XXXX)
CG="" AGENT="" LISTENERS=""

cleanup() {
	set +e
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -n "$LISTENERS" ] && kill "$LISTENERS" 2>/dev/null && wait "$LISTENERS" 2>/dev/null
	[ -d "$PIN" ] && STEER_BPFFS=$PIN "$B/steer" down >/dev/null 2>&1
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p"; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then CGROOT=/run/steer/cgroup2; mkdir -p $CGROOT; mount -t cgroup2 cgroup2 $CGROOT; fi
CG=$CGROOT/steer-bench-$ID
mkdir "$CG"
ip netns add "$NS"
ip -n "$NS" link set lo up

# health KIND: a config of N replicas in services of at most 63.
write_config() {
	local i=0 s=0
	while [ $i -lt "$N" ]; do
		if [ $((i % 63)) -eq 0 ]; then
			printf '\n[service s%d]\nvip = 127.78.0.%d:80\nhealth = %s\n' $s $((s + 1)) "$1"
			s=$((s + 1))
		fi
		echo "replica = 127.0.0.1:$((20000 + i))"
		i=$((i + 1))
	done
}

nsenter --net=/run/netns/$NS -- "$B/bench-listeners" 20000 "$N" >"$TMP/l.out" &
LISTENERS=$!
for _ in $(seq 100); do grep -q listening "$TMP/l.out" && break; sleep 0.05; done

# measure KIND: start the agent, wait for every replica up, sample CPU and RSS.
measure() {
	write_config "$1" >"$TMP/$1.ini"
	STEER_BPFFS=$PIN STEER_CGROUP=$CG STEER_CONTROL_SOCKET=$TMP/ctl.sock \
		STEER_HEALTH_INTERVAL_MS=100 STEER_HEALTH_TIMEOUT_MS=100 STEER_LOG_LEVEL=warn \
		nsenter --net=/run/netns/$NS -- "$B/steer" run --config "$TMP/$1.ini" 2>"$TMP/$1.log" &
	AGENT=$!
	local up=0
	for _ in $(seq 300); do
		up=$(STEER_BPFFS=$PIN "$B/steer" status 2>/dev/null | grep -c 'state=up')
		[ "$up" -ge "$N" ] && break
		sleep 0.1
	done
	local hz t0 t1 c0 c1 rss
	hz=$(getconf CLK_TCK)
	t0=$(date +%s%N)
	c0=$(awk '{print $14 + $15}' /proc/$AGENT/stat)
	sleep "$SECS"
	c1=$(awk '{print $14 + $15}' /proc/$AGENT/stat)
	t1=$(date +%s%N)
	rss=$(awk '/VmRSS/ {print $2}' /proc/$AGENT/status)
	kill "$AGENT"
	wait "$AGENT"
	AGENT=""
	STEER_BPFFS=$PIN "$B/steer" down >/dev/null 2>&1
	# up, cpu percent, rss KiB
	awk -v up="$up" -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" -v rss="$rss" \
		'BEGIN {printf "%d %.2f %d\n", up, 100 * c / hz / (ns / 1e9), rss}'
}

read -r up_none cpu_none rss_none < <(measure none)
read -r up_tcp cpu_tcp rss_tcp < <(measure tcp)
echo "health_scale: none: up=$up_none cpu=$cpu_none% rss=${rss_none}KiB; tcp: up=$up_tcp cpu=$cpu_tcp% rss=${rss_tcp}KiB" >&2

cat <<MD
## Health checks at scale

$N replicas on loopback, TCP checks every 100 ms (timeout 100 ms): $((N * 10)) checks a
second, all from the agent's one event loop. The baseline is the same agent
and config with \`health = none\`, measured in the same run. CPU is
utime+stime over ${SECS} s, from /proc.

| agent | replicas up | CPU (% of one core) | RSS |
|---|---|---|---|
| \`health = none\` (baseline) | $up_none / $N | $cpu_none | $((rss_none / 1024)) MiB |
| \`health = tcp\`, 100 ms | $up_tcp / $N | $cpu_tcp | $((rss_tcp / 1024)) MiB |

Command: \`bench/health_scale.sh\` (part of \`make bench\`; \`BENCH_REPLICAS\`,
\`BENCH_SECONDS\` override the defaults).
MD
