#!/bin/bash
# Locality (issue 12): a pick tries replicas on this node first (a local
# address, STEER_PREFER_LOCAL=1), then those with zone= STEER_ZONE, then
# any, with no delay between these passes; status counts the pass that
# served each connect. Replicas off the node live in a second netns (HOST)
# behind a veth pair.
. "$(dirname "$0")/lib.sh"
setup_world
add_host

# host_echo NAME ADDR:PORT: a replica in HOST.
host_echo() {
	ip netns exec "$HOST" "$ECHO" --name "$1" --listen "$2" >"$TMP/echo-$1.out" 2>&1 &
	PIDS+=($!)
	eval "ECHO_PID_$1=$!"
	wait_for_line "$TMP/echo-$1.out" '^listening' || fail "replica $1 did not start"
}

cat >"$TMP/steer.ini" <<INI
[service loc]
vip = 127.77.0.1:8080
replica = 198.18.0.2:9001 zone=a
replica = 198.18.0.1:9001 zone=b

[service zon]
vip = 127.77.0.2:8080
replica = 198.18.0.2:9003 zone=b
replica = 198.18.0.2:9002 zone=a

[service six]
vip = [fd00::77]:8080
replica = [fd00:18::2]:9002 zone=b
replica = [fd00:18::2]:9001 zone=a
INI
start_echo l 198.18.0.1:9001
host_echo r 198.18.0.2:9001
host_echo za 198.18.0.2:9002
host_echo zb 198.18.0.2:9003
host_echo a6 [fd00:18::2]:9001
host_echo b6 [fd00:18::2]:9002
export STEER_ZONE=a
start_agent "$TMP/steer.ini" || finish
wait_all_up 6 || finish

passes() { # SERVICE: "local=N zone=N any=N"
	"$STEER" status | awk -v s="$1" '$1 == "service" {on = ($2 == s)} on && $1 == "passes:" {print $2, $3, $4; exit}'
}

echo "subtest local"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 200 --quiet >"$TMP/loc.out"
check_eq "all to the replica on this node" "200" "$(reply_count "$TMP/loc.out" l)"
check_eq "loc passes" "local=200 zone=0 any=0" "$(passes loc)"

echo "subtest zone"
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 200 --quiet >"$TMP/zon.out"
check_eq "all to the replica in zone a" "200" "$(reply_count "$TMP/zon.out" za)"
check_eq "zon passes" "local=0 zone=200 any=0" "$(passes zon)"

echo "subtest zone6"
in_cg "$CLIENT" tcp "[fd00::77]:8080" --count 100 --quiet >"$TMP/six.out"
check_eq "all to the IPv6 replica in zone a" "100" "$(reply_count "$TMP/six.out" a6)"

echo "subtest curl"
check_eq "curl over IPv4 gets the replica on this node" l "$(in_cg curl -s -m 5 http://127.77.0.1:8080/)"
check_eq "curl over IPv6 gets the replica in zone a" a6 "$(in_cg curl -s -m 5 "http://[fd00::77]:8080/")"

echo "subtest fall_through"
kill "$ECHO_PID_za"
wait_state 198.18.0.2:9002 down || finish
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 100 --quiet >"$TMP/any.out"
check_eq "zone a down: all served" "ok=100 fail=0" "$(ok_fail "$TMP/any.out")"
check_eq "zone a down: to any" "100" "$(reply_count "$TMP/any.out" zb)"
check_eq "zon passes after" "local=0 zone=200 any=100" "$(passes zon)"

echo "subtest shown"
"$STEER" status | grep -q "replica 198.18.0.1:9001 .* tier=local" || fail "status does not show tier=local: $("$STEER" status)"
out=$("$STEER" check-config "$TMP/steer.ini" 2>&1)
echo "$out" | grep -qx "replica = 198.18.0.2:9002 zone=a" || fail "check-config does not show zone=a: $out"
STEER_ZONE='a b' "$STEER" check-config "$TMP/steer.ini" >"$TMP/badzone.out" 2>&1 && fail "STEER_ZONE='a b' was accepted"
grep -q "STEER_ZONE" "$TMP/badzone.out" || fail "bad STEER_ZONE error does not name it: $(cat "$TMP/badzone.out")"
finish
