#!/bin/bash
# Power of two choices (policy = p2c, the default for TCP): a connect takes
# the less busy of two routable candidates, by the kernel's count of active
# connections, so long-lived connections fill two equal replicas evenly.
#  - p2c: 100 long-lived connections split within ±2 of 50 each (a random
#    pick leaves that band about half the time: the binomial's sd is 5);
#  - random: policy = random is accepted and still reaches both replicas.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service rnd]
vip = 127.77.0.2:8080
policy = random
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
INI
start_echo a 127.0.0.1:9001
start_echo b 127.0.0.1:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 4 || finish

# active ADDR:PORT: web's count for the replica (services are listed by
# name: rnd, then web).
active() { replica_value "$1" active; }

echo "subtest p2c"
for i in $(seq 100); do
	spawn_in_cg "$TMP/s-$i.out" "$CLIENT" stream 127.77.0.1:8080 --interval-us 200000 \
		--until-file "$TMP/stop" --quiet
	# One at a time: each connect sees the counts the ones before made.
	tries=100
	while [ $(($(active 127.0.0.1:9001) + $(active 127.0.0.1:9002))) -lt "$i" ] && [ $tries -gt 0 ]; do
		sleep 0.01
		tries=$((tries - 1))
	done
done
a=$(active 127.0.0.1:9001) b=$(active 127.0.0.1:9002)
log "100 connections: 127.0.0.1:9001=$a 127.0.0.1:9002=$b"
check_eq "all 100 counted" 100 $((a + b))
[ "$a" -ge 48 ] && [ "$a" -le 52 ] || fail "p2c split $a / $b is not within ±2 of 50"
touch "$TMP/stop"

echo "subtest random"
out=$("$STEER" check-config "$TMP/steer.ini" 2>&1)
echo "$out" | grep -qx "policy = random" || fail "check-config does not show policy = random: $out"
echo "$out" | grep -qx "; policy = p2c (default for tcp)" || fail "check-config does not show the p2c default: $out"
in_cg "$CLIENT" tcp 127.77.0.2:8080 --count 200 --quiet >"$TMP/rnd.out"
check_eq "policy = random serves" "ok=200 fail=0" "$(ok_fail "$TMP/rnd.out")"
[ "$(reply_count "$TMP/rnd.out" a)" -gt 0 ] && [ "$(reply_count "$TMP/rnd.out" b)" -gt 0 ] ||
	fail "policy = random used one replica only: $(cat "$TMP/rnd.out")"
finish
