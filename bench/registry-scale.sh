#!/bin/bash
# The etcd registry at scale (issue 14, point 7): 1000 services x 10
# replicas in a 3-member etcd cluster, watched by 3 agents ($BUILD/steer:
# its default limits hold 65,536 services and 262,144 replicas).
#
#   1. initial sync of one agent started without --config: exec to the
#      first "config applied" and to "ready:", its CPU time and RSS (and
#      those of agents 2 and 3, started after it, and their idle CPU);
#   2. 2 more agents, then sustained changes at 100/s for 30 s: 4 load
#      tools (bench-registry-load), each on its own service at 25/s, each
#      writing to another etcd member; per node the convergence of every
#      change (from the tool's timestamp, taken just before its put, to the
#      node's first "registry revision R applied" log line with R >= the
#      change's revision), the changes never applied, CPU and RSS;
#   3. isolated changes (10, one every 2 s) with agent 1 alone (before the
#      other two start) and with all 3: the latency of one change, apply
#      included;
#   4. the same (2 and 3) against a small registry, 10 services x 10
#      replicas, as the baseline: what the registry's size adds.
# Every service has "health": "none": no checks run, so the numbers are the
# registry's and the datapath's only.
#
# Uses the registry tests' world (tests/integration/registry_lib.sh): the
# fabric netns with etcd (ports of its own, inside the netns), 3 node
# namespaces with their own cgroups, pin directories and control sockets.
# All of it is removed on every exit.
#
# Progress on stderr; the report in $BENCH_DOCS/registry.md (default docs/)
# and the numbers in $BENCH_DOCS/registry-scale.csv. BENCH_QUICK=1: 100
# services, 5 s of changes, 3 isolated ones at 1/s (a smoke run). Run as
# root, via `make scale`. Also: SCALE_SERVICES, SCALE_SECONDS and
# SCALE_ISOLATED set the sizes; SCALE_STEER=PATH runs another agent (e.g.
# build/steer, whose default limits hold 256 services and 4096 replicas);
# SCALE_LOGS=DIR keeps the agents' logs there.
set -u
# lib.sh sets fast health checks for the tests; the bench runs the agent's
# defaults unless the caller set them.
HEALTH_ENV=$(env | grep -E '^STEER_HEALTH_(INTERVAL|TIMEOUT)_MS=' || true)
# shellcheck source-path=SCRIPTDIR source=../tests/integration/registry_lib.sh
. "$(dirname "$0")/../tests/integration/registry_lib.sh"

STEER=${SCALE_STEER:-$BUILD/steer}
LOAD=$BUILD/bench-registry-load
DOCS=${BENCH_DOCS:-$ROOT/docs}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SERVICES=${SCALE_SERVICES:-100} SECS=${SCALE_SECONDS:-5} ISOLATED=${SCALE_ISOLATED:-3}
	IDLE_SECS=2 ISOLATED_RATE=1
else
	SERVICES=${SCALE_SERVICES:-1000} SECS=${SCALE_SECONDS:-30} ISOLATED=${SCALE_ISOLATED:-10}
	IDLE_SECS=5 ISOLATED_RATE=0.5
fi
PER=10          # replicas per service
SMALL=10        # services of the baseline
RATE=100        # changes per second, all tools together
TOOLS=4         # load tools, each on its own service at RATE/TOOLS
CHANGES=$((RATE * SECS / TOOLS))
BASE=198.18.101.1 # bench-registry-load's --many-services default

# Progress and failures on stderr: stdout is not the report here.
log() { printf '    %s\n' "$*" >&2; }
fail() { printf '    FAIL: %s\n' "$*" >&2; FAILED=1; }
step() { printf 'registry-scale: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "registry-scale: run as root" >&2; exit 1; }
{ command -v etcd && command -v etcdctl; } >/dev/null ||
	{ echo "registry-scale: etcd and etcdctl are not installed (make deps)" >&2; exit 1; }
for f in "$STEER" "$LOAD" "$ECHO" "$CLIENT"; do
	[ -x "$f" ] || { echo "registry-scale: $f is not built (make scale)" >&2; exit 1; }
done
CLK_TCK=$(getconf CLK_TCK)
CSV_ROWS=()
AGENT_EXIT_WARN=""
RUNNING="" # the nodes whose agents run

# csv SCENARIO NODE METRIC VALUE UNIT — one row of registry-scale.csv.
csv() { CSV_ROWS+=("$1,$2,$3,$4,$5"); }

# ip_plus ADDR N — IPv4 ADDR + N.
ip_plus() {
	local a b c d n
	IFS=. read -r a b c d <<<"$1"
	n=$(((a << 24) + (b << 16) + (c << 8) + d + $2))
	echo "$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))"
}
svc_name() { printf 'svc-%04d' "$1"; }
svc_base() { ip_plus "$BASE" $(($1 * PER)); } # replica 0 of service S
svc_vip() { echo "198.19.$(($1 / 250)).$(($1 % 250 + 1)):80"; }

# cpu_ticks PID — utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# vm_kb PID FIELD — VmRSS, VmHWM... of PID in kB.
vm_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
now_ns() { echo $((${EPOCHREALTIME/./} * 1000)); }

# The agents' JSON log lines carry "ts":"YYYY-MM-DDTHH:MM:SS.mmmZ".
# log_ms FILE REGEX — the ms timestamp of FILE's first line matching REGEX.
log_ms() {
	TZ=UTC gawk -v re="$2" '$0 ~ re {
		match($0, /"ts":"[^"]*"/); ts = substr($0, RSTART + 6, RLENGTH - 7)
		split(ts, d, /[-T:.Z]/)
		printf "%d\n", mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6]) * 1000 + d[7]
		exit }' "$1"
}
# last_applied I — the revision of node I's last "registry revision R applied".
last_applied() {
	grep -o 'registry revision [0-9]* applied' "${NODE_LOG[$1]}" | tail -1 | awk '{ print $3 }'
}

# The replicas' set of SERVICE on NODE, and in etcd, sorted, one per line.
replica_set() {
	node_status "$1" 2>/dev/null | awk -v s="$2" '$1 == "service" { in_svc = ($2 == s) }
		in_svc && $1 == "replica" { print $2 }' | sort
}
etcd_set() { ectl get --prefix --keys-only "/steer/replicas/$1/" | sed -n "s|^/steer/replicas/$1/||p" | sort; }

# put_registry S — S services x PER replicas under /steer/ (keys 0..S-1 of
# bench-registry-load's many-services form); the put rate in PUT_RATE.
put_registry() {
	local out
	step "putting $1 services x $PER replicas ($(($1 * (PER + 1))) keys)"
	in_fabric "$LOAD" --endpoint 127.0.0.1:"$(etcd_client_port 1)" --many-services "$1" \
		--replicas-per-service "$PER" >"$TMP/setup.out" 2>"$TMP/setup.err" ||
		{ fail "load tool setup: $(cat "$TMP/setup.err")"; return 1; }
	out=$(cat "$TMP/setup.err")
	log "$out"
	PUT_RATE=$(sed -n 's/.* (\([0-9]*\) puts\/s).*/\1/p' <<<"$out")
}

# start_agent_timed SCENARIO I — `steer run` (no --config) on node I, as
# start_node_agent, and its initial sync: exec to the log's "registry:
# listing" (the datapath loaded), "registry: listed", the first "config
# applied" and "ready:", in ms; then its CPU time and RSS.
start_agent_timed() {
	local sc=$1 i=$2 envs t0 pid m t
	mapfile -t envs < <(node_env "$i")
	: >"${NODE_LOG[i]}"
	t0=$(now_ns)
	env "${envs[@]}" nsenter --net="/run/netns/${NODE_NS[i]}" -- "$STEER" run >>"${NODE_LOG[i]}" 2>&1 &
	NODE_PID[i]=$!
	pid=${NODE_PID[i]}
	if ! wait_for_line "${NODE_LOG[i]}" 'ready:' 1200; then
		fail "agent of node $i not ready after 60 s: $(tail -5 "${NODE_LOG[i]}")"
		return 1
	fi
	[ "$(cat "/proc/$pid/comm")" = steer ] || { fail "pid $pid is not the agent"; return 1; }
	SYNC_CPU_MS=$(($(cpu_ticks "$pid") * 1000 / CLK_TCK))
	SYNC_RSS=$(vm_kb "$pid" VmRSS) SYNC_HWM=$(vm_kb "$pid" VmHWM)
	SYNC_LINE=""
	for m in "registry: listing:listing_ms" "registry: listed:listed_ms" \
		"config applied:applied_ms" "ready::ready_ms"; do
		t=$(log_ms "${NODE_LOG[i]}" "${m%:*}")
		t=$((t - t0 / 1000000))
		csv "$sc" "$i" "sync_${m##*:}" "$t" ms
		SYNC_LINE+="${m##*:}=$t "
	done
	csv "$sc" "$i" sync_cpu_ms "$SYNC_CPU_MS" ms
	csv "$sc" "$i" sync_vmrss_kb "$SYNC_RSS" kB
	csv "$sc" "$i" sync_vmhwm_kb "$SYNC_HWM" kB
	log "node $i: ${SYNC_LINE}cpu=${SYNC_CPU_MS}ms VmRSS=${SYNC_RSS}kB VmHWM=${SYNC_HWM}kB"
}

# stop_agents SCENARIO — SIGTERM the agents, `steer down` and a fresh pin
# dir on each; their logs kept in $SCALE_LOGS/SCENARIO-nI.log if it is set.
stop_agents() {
	local i rc
	for i in $(seq "$NODE_N"); do
		stop_node_agent "$i"
		rc=$?
		# Not what the bench measures, but worth seeing: 143 is a death
		# by SIGTERM rather than the agent's own exit.
		[ "$rc" = 0 ] || log "WARN: agent of node $i exited $rc on SIGTERM (expected 0)"
		[ "$rc" = 0 ] || AGENT_EXIT_WARN="the agents exited $rc on SIGTERM instead of 0"
		[ -n "${SCALE_LOGS:-}" ] && mkdir -p "$SCALE_LOGS" && cp "${NODE_LOG[i]}" "$SCALE_LOGS/$1-n$i.log"
		node_steer "$i" down >/dev/null 2>&1 || fail "steer down on node $i"
		rm -rf "${NODE_PIN[i]}"
	done
}

# convergence CHANGES LOGS... — per log (node): "samples lost p50 p90 p99
# max applies gap_p50", the delays in ms from each change (REVISION
# REALTIME_NS ... lines, sorted by revision) to the first "registry revision
# R applied" line with R >= REVISION; applies counts the applied lines from
# the first change on, gap_p50 the median ms between two of them.
convergence() {
	local changes=$1 f
	shift
	for f in "$@"; do
		TZ=UTC gawk -f "$ROOT/tests/integration/convergence.awk" "$changes" "$f"
	done
}

# wait_applied REV [SECONDS] — until every running node applied REV
# (default 30 s).
wait_applied() {
	local rev=$1 deadline=$(($(date +%s) + ${2:-30})) i r ok
	while [ "$(date +%s)" -lt "$deadline" ]; do
		ok=1
		for i in $RUNNING; do
			r=$(last_applied "$i")
			[ -n "$r" ] && [ "$r" -ge "$rev" ] || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.05
	done
	fail "not every node applied revision $rev within ${2:-30} s: $(for i in $RUNNING; do printf 'n%s=%s ' "$i" "$(last_applied "$i")"; done)"
	return 1
}

# changes SCENARIO KIND RATE COUNT SVC... — one load tool per service, each
# COUNT changes at RATE/s to another etcd member, all at once; then the
# convergence on every node running ($RUNNING), the agents' CPU over the run (from the first
# change to the last node's apply of the last one) and RSS at the end.
# KIND: sustained, alone or isolated. Rows in the CSV.
changes() {
	local sc=$1 kind=$2 rate=$3 count=$4 svc i k pids=() t0 t1 last cpu0=() cpu1 e0=0 e1=0 \
		wall res p s samples lost p50 p90 p99 max applies gap cpu_pct cpu_apply rss
	shift 4
	step "$sc: $kind changes: $count at $rate/s on each of $(echo "$@" | wc -w) services"
	for i in $RUNNING; do cpu0[i]=$(cpu_ticks "${NODE_PID[i]}"); done
	for i in $(etcd_live); do e0=$((e0 + $(cpu_ticks "${ETCD_PID[i]}"))); done
	t0=$(now_ns)
	k=0
	for svc in "$@"; do
		k=$((k + 1))
		# nsenter execs the tool: $! is its pid.
		nsenter --net="/run/netns/$FABRIC" -- "$LOAD" \
			--endpoint "127.0.0.1:$(etcd_client_port $(((k - 1) % ETCD_N + 1)))" \
			--service "$(svc_name "$svc")" --replicas "$PER" --base "$(svc_base "$svc")" \
			--changes "$count" --rate "$rate" --seed "$k" \
			>"$TMP/$sc-$kind-$k.out" 2>"$TMP/$sc-$kind-$k.err" &
		pids+=($!)
		PIDS+=($!)
	done
	k=0
	for p in "${pids[@]}"; do
		k=$((k + 1))
		wait "$p" || fail "load tool $k: $(cat "$TMP/$sc-$kind-$k.err")"
		log "tool $k: $(tail -1 "$TMP/$sc-$kind-$k.err")"
	done
	sort -n -k1,1 "$TMP/$sc-$kind"-*.out >"$TMP/$sc-$kind.changes"
	last=$(awk 'END { print $1 }' "$TMP/$sc-$kind.changes")
	wait_applied "$last" 60
	t1=$(now_ns)
	wall=$(((t1 - t0) / 1000000))
	for i in $(etcd_live); do e1=$((e1 + $(cpu_ticks "${ETCD_PID[i]}"))); done
	csv "$sc" all "${kind}_changes" "$(wc -l <"$TMP/$sc-$kind.changes")" count
	csv "$sc" all "${kind}_wall_ms" "$wall" ms
	csv "$sc" etcd "${kind}_cpu_pct" "$(awk -v t=$((e1 - e0)) -v h="$CLK_TCK" -v w="$wall" 'BEGIN { printf "%.1f", t / h * 100000 / w }')" "% of one core, 3 members"
	# shellcheck disable=SC2046
	mapfile -t res < <(convergence "$TMP/$sc-$kind.changes" $(for i in $RUNNING; do echo "${NODE_LOG[i]}"; done))
	for i in $RUNNING; do
		read -r samples lost p50 p90 p99 max applies gap <<<"${res[0]}"
		res=("${res[@]:1}")
		cpu1=$(cpu_ticks "${NODE_PID[i]}")
		cpu_pct=$(awk -v t=$((cpu1 - cpu0[i])) -v h="$CLK_TCK" -v w="$wall" 'BEGIN { printf "%.1f", t / h * 100000 / w }')
		# Less the idle CPU (the audit) over the same time.
		cpu_apply=$(awk -v t=$((cpu1 - cpu0[i])) -v h="$CLK_TCK" -v a="$applies" -v w="$wall" \
			-v idle="${IDLE_PCT[i]:-0}" 'BEGIN {
				c = t / h * 1000 - idle / 100 * w; if (c < 0) c = 0
				printf "%.1f", a ? c / a : 0 }')
		rss=$(vm_kb "${NODE_PID[i]}" VmRSS)
		for p in samples:count lost:count p50:ms p90:ms p99:ms max:ms applies:count gap:ms; do
			csv "$sc" "$i" "${kind}_${p%:*}" "$(eval echo "\$${p%:*}")" "${p#*:}"
		done
		csv "$sc" "$i" "${kind}_cpu_pct" "$cpu_pct" "% of one core"
		csv "$sc" "$i" "${kind}_cpu_per_apply_ms" "$cpu_apply" ms
		csv "$sc" "$i" "${kind}_vmrss_kb" "$rss" kB
		log "node $i: $samples samples, $lost lost, p50 $p50 ms, p90 $p90, p99 $p99, max $max; $applies applies (median gap $gap ms), CPU $cpu_pct% ($cpu_apply ms/apply), VmRSS ${rss} kB"
	done
	# Each node's replica set of every changed service is etcd's.
	for svc in "$@"; do
		s=$(etcd_set "$(svc_name "$svc")")
		for i in $RUNNING; do
			[ "$s" = "$(replica_set "$i" "$(svc_name "$svc")")" ] ||
				fail "$sc: node $i: $(svc_name "$svc")'s replicas differ from etcd's: etcd '$(tr '\n' ' ' <<<"$s")', node '$(replica_set "$i" "$(svc_name "$svc")" | tr '\n' ' ')'"
		done
	done
	log "replica sets of $* equal etcd's on all $NODE_N nodes"
}

# idle_cpu SCENARIO METRIC — each running agent's CPU with no change
# coming (the maps' audit, every STEER_HEALTH_INTERVAL_MS), over IDLE_SECS;
# in IDLE_PCT[I] too.
IDLE_PCT=()
idle_cpu() {
	local i c0=() c1 line=""
	for i in $RUNNING; do c0[i]=$(cpu_ticks "${NODE_PID[i]}"); done
	sleep "$IDLE_SECS"
	for i in $RUNNING; do
		c1=$(awk -v t=$(($(cpu_ticks "${NODE_PID[i]}") - c0[i])) -v h="$CLK_TCK" -v s="$IDLE_SECS" \
			'BEGIN { printf "%.1f", t / h * 100 / s }')
		csv "$1" "$i" "$2" "$c1" "% of one core"
		IDLE_PCT[i]=$c1
		line+="node $i $c1% "
	done
	log "idle CPU over $IDLE_SECS s: $line"
}

# four services spread over 0..S-1
spread() { local s=$1; echo 0 $(((s - 1) / 3)) $((2 * (s - 1) / 3)) $((s - 1)); }

# scenario NAME S — S services in etcd, 3 agents (sync of each measured),
# sustained and isolated changes.
scenario() {
	local sc=$1 s=$2 i n
	put_registry "$s" || return 1
	csv "$sc" all services "$s" count
	csv "$sc" all replicas $((s * PER)) count
	csv "$sc" etcd setup_puts_per_s "$PUT_RATE" "puts/s"
	step "$sc: agent 1, initial sync of $s services x $PER replicas"
	start_agent_timed "$sc" 1 || return 1
	RUNNING=1
	n=$(node_status 1 | grep -c '^service ')
	check_eq "node 1: services in steer status" "$s" "$n"
	n=$(node_status 1 | grep -c '^ *replica ')
	check_eq "node 1: replicas in steer status" $((s * PER)) "$n"
	datapath_check "$s"
	idle_cpu "$sc" idle_alone_cpu_pct
	# One agent only: the time of an apply without the others' competing.
	changes "$sc" alone "$ISOLATED_RATE" "$ISOLATED" 0
	step "$sc: agents 2 and 3"
	for i in $(seq 2 "$NODE_N"); do start_agent_timed "$sc" "$i" || return 1; done
	RUNNING=$(seq -s ' ' "$NODE_N")
	idle_cpu "$sc" idle_cpu_pct
	# shellcheck disable=SC2046
	changes "$sc" sustained $((RATE / TOOLS)) "$CHANGES" $(spread "$s")
	changes "$sc" isolated "$ISOLATED_RATE" "$ISOLATED" 0
	stop_agents "$sc"
	ectl del --prefix /steer/ >/dev/null || fail "cannot clear /steer/ in etcd"
}

# datapath_check S — connects through node 1 to the last service's VIP
# reach its replicas (steer-echo in the fabric on their addresses): the
# maps hold service S-1 and its slots. Also the svc map's size.
datapath_check() {
	local s=$(($1 - 1)) j addr out ok pin
	ip -n "${NODE_NS[1]}" route replace 198.18.0.0/16 via "$ETCD_ADDR" 2>/dev/null
	for j in $(seq 0 $((PER - 1))); do
		addr=$(ip_plus "$(svc_base "$s")" "$j")
		fabric_addr "$addr" || { fail "cannot add $addr to br0"; return 1; }
		start_fabric_echo "e${s}x$j" "$addr" 8080 || return 1
	done
	out=$(in_node_cg 1 "$CLIENT" tcp "$(svc_vip "$s")" --count 50 2>&1)
	ok=$(ok_fail <(echo "$out"))
	check_eq "node 1: 50 connects to $(svc_name "$s")'s VIP $(svc_vip "$s")" "ok=50 fail=0" "$ok"
	pin=${NODE_PIN[1]}
	for m in "$pin"/steer_svc_v*; do
		[ -e "$m" ] || continue
		log "$(basename "$m"): max_entries $(bpftool map show pinned "$m" | sed -n 's/.*max_entries \([0-9]*\).*/\1/p')"
	done
}

# ---- the run ----
step "world: fabric, 3 nodes, 3 etcd members; agent $STEER"
setup_nodes || finish
unset STEER_HEALTH_INTERVAL_MS STEER_HEALTH_TIMEOUT_MS
while read -r v; do [ -n "$v" ] && export "${v?}"; done <<<"$HEALTH_ENV"
# What the agents inherit besides node_env's variables, for the report.
AGENT_ENV=$(env | grep -E '^STEER_' | grep -vE '^STEER_(BPFFS|CGROUP|CONTROL_SOCKET)=' | sort | tr '\n' ' ')
etcd_start_all || finish
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
scenario large "$SERVICES" || FAILED=1
scenario small "$SMALL" || FAILED=1
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report ----
mkdir -p "$DOCS"
{
	echo "scenario,node,metric,value,unit"
	printf '%s\n' "${CSV_ROWS[@]}"
} >"$DOCS/registry-scale.csv"

csv_get() { awk -F, -v s="$1" -v n="$2" -v m="$3" '$1 == s && $2 == n && $3 == m { print $4 }' "$DOCS/registry-scale.csv"; }
sync_row() {
	local sc=$1 i=$2
	[ -n "$(csv_get "$sc" "$i" sync_ready_ms)" ] || return 0
	echo "| $sc | $i | $(csv_get "$sc" "$i" sync_listing_ms) | $(csv_get "$sc" "$i" sync_listed_ms) | $(csv_get "$sc" "$i" sync_applied_ms) | $(csv_get "$sc" "$i" sync_ready_ms) | $(csv_get "$sc" "$i" sync_cpu_ms) | $(($(csv_get "$sc" "$i" sync_vmrss_kb) / 1024)) | $(($(csv_get "$sc" "$i" sync_vmhwm_kb) / 1024)) | $(csv_get "$sc" "$i" idle_cpu_pct) |"
}
# over_nodes SCENARIO METRIC max|min — across the nodes.
over_nodes() {
	awk -F, -v s="$1" -v m="$2" -v f="$3" '$1 == s && $2 ~ /^[0-9]+$/ && $3 == m {
		v = $4 + 0; if (!n++ || (f == "max" ? v > r : v < r)) r = v }
		END { if (n) print r; else print "?" }' "$DOCS/registry-scale.csv"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# conv_table KIND — the convergence table of both scenarios, from the CSV.
conv_table() {
	local kind=$1 sc i
	echo "| registry | node | p50 ms | p90 ms | p99 ms | max ms | lost | applies | agent CPU % | CPU ms / apply | VmRSS MiB |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for sc in large small; do
		for i in $(seq "$NODE_N"); do
			[ -n "$(csv_get "$sc" "$i" "${kind}_p50")" ] || continue
			echo "| $sc | $i | $(csv_get "$sc" "$i" "${kind}_p50") | $(csv_get "$sc" "$i" "${kind}_p90") | $(csv_get "$sc" "$i" "${kind}_p99") | $(csv_get "$sc" "$i" "${kind}_max") | $(csv_get "$sc" "$i" "${kind}_lost") | $(csv_get "$sc" "$i" "${kind}_applies") | $(csv_get "$sc" "$i" "${kind}_cpu_pct") | $(csv_get "$sc" "$i" "${kind}_cpu_per_apply_ms") | $(($(csv_get "$sc" "$i" "${kind}_vmrss_kb") / 1024)) |"
		done
	done
}

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
	cat <<EOF
# The etcd registry at scale

$([ "$QUICK" = 1 ] && echo "**A quick smoke run (BENCH_QUICK=1): $SERVICES services, ${SECS} s of changes. \`make scale\` gives the real numbers.**
")
Measured by \`bench/registry-scale.sh\` (\`make scale\`) on $START_DATE, in $ELAPSED s.
Machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r); etcd $(etcd --version | awk '/^etcd Version/ { print $3 }'); agent \`$(basename "$(dirname "$STEER")")/steer\` built from the tree at \`$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)\`.
Load average (1, 5, 15 min) at the start $LOAD_START, at the end $LOAD_END: anything else running on the machine shows in the numbers.
Environment of the agents besides their own pins, cgroup and socket: \`${AGENT_ENV:-none}\` (other settings at their defaults).
Raw numbers: [registry-scale.csv](registry-scale.csv).

## Summary

- **Initial sync**, $SERVICES services x $PER replicas, one agent: $(csv_get large 1 sync_applied_ms) ms from exec
  to the maps holding every service ($(($(csv_get large 1 sync_listed_ms) - $(csv_get large 1 sync_listing_ms))) ms of it the listing from etcd, $(($(csv_get large 1 sync_applied_ms) - $(csv_get large 1 sync_listed_ms))) ms
  building and writing the maps), $(csv_get large 1 sync_ready_ms) ms to ready, $(csv_get large 1 sync_cpu_ms) ms of CPU; VmRSS
  $(mib "$(csv_get large 1 sync_vmrss_kb)") MiB (peak $(mib "$(csv_get large 1 sync_vmhwm_kb)") MiB). With $SMALL services: $(csv_get small 1 sync_applied_ms) ms, $(mib "$(csv_get small 1 sync_vmrss_kb)") MiB.
- **$RATE changes/s for $SECS s, 3 agents**: convergence p50 $(over_nodes large sustained_p50 min)-$(over_nodes large sustained_p50 max) ms, p99
  $(over_nodes large sustained_p99 min)-$(over_nodes large sustained_p99 max) ms, max $(over_nodes large sustained_max max) ms across the nodes; $(over_nodes large sustained_lost max) changes lost on the worst node.
  With $SMALL services: p50 $(over_nodes small sustained_p50 max) ms, p99 $(over_nodes small sustained_p99 max) ms (worst node).
- **What the size costs**: one apply (rebuild of the whole config and a
  diff of every service against the maps, whatever changed) takes
  $(over_nodes large sustained_cpu_per_apply_ms min)-$(over_nodes large sustained_cpu_per_apply_ms max) ms of CPU at $SERVICES services, $(over_nodes small sustained_cpu_per_apply_ms min)-$(over_nodes small sustained_cpu_per_apply_ms max) ms at $SMALL; under load the agents
  applied $(over_nodes large sustained_applies min)-$(over_nodes large sustained_applies max) times for $((CHANGES * TOOLS)) changes (the rest were batched into the next
  apply), $(over_nodes large sustained_gap min)-$(over_nodes large sustained_gap max) ms apart (median).
- **One apply**: a change on its own, with one agent running, converges in
  $(csv_get large 1 alone_p50) ms (p50) at $SERVICES services and $(csv_get small 1 alone_p50) ms at $SMALL (etcd's commit and the
  watch included): an apply at $SERVICES services takes about $(($(csv_get large 1 alone_p50) - $(csv_get small 1 alone_p50))) ms longer.
  With the 3 agents applying at once: $(over_nodes large isolated_p50 min)-$(over_nodes large isolated_p50 max) ms and $(over_nodes small isolated_p50 min)-$(over_nodes small isolated_p50 max) ms.
- The machine runs the 3 etcd members, the 3 agents and the load tools on
  $(nproc) CPUs, so agents, etcd and tools compete for them.

## Setup

- **etcd**: 3 members on one machine (\`registry_lib.sh\`: loopback peers in a
  private network namespace, heartbeat 50 ms, election 500 ms, default
  snapshot and quota settings, no compaction).
- **Registry** (\`large\`): $SERVICES services \`svc-0000\`.. with $PER replicas each,
  $((SERVICES * PER)) replica keys, put by \`bench-registry-load --many-services
  $SERVICES --replicas-per-service $PER\` ($(csv_get large etcd setup_puts_per_s) puts/s, one connection). Every
  service has \`"health": "none"\`, so no health checks run: the numbers are
  the registry's and the maps' only.
- **Baseline** (\`small\`): the same with $SMALL services, run after it against
  the same etcd cluster (the large registry deleted first) and fresh agents.
- **Agents**: 3, each in its own network namespace, cgroup, pin directory
  and control socket, started without \`--config\`, JSON logs; the default
  build, whose limits hold 1000 x 10.
- **Initial sync**: from the exec of \`steer run\` (agent 1, alone; then agents 2
  and 3, with agent 1 running) to its log lines \`registry: listing\` (BPF
  objects loaded, maps pinned), \`registry: listed\`, the first \`config applied\`
  (the maps hold every service) and \`ready:\` (programs attached). CPU is the
  agent's utime + stime at ready, BPF load and verification included.
- **Sustained changes**: $TOOLS load tools at the same time, each on its own
  service ($(for x in $(spread "$SERVICES"); do printf '%s ' "$(svc_name "$x")"; done | sed 's/ $//') in the large run), $((RATE / TOOLS))
  changes/s each ($RATE/s in all) for $SECS s, $((CHANGES * TOOLS)) changes; each tool writes to another
  member. A change is a put of an absent replica or a delete of a present
  one (\`bench-registry-load\`, between $((PER / 2)) and $PER replicas).
- **Convergence** of a change on a node: from the load tool's clock just
  before its request to the node's first \`registry revision R applied\` log
  line with R >= the change's revision (the maps are written when it is
  logged). An upper bound: it includes etcd's commit. Timestamps: the tool's
  in ns, the agent's log in ms. **Lost**: never applied by the end (the
  run waits up to 60 s for every node to apply the last revision).
- **Isolated changes**: $ISOLATED changes at $ISOLATED_RATE/s on svc-0000, so that each is
  applied on its own (when an apply takes less than $(awk -v r="$ISOLATED_RATE" 'BEGIN { print 1000 / r }') ms): once
  with agent 1 alone (\`alone\`, before agents 2 and 3 start), once with
  all 3 (\`isolated\`).
- **Applies**: how many times the agent rebuilt and applied (changes that
  arrive during an apply are applied together). **CPU %**: agent utime +
  stime over the run (first change to the last node's last apply), in % of
  one core. **CPU ms / apply**: that CPU time less the agent's idle CPU
  over the same time (the maps' audit, measured just before), over the
  applies; it includes what follows the \`applied\` log line (health checker
  and hold sync).
- After each run every node's replica set of each changed service is
  compared with etcd's (\`steer status\` against \`etcdctl get\`).

## Commands

\`\`\`
make scale                 # runs bench/registry-scale.sh, then the node and health benches (root)
BENCH_QUICK=1 make scale   # 100 services, 5 s of changes
\`\`\`

## Initial sync

| registry | node | to listing ms | to listed ms | to config applied ms | to ready ms | CPU ms | VmRSS MiB | VmHWM MiB | idle CPU % |
|---|---|---|---|---|---|---|---|---|---|
EOF
	for sc in large small; do for i in $(seq "$NODE_N"); do sync_row "$sc" "$i"; done; done
	cat <<EOF

## Sustained changes, $RATE/s for $SECS s, 3 agents

$(conv_table sustained)

etcd (3 members together): $(csv_get large etcd sustained_cpu_pct)% of one core in the large run, $(csv_get small etcd sustained_cpu_pct)% in the small one.

## Isolated changes ($ISOLATED_RATE/s), agent 1 alone

$(conv_table alone)

## Isolated changes ($ISOLATED_RATE/s), 3 agents

$(conv_table isolated)
EOF
	[ -z "$AGENT_EXIT_WARN" ] || printf '\nNote: %s.\n' "$AGENT_EXIT_WARN"
	[ "$FAILED" = 0 ] || printf '\n**The run had failures (see its stderr); the numbers above may be incomplete.**\n'
} >"$DOCS/registry.md.tmp"
mv "$DOCS/registry.md.tmp" "$DOCS/registry.md"
step "report in $DOCS/registry.md, numbers in $DOCS/registry-scale.csv"
finish
