#!/bin/bash
# max_conns and max_queued (issue 12): a replica at its limit gets no new
# connection; with every replica full a connect is held (the miss path), and
# is served as soon as a connection to the replica closes (the datapath's
# STEER_EVENT_SLOT_FREE), not at its next backoff step, which the service
# puts 3 s away; past max_queued a miss is refused in the hook with
# ECONNREFUSED and counted as refused_full. active returns to 0. A held
# curl (IPv4 and IPv6) is served the same way.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service lim]
vip = 127.77.0.1:8080
max_queued = 2
retry_initial_backoff_ms = 3000
retry_max_backoff_ms = 3000
retry_jitter = 0
replica = 127.0.0.1:9001 max_conns=2

[service lim6]
vip = [fd00::77]:8080
max_conns = 1
retry_initial_backoff_ms = 3000
retry_max_backoff_ms = 3000
retry_jitter = 0
replica = [::1]:9001
INI
start_echo a 127.0.0.1:9001
start_echo a6 [::1]:9001
start_agent "$TMP/steer.ini" || finish
wait_all_up 2 || finish

# long VIP N: N long-lived connections; their pids in LONG.
LONG=()
long() {
	for _ in $(seq "$2"); do
		spawn_in_cg "$TMP/long-$RANDOM.out" "$CLIENT" stream "$1" --interval-us 100000 \
			--until-file "$TMP/stop-never" --quiet
		LONG+=("$LAST_PID")
	done
}
wait_value() { # ADDR FIELD WANT
	local tries=300
	while [ "$(replica_value "$1" "$2")" != "$3" ] && [ $tries -gt 0 ]; do
		sleep 0.01
		tries=$((tries - 1))
	done
	check_eq "$1 $2" "$3" "$(replica_value "$1" "$2")"
}
held_now() { hold_value "$1" held_now; }
wait_held() { # SERVICE N
	local tries=300
	while [ "$(held_now "$1")" != "$2" ] && [ $tries -gt 0 ]; do
		sleep 0.01
		tries=$((tries - 1))
	done
	check_eq "$1 held now" "$2" "$(held_now "$1")"
}

# served_after_close SERVICE VIP ADDR: with ADDR full, one more connect is
# held; the time from closing one of ADDR's connections to that connect's
# reply, in ms, goes to MS.
served_after_close() {
	spawn_in_cg "$TMP/third.out" "$CLIENT" tcp "$2" --count 1 --timeout-ms 10000
	local third=$LAST_PID t0 t1
	wait_held "$1" 1
	t0=$(date +%s%N)
	kill "${LONG[0]}"
	wait "$third"
	t1=$(date +%s%N)
	LONG=("${LONG[@]:1}")
	check_eq "$1: the held connect was served" "ok=1 fail=0" "$(ok_fail "$TMP/third.out")"
	MS=$(((t1 - t0) / 1000000))
	log "$1: close to served: $MS ms (the next backoff step was 3000 ms away)"
}

echo "subtest tcp4"
long 127.77.0.1:8080 2
wait_value 127.0.0.1:9001 active 2
best=999999
for round in 1 2 3; do
	served_after_close lim 127.77.0.1:8080 127.0.0.1:9001
	[ "$MS" -lt "$best" ] && best=$MS
	[ "$MS" -le 1000 ] || fail "round $round: served $MS ms after the close (bound 1000 ms)"
	long 127.77.0.1:8080 1
	wait_value 127.0.0.1:9001 active 2
done
[ "$best" -le 50 ] || fail "best close-to-served time $best ms is over 50 ms"

echo "subtest curl"
# A real HTTP client held while the replica is full, served once a slot frees.
spawn_in_cg "$TMP/curl.out" curl -s -m 10 http://127.77.0.1:8080/
curl_pid=$LAST_PID
wait_held lim 1
kill "${LONG[0]}"
LONG=("${LONG[@]:1}")
wait "$curl_pid"
grep -qx a "$TMP/curl.out" || fail "held curl was not served: $(cat "$TMP/curl.out")"
long 127.77.0.1:8080 1
wait_value 127.0.0.1:9001 active 2

echo "subtest queued"
# 2 held (max_queued = 2), the third miss is refused by the hook.
spawn_in_cg "$TMP/q1.out" "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 10000
q1=$LAST_PID
spawn_in_cg "$TMP/q2.out" "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 10000
q2=$LAST_PID
wait_held lim 2
before=$(hold_value lim refused_full)
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 1 --timeout-ms 2000 >"$TMP/q3.out" 2>&1
check_eq "past max_queued: refused" "ok=0 fail=1" "$(ok_fail "$TMP/q3.out")"
grep -qi "refused" "$TMP/q3.out" || fail "past max_queued the client did not see ECONNREFUSED: $(cat "$TMP/q3.out")"
after=$(hold_value lim refused_full)
check_eq "refused_full counted" $((before + 1)) "$after"
kill "${LONG[@]}"
LONG=()
wait "$q1" "$q2"
check_eq "held ones served once the long ones closed" "ok=1 fail=0 ok=1 fail=0" "$(ok_fail "$TMP/q1.out") $(ok_fail "$TMP/q2.out")"

echo "subtest tcp6"
long "[fd00::77]:8080" 1
wait_value "[::1]:9001" active 1
served_after_close lim6 "[fd00::77]:8080" "[::1]:9001"
long "[fd00::77]:8080" 1
wait_value "[::1]:9001" active 1
spawn_in_cg "$TMP/curl6.out" curl -s -m 10 "http://[fd00::77]:8080/"
curl_pid=$LAST_PID
wait_held lim6 1
kill "${LONG[0]}"
LONG=("${LONG[@]:1}")
wait "$curl_pid"
grep -qx a6 "$TMP/curl6.out" || fail "held curl over IPv6 was not served: $(cat "$TMP/curl6.out")"
[ "$MS" -le 1000 ] || fail "tcp6: served $MS ms after the close (bound 1000 ms)"

echo "subtest back_to_zero"
kill "${LONG[@]}" 2>/dev/null
wait_value 127.0.0.1:9001 active 0
wait_value "[::1]:9001" active 0
finish
