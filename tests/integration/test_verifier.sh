#!/bin/bash
# The BPF objects pass the verifier on their own (bpftool prog loadall, into
# a private bpffs instance in a private mount namespace, so nothing is left
# pinned), and a load the kernel refuses is reported with libbpf's last lines
# instead of a bare errno.
. "$(dirname "$0")/lib.sh"
setup_world

echo "subtest bpftool-loadall"
unshare -m --propagation private sh -c '
	mount -t bpf bpf /sys/fs/bpf &&
	mkdir /sys/fs/bpf/progs &&
	bpftool prog loadall "$1" /sys/fs/bpf/progs &&
	ls /sys/fs/bpf/progs' sh "$BUILD/steer.bpf.o" >"$TMP/loadall.out" 2>&1 ||
	fail "bpftool prog loadall refused the object: $(tail -20 "$TMP/loadall.out")"
for p in sock4_connect sock6_connect sock4_sendmsg sock6_sendmsg sock4_recvmsg sock6_recvmsg \
	sock4_getpeername sock6_getpeername sock_state_watch sock_error_watch; do
	grep -qx "$p" "$TMP/loadall.out" || fail "program $p was not loaded: $(cat "$TMP/loadall.out")"
done

echo "subtest refused-load-is-explained"
mkdir -p "$PIN"
# A map pinned under a steer name but with another layout: libbpf refuses to
# reuse it, and the agent must say why.
bpftool map create "$PIN/steer_svc_v1" type hash key 8 value 8 entries 4 name steer_svc_v1
printf '[service web]\nvip = 127.77.0.1:8080\nhealth = none\n' >"$TMP/steer.ini"
"$STEER" run --config "$TMP/steer.ini" >"$TMP/run.out" 2>&1
check_eq "the agent exits 1" 1 "$?"
grep -q "libbpf's and the verifier's last lines" "$TMP/run.out" || fail "no explanation: $(cat "$TMP/run.out")"
grep -q "steer_svc_v1" "$TMP/run.out" || fail "the explanation does not name the map: $(cat "$TMP/run.out")"
log "$(grep -A3 'last lines' "$TMP/run.out" | head -4)"
"$STEER" down >/dev/null 2>&1
finish
