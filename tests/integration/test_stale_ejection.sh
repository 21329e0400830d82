#!/bin/bash
# No ejection outlives the facts: the datapath's ejection of a replica whose
# ring-buffer record never reached the agent (written here straight into
# steer_backends_v1, as a full ring would leave it) is found and repaired.
# A service with checks clears it on the next passing check; a service
# without checks finds it in the agent's audit, takes the replica down, and
# brings it back once its checks pass. Either way the replica serves again.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service plain]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service checked]
vip = 127.77.0.2:8080
replica = 127.0.0.1:9003
replica = 127.0.0.1:9004
INI
for i in 1 2 3 4; do start_echo "r$i" "127.0.0.1:900$i"; done
start_agent "$TMP/steer.ini" || finish
wait_all_up 4 || finish

# eject_behind_the_agents_back PORT — 127.0.0.1:PORT ejected (connect
# failed) in the datapath's map, with no event.
eject_behind_the_agents_back() {
	local p
	p=$(printf '%02x %02x' $(($1 >> 8)) $(($1 & 255)))
	bpftool map update pinned "$PIN/steer_backends_v1" \
		key hex 7f 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 $p 02 06 \
		value hex 01 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00 02 01 00 00 ||
		fail "bpftool could not write the backend entry of port $1"
}

ejected() {
	"$STEER" status --json | grep -o "\"address\":\"127.0.0.1:$1\"[^}]*" | grep -o '"ejected":[a-z]*' | cut -d: -f2
}

# wait_not_ejected PORT — bounded: 10 s, 100 health intervals.
wait_not_ejected() {
	local tries=200
	while [ "$tries" -gt 0 ]; do
		[ "$(ejected "$1")" = false ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "127.0.0.1:$1 is still ejected: $("$STEER" status | grep ":$1 ")"
	return 1
}

for svc in "plain 9001" "checked 9003"; do
	set -- $svc
	echo "subtest $1"
	eject_behind_the_agents_back "$2"
	# No check of the ejected state here: a check may repair it first. The
	# log line below says the agent found it.
	wait_not_ejected "$2" && log "ok: the ejection of 127.0.0.1:$2 was repaired"
	wait_state "127.0.0.1:$2" up
	grep -q "replica 127.0.0.1:$2: .*repaired" "$TMP/agent.log" ||
		fail "no log line says what was repaired for 127.0.0.1:$2: $(grep ":$2" "$TMP/agent.log")"
	in_cg "$CLIENT" tcp "127.77.0.$([ "$1" = plain ] && echo 1 || echo 2):8080" --count 100 --quiet >"$TMP/$1.out"
	n=$(reply_count "$TMP/$1.out" "r${2: -1}")
	[ "$n" -gt 0 ] || fail "127.0.0.1:$2 got none of 100 connects after the repair: $(cat "$TMP/$1.out")"
	log "127.0.0.1:$2 served $n of 100 after the repair"
done
grep 'repaired' "$TMP/agent.log" | sed 's/^/    log: /'
finish
