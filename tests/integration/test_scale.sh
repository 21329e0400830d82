#!/bin/bash
# Node scale (issue 15): a config with STEER_MAX_SERVICES (65,536) services,
# generated here, is accepted, applied and steered. 57,344 IPv4 and 8,192
# IPv6 services, each with 2 replicas drawn from 48 real listeners; 1,000
# services picked at random are connected to from the cgroup, each must be
# answered by one of its own 2 replicas. Then one service changes by SIGHUP:
# only that one is rewritten, and its VIP reaches the new replica.
# Startup and apply times are reported (bounded generously: speed goals
# live in `make scale`).
. "$(dirname "$0")/lib.sh"
setup_world

NSVC=65536 NV6=8192 POOL4=32 POOL6=16 SPOT=${SCALE_SPOT:-1000}
NV4=$((NSVC - NV6))

for k in $(seq 0 $((POOL4 - 1))); do start_echo "r$k" "127.0.2.$((k + 1)):8080" || finish; done
for k in $(seq 0 $((POOL6 - 1))); do start_echo "s$k" "[::1]:$((29100 + k))" || finish; done

# Service i: v4 VIP 198.19.(i/256).(i%256):80 or v6 [fd00:19::i]:80, and
# replicas a = i % pool, b = (a + 1 + (i / pool) % (pool - 1)) % pool.
gen_config() {
	awk -v nsvc="$NSVC" -v nv4="$NV4" -v p4="$POOL4" -v p6="$POOL6" -v bump="${1:-}" 'BEGIN {
		for (i = 0; i < nsvc; i++) {
			v6 = i >= nv4; p = v6 ? p6 : p4
			a = i % p; b = (a + 1 + int(i / p) % (p - 1)) % p
			if (i == bump) b = (b + 1) % p == a ? (b + 2) % p : (b + 1) % p
			printf "[service s%d]\nhealth = none\n", i
			if (!v6) {
				printf "vip = 198.19.%d.%d:80\n", int(i / 256), i % 256
				printf "replica = 127.0.2.%d:8080\nreplica = 127.0.2.%d:8080\n", a + 1, b + 1
			} else {
				printf "vip = [fd00:19::%x]:80\n", i
				printf "replica = [::1]:%d\nreplica = [::1]:%d\n", 29100 + a, 29100 + b
			}
		}
	}'
}
# expect I [BUMP] — "VIP NAME_A NAME_B" of service I, as gen_config lays it out.
expect() {
	awk -v i="$1" -v nv4="$NV4" -v p4="$POOL4" -v p6="$POOL6" -v bump="${2:-}" 'BEGIN {
		v6 = i >= nv4; p = v6 ? p6 : p4
		a = i % p; b = (a + 1 + int(i / p) % (p - 1)) % p
		if (i == bump) b = (b + 1) % p == a ? (b + 2) % p : (b + 1) % p
		if (!v6) printf "198.19.%d.%d:80 r%d r%d\n", int(i / 256), i % 256, a, b
		else printf "[fd00:19::%x]:80 s%d s%d\n", i, a, b
	}'
}

gen_config >"$TMP/steer.ini"
log "config: $(grep -c '^\[service' "$TMP/steer.ini") services, $(wc -c <"$TMP/steer.ini") bytes"

echo "subtest start"
t0=$(date +%s%N)
nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$TMP/steer.ini" 2>>"$TMP/agent.log" &
AGENT_PID=$!
wait_for_line "$TMP/agent.log" 'ready:' 2400 || { fail "agent not ready in 120 s: $(tail -5 "$TMP/agent.log")"; finish; }
t1=$(date +%s%N)
log "exec -> ready: $(((t1 - t0) / 1000000)) ms; agent VmRSS $(awk '/^VmRSS/ {print $2, $3}' "/proc/$AGENT_PID/status")"
grep -q "services added=$NSVC changed=0 removed=0" "$TMP/agent.log" ||
	fail "the first apply did not add $NSVC services: $(grep 'applied' "$TMP/agent.log" | head -2)"
check_eq "services in the map" "$NSVC" "$(bpftool map show pinned "$PIN/steer_svc_v1" -j 2>/dev/null | grep -o '"max_entries":[0-9]*' | cut -d: -f2)"
memlock=0
for m in "$PIN"/steer_*; do
	b=$(bpftool map show pinned "$m" -j 2>/dev/null | grep -o '"bytes_memlock":[0-9]*' | cut -d: -f2)
	memlock=$((memlock + ${b:-0}))
done
log "kernel memory of the maps (bytes_memlock): $((memlock / 1048576)) MiB"
t0=$(date +%s%N)
nsvc_status=$("$STEER" status --json | grep -o '"vip":' | wc -l)
t1=$(date +%s%N)
check_eq "services steer status shows" "$NSVC" "$nsvc_status"
log "steer status --json: $(((t1 - t0) / 1000000)) ms"
code=$(in_ns curl -s -o "$TMP/metrics" -w '%{http_code}' --max-time 60 "http://127.0.0.1:9477/metrics")
check_eq "a metrics scrape past 4096 services fails at once, saying why" "500 more than 4096 services" \
	"$code $(grep -o 'more than [0-9]* services' "$TMP/metrics")"

echo "subtest spot-check"
# Random services, then one connect to each from the cgroup.
awk -v n="$SPOT" -v nsvc="$NSVC" -v seed="$RANDOM" 'BEGIN { srand(seed); for (k = 0; k < n; k++) print int(rand() * nsvc) }' >"$TMP/picks"
while read -r i; do expect "$i"; done <"$TMP/picks" >"$TMP/expect"
cut -d' ' -f1 "$TMP/expect" >"$TMP/vips"
in_cg sh -c 'while read -r vip; do r=$("$1" tcp "$vip" --count 1 --timeout-ms 2000 --quiet | awk "\$1 == \"reply\" {print \$2}"); echo "$vip ${r:-none}"; done <"$2"' sh "$CLIENT" "$TMP/vips" >"$TMP/got"
bad=$(paste -d' ' "$TMP/expect" "$TMP/got" | awk '$1 != $4 || ($5 != $2 && $5 != $3) {n++; if (n <= 5) print > "/dev/stderr"} END {print n + 0}')
check_eq "spot-checked VIPs answered by one of their own replicas" "0 of $SPOT wrong" "$bad of $(wc -l <"$TMP/got") wrong"

echo "subtest one-change"
bump=$(head -1 "$TMP/picks")
gen_config "$bump" >"$TMP/steer.ini"
: >"$TMP/agent.log.mark"
lines=$(wc -l <"$TMP/agent.log")
t0=$(date +%s%N)
kill -HUP "$AGENT_PID"
tries=1200
until tail -n +"$((lines + 1))" "$TMP/agent.log" | grep -q 'config applied:'; do
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || { fail "SIGHUP not applied in 60 s"; break; }
	sleep 0.05
done
t1=$(date +%s%N)
applied=$(tail -n +"$((lines + 1))" "$TMP/agent.log" | grep 'config applied:' | head -1)
log "SIGHUP -> applied: $(((t1 - t0) / 1000000)) ms: ${applied#*applied: }"
case $applied in
*"added=0 changed=1 removed=0 unchanged=$((NSVC - 1))"*) log "ok: one service changed" ;;
*) fail "expected one service changed: $applied" ;;
esac
read -r vip _ want <<<"$(expect "$bump" "$bump")"
in_cg "$CLIENT" tcp "$vip" --count 40 --quiet >"$TMP/bump.out"
check_eq "the changed service's new replica ($want) answers some of 40 connects" 1 \
	"$([ "$(reply_count "$TMP/bump.out" "$want")" -gt 0 ] && echo 1 || echo 0)"
check_eq "no failed connect to the changed service" "ok=40 fail=0" "$(ok_fail "$TMP/bump.out")"

finish
