#!/bin/bash
# Map rewrites at a high rate look atomic: one replica flaps (drained and
# undrained, removed and added back through the control socket) as fast as the
# agent takes commands for 3 s while clients connect in a loop. With two other
# replicas up, no connect may miss or fail.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003
INI
for i in 1 2 3; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish

spawn_in_cg "$TMP/loop.out" "$CLIENT" tcp 127.77.0.1:8080 --until-file "$TMP/stop" --quiet
LOOP=$LAST_PID

echo "subtest flap"
ops=0 bad=0
end=$(($(date +%s%N) + 3000000000))
while [ "$(date +%s%N)" -lt "$end" ]; do
	for verb in drain undrain remove add; do
		"$STEER" replica "$verb" web 127.0.0.1:9003 >/dev/null 2>&1 || bad=$((bad + 1))
		ops=$((ops + 1))
	done
done
touch "$TMP/stop"
wait "$LOOP"
log "flaps: $ops control commands in 3 s ($((ops / 3))/s), $bad refused"
log "loop client: $(ok_fail "$TMP/loop.out") $(grep '^error' "$TMP/loop.out" | tr '\n' ' ')"
check_eq "control commands all accepted" 0 "$bad"
check_eq "no failed or missed connect while two replicas stayed up" 0 "$(awk '$1 == "ok" {print $4}' "$TMP/loop.out")"
m=$("$STEER" status --json | grep -o '"misses":[0-9]*' | head -1 | cut -d: -f2)
check_eq "the datapath counted no miss" 0 "$m"
finish
