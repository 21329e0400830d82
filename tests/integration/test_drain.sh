#!/bin/bash
# Drain: established connections to a drained replica keep exchanging data,
# and no new connection reaches it; undrain brings it back.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
INI
start_echo r1 127.0.0.1:9001
start_echo r2 127.0.0.1:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 1 || finish

# With r1 the only replica, these long-lived connections all land on r1.
STREAMS=()
for i in 1 2 3; do
	spawn_in_cg "$TMP/stream$i.out" "$CLIENT" stream 127.77.0.1:8080 --until-file "$TMP/stop" --interval-us 20000
	STREAMS+=($LAST_PID)
done
"$STEER" replica add web 127.0.0.1:9002 >/dev/null || fail "replica add failed"
wait_state 127.0.0.1:9002 up

echo "subtest drain"
out=$("$STEER" replica drain web 127.0.0.1:9001) || fail "drain failed: $out"
wait_state 127.0.0.1:9001 draining
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/new.out"
check_eq "no new connection reaches the drained r1" 0 "$(reply_count "$TMP/new.out" r1)"
check_eq "new connections all served (by r2)" "ok=300 fail=0" "$(ok_fail "$TMP/new.out")"
"$STEER" status | grep -q '127.0.0.1:9001 id=[0-9]* state=draining' || fail "status does not show r1 draining: $("$STEER" status)"
# The established connections keep going while drained.
sleep 0.5

echo "subtest established-connections-carry-on"
touch "$TMP/stop"
for i in 1 2 3; do
	wait "${STREAMS[$((i - 1))]}"
	log "stream $i: $(ok_fail "$TMP/stream$i.out") $(grep '^reply' "$TMP/stream$i.out" | tr '\n' ' ')"
	check_eq "stream $i: no failure on the established connection" 0 "$(awk '$1 == "ok" {print $4}' "$TMP/stream$i.out")"
	check_eq "stream $i: every reply from r1" "$(awk '$1 == "ok" {print $2}' "$TMP/stream$i.out")" "$(reply_count "$TMP/stream$i.out" r1)"
done

echo "subtest undrain"
"$STEER" replica undrain web 127.0.0.1:9001 >/dev/null || fail "undrain failed"
wait_state 127.0.0.1:9001 up
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/undrained.out"
[ "$(reply_count "$TMP/undrained.out" r1)" -gt 0 ] || fail "undrained r1 gets no connection"
finish
