#!/bin/bash
# kill -9 one of 3 replicas while clients connect in a loop: the datapath
# ejects it when its listening socket closes, before the next client can pick
# it. Measures kill-to-ejection against the datapath's own timestamp and
# counts failed connects; the restarted replica is back after `rise` checks.
. "$(dirname "$0")/lib.sh"
setup_world
KILL=$BUILD/steer-kill

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = tcp
health_rise = 2
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003
INI
for i in 1 2 3; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish

spawn_in_cg "$TMP/loop.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop" --interval-us 200
LOOP=$LAST_PID
# Let the load run, so the kill lands among connects.
sleep 0.5

echo "subtest kill-to-ejection"
kill_ns=$("$KILL" "$ECHO_PID_r2")
wait "$ECHO_PID_r2" 2>/dev/null
ejected_ns=""
for _ in $(seq 100); do
	ejected_ns=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9002"[^}]*' | grep -o '"ejected_ns":[0-9]*' | cut -d: -f2)
	[ -n "$ejected_ns" ] && [ "$ejected_ns" != 0 ] && break
	sleep 0.02
done
if [ -z "$ejected_ns" ] || [ "$ejected_ns" = 0 ]; then
	fail "replica 127.0.0.1:9002 was not ejected after kill -9"
else
	us=$(((ejected_ns - kill_ns) / 1000))
	log "kill-to-ejection: ${us} us (datapath timestamp minus kill timestamp, CLOCK_MONOTONIC)"
	[ "$us" -ge 0 ] && [ "$us" -lt 10000 ] || fail "kill-to-ejection ${us} us is not under 10 ms"
fi
wait_state 127.0.0.1:9002 down
"$STEER" status --json | grep -o '"address":"127.0.0.1:9002"[^}]*' | grep -q '"eject_reason":"listener-closed"' ||
	fail "ejection reason is not listener-closed: $("$STEER" status | grep 9002)"

"$STEER" status | sed 's/^/    status: /'
# Keep connecting with r2 dead.
sleep 0.5
touch "$TMP/stop"
wait "$LOOP"
echo "subtest failed-connects-after-kill"
fails=$(awk '$1 == "ok" {print $4}' "$TMP/loop.out")
log "loop client: $(ok_fail "$TMP/loop.out"); $(grep '^error' "$TMP/loop.out" | tr '\n' ' ')"
[ "${fails:-99}" -le 1 ] || fail "$fails failed connects after the kill (expected 0, at most 1)"

echo "subtest back-after-rise"
start_echo r2 127.0.0.1:9002
wait_state 127.0.0.1:9002 up
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/back.out"
check_eq "all connects answered after the restart" "ok=300 fail=0" "$(ok_fail "$TMP/back.out")"
[ "$(reply_count "$TMP/back.out" r2)" -gt 0 ] || fail "restarted r2 gets no connection"
finish
