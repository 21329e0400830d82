#!/bin/bash
# UDP services that notice a dead replica (issue 16): dnsmasq replicas
# queried through the VIP by dig and by resolver-like clients, checked with
# `health = dns` (the port-53 default `dns .`) and `health = udp`, and
# ejected by the datapath on the ICMP errors of connected sockets.
#  - defaults: a UDP service on port 53 is checked with `dns . NS`; one on
#    another port without checks is warned about at start;
#  - dig: dig through the VIP from the cgroup reaches every dnsmasq;
#  - passive4: a dnsmasq is killed; clients that connect a fresh socket per
#    query (as dig does) send it exactly one more query, whose ICMP port
#    unreachable ejects it (STEER_PASSIVE_EJECT_FAILURES=1 here; its checks
#    run every 5 s, so they play no part);
#  - resolver4: a client that keeps one connected socket (a stub resolver)
#    loses one query to the dead replica, no timeout, and moves on;
#  - direct: a client's own connected socket to a replica address (not
#    through the VIP) counts for nothing and ejects nothing;
#  - active4: only unconnected clients (no ICMP reaches them), so the
#    active dns check alone takes the killed dnsmasq down, within one
#    health interval (200 ms, fall 1), and then no datagram goes to it;
#  - rise4: the dnsmasq restarted is used again after health_rise checks;
#  - udp6: the same passive ejection over IPv6;
#  - payload: `health = udp HEX expect HEX` against steer-echo's UDP reply,
#    and a prefix it does not send keeps the replica out;
#  - dns-tcp: `health = dns` on a TCP service queries over TCP: dnsmasq is
#    up, steer-echo (no DNS server: it waits for a line) is not.
. "$(dirname "$0")/lib.sh"
command -v dnsmasq >/dev/null || skip "dnsmasq is not installed (scripts/deps.sh)"
command -v dig >/dev/null || skip "dig is not installed (scripts/deps.sh)"
setup_world
export STEER_PASSIVE_EJECT_FAILURES=1

# start_dns NAME ADDR PORT ANSWER: a dnsmasq in the test netns that answers
# whoami.test with ANSWER (so a reply says which replica sent it) and
# NXDOMAIN for the rest (the root NS of `dns .` included).
start_dns() {
	local name=$1 addr=$2 port=$3 answer=$4 out=$TMP/dns-$1.log dig_addr=${2#[}
	dig_addr=${dig_addr%]}
	nsenter --net="/run/netns/$NS" -- dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --bind-interfaces --listen-address="$dig_addr" --port="$port" \
		--local=/#/ --address=/whoami.test/"$answer" --pid-file= --user=root \
		--log-queries --log-facility=- >"$out" 2>&1 &
	PIDS+=($!)
	eval "DNS_PID_$name=$!"
	local tries=100
	while [ "$tries" -gt 0 ]; do
		[ "$(in_ns dig +short +tries=1 +time=1 -p "$port" @"$dig_addr" whoami.test 2>/dev/null)" = "$answer" ] &&
			return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "dnsmasq $name did not answer: $(cat "$out")"
	return 1
}
# kill_dns NAME: SIGKILL; KILL_NS is the CLOCK_MONOTONIC ns just before it.
kill_dns() {
	local pid
	eval "pid=\$DNS_PID_$1"
	KILL_NS=$("$BUILD/steer-kill" "$pid")
	wait "$pid" 2>/dev/null
}
# ejected_ns ADDR:PORT: the datapath's ejection stamp of a replica.
ejected_ns() {
	"$STEER" status --json | grep -o "\"address\":\"$1\",[^}]*" | grep -o '"ejected_ns":[0-9]*' | cut -d: -f2
}

cat >"$TMP/steer.ini" <<INI
[service dns4]
vip = 127.77.0.53:53
protocol = udp
health_interval_ms = 5000
replica = 127.0.0.1:5301
replica = 127.0.0.1:5302
replica = 127.0.0.1:5303

[service dnsa]
vip = 127.77.0.54:53
protocol = udp
health_interval_ms = 200
health_timeout_ms = 100
health_fall = 1
health_rise = 2
replica = 127.0.0.1:5321
replica = 127.0.0.1:5322

[service dns6]
vip = [fd00::53]:53
protocol = udp
health = dns whoami.test A
health_interval_ms = 5000
replica = [::1]:5311
replica = [::1]:5312

[service echo]
vip = 127.77.0.7:7000
protocol = udp
health = udp 70696e670a expect 75
replica = 127.0.0.1:9101
replica = 127.0.0.1:9102

[service echo-wrong]
vip = 127.77.0.8:7000
protocol = udp
health = udp 70696e670a expect 7a
replica = 127.0.0.1:9103

[service quiet]
vip = 127.77.0.9:7000
protocol = udp
replica = 127.0.0.1:9104

[service dnstcp]
vip = 127.77.0.55:53
health = dns whoami.test
replica = 127.0.0.1:5331
replica = 127.0.0.1:9105
INI

start_dns r1 127.0.0.1 5301 10.0.0.1 || finish
start_dns r2 127.0.0.1 5302 10.0.0.2 || finish
start_dns r3 127.0.0.1 5303 10.0.0.3 || finish
start_dns a1 127.0.0.1 5321 10.0.1.1 || finish
start_dns a2 127.0.0.1 5322 10.0.1.2 || finish
start_dns s1 "[::1]" 5311 10.0.6.1 || finish
start_dns s2 "[::1]" 5312 10.0.6.2 || finish
start_echo u1 127.0.0.1:9101 || finish
start_echo u3 127.0.0.1:9103 || finish
start_echo u4 127.0.0.1:9104 || finish
start_dns t1 127.0.0.1 5331 10.0.3.1 || finish
start_echo u5 127.0.0.1:9105 || finish

echo "subtest defaults"
cfg=$("$STEER" check-config "$TMP/steer.ini" 2>&1)
echo "$cfg" | grep -A3 '^\[service dns4\]' | grep -qxF '; health = dns . NS (default for udp on port 53)' ||
	fail "check-config does not show dns4's default check: $cfg"
echo "$cfg" | grep -A4 '^\[service quiet\]' | grep -q '^; warning: no health checks' ||
	fail "check-config does not warn about the unchecked service: $cfg"
start_agent "$TMP/steer.ini" || finish
grep -q 'service quiet: UDP without health checks' "$TMP/agent.log" ||
	fail "no warning at start for the unchecked UDP service: $(cat "$TMP/agent.log")"
for r in 127.0.0.1:5301 127.0.0.1:5302 127.0.0.1:5303 127.0.0.1:5321 127.0.0.1:5322 \
	"[::1]:5311" "[::1]:5312" 127.0.0.1:9101; do
	wait_state "$r" up || finish
done
# dnsmasq logged the root NS query of `dns .`.
grep -qF 'query[NS] . from 127.0.0.1' "$TMP/dns-r1.log" ||
	fail "dnsmasq r1 never saw the root NS check: $(tail -5 "$TMP/dns-r1.log")"

echo "subtest dig"
for i in $(seq 30); do
	in_cg dig +short +tries=1 +time=1 @127.77.0.53 whoami.test
done >"$TMP/dig.out" 2>&1
for a in 10.0.0.1 10.0.0.2 10.0.0.3; do
	n=$(grep -cx "$a" "$TMP/dig.out")
	log "dig answers from $a: $n of 30"
	[ "$n" -gt 0 ] || fail "no dig answer from $a: $(sort "$TMP/dig.out" | uniq -c)"
done
check_eq "30 dig answers" 30 "$(grep -c '^10\.0\.0\.' "$TMP/dig.out")"

echo "subtest passive4"
s0=$(replica_value 127.0.0.1:5301 steered)
f0=$(replica_value 127.0.0.1:5301 failed_connects)
kill_dns r1
in_cg "$CLIENT" udp 127.77.0.53:53 --connected --dns whoami.test --count 300 --interval-us 1000 \
	--timeout-ms 500 >"$TMP/passive4.out" 2>"$TMP/passive4.err"
s1=$(replica_value 127.0.0.1:5301 steered)
log "after the kill: $((s1 - s0)) queries steered to the dead r1; client: $(ok_fail "$TMP/passive4.out"), errors: $(grep '^error' "$TMP/passive4.out" | tr '\n' ' ')"
check_eq "the dead dnsmasq got exactly one more query" 1 "$((s1 - s0))"
check_eq "that query's ICMP error was its only failure" "ok=299 fail=1" "$(ok_fail "$TMP/passive4.out")"
# ECONNREFUSED, or ECONNABORTED when the sweep aborted the socket first.
grep -q '^error recv:ECONN\(REFUSED\|ABORTED\) 1$' "$TMP/passive4.out" ||
	fail "the one failure was not the ICMP port unreachable: $(cat "$TMP/passive4.out")"
check_eq "r1's ICMP errors counted" $((f0 + 1)) "$(replica_value 127.0.0.1:5301 failed_connects)"
wait_state 127.0.0.1:5301 down 40 || finish
grep -q 'replica 127.0.0.1:5301: up -> down (ejected by the datapath: ICMP errors on connected sockets' \
	"$TMP/agent.log" || fail "no ejection line: $(grep 5301 "$TMP/agent.log")"
ej=$(ejected_ns 127.0.0.1:5301)
log "r1 killed, ejected $(((ej - KILL_NS) / 1000)) us later (the client starts after the kill; the first of its queries steered to r1 met the ICMP error)"

echo "subtest resolver4"
# r1 is down; the resolver's one connected socket goes to r2 or r3: kill
# whichever it got.
s2=$(replica_value 127.0.0.1:5302 steered)
s3=$(replica_value 127.0.0.1:5303 steered)
spawn_in_cg "$TMP/resolver4.out" "$CLIENT" resolver 127.77.0.53:53 --connected --dns whoami.test \
	--interval-us 5000 --timeout-ms 1000 --until-file "$TMP/stop-resolver4"
RES=$LAST_PID
tries=100
while [ "$tries" -gt 0 ]; do
	[ "$(replica_value 127.0.0.1:5302 steered)" -gt "$s2" ] && { victim=r2 other=10.0.0.3 vaddr=127.0.0.1:5302; break; }
	[ "$(replica_value 127.0.0.1:5303 steered)" -gt "$s3" ] && { victim=r3 other=10.0.0.2 vaddr=127.0.0.1:5303; break; }
	sleep 0.05
	tries=$((tries - 1))
done
[ -n "${victim:-}" ] || { fail "the resolver client was never steered"; finish; }
sleep 0.2
kill_dns "$victim"
wait_state "$vaddr" down 40
sleep 0.3
touch "$TMP/stop-resolver4"
wait "$RES"
log "resolver on $victim ($vaddr): $(ok_fail "$TMP/resolver4.out"); $(grep -E '^(error|switch|reconnects)' "$TMP/resolver4.out" | tr '\n' ' ')"
# A query in flight at the kill is lost (a timeout); the next one meets
# the ICMP error (refused, or aborted by the sweep) and the socket moves.
ntimeout=$(awk '$1 == "error" && $2 == "recv:timeout" {print $3}' "$TMP/resolver4.out")
[ "${ntimeout:-0}" -le 1 ] || fail "the resolver waited out $ntimeout timeouts: $(cat "$TMP/resolver4.out")"
nfail=$(awk '$1 == "ok" {print $4}' "$TMP/resolver4.out")
[ "$nfail" -ge 1 ] && [ "$nfail" -le 3 ] ||
	fail "the resolver lost $nfail queries (expected at most: one in flight, the one that met the ICMP error, the sweep's abort): $(cat "$TMP/resolver4.out")"
grep -q "^switch [0-9.]* $other " "$TMP/resolver4.out" ||
	fail "the resolver never moved to $other: $(cat "$TMP/resolver4.out")"
# Two of three dnsmasqs are dead now: bring them back for what follows.
start_dns r1 127.0.0.1 5301 10.0.0.1 || finish
start_dns "$victim" "127.0.0.1" "${vaddr##*:}" "10.0.0.${victim#r}" || finish

echo "subtest direct"
# Steer did not connect this socket: its ICMP errors are the client's. (The
# replica's checks take it down meanwhile, but checks never eject.)
f=$(replica_value 127.0.0.1:5322 failed_connects)
kill_dns a2
in_cg "$CLIENT" udp 127.0.0.1:5322 --connected --dns whoami.test --count 5 --timeout-ms 200 \
	--quiet >"$TMP/direct.out" 2>&1
check_eq "the client's own socket met the closed port" "ok=0 fail=5" "$(ok_fail "$TMP/direct.out")"
check_eq "its ICMP errors count for nothing" "$f" "$(replica_value 127.0.0.1:5322 failed_connects)"
check_eq "nor eject the replica" false \
	"$("$STEER" status --json | grep -o '"address":"127.0.0.1:5322",[^}]*' | grep -o '"ejected":[a-z]*' | cut -d: -f2)"
start_dns a2 127.0.0.1 5322 10.0.1.2 || finish
wait_state 127.0.0.1:5322 up || finish

echo "subtest active4"
# Unconnected sockets are told of no ICMP error: only the check can see.
spawn_in_cg "$TMP/active4.out" "$CLIENT" resolver 127.77.0.54:53 --dns whoami.test \
	--interval-us 2000 --timeout-ms 100 --until-file "$TMP/stop-active4" --quiet
ACT=$LAST_PID
sleep 0.3
t0=$(date +%s%3N)
kill_dns a1
wait_state 127.0.0.1:5321 down 100
t1=$(date +%s%3N)
n_down=$(replica_value 127.0.0.1:5321 steered)
sleep 0.5
n_after=$(replica_value 127.0.0.1:5321 steered)
touch "$TMP/stop-active4"
wait "$ACT"
log "dnsmasq a1 killed at 0 ms, down at $((t1 - t0)) ms (health_interval_ms=200, health_fall=1); datagrams steered to it after: $((n_after - n_down))"
# One interval (200 ms), the check's own timeout (100 ms) and the polling of the
# state (50 ms, each a `steer status`), with room for a busy machine.
[ $((t1 - t0)) -le 500 ] || fail "the check took $((t1 - t0)) ms to take a1 down (interval 200 ms, fall 1)"
check_eq "no datagram went to a1 once it was down" "$n_down" "$n_after"
check_eq "not ejected by the datapath (no ICMP on unconnected sockets)" false \
	"$("$STEER" status --json | grep -o '"address":"127.0.0.1:5321",[^}]*' | grep -o '"ejected":[a-z]*' | cut -d: -f2)"

echo "subtest rise4"
t0=$(date +%s%3N)
start_dns a1 127.0.0.1 5321 10.0.1.1 || finish
wait_state 127.0.0.1:5321 up 100 || finish
t1=$(date +%s%3N)
grep -q 'replica 127.0.0.1:5321: down -> up (2 checks passed' "$TMP/agent.log" ||
	fail "a1 did not come back after health_rise=2 checks: $(grep 5321 "$TMP/agent.log")"
log "a1 restarted at 0 ms, up at $((t1 - t0)) ms (health_rise=2, interval 200 ms)"
s=$(replica_value 127.0.0.1:5321 steered)
in_cg "$CLIENT" udp 127.77.0.54:53 --dns whoami.test --count 40 --timeout-ms 500 >"$TMP/rise4.out" 2>&1
[ "$(reply_count "$TMP/rise4.out" 10.0.1.1)" -gt 0 ] ||
	fail "a1 gets no queries after it came back: $(cat "$TMP/rise4.out")"
log "after rise: $(grep '^reply' "$TMP/rise4.out" | tr '\n' ' ')"

echo "subtest udp6"
s0=$(replica_value "[::1]:5311" steered)
kill_dns s1
in_cg "$CLIENT" udp "[fd00::53]:53" --connected --dns whoami.test --count 200 --interval-us 1000 \
	--timeout-ms 500 >"$TMP/udp6.out" 2>&1
s1=$(replica_value "[::1]:5311" steered)
check_eq "the dead IPv6 dnsmasq got exactly one more query" 1 "$((s1 - s0))"
check_eq "its ICMPv6 error was the only failure" "ok=199 fail=1" "$(ok_fail "$TMP/udp6.out")"
wait_state "[::1]:5311" down 40

echo "subtest payload"
wait_state 127.0.0.1:9101 up || finish
replica_states | grep -qx '127.0.0.1:9102=up' && fail "9102 (nothing listens) is up"
replica_states | grep -qx '127.0.0.1:9103=up' &&
	fail "a reply without the expected prefix let the replica in"
last=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9103",[^}]*' | grep -o '"last_result":"[a-z-]*"' | cut -d'"' -f4)
check_eq "its last check result" bad-response "$last"
# The kernel rate-limits ICMP errors for the whole node (icmp_msgs_per_sec):
# a check whose port-unreachable was dropped times out; the next ones say
# refused.
for _ in $(seq 60); do
	last=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9102",[^}]*' | grep -o '"last_result":"[a-z-]*"' | cut -d'"' -f4)
	[ "$last" = refused ] && break
	sleep 0.05
done
check_eq "a closed port's last check result" refused "$last"
start_echo u2 127.0.0.1:9102 || finish
wait_state 127.0.0.1:9102 up || finish
in_cg "$CLIENT" udp 127.77.0.7:7000 --count 40 >"$TMP/echo.out" 2>&1
check_eq "the echo service answers through its VIP" "ok=40 fail=0" "$(ok_fail "$TMP/echo.out")"

echo "subtest dns-tcp"
wait_state 127.0.0.1:5331 up || finish
grep -q 'query\[A\] whoami.test from 127.0.0.1' "$TMP/dns-t1.log" ||
	fail "dnsmasq t1 saw no whoami.test query: $(tail -3 "$TMP/dns-t1.log")"
replica_states | grep -qx '127.0.0.1:9105=up' && fail "steer-echo passed a DNS check over TCP"
last=$("$STEER" status --json | grep -o '"address":"127.0.0.1:9105",[^}]*' | grep -o '"last_result":"[a-z-]*"' | cut -d'"' -f4)
log "steer-echo's last DNS-over-TCP check: $last"
[ -n "$last" ] && [ "$last" != ok ] && [ "$last" != none ] ||
	fail "steer-echo's DNS check did not fail: '$last'"
finish
