#!/bin/bash
# Load-aware routing: 3 replicas, one of them 10x slower per request than
# the other two, behind four balancers that all balance over the same 3
# replica processes:
#   random   steer, `policy = random`: one uniform pick per connect;
#   p2c      steer, `policy = p2c`: of two distinct replicas drawn at random,
#            the one with fewer open connections;
#   haproxy  HAProxy, `mode tcp`, one thread, `balance leastconn`;
#   nginx    nginx's stream proxy, one worker, `least_conn`.
# The two steer targets are two services of one steer config (two VIPs); the
# steer client runs in the cgroup steer is attached to. Workloads: CRR and RR
# at concurrency 16 and 64. Runs are interleaved (every target for every
# workload, then the next round) so that drift on a shared machine hits all
# targets alike. The load generator runs on one CPU and everything that
# serves (replicas, proxies, steer's agent) on another, with taskset.
#
# How p2c knows the load: the kernel counts each replica's open steered TCP
# connections (+1 at the connect the hook steers, -1 when that socket is
# closed: `active` in `steer status --json`). It knows connections, not
# requests: in CRR a connection is one request, so a slow replica's
# connections stay open longer and p2c sends it fewer; in RR every
# connection is opened once, at the start, and the counts say nothing
# about how fast each replica answers on them.
#
# Prints a markdown section on stdout; progress on stderr. Writes the raw
# per-round rows to docs/benchmarks-lb.csv (BENCH_DOCS overrides docs/).
#
# Own netns, child cgroups and pin directory, all removed on exit, also on
# INT/TERM; the only sysctl set (tcp_tw_reuse) is the netns's own and goes
# with it.
#
# BENCH_QUICK=1: 2 rounds of 400 ms. BENCH_ROUNDS, BENCH_RUN_MS and
# BENCH_WARMUP_MS override the defaults. BENCH_LOAD_CPU (default 0) and
# BENCH_SERVER_CPU (default 1) choose the CPUs; with fewer than 2 CPUs
# nothing is pinned. BENCH_LB_DELAY_US (default 5000) is the fast
# replicas' delay; the slow one's is 10 times that.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
LOAD=$B/bench-load
DOCS=${BENCH_DOCS:-$ROOT/docs}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2} RUN_MS=${BENCH_RUN_MS:-400} WARM_MS=${BENCH_WARMUP_MS:-100}
else
	ROUNDS=${BENCH_ROUNDS:-5} RUN_MS=${BENCH_RUN_MS:-2000} WARM_MS=${BENCH_WARMUP_MS:-300}
fi
TARGETS="random p2c haproxy nginx"
WORKLOADS="crr:16 crr:64 rr:16 rr:64"
REPLICAS="127.0.0.1:23001,127.0.0.1:23002,127.0.0.1:23003"
# The replicas' delays (steer-echo --delay-us), r1 and r2 fast, r3 slow.
# The fast delay must be well above what the CPUs alone make a connection
# wait at concurrency 16, or the fast replicas' latency is mostly the CPUs'
# queues and a balancer sees much less than 10x between them and the slow
# one. On this 2-core machine CRR through steer to replicas without a delay
# runs at about 11,000 connections/s, about 1.5 ms per connection at
# concurrency 16 (docs/benchmarks.md), and more when the machine is shared.
# With 200 µs the fast replicas would answer about as late as a 2 ms slow
# one; with 2 ms, p2c came to 1.5x random's connections/s in CRR at
# concurrency 16 (BENCH_QUICK runs, while another job kept one CPU busy),
# against the 2.5x that the delays alone give (a closed loop of 16 over
# latencies of 1, 1 and 10, simulated); with 5 ms, to 2.1x in the same
# conditions. At 5 ms, p2c's CRR at concurrency 16 needs about 2,000
# connections/s, a fraction of what the CPUs can do; at 64 it would need
# about 8,600 and the CPUs are near their limit again, which is measured
# too.
FAST_US=${BENCH_LB_DELAY_US:-5000}
SLOW_US=$((10 * FAST_US))
DELAYS=("$FAST_US" "$FAST_US" "$SLOW_US")
VIP_RANDOM=127.77.0.1:8080
VIP_P2C=127.77.0.2:8080
# max_conns: one replica without delay behind a service with max_conns = 1
# and a 3 s backoff, so a held connection is served in time only by the
# datapath telling the agent that a slot freed (bench-slotfree).
VIP_FULL=127.77.0.3:8080 FULL_REP=127.0.0.1:23004
SLOTFREE=$B/bench-slotfree
HAPROXY_ADDR=127.0.0.1:23100
NGINX_ADDR=127.0.0.1:23200
LOAD_CPU=${BENCH_LOAD_CPU:-0} SERVER_CPU=${BENCH_SERVER_CPU:-1}

ID=$$
NS=steer-lb-$ID
PIN=/sys/fs/bpf/steer-lb-$ID
TMP=$(mktemp -d /tmp/steer-lb.XXXX)
CG="" CG_VIP="" CG_PLAIN=""
PIDS=()
NS_MADE=""

T0=$(date +%s%N)
log() { echo "lb: +$((($(date +%s%N) - T0) / 1000000))ms: $*" >&2; }

cleanup() {
	local p
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -d "$PIN" ] && { STEER_BPFFS=$PIN "$B/steer" down >/dev/null 2>&1 || rm -rf "$PIN"; }
	# Whatever is left in the bench's cgroups or netns was started by it.
	for p in $(cat "$CG_VIP/cgroup.procs" "$CG_PLAIN/cgroup.procs" 2>/dev/null); do kill -9 "$p"; done
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p"; done
	if [ -n "$CG" ]; then
		# Killed processes leave their cgroup a moment later.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$CG_VIP" "$CG_PLAIN" "$CG" 2>/dev/null
			[ -d "$CG" ] || break
			sleep 0.1
		done
	fi
	[ -n "$NS_MADE" ] && ip netns del "$NS" 2>/dev/null
	[ -n "${STATS_OLD:-}" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	log "error: $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root"
for t in "$LOAD" "$SLOTFREE" "$B/steer" "$B/steer-echo"; do
	[ -x "$t" ] || die "$t is missing (make all $LOAD)"
done
for t in haproxy nginx socat jq taskset; do
	command -v "$t" >/dev/null || die "$t is missing (sh scripts/deps.sh bench)"
done
NGINX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$NGINX_STREAM" ] || die "$NGINX_STREAM is missing (sh scripts/deps.sh bench)"

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then
	CGROOT=/run/steer/cgroup2
	if ! mkdir -p "$CGROOT" || ! mount -t cgroup2 cgroup2 "$CGROOT"; then die "no cgroup v2"; fi
fi
# Two sibling cgroups: steer attaches to vip/, where only the steer client
# runs; everything else the bench starts runs in plain/, which no hook sees.
CG=$CGROOT/steer-lb-$ID
CG_VIP=$CG/vip CG_PLAIN=$CG/plain
mkdir "$CG" "$CG_VIP" "$CG_PLAIN" || die "cannot create cgroups under $CG"
ip netns add "$NS" || die "ip netns add $NS"
NS_MADE=1
ip -n "$NS" link set lo up
# CRR leaves a TIME_WAIT per connection; let connects reuse them (loopback).
ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_tw_reuse=1

# One CPU for the load generator, the other for everything that answers it,
# as in bench/throughput.sh.
PIN_LOAD=() PIN_SERVER=()
if [ "$(nproc)" -ge 2 ]; then
	PIN_LOAD=(taskset -c "$LOAD_CPU") PIN_SERVER=(taskset -c "$SERVER_CPU")
	PINNING="the load generator on CPU $LOAD_CPU; the replicas, HAProxy, nginx and steer's agent on CPU $SERVER_CPU (\`taskset -c\`)"
	PIN_CMDS="; every bench-load under \`taskset -c $LOAD_CPU\`, everything else started under \`taskset -c $SERVER_CPU\`"
else
	PINNING="nothing pinned: only $(nproc) CPU" PIN_CMDS=""
fi

# in_cg CGROUP CMD...: CMD in the bench netns, inside CGROUP (exec'd: the
# pid is CMD's own).
in_cg() {
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$1" "/run/netns/$NS" -- "${@:2}"
}
# spawn NAME CMD...: CMD in the background in the plain cgroup, on the
# servers' CPU, output to $TMP/NAME.out; its pid (CMD's own: everything on
# the way execs) is recorded for cleanup.
spawn() {
	local name=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$CG_PLAIN" "/run/netns/$NS" -- "${PIN_SERVER[@]}" "$@" >"$TMP/$name.out" 2>&1 &
	PIDS+=($!)
}
wait_for_line() {
	local tries=100
	while [ $tries -gt 0 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# --- replicas: r1 and r2 fast, r3 slow ------------------------------------
read -r -a REPS <<<"${REPLICAS//,/ }"
for i in "${!REPS[@]}"; do
	n=$((i + 1))
	spawn "r$n" "$B/steer-echo" --name "r$n" --listen "${REPS[i]}" --tcp-only --delay-us "${DELAYS[i]}"
	wait_for_line "$TMP/r$n.out" '^listening' || die "replica r$n: $(cat "$TMP/r$n.out")"
done

# --- steer: one service per policy, the same replicas -----------------------
{
	for s in random:$VIP_RANDOM p2c:$VIP_P2C; do
		echo "[service ${s%%:*}]"
		echo "vip = ${s#*:}"
		echo "policy = ${s%%:*}"
		echo "health = tcp"
		for r in "${REPS[@]}"; do echo "replica = $r"; done
		echo
	done
	printf '[service full]\nvip = %s\nmax_conns = 1\nretry_initial_backoff_ms = 3000\n' "$VIP_FULL"
	printf 'retry_max_backoff_ms = 3000\nretry_jitter = 0\nreplica = %s\n' "$FULL_REP"
} >"$TMP/steer.ini"
spawn full "$B/steer-echo" --name full --listen "$FULL_REP" --tcp-only
wait_for_line "$TMP/full.out" '^listening' || die "replica full: $(cat "$TMP/full.out")"
export STEER_BPFFS=$PIN STEER_CGROUP=$CG_VIP STEER_CONTROL_SOCKET=$TMP/steer.sock
export STEER_LOG_LEVEL=warn
spawn agent "$B/steer" run --config "$TMP/steer.ini"
up=0
for _ in $(seq 100); do
	up=$("$B/steer" status 2>/dev/null | grep -c 'state=up')
	[ "$up" -ge 7 ] && break
	sleep 0.05
done
[ "$up" -ge 7 ] || die "steer: $up of 7 replicas up: $(cat "$TMP/agent.out")"
log "replicas (${DELAYS[*]} µs) and agent up"

# --- HAProxy: tcp mode, one thread, least connections, no checks ----------
# The stats socket is read between runs (connections per server) and, in
# the runs of their own below, during them.
{
	printf 'global\n\tnbthread 1\n\tmaxconn 4096\n\tstats socket %s mode 600 level admin\n\n' "$TMP/haproxy.sock"
	printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n\ttimeout client 30s\n\ttimeout server 30s\n\n'
	printf 'listen bench\n\tbind %s\n\tbalance leastconn\n' "$HAPROXY_ADDR"
	for i in "${!REPS[@]}"; do printf '\tserver r%d %s\n' $((i + 1)) "${REPS[i]}"; done
} >"$TMP/haproxy.cfg"
spawn haproxy haproxy -db -f "$TMP/haproxy.cfg"
for _ in $(seq 100); do [ -S "$TMP/haproxy.sock" ] && break; sleep 0.05; done
[ -S "$TMP/haproxy.sock" ] || die "haproxy did not start: $(cat "$TMP/haproxy.out")"

# --- nginx: stream proxy, one worker, least connections --------------------
{
	echo "load_module $NGINX_STREAM;"
	echo "worker_processes 1;"
	echo "daemon off;"
	echo "pid $TMP/nginx.pid;"
	echo "error_log $TMP/nginx-error.log warn;"
	echo "events { worker_connections 4096; }"
	echo "stream {"
	echo "    upstream replicas {"
	echo "        least_conn;"
	for r in "${REPS[@]}"; do echo "        server $r;"; done
	echo "    }"
	echo "    server { listen $NGINX_ADDR; proxy_pass replicas; }"
	echo "}"
} >"$TMP/nginx.conf"
spawn nginx nginx -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf"

addr_of() {
	case $1 in
	random) echo "$VIP_RANDOM" ;;
	p2c) echo "$VIP_P2C" ;;
	haproxy) echo "$HAPROXY_ADDR" ;;
	nginx) echo "$NGINX_ADDR" ;;
	esac
}

# load TARGET ARGS...: bench-load against TARGET, on the load generator's
# CPU; the steer clients run in the cgroup steer is attached to, the others
# in the plain one.
load() {
	local cg=$CG_PLAIN
	case $1 in random | p2c) cg=$CG_VIP ;; esac
	in_cg "$cg" "${PIN_LOAD[@]}" "$LOAD" "${@:2}"
}

# conns TARGET: the connections each replica has been given so far, "r1 r2
# r3": steer's datapath counters (steered) of the target's service, or
# HAProxy's per-server session totals (stot); nothing for nginx, whose open
# source build counts nothing per upstream server without logging every
# session, which would add work to its runs.
conns() {
	case $1 in
	random | p2c)
		"$B/steer" status --json 2>/dev/null |
			jq -r --arg s "$1" '.services[] | select(.name == $s) | .replicas | sort_by(.address) | map(.steered) | join(" ")'
		;;
	haproxy)
		echo "show stat" | socat stdio "unix-connect:$TMP/haproxy.sock" 2>/dev/null |
			awk -F, '$1 == "bench" && $2 ~ /^r[0-9]$/ {s[$2] = $8} END {print s["r1"], s["r2"], s["r3"]}'
		;;
	esac
}
# open_now TARGET: the connections open to each replica now, as the balancer
# counts them, "r1 r2 r3": steer's `active`, HAProxy's current sessions (scur).
open_now() {
	case $1 in
	random | p2c)
		"$B/steer" status --json 2>/dev/null |
			jq -r --arg s "$1" '.services[] | select(.name == $s) | .replicas | sort_by(.address) | map(.active) | join(" ")'
		;;
	haproxy)
		echo "show stat" | socat stdio "unix-connect:$TMP/haproxy.sock" 2>/dev/null |
			awk -F, '$1 == "bench" && $2 ~ /^r[0-9]$/ {s[$2] = $5} END {print s["r1"], s["r2"], s["r3"]}'
		;;
	esac
}

# Each target must answer, without an error, before anything is measured.
for t in $TARGETS; do
	ok=""
	for _ in $(seq 20); do
		line=$(load "$t" crr "$(addr_of "$t")" --concurrency 1 --duration-ms 100 2>>"$TMP/check.err")
		case $line in *" ok=0 "*) ;; *" errors=0 "*) ok=1 && break ;; esac
		sleep 0.1
	done
	[ -n "$ok" ] || die "target $t at $(addr_of "$t") does not answer: $line $(tail -3 "$TMP/check.err")"
done
log "4 targets answer; $ROUNDS rounds of $RUN_MS ms (+$WARM_MS ms warmup) per target and workload"

# --- interleaved rounds -----------------------------------------------------
mkdir -p "$DOCS"
RAW=$DOCS/benchmarks-lb.csv
echo "round,target,mode,conc,secs,ok,errors,conns_per_s,reqs_per_s,p50_us,p90_us,p99_us,max_us,conns_r1,conns_r2,conns_r3" >"$RAW"
declare -A F
read -r -a ORDER <<<"$TARGETS"
for round in $(seq "$ROUNDS"); do
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:}
		# Each round starts one target later, so no target always runs
		# right after the same other one.
		for i in "${!ORDER[@]}"; do
			t=${ORDER[$(((i + round - 1) % ${#ORDER[@]}))]}
			read -r -a c0 < <(conns "$t")
			line=$(load "$t" "$mode" "$(addr_of "$t")" --concurrency "$conc" \
				--duration-ms "$RUN_MS" --warmup-ms "$WARM_MS" 2>>"$TMP/load.err")
			rc=$?
			read -r -a c1 < <(conns "$t")
			case $line in mode=*) ;; *) die "$t $mode c$conc: exit $rc: $line $(tail -3 "$TMP/load.err")" ;; esac
			F=()
			for kv in $line; do F[${kv%%=*}]=${kv#*=}; done
			row=$round,$t,$mode,$conc
			for k in secs ok errors conns_per_s reqs_per_s p50_us p90_us p99_us max_us; do
				row=$row,${F[$k]:-}
			done
			for j in 0 1 2; do
				if [ ${#c1[@]} -eq 3 ]; then row=$row,$((c1[j] - ${c0[j]:-0})); else row=$row,; fi
			done
			echo "$row" >>"$RAW"
			log "round $round $t $mode c$conc: $line"
		done
	done
done

# --- what the balancers see -------------------------------------------------
# One CRR run at concurrency 16 per target that counts open connections (not
# part of the rounds: the sampling runs on the servers' CPU), with the
# per-replica counts read every 50 ms; "target r1 r2 r3 samples" (means).
: >"$TMP/open.txt"
for t in random p2c haproxy; do
	load "$t" crr "$(addr_of "$t")" --concurrency 16 --duration-ms "$RUN_MS" --warmup-ms "$WARM_MS" \
		>"$TMP/open-$t.out" 2>>"$TMP/load.err" &
	lp=$!
	sleep "$(awk -v w="$WARM_MS" 'BEGIN {printf "%.3f", w / 1000}')"
	end=$(($(date +%s%N) + (RUN_MS - 100) * 1000000))
	(
		# The sampler and what it runs, on the servers' CPU.
		[ ${#PIN_SERVER[@]} -gt 0 ] && taskset -pc "$SERVER_CPU" $BASHPID >/dev/null
		while [ "$(date +%s%N)" -lt "$end" ]; do
			open_now "$t"
			sleep 0.05
		done
	) >"$TMP/open-$t.txt"
	wait "$lp" || die "$t: the run that counts open connections failed: $(cat "$TMP/open-$t.out")"
	awk -v t="$t" 'NF == 3 {for (i = 1; i <= 3; i++) s[i] += $i; n++}
		END {printf "%s %.1f %.1f %.1f %d\n", t, s[1] / n, s[2] / n, s[3] / n, n}' "$TMP/open-$t.txt" >>"$TMP/open.txt"
	log "open connections per replica during $t CRR c16: $(tail -1 "$TMP/open.txt"): $(cat "$TMP/open-$t.out")"
done

# --- the connect hook's cost: random against p2c ----------------------------
# Runs of their own (stats cost two clock reads in every BPF program run on
# the node): CRR through each steer target in turn, 3
# times, at concurrency 64 so that the hook runs often enough to stay in
# cache as it does under load, with kernel.bpf_stats_enabled=1; the program is the one the pinned
# link runs, not any sock4_connect on the node. "target ns_per_run runs"
# per run in hook.txt.
hook_id=$(bpftool -j link show pinned "$PIN/link_sock4_connect" | grep -o '"prog_id":[0-9]*' | grep -o '[0-9]*$')
prog_stats() {
	local j
	j=$(bpftool -j prog show id "$1")
	echo "$(echo "$j" | grep -o '"run_time_ns":[0-9]*' | grep -o '[0-9]*$' || echo 0)" \
		"$(echo "$j" | grep -o '"run_cnt":[0-9]*' | grep -o '[0-9]*$' || echo 0)"
}
STATS_OLD=$(cat /proc/sys/kernel/bpf_stats_enabled)
: >"$TMP/hook.txt"
for _ in 1 2 3; do
	for t in random p2c; do
		echo 1 >/proc/sys/kernel/bpf_stats_enabled
		read -r h0 c0 < <(prog_stats "$hook_id")
		load "$t" crr "$(addr_of "$t")" --concurrency 64 --duration-ms "$RUN_MS" >/dev/null 2>>"$TMP/load.err"
		read -r h1 c1 < <(prog_stats "$hook_id")
		echo "$STATS_OLD" >/proc/sys/kernel/bpf_stats_enabled
		echo "$t $(((h1 - h0) / (c1 > c0 ? c1 - c0 : 1))) $((c1 - c0))" >>"$TMP/hook.txt"
		log "connect hook, $t: $(tail -1 "$TMP/hook.txt")"
	done
done
hook_med() { awk -v t="$1" '$1 == t {a[++n] = $2} END {asort(a); print a[int((n + 1) / 2)]}' "$TMP/hook.txt"; }
hook_rnd=$(hook_med random) hook_p2c=$(hook_med p2c)
hook_runs=$(awk '{printf "%s%s %s ns over %s", (NR > 1 ? ", " : ""), $1, $2, $3}' "$TMP/hook.txt")

# --- max_conns: from a close to the held connection's reply ----------------
SLOT_ROUNDS=50
[ "${BENCH_QUICK:-0}" = 1 ] && SLOT_ROUNDS=10
slot_line=$(in_cg "$CG_VIP" "${PIN_LOAD[@]}" "$SLOTFREE" "$VIP_FULL" --rounds "$SLOT_ROUNDS" 2>>"$TMP/load.err") ||
	die "bench-slotfree: $slot_line $(tail -3 "$TMP/load.err")"
log "max_conns, close to served: $slot_line"
slot_field() { echo "$slot_line" | grep -o "$1=[0-9]*" | cut -d= -f2; }
slot_p50=$(slot_field p50_us) slot_p99=$(slot_field p99_us) slot_max=$(slot_field max_us)

# --- medians and the report -------------------------------------------------
# med.txt: "target mode conc conns_per_s reqs_per_s p50 p90 p99 max errors
# slow_share" (medians over rounds; errors summed; slow_share the slow
# replica's part of all the connections the target gave out over the rounds,
# or - where the target does not count them).
awk -F, -v slow=3 'NR > 1 {
	k = $2 " " $3 " " $4
	if (!(k in n)) order[++keys] = k
	i = ++n[k]
	for (c = 8; c <= 13; c++) v[k, c, i] = $c
	err[k] += $7
	if ($14 != "") { counted[k] = 1; all[k] += $14 + $15 + $16; sl[k] += $(13 + slow) }
}
function median(k, c,    i, j, t, a, m) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
	for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (o = 1; o <= keys; o++) {
		k = order[o]
		printf "%s", k
		for (c = 8; c <= 13; c++) printf " %s", median(k, c)
		share = "-"
		if (k in counted && all[k] > 0)
			share = sprintf("%.4f", sl[k] / all[k])
		printf " %d %s\n", err[k], share
	}
}' "$RAW" >"$TMP/med.txt"
# med TARGET MODE CONC FIELD (1 conns/s, 2 reqs/s, 3 p50, 4 p90, 5 p99, 6 max,
# 7 errors, 8 the slow replica's share)
declare -A M
while read -r t m c v1 v2 v3 v4 v5 v6 v7 v8; do
	M[$t.$m.$c.1]=$v1 M[$t.$m.$c.2]=$v2 M[$t.$m.$c.3]=$v3 M[$t.$m.$c.4]=$v4
	M[$t.$m.$c.5]=$v5 M[$t.$m.$c.6]=$v6 M[$t.$m.$c.7]=$v7 M[$t.$m.$c.8]=$v8
done <"$TMP/med.txt"
med() { echo "${M[$1.$2.$3.$4]:-0}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
pct() { case $1 in -) echo "—" ;; *) awk -v x="$1" 'BEGIN {printf "%.1f%%", 100 * x}' ;; esac; }

# table MODE CONC: the markdown table of one workload, ratios to random.
table() {
	local t f=1 x
	[ "$1" = rr ] && f=2
	printf '| target | %s | × random | p50 µs | p90 µs | p99 µs | × random | connections to the slow replica | errors |\n' \
		"$([ "$1" = rr ] && echo "requests/s" || echo "connections/s")"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for t in $TARGETS; do
		x=$(med "$t" "$1" "$2" 8)
		printf '| %s | %.0f | %s× | %.0f | %.0f | %.0f | %s× | %s | %d |\n' "$t" "$(med "$t" "$1" "$2" $f)" \
			"$(ratio "$(med "$t" "$1" "$2" $f)" "$(med random "$1" "$2" $f)")" \
			"$(med "$t" "$1" "$2" 3)" "$(med "$t" "$1" "$2" 4)" "$(med "$t" "$1" "$2" 5)" \
			"$(ratio "$(med "$t" "$1" "$2" 5)" "$(med random "$1" "$2" 5)")" "$(pct "$x")" "$(med "$t" "$1" "$2" 7)"
	done
}
# spread A B MODE CONC COLUMN: "lo–hi×", the range over rounds of A/B in
# COLUMN of the raw rows (A and B ran in the same round).
spread() {
	awk -F, -v a="$1" -v b="$2" -v m="$3" -v c="$4" -v k="$5" '
	$3 == m && $4 == c && ($2 == a || $2 == b) { v[$1, $2] = $k; r[$1] = 1 }
	END {
		for (i in r) if (v[i, b] > 0) { x = v[i, a] / v[i, b]; if (n++ == 0 || x < lo) lo = x; if (x > hi) hi = x }
		printf "%.2f–%.2f×", lo, hi
	}' "$RAW"
}
# goal LABEL GOAL NUMBER UNIT RANGE OK MISS: a row of the goal table; OK is
# an awk condition on x (the measured number), MISS how far x is from it.
goal() {
	local verdict
	verdict=$(awk -v x="$3" "BEGIN {x += 0; if ($6) print \"met\"; else printf \"missed by %s\", $7}")
	echo "| $1 | $2 | $3$4 | $5 | $verdict |"
}
# goals: the three goals for every workload.
goals() {
	local w mode conc f what
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:} f=1 what="connections/s"
		[ "$mode" = rr ] && f=2 what="requests/s"
		goal "${mode^^} c$conc: p99, p2c ÷ random" "≤ 0.5×" "$(ratio "$(med p2c "$mode" "$conc" 5)" "$(med random "$mode" "$conc" 5)")" "×" \
			"$(spread p2c random "$mode" "$conc" 12)" "x <= 0.5" "sprintf(\"%.2f×\", x - 0.5)"
		goal "${mode^^} c$conc: p99, p2c ÷ HAProxy leastconn" "≤ 1×" "$(ratio "$(med p2c "$mode" "$conc" 5)" "$(med haproxy "$mode" "$conc" 5)")" "×" \
			"$(spread p2c haproxy "$mode" "$conc" 12)" "x <= 1" "sprintf(\"%.2f×\", x - 1)"
		goal "${mode^^} c$conc: $what, p2c ÷ HAProxy leastconn" "≥ 1×" "$(ratio "$(med p2c "$mode" "$conc" $f)" "$(med haproxy "$mode" "$conc" $f)")" "×" \
			"$(spread p2c haproxy "$mode" "$conc" $((f + 7)))" "x >= 1" "sprintf(\"%.2f×\", 1 - x)"
	done
}
# open_table: the mean open connections per replica in the sampled runs.
open_table() {
	echo "| target | r1 (${DELAYS[0]} µs) | r2 (${DELAYS[1]} µs) | r3 (${DELAYS[2]} µs, slow) | samples |"
	echo "|---|---:|---:|---:|---:|"
	awk '{printf "| %s | %s | %s | %s | %d |\n", $1, $2, $3, $4, $5}' "$TMP/open.txt"
}
# splits MODE CONC: "target: r1/r2/r3, ... per round" for the targets that
# count connections, from the raw rows.
splits() {
	awk -F, -v m="$1" -v c="$2" '$3 == m && $4 == c && $14 != "" {
		if (!($2 in s)) order[++n] = $2
		s[$2] = s[$2] (s[$2] ? ", " : "") $14 "/" $15 "/" $16
	}
	END {for (i = 1; i <= n; i++) printf "%s%s %s", (i > 1 ? "; " : ""), order[i], s[order[i]]}' "$RAW"
}
rnd_slow=$(pct "$(med random crr 16 8)")
p2c_slow=$(pct "$(med p2c crr 16 8)")
ha_slow=$(pct "$(med haproxy crr 16 8)")
p2c_p90=$(ratio "$(med p2c crr 16 4)" "$(med random crr 16 4)")
p2c_crr=$(ratio "$(med p2c crr 16 1)" "$(med random crr 16 1)")

cat <<MD
## Load-aware routing: one slow replica, steer's random and p2c, HAProxy and nginx least connections

Three replicas (\`steer-echo --tcp-only --delay-us\`, one process each, on
127.0.0.1 in the bench's network namespace): r1 and r2 answer each request
line ${DELAYS[0]} µs after it arrived, r3 after ${DELAYS[2]} µs, 10 times
longer, as a replica with slow handlers would. \`steer-echo\` holds the
replies in a queue driven by a timerfd and never blocks, so the slow
replica is slow per request but serves any number of connections at once.
The fast replicas' delay is longer than the CPUs alone make a CRR
connection wait at concurrency 16 (the p50 of CRR at concurrency 16 in
the throughput section), so that at concurrency 16 the 10× is what a
balancer sees; at 64 the CPUs are the bottleneck again. Four balancers in front of the same three
processes:

- **random**: steer, the VIP $VIP_RANDOM, \`policy = random\` (one uniform pick per connect);
- **p2c**: steer, the VIP $VIP_P2C, \`policy = p2c\` (two distinct replicas
  drawn at random, the one with fewer open connections wins, a tie at random);
- **haproxy**: HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'), \`mode tcp\`, \`nbthread 1\`, \`balance leastconn\`, no checks;
- **nginx**: nginx $(nginx -v 2>&1 | sed 's|.*/||'), \`stream\` proxy, \`worker_processes 1\`, \`least_conn\`.

**How p2c knows the load.** The kernel counts each replica's open steered
TCP connections: the connect hook adds one when it steers a connect to the
replica, \`cgroup/sock_release\` takes it away when that socket is closed
(\`steer_replica_active_v1\`; \`active\` in \`steer status --json\`). HAProxy's
and nginx's least connections count the connections they hold open to each
server: the same kind of number. None of them sees requests or latency.
In **CRR** a connection is one request and stays open as long as the
replica takes to answer it, so the slow replica piles up open connections
and is picked less. In **RR** every connection is opened once, when the
run starts, while all counts are still even; after that the counts never
move, and the slow replica's share of the connections (about a third)
answers at its own pace: connection counts cannot route requests on
connections that are already open.

CRR is connect, one request line, its reply, close; RR is request/reply on
connections kept open. Each run lasts $RUN_MS ms after a $WARM_MS ms warmup;
the $ROUNDS rounds interleave every target and workload (${TARGETS// /, };
each round starts one target later), and the tables give the median over
rounds. CPUs: $PINNING, for every target alike. "Connections to the slow
replica" is r3's part of all the connections the target gave out over the
rounds (warmups included): for steer from its datapath counters (\`steered\`
per replica), for HAProxy from its stats socket (\`stot\` per server);
open-source nginx counts nothing per upstream server (—). The raw rows are
in \`docs/benchmarks-lb.csv\`.

Commands, as \`bench/lb.sh\` runs them, all in its netns \`steer-lb-PID\`
(MODE is crr or rr, C is 16 or 64; CG is the bench's cgroup, TMP its
temporary directory$PIN_CMDS):

\`\`\`
steer-echo --name r1 --listen ${REPS[0]} --tcp-only --delay-us ${DELAYS[0]}
steer-echo --name r2 --listen ${REPS[1]} --tcp-only --delay-us ${DELAYS[1]}
steer-echo --name r3 --listen ${REPS[2]} --tcp-only --delay-us ${DELAYS[2]}
STEER_CGROUP=CG/vip steer run --config TMP/steer.ini
haproxy -db -f TMP/haproxy.cfg
nginx -p TMP/ -e TMP/nginx-error.log -c TMP/nginx.conf
sysctl -w net.ipv4.tcp_tw_reuse=1
bench-load MODE $VIP_RANDOM --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS   # random, from CG/vip
bench-load MODE $VIP_P2C --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS   # p2c, from CG/vip
bench-load MODE $HAPROXY_ADDR --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
bench-load MODE $NGINX_ADDR --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
\`\`\`

<details><summary>The config files</summary>

\`steer.ini\`:
\`\`\`ini
$(cat "$TMP/steer.ini")
\`\`\`

\`haproxy.cfg\`:
\`\`\`
$(sed "s|$TMP|TMP|g" "$TMP/haproxy.cfg")
\`\`\`

\`nginx.conf\`:
\`\`\`nginx
$(sed "s|$TMP|TMP|g" "$TMP/nginx.conf")
\`\`\`
</details>

### CRR, concurrency 16

$(table crr 16)

### CRR, concurrency 64

$(table crr 64)

### RR, concurrency 16

$(table rr 16)

### RR, concurrency 64

$(table rr 64)

### What the balancers see

Open connections per replica, as each balancer counts them, sampled every
50 ms during one CRR run at concurrency 16 per target (runs of their own,
after the rounds: the sampling runs on the servers' CPU); means of the
samples. steer's are \`active\` from \`steer status --json\`, HAProxy's the
current sessions per server (\`scur\`) from its stats socket.

$(open_table)

### The connect hook's cost

\`sock4_connect\` per run, with \`kernel.bpf_stats_enabled=1\` in CRR runs
of their own at concurrency 64 (the two steer services have the same three
replicas; they differ only in \`policy\`), median of 3: random
${hook_rnd} ns, p2c ${hook_p2c} ns, so p2c adds
$((hook_p2c - hook_rnd)) ns (runs: $hook_runs). The whole hook costs this
much on this machine (a VM with retpolines, where every BPF map update is
about 1 µs); the goal is on the difference. p2c makes more connects in the
same time (it avoids the slow replica), and a hook that runs more often is
warmer in cache: the difference is within the noise of these runs, not a
saving.

### max_conns: a held connection served when a slot frees

A service of one replica (no delay) with \`max_conns = 1\` and a retry
backoff of 3 s: in each of $SLOT_ROUNDS rounds, \`bench-slotfree\` opens
connection A (served, the replica is now full), then B (held: the miss
path, its request waiting in the kernel), waits 20 ms (B's first attempt
found no room; its next is 3 s away), closes A and times B's reply. The
datapath sends \`STEER_EVENT_SLOT_FREE\` on its ring buffer when A's socket
is released, and the agent tries B at once: close to B's reply p50
${slot_p50} µs, p99 ${slot_p99} µs, max ${slot_max} µs (B's connect to the
replica, the relay's start and the echo included).

### Goals (issue 12)

| what | goal | measured (median of rounds) | range over rounds | |
|---|---|---|---|---|
$(goals)
$(goal "max_conns: close to served, p50" "≤ 1 ms" "$slot_p50" " µs" "$SLOT_ROUNDS rounds" "x <= 1000" "sprintf(\"%d µs\", x - 1000)")
$(goal "connect hook: p2c − random, ns per run" "≤ 350 ns" "$((hook_p2c - hook_rnd))" " ns" "3 runs each" "x <= 350" "sprintf(\"%d ns\", x - 350)")

"Range over rounds" is the lowest and highest ratio of the two targets'
runs in the same round. Latency percentiles are histogram buckets 3.2%
wide (\`bench/loadhist.h\`), so a percentile ratio moves in steps of about
0.03×. A balancer that counts connections and keeps the slow replica's
count level with the others' still sends it about 1 connection in 21 in
CRR (as many open, each open 10 times longer): a p99 below the slow
replica's delay needs it to get fewer than 1 in 100. In CRR at
concurrency 16, p2c gave the slow replica $p2c_slow of its connections
(random $rnd_slow, HAProxy $ha_slow); where that shows is below the p99:
p2c's p90 was ${p2c_p90}× random's, and its connections/s ${p2c_crr}×.

In RR the connections are split once, as they open, and the requests
follow the split: connections per replica (r1/r2/r3, each round, warmup
included) were $(splits rr 16) at concurrency 16, and
$(splits rr 64) at concurrency 64.
MD
