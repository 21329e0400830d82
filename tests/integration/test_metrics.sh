#!/bin/bash
# The Prometheus endpoint: series values after known traffic, promtool's
# verdict on the page, the HTTP surface (404, 405, content type), a real
# Prometheus server scraping the agent and answering a query, and the fatal
# error when the metrics address is taken.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
command -v prometheus >/dev/null || skip "prometheus not installed (Debian package prometheus)"
command -v curl >/dev/null || skip "curl not installed"
setup_world

MADDR=127.0.0.1:9477 # in the test's netns: no clash with the host or other tests
PADDR=127.0.0.1:9090
export STEER_METRICS_ADDR=$MADDR
URL=http://$MADDR/metrics

cat >"$TMP/steer.ini" <<INI
[service web]
vip = 127.77.0.1:8080
health = tcp
health_rise = 1
replica = 127.0.0.1:9001
replica = 127.0.0.1:9002

[service held]
vip = 127.77.0.2:8080
health = tcp
health_rise = 1
replica = 127.0.0.1:9003

[service dns]
vip = 127.77.0.3:5300
protocol = udp
health = none
replica = 127.0.0.1:9005
INI
start_echo r1 127.0.0.1:9001
start_echo r2 127.0.0.1:9002
start_echo r5 127.0.0.1:9005
start_agent "$TMP/steer.ini" || finish
wait_all_up 3 || finish
wait_state 127.0.0.1:9003 down || finish

# check_ge DESCRIPTION MIN ACTUAL
check_ge() {
	if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then log "ok: $1 ($3 >= $2)"; else fail "$1: expected >= $2, got '$3'"; fi
}
scrape() { in_ns curl -s --max-time 5 "$URL"; }
# value SERIES — the value of one exact series (name{labels}) in a fresh scrape.
value() {
	scrape | awk -v s="$1" 'index($0, s " ") == 1 {print $2; f=1} END {if (!f) print "none"}'
}

echo "subtest startup"
grep -q "metrics on http://$MADDR/metrics" "$TMP/agent.log" ||
	fail "no 'metrics on http://$MADDR/metrics' in the agent log: $(cat "$TMP/agent.log")"

echo "subtest values-after-known-traffic"
in_cg "$CLIENT" tcp 127.77.0.1:8080 --count 100 --quiet >"$TMP/web.out"
check_eq "100 connects to web answered" "ok=100 fail=0" "$(ok_fail "$TMP/web.out")"
in_cg "$CLIENT" udp 127.77.0.3:5300 --count 20 --quiet >"$TMP/dns.out"
check_eq "20 datagrams to dns answered" "ok=20 fail=0" "$(ok_fail "$TMP/dns.out")"
# One connection to 'held' waits for its replica, which starts 200 ms later.
spawn_in_cg "$TMP/held.out" "$CLIENT" tcp 127.77.0.2:8080 --timeout-ms 5000
HELD=$LAST_PID
for _ in $(seq 100); do
	[ "$(value 'steer_held_connections{service="held"}')" = 1 ] && break
	sleep 0.05
done
check_eq "a held connection shows in steer_held_connections" 1 "$(value 'steer_held_connections{service="held"}')"
sleep 0.2
start_echo r3 127.0.0.1:9003
wait "$HELD"
check_eq "the held client is served" "ok=1 fail=0" "$(ok_fail "$TMP/held.out")"
wait_state 127.0.0.1:9003 up

scrape >"$TMP/page.txt"
[ "${V:-0}" = 1 ] && sed 's/^/      | /' "$TMP/page.txt"
v() { awk -v s="$1" 'index($0, s " ") == 1 {print $2; f=1} END {if (!f) print "none"}' "$TMP/page.txt"; }
check_eq "steer_connections_steered_total web" 100 "$(v 'steer_connections_steered_total{service="web"}')"
check_eq "steer_misses_total web" 0 "$(v 'steer_misses_total{service="web"}')"
check_eq "steer_datapath_errors_total web" 0 "$(v 'steer_datapath_errors_total{service="web"}')"
r1=$(v 'steer_replica_connections_steered_total{service="web",replica="127.0.0.1:9001"}')
r2=$(v 'steer_replica_connections_steered_total{service="web",replica="127.0.0.1:9002"}')
check_eq "per-replica steered add up to the service's" 100 "$((r1 + r2))"
check_eq "per-replica steered match the replies r1 counted" "$(reply_count "$TMP/web.out" r1)" "$r1"
check_eq "steer_connections_steered_total dns (UDP)" 20 "$(v 'steer_connections_steered_total{service="dns"}')"
check_eq "steer_replica_state web r1 up" 1 "$(v 'steer_replica_state{service="web",replica="127.0.0.1:9001",state="up"}')"
check_eq "steer_replica_state web r1 down" 0 "$(v 'steer_replica_state{service="web",replica="127.0.0.1:9001",state="down"}')"
check_eq "steer_replica_failed_connects_total web r1" 0 "$(v 'steer_replica_failed_connects_total{service="web",replica="127.0.0.1:9001"}')"
check_eq "steer_hold_served_total held" 1 "$(v 'steer_hold_served_total{service="held"}')"
check_eq "steer_held_connections held, after serving" 0 "$(v 'steer_held_connections{service="held"}')"
check_eq "steer_hold_duration_seconds_count held" 1 "$(v 'steer_hold_duration_seconds_count{service="held"}')"
check_eq "steer_hold_duration_seconds +Inf bucket held" 1 "$(v 'steer_hold_duration_seconds_bucket{service="held",le="+Inf"}')"
check_eq "steer_first_attempt_seconds_count held" 1 "$(v 'steer_first_attempt_seconds_count{service="held"}')"
check_ge "steer_misses_total held" 1 "$(v 'steer_misses_total{service="held"}')"
check_ge "steer_retry_attempts_total held" 1 "$(v 'steer_retry_attempts_total{service="held"}')"
checks=$(v 'steer_health_checks_total{service="web"}')
check_ge "steer_health_checks_total web" 2 "$checks"
check_eq "health check histogram count equals the checks" "$checks" "$(v 'steer_health_check_duration_seconds_count{service="web"}')"
grep -q '^steer_build_info{version="[^"]\+"} 1$' "$TMP/page.txt" || fail "no steer_build_info{version=...} 1"
check_eq "no hold series for the UDP service" 0 "$(grep -c '^steer_hold.*service="dns"' "$TMP/page.txt")"
check_eq "HELP lines once per family" 0 "$(grep '^# HELP' "$TMP/page.txt" | awk '{print $3}' | sort | uniq -d | wc -l)"

echo "subtest ejection-and-drain"
kill "$ECHO_PID_r2"
wait "$ECHO_PID_r2" 2>/dev/null
wait_state 127.0.0.1:9002 down
"$STEER" replica drain web 127.0.0.1:9001 >/dev/null || fail "drain failed"
wait_state 127.0.0.1:9001 draining
scrape >"$TMP/page.txt"
check_eq "r2 down once its listener closed" 1 "$(v 'steer_replica_state{service="web",replica="127.0.0.1:9002",state="down"}')"
check_eq "r2 not up" 0 "$(v 'steer_replica_state{service="web",replica="127.0.0.1:9002",state="up"}')"
check_eq "r1 draining" 1 "$(v 'steer_replica_state{service="web",replica="127.0.0.1:9001",state="draining"}')"
check_eq "ejection counted as listener_closed" 1 "$(v 'steer_ejections_total{service="web",reason="listener_closed"}')"
"$STEER" replica undrain web 127.0.0.1:9001 >/dev/null || fail "undrain failed"

echo "subtest promtool"
lint=$(promtool check metrics <"$TMP/page.txt" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
	fail "promtool check metrics exited $rc: $lint"
elif [ -n "$lint" ]; then
	fail "promtool check metrics printed problems: $lint"
else
	log "ok: promtool check metrics: exit 0, no problems ($(grep -c '^# TYPE' "$TMP/page.txt") families, $(grep -vc '^#' "$TMP/page.txt") series)"
fi

echo "subtest http"
check_eq "GET /metrics" 200 "$(in_ns curl -s -o /dev/null -w '%{http_code}' "$URL")"
check_eq "content type" "text/plain; version=0.0.4; charset=utf-8" \
	"$(in_ns curl -s -o /dev/null -w '%{content_type}' "$URL")"
check_eq "GET /metrics?x=1 (a query string is no other path)" 200 "$(in_ns curl -s -o /dev/null -w '%{http_code}' "$URL?x=1")"
check_eq "GET / is 404" 404 "$(in_ns curl -s -o /dev/null -w '%{http_code}' "http://$MADDR/")"
check_eq "GET /metricsx is 404" 404 "$(in_ns curl -s -o /dev/null -w '%{http_code}' "http://$MADDR/metricsx")"
check_eq "POST /metrics is 405" 405 "$(in_ns curl -s -o /dev/null -w '%{http_code}' -d x=1 "$URL")"
in_ns curl -s -D - -o /dev/null -X DELETE "$URL" | grep -qi '^Allow: GET, HEAD' ||
	fail "405 without 'Allow: GET, HEAD'"
check_eq "HEAD /metrics" 200 "$(in_ns curl -s -o /dev/null -I -w '%{http_code}' "$URL")"

echo "subtest prometheus-server"
cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: steer
    static_configs:
      - targets: ['$MADDR']
YML
in_ns prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
	--web.listen-address="$PADDR" >"$TMP/prometheus.log" 2>&1 &
PROM=$!
PIDS+=("$PROM")
query="http://$PADDR/api/v1/query?query=steer_connections_steered_total%7Bservice%3D%22web%22%7D"
answer=""
for _ in $(seq 300); do
	answer=$(in_ns curl -s --max-time 2 "$query")
	grep -q '"value":\[[0-9.]*,"100"\]' <<<"$answer" && break
	kill -0 "$PROM" 2>/dev/null || break
	sleep 0.1
done
if grep -q '"value":\[[0-9.]*,"100"\]' <<<"$answer"; then
	log "ok: Prometheus scraped the agent and answers steer_connections_steered_total{service=\"web\"} = 100"
	log "    $answer"
else
	fail "Prometheus did not return steer_connections_steered_total{service=\"web\"} 100: '$answer'; log: $(tail -5 "$TMP/prometheus.log")"
fi
health=$(in_ns curl -s --max-time 2 "http://$PADDR/api/v1/targets?state=active" | grep -o '"health":"[a-z]*"' | head -1)
check_eq "Prometheus sees the target healthy" '"health":"up"' "$health"
kill "$PROM"
wait "$PROM"
check_eq "Prometheus stopped by pid" 1 "$(kill -0 "$PROM" 2>/dev/null && echo 0 || echo 1)"

echo "subtest address-in-use-is-fatal"
stop_agent || fail "agent exited non-zero on SIGTERM"
# Something else holds the metrics address when the agent starts.
in_ns "$ECHO" --name squatter --listen "$MADDR" --tcp-only >"$TMP/squatter.out" 2>&1 &
SQUAT=$!
PIDS+=("$SQUAT")
wait_for_line "$TMP/squatter.out" '^listening' || fail "squatter did not start"
in_ns timeout 20 "$STEER" run --config "$TMP/steer.ini" 2>"$TMP/agent2.log"
rc=$?
check_eq "steer run exits 1 when the metrics address is taken" 1 "$rc"
msg=$(grep 'metrics' "$TMP/agent2.log" | tail -1)
log "message: $msg"
for want in "$MADDR" "Address already in use" STEER_METRICS_ADDR; do
	grep -qF -- "$want" <<<"$msg" || fail "the message does not name '$want': $msg"
done
# ...and with metrics off, the same agent starts.
STEER_METRICS_ADDR=off start_agent "$TMP/steer.ini" "$TMP/agent3.log" || finish
grep -q "metrics on" "$TMP/agent3.log" && fail "STEER_METRICS_ADDR=off still serves metrics"
finish
