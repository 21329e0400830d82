#!/bin/bash
# What is not a service is not touched: another destination, another port of
# the VIP's address, and any process outside the attached cgroup.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
INI
start_echo r1 127.0.0.1:9001
start_echo r2 127.0.0.1:9002
start_echo other 127.0.0.1:9500
start_agent "$TMP/steer.ini" || finish
wait_all_up 2

echo "subtest non-vip-destination"
in_cg "$CLIENT" tcp 127.0.0.1:9500 --count 50 --quiet >"$TMP/other.out"
check_eq "a non-VIP destination reaches that destination" 50 "$(reply_count "$TMP/other.out" other)"
in_cg "$CLIENT" tcp 127.0.0.1:9001 --count 50 --quiet >"$TMP/direct.out"
check_eq "a replica's own address reaches only that replica" 50 "$(reply_count "$TMP/direct.out" r1)"

echo "subtest vip-other-port"
in_cg "$CLIENT" tcp 127.77.0.1:8081 --count 1 --quiet >"$TMP/port.out"
grep -q 'error connect:ECONNREFUSED 1' "$TMP/port.out" || fail "VIP address on another port was steered: $(cat "$TMP/port.out")"

echo "subtest outside-cgroup"
in_ns "$CLIENT" tcp 127.77.0.1:8080 --count 1 --quiet >"$TMP/outside.out"
grep -q 'error connect:ECONNREFUSED 1' "$TMP/outside.out" || fail "a process outside the cgroup was steered: $(cat "$TMP/outside.out")"
in_ns "$CLIENT" tcp 127.0.0.1:9500 --count 5 --quiet >"$TMP/outside2.out"
check_eq "outside the cgroup, plain connects work" "ok=5 fail=0" "$(ok_fail "$TMP/outside2.out")"
finish
