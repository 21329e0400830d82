#!/bin/bash
# Out of file descriptors, the miss path waits instead of spinning: with the
# agent's fd limit lowered to a few above what it uses, clients whose connects
# miss fill it; the rest wait in the hold listener's queue, and the agent
# sleeps between tries (its CPU time stays low) instead of waking for the
# same readable listener again and again. Once fds are free it serves again.
. "$(dirname "$0")/lib.sh"
setup_world
command -v prlimit >/dev/null || skip "no prlimit (util-linux)"

cat >"$TMP/steer.ini" <<INI
[service none]
vip = 127.77.0.5:8080
health = none
INI
STEER_RETRY_TIMEOUT_MS=3000 start_agent "$TMP/steer.ini" || finish

# cpu_ticks PID — user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

fds=$(ls /proc/"$AGENT_PID"/fd | wc -l)
soft=$(prlimit --pid "$AGENT_PID" --nofile --noheadings --output=SOFT)
# The soft limit only: raising it back needs no privilege beyond the hard one.
prlimit --pid "$AGENT_PID" --nofile=$((fds + 4)): || { fail "prlimit failed"; finish; }
log "the agent uses $fds fds; its limit is now $((fds + 4))"
CL=()
for i in $(seq 12); do
	spawn_in_cg "$TMP/c$i.out" "$CLIENT" tcp 127.77.0.5:8080 --timeout-ms 2500 --quiet
	CL+=($LAST_PID)
done
tries=100
while [ "$(ls /proc/"$AGENT_PID"/fd | wc -l)" -lt $((fds + 4)) ] && [ "$tries" -gt 0 ]; do
	sleep 0.02
	tries=$((tries - 1))
done
[ "$tries" -gt 0 ] || { fail "the agent never reached its fd limit"; finish; }
sleep 0.1 # the rest of the clients reach the listen queue
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$AGENT_PID")
sleep 1
t1=$(cpu_ticks "$AGENT_PID")
used_ms=$(((t1 - t0) * 1000 / hz))
log "agent CPU over 1 s while out of fds, with connections queued: ${used_ms} ms"
[ "$used_ms" -le 200 ] || fail "the agent spun while out of fds: ${used_ms} ms of CPU in 1 s"
grep -q 'cannot accept a held connection: Too many open files' "$TMP/agent.log" ||
	fail "no log line says the hold listener ran out of fds"
for p in "${CL[@]}"; do wait "$p"; done

echo "subtest serves-again"
prlimit --pid "$AGENT_PID" --nofile="$soft": || fail "prlimit could not give the fds back"
in_cg "$CLIENT" tcp 127.77.0.5:8080 --count 1 --timeout-ms 5000 >"$TMP/again.out" 2>&1
grep -q '^error recv:ECONNRESET 1$' "$TMP/again.out" ||
	fail "with fds back, a miss was not held until its timeout: $(cat "$TMP/again.out")"
finish
