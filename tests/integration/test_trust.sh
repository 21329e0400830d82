#!/bin/bash
# Trust boundaries: the pin directory is 0700 and the control socket 0600 and
# root-only; STEER_CONTROL_GROUP admits one group (socket root:GROUP 0660);
# anyone else is refused and changes nothing.
. "$(dirname "$0")/lib.sh"
setup_world
getent group nogroup >/dev/null && getent passwd nobody >/dev/null || skip "no nobody/nogroup account"
chmod 0711 "$TMP"
mkdir -m 0755 "$TMP/ctl"
export STEER_CONTROL_SOCKET=$TMP/ctl/steer.sock
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
INI
start_echo r1 127.0.0.1:9001
start_agent "$TMP/steer.ini" || finish

echo "subtest modes"
check_eq "pin directory mode" 700 "$(stat -c %a "$PIN")"
check_eq "control socket mode" 600 "$(stat -c %a "$STEER_CONTROL_SOCKET")"

echo "subtest non-root-refused"
as_nobody "$STEER" replica drain web 127.0.0.1:9001 >"$TMP/nobody.out" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "an unprivileged user drained a replica: $(cat "$TMP/nobody.out")"
log "refused (exit $rc): $(head -1 "$TMP/nobody.out")"
check_eq "replica still up" "127.0.0.1:9001=up" "$(replica_states)"
stop_agent

echo "subtest control-group"
STEER_CONTROL_GROUP=nogroup start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
check_eq "control socket mode with a group" 660 "$(stat -c %a "$STEER_CONTROL_SOCKET")"
check_eq "control socket group" nogroup "$(stat -c %G "$STEER_CONTROL_SOCKET")"
as_nobody "$STEER" replica drain web 127.0.0.1:9001 >"$TMP/group.out" 2>&1 ||
	fail "a member of STEER_CONTROL_GROUP was refused: $(cat "$TMP/group.out")"
wait_state 127.0.0.1:9001 draining
stop_agent

echo "subtest unknown-group"
STEER_CONTROL_GROUP=no-such-group-here nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$TMP/steer.ini" >"$TMP/bad.out" 2>&1
check_eq "an unknown STEER_CONTROL_GROUP exits 2" 2 "$?"
grep -q "STEER_CONTROL_GROUP='no-such-group-here'" "$TMP/bad.out" || fail "message does not name the group: $(cat "$TMP/bad.out")"
"$STEER" down >/dev/null 2>&1
STEER_CONTROL_GROUP=no-such-group-here nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$TMP/steer.ini" >/dev/null 2>&1
[ ! -e "$PIN" ] || fail "a refused STEER_CONTROL_GROUP still created $PIN"
finish
