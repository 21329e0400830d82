#!/bin/bash
# `steer down` detaches every program and leaves no pin behind.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
INI
start_echo r1 127.0.0.1:9001
start_agent "$TMP/steer.ini" || finish
wait_all_up 1
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 5 --quiet >"$TMP/before.out"
check_eq "steered before down" "ok=5 fail=0" "$(ok_fail "$TMP/before.out")"
n=$(bpftool cgroup show "$CG" | grep -c sock)
check_eq "9 programs attached to the test cgroup" 9 "$n"
stop_agent

echo "subtest down"
"$STEER" down 2>"$TMP/down.err" || fail "steer down failed: $(cat "$TMP/down.err")"
[ ! -e "$PIN" ] || fail "pin directory still exists: $(ls -la "$PIN")"
n=$(bpftool cgroup show "$CG" | grep -c sock)
check_eq "no program attached to the test cgroup" 0 "$n"
ids=$(bpftool -j link show | grep -o '"cgroup_id":[0-9]*' | grep -c ":$(stat -c %i "$CG")$")
check_eq "no bpf_link left on the test cgroup" 0 "$ids"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 1 --quiet >"$TMP/after.out"
grep -q 'error connect:ECONNREFUSED 1' "$TMP/after.out" || fail "VIP still steered after down: $(cat "$TMP/after.out")"

echo "subtest down-twice"
"$STEER" down 2>"$TMP/down2.err" || fail "a second steer down failed: $(cat "$TMP/down2.err")"
finish
