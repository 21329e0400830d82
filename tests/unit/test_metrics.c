/* Unit tests for agent/observe/metrics_render.c: a snapshot in, Prometheus text
 * format 0.0.4 out. Exact text for a small case, label escaping, histogram
 * consistency, families that exist for TCP only, the empty snapshot, and the
 * size bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "lib/hist.h"
#include "observe/metrics.h"

static struct metrics_replica *test_replicas(int n)
{
	struct metrics_replica *r = calloc((size_t)n, sizeof(*r));

	assert_non_null(r);
	return r;
}

static void free_services(struct metrics_service *svc, int n)
{
	for (int i = 0; i < n; i++)
		free(svc[i].replicas);
	free(svc);
}

static char *render(const struct metrics_service *svcs, int n)
{
	struct metrics_snapshot s = {
	    .version = "test", .nservices = n, .services = (struct metrics_service *)svcs};
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(&s, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Compare line by line, so a failure names the first line that differs. */
static void assert_text_equal(const char *want, const char *got)
{
	int line = 1;

	while (*want || *got) {
		size_t wl = strcspn(want, "\n"), gl = strcspn(got, "\n");

		if (wl != gl || memcmp(want, got, wl) != 0)
			fail_msg("line %d:\n  expected: %.*s\n  got:      %.*s", line, (int)wl,
				 want, (int)gl, got);
		want += wl + (want[wl] == '\n');
		got += gl + (got[gl] == '\n');
		line++;
	}
}

static const char build_info[] =
    "# HELP steer_build_info Build of the running steer agent; "
    "always 1.\n"
    "# TYPE steer_build_info gauge\n"
    "steer_build_info{version=\"test\"} 1\n"
    "# HELP steer_sockets_open Sockets steered to a replica or the "
    "hold path and not closed yet.\n"
    "# TYPE steer_sockets_open gauge\n"
    "steer_sockets_open 0\n"
    "# HELP steer_sockets_aborted_total Connected sockets aborted because "
    "their replica left (connected UDP; TCP with STEER_SOCK_DESTROY_TCP=on).\n"
    "# TYPE steer_sockets_aborted_total counter\n"
    "steer_sockets_aborted_total 0\n";

static void test_metrics_empty_snapshot_has_build_info_and_socket_counts_only(void **state)
{
	char *text;

	(void)state;
	text = render(NULL, 0);
	assert_text_equal(build_info, text);
	free(text);
}

static void test_metrics_small_udp_service_renders_exactly(void **state)
{
	struct metrics_service *svc = calloc(1, sizeof(*svc));
	char *text;

	(void)state;
	assert_non_null(svc);
	strcpy(svc->name, "dns");
	svc->proto = IPPROTO_UDP;
	svc->stats = (struct steer_svc_stats){.steered = 7, .misses = 2, .errors = 1};
	svc->nreplicas = 1;
	svc->replicas = test_replicas(1);
	strcpy(svc->replicas[0].addr, "127.0.0.1:5301");
	svc->replicas[0].state = STEER_REPLICA_DRAINING;
	svc->replicas[0].steered = 7;
	svc->checks.checks = 10;
	svc->checks.check_failures = 3;
	svc->checks.ejections[STEER_EJECT_CHECK_FAILED] = 1;
	hist_record(&svc->checks.duration_us, 0);
	hist_record(&svc->checks.duration_us, 2);
	/* The miss path is TCP's: none of this may show for a UDP service. */
	svc->hold.held_now = 5;
	hist_record(&svc->hold.hold_us, 100);

	text = render(svc, 1);
	assert_memory_equal(text, build_info, strlen(build_info));
	assert_text_equal(
	    "# HELP steer_connections_steered_total Connects and datagrams the datapath rewrote "
	    "to a replica.\n"
	    "# TYPE steer_connections_steered_total counter\n"
	    "steer_connections_steered_total{service=\"dns\"} 7\n"
	    "# HELP steer_misses_total Connects and datagrams that found no routable replica.\n"
	    "# TYPE steer_misses_total counter\n"
	    "steer_misses_total{service=\"dns\"} 2\n"
	    "# HELP steer_datapath_errors_total Connects and datagrams refused because a map "
	    "lookup failed (fail closed).\n"
	    "# TYPE steer_datapath_errors_total counter\n"
	    "steer_datapath_errors_total{service=\"dns\"} 1\n"
	    "# HELP steer_replica_connections_steered_total Connects and datagrams the datapath "
	    "sent to this replica.\n"
	    "# TYPE steer_replica_connections_steered_total counter\n"
	    "steer_replica_connections_steered_total{service=\"dns\",replica=\"127.0.0.1:5301\"} "
	    "7\n"
	    "# HELP steer_replica_failed_connects_total Connects to this replica that failed "
	    "(TCP), or ICMP errors that sockets steer connected to it got (UDP services with "
	    "checks).\n"
	    "# TYPE steer_replica_failed_connects_total counter\n"
	    "steer_replica_failed_connects_total{service=\"dns\",replica=\"127.0.0.1:5301\"} 0\n"
	    "# HELP steer_replica_state 1 for the replica's current state (up, down, draining, "
	    "unknown), 0 for the others.\n"
	    "# TYPE steer_replica_state gauge\n"
	    "steer_replica_state{service=\"dns\",replica=\"127.0.0.1:5301\",state=\"up\"} 0\n"
	    "steer_replica_state{service=\"dns\",replica=\"127.0.0.1:5301\",state=\"down\"} 0\n"
	    "steer_replica_state{service=\"dns\",replica=\"127.0.0.1:5301\",state=\"draining\"} 1\n"
	    "steer_replica_state{service=\"dns\",replica=\"127.0.0.1:5301\",state=\"unknown\"} 0\n"
	    "# HELP steer_pass_local_total Connects steered to a replica on this node (the first "
	    "pass "
	    "of a pick).\n"
	    "# TYPE steer_pass_local_total counter\n"
	    "steer_pass_local_total{service=\"dns\"} 0\n"
	    "# HELP steer_pass_zone_total Connects steered to a replica in STEER_ZONE (the second "
	    "pass "
	    "of a pick).\n"
	    "# TYPE steer_pass_zone_total counter\n"
	    "steer_pass_zone_total{service=\"dns\"} 0\n"
	    "# HELP steer_pass_any_total Connects steered to any other replica (the last pass of a "
	    "pick).\n"
	    "# TYPE steer_pass_any_total counter\n"
	    "steer_pass_any_total{service=\"dns\"} 0\n"
	    "# HELP steer_health_checks_total Active health checks completed.\n"
	    "# TYPE steer_health_checks_total counter\n"
	    "steer_health_checks_total{service=\"dns\"} 10\n"
	    "# HELP steer_health_check_failures_total Active health checks that failed.\n"
	    "# TYPE steer_health_check_failures_total counter\n"
	    "steer_health_check_failures_total{service=\"dns\"} 3\n"
	    "# HELP steer_health_check_duration_seconds Duration of active health checks. _sum is "
	    "approximate: each sample counts at its bucket's upper bound.\n"
	    "# TYPE steer_health_check_duration_seconds histogram\n"
	    "steer_health_check_duration_seconds_bucket{service=\"dns\",le=\"0\"} 1\n"
	    "steer_health_check_duration_seconds_bucket{service=\"dns\",le=\"0.000001\"} 1\n"
	    "steer_health_check_duration_seconds_bucket{service=\"dns\",le=\"0.000002\"} 2\n"
	    "steer_health_check_duration_seconds_bucket{service=\"dns\",le=\"+Inf\"} 2\n"
	    "steer_health_check_duration_seconds_sum{service=\"dns\"} 0.000002\n"
	    "steer_health_check_duration_seconds_count{service=\"dns\"} 2\n"
	    "# HELP steer_ejections_total Replicas taken out of selection, by reason "
	    "(listener_closed, connect_failed, check_failed).\n"
	    "# TYPE steer_ejections_total counter\n"
	    "steer_ejections_total{service=\"dns\",reason=\"listener_closed\"} 0\n"
	    "steer_ejections_total{service=\"dns\",reason=\"connect_failed\"} 0\n"
	    "steer_ejections_total{service=\"dns\",reason=\"check_failed\"} 1\n",
	    text + strlen(build_info));
	free(text);
	free_services(svc, 1);
}

/* The families of the miss path and of failed connects exist for TCP only. */
static void test_metrics_tcp_only_families_follow_the_protocol(void **state)
{
	static const char *const tcp_only[] = {
	    "steer_replica_failed_connects_total{",
	    "steer_held_connections{",
	    "steer_hold_served_total{",
	    "steer_hold_timeouts_total{",
	    "steer_hold_refused_full_total{",
	    "steer_retry_attempts_total{",
	    "steer_hold_duration_seconds_bucket{",
	    "steer_first_attempt_seconds_count{",
	    "steer_relays_open{",
	    "steer_relays_total{",
	    "steer_relay_slot_waits_total{",
	    "steer_relays_refused_total{",
	    "steer_relays_idle_closed_total{",
	    "steer_relay_failures_total{",
	};
	struct metrics_service *svc = calloc(2, sizeof(*svc));
	char *text;

	(void)state;
	assert_non_null(svc);
	strcpy(svc[0].name, "web");
	svc[0].proto = IPPROTO_TCP;
	svc[0].nreplicas = 1;
	svc[0].replicas = test_replicas(1);
	strcpy(svc[0].replicas[0].addr, "[::1]:80");
	svc[0].replicas[0].failed_connects = 4;
	svc[0].hold = (struct steer_hold_stats){
	    .held_now = 2, .served = 3, .timeouts = 1, .refused_full = 6, .attempts_total = 9};
	svc[0].relay = (struct steer_relay_stats){.open = 11,
						  .started = 12,
						  .slot_waits = 13,
						  .refused_full = 14,
						  .idle_closed = 15,
						  .failed = 16};
	strcpy(svc[1].name, "dns");
	svc[1].proto = IPPROTO_UDP;

	text = render(svc, 2);
	for (size_t i = 0; i < sizeof(tcp_only) / sizeof(tcp_only[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want), "%sservice=\"web\"", tcp_only[i]);
		if (!strstr(text, want))
			fail_msg("no %s... for the TCP service in:\n%s", want, text);
		snprintf(want, sizeof(want), "%sservice=\"dns\"", tcp_only[i]);
		if (strstr(text, want))
			fail_msg("%s... for the UDP service", want);
	}
	assert_non_null(strstr(
	    text, "steer_replica_failed_connects_total{service=\"web\",replica=\"[::1]:80\"} 4\n"));
	assert_non_null(strstr(text, "steer_held_connections{service=\"web\"} 2\n"));
	assert_non_null(strstr(text, "steer_hold_served_total{service=\"web\"} 3\n"));
	assert_non_null(strstr(text, "steer_hold_timeouts_total{service=\"web\"} 1\n"));
	assert_non_null(strstr(text, "steer_hold_refused_full_total{service=\"web\"} 6\n"));
	assert_non_null(strstr(text, "steer_retry_attempts_total{service=\"web\"} 9\n"));
	assert_non_null(strstr(text, "# TYPE steer_relays_open gauge\n"
				     "steer_relays_open{service=\"web\"} 11\n"));
	assert_non_null(strstr(text, "# TYPE steer_relays_total counter\n"
				     "steer_relays_total{service=\"web\"} 12\n"));
	assert_non_null(strstr(text, "steer_relay_slot_waits_total{service=\"web\"} 13\n"));
	assert_non_null(strstr(text, "steer_relays_refused_total{service=\"web\"} 14\n"));
	assert_non_null(strstr(text, "steer_relays_idle_closed_total{service=\"web\"} 15\n"));
	assert_non_null(strstr(text, "steer_relay_failures_total{service=\"web\"} 16\n"));
	/* an empty histogram: +Inf, _sum and _count only */
	assert_non_null(strstr(text,
			       "steer_hold_duration_seconds_bucket{service=\"web\",le=\"+Inf\"} "
			       "0\nsteer_hold_duration_seconds_sum{service=\"web\"} 0\n"
			       "steer_hold_duration_seconds_count{service=\"web\"} 0\n"));
	assert_null(strstr(text, "steer_hold_duration_seconds_bucket{service=\"web\",le=\"0\"}"));
	/* HELP and TYPE once per family, whatever the number of services */
	assert_non_null(strstr(text, "# TYPE steer_misses_total counter\n"
				     "steer_misses_total{service=\"web\"} 0\n"
				     "steer_misses_total{service=\"dns\"} 0\n"));
	free(text);
	free_services(svc, 2);
}

static const struct {
	const char *raw, *escaped;
} escapes[] = {
    {"plain", "\"plain\""}, {"a\"b", "\"a\\\"b\""},	   {"a\\b", "\"a\\\\b\""},
    {"a\nb", "\"a\\nb\""},  {"\\\"\n", "\"\\\\\\\"\\n\""}, {"tab\tstays", "\"tab\tstays\""},
    {"", "\"\""},
};

static void test_metrics_label_values_are_escaped(void **state)
{
	struct metrics_service *svc = calloc(1, sizeof(*svc));

	(void)state;
	assert_non_null(svc);
	svc->proto = IPPROTO_UDP;
	svc->nreplicas = 1;
	svc->replicas = test_replicas(1);
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		char want[256], *text;

		snprintf(svc->name, sizeof(svc->name), "%s", escapes[i].raw);
		snprintf(svc->replicas[0].addr, sizeof(svc->replicas[0].addr), "%s",
			 escapes[i].raw);
		text = render(svc, 1);
		snprintf(want, sizeof(want), "\nsteer_misses_total{service=%s} 0\n",
			 escapes[i].escaped);
		if (!strstr(text, want))
			fail_msg("service name '%s': no line %s", escapes[i].raw, want + 1);
		snprintf(want, sizeof(want),
			 "\nsteer_replica_connections_steered_total{service=%s,replica=%s} 0\n",
			 escapes[i].escaped, escapes[i].escaped);
		if (!strstr(text, want))
			fail_msg("replica '%s': no line %s", escapes[i].raw, want + 1);
		free(text);
	}
	free_services(svc, 1);
}

/* Parse the histogram family `name` of service "h" out of text: every
 * bucket's le (+Inf as -1) and count, the sum and the count. */
struct parsed_hist {
	int nbuckets;
	double le[STEER_HIST_BUCKETS + 1];
	unsigned long long cum[STEER_HIST_BUCKETS + 1];
	double sum;
	unsigned long long count;
	int have_sum, have_count;
};

static void parse_hist(const char *text, const char *name, struct parsed_hist *p)
{
	char bucket[128], sum[128], count[128];
	const char *line;

	memset(p, 0, sizeof(*p));
	snprintf(bucket, sizeof(bucket), "%s_bucket{service=\"h\",le=\"", name);
	snprintf(sum, sizeof(sum), "%s_sum{service=\"h\"} ", name);
	snprintf(count, sizeof(count), "%s_count{service=\"h\"} ", name);
	for (line = text; *line; line = strchr(line, '\n') + 1) {
		if (!strncmp(line, bucket, strlen(bucket))) {
			const char *v = line + strlen(bucket);

			assert_true(p->nbuckets <= STEER_HIST_BUCKETS);
			p->le[p->nbuckets] = !strncmp(v, "+Inf\"", 5) ? -1 : strtod(v, NULL);
			p->cum[p->nbuckets] = strtoull(strstr(v, "} ") + 2, NULL, 10);
			p->nbuckets++;
		} else if (!strncmp(line, sum, strlen(sum))) {
			p->sum = strtod(line + strlen(sum), NULL);
			p->have_sum = 1;
		} else if (!strncmp(line, count, strlen(count))) {
			p->count = strtoull(line + strlen(count), NULL, 10);
			p->have_count = 1;
		}
	}
}

/* Cumulative counts that never fall, le strictly rising and ending in +Inf,
 * and +Inf == _count == the samples recorded. */
static void assert_hist_consistent(const struct parsed_hist *p, unsigned long long samples)
{
	assert_true(p->nbuckets >= 1);
	assert_true(p->have_sum && p->have_count);
	for (int i = 1; i < p->nbuckets - 1; i++) {
		if (!(p->le[i] > p->le[i - 1]))
			fail_msg("le %g follows le %g", p->le[i], p->le[i - 1]);
		if (p->cum[i] < p->cum[i - 1])
			fail_msg("bucket le=%g has %llu, below the %llu of le=%g", p->le[i],
				 p->cum[i], p->cum[i - 1], p->le[i - 1]);
	}
	assert_true(p->le[p->nbuckets - 1] == -1);
	if (p->nbuckets > 1)
		assert_true(p->cum[p->nbuckets - 1] >= p->cum[p->nbuckets - 2]);
	assert_int_equal(p->cum[p->nbuckets - 1], samples);
	assert_int_equal(p->count, samples);
}

static void test_metrics_histogram_is_cumulative_and_counts_agree(void **state)
{
	static const uint64_t samples_us[] = {0, 1, 2, 3, 3, 900, 1000, 250000, 250001, 4000000};
	struct metrics_service *svc = calloc(1, sizeof(*svc));
	struct parsed_hist p;
	uint64_t max_us = 0;
	char *text;

	(void)state;
	assert_non_null(svc);
	strcpy(svc->name, "h");
	svc->proto = IPPROTO_TCP;
	for (size_t i = 0; i < sizeof(samples_us) / sizeof(samples_us[0]); i++) {
		hist_record(&svc->hold.hold_us, samples_us[i]);
		max_us = samples_us[i] > max_us ? samples_us[i] : max_us;
	}
	text = render(svc, 1);
	parse_hist(text, "steer_hold_duration_seconds", &p);
	assert_hist_consistent(&p, 10);
	/* The last finite le is the bound of the largest sample's bucket. */
	assert_true(p.le[p.nbuckets - 2] * 1e6 >=
		    (double)hist_bucket_upper_us(steer_hist_bucket(max_us)) - 0.5);
	assert_true(p.le[p.nbuckets - 2] * 1e6 <=
		    (double)hist_bucket_upper_us(steer_hist_bucket(max_us)) + 0.5);
	/* le=0 holds the 0 us sample; le=0.000003 holds 0, 1, 2, 3, 3. */
	assert_non_null(
	    strstr(text, "steer_hold_duration_seconds_bucket{service=\"h\",le=\"0\"} 1\n"));
	assert_non_null(
	    strstr(text, "steer_hold_duration_seconds_bucket{service=\"h\",le=\"0.000003\"} 5\n"));
	/* _sum is approximate from above: never below the true sum, < 1.5x it. */
	assert_true(p.sum >= 4501910e-6 - 1e-9);
	assert_true(p.sum < 1.5 * 4501910e-6);
	/* The other histogram of the service is empty and still consistent. */
	parse_hist(text, "steer_first_attempt_seconds", &p);
	assert_hist_consistent(&p, 0);
	assert_int_equal(p.nbuckets, 1);
	free(text);
	free_services(svc, 1);
}

/* Bucket 2 never receives a value but shares bucket 1's bound; the last
 * bucket has none. A map may hold anything: neither may produce a duplicate
 * le or a finite bound of UINT64_MAX. */
static void test_metrics_histogram_odd_buckets(void **state)
{
	struct metrics_service *svc = calloc(1, sizeof(*svc));
	struct parsed_hist p;
	char *text;

	(void)state;
	assert_non_null(svc);
	strcpy(svc->name, "h");
	svc->proto = IPPROTO_UDP;
	svc->checks.duration_us.count[1] = 1;
	svc->checks.duration_us.count[2] = 2;
	svc->checks.duration_us.count[STEER_HIST_BUCKETS - 1] = 4;
	text = render(svc, 1);
	parse_hist(text, "steer_health_check_duration_seconds", &p);
	assert_hist_consistent(&p, 7);
	assert_non_null(strstr(
	    text, "steer_health_check_duration_seconds_bucket{service=\"h\",le=\"0.000001\"} 3\n"));
	/* every finite bucket up to the last one below the open-ended bucket */
	assert_true(p.le[p.nbuckets - 2] * 1e6 >
		    (double)hist_bucket_upper_us(STEER_HIST_BUCKETS - 2) - 1);
	assert_int_equal(p.cum[p.nbuckets - 2], 3);
	assert_int_equal(p.cum[p.nbuckets - 1], 7);
	free(text);
	free_services(svc, 1);
}

/* The most the maps can hold renders within METRICS_MAX_BYTES. */
static void test_metrics_largest_map_contents_fit(void **state)
{
	/* Per-service histograms grow the page with the services: this is
	 * the bound at 256 services of 16 replicas each (the limits before
	 * they became STEER_MAX_SERVICES); past the bound a scrape fails
	 * (next test), it does not grow on. */
	const int nsvc = 256, per = 16;
	struct metrics_service *svc = calloc((size_t)nsvc, sizeof(*svc));
	struct metrics_snapshot s = {.version = "test", .nservices = nsvc, .services = svc};
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(svc);
	for (int i = 0; i < nsvc; i++) {
		snprintf(svc[i].name, sizeof(svc[i].name), "%063d", i);
		svc[i].proto = IPPROTO_TCP;
		svc[i].nreplicas = per;
		svc[i].replicas = test_replicas(per);
		for (int r = 0; r < per; r++)
			snprintf(svc[i].replicas[r].addr, sizeof(svc[i].replicas[r].addr),
				 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:%04x]:65535", r);
		for (int b = 0; b < STEER_HIST_BUCKETS; b++) {
			svc[i].hold.hold_us.count[b] = UINT64_MAX / 1024;
			svc[i].hold.first_attempt_us.count[b] = UINT64_MAX / 1024;
			svc[i].checks.duration_us.count[b] = UINT64_MAX / 1024;
		}
	}
	assert_int_equal(metrics_render(&s, &text, &len), 0);
	print_message("    largest page: %zu bytes (limit %u)\n", len, METRICS_MAX_BYTES);
	assert_true(len < METRICS_MAX_BYTES);
	free(text);
	free_services(svc, nsvc);
}

/* Past METRICS_MAX_BYTES the render fails cleanly: -EFBIG, nothing out. */
static void test_metrics_render_fails_past_the_bound(void **state)
{
	const int nsvc = 4 * 256, per = 64;
	struct metrics_service *svc = calloc((size_t)nsvc, sizeof(*svc));
	struct metrics_snapshot s = {.version = "test", .nservices = nsvc, .services = svc};
	char *text = (char *)"unchanged";
	size_t len = 1;

	(void)state;
	assert_non_null(svc);
	for (int i = 0; i < nsvc; i++) {
		snprintf(svc[i].name, sizeof(svc[i].name), "%063d", i);
		svc[i].proto = IPPROTO_TCP;
		svc[i].nreplicas = per;
		svc[i].replicas = test_replicas(per);
		for (int r = 0; r < per; r++)
			snprintf(svc[i].replicas[r].addr, sizeof(svc[i].replicas[r].addr),
				 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:%04x]:65535", r);
	}
	assert_int_equal(metrics_render(&s, &text, &len), -EFBIG);
	assert_null(text);
	assert_int_equal(len, 0);
	free_services(svc, nsvc);
}

/* The registry's families: one state series per state, 1 for the current. */
static void test_metrics_registry_state_and_revisions(void **state)
{
	struct metrics_snapshot s = {.version = "test"};
	char *text = NULL;
	size_t len = 0;

	(void)state;
	s.registry = (struct steer_registry_status){.conn = STEER_REGISTRY_CONNECTED,
						    .since_ns = 1764669600ull * 1000000000ull,
						    .revision = 42,
						    .applied_revision = 41,
						    .services = 3,
						    .replicas = 7,
						    .skipped = 1};
	assert_int_equal(metrics_render(&s, &text, &len), 0);
	assert_non_null(strstr(text, "steer_registry_state{state=\"connecting\"} 0\n"
				     "steer_registry_state{state=\"connected\"} 1\n"
				     "steer_registry_state{state=\"stale\"} 0\n"));
	assert_non_null(strstr(text, "steer_registry_state_since_seconds 1764669600\n"));
	assert_non_null(strstr(text, "steer_registry_revision 42\n"));
	assert_non_null(strstr(text, "steer_registry_applied_revision 41\n"));
	assert_non_null(strstr(text, "steer_registry_keys{kind=\"services\"} 3\n"
				     "steer_registry_keys{kind=\"replicas\"} 7\n"
				     "steer_registry_keys{kind=\"skipped\"} 1\n"));
	free(text);
	/* no registry: no family */
	text = render(NULL, 0);
	assert_null(strstr(text, "steer_registry"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_empty_snapshot_has_build_info_and_socket_counts_only),
	    cmocka_unit_test(test_metrics_small_udp_service_renders_exactly),
	    cmocka_unit_test(test_metrics_tcp_only_families_follow_the_protocol),
	    cmocka_unit_test(test_metrics_label_values_are_escaped),
	    cmocka_unit_test(test_metrics_histogram_is_cumulative_and_counts_agree),
	    cmocka_unit_test(test_metrics_histogram_odd_buckets),
	    cmocka_unit_test(test_metrics_largest_map_contents_fit),
	    cmocka_unit_test(test_metrics_render_fails_past_the_bound),
	    cmocka_unit_test(test_metrics_registry_state_and_revisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
