#!/bin/bash
# Dual-stack clients: an AF_INET6 socket connecting or sending to an IPv4 VIP
# in its IPv4-mapped form (::ffff:127.77.0.1), as Java, Node.js and Python
# sockets do, is steered to an IPv4 replica, shown as ::ffff:REPLICA, and its
# getpeername() / recvfrom() show ::ffff:VIP. curl is the real client; the
# miss path holds such a connect too.
. "$(dirname "$0")/lib.sh"
setup_world
command -v curl >/dev/null || skip "no curl"

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service dns]
vip = 127.77.0.1:5353
protocol = udp
health = none
replica = 127.0.0.1:9001

[service dead]
vip = 127.77.0.4:8080
health = none
replica = 127.0.0.1:9010

[service held]
vip = 127.77.0.2:8080
replica = 127.0.0.1:9009
retry_timeout_ms = 2000
INI
start_echo r1 127.0.0.1:9001
start_echo r2 127.0.0.1:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 4 || finish

echo "subtest curl"
# steer-echo answers a GET with an HTTP status line; curl's %{remote_ip} is
# what getpeername() said.
out=$(in_cg curl -s -o /dev/null -w '%{http_code} %{remote_ip}' --max-time 5 'http://[::ffff:127.77.0.1]:8080/healthz')
check_eq "curl through ::ffff:127.77.0.1: status and peer as getpeername shows it" "200 ::ffff:127.77.0.1" "$out"

echo "subtest tcp6-mapped"
in_cg "$CLIENT" tcp '[::ffff:127.77.0.1]:8080' --count 200 --expect-peer '[::ffff:127.77.0.1]:8080' --quiet >"$TMP/t.out"
check_eq "200 connects, all answered, peer shown as ::ffff:VIP" "ok=200 fail=0" "$(ok_fail "$TMP/t.out")"
[ "$(reply_count "$TMP/t.out" r1)" -gt 0 ] && [ "$(reply_count "$TMP/t.out" r2)" -gt 0 ] ||
	fail "not spread over both replicas: $(cat "$TMP/t.out")"

echo "subtest udp6-mapped"
in_cg "$CLIENT" udp '[::ffff:127.77.0.1]:5353' --count 20 --expect-peer '[::ffff:127.77.0.1]:5353' --quiet >"$TMP/u.out"
check_eq "unconnected: 20 datagrams answered from ::ffff:VIP" "ok=20 fail=0" "$(ok_fail "$TMP/u.out")"
in_cg "$CLIENT" udp '[::ffff:127.77.0.1]:5353' --connected --count 20 --expect-peer '[::ffff:127.77.0.1]:5353' --quiet >"$TMP/uc.out"
check_eq "connected: 20 datagrams answered" "ok=20 fail=0" "$(ok_fail "$TMP/uc.out")"

echo "subtest held-mapped"
spawn_in_cg "$TMP/h.out" "$CLIENT" tcp '[::ffff:127.77.0.2]:8080' --count 1 --timeout-ms 5000 --expect-peer '[::ffff:127.77.0.2]:8080'
H=$LAST_PID
sleep 0.3
start_echo r9 127.0.0.1:9009
wait "$H"
check_eq "a held dual-stack connect is served once a replica is up" "ok=1 fail=0" "$(ok_fail "$TMP/h.out")"
check_eq "by that replica" 1 "$(reply_count "$TMP/h.out" r9)"

echo "subtest passive-ejection-mapped"
# Dual-stack connects refused by a replica count against that IPv4 replica,
# which is ejected after STEER_PASSIVE_EJECT_FAILURES (3) of them.
in_cg "$CLIENT" tcp '[::ffff:127.77.0.4]:8080' --count 3 --timeout-ms 2000 --quiet >"$TMP/d.out"
wait_state 127.0.0.1:9010 down
"$STEER" status --json | grep -o '"address":"127.0.0.1:9010"[^}]*' | grep -q '"failed_connects":3' ||
	fail "the refused dual-stack connect was not counted: $("$STEER" status | grep 9010)"

echo "subtest untouched"
# A mapped address that is no service passes untouched (refused: nothing there).
in_cg "$CLIENT" tcp '[::ffff:127.77.0.3]:8080' --count 1 --timeout-ms 2000 --quiet >"$TMP/n.out"
check_eq "not a service: not steered" "error connect:ECONNREFUSED 1" "$(grep '^error' "$TMP/n.out")"
finish
