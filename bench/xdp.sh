#!/bin/bash
# The XDP path (issue 13, point 7), for clients on other hosts:
#  1. per-packet cost of xdp_steer under BPF_PROG_TEST_RUN (bench-xdp-cost):
#     flow-table hit and new flow, IPv4 and IPv6, remote replica (IPIP) and
#     local one (NAT), next to an XDP_TX baseline measured the same way;
#  2. end to end from a client netns through the node to a replica host:
#     CRR and RR at concurrency 1 and 16 through steer's XDP VIP (IPIP,
#     direct return), straight to the replica (direct, routed by the node),
#     through HAProxy on the node and through kube-proxy-style nftables DNAT
#     on the node; rounds interleaved as in bench/throughput.sh;
#  3. Maglev disruption when 1 of 10 replicas leaves (bench-xdp-disrupt):
#     from the tables alone, and through the real program with its flow
#     table.
#
# Prints a markdown section on stdout; progress on stderr. Writes the raw
# end-to-end rows to docs/benchmarks-xdp.csv.
#
# Everything runs in namespaces it creates (steer-xdpb-PID and its -c, -r
# and -k siblings), with private pin directories and a child cgroup, all
# removed on exit, also on INT/TERM. XDP and tc attach only inside them;
# the test-run tools attach nothing and pin nothing.
#
# BENCH_QUICK=1: 2 rounds of 300 ms, 100,000 runs per test run. BENCH_ROUNDS,
# BENCH_RUN_MS, BENCH_WARMUP_MS and BENCH_XDP_REPEAT override the defaults
# (5 rounds of 2000 ms after 300 ms of warm-up, 1,000,000 runs).
# BENCH_LOAD_CPU (default 0) and BENCH_SERVER_CPU (default 1) choose the
# CPUs; with fewer than 2 CPUs nothing is pinned.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
DOCS=${BENCH_DOCS:-$ROOT/docs}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2} RUN_MS=${BENCH_RUN_MS:-300} WARM_MS=${BENCH_WARMUP_MS:-50}
	REPEAT=${BENCH_XDP_REPEAT:-100000}
else
	ROUNDS=${BENCH_ROUNDS:-5} RUN_MS=${BENCH_RUN_MS:-2000} WARM_MS=${BENCH_WARMUP_MS:-300}
	REPEAT=${BENCH_XDP_REPEAT:-1000000}
fi
TARGETS="direct steer haproxy nftables"
WORKLOADS="crr:1 crr:16 rr:1 rr:16"
FLOWS=100000
LOAD_CPU=${BENCH_LOAD_CPU:-0} SERVER_CPU=${BENCH_SERVER_CPU:-1}

# The hosts: the client (198.18.0.2) reaches the node (198.18.0.1 on its
# link, where steer's XDP program runs), which routes to the replica host
# (198.18.2.2, behind the node's 198.18.2.1).
REPLICA=198.18.2.2:8080
STEER_VIP=198.18.100.1:8080
HAPROXY_VIP=198.18.100.2:8080
NFT_VIP=198.18.100.3:8080

ID=$$
NS=steer-xdpb-$ID # the node
NS_C=$NS-c        # the client
NS_R=$NS-r        # the replica host
NS_K=$NS-k        # the test runs' netns (parts 1 and 3)
IF_N=xn$ID IF_C=xc$ID IF_NR=xr$ID IF_R=xp$ID IF_K=xk$ID IF_G=xg$ID
PIN=/sys/fs/bpf/steer-xdpb-$ID
PIN_REP=$PIN-rep
TMP=$(mktemp -d /tmp/steer-xdpb.XXXX)
CG=""
PIDS=()
NSS=()
REP_SETUP=""

T0=$(date +%s%N)
log() { echo "xdp: +$((($(date +%s%N) - T0) / 1000000))ms: $*" >&2; }

in_n() { nsenter --net="/run/netns/$NS" -- "$@"; }
in_c() { nsenter --net="/run/netns/$NS_C" -- "$@"; }
in_r() { nsenter --net="/run/netns/$NS_R" -- "$@"; }
in_k() { nsenter --net="/run/netns/$NS_K" -- "$@"; }

nft_off() { in_n nft delete table ip kube-proxy 2>/dev/null; }

cleanup() {
	local p n
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -d "$PIN" ] && { in_n env STEER_BPFFS="$PIN" "$B/steer" down >/dev/null 2>&1 || rm -rf "$PIN"; }
	[ -n "$REP_SETUP" ] && in_r "$B/steer" replica-setup --vip "${STEER_VIP%:*}" --pin-dir "$PIN_REP" --remove >/dev/null 2>&1
	[ -d "$PIN_REP" ] && rm -rf "$PIN_REP"
	# Whatever is left in the bench's namespaces was started by it.
	for n in "${NSS[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p"; done
	done
	[ -n "$CG" ] && for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$CG" 2>/dev/null && break
		sleep 0.1
	done
	for n in "${NSS[@]}"; do
		[ "$n" = "$NS" ] && nft_off
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	log "error: $*"
	exit 1
}

for t in bench-load bench-xdp-cost bench-xdp-disrupt steer steer-echo; do
	[ -x "$B/$t" ] || die "$B/$t is missing (make all $B/bench-xdp-cost $B/bench-xdp-disrupt $B/bench-load)"
done
for t in haproxy nft ethtool taskset nsenter; do
	command -v "$t" >/dev/null || die "$t is missing (sh scripts/deps.sh bench)"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

PIN_LOAD=() PIN_SERVER=()
if [ "$(nproc)" -ge 2 ]; then
	PIN_LOAD=(taskset -c "$LOAD_CPU") PIN_SERVER=(taskset -c "$SERVER_CPU")
	PINNING="bench-load and the test-run tools on CPU $LOAD_CPU; the replica, HAProxy and steer's agent on CPU $SERVER_CPU (\`taskset -c\`)"
else
	PINNING="nothing pinned: only $(nproc) CPU"
fi

newns() {
	ip netns add "$1" || die "ip netns add $1"
	NSS+=("$1")
	ip -n "$1" link set lo up
}

# --- 1 and 3: test runs ------------------------------------------------------
# One interface whose routes lead to a gateway with a permanent neighbour:
# the encapsulation's bpf_fib_lookup() resolves there, and the packet goes
# back out of the interface it came in on (XDP_TX).
newns "$NS_K"
ip -n "$NS_K" link add "$IF_K" type veth peer name "$IF_G" || die "veth in $NS_K"
ip -n "$NS_K" link set "$IF_K" up
ip -n "$NS_K" link set "$IF_G" up
ip -n "$NS_K" addr add 198.18.10.1/24 dev "$IF_K"
ip -n "$NS_K" addr add fd00:10::1/64 dev "$IF_K" nodad
ip -n "$NS_K" route add 198.18.11.0/24 via 198.18.10.2 dev "$IF_K"
ip -n "$NS_K" -6 route add fd00:11::/64 via fd00:10::2 dev "$IF_K"
ip -n "$NS_K" neigh add 198.18.10.2 lladdr 02:00:00:00:0a:02 dev "$IF_K" nud permanent
ip -n "$NS_K" neigh add fd00:10::2 lladdr 02:00:00:00:0a:02 dev "$IF_K" nud permanent
ip netns exec "$NS_K" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null

log "per-packet cost: $ROUNDS rounds of $REPEAT runs per case"
in_k "${PIN_LOAD[@]}" "$B/bench-xdp-cost" --iface "$IF_K" --repeat "$REPEAT" --rounds "$ROUNDS" \
	>"$TMP/cost.txt" 2>"$TMP/cost.err" || die "bench-xdp-cost: $(cat "$TMP/cost.err")"

log "Maglev disruption: $FLOWS flows, 10 replicas"
# disrupt NAME ARGS...: one run of bench-xdp-disrupt; its key=value lines
# in $TMP/disrupt-NAME.txt.
disrupt() {
	in_k "${PIN_LOAD[@]}" "$B/bench-xdp-disrupt" --iface "$IF_K" "${@:2}" \
		>"$TMP/disrupt-$1.txt" 2>"$TMP/disrupt-$1.err" || die "bench-xdp-disrupt ${*:2}: $(cat "$TMP/disrupt-$1.err")"
}
disrupt big --flows "$FLOWS" --flow-table 131072
disrupt built --flows "$FLOWS"
disrupt fit --flows 60000
ip netns del "$NS_K" && NSS=("${NSS[@]:1}")

# --- 2: end to end -------------------------------------------------------------
newns "$NS"
newns "$NS_C"
newns "$NS_R"
ip link add "$IF_N" netns "$NS" type veth peer name "$IF_C" netns "$NS_C" || die "veth client-node"
ip link add "$IF_NR" netns "$NS" type veth peer name "$IF_R" netns "$NS_R" || die "veth node-replica"
ip -n "$NS" addr add 198.18.0.1/24 dev "$IF_N"
ip -n "$NS_C" addr add 198.18.0.2/24 dev "$IF_C"
ip -n "$NS" addr add 198.18.2.1/24 dev "$IF_NR"
ip -n "$NS_R" addr add 198.18.2.2/24 dev "$IF_R"
for l in "$NS $IF_N" "$NS_C $IF_C" "$NS $IF_NR" "$NS_R $IF_R"; do
	ip -n "${l% *}" link set "${l#* }" up
done
ip -n "$NS_C" route add 198.18.100.0/24 via 198.18.0.1
ip -n "$NS_C" route add 198.18.2.0/24 via 198.18.0.1
ip -n "$NS_R" route add default via 198.18.2.1
ip -n "$NS" addr add "${HAPROXY_VIP%:*}/32" dev lo
ip netns exec "$NS" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.tcp_tw_reuse=1 >/dev/null
# The replica answers from the VIP, and its route to the client is this
# node. steer run adds a local route for each TCP VIP (proto 83, for the
# miss path), so without accept_local the node drops those replies as
# martians (a local source arriving from outside) instead of forwarding
# them. A node that is not its replicas' gateway never sees them.
ip netns exec "$NS" sysctl -q -w "net.ipv4.conf.$IF_NR.accept_local=1" >/dev/null
# The client stands for many hosts, but it is one address connecting to one
# address and port per target: with a TIME_WAIT per CRR connection, its
# 28,000 ports (reused after 1 s with tcp_tw_reuse) capped every target
# near 14,000 connections/s at concurrency 16. So it keeps no TIME_WAIT.
ip netns exec "$NS_C" sysctl -q -w net.ipv4.tcp_tw_reuse=1 net.ipv4.tcp_max_tw_buckets=0 >/dev/null
# HAProxy's connections to the replica leave from the node's one address.
ip netns exec "$NS" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null
# A client link completes its checksums, as a NIC does (veth would hand the
# XDP program partial ones).
in_c ethtool -K "$IF_C" tx off >/dev/null 2>&1 || die "ethtool -K $IF_C tx off"

# spawn NAME NETNS CMD...: CMD in the background in NETNS, on the servers'
# CPU, output to $TMP/NAME.out; its pid (CMD's own) recorded for cleanup.
spawn() {
	local name=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" -- "${PIN_SERVER[@]}" "$@" >"$TMP/$name.out" 2>&1 &
	PIDS+=($!)
}
wait_for_line() {
	local tries=100
	while [ $tries -gt 0 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# --- the replica host: decapsulation, one replica -------------------------
in_r "$B/steer" replica-setup --vip "${STEER_VIP%:*}" --iface "$IF_R" --pin-dir "$PIN_REP" --apply \
	>"$TMP/replica-setup.out" 2>&1 || die "steer replica-setup: $(cat "$TMP/replica-setup.out")"
REP_SETUP=1
spawn replica "$NS_R" "$B/steer-echo" --name r --listen "0.0.0.0:${REPLICA#*:}" --tcp-only
wait_for_line "$TMP/replica.out" '^listening' || die "replica: $(cat "$TMP/replica.out")"

# --- the node: steer's XDP path ---------------------------------------------
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
[ -n "$CGROOT" ] || die "no cgroup v2"
# The agent attaches its socket hooks to a cgroup of its own, where nothing runs.
CG=$CGROOT/steer-xdpb-$ID
mkdir "$CG" || die "cannot create $CG"
{
	echo "[service xdp]"
	echo "vip = $STEER_VIP"
	echo "health = tcp"
	echo "replica = $REPLICA"
} >"$TMP/steer.ini"
export STEER_BPFFS=$PIN STEER_CGROUP=$CG STEER_CONTROL_SOCKET=$TMP/steer.sock
export STEER_LOG_LEVEL=warn
spawn agent "$NS" env STEER_XDP_IFACES="$IF_N" "$B/steer" run --config "$TMP/steer.ini"
up=0
for _ in $(seq 100); do
	up=$("$B/steer" status 2>/dev/null | grep -c 'state=up')
	[ "$up" -ge 1 ] && break
	sleep 0.05
done
[ "$up" -ge 1 ] || die "steer: the replica is not up: $(cat "$TMP/agent.out")"
"$B/steer" status 2>/dev/null | grep -q "^xdp link xdp iface=$IF_N" ||
	die "steer: no XDP link on $IF_N: $("$B/steer" status 2>&1 | grep '^xdp') $(cat "$TMP/agent.out")"

# --- HAProxy on the node, listening on its own VIP --------------------------
{
	printf 'global\n\tnbthread 1\n\tmaxconn 4096\n\n'
	printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n\ttimeout client 30s\n\ttimeout server 30s\n\n'
	printf 'listen bench\n\tbind %s\n\tserver r %s\n' "$HAPROXY_VIP" "$REPLICA"
} >"$TMP/haproxy.cfg"
spawn haproxy "$NS" haproxy -db -f "$TMP/haproxy.cfg"

# --- kube-proxy's nftables mode on the node ----------------------------------
# The rules its nftables proxier writes for a Service with one endpoint
# (the replica host), reached from outside the cluster on an external IP
# (NFT_VIP), with the default externalTrafficPolicy (Cluster): prerouting
# DNATs to the endpoint, and traffic from outside the pod CIDR is
# masqueraded to the node's address on the way out, as on a node.
# Loaded just before each nftables run and removed right after, so
# conntrack runs only then.
KP_POD_CIDR=10.244.0.0/16
{
	cat <<RULES
add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy services
add chain ip kube-proxy masquerading
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy firewall-check
add chain ip kube-proxy service-endpoints-check
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add chain ip kube-proxy service-BENCHSVC-bench/replica/tcp/echo
add chain ip kube-proxy external-BENCHSVC-bench/replica/tcp/echo
add chain ip kube-proxy endpoint-BENCHEP1-bench/replica/tcp/echo__${REPLICA%:*}/${REPLICA#*:}
add rule ip kube-proxy external-BENCHSVC-bench/replica/tcp/echo jump mark-for-masquerade
add rule ip kube-proxy external-BENCHSVC-bench/replica/tcp/echo goto service-BENCHSVC-bench/replica/tcp/echo
add rule ip kube-proxy service-BENCHSVC-bench/replica/tcp/echo ip daddr ${NFT_VIP%:*} tcp dport ${NFT_VIP#*:} ip saddr != $KP_POD_CIDR jump mark-for-masquerade
add rule ip kube-proxy service-BENCHSVC-bench/replica/tcp/echo numgen random mod 1 vmap { 0 : goto endpoint-BENCHEP1-bench/replica/tcp/echo__${REPLICA%:*}/${REPLICA#*:} }
add rule ip kube-proxy endpoint-BENCHEP1-bench/replica/tcp/echo__${REPLICA%:*}/${REPLICA#*:} ip saddr ${REPLICA%:*} jump mark-for-masquerade
add rule ip kube-proxy endpoint-BENCHEP1-bench/replica/tcp/echo__${REPLICA%:*}/${REPLICA#*:} meta l4proto tcp dnat to $REPLICA
add element ip kube-proxy service-ips { ${NFT_VIP%:*} . tcp . ${NFT_VIP#*:} : goto external-BENCHSVC-bench/replica/tcp/echo }
RULES
} >"$TMP/kp-nftables.nft"
in_n nft -f "$TMP/kp-nftables.nft" 2>"$TMP/nft.err" || die "the nftables rules do not load: $(cat "$TMP/nft.err")"
nft_off || die "the nftables rules do not come off"

addr_of() {
	case $1 in
	direct) echo "$REPLICA" ;;
	steer) echo "$STEER_VIP" ;;
	haproxy) echo "$HAPROXY_VIP" ;;
	nftables) echo "$NFT_VIP" ;;
	esac
}
load() { in_c "${PIN_LOAD[@]}" "$B/bench-load" "$@"; }
# xdp_counters: "encap miss_passed flow_new flow_hits" from steer status.
xdp_counters() {
	"$B/steer" status 2>/dev/null | awk '/^xdp packets/ {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["encap"] + 0, v["miss_passed"] + 0, v["flow_new"] + 0, v["flow_hits"] + 0 }'
}
# retrans: the client netns's TCP RetransSegs.
retrans() {
	in_c cat /proc/net/snmp | awk '$1 == "Tcp:" { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1 } else print $c }'
}

# Each target must answer without an error, steer's through the XDP
# program (packets encapsulated, none passed as a miss), before anything
# is measured.
for t in $TARGETS; do
	ok=""
	[ "$t" = nftables ] && in_n nft -f "$TMP/kp-nftables.nft"
	for _ in $(seq 40); do
		read -r e0 m0 _ _ < <(xdp_counters)
		line=$(load crr "$(addr_of "$t")" --concurrency 1 --duration-ms 50 2>>"$TMP/check.err")
		read -r e1 m1 _ _ < <(xdp_counters)
		case $line in
		*" ok=0 "*) ;;
		*" errors=0 "*)
			if [ "$t" != steer ] || { [ $((e1 - e0)) -gt 0 ] && [ "$m1" = "$m0" ]; }; then
				ok=1
				break
			fi
			;;
		esac
		sleep 0.1
	done
	[ "$t" = nftables ] && nft_off
	[ -n "$ok" ] || die "target $t at $(addr_of "$t") does not answer: $line $(tail -3 "$TMP/check.err") $(xdp_counters)"
done
log "4 targets answer; $ROUNDS rounds of $RUN_MS ms (+$WARM_MS ms warmup) per target and workload"

mkdir -p "$DOCS"
RAW=$DOCS/benchmarks-xdp.csv
echo "round,target,mode,conc,secs,ok,errors,conns_per_s,reqs_per_s,p50_us,p90_us,p99_us,max_us,retrans,xdp_encap,xdp_miss" >"$RAW"
declare -A F
read -r -a ORDER <<<"$TARGETS"
for round in $(seq "$ROUNDS"); do
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:}
		# Each round starts one target later.
		for i in "${!ORDER[@]}"; do
			t=${ORDER[$(((i + round - 1) % ${#ORDER[@]}))]}
			[ "$t" = nftables ] && { in_n nft -f "$TMP/kp-nftables.nft" || die "nftables: the rules do not load"; }
			read -r e0 m0 _ _ < <(xdp_counters)
			n0=$(retrans)
			line=$(load "$mode" "$(addr_of "$t")" --concurrency "$conc" \
				--duration-ms "$RUN_MS" --warmup-ms "$WARM_MS" 2>>"$TMP/load.err")
			rc=$?
			n1=$(retrans)
			read -r e1 m1 _ _ < <(xdp_counters)
			[ "$t" = nftables ] && nft_off
			case $line in mode=*) ;; *) die "$t $mode c$conc: exit $rc: $line $(tail -3 "$TMP/load.err")" ;; esac
			F=()
			for kv in $line; do F[${kv%%=*}]=${kv#*=}; done
			row=$round,$t,$mode,$conc
			for k in secs ok errors conns_per_s reqs_per_s p50_us p90_us p99_us max_us; do
				row=$row,${F[$k]:-}
			done
			echo "$row,$((n1 - n0)),$((e1 - e0)),$((m1 - m0))" >>"$RAW"
			log "round $round $t $mode c$conc: $line"
		done
	done
done
kill "${PIDS[@]}" 2>/dev/null

# --- the report ------------------------------------------------------------------
# med.txt: "target mode conc conns_per_s reqs_per_s p50 p90 p99 max errors
# retrans encap miss" (medians over rounds; the last four summed).
awk -F, 'NR > 1 {
	k = $2 " " $3 " " $4
	if (!(k in n)) order[++keys] = k
	i = ++n[k]
	for (c = 8; c <= 13; c++) v[k, c, i] = $c
	err[k] += $7; rt[k] += $14; enc[k] += $15; miss[k] += $16; ok[k] += $6
}
function median(k, c,    i, j, t, a, m) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = v[k, c, i] + 0
	for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (o = 1; o <= keys; o++) {
		k = order[o]
		printf "%s", k
		for (c = 8; c <= 13; c++) printf " %s", median(k, c)
		printf " %d %d %d %d %d\n", err[k], rt[k], enc[k], miss[k], ok[k]
	}
}' "$RAW" >"$TMP/med.txt"
declare -A M
while read -r t m c v1 v2 v3 v4 v5 v6 v7 v8 v9 v10 v11; do
	M[$t.$m.$c.1]=$v1 M[$t.$m.$c.2]=$v2 M[$t.$m.$c.3]=$v3 M[$t.$m.$c.4]=$v4
	M[$t.$m.$c.5]=$v5 M[$t.$m.$c.6]=$v6 M[$t.$m.$c.7]=$v7 M[$t.$m.$c.8]=$v8
	M[$t.$m.$c.9]=$v9 M[$t.$m.$c.10]=$v10 M[$t.$m.$c.11]=$v11
done <"$TMP/med.txt"
med() { echo "${M[$1.$2.$3.$4]:-0}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
# spread A B MODE CONC COLUMN: "lo–hi×", the range over rounds of A/B.
spread() {
	awk -F, -v a="$1" -v b="$2" -v m="$3" -v c="$4" -v k="$5" '
	$3 == m && $4 == c && ($2 == a || $2 == b) { v[$1, $2] = $k; r[$1] = 1 }
	END {
		for (i in r) if (v[i, b] > 0) { x = v[i, a] / v[i, b]; if (n++ == 0 || x < lo) lo = x; if (x > hi) hi = x }
		printf "%.2f–%.2f×", lo, hi
	}' "$RAW"
}
# table MODE CONC: one workload, ratios to direct and to HAProxy.
table() {
	awk -v m="$1" -v c="$2" -v targets="$TARGETS" '
	function r(a, b) { return sprintf("%.2f×", b > 0 ? a / b : 0) }
	$2 == m && $3 == c { for (f = 4; f <= 13; f++) v[$1, f] = $f }
	END {
		f = m == "rr" ? 5 : 4
		printf "| target | %s | × direct | × HAProxy | p50 µs | × direct | p99 µs | × direct | errors | retransmits |\n", (m == "rr" ? "requests/s" : "connections/s")
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		n = split(targets, t, " ")
		for (i = 1; i <= n; i++)
			printf "| %s | %.0f | %s | %s | %.1f | %s | %.1f | %s | %d | %d |\n", t[i], v[t[i], f], r(v[t[i], f], v["direct", f]),
				r(v[t[i], f], v["haproxy", f]), v[t[i], 6], r(v[t[i], 6], v["direct", 6]), v[t[i], 8], r(v[t[i], 8], v["direct", 8]),
				v[t[i], 10], v[t[i], 11]
	}' "$TMP/med.txt"
}
# peers: steer ÷ each other target, per workload.
peers() {
	local p w mode conc f row
	printf '| workload |'
	for p in direct haproxy nftables; do printf ' steer ÷ %s |' "$p"; done
	printf '\n|---|---:|---:|---:|\n'
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:} f=1 row=""
		[ "$mode" = rr ] && f=2
		for p in direct haproxy nftables; do
			row="$row **$(ratio "$(med steer "$mode" "$conc" $f)" "$(med "$p" "$mode" "$conc" $f)")×** ($(spread steer "$p" "$mode" "$conc" $((f + 7)))) |"
		done
		echo "| ${mode^^}, concurrency $conc |$row"
	done
}
# goal LABEL GOAL NUMBER UNIT RANGE OK MISS: a row of the goal table; OK is
# an awk condition on x (the measured number), MISS how far x is from it.
goal() {
	local verdict
	verdict=$(awk -v x="$3" "BEGIN {x += 0; if ($6) print \"met\"; else printf \"missed by %s\", $7}")
	echo "| $1 | $2 | $3$4 | $5 | $verdict |"
}

# --- per-packet costs ---
# cost.dat: "case round cost steer shim base": cost = steer - shim + base.
awk '$1 ~ /^case=/ {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (f["case"] == "xdp-tx-baseline") print "baseline", f["round"], f["ns_base"], 0, 0, f["ns_base"]
	else print f["case"], f["round"], f["ns_steer"] - f["ns_shim"] + f["ns_base"], f["ns_steer"], f["ns_shim"], f["ns_base"]
}' "$TMP/cost.txt" >"$TMP/cost.dat"
# cost CASE: "median lo hi" of the cost over rounds (and of the raw
# steer, shim, base columns: fields 4 to 12).
cost() {
	awk -v k="$1" '$1 == k { n++; for (c = 3; c <= 6; c++) v[c, n] = $c }
	function med(c,    i, j, t, a) {
		for (i = 1; i <= n; i++) a[i] = v[c, i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		lo = a[1]; hi = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		m = med(3); l = lo; h = hi
		printf "%.0f %d %d", m, l, h
		for (c = 4; c <= 6; c++) printf " %.0f", med(c)
		printf "\n"
	}' "$TMP/cost.dat"
}
BASE=$(cost baseline | cut -d' ' -f1)
# cost_row LABEL CASE GOAL: a row of the per-packet table.
cost_row() {
	local m lo hi s sh verdict
	read -r m lo hi s sh _ < <(cost "$2")
	verdict=$(awk -v x="$m" -v g="$3" 'BEGIN {if (x <= g) print "met"; else printf "missed by %d ns", x - g}')
	echo "| $1 | **$m** | $lo–$hi | $(awk -v x="$m" -v b="$BASE" 'BEGIN {printf "%.1f×", b ? x / b : 0}') | $s | $sh | ≤ $3 ns: $verdict |"
}
case_counts=$(awk '$1 ~ /^case=tcp/ {
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	n++; p += f["repeat"]
} END {printf "%d test runs, %d packets", n, p}' "$TMP/cost.txt")
worst() { # worst PATTERN: "ns case" of the highest median among cases matching PATTERN
	for c in $(awk '{print $1}' "$TMP/cost.dat" | sort -u | grep -E "$1"); do
		echo "$(cost "$c" | cut -d' ' -f1) $c"
	done | sort -n | tail -1
}
read -r hit4 _ < <(cost tcp4-remote-hit)
read -r new4 _ < <(cost tcp4-remote-new)
read -r hit_worst hit_worst_case < <(worst '^tcp.-(remote|local)-hit$')
read -r new_worst new_worst_case < <(worst '^tcp.-(remote|local)-new$')
cost_tail=$(tail -1 "$TMP/cost.txt")

# --- disruption ---
# dv NAME KEY: a value from bench-xdp-disrupt's output.
dv() { tr ' ' '\n' <"$TMP/disrupt-$1.txt" | awk -F= -v k="$2" '$1 == k {print $2; exit}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? 100 * a / b : 0}'; }
tbl_pct=$(pct "$(dv big table_flows_moved)" "$(dv big flows_others)")
kept_big=$(dv big kept_moved)

# --- end to end ---
crr_d1=$(ratio "$(med steer crr 1 1)" "$(med direct crr 1 1)")
crr_d16=$(ratio "$(med steer crr 16 1)" "$(med direct crr 16 1)")
crr_h1=$(ratio "$(med steer crr 1 1)" "$(med haproxy crr 1 1)")
crr_h16=$(ratio "$(med steer crr 16 1)" "$(med haproxy crr 16 1)")
steer_encap=0 steer_miss=0
for w in $WORKLOADS; do
	steer_encap=$((steer_encap + $(med steer "${w%:*}" "${w#*:}" 9)))
	steer_miss=$((steer_miss + $(med steer "${w%:*}" "${w#*:}" 10)))
done

cat <<MD
## The XDP path: per-packet cost, end to end, Maglev disruption

\`bench/xdp.sh\`: steer's XDP path (\`xdp_steer\` in \`bpf/steer_xdp.bpf.c\`) for
clients on other hosts, measured three ways: the program alone under
\`BPF_PROG_TEST_RUN\`, a client on another host (netns) through the node to a
replica host, and the flows that move when a replica leaves.

### Per-packet cost (BPF_PROG_TEST_RUN)

\`bench-xdp-cost\` (\`bench/xdp-cost.c\`) loads steer's XDP object from its
skeleton, without pins and attached nowhere, writes its maps the way the
agent does (a TCP service per family, its replica UP with a backend entry,
a Maglev table of the default $(awk '/^#define STEER_MAGLEV_SIZE/ {print $3}' "$ROOT/bpf/steer_abi.h") entries that names the case's replica
everywhere) and runs each case $REPEAT times per test run
(\`repeat\`), in $ROUNDS interleaved rounds, as if the packets arrived on a
veth of a netns of its own whose route to the remote replicas goes to a
gateway with a permanent neighbour entry (so the encapsulated packet goes
back out of the same interface: \`XDP_TX\`). ns/packet is the test run's
\`duration\` (the kernel's average per run), the median of the rounds; the
range is the rounds' lowest and highest. The baseline is a program of 17
instructions that swaps the MACs and returns \`XDP_TX\`, measured the same
way: $BASE ns/packet.

A test run with \`repeat\` runs the program again on the same buffer, which
steer's program rewrites (an IPIP header in front, a NATed destination):
from the second run on it would be measuring its own output. So each
measured run goes through a shim, an XDP program of ~30 instructions that
puts the original frame back (\`bpf_xdp_adjust_head\`, \`bpf_xdp_store_bytes\`)
and tail-calls the program; the shim's cost, measured with the baseline
behind the same shim and the same frame, is taken off:
ns/packet = (shim + steer) − (shim + baseline) + baseline. (The head
restore of the IPIP cases runs only before steer, so it stays in steer's
figure: it errs high by a few ns.) Each run is checked by the tool: the
verdict, the program's own counters (exactly one flow hit or new flow and
one encapsulation or NAT per packet, nothing else: $case_counts in all,
every one as expected) and the last packet's outer or NATed destination.

A **new flow** is a TCP SYN: the program never looks a SYN up in the flow
table, it hashes it into the Maglev table and writes the flow's entry. The
shim also writes a counter into the source port and the low 16 bits of the
source address, so every run is a 5-tuple never seen before and every
write a real insert into the LRU flow table (and, to a local replica, into
the reply-NAT table), which a warm-up has filled first: the steady state of
a busy node, where each insert evicts. The "tables with room" rows are the
same with both tables emptied before each test run ($(awk '/^#define ROOM_REPEAT/ {print $3}' "$ROOT/bench/xdp-cost.c") runs, fewer than
their entries). A **hit** is the flow's ACK after its SYN.

| packet | ns/packet | range | × baseline | shim + steer | shim + baseline | goal |
|---|---:|---:|---:|---:|---:|---|
$(cost_row "hit, IPv4, remote replica (IPIP, \`XDP_TX\`)" tcp4-remote-hit 100)
$(cost_row "hit, IPv4, local replica (NAT, \`XDP_PASS\`)" tcp4-local-hit 100)
$(cost_row "hit, IPv6, remote replica (IPv6-in-IPv6)" tcp6-remote-hit 100)
$(cost_row "hit, IPv6, local replica (NAT)" tcp6-local-hit 100)
$(cost_row "new flow (SYN), IPv4, remote replica" tcp4-remote-new 250)
$(cost_row "new flow (SYN), IPv4, local replica" tcp4-local-new 250)
$(cost_row "new flow (SYN), IPv6, remote replica" tcp6-remote-new 250)
$(cost_row "new flow (SYN), IPv6, local replica" tcp6-local-new 250)
$(cost_row "new flow, IPv4, remote, tables with room" tcp4-remote-new-room 250)
$(cost_row "new flow, IPv4, local, tables with room" tcp4-local-new-room 250)
$(cost_row "new flow, IPv6, remote, tables with room" tcp6-remote-new-room 250)
$(cost_row "new flow, IPv6, local, tables with room" tcp6-local-new-room 250)
| baseline: swap MACs, \`XDP_TX\` | **$BASE** | $(cost baseline | cut -d' ' -f2,3 | sed 's/ /–/') | 1.0× | | | |

After the rounds: $(echo "$cost_tail" | sed 's/cpu=\([0-9]*\) flow_table_entries=\([0-9]*\) rnat_entries=\([0-9]*\)/all on CPU \1; the flow table held \2 flows and the reply-NAT table \3/').

\`\`\`
bench-xdp-cost --iface xk$ID --repeat $REPEAT --rounds $ROUNDS    # in netns steer-xdpb-PID-k, under taskset -c $LOAD_CPU
\`\`\`

### End to end: a client on another host

Three network namespaces joined by veth pairs, as in
\`tests/integration/test_xdp.sh\`: the **client** (198.18.0.2; \`ethtool -K
tx off\` on its link, as a NIC completes checksums), the **node**
(198.18.0.1 on the client's link, 198.18.2.1 on the replica's; forwarding
on) and the **replica host** (198.18.2.2, its default route through the
node; \`steer replica-setup --vip ${STEER_VIP%:*} --apply\`: the VIP on lo, the
decap XDP program on its link), where one replica process
(\`steer-echo --tcp-only\` on 0.0.0.0:${REPLICA#*:}) answers every target:

- **direct**: the client connects to the replica host's own address,
  $REPLICA, routed by the node (the baseline);
- **steer**: to the VIP $STEER_VIP; \`STEER_XDP_IFACES=$IF_N steer run\` on the
  node (\`health = tcp\`, one replica: $REPLICA): the node's XDP program
  encapsulates the client's packets in IPIP to the replica host, which
  decapsulates them and answers the client directly (the replies are
  routed by the node, not touched by steer);
- **haproxy**: HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') on the node, listening on $HAPROXY_VIP, \`mode tcp\`,
  \`nbthread 1\`, the replica as its one server;
- **nftables**: kube-proxy's nftables mode on the node ($(nft -v)): the
  rules its proxier writes for a Service with that one endpoint reached
  on an external IP, $NFT_VIP, with the default
  \`externalTrafficPolicy: Cluster\`: DNAT to the replica in prerouting, and
  the client's connections masqueraded to the node's address, as kube-proxy
  does for clients outside the pod CIDR; loaded just before each of its
  runs and removed right after, so conntrack runs only in its runs.

The node's XDP program is attached in every target's runs: for the others
it looks the packet up and passes it. The client keeps no TIME_WAIT
(\`tcp_max_tw_buckets=0\` in its netns): it stands for many hosts, and one
address connecting to one address and port would otherwise run out of
ports near 14,000 connections/s, for every target alike. The node has
\`accept_local=1\` on the replica's link: the replica answers from the VIP
through the node, and \`steer run\` makes the VIP a local address of the
node (its miss-path route), so the node would drop those replies as
martians (a node that is not its replicas' gateway never sees them). CRR is connect, one request line,
its reply, close; RR is request/reply on connections kept open
(\`bench-load\`, \`bench/load.c\`). Each run lasts $RUN_MS ms after a
$WARM_MS ms warmup; the $ROUNDS rounds interleave every target and workload
(each round starts one target later), and the tables give the median over
rounds. CPUs: $PINNING. The raw rows are in \`docs/benchmarks-xdp.csv\`.
Over all steer runs (warmups included) the XDP program encapsulated
$steer_encap packets and passed $steer_miss to the stack as misses (they
must all go through XDP: a miss would be relayed by the agent).

<details><summary>Commands and config files</summary>

\`\`\`
steer replica-setup --vip ${STEER_VIP%:*} --iface xp$ID --pin-dir PIN-rep --apply    # on the replica host
steer-echo --name r --listen 0.0.0.0:${REPLICA#*:} --tcp-only                         # on the replica host
STEER_XDP_IFACES=xn$ID steer run --config TMP/steer.ini                  # on the node
haproxy -db -f TMP/haproxy.cfg                                            # on the node
nft -f TMP/kp-nftables.nft  ...  nft delete table ip kube-proxy           # on the node, around each nftables run
bench-load MODE ADDR --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS   # on the client
\`\`\`

\`steer.ini\`:
\`\`\`ini
$(cat "$TMP/steer.ini")
\`\`\`

\`haproxy.cfg\`:
\`\`\`
$(cat "$TMP/haproxy.cfg")
\`\`\`

\`kp-nftables.nft\` (nft -f):
\`\`\`
$(cat "$TMP/kp-nftables.nft")
\`\`\`
</details>

#### steer ÷ each peer

$(peers)

Ratios of the medians, connections/s in CRR and requests/s in RR (above 1×,
steer is faster); in parentheses, the lowest and highest ratio of the two
targets' runs in the same round.

#### CRR, concurrency 1

$(table crr 1)

#### CRR, concurrency 16

$(table crr 16)

#### RR, concurrency 1

$(table rr 1)

#### RR, concurrency 16

$(table rr 16)

Errors and retransmits (the client netns's TCP \`RetransSegs\`) are summed
over the rounds.

### Maglev disruption: one of 10 replicas leaves

\`bench-xdp-disrupt\` (\`bench/xdp-disrupt.c\`): one TCP service with 10 remote
replicas, its Maglev table built by the agent's own builder
(\`agent/xdp/maglev.c\`) at the default $(dv big maglev_size) entries, and $(dv big flows) distinct
5-tuples, each sending its SYN through the real program
(\`BPF_PROG_TEST_RUN\`): the replica each flow got is read off its
encapsulated packet ($(dv big balance_min) to $(dv big balance_max) flows per replica; every one where the
table says). Then replica $(dv big removed) leaves the way the agent removes one
(\`agent/maps/reconcile.c\`): the table rebuilt without it into the idle
bank, the service flipped to that bank, the replica's id zeroed and its
backend entry deleted. Counted among the $(dv big flows_others) flows of the other 9:

| what | flows of the other 9 that moved | goal |
|---|---:|---|
| (a) the table alone: the new table's entry for the flow | $(dv big table_flows_moved) (**$tbl_pct%**) | ≤ 2%: $(awk -v x="$tbl_pct" 'BEGIN {print (x <= 2 ? "met" : "missed")}') |
| (a) the same, the mean and the worst over the 10 replicas that could leave | $(dv big table_any_removal_mean_pct)%, $(dv big table_any_removal_max_pct)% | |
| (a) entries of the other 9 in the table that changed | $(dv big table_entries_moved) of $(dv big table_entries_others) ($(pct "$(dv big table_entries_moved)" "$(dv big table_entries_others)")%) | |
| (a) the datapath with its flow table emptied: each flow's ACK re-hashed | $(dv big rehash_moved) ($(pct "$(dv big rehash_moved)" "$(dv big flows_others)")%; $(dv big rehash_not_as_table) not where the table says) | |
| (b) with the flow table ($(dv big flow_table) entries): each flow's ACK after the change | **$kept_big** ($(dv big flow_hits) flow-table hits) | 0: $([ "$kept_big" = 0 ] && echo met || echo missed) |
| (b) the flow table as built, $(dv built flow_table) entries, the same $(dv built flows) flows | $(dv built kept_moved) ($(dv built flow_hits) hits; the table held $(dv built flow_table_entries) flows after the SYNs) | |
| (b) the flow table as built, $(dv fit flows) flows (they fit) | $(dv fit kept_moved) of $(dv fit flows_others) | |

The $(dv big gone_flows) flows of the replica that left all went to one of the 9, each where
the new table says ($(dv big gone_to_gone) still sent to it). The flow table is a
\`BPF_MAP_TYPE_LRU_PERCPU_HASH\`: its max_entries ($(dv built flow_table) as built, \`STEER_XDP_FLOWS\`)
counts flows for the whole node, each with a value per CPU, not flows per
CPU; the first (b) row sizes it to hold every flow here
(\`bpf_map__set_max_entries\`, as building with \`-DSTEER_XDP_FLOWS=131072\`
does). With more flows than entries, a flow whose entry was evicted falls
back on the table and moves at rate (a); this bench's flows are sent in
the same order twice (LRU's worst case), so with the table as built every
one of them had been evicted.

\`\`\`
bench-xdp-disrupt --iface xk$ID --flows $FLOWS --flow-table 131072    # in netns steer-xdpb-PID-k
bench-xdp-disrupt --iface xk$ID --flows $FLOWS
bench-xdp-disrupt --iface xk$ID --flows 60000
\`\`\`

### Goals (issue 13, point 7)

| what | goal | measured | range | |
|---|---|---|---|---|
$(goal "XDP program, flow-table hit, IPv4 to a remote replica" "≤ 100 ns" "$hit4" " ns" "$(cost tcp4-remote-hit | cut -d' ' -f2,3 | sed 's/ /–/') ns" "x <= 100" "sprintf(\"%d ns\", x - 100)")
$(goal "XDP program, flow-table hit, the slowest case ($hit_worst_case)" "≤ 100 ns" "$hit_worst" " ns" "$(cost "$hit_worst_case" | cut -d' ' -f2,3 | sed 's/ /–/') ns" "x <= 100" "sprintf(\"%d ns\", x - 100)")
$(goal "XDP program, new flow (SYN), IPv4 to a remote replica" "≤ 250 ns" "$new4" " ns" "$(cost tcp4-remote-new | cut -d' ' -f2,3 | sed 's/ /–/') ns" "x <= 250" "sprintf(\"%d ns\", x - 250)")
$(goal "XDP program, new flow (SYN), the slowest case ($new_worst_case)" "≤ 250 ns" "$new_worst" " ns" "$(cost "$new_worst_case" | cut -d' ' -f2,3 | sed 's/ /–/') ns" "x <= 250" "sprintf(\"%d ns\", x - 250)")
$(goal "CRR connections/s through the XDP VIP, concurrency 1" "≥ 0.9× direct" "$crr_d1" "×" "$(spread steer direct crr 1 8)" "x >= 0.9" "sprintf(\"%.2f×\", 0.9 - x)")
$(goal "CRR connections/s through the XDP VIP, concurrency 16" "≥ 0.9× direct" "$crr_d16" "×" "$(spread steer direct crr 16 8)" "x >= 0.9" "sprintf(\"%.2f×\", 0.9 - x)")
$(goal "CRR connections/s through the XDP VIP, concurrency 1" "≥ 2× HAProxy" "$crr_h1" "×" "$(spread steer haproxy crr 1 8)" "x >= 2" "sprintf(\"%.2f×\", 2 - x)")
$(goal "CRR connections/s through the XDP VIP, concurrency 16" "≥ 2× HAProxy" "$crr_h16" "×" "$(spread steer haproxy crr 16 8)" "x >= 2" "sprintf(\"%.2f×\", 2 - x)")
$(goal "Maglev: flows of the other 9 moved by the table alone" "≤ 2%" "$tbl_pct" "%" "worst removal $(dv big table_any_removal_max_pct)%" "x <= 2" "sprintf(\"%.2f%%\", x - 2)")
$(goal "Maglev: flows of the other 9 moved, with the flow table" "0" "$kept_big" "" "one number" "x == 0" "sprintf(\"%d flows\", x)")

"Range" is the rounds' lowest and highest (per-packet cost), or the lowest
and highest ratio of the two targets' runs in the same round (CRR). Direct
was $(ratio "$(med direct crr 1 1)" "$(med haproxy crr 1 1)")× HAProxy in CRR at concurrency 1 and $(ratio "$(med direct crr 16 1)" "$(med haproxy crr 16 1)")× at concurrency 16.
MD
