#!/bin/bash
# UDP failover: 3 dnsmasq replicas behind a UDP VIP on port 53 (checked
# with the default `health = dns .` at the default STEER_HEALTH_* values:
# every 500 ms, fall 2), DNS queries every 100 us from the steered cgroup,
# and one dnsmasq killed with SIGKILL, K times per setup. Measured: from
# the kill to the send of the last query that went to the dead replica
# (every other replica answers, so a query that fails went to it), by
# bench-udp-kill, in CLOCK_MONOTONIC. Setups:
#   checks alone     STEER_PASSIVE_EJECT_FAILURES=0: only the dns check
#                    takes the replica out;
#   ICMP ejection    STEER_PASSIVE_EJECT_FAILURES=3 (the default) and 1:
#                    the datapath counts the ICMP port unreachable of
#                    connected sockets;
# each with two clients: a fresh connected socket per query (dig, most
# resolver libraries) and one long-lived connected socket that only the
# sweep's abort moves (a resolver that keeps its socket). keepalived's DNS_CHECK is given from its documented
# defaults (its checkers drive IPVS, which this kernel does not have).
#
# Prints a markdown section on stdout; progress on stderr. Writes the raw
# per-kill numbers to docs/benchmarks-udp.csv (BENCH_DOCS overrides docs/).
# Own netns, cgroups and pin directories, removed on exit, also on INT/TERM.
# BENCH_QUICK=1: 2 kills per setup; BENCH_KILLS overrides.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
DOCS=${BENCH_DOCS:-$ROOT/docs}
if [ "${BENCH_QUICK:-0}" = 1 ]; then KILLS=${BENCH_KILLS:-2}; else KILLS=${BENCH_KILLS:-7}; fi
VIP=127.78.0.53:53
ID=$$
NS=steer-udpfail-$ID
PIN=/sys/fs/bpf/steer-udpfail-$ID
TMP=$(mktemp -d /tmp/steer-udpfail.XXXX)
CG="" CG_VIP="" CG_PLAIN=""
PIDS=()
AGENT=""

log() { echo "udp_failover: $*" >&2; }

cleanup() {
	local p d
	set +e
	for p in "${PIDS[@]}" $AGENT; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}" $AGENT; do wait "$p" 2>/dev/null; done
	for d in "$PIN"-*; do
		[ -d "$d" ] && { STEER_BPFFS=$d "$B/steer" down >/dev/null 2>&1 || rm -rf "$d"; }
	done
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
command -v dnsmasq >/dev/null || die "dnsmasq is missing (sh scripts/deps.sh)"
make -s -C "$ROOT" build/bench-udp-kill >&2 || die "cannot build bench-udp-kill"
for t in steer steer-client bench-udp-kill; do [ -x "$B/$t" ] || die "$B/$t is missing (make)"; done

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then
	CGROOT=/run/steer/cgroup2
	mkdir -p $CGROOT && mount -t cgroup2 cgroup2 $CGROOT || die "no cgroup v2"
fi
# steer attaches to vip/, where only the client runs; dnsmasq and the agent
# run in plain/, which no hook sees.
CG=$CGROOT/steer-udpfail-$ID
CG_VIP=$CG/vip CG_PLAIN=$CG/plain
mkdir "$CG" "$CG_VIP" "$CG_PLAIN" || die "cannot create cgroups under $CG"
ip netns add "$NS" || die "ip netns add $NS"
ip -n "$NS" link set lo up

# bg_in_cg CGROUP OUT CMD...: CMD in the bench netns inside CGROUP, in the
# background; SPAWNED is CMD's own pid.
bg_in_cg() {
	local cg=$1 out=$2
	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$cg" "/run/netns/$NS" -- "$@" >"$out" 2>&1 &
	SPAWNED=$!
}

# start_dns N: dnsmasq replica N on 127.0.0.1:530N, answering whoami.test
# with 10.0.0.N; DNS_PID[N]. In socket mode replica 1 is killed; in
# resolver mode the one the client's socket is on.
declare -A DNS_PID
start_dns() {
	bg_in_cg "$CG_PLAIN" "$TMP/dns$1.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 --port=530"$1" \
		--local=/#/ --address=/whoami.test/10.0.0."$1" --pid-file= --user=root
	DNS_PID[$1]=$SPAWNED
	PIDS+=("$SPAWNED")
}
# replica_state ADDR:PORT: from the agent's pins.
replica_state() {
	STEER_BPFFS=$STEER_BPFFS "$B/steer" status --json 2>/dev/null |
		grep -o "\"address\":\"$1\",\"id\":[0-9]*,\"state\":\"[a-z]*\"" | grep -o '"state":"[a-z]*"' | cut -d'"' -f4
}
wait_up() {
	local tries=200
	while [ "$tries" -gt 0 ]; do
		[ "$(replica_state "$1")" = up ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	die "replica $1 did not come up"
}

cat >"$TMP/steer.ini" <<INI
[service dns]
vip = $VIP
protocol = udp
replica = 127.0.0.1:5301
replica = 127.0.0.1:5302
replica = 127.0.0.1:5303
INI
for n in 1 2 3; do start_dns "$n"; done

mkdir -p "$DOCS"
CSV=$DOCS/benchmarks-udp.csv
echo "setup,client,kill,kill_to_last_query_us,failed_after_kill,queries,timed_out" >"$CSV"
ROWS=""

# run_setup NAME FAILURES RUN_MS: an agent with STEER_PASSIVE_EJECT_FAILURES
# = FAILURES on its own pins; KILLS kills per client.
run_setup() {
	local name=$1 failures=$2 run_ms=$3 client k out us
	export STEER_BPFFS=$PIN-$failures STEER_CGROUP=$CG_VIP STEER_CONTROL_SOCKET=$TMP/steer-$failures.sock
	STEER_PASSIVE_EJECT_FAILURES=$failures bg_in_cg "$CG_PLAIN" "$TMP/agent-$failures.log" \
		"$B/steer" run --config "$TMP/steer.ini"
	AGENT=$SPAWNED
	for n in 1 2 3; do wait_up 127.0.0.1:530$n; done
	for client in socket resolver; do
		local vals=() fails=()
		for k in $(seq "$KILLS"); do
			bg_in_cg "$CG_VIP" "$TMP/kill.out" "$B/bench-udp-kill" "$VIP" whoami.test \
				"$client" "$run_ms" 200 200 10.0.0.1="${DNS_PID[1]}" \
				10.0.0.2="${DNS_PID[2]}" 10.0.0.3="${DNS_PID[3]}"
			wait "$SPAWNED"
			out=$(cat "$TMP/kill.out")
			set -- $out
			[ "${1:-}" = kill_to_last_query_us ] && [ -n "${12:-}" ] || die "bench-udp-kill: $out"
			us=$2
			victim=${10##*.}
			vals+=("$us")
			fails+=("$4")
			echo "$name,$client,$k,$us,$4,$6,${12}" >>"$CSV"
			log "$name $client kill $k: replica $victim killed, its last query $us us after the kill ($4 failed queries of $6, ${12} of them timed out)"
			{ wait "${DNS_PID[$victim]}"; } 2>/dev/null
			start_dns "$victim"
			wait_up 127.0.0.1:530"$victim"
		done
		ROWS="$ROWS$(paste <(printf '%s\n' "${vals[@]}" | sort -n) <(printf '%s\n' "${fails[@]}" | sort -n) |
			awk -v n="$name" -v c="$client" '
			function med(a) { return (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }
			{v[NR] = $1; f[NR] = $2} END {
				printf "| %s | %s | %d | %.3f ms | %.3f ms | %g |\n", n, c, NR, med(v) / 1000,
					v[NR] / 1000, med(f) }')
"
	done
	kill "$AGENT"
	wait "$AGENT" 2>/dev/null
	AGENT=""
	STEER_PASSIVE_EJECT_FAILURES=$failures "$B/steer" down >/dev/null 2>&1
}

run_setup "checks alone (dns ., 500 ms, fall 2)" 0 3000
run_setup "ICMP ejection, STEER_PASSIVE_EJECT_FAILURES=3 (default)" 3 700
run_setup "ICMP ejection, STEER_PASSIVE_EJECT_FAILURES=1" 1 700

cat <<EOF
## UDP: from a replica's kill to the last query it gets (\`bench/udp_failover.sh\`)

Three dnsmasq replicas behind one UDP VIP on port 53, checked with the
default \`health = dns .\` (a root NS query) every 500 ms, \`health_fall\`
2; a client in the steered cgroup sends a DNS query every 200 us, none
waiting for those before it (each has 50 ms for its reply); one dnsmasq gets
SIGKILL, $KILLS times per row.
The number is the time from just before the kill to the send of the last
query that went to the dead replica (every other replica answers, so a query
that failed went to it), CLOCK_MONOTONIC, measured by \`bench-udp-kill\`.
"socket": a fresh connected socket per query, as dig does; "resolver": one
connected socket for every query, as a stub resolver keeps, which the
sweep aborts once the replica is out: it keeps its socket through refusals
and timeouts and connects again only when the socket itself is aborted, so
only steer moves it (in this mode the replica killed is the one the socket
is on). Raw numbers:
\`docs/benchmarks-udp.csv\`.

| setup | client | kills | kill to last query, median | max | queries the dead replica got, median |
|---|---|---|---|---|---|
${ROWS}| keepalived \`DNS_CHECK\`, documented defaults (\`delay_loop\` 60 s, \`retry\` 3, \`delay_before_retry\` 1 s) | any | (computed) | about 33 s | 63 s (a refused check), 83 s (a silent one: \`connect_timeout\` 5 s per try) | its share until then |

keepalived's row is computed, not measured: its checkers drive IPVS, which
this kernel lacks. A dead real server is next checked up to \`delay_loop\`
after it died (30 s on average), and is marked down only after \`retry\`
more failed tries, \`delay_before_retry\` apart; until then IPVS keeps
sending it its share. With ICMP ejection the first queries that meet the
dead port take it out in the kernel, without waiting for a check.
EOF
