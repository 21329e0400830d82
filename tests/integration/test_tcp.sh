#!/bin/bash
# TCP over IPv4 and IPv6 through a VIP: every connect reaches a replica,
# getpeername() shows the VIP, the spread over 3 replicas is uniform, and the
# counters in `steer status` match what the clients did.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service web4]
vip = 127.77.0.1:8080
protocol = tcp
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
replica = 127.0.0.1:9003

[service web6]
vip = [fd00::77]:8080
protocol = tcp
replica = [::1]:9001
replica = [::1]:9002
replica = [::1]:9003
INI
for i in 1 2 3; do
	start_echo "r$i" "127.0.0.1:900$i"
	start_echo "r${i}v6" "[::1]:900$i"
done
start_agent "$TMP/steer.ini" || finish
wait_all_up 6

# chi2 OUTPUT N NAMES... — chi-square statistic of the reply counts.
chi2() {
	local out=$1 n=$2
	shift 2
	local k=$# args=""
	for name in "$@"; do args="$args $(reply_count "$out" "$name")"; done
	echo "$args" | awk -v n="$n" -v k="$k" '{e = n / k; s = 0; for (i = 1; i <= NF; i++) s += ($i - e) ^ 2 / e; printf "%.2f", s}'
}

echo "subtest tcp4"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 3000 --quiet >"$TMP/tcp4.out"
check_eq "tcp4: 3000 connects through the VIP, getpeername shows the VIP" "ok=3000 fail=0" "$(ok_fail "$TMP/tcp4.out")"
c=$(chi2 "$TMP/tcp4.out" 3000 r1 r2 r3)
log "tcp4 spread: r1=$(reply_count "$TMP/tcp4.out" r1) r2=$(reply_count "$TMP/tcp4.out" r2) r3=$(reply_count "$TMP/tcp4.out" r3) chi2=$c"
# 13.82 is the chi-square critical value for 2 degrees of freedom at p=0.001.
awk -v c="$c" 'BEGIN {exit !(c < 13.82)}' || fail "tcp4 spread is not uniform: chi2=$c >= 13.82"

echo "subtest tcp6"
in_cg "$CLIENT" tcp "[fd00::77]:8080" --count 3000 --quiet >"$TMP/tcp6.out"
check_eq "tcp6: 3000 connects through the VIP, getpeername shows the VIP" "ok=3000 fail=0" "$(ok_fail "$TMP/tcp6.out")"
c=$(chi2 "$TMP/tcp6.out" 3000 r1v6 r2v6 r3v6)
log "tcp6 spread chi2=$c"
awk -v c="$c" 'BEGIN {exit !(c < 13.82)}' || fail "tcp6 spread is not uniform: chi2=$c >= 13.82"

echo "subtest status-counters"
"$STEER" status --json >"$TMP/status.json"
steered=$(grep -o '"name":"web4"[^]]*' "$TMP/status.json" | grep -o '"steered":[0-9]*' | head -1 | cut -d: -f2)
check_eq "web4 steered counter equals the connects made" 3000 "$steered"
r1=$(reply_count "$TMP/tcp4.out" r1)
got=$(grep -o '"name":"web4".*' "$TMP/status.json" | grep -o '"address":"127.0.0.1:9001","id":[0-9]*,"state":"up","steered":[0-9]*' | grep -o '[0-9]*$')
check_eq "replica 127.0.0.1:9001 steered counter equals its replies" "$r1" "$got"
"$STEER" status | grep -q '^service web4 127.77.0.1:8080/tcp' || fail "text status lacks web4: $("$STEER" status)"

echo "subtest bpftool-named-fields"
bpftool map dump pinned "$PIN/steer_svc_v1" >"$TMP/dump.txt" 2>&1
grep -q '"svc_id":' "$TMP/dump.txt" && grep -q '"bank":' "$TMP/dump.txt" ||
	fail "bpftool dump of steer_svc_v1 lacks named fields: $(head -20 "$TMP/dump.txt")"
finish
