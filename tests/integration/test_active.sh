#!/bin/bash
# Active connections per replica, counted in the kernel: a steered TCP
# connection counts toward its replica from the steered connect() until its
# socket is closed, whatever ended it.
#  - open-and-close4: 10 long-lived connections over 2 replicas are 10
#    active, split as the datapath steered them; all 0 once they close;
#  - killed-replica: connections reset by a killed replica leave the count;
#  - tcp6: the same over IPv6.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service web6]
vip = [fd00::77]:8080
replica = [::1]:9003
INI
start_echo a 127.0.0.1:9001
start_echo b 127.0.0.1:9002
start_echo c "[::1]:9003"
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish

# active ADDR:PORT: the replica's active connections, from `steer status --json`.
active() { replica_value "$1" active; }
# wait_active ADDR:PORT N: bounded wait until the replica has N active.
wait_active() {
	local tries=100
	while [ "$tries" -gt 0 ]; do
		[ "$(active "$1")" = "$2" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "$1: expected $2 active connections, got '$(active "$1")'"
	return 1
}
# streams N VIP STOPFILE: N long-lived connections; their pids in STREAMS.
streams() {
	STREAMS=()
	for i in $(seq "$1"); do
		spawn_in_cg "$TMP/stream-$i.out" "$CLIENT" stream "$2" --interval-us 50000 \
			--until-file "$3" --quiet
		STREAMS+=("$LAST_PID")
	done
}
# total_active: open connections both replicas of web count.
total_active() { echo $(($(active 127.0.0.1:9001) + $(active 127.0.0.1:9002))); }

echo "subtest open-and-close4"
streams 10 127.77.0.1:8080 "$TMP/stop1"
tries=100
while [ "$(total_active)" != 10 ] && [ $tries -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
check_eq "10 connections open, counted over both replicas" 10 "$(total_active)"
log "split: 127.0.0.1:9001=$(active 127.0.0.1:9001) 127.0.0.1:9002=$(active 127.0.0.1:9002)"
touch "$TMP/stop1"
wait "${STREAMS[@]}"
wait_active 127.0.0.1:9001 0
wait_active 127.0.0.1:9002 0

echo "subtest killed-replica"
streams 6 127.77.0.1:8080 "$TMP/stop2"
tries=100
while [ "$(total_active)" != 6 ] && [ $tries -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
check_eq "6 connections open" 6 "$(total_active)"
on_b=$(active 127.0.0.1:9002)
log "$on_b of them on 127.0.0.1:9002, which is killed now"
kill -9 "$ECHO_PID_b"
wait_active 127.0.0.1:9002 0
check_eq "the others still count" $((6 - on_b)) "$(active 127.0.0.1:9001)"
touch "$TMP/stop2"
wait "${STREAMS[@]}"
wait_active 127.0.0.1:9001 0

echo "subtest tcp6"
streams 2 "[fd00::77]:8080" "$TMP/stop3"
wait_active "[::1]:9003" 2
touch "$TMP/stop3"
wait "${STREAMS[@]}"
wait_active "[::1]:9003" 0
finish
