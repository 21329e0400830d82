#!/bin/bash
# Active checks: an HTTP 500 answer ejects a replica after `fall` checks, a
# replica that accepts but never answers is ejected by the timeout, both come
# back after `rise` good checks, and a state change is logged once.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = http /healthz
health_interval_ms = 100
health_timeout_ms = 80
health_rise = 2
health_fall = 2
health_expect = 200-299
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003
INI
for i in 1 2 3; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish

echo "subtest http-500-ejects"
kill -USR1 "$ECHO_PID_r2"
wait_state 127.0.0.1:9002 down
"$STEER" status --json | grep -o '"address":"127.0.0.1:9002"[^}]*' | grep -q '"last_result":"bad-status"' ||
	fail "last check of r2 is not bad-status: $("$STEER" status | grep 9002)"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 200 --quiet >"$TMP/500.out"
check_eq "no connect reaches the replica answering 500" 0 "$(reply_count "$TMP/500.out" r2)"
check_eq "the others answer every connect" "ok=200 fail=0" "$(ok_fail "$TMP/500.out")"
kill -HUP "$ECHO_PID_r2"
wait_state 127.0.0.1:9002 up

echo "subtest timeout-ejects"
kill -USR2 "$ECHO_PID_r3"
wait_state 127.0.0.1:9003 down
"$STEER" status --json | grep -o '"address":"127.0.0.1:9003"[^}]*' | grep -q '"last_result":"timeout"' ||
	fail "last check of r3 is not timeout: $("$STEER" status | grep 9003)"
kill -HUP "$ECHO_PID_r3"
wait_state 127.0.0.1:9003 up

echo "subtest transition-logged-once"
n=$(grep -c 'replica 127.0.0.1:9002: up -> down' "$TMP/agent.log")
check_eq "the up -> down transition of r2 is logged once" 1 "$n"
n=$(grep -c '127.0.0.1:9002' "$TMP/agent.log")
[ "$n" -le 6 ] || fail "r2 is logged $n times; expected one line per transition"
finish
