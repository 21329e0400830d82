#!/bin/bash
# Passive ejection on failed connects (SYN_SENT -> CLOSE): a replica nothing
# listens on is ejected after STEER_PASSIVE_EJECT_FAILURES failed connects,
# the failures are counted per replica, and clients then reach only the live
# one. Also: a wildcard listener closing ejects the local replica on its port.
# Only what the replica did counts: connects that clients abort themselves,
# and the agent's own timed-out probes, eject nothing.
. "$(dirname "$0")/lib.sh"
setup_world
export STEER_PASSIVE_EJECT_FAILURES=2

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9009

[service silent]
vip = 127.77.0.3:8080
health = none
replica = 198.18.0.2:9020

[service probed]
vip = 127.77.0.4:8080
health_timeout_ms = 100
replica = 198.18.0.2:9021

[service wild]
vip = 127.77.0.2:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9004
INI
# 198.18.0.2 is on a veth link in the test namespace that nobody answers on:
# a SYN to it is never answered, so a connect stays in SYN_SENT.
ip -n "$NS" link add sa type veth peer name sb
ip -n "$NS" addr add 198.18.0.1/24 dev sa
ip -n "$NS" link set sa up
ip -n "$NS" link set sb up
start_echo r1 127.0.0.1:9001
start_echo any 0.0.0.0:9004
start_agent "$TMP/steer.ini" || finish
wait_all_up 5 || finish

echo "subtest connect-failures-eject"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 200 --quiet >"$TMP/c.out"
fails=$(awk '$1 == "ok" {print $4}' "$TMP/c.out")
log "200 connects with one dead replica: $(ok_fail "$TMP/c.out")"
check_eq "exactly STEER_PASSIVE_EJECT_FAILURES connects failed before the ejection" 2 "$fails"
wait_state 127.0.0.1:9009 down
st=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9009"[^}]*')
echo "$st" | grep -q '"eject_reason":"connect-failed"' || fail "reason is not connect-failed: $st"
fc=$(echo "$st" | grep -o '"failed_connects":[0-9]*' | cut -d: -f2)
[ "${fc:-0}" -ge 2 ] || fail "failed connects not counted for 127.0.0.1:9009: $st"

# replica_field ADDR FIELD — a field of a replica in steer status --json.
replica_field() {
	"$STEER" status --json | grep -o "\"address\":\"$1\"[^}]*" | grep -o "\"$2\":[^,]*" | cut -d: -f2
}

echo "subtest client-aborts-eject-nothing"
in_cg "$CLIENT" tcp 127.77.0.3:8080 --count 20 --timeout-ms 50 --quiet >"$TMP/a.out"
log "20 connects that their client abandoned after 50 ms: $(grep '^error' "$TMP/a.out" | tr '\n' ' ')"
check_eq "failed connects counted against 198.18.0.2:9020" 0 "$(replica_field 198.18.0.2:9020 failed_connects)"
check_eq "198.18.0.2:9020 ejected" false "$(replica_field 198.18.0.2:9020 ejected)"
check_eq "198.18.0.2:9020 state" '"up"' "$(replica_field 198.18.0.2:9020 state)"

echo "subtest timed-out-probes-eject-nothing"
wait_state 198.18.0.2:9021 down
check_eq "why 198.18.0.2:9021 is down" '"check-failed"' "$(replica_field 198.18.0.2:9021 eject_reason)"
check_eq "failed connects counted for the agent's own timed-out probes" 0 \
	"$(replica_field 198.18.0.2:9021 failed_connects)"

echo "subtest wildcard-listener-closed"
kill "$ECHO_PID_any"
wait "$ECHO_PID_any" 2>/dev/null
wait_state 127.0.0.1:9004 down
st=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9004"[^}]*')
echo "$st" | grep -q '"eject_reason":"listener-closed"' || fail "reason is not listener-closed: $st"
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 100 --quiet >"$TMP/w.out"
check_eq "after the wildcard listener closed, every connect is served" "ok=100 fail=0" "$(ok_fail "$TMP/w.out")"
finish
