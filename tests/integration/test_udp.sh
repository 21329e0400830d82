#!/bin/bash
# UDP through a VIP, IPv4 and IPv6: connected sockets (connect hook,
# getpeername) and unconnected ones (sendmsg hook, recvfrom shows the VIP).
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service dns4]
vip = 127.77.0.2:5353
protocol = udp
replica = 127.0.0.1:9101
replica = 127.0.0.1:9102

[service dns6]
vip = [fd00::78]:5353
protocol = udp
replica = [::1]:9101
replica = [::1]:9102
INI
start_echo u1 127.0.0.1:9101
start_echo u2 127.0.0.1:9102
start_echo u1v6 "[::1]:9101"
start_echo u2v6 "[::1]:9102"
start_agent "$TMP/steer.ini" || finish
wait_all_up 4

for variant in "udp4 127.77.0.2:5353 u1 u2" "udp6 [fd00::78]:5353 u1v6 u2v6"; do
	set -- $variant
	name=$1 vip=$2 a=$3 b=$4
	for mode in unconnected connected; do
		echo "subtest $name-$mode"
		flag=""
		[ "$mode" = connected ] && flag=--connected
		in_cg "$CLIENT" udp "$vip" $flag --count 200 >"$TMP/$name-$mode.out" 2>&1
		check_eq "$name $mode: 200 datagrams answered, source/peer shows the VIP" \
			"ok=200 fail=0" "$(ok_fail "$TMP/$name-$mode.out")"
		na=$(reply_count "$TMP/$name-$mode.out" "$a")
		nb=$(reply_count "$TMP/$name-$mode.out" "$b")
		log "$name $mode spread: $a=$na $b=$nb"
		[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] || fail "$name $mode: one replica got nothing ($a=$na $b=$nb)"
	done
done

echo "subtest udp-tcp-distinct"
# A UDP service does not capture TCP to the same address and port.
in_cg "$CLIENT" tcp 127.77.0.2:5353 --count 1 --quiet >"$TMP/tcp.out" 2>&1
grep -q 'error connect:ECONNREFUSED 1' "$TMP/tcp.out" || fail "TCP to a UDP VIP was steered: $(cat "$TMP/tcp.out")"
finish
