#!/bin/bash
# Weights (replica = ADDR weight=N): a 3:1 pair takes a 3:1 share of new
# connections, under policy = random and under p2c, IPv4 and IPv6, within
# ±10% over 4000 short connections; check-config shows the options and a
# bad weight is refused naming the accepted range; curl sees the same split.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/steer.ini" <<INI
[service rnd]
vip = 127.77.0.1:8080
policy = random
replica = 127.0.0.1:9001 weight=3
replica = 127.0.0.1:9002

[service p2c]
vip = 127.77.0.2:8080
replica = 127.0.0.1:9001 weight=3
replica = 127.0.0.1:9002 weight=1

[service six]
vip = [fd00::77]:8080
replica = [::1]:9001 weight=3
replica = [::1]:9002
INI
start_echo a 127.0.0.1:9001
start_echo b 127.0.0.1:9002
start_echo a6 [::1]:9001
start_echo b6 [::1]:9002
start_agent "$TMP/steer.ini" || finish
wait_all_up 6 || finish

# split NAME VIP A B: 4000 connects; A must get 3000 ±10% (2700..3300).
split() {
	in_cg "$CLIENT" tcp "$2" --count 4000 --quiet >"$TMP/$1.out"
	check_eq "$1: all served" "ok=4000 fail=0" "$(ok_fail "$TMP/$1.out")"
	a=$(reply_count "$TMP/$1.out" "$3") b=$(reply_count "$TMP/$1.out" "$4")
	log "$1: weight 3 got $a, weight 1 got $b"
	[ "$a" -ge 2700 ] && [ "$a" -le 3300 ] || fail "$1: a 3:1 split gave $a / $b (expected 3000 ±300)"
}

echo "subtest random4"
split rnd 127.77.0.1:8080 a b
echo "subtest p2c4"
split p2c 127.77.0.2:8080 a b
echo "subtest random6"
split six "[fd00::77]:8080" a6 b6

# curl_split NAME URL A: 400 HTTP requests with curl (steer-echo answers
# with its name); A, weight 3, must answer 300 ±45 (about 5 sd).
curl_split() {
	in_cg sh -c 'for i in $(seq 400); do curl -s -m 5 "$1"; echo; done' sh "$2" >"$TMP/$1.curl"
	a=$(grep -cx "$3" "$TMP/$1.curl")
	check_eq "$1: curl got 400 answers" 400 "$(grep -c . "$TMP/$1.curl")"
	log "$1: curl, weight 3 answered $a of 400"
	[ "$a" -ge 255 ] && [ "$a" -le 345 ] || fail "$1: curl split $a of 400 (expected 300 ±45)"
}
echo "subtest curl4"
curl_split rnd-curl http://127.77.0.1:8080/ a
echo "subtest curl6"
curl_split six-curl "http://[fd00::77]:8080/" a6

echo "subtest shown"
out=$("$STEER" check-config "$TMP/steer.ini" 2>&1)
echo "$out" | grep -qx "replica = 127.0.0.1:9001 weight=3" || fail "check-config does not show weight=3: $out"
check_eq "status shows the weight" 3 "$("$STEER" status --json | grep -o '"address":"127.0.0.1:9001"[^}]*"weight":[0-9]*' | head -1 | sed 's/.*"weight"://')"

echo "subtest bad"
for bad in "weight=0" "weight=101" "weight=x" "size=3"; do
	printf '[service w]\nvip = 127.77.0.9:80\nreplica = 127.0.0.1:9001 %s\n' "$bad" >"$TMP/bad.ini"
	out=$("$STEER" check-config "$TMP/bad.ini" 2>&1) && fail "'$bad' was accepted"
	echo "$out" | grep -q "weight=1-100" || fail "'$bad': the error does not name the range: $out"
done
finish
