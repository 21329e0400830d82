#!/bin/bash
# Bad config or bad environment: exit 2, a message naming the problem, and
# nothing touched, neither on a fresh node nor under a running datapath.
. "$(dirname "$0")/lib.sh"
setup_world

cat >"$TMP/good.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = none
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002
INI
cat >"$TMP/dupvip.ini" <<INI
[service a]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9003

[service b]
vip = 127.77.0.1:8080
replica = 127.0.0.1:9004
INI
printf '[service web]\nvip = 127.77.0.1:80800\nreplica = 127.0.0.1:9001\n' >"$TMP/badport.ini"

# expect_invalid DESCRIPTION PATTERN CMD...
expect_invalid() {
	local desc=$1 pattern=$2
	shift 2
	"$@" >"$TMP/out" 2>&1
	local rc=$?
	check_eq "$desc: exit status" 2 "$rc"
	grep -q -- "$pattern" "$TMP/out" || fail "$desc: message lacks '$pattern': $(cat "$TMP/out")"
}

echo "subtest fresh-node"
expect_invalid "bad port, nothing pinned yet" "badport.ini:2" "$STEER" run --config "$TMP/badport.ini"
[ ! -e "$PIN" ] || fail "a refused config created $PIN"

start_agent "$TMP/good.ini" || finish
wait_all_up 2
stop_agent
dump() { for m in steer_svc_v1 steer_slots_v1 steer_replicas_v1; do bpftool map dump pinned "$PIN/$m"; done; }
dump >"$TMP/before.dump"

echo "subtest bad-config"
expect_invalid "duplicate VIP" "dupvip.ini" "$STEER" run --config "$TMP/dupvip.ini"
expect_invalid "bad port" "80800" "$STEER" run --config "$TMP/badport.ini"
expect_invalid "missing file" "cannot open" "$STEER" run --config "$TMP/nope.ini"
expect_invalid "check-config on a bad file" "80800" "$STEER" check-config "$TMP/badport.ini"

echo "subtest bad-env"
expect_invalid "bad log level" "STEER_LOG_LEVEL" env STEER_LOG_LEVEL=loud "$STEER" run --config "$TMP/good.ini"
expect_invalid "relative cgroup path" "STEER_CGROUP" env STEER_CGROUP=relative/cg "$STEER" run --config "$TMP/good.ini"
expect_invalid "relative pin dir" "STEER_BPFFS" env STEER_BPFFS=pins "$STEER" run --config "$TMP/good.ini"

echo "subtest unknown-env-warns"
STEER_LOG_LEVL=debug "$STEER" check-config "$TMP/good.ini" >"$TMP/cc.out" 2>&1
check_eq "check-config on a good file" 0 "$?"
grep -q 'STEER_LOG_LEVEL' "$TMP/cc.out" || fail "no 'did you mean STEER_LOG_LEVEL' for STEER_LOG_LEVL: $(cat "$TMP/cc.out")"

dump >"$TMP/after.dump"
if cmp -s "$TMP/before.dump" "$TMP/after.dump"; then log "ok: maps unchanged"; else
	fail "maps changed: $(diff "$TMP/before.dump" "$TMP/after.dump" | head)"
fi
finish
