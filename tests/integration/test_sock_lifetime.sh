#!/bin/bash
# Reverse NAT lives as long as the socket: what getpeername() shows is kept
# in the socket itself (steer_socks_v1, socket-local storage), so no churn
# of other connections can evict it, and it goes when the socket does.
#  - long-lived: one connection is opened, 200,000 short ones follow
#    through the same VIP, and the first one then still reads the VIP from
#    getpeername() (it calls it only at the end: with the old LRU, a read
#    kept the entry warm);
#  - gone-with-their-sockets: once all have closed, `steer status` counts no
#    open steered socket;
#  - ealready: connect() called again until EISCONN steers each socket once.
. "$(dirname "$0")/lib.sh"
setup_world
CHURN=${STEER_TEST_CHURN:-200000}

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
INI
start_echo a 127.0.0.1:9001
start_echo b 127.0.0.1:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 2 || finish

# sockets FIELD: open, steered, closed or aborted, from `steer status --json`.
sockets() {
	"$STEER" status --json | grep -o "\"sockets\":{[^}]*}" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}
# svc_steered: the service's steered counter.
svc_steered() {
	"$STEER" status --json | grep -o '"steered":[0-9]*' | head -1 | cut -d: -f2
}
# wait_sockets_open N: bounded wait until N steered sockets are open.
wait_sockets_open() {
	local tries=100
	while [ "$tries" -gt 0 ]; do
		[ "$(sockets open)" = "$1" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "steered sockets open: expected $1, got '$(sockets open)'"
	return 1
}

echo "subtest long-lived"
spawn_in_cg "$TMP/long.out" "$CLIENT" stream 127.77.0.1:8080 --until-file "$TMP/stop" \
	--interval-us 200000 --late-peer-check --quiet
wait_sockets_open 1
before=$(sockets steered)
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count "$CHURN" --quiet >"$TMP/churn.out"
check_eq "$CHURN short connections answered" "ok=$CHURN fail=0" "$(ok_fail "$TMP/churn.out")"
check_eq "each was steered" "$CHURN" "$(($(sockets steered) - before))"
touch "$TMP/stop"
wait "$LAST_PID"
check_eq "the first connection still reads the VIP, after $CHURN others" "ok" \
	"$(awk '$1 == "ok" && $2 > 0 && $4 == 0 {print "ok"}' "$TMP/long.out")$(grep '^error' "$TMP/long.out")"

echo "subtest gone-with-their-sockets"
wait_sockets_open 0
check_eq "every steered socket was closed" "$(sockets steered)" "$(sockets closed)"

echo "subtest ealready"
s0=$(svc_steered) t0=$(sockets steered)
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 50 --connect-poll --quiet >"$TMP/poll.out"
check_eq "50 connects polled to completion with connect()" "ok=50 fail=0" "$(ok_fail "$TMP/poll.out")"
check_eq "the service counted each connect once" 50 "$(($(svc_steered) - s0))"
check_eq "each socket got one record" 50 "$(($(sockets steered) - t0))"
wait_sockets_open 0
finish
