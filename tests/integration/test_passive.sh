#!/bin/bash
# Passive ejection on failed connects (SYN_SENT -> CLOSE): a replica nothing
# listens on is ejected after STEER_PASSIVE_EJECT_FAILURES failed connects,
# the failures are counted per replica, and clients then reach only the live
# one. Also: a wildcard listener closing ejects the local replica on its port.
. "$(dirname "$0")/lib.sh"
setup_world
export STEER_PASSIVE_EJECT_FAILURES=2

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9009

[service wild]
vip = 127.77.0.2:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9004
INI
start_echo r1 127.0.0.1:9001
start_echo any 0.0.0.0:9004
start_agent "$TMP/steer.ini" || finish
wait_all_up 4 || finish

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

echo "subtest wildcard-listener-closed"
kill "$ECHO_PID_any"
wait "$ECHO_PID_any" 2>/dev/null
wait_state 127.0.0.1:9004 down
st=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9004"[^}]*')
echo "$st" | grep -q '"eject_reason":"listener-closed"' || fail "reason is not listener-closed: $st"
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 100 --quiet >"$TMP/w.out"
check_eq "after the wildcard listener closed, every connect is served" "ok=100 fail=0" "$(ok_fail "$TMP/w.out")"
finish
