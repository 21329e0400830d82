/*
 * Unit tests for agent/miss/hold.c over an in-memory map layer: real clients
 * connect to the hold listener the module publishes, and a real loopback
 * listener plays the replica. Each test runs the libev loop until what it
 * waits for is true, with a generous deadline. The retry schedule itself is
 * a pure function (backoff_next_wait) with its own tests in test_backoff.c.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <ev.h>

#include "loopback.h"
#include "one_service.h"
#include "config/config.h"
#include "miss/hold.h"

#define SVC_ID	   2
#define REPLICA_ID 5
#define DEADLINE_S 5.0

struct world {
	struct one_service o;
	struct hold *hold;
};

/* Service "web" (TCP) with one replica in state; retry waits initial_ms,
 * doubling, up to 4x initial_ms; held at most timeout_ms and hold_max
 * connections at once; at most relay_max relays, each reset after
 * relay_idle_ms without traffic (0: never). */
static struct world *world_new_relays(uint8_t state, uint32_t initial_ms, uint32_t timeout_ms,
				      uint32_t hold_max, uint32_t relay_max, uint32_t relay_idle_ms)
{
	struct world *w = calloc(1, sizeof(*w));
	struct svc_config *sc;

	assert_non_null(w);
	one_service_init(&w->o, "198.18.0.20:80", SVC_ID, REPLICA_ID, state);
	sc = w->o.sc;
	sc->retry = (struct backoff_params){
	    .initial_ms = initial_ms,
	    .multiplier = 2,
	    .max_ms = 4 * initial_ms,
	    .jitter = 0,
	    .timeout_ms = timeout_ms,
	};
	w->hold = hold_new(w->o.loop, &w->o.ops,
			   &(struct hold_limits){.hold_max = hold_max,
						 .relay_max = relay_max,
						 .relay_idle_ms = relay_idle_ms});
	assert_non_null(w->hold);
	return w;
}

static struct world *world_new(uint8_t state, uint32_t initial_ms, uint32_t timeout_ms,
			       uint32_t hold_max)
{
	return world_new_relays(state, initial_ms, timeout_ms, hold_max, 4096, 0);
}

static void world_free(struct world *w)
{
	hold_free(w->hold);
	one_service_fini(&w->o);
	free(w);
}

static const struct steer_hold_stats *stats(const struct world *w)
{
	return &w->o.mem->hold_stats[SVC_ID];
}

static const struct steer_relay_stats *relays(const struct world *w)
{
	return &w->o.mem->relay_stats[SVC_ID];
}

/* A plain connect to the IPv4 hold listener published in steer_hold_v2,
 * with no record of the datapath's: what any local process can do. */
static int stranger_connect(const struct world *w)
{
	const struct steer_hold *hv = &w->o.mem->hold[steer_hold_index(STEER_FAMILY_V4)];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = hv->port};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_not_equal(hv->port, 0);
	sin.sin_addr.s_addr = hv->addr[0];
	assert_true(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
	return fd;
}

/* A miss of a client of vip, as the connect hook makes it: a connect to
 * the listener, and the socket's record (keyed by its cookie) naming the
 * listener as its peer and vip as what it is shown. */
static int miss_connect_to(const struct world *w, const struct endpoint *vip)
{
	const struct steer_hold *hv = &w->o.mem->hold[steer_hold_index(STEER_FAMILY_V4)];
	struct steer_sock rec = {};
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = stranger_connect(w);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
	rec.peer[0].family = STEER_FAMILY_V4;
	rec.peer[0].addr[0] = hv->addr[0];
	rec.peer[0].port = hv->port;
	rec.peer[0].vip_family = vip->family;
	memcpy(rec.peer[0].vip, vip->addr, sizeof(rec.peer[0].vip));
	rec.peer[0].vip_port = htons(vip->port);
	mem_maps_sock_put(w->o.mem, cookie, &rec);
	return fd;
}

/* A client of the held service. */
static int client_connect(const struct world *w)
{
	return miss_connect_to(w, &w->o.sc->vip);
}

static uint64_t untrusted(const struct world *w)
{
	return w->o.mem->hold[steer_hold_index(STEER_FAMILY_V4)].untrusted;
}

/* cond is evaluated once per loop iteration and never again after it holds
 * (client_was_reset() consumes the error it reports). */
#define RUN_UNTIL(w, cond)                                                                         \
	do {                                                                                       \
		double start_ = test_now_s();                                                      \
		bool met_;                                                                         \
		while (!(met_ = (cond)) && test_now_s() - start_ < DEADLINE_S)                     \
			ev_run((w)->o.loop, EVRUN_ONCE);                                           \
		if (!met_)                                                                         \
			fail_msg("not within %.0f s: %s", DEADLINE_S, #cond);                      \
	} while (0)

static void run_for(struct world *w, double seconds)
{
	double start = test_now_s();

	while (test_now_s() - start < seconds)
		ev_run(w->o.loop, EVRUN_ONCE);
}

/* Has the client been reset? Non-blocking read: -1/ECONNRESET once it has. */
static bool client_was_reset(int fd)
{
	char c;

	return read(fd, &c, 1) < 0 && errno == ECONNRESET;
}

/* The replica's next connection, or -1 if none is waiting. */
static int replica_take(const struct world *w)
{
	return accept4(w->o.replica_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* One byte from fd, or -1: what a non-blocking read says right now. */
static int read_byte(int fd)
{
	unsigned char c;

	return read(fd, &c, 1) == 1 ? c : -1;
}

/* Did the replica get a connection? Takes it. */
static bool replica_accepted(const struct world *w)
{
	int fd = accept4(w->o.replica_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_hold_publishes_a_loopback_listener_of_the_vip_family(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 50, 1000, 8);

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	assert_int_equal(w->o.mem->hold[0].family, STEER_FAMILY_V4);
	assert_int_equal(w->o.mem->hold[0].addr[0], htonl(INADDR_LOOPBACK));
	assert_int_not_equal(w->o.mem->hold[0].port, 0);
	assert_int_not_equal(w->o.mem->hold_sock[0], 0); /* what the datapath trusts */
	/* No IPv6 service: no IPv6 listener. */
	assert_int_equal(w->o.mem->hold[1].port, 0);
	assert_int_equal(w->o.mem->hold_sock[1], 0);
	world_free(w);
}

/* A sync of an unchanged config writes nothing to the maps and opens
 * nothing: with many services, a reconcile costs the miss path no syscall
 * per service. */
static void test_hold_sync_of_an_unchanged_config_writes_nothing(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 8);
	int before;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	before = w->o.mem->nlog;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	w->o.sc->retry.timeout_ms = 20000; /* a changed retry key: memory only */
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	assert_int_equal(w->o.mem->nlog, before);
	world_free(w);
}

static void test_hold_first_attempt_happens_at_once(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 30000, 8);
	int c;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = client_connect(w);
	RUN_UNTIL(w, stats(w)->served == 1);
	assert_true(replica_accepted(w));
	assert_int_equal(stats(w)->attempts_total, 1);
	assert_int_equal(stats(w)->attempts_served, 1);
	assert_int_equal(stats(w)->held_total, 1);
	assert_int_equal(stats(w)->held_now, 0);
	close(c);
	world_free(w);
}

/* Nothing is routable, and the next attempt is 10 s away: only the kick for
 * this service, when a replica becomes routable, can serve it in time. */
static void test_hold_kick_serves_at_once_when_a_replica_becomes_routable(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 8);
	double start;
	int c;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = client_connect(w);
	RUN_UNTIL(w, stats(w)->attempts_total == 1);
	assert_int_equal(stats(w)->held_now, 1);

	w->o.mem->replicas[REPLICA_ID].state = STEER_REPLICA_UP;
	hold_kick(w->hold, "api"); /* another service: not this one's business */
	assert_int_equal(stats(w)->attempts_total, 1);
	start = test_now_s();
	hold_kick(w->hold, "web");
	RUN_UNTIL(w, stats(w)->served == 1);
	assert_true(test_now_s() - start < 2.0);
	assert_int_equal(stats(w)->attempts_total, 2);
	assert_true(replica_accepted(w));
	close(c);
	world_free(w);
}

/* An ejected replica is not routable even while UP, as in the datapath. */
static void test_hold_does_not_pick_an_ejected_replica(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 20, 30000, 8);
	int c;

	(void)state;
	mem_maps_backend(w->o.mem, &w->o.replica)->ejected_ns = 1;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = client_connect(w);
	RUN_UNTIL(w, stats(w)->attempts_total == 1);
	/* A loopback connect to the replica, had one been made, is served in
	 * well under a millisecond; give it 300. */
	run_for(w, 0.3);
	assert_int_equal(stats(w)->served, 0);
	assert_false(replica_accepted(w));
	close(c);
	world_free(w);
}

static void test_hold_full_resets_the_newcomer_and_keeps_the_held(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 1);
	int a, b;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, stats(w)->held_now == 1);
	b = client_connect(w);
	RUN_UNTIL(w, stats(w)->refused_full == 1);
	RUN_UNTIL(w, client_was_reset(b));
	assert_int_equal(stats(w)->held_now, 1);
	assert_int_equal(stats(w)->held_total, 1);
	assert_false(client_was_reset(a));
	close(a);
	close(b);
	world_free(w);
}

static void test_hold_timeout_resets_the_client(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 20, 150, 8);
	double start;
	int c;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	start = test_now_s();
	c = client_connect(w);
	RUN_UNTIL(w, client_was_reset(c));
	assert_true(test_now_s() - start >= 0.15);
	assert_int_equal(stats(w)->timeouts, 1);
	assert_int_equal(stats(w)->served, 0);
	assert_int_equal(stats(w)->held_now, 0);
	/* Attempts at 0, 20, 60 and 140 ms; the wait before a fifth is cut
	 * to the deadline, where it runs unless lateness already passed it. */
	assert_in_range(stats(w)->attempts_total, 4, 5);
	close(c);
	world_free(w);
}

/* A held client that closes frees its slot at once, not at its timeout:
 * with room for one, the next client is held, not refused. */
static void test_hold_client_that_gives_up_frees_its_slot_at_once(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 1);
	int a, b;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, stats(w)->held_now == 1);
	assert_int_equal(write(a, "hello\n", 6), 6); /* it had sent its request */
	close(a);
	RUN_UNTIL(w, stats(w)->abandoned == 1);
	assert_int_equal(stats(w)->held_now, 0);
	b = client_connect(w);
	RUN_UNTIL(w, stats(w)->held_now == 1);
	assert_int_equal(stats(w)->refused_full, 0);
	close(b);
	world_free(w);
}

/* A service gone from the config: its held connections are reset, and a
 * miss of its VIP that arrives later is not one any more (reset, counted);
 * the listener stays, shared with other services. */
static void test_hold_removed_service_resets_its_held_and_its_late_misses(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 8);
	int c;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = client_connect(w);
	RUN_UNTIL(w, stats(w)->held_now == 1);
	w->o.cfg->nservices = 0;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	assert_int_not_equal(w->o.mem->hold_sock[0], 0);
	RUN_UNTIL(w, client_was_reset(c));
	close(c);
	c = client_connect(w);
	RUN_UNTIL(w, client_was_reset(c));
	assert_int_equal(untrusted(w), 1);
	close(c);
	world_free(w);
}

/* Any local process can connect to the listener: without the datapath's
 * record of a miss it is reset at once and counted, and the replica, which
 * is up, never sees a connection for it. */
static void test_hold_resets_a_connection_that_is_not_a_steered_miss(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 30000, 8);
	int c;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = stranger_connect(w);
	RUN_UNTIL(w, client_was_reset(c));
	close(c);
	assert_int_equal(untrusted(w), 1);
	assert_int_equal(w->o.mem->hold[0].local, 0);
	assert_int_equal(stats(w)->held_total, 0);
	assert_false(replica_accepted(w));
	/* A real miss right after is served. */
	c = client_connect(w);
	RUN_UNTIL(w, stats(w)->served == 1);
	assert_true(replica_accepted(w));
	assert_int_equal(w->o.mem->hold[0].local, 1);
	assert_int_equal(untrusted(w), 1);
	close(c);
	world_free(w);
}

/* A record that names a VIP that is no service is no miss either. */
static void test_hold_resets_a_miss_of_an_unknown_vip(void **state)
{
	struct world *w = world_new(STEER_REPLICA_UP, 10000, 30000, 8);
	struct endpoint other;
	char err[128];
	int c;

	(void)state;
	assert_int_equal(endpoint_parse("198.18.0.99:80", &other, err, sizeof(err)), 0);
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	c = miss_connect_to(w, &other);
	RUN_UNTIL(w, client_was_reset(c));
	close(c);
	assert_int_equal(untrusted(w), 1);
	assert_false(replica_accepted(w));
	world_free(w);
}

/* One listener whatever the number of services: a second TCP service of
 * the family adds no listener, and each miss is held for the service of
 * its own VIP. */
static void test_hold_one_listener_serves_every_service_by_its_vip(void **state)
{
	struct world *w = world_new(STEER_REPLICA_DOWN, 10000, 30000, 8);
	struct svc_config *b;
	uint16_t port;
	int c1, c2;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	port = w->o.mem->hold[0].port;
	b = config_add_service(w->o.cfg);
	assert_non_null(b);
	w->o.sc = &w->o.cfg->services[0]; /* the add may have moved it */
	*b = *w->o.sc;
	b->replicas = NULL; /* the first service's arrays stay its own */
	b->ropts = NULL;
	b->replicas_cap = 0;
	snprintf(b->name, sizeof(b->name), "api");
	b->vip.port = 81;
	b->nreplicas = 0;
	mem_maps_add_service(w->o.mem, SVC_ID + 1, &b->vip, IPPROTO_TCP, NULL, 0, 0,
			     STEER_REPLICA_DOWN);
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	assert_int_equal(w->o.mem->hold[0].port, port);
	c1 = client_connect(w);
	c2 = miss_connect_to(w, &b->vip);
	RUN_UNTIL(w, w->o.mem->hold_stats[SVC_ID + 1].held_now == 1 && stats(w)->held_now == 1);
	assert_int_equal(stats(w)->held_total, 1);
	assert_int_equal(w->o.mem->hold_stats[SVC_ID + 1].held_total, 1);
	assert_int_equal(untrusted(w), 0);
	close(c1);
	close(c2);
	world_free(w);
}

/* A service gone from the config leaves no counters behind for the next
 * service to get its id; its relay carries on, and still takes its slot. */
static void test_hold_removed_service_zeroes_its_counters_and_keeps_its_relays(void **state)
{
	static const struct steer_hold_stats zero_hold;
	static const struct steer_relay_stats zero_relay;
	struct world *w = world_new_relays(STEER_REPLICA_UP, 10000, 30000, 8, 1, 0);
	int a, ra;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, relays(w)->open == 1);
	RUN_UNTIL(w, (ra = replica_take(w)) >= 0);
	w->o.cfg->nservices = 0;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	assert_memory_equal(stats(w), &zero_hold, sizeof(zero_hold));
	assert_memory_equal(relays(w), &zero_relay, sizeof(zero_relay));
	assert_int_equal(write(a, "r", 1), 1);
	RUN_UNTIL(w, read_byte(ra) == 'r');

	/* Back in the config, it starts from zero, and the old relay still
	 * holds the one slot. */
	w->o.cfg->nservices = 1;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	client_connect(w); /* closed by world_free's reset */
	RUN_UNTIL(w, relays(w)->slot_waits == 1);
	assert_int_equal(relays(w)->started, 0);
	assert_int_equal(stats(w)->held_total, 1);
	close(a);
	close(ra);
	RUN_UNTIL(w, relays(w)->started == 1);
	world_free(w);
}

/* With the one relay slot taken, a second client whose replica is up stays
 * held, and the replica sees no connection for it; when the first relay
 * ends, the second is served at once. */
static void test_hold_relay_bound_keeps_a_served_one_held_until_a_relay_ends(void **state)
{
	struct world *w = world_new_relays(STEER_REPLICA_UP, 10000, 30000, 8, 1, 0);
	int a, b, ra, rb;
	double start;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, relays(w)->open == 1);
	RUN_UNTIL(w, (ra = replica_take(w)) >= 0);
	b = client_connect(w);
	RUN_UNTIL(w, relays(w)->slot_waits == 1);
	run_for(w, 0.2);
	assert_int_equal(stats(w)->held_now, 1);
	assert_int_equal(relays(w)->started, 1);
	assert_int_equal(stats(w)->attempts_total, 1); /* a waiter makes no attempt */
	assert_int_equal(replica_take(w), -1);
	assert_false(client_was_reset(b));

	close(a);
	close(ra);
	start = test_now_s();
	RUN_UNTIL(w, relays(w)->started == 2);
	assert_true(test_now_s() - start < 1.0); /* not its 10 s backoff */
	assert_int_equal(relays(w)->open, 1);
	assert_int_equal(stats(w)->held_now, 0);
	assert_int_equal(stats(w)->served, 2);
	RUN_UNTIL(w, (rb = replica_take(w)) >= 0);
	assert_int_equal(write(b, "x", 1), 1);
	RUN_UNTIL(w, read_byte(rb) == 'x');
	assert_int_equal(relays(w)->refused_full, 0);
	close(b);
	close(rb);
	world_free(w);
}

/* A waiter whose slot never comes is reset at its retry timeout, counted
 * as refused (and as a hold timeout); the relay that holds the slot goes on. */
static void test_hold_relay_bound_resets_a_waiter_at_its_timeout(void **state)
{
	struct world *w = world_new_relays(STEER_REPLICA_UP, 20, 200, 8, 1, 0);
	int a, b, ra;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, relays(w)->open == 1);
	RUN_UNTIL(w, (ra = replica_take(w)) >= 0);
	b = client_connect(w);
	RUN_UNTIL(w, client_was_reset(b));
	assert_int_equal(relays(w)->slot_waits, 1);
	assert_int_equal(relays(w)->refused_full, 1);
	assert_int_equal(stats(w)->timeouts, 1);
	assert_int_equal(stats(w)->held_now, 0);
	assert_int_equal(relays(w)->open, 1);
	assert_int_equal(write(a, "y", 1), 1);
	RUN_UNTIL(w, read_byte(ra) == 'y');
	close(a);
	close(ra);
	world_free(w);
}

/* No byte either way for relay_idle_ms: both sides are reset, the relay is
 * counted as idle-closed, and its slot is free. */
static void test_hold_idle_relay_is_reset_on_both_sides(void **state)
{
	struct world *w = world_new_relays(STEER_REPLICA_UP, 10000, 30000, 8, 4096, 150);
	double start;
	int a, ra;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, relays(w)->open == 1);
	start = test_now_s();
	RUN_UNTIL(w, (ra = replica_take(w)) >= 0);
	RUN_UNTIL(w, relays(w)->idle_closed == 1);
	assert_true(test_now_s() - start >= 0.14);
	assert_int_equal(relays(w)->open, 0);
	RUN_UNTIL(w, client_was_reset(a));
	RUN_UNTIL(w, client_was_reset(ra));
	close(a);
	close(ra);
	world_free(w);
}

/* Traffic, in either direction, keeps a relay past its idle timeout; once
 * it stops, the timeout runs from the last byte. */
static void test_hold_relay_with_traffic_outlives_its_idle_timeout(void **state)
{
	struct world *w = world_new_relays(STEER_REPLICA_UP, 10000, 30000, 8, 4096, 200);
	double last;
	int a, ra;

	(void)state;
	assert_int_equal(hold_sync(w->hold, w->o.cfg), 0);
	a = client_connect(w);
	RUN_UNTIL(w, relays(w)->open == 1);
	RUN_UNTIL(w, (ra = replica_take(w)) >= 0);
	for (int i = 0; i < 12; i++) { /* 12 x 60 ms or more: over 3 idle timeouts */
		int from = i % 2 ? ra : a, to = i % 2 ? a : ra;

		run_for(w, 0.06);
		assert_int_equal(write(from, "z", 1), 1);
		RUN_UNTIL(w, read_byte(to) == 'z');
	}
	last = test_now_s();
	assert_int_equal(relays(w)->idle_closed, 0);
	assert_int_equal(relays(w)->open, 1);
	RUN_UNTIL(w, relays(w)->idle_closed == 1);
	/* 200 ms after the last byte moved, which was a moment before `last` */
	assert_true(test_now_s() - last >= 0.18);
	close(a);
	close(ra);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_publishes_a_loopback_listener_of_the_vip_family),
	    cmocka_unit_test(test_hold_sync_of_an_unchanged_config_writes_nothing),
	    cmocka_unit_test(test_hold_first_attempt_happens_at_once),
	    cmocka_unit_test(test_hold_kick_serves_at_once_when_a_replica_becomes_routable),
	    cmocka_unit_test(test_hold_does_not_pick_an_ejected_replica),
	    cmocka_unit_test(test_hold_full_resets_the_newcomer_and_keeps_the_held),
	    cmocka_unit_test(test_hold_timeout_resets_the_client),
	    cmocka_unit_test(test_hold_removed_service_resets_its_held_and_its_late_misses),
	    cmocka_unit_test(test_hold_resets_a_connection_that_is_not_a_steered_miss),
	    cmocka_unit_test(test_hold_resets_a_miss_of_an_unknown_vip),
	    cmocka_unit_test(test_hold_one_listener_serves_every_service_by_its_vip),
	    cmocka_unit_test(test_hold_client_that_gives_up_frees_its_slot_at_once),
	    cmocka_unit_test(test_hold_removed_service_zeroes_its_counters_and_keeps_its_relays),
	    cmocka_unit_test(test_hold_relay_bound_keeps_a_served_one_held_until_a_relay_ends),
	    cmocka_unit_test(test_hold_relay_bound_resets_a_waiter_at_its_timeout),
	    cmocka_unit_test(test_hold_idle_relay_is_reset_on_both_sides),
	    cmocka_unit_test(test_hold_relay_with_traffic_outlives_its_idle_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
