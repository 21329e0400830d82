/*
 * Unit tests for agent/health/checker.c over an in-memory map layer, with
 * real TCP probes against loopback listeners the tests open and close, on a
 * real libev loop. Each test runs the loop until the state it waits for is in
 * the maps, with a generous deadline: a test fails on the deadline only when
 * the checker never gets there.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <ev.h>

#include "loopback.h"
#include "one_service.h"
#include "config/config.h"
#include "health/checker.h"
#include "maps/keys.h"

#define SVC_ID	   3
#define REPLICA_ID 7
#define DEADLINE_S 5.0

struct world {
	struct one_service o;
	struct checker *checker;
	int routable_calls;
	int unroutable_calls; /* sweeps asked for */
};

/* The clock the datapath stamps events with (bpf_ktime_get_ns). */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_change(void *arg, const char *service, bool routable)
{
	struct world *w = arg;

	assert_true(!strcmp(service, "web") || !strcmp(service, "dns"));
	if (routable)
		w->routable_calls++;
	else
		w->unroutable_calls++;
}

/* One TCP service "web" with one replica on a fresh loopback listener, in
 * state in the maps; health tcp with the given timing. */
static struct world *world_new(uint8_t state, uint32_t interval_ms, uint32_t rise, uint32_t fall)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	one_service_init(&w->o, "198.18.0.10:80", SVC_ID, REPLICA_ID, state);
	w->o.sc->health = (struct health_config){
	    .kind = HEALTH_KIND_TCP,
	    .interval_ms = interval_ms,
	    .timeout_ms = 200 < interval_ms ? 200 : interval_ms,
	    .rise = rise,
	    .fall = fall,
	};
	w->checker = checker_new(w->o.loop, &w->o.ops);
	assert_non_null(w->checker);
	checker_on_change(w->checker, on_change, w);
	return w;
}

static void world_free(struct world *w)
{
	checker_free(w->checker);
	one_service_fini(&w->o);
	free(w);
}

static void close_listener(struct world *w)
{
	close(w->o.replica_fd);
	w->o.replica_fd = -1;
}

static uint8_t replica_state(const struct world *w)
{
	return w->o.mem->replicas[REPLICA_ID].state;
}

/* Run the loop until the replica's state in the maps is want; returns the
 * seconds it took. Fails the test past DEADLINE_S. */
static double run_until_state(struct world *w, uint8_t want)
{
	double start = test_now_s();

	while (replica_state(w) != want && test_now_s() - start < DEADLINE_S)
		ev_run(w->o.loop, EVRUN_ONCE);
	if (replica_state(w) != want)
		fail_msg("replica state: expected %u, got %u after %.1f s", want, replica_state(w),
			 DEADLINE_S);
	return test_now_s() - start;
}

static struct steer_event event_for(const struct endpoint *ep, uint8_t reason)
{
	struct steer_backend_key key;
	struct steer_event ev = {.ts_ns = mono_ns(), .reason = reason};

	backend_key_encode(ep, IPPROTO_TCP, &key);
	memcpy(ev.addr, key.addr, sizeof(ev.addr));
	ev.port = key.port;
	ev.family = key.family;
	return ev;
}

static void test_checker_new_replica_turns_up_after_rise_passing_checks(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UNKNOWN, 20, 3, 2);

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	run_until_state(w, STEER_REPLICA_UP);
	/* The write that made it UP came with the third check, not before. */
	assert_int_equal(w->o.mem->check_stats[SVC_ID].checks, 3);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].check_failures, 0);
	assert_int_equal(w->o.mem->status[REPLICA_ID].last_result, STEER_CHECK_OK);
	assert_int_equal(w->routable_calls, 1);
	world_free(w);
}

static void test_checker_service_gone_from_the_config_loses_its_check_stats(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UNKNOWN, 20, 2, 2);
	int nservices = w->o.cfg->nservices;

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	run_until_state(w, STEER_REPLICA_UP);
	assert_true(w->o.mem->check_stats[SVC_ID].checks >= 2);
	w->o.cfg->nservices = 0;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	/* Deleted (all zero in the fake), and not written back by a flush. */
	ev_run(w->o.loop, EVRUN_NOWAIT);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].checks, 0);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].ejections[STEER_EJECT_CHECK_FAILED], 0);
	w->o.cfg->nservices = nservices;
	world_free(w);
}

static void test_checker_fall_refused_checks_take_a_replica_down(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 3);

	(void)state;
	close_listener(w);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	run_until_state(w, STEER_REPLICA_DOWN);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].checks, 3);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].check_failures, 3);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].ejections[STEER_EJECT_CHECK_FAILED], 1);
	assert_int_equal(w->o.mem->status[REPLICA_ID].last_result, STEER_CHECK_REFUSED);
	assert_int_equal(w->o.mem->status[REPLICA_ID].eject_reason, STEER_EJECT_CHECK_FAILED);
	assert_int_equal(w->o.mem->status[REPLICA_ID].consecutive_failures, 3);
	/* Its connected sockets are swept. */
	assert_int_equal(w->unroutable_calls, 1);
	world_free(w);
}

static void test_checker_one_failed_check_below_fall_keeps_a_replica_up(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 2);
	double start;

	(void)state;
	close_listener(w);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	start = test_now_s();
	while (w->o.mem->check_stats[SVC_ID].checks < 1 && test_now_s() - start < DEADLINE_S)
		ev_run(w->o.loop, EVRUN_ONCE);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].checks, 1);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].check_failures, 1);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP);
	world_free(w);
}

/* The datapath ejected the replica: it is DOWN at once, and when its checks
 * pass again the ejection is cleared before the replica is written UP, so
 * the datapath never sees it routable while its entry still says ejected. */
static void test_checker_ejection_downs_at_once_and_checks_clear_it_before_up(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 3);
	struct steer_event ev = event_for(&w->o.replica, STEER_EJECT_CONNECT_FAILED);
	struct steer_backend *b = mem_maps_backend(w->o.mem, &w->o.replica);
	int from, cleared, up;

	(void)state;
	assert_non_null(b);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	b->ejected_ns = ev.ts_ns; /* what the datapath wrote */
	b->reason = STEER_EJECT_CONNECT_FAILED;
	from = w->o.mem->nlog;
	checker_on_event(w->checker, &ev);
	assert_int_equal(replica_state(w), STEER_REPLICA_DOWN);
	assert_int_equal(w->o.mem->status[REPLICA_ID].eject_reason, STEER_EJECT_CONNECT_FAILED);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].ejections[STEER_EJECT_CONNECT_FAILED], 1);

	run_until_state(w, STEER_REPLICA_UP);
	assert_int_equal(b->ejected_ns, 0);
	assert_int_equal(b->consecutive_failures, 0);
	cleared = mem_maps_find_write(w->o.mem, from, MEM_BACKEND_PUT, 0);
	up = mem_maps_find_write(w->o.mem, from, MEM_REPLICA_PUT, STEER_REPLICA_UP);
	assert_true(cleared >= 0);
	assert_true(up > cleared);
	world_free(w);
}

/* A wildcard listener closing (address all zero) takes down the replicas on
 * this host at that port, and only those. */
static void test_checker_wildcard_listener_closed_ejects_only_local_replicas(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 1000, 2, 3);
	struct steer_event ev = event_for(&w->o.replica, STEER_EJECT_LISTENER_CLOSED);

	(void)state;
	memset(ev.addr, 0, sizeof(ev.addr));
	mem_maps_backend(w->o.mem, &w->o.replica)->local = 0;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	checker_on_event(w->checker, &ev);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP);
	world_free(w);

	w = world_new(STEER_REPLICA_UP, 1000, 2, 3);
	ev = event_for(&w->o.replica, STEER_EJECT_LISTENER_CLOSED);
	memset(ev.addr, 0, sizeof(ev.addr));
	mem_maps_backend(w->o.mem, &w->o.replica)->local = 1;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	checker_on_event(w->checker, &ev);
	assert_int_equal(replica_state(w), STEER_REPLICA_DOWN);
	world_free(w);
}

/* An event left in the ring buffer from before this agent started is stale:
 * the maps were read at adoption instead. */
static void test_checker_ignores_events_older_than_the_agent(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 1000, 2, 3);
	struct steer_event ev = event_for(&w->o.replica, STEER_EJECT_CONNECT_FAILED);

	(void)state;
	ev.ts_ns -= 60ull * 1000000000ull;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	checker_on_event(w->checker, &ev);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP);
	world_free(w);
}

/* A down replica whose listener opens again is checked at once, not at its
 * next interval (10 s here): held connections are served as soon as it
 * answers. */
static void test_checker_listener_up_checks_a_down_replica_at_once(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 1, 3);
	uint16_t port = w->o.replica.port;
	struct steer_event ev = event_for(&w->o.replica, STEER_EJECT_LISTENER_CLOSED);
	double took;

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	close_listener(w);
	checker_on_event(w->checker, &ev);
	assert_int_equal(replica_state(w), STEER_REPLICA_DOWN);

	w->o.replica_fd = test_listen_loopback(port, &w->o.replica);
	ev = event_for(&w->o.replica, STEER_EVENT_LISTENER_UP);
	checker_on_event(w->checker, &ev);
	took = run_until_state(w, STEER_REPLICA_UP);
	assert_true(took < 2.0);
	world_free(w);
}

/* An operator drain keeps the replica out of new connections whatever its
 * checks say, and undrain brings it back. */
static void test_checker_drain_and_undrain(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 1000, 2, 3);
	char err[128];

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	assert_int_equal(
	    checker_set_draining(w->checker, "web", &w->o.replica, true, err, sizeof(err)), 0);
	assert_int_equal(replica_state(w), STEER_REPLICA_DRAINING);
	/* Draining keeps established flows: nothing to sweep. */
	assert_int_equal(w->unroutable_calls, 0);
	assert_int_equal(
	    checker_set_draining(w->checker, "web", &w->o.replica, false, err, sizeof(err)), 0);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP);
	assert_int_equal(
	    checker_set_draining(w->checker, "api", &w->o.replica, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "service 'api' has no replica 127.0.0.1:"));
	world_free(w);
}

/* The datapath ejected the replica, but its ring-buffer record was lost:
 * the next passing check clears the ejection, and the replica never left
 * UP in the agent's view. */
static void test_checker_passing_check_clears_an_ejection_it_was_not_told_of(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 3);
	struct steer_backend *b = mem_maps_backend(w->o.mem, &w->o.replica);
	double start;
	int from;

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	from = w->o.mem->nlog;
	b->ejected_ns = 1;
	start = test_now_s();
	while (b->ejected_ns && test_now_s() - start < DEADLINE_S)
		ev_run(w->o.loop, EVRUN_ONCE);
	assert_int_equal(b->ejected_ns, 0);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP);
	assert_int_equal(mem_maps_find_write(w->o.mem, from, MEM_REPLICA_PUT, 0xff), -1);
	world_free(w);
}

/* A service without checks never probes an UP replica, so only the audit
 * can find an ejection whose record was lost: it takes the replica down,
 * and the checks a down replica gets bring it back and clear it. */
static void test_checker_audit_finds_an_ejection_it_was_not_told_of(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 3);
	struct steer_backend *b = mem_maps_backend(w->o.mem, &w->o.replica);

	(void)state;
	w->o.sc->health.kind = HEALTH_KIND_NONE;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	b->ejected_ns = 1;
	b->reason = STEER_EJECT_CONNECT_FAILED;
	checker_start_audit(w->checker, 20);
	run_until_state(w, STEER_REPLICA_DOWN);
	assert_int_equal(w->o.mem->status[REPLICA_ID].eject_reason, STEER_EJECT_CONNECT_FAILED);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].ejections[STEER_EJECT_CONNECT_FAILED], 1);
	run_until_state(w, STEER_REPLICA_UP);
	assert_int_equal(b->ejected_ns, 0);
	world_free(w);
}

/* A replica state in the map that is not the agent's (a write that failed,
 * another writer) is rewritten by the audit. */
static void test_checker_audit_rewrites_a_state_the_map_lost(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 2, 3);

	(void)state;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	w->o.mem->replicas[REPLICA_ID].state = STEER_REPLICA_DOWN;
	checker_start_audit(w->checker, 20);
	run_until_state(w, STEER_REPLICA_UP);
	world_free(w);
}

static int count_writes(const struct mem_maps *m, int from, enum mem_write_kind kind)
{
	int n = 0;

	for (int i = from; i < m->nlog; i++)
		n += m->log[i].kind == kind;
	return n;
}

/* Passing checks that change nothing but the time and latency of the last
 * check do not each write the replica's status and their service's
 * counters: within 5 s, one status write (the first result) and one
 * counters write; a failed check's status is written at once. Everything
 * is in the maps once the checker is freed. */
static void test_checker_passing_checks_write_the_maps_at_a_bounded_rate(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 2, 3);
	int from = w->o.mem->nlog, failed_from;
	double start;

	(void)state;
	/* no timeout on a loaded machine; its accept queue kept empty */
	w->o.sc->health.timeout_ms = 1000;
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	start = test_now_s();
	while (test_now_s() - start < 0.4) {
		int fd;

		ev_run(w->o.loop, EVRUN_ONCE);
		while ((fd = accept4(w->o.replica_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
			close(fd);
	}
	assert_int_equal(count_writes(w->o.mem, from, MEM_STATUS_PUT), 1);
	assert_int_equal(count_writes(w->o.mem, from, MEM_CHECK_STATS_PUT), 1);
	assert_int_equal(w->o.mem->status[REPLICA_ID].last_result, STEER_CHECK_OK);

	close_listener(w);
	failed_from = w->o.mem->nlog;
	start = test_now_s();
	while (w->o.mem->status[REPLICA_ID].last_result == STEER_CHECK_OK &&
	       test_now_s() - start < DEADLINE_S)
		ev_run(w->o.loop, EVRUN_ONCE);
	assert_int_equal(w->o.mem->status[REPLICA_ID].last_result, STEER_CHECK_REFUSED);
	assert_int_equal(w->o.mem->status[REPLICA_ID].consecutive_failures, 1);
	assert_int_equal(count_writes(w->o.mem, failed_from, MEM_STATUS_PUT), 1);

	checker_free(w->checker);
	w->checker = NULL;
	/* 0.4 s of checks every 20 ms, counted */
	assert_true(w->o.mem->check_stats[SVC_ID].checks >= 10);
	assert_int_equal(w->o.mem->check_stats[SVC_ID].check_failures, 1);
	world_free(w);
}

/* How many of the listeners have a connection waiting to be accepted. */
static int listeners_connected(const int *fds, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};

		k += poll(&p, 1, 0) == 1;
	}
	return k;
}

/* Replicas added together (an agent's start, a registry listing) are all
 * due at once: one loop iteration starts 32 checks, the others start in the
 * next iterations, after the loop has polled, and none times out unread. */
static void test_checker_a_burst_of_new_replicas_starts_32_checks_per_iteration(void **state)
{
	enum { N = 40 };
	struct one_service o;
	struct endpoint eps[N];
	int fds[N], k = 0;
	struct checker *c;
	char err[128];
	double start;

	(void)state;
	/* The fixture's service, then ours, with N replicas, in its place in
	 * the config. */
	one_service_init(&o, "198.18.0.10:80", SVC_ID - 1, REPLICA_ID, STEER_REPLICA_UNKNOWN);
	assert_int_equal(endpoint_parse("198.18.0.11:80", &o.sc->vip, err, sizeof(err)), 0);
	for (int i = 0; i < N; i++)
		fds[i] = test_listen_loopback(0, &eps[i]);
	mem_maps_add_service(o.mem, SVC_ID, &o.sc->vip, IPPROTO_TCP, eps, N, REPLICA_ID + 1,
			     STEER_REPLICA_UNKNOWN);
	o.sc->nreplicas = N;
	memcpy(o.sc->replicas, eps, sizeof(eps));
	o.sc->health = (struct health_config){
	    .kind = HEALTH_KIND_TCP, .interval_ms = 1000, .timeout_ms = 200, .rise = 1, .fall = 1};
	c = checker_new(o.loop, &o.ops);
	assert_non_null(c);
	assert_int_equal(checker_sync(c, o.cfg), 0);
	/* A loopback connect completes inside connect(): each started check
	 * leaves a connection in its listener's queue at once. */
	start = test_now_s();
	while ((k = listeners_connected(fds, N)) == 0 && test_now_s() - start < DEADLINE_S)
		ev_run(o.loop, EVRUN_ONCE);
	assert_int_equal(k, 32);
	ev_run(o.loop, EVRUN_ONCE);
	assert_int_equal(listeners_connected(fds, N), N);
	while (o.mem->check_stats[SVC_ID].checks < N && test_now_s() - start < DEADLINE_S)
		ev_run(o.loop, EVRUN_ONCE);
	assert_int_equal(o.mem->check_stats[SVC_ID].checks, N);
	assert_int_equal(o.mem->check_stats[SVC_ID].check_failures, 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(o.mem->replicas[REPLICA_ID + 1 + i].state, STEER_REPLICA_UP);
	checker_free(c);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	one_service_fini(&o);
}

#define UDP_SVC_ID	4
#define UDP_REPLICA_ID	9
#define UDP2_SVC_ID	5
#define UDP2_REPLICA_ID 11

/* Beside "web", UDP service svc_id (VIP vip_text) on the same replica
 * endpoint, up, with health kind; checks every 10 s, so none completes
 * while a test runs. */
static void add_udp_service(struct world *w, const char *name, const char *vip_text,
			    uint32_t svc_id, uint32_t replica_id, enum health_kind kind)
{
	struct svc_config *sc = config_add_service(w->o.cfg);
	char err[128];

	assert_non_null(sc);
	w->o.sc = &w->o.cfg->services[0]; /* the array may have moved */
	assert_int_equal(svc_reserve(sc, 1), 0);
	snprintf(sc->name, sizeof(sc->name), "%s", name);
	assert_int_equal(endpoint_parse(vip_text, &sc->vip, err, sizeof(err)), 0);
	sc->proto = IPPROTO_UDP;
	sc->nreplicas = 1;
	sc->replicas[0] = w->o.replica;
	sc->health = (struct health_config){
	    .kind = kind, .interval_ms = 10000, .timeout_ms = 200, .rise = 1, .fall = 3};
	sc->health.payload_len = 1;
	mem_maps_add_service(w->o.mem, svc_id, &sc->vip, IPPROTO_UDP, &w->o.replica, 1, replica_id,
			     STEER_REPLICA_UP);
}

static int udp_backend(struct world *w, struct steer_backend *b)
{
	struct steer_backend_key key;

	backend_key_encode(&w->o.replica, IPPROTO_UDP, &key);
	return w->o.ops.backend_get(w->o.ops.ctx, &key, b);
}

static void udp_backend_set_ejected(struct world *w)
{
	struct steer_backend_key key;
	struct steer_backend b;

	backend_key_encode(&w->o.replica, IPPROTO_UDP, &key);
	assert_int_equal(w->o.ops.backend_get(w->o.ops.ctx, &key, &b), 0);
	b.ejected_ns = mono_ns();
	b.reason = STEER_EJECT_CONNECT_FAILED;
	assert_int_equal(w->o.ops.backend_put(w->o.ops.ctx, &key, &b), 0);
}

/* A UDP replica whose service has checks gets a backend entry (the
 * datapath counts its ICMP errors there); one without checks gets none,
 * and is never taken down by an ejection, which nothing would undo. A
 * failed-connect event covers only the protocol whose entry says ejected:
 * the TCP replica at the same address and port is not the UDP one. */
static void test_checker_udp_ejection_takes_down_only_the_udp_replica_with_checks(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 2, 3);
	struct steer_event ev = event_for(&w->o.replica, STEER_EJECT_CONNECT_FAILED);
	struct steer_backend b;

	(void)state;
	w->o.sc->health.kind = HEALTH_KIND_NONE; /* web: no checks of its own */
	add_udp_service(w, "dns", "198.18.0.10:53", UDP_SVC_ID, UDP_REPLICA_ID, HEALTH_KIND_UDP);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	assert_int_equal(udp_backend(w, &b), 0);
	assert_int_equal(b.ejected_ns, 0);

	udp_backend_set_ejected(w); /* the datapath saw ICMP errors */
	checker_on_event(w->checker, &ev);
	assert_int_equal(w->o.mem->replicas[UDP_REPLICA_ID].state, STEER_REPLICA_DOWN);
	assert_int_equal(replica_state(w), STEER_REPLICA_UP); /* TCP: its entry is not ejected */
	assert_int_equal(w->o.mem->check_stats[UDP_SVC_ID].ejections[STEER_EJECT_CONNECT_FAILED],
			 1);
	assert_true(w->unroutable_calls >= 1); /* the sweep of its connected sockets */
	world_free(w);

	/* The same, the service without checks: no entry, and an ejection
	 * that another way made is not taken. */
	w = world_new(STEER_REPLICA_UP, 10000, 2, 3);
	ev = event_for(&w->o.replica, STEER_EJECT_CONNECT_FAILED);
	add_udp_service(w, "dns", "198.18.0.10:5353", UDP_SVC_ID, UDP_REPLICA_ID, HEALTH_KIND_NONE);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	assert_int_not_equal(udp_backend(w, &b), 0);
	checker_on_event(w->checker, &ev);
	assert_int_equal(w->o.mem->replicas[UDP_REPLICA_ID].state, STEER_REPLICA_UP);
	world_free(w);
}

/* A passing check of a UDP replica starts its ICMP error count again: the
 * errors before it were not in a row. */
static void test_checker_udp_passing_check_resets_the_error_count(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 2, 3);
	struct steer_backend_key key;
	struct steer_backend b;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	struct endpoint ep;
	double start;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct svc_config *sc;
	char err[64];

	(void)state;
	/* A UDP replica that answers every datagram: this test's own socket,
	 * echoed from the loop. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(err, sizeof(err), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(endpoint_parse(err, &ep, err, sizeof(err)), 0);
	add_udp_service(w, "dns", "198.18.0.10:53", UDP_SVC_ID, UDP_REPLICA_ID, HEALTH_KIND_UDP);
	sc = &w->o.cfg->services[1];
	sc->replicas[0] = ep;
	sc->health.interval_ms = 20;
	w->o.mem->replicas[UDP_REPLICA_ID].addr[0] = ep.addr[0];
	w->o.mem->replicas[UDP_REPLICA_ID].port = htons(ep.port);
	assert_int_equal(checker_sync(w->checker, w->o.cfg), 0);
	backend_key_encode(&ep, IPPROTO_UDP, &key);
	assert_int_equal(w->o.ops.backend_get(w->o.ops.ctx, &key, &b), 0);
	b.consecutive_failures = 2; /* two ICMP errors so far */
	assert_int_equal(w->o.ops.backend_put(w->o.ops.ctx, &key, &b), 0);
	start = test_now_s();
	while (b.consecutive_failures && test_now_s() - start < DEADLINE_S) {
		char buf[64];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		ev_run(w->o.loop, EVRUN_NOWAIT);
		assert_int_equal(w->o.ops.backend_get(w->o.ops.ctx, &key, &b), 0);
	}
	assert_int_equal(b.consecutive_failures, 0);
	assert_int_equal(w->o.mem->replicas[UDP_REPLICA_ID].state, STEER_REPLICA_UP);
	close(fd);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checker_new_replica_turns_up_after_rise_passing_checks),
	    cmocka_unit_test(test_checker_fall_refused_checks_take_a_replica_down),
	    cmocka_unit_test(test_checker_one_failed_check_below_fall_keeps_a_replica_up),
	    cmocka_unit_test(test_checker_ejection_downs_at_once_and_checks_clear_it_before_up),
	    cmocka_unit_test(test_checker_udp_ejection_takes_down_only_the_udp_replica_with_checks),
	    cmocka_unit_test(test_checker_udp_passing_check_resets_the_error_count),
	    cmocka_unit_test(test_checker_wildcard_listener_closed_ejects_only_local_replicas),
	    cmocka_unit_test(test_checker_ignores_events_older_than_the_agent),
	    cmocka_unit_test(test_checker_listener_up_checks_a_down_replica_at_once),
	    cmocka_unit_test(test_checker_drain_and_undrain),
	    cmocka_unit_test(test_checker_passing_check_clears_an_ejection_it_was_not_told_of),
	    cmocka_unit_test(test_checker_service_gone_from_the_config_loses_its_check_stats),
	    cmocka_unit_test(test_checker_audit_finds_an_ejection_it_was_not_told_of),
	    cmocka_unit_test(test_checker_audit_rewrites_a_state_the_map_lost),
	    cmocka_unit_test(test_checker_passing_checks_write_the_maps_at_a_bounded_rate),
	    cmocka_unit_test(test_checker_a_burst_of_new_replicas_starts_32_checks_per_iteration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
