/* Unit tests for agent/observe/status_render.c: a snapshot built in memory,
 * rendered as text and as JSON, compared byte for byte with
 * tests/unit/fixtures/status.txt and status.json (found next to this
 * source file). Times are fixed, so the fixtures are stable. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "lib/addr.h"
#include "maps/keys.h"
#include "fixture.h"
#include "observe/status_render.h"

/* The whole fixture, NUL-terminated (malloc'd). */
static char *read_fixture(const char *name)
{
	FILE *f = fopen(fixture(name), "r");
	char *buf = NULL;
	size_t len = 0;
	long size;

	if (!f)
		fail_msg("fixture %s: %s", fixture(name), strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	len = fread(buf, 1, (size_t)size, f);
	assert_int_equal(len, (size_t)size);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Up to 80 bytes of s, stopping at the end of its line. */
static int excerpt_len(const char *s)
{
	size_t n = strcspn(s, "\n");

	return n < 80 ? (int)n : 80;
}

/* Names the line and column of the first difference and shows both sides
 * from a little before it (a JSON document is one long line). */
static void assert_bytes_equal(const char *want, const char *got)
{
	size_t i = 0, line = 1, bol = 0, from;

	while (want[i] && want[i] == got[i]) {
		if (want[i] == '\n') {
			line++;
			bol = i + 1;
		}
		i++;
	}
	if (want[i] == got[i])
		return;
	from = i - bol > 40 ? i - 40 : bol;
	fail_msg("line %zu, column %zu:\n  expected: %.*s\n  got:      %.*s", line, i - bol + 1,
		 excerpt_len(want + from), want + from, excerpt_len(got + from), got + from);
}

static char *render_text(const struct status_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	status_render_text(s, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *render_json(const struct status_snapshot *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(status_render_json(s, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static struct endpoint endpoint(const char *text)
{
	struct endpoint ep;
	char err[128];

	if (endpoint_parse(text, &ep, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	return ep;
}

static void add_service(struct svc_view *sv, const char *name, const char *vip, uint8_t proto,
			uint32_t svc_id)
{
	struct endpoint ep = endpoint(vip);

	free(sv->replicas); /* a fixture built again */
	memset(sv, 0, sizeof(*sv));
	svc_key_encode(&ep, proto, &sv->key);
	sv->val.svc_id = svc_id;
	snprintf(sv->name, sizeof(sv->name), "%s", name);
}

static struct replica_view *add_replica(struct svc_view *sv, uint32_t id, const char *addr,
					uint8_t state, uint64_t steered)
{
	struct replica_view *rv,
	    *more = realloc(sv->replicas, (size_t)(sv->nreplicas + 1) * sizeof(*more));
	struct endpoint ep = endpoint(addr);

	assert_non_null(more);
	sv->replicas = more;
	rv = &sv->replicas[sv->nreplicas++];
	memset(rv, 0, sizeof(*rv));

	rv->id = id;
	replica_encode(&ep, sv->val.svc_id, state, &rv->r);
	rv->steered = steered;
	return rv;
}

#define SEC_NS 1000000000ull
#define T0     (1700000000ull * SEC_NS) /* 2023-11-14T22:13:20Z */

/* A TCP service with hold and relay stats and replicas up, ejected and draining, whose
 * name needs escaping in JSON; then a UDP service over IPv6. */
static struct svc_view services[2];

static struct status_snapshot two_services(void)
{
	struct svc_view *web = &services[0], *dns = &services[1];
	struct replica_view *rv;

	add_service(web, "web \"blue\"\\\t1", "127.77.0.1:8080", IPPROTO_TCP, 0);
	web->stats = (struct steer_svc_stats){.steered = 300, .misses = 4, .errors = 1};
	web->hold = (struct steer_hold_stats){.held_now = 1,
					      .held_total = 7,
					      .served = 3,
					      .timeouts = 2,
					      .refused_full = 1,
					      .attempts_served = 4, /* 1.33 per served */
					      .attempts_total = 9};
	web->hold.hold_us.count[steer_hist_bucket(150000)] = 2;
	web->hold.hold_us.count[steer_hist_bucket(900000)] = 1;
	web->hold.first_attempt_us.count[0] = 2;
	web->hold.first_attempt_us.count[steer_hist_bucket(300)] = 5;
	web->relay = (struct steer_relay_stats){.open = 2,
						.started = 3,
						.slot_waits = 4,
						.refused_full = 1,
						.idle_closed = 5,
						.failed = 6};

	web->lb = (struct steer_svc_lb_stats){.pass = {280, 15, 5}, .refused_full = 0};
	rv = add_replica(web, 0, "127.0.0.1:9001", STEER_REPLICA_UP, 154);
	rv->active = 3;
	rv->attrs = (struct steer_slot_attrs){.weight = 3, .weight_end = 3, .max_conns = 100};
	rv->tier = STEER_TIER_LOCAL;
	rv->st = (struct steer_replica_status){.since_ns = T0,
					       .last_check_ns = T0 + 42 * SEC_NS,
					       .last_latency_us = 811,
					       .last_result = STEER_CHECK_OK};

	/* Held out by the datapath: its reason wins over the agent's record. */
	rv = add_replica(web, 1, "127.0.0.1:9002", STEER_REPLICA_DOWN, 73);
	rv->st = (struct steer_replica_status){.since_ns = T0 + 30 * SEC_NS,
					       .last_check_ns = T0 + 42 * SEC_NS,
					       .last_latency_us = 110,
					       .consecutive_failures = 4,
					       .last_result = STEER_CHECK_REFUSED,
					       .eject_reason = STEER_EJECT_CHECK_FAILED};
	rv->b = (struct steer_backend){.ejected_ns = 461938462281ull,
				       .failed_connects = 4,
				       .consecutive_failures = 4,
				       .reason = STEER_EJECT_LISTENER_CLOSED};

	/* Back in, then drained: the agent's record of the last ejection shows. */
	rv = add_replica(web, 2, "127.0.0.1:9003", STEER_REPLICA_DRAINING, 73);
	rv->st = (struct steer_replica_status){.since_ns = T0 + 35 * SEC_NS,
					       .last_check_ns = T0 + 42 * SEC_NS + SEC_NS / 2,
					       .last_latency_us = 310,
					       .last_result = STEER_CHECK_OK,
					       .eject_reason = STEER_EJECT_CONNECT_FAILED};
	rv->b.failed_connects = 22;

	add_service(dns, "dns", "[fd00::77]:5353", IPPROTO_UDP, 1);
	dns->stats.steered = 25;
	add_replica(dns, 3, "[::1]:9101", STEER_REPLICA_UP, 25);

	return (struct status_snapshot){.socks = {.tracked = 330, .released = 320, .destroyed = 2},
					.nservices = 2,
					.services = services};
}

static void test_status_text_matches_fixture(void **state)
{
	struct status_snapshot s = two_services();
	char *want = read_fixture("status.txt"), *got = render_text(&s);

	(void)state;
	assert_bytes_equal(want, got);
	free(want);
	free(got);
}

static void test_status_json_matches_fixture(void **state)
{
	struct status_snapshot s = two_services();
	char *want = read_fixture("status.json"), *got = render_json(&s);

	(void)state;
	assert_bytes_equal(want, got);
	free(want);
	free(got);
}

static void test_status_empty_snapshot_says_no_services(void **state)
{
	struct status_snapshot s = {.nservices = 0, .services = NULL};
	char *text = render_text(&s), *json = render_json(&s);

	(void)state;
	assert_bytes_equal("no services\nsockets open=0 steered=0 closed=0 aborted=0\n", text);
	assert_bytes_equal(
	    "{\"services\":[],\"sockets\":{\"open\":0,\"steered\":0,\"closed\":0,\"aborted\":0}}\n",
	    json);
	free(text);
	free(json);
}

/* A node with the XDP path shows its links and packet counters; one
 * without shows neither (the fixtures above). */
static void test_status_xdp_shows_links_and_counters(void **state)
{
	struct status_snapshot s = {.xdp = 1, .nattach = 2};
	char *text, *json;

	(void)state;
	s.attach[0] = (struct xdp_attachment){
	    .iface = "eth0", .ifindex = 2, .hook = "xdp", .mode = "native", .prog_id = 7};
	s.attach[1] = (struct xdp_attachment){
	    .iface = "eth0", .ifindex = 2, .hook = "tcx egress", .mode = "", .prog_id = 8};
	s.xdp_stats.encap = 5;
	s.xdp_stats.rnat = 3;
	text = render_text(&s);
	json = render_json(&s);
	assert_non_null(strstr(text, "xdp link xdp iface=eth0 mode=native prog_id=7\n"));
	assert_non_null(strstr(text, "xdp link tcx egress iface=eth0 prog_id=8\n"));
	assert_non_null(strstr(text, "xdp packets passed=0 flow_hits=0 flow_new=0 encap=5 "));
	assert_non_null(strstr(text, " rnat=3\n"));
	assert_non_null(strstr(json, "\"xdp\":{\"attached\":[{\"hook\":\"xdp\",\"iface\":\"eth0\","
				     "\"ifindex\":2,\"mode\":\"native\",\"prog_id\":7}"));
	assert_non_null(strstr(json, "\"encap\":5"));
	free(text);
	free(json);
}

/* An agent watching a registry shows its state; without one, nothing. */
static void test_status_registry_shows_state_revisions_and_keys(void **state)
{
	struct status_snapshot s = {0};
	char *text, *json;

	(void)state;
	s.registry = (struct steer_registry_status){.conn = STEER_REGISTRY_STALE,
						    .since_ns = 1764669600ull * 1000000000ull,
						    .revision = 42,
						    .applied_revision = 41,
						    .applied_ns = 1764669599ull * 1000000000ull,
						    .services = 3,
						    .replicas = 7,
						    .skipped = 1,
						    .attempts = 4};
	snprintf(s.registry.member, sizeof(s.registry.member), "198.18.100.1:2380");
	snprintf(s.registry.error, sizeof(s.registry.error), "list: refused");
	text = render_text(&s);
	json = render_json(&s);
	assert_non_null(strstr(text,
			       "registry etcd member=198.18.100.1:2380 stale "
			       "since=2025-12-02T10:00:00Z revision=42 applied_revision=41 "
			       "applied_at=2025-12-02T09:59:59Z services=3 replicas=7 skipped=1 "
			       "attempts=4 error=\"list: refused\"\n"));
	assert_non_null(strstr(json, "\"registry\":{\"member\":\"198.18.100.1:2380\","
				     "\"state\":\"stale\",\"since\":\"2025-12-02T10:00:00Z\","
				     "\"revision\":42,\"applied_revision\":41,"));
	free(text);
	free(json);
	s.registry.conn = STEER_REGISTRY_NONE;
	text = render_text(&s);
	assert_null(strstr(text, "registry"));
	free(text);
}

/* jansson takes UTF-8 only; a name that is not still gives valid JSON. */
static void test_status_json_name_not_utf8_gets_replacement_chars(void **state)
{
	struct status_snapshot s = {.nservices = 1, .services = services};
	char *json;

	(void)state;
	add_service(&services[0], "a\xff\xc3", "127.77.0.1:8080", IPPROTO_UDP, 0);
	json = render_json(&s);
	assert_non_null(strstr(json, "{\"name\":\"a\xef\xbf\xbd\xef\xbf\xbd\",\"vip\""));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_text_matches_fixture),
	    cmocka_unit_test(test_status_json_matches_fixture),
	    cmocka_unit_test(test_status_empty_snapshot_says_no_services),
	    cmocka_unit_test(test_status_xdp_shows_links_and_counters),
	    cmocka_unit_test(test_status_registry_shows_state_revisions_and_keys),
	    cmocka_unit_test(test_status_json_name_not_utf8_gets_replacement_chars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
