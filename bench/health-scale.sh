#!/bin/bash
# Health checks at scale (issue 15, point 4): one agent checking N replicas
# at the default interval (STEER_HEALTH_INTERVAL_MS=500: N * 2 checks a
# second), its CPU, RSS and the checks it actually did, at 1000, 5000 and
# 10000 replicas, with `health = tcp`, `health = http /healthz` and, as the
# baseline, `health = none` (no checks: what the agent costs with the same
# maps, the maps' audit included).
#
# The replicas are real listeners, one steer-echo on 0.0.0.0:8080 for all of
# them (a TCP check: a connect and a close; an HTTP check: one GET, answered
# 200 and closed by the replica), reached two ways (HEALTH_SCALE_NETS):
#   loopback  in the agent's own network namespace, where every 127.0.0.0/8
#             address is local: replicas 127.1.X.Y. On loopback the
#             kernel's work for both ends of a connection runs mostly in
#             the sender's system calls, so the agent's CPU time includes
#             the replicas' side of every handshake: an upper bound.
#   veth      in a second namespace behind a veth pair, where 198.19.0.0/16
#             is local: replicas 198.19.X.Y. Received packets are handled on
#             the other CPU (RPS on both veth ends), as a NIC's interrupts
#             on another CPU would: the agent's time is its system calls
#             and its own code, the replicas' side is not in it.
# The agent runs on CPU 0, the steer-echo on CPU 1 (when there are 2 CPUs).
# The config holds N / HEALTH_SCALE_PER services of HEALTH_SCALE_PER (10) replicas each,
# VIPs 198.18.128.0/17:80.
#
# Per run: a fresh pin directory, `steer run --config`, a wait until every
# replica is up (the first checks done), 2 s to settle, then over
# HEALTH_SCALE_SECONDS (20 s): the agent's utime + stime from /proc/PID/stat, its
# context switches, the steer-echo's CPU, and the checks completed (the sum
# of steer_health_checks_total over the services, scraped from the agent's
# metrics endpoint just before and just after the window); VmRSS and VmHWM
# at the end. us per check = agent CPU / checks; "net" subtracts the
# health = none run of the same network, size and agent.
#
# HEALTH_SCALE_AGENTS="NAME=PATH ..." measures several agents interleaved (each
# network, size and kind runs every agent in turn, HEALTH_SCALE_ROUNDS times; the
# table shows medians): how a change is compared with its baseline on a
# noisy machine. Default: one agent, $BUILD/steer.
#
# Own network namespaces, child cgroup and pin directory
# (tests/integration/lib.sh), all removed on every exit. Progress on
# stderr; the report in $BENCH_DOCS/health-scale.md (default docs/). Run as
# root, via `make scale`. BENCH_QUICK=1: 1000 replicas on loopback, 5 s per
# run (a smoke run). Also: HEALTH_SCALE_NETS ("loopback veth"), HEALTH_SCALE_SIZES ("1000
# 5000 10000"), HEALTH_SCALE_KINDS ("none tcp http"), HEALTH_SCALE_SECONDS, HEALTH_SCALE_ROUNDS
# (1), HEALTH_SCALE_PER (10); HEALTH_SCALE_ROWS=FILE keeps the raw rows there.
set -u
# lib.sh sets fast health checks for the tests; the bench runs the agent's
# defaults unless the caller set them.
HEALTH_ENV=$(env | grep -E '^STEER_HEALTH_(INTERVAL|TIMEOUT)_MS=' || true)
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

DOCS=${BENCH_DOCS:-$ROOT/docs}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	NETS=${HEALTH_SCALE_NETS:-loopback} SIZES=${HEALTH_SCALE_SIZES:-1000} SECS=${HEALTH_SCALE_SECONDS:-5}
else
	NETS=${HEALTH_SCALE_NETS:-loopback veth} SIZES=${HEALTH_SCALE_SIZES:-1000 5000 10000}
	SECS=${HEALTH_SCALE_SECONDS:-20}
fi
KINDS=${HEALTH_SCALE_KINDS:-none tcp http}
ROUNDS=${HEALTH_SCALE_ROUNDS:-1}
PER=${HEALTH_SCALE_PER:-10}
AGENTS=${HEALTH_SCALE_AGENTS:-steer=$BUILD/steer}
PORT=8080
SETTLE=2

step() { printf 'health-scale: %s\n' "$*" >&2; }
fail() { printf '    FAIL: %s\n' "$*" >&2; FAILED=1; }

[ "$(id -u)" -eq 0 ] || { echo "health-scale: run as root" >&2; exit 1; }
declare -A AGENT_PATH
AGENT_NAMES=()
for a in $AGENTS; do
	name=${a%%=*} path=${a#*=}
	[ "$name" != "$a" ] || { name=$(basename "$(dirname "$a")")/$(basename "$a"); path=$a; }
	[ -x "$path" ] || { echo "health-scale: $path is not built (make all)" >&2; exit 1; }
	AGENT_PATH[$name]=$path
	AGENT_NAMES+=("$name")
done
[ -x "$ECHO" ] || { echo "health-scale: $ECHO is not built (make all)" >&2; exit 1; }
command -v curl >/dev/null || { echo "health-scale: curl is not installed" >&2; exit 1; }
for net in $NETS; do
	case $net in
	loopback | veth) ;;
	*) echo "health-scale: HEALTH_SCALE_NETS: '$net' is not loopback or veth" >&2; exit 2 ;;
	esac
done
# lib.sh's teardown runs `$STEER down` on the pin directory.
STEER=${AGENT_PATH[${AGENT_NAMES[0]}]}
CLK_TCK=$(getconf CLK_TCK)
# The agent on CPU 0, the replicas and (veth) the received packets on CPU 1.
AGENT_CPU="" ECHO_CPU="" ON_AGENT_CPU=() ON_ECHO_CPU=()
if [ "$(nproc)" -ge 2 ]; then
	AGENT_CPU=0 ECHO_CPU=1
	ON_AGENT_CPU=(taskset -c "$AGENT_CPU") ON_ECHO_CPU=(taskset -c "$ECHO_CPU")
fi

setup_world
unset STEER_HEALTH_INTERVAL_MS STEER_HEALTH_TIMEOUT_MS
while read -r v; do [ -n "$v" ] && export "${v?}"; done <<<"$HEALTH_ENV"
export STEER_METRICS_ADDR=127.0.0.1:9477
AGENT_ENV=$(env | grep -E '^STEER_' | grep -vE '^STEER_(BPFFS|CGROUP|CONTROL_SOCKET)=' | sort | tr '\n' ' ')

# cpu_ticks PID — utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# vm_kb PID FIELD — VmRSS, VmHWM... of PID in kB.
vm_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# ctxt PID — voluntary + involuntary context switches of PID.
ctxt() { awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"; }
now_ns() { echo $((${EPOCHREALTIME/./} * 1000)); }

# replica_addr NET I — replica I's address: 250 to an X.
replica_addr() {
	case $1 in
	loopback) echo "127.1.$(($2 / 250)).$(($2 % 250 + 1))" ;;
	veth) echo "198.19.$(($2 / 250)).$(($2 % 250 + 1))" ;;
	esac
}

# write_config NET N KIND — N replicas in services of PER, `health = KIND`.
write_config() {
	local net=$1 n=$2 kind=$3 i s=-1 health
	case $kind in
	http) health="http /healthz" ;;
	*) health=$kind ;;
	esac
	for ((i = 0; i < n; i++)); do
		if [ $((i % PER)) -eq 0 ]; then
			s=$((s + 1))
			printf '\n[service h%04d]\nvip = 198.18.%d.%d:80\nhealth = %s\n' \
				"$s" $((128 + s / 250)) $((s % 250 + 1)) "$health"
		fi
		echo "replica = $(replica_addr "$net" "$i"):$PORT"
	done
}

# start_echo_for NET — the replicas' steer-echo (and for veth its namespace,
# with RPS on both ends of the pair); its pid in ECHO_PID.
ECHO_PID=""
start_echo_for() {
	local ns=$NS
	if [ "$1" = veth ]; then
		if [ -z "${PEER:-}" ]; then
			add_peer r 198.18.1 fd00:1
			ip -n "$PEER" route add local 198.19.0.0/16 dev lo
			ip -n "$NS" route add 198.19.0.0/16 via 198.18.1.2
			if [ -n "$ECHO_CPU" ]; then
				if ! ip netns exec "$PEER" sh -c "echo $((1 << ECHO_CPU)) >/sys/class/net/pbr-$$/queues/rx-0/rps_cpus" ||
					! ip netns exec "$NS" sh -c "echo $((1 << ECHO_CPU)) >/sys/class/net/par-$$/queues/rx-0/rps_cpus"; then
					fail "cannot set RPS on the veth pair"
				fi
			fi
		fi
		ns=$PEER
	fi
	: >"$TMP/echo.out"
	# nsenter and taskset exec it: $! is its pid.
	nsenter --net="/run/netns/$ns" -- "${ON_ECHO_CPU[@]}" "$ECHO" --name r --listen "0.0.0.0:$PORT" \
		--tcp-only >"$TMP/echo.out" 2>&1 &
	ECHO_PID=$!
	PIDS+=("$ECHO_PID")
	wait_for_line "$TMP/echo.out" '^listening' || { fail "steer-echo did not start: $(cat "$TMP/echo.out")"; return 1; }
}
stop_echo() {
	kill "$ECHO_PID" 2>/dev/null
	wait "$ECHO_PID" 2>/dev/null
	ECHO_PID=""
}

# checks_done — "checks failures": the sums of steer_health_checks_total and
# steer_health_check_failures_total over the services (metrics endpoint).
checks_done() {
	in_ns curl -s --max-time 10 "http://$STEER_METRICS_ADDR/metrics" | awk '
		/^steer_health_checks_total\{/ { c += $NF }
		/^steer_health_check_failures_total\{/ { f += $NF }
		END { printf "%d %d\n", c, f }'
}

# ups STEER — replicas up, by `steer status` of the agent's own build (its
# limits): it reads the pinned maps, not the agent.
ups() { "$1" status 2>/dev/null | grep -c ' state=up '; }

# measure NET AGENT N KIND — one run; appends a row to $TMP/rows: net agent
# n kind up checks failed secs agent_ticks echo_ticks ctxt rss hwm (over the
# window).
measure() {
	local net=$1 name=$2 n=$3 kind=$4 steer=${AGENT_PATH[$2]} up=0 deadline t0 t1 c0 c1 e0 e1 \
		x0 x1 k0 k1 f0 f1 rss hwm secs
	write_config "$net" "$n" "$kind" >"$TMP/steer.ini"
	: >"$TMP/agent.log"
	# nsenter and taskset exec the agent: $! is its pid.
	nsenter --net="/run/netns/$NS" -- "${ON_AGENT_CPU[@]}" "$steer" run --config "$TMP/steer.ini" \
		2>>"$TMP/agent.log" &
	AGENT_PID=$!
	if ! wait_for_line "$TMP/agent.log" 'ready:' 1200; then
		fail "$name: agent not ready after 60 s: $(tail -3 "$TMP/agent.log")"
		stop_run "$steer"
		return 1
	fi
	deadline=$(($(date +%s) + 60))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		up=$(ups "$steer")
		[ "$up" -ge "$n" ] && break
		sleep 0.5
	done
	[ "$up" -ge "$n" ] || fail "$net $name $n $kind: $up of $n replicas up after 60 s"
	sleep "$SETTLE"
	read -r k0 f0 < <(checks_done)
	t0=$(now_ns) c0=$(cpu_ticks "$AGENT_PID") e0=$(cpu_ticks "$ECHO_PID") x0=$(ctxt "$AGENT_PID")
	sleep "$SECS"
	c1=$(cpu_ticks "$AGENT_PID") e1=$(cpu_ticks "$ECHO_PID") x1=$(ctxt "$AGENT_PID") t1=$(now_ns)
	read -r k1 f1 < <(checks_done)
	rss=$(vm_kb "$AGENT_PID" VmRSS) hwm=$(vm_kb "$AGENT_PID" VmHWM)
	up=$(ups "$steer")
	stop_run "$steer"
	secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }')
	echo "$net $name $n $kind $up $((k1 - k0)) $((f1 - f0)) $secs $((c1 - c0)) $((e1 - e0)) $((x1 - x0)) $rss $hwm" >>"$TMP/rows"
	awk -v r="$(tail -1 "$TMP/rows")" -v hz="$CLK_TCK" 'BEGIN {
		split(r, f, " ")
		printf "    %s %s %d %s: up %d, %d checks (%.0f/s, %d failed), agent CPU %.1f%%, %.2f us/check, echo CPU %.1f%%, %.0f wakeups/s, VmRSS %d kB\n",
			f[1], f[2], f[3], f[4], f[5], f[6], f[6] / f[8], f[7], 100 * f[9] / hz / f[8],
			f[6] ? f[9] / hz * 1e6 / f[6] : 0, 100 * f[10] / hz / f[8], f[11] / f[8], f[12] }' >&2
}

# stop_run STEER — stop the agent, `steer down`, a fresh pin directory.
stop_run() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
		AGENT_PID=""
	fi
	"$1" down >/dev/null 2>&1
	rm -rf "$PIN"
}

# ---- the run ----
step "agents: $(for a in "${AGENT_NAMES[@]}"; do printf '%s=%s ' "$a" "${AGENT_PATH[$a]}"; done)"
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$TMP/rows"
TW=""
for net in $NETS; do
	start_echo_for "$net" || continue
	for n in $SIZES; do
		for kind in $KINDS; do
			for ((r = 1; r <= ROUNDS; r++)); do
				for a in "${AGENT_NAMES[@]}"; do
					step "$net, $n replicas, health = $kind, agent $a, round $r of $ROUNDS"
					measure "$net" "$a" "$n" "$kind"
				done
			done
		done
	done
	stop_echo
	TW+="$net $(in_ns ss -Htan state time-wait | wc -l), "
done
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report ----
# The medians over the rounds, per network, size, kind and agent, in the
# order run; "net" is the agent's CPU less that of its health = none run.
table() {
	gawk -v hz="$CLK_TCK" -v per="$PER" '
	function median(s,   a, m) {
		m = split(s, a, " "); asort(a)
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
	{
		k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
		if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
		rate[k] = rate[k] " " $6 / $8; cpu[k] = cpu[k] " " 100 * $9 / hz / $8
		us[k] = us[k] " " ($6 ? $9 / hz * 1e6 / $6 : 0); echo[k] = echo[k] " " 100 * $10 / hz / $8
		wake[k] = wake[k] " " $11 / $8; rss[k] = rss[k] " " $12 / 1024; hwm[k] = hwm[k] " " $13 / 1024
		up[k] = up[k] " " $5; fails[k] = fails[k] " " $7
	}
	END {
		for (i = 1; i <= nk; i++) {
			k = order[i]; split(k, f, SUBSEP)
			kn = f[1] SUBSEP f[2] SUBSEP f[3] SUBSEP "none"
			c = median(cpu[k]); r = median(rate[k])
			net = (kn in seen && f[4] != "none" && r > 0) ? sprintf("%.1f", (c - median(cpu[kn])) / 100 * 1e6 / r) : "-"
			printf "| %s | %d | %s | %s | %.0f / %d | %.0f | %.0f | %.1f | %s | %s | %.1f | %.0f | %.0f | %.0f |\n",
				f[1], f[3], (f[4] == "http" ? "http /healthz" : f[4]), f[2], median(up[k]), f[3],
				r, median(fails[k]), c, (r > 0 ? sprintf("%.1f", median(us[k])) : "-"), net,
				median(echo[k]), median(wake[k]), median(rss[k]), median(hwm[k])
		}
	}' "$TMP/rows"
}

mkdir -p "$DOCS"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	cat <<EOF
# Health checks at scale

$([ "$QUICK" = 1 ] && echo "**A quick smoke run (BENCH_QUICK=1): $SIZES replicas, ${SECS} s per run. \`make scale\` gives the real numbers.**
")
Measured by \`bench/health-scale.sh\` (\`make scale\`) on $START_DATE, in $ELAPSED s.
Machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r); tree at \`$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)\`.
Load average (1, 5, 15 min) at the start $LOAD_START, at the end $LOAD_END: anything else running on the machine shows in the numbers.
Environment of the agents besides their own pins, cgroup and socket: \`${AGENT_ENV:-none}\` (other settings at their defaults: interval ${STEER_HEALTH_INTERVAL_MS:-500} ms, timeout ${STEER_HEALTH_TIMEOUT_MS:-250} ms, rise 2, fall 2).
Agents: $(for a in "${AGENT_NAMES[@]}"; do printf "\\\`%s\\\` (\\\`%s\\\`) " "$a" "${AGENT_PATH[$a]#"$ROOT"/}"; done)
Runs: $SECS s each, $ROUNDS round(s) per agent, network, size and kind, the agents interleaved.

## Setup

- One agent in a private network namespace (its own cgroup and pin
  directory), \`steer run --config\` with N replicas in N / $PER services of
  $PER, VIPs 198.18.128.0/17, port 80. A fresh pin directory per run, so
  every replica starts \`unknown\` and is checked at once.
- The replicas: one \`steer-echo --listen 0.0.0.0:$PORT --tcp-only\` for all,
  so each check is a real TCP connection: \`tcp\` a connect and a close (a reset, since the agent sets SO_LINGER 0),
  \`http\` a \`GET /healthz\` answered \`200\` and closed by the replica.
  - **loopback**: in the agent's namespace, where every 127.0.0.0/8
    address is local; replicas 127.1.X.Y:$PORT. The kernel's work for both
    ends of a loopback connection runs mostly in the system calls of the
    side that sends, so the agent's CPU includes the replicas' side of
    every handshake (their SYN handling, accept queue and wakeups): an
    upper bound of the agent's cost.
  - **veth**: in a second namespace behind a veth pair, where 198.19.0.0/16
    is local; replicas 198.19.X.Y:$PORT. Received packets are handled on
    CPU 1 (RPS on both ends of the pair), as a NIC's interrupts on another
    CPU would: the agent's time is its own code and its system calls'
    sending side.
  $([ -n "$AGENT_CPU" ] && echo "- The agent is pinned to CPU $AGENT_CPU, the steer-echo to CPU $ECHO_CPU (taskset).")
- Measured after every replica is up and $SETTLE s more, over $SECS s: the
  agent's utime + stime (\`/proc/PID/stat\`), the checks completed (the sum
  of \`steer_health_checks_total\`, scraped from the agent's metrics
  endpoint before and after the window) and of them failed, the agent's
  context switches (wakeups), the steer-echo's CPU, and at the end VmRSS
  and VmHWM.
- **us / check**: agent CPU over checks. **net us / check**: the agent's
  CPU less that of the \`health = none\` run of the same network and size
  (the idle loop and the maps' audit), over the checks.
- TIME_WAIT sockets in the agent's namespace at the end of each network's
  runs: ${TW%, } (its \`tcp_max_tw_buckets\` is $(in_ns sysctl -n net.ipv4.tcp_max_tw_buckets)).

## Results

| network | replicas | health | agent | up | checks/s | failed | agent CPU % | us / check | net us / check | echo CPU % | agent wakeups/s | VmRSS MiB | VmHWM MiB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
	table
	cat <<EOF

## Commands

\`\`\`
make scale                 # bench/registry-scale.sh, bench/node-scale.sh, then this (root)
bench/health-scale.sh      # this alone, once build/steer and build/steer-echo are built
BENCH_QUICK=1 bench/health-scale.sh
HEALTH_SCALE_AGENTS="before=/path/to/old/steer after=build/steer" HEALTH_SCALE_ROUNDS=3 bench/health-scale.sh
\`\`\`
EOF
	[ "$FAILED" = 0 ] || printf '\n**The run had failures (see its stderr); the numbers above may be incomplete.**\n'
} >"$DOCS/health-scale.md.tmp"
mv "$DOCS/health-scale.md.tmp" "$DOCS/health-scale.md"
[ -z "${HEALTH_SCALE_ROWS:-}" ] || cp "$TMP/rows" "$HEALTH_SCALE_ROWS"
step "report in $DOCS/health-scale.md"
finish
