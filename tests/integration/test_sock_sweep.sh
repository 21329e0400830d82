#!/bin/bash
# Connected sockets do not black-hole: when a replica leaves (down, or
# removed), the connected UDP sockets steered to it are aborted, so their
# application gets ECONNABORTED, connects again and reaches a replica that
# is there. Unconnected UDP sockets are never touched. Established TCP to a
# removed replica is aborted only with STEER_SOCK_DESTROY_TCP=on.
#  - udp4-dead: a resolver-like client on one connected socket queries every
#    10 ms; its replica, on another host, dies silently (process killed,
#    address gone: no ICMP); the client's queries reach the other replica
#    soon after the checks take the dead one down;
#  - udp4-unconnected: an unconnected socket beside it is never aborted;
#  - udp6-removed: `steer replica remove` of a live replica moves a
#    connected client off it;
#  - tcp-removed-off / tcp-removed-on: an established connection to a
#    removed replica carries on by default, and is aborted when opted in.
. "$(dirname "$0")/lib.sh"
setup_world
add_host
# A permanent neighbour entry: once 198.18.0.2 is gone from the other host,
# packets to it vanish there without an ICMP error or a failed ARP.
mac=$(ip -n "$HOST" -br link show vb-$$ | awk '{print $3}')
ip -n "$NS" neigh replace 198.18.0.2 lladdr "$mac" dev va-$$ nud permanent

cat >"$TMP/steer.ini" <<INI
[service dns4]
vip = 198.18.100.2:5353
protocol = udp
health = tcp
replica = 198.18.0.2:9301
replica = 127.0.0.1:9302

[service dns6]
vip = [fd00:100::2]:5353
protocol = udp
health = tcp
replica = [::1]:9303
replica = [::1]:9304

[service web]
vip = 127.77.0.3:8080
replica = 127.0.0.1:9311
replica = 127.0.0.1:9312
INI
out=$TMP/echo-r1.out
ip netns exec "$HOST" "$ECHO" --name r1 --listen 198.18.0.2:9301 >"$out" 2>&1 &
R1_PID=$!
PIDS+=($R1_PID)
wait_for_line "$out" '^listening' || { fail "r1 did not start: $(cat "$out")"; finish; }
start_echo r3 "[::1]:9303"
start_echo w1 127.0.0.1:9311
start_agent "$TMP/steer.ini" || finish
wait_state 198.18.0.2:9301 up || finish
wait_state "[::1]:9303" up || finish
wait_state 127.0.0.1:9311 up || finish

now_ms() { date +%s%3N; }
# replica_steered ADDR:PORT: the datapath's steered counter of a replica.
replica_steered() { replica_value "$1" steered; }
# wait_steered ADDR:PORT N: bounded wait until the replica was steered to N times.
wait_steered() {
	local tries=100
	while [ "$tries" -gt 0 ]; do
		[ "$(replica_steered "$1")" -ge "$2" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "$1 was never steered to"
	return 1
}
# switch_after OUTPUT FROM TO T: ms from T to the client's first reply from
# TO after FROM, or "none".
switch_after() {
	awk -v f="$2" -v t="$3" -v t0="$4" '$1 == "switch" && $2 == f && $3 == t {print $4 - t0; found = 1; exit}
		END {if (!found) print "none"}' "$1"
}

echo "subtest udp4-dead"
# Only r1 is up when the clients start, so both use it.
spawn_in_cg "$TMP/conn4.out" "$CLIENT" resolver 198.18.100.2:5353 --connected \
	--interval-us 10000 --timeout-ms 100 --until-file "$TMP/stop4" --quiet
CONN4=$LAST_PID
spawn_in_cg "$TMP/unconn4.out" "$CLIENT" resolver 198.18.100.2:5353 \
	--interval-us 10000 --timeout-ms 100 --until-file "$TMP/stop4" --quiet
UNCONN4=$LAST_PID
wait_steered 198.18.0.2:9301 2
start_echo r2 127.0.0.1:9302
wait_state 127.0.0.1:9302 up
t_kill=$(now_ms)
# The address first: a process killed first would have its host answer
# the next datagram with port-unreachable, which the client would see.
ip -n "$HOST" addr del 198.18.0.2/24 dev vb-$$
kill -9 "$R1_PID"
wait_state 198.18.0.2:9301 down
t_down=$(now_ms)
# The clients carry on for a second after the replica is down.
sleep 1
touch "$TMP/stop4"
wait "$CONN4" "$UNCONN4"
moved=$(switch_after "$TMP/conn4.out" r1 r2 "$t_kill")
log "r1 killed at 0 ms, down at $((t_down - t_kill)) ms, the connected client's first reply from r2 at $moved ms"
[ "$moved" != none ] || fail "the connected client never left the dead replica: $(cat "$TMP/conn4.out")"
[ "$moved" = none ] || [ "$moved" -le $((t_down - t_kill + 1000)) ] ||
	fail "the connected client left the dead replica only $moved ms after it died"
# Aborted: the next call fails with ECONNABORTED, or, if the abort came
# between two queries, the send finds the socket disconnected.
grep -q '^error \(recv\|send\):\(ECONNABORTED\|EDESTADDRREQ\)' "$TMP/conn4.out" ||
	fail "the connected client's socket was not aborted: $(cat "$TMP/conn4.out")"
check_eq "the connected client's last replies come from r2" r2 \
	"$(awk '$1 == "switch" {last = $3} END {print last}' "$TMP/conn4.out")"

echo "subtest udp4-unconnected"
check_eq "the unconnected socket was never aborted" "" "$(grep ECONNABORTED "$TMP/unconn4.out")"
[ "$(reply_count "$TMP/unconn4.out" r2)" -gt 0 ] ||
	fail "the unconnected socket's datagrams never reached r2: $(cat "$TMP/unconn4.out")"
check_eq "sockets aborted so far" 1 "$("$STEER" status --json | grep -o '"aborted":[0-9]*' | cut -d: -f2)"

echo "subtest udp6-removed"
spawn_in_cg "$TMP/conn6.out" "$CLIENT" resolver "[fd00:100::2]:5353" --connected \
	--interval-us 10000 --timeout-ms 100 --until-file "$TMP/stop6" --quiet
CONN6=$LAST_PID
wait_steered "[::1]:9303" 1
start_echo r4 "[::1]:9304"
wait_state "[::1]:9304" up
t_rm=$(now_ms)
out=$("$STEER" replica remove dns6 "[::1]:9303" 2>&1) || fail "replica remove: $out"
before=$(grep -c . "$TMP/echo-r3.out")
sleep 0.5
touch "$TMP/stop6"
wait "$CONN6"
moved=$(switch_after "$TMP/conn6.out" r3 r4 "$t_rm")
log "[::1]:9303 removed at 0 ms; the connected client's first reply from r4 at $moved ms"
[ "$moved" != none ] || fail "the connected client kept the removed replica: $(cat "$TMP/conn6.out")"
[ "$moved" = none ] || [ "$moved" -le 1000 ] || fail "it left the removed replica only after $moved ms"

echo "subtest tcp-removed-off"
spawn_in_cg "$TMP/stream-off.out" "$CLIENT" stream 127.77.0.3:8080 --interval-us 20000 \
	--until-file "$TMP/stop-off" --quiet
STREAM=$LAST_PID
wait_steered 127.0.0.1:9311 1
start_echo w2 127.0.0.1:9312
wait_state 127.0.0.1:9312 up
out=$("$STEER" replica remove web 127.0.0.1:9311 2>&1) || fail "replica remove: $out"
sleep 0.5
touch "$TMP/stop-off"
wait "$STREAM"
check_eq "by default an established connection to a removed replica carries on" "" \
	"$(grep '^error' "$TMP/stream-off.out")"

echo "subtest tcp-removed-on"
stop_agent
kill "$ECHO_PID_w2"
STEER_SOCK_DESTROY_TCP=on start_agent "$TMP/steer.ini" "$TMP/agent2.log" || finish
wait_state 127.0.0.1:9311 up
wait_state 127.0.0.1:9312 down
s0=$(replica_steered 127.0.0.1:9311)
spawn_in_cg "$TMP/stream-on.out" "$CLIENT" stream 127.77.0.3:8080 --interval-us 20000 \
	--duration-ms 5000 --quiet
STREAM=$LAST_PID
wait_steered 127.0.0.1:9311 $((s0 + 1))
out=$("$STEER" replica remove web 127.0.0.1:9311 2>&1) || fail "replica remove: $out"
wait "$STREAM"
grep -q '^error .*ECONNABORTED\|^error .*ECONNRESET\|^error recv:EOF' "$TMP/stream-on.out" ||
	fail "with STEER_SOCK_DESTROY_TCP=on the connection to the removed replica was not aborted: $(cat "$TMP/stream-on.out")"
finish
