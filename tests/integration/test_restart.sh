#!/bin/bash
# Restarting the agent drops nothing: while a client connects in a loop, the
# agent is stopped (SIGTERM) and started again 3 times; the datapath keeps
# steering while no agent runs, and the new agent adopts the pinned links.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003
INI
for i in 1 2 3; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 3
grep -q 'attached=9' "$TMP/agent.log" || fail "first run did not attach 9 links: $(cat "$TMP/agent.log")"

spawn_in_cg "$TMP/loop.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop" --interval-us 500 --quiet
LOOP=$LAST_PID

for round in 1 2 3; do
	echo "subtest restart-$round"
	stop_agent || fail "agent exited non-zero on SIGTERM"
	# No agent now: the pinned datapath must still steer.
	in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 100 --quiet >"$TMP/gap.out"
	check_eq "round $round: 100 connects while no agent runs" "ok=100 fail=0" "$(ok_fail "$TMP/gap.out")"
	start_agent "$TMP/steer.ini" "$TMP/agent-$round.log" || break
	grep -q 'adopted=9 attached=0' "$TMP/agent-$round.log" ||
		fail "round $round: links were not adopted in place: $(grep ready "$TMP/agent-$round.log")"
	grep -q 'unchanged=1' "$TMP/agent-$round.log" ||
		fail "round $round: the same config rewrote the maps: $(grep applied "$TMP/agent-$round.log")"
done

touch "$TMP/stop"
wait "$LOOP"
echo "subtest loop-client"
log "loop client: $(ok_fail "$TMP/loop.out")"
fails=$(awk '$1 == "ok" {print $4}' "$TMP/loop.out")
oks=$(awk '$1 == "ok" {print $2}' "$TMP/loop.out")
check_eq "no failed connect across 3 restarts" 0 "$fails"
[ "${oks:-0}" -gt 100 ] || fail "the loop client made too few connects to mean anything: $oks"
finish
