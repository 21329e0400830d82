#!/bin/bash
# Replicas on another host: a second network namespace joined by veth, with
# addresses from 198.18.0.0/15 and fd00::/8. The client's host has no route to
# the VIP at all; only the rewrite at connect() makes it reachable.
. "$(dirname "$0")/lib.sh"
setup_world
add_host

cat >"$TMP/steer.ini" <<INI
[service remote4]
vip = 198.18.100.1:80
replica = 198.18.0.2:8001
replica = 198.18.0.2:8002

[service remote4-udp]
vip = 198.18.100.1:80
protocol = udp
replica = 198.18.0.2:8001
replica = 198.18.0.2:8002

[service remote6]
vip = [fd00:100::1]:80
replica = [fd00:18::2]:8001
replica = [fd00:18::2]:8002
INI
for i in 1 2; do
	for a in "198.18.0.2:800$i" "[fd00:18::2]:800$i"; do
		out=$TMP/echo-$i-${#a}.out
		nsenter --net="/run/netns/$HOST" -- "$ECHO" --name "h$i" --listen "$a" >"$out" 2>&1 &
		PIDS+=($!)
		wait_for_line "$out" '^listening' || fail "replica $a did not start: $(cat "$out")"
	done
done
start_agent "$TMP/steer.ini" || finish
wait_all_up 6

echo "subtest remote-tcp4"
in_cg "$CLIENT" tcp 198.18.100.1:80 --count 200 --quiet >"$TMP/t4.out"
check_eq "tcp4 to replicas over veth, peer shows the VIP" "ok=200 fail=0" "$(ok_fail "$TMP/t4.out")"
echo "subtest remote-tcp6"
in_cg "$CLIENT" tcp "[fd00:100::1]:80" --count 200 --quiet >"$TMP/t6.out"
check_eq "tcp6 to replicas over veth, peer shows the VIP" "ok=200 fail=0" "$(ok_fail "$TMP/t6.out")"
echo "subtest remote-udp4"
in_cg "$CLIENT" udp 198.18.100.1:80 --count 50 >"$TMP/u4.out" 2>&1
check_eq "unconnected udp4 over veth, source shows the VIP" "ok=50 fail=0" "$(ok_fail "$TMP/u4.out")"
echo "subtest unsteered-has-no-route"
in_ns "$CLIENT" tcp 198.18.100.1:80 --count 1 --quiet --timeout-ms 500 >"$TMP/no.out"
grep -q 'ENETUNREACH 1' "$TMP/no.out" || fail "outside the cgroup the VIP should be unroutable: $(cat "$TMP/no.out")"
finish
