#!/bin/bash
# The relays of held-then-served connections are counted and bounded:
# - bound-and-idle: with STEER_RELAY_MAX=2, of 4 connections held while the
#   replica is down, exactly 2 are relayed when it comes up and 2 wait, still
#   held; STEER_RELAY_IDLE_MS later the idle relays are reset on both sides,
#   and the 2 that waited take their slots;
# - old-pin-dir: a pin dir without steer_relay_stats_v2, as an older agent
#   left it: `steer status` still reads it, and the agent creates and pins
#   the map;
# - refused: a connection that waits for a relay slot past its retry
#   timeout is reset, and counted as refused.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service held]
vip = 127.77.0.6:8080
replica = 127.0.0.1:19081

[service short]
vip = 127.77.0.7:8080
retry_timeout_ms = 3000
replica = 127.0.0.1:19082
INI

# svc_field SERVICE OBJECT FIELD — a number from the service's "hold" or
# "relays" object in steer status --json (empty if there is none).
svc_field() {
	"$STEER" status --json 2>/dev/null | grep -o "\"name\":\"$1\".*" | grep -o "\"$2\":{[^}]*" |
		head -1 | grep -o "\"$3\":[0-9]*" | cut -d: -f2
}
# wait_field SERVICE OBJECT FIELD VALUE [TRIES] — bounded wait (50 ms a try)
# until the field has the value.
wait_field() {
	local tries=${5:-200}
	while [ "$tries" -gt 0 ]; do
		[ "$(svc_field "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "service $1: $2.$3 never became $4 (it is '$(svc_field "$1" "$2" "$3")')"
	return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "subtest bound-and-idle"
STEER_RELAY_MAX=2 STEER_RELAY_IDLE_MS=1500 start_agent "$TMP/steer.ini" "$TMP/agent1.log" || finish
wait_state 127.0.0.1:19081 down || finish
# Each client: one connection, a request and its reply, 3 s of silence (two
# idle timeouts), then a second request, which must find the relay reset.
CL=()
for i in 1 2 3 4; do
	spawn_in_cg "$TMP/b$i.out" "$CLIENT" stream 127.77.0.6:8080 --count 2 --interval-us 3000000 --timeout-ms 25000
	CL+=($LAST_PID)
done
wait_field held hold held_now 4 || finish
t_up=$(now_ms) # the relays open after this
start_echo r1 127.0.0.1:19081 || finish
wait_field held relays open 2 || finish
wait_field held relays slot_waits 2 || finish
check_eq "relays started while 2 are open" 2 "$(svc_field held relays started)"
check_eq "connections still held, waiting for a slot" 2 "$(svc_field held hold held_now)"
check_eq "relays closed idle so far" 0 "$(svc_field held relays idle_closed)"
check_eq "text status line" "  relays: open=2 started=2 slot_waits=2 refused_full=0 idle_closed=0 failed=0" \
	"$("$STEER" status | grep '^  relays:' | head -1)"
grep -q 'service held: 1 served connections wait for a relay slot: STEER_RELAY_MAX=2' "$TMP/agent1.log" ||
	fail "no log line says connections wait for a relay slot: $(grep -i relay "$TMP/agent1.log")"

# The first two go idle after their reply: reset STEER_RELAY_IDLE_MS later,
# and the two that waited are relayed in their place.
wait_field held relays idle_closed 2 100 || finish
idle_ms=$(($(now_ms) - t_up))
log "the first relays were reset within $idle_ms ms of the replica's start (idle limit 1500 ms)"
[ "$idle_ms" -ge 1500 ] || fail "idle relays reset within $idle_ms ms, before the 1500 ms limit"
wait_field held relays started 4 || finish
check_eq "held connections left" 0 "$(svc_field held hold held_now)"
wait_field held relays idle_closed 4 100 || finish
check_eq "relays open at the end" 0 "$(svc_field held relays open)"
check_eq "relays refused" 0 "$(svc_field held relays refused_full)"
for p in "${CL[@]}"; do wait "$p"; done
for i in 1 2 3 4; do
	check_eq "client $i: served once" "reply r1 1" "$(grep '^reply' "$TMP/b$i.out")"
	grep -Eq '^error (send|recv):(ECONNRESET|EPIPE) 1$' "$TMP/b$i.out" ||
		fail "client $i: its second request did not find the relay reset: $(cat "$TMP/b$i.out")"
done
stop_agent || fail "the agent did not exit cleanly"

echo "subtest old-pin-dir"
rm "$PIN/steer_relay_stats_v2" || fail "steer_relay_stats_v2 was not pinned"
"$STEER" status >"$TMP/old.txt" 2>&1 || fail "steer status failed on a pin dir without the relay map: $(cat "$TMP/old.txt")"
check_eq "relays shown as zero without the map" "  relays: open=0 started=0 slot_waits=0 refused_full=0 idle_closed=0 failed=0" \
	"$(grep '^  relays:' "$TMP/old.txt" | head -1)"
STEER_RELAY_MAX=1 STEER_RELAY_IDLE_MS=0 start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
[ -e "$PIN/steer_relay_stats_v2" ] || fail "the agent did not pin steer_relay_stats_v2"
check_eq "relay counters after the map was recreated" 0 "$(svc_field held relays started)"

echo "subtest refused"
wait_state 127.0.0.1:19082 down || finish
CL=()
for i in 1 2; do
	spawn_in_cg "$TMP/r$i.out" "$CLIENT" stream 127.77.0.7:8080 --count 2 --interval-us 4000000 --timeout-ms 10000
	CL+=($LAST_PID)
done
wait_field short hold held_now 2 || finish
start_echo r2 127.0.0.1:19082 || finish
wait_field short relays started 1 || finish
wait_field short relays slot_waits 1 || finish
# The waiter's 3000 ms retry timeout runs out while the one slot is taken.
wait_field short relays refused_full 1 100 || finish
check_eq "the refused one is a hold timeout too" 1 "$(svc_field short hold timeouts)"
check_eq "relays open" 1 "$(svc_field short relays open)"
grep -q 'service short: 1 held connections reset after 3000 ms; 1 of them had a routable replica but no relay slot (STEER_RELAY_MAX=1)' "$TMP/agent2.log" ||
	fail "no log line for the refused connection: $(grep -i relay "$TMP/agent2.log")"
if command -v curl >/dev/null; then
	in_ns curl -s --max-time 5 http://127.0.0.1:9477/metrics >"$TMP/metrics.txt"
	for series in 'steer_relays_open{service="short"} 1' 'steer_relays_total{service="short"} 1' \
		'steer_relay_slot_waits_total{service="short"} 1' 'steer_relays_refused_total{service="short"} 1'; do
		grep -qxF "$series" "$TMP/metrics.txt" || fail "metrics: no line '$series' in: $(grep relay "$TMP/metrics.txt")"
	done
else
	log "no curl: metrics not checked"
fi
for p in "${CL[@]}"; do wait "$p"; done
outs=$(for i in 1 2; do grep -E '^(reply|error|ok)' "$TMP/r$i.out" | tr '\n' ' '; echo; done | sort)
check_eq "one relayed throughout, one reset while it waited" \
	"error recv:ECONNRESET 1 ok 0 fail 1 
reply r2 2 ok 2 fail 0 " "$outs"
finish
