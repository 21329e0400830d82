# The registry tests' world (issue 14), on top of lib.sh: a 3-member etcd
# cluster and up to 3 steer agents, each agent in its own network namespace
# with its own cgroup, pin directory and control socket.
#
#   fabric netns $FABRIC ($NS-e): bridge br0, 198.18.100.1/24 and
#     fd00:100::1/64; the etcd members (member i: client port 2378+2i on
#     198.18.100.1 and 127.0.0.1, peer port 2379+2i on 127.0.0.1) and the
#     replicas (extra /32 and /128 addresses on br0: 198.18.100.10-99,
#     fd00:100::10-99).
#   node i (1..3), netns ${NODE_NS[i]} ($NS-ni): a veth to br0 with
#     198.18.100.(100+i)/24 and fd00:100::(100+i)/64; cgroup ${NODE_CG[i]}
#     ($CG-ni), pins ${NODE_PIN[i]} ($PIN-ni), control socket
#     ${NODE_SOCK[i]}, agent log ${NODE_LOG[i]}.
#
# Every name derives from lib.sh's $ID, so tests run side by side. teardown
# (lib.sh's, through teardown_extra) removes all of it, failing or not.
# shellcheck shell=bash source-path=SCRIPTDIR

# shellcheck source=lib.sh
declare -F setup_world >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ETCD_N=3
NODE_N=3
ETCD_ADDR=198.18.100.1
FABRIC=$NS-e
# Indexed 1..N; element 0 is unused (set so that set -u allows every index).
NODE_NS=("") NODE_CG=("") NODE_PIN=("") NODE_SOCK=("") NODE_LOG=("") NODE_PID=("") NODE_IF=("")
ETCD_PID=("")
for _i in $(seq "$NODE_N"); do
	NODE_NS[_i]=$NS-n$_i
	NODE_PIN[_i]=$PIN-n$_i
	NODE_SOCK[_i]=$TMP/steer-n$_i.sock
	NODE_LOG[_i]=$TMP/agent-n$_i.log
	NODE_IF[_i]=vn$_i-$$
	NODE_CG[_i]="" NODE_PID[_i]=""
done
for _i in $(seq "$ETCD_N"); do ETCD_PID[_i]=""; done
unset _i
REG_NETNS=() # the namespaces setup_nodes made (teardown_extra removes them)

# etcd_client_port I / etcd_peer_port I — member I's ports (inside $FABRIC).
etcd_client_port() { echo $((2378 + 2 * $1)); }
etcd_peer_port() { echo $((2379 + 2 * $1)); }

# in_fabric CMD... — run CMD in the fabric namespace.
in_fabric() { nsenter --net="/run/netns/$FABRIC" -- "$@"; }
# in_node I CMD... — run CMD in node I's namespace, outside its cgroup.
in_node() {
	local i=$1
	shift
	nsenter --net="/run/netns/${NODE_NS[i]}" -- "$@"
}

# setup_nodes — the fabric and the nodes (calls setup_world first if the
# test has not): namespaces, bridge, veths, addresses, node cgroups.
setup_nodes() {
	local i
	[ -n "$CG" ] || setup_world
	ip netns add "$FABRIC" || { fail "cannot create netns $FABRIC"; return 1; }
	REG_NETNS+=("$FABRIC")
	ip -n "$FABRIC" link set lo up
	ip -n "$FABRIC" link add br0 type bridge
	ip -n "$FABRIC" addr add $ETCD_ADDR/24 dev br0
	ip -n "$FABRIC" addr add fd00:100::1/64 dev br0 nodad
	ip -n "$FABRIC" link set br0 up
	mkdir -p "$TMP/etcd"
	for i in $(seq "$NODE_N"); do
		ip netns add "${NODE_NS[i]}" || { fail "cannot create netns ${NODE_NS[i]}"; return 1; }
		REG_NETNS+=("${NODE_NS[i]}")
		ip -n "${NODE_NS[i]}" link set lo up
		ip link add "vf$i-$$" netns "$FABRIC" type veth peer name "${NODE_IF[i]}" netns "${NODE_NS[i]}"
		ip -n "$FABRIC" link set "vf$i-$$" master br0 up
		ip -n "${NODE_NS[i]}" addr add "198.18.100.$((100 + i))/24" dev "${NODE_IF[i]}"
		ip -n "${NODE_NS[i]}" addr add "fd00:100::$((100 + i))/64" dev "${NODE_IF[i]}" nodad
		ip -n "${NODE_NS[i]}" link set "${NODE_IF[i]}" up
		mkdir "$CG-n$i" || { fail "cannot create cgroup $CG-n$i"; return 1; }
		NODE_CG[i]=$CG-n$i
	done
}

# fabric_addr ADDR — add ADDR (a replica's, 198.18.100.10-99 or
# fd00:100::10-99) to br0 in the fabric, unless it is there already.
fabric_addr() {
	in_fabric ip addr show dev br0 | grep -qF " $1/" && return 0
	case $1 in
	*:*) ip -n "$FABRIC" addr add "$1/128" dev br0 nodad ;;
	*) ip -n "$FABRIC" addr add "$1/32" dev br0 ;;
	esac
}

# start_fabric_echo NAME ADDR PORT — a steer-echo replica in the fabric on
# ADDR:PORT (ADDR added to br0 when it is a 198.18.100.x or fd00:100::
# address other than the bridge's); its pid in ECHO_PID_NAME.
start_fabric_echo() {
	local name=$1 addr=$2 port=$3 listen out=$TMP/echo-$1.out
	case $addr in
	198.18.100.1 | fd00:100::1) ;;
	198.18.100.* | fd00:100::*) fabric_addr "$addr" || { fail "cannot add $addr to br0"; return 1; } ;;
	esac
	case $addr in *:*) listen="[$addr]:$port" ;; *) listen="$addr:$port" ;; esac
	nsenter --net="/run/netns/$FABRIC" -- "$ECHO" --name "$name" --listen "$listen" >"$out" 2>&1 &
	PIDS+=($!)
	eval "ECHO_PID_$name=$!"
	wait_for_line "$out" '^listening' || { fail "replica $name did not start: $(cat "$out")"; return 1; }
}

# etcd_start I — start member I in the fabric (in the background; see
# etcd_wait_healthy). A member whose data dir exists rejoins with it (etcd
# then ignores the --initial-cluster flags).
etcd_start() {
	local i=$1 j cluster="" state=new dir=$TMP/etcd/m$1 port
	port=$(etcd_client_port "$i")
	for j in $(seq "$ETCD_N"); do
		cluster+="${cluster:+,}m$j=http://127.0.0.1:$(etcd_peer_port "$j")"
	done
	[ -d "$dir/member" ] && state=existing
	# nsenter execs etcd: $! is etcd's pid (a function in the background would
	# be a subshell's).
	nsenter --net="/run/netns/$FABRIC" -- etcd --name "m$i" --data-dir "$dir" --logger zap --log-outputs stderr \
		--listen-client-urls "http://$ETCD_ADDR:$port,http://127.0.0.1:$port" \
		--advertise-client-urls "http://$ETCD_ADDR:$port" \
		--listen-peer-urls "http://127.0.0.1:$(etcd_peer_port "$i")" \
		--initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer_port "$i")" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "steer-test-$ID" \
		--heartbeat-interval 50 --election-timeout 500 >>"$TMP/etcd/m$i.log" 2>&1 &
	ETCD_PID[i]=$!
}

# etcd_live — the indexes of the members started and not yet killed.
etcd_live() {
	local i
	for i in $(seq "$ETCD_N"); do
		[ -n "${ETCD_PID[i]:-}" ] && kill -0 "${ETCD_PID[i]}" 2>/dev/null && echo "$i"
	done
}

# ectl ARGS... — etcdctl (v3 API) against the live members, in the fabric.
ectl() {
	local i eps=""
	for i in $(etcd_live); do eps+="${eps:+,}127.0.0.1:$(etcd_client_port "$i")"; done
	[ -n "$eps" ] || { echo "ectl: no etcd member is running" >&2; return 1; }
	in_fabric env ETCDCTL_API=3 etcdctl --endpoints="$eps" --dial-timeout=1s \
		--command-timeout=3s "$@"
}

# etcd_wait_healthy [SECONDS] — wait (default 15 s) until every live member
# reports healthy; returns 1 (and fails the test) past that.
etcd_wait_healthy() {
	local deadline=$(($(date +%s) + ${1:-15}))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		ectl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "etcd members $(etcd_live | tr '\n' ' ')not healthy after ${1:-15} s: $(ectl endpoint health 2>&1 | tr '\n' ' ')"
	return 1
}

# etcd_start_all — start every member not running, wait until all are healthy.
etcd_start_all() {
	local i
	for i in $(seq "$ETCD_N"); do
		[ -n "${ETCD_PID[i]:-}" ] && kill -0 "${ETCD_PID[i]}" 2>/dev/null && continue
		etcd_start "$i"
	done
	etcd_wait_healthy 15
}

# etcd_kill I — kill -9 member I (its data dir stays, for etcd_start I).
etcd_kill() {
	local pid=${ETCD_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ETCD_PID[$1]=""
}

# etcd_stop_all — kill -9 every member; the data dirs stay.
etcd_stop_all() {
	local i
	for i in $(seq "$ETCD_N"); do etcd_kill "$i"; done
}

# etcd_leader — the index of the member the live members name as leader;
# prints nothing and returns 1 when none is (an election is running).
etcd_leader() {
	# One {"Endpoint":"127.0.0.1:PORT","Status":{"header":{..."member_id":ID...},
	# ...,"leader":ID,...}} per member, on one line: one per line here.
	ectl endpoint status -w json 2>/dev/null | sed 's/{"Endpoint"/\n&/g' | awk '
		match($0, /"Endpoint":"[^"]*:[0-9]+"/) {
			ep = substr($0, RSTART, RLENGTH); sub(/.*:/, "", ep); sub(/"/, "", ep)
			if (match($0, /"member_id":[0-9]+/)) { id = substr($0, RSTART + 12, RLENGTH - 12) }
			if (match($0, /"leader":[0-9]+/)) { ld = substr($0, RSTART + 9, RLENGTH - 9) }
			if (id != "" && id == ld) { print (ep - 2378) / 2; found = 1; exit }
		}
		END { exit !found }'
}

# etcd_wait_leader [NOT] — wait (10 s) for a leader other than member NOT;
# prints its index.
etcd_wait_leader() {
	local tries=100 l
	while [ "$tries" -gt 0 ]; do
		l=$(etcd_leader) && [ "$l" != "${1:-}" ] && { echo "$l"; return 0; }
		sleep 0.1
		tries=$((tries - 1))
	done
	fail "no etcd leader${1:+ other than m$1} after 10 s"
	return 1
}

# etcd_endpoints — every member's client address as the nodes reach it,
# "198.18.100.1:2380,198.18.100.1:2382,..." (for STEER_REGISTRY).
etcd_endpoints() {
	local i eps=""
	for i in $(seq "$ETCD_N"); do eps+="${eps:+,}$ETCD_ADDR:$(etcd_client_port "$i")"; done
	echo "$eps"
}

# node_env I — the env(1) arguments of node I's steer commands.
# STEER_REGISTRY is etcd:$(etcd_endpoints) unless the test sets NODE_REGISTRY
# (empty: none).
node_env() {
	local reg=${NODE_REGISTRY-etcd:$(etcd_endpoints)}
	# env(1) takes its options (-u) before the assignments.
	if [ -n "$reg" ]; then echo "STEER_REGISTRY=$reg"; else echo "-uSTEER_REGISTRY"; fi
	printf '%s\n' "STEER_BPFFS=${NODE_PIN[$1]}" "STEER_CGROUP=${NODE_CG[$1]}" \
		"STEER_CONTROL_SOCKET=${NODE_SOCK[$1]}" STEER_LOG_FORMAT=json
}

# node_steer I ARGS... — `steer ARGS` with node I's environment, in its netns.
node_steer() {
	local i=$1 envs
	shift
	mapfile -t envs < <(node_env "$i")
	env "${envs[@]}" nsenter --net="/run/netns/${NODE_NS[i]}" -- "$STEER" "$@"
}

# node_status I ARGS... — `steer status ARGS` of node I.
node_status() {
	local i=$1
	shift
	node_steer "$i" status "$@"
}

# start_node_agent I [CONFIG] — `steer run` on node I (in its netns, with
# its environment and what the test exported); --config only if given.
# Waits for "ready:"; the pid in NODE_PID[I], the log in NODE_LOG[I].
start_node_agent() {
	local i=$1 envs
	local args=(run)
	[ $# -ge 2 ] && [ -n "$2" ] && args+=(--config "$2")
	mapfile -t envs < <(node_env "$i")
	: >"${NODE_LOG[i]}"
	env "${envs[@]}" nsenter --net="/run/netns/${NODE_NS[i]}" -- "$STEER" "${args[@]}" \
		>>"${NODE_LOG[i]}" 2>&1 &
	NODE_PID[i]=$!
	if ! wait_for_line "${NODE_LOG[i]}" 'ready:'; then
		fail "agent of node $i did not become ready: $(cat "${NODE_LOG[i]}")"
		return 1
	fi
}

# stop_node_agent I — SIGTERM node I's agent and wait; returns its status.
stop_node_agent() {
	local pid=${NODE_PID[$1]:-} rc
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	NODE_PID[$1]=""
	return $rc
}

# in_node_cg I CMD... — CMD in node I's netns and cgroup (steered by its agent).
in_node_cg() {
	local i=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "${NODE_CG[i]}" \
		"/run/netns/${NODE_NS[i]}" -- "$@"
}

# spawn_in_node_cg I OUT CMD... — in_node_cg in the background, output to
# OUT; the pid (the command's own) in LAST_PID.
spawn_in_node_cg() {
	local i=$1 out=$2
	shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "${NODE_CG[i]}" \
		"/run/netns/${NODE_NS[i]}" -- "$@" >"$out" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# teardown_extra — called first by lib.sh's teardown: the agents, the etcd
# members, the nodes' pins and cgroups, the namespaces and the etcd data.
teardown_extra() {
	local i p q tries ns
	etcd_stop_all
	for i in $(seq "$NODE_N"); do
		[ -n "${NODE_PID[i]:-}" ] && kill -TERM "${NODE_PID[i]}" 2>/dev/null
	done
	for i in $(seq "$NODE_N"); do
		p=${NODE_PID[i]:-}
		[ -n "$p" ] || continue
		tries=100 # 5 s, then kill -9
		while kill -0 "$p" 2>/dev/null && [ "$tries" -gt 0 ]; do
			sleep 0.05
			tries=$((tries - 1))
		done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		NODE_PID[i]=""
	done
	for i in $(seq "$NODE_N"); do
		[ -d "${NODE_PIN[i]}" ] || continue
		if [ -e "/run/netns/${NODE_NS[i]}" ]; then
			node_steer "$i" down >/dev/null 2>&1
		else
			STEER_BPFFS=${NODE_PIN[i]} "$STEER" down >/dev/null 2>&1
		fi
		rm -rf "${NODE_PIN[i]}"
	done
	for i in $(seq "$NODE_N"); do
		p=${NODE_CG[i]:-}
		if [ -z "$p" ] || [ ! -d "$p" ]; then continue; fi
		# Anything left in a node's cgroup was started by the test.
		tries=20
		while [ "$tries" -gt 0 ] && ! rmdir "$p" 2>/dev/null; do
			while read -r q; do
				kill -9 "$q" 2>/dev/null
				wait "$q" 2>/dev/null # reaped now: no "Killed" line later
			done 2>/dev/null <"$p/cgroup.procs"
			sleep 0.1
			tries=$((tries - 1))
		done
		[ -d "$p" ] && echo "teardown: cannot remove cgroup $p" >&2
	done
	for ns in "${REG_NETNS[@]}"; do
		# A child of ours (a replica in PIDS) is reaped at once, so bash
		# prints no "Killed" line for it later.
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	REG_NETNS=()
	rm -rf "$TMP/etcd"
}
