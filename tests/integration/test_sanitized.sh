#!/bin/bash
# The agent built with ASan and UBSan, driven through start, reload, drain,
# the hold path, a relay and shutdown: it must end with exit 0, no sanitizer
# report and no leak.
. "$(dirname "$0")/lib.sh"
setup_world
SAN=$ROOT/build/san/steer
[ -x "$SAN" ] || skip "no sanitized agent at $SAN (make SANITIZE=1 build/san/steer)"
STEER=$SAN
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$TMP/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$TMP/ubsan"

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = http /healthz
health_interval_ms = 100
health_timeout_ms = 100
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service held]
vip = 127.77.0.2:8080
health = none
INI
start_echo r1 127.0.0.1:9001
start_echo r2 127.0.0.1:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 2 || finish

echo "subtest traffic-reload-drain"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 200 --quiet >"$TMP/a.out"
check_eq "traffic through the sanitized agent's datapath" "ok=200 fail=0" "$(ok_fail "$TMP/a.out")"
kill -HUP "$AGENT_PID"
wait_for_line "$TMP/agent.log" 'SIGHUP' || fail "no reload"
"$STEER" replica drain web 127.0.0.1:9002 >/dev/null || fail "drain failed"
"$STEER" replica undrain web 127.0.0.1:9002 >/dev/null || fail "undrain failed"
"$STEER" replica frob web 127.0.0.1:9002 >/dev/null 2>&1

echo "subtest hold-and-relay"
spawn_in_cg "$TMP/held.out" "$CLIENT" tcp 127.77.0.2:8080 --timeout-ms 5000
HELD=$LAST_PID
sleep 0.2
"$STEER" replica add held 127.0.0.1:9001 >/dev/null || fail "replica add failed"
wait "$HELD"
check_eq "held connection served and relayed" "ok=1 fail=0" "$(ok_fail "$TMP/held.out")"

echo "subtest shutdown-clean"
stop_agent
check_eq "the sanitized agent exits 0 on SIGTERM" 0 "$?"
reports=$(cat "$TMP"/asan.* "$TMP"/ubsan.* 2>/dev/null)
[ -z "$reports" ] || fail "sanitizer reports: $(echo "$reports" | head -30)"
grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$TMP/agent.log" && fail "sanitizer output in the agent log"
finish
