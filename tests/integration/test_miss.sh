#!/bin/bash
# A service with no replicas is a miss, counted every time. With an agent
# running, a TCP connect is held and, with no replica ever coming, reset at
# STEER_RETRY_TIMEOUT_MS. With no agent, it fails at once with EHOSTUNREACH;
# a UDP datagram always does.
. "$(dirname "$0")/lib.sh"
setup_world
export STEER_RETRY_TIMEOUT_MS=200

cat >"$TMP/steer.ini" <<INI
[service empty]
vip = 127.77.0.9:8080

[service empty-udp]
vip = 127.77.0.9:5353
protocol = udp
INI
start_agent "$TMP/steer.ini" || finish

echo "subtest tcp-miss-held-then-reset"
in_cg "$CLIENT" tcp 127.77.0.9:8080 --count 5 --quiet >"$TMP/tcp.out"
n=$(grep -E '^error [a-z]+:(ECONNRESET|EPIPE) ' "$TMP/tcp.out" | awk '{s += $3} END {print s + 0}')
check_eq "5 held connects reset at the retry timeout" 5 "$n"

echo "subtest udp-miss"
in_cg "$CLIENT" udp 127.77.0.9:5353 --count 3 --timeout-ms 200 >"$TMP/udp.out" 2>&1
grep -q 'EHOSTUNREACH 3' "$TMP/udp.out" || fail "expected 3 EHOSTUNREACH on sendto: $(cat "$TMP/udp.out")"

echo "subtest miss-counter"
"$STEER" status --json >"$TMP/status.json"
m=$(grep -o '"name":"empty","vip[^]]*' "$TMP/status.json" | grep -o '"misses":[0-9]*' | cut -d: -f2)
check_eq "misses counted for the TCP service" 5 "$m"
m=$(grep -o '"name":"empty-udp","vip[^]]*' "$TMP/status.json" | grep -o '"misses":[0-9]*' | cut -d: -f2)
check_eq "misses counted for the UDP service" 3 "$m"
"$STEER" status | grep -q 'timeouts=5 ' || fail "timeouts not counted: $("$STEER" status | grep hold)"

echo "subtest tcp-miss-without-agent"
stop_agent
in_cg "$CLIENT" tcp 127.77.0.9:8080 --count 5 --quiet >"$TMP/noagent.out"
grep -q 'error connect:EHOSTUNREACH 5' "$TMP/noagent.out" || fail "expected 5 EHOSTUNREACH with no agent: $(cat "$TMP/noagent.out")"
finish
