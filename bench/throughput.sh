#!/bin/bash
# Throughput and latency of one connection path against another: CRR and RR
# at concurrency 1 and 16, straight to the replicas (direct), through
# steer's VIP, through HAProxy (tcp mode, one thread), through nginx's
# stream proxy (one worker), and through kube-proxy's two modes as rules:
# iptables DNAT chains with `statistic --mode random` (kp-iptables) and
# nftables `numgen random` in a verdict map (kp-nftables). All six balance
# over the same 3 replica processes. Runs are interleaved (every target for
# every workload, then the next round) so that drift on a shared machine
# hits all targets alike. The load generator runs on one CPU and everything
# that serves (replicas, proxies, steer's agent) on another, with taskset.
#
# A kube-proxy target's rules are loaded just before each of its runs and
# removed right after, so conntrack runs only while they are loaded and the
# other targets never pay for it. Each run records the netns's TCP
# retransmits and conntrack's insert_failed and drop counters.
#
# Prints a markdown section on stdout; progress on stderr. Writes the raw
# per-round rows to docs/benchmarks-raw.csv and the CRR percentiles to
# docs/benchmark-crr.dat (for bench/chart.gp).
#
# Own netns, child cgroups and pin directory, all removed on exit, also on
# INT/TERM; kernel.bpf_stats_enabled is put back as it was; the netfilter
# rules live only in the bench's netns and are flushed before it is deleted.
#
# BENCH_QUICK=1: 2 rounds of 300 ms. BENCH_ROUNDS, BENCH_RUN_MS and
# BENCH_WARMUP_MS override the defaults. BENCH_LOAD_CPU (default 0) and
# BENCH_SERVER_CPU (default 1) choose the CPUs; with fewer than 2 CPUs
# nothing is pinned. BENCH_IPTABLES=legacy (default) or nft chooses the
# iptables backend of kp-iptables.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
LOAD=$B/bench-load
DOCS=${BENCH_DOCS:-$ROOT/docs}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2} RUN_MS=${BENCH_RUN_MS:-300} WARM_MS=${BENCH_WARMUP_MS:-50}
else
	ROUNDS=${BENCH_ROUNDS:-5} RUN_MS=${BENCH_RUN_MS:-3000} WARM_MS=${BENCH_WARMUP_MS:-300}
fi
TARGETS="direct steer haproxy nginx kp-iptables kp-nftables"
WORKLOADS="crr:1 crr:16 rr:1 rr:16"
REPLICAS="127.0.0.1:21001,127.0.0.1:21002,127.0.0.1:21003"
VIP=127.77.0.1:8080
HAPROXY_ADDR=127.0.0.1:21100
NGINX_ADDR=127.0.0.1:21200
# kube-proxy's modes: a Service bench/replicas, port "echo", one VIP per
# mode in the "service CIDR" 127.78.0.0/15. The client of each connects
# from its own address in the "pod CIDR" 127.0.0.0/8, as a pod would: its
# traffic is DNATed and not masqueraded, and the two modes never share a
# conntrack tuple.
KP_IPT_VIP=127.78.0.1:8080 KP_IPT_NET=127.78.0.0/16 KP_IPT_CLIENT=127.0.0.2
KP_NFT_VIP=127.79.0.1:8080 KP_NFT_NET=127.79.0.0/16 KP_NFT_CLIENT=127.0.0.3
KP_POD_CIDR=127.0.0.0/8 KP_SVC_CIDR=127.78.0.0/15
KP_SVC=bench/replicas KP_PORT=echo
IPTABLES_BACKEND=${BENCH_IPTABLES:-legacy}
LOAD_CPU=${BENCH_LOAD_CPU:-0} SERVER_CPU=${BENCH_SERVER_CPU:-1}

ID=$$
NS=steer-tput-$ID
PIN=/sys/fs/bpf/steer-tput-$ID
TMP=$(mktemp -d /tmp/steer-tput.XXXX)
CG="" CG_VIP="" CG_PLAIN=""
PIDS=()
STATS_OLD=""
NS_MADE=""

case $IPTABLES_BACKEND in
legacy | nft) IPT_RESTORE=iptables-$IPTABLES_BACKEND-restore ;;
*)
	echo "throughput: BENCH_IPTABLES=$IPTABLES_BACKEND: expected legacy or nft" >&2
	exit 2
	;;
esac
# in_ns CMD...: CMD in the bench netns (no cgroup of its own: for setup).
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
# kp_on TARGET / kp_off TARGET: load / remove a kube-proxy target's rules
# (nothing for the other targets). kp_off leaves no chain, no rule and, for
# nftables and iptables-nft, no table: with them go the conntrack hooks.
# Legacy iptables cannot unregister its tables from a netns; they are
# instantiated, empty, before the first run (see below), so every target
# runs with them.
kp_on() {
	case $1 in
	kp-iptables) in_ns "$IPT_RESTORE" -w 5 --noflush <"$TMP/kp-iptables.rules" ;;
	kp-nftables) in_ns nft -f "$TMP/kp-nftables.nft" ;;
	esac
}
kp_off() {
	case $1 in
	kp-iptables)
		if [ "$IPTABLES_BACKEND" = legacy ]; then
			in_ns "$IPT_RESTORE" -w 5 <"$TMP/kp-iptables-empty.rules"
		else
			in_ns nft delete table ip nat
			in_ns nft delete table ip filter
		fi
		;;
	kp-nftables) in_ns nft delete table ip kube-proxy ;;
	esac
} 2>/dev/null

T0=$(date +%s%N)
log() { echo "throughput: +$((($(date +%s%N) - T0) / 1000000))ms: $*" >&2; }

cleanup() {
	local p
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$STATS_OLD" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"
	[ -d "$PIN" ] && { STEER_BPFFS=$PIN "$B/steer" down >/dev/null 2>&1 || rm -rf "$PIN"; }
	# Whatever is left in the bench's cgroups or netns was started by it.
	for p in $(cat "$CG_VIP/cgroup.procs" "$CG_PLAIN/cgroup.procs" 2>/dev/null); do kill -9 "$p"; done
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p"; done
	if [ -n "$CG" ]; then
		# Killed processes leave their cgroup a moment later.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$CG_VIP" "$CG_PLAIN" "$CG" 2>/dev/null
			[ -d "$CG" ] || break
			sleep 0.1
		done
	fi
	# Deleting the netns removes its rules too; flush them first anyway,
	# so that nothing depends on that.
	if [ -n "$NS_MADE" ]; then
		kp_off kp-iptables
		kp_off kp-nftables
		ip netns del "$NS" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	log "error: $*"
	exit 1
}

[ -x "$LOAD" ] || die "$LOAD is missing (make $LOAD)"
for t in haproxy nginx bpftool nft "$IPT_RESTORE" taskset sha256sum base32; do
	command -v "$t" >/dev/null || die "$t is missing (sh scripts/deps.sh bench)"
done
NGINX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$NGINX_STREAM" ] || die "$NGINX_STREAM is missing (sh scripts/deps.sh bench)"

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [ -z "$CGROOT" ]; then
	CGROOT=/run/steer/cgroup2
	if ! mkdir -p "$CGROOT" || ! mount -t cgroup2 cgroup2 "$CGROOT"; then die "no cgroup v2"; fi
fi
# Two sibling cgroups: steer attaches to vip/, where only the steer client
# runs; everything else the bench starts runs in plain/, which no hook sees.
CG=$CGROOT/steer-tput-$ID
CG_VIP=$CG/vip CG_PLAIN=$CG/plain
mkdir "$CG" "$CG_VIP" "$CG_PLAIN" || die "cannot create cgroups under $CG"
ip netns add "$NS" || die "ip netns add $NS"
NS_MADE=1
ip -n "$NS" link set lo up
# CRR leaves a TIME_WAIT per connection; let connects reuse them (loopback).
ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_tw_reuse=1
# kube-proxy's iptables mode sets route_localnet (for NodePorts on
# localhost); a DNAT from one loopback address to another works without it,
# but the node it mirrors has it on. Per netns, as is the rest.
ip netns exec "$NS" sysctl -q -w net.ipv4.conf.all.route_localnet=1
# Each kube-proxy VIP's connections leave from their own client address.
ip -n "$NS" route add local "$KP_IPT_NET" dev lo src "$KP_IPT_CLIENT" table local proto kernel scope host ||
	die "route to $KP_IPT_NET"
ip -n "$NS" route add local "$KP_NFT_NET" dev lo src "$KP_NFT_CLIENT" table local proto kernel scope host ||
	die "route to $KP_NFT_NET"

# One CPU for the load generator, the other for everything that answers it,
# so that where the scheduler puts whom does not change from run to run
# (unpinned, it moved the RR rate at concurrency 1 by up to 4x).
PIN_LOAD=() PIN_SERVER=()
if [ "$(nproc)" -ge 2 ]; then
	PIN_LOAD=(taskset -c "$LOAD_CPU") PIN_SERVER=(taskset -c "$SERVER_CPU")
	PINNING="the load generator on CPU $LOAD_CPU; the replicas, HAProxy, nginx and steer's agent on CPU $SERVER_CPU (\`taskset -c\`)"
	PIN_CMDS="; every bench-load under \`taskset -c $LOAD_CPU\`, everything else started under \`taskset -c $SERVER_CPU\`"
else
	PINNING="nothing pinned: only $(nproc) CPU" PIN_CMDS=""
fi

# in_cg CGROUP CMD...: CMD in the bench netns, inside CGROUP (exec'd: the
# pid is CMD's own).
in_cg() {
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$1" "/run/netns/$NS" -- "${@:2}"
}
# spawn NAME CMD...: CMD in the background in the plain cgroup, on the
# servers' CPU, output to $TMP/NAME.out; its pid (CMD's own: everything on
# the way execs) is recorded for cleanup.
spawn() {
	local name=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$CG_PLAIN" "/run/netns/$NS" -- "${PIN_SERVER[@]}" "$@" >"$TMP/$name.out" 2>&1 &
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

# --- replicas -------------------------------------------------------------
i=1
for r in ${REPLICAS//,/ }; do
	spawn r$i "$B/steer-echo" --name r$i --listen "$r" --tcp-only
	wait_for_line "$TMP/r$i.out" '^listening' || die "replica r$i: $(cat "$TMP/r$i.out")"
	i=$((i + 1))
done

# --- steer ----------------------------------------------------------------
{
	echo "[service bench]"
	echo "vip = $VIP"
	echo "health = tcp"
	for r in ${REPLICAS//,/ }; do echo "replica = $r"; done
} >"$TMP/steer.ini"
export STEER_BPFFS=$PIN STEER_CGROUP=$CG_VIP STEER_CONTROL_SOCKET=$TMP/steer.sock
export STEER_LOG_LEVEL=warn
spawn agent "$B/steer" run --config "$TMP/steer.ini"
up=0
for _ in $(seq 100); do
	up=$("$B/steer" status 2>/dev/null | grep -c 'state=up')
	[ "$up" -ge 3 ] && break
	sleep 0.05
done
[ "$up" -ge 3 ] || die "steer: $up of 3 replicas up: $(cat "$TMP/agent.out")"
log "replicas and agent up"

# --- HAProxy: tcp mode, one thread, round robin, no checks ----------------
{
	printf 'global\n\tnbthread 1\n\tmaxconn 4096\n\n'
	printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n\ttimeout client 30s\n\ttimeout server 30s\n\n'
	printf 'listen bench\n\tbind %s\n\tbalance roundrobin\n' "$HAPROXY_ADDR"
	i=1
	for r in ${REPLICAS//,/ }; do printf '\tserver r%d %s\n' $i "$r"; i=$((i + 1)); done
} >"$TMP/haproxy.cfg"
spawn haproxy haproxy -db -f "$TMP/haproxy.cfg"

# --- nginx: stream proxy, one worker --------------------------------------
{
	echo "load_module $NGINX_STREAM;"
	echo "worker_processes 1;"
	echo "daemon off;"
	echo "pid $TMP/nginx.pid;"
	echo "error_log $TMP/nginx-error.log warn;"
	echo "events { worker_connections 4096; }"
	echo "stream {"
	echo "    upstream replicas {"
	for r in ${REPLICAS//,/ }; do echo "        server $r;"; done
	echo "    }"
	echo "    server { listen $NGINX_ADDR; proxy_pass replicas; }"
	echo "}"
} >"$TMP/nginx.conf"
spawn nginx nginx -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf"

# --- kube-proxy, iptables mode --------------------------------------------
# The rules kube-proxy's iptables proxier writes for one ClusterIP Service
# with 3 ready endpoints, the way it writes them (iptables-restore
# --noflush, both tables, the chains it always creates, its comments and
# the chain names it would hash), for a node where the "cluster CIDR" is
# KP_POD_CIDR and nothing else is configured (no NodePorts, no LoadBalancer).
# Packets from a node-local client pass nat OUTPUT -> KUBE-SERVICES ->
# KUBE-SVC-* (a random pick) -> KUBE-SEP-* (DNAT); the filter chains see
# every packet, as on a node.

# kp_hash N STRING: kube-proxy's chain-name hash, the first N characters of
# base32(sha256(STRING)).
kp_hash() {
	local hex
	hex=$(printf '%s' "$2" | sha256sum)
	hex=${hex%% *}
	# shellcheck disable=SC2059,SC2001 # the format is the hash as \xHH escapes
	printf "$(sed 's/../\\x&/g' <<<"$hex")" | base32 | cut -c1-"$1"
}
# kp_iptables_rules VIP:PORT: the ruleset on stdout.
kp_iptables_rules() {
	local vip=${1%:*} port=${1##*:} spn="$KP_SVC:$KP_PORT" svc r n i=0 sep
	local -a reps seps=()
	IFS=, read -r -a reps <<<"$REPLICAS"
	n=${#reps[@]}
	svc=KUBE-SVC-$(kp_hash 16 "${spn}tcp")
	for r in "${reps[@]}"; do seps+=("KUBE-SEP-$(kp_hash 16 "${spn}tcp$r")"); done
	cat <<-RULES
		*filter
		:KUBE-EXTERNAL-SERVICES - [0:0]
		:KUBE-FIREWALL - [0:0]
		:KUBE-FORWARD - [0:0]
		:KUBE-NODEPORTS - [0:0]
		:KUBE-PROXY-FIREWALL - [0:0]
		:KUBE-SERVICES - [0:0]
		-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
		-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
		-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
		-A INPUT -j KUBE-FIREWALL
		-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
		-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
		-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
		-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
		-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A OUTPUT -j KUBE-FIREWALL
		-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
		-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
		-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
		-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
		COMMIT
		*nat
		:KUBE-MARK-MASQ - [0:0]
		:KUBE-NODEPORTS - [0:0]
		:KUBE-POSTROUTING - [0:0]
		:KUBE-SERVICES - [0:0]
		:$svc - [0:0]
	RULES
	for sep in "${seps[@]}"; do echo ":$sep - [0:0]"; done
	cat <<-RULES
		-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
		-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
		-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
		-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
		-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
		-A KUBE-SERVICES -m comment --comment "$spn cluster IP" -m tcp -p tcp -d $vip --dport $port -j $svc
		-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
		-A $svc -m comment --comment "$spn cluster IP" -m tcp -p tcp -d $vip --dport $port ! -s $KP_POD_CIDR -j KUBE-MARK-MASQ
	RULES
	# Endpoint i of n matches with probability 1/(n - i): uniform overall.
	for i in "${!reps[@]}"; do
		if [ $((i + 1)) -lt "$n" ]; then
			echo "-A $svc -m comment --comment \"$spn -> ${reps[i]}\" -m statistic --mode random --probability $(awk -v k=$((n - i)) 'BEGIN {printf "%.10f", 1 / k}') -j ${seps[i]}"
		else
			echo "-A $svc -m comment --comment \"$spn -> ${reps[i]}\" -j ${seps[i]}"
		fi
	done
	for i in "${!reps[@]}"; do
		echo "-A ${seps[i]} -m comment --comment $spn -s ${reps[i]%:*} -j KUBE-MARK-MASQ"
		echo "-A ${seps[i]} -m comment --comment $spn -m tcp -p tcp -j DNAT --to-destination ${reps[i]}"
	done
	echo COMMIT
}
kp_iptables_rules "$KP_IPT_VIP" >"$TMP/kp-iptables.rules"
# What kp_off restores: both tables with their built-in chains only.
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' >"$TMP/kp-iptables-empty.rules"
if [ "$IPTABLES_BACKEND" = legacy ]; then
	# Instantiate the legacy tables now, empty: they stay in the netns once
	# used, so from here on every target's packets pass their (empty) hooks.
	in_ns "$IPT_RESTORE" -w 5 <"$TMP/kp-iptables-empty.rules" || die "$IPT_RESTORE in $NS"
fi

# --- kube-proxy, nftables mode --------------------------------------------
# What kube-proxy's nftables proxier writes for the same Service: its base
# table (every chain, set and map it always creates, at its priorities) and
# the Service's elements. A packet passes nat-output -> services -> the
# service-ips verdict map (ip daddr . meta l4proto . th dport) -> the
# Service's chain -> numgen random mod 3 -> an endpoint chain (dnat).
kp_nftables_rules() {
	local vip=${1%:*} port=${1##*:} spn="$KP_SVC:$KP_PORT" path svc r i vmap=""
	local -a reps eps=()
	IFS=, read -r -a reps <<<"$REPLICAS"
	path=$KP_SVC/tcp/$KP_PORT
	svc=service-$(kp_hash 8 "${spn}tcp")-$path
	for r in "${reps[@]}"; do eps+=("endpoint-$(kp_hash 8 "${spn}tcp$r")-${path}__${r%:*}/${r##*:}"); done
	cat <<-RULES
		add table ip kube-proxy { comment "rules for kube-proxy" ; }
		add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
		add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
		add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
		add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
		add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
		add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
		add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
		add chain ip kube-proxy cluster-ips-check
		add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
		add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
		add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
		add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
		add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
		add chain ip kube-proxy firewall-check
		add chain ip kube-proxy mark-for-masquerade
		add chain ip kube-proxy masquerading
		add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
		add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
		add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
		add chain ip kube-proxy nodeport-endpoints-check
		add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
		add chain ip kube-proxy services
		add chain ip kube-proxy service-endpoints-check
		add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
		add rule ip kube-proxy cluster-ips-check ip daddr { $KP_SVC_CIDR } drop comment "Drop traffic to unallocated ClusterIPs"
		add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
		add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
		add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
		add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
		add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
		add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
		add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
		add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
		add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
		add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
		add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
		add rule ip kube-proxy masquerading mark set mark xor 0x4000
		add rule ip kube-proxy masquerading masquerade fully-random
		add rule ip kube-proxy nat-output jump services
		add rule ip kube-proxy nat-postrouting jump masquerading
		add rule ip kube-proxy nat-prerouting jump services
		add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
		add rule ip kube-proxy reject-chain reject
		add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
		add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
		add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
		add chain ip kube-proxy $svc
	RULES
	# The chains first: the verdict map names them.
	for i in "${!reps[@]}"; do echo "add chain ip kube-proxy ${eps[i]}"; done
	echo "add rule ip kube-proxy $svc ip daddr $vip ip saddr != $KP_POD_CIDR jump mark-for-masquerade"
	for i in "${!reps[@]}"; do vmap="$vmap${vmap:+, }$i : goto ${eps[i]}"; done
	echo "add rule ip kube-proxy $svc numgen random mod ${#reps[@]} vmap { $vmap }"
	for i in "${!reps[@]}"; do
		echo "add rule ip kube-proxy ${eps[i]} ip saddr ${reps[i]%:*} jump mark-for-masquerade"
		echo "add rule ip kube-proxy ${eps[i]} meta l4proto tcp dnat to ${reps[i]}"
	done
	echo "add element ip kube-proxy cluster-ips { $vip }"
	echo "add element ip kube-proxy service-ips { $vip . tcp . $port : goto $svc }"
}
kp_nftables_rules "$KP_NFT_VIP" >"$TMP/kp-nftables.nft"
# Both rule sets must load (and come off again) before anything is measured.
for t in kp-iptables kp-nftables; do
	kp_on "$t" 2>"$TMP/kp.err" || die "$t: the rules do not load: $(cat "$TMP/kp.err")"
	kp_off "$t" || die "$t: the rules do not come off"
done

# --- what the network stack counted ---------------------------------------
# Read through a replica's /proc/PID/net, which is the bench netns's: no
# fork between runs. NETNS_PID is replica r1 (it lives as long as the bench).
NETNS_PID=${PIDS[0]}
# counters: "retrans insert_failed drop entries": the netns's TCP
# RetransSegs (from /proc/net/snmp), conntrack's insert_failed and drop
# summed over CPUs and its entries now (/proc/net/stat/nf_conntrack,
# hexadecimal, one line per CPU).
counters() {
	local -a f hdr=()
	local i retrans=0 ifail=0 drop=0 ci=-1 cd=-1 entries=""
	while read -r -a f; do
		[ "${f[0]}" = Tcp: ] || continue
		if [ ${#hdr[@]} -eq 0 ]; then
			hdr=("${f[@]}")
		else
			for i in "${!hdr[@]}"; do [ "${hdr[i]}" = RetransSegs ] && retrans=${f[i]}; done
		fi
	done <"/proc/$NETNS_PID/net/snmp"
	while read -r -a f; do
		if [ "${f[0]}" = entries ]; then
			for i in "${!f[@]}"; do
				case ${f[i]} in insert_failed) ci=$i ;; drop) cd=$i ;; esac
			done
		elif [ "$ci" -ge 0 ] && [ "$cd" -ge 0 ]; then
			ifail=$((ifail + 16#${f[ci]})) drop=$((drop + 16#${f[cd]}))
			entries=${entries:-$((16#${f[0]}))}
		fi
	done <"/proc/$NETNS_PID/net/stat/nf_conntrack"
	echo "$retrans $ifail $drop ${entries:-0}"
}
CT_MAX=0
read -r _ _ _ _ < <(counters) || die "cannot read the counters of $NS through /proc/$NETNS_PID/net"

addr_of() {
	case $1 in
	direct) echo "$REPLICAS" ;;
	steer) echo "$VIP" ;;
	haproxy) echo "$HAPROXY_ADDR" ;;
	nginx) echo "$NGINX_ADDR" ;;
	kp-iptables) echo "$KP_IPT_VIP" ;;
	kp-nftables) echo "$KP_NFT_VIP" ;;
	esac
}

# load TARGET ARGS...: bench-load against TARGET, on the load generator's
# CPU; the steer client runs in the cgroup steer is attached to, the others
# in the plain one.
load() {
	local cg=$CG_PLAIN
	[ "$1" = steer ] && cg=$CG_VIP
	in_cg "$cg" "${PIN_LOAD[@]}" "$LOAD" "${@:2}"
}

# Each target must answer, without an error, before anything is measured.
ntargets=0
for t in $TARGETS; do
	ok=""
	kp_on "$t" || die "$t: the rules do not load"
	for _ in $(seq 20); do
		line=$(load "$t" crr "$(addr_of "$t")" --concurrency 1 --duration-ms 50 2>>"$TMP/check.err")
		case $line in *" ok=0 "*) ;; *" errors=0 "*) ok=1 && break ;; esac
		sleep 0.1
	done
	kp_off "$t"
	[ -n "$ok" ] || die "target $t at $(addr_of "$t") does not answer: $line $(tail -3 "$TMP/check.err")"
	ntargets=$((ntargets + 1))
done
log "$ntargets targets answer; $ROUNDS rounds of $RUN_MS ms (+$WARM_MS ms warmup) per target and workload"

# --- the connect hook's cost ------------------------------------------------
# The connect4 program attached to our cgroup (other runs may have loaded
# programs of the same name) and steer's tracepoint, from its pinned link.
hook_id=$(bpftool -j cgroup show "$CG_VIP" | grep -o '"id":[0-9]*,"attach_type":"cgroup_inet4_connect"' | grep -o '[0-9]*' | head -1)
[ -n "$hook_id" ] || die "no connect4 program attached to $CG_VIP"
tp_id=$(bpftool -j link show pinned "$PIN/link_sock_state_watch" 2>/dev/null | grep -o '"prog_id":[0-9]*' | grep -o '[0-9]*$')
# cgroup/sock_release deletes a closed socket's steer_socks_v1 entry: part
# of a steered connection's cost too, paid at close().
rel_id=$(bpftool -j cgroup show "$CG_VIP" | grep -o '"id":[0-9]*,"attach_type":"cgroup_inet_sock_release"' | grep -o '[0-9]*' | head -1)
# prog_stats ID: "run_time_ns run_cnt" of a program.
prog_stats() {
	local j
	j=$(bpftool -j prog show id "$1")
	echo "$(echo "$j" | grep -o '"run_time_ns":[0-9]*' | grep -o '[0-9]*$' || echo 0)" \
		"$(echo "$j" | grep -o '"run_cnt":[0-9]*' | grep -o '[0-9]*$' || echo 0)"
}
# steered: the datapath's per-replica "steered" counters, space-separated.
steered() {
	local l out=""
	while read -r l; do
		case $l in replica*) l=${l##*steered=} out="$out ${l%% *}" ;; esac
	done < <("$B/steer" status 2>/dev/null)
	echo "${out# }"
}
# Stats cost two clock reads in every BPF program run on the node, and
# steer's tracepoint runs about 10 times per connection whatever the target:
# so they are on only in steer CRR runs of their own, never in the rounds.
STATS=/proc/sys/kernel/bpf_stats_enabled
STATS_OLD=$(cat $STATS)
: >"$TMP/cost.txt"
# cost_run WHEN CONC: a steer CRR run with kernel.bpf_stats_enabled=1; adds
# "WHEN CONC hook_runs hook_ns tp_runs tp_ns steered_before rel_runs rel_ns"
# to cost.txt.
cost_run() {
	local h0 c0 h1 c1 t0=0 n0=0 t1=0 n1=0 r0=0 q0=0 r1=0 q1=0 line steered_before=0 n
	for n in $(steered); do steered_before=$((steered_before + n)); done
	echo 1 >$STATS
	read -r h0 c0 < <(prog_stats "$hook_id")
	[ -n "$tp_id" ] && read -r t0 n0 < <(prog_stats "$tp_id")
	[ -n "$rel_id" ] && read -r r0 q0 < <(prog_stats "$rel_id")
	line=$(load steer crr "$VIP" --concurrency "$2" --duration-ms "$RUN_MS" --warmup-ms "$WARM_MS" 2>>"$TMP/load.err")
	read -r h1 c1 < <(prog_stats "$hook_id")
	[ -n "$tp_id" ] && read -r t1 n1 < <(prog_stats "$tp_id")
	[ -n "$rel_id" ] && read -r r1 q1 < <(prog_stats "$rel_id")
	echo "$STATS_OLD" >$STATS
	echo "$1 $2 $((c1 - c0)) $((h1 - h0)) $((n1 - n0)) $((t1 - t0)) $steered_before $((q1 - q0)) $((r1 - r0))" >>"$TMP/cost.txt"
	log "connect hook cost ($1, c$2): $(((h1 - h0) / (c1 > c0 ? c1 - c0 : 1))) ns over $((c1 - c0)) runs: $line"
}
# Once before the rounds, and again (below) in the steady state: after at
# least STEADY steered connects, so that every element of steer_socks_v1
# has been used and given back many times over.
cost_run before 1

# --- interleaved rounds -----------------------------------------------------
mkdir -p "$DOCS"
RAW=$DOCS/benchmarks-raw.csv
echo "round,target,mode,conc,secs,ok,errors,conns_per_s,reqs_per_s,p50_us,p90_us,p99_us,max_us,retrans,ct_insert_failed,ct_drop" >"$RAW"
# Forks are slow on a busy machine: parse the line in bash.
declare -A F
: >"$TMP/split.txt"
read -r -a ORDER <<<"$TARGETS"
for round in $(seq "$ROUNDS"); do
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:}
		# Each round starts one target later, so no target always runs
		# right after the same other one.
		for i in "${!ORDER[@]}"; do
			t=${ORDER[$(((i + round - 1) % ${#ORDER[@]}))]}
			[ "$t" = steer ] && read -r -a s0 < <(steered)
			kp_on "$t" || die "$t: the rules do not load"
			read -r n0 i0 d0 _ < <(counters)
			line=$(load "$t" "$mode" "$(addr_of "$t")" --concurrency "$conc" \
				--duration-ms "$RUN_MS" --warmup-ms "$WARM_MS" 2>>"$TMP/load.err")
			rc=$?
			read -r n1 i1 d1 e1 < <(counters)
			kp_off "$t"
			[ "$e1" -gt "$CT_MAX" ] && CT_MAX=$e1
			if [ "$t" = steer ]; then
				read -r -a s1 < <(steered)
				split=""
				for j in "${!s1[@]}"; do split=$split${split:+/}$((s1[j] - ${s0[j]:-0})); done
				[ "$mode" = rr ] && echo "$conc $split" >>"$TMP/split.txt"
			fi
			case $line in mode=*) ;; *) die "$t $mode c$conc: exit $rc: $line $(tail -3 "$TMP/load.err")" ;; esac
			F=()
			for kv in $line; do F[${kv%%=*}]=${kv#*=}; done
			row=$round,$t,$mode,$conc
			for k in secs ok errors conns_per_s reqs_per_s p50_us p90_us p99_us max_us; do
				row=$row,${F[$k]:-}
			done
			row=$row,$((n1 - n0)),$((i1 - i0)),$((d1 - d0))
			echo "$row" >>"$RAW"
			log "round $round $t $mode c$conc: $line"
		done
	done
done

STEADY=${BENCH_STEADY_CONNECTS:-$([ "${BENCH_QUICK:-0}" = 1 ] && echo 20000 || echo 200000)}
total_steered() {
	local n t=0
	for n in $(steered); do t=$((t + n)); done
	echo $t
}
for _ in $(seq 60); do
	[ "$(total_steered)" -ge "$STEADY" ] && break
	load steer crr "$VIP" --concurrency 16 --duration-ms 2000 >/dev/null 2>>"$TMP/load.err"
done
[ "$(total_steered)" -ge "$STEADY" ] || die "could not steer $STEADY connects for the steady-state cost"
log "steady state: $(total_steered) connects steered"
cost_run after 1
cost_run after 16
# The goal's number: the runs after at least STEADY connects, the steady
# state of a busy node.
read -r hook_avg hook_runs tp_avg tp_runs < <(awk '$1 == "after" {c += $3; n += $4; tc += $5; tn += $6}
	END {printf "%.0f %d %.0f %d\n", c ? n / c : 0, c, tc ? tn / tc : 0, tc}' "$TMP/cost.txt")

# --- medians and the report -------------------------------------------------
# med.txt: "target mode conc conns_per_s reqs_per_s p50 p90 p99 max errors
# retrans ct_insert_failed ct_drop" (medians over rounds; the last four
# summed), one line per target and workload.
awk -F, 'NR > 1 {
	k = $2 " " $3 " " $4
	if (!(k in n)) order[++keys] = k
	i = ++n[k]
	for (c = 8; c <= 13; c++) v[k, c, i] = $c
	for (c = 14; c <= 16; c++) sum[k, c] += $c
	err[k] += $7
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
		printf " %d %d %d %d\n", err[k], sum[k, 14], sum[k, 15], sum[k, 16]
	}
}' "$RAW" >"$TMP/med.txt"
# Round-to-round spread of direct RR: max |x / median - 1|, the noise band.
rr_noise() {
	awk -F, -v c="$1" 'NR > 1 && $2 == "direct" && $3 == "rr" && $4 == c {x[++n] = $9}
	END {
		for (i = 1; i <= n; i++) s[i] = x[i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
		m = n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
		for (i = 1; i <= n; i++) { d = x[i] / m - 1; if (d < 0) d = -d; if (d > w) w = d }
		printf "%.3f", w
	}' "$RAW"
}
# med TARGET MODE CONC FIELD (1 conns/s, 2 reqs/s, 3 p50, 4 p90, 5 p99, 6 max;
# summed over rounds: 7 errors, 8 retransmits, 9 conntrack insert_failed,
# 10 conntrack drop)
declare -A M
while read -r t m c v1 v2 v3 v4 v5 v6 v7 v8 v9 v10; do
	M[$t.$m.$c.1]=$v1 M[$t.$m.$c.2]=$v2 M[$t.$m.$c.3]=$v3 M[$t.$m.$c.4]=$v4
	M[$t.$m.$c.5]=$v5 M[$t.$m.$c.6]=$v6 M[$t.$m.$c.7]=$v7 M[$t.$m.$c.8]=$v8
	M[$t.$m.$c.9]=$v9 M[$t.$m.$c.10]=$v10
done <"$TMP/med.txt"
med() { echo "${M[$1.$2.$3.$4]:-0}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

{
	echo "# CRR latency at concurrency 16: medians over $ROUNDS rounds (bench/throughput.sh)"
	echo "# target p50_us p90_us p99_us conns_per_s"
	for t in $TARGETS; do
		echo "$t $(med "$t" crr 16 3) $(med "$t" crr 16 4) $(med "$t" crr 16 5) $(med "$t" crr 16 1)"
	done
} >"$DOCS/benchmark-crr.dat"

# table MODE CONC: the markdown table of one workload, ratios to direct.
table() {
	awk -v m="$1" -v c="$2" -v targets="$TARGETS" '
	function r(a, b) { return sprintf("%.2f×", b > 0 ? a / b : 0) }
	$2 == m && $3 == c { for (f = 4; f <= 11; f++) v[$1, f] = $f }
	END {
		f = m == "rr" ? 5 : 4
		printf "| target | %s | × direct | p50 µs | × direct | p99 µs | × direct | errors | retransmits |\n", (m == "rr" ? "requests/s" : "connections/s")
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		n = split(targets, t, " ")
		for (i = 1; i <= n; i++)
			printf "| %s | %.0f | %s | %s | %s | %s | %s | %d | %d |\n", t[i], v[t[i], f], r(v[t[i], f], v["direct", f]),
				v[t[i], 6], r(v[t[i], 6], v["direct", 6]), v[t[i], 8], r(v[t[i], 8], v["direct", 8]), v[t[i], 10], v[t[i], 11]
	}' "$TMP/med.txt"
}
# spread A B MODE CONC COLUMN: "lo–hi×", the range over rounds of A/B in
# COLUMN of the raw rows (A and B ran next to each other in each round).
spread() {
	awk -F, -v a="$1" -v b="$2" -v m="$3" -v c="$4" -v k="$5" '
	$3 == m && $4 == c && ($2 == a || $2 == b) { v[$1, $2] = $k; r[$1] = 1 }
	END {
		for (i in r) if (v[i, b] > 0) { x = v[i, a] / v[i, b]; if (n++ == 0 || x < lo) lo = x; if (x > hi) hi = x }
		printf "%.2f–%.2f×", lo, hi
	}' "$RAW"
}
# peers: the table of steer ÷ each peer, per workload: the ratio of the
# medians (connections/s for CRR, requests/s for RR) and its range over
# rounds.
PEERS="haproxy nginx kp-iptables kp-nftables"
peers() {
	local p w mode conc f row
	printf '| workload |'
	for p in $PEERS; do printf ' steer ÷ %s |' "$p"; done
	printf '\n|---|'
	for p in $PEERS; do printf -- '---:|'; done
	echo
	for w in $WORKLOADS; do
		mode=${w%:*} conc=${w#*:} f=1 row=""
		[ "$mode" = rr ] && f=2
		for p in $PEERS; do
			row="$row **$(ratio "$(med steer "$mode" "$conc" $f)" "$(med "$p" "$mode" "$conc" $f)")×** ($(spread steer "$p" "$mode" "$conc" $((f + 7)))) |"
		done
		echo "| ${mode^^}, concurrency $conc |$row"
	done
}
# errors_table: CRR errors and retransmits per target, RR retransmits, and
# conntrack's counters (all runs of the target; only the DNAT targets
# have conntrack on).
errors_table() {
	local t ifail drop w
	echo "| target | CRR c1 errors | CRR c1 retransmits | CRR c16 errors | CRR c16 retransmits | RR c1 + c16 retransmits | conntrack insert_failed | conntrack drop |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for t in $TARGETS; do
		ifail=— drop=—
		case $t in
		kp-*)
			ifail=0 drop=0
			for w in $WORKLOADS; do
				ifail=$((ifail + $(med "$t" "${w%:*}" "${w#*:}" 9)))
				drop=$((drop + $(med "$t" "${w%:*}" "${w#*:}" 10)))
			done
			;;
		esac
		echo "| $t | $(med "$t" crr 1 7) | $(med "$t" crr 1 8) | $(med "$t" crr 16 7) | $(med "$t" crr 16 8) | $(($(med "$t" rr 1 8) + $(med "$t" rr 16 8))) | $ifail | $drop |"
	done
}
# ct_note: how full conntrack got (its limit is the host's, not the netns's).
ct_note() {
	echo "At the end of a run conntrack held at most $CT_MAX entries here, against"
	echo "\`nf_conntrack_max\` $(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo unknown) (a limit for the whole host)."
}
# goal LABEL GOAL NUMBER UNIT RANGE OK MISS: a row of the goal table; OK is
# an awk condition on x (the measured number), MISS how far x is from it.
goal() {
	local verdict
	verdict=$(awk -v x="$3" "BEGIN {x += 0; if ($6) print \"met\"; else printf \"missed by %s\", $7}")
	echo "| $1 | $2 | $3$4 | $5 | $verdict |"
}

crr_s1=$(ratio "$(med steer crr 1 1)" "$(med direct crr 1 1)")
crr_s16=$(ratio "$(med steer crr 16 1)" "$(med direct crr 16 1)")
crr_h1=$(ratio "$(med steer crr 1 1)" "$(med haproxy crr 1 1)")
crr_h16=$(ratio "$(med steer crr 16 1)" "$(med haproxy crr 16 1)")
p50_1=$(ratio "$(med steer crr 1 3)" "$(med direct crr 1 3)")
p50_16=$(ratio "$(med steer crr 16 3)" "$(med direct crr 16 3)")
rr_1=$(ratio "$(med steer rr 1 2)" "$(med direct rr 1 2)")
rr_16=$(ratio "$(med steer rr 16 2)" "$(med direct rr 16 2)")
noise_1=$(rr_noise 1) noise_16=$(rr_noise 16)

cat <<MD
## Throughput and latency: direct, steer, HAProxy, nginx, kube-proxy (iptables, nftables)

Six ways for a client to reach the same 3 replicas (\`steer-echo --tcp-only\`,
one process each, on 127.0.0.1 in the bench's network namespace):

- **direct**: the load generator connects to the 3 replica addresses in turn (the baseline);
- **steer**: it connects to the VIP $VIP from the cgroup steer is attached to
  (\`health = tcp\`); the connect hook picks a replica;
- **haproxy**: HAProxy $(haproxy -v | awk 'NR == 1 {print $3}'), \`mode tcp\`, \`nbthread 1\`, \`balance roundrobin\`, no checks;
- **nginx**: nginx $(nginx -v 2>&1 | sed 's|.*/||'), \`stream\` proxy, \`worker_processes 1\`, round robin;
- **kp-iptables**: kube-proxy's iptables mode, as rules: the VIP $KP_IPT_VIP is a
  ClusterIP; nat OUTPUT jumps to KUBE-SERVICES, then to the Service's KUBE-SVC
  chain, which picks an endpoint with \`-m statistic --mode random\`
  (probabilities 1/3, 1/2, then the rest) and jumps to its KUBE-SEP chain,
  which DNATs; with the filter chains kube-proxy installs on every node.
  $(${IPT_RESTORE%-restore} -V) (\`BENCH_IPTABLES=$IPTABLES_BACKEND\`;
  the legacy x_tables backend is classic kube-proxy's; \`BENCH_IPTABLES=nft\`
  measures iptables-nft, which Debian 12's \`iptables\` uses by default);
- **kp-nftables**: kube-proxy's nftables mode ($(nft -v)): the VIP $KP_NFT_VIP
  is an element of the \`service-ips\` verdict map (\`ip daddr . meta l4proto . th dport\`),
  which jumps to the Service's chain; \`numgen random mod 3 vmap\` goes to an
  endpoint chain, which DNATs; with the rest of kube-proxy's base table.

The kube-proxy rules are those its proxiers write for one Service with 3
endpoints on a node whose "cluster CIDR" is $KP_POD_CIDR: the client connects
from $KP_IPT_CLIENT (iptables) or $KP_NFT_CLIENT (nftables), inside it, like a pod,
so it is DNATed and not masqueraded. Each target's rules are loaded just
before each of its runs and removed right after, so conntrack, which every
DNAT needs, runs in their runs only.$([ "$IPTABLES_BACKEND" = legacy ] && printf '%s' " The legacy iptables tables cannot be
removed from a netns once used; they exist, empty, for every target's runs.")

CRR is connect, one request line, its reply, close; RR is request/reply on
connections kept open. Each run lasts $RUN_MS ms after a $WARM_MS ms warmup;
the $ROUNDS rounds interleave every target and workload (${TARGETS// /, }; each round starts one target later), and the tables give
the median over rounds.
CPUs: $PINNING, for every target alike.
Ratios are to direct in the same table (for latency, lower is better).
Errors and retransmits are summed over the rounds (warmups included);
retransmits are the netns's TCP \`RetransSegs\`, both directions.
The raw rows are in \`docs/benchmarks-raw.csv\`.

Commands, as \`bench/throughput.sh\` runs them, all in its netns \`steer-tput-PID\`
(MODE is crr or rr, C is 1 or 16; CG is the bench's cgroup, TMP its
temporary directory$PIN_CMDS):

\`\`\`
steer-echo --name rN --listen 127.0.0.1:2100N --tcp-only      # N = 1, 2, 3
STEER_CGROUP=CG/vip steer run --config TMP/steer.ini
haproxy -db -f TMP/haproxy.cfg
nginx -p TMP/ -e TMP/nginx-error.log -c TMP/nginx.conf
ip route add local $KP_IPT_NET dev lo src $KP_IPT_CLIENT table local proto kernel scope host
ip route add local $KP_NFT_NET dev lo src $KP_NFT_CLIENT table local proto kernel scope host
sysctl -w net.ipv4.tcp_tw_reuse=1 net.ipv4.conf.all.route_localnet=1
bench-load MODE $REPLICAS --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS   # direct
bench-load MODE $VIP --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS        # steer, from CG/vip
bench-load MODE $HAPROXY_ADDR --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
bench-load MODE $NGINX_ADDR --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
$IPT_RESTORE -w 5 --noflush < TMP/kp-iptables.rules                     # before each kp-iptables run
bench-load MODE $KP_IPT_VIP --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
$IPT_RESTORE -w 5 < TMP/kp-iptables-empty.rules                         # after it
nft -f TMP/kp-nftables.nft                                                     # before each kp-nftables run
bench-load MODE $KP_NFT_VIP --concurrency C --duration-ms $RUN_MS --warmup-ms $WARM_MS
nft delete table ip kube-proxy                                                 # after it
\`\`\`

<details><summary>The config files and rule sets</summary>

\`steer.ini\`:
\`\`\`ini
$(cat "$TMP/steer.ini")
\`\`\`

\`haproxy.cfg\`:
\`\`\`
$(cat "$TMP/haproxy.cfg")
\`\`\`

\`nginx.conf\`:
\`\`\`nginx
$(sed "s|$TMP|TMP|g" "$TMP/nginx.conf")
\`\`\`

\`kp-iptables.rules\` (iptables-restore):
\`\`\`
$(cat "$TMP/kp-iptables.rules")
\`\`\`

\`kp-nftables.nft\` (nft -f):
\`\`\`
$(cat "$TMP/kp-nftables.nft")
\`\`\`
</details>

### steer ÷ each peer

$(peers)

Ratios of the medians, connections/s in CRR and requests/s in RR (above 1×,
steer is faster); in parentheses, the lowest and highest ratio of the two
targets' runs in the same round.

### CRR, concurrency 1

$(table crr 1)

### CRR, concurrency 16

$(table crr 16)

### RR, concurrency 1

$(table rr 1)

### RR, concurrency 16

$(table rr 16)

In RR, steer picks a replica per connection at random (as Cilium does for
TCP, and kube-proxy's two modes do), while direct, HAProxy and nginx take
turns: steer's connections were
split across the 3 replicas as $(awk '{s[$1] = s[$1] (s[$1] ? ", " : "") $2} END {printf "%s at concurrency 1 and %s at concurrency 16", s[1], s[16]}' "$TMP/split.txt")
(one split per round, counted by the datapath), against an even split for
the others.

### Errors, retransmits and conntrack

$(errors_table)

An error is a connection or request that failed (refused, reset, timed out,
closed early; bench-load counts them by reason); a retransmit is a TCP
segment sent again, usually because the first was dropped, and over
loopback nothing drops a segment but the stack itself (a full accept queue,
or netfilter). conntrack's \`insert_failed\` counts new connections whose entry
clashed with an existing one when it was confirmed, and \`drop\` those it
dropped (a clash it could not resolve, or a full table): the DNAT targets'
known weakness when a client reuses ports faster than conntrack forgets
them (here \`tcp_tw_reuse=1\`; conntrack keeps a closed connection 120 s in
TIME_WAIT). The other targets run without conntrack (—).
$(ct_note)

### Datapath cost

\`kernel.bpf_stats_enabled=1\` in three steer CRR runs of their own (set back
to $STATS_OLD after each; the rounds above ran without it): the connect hook is
\`sock4_connect\`, the program attached to the bench's cgroup; steer's
\`inet_sock_set_state\` tracepoint (passive ejection) runs for every TCP state
change on the node ($(awk -v a="$tp_runs" -v b="$hook_runs" 'BEGIN {printf "%.1f", (b ? a / b : 0)}') runs per steered connect here, counting the
replica's side), in all targets alike.

"after" runs follow at least $STEADY steered connects (the steady state).
\`sock_release\` is the \`cgroup/sock_release\` program, which deletes a
closed socket's \`steer_socks_v1\` entry; it runs for every socket the
client closes.

| run | connects steered before it | connect hook runs | connect hook ns/run | sock_release ns/run | tracepoint ns/run |
|---|---:|---:|---:|---:|---:|
$(awk '{printf "| CRR, concurrency %d, %s | %d | %d | **%.0f** | %.0f | %.0f |\n", $2, ($1 == "before" ? "before the rounds" : "steady state"), $7, $3, ($3 ? $4 / $3 : 0), ($8 ? $9 / $8 : 0), ($5 ? $6 / $5 : 0)}' "$TMP/cost.txt")

### Goals (issue 5)

| what | goal | measured (median of rounds) | range over rounds | |
|---|---|---|---|---|
$(goal "CRR connections/s through the VIP, concurrency 1" "≥ 0.95× direct" "${crr_s1}" "×" "$(spread steer direct crr 1 8)" "x >= 0.95" "sprintf(\"%.2f×\", 0.95 - x)")
$(goal "CRR connections/s through the VIP, concurrency 16" "≥ 0.95× direct" "${crr_s16}" "×" "$(spread steer direct crr 16 8)" "x >= 0.95" "sprintf(\"%.2f×\", 0.95 - x)")
$(goal "CRR connections/s through the VIP, concurrency 1" "≥ 2× HAProxy" "${crr_h1}" "×" "$(spread steer haproxy crr 1 8)" "x >= 2" "sprintf(\"%.2f×\", 2 - x)")
$(goal "CRR connections/s through the VIP, concurrency 16" "≥ 2× HAProxy" "${crr_h16}" "×" "$(spread steer haproxy crr 16 8)" "x >= 2" "sprintf(\"%.2f×\", 2 - x)")
$(goal "CRR p50 latency through the VIP, concurrency 1" "≤ 1.05× direct" "${p50_1}" "×" "$(spread steer direct crr 1 10)" "x <= 1.05" "sprintf(\"%.2f×\", x - 1.05)")
$(goal "CRR p50 latency through the VIP, concurrency 16" "≤ 1.05× direct" "${p50_16}" "×" "$(spread steer direct crr 16 10)" "x <= 1.05" "sprintf(\"%.2f×\", x - 1.05)")
$(goal "RR requests/s through the VIP, concurrency 1" "direct ± noise (±$(awk -v n="$noise_1" 'BEGIN {printf "%.1f", n * 100}')%)" "${rr_1}" "×" "$(spread steer direct rr 1 9)" "x >= 1 - $noise_1 && x <= 1 + $noise_1" "sprintf(\"%.1f%% beyond the noise\", 100 * ((x < 1 ? 1 - x : x - 1) - $noise_1))")
$(goal "RR requests/s through the VIP, concurrency 16" "direct ± noise (±$(awk -v n="$noise_16" 'BEGIN {printf "%.1f", n * 100}')%)" "${rr_16}" "×" "$(spread steer direct rr 16 9)" "x >= 1 - $noise_16 && x <= 1 + $noise_16" "sprintf(\"%.1f%% beyond the noise\", 100 * ((x < 1 ? 1 - x : x - 1) - $noise_16))")
$(goal "connect hook average (steady state)" "≤ 300 ns" "$hook_avg" " ns" "one number" "x <= 300" "sprintf(\"%d ns\", x - 300)")

"Range over rounds" is the lowest and highest ratio of the two targets'
runs in the same round. The noise band for RR is the largest deviation of a
direct round from the direct median in this run. Latency percentiles are
histogram buckets 3.2% wide (\`bench/loadhist.h\`), so a percentile ratio
moves in steps of about 0.03×. A connect through the VIP is direct's
connect plus the hook, so "≥ 2× HAProxy" needs direct itself to be more
than 2× HAProxy: here direct was
$(ratio "$(med direct crr 1 1)" "$(med haproxy crr 1 1)")× HAProxy at concurrency 1 and $(ratio "$(med direct crr 16 1)" "$(med haproxy crr 16 1)")× at concurrency 16.
MD
