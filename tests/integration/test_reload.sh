#!/bin/bash
# SIGHUP applies a changed replica list while clients connect in a loop: no
# failed connect, no connect to a removed replica once the reload is logged,
# and a bad file is refused with the maps unchanged.
. "$(dirname "$0")/lib.sh"
setup_world

write_config() {
	{
		echo "[service web]"
		echo "vip = 127.77.0.1:8080"
		for p in "$@"; do echo "replica = 127.0.0.1:$p"; done
	} >"$TMP/steer.ini"
}
for i in 1 2 3 4; do start_echo "r$i" "127.0.0.1:900$i"; done
write_config 9001 9002
start_agent "$TMP/steer.ini" || finish

spawn_in_cg "$TMP/loop.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop" --quiet
LOOP=$LAST_PID

# applied_more_than N: wait (bounded) until the agent logged more than N applies.
applied_more_than() {
	local tries=200
	while [ $tries -gt 0 ]; do
		[ "$(grep -c 'config applied' "$TMP/agent.log")" -gt "$1" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

echo "subtest reload-changes-replicas"
for round in 1 2 3 4 5 6; do
	if [ $((round % 2)) -eq 1 ]; then write_config 9003 9004; else write_config 9001 9002; fi
	n=$(grep -c 'config applied' "$TMP/agent.log")
	kill -HUP "$AGENT_PID"
	applied_more_than "$n" || { fail "round $round: reload not applied: $(tail -3 "$TMP/agent.log")"; break; }
done
# After the last reload (9001 9002), only r1 and r2 may answer.
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/after.out"
check_eq "after reload: r3 got nothing" 0 "$(reply_count "$TMP/after.out" r3)"
check_eq "after reload: r4 got nothing" 0 "$(reply_count "$TMP/after.out" r4)"
check_eq "after reload: all 300 answered" "ok=300 fail=0" "$(ok_fail "$TMP/after.out")"
touch "$TMP/stop"
wait "$LOOP"
log "loop client: $(ok_fail "$TMP/loop.out")"
check_eq "loop client across 6 reloads: no failed connect" 0 "$(awk '$1 == "ok" {print $4}' "$TMP/loop.out")"

echo "subtest bad-reload-refused"
dump() { for m in steer_svc_v1 steer_slots_v1 steer_replicas_v1; do bpftool map dump pinned "$PIN/$m"; done; }
dump >"$TMP/before.dump"
echo "replica = not-an-address" >>"$TMP/steer.ini"
kill -HUP "$AGENT_PID"
wait_for_line "$TMP/agent.log" 'reload refused' || fail "bad reload not refused: $(tail -3 "$TMP/agent.log")"
dump >"$TMP/after.dump"
cmp -s "$TMP/before.dump" "$TMP/after.dump" && log "ok: maps unchanged after a bad reload" ||
	fail "a bad reload changed the maps"
kill -0 "$AGENT_PID" || fail "agent died on a bad reload"
finish
