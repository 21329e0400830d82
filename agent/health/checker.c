#include "health/checker.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "health/health.h"
#include "lib/hist.h"
#include "maps/keys.h"
#include "lib/log.h"
#include "health/probe.h"
#include "maps/svc_walk.h"

struct replica_rec {
	struct checker *c;
	uint32_t id;	 /* replica id in steer_replicas_v1 */
	uint32_t svc_id; /* its service's id */
	struct endpoint ep;
	uint8_t proto;
	char svc[SVC_NAME_MAX];
	struct health_config hc;
	struct health h;
	struct steer_replica_status st; /* mirrored into steer_replica_status_v1 */
	/* What the map was last given, and when (ev_now): a check that changes
	 * nothing but last_check_ns and last_latency_us is written at most
	 * every STATUS_REFRESH_S; see note_check(). */
	struct steer_replica_status written;
	double written_at;
	/* When a passed check last read the backend entry for an ejection the
	 * agent was not told of (ev_now; 0: never). */
	double verified_at;
	ev_timer timer;
	struct probe *inflight;
	/* Due, but the loop iteration had started its share of checks: queued
	 * in the checker's waiting list (see start_budget()). */
	bool waiting;
	struct replica_rec *wait_prev, *wait_next;
	bool checked_once;
	/* Checked at once as a new replica: the check after it comes at a
	 * random phase, so replicas added together do not stay in lockstep. */
	bool spread_next;
	bool local; /* on this host: the backend entry's flag, set by reconcile */
	bool seen;  /* during checker_sync */
	/* A listener opened while a check was in flight: that check may have
	 * started before it, so a failure is followed at once by another. */
	bool listener_up_pending;
};

struct checker {
	checker_change_fn on_change;
	void *on_change_arg;
	checker_members_fn members; /* NULL: read them from the maps */
	void *members_arg;
	struct ev_loop *loop;
	const struct map_ops *maps;
	uint64_t started_mono_ns;
	struct replica_rec *recs[STEER_MAX_REPLICAS];
	/* Per service, mirrored into steer_check_stats_v2; loaded from the map
	 * the first time a service is seen, so counters survive restarts, and
	 * forgotten when it leaves the config (see forget_gone_services()). */
	struct steer_check_stats stats[STEER_MAX_SERVICES];
	bool stats_loaded[STEER_MAX_SERVICES];
	/* The services whose stats changed since the last flush (queued[id]:
	 * id is in dirty[]): written once per loop iteration, before the loop
	 * waits, however many of their checks ended in it. */
	bool queued[STEER_MAX_SERVICES];
	uint32_t dirty[STEER_MAX_SERVICES];
	uint32_t ndirty;
	/* Writes the dirty stats, STATS_FLUSH_S after the last time it did
	 * (at once, in the next loop iteration, if that is longer ago). */
	ev_timer flush;
	double flushed_at; /* ev_now */
	/* Checks started in loop iteration started_iter, and the replicas whose
	 * checks are due but wait for a later iteration, oldest first; see
	 * start_budget(). */
	unsigned int started_iter;
	uint32_t started;
	struct replica_rec *wait_head, *wait_tail;
	ev_check resume;     /* starts waiting checks, after each poll */
	ev_idle busy;	     /* keeps the loop from sleeping while checks wait */
	ev_timer audit;	     /* the maps against the agent's view; see audit_rec() */
	uint32_t audit_next; /* the replica id the next audit starts at */
};

/* At most this many checks start in one loop iteration; the others wait for
 * the next, in the order they fell due. Starting one costs tens of us (on
 * loopback the whole handshake runs in connect()), so 10000 replicas added
 * at once would otherwise hold the loop for longer than a check's timeout,
 * and checks whose connects had completed would time out unread. */
#define CHECK_STARTS_PER_ITERATION 32

/*
 * What a check costs is mostly system calls: socket, connect, the epoll
 * registration, getsockopt and close are the check itself; every map
 * access on top is one more bpf() call. 10000 replicas at the default
 * 500 ms interval are 20000 checks a second, so the map traffic per check
 * is bounded:
 * - a passed check that changes nothing but the time and latency of the
 *   last check updates the replica's status entry at most every
 *   STATUS_REFRESH_S (any other change is written at once);
 * - it reads the backend entry for an ejection the agent was not told of
 *   at most as often (a check that changes the state always does);
 * - the check counters of the services whose checks ended are written
 *   together, at most every STATS_FLUSH_S, however many checks end in
 *   between (at once with a state change or an ejection);
 * - an audit looks at AUDIT_PER_INTERVAL replicas at most (see on_audit()),
 *   and a checked UP replica's only at its state in the map.
 */
#define STATUS_REFRESH_S 5.0
#define STATS_FLUSH_S	 1.0

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *check_result_name(uint8_t r)
{
	static const char *const names[] = {
	    [STEER_CHECK_NONE] = "none",
	    [STEER_CHECK_OK] = "ok",
	    [STEER_CHECK_REFUSED] = "refused",
	    [STEER_CHECK_TIMEOUT] = "timeout",
	    [STEER_CHECK_BAD_STATUS] = "bad-status",
	    [STEER_CHECK_BAD_RESPONSE] = "bad-response",
	    [STEER_CHECK_ERROR] = "error",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

/* The reason as the log says it; a UDP replica's failed connects are the
 * ICMP errors its clients' connected sockets got. */
static const char *eject_reason_name_for(uint8_t r, uint8_t proto)
{
	if (r == STEER_EJECT_CONNECT_FAILED && proto == IPPROTO_UDP)
		return "ICMP errors on connected sockets";
	switch (r) {
	case STEER_EJECT_LISTENER_CLOSED:
		return "listener closed";
	case STEER_EJECT_CONNECT_FAILED:
		return "connect failed";
	case STEER_EJECT_CHECK_FAILED:
		return "check failed";
	default:
		return "none";
	}
}

/* Does this replica need periodic checks in its current state? A service
 * without checks only probes a replica the datapath ejected, to bring it
 * back. */
static bool needs_checks(const struct replica_rec *r)
{
	return r->hc.kind != HEALTH_KIND_NONE || r->h.state != STEER_REPLICA_UP;
}

static struct steer_check_stats *svc_stats(struct replica_rec *r)
{
	struct checker *c = r->c;

	if (!c->stats_loaded[r->svc_id]) {
		c->maps->check_stats_get(c->maps->ctx, r->svc_id, &c->stats[r->svc_id]);
		c->stats_loaded[r->svc_id] = true;
	}
	return &c->stats[r->svc_id];
}

static void write_stats(struct checker *c, uint32_t svc_id)
{
	int ret = c->maps->check_stats_put(c->maps->ctx, svc_id, &c->stats[svc_id]);

	if (ret)
		log_debug("service id %u: cannot write check stats: %s", svc_id, strerror(-ret));
}

/* Write the stats of every service whose checks ended since the last flush. */
static void flush_stats(struct checker *c)
{
	for (uint32_t i = 0; i < c->ndirty; i++) {
		write_stats(c, c->dirty[i]);
		c->queued[c->dirty[i]] = false;
	}
	if (c->ndirty)
		c->flushed_at = ev_now(c->loop);
	c->ndirty = 0;
	ev_timer_stop(c->loop, &c->flush);
}

static void on_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	flush_stats(w->data);
}

/* r's service stats changed: written at once (now: with a state change or
 * an ejection, so that the counts that led to it are in the map with it),
 * or with every other dirty service's, at most every STATS_FLUSH_S. */
static void publish_stats(struct replica_rec *r, bool now)
{
	struct checker *c = r->c;

	svc_stats(r); /* loaded from the map before the first write */
	if (now) {
		write_stats(c, r->svc_id);
		return;
	}
	if (c->queued[r->svc_id])
		return;
	c->queued[r->svc_id] = true;
	c->dirty[c->ndirty++] = r->svc_id;
	if (!ev_is_active(&c->flush)) {
		double wait = c->flushed_at + STATS_FLUSH_S - ev_now(c->loop);

		ev_timer_set(&c->flush, wait > 0 ? wait : 0., 0.);
		ev_timer_start(c->loop, &c->flush);
	}
}

static void write_status(struct replica_rec *r)
{
	const struct map_ops *m = r->c->maps;
	int ret;

	r->st.consecutive_failures =
	    r->h.consecutive_fail > 0xffff ? 0xffff : (uint16_t)r->h.consecutive_fail;
	ret = m->status_put(m->ctx, r->id, &r->st);
	if (ret) {
		log_debug("replica id %u: cannot write status: %s", r->id, strerror(-ret));
		return;
	}
	r->written = r->st;
	r->written_at = ev_now(r->c->loop);
}

/* Does the status differ from the map's in more than the time and latency
 * of the last check? */
static bool status_changed(struct replica_rec *r)
{
	struct steer_replica_status st = r->st;

	st.consecutive_failures =
	    r->h.consecutive_fail > 0xffff ? 0xffff : (uint16_t)r->h.consecutive_fail;
	st.last_check_ns = r->written.last_check_ns;
	st.last_latency_us = r->written.last_latency_us;
	return memcmp(&st, &r->written, sizeof(st)) != 0;
}

/* A check ended: its status is written if it changed anything else, or if
 * the map's last check is STATUS_REFRESH_S old. */
static void note_check(struct replica_rec *r)
{
	if (status_changed(r) || ev_now(r->c->loop) - r->written_at >= STATUS_REFRESH_S)
		write_status(r);
}

/* Clear the datapath's ejection so an UP replica is routable again. Returns
 * whether there was one to clear. A UDP replica has an entry only while its
 * service has checks (udp_backend_ensure()). */
static bool clear_ejection(struct replica_rec *r)
{
	const struct map_ops *m = r->c->maps;
	struct steer_backend_key key;
	struct steer_backend b;
	int ret;

	backend_key_encode(&r->ep, r->proto, &key);
	if (m->backend_get(m->ctx, &key, &b) || !b.ejected_ns)
		return false;
	b.ejected_ns = 0;
	b.consecutive_failures = 0;
	ret = m->backend_put(m->ctx, &key, &b);
	if (ret)
		log_warn("cannot clear the ejection of a replica of '%s': %s", r->svc,
			 strerror(-ret));
	return ret == 0;
}

/*
 * UDP replicas' backend entries are the checker's: a UDP replica can be
 * ejected by the datapath (ICMP errors on connected sockets, bpf/sock/
 * eject.h) only while it has an entry, and it has one only while its
 * service has checks to bring it back. reconcile writes the entries of TCP
 * replicas only (and prunes the others), so each sync writes them again;
 * an existing entry keeps its ejection and counters.
 */
static void udp_backend_ensure(struct replica_rec *r)
{
	const struct map_ops *m = r->c->maps;
	struct steer_backend_key key;
	struct steer_backend b;
	int ret;

	if (r->proto != IPPROTO_UDP || r->hc.kind == HEALTH_KIND_NONE)
		return;
	backend_key_encode(&r->ep, IPPROTO_UDP, &key);
	if (m->backend_get(m->ctx, &key, &b) == 0)
		return;
	memset(&b, 0, sizeof(b));
	b.local = m->is_local ? m->is_local(m->ctx, &r->ep) : 0;
	ret = m->backend_put(m->ctx, &key, &b);
	if (ret)
		log_warn("service %s: cannot write the backend entry of replica id %u: %s; its "
			 "ICMP errors are not counted",
			 r->svc, r->id, strerror(-ret));
}

/* A check of a UDP replica passed: the ICMP errors counted so far were not
 * in a row, so the count starts again (TCP's is reset by a good connect). */
static void udp_failures_reset(struct replica_rec *r)
{
	const struct map_ops *m = r->c->maps;
	struct steer_backend_key key;
	struct steer_backend b;

	if (r->proto != IPPROTO_UDP)
		return;
	backend_key_encode(&r->ep, IPPROTO_UDP, &key);
	if (m->backend_get(m->ctx, &key, &b) || !b.consecutive_failures || b.ejected_ns)
		return;
	b.consecutive_failures = 0;
	m->backend_put(m->ctx, &key, &b);
}

/*
 * The epilogue of every state change: the map write and the one log line.
 * Ejection is cleared before the replica turns UP, so the datapath never
 * sees it UP but still ejected, nor (worse) routable before it is UP.
 */
static void apply_state(struct replica_rec *r, const char *why)
{
	const struct map_ops *m = r->c->maps;
	uint8_t want = health_map_state(&r->h);
	struct steer_replica rep;
	char buf[ADDR_STRLEN];
	int ret;

	if (want == STEER_REPLICA_UP)
		clear_ejection(r);
	if (m->replica_get(m->ctx, r->id, &rep) || !replica_matches(&rep, &r->ep)) {
		log_warn("replica id %u of '%s' vanished from the map", r->id, r->svc);
		return;
	}
	if (rep.state == want)
		return;
	log_event("service %s replica %s: %s -> %s (%s)", r->svc,
		  endpoint_format(&r->ep, buf, sizeof(buf)), health_state_name(rep.state),
		  health_state_name(want), why);
	rep.state = want;
	ret = m->replica_put(m->ctx, r->id, &rep);
	if (ret)
		log_err("replica id %u: cannot write state: %s", r->id, strerror(-ret));
	r->st.since_ns = clock_ns(CLOCK_REALTIME);
	write_status(r);
	if (r->c->on_change && want != STEER_REPLICA_DRAINING)
		r->c->on_change(r->c->on_change_arg, r->svc, want == STEER_REPLICA_UP);
}

static void schedule(struct replica_rec *r, double after_s)
{
	ev_timer_stop(r->c->loop, &r->timer);
	ev_timer_set(&r->timer, after_s, 0.);
	ev_timer_start(r->c->loop, &r->timer);
}

static double interval_s(const struct replica_rec *r)
{
	return r->hc.interval_ms / 1000.0;
}

/* A uniform 32-bit random number (random() gives 31 bits). */
static uint32_t random32(void)
{
	return ((uint32_t)random() << 1) ^ (uint32_t)random();
}

static uint64_t interval_ns(const struct replica_rec *r)
{
	return (uint64_t)r->hc.interval_ms * 1000000ull;
}

/* When r's next check is due once one ended: a failure just after its
 * listener opened is checked again at once; the check after a new
 * replica's first at a random phase (health_second_delay()); else one
 * interval on. */
static double next_check_s(const struct replica_rec *r, bool ok)
{
	if (r->listener_up_pending && !ok)
		return 0.01;
	if (r->spread_next)
		return (double)health_second_delay(interval_ns(r), random32()) / 1e9;
	return interval_s(r);
}

static void on_probe_done(void *arg, uint8_t result, uint32_t latency_us, const char *detail)
{
	struct replica_rec *r = arg;
	bool ok = result == STEER_CHECK_OK;
	enum health_change change;
	struct health_params p = {.rise = r->hc.rise, .fall = r->hc.fall};
	char why[160];

	r->inflight = NULL;
	r->checked_once = true;
	r->st.last_check_ns = clock_ns(CLOCK_REALTIME);
	r->st.last_latency_us = latency_us;
	r->st.last_result = result;
	change = health_record(&r->h, &p, ok, clock_ns(CLOCK_MONOTONIC));
	svc_stats(r)->checks++;
	svc_stats(r)->check_failures += !ok;
	hist_record(&svc_stats(r)->duration_us, latency_us);
	if (change == HEALTH_NOW_DOWN) {
		r->st.eject_reason = STEER_EJECT_CHECK_FAILED;
		svc_stats(r)->ejections[STEER_EJECT_CHECK_FAILED]++;
	}
	publish_stats(r, change != HEALTH_SAME);
	if (change != HEALTH_SAME) {
		snprintf(why, sizeof(why), "%u checks %s, last: %s%s%s",
			 ok ? r->h.consecutive_ok : r->h.consecutive_fail, ok ? "passed" : "failed",
			 check_result_name(result), detail && *detail ? ", " : "",
			 detail ? detail : "");
		apply_state(r, why);
	} else if (ok && health_map_state(&r->h) == STEER_REPLICA_UP &&
		   ev_now(r->c->loop) - r->verified_at >= STATUS_REFRESH_S) {
		r->verified_at = ev_now(r->c->loop);
		if (clear_ejection(r))
			log_event("service %s replica %s: repaired: cleared an ejection the "
				  "agent had not been told of (a check passed)",
				  r->svc, endpoint_format(&r->ep, why, sizeof(why)));
	}
	if (ok)
		udp_failures_reset(r);
	note_check(r);
	if (needs_checks(r))
		schedule(r, next_check_s(r, ok));
	r->listener_up_pending = false;
	r->spread_next = false;
}

/* May one more check start in this loop iteration? */
static bool start_budget(struct checker *c)
{
	unsigned int it = ev_iteration(c->loop);

	if (it != c->started_iter) {
		c->started_iter = it;
		c->started = 0;
	}
	if (c->started >= CHECK_STARTS_PER_ITERATION)
		return false;
	c->started++;
	return true;
}

static void wait_push(struct replica_rec *r)
{
	struct checker *c = r->c;

	if (r->waiting)
		return;
	r->waiting = true;
	r->wait_next = NULL;
	r->wait_prev = c->wait_tail;
	if (c->wait_tail)
		c->wait_tail->wait_next = r;
	else
		c->wait_head = r;
	c->wait_tail = r;
	ev_check_start(c->loop, &c->resume);
	ev_idle_start(c->loop, &c->busy);
}

static void wait_remove(struct replica_rec *r)
{
	struct checker *c = r->c;

	if (!r->waiting)
		return;
	if (r->wait_prev)
		r->wait_prev->wait_next = r->wait_next;
	else
		c->wait_head = r->wait_next;
	if (r->wait_next)
		r->wait_next->wait_prev = r->wait_prev;
	else
		c->wait_tail = r->wait_prev;
	r->waiting = false;
	r->wait_prev = r->wait_next = NULL;
	if (!c->wait_head) {
		ev_check_stop(c->loop, &c->resume);
		ev_idle_stop(c->loop, &c->busy);
	}
}

/* The probe of a health kind; none (a check that brings back a replica
 * the datapath ejected) connects, as tcp does. */
static enum probe_kind probe_kind_of(enum health_kind kind)
{
	switch (kind) {
	case HEALTH_KIND_HTTP:
		return PROBE_HTTP;
	case HEALTH_KIND_DNS:
		return PROBE_DNS;
	case HEALTH_KIND_UDP:
		return PROBE_UDP;
	case HEALTH_KIND_NONE:
	case HEALTH_KIND_TCP:
		break;
	}
	return PROBE_TCP;
}

static void start_check(struct replica_rec *r)
{
	struct probe_spec spec = {
	    .kind = probe_kind_of(r->hc.kind),
	    .target = r->ep,
	    .timeout_ms = r->hc.timeout_ms,
	    .path = r->hc.path,
	    .expect_lo = r->hc.expect_lo,
	    .expect_hi = r->hc.expect_hi,
	    .proto = r->proto,
	    .dns_name = r->hc.dns_name,
	    .dns_type = r->hc.dns_type,
	    .payload = r->hc.payload,
	    .payload_len = r->hc.payload_len,
	    .reply_prefix = r->hc.reply_prefix,
	    .reply_prefix_len = r->hc.reply_prefix_len,
	};

	if (r->inflight || !needs_checks(r))
		return;
	r->inflight = probe_start(r->c->loop, &spec, on_probe_done, r);
	if (!r->inflight) {
		/* fd limits, ENOBUFS...: try again later, never give up. */
		log_debug("service %s: cannot start a check of replica id %u: %s; retrying", r->svc,
			  r->id, strerror(errno));
		schedule(r, interval_s(r));
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct replica_rec *r = w->data;

	(void)loop;
	(void)revents;
	if (r->inflight || !needs_checks(r))
		return;
	/* Behind those already waiting, if any. */
	if (r->c->wait_head || !start_budget(r->c))
		wait_push(r);
	else
		start_check(r);
}

/* After each poll, before the timers that fell due in it: the waiting
 * checks first. */
static void on_resume(struct ev_loop *loop, ev_check *w, int revents)
{
	struct checker *c = w->data;

	(void)loop;
	(void)revents;
	while (c->wait_head && start_budget(c)) {
		struct replica_rec *r = c->wait_head;

		wait_remove(r);
		start_check(r);
	}
}

static void on_busy(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static void rec_free(struct replica_rec *r)
{
	if (!r)
		return;
	if (r->inflight)
		probe_cancel(r->inflight);
	wait_remove(r);
	ev_timer_stop(r->c->loop, &r->timer);
	free(r);
}

static void on_audit(struct ev_loop *loop, ev_timer *w, int revents);

struct checker *checker_new(struct ev_loop *loop, const struct map_ops *maps)
{
	struct checker *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->maps = maps;
	c->started_mono_ns = clock_ns(CLOCK_MONOTONIC);
	ev_timer_init(&c->audit, on_audit, 0., 0.);
	c->audit.data = c;
	ev_timer_init(&c->flush, on_flush, 0., 0.);
	c->flush.data = c;
	ev_check_init(&c->resume, on_resume);
	c->resume.data = c;
	ev_idle_init(&c->busy, on_busy);
	return c;
}

void checker_free(struct checker *c)
{
	if (!c)
		return;
	ev_timer_stop(c->loop, &c->audit);
	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		struct replica_rec *r = c->recs[i];

		/* the last check's time and latency, if not written yet */
		if (r && memcmp(&r->st, &r->written, sizeof(r->st)))
			write_status(r);
		rec_free(r);
	}
	flush_stats(c);
	free(c);
}

/* A replica the maps hold: new record, or the existing one updated. */
static void adopt(struct checker *c, uint32_t id, uint32_t svc_id, const struct steer_replica *rep,
		  const struct svc_config *sc)
{
	struct replica_rec *r = c->recs[id];
	struct endpoint ep;
	bool fresh = false;

	replica_decode(rep, &ep);
	if (r && !endpoint_equal(&r->ep, &ep)) {
		rec_free(r);
		r = NULL;
	}
	if (!r) {
		struct steer_backend_key key;
		struct steer_backend b;

		r = calloc(1, sizeof(*r));
		if (!r) {
			log_err("out of memory for replica id %u", id);
			return;
		}
		fresh = true;
		r->c = c;
		r->id = id;
		r->ep = ep;
		ev_timer_init(&r->timer, on_timer, 0., 0.);
		r->timer.data = r;
		health_init(&r->h, rep->state, clock_ns(CLOCK_MONOTONIC));
		if (c->maps->status_get(c->maps->ctx, id, &r->st) || !r->st.since_ns)
			r->st.since_ns = clock_ns(CLOCK_REALTIME);
		backend_key_encode(&ep, sc->proto, &key);
		if (c->maps->backend_get(c->maps->ctx, &key, &b) == 0) {
			r->local = b.local;
			/* Ejected while no agent ran: down until `rise` checks pass. */
			if (b.ejected_ns)
				health_eject(&r->h, clock_ns(CLOCK_MONOTONIC));
		}
		c->recs[id] = r;
	}
	r->seen = true;
	r->svc_id = svc_id;
	r->proto = sc->proto;
	snprintf(r->svc, sizeof(r->svc), "%s", sc->name);
	if (r->hc.kind != sc->health.kind && sc->health.kind == HEALTH_KIND_NONE &&
	    r->h.state == STEER_REPLICA_UNKNOWN)
		health_init(&r->h, STEER_REPLICA_UP, clock_ns(CLOCK_MONOTONIC));
	r->hc = sc->health;
	udp_backend_ensure(r);
	apply_state(r, fresh ? "adopted" : "config changed");

	if (!needs_checks(r) || r->inflight || ev_is_active(&r->timer))
		return;
	if (r->h.state == STEER_REPLICA_UNKNOWN) {
		schedule(r, 0.); /* never seen healthy: check at once */
		r->spread_next = true;
	} else {
		schedule(r, (double)health_first_offset(interval_ns(r), random32()) / 1e9);
	}
}

static int sync_service(struct checker *c, const struct svc_config *sc, bool *live)
{
	struct steer_svc_key key;
	struct svc_members set;
	int ret;

	svc_key_encode(&sc->vip, sc->proto, &key);
	ret = c->members ? c->members(c->members_arg, &key, &set) : -EAGAIN;
	if (ret == -EAGAIN)
		ret = svc_read_members(c->maps, &key, &set);
	if (ret)
		return ret;
	if (live && set.val.svc_id < STEER_MAX_SERVICES)
		live[set.val.svc_id] = true;
	for (uint32_t i = 0; i < set.n; i++)
		adopt(c, set.m[i].id, set.val.svc_id, &set.m[i].r, sc);
	return set.unreadable ? -EUCLEAN : 0;
}

/*
 * The services this agent loaded stats for that are no longer in the
 * config: their entries are deleted (zero is no entry), so the id a later
 * service gets starts from zero and an idle id costs no memory. Pending
 * writes go first, so none lands after the delete.
 */
static void forget_gone_services(struct checker *c, const bool *live)
{
	static const struct steer_check_stats zero;

	flush_stats(c);
	for (uint32_t i = 0; i < STEER_MAX_SERVICES; i++) {
		if (!c->stats_loaded[i] || live[i])
			continue;
		c->stats[i] = zero;
		c->stats_loaded[i] = false;
		write_stats(c, i);
	}
}

void checker_members_from(struct checker *c, checker_members_fn fn, void *arg)
{
	c->members = fn;
	c->members_arg = arg;
}

int checker_sync(struct checker *c, const struct steer_config *cfg)
{
	/* Without it (no memory), stats of removed services stay until their
	 * id is given to another service (reconcile resets it then). */
	bool *live = calloc(STEER_MAX_SERVICES, sizeof(*live));
	int ret = 0;

	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++)
		if (c->recs[i])
			c->recs[i]->seen = false;
	for (int i = 0; i < cfg->nservices; i++) {
		int err = sync_service(c, &cfg->services[i], live);

		if (err) {
			log_err("service %s: cannot read its replicas back: %s",
				cfg->services[i].name, strerror(-err));
			ret = err;
		}
	}
	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		if (c->recs[i] && !c->recs[i]->seen) {
			rec_free(c->recs[i]);
			c->recs[i] = NULL;
		}
	}
	if (live && !ret) /* a service not read back might still be live */
		forget_gone_services(c, live);
	free(live);
	return ret;
}

/* Is r's backend entry (of its protocol) marked ejected? */
static bool backend_ejected(const struct replica_rec *r, const struct steer_backend_key *key)
{
	const struct map_ops *m = r->c->maps;
	struct steer_backend b;

	return m->backend_get(m->ctx, key, &b) == 0 && b.ejected_ns;
}

/* Does the ejected endpoint (addr zero: a wildcard listener) cover r? The
 * record names no protocol: a failed-connect ejection, which TCP connects
 * and UDP's ICMP errors both make, covers r only if r's own entry says
 * ejected, so a TCP replica and a UDP one at the same address and port
 * are taken out each for its own failures. Listener events are TCP's; a
 * UDP service without checks is never ejected (nothing would bring its
 * replica back). */
static bool event_covers(const struct steer_event *ev, const struct replica_rec *r)
{
	struct steer_backend_key key;
	static const __be32 zero[4];

	if (r->proto == IPPROTO_UDP &&
	    (ev->reason != STEER_EJECT_CONNECT_FAILED || r->hc.kind == HEALTH_KIND_NONE))
		return false;
	backend_key_encode(&r->ep, r->proto, &key);
	if (key.port != ev->port)
		return false;
	if (!memcmp(ev->addr, zero, sizeof(zero)))
		return r->proto == IPPROTO_TCP && r->local &&
		       (ev->family == key.family || ev->family == STEER_FAMILY_V6);
	if (ev->family != key.family || memcmp(ev->addr, key.addr, sizeof(key.addr)))
		return false;
	return ev->reason != STEER_EJECT_CONNECT_FAILED || backend_ejected(r, &key);
}

/* A down replica's listener is back: check it now rather than at its next
 * interval, so held connections are served as soon as it answers. The
 * tracepoint fires as the socket enters LISTEN, just before it is hashed;
 * the short delay lets that finish even on a busy machine. */
static void on_listener_up(struct checker *c, const struct steer_event *ev)
{
	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		struct replica_rec *r = c->recs[i];

		if (!r || !event_covers(ev, r) || r->h.state == STEER_REPLICA_UP)
			continue;
		log_debug(
		    "service %s: a listener opened on replica id %u at mono %llu ns; checking "
		    "it %s",
		    r->svc, r->id, (unsigned long long)ev->ts_ns,
		    r->inflight ? "again once the check in flight ends" : "now");
		if (r->inflight)
			r->listener_up_pending = true;
		else
			schedule(r, 0.01);
	}
}

/* The datapath ejected r: down until its checks pass `rise` times. */
static void take_ejection(struct replica_rec *r, uint8_t reason, const char *why, uint64_t now)
{
	r->st.eject_reason = reason;
	if (health_eject(&r->h, now) == HEALTH_NOW_DOWN) {
		apply_state(r, why);
		if (reason < 4)
			svc_stats(r)->ejections[reason]++;
		publish_stats(r, true);
	}
	write_status(r);
	if (!r->inflight && !ev_is_active(&r->timer))
		schedule(r, interval_s(r));
}

/*
 * The agent's view against the maps. An ejection whose ring-buffer record
 * was lost (the ring was full) would leave a replica up in the agent and
 * ejected in the datapath for good, and a failed write would leave a
 * replica's state in the map other than the agent's: both are found here
 * and repaired, with a log line saying what was repaired.
 */
/* How long an ejection's ring-buffer record may take to reach the agent
 * before the audit takes it as lost. */
#define AUDIT_EVENT_GRACE_NS 1000000000ull

static void audit_rec(struct replica_rec *r)
{
	const struct map_ops *m = r->c->maps;
	struct steer_backend_key key;
	struct steer_replica rep;
	struct steer_backend b;
	char why[128];

	/* A checked UP replica's passing checks look for that ejection
	 * themselves (and clear it); its failing ones take it down. */
	bool checks_look = r->hc.kind != HEALTH_KIND_NONE && r->verified_at > 0;

	backend_key_encode(&r->ep, r->proto, &key);
	/* Only an ejection older than AUDIT_EVENT_GRACE_NS is one whose event
	 * was lost: a newer one's record may be waiting in the ring buffer
	 * (libev runs a due timer before the I/O callbacks of its iteration). */
	if (r->h.state == STEER_REPLICA_UP && !checks_look &&
	    m->backend_get(m->ctx, &key, &b) == 0 && b.ejected_ns &&
	    clock_ns(CLOCK_MONOTONIC) - b.ejected_ns > AUDIT_EVENT_GRACE_NS &&
	    (r->proto == IPPROTO_TCP || r->hc.kind != HEALTH_KIND_NONE)) {
		snprintf(why, sizeof(why),
			 "repaired: ejected by the datapath (%s) without the agent being told",
			 eject_reason_name_for(b.reason, r->proto));
		take_ejection(r, b.reason, why, clock_ns(CLOCK_MONOTONIC));
	}
	if (m->replica_get(m->ctx, r->id, &rep) == 0 && replica_matches(&rep, &r->ep) &&
	    rep.state != health_map_state(&r->h)) {
		snprintf(why, sizeof(why), "repaired: the map said %s",
			 health_state_name(rep.state));
		apply_state(r, why);
	}
}

/* Replicas audited per interval at most: two map reads each, so a node
 * with 262,144 replicas spends about 1% of a core on it and goes round
 * them all in a minute, instead of a core on a full pass every interval.
 * Up to this many replicas, each interval audits them all. */
#define AUDIT_PER_INTERVAL 2048

static void on_audit(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct checker *c = w->data;
	uint32_t seen = 0, done = 0;

	(void)loop;
	(void)revents;
	while (done < AUDIT_PER_INTERVAL && seen++ < STEER_MAX_REPLICAS) {
		uint32_t i = c->audit_next;

		c->audit_next = (i + 1) % STEER_MAX_REPLICAS;
		if (c->recs[i]) {
			audit_rec(c->recs[i]);
			done++;
		}
	}
}

void checker_start_audit(struct checker *c, uint32_t interval_ms)
{
	double every = interval_ms / 1000.0;

	ev_timer_stop(c->loop, &c->audit);
	ev_timer_set(&c->audit, every, every);
	ev_timer_start(c->loop, &c->audit);
}

void checker_on_event(struct checker *c, const struct steer_event *ev)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	char why[128];

	/* Left in the ring while no agent ran: adopt() read the map instead. */
	if (ev->ts_ns < c->started_mono_ns)
		return;
	if (ev->reason == STEER_EVENT_LISTENER_UP) {
		on_listener_up(c, ev);
		return;
	}
	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		struct replica_rec *r = c->recs[i];

		if (!r || !event_covers(ev, r))
			continue;
		snprintf(why, sizeof(why), "ejected by the datapath: %s, agent told after %llu us",
			 eject_reason_name_for(ev->reason, r->proto),
			 (unsigned long long)(now > ev->ts_ns ? (now - ev->ts_ns) / 1000 : 0));
		take_ejection(r, ev->reason, why, now);
	}
}

int checker_set_draining(struct checker *c, const char *service, const struct endpoint *ep,
			 bool drain, char *err, size_t errlen)
{
	char buf[ADDR_STRLEN];

	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		struct replica_rec *r = c->recs[i];

		if (!r || strcmp(r->svc, service) || !endpoint_equal(&r->ep, ep))
			continue;
		if (health_set_draining(&r->h, drain))
			apply_state(r, drain ? "drained by the operator"
					     : "undrained by the operator");
		return 0;
	}
	snprintf(err, errlen, "service '%s' has no replica %s", service,
		 endpoint_format(ep, buf, sizeof(buf)));
	return -1;
}

void checker_on_change(struct checker *c, checker_change_fn fn, void *arg)
{
	c->on_change = fn;
	c->on_change_arg = arg;
}

bool checker_first_round_done(const struct checker *c)
{
	for (uint32_t i = 0; i < STEER_MAX_REPLICAS; i++) {
		const struct replica_rec *r = c->recs[i];

		if (r && r->hc.kind != HEALTH_KIND_NONE && !r->checked_once)
			return false;
	}
	return true;
}
