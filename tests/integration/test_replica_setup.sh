#!/bin/bash
# steer replica-setup on a replica host, in the test's network namespace:
# its errors; the plan; --apply of an IPv4 and an IPv6 VIP on a veth (the
# VIP on lo, the sysctls, the decap XDP program and its pinned link), a
# second --apply changing nothing; IPIP and IPv6-in-IPv6 SYNs from the peer
# namespace answered by a listener on the VIP straight back to the client,
# a tunnelled SYN for another address dropped; --remove of both leaving
# nothing (no address, pin, XDP program, and the sysctls as they were).
. "$(dirname "$0")/lib.sh"

TUNNEL=$BUILD/steer-tunnel-syn
VIP4=198.18.100.1
VIP6=fd00:100::1
OTHER4=198.18.100.9

# A failed run may leave pins: removing them detaches the link (the
# namespace's deletion would too).
trap 'rm -rf "$PIN"; teardown' EXIT

setup_world
add_host
IF=va-$$

rs() { in_ns "$STEER" replica-setup "$@" --pin-dir "$PIN"; }
sysctl_of() { in_ns cat "/proc/sys/net/ipv4/conf/$1/$2"; }
sysctls() {
	echo "$(sysctl_of all arp_ignore) $(sysctl_of all arp_announce)" \
		"$(sysctl_of all rp_filter) $(sysctl_of "$IF" rp_filter)"
}
lo_addrs() { in_ns ip -o addr show dev lo | awk '{print $4}' | sort | xargs; }
xdp_ids() { in_ns bpftool net -j | grep -o '"devname":"'"$IF"'","ifindex":[0-9]*,"mode":"[a-z]*","id":[0-9]*' | grep -o '[0-9]*$'; }
# A counter of steer_decap_stats_v1, summed over the CPUs.
stat_of() {
	bpftool map dump pinned "$PIN/steer_decap_stats_v1" -j 2>/dev/null |
		grep -o "\"$1\":[0-9]*" | cut -d: -f2 | awk '{s += $1} END {print s + 0}'
}

echo "--- errors name the bad value"
out=$(rs --vip 1.2.3 2>&1)
check_eq "--vip 1.2.3: exit 2" 2 $?
check_eq "--vip 1.2.3: message" "steer: replica-setup: --vip '1.2.3': not an IPv4 or IPv6 address" \
	"$(echo "$out" | cut -d'(' -f1 | sed 's/ $//')"
out=$(rs --vip $VIP4 --iface nope0 2>&1)
check_eq "unknown --iface: exit 2" 2 $?
echo "$out" | grep -qF "unknown interface 'nope0'" && log "ok: unknown --iface named ($out)" ||
	fail "unknown --iface: $out"
out=$(rs --vip $VIP4 2>&1)
check_eq "no default route: exit 2" 2 $?
echo "$out" | grep -qF "pass --iface" && log "ok: no default route says to pass --iface" ||
	fail "no default route: $out"
out=$(rs --vip $VIP4 --pin-dir /tmp/not-bpffs --apply 2>&1)
check_eq "--pin-dir off bpffs: exit 2" 2 $?
check_eq "errors changed nothing: addresses on lo" "127.0.0.1/8 ::1/128" "$(lo_addrs)"
[ ! -e "$PIN" ] && log "ok: no pin directory after the errors" || fail "$PIN exists"

echo "--- the plan (no --apply) takes the default route's interface and changes nothing"
in_ns ip route add default via 198.18.0.2 dev "$IF"
plan=$(rs --vip $VIP4)
check_eq "plan: exit 0" 0 $?
for want in "ip addr add $VIP4/32 dev lo" "sysctl -w net.ipv4.conf.all.arp_ignore=1" \
	"sysctl -w net.ipv4.conf.all.arp_announce=2" "sysctl -w net.ipv4.conf.$IF.rp_filter=0" \
	"sysctl -w net.ipv4.conf.all.rp_filter=2" \
	"# attach steer's decap XDP program to $IF (pinned in $PIN)" \
	"ip link add steer-ipip type ipip external"; do
	echo "$plan" | grep -qF -- "$want" && log "ok: plan has '$want'" || fail "plan lacks '$want': $plan"
done
echo "$plan" | grep -v '^#' | grep -v -e '^sysctl -w ' -e '^ip addr add ' &&
	fail "plan has a line that is neither shell nor a comment"
plan6=$(rs --vip $VIP6 --iface "$IF")
echo "$plan6" | grep -qxF "ip addr add $VIP6/128 dev lo" && log "ok: IPv6 plan adds $VIP6/128" ||
	fail "IPv6 plan: $plan6"
check_eq "IPv6 plan has no sysctl" "" "$(echo "$plan6" | grep '^sysctl')"
check_eq "the plan changed nothing: addresses on lo" "127.0.0.1/8 ::1/128" "$(lo_addrs)"
[ ! -e "$PIN" ] && log "ok: no pin directory after the plan" || fail "$PIN exists"

echo "--- --apply of $VIP4 on $IF"
# Strict, as many distributions set it: replica-setup must loosen both.
in_ns sysctl -qw net.ipv4.conf.all.rp_filter=1 "net.ipv4.conf.$IF.rp_filter=1"
before=$(sysctls)
log "sysctls before (arp_ignore arp_announce all.rp_filter $IF.rp_filter): $before"
out=$(rs --vip $VIP4 --iface "$IF" --apply 2>&1)
check_eq "--apply: exit 0" 0 $?
echo "$out" | sed 's/^/      /'
check_eq "addresses on lo" "127.0.0.1/8 $VIP4/32 ::1/128" "$(lo_addrs)"
check_eq "sysctls" "1 2 2 0" "$(sysctls)"
id=$(xdp_ids)
[ -n "$id" ] && log "ok: bpftool net shows XDP program $id on $IF" ||
	fail "no XDP program on $IF: $(in_ns bpftool net)"
check_eq "it is the decap program" "decap_xdp" \
	"$(bpftool prog show id "${id:-0}" -j 2>/dev/null | grep -o '"name":"[a-z_]*"' | cut -d'"' -f4)"
check_eq "link pinned" "xdp prog $id" \
	"$(bpftool link show pinned "$PIN/link_decap@$IF" 2>/dev/null | grep -o 'xdp  *prog [0-9]*' | tr -s ' ')"
check_eq "sysctl records in the pin dir" 4 "$(ls "$PIN" | grep -c '^sysctl_was@')"

echo "--- a second --apply changes nothing"
out=$(rs --vip $VIP4 --iface "$IF" --apply 2>&1)
check_eq "second --apply: exit 0" 0 $?
check_eq "second --apply: last line" "replica-setup: $VIP4 ready on $IF (nothing changed)" \
	"$(echo "$out" | tail -1)"
check_eq "same XDP program" "$id" "$(xdp_ids)"
check_eq "sysctls" "1 2 2 0" "$(sysctls)"

echo "--- --apply of $VIP6 joins the same program (the default route's interface)"
in_ns ip -6 route add default via fd00:18::2 dev "$IF"
out=$(rs --vip $VIP6 --apply 2>&1)
check_eq "--apply IPv6: exit 0" 0 $?
echo "$out" | sed 's/^/      /'
check_eq "addresses on lo" "127.0.0.1/8 $VIP4/32 ::1/128 $VIP6/128" "$(lo_addrs)"
check_eq "same XDP program" "$id" "$(xdp_ids)"
check_eq "VIPs in steer_decap_vips_v1" 2 \
	"$(bpftool map dump pinned "$PIN/steer_decap_vips_v1" -j | grep -o '"family":' | wc -l)"

echo "--- tunnelled SYNs from the peer namespace are answered from the VIP, directly"
start_echo v4 "$VIP4:8080" || finish
start_echo v6 "[$VIP6]:8080" || finish
check_eq "IPIP SYN to $VIP4:8080" "syn-ack from $VIP4:8080" \
	"$(ip netns exec "$HOST" "$TUNNEL" 198.18.0.1 198.18.0.2:40001 "$VIP4:8080")"
check_eq "IPv6-in-IPv6 SYN to [$VIP6]:8080" "syn-ack from [$VIP6]:8080" \
	"$(ip netns exec "$HOST" "$TUNNEL" fd00:18::1 "[fd00:18::2]:40002" "[$VIP6]:8080")"
check_eq "packets decapsulated" 2 "$(stat_of decapsulated)"
# A tunnel to an address that is no VIP is refused, even one this host has.
in_ns ip addr add "$OTHER4/32" dev lo
start_echo other "$OTHER4:8080" || finish
check_eq "IPIP SYN to $OTHER4 (no VIP)" "no syn-ack from $OTHER4:8080 within 500 ms" \
	"$(ip netns exec "$HOST" "$TUNNEL" --expect-none 198.18.0.1 198.18.0.2:40003 "$OTHER4:8080" 500)"
check_eq "packets refused" 1 "$(stat_of refused)"
in_ns ip addr del "$OTHER4/32" dev lo

echo "--- --remove of $VIP4: the program stays for $VIP6"
out=$(rs --vip $VIP4 --remove 2>&1)
check_eq "--remove: exit 0" 0 $?
echo "$out" | sed 's/^/      /'
check_eq "addresses on lo" "127.0.0.1/8 ::1/128 $VIP6/128" "$(lo_addrs)"
check_eq "same XDP program" "$id" "$(xdp_ids)"
check_eq "sysctls kept while a VIP is left" "1 2 2 0" "$(sysctls)"

echo "--- --remove of $VIP6, the last VIP: nothing left"
out=$(rs --vip $VIP6 --remove 2>&1)
check_eq "--remove of the last VIP: exit 0" 0 $?
echo "$out" | sed 's/^/      /'
check_eq "addresses on lo" "127.0.0.1/8 ::1/128" "$(lo_addrs)"
check_eq "no XDP program on $IF" "" "$(xdp_ids)"
check_eq "sysctls restored" "$before" "$(sysctls)"
[ ! -e "$PIN" ] && log "ok: pin directory removed" || fail "$PIN left: $(ls -l "$PIN")"
out=$(rs --vip $VIP6 --remove 2>&1)
check_eq "a second --remove: exit 0" 0 $?
check_eq "a second --remove: last line" "replica-setup: $VIP6 removed (nothing changed)" \
	"$(echo "$out" | tail -1)"
finish
