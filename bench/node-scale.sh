#!/bin/bash
# Node scale (issue 15, point 5): the service counts of a Kubernetes node.
# For each size S of NODE_SIZES (S IPv4 services of NODE_PER replicas, plus
# one IPv6 service), in every round, the sizes in a rotated order:
#
#   1. start: exec of `steer run --config` to its "config applied" and
#      "ready:" log lines; then the agent's VmRSS and VmHWM and the kernel
#      memory of its maps (bytes_memlock of every map its programs use);
#   2. the connect hook's cost: bench-connect-spread makes NODE_CONNECTS TCP
#      connects from the test cgroup, spread over all S IPv4 VIPs in random
#      order, then NODE_CONNECTS / 4 to one IPv4 VIP and as many to the IPv6
#      VIP; run_time_ns / run_cnt
#      of the attached sock4_connect and sock6_connect programs
#      (kernel.bpf_stats_enabled=1 for the run only) over each batch;
#   3. CRR (bench-load crr, concurrency 1 and 16, NODE_CRR_MS each) when S
#      is in NODE_CRR_SIZES: direct to the replica, through the VIP with
#      steer, with nftables DNAT (a map VIP . port : replica . port of all S
#      services, kube-proxy's nftables mode) and with iptables-nft DNAT (a
#      linear chain of S rules, kube-proxy's iptables mode), in a rotated
#      order; the DNAT tables exist only while they are measured;
#   4. SIGHUP reloads: NODE_RELOADS of the unchanged file, then NODE_RELOADS
#      alternating with a file where every replica has weight=2 (every
#      service changes), then with one where every replica moved (every
#      replica is new; refused when the replica limit cannot hold old and
#      new at once); from the kill(1) to the agent's "config applied" line;
#   5. single changes: NODE_CHANGES times `steer replica add` of one replica
#      to one service (a different one each time) then `steer replica
#      remove`: from the exec of the command to its "control command
#      applied" log line, and the command's own wall time.
# Every service has "health = none", so no check runs; with NODE_CHECKED=S
# (default 1000, 0: none) one more start of S services with "health = tcp"
# (every replica a real listener) gives the start, "first round of health
# checks complete" and the memory with checks.
#
# The world: tests/integration/lib.sh's netns, child cgroup and pin
# directory. Replicas are AnyIP addresses (local routes 198.18.0.0/16 and
# fd00:18::/64 on lo) served by one steer-echo per port and family; VIPs are
# 198.19.x.y:80 and [fd00:19::1]:80, routed to a veth of the netns whose peer
# takes nothing, so a connect that is not steered times out. The service CRR measures (the middle one) has a single
# replica, the one the direct and DNAT runs reach, so every path ends at the
# same server process. All of it, the agent, the nft tables and the sysctl's
# old value are restored on every exit.
#
# Progress on stderr; the report in $BENCH_DOCS/node-scale.md (default docs/)
# and the numbers in $BENCH_DOCS/node-scale.csv. Run as root, via `make
# scale` (which builds the agent with raised limits in build/node-scale).
# Parameters (environment):
#   NODE_STEER       the agent (default $BUILD/steer)
#   NODE_SIZES       service counts (default "1 1000 10000 65535": with the IPv6
#                    one, 65,536 services of 4 replicas, the default limits)
#   NODE_CRR_SIZES   sizes CRR runs at (default "1 10000"; each must be in NODE_SIZES)
#   NODE_PER         replicas per service (default 4)
#   NODE_ROUNDS      rounds (default 3)
#   NODE_CONNECTS    IPv4 connects per hook measurement (default 20000)
#   NODE_CRR_MS      ms per CRR measurement (default 3000)
#   NODE_RELOADS     SIGHUPs of each kind per round (default 3)
#   NODE_CHANGES     single changes per round (default 5)
#   NODE_CHECKED     services of the health = tcp start (default 1000, 0: none)
#   NODE_IPTABLES    1 (default): also iptables-nft DNAT; 0: nftables only
#   NODE_WAIT_S      seconds a start, reload, change or wait for idle may
#                    take before it counts as failed (default 600)
#   NODE_PERF=DIR    a perf profile of the agent's start and full reload at
#                    the largest size, in DIR (perf must be installed)
#   NODE_LOGS=DIR    keep the agents' logs there
# BENCH_QUICK=1: sizes "1 1000", CRR at "1 1000", one round, 2000 connects,
# 500 ms CRR runs, 2 reloads and 2 changes, 100 checked services (a smoke
# run of about a minute).
set -u
HEALTH_ENV=$(env | grep -E '^STEER_HEALTH_(INTERVAL|TIMEOUT)_MS=' || true)
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"

STEER=${NODE_STEER:-$BUILD/steer}
SPREAD=$BUILD/bench-connect-spread
LOAD=$BUILD/bench-load
DOCS=${BENCH_DOCS:-$ROOT/docs}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SIZES=${NODE_SIZES:-1 1000} CRR_SIZES=${NODE_CRR_SIZES:-1 1000} ROUNDS=${NODE_ROUNDS:-1}
	CONNECTS=${NODE_CONNECTS:-2000} CRR_MS=${NODE_CRR_MS:-500} RELOADS=${NODE_RELOADS:-2}
	CHANGES=${NODE_CHANGES:-2} CHECKED=${NODE_CHECKED:-100}
else
	SIZES=${NODE_SIZES:-1 1000 10000 65535} CRR_SIZES=${NODE_CRR_SIZES:-1 10000}
	ROUNDS=${NODE_ROUNDS:-3} CONNECTS=${NODE_CONNECTS:-20000} CRR_MS=${NODE_CRR_MS:-3000}
	RELOADS=${NODE_RELOADS:-3} CHANGES=${NODE_CHANGES:-5} CHECKED=${NODE_CHECKED:-1000}
fi
PER=${NODE_PER:-4}
WAIT_S=${NODE_WAIT_S:-600} # the most any start, reload, change or idle wait may take
IPT=${NODE_IPTABLES:-1}
PORT=8000     # replica r of a service listens on PORT + r
MOVED=9000    # the replicas' ports in the fully changed file
CONC="1 16"   # CRR concurrencies
V6_CONNECTS=$((CONNECTS / 4))
SPREAD_K=1000 # at larger sizes, the hook also over this many VIPs spread over all

log() { printf '    %s\n' "$*" >&2; }
fail() { printf '    FAIL: %s\n' "$*" >&2; FAILED=1; }
step() { printf 'node-scale: %s\n' "$*" >&2; }
check_eq() {
	if [ "$2" == "$3" ]; then log "ok: $1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}

[ "$(id -u)" -eq 0 ] || { echo "node-scale: run as root" >&2; exit 1; }
for t in bpftool jq nft gawk; do
	command -v "$t" >/dev/null || { echo "node-scale: $t is not installed (make deps)" >&2; exit 1; }
done
[ "$IPT" = 0 ] || command -v iptables-nft-restore >/dev/null ||
	{ echo "node-scale: iptables-nft-restore is not installed (make deps, or NODE_IPTABLES=0)" >&2; exit 1; }
for f in "$STEER" "$SPREAD" "$LOAD" "$ECHO"; do
	[ -x "$f" ] || { echo "node-scale: $f is not built (make scale)" >&2; exit 1; }
done
for s in $CRR_SIZES; do
	grep -qw -- "$s" <<<"$SIZES" || { echo "node-scale: NODE_CRR_SIZES: $s is not in NODE_SIZES ($SIZES)" >&2; exit 2; }
done
MAX_SIZE=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)
[ "$CHECKED" -gt "$MAX_SIZE" ] && CHECKED=$MAX_SIZE
CLK_TCK=$(getconf CLK_TCK)
CSV_ROWS=()
STATS_OLD=""
NFT_UP=""

# csv SIZE ROUND METRIC VALUE UNIT — one row of node-scale.csv.
csv() { CSV_ROWS+=("$1,$2,$3,$4,$5"); }

now_us() { echo "${EPOCHREALTIME/./}"; }
vm_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# The agent's JSON log lines carry "ts":"YYYY-MM-DDTHH:MM:SS.mmmZ".
# log_ms_nth FILE REGEX N — the ms timestamp (epoch) of FILE's Nth line
# matching REGEX.
log_ms_nth() {
	TZ=UTC gawk -v re="$2" -v want="$3" '$0 ~ re && ++n == want {
		match($0, /"ts":"[^"]*"/); ts = substr($0, RSTART + 6, RLENGTH - 7)
		split(ts, d, /[-T:.Z]/)
		printf "%d\n", mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6]) * 1000 + d[7]
		exit }' "$1"
}
count_lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }
# wait_count FILE REGEX N DEADLINE_S [PID] — until FILE has N lines matching
# REGEX; 1 after DEADLINE_S seconds, or as soon as PID is gone.
wait_count() {
	local deadline=$(($(date +%s) + $4))
	while [ "$(count_lines "$1" "$2")" -lt "$3" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		[ -z "${5:-}" ] || kill -0 "$5" 2>/dev/null || return 1
		sleep 0.005
	done
}

# wait_idle PID — until PID used no CPU for 200 ms (utime + stime unchanged
# over 10 samples 20 ms apart, for at most $WAIT_S s); IDLE_AT_US: the sample
# after its last CPU tick (10 ms ticks: the time is within about 30 ms).
# 1 if it never went idle.
wait_idle() {
	local deadline=$(($(date +%s) + WAIT_S)) f c last=-1 quiet=0
	IDLE_AT_US=""
	while [ "$(date +%s)" -lt "$deadline" ]; do
		read -r -a f <"/proc/$1/stat" || return 1
		c=$((f[13] + f[14]))
		if [ "$c" = "$last" ]; then
			quiet=$((quiet + 1))
			[ "$quiet" -ge 10 ] && return 0
		else
			last=$c quiet=0 IDLE_AT_US=$(now_us)
		fi
		sleep 0.02
	done
	return 1
}

# The sizes' addresses: IPv4 service s (0 <= s < 65536) has the VIP
# 198.19.H.L:80 and its replicas at 198.18.H.L:PORT+r (H.L = s / 256, s % 256).
hl() { echo "$(($1 >> 8)).$(($1 & 255))"; }
crr_svc() { echo $(($1 / 2)); } # the service CRR measures at size S

# gen_config S PORTBASE HEALTH [WEIGHT] — the config file of size S on
# stdout; WEIGHT: every replica's weight= (default: none written).
gen_config() {
	gawk -v n="$1" -v per="$PER" -v base="$2" -v health="$3" -v crr="$(crr_svc "$1")" \
		-v w="${4:+ weight=$4}" 'BEGIN {
		for (s = 0; s < n; s++) {
			hl = sprintf("%d.%d", int(s / 256), s % 256)
			printf "[service s%05d]\nvip = 198.19.%s:80\nhealth = %s\n", s, hl, health
			for (r = 0; r < (s == crr ? 1 : per); r++)
				printf "replica = 198.18.%s:%d%s\n", hl, base + r, w
		}
		printf "[service v6]\nvip = [fd00:19::1]:80\nhealth = %s\n", health
		for (r = 0; r < per; r++)
			printf "replica = [fd00:18::1]:%d%s\n", base + r, w
	}'
}
vip_list() { gawk -v n="$1" 'BEGIN { for (s = 0; s < n; s++) printf "198.19.%d.%d:80\n", int(s / 256), s % 256 }'; }

# The agents' environment: their default limits (65,536 services, 262,144
# replicas) hold the largest size, 65,535 + 1 services of 4.
AGENT_ENV=(STEER_LOG_FORMAT=json)

# start_timed SIZE ROUND CONFIG TAG — the agent on CONFIG in the test netns,
# log in $ALOG; exec to "config applied" and "ready:" in ms, then memory.
start_timed() {
	local s=$1 r=$2 t0 ta tr
	ALOG=$TMP/agent-$4-$s-$r.log
	: >"$ALOG"
	t0=$(now_us)
	env "${AGENT_ENV[@]}" nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$3" 2>>"$ALOG" &
	AGENT_PID=$!
	if ! wait_count "$ALOG" '"msg":"ready:' 1 "$WAIT_S" "$AGENT_PID"; then
		fail "size $s: agent not ready (exited, or $WAIT_S s passed): $(tail -3 "$ALOG")"
		AGENT_PID=""
		return 1
	fi
	ta=$(($(log_ms_nth "$ALOG" 'config applied' 1) - t0 / 1000))
	tr=$(($(log_ms_nth "$ALOG" '"msg":"ready:' 1) - t0 / 1000))
	csv "$s" "$r" "${4}_start_applied_ms" "$ta" ms
	csv "$s" "$r" "${4}_start_ready_ms" "$tr" ms
	csv "$s" "$r" "${4}_start_cpu_ms" $(($(cpu_ticks "$AGENT_PID") * 1000 / CLK_TCK)) ms
	csv "$s" "$r" "${4}_vmrss_kb" "$(vm_kb "$AGENT_PID" VmRSS)" kB
	csv "$s" "$r" "${4}_vmhwm_kb" "$(vm_kb "$AGENT_PID" VmHWM)" kB
	csv "$s" "$r" "${4}_fds" "$(find "/proc/$AGENT_PID/fd" -mindepth 1 | wc -l)" count
	csv "$s" "$r" "${4}_map_memlock_kb" $(($(map_memlock) / 1024)) kB
	log "size $s ($4): applied ${ta} ms, ready ${tr} ms, VmRSS $(vm_kb "$AGENT_PID" VmRSS) kB, VmHWM $(vm_kb "$AGENT_PID" VmHWM) kB, maps $(($(map_memlock) / 1024)) kB"
}

stop_agent_clean() {
	local rc
	[ -n "$AGENT_PID" ] || return 0
	stop_agent
	rc=$?
	[ "$rc" = 0 ] || log "WARN: agent exited $rc on SIGTERM (expected 0)"
	[ -n "${NODE_LOGS:-}" ] && mkdir -p "$NODE_LOGS" && cp "$ALOG" "$NODE_LOGS/"
	"$STEER" down >/dev/null 2>&1 || fail "steer down"
	rm -rf "$PIN"
}

# prog_id LINK — the program id of the link pinned as $PIN/link_LINK.
prog_id() { bpftool link show pinned "$PIN/link_$1" --json | jq -r .prog_id; }
# map_memlock — bytes_memlock summed over the maps pinned in $PIN and those
# of the programs of its links (each map once).
map_memlock() {
	local ids l
	ids=$({
		for l in "$PIN"/link_*; do
			bpftool prog show id "$(bpftool link show pinned "$l" --json | jq -r .prog_id)" --json |
				jq -r '.map_ids[]?'
		done
		for l in "$PIN"/steer_*; do bpftool map show pinned "$l" --json | jq -r .id; done
	} | sort -un | paste -sd, -)
	bpftool map show --json | jq --argjson ids "[$ids]" \
		'[.[] | select(.id as $i | $ids | index($i)) | .bytes_memlock] | add // 0'
}
# prog_stats ID — "run_time_ns run_cnt" of a program.
prog_stats() { bpftool prog show id "$1" --json | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"'; }

# spread_list S K — K of the S IPv4 VIPs, evenly spread over them.
spread_list() {
	gawk -v n="$1" -v k="$2" 'BEGIN { if (k > n) k = n
		for (i = 0; i < k; i++) { v = int(i * n / k); printf "198.19.%d.%d:80\n", int(v / 256), v % 256 } }'
}

# hook SIZE ROUND — the connect hooks' ns per run over a spread of connects:
# all S IPv4 VIPs (hook4), $SPREAD_K of them at larger sizes (hookk), 10 and
# 100 of them at the largest size (hookw10, hookw100: the working set's
# effect in one table), one IPv4 VIP (hook1), the IPv6 VIP (hook6).
hook() {
	local s=$1 r=$2 p4 p6 a0 a1 c0 c1 out ns cnt set prog n what
	p4=$(prog_id sock4_connect) p6=$(prog_id sock6_connect)
	vip_list "$s" >"$TMP/vips4"
	spread_list "$s" "$SPREAD_K" >"$TMP/vipsk"
	spread_list "$s" 10 >"$TMP/vipsw10"
	spread_list "$s" 100 >"$TMP/vipsw100"
	echo '198.19.0.0:80' >"$TMP/vips1"
	echo '[fd00:19::1]:80' >"$TMP/vips6"
	for set in 4 k w10 w100 1 6; do
		prog=$p4 n=$V6_CONNECTS what=sock4_connect
		case $set in
		4) n=$CONNECTS ;;
		k) [ "$s" -gt "$SPREAD_K" ] || continue; n=$CONNECTS ;;
		w*) [ "$s" = "$MAX_SIZE" ] && [ "$s" -gt 100 ] || continue ;;
		6) prog=$p6 what=sock6_connect ;;
		esac
		read -r a0 c0 <<<"$(prog_stats "$prog")"
		out=$(in_cg "$SPREAD" "$TMP/vips$set" "$n" --seed "$r" 2>&1)
		read -r a1 c1 <<<"$(prog_stats "$prog")"
		check_eq "size $s: $n connects to $(wc -l <"$TMP/vips$set") VIP(s) ($(head -1 "$TMP/vips$set")..)" "ok $n fail 0" "$(awk '$1 == "ok" { print $1, $2, $3, $4 }' <<<"$out")"
		cnt=$((c1 - c0))
		# Only the bench's connects run in the test cgroup.
		check_eq "size $s: $what runs" "$n" "$cnt"
		[ "$cnt" -gt 0 ] || continue
		ns=$(awk -v t=$((a1 - a0)) -v c="$cnt" 'BEGIN { printf "%.1f", t / c }')
		csv "$s" "$r" "hook${set}_ns_per_run" "$ns" ns
		csv "$s" "$r" "hook${set}_connect_ns" "$(awk '$1 == "ok" { print $8 }' <<<"$out")" ns
		log "size $s: $what ($(wc -l <"$TMP/vips$set") VIPs) $ns ns/run over $cnt runs; connect() $(awk '$1 == "ok" { print $8 }' <<<"$out") ns as the client sees it"
	done
}

# The kube-proxy-like DNAT tables of size S, loaded only while measured.
nft_rules() {
	gawk -v n="$1" -v port="$PORT" -v crr="$(crr_svc "$1")" 'BEGIN {
		print "table ip steer_bench {"
		print "\tmap svc {\n\t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service"
		printf "\t\telements = {"
		for (s = 0; s < n; s++) {
			hl = sprintf("%d.%d", int(s / 256), s % 256)
			printf "%s\n\t\t\t198.19.%s . 80 : 198.18.%s . %d", s ? "," : "", hl, hl, port
		}
		print "\n\t\t}\n\t}"
		print "\tchain out {\n\t\ttype nat hook output priority -100; policy accept;"
		print "\t\tdnat to ip daddr . tcp dport map @svc\n\t}\n}"
	}'
}
ipt_rules() {
	gawk -v n="$1" -v port="$PORT" 'BEGIN {
		print "*nat\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A OUTPUT -j KUBE-SERVICES"
		for (s = 0; s < n; s++) {
			hl = sprintf("%d.%d", int(s / 256), s % 256)
			printf "-A KUBE-SERVICES -d 198.19.%s/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.18.%s:%d\n", hl, hl, port
		}
		print "COMMIT"
	}'
}
dnat_on() {
	case $1 in
	nft) nft_rules "$2" >"$TMP/nft.rules" && in_ns nft -f "$TMP/nft.rules" ;;
	ipt) ipt_rules "$2" >"$TMP/ipt.rules" && in_ns iptables-nft-restore -w 5 <"$TMP/ipt.rules" ;;
	esac || return 1
	NFT_UP=$1
}
# Deleting the tables unregisters their hooks (and conntrack's with them).
dnat_off() {
	case $1 in
	nft) in_ns nft delete table ip steer_bench ;;
	ipt) in_ns nft delete table ip nat ;;
	esac
	NFT_UP=""
}

# crr SIZE ROUND — direct, steer, nft (and ipt) at each concurrency, in an
# order rotated by ROUND.
crr() {
	local s=$1 r=$2 svc targets t c out i addr rate
	svc=$(crr_svc "$s")
	targets=(direct steer nft)
	[ "$IPT" = 1 ] && targets+=(ipt)
	for c in $CONC; do
		for i in "${!targets[@]}"; do
			t=${targets[$(((i + r) % ${#targets[@]}))]}
			addr=198.19.$(hl "$svc"):80
			case $t in
			direct) addr=198.18.$(hl "$svc"):$PORT ;;
			nft | ipt) dnat_on "$t" "$s" || { fail "size $s: cannot load the $t table"; continue; } ;;
			esac
			if [ "$t" = steer ]; then
				out=$(in_cg "$LOAD" crr "$addr" --concurrency "$c" --duration-ms "$CRR_MS" --warmup-ms 200 2>&1)
			else
				out=$(in_ns "$LOAD" crr "$addr" --concurrency "$c" --duration-ms "$CRR_MS" --warmup-ms 200 2>&1)
			fi
			case $t in nft | ipt) dnat_off "$t" ;; esac
			rate=$(grep -o 'conns_per_s=[0-9.]*' <<<"$out" | cut -d= -f2)
			if [ -z "$rate" ] || ! grep -q ' errors=0 ' <<<"$out" || grep -q ' ok=0 ' <<<"$out"; then
				fail "size $s: CRR $t c=$c: $(tr '\n' ' ' <<<"$out")"
				continue
			fi
			csv "$s" "$r" "crr_${t}_c${c}" "$rate" conns/s
			csv "$s" "$r" "crr_${t}_c${c}_p50" "$(grep -o 'p50_us=[0-9.]*' <<<"$out" | cut -d= -f2)" us
			log "size $s: CRR $t c=$c: $rate conns/s"
		done
	done
}

# reload SIZE ROUND KIND FILE — SIGHUP after FILE became the config; from
# the signal to the "config applied" line, and the line's counts checked.
reload() {
	local s=$1 r=$2 kind=$3 n t0 t1 line want
	cp "$4" "$TMP/run.ini.new" && mv "$TMP/run.ini.new" "$TMP/run.ini"
	n=$(count_lines "$ALOG" 'config applied')
	t0=$(now_us)
	kill -HUP "$AGENT_PID"
	if ! wait_count "$ALOG" 'config applied\|reload refused' $((n + 1 + $(count_lines "$ALOG" 'reload refused'))) "$WAIT_S" "$AGENT_PID"; then
		fail "size $s: no apply within $WAIT_S s of SIGHUP ($kind): $(tail -2 "$ALOG")"
		return 1
	fi
	if [ "$(count_lines "$ALOG" 'config applied')" -le "$n" ]; then
		# Refused: with every replica moved, the new replicas need ids
		# while the old ones still hold theirs.
		log "size $s: reload $kind refused: $(grep 'reload refused' "$ALOG" | tail -1 | sed 's/.*"msg":"//; s/"}$//')"
		csv "$s" "$r" "reload_${kind}_refused" 1 count
		return 2
	fi
	t1=$(log_ms_nth "$ALOG" 'config applied' $((n + 1)))
	line=$(grep 'config applied' "$ALOG" | sed -n "$((n + 1))p")
	want="changed=$((s + 1)) removed=0 unchanged=0"
	[ "$kind" = weights ] && want="$want, replicas added=0 retired=0"
	[ "$kind" = unchanged ] && want="changed=0 removed=0 unchanged=$((s + 1))"
	grep -q "added=0 $want" <<<"$line" || fail "size $s: reload $kind: expected 'added=0 $want' in: $line"
	csv "$s" "$r" "reload_${kind}_ms" $((t1 - t0 / 1000)) ms
	# What follows the apply (checker, hold listeners, routes) until the
	# agent is idle, so that the next SIGHUP finds it waiting.
	if wait_idle "$AGENT_PID"; then
		csv "$s" "$r" "reload_${kind}_idle_ms" $(((IDLE_AT_US - t0) / 1000)) ms
	else
		log "size $s: reload $kind: the agent did not go idle within $WAIT_S s"
	fi
	# The agent's own span: its "SIGHUP: reloading" line to the apply.
	csv "$s" "$r" "reload_${kind}_agent_ms" $((t1 - $(log_ms_nth "$ALOG" 'SIGHUP: reloading' $(($(count_lines "$ALOG" 'SIGHUP: reloading')))))) ms
}

# change SIZE ROUND I — `steer replica add` of a new replica to service
# number I of the spread, then `remove`: exec to the apply line, and wall.
change() {
	local s=$1 r=$2 svc verb n t0 t1 w out addr
	svc=$(((${3} * 7919 + r * 104729) % s))
	addr=198.18.$(hl "$svc"):$((PORT + PER + 1))
	wait_idle "$AGENT_PID"
	for verb in add remove; do
		n=$(count_lines "$ALOG" 'control command applied')
		t0=$(now_us)
		out=$("$STEER" replica "$verb" "$(printf 's%05d' "$svc")" "$addr" 2>&1)
		w=$(($(now_us) - t0))
		if ! wait_count "$ALOG" 'control command applied' $((n + 1)) "$WAIT_S" "$AGENT_PID"; then
			fail "size $s: replica $verb: no apply ($out)"
			return 1
		fi
		t1=$(log_ms_nth "$ALOG" 'control command applied' $((n + 1)))
		grep -q 'changed=1 removed=0' <<<"$(grep 'control command applied' "$ALOG" | sed -n "$((n + 1))p")" ||
			fail "size $s: replica $verb did not change exactly one service"
		csv "$s" "$r" "change_${verb}_ms" $((t1 - t0 / 1000)) ms
		csv "$s" "$r" "change_${verb}_wall_us" "$w" us
	done
}

# slot SIZE ROUND — everything at one size, with a fresh agent.
slot() {
	local s=$1 r=$2 i f
	step "round $r: $s services (+1 IPv6) x $PER replicas"
	gen_config "$s" "$PORT" none >"$TMP/a-$s.ini"
	gen_config "$s" "$MOVED" none >"$TMP/b-$s.ini"
	gen_config "$s" "$PORT" none 2 >"$TMP/w-$s.ini"
	cp "$TMP/a-$s.ini" "$TMP/run.ini"
	start_timed "$s" "$r" "$TMP/run.ini" none || return 1
	hook "$s" "$r"
	if grep -qw -- "$s" <<<"$CRR_SIZES"; then crr "$s" "$r"; fi
	for i in $(seq "$RELOADS"); do reload "$s" "$r" unchanged "$TMP/a-$s.ini"; done
	for i in $(seq "$RELOADS"); do
		if [ $((i % 2)) = 1 ]; then reload "$s" "$r" weights "$TMP/w-$s.ini"; else reload "$s" "$r" weights "$TMP/a-$s.ini"; fi
	done
	cp "$TMP/a-$s.ini" "$TMP/run.ini"
	for i in $(seq "$RELOADS"); do
		if [ $((i % 2)) = 1 ]; then f=$TMP/b-$s.ini; else f=$TMP/a-$s.ini; fi
		reload "$s" "$r" moved "$f"
		[ $? = 2 ] && break
	done
	for i in $(seq "$CHANGES"); do change "$s" "$r" "$i"; done
	csv "$s" "$r" end_vmrss_kb "$(vm_kb "$AGENT_PID" VmRSS)" kB
	csv "$s" "$r" end_vmhwm_kb "$(vm_kb "$AGENT_PID" VmHWM)" kB
	stop_agent_clean
}

# perf_slot SIZE — the agent's start, one reload of every weight and 3
# replica add/remove pairs under perf record (after the measured rounds, so
# the profile costs them nothing); a flat profile in $NODE_PERF/steer-S.txt.
perf_slot() {
	local s=$1 i
	gen_config "$s" "$PORT" none >"$TMP/run.ini"
	gen_config "$s" "$PORT" none 2 >"$TMP/b-$s.ini"
	command -v perf >/dev/null || { fail "NODE_PERF: perf is not installed"; return 1; }
	mkdir -p "$NODE_PERF"
	ALOG=$TMP/agent-perf-$s.log
	: >"$ALOG"
	env "${AGENT_ENV[@]}" perf record -g -o "$NODE_PERF/steer-$s.data" -- \
		nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$TMP/run.ini" 2>>"$ALOG" &
	AGENT_PID=$!
	wait_count "$ALOG" '"msg":"ready:' 1 "$WAIT_S" || { fail "perf: agent not ready"; return 1; }
	local apid
	apid=$(pgrep -P "$AGENT_PID" -x steer || echo "$AGENT_PID")
	cp "$TMP/b-$s.ini" "$TMP/run.ini"
	kill -HUP "$apid"
	wait_count "$ALOG" 'config applied' 2 60 || fail "perf: no reload"
	for i in 1 2 3; do
		"$STEER" replica add s00001 "198.18.0.1:$((PORT + PER + 1))" >/dev/null || fail "perf: replica add"
		"$STEER" replica remove s00001 "198.18.0.1:$((PORT + PER + 1))" >/dev/null || fail "perf: replica remove"
	done
	kill -TERM "$apid"
	wait "$AGENT_PID"
	AGENT_PID=""
	"$STEER" down >/dev/null 2>&1
	rm -rf "$PIN"
	perf report -i "$NODE_PERF/steer-$s.data" --no-children --stdio -g none --percent-limit 0.5 \
		--sort dso,symbol 2>/dev/null >"$NODE_PERF/steer-$s.txt"
	log "perf profile in $NODE_PERF/steer-$s.txt"
}

# checked SIZE — one start with health = tcp on every replica.
checked() {
	local s=$1 t0 tf
	step "$s services with health = tcp (every replica checked at the default interval)"
	gen_config "$s" "$PORT" tcp >"$TMP/run.ini"
	t0=$(now_us)
	start_timed "$s" 1 "$TMP/run.ini" tcp || return 1
	wait_count "$ALOG" 'first round of health checks complete' 1 60 ||
		{ fail "size $s: no first round of checks"; stop_agent_clean; return 1; }
	tf=$(($(log_ms_nth "$ALOG" 'first round of health checks complete' 1) - t0 / 1000))
	csv "$s" 1 tcp_first_round_ms "$tf" ms
	local c0 c1
	c0=$(cpu_ticks "$AGENT_PID")
	sleep 5
	c1=$(cpu_ticks "$AGENT_PID")
	csv "$s" 1 tcp_idle_cpu_pct "$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN { printf "%.1f", t / h * 100 / 5 }')" "% of one core"
	local down
	down=$("$STEER" status 2>/dev/null | grep -c 'state=down' || true)
	check_eq "size $s: replicas down with tcp checks" 0 "$down"
	stop_agent_clean
}

teardown_extra() {
	[ -n "$NFT_UP" ] && dnat_off "$NFT_UP" 2>/dev/null
	[ -n "$STATS_OLD" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"
}

# ---- the run ----
step "world: netns $NS, agent $STEER"
setup_world
unset STEER_HEALTH_INTERVAL_MS STEER_HEALTH_TIMEOUT_MS
while read -r v; do [ -n "$v" ] && export "${v?}"; done <<<"$HEALTH_ENV"
in_ns ip route add local 198.18.0.0/16 dev lo
in_ns ip -6 route add local fd00:18::/64 dev lo
# The VIPs route to a veth whose peer is in the same netns and holds no
# address (what goes out there is dropped), as a node's default route would
# take them: the DNAT tables see the packets (the nat output hook comes after
# the route lookup), and a connect steer left alone times out.
in_ns ip link add vips0 type veth peer name vips1
in_ns ip link set vips0 up
in_ns ip link set vips1 up
# A source address for them (without one, a DNATed connect has none).
in_ns ip addr add 198.18.255.254/32 dev vips0
in_ns ip route add 198.19.0.0/16 dev vips0
in_ns ip -6 route add fd00:19::/64 dev vips0
# CRR reuses the client's ports faster than TIME_WAIT ends.
in_ns sysctl -q -w net.ipv4.tcp_tw_reuse=1
for r in $(seq 0 $((PER - 1))); do
	start_echo "r4p$r" "0.0.0.0:$((PORT + r))" || finish
	start_echo "r6p$r" "[::]:$((PORT + r))" || finish
done
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q -w kernel.bpf_stats_enabled=1
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -ra SZ <<<"$SIZES"
for r in $(seq "$ROUNDS"); do
	for i in "${!SZ[@]}"; do
		slot "${SZ[$(((i + r - 1) % ${#SZ[@]}))]}" "$r" || { stop_agent_clean; FAILED=1; }
	done
done
[ "$CHECKED" -gt 0 ] && { checked "$CHECKED" || FAILED=1; }
[ -n "${NODE_PERF:-}" ] && { perf_slot "$MAX_SIZE" || FAILED=1; }
sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD" && STATS_OLD=""
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report ----
mkdir -p "$DOCS"
{
	echo "size,round,metric,value,unit"
	printf '%s\n' "${CSV_ROWS[@]}"
} >"$DOCS/node-scale.csv"

# med SIZE METRIC — the median over the rounds ("?" without a sample).
med() {
	gawk -F, -v s="$1" -v m="$2" '$1 == s && $3 == m { v[n++] = $4 + 0 }
		END { if (!n) { print "?"; exit }
			asort(v); x = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			print (x == int(x) ? x : sprintf("%.1f", x)) }' "$DOCS/node-scale.csv"
}
# range SIZE METRIC — "min-max" over the rounds.
range() {
	gawk -F, -v s="$1" -v m="$2" '$1 == s && $3 == m { v = $4 + 0; if (!n++ || v < lo) lo = v; if (n == 1 || v > hi) hi = v }
		END { print n ? lo "-" hi : "?" }' "$DOCS/node-scale.csv"
}
# ratio_med SIZE METRIC BASE_SIZE BASE_METRIC — the median over the rounds
# of METRIC / BASE_METRIC of the same round.
ratio_med() {
	gawk -F, -v s="$1" -v m="$2" -v bs="$3" -v bm="$4" '
		$1 == s && $3 == m { a[$2] = $4 } $1 == bs && $3 == bm { b[$2] = $4 }
		END { for (r in a) if (r in b && b[r] > 0) v[n++] = a[r] / b[r]
			if (!n) { print "?"; exit }
			asort(v); x = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%.2f\n", x }' "$DOCS/node-scale.csv"
}
ms_of_us() { if [ "$1" = "?" ]; then echo "?"; else awk -v u="$1" 'BEGIN { printf "%.0f", u / 1000 }'; fi; }
moved() {
	if [ "$(med "$1" reload_moved_refused)" != "?" ]; then echo "refused"; else med "$1" reload_moved_ms; fi
}
mib() { if [ "$1" = "?" ]; then echo "?"; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi; }
SMALLEST=$(tr ' ' '\n' <<<"$SIZES" | sort -n | head -1)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
TARGETS="direct steer nft"
[ "$IPT" = 1 ] && TARGETS+=" ipt"
{
	cat <<EOF
# Node scale: thousands of services on one node

$([ "$QUICK" = 1 ] && echo "**A quick smoke run (BENCH_QUICK=1): sizes $SIZES, $ROUNDS round(s), short runs. \`make scale\` gives the real numbers.**
")
Measured by \`bench/node-scale.sh\` (\`make scale\`) on $START_DATE, in $ELAPSED s.
Machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(nft --version | head -1).
Agent \`${STEER#"$ROOT"/}\` built from the tree at \`$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)\`.
Load average (1, 5, 15 min) at the start $LOAD_START, at the end $LOAD_END: the machine is shared, and whatever else ran shows in the numbers.
Every figure is the median of $ROUNDS round(s); the sizes are interleaved (each round visits them in a rotated order, with a fresh agent per size), and the spread over the rounds is given where it matters.
Raw numbers: [node-scale.csv](node-scale.csv).

## Summary

EOF
	for s in $SIZES; do
		echo "- **$s services**: connect hook $(med "$s" hook4_ns_per_run) ns/run (IPv4; $(ratio_med "$s" hook4_ns_per_run "$SMALLEST" hook4_ns_per_run)x the $SMALLEST-service case), start $(med "$s" none_start_ready_ms) ms to ready, a SIGHUP that changes every service $(med "$s" reload_weights_ms) ms, one replica added $(med "$s" change_add_ms) ms, agent VmRSS $(mib "$(med "$s" none_vmrss_kb)") MiB, maps $(mib "$(med "$s" none_map_memlock_kb)") MiB."
	done
	for s in $CRR_SIZES; do
		echo "- **CRR at $s services, concurrency 16**, in x direct: steer $(ratio_med "$s" crr_steer_c16 "$s" crr_direct_c16), nftables DNAT $(ratio_med "$s" crr_nft_c16 "$s" crr_direct_c16)$([ "$IPT" = 1 ] && echo ", iptables DNAT $(ratio_med "$s" crr_ipt_c16 "$s" crr_direct_c16)")."
	done
	cat <<EOF

## Setup

- **World** (\`tests/integration/lib.sh\`): one network namespace, a child
  cgroup v2 the clients run in, a private pin directory. Replicas are
  AnyIP addresses: local routes for 198.18.0.0/16 and fd00:18::/64 on
  \`lo\`, served by one \`steer-echo\` per port ($PORT..$((PORT + PER - 1))) and family.
- **Config** (generated): S IPv4 services \`s00000\`.., VIP 198.19.H.L:80,
  $PER replicas 198.18.H.L:$PORT.. each (H.L: the service's number / 256 and
  % 256), plus one IPv6 service (VIP [fd00:19::1]:80, $PER replicas), so S + 1
  in the maps; \`health = none\` everywhere (no checks run). The service CRR
  measures (number S / 2) has one replica only, the one the direct and DNAT
  runs reach, so every path ends at the same server process.
- **Connect hook**: \`bench-connect-spread\` in the cgroup makes $CONNECTS TCP
  connects (non-blocking connect, then a close with SO_LINGER 0) over all
  S IPv4 VIPs in a random order; at sizes above $SPREAD_K, as many over $SPREAD_K VIPs
  spread evenly over the S (the same working set as at $SPREAD_K services, in
  a larger table), and at the largest size over 10 and 100 VIPs; then
  $V6_CONNECTS to one IPv4 VIP (service 0's)
  and $V6_CONNECTS to the IPv6 VIP. Around each
  batch, \`bpftool prog show id N --json\` of the program behind
  \`\$PIN/link_sock4_connect\` (\`link_sock6_connect\`): (run_time_ns after -
  before) / (run_cnt after - before), with \`kernel.bpf_stats_enabled=1\` for
  the run only (the old value is restored on exit). The run checks that every
  connect succeeded (an unsteered connect to a VIP times out: the VIPs route
  to a veth whose peer in the netns takes nothing) and that
  run_cnt grew by exactly the number of connects. "connect()" is the
  syscall's time as the client sees it (socket() + connect(), hook included).
- **CRR**: \`bench-load crr\` (socket, connect, one line each way, close),
  $CRR_MS ms after 200 ms of warm-up, at concurrency 1 and 16: **direct** to the
  replica (outside the cgroup), **steer** (in the cgroup, to the VIP),
  **nft**: kube-proxy's nftables mode reduced to its lookup, a table in the
  test netns with a \`map { VIP . port : replica . port }\` of all S services
  and \`dnat to ip daddr . tcp dport map @svc\` in a nat output chain$([ "$IPT" = 1 ] && echo ";
  **ipt**: kube-proxy's iptables mode reduced to its lookup, a linear chain of
  S \`-d VIP -p tcp --dport 80 -j DNAT\` rules (iptables-nft), the measured
  VIP in the middle (S / 2 rules before it)"). A DNAT table exists only while
  it is measured; the targets' order rotates per round. Ratios are taken
  against direct in the same round, then the median over the rounds.
- **Start**: exec of \`steer run --config\` to its \`config applied\` and
  \`ready:\` log lines (JSON log, ms timestamps); CPU is utime + stime at
  ready, BPF load and verification included.
- **Memory**: VmRSS and VmHWM of the agent after start (and VmHWM at the end
  of the slot, after the reloads); kernel memory: \`bytes_memlock\` summed over
  the maps pinned in the pin dir and those the programs use (each once).
- **Reload**: $RELOADS SIGHUPs with the file unchanged, then $RELOADS alternating
  between a file where every replica has \`weight=2\` and the original
  (every service changes, no replica is added), then $RELOADS alternating
  between a file where every replica moved to another port and the
  original (every replica is new): from kill(1) to the agent's \`config
  applied\` line (its counts checked: changed=0 or changed=S+1), ms
  resolution (the log's); "idle": from kill(1) until the agent stops using
  CPU (no tick of utime + stime for 200 ms, sampled every 20 ms: within
  about 30 ms), which includes what follows the apply (health checker, hold
  listeners, VIP routes); the next SIGHUP waits for it. "refused": the agent refused the reload, because the new
  replicas need ids while the old ones still hold theirs (make before
  break), and the limit cannot hold both.
- **Single change**: $CHANGES times per round, \`steer replica add SERVICE ADDR\`
  (services spread over the range), then \`steer replica remove\`: from the
  command's exec to the \`control command applied\` line (checked:
  changed=1), and the command's wall time (it returns once the agent has
  done everything that follows the apply too); the agent idle before each.

## Commands

\`\`\`
make scale                        # bench/registry-scale.sh, then this one (root)
BENCH_QUICK=1 bench/node-scale.sh # a smoke run, about a minute (after make scale built the tools)
bench/node-scale.sh   # 1, 1000, 10000 and 65535 + 1 services, the default build
\`\`\`

## Connect hook: ns per run

| services | sock4_connect ns/run, spread over all VIPs | x $SMALLEST | rounds (min-max) | over $SPREAD_K of the VIPs | sock4_connect, one VIP | x $SMALLEST | sock6_connect, one VIP | x $SMALLEST | connect() ns (client, spread) |
|---|---|---|---|---|---|---|---|---|---|
EOF
	for s in $SIZES; do
		echo "| $s | $(med "$s" hook4_ns_per_run) | $(ratio_med "$s" hook4_ns_per_run "$SMALLEST" hook4_ns_per_run) | $(range "$s" hook4_ns_per_run) | $(med "$s" hookk_ns_per_run) | $(med "$s" hook1_ns_per_run) | $(ratio_med "$s" hook1_ns_per_run "$SMALLEST" hook1_ns_per_run) | $(med "$s" hook6_ns_per_run) | $(ratio_med "$s" hook6_ns_per_run "$SMALLEST" hook6_ns_per_run) | $(med "$s" hook4_connect_ns) |"
	done
	cat <<EOF

Goal: within ±10% of the $SMALLEST-service case. The ratio is taken per round
(the sizes of a round are measured a few seconds to minutes apart), then the
median; bpf_stats adds two clock reads per run to every figure alike.

The working set against the table: at $MAX_SIZE services, the hook over K of
the VIPs, evenly spread over the table (each pass connects once to each of
the K, in a random order):

| VIPs touched | 1 | 10 | 100 | $SPREAD_K | $MAX_SIZE |
|---|---|---|---|---|---|
| sock4_connect ns/run | $(med "$MAX_SIZE" hook1_ns_per_run) | $(med "$MAX_SIZE" hookw10_ns_per_run) | $(med "$MAX_SIZE" hookw100_ns_per_run) | $(med "$MAX_SIZE" hookk_ns_per_run) | $(med "$MAX_SIZE" hook4_ns_per_run) |

## CRR through the VIP: connections per second

EOF
	for c in $CONC; do
		printf '### Concurrency %s\n\n| services |' "$c"
		for t in $TARGETS; do printf ' %s conns/s |' "$t"; done
		for t in $TARGETS; do [ "$t" = direct ] || printf ' %s x direct |' "$t"; done
		printf '\n|---|'
		for t in $TARGETS; do
			printf -- '---|'
			[ "$t" = direct ] || printf -- '---|'
		done
		echo
		for s in $CRR_SIZES; do
			printf '| %s |' "$s"
			for t in $TARGETS; do printf ' %s |' "$(med "$s" "crr_${t}_c$c")"; done
			for t in $TARGETS; do [ "$t" = direct ] || printf ' %s |' "$(ratio_med "$s" "crr_${t}_c$c" "$s" "crr_direct_c$c")"; done
			echo
		done
		echo
	done
	cat <<EOF
## Start, reload and single change (ms)

| services | start: applied | ready | start CPU | SIGHUP unchanged | idle | SIGHUP, every weight changed (rounds) | idle | SIGHUP, every replica moved | replica add (rounds) | replica remove | add: command wall |
|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
	for s in $SIZES; do
		echo "| $s | $(med "$s" none_start_applied_ms) | $(med "$s" none_start_ready_ms) | $(med "$s" none_start_cpu_ms) | $(med "$s" reload_unchanged_ms) | $(med "$s" reload_unchanged_idle_ms) | $(med "$s" reload_weights_ms) ($(range "$s" reload_weights_ms)) | $(med "$s" reload_weights_idle_ms) | $(moved "$s") | $(med "$s" change_add_ms) ($(range "$s" change_add_ms)) | $(med "$s" change_remove_ms) | $(ms_of_us "$(med "$s" change_add_wall_us)") |"
	done
	cat <<EOF

## Memory

| services | VmRSS MiB | VmHWM MiB | VmHWM after the reloads MiB | maps (bytes_memlock) MiB | agent fds |
|---|---|---|---|---|---|
EOF
	for s in $SIZES; do
		echo "| $s | $(mib "$(med "$s" none_vmrss_kb)") | $(mib "$(med "$s" none_vmhwm_kb)") | $(mib "$(med "$s" end_vmhwm_kb)") | $(mib "$(med "$s" none_map_memlock_kb)") | $(med "$s" none_fds) |"
	done
	if [ "$CHECKED" -gt 0 ]; then
		cat <<EOF

## With tcp checks

$CHECKED services (+1 IPv6), $((CHECKED * PER - PER + 1 + PER)) replicas, \`health = tcp\` at the default interval, one start:
ready in $(med "$CHECKED" tcp_start_ready_ms) ms, first round of checks complete $(med "$CHECKED" tcp_first_round_ms) ms after exec,
VmRSS $(mib "$(med "$CHECKED" tcp_vmrss_kb)") MiB, maps $(mib "$(med "$CHECKED" tcp_map_memlock_kb)") MiB, agent CPU $(med "$CHECKED" tcp_idle_cpu_pct)% of one core over 5 s of checking.
EOF
	fi
	if [ -n "${NODE_PERF:-}" ] && [ -s "$NODE_PERF/steer-$MAX_SIZE.txt" ]; then
		cat <<EOF

## Where the agent's time goes at $MAX_SIZE services

\`NODE_PERF=DIR\`: \`perf record -g\` of one more agent, from exec through its
start, one SIGHUP of every weight and 3 \`replica add\`/\`remove\` pairs, after
the measured rounds (cpu-clock samples; the symbols over 1%):

\`\`\`
$(grep -E '^ +[0-9.]+%' "$NODE_PERF/steer-$MAX_SIZE.txt" | awk '$1 + 0 >= 1' | sed 's/ *- *- *$//')
\`\`\`
EOF
	fi
	[ "$FAILED" = 0 ] || printf '\n**The run had failures (see its stderr); the numbers above may be incomplete.**\n'
} >"$DOCS/node-scale.md.tmp"
mv "$DOCS/node-scale.md.tmp" "$DOCS/node-scale.md"
step "report in $DOCS/node-scale.md, numbers in $DOCS/node-scale.csv"
finish
