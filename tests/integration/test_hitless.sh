#!/bin/bash
# Hitless restart and upgrade. Clients run a connect/request/close loop at
# about 1000 connections a second plus 50 long-lived connections exchanging
# data, while (1) the agent is killed with -9 and started again 10 times, and
# (2) an agent built with different BPF programs takes over, swapping them in
# place through the pinned links. Expected: no failed connect, no reset or
# stall on a long-lived connection, the connect hook's link never replaced.
. "$(dirname "$0")/lib.sh"
setup_world
UPGRADE=$BUILD/upgrade/steer
[ -x "$UPGRADE" ] || skip "no upgrade build at $UPGRADE (make $UPGRADE)"

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003
INI
for i in 1 2 3; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish

# start_load TAG: the CRR loop and 50 streams, until $TMP/stop-TAG exists.
start_load() {
	LOAD=()
	spawn_in_cg "$TMP/crr-$1.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop-$1" --interval-us 600 --quiet
	LOAD+=($LAST_PID)
	for i in $(seq 50); do
		spawn_in_cg "$TMP/stream-$1-$i.out" "$CLIENT" stream 127.77.0.1:8080 --until-file "$TMP/stop-$1" --interval-us 50000 --timeout-ms 2000 --quiet
		LOAD+=($LAST_PID)
	done
}
# stop_load TAG: stop the load and check it: no failure anywhere.
stop_load() {
	touch "$TMP/stop-$1"
	for p in "${LOAD[@]}"; do wait "$p"; done
	local crr streams_failed=0 stream_ok=0
	crr=$(ok_fail "$TMP/crr-$1.out")
	for i in $(seq 50); do
		f=$(awk '$1 == "ok" {print $4}' "$TMP/stream-$1-$i.out")
		o=$(awk '$1 == "ok" {print $2}' "$TMP/stream-$1-$i.out")
		stream_ok=$((stream_ok + ${o:-0}))
		[ "${f:-1}" = 0 ] || { streams_failed=$((streams_failed + 1)); log "stream $i: $(grep -v '^reply' "$TMP/stream-$1-$i.out" | tr '\n' ' ')"; }
	done
	log "$1: CRR $crr; 50 streams: $stream_ok exchanges, $streams_failed streams failed"
	check_eq "$1: no failed CRR connect" 0 "$(awk '$1 == "ok" {print $4}' "$TMP/crr-$1.out")"
	check_eq "$1: no reset or stall on a long-lived connection" 0 "$streams_failed"
}
link_of() { bpftool -j link show pinned "$PIN/link_sock4_connect" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

echo "subtest old-layout-map-removed"
# A map pinned by an older steer with another layout (an older _vN name).
bpftool map create "$PIN/steer_svc_v0" type hash key 4 value 4 entries 1 name steer_svc_v0 ||
	fail "cannot create a stand-in old map"
stop_agent
start_agent "$TMP/steer.ini" "$TMP/agent-prune.log" || finish
[ ! -e "$PIN/steer_svc_v0" ] || fail "the old-layout map steer_svc_v0 is still pinned"
grep -q 'removed .*steer_svc_v0' "$TMP/agent-prune.log" || fail "no log line for the removed old map"

echo "subtest restart-kill-9-x10"
start_load restart
link_before=$(link_of id)
for round in $(seq 10); do
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=""
	start_agent "$TMP/steer.ini" "$TMP/agent-r$round.log" || break
	grep -q 'adopted=9 attached=0' "$TMP/agent-r$round.log" || fail "round $round: links not adopted: $(grep ready "$TMP/agent-r$round.log")"
	sleep 0.2
done
stop_load restart
check_eq "the connect hook's link is the same one after 10 restarts" "$link_before" "$(link_of id)"

echo "subtest upgrade"
prog_before=$(link_of prog_id)
tag_before=$(bpftool -j prog show id "$prog_before" | grep -o '"tag":"[0-9a-f]*"')
start_load upgrade
sleep 0.5
stop_agent
nsenter --net="/run/netns/$NS" -- "$UPGRADE" run --config "$TMP/steer.ini" 2>"$TMP/agent-up.log" &
AGENT_PID=$!
wait_for_line "$TMP/agent-up.log" 'ready:' || fail "upgraded agent did not start: $(cat "$TMP/agent-up.log")"
sleep 0.5
stop_load upgrade
prog_after=$(link_of prog_id)
[ -n "$prog_after" ] && [ "$prog_after" != "$prog_before" ] || fail "the connect hook still runs program $prog_before"
check_eq "the connect hook's link survived the upgrade" "$link_before" "$(link_of id)"
tag_after=$(bpftool -j prog show id "$prog_after" | grep -o '"tag":"[0-9a-f]*"')
log "connect hook program before: id $prog_before $tag_before; after: id $prog_after $tag_after"
[ "$tag_before" != "$tag_after" ] || fail "the upgraded program has the same tag: the test did not change the code"
finish
