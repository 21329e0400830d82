#!/bin/bash
# The registry over TLS with client certificates: one etcd member that takes
# https only and asks for a client certificate signed by the test's CA
# (--client-cert-auth). An agent and `steer register` with the CA and a
# certificate work; an agent without a certificate lists nothing and
# changes nothing; a CA file that cannot be read is an error naming it.
# shellcheck source=registry_lib.sh disable=SC2034 # NODE_N and the pid arrays are registry_lib.sh's
. "$(dirname "$0")/registry_lib.sh"

command -v etcd >/dev/null && command -v openssl >/dev/null || skip "etcd or openssl is not installed"
NODE_N=2
setup_nodes || finish

# A CA, the member's certificate (for the address the nodes and the fabric
# use) and a client certificate, all for this test only.
PKI=$TMP/pki
mkdir -p "$PKI"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
key "$PKI/ca.key"
openssl req -x509 -key "$PKI/ca.key" -out "$PKI/ca.pem" -days 1 -subj /CN=steer-test-ca 2>/dev/null
for who in member client; do
	key "$PKI/$who.key"
	openssl req -new -key "$PKI/$who.key" -out "$PKI/$who.csr" -subj "/CN=steer-test-$who" 2>/dev/null
	if [ "$who" = member ]; then
		# etcd's gateway shows the member's certificate to the member itself.
		printf 'subjectAltName=IP:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
			"$ETCD_ADDR" >"$PKI/ext"
	else
		printf 'extendedKeyUsage=clientAuth\n' >"$PKI/ext"
	fi
	openssl x509 -req -in "$PKI/$who.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-CAcreateserial -out "$PKI/$who.pem" -days 1 -extfile "$PKI/ext" 2>/dev/null ||
		{ fail "cannot make the $who certificate"; finish; }
done

PORT=2390
nsenter --net="/run/netns/$FABRIC" -- etcd --name t --data-dir "$TMP/etcd/t" \
	--listen-client-urls "https://$ETCD_ADDR:$PORT,https://127.0.0.1:$PORT" \
	--advertise-client-urls "https://$ETCD_ADDR:$PORT" \
	--cert-file "$PKI/member.pem" --key-file "$PKI/member.key" \
	--trusted-ca-file "$PKI/ca.pem" --client-cert-auth \
	--listen-peer-urls http://127.0.0.1:2391 --initial-advertise-peer-urls http://127.0.0.1:2391 \
	--initial-cluster t=http://127.0.0.1:2391 >"$TMP/etcd/t.log" 2>&1 &
ETCD_PID[1]=$!
tls_ctl() {
	in_fabric env ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$PORT" --cacert="$PKI/ca.pem" \
		--cert="$PKI/client.pem" --key="$PKI/client.key" --dial-timeout=1s --command-timeout=3s "$@"
}
tries=150
until tls_ctl endpoint health >/dev/null 2>&1 || [ $tries -eq 0 ]; do sleep 0.1; tries=$((tries - 1)); done
tls_ctl endpoint health >/dev/null 2>&1 || { fail "the TLS member is not healthy: $(tail -5 "$TMP/etcd/t.log")"; finish; }

tls_ctl put /steer/services/web '{"vip": "198.19.0.1:80", "protocol": "tcp", "health": "tcp"}' >/dev/null
tls_ctl put /steer/replicas/web/198.18.100.10:8080 '{}' >/dev/null
start_fabric_echo r1 198.18.100.10 8080 || finish
start_fabric_echo r2 198.18.100.11 8080 || finish
export STEER_REGISTRY_INITIAL_BACKOFF_MS=50 STEER_REGISTRY_MAX_BACKOFF_MS=500 STEER_REGISTRY_TIMEOUT_MS=1000
export NODE_REGISTRY=etcd:$ETCD_ADDR:$PORT STEER_METRICS_ADDR=off

echo "  a CA file that cannot be read is refused before anything starts"
out=$(STEER_REGISTRY_CA_FILE=$PKI/missing.pem node_steer 1 run 2>&1)
check_eq "exit status" 2 "$?"
grep -q "STEER_REGISTRY_CA_FILE='$PKI/missing.pem': No such file" <<<"$out" ||
	fail "the error does not name the variable and the file: $out"

echo "  with the CA and a client certificate: listed, watched, routed"
STEER_REGISTRY_CA_FILE=$PKI/ca.pem STEER_REGISTRY_CERT_FILE=$PKI/client.pem \
	STEER_REGISTRY_KEY_FILE=$PKI/client.key start_node_agent 1 || finish
tries=150
until node_status 1 | grep -q "replica 198.18.100.10:8080 .*state=up" || [ $tries -eq 0 ]; do sleep 0.02; tries=$((tries - 1)); done
out=$(in_node_cg 1 "$CLIENT" tcp 198.19.0.1:80 --count 20 2>&1)
check_eq "node 1: 20 connects to the VIP from etcd over TLS" "ok=20 fail=0 r1=20" \
	"$(ok_fail <(echo "$out")) r1=$(reply_count <(echo "$out") r1)"
STEER_REGISTRY=etcd:127.0.0.1:$PORT STEER_REGISTRY_CA_FILE=$PKI/ca.pem \
	STEER_REGISTRY_CERT_FILE=$PKI/client.pem STEER_REGISTRY_KEY_FILE=$PKI/client.key \
	nsenter --net="/run/netns/$FABRIC" -- "$STEER" register --service web \
	--replica 198.18.100.11:8080 >"$TMP/reg.log" 2>&1 &
REG=$!
PIDS+=("$REG")
tries=250
until node_status 1 | grep -q "replica 198.18.100.11:8080 .*state=up" || [ $tries -eq 0 ]; do sleep 0.02; tries=$((tries - 1)); done
node_status 1 | grep -q "replica 198.18.100.11:8080 .*state=up" ||
	fail "a replica registered over TLS did not come up: $(cat "$TMP/reg.log")"
kill -TERM "$REG"
wait "$REG"
check_eq "steer register over TLS exits 0 on SIGTERM" 0 "$?"
tries=150
while node_status 1 | grep -q "replica 198.18.100.11:8080 " && [ $tries -gt 0 ]; do sleep 0.02; tries=$((tries - 1)); done
node_status 1 | grep -q "replica 198.18.100.11:8080 " && fail "the revoked replica is still on node 1"

echo "  without a client certificate: refused by etcd, nothing applied"
mapfile -t envs < <(node_env 2)
# env and nsenter exec: $! is the agent's pid (a function would be a subshell's).
env "${envs[@]}" STEER_REGISTRY_CA_FILE="$PKI/ca.pem" nsenter --net="/run/netns/${NODE_NS[2]}" -- \
	"$STEER" run >"${NODE_LOG[2]}" 2>&1 &
NODE_PID[2]=$!
wait_for_line "${NODE_LOG[2]}" 'registry: list: ' 200 ||
	fail "node 2 logged no failed listing: $(cat "${NODE_LOG[2]}")"
log "node 2: $(grep -o 'registry: list: [^"]*' "${NODE_LOG[2]}" | head -1)"
check_eq "node 2's registry state" connecting \
	"$(node_status 2 | awk '$1 == "registry" { print $4 }')"
node_status 2 | grep -q "^service web " && fail "node 2 applied a service without a certificate"
grep -q '"ready:' "${NODE_LOG[2]}" && fail "node 2 became ready without a listing"
stop_node_agent 2
check_eq "node 2: exits 0 on SIGTERM while it waits" 0 "$?"
finish
