#!/bin/bash
# The miss path's bounds: a held connection is reset at STEER_RETRY_TIMEOUT_MS,
# and past STEER_HOLD_MAX new misses are refused at once; the agent's fds go
# back to where they were. A held client that gives up frees its slot at
# once, not at its timeout.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service none]
vip = 127.77.0.5:8080
health = none
INI

echo "subtest timeout"
STEER_RETRY_TIMEOUT_MS=400 start_agent "$TMP/steer.ini" || finish
in_cg "$CLIENT" tcp 127.77.0.5:8080 --timeout-ms 3000 >"$TMP/t.out" 2>"$TMP/t.err"
ms=$(sed -n 's/^steer-client: \([0-9]*\) ms: attempt 1: [a-z]*:\(ECONNRESET\|EPIPE\)$/\1/p' "$TMP/t.err")
log "reset after ${ms:-?} ms: $(cat "$TMP/t.err")"
[ -n "$ms" ] && [ "$ms" -ge 350 ] && [ "$ms" -le 600 ] || fail "expected a reset between 350 and 600 ms, got: $(cat "$TMP/t.err")"
"$STEER" status | grep -q 'timeouts=1 ' || fail "timeout not counted: $("$STEER" status)"
stop_agent

echo "subtest capacity"
STEER_HOLD_MAX=10 STEER_RETRY_TIMEOUT_MS=1500 start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
fds_before=$(ls /proc/"$AGENT_PID"/fd | wc -l)
CL=()
for i in $(seq 20); do
	spawn_in_cg "$TMP/c$i.out" "$CLIENT" tcp 127.77.0.5:8080 --timeout-ms 5000
	CL+=($LAST_PID)
done
for p in "${CL[@]}"; do wait "$p"; done
early=0 late=0
for i in $(seq 20); do
	ms=$(sed -n 's/^steer-client: \([0-9]*\) ms: attempt 1: [a-z]*:\(ECONNRESET\|EPIPE\)$/\1/p' "$TMP/c$i.out")
	if [ -n "$ms" ] && [ "$ms" -lt 500 ]; then early=$((early + 1)); elif [ -n "$ms" ] && [ "$ms" -ge 1400 ]; then late=$((late + 1)); fi
done
check_eq "10 clients refused at once (reset within 500 ms)" 10 "$early"
check_eq "10 clients held, then reset at the 1500 ms timeout" 10 "$late"
"$STEER" status | grep -q 'refused_full=10 ' || fail "refusals not counted: $("$STEER" status | grep hold)"
fds_after=$(ls /proc/"$AGENT_PID"/fd | wc -l)
check_eq "agent fd count back to its baseline" "$fds_before" "$fds_after"
stop_agent

echo "subtest given-up"
STEER_HOLD_MAX=2 STEER_RETRY_TIMEOUT_MS=10000 start_agent "$TMP/steer.ini" "$TMP/agent3.log" || finish
# hold_stat NAME — a counter of the service's hold path (they continue
# across agent restarts, so the subtest compares differences).
hold_stat() { "$STEER" status --json | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
refused0=$(hold_stat refused_full) abandoned0=$(hold_stat abandoned)
# Two clients give up after 300 ms (they sent their request line first).
in_cg "$CLIENT" tcp 127.77.0.5:8080 --count 2 --timeout-ms 300 --quiet >"$TMP/g.out"
tries=100
until [ "$(hold_stat held_now)" = 0 ] && [ "$(hold_stat abandoned)" = $((abandoned0 + 2)) ]; do
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || break
	sleep 0.02
done
check_eq "held clients that gave up" 2 $(($(hold_stat abandoned) - abandoned0))
check_eq "slots they still hold" 0 "$(hold_stat held_now)"
# With their slots free, two more are held, not refused.
in_cg "$CLIENT" tcp 127.77.0.5:8080 --count 2 --timeout-ms 500 --quiet >"$TMP/g2.out"
check_eq "held, then given up by the client" "error recv:timeout 2" "$(grep '^error' "$TMP/g2.out")"
check_eq "clients refused" 0 $(($(hold_stat refused_full) - refused0))
finish
