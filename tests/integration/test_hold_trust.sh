#!/bin/bash
# The hold path reaches only the agent's own live listener. With every
# replica of a service down, its connects are held by the agent. After a
# `kill -9` of the agent, an unprivileged process binds the port the hold
# listener had (published in steer_hold_v1) in the clients' namespace: a
# client's connect to the VIP must fail with EHOSTUNREACH, as with no agent,
# and that process must receive nothing. Then a new agent holds again.
. "$(dirname "$0")/lib.sh"
setup_world
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || skip "no nobody/nogroup account"

cat >"$TMP/steer.ini" <<INI
[service held]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
retry_timeout_ms = 400
INI
start_agent "$TMP/steer.ini" || finish

# hold_port — the hold listener's port from steer_hold_v1 (service id 0),
# which bpftool prints as the raw network-order bytes.
hold_port() {
	bpftool -j map lookup pinned "$PIN/steer_hold_v1" key 0 0 0 0 |
		grep -o '"port":[0-9]*' | cut -d: -f2 | awk '{print int($1 / 256) + ($1 % 256) * 256}'
}

echo "subtest held-while-the-agent-runs"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 2000 --quiet >"$TMP/held.out"
grep -q '^error recv:ECONNRESET 1$' "$TMP/held.out" ||
	fail "a held connect was not reset at its timeout: $(cat "$TMP/held.out")"
port=$(hold_port)
[ -n "$port" ] && [ "$port" -gt 0 ] || { fail "no hold port published: '$port'"; finish; }
log "hold listener on 127.0.0.1:$port"

echo "subtest stale-port-after-kill"
"$BUILD/steer-kill" "$AGENT_PID" >/dev/null
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=""
check_eq "the dead agent's port is still published" "$port" "$(hold_port)"
out=$TMP/stranger.out
nsenter --net="/run/netns/$NS" -- setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$ECHO" --name stranger --listen "127.0.0.1:$port" --tcp-only >"$out" 2>&1 &
PIDS+=($!)
wait_for_line "$out" '^listening' || { fail "the stranger could not bind $port: $(cat "$out")"; finish; }
log "an unprivileged process listens on 127.0.0.1:$port"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 5 --timeout-ms 1000 --quiet >"$TMP/c.out"
check_eq "replies from the stranger" 0 "$(reply_count "$TMP/c.out" stranger)"
check_eq "every connect fails as with no agent" "error connect:EHOSTUNREACH 5" \
	"$(grep '^error' "$TMP/c.out")"

echo "subtest a-new-agent-holds-again"
start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 2000 --quiet >"$TMP/held2.out"
grep -q '^error recv:ECONNRESET 1$' "$TMP/held2.out" ||
	fail "the new agent did not hold the connect: $(cat "$TMP/held2.out")"
check_eq "replies from the stranger" 0 "$(reply_count "$TMP/held2.out" stranger)"
finish
