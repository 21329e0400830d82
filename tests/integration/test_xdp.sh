#!/bin/bash
# The XDP path (issue 13), for clients on another host. Three namespaces
# joined by veth: HOST (the client, 198.18.0.2), the test's own (the node:
# steer with STEER_XDP_IFACES on the client's link, and local replicas on
# 198.18.0.1), and a replica host behind IPIP (198.18.2.2, set up with
# `steer replica-setup --apply`).
#  - local4/6, remote4/6: curl through a VIP to a local replica (NAT and
#    the tc reply rewrite) and to a remote one (IPIP, direct return);
#  - wrk, dig: load and DNS over UDP through the VIPs, IPv4 and IPv6;
#  - spread: Maglev spreads flows over a local and a remote replica;
#  - added: long-lived flows keep their replica when one is added, and
#    new flows reach the new one;
#  - killed: flows of a killed replica re-hash; new ones avoid it once it
#    is down;
#  - miss: a connection that finds no replica is held, then served;
#  - down: `steer down` leaves nothing attached, pinned or routed.
. "$(dirname "$0")/lib.sh"
setup_world
add_host
add_peer r 198.18.2 fd00:2
REP=$PEER
V=$NS # the node

ip netns exec "$HOST" ethtool -K vb-$$ tx off >/dev/null 2>&1 ||
	skip "ethtool cannot turn off checksum offload on veth (a client link completes checksums, as a NIC does)"
ip -n "$HOST" route add 198.18.100.0/24 via 198.18.0.1
ip -n "$HOST" -6 route add fd00:100::/64 via fd00:18::1
ip netns exec "$V" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# The replica's direct replies come from the VIP, which the node holds as a
# local address (the miss path's route); here they come back through the
# node, which forwards them only with accept_local on that link.
ip netns exec "$V" sysctl -qw net.ipv4.conf.par-$$.accept_local=1

# in_rep CMD: on the replica host (nsenter, not `ip netns exec`, whose
# private mount namespace would hide the replica's pins from us).
in_rep() { nsenter --net="/run/netns/$REP" -- "$@"; }
# rep_echo NAME ADDR:PORT: a replica on the replica host.
rep_echo() {
	nsenter --net="/run/netns/$REP" -- "$ECHO" --name "$1" --listen "$2" >"$TMP/echo-$1.out" 2>&1 &
	PIDS+=($!)
	eval "ECHO_PID_$1=$!"
	wait_for_line "$TMP/echo-$1.out" '^listening' || fail "replica $1 did not start"
}
# from_client CMD: on the client host.
from_client() { ip netns exec "$HOST" "$@"; }
# streams N VIP STOPFILE NAME: N long-lived connections from the client,
# a line every 20 ms until STOPFILE exists; output in $TMP/NAME-i.out,
# pids in STREAMS.
streams() {
	STREAMS=()
	for i in $(seq "$1"); do
		from_client "$CLIENT" stream "$2" --interval-us 20000 --until-file "$3" \
			--quiet >"$TMP/$4-$i.out" 2>&1 &
		STREAMS+=($!)
		PIDS+=($!)
	done
}

for vip in 198.18.100.2 198.18.100.3 198.18.100.4 fd00:100::2 fd00:100::4; do
	in_rep "$STEER" replica-setup --vip "$vip" --iface pbr-$$ --pin-dir "$PIN-rep" --apply >>"$TMP/setup.out" 2>&1 ||
		{ fail "replica-setup --vip $vip failed: $(cat "$TMP/setup.out")"; finish; }
done
rep_echo r 0.0.0.0:8080
rep_echo r6 "[::]:8080"
rep_echo mr 0.0.0.0:8081
nsenter --net="/run/netns/$REP" -- dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address=198.18.100.4 --listen-address=fd00:100::4 --port=53 \
	--address=/who.steer.test/198.18.9.2 --address=/who.steer.test/fd00:9::2 \
	--pid-file="$TMP/dnsmasq.pid" --log-facility=- >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)
start_echo l 198.18.0.1:9090
start_echo l6 "[fd00:18::1]:9090"
start_echo ml 198.18.0.1:9091

cat >"$TMP/steer.ini" <<INI
[service loc]
vip = 198.18.100.1:8080
replica = 198.18.0.1:9090

[service loc6]
vip = [fd00:100::1]:8080
replica = [fd00:18::1]:9090

[service rem]
vip = 198.18.100.2:8080
replica = 198.18.2.2:8080

[service rem6]
vip = [fd00:100::2]:8080
replica = [fd00:2::2]:8080

[service mix]
vip = 198.18.100.3:8081
replica = 198.18.0.1:9091
replica = 198.18.2.2:8081

[service miss]
vip = 198.18.100.5:8080
replica = 198.18.0.1:9099

[service miss6]
vip = [fd00:100::5]:8080
replica = [fd00:18::1]:9099

[service dns]
vip = 198.18.100.4:53
protocol = udp
health = none
replica = 198.18.2.2:53

[service dns6]
vip = [fd00:100::4]:53
protocol = udp
health = none
replica = [fd00:2::2]:53
INI
export STEER_XDP_IFACES=va-$$
start_agent "$TMP/steer.ini" || finish
wait_all_up 8 || finish
# The tables follow the states a loop iteration later; status shows both.
tables_ready() {
	local tries=100
	while [ $tries -gt 0 ]; do
		grep -q "rebuilt the Maglev tables" "$TMP/agent.log" && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "the agent never rebuilt its Maglev tables: $(cat "$TMP/agent.log")"
}
tables_ready

echo "subtest attached"
"$STEER" status | grep -q "^xdp link xdp iface=va-$$" || fail "status does not show the XDP link: $("$STEER" status | grep '^xdp')"
in_ns ip link show va-$$ | grep -q "xdp" || fail "va-$$ has no XDP program: $(in_ns ip link show va-$$)"

echo "subtest local4"
check_eq "curl to a replica on the node" l "$(from_client curl -s -m 5 http://198.18.100.1:8080/)"
from_client "$CLIENT" tcp 198.18.100.1:8080 --count 50 --quiet >"$TMP/l4.out"
check_eq "50 connections, all served" "ok=50 fail=0" "$(ok_fail "$TMP/l4.out")"

echo "subtest local6"
check_eq "curl over IPv6 to a replica on the node" l6 "$(from_client curl -s -m 5 "http://[fd00:100::1]:8080/")"

echo "subtest remote4"
check_eq "curl to the replica behind IPIP" r "$(from_client curl -s -m 5 http://198.18.100.2:8080/)"
from_client "$CLIENT" tcp 198.18.100.2:8080 --count 50 --quiet >"$TMP/r4.out"
check_eq "50 connections, all served" "ok=50 fail=0" "$(ok_fail "$TMP/r4.out")"

echo "subtest remote6"
check_eq "curl over IPv6 to the replica behind IPv6-in-IPv6" r6 "$(from_client curl -s -m 5 "http://[fd00:100::2]:8080/")"

echo "subtest wrk"
for url in http://198.18.100.1:8080/ http://198.18.100.2:8080/ "http://[fd00:100::2]:8080/"; do
	from_client timeout 20 wrk -t1 -c4 -d1s "$url" >"$TMP/wrk.out" 2>&1
	reqs=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
	[ "${reqs:-0}" -gt 50 ] || fail "wrk $url: $reqs requests: $(cat "$TMP/wrk.out")"
	grep -q "Non-2xx\|Socket errors: connect [1-9]\|timeout [1-9]" "$TMP/wrk.out" &&
		fail "wrk $url had errors: $(cat "$TMP/wrk.out")"
	log "wrk $url: $reqs requests in 1 s"
done

echo "subtest dig"
check_eq "dig over UDP to the replica behind IPIP" 198.18.9.2 \
	"$(from_client dig +short +time=2 +tries=2 @198.18.100.4 who.steer.test A)"
check_eq "dig over UDP and IPv6" fd00:9::2 \
	"$(from_client dig +short +time=2 +tries=2 @fd00:100::4 who.steer.test AAAA)"

echo "subtest spread"
from_client "$CLIENT" tcp 198.18.100.3:8081 --count 200 --quiet >"$TMP/mix.out"
check_eq "200 connections, all served" "ok=200 fail=0" "$(ok_fail "$TMP/mix.out")"
ml=$(reply_count "$TMP/mix.out" ml)
mr=$(reply_count "$TMP/mix.out" mr)
log "local ml=$ml remote mr=$mr"
[ "$ml" -ge 40 ] && [ "$mr" -ge 40 ] || fail "Maglev does not spread 200 flows over both replicas: ml=$ml mr=$mr"

echo "subtest added"
streams 8 198.18.100.3:8081 "$TMP/stop" stream
sleep 0.5 # the streams are flowing: replies are counted from here on
start_echo m3 198.18.0.1:9092
"$STEER" replica add mix 198.18.0.1:9092 >/dev/null || fail "replica add failed"
wait_state 198.18.0.1:9092 up
sleep 0.5 # the streams go on over the new table
touch "$TMP/stop"
wait "${STREAMS[@]}"
for i in $(seq 8); do
	f=$TMP/stream-$i.out
	names=$(awk '$1 == "reply" {print $2}' "$f" | sort -u | tr '\n' ' ')
	[ "$(ok_fail "$f" | cut -d' ' -f2)" = "fail=0" ] && [ "$(echo $names | wc -w)" = 1 ] ||
		fail "stream $i did not keep its replica: $names $(ok_fail "$f")"
done
log "8 long-lived flows kept their replicas"
from_client "$CLIENT" tcp 198.18.100.3:8081 --count 300 --quiet >"$TMP/mix3.out"
check_eq "300 new connections, all served" "ok=300 fail=0" "$(ok_fail "$TMP/mix3.out")"
[ "$(reply_count "$TMP/mix3.out" m3)" -ge 30 ] || fail "new flows do not reach the added replica: $(cat "$TMP/mix3.out")"

echo "subtest killed"
streams 8 198.18.100.3:8081 "$TMP/stop-k" kstream
sleep 0.5
start=$(date +%s%N)
kill "$ECHO_PID_mr"
wait_state 198.18.2.2:8081 down || finish
log "down $((($(date +%s%N) - start) / 1000000)) ms after the kill"
from_client "$CLIENT" tcp 198.18.100.3:8081 --count 200 --quiet >"$TMP/mix4.out"
check_eq "200 connections after the kill, all served" "ok=200 fail=0" "$(ok_fail "$TMP/mix4.out")"
check_eq "none to the killed replica" 0 "$(reply_count "$TMP/mix4.out" mr)"
touch "$TMP/stop-k"
wait "${STREAMS[@]}"
on_mr=0
for i in $(seq 8); do
	f=$TMP/kstream-$i.out
	if [ "$(reply_count "$f" mr)" -gt 0 ]; then
		on_mr=$((on_mr + 1)) # reset with the replica: its connections died with it
	else
		[ "$(ok_fail "$f" | cut -d' ' -f2)" = "fail=0" ] ||
			fail "stream $i, not on the killed replica, failed: $(cat "$f")"
	fi
done
log "$on_mr of 8 long-lived flows were on the killed replica; the others went on"

echo "subtest upgrade"
# Another build's programs (BPF_OPT=-Os) replace these in the pinned links:
# the interface never goes without a program, and flows carry on.
before=$("$STEER" status | awk '/^xdp link xdp / {print $NF}')
from_client "$CLIENT" stream 198.18.100.2:8080 --interval-us 20000 --until-file "$TMP/stop-up" \
	--quiet >"$TMP/stream-up.out" 2>&1 &
up_pid=$!
PIDS+=($up_pid)
stop_agent
STEER_SAVED=$STEER
STEER=$BUILD/upgrade/steer
start_agent "$TMP/steer.ini" "$TMP/agent-up.log" || finish
grep -q "xdp: on va-$$ (mode auto): links adopted=3 attached=0" "$TMP/agent-up.log" ||
	fail "the upgraded agent did not adopt the 3 links: $(grep 'xdp:' "$TMP/agent-up.log")"
after=$("$STEER" status | awk '/^xdp link xdp / {print $NF}')
[ "$before" != "$after" ] || fail "the XDP program was not replaced ($before)"
log "XDP program $before -> $after"
check_eq "curl through the upgraded path" r "$(from_client curl -s -m 5 http://198.18.100.2:8080/)"
touch "$TMP/stop-up"
wait "$up_pid"
check_eq "a flow across the upgrade" "fail=0" "$(ok_fail "$TMP/stream-up.out" | cut -d' ' -f2)"
STEER=$STEER_SAVED

echo "subtest miss"
from_client curl -s -m 10 http://198.18.100.5:8080/ >"$TMP/miss.out" 2>&1 &
curl_pid=$!
PIDS+=($curl_pid)
tries=100
while [ "$(hold_value miss held_now)" != 1 ] && [ $tries -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
check_eq "the connection is held" 1 "$(hold_value miss held_now)"
start_echo missl 198.18.0.1:9099
wait "$curl_pid"
check_eq "then served" missl "$(cat "$TMP/miss.out")"
check_eq "hold served" 1 "$(hold_value miss served)"

echo "subtest miss6"
from_client curl -s -m 10 "http://[fd00:100::5]:8080/" >"$TMP/miss6.out" 2>&1 &
curl_pid=$!
PIDS+=($curl_pid)
tries=100
while [ "$(hold_value miss6 held_now)" != 1 ] && [ $tries -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
check_eq "the connection is held" 1 "$(hold_value miss6 held_now)"
start_echo missl6 "[fd00:18::1]:9099"
wait "$curl_pid"
check_eq "then served" missl6 "$(cat "$TMP/miss6.out")"
check_eq "hold served" 1 "$(hold_value miss6 served)"
# Both went to the one listener of their family, handed over by sk_lookup.
check_eq "hold listeners' remote connections" "ipv4 1 ipv6 1" \
	"$("$STEER" status | awk '/^hold listener / {split($6, r, "="); printf "%s%s %s", sep, $3, r[2]; sep=" "}')"

echo "subtest down"
stop_agent
in_ns "$STEER" down >/dev/null 2>&1 || fail "steer down failed"
in_ns ip link show va-$$ | grep -q "xdp" && fail "XDP still attached after down"
[ -e "$PIN" ] && fail "pins left after down: $(ls "$PIN")"
[ -n "$(in_ns ip route show table local proto 83)" ] && fail "routes left after down"
[ -n "$(in_ns ip -6 route show table local proto 83)" ] && fail "IPv6 routes left after down"
bpftool link show 2>/dev/null | grep -qE "name (xdp_steer|tc_reply_unnat|hold_lookup)" &&
	fail "links of the XDP path left: $(bpftool link show)"
for vip in 198.18.100.2 198.18.100.3 198.18.100.4 fd00:100::2 fd00:100::4; do
	in_rep "$STEER" replica-setup --vip "$vip" --pin-dir "$PIN-rep" --remove >/dev/null 2>&1 || fail "replica-setup --remove $vip failed"
done
finish
