# Shared setup for steer's integration tests. Each test builds its own world:
# a child cgroup v2, a network namespace, a private pin directory. teardown
# runs on every exit, failing or not, and removes all of it.
# shellcheck shell=bash

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
STEER=$BUILD/steer
ECHO=$BUILD/steer-echo
CLIENT=$BUILD/steer-client
ID=$$-$RANDOM
TMP=$(mktemp -d "/tmp/steer-test-$ID.XXXX")
PIN=/sys/fs/bpf/steer-test-$ID
NS=steer-test-$ID
CG=""
HOST=""
PEERS=() # more namespaces (add_peer)
PIDS=()
AGENT_PID=""
FAILED=0

log() { printf '    %s\n' "$*"; }
fail() { printf '    FAIL: %s\n' "$*"; FAILED=1; }
# check DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then log "ok: $1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}
skip() { printf '    SKIP: %s\n' "$*"; exit 77; }

cgroup2_root() {
	local m
	m=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
	if [ -z "$m" ]; then
		m=/run/steer/cgroup2
		mkdir -p "$m" && mount -t cgroup2 cgroup2 "$m" || return 1
	fi
	echo "$m"
}

setup_world() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	local root
	root=$(cgroup2_root) || { echo "no cgroup v2" >&2; exit 1; }
	CG=$root/steer-test-$ID
	mkdir "$CG"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	export STEER_BPFFS=$PIN STEER_CGROUP=$CG STEER_CONTROL_SOCKET=$TMP/steer.sock
	# Fast checks keep the tests short; tests about timing set their own.
	export STEER_HEALTH_INTERVAL_MS=${STEER_HEALTH_INTERVAL_MS:-100}
	export STEER_HEALTH_TIMEOUT_MS=${STEER_HEALTH_TIMEOUT_MS:-100}
}

teardown() {
	local p
	set +e
	# A harness built on this one (registry_lib.sh) removes its own world first.
	if declare -F teardown_extra >/dev/null; then teardown_extra; fi
	for p in "${PIDS[@]}" $AGENT_PID; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}" $AGENT_PID; do wait "$p" 2>/dev/null; done
	if [ -d "$PIN" ]; then "$STEER" down >/dev/null 2>&1 || rm -rf "$PIN"; fi
	# Other pin directories of the test ($PIN-rep: a replica host's).
	for p in "$PIN"-*; do [ -d "$p" ] && rm -rf "$p"; done
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		# Anything left in the cgroup was started by this test.
		for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		rmdir "$CG" 2>/dev/null || sleep 0.2 && rmdir "$CG" 2>/dev/null
	fi
	# Whatever still runs in the test's namespace was started by the test.
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	if [ -n "$HOST" ]; then
		for p in $(ip netns pids "$HOST" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$HOST" 2>/dev/null
	fi
	for p in "${PEERS[@]}"; do
		for q in $(ip netns pids "$p" 2>/dev/null); do kill -9 "$q" 2>/dev/null; done
		ip netns del "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# add_host — a second host: network namespace $HOST, joined to the test's
# by a veth pair, va-$$ (198.18.0.1/24, fd00:18::1/64) in the test's and
# vb-$$ (198.18.0.2/24, fd00:18::2/64) in $HOST. teardown removes it.
add_host() {
	HOST=$NS-b
	ip netns add "$HOST"
	ip -n "$HOST" link set lo up
	ip link add va-$$ netns "$NS" type veth peer name vb-$$ netns "$HOST"
	ip -n "$NS" addr add 198.18.0.1/24 dev va-$$
	ip -n "$HOST" addr add 198.18.0.2/24 dev vb-$$
	ip -n "$NS" addr add fd00:18::1/64 dev va-$$ nodad
	ip -n "$HOST" addr add fd00:18::2/64 dev vb-$$ nodad
	ip -n "$NS" link set va-$$ up
	ip -n "$HOST" link set vb-$$ up
}

# add_peer SUFFIX NET4 NET6 — one more host: network namespace $NS-SUFFIX
# (in $PEER after the call), joined to the test's by a veth pair, pa<SUFFIX>-$$ with
# NET4.1/24 and NET6::1/64 in the test's, pb<SUFFIX>-$$ with NET4.2 and
# NET6::2 in the new one, whose default routes go through the test's.
# teardown removes it. Example: add_peer r 198.18.2 fd00:2
add_peer() {
	local ns=$NS-$1 a=pa$1-$$ b=pb$1-$$
	PEERS+=("$ns")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add "$a" netns "$NS" type veth peer name "$b" netns "$ns"
	ip -n "$NS" addr add "$2.1/24" dev "$a"
	ip -n "$ns" addr add "$2.2/24" dev "$b"
	ip -n "$NS" addr add "$3::1/64" dev "$a" nodad
	ip -n "$ns" addr add "$3::2/64" dev "$b" nodad
	ip -n "$NS" link set "$a" up
	ip -n "$ns" link set "$b" up
	ip -n "$ns" route add default via "$2.1"
	ip -n "$ns" -6 route add default via "$3::1"
	PEER=$ns
}

# Run a command in the test netns, inside the test cgroup.
in_cg() {
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$CG" "/run/netns/$NS" -- "$@"
}
# Run a command in the test netns, outside the test cgroup.
in_ns() {
	nsenter --net="/run/netns/$NS" -- "$@"
}
# spawn_in_cg OUT CMD...: like in_cg, in the background, stdout to OUT; the
# pid ($!) is the command's own (sh and nsenter exec it), so kill reaches it.
spawn_in_cg() {
	local out=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="$@"' sh "$CG" "/run/netns/$NS" -- "$@" >"$out" 2>&1 &
	LAST_PID=$!
	PIDS+=($LAST_PID)
}

# Wait (bounded) until FILE contains PATTERN; returns 1 on timeout.
wait_for_line() {
	local file=$1 pattern=$2 tries=${3:-200}
	while [ "$tries" -gt 0 ]; do
		grep -q -- "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	return 1
}

# start_echo NAME ADDR:PORT — a replica in the test netns.
start_echo() {
	local out=$TMP/echo-$1.out
	nsenter --net="/run/netns/$NS" -- "$ECHO" --name "$1" --listen "$2" >"$out" 2>&1 &
	PIDS+=($!)
	eval "ECHO_PID_$1=$!"
	wait_for_line "$out" '^listening' || { fail "replica $1 did not start: $(cat "$out")"; return 1; }
}

# start_agent CONFIG [LOG] — steer run in the background, in the test netns;
# waits for "ready".
start_agent() {
	local logf=${2:-$TMP/agent.log}
	: >"$logf"
	# The agent probes replicas from where the clients are: the test netns.
	nsenter --net="/run/netns/$NS" -- "$STEER" run --config "$1" 2>>"$logf" &
	AGENT_PID=$!
	if ! wait_for_line "$logf" 'ready:'; then
		fail "agent did not become ready: $(cat "$logf")"
		return 1
	fi
}

# replica_states — "ADDR:PORT=state" per replica, sorted, from steer status.
replica_states() {
	"$STEER" status --json 2>/dev/null | grep -o '"address":"[^"]*","id":[0-9]*,"state":"[a-z]*"' |
		sed 's/"address":"\([^"]*\)","id":[0-9]*,"state":"\([a-z]*\)"/\1=\2/' | sort
}

# replica_value ADDR:PORT FIELD — a numeric field of a replica (steered,
# active, ...) from `steer status --json`; of the last service, by name,
# that lists the replica.
replica_value() {
	"$STEER" status --json | grep -o '"address":"[^"]*","id":[0-9]*,[^}]*' |
		grep -F "\"address\":\"$1\"," | tail -1 | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

# hold_value SERVICE FIELD — a number from the service's "hold" object in
# steer status --json (held_now, held_total, served, refused_full, ...).
hold_value() {
	"$STEER" status --json | grep -o "\"name\":\"$1\",.*" | grep -o '"hold":{[^}]*}' | head -1 |
		grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

# wait_state ADDR:PORT STATE [TRIES] — bounded wait for a replica's state.
wait_state() {
	local tries=${3:-200}
	while [ "$tries" -gt 0 ]; do
		replica_states | grep -qxF -- "$1=$2" && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "replica $1 did not become $2; states: $(replica_states | tr '\n' ' ')"
	return 1
}

# wait_all_up N — bounded wait until N replicas are up.
wait_all_up() {
	local tries=200
	while [ "$tries" -gt 0 ]; do
		[ "$(replica_states | grep -c '=up$')" -ge "$1" ] && return 0
		sleep 0.05
		tries=$((tries - 1))
	done
	fail "fewer than $1 replicas came up: $(replica_states | tr '\n' ' ')"
	return 1
}

stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	local rc=$?
	AGENT_PID=""
	return $rc
}

# reply_count OUTPUT NAME — the count steer-client printed for a replica.
reply_count() {
	awk -v n="$2" '$1 == "reply" && $2 == n {print $3; f=1} END {if (!f) print 0}' "$1"
}
ok_fail() { awk '$1 == "ok" {print "ok=" $2 " fail=" $4}' "$1"; }

finish() {
	[ "$FAILED" -eq 0 ]
	exit $?
}
