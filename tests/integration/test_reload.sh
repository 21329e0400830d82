#!/bin/bash
# SIGHUP applies a changed replica list while clients connect in a loop: no
# failed connect while another replica is up, no connect to a removed replica
# after the reload, and a bad file is refused with the maps unchanged. The
# control socket adds and removes replicas the same way.
. "$(dirname "$0")/lib.sh"
setup_world

write_config() {
	{
		echo "[service web]"
		echo "vip = 127.77.0.1:8080"
		for p in "$@"; do echo "replica = 127.0.0.1:$p"; done
	} >"$TMP/steer.ini"
}
for i in 1 2 3 4 5; do start_echo "r$i" "127.0.0.1:900$i"; done
write_config 9001 9002 9003
start_agent "$TMP/steer.ini" || finish
wait_all_up 3

spawn_in_cg "$TMP/loop.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop" --quiet
LOOP=$LAST_PID

# applied_more_than N: wait (bounded) until the agent logged more than N applies.
applied_more_than() {
	local tries=200
	while [ $tries -gt 0 ]; do
		[ "$(grep -c 'applied' "$TMP/agent.log")" -gt "$1" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

echo "subtest reload-changes-replicas"
# r2 and r3 stay in every version, so a connect always has an UP replica;
# r1 and r4 swap in and out (a new replica is UNKNOWN until checked).
for round in 1 2 3 4 5 6; do
	if [ $((round % 2)) -eq 1 ]; then new=9004 old=9001; else new=9001 old=9004; fi
	write_config "$new" 9002 9003
	n=$(grep -c 'applied' "$TMP/agent.log")
	kill -HUP "$AGENT_PID"
	applied_more_than "$n" || { fail "round $round: reload not applied: $(tail -3 "$TMP/agent.log")"; break; }
	wait_state "127.0.0.1:$new" up || break
	replica_states | grep -q "127.0.0.1:$old=" && fail "round $round: removed replica $old still listed"
done
# The last version is 9001 9002 9003: r4 must get nothing.
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/after.out"
check_eq "after reload: the removed r4 got nothing" 0 "$(reply_count "$TMP/after.out" r4)"
check_eq "after reload: all 300 answered" "ok=300 fail=0" "$(ok_fail "$TMP/after.out")"

echo "subtest control-add-remove"
out=$("$STEER" replica add web 127.0.0.1:9005 2>&1) || fail "replica add failed: $out"
wait_state 127.0.0.1:9005 up
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/added.out"
[ "$(reply_count "$TMP/added.out" r5)" -gt 0 ] || fail "the added replica r5 got no connection"
out=$("$STEER" replica remove web 127.0.0.1:9005 2>&1) || fail "replica remove failed: $out"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 300 --quiet >"$TMP/removed.out"
check_eq "the removed replica r5 gets nothing" 0 "$(reply_count "$TMP/removed.out" r5)"

touch "$TMP/stop"
wait "$LOOP"
log "loop client: $(ok_fail "$TMP/loop.out")"
check_eq "loop client across 6 reloads and 2 control changes: no failed connect" 0 "$(awk '$1 == "ok" {print $4}' "$TMP/loop.out")"

echo "subtest bad-reload-and-bad-command-refused"
dump() { for m in steer_svc_v1 steer_slots_v1 steer_replicas_v1; do bpftool map dump pinned "$PIN/$m"; done; }
dump >"$TMP/before.dump"
echo "replica = not-an-address" >>"$TMP/steer.ini"
kill -HUP "$AGENT_PID"
wait_for_line "$TMP/agent.log" 'reload refused' || fail "bad reload not refused: $(tail -3 "$TMP/agent.log")"
for bad in "add nosuch 127.0.0.1:9005" "add web 127.0.0.1:99999" "remove web 127.0.0.1:9999" \
	"add web 127.0.0.1:9002" "add web 127.77.0.1:8080" "drain web 10.0.0.1:1"; do
	# shellcheck disable=SC2086
	"$STEER" replica $bad >"$TMP/bad.out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] || fail "'steer replica $bad' was accepted: $(cat "$TMP/bad.out")"
	log "refused (exit $rc): steer replica $bad: $(head -1 "$TMP/bad.out")"
done
"$STEER" replica frob web 127.0.0.1:9001 >/dev/null 2>&1
check_eq "an unknown verb exits 2" 2 "$?"
dump >"$TMP/after.dump"
cmp -s "$TMP/before.dump" "$TMP/after.dump" && log "ok: maps unchanged after a bad reload and bad commands" ||
	fail "a bad reload or command changed the maps: $(diff "$TMP/before.dump" "$TMP/after.dump" | head -5)"
kill -0 "$AGENT_PID" || fail "agent died on bad input"
finish
