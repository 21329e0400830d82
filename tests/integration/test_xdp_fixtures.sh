#!/bin/bash
# The XDP path's packet fixtures (tests/xdp/): xdp_steer and tc_reply_unnat
# run through bpf_prog_test_run on each case of the table, checked for the
# verdict, the output bytes and the counters. Nothing is attached to any
# interface; the encapsulation's bpf_fib_lookup() needs a network, built in
# the test's netns:
#
#   fx1 198.18.1.1/24 fd00:1::1/64, the ingress (peer fx1p)
#       next hop 198.18.1.2 / fd00:1::2, permanent neighbour 02:00:00:00:01:fe
#       198.18.10.0/24, fd00:10::/64 through it: replicas A and B (XDP_TX)
#       198.18.30.0/24, fd00:30::/64 through 198.18.1.3 / fd00:1::3: no neighbour
#   fx2 198.18.2.1/24 fd00:2::1/64, MTU 1280 (peer fx2p)
#       next hop 198.18.2.2 / fd00:2::2, permanent neighbour 02:00:00:00:02:fe
#       198.18.20.0/24, fd00:20::/64 through it: replica REDIRECT (XDP_REDIRECT)
#   198.18.40.0/24, fd00:40::/64: no route; 198.18.41.0/24, fd00:41::/64: unreachable
#
# XDP_FIXTURE=TEXT runs only the cases whose name contains TEXT.
. "$(dirname "$0")/lib.sh"

FIX=$BUILD/xdp-fixtures
[ -x "$FIX" ] || { echo "    FAIL: $FIX is not built (make all)"; exit 1; }
# BPF_FIB_LOOKUP_SRC (the outer source address) is Linux 6.7.
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
[ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "${kmin%%[!0-9]*}" -ge 7 ]; } ||
	skip "bpf_fib_lookup(BPF_FIB_LOOKUP_SRC) needs Linux 6.7, this is $(uname -r)"

setup_world
IN=fx1-$$ IN_PEER=fx1p-$$ RD=fx2-$$ RD_PEER=fx2p-$$
ip -n "$NS" link add "$IN" type veth peer name "$IN_PEER" 2>"$TMP/veth.err" ||
	skip "cannot create a veth pair: $(cat "$TMP/veth.err")"
ip -n "$NS" link add "$RD" type veth peer name "$RD_PEER"
ip -n "$NS" link set dev "$IN" address 02:00:00:00:01:01
ip -n "$NS" link set dev "$IN_PEER" address 02:00:00:00:01:02
ip -n "$NS" link set dev "$RD" address 02:00:00:00:02:01
ip -n "$NS" link set dev "$RD_PEER" address 02:00:00:00:02:02
ip -n "$NS" link set dev "$RD" mtu 1280
ip -n "$NS" link set dev "$RD_PEER" mtu 1280
# The peers only carry the link: no addresses, no IPv6 chatter that could
# create neighbour entries.
ip netns exec "$NS" sysctl -qw net.ipv6.conf."$IN_PEER".disable_ipv6=1 \
	net.ipv6.conf."$RD_PEER".disable_ipv6=1 \
	net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1
ip -n "$NS" addr add 198.18.1.1/24 dev "$IN"
ip -n "$NS" addr add fd00:1::1/64 dev "$IN" nodad
ip -n "$NS" addr add 198.18.2.1/24 dev "$RD"
ip -n "$NS" addr add fd00:2::1/64 dev "$RD" nodad
for dev in "$IN" "$IN_PEER" "$RD" "$RD_PEER"; do ip -n "$NS" link set dev "$dev" up; done
ip -n "$NS" neigh add 198.18.1.2 lladdr 02:00:00:00:01:fe dev "$IN" nud permanent
ip -n "$NS" neigh add fd00:1::2 lladdr 02:00:00:00:01:fe dev "$IN" nud permanent
ip -n "$NS" neigh add 198.18.2.2 lladdr 02:00:00:00:02:fe dev "$RD" nud permanent
ip -n "$NS" neigh add fd00:2::2 lladdr 02:00:00:00:02:fe dev "$RD" nud permanent
ip -n "$NS" route add 198.18.10.0/24 via 198.18.1.2 dev "$IN"
ip -n "$NS" -6 route add fd00:10::/64 via fd00:1::2 dev "$IN"
ip -n "$NS" route add 198.18.30.0/24 via 198.18.1.3 dev "$IN"
ip -n "$NS" -6 route add fd00:30::/64 via fd00:1::3 dev "$IN"
ip -n "$NS" route add 198.18.20.0/24 via 198.18.2.2 dev "$RD"
ip -n "$NS" -6 route add fd00:20::/64 via fd00:2::2 dev "$RD"
ip -n "$NS" route add unreachable 198.18.41.0/24
ip -n "$NS" -6 route add unreachable fd00:41::/64
ip -n "$NS" neigh show >"$TMP/neigh"
grep -qwF -e 198.18.1.3 -e fd00:1::3 "$TMP/neigh" &&
	fail "the no-neighbour next hop has a neighbour entry: $(cat "$TMP/neigh")"

echo "subtest fixtures"
ip netns exec "$NS" env \
	XDP_FIX_IFACE="$IN" XDP_FIX_MAC=02:00:00:00:01:01 XDP_FIX_GW_MAC=02:00:00:00:01:fe \
	XDP_FIX_SRC4=198.18.1.1 XDP_FIX_SRC6=fd00:1::1 \
	XDP_FIX_REDIRECT_IFACE="$RD" XDP_FIX_REDIRECT_MAC=02:00:00:00:02:01 \
	XDP_FIX_REDIRECT_GW_MAC=02:00:00:00:02:fe \
	XDP_FIX_REDIRECT_SRC4=198.18.2.1 XDP_FIX_REDIRECT_SRC6=fd00:2::1 XDP_FIX_MTU=1280 \
	XDP_FIX_A4=198.18.10.10 XDP_FIX_A6=fd00:10::10 \
	XDP_FIX_B4=198.18.10.11 XDP_FIX_B6=fd00:10::11 \
	XDP_FIX_REDIRECT4=198.18.20.10 XDP_FIX_REDIRECT6=fd00:20::10 \
	XDP_FIX_LOCAL4=198.18.1.1 XDP_FIX_LOCAL6=fd00:1::1 \
	XDP_FIX_NONEIGH4=198.18.30.10 XDP_FIX_NONEIGH6=fd00:30::10 \
	XDP_FIX_NOROUTE4=198.18.40.10 XDP_FIX_NOROUTE6=fd00:40::10 \
	XDP_FIX_UNREACH4=198.18.41.10 XDP_FIX_UNREACH6=fd00:41::10 \
	"$FIX" ${XDP_FIXTURE:+"$XDP_FIXTURE"} >"$TMP/fixtures.out" 2>&1
rc=$?
sed 's/^/    /' "$TMP/fixtures.out"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/fixtures.out")
[ -n "$summary" ] || fail "xdp-fixtures printed no summary (exit $rc)"
check_eq "xdp-fixtures exit status" 0 "$rc"
check_eq "failed cases" 0 "$(echo "$summary" | awk '{print $3}')"
finish
