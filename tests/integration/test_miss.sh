#!/bin/bash
# A service with no replicas is a miss: connect() fails with EHOSTUNREACH, a
# UDP datagram too, and each miss is counted.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service empty]
vip = 127.77.0.9:8080

[service empty-udp]
vip = 127.77.0.9:5353
protocol = udp
INI
start_agent "$TMP/steer.ini" || finish

echo "subtest tcp-miss"
in_cg "$CLIENT" tcp 127.77.0.9:8080 --count 5 --quiet >"$TMP/tcp.out"
grep -q 'error connect:EHOSTUNREACH 5' "$TMP/tcp.out" || fail "expected 5 EHOSTUNREACH: $(cat "$TMP/tcp.out")"

echo "subtest udp-miss"
in_cg "$CLIENT" udp 127.77.0.9:5353 --count 3 --timeout-ms 200 >"$TMP/udp.out" 2>&1
grep -q 'EHOSTUNREACH 3' "$TMP/udp.out" || fail "expected 3 EHOSTUNREACH on sendto: $(cat "$TMP/udp.out")"

echo "subtest miss-counter"
"$STEER" status --json >"$TMP/status.json"
m=$(grep -o '"name":"empty","vip[^]]*' "$TMP/status.json" | grep -o '"misses":[0-9]*' | cut -d: -f2)
check_eq "misses counted for the TCP service" 5 "$m"
m=$(grep -o '"name":"empty-udp","vip[^]]*' "$TMP/status.json" | grep -o '"misses":[0-9]*' | cut -d: -f2)
check_eq "misses counted for the UDP service" 3 "$m"
finish
