#!/bin/bash
# The miss path: connections that find no routable replica are held by the
# agent, tried at once, and relayed once a replica comes up. Three
# measurements, one agent:
#   (a) time to first attempt over 1000 held connections: a service with
#       no replica at all, CRR clients at concurrency 50; every connection
#       is held, tried at once, and reset after retry_timeout_ms = 100;
#   (b) hold-to-serve: one client connects while the service's replica is
#       down; the replica comes back 300 ms after the connect, either as a
#       restarted process found by a 100 ms health check ("restart") or
#       through `steer replica add` ("add"); client-side connect-to-reply
#       time, and the agent's own hold time;
#   (c) request latency on a connection that went through the hold (the
#       agent relays it with splice) against the same requests direct to
#       the replica and through HAProxy: bench-load rr, concurrency 1,
#       interleaved rounds.
#
# "Arrival", for every agent-side number here, is the agent's accept() of
# the held connection (its timestamp is taken right after accept4 returns).
# The time the connection waited in the hold listener's accept queue before
# that is not in it; the client-side numbers of (b) include it.
#
# Prints a markdown section on stdout; progress on stderr. Writes the raw
# numbers to docs/benchmarks-miss.csv (BENCH_DOCS overrides docs/).
#
# Own netns, child cgroups and pin directory, all removed on exit, also on
# INT/TERM; no sysctl is changed.
#
# BENCH_QUICK=1: 100 clients at once in (a), 3 repeats in (b), one shorter
# round in (c).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
LOAD=$B/bench-load
NOW=$B/bench-failover-now
CLIENT=$B/bench-miss-client
DOCS=${BENCH_DOCS:-$ROOT/docs}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPEATS=3 ROUNDS=1 RR_WARM_MS=700 RR_MS=500 TTFA_CONC=100
else
	REPEATS=5 ROUNDS=3 RR_WARM_MS=1000 RR_MS=3000 TTFA_CONC=50
fi
HELD=1000 # connections whose first attempt (a) reports; TTFA_CONC of them at once
TTFA_HOLD_MS=100
BACK_AFTER_MS=300
VIP_TTFA=127.78.1.1:80 VIP_BACK=127.78.1.2:80 VIP_ADD=127.78.1.3:80 VIP_RR=127.78.1.4:80
R_BACK=127.0.0.1:22011 R_ADD=127.0.0.1:22012 R_RR=127.0.0.1:22021
HA_RR=127.0.0.1:22121

ID=$$
NS=steer-miss-$ID
PIN=/sys/fs/bpf/steer-miss-$ID
TMP=$(mktemp -d /tmp/steer-miss.XXXX)
CG="" CG_VIP="" CG_PLAIN=""
PIDS=()

log() { echo "miss: $*" >&2; }

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
		sleep 0.1
		rmdir "$CG_VIP" "$CG_PLAIN" "$CG" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	log "error: $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root"
command -v haproxy >/dev/null || die "haproxy is missing (sh scripts/deps.sh bench)"
command -v jq >/dev/null || die "jq is missing"
make -s -C "$ROOT" build/bench-load build/bench-failover-now build/bench-miss-client >&2 ||
	die "cannot build the bench tools"
for t in steer steer-echo; do [ -x "$B/$t" ] || die "$B/$t is missing (make)"; done

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then
	CGROOT=/run/steer/cgroup2
	mkdir -p $CGROOT && mount -t cgroup2 cgroup2 $CGROOT || die "no cgroup v2"
fi
# steer attaches to vip/, where only the clients run; replicas and HAProxy
# run in plain/, which no hook sees.
CG=$CGROOT/steer-miss-$ID
CG_VIP=$CG/vip CG_PLAIN=$CG/plain
mkdir "$CG" "$CG_VIP" "$CG_PLAIN" || die "cannot create cgroups under $CG"
ip netns add "$NS" || die "ip netns add $NS"
ip -n "$NS" link set lo up

# bg_in_cg CGROUP OUT CMD...: CMD in the bench netns, inside CGROUP, in the
# background, stdout and stderr to OUT. sh and nsenter exec it, so $! is
# CMD's own pid (a function run with & would be a subshell's). Sets SPAWNED,
# recorded for cleanup.
bg_in_cg() {
	local cg=$1 out=$2
	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$cg" "/run/netns/$NS" -- "$@" >"$out" 2>&1 &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}
# reap PID: wait for a process we started and forget it, so cleanup never
# signals a pid that may have been reused. Returns its exit status.
reap() {
	local p keep=() rc
	wait "$1" 2>/dev/null
	rc=$?
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	return $rc
}
spawn() {
	local name=$1
	shift
	bg_in_cg "$CG_PLAIN" "$TMP/$name.out" "$@"
}
wait_for_line() {
	local tries=${3:-100}
	while [ "$tries" -gt 0 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
		tries=$((tries - 1))
	done
	return 1
}
# start_replica NAME ADDR: steer-echo; its pid goes to REPLICA_PID.
start_replica() {
	spawn "$1" "$B/steer-echo" --name "$1" --listen "$2" --tcp-only
	REPLICA_PID=$SPAWNED
	wait_for_line "$TMP/$1.out" '^listening' 500 || die "replica $1: $(cat "$TMP/$1.out")"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- the agent --------------------------------------------------------------------
cat >"$TMP/steer.ini" <<INI
; (a) no replica at all: every connect is held, then reset after 100 ms
[service ttfa]
vip = $VIP_TTFA
health = none
retry_timeout_ms = $TTFA_HOLD_MS

; (b) restart: the replica is down; it comes back as a process, found by a check
[service back]
vip = $VIP_BACK
health = tcp
health_interval_ms = 100
health_timeout_ms = 100
health_rise = 1
replica = $R_BACK

; (b) add: no replica until \`steer replica add\`
[service add]
vip = $VIP_ADD
health = none

; (c) a connection held, then relayed for the whole run
[service relay]
vip = $VIP_RR
health = none
INI
export STEER_BPFFS=$PIN STEER_CGROUP=$CG_VIP STEER_CONTROL_SOCKET=$TMP/steer.sock
export STEER_LOG_LEVEL=debug
spawn agent "$B/steer" run --config "$TMP/steer.ini"
AGENT_LOG=$TMP/agent.out
wait_for_line "$AGENT_LOG" 'ready:' 500 || die "agent did not start: $(cat "$AGENT_LOG")"

# hold SERVICE FIELD: a number from the service's "hold" status.
hold() {
	"$B/steer" status --json 2>/dev/null | jq -r --arg s "$1" ".services[] | select(.name == \$s) | .hold.$2"
}
# state SERVICE ADDR: the replica's state, or "absent".
state() {
	local s
	s=$("$B/steer" status --json 2>/dev/null |
		jq -r --arg s "$1" --arg a "$2" '.services[] | select(.name == $s) | .replicas[] | select(.address == $a) | .state')
	echo "${s:-absent}"
}
wait_state() {
	for _ in $(seq 300); do
		[ "$(state "$1" "$2")" = "$3" ] && return 0
		sleep 0.02
	done
	die "service $1 replica $2 not $3 (it is $(state "$1" "$2"))"
}

# --- (a) time to first attempt ----------------------------------------------------
# Enough time for at least HELD connections to arrive, each held 100 ms.
ttfa_ms=$(((HELD / TTFA_CONC + 2) * (TTFA_HOLD_MS + 10)))
log "(a) $TTFA_CONC clients on $VIP_TTFA (no replica) for $ttfa_ms ms, each held ${TTFA_HOLD_MS} ms"
bg_in_cg "$CG_VIP" "$TMP/ttfa.txt" "$LOAD" crr $VIP_TTFA --concurrency $TTFA_CONC --duration-ms $ttfa_ms
reap "$SPAWNED" # exits 1: not one request was served, by design
grep -q '^mode=' "$TMP/ttfa.txt" || die "(a) bench-load: $(cat "$TMP/ttfa.txt")"
log "(a) bench-load: $(tr '\n' ' ' <"$TMP/ttfa.txt")"
# The connections still held when the load stopped time out too.
for _ in $(seq 50); do [ "$(hold ttfa held_now)" = 0 ] && break; sleep 0.02; done
grep 'service ttfa: held connection timed out after' "$AGENT_LOG" |
	sed 's/.*attempts at +us: \([0-9]*\).*/\1/' >"$TMP/ttfa-all.txt"
held_total=$(hold ttfa held_total)
n_logged=$(wc -l <"$TMP/ttfa-all.txt")
[ "$n_logged" -ge 1 ] || die "(a) no held connection timeline in the agent log"
head -n $HELD "$TMP/ttfa-all.txt" >"$TMP/ttfa.us"
n_ttfa=$(wc -l <"$TMP/ttfa.us")
[ "$n_ttfa" -lt $HELD ] && log "(a) only $n_ttfa held connections (wanted $HELD)"
# pct FILE Q: nearest-rank quantile of a column of numbers (Q in 0..1].
pct() { sort -n "$1" | awk -v q="$2" '{x[NR] = $1} END {r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; print x[r]}'; }
t_p50=$(pct "$TMP/ttfa.us" 0.5) t_p90=$(pct "$TMP/ttfa.us" 0.9) t_p99=$(pct "$TMP/ttfa.us" 0.99) t_max=$(pct "$TMP/ttfa.us" 1)
t_mean=$(awk '{s += $1} END {printf "%.1f", s / NR}' "$TMP/ttfa.us")
s_p50=$(hold ttfa first_attempt_us.p50) s_p90=$(hold ttfa first_attempt_us.p90) s_p99=$(hold ttfa first_attempt_us.p99)
log "(a) first attempt over $n_ttfa held connections (of $held_total held, $n_logged logged): p50 ${t_p50} us p90 ${t_p90} us p99 ${t_p99} us max ${t_max} us; status buckets p50 ${s_p50} p90 ${s_p90} p99 ${s_p99}"

# --- (b) hold-to-serve --------------------------------------------------------------
# serve_once KIND N: one held client, its replica back 300 ms after its
# connect. Appends "kind n replica_at_us client_us agent_us accept_us" to
# $TMP/serve.txt; accept_us, from the client's connect() call to the agent's
# accept(), is "-" if the agent's timeline has no "at mono" time.
served_lines() { grep -c "service $1: held connection served after" "$AGENT_LOG"; }
serve_once() {
	local kind=$1 n=$2 svc vip before t0 at_ns client_pid out=$TMP/client-$1-$2.out reply agent
	local line mono accept=-
	case $kind in
	restart) svc=back vip=$VIP_BACK ;;
	add) svc=add vip=$VIP_ADD ;;
	esac
	before=$(served_lines $svc)
	bg_in_cg "$CG_VIP" "$out" "$CLIENT" "$vip" --timeout-ms 5000
	client_pid=$SPAWNED
	wait_for_line "$out" '^connected' 500 || die "(b) $kind $n: client did not connect: $(cat "$out")"
	t0=$(sed -n 's/^connected t0_ns=\([0-9]*\).*/\1/p' "$out")
	at_ns=$("$NOW" --until $((t0 + BACK_AFTER_MS * 1000000)))
	case $kind in
	restart) start_replica rb $R_BACK ;;
	add)
		"$B/steer" replica add add $R_ADD >/dev/null || die "(b) steer replica add failed"
		log "(b) add $n: \`steer replica add\` returned at +$((($("$NOW") - t0) / 1000)) us"
		;;
	esac
	reap "$client_pid" || die "(b) $kind $n: client: $(cat "$out")"
	reply=$(sed -n 's/^reply .* reply_us=\([0-9]*\)$/\1/p' "$out")
	[ "$(served_lines $svc)" -eq $((before + 1)) ] ||
		die "(b) $kind $n: the connection was not served from the hold (replica up too early?)"
	line=$(grep "service $svc: held connection served after" "$AGENT_LOG" | tail -1)
	agent=$(echo "$line" | sed 's/.*served after \([0-9]*\) us.*/\1/')
	# The line's "at mono" is when it was logged, "served after" after arrival:
	# their difference is the arrival (accept) on the client's clock.
	mono=$(echo "$line" | sed -n 's/.*; at mono \([0-9]*\) ns.*/\1/p')
	[ -n "$mono" ] && accept=$(((mono - agent * 1000 - t0) / 1000))
	echo "$kind $n $(((at_ns - t0) / 1000)) $reply $agent $accept" >>"$TMP/serve.txt"
	log "(b) $kind $n: replica back at +$(((at_ns - t0) / 1000)) us; client connect-to-reply $reply us; agent held it $agent us; connect() to accept() $accept us; attempts at +us: $(echo "$line" | sed 's/.*attempts at +us: //')"
	# Take the replica away again for the next repeat.
	case $kind in
	restart)
		kill "$REPLICA_PID" && reap "$REPLICA_PID"
		wait_state back $R_BACK down
		;;
	add)
		"$B/steer" replica remove add $R_ADD >/dev/null || die "(b) steer replica remove failed"
		wait_state add $R_ADD absent
		;;
	esac
}
start_replica ra $R_ADD
wait_state back $R_BACK down
: >"$TMP/serve.txt"
for n in $(seq $REPEATS); do
	serve_once restart "$n"
	serve_once add "$n"
done

# --- (c) latency on a held-then-relayed connection ------------------------------------
start_replica rr $R_RR
{
	printf 'global\n\tnbthread 1\n\tmaxconn 4000\n\n'
	printf 'defaults\n\tmode tcp\n\ttimeout connect 1s\n\ttimeout client 30s\n\ttimeout server 30s\n\n'
	printf 'listen rr\n\tbind %s\n\tserver rr %s\n' $HA_RR $R_RR
} >"$TMP/haproxy.cfg"
spawn haproxy haproxy -db -f "$TMP/haproxy.cfg"
ok=""
for _ in $(seq 100); do
	# Bounded by time, not by a count of replies a dead target never gives.
	bg_in_cg "$CG_PLAIN" "$TMP/hacheck.txt" "$LOAD" rr $HA_RR --duration-ms 100
	reap "$SPAWNED"
	grep -q ' ok=[1-9][0-9]* errors=0 ' "$TMP/hacheck.txt" && ok=1 && break
	sleep 0.05
done
[ -n "$ok" ] || die "haproxy does not answer on $HA_RR: $(cat "$TMP/haproxy.out")"

# rr_run TARGET ROUND: one bench-load rr run; appends "target round line" to rr.txt.
rr_run() {
	local t=$1 r=$2 addr cg=$CG_PLAIN served0 line
	case $t in
	held) addr=$VIP_RR cg=$CG_VIP ;;
	direct) addr=$R_RR ;;
	haproxy) addr=$HA_RR ;;
	esac
	[ "$t" = held ] && served0=$(hold relay served)
	bg_in_cg "$cg" "$TMP/rr.out" "$LOAD" rr "$addr" --concurrency 1 --warmup-ms $RR_WARM_MS --duration-ms $RR_MS
	if [ "$t" = held ]; then
		sleep "$(awk -v m=$BACK_AFTER_MS 'BEGIN {print m / 1000}')"
		[ "$(hold relay held_now)" = 1 ] || die "(c) round $r: the rr connection is not held ($(hold relay held_now) held)"
		"$B/steer" replica add relay $R_RR >/dev/null || die "(c) steer replica add failed"
	fi
	reap "$SPAWNED"
	line=$(grep '^mode=' "$TMP/rr.out") || die "(c) $t round $r: bench-load: $(cat "$TMP/rr.out")"
	if [ "$t" = held ]; then
		"$B/steer" replica remove relay $R_RR >/dev/null || die "(c) steer replica remove failed"
		[ "$(hold relay served)" = $((served0 + 1)) ] ||
			die "(c) round $r: expected one connection served from the hold, got $(($(hold relay served) - served0))"
		held_us=$(grep 'service relay: held connection served after' "$AGENT_LOG" | tail -1 |
			sed 's/.*served after \([0-9]*\) us.*/\1/')
		log "(c) round $r: the rr connection was held $held_us us"
		[ "$held_us" -lt $(((RR_WARM_MS - 50) * 1000)) ] ||
			log "(c) round $r: warning: the hold ended within 50 ms of the warmup's end; its first request may be in the window"
	fi
	[ "$(field "$line" errors)" = 0 ] || log "(c) $t round $r: errors: $(grep -v '^mode=' "$TMP/rr.out")"
	echo "$t $r $line" >>"$TMP/rr.txt"
	log "(c) round $r $t: $line"
}
: >"$TMP/rr.txt"
for r in $(seq $ROUNDS); do
	for t in held direct haproxy; do rr_run $t "$r"; done
done

# --- raw numbers ---------------------------------------------------------------------------
mkdir -p "$DOCS"
{
	echo "part,target,run,metric,value"
	awk '{printf "ttfa,steer,%d,first_attempt_us,%s\n", NR, $1}' "$TMP/ttfa.us"
	echo "ttfa,steer-status,0,p50_us,$s_p50"
	echo "ttfa,steer-status,0,p90_us,$s_p90"
	echo "ttfa,steer-status,0,p99_us,$s_p99"
	awk '{
		printf "hold_to_serve,%s,%d,replica_back_at_us,%s\n", $1, $2, $3
		printf "hold_to_serve,%s,%d,client_connect_to_reply_us,%s\n", $1, $2, $4
		printf "hold_to_serve,%s,%d,agent_held_us,%s\n", $1, $2, $5
		if ($6 != "-") printf "hold_to_serve,%s,%d,client_connect_to_agent_accept_us,%s\n", $1, $2, $6
	}' "$TMP/serve.txt"
	while read -r t r line; do
		for k in reqs_per_s p50_us p90_us p99_us max_us errors; do
			echo "held_rr,$t,$r,$k,$(field "$line" $k)"
		done
	done <"$TMP/rr.txt"
} >"$DOCS/benchmarks-miss.csv"

# --- report -------------------------------------------------------------------------------
# med_serve KIND COLUMN: median over the repeats (3 replica_at, 4 client, 5 agent), in ms.
med_serve() {
	awk -v k="$1" -v c="$2" '$1 == k {x[++n] = $c}
	END {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { s = x[j]; x[j] = x[j - 1]; x[j - 1] = s }
		printf "%.1f", (n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2) / 1000
	}' "$TMP/serve.txt"
}
# accept_serve KIND: median and list of connect()-to-accept() in µs, or n/a.
accept_serve() {
	awk -v k="$1" '$1 == k && $6 != "-" {x[++n] = $6; l = l s $6; s = ", "}
	END {
		if (!n) { printf "n/a"; exit }
		for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
		printf "%d (%s)", (n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2), l
	}' "$TMP/serve.txt"
}
list_serve() { awk -v k="$1" -v c="$2" '$1 == k {printf "%s%.1f", s, $c / 1000; s = ", "}' "$TMP/serve.txt"; }
# med_rr TARGET KEY: median over rounds of a bench-load field.
med_rr() {
	while read -r t _ line; do [ "$t" = "$1" ] && field "$line" "$2"; done <"$TMP/rr.txt" |
		sort -g | awk '{x[++n] = $1} END {printf "%.1f", n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
rr_rows() {
	local t
	for t in held direct haproxy; do
		local p50 p99 rps
		p50=$(med_rr $t p50_us) p99=$(med_rr $t p99_us) rps=$(med_rr $t reqs_per_s)
		echo "| $t | $(printf '%.0f' "$rps") | $p50 | $(ratio "$p50" "$(med_rr direct p50_us)")× | $p99 | $(ratio "$p99" "$(med_rr direct p99_us)")× |"
	done
}
verdict() { awk -v x="$1" -v g="$2" 'BEGIN {if (x + 0 <= g + 0) print "met"; else printf "missed by %d µs\n", x - g}'; }
describe_target() {
	case $1 in
	held) echo "held, then relayed by the agent" ;;
	direct) echo "direct to the replica" ;;
	haproxy) echo "through HAProxy" ;;
	esac
}

cat <<MD
## The miss path: held connections

One agent, one netns; the clients run in the cgroup steer is attached to
(\`STEER_LOG_LEVEL=debug\`, so every held connection's timeline is logged).
Agent-side times count from **arrival: the agent's \`accept()\` of the held
connection** (the timestamp is taken as \`accept4()\` returns). The time a
connection waits in the hold listener's accept queue before that is not
included; the client-side times in (b) include everything.

### Time to first attempt

$n_ttfa held connections (\`bench-load crr $VIP_TTFA --concurrency $TTFA_CONC\`; the
service has no replica and \`retry_timeout_ms = $TTFA_HOLD_MS\`, so each connection is held, tried
at once, retried, and reset after $TTFA_HOLD_MS ms; then the client connects again).
The offsets are the first number of each "attempts at +us:" timeline in the agent's log,
in whole µs, truncated: 0 µs means under 1 µs. The first attempt starts in the same
callback as the \`accept()\`, before anything else is done for the connection.

| | p50 | p90 | p99 | max | mean |
|---|---:|---:|---:|---:|---:|
| first attempt after arrival, from the log | $t_p50 µs | $t_p90 µs | $t_p99 µs | $t_max µs | $t_mean µs |
| \`steer status\` \`first_attempt_us\` (bucket upper bounds, $held_total held) | $s_p50 µs | $s_p90 µs | $s_p99 µs | | |

### Hold-to-serve: the replica comes back 300 ms after the connect

A client (\`bench-miss-client\`) connects to a VIP whose only replica is not
routable, sends one line and waits for the reply. $BACK_AFTER_MS ms after its \`connect()\`
(timed with CLOCK_MONOTONIC), the replica comes back:
- **restart**: the replica process starts again; a passing check
  (\`health = tcp\`, \`health_interval_ms = 100\`, \`health_rise = 1\`: the
  next periodic one, or one made at once when the datapath reports the
  replica's new listener) marks it up, and that kicks the held connection;
- **add**: the replica is running, and \`steer replica add\` gives it to a
  \`health = none\` service; adding it kicks the held connection.

$REPEATS repeats each (median, then every repeat):

| replica back by | came back at, ms | client: connect to reply, ms | agent: held for, ms | client's connect() to agent's accept(), µs |
|---|---|---|---|---|
| restart | $(med_serve restart 3) ($(list_serve restart 3)) | **$(med_serve restart 4)** ($(list_serve restart 4)) | $(med_serve restart 5) ($(list_serve restart 5)) | $(accept_serve restart) |
| add | $(med_serve add 3) ($(list_serve add 3)) | **$(med_serve add 4)** ($(list_serve add 4)) | $(med_serve add 5) ($(list_serve add 5)) | $(accept_serve add) |

The time past 300 ms is, for restart, the replica's start-up and the check
that finds it; for add, the \`steer\` command's start-up, the control socket
and the kick.
The last column is what the agent's clock does not see: from the client's
\`connect()\` call to the agent's \`accept()\` (the handshake with the hold
listener and the wait in its accept queue), from the "at mono" time of the
agent's timeline minus its "served after" on the client's CLOCK_MONOTONIC.

### Requests on a connection that went through the hold

\`bench-load rr ADDR --concurrency 1 --warmup-ms $RR_WARM_MS --duration-ms $RR_MS\`: one
connection, request/reply in a loop. **held**: against a VIP with no replica;
the connection is held, \`steer replica add\` after $BACK_AFTER_MS ms serves it,
and from then on the agent relays it (splice); the warmup skips the hold.
**direct**: straight to the same replica. **haproxy**: HAProxy, \`mode tcp\`,
one thread. Interleaved (held, direct, haproxy) over $ROUNDS round(s); medians.

| path | requests/s | p50 µs | × direct | p99 µs | × direct |
|---|---:|---:|---:|---:|---:|
$(rr_rows)

### Goals (issue 5)

| goal | measured | |
|---|---|---|
| first attempt of a held connection: p50 ≤ 100 µs after arrival | $t_p50 µs | $(verdict "$t_p50" 100) |
| first attempt of a held connection: p99 ≤ 1 ms after arrival | $t_p99 µs | $(verdict "$t_p99" 1000) |

Raw numbers: \`docs/benchmarks-miss.csv\`. Command: \`bench/miss.sh\` (part of
\`make bench\`; \`BENCH_QUICK=1\` runs 3 repeats and one short round).
MD
