#!/bin/bash
# The hold path reaches only the agent's own live listener, and the agent
# relays only what the datapath sent there. With every replica of a service
# down, its connects are held by the agent. Any process that connects to
# the hold listener itself (one for every service, published in
# steer_hold_v2), from inside the steered cgroup or outside it, is reset at
# once and counted as untrusted: a replica that is up never sees it. After
# a `kill -9` of the agent, an unprivileged process binds the port the hold
# listener had in the clients' namespace: a client's connect to the VIP
# must fail with EHOSTUNREACH, as with no agent, and that process must
# receive nothing. Then a new agent holds again.
. "$(dirname "$0")/lib.sh"
setup_world
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || skip "no nobody/nogroup account"

cat >"$TMP/steer.ini" <<INI
[service held]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
retry_timeout_ms = 400

[service open]
vip = 127.77.0.2:8080
replica = 127.0.0.1:9002
INI
start_echo r2 127.0.0.1:9002 || finish
start_agent "$TMP/steer.ini" || finish

# listener_value FIELD — local, remote or untrusted of the IPv4 hold listener.
listener_value() {
	"$STEER" status --json | grep -o '"hold_listeners":\[{"family":"ipv4"[^}]*}' |
		grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

# hold_port — the IPv4 hold listener's port from steer_hold_v2 (index 0),
# which bpftool prints as the raw network-order bytes.
hold_port() {
	bpftool -j map lookup pinned "$PIN/steer_hold_v2" key 0 0 0 0 |
		grep -o '"port":[0-9]*' | cut -d: -f2 | awk '{print int($1 / 256) + ($1 % 256) * 256}'
}

echo "subtest held-while-the-agent-runs"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 2000 --quiet >"$TMP/held.out"
grep -q '^error recv:ECONNRESET 1$' "$TMP/held.out" ||
	fail "a held connect was not reset at its timeout: $(cat "$TMP/held.out")"
port=$(hold_port)
[ -n "$port" ] && [ "$port" -gt 0 ] || { fail "no hold port published: '$port'"; finish; }
log "hold listener on 127.0.0.1:$port"
check_eq "held misses counted as local" 1 "$(listener_value local)"

echo "subtest plain-connect-to-the-listener-is-reset"
wait_state 127.0.0.1:9002 up || finish
in_ns "$CLIENT" tcp "127.0.0.1:$port" --count 3 --timeout-ms 1000 --quiet >"$TMP/outside.out"
in_cg "$CLIENT" tcp "127.0.0.1:$port" --count 3 --timeout-ms 1000 --quiet >"$TMP/inside.out"
check_eq "replies from the replica outside the cgroup" 0 "$(reply_count "$TMP/outside.out" r2)"
check_eq "replies from the replica inside the cgroup" 0 "$(reply_count "$TMP/inside.out" r2)"
check_eq "served outside the cgroup" "ok 0 fail 3" "$(grep '^ok' "$TMP/outside.out")"
check_eq "served inside the cgroup" "ok 0 fail 3" "$(grep '^ok' "$TMP/inside.out")"
check_eq "counted as untrusted" 6 "$(listener_value untrusted)"
check_eq "the replica's connections" 0 "$(replica_value 127.0.0.1:9002 steered)"
grep -q "reset 1 connections that were not a steered miss" "$TMP/agent.log" ||
	fail "no log line for the untrusted connections: $(tail -3 "$TMP/agent.log")"
"$STEER" status | grep -q "^hold listener ipv4 127.0.0.1:$port local=1 remote=0 untrusted=6$" ||
	fail "status: $("$STEER" status | grep '^hold listener')"
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 1 --timeout-ms 1000 --quiet >"$TMP/open.out"
check_eq "a steered connect still reaches the replica" 1 "$(reply_count "$TMP/open.out" r2)"

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
