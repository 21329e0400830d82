#!/bin/bash
# The per-service hold, relay and check stats live in hashes that hold only
# the services with a non-zero counter (steer_*_stats_v2):
# - idle: a service that never held a connection has no entry; one that
#   did has one, and its counters show in steer status;
# - upgrade: a pin dir with the arrays of an older version
#   (steer_*_stats_v1, made here with bpftool, with counters in them) and
#   no _v2 maps: steer status reads the arrays; the agent carries their
#   counters over (held_now and open start over), prunes the arrays, and
#   the counters survive a restart;
# - removed: a service gone from the config on SIGHUP leaves no entry;
# - down: `steer down` also removes a v1 array no agent has pruned.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service held]
vip = 127.77.0.8:8080
replica = 127.0.0.1:19083

[service idle]
vip = 127.77.0.9:8080
health = none
replica = 127.0.0.1:19084
INI
sed '/^\[service held\]/,/^$/d' "$TMP/steer.ini" >"$TMP/idle-only.ini"

# svc_id NAME — the service's id in steer status --json.
svc_id() {
	"$STEER" status --json | jq -r --arg n "$1" '.services[] | select(.name == $n) | .id'
}
# svc_json NAME OBJECT FIELD — a field of the service's hold or relays object.
svc_json() {
	"$STEER" status --json | jq -r --arg n "$1" --arg o "$2" --arg f "$3" \
		'.services[] | select(.name == $n) | .[$o][$f]'
}
# key ID — a __u32 key as bpftool's bytes (host order).
key() { u32 "$1"; }
u32() { local i; for i in 0 1 2 3; do printf '%02x ' $((($1 >> (8 * i)) & 255)); done; }
u64() { local i; for i in 0 1 2 3 4 5 6 7; do printf '%02x ' $((($1 >> (8 * i)) & 255)); done; }
zeros() { local i; for ((i = 0; i < $1; i++)); do printf '00 '; done; }
# has_entry MAP ID — does the pinned map have an entry for the service id?
has_entry() { bpftool map lookup pinned "$PIN/$1" key $(key "$2") >/dev/null 2>&1; }
# entries MAP — how many entries the pinned map holds.
entries() { bpftool -j map dump pinned "$PIN/$1" | jq length; }
# field MAP ID PATH — a field of an entry, by name (BTF), e.g. .checks
field() { bpftool -j map lookup pinned "$PIN/$1" key $(key "$2") | jq -r ".formatted.value$3"; }

echo "subtest idle"
start_agent "$TMP/steer.ini" || finish
held=$(svc_id held) idle=$(svc_id idle)
log "service ids: held=$held idle=$idle"
# The held service's replica is not listening: a connect is held, then
# reset by the client; the hold counters get an entry.
wait_state 127.0.0.1:19083 down || finish
in_cg "$CLIENT" tcp 127.77.0.8:8080 --timeout-ms 300 --quiet >"$TMP/c.out" 2>&1
tries=100
until [ "$(svc_json held hold abandoned)" = 1 ] || [ "$tries" -eq 0 ]; do
	sleep 0.05
	tries=$((tries - 1))
done
check_eq "held connection abandoned and counted" 1 "$(svc_json held hold abandoned)"
has_entry steer_hold_stats_v2 "$held" || fail "no hold stats entry for the service that held"
has_entry steer_check_stats_v2 "$held" || fail "no check stats entry for the checked service"
for m in steer_hold_stats_v2 steer_relay_stats_v2 steer_check_stats_v2; do
	has_entry $m "$idle" && fail "$m has an entry for the idle service"
done
check_eq "hold stats entries" 1 "$(entries steer_hold_stats_v2)"
check_eq "relay stats entries (none relayed)" 0 "$(entries steer_relay_stats_v2)"
check_eq "idle service hold counters read as zero" 0 "$(svc_json idle hold held_total)"
stop_agent || fail "the agent did not exit cleanly"

echo "subtest upgrade"
# What an older agent left: the arrays, with counters, and no hashes. The
# running programs keep the hashes they use until the agent swaps them.
for m in hold relay check; do rm "$PIN/steer_${m}_stats_v2" || fail "steer_${m}_stats_v2 was not pinned"; done
hold_v=$(u64 5; u64 7; u64 6; u64 1; u64 0; u64 6; u64 9; u64 0; zeros 1024)
relay_v=$(u64 2; u64 3; u64 1; u64 0; u64 1; u64 0)
check_v=$(u64 1234; u64 5; u64 0; u64 9; u64 0; u64 0; zeros 512)
bpftool map create "$PIN/steer_hold_stats_v1" type array key 4 value 1088 entries 256 name steer_hold_stat &&
	bpftool map create "$PIN/steer_relay_stats_v1" type array key 4 value 48 entries 256 name steer_relay_sta &&
	bpftool map create "$PIN/steer_check_stats_v1" type array key 4 value 560 entries 256 name steer_check_sta &&
	bpftool map update pinned "$PIN/steer_hold_stats_v1" key $(key "$held") value hex $hold_v &&
	bpftool map update pinned "$PIN/steer_relay_stats_v1" key $(key "$held") value hex $relay_v &&
	bpftool map update pinned "$PIN/steer_check_stats_v1" key $(key "$held") value hex $check_v ||
	{ fail "cannot make the v1 arrays with bpftool"; finish; }
check_eq "status reads the v1 array before the upgrade" 7 "$(svc_json held hold held_total)"
start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
grep -q "carried the counters of 1 service over from $PIN/steer_hold_stats_v1" "$TMP/agent2.log" ||
	fail "no carry-over logged: $(cat "$TMP/agent2.log")"
for m in hold relay check; do
	[ -e "$PIN/steer_${m}_stats_v1" ] && fail "steer_${m}_stats_v1 was not pruned"
	[ -e "$PIN/steer_${m}_stats_v2" ] || fail "steer_${m}_stats_v2 was not pinned"
done
check_eq "held_total carried over" 7 "$(svc_json held hold held_total)"
check_eq "served carried over" 6 "$(svc_json held hold served)"
check_eq "attempts_total carried over" 9 "$(svc_json held hold attempts_total)"
check_eq "held_now starts over" 0 "$(svc_json held hold held_now)"
check_eq "relays started carried over" 3 "$(svc_json held relays started)"
check_eq "relays idle_closed carried over" 1 "$(svc_json held relays idle_closed)"
check_eq "relays open start over" 0 "$(svc_json held relays open)"
check_eq "ejections by listener close carried over" 9 "$(field steer_check_stats_v2 "$held" '.ejections[1]')"
checks=$(field steer_check_stats_v2 "$held" .checks)
[ "$checks" -ge 1234 ] 2>/dev/null || fail "checks not carried over: expected >= 1234, got '$checks'"
has_entry steer_hold_stats_v2 "$idle" && fail "the idle service got a hold stats entry in the upgrade"
stop_agent || fail "the agent did not exit cleanly"
start_agent "$TMP/steer.ini" "$TMP/agent3.log" || finish
grep -q "carried the counters" "$TMP/agent3.log" && fail "counters carried over again without v1 arrays"
check_eq "held_total after a restart" 7 "$(svc_json held hold held_total)"

echo "subtest removed"
cp "$TMP/idle-only.ini" "$TMP/steer.ini"
kill -HUP "$AGENT_PID"
tries=100
while has_entry steer_hold_stats_v2 "$held" || has_entry steer_check_stats_v2 "$held" ||
	has_entry steer_relay_stats_v2 "$held"; do
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || break
	sleep 0.05
done
for m in steer_hold_stats_v2 steer_relay_stats_v2 steer_check_stats_v2; do
	has_entry $m "$held" && fail "$m kept the removed service's entry"
	check_eq "$m entries after the removal" 0 "$(entries $m)"
done
stop_agent || fail "the agent did not exit cleanly"

echo "subtest down"
bpftool map create "$PIN/steer_hold_stats_v1" type array key 4 value 1088 entries 256 name steer_hold_stat ||
	fail "cannot make a v1 array with bpftool"
"$STEER" down >"$TMP/down.out" 2>&1 || fail "steer down failed: $(cat "$TMP/down.out")"
[ -e "$PIN" ] && fail "steer down left $PIN: $(ls "$PIN")"
finish
