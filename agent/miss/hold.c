#include "miss/hold.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <search.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "miss/backoff.h"
#include "lib/hist.h"
#include "maps/keys.h"
#include "maps/svc_walk.h"
#include "lib/log.h"
#include "miss/relay.h"
#include "net/sock_diag.h"

#define ATTEMPT_CONNECT_MAX_S 1.0 /* one attempt's connect, at most */
#define TIMELINE_MAX	      16  /* attempts kept for the debug timeline */
#define TIMEOUT_LOG_EVERY_S   10.0
#define ACCEPT_PAUSE_S	      0.1 /* after EMFILE & co, accept() again this much later */

struct held;

/*
 * The hold listener of one address family, shared by every TCP service of
 * it: 127.0.0.1 or [::1], an ephemeral port. What reaches it is either a
 * miss of a local client, which the connect hook sent here and whose
 * socket's steer_socks_v1 record names the VIP (found by the client's
 * cookie, through sock_diag), or a remote client's, which sk_lookup gave
 * it and whose local address is then the VIP itself. Anything else is reset.
 */
struct hold_lsn {
	struct hold *h;
	uint32_t idx;	      /* steer_hold_index() */
	uint8_t family;	      /* enum steer_family */
	int fd;		      /* -1: not open */
	struct endpoint addr; /* its own address */
	ev_io accept_io;
	ev_timer accept_pause;	/* accept() hit a resource limit: try again later */
	double pause_logged_at; /* ev_now of the last such log line */
	struct steer_hold rec;	/* mirrored into steer_hold_v2 */
	double untrusted_logged_at;
	uint64_t untrusted_unlogged;
};

/* One TCP service's held connections. */
struct hold_svc {
	struct endpoint vip; /* first: the key of hold.by_vip */
	struct hold *h;
	char name[SVC_NAME_MAX];
	uint32_t svc_id;
	struct backoff_params retry;
	LIST_ENTRY(hold_svc) all_link; /* in hold.svcs */
	uint64_t gen;		       /* hold.gen of the last hold_sync that saw it */
	LIST_HEAD(held_list, held) conns;
	struct steer_hold_stats stats;
	struct steer_relay_stats relay; /* mirrored into steer_relay_stats_v2 */
	double timeout_logged_at;	/* ev_now of the last timeout log line */
	uint64_t timeouts_unlogged;
	uint64_t refused_unlogged; /* of those, waiting for a relay slot */
	double wait_logged_at;	   /* ev_now of the last "relays full" log line */
	uint64_t waits_unlogged;
	uint32_t max_queued; /* `max_queued`: held at most, 0 = STEER_HOLD_MAX only */
	bool limited;	     /* some replica has max_conns: a closed connection may make room */
};

struct held {
	struct hold_svc *svc;
	LIST_ENTRY(held) link;	/* in its service's conns */
	int cfd;		/* the client's connection */
	int ufd;		/* upstream connect in flight, or -1 */
	struct endpoint target; /* replica being tried */
	uint32_t target_id;	/* its replica id */
	bool counted;		/* the connect in flight counts in steer_replica_relayed_v1 */
	uint64_t arrived_ns;	/* CLOCK_MONOTONIC */
	uint32_t attempts;
	ev_timer timer; /* next attempt, or the deadline */
	ev_io connect_io;
	uint32_t timeline_us[TIMELINE_MAX]; /* attempt offsets from arrival */
	bool waits_slot;		    /* in hold.slot_waiters */
	TAILQ_ENTRY(held) wait_link;
};

/* A served connection being relayed; hold_free() ends those still open. */
struct served {
	struct hold *h;
	struct hold_svc *svc; /* NULL once its service left the config */
	char name[SVC_NAME_MAX];
	struct relay *relay;
	uint32_t rid;	    /* the replica's id, counted in steer_replica_relayed_v1 */
	struct endpoint ep; /* and its endpoint */
	bool counted;	    /* ... until the relay ends */
	ev_timer idle;	    /* STEER_RELAY_IDLE_MS, checked against relay_last_active() */
	LIST_ENTRY(served) link;
};

struct hold {
	struct ev_loop *loop;
	const struct map_ops *maps;
	struct hold_limits lim;
	uint64_t held_now; /* across services */
	struct hold_lsn lsn[STEER_HOLD_FAMILIES];
	struct sock_diag *diag; /* finds a local client's socket cookie */
	/* The TCP services: all of them, by VIP (a tsearch tree) and by
	 * service id (grown as ids come), so that a sync touches only what
	 * changed and an accepted connection finds its service at once. */
	LIST_HEAD(svc_list, hold_svc) svcs;
	void *by_vip;
	struct hold_svc **by_id;
	uint32_t nby_id;
	uint64_t gen; /* of the running hold_sync */
	LIST_HEAD(served_list, served) relays;
	/*
	 * Relay slots (STEER_RELAY_MAX), across services: a relay running, or
	 * an upstream connect in flight, which will become one. A held
	 * connection with a routable replica and no free slot waits in
	 * slot_waiters, first come first served, until a slot frees or its
	 * retry timeout; it makes no connect meanwhile, so a replica never
	 * sees a connection that would only be closed again.
	 */
	uint64_t relays_open;
	uint64_t connecting;
	TAILQ_HEAD(wait_list, held) slot_waiters;
	/* Held clients that give up: an epoll set of their sockets, watching
	 * only for the peer's FIN or reset (EPOLLRDHUP, edge-triggered), which
	 * libev cannot ask for. The loop watches the set's own fd. */
	int gone_fd;
	ev_io gone_io;
	/* Per replica id: this agent's connects and relays to it, which the
	 * datapath adds to the kernel's count for max_conns, and the endpoint
	 * they go to: an id given to another replica starts from 0. */
	struct {
		struct endpoint ep;
		uint32_t n;
	} relayed[STEER_MAX_REPLICAS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void stats_publish(struct hold_svc *s)
{
	const struct map_ops *m = s->h->maps;
	int ret = m->hold_stats_put(m->ctx, s->svc_id, &s->stats);

	if (ret)
		log_debug("service %s: cannot write hold stats: %s", s->name, strerror(-ret));
}

static void relay_stats_publish(struct hold_svc *s)
{
	const struct map_ops *m = s->h->maps;
	int ret = m->relay_stats_put(m->ctx, s->svc_id, &s->relay);

	if (ret)
		log_debug("service %s: cannot write relay stats: %s", s->name, strerror(-ret));
}

static bool relay_slot_free(const struct hold *h)
{
	return h->relays_open + h->connecting < h->lim.relay_max;
}

/* One more (delta 1) or one fewer (-1) of our connections to replica rid
 * at ep. One that ends after its replica's id went to another replica
 * leaves the new one's count alone. */
static void relayed_add(struct hold *h, uint32_t rid, const struct endpoint *ep, int delta)
{
	int ret;

	if (rid >= STEER_MAX_REPLICAS)
		return;
	if (!endpoint_equal(&h->relayed[rid].ep, ep)) {
		if (delta < 0)
			return;
		h->relayed[rid].ep = *ep;
		h->relayed[rid].n = 0;
	}
	if (delta < 0 && !h->relayed[rid].n)
		return;
	h->relayed[rid].n += (uint32_t)delta;
	ret = h->maps->relayed_put(h->maps->ctx, rid, h->relayed[rid].n);
	if (ret)
		log_debug("cannot write the relays of replica id %u: %s", rid, strerror(-ret));
}

/* The upstream connect in flight is over: its relay slot is free again. */
static void upstream_close(struct held *c)
{
	struct hold *h = c->svc->h;

	if (c->counted)
		relayed_add(h, c->target_id, &c->target, -1);
	c->counted = false;
	ev_io_stop(h->loop, &c->connect_io);
	close(c->ufd);
	c->ufd = -1;
	h->connecting--;
}

static void slot_wait_end(struct held *c)
{
	if (!c->waits_slot)
		return;
	TAILQ_REMOVE(&c->svc->h->slot_waiters, c, wait_link);
	c->waits_slot = false;
}

/* A client we give up on sees a reset, not a clean close: it was never
 * served, and must not mistake silence for an empty answer. */
static void reset_close(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void held_unlink(struct held *c)
{
	struct hold_svc *s = c->svc;

	LIST_REMOVE(c, link);
	if (s->h->gone_fd >= 0)
		epoll_ctl(s->h->gone_fd, EPOLL_CTL_DEL, c->cfd, NULL);
	ev_timer_stop(s->h->loop, &c->timer);
	if (c->ufd >= 0)
		upstream_close(c);
	slot_wait_end(c);
	s->stats.held_now--;
	s->h->held_now--;
}

static void log_timeline(const struct held *c, const char *outcome)
{
	char buf[TIMELINE_MAX * 12 + 32];
	size_t at = 0;

	if (log_get_level() < LOG_DEBUG)
		return;
	for (uint32_t i = 0; i < c->attempts && i < TIMELINE_MAX && at < sizeof(buf); i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%u", i ? "," : "",
				       c->timeline_us[i]);
	log_debug("service %s: held connection %s after %llu us; attempts at +us: %s; at mono %llu "
		  "ns",
		  c->svc->name, outcome, (unsigned long long)((mono_ns() - c->arrived_ns) / 1000),
		  at ? buf : "none", (unsigned long long)mono_ns());
}

static void on_timeout(struct held *c)
{
	struct hold_svc *s = c->svc;
	double now = ev_now(s->h->loop);

	s->stats.timeouts++;
	s->timeouts_unlogged++;
	if (c->waits_slot) {
		s->relay.refused_full++;
		s->refused_unlogged++;
		relay_stats_publish(s);
	}
	log_timeline(c, c->waits_slot ? "timed out waiting for a relay slot" : "timed out");
	held_unlink(c);
	reset_close(c->cfd);
	free(c);
	/* One line per service per interval, however many time out. */
	if (now - s->timeout_logged_at >= TIMEOUT_LOG_EVERY_S) {
		if (s->refused_unlogged)
			log_warn(
			    "service %s: %llu held connections reset after %u ms; %llu of "
			    "them had a routable replica but no relay slot (STEER_RELAY_MAX=%u)",
			    s->name, (unsigned long long)s->timeouts_unlogged, s->retry.timeout_ms,
			    (unsigned long long)s->refused_unlogged, s->h->lim.relay_max);
		else
			log_warn("service %s: %llu held connections reset after %u ms without a "
				 "routable replica",
				 s->name, (unsigned long long)s->timeouts_unlogged,
				 s->retry.timeout_ms);
		s->timeout_logged_at = now;
		s->timeouts_unlogged = 0;
		s->refused_unlogged = 0;
	}
	stats_publish(s);
}

/* A routable replica, but every relay slot is taken: wait for one, at the
 * back of the queue (or keep its place), until the retry timeout. */
static void wait_for_slot(struct held *c)
{
	struct hold_svc *s = c->svc;
	struct hold *h = s->h;
	uint64_t deadline = c->arrived_ns + (uint64_t)s->retry.timeout_ms * 1000000ull;
	uint64_t now_ns = mono_ns();
	double now = ev_now(h->loop);

	if (now_ns >= deadline) {
		on_timeout(c);
		return;
	}
	if (!c->waits_slot) {
		c->waits_slot = true;
		TAILQ_INSERT_TAIL(&h->slot_waiters, c, wait_link);
		s->relay.slot_waits++;
		s->waits_unlogged++;
		relay_stats_publish(s);
		if (now - s->wait_logged_at >= TIMEOUT_LOG_EVERY_S) {
			log_warn("service %s: %llu served connections wait for a relay slot: "
				 "STEER_RELAY_MAX=%u relays are open; each stays held until one "
				 "ends or its %u ms retry timeout",
				 s->name, (unsigned long long)s->waits_unlogged, h->lim.relay_max,
				 s->retry.timeout_ms);
			s->wait_logged_at = now;
			s->waits_unlogged = 0;
		}
	}
	ev_timer_stop(h->loop, &c->timer);
	ev_timer_set(&c->timer, (double)(deadline - now_ns) / 1e9, 0.);
	ev_timer_start(h->loop, &c->timer);
}

static void attempt(struct held *c);

/* Relay slots freed: the longest waiting held connections go first. One
 * that no longer finds a replica leaves the queue for its backoff. */
static void serve_waiters(struct hold *h)
{
	while (!TAILQ_EMPTY(&h->slot_waiters) && relay_slot_free(h)) {
		struct held *c = TAILQ_FIRST(&h->slot_waiters);

		slot_wait_end(c);
		ev_timer_stop(h->loop, &c->timer);
		attempt(c);
	}
}

/* The relay is over, by either end or by its idle timeout. */
static void served_end(struct served *sv, bool idle)
{
	struct hold *h = sv->h;
	struct hold_svc *s = sv->svc;

	ev_timer_stop(h->loop, &sv->idle);
	LIST_REMOVE(sv, link);
	h->relays_open--;
	if (sv->counted)
		relayed_add(h, sv->rid, &sv->ep, -1);
	if (s) {
		s->relay.open--;
		s->relay.idle_closed += idle;
		relay_stats_publish(s);
	}
	free(sv);
	if (s && s->limited)
		hold_kick_id(h, s->svc_id); /* the replica has room for one more */
}

static void on_relay_done(void *arg, uint64_t up, uint64_t down, int err)
{
	struct served *sv = arg;
	struct hold *h = sv->h;

	log_debug("service %s: relay done: %llu bytes up, %llu down%s%s", sv->name,
		  (unsigned long long)up, (unsigned long long)down, err ? ": " : "",
		  err ? strerror(err) : "");
	served_end(sv, false);
	serve_waiters(h);
}

/* The relay's idle timer: re-armed lazily, from the last byte moved, so the
 * relay touches no timer per byte. */
static void on_relay_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct served *sv = w->data;
	struct hold *h = sv->h;
	double left = relay_last_active(sv->relay) + h->lim.relay_idle_ms / 1000.0 - ev_now(loop);

	(void)revents;
	if (left > 0) {
		/* A one-shot timer that fired must be set again before it starts. */
		ev_timer_set(w, left, 0.);
		ev_timer_start(loop, w);
		return;
	}
	log_debug("service %s: relay reset on both sides after %u ms without a byte moved "
		  "(STEER_RELAY_IDLE_MS)",
		  sv->name, h->lim.relay_idle_ms);
	relay_abort(sv->relay); /* RST both ways, SO_LINGER 0 */
	served_end(sv, true);
	serve_waiters(h);
}

static void on_connected(struct held *c)
{
	struct hold_svc *s = c->svc;
	struct hold *h = s->h;
	uint64_t held_us = (mono_ns() - c->arrived_ns) / 1000;
	int cfd = c->cfd, ufd = c->ufd;
	struct served *sv;

	uint32_t rid = c->target_id;
	struct endpoint target = c->target;
	bool counted = c->counted;

	ev_io_stop(h->loop, &c->connect_io);
	c->ufd = -1; /* the relay owns it now, and its slot */
	c->counted = false;
	h->connecting--;
	log_timeline(c, "served");
	s->stats.served++;
	s->stats.attempts_served += c->attempts;
	hist_record(&s->stats.hold_us, held_us);
	held_unlink(c);
	free(c);
	sv = calloc(1, sizeof(*sv));
	if (sv)
		sv->relay = relay_start(h->loop, cfd, ufd, on_relay_done, sv);
	if (!sv || !sv->relay) {
		log_warn("service %s: cannot relay a served connection: %s", s->name,
			 strerror(errno));
		free(sv);
		reset_close(cfd);
		reset_close(ufd);
		if (counted)
			relayed_add(h, rid, &target, -1);
		s->relay.failed++;
	} else {
		sv->h = h;
		sv->rid = rid;
		sv->ep = target;
		sv->counted = counted;
		sv->svc = s;
		snprintf(sv->name, sizeof(sv->name), "%s", s->name);
		LIST_INSERT_HEAD(&h->relays, sv, link);
		h->relays_open++;
		s->relay.open++;
		s->relay.started++;
		ev_timer_init(&sv->idle, on_relay_idle, h->lim.relay_idle_ms / 1000.0, 0.);
		sv->idle.data = sv;
		if (h->lim.relay_idle_ms)
			ev_timer_start(h->loop, &sv->idle);
	}
	relay_stats_publish(s);
	stats_publish(s);
}

/* Arm the timer for the next attempt, or for the deadline if that comes
 * first. */
static void schedule_next(struct held *c)
{
	struct hold_svc *s = c->svc;
	uint64_t wait_ns;

	if (!backoff_next_wait(&s->retry, c->attempts, c->arrived_ns, mono_ns(), (uint32_t)random(),
			       &wait_ns)) {
		on_timeout(c);
		return;
	}
	ev_timer_set(&c->timer, (double)wait_ns / 1e9, 0.);
	ev_timer_start(s->h->loop, &c->timer);
}

static void on_connect_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct held *c = w->data;
	struct hold *h = c->svc->h;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	(void)revents;
	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		char buf[ADDR_STRLEN];

		log_debug("service %s: attempt %u to %s failed: %s", c->svc->name, c->attempts,
			  endpoint_format(&c->target, buf, sizeof(buf)),
			  strerror(err ? err : errno));
		ev_timer_stop(h->loop, &c->timer);
		upstream_close(c);
		schedule_next(c);
		serve_waiters(h);
		return;
	}
	ev_timer_stop(h->loop, &c->timer);
	on_connected(c);
}

/* The attempt's connect took too long, or a backoff wait ended. */
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct held *c = w->data;
	struct hold *h = c->svc->h;

	(void)loop;
	(void)revents;
	if (c->ufd >= 0) {
		upstream_close(c);
		schedule_next(c);
		serve_waiters(h);
		return;
	}
	attempt(c); /* also a slot waiter's deadline: it times out there */
}

/* A routable replica of the service, chosen by the datapath's rule. Returns
 * 0 and fills ep, or a negative errno. */
static int pick_replica(struct hold_svc *s, struct endpoint *ep, uint32_t *id)
{
	struct steer_svc_key key;

	svc_key_encode(&s->vip, IPPROTO_TCP, &key);
	return svc_pick_routable(s->h->maps, &key, (uint32_t)random(), ep, id);
}

/*
 * Pick a replica and connect to it. With no relay slot free, a routable
 * replica does not make an attempt: the connection waits for a slot
 * (wait_for_slot), and its attempts, first included, count from when it
 * gets one.
 */
static void attempt(struct held *c)
{
	struct hold_svc *s = c->svc;
	struct hold *h = s->h;
	uint64_t offset_us = (mono_ns() - c->arrived_ns) / 1000;
	bool routable = pick_replica(s, &c->target, &c->target_id) == 0;
	struct sockaddr_storage ss;
	socklen_t sslen;
	double budget;
	int fd;

	if (routable && !relay_slot_free(h)) {
		wait_for_slot(c);
		return;
	}
	slot_wait_end(c); /* a kick found a slot before the queue did */
	if (c->attempts < TIMELINE_MAX)
		c->timeline_us[c->attempts] =
		    offset_us > UINT32_MAX ? UINT32_MAX : (uint32_t)offset_us;
	if (c->attempts++ == 0)
		hist_record(&s->stats.first_attempt_us, offset_us);
	s->stats.attempts_total++;
	if (!routable) {
		schedule_next(c);
		return;
	}
	sslen = endpoint_to_sockaddr(&c->target, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, sslen) && errno != EINPROGRESS)) {
		/* fd limits or a refused connect: a failed attempt, not a failure of the agent */
		if (fd >= 0)
			close(fd);
		schedule_next(c);
		return;
	}
	c->ufd = fd;
	h->connecting++; /* takes a relay slot */
	/* and, for max_conns, a place at the replica: counted from now, so the
	 * next held connection does not take the same last one */
	relayed_add(h, c->target_id, &c->target, 1);
	c->counted = true;
	ev_io_init(&c->connect_io, on_connect_io, c->ufd, EV_WRITE);
	c->connect_io.data = c;
	ev_io_start(s->h->loop, &c->connect_io);
	budget =
	    (double)(c->arrived_ns + (uint64_t)s->retry.timeout_ms * 1000000ull - mono_ns()) / 1e9;
	ev_timer_set(
	    &c->timer,
	    budget < ATTEMPT_CONNECT_MAX_S ? (budget > 0 ? budget : 0) : ATTEMPT_CONNECT_MAX_S, 0.);
	ev_timer_start(s->h->loop, &c->timer);
}

/* Out of fds or memory: the connection stays in the listen queue, so the
 * listener stays readable and, watched, would wake the loop at once, again
 * and again. Stop watching it for a moment instead. */
static void pause_accepting(struct hold_lsn *l, int err)
{
	double now = ev_now(l->h->loop);

	ev_io_stop(l->h->loop, &l->accept_io);
	/* Set again each time: a one-shot libev timer that has fired keeps a
	 * spent expiry, and would fire at once if merely started. */
	ev_timer_set(&l->accept_pause, ACCEPT_PAUSE_S, 0.);
	ev_timer_start(l->h->loop, &l->accept_pause);
	if (now - l->pause_logged_at >= TIMEOUT_LOG_EVERY_S) {
		log_warn("hold listener %s: cannot accept a held connection: %s; accepting again "
			 "every %.0f ms meanwhile",
			 l->family == STEER_FAMILY_V6 ? "[::1]" : "127.0.0.1", strerror(err),
			 ACCEPT_PAUSE_S * 1000);
		l->pause_logged_at = now;
	}
}

static void on_accept_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hold_lsn *l = w->data;

	(void)revents;
	ev_io_start(loop, &l->accept_io);
}

/* Without the watch a client that gives up keeps its slot until its
 * timeout; that is all a failure here costs. */
static void watch_for_giving_up(struct hold *h, struct held *c)
{
	struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLET, .data.ptr = c};

	if (h->gone_fd >= 0 && epoll_ctl(h->gone_fd, EPOLL_CTL_ADD, c->cfd, &ev))
		log_debug("service %s: cannot watch a held client: %s", c->svc->name,
			  strerror(errno));
}

/*
 * Held clients that closed or reset: their slots are free at once. A client
 * that half-closes (shutdown(SHUT_WR)) while held counts as gone too, as
 * HAProxy's `option abortonclose` has it: the miss path cannot tell it from
 * one that gave up, and a hold is not worth a slot for a maybe.
 */
static void on_client_gone(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hold *h = w->data;
	struct epoll_event evs[64];
	int n = epoll_wait(h->gone_fd, evs, 64, 0);

	(void)loop;
	(void)revents;
	for (int i = 0; i < n; i++) {
		struct held *c = evs[i].data.ptr;
		struct hold_svc *s = c->svc;

		s->stats.abandoned++;
		log_timeline(c, "given up by the client");
		held_unlink(c);
		close(c->cfd);
		free(c);
		stats_publish(s);
	}
	serve_waiters(h); /* one had a connect in flight, and so a slot */
}

static int vip_cmp(const void *a, const void *b)
{
	const struct endpoint *x = a, *y = b; /* each hold_svc starts with its vip */

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

/* The TCP service at vip, or NULL. */
static struct hold_svc *svc_find(const struct hold *h, const struct endpoint *vip)
{
	struct hold_svc **found = tfind(vip, &h->by_vip, vip_cmp);

	return found ? *found : NULL;
}

static struct hold_svc *svc_by_id(const struct hold *h, uint32_t svc_id)
{
	return svc_id < h->nby_id ? h->by_id[svc_id] : NULL;
}

static void lsn_publish(struct hold_lsn *l)
{
	const struct map_ops *m = l->h->maps;
	int ret = m->hold_put(m->ctx, l->idx, &l->rec);

	if (ret)
		log_debug("cannot write the hold listener's record: %s", strerror(-ret));
}

/* ::ffff:a.b.c.d */
static bool addr_is_v4_mapped(const __be32 a[4])
{
	return a[0] == 0 && a[1] == 0 && a[2] == htonl(0x0000ffff);
}

/*
 * The VIP a local client's connection to listener l was a miss of: the
 * connect hook left it in the client socket's steer_socks_v1 record, next
 * to l's own address as the peer it connected to (in the client's family:
 * ::ffff:127.0.0.1 for a dual-stack socket). The client's socket is the one
 * whose own end is our peer and whose peer is our end. Returns 0 with *vip
 * in l's family, or -1 with *why set.
 */
static int local_origin(struct hold_lsn *l, const struct sockaddr_storage *here,
			const struct sockaddr_storage *peer, struct endpoint *vip, const char **why)
{
	const struct map_ops *m = l->h->maps;
	struct steer_sock rec;
	uint64_t cookie;
	int ret;

	if (!l->h->diag) {
		*why = "sock_diag is not available to find its socket";
		return -1;
	}
	ret = sock_diag_cookie(l->h->diag, peer, here, &cookie);
	if (ret) {
		*why = ret == -ENOENT ? "its socket is gone" : "sock_diag cannot find its socket";
		return -1;
	}
	if (m->sock_get(m->ctx, cookie, &rec)) {
		*why = "its socket was not steered here (no steer_socks_v1 record)";
		return -1;
	}
	for (int i = 0; i < STEER_SOCK_PEERS; i++) {
		const struct steer_sock_peer *p = &rec.peer[i];
		bool same = p->family == l->family && !memcmp(p->addr, l->addr.addr, 16);
		bool mapped = l->family == STEER_FAMILY_V4 && p->family == STEER_FAMILY_V6 &&
			      addr_is_v4_mapped(p->addr) && p->addr[3] == l->addr.addr[0];

		if (!(same || mapped) || p->port != htons(l->addr.port))
			continue;
		memset(vip, 0, sizeof(*vip));
		vip->port = ntohs(p->vip_port);
		if (p->vip_family == l->family) {
			vip->family = p->vip_family;
			memcpy(vip->addr, p->vip, sizeof(vip->addr));
		} else if (mapped && addr_is_v4_mapped(p->vip)) {
			vip->family = STEER_FAMILY_V4;
			vip->addr[0] = p->vip[3];
		} else {
			break;
		}
		return 0;
	}
	*why = "its socket was not steered here (its record names another peer)";
	return -1;
}

/*
 * The service an accepted connection is held for, or NULL with *why set.
 * A connection whose local end is not l's own address was given to l by
 * sk_lookup (bpf/xdp/hold.h) for that address: the VIP. One to l's own
 * address came from this node, and is a miss only if the connect hook sent it.
 */
static struct hold_svc *origin_service(struct hold_lsn *l, int fd,
				       const struct sockaddr_storage *peer, bool *remote,
				       const char **why)
{
	struct sockaddr_storage here;
	socklen_t len = sizeof(here);
	struct endpoint local, vip;
	struct hold_svc *s;

	if (getsockname(fd, (struct sockaddr *)&here, &len) ||
	    endpoint_from_sockaddr(&here, &local)) {
		*why = "its address cannot be read";
		return NULL;
	}
	*remote = !endpoint_equal(&local, &l->addr);
	if (*remote)
		vip = local;
	else if (local_origin(l, &here, peer, &vip, why))
		return NULL;
	s = svc_find(l->h, &vip);
	if (!s)
		*why = "its VIP is not a TCP service";
	return s;
}

/* Not a steered miss: reset at once, counted, never relayed. */
static void refuse_untrusted(struct hold_lsn *l, int fd, const struct sockaddr_storage *peer,
			     const char *why)
{
	double now = ev_now(l->h->loop);
	struct endpoint from = {};
	char buf[ADDR_STRLEN], fbuf[ADDR_STRLEN];

	reset_close(fd);
	l->rec.untrusted++;
	l->untrusted_unlogged++;
	lsn_publish(l);
	if (now - l->untrusted_logged_at < TIMEOUT_LOG_EVERY_S)
		return;
	endpoint_from_sockaddr(peer, &from);
	log_warn("hold listener %s: reset %llu connections that were not a steered miss; the last "
		 "from %s: %s",
		 endpoint_format(&l->addr, buf, sizeof(buf)),
		 (unsigned long long)l->untrusted_unlogged,
		 from.family ? endpoint_format(&from, fbuf, sizeof(fbuf)) : "?", why);
	l->untrusted_logged_at = now;
	l->untrusted_unlogged = 0;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hold_lsn *l = w->data;
	struct hold *h = l->h;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd =
		    accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		const char *why = "";
		struct hold_svc *s;
		bool remote = false;
		struct held *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_accepting(l, errno);
			return; /* EAGAIN: all taken; else the kernel keeps them queued */
		}
		s = origin_service(l, fd, &peer, &remote, &why);
		if (!s) {
			refuse_untrusted(l, fd, &peer, why);
			continue;
		}
		if (remote)
			l->rec.remote++;
		else
			l->rec.local++;
		lsn_publish(l);
		if (h->held_now >= h->lim.hold_max ||
		    (s->max_queued && s->stats.held_now >= s->max_queued) ||
		    !(c = calloc(1, sizeof(*c)))) {
			s->stats.refused_full++;
			reset_close(fd);
			stats_publish(s);
			continue;
		}
		c->svc = s;
		c->cfd = fd;
		c->ufd = -1;
		c->arrived_ns = mono_ns();
		ev_timer_init(&c->timer, on_timer, 0., 0.);
		c->timer.data = c;
		LIST_INSERT_HEAD(&s->conns, c, link);
		watch_for_giving_up(h, c);
		s->stats.held_now++;
		s->stats.held_total++;
		h->held_now++;
		attempt(c); /* the first attempt never waits */
		stats_publish(s);
	}
}

/* A loopback listener of family on an ephemeral port. */
static int open_listener(uint8_t family)
{
	struct endpoint lo = {.family = family};
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (family == STEER_FAMILY_V4)
		lo.addr[0] = htonl(INADDR_LOOPBACK);
	else
		memcpy(lo.addr, &in6addr_loopback, sizeof(lo.addr));
	len = endpoint_to_sockaddr(&lo, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, SOMAXCONN)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * The family's listener, opened on first need and kept until hold_free():
 * the socket goes into steer_hold_socks_v2, which is what the datapath
 * trusts, and its address into steer_hold_v2, for operators (whose
 * counters continue from the last agent's). Returns 0 or -errno.
 */
static int lsn_open(struct hold *h, uint8_t family)
{
	struct hold_lsn *l = &h->lsn[steer_hold_index(family)];
	const struct map_ops *m = h->maps;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int ret;

	if (l->fd >= 0)
		return 0;
	l->fd = open_listener(family);
	if (l->fd < 0)
		return -errno;
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) ||
	    endpoint_from_sockaddr(&ss, &l->addr)) {
		ret = -errno;
		goto fail;
	}
	if (m->hold_get(m->ctx, l->idx, &l->rec))
		memset(&l->rec, 0, sizeof(l->rec));
	l->rec.family = family;
	memcpy(l->rec.addr, l->addr.addr, sizeof(l->rec.addr));
	l->rec.port = htons(l->addr.port);
	memset(l->rec.pad, 0, sizeof(l->rec.pad));
	ret = m->hold_sock_put(m->ctx, l->idx, l->fd);
	if (!ret)
		ret = m->hold_put(m->ctx, l->idx, &l->rec);
	if (ret) {
		m->hold_sock_del(m->ctx, l->idx);
		goto fail;
	}
	ev_io_set(&l->accept_io, l->fd, EV_READ);
	ev_io_start(h->loop, &l->accept_io);
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return ret ? ret : -EIO;
}

/* Unpublish first, so misses fail fast with EHOSTUNREACH from here on; the
 * record keeps its counters for the next agent. */
static void lsn_close(struct hold_lsn *l)
{
	const struct map_ops *m = l->h->maps;

	if (l->fd < 0)
		return;
	m->hold_sock_del(m->ctx, l->idx);
	l->rec.port = 0;
	lsn_publish(l);
	ev_io_stop(l->h->loop, &l->accept_io);
	ev_timer_stop(l->h->loop, &l->accept_pause);
	close(l->fd);
	l->fd = -1;
}

/*
 * Reset the held connections and forget the service. A service gone from
 * the config (gone) also has its counters zeroed in the maps, so a service
 * that later gets its id starts from zero; its relays carry on, counted
 * in the bound but no longer in its stats. At agent exit the counters stay
 * for the next agent (written only if a held connection was reset).
 */
static void svc_free(struct hold_svc *s, bool gone)
{
	struct hold *h = s->h;
	bool dirty = !LIST_EMPTY(&s->conns);
	struct served *sv;

	while (!LIST_EMPTY(&s->conns)) {
		struct held *c = LIST_FIRST(&s->conns);

		held_unlink(c);
		reset_close(c->cfd);
		free(c);
	}
	for (sv = LIST_FIRST(&h->relays); sv; sv = LIST_NEXT(sv, link))
		if (sv->svc == s)
			sv->svc = NULL;
	if (gone) {
		memset(&s->stats, 0, sizeof(s->stats));
		memset(&s->relay, 0, sizeof(s->relay));
		relay_stats_publish(s);
	}
	if (gone || dirty)
		stats_publish(s);
	tdelete(&s->vip, &h->by_vip, vip_cmp);
	if (svc_by_id(h, s->svc_id) == s)
		h->by_id[s->svc_id] = NULL;
	LIST_REMOVE(s, all_link);
	free(s);
}

struct hold *hold_new(struct ev_loop *loop, const struct map_ops *maps,
		      const struct hold_limits *lim)
{
	struct hold *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = loop;
	h->maps = maps;
	LIST_INIT(&h->relays);
	LIST_INIT(&h->svcs);
	TAILQ_INIT(&h->slot_waiters);
	h->lim = *lim;
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++) {
		struct hold_lsn *l = &h->lsn[i];

		l->h = h;
		l->idx = i;
		l->family =
		    i == steer_hold_index(STEER_FAMILY_V6) ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
		l->fd = -1;
		ev_init(&l->accept_io, on_accept);
		l->accept_io.data = l;
		ev_timer_init(&l->accept_pause, on_accept_pause, ACCEPT_PAUSE_S, 0.);
		l->accept_pause.data = l;
		l->pause_logged_at = -TIMEOUT_LOG_EVERY_S;
		l->untrusted_logged_at = -TIMEOUT_LOG_EVERY_S;
	}
	h->diag = sock_diag_open();
	if (!h->diag)
		log_warn("cannot open NETLINK_SOCK_DIAG (%s): misses of clients on this node are "
			 "reset, as their sockets cannot be checked",
			 strerror(errno));
	h->gone_fd = epoll_create1(EPOLL_CLOEXEC);
	if (h->gone_fd < 0) {
		log_warn("cannot watch held clients for giving up (%s): their slots free at "
			 "their timeout",
			 strerror(errno));
	} else {
		ev_io_init(&h->gone_io, on_client_gone, h->gone_fd, EV_READ);
		h->gone_io.data = h;
		ev_io_start(loop, &h->gone_io);
	}
	return h;
}

/* Make room in by_id for svc_id. */
static int by_id_reserve(struct hold *h, uint32_t svc_id)
{
	uint32_t n = h->nby_id ? h->nby_id : 64;
	struct hold_svc **grown;

	if (svc_id < h->nby_id)
		return 0;
	while (n <= svc_id)
		n *= 2;
	grown = realloc(h->by_id, n * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + h->nby_id, 0, (n - h->nby_id) * sizeof(*grown));
	h->by_id = grown;
	h->nby_id = n;
	return 0;
}

static struct hold_svc *svc_new(struct hold *h, const struct svc_config *sc, uint32_t svc_id)
{
	const struct map_ops *m = h->maps;
	struct hold_svc *s, *old;

	if (by_id_reserve(h, svc_id))
		return NULL;
	/* An id reused in this very sync: its old service is gone. */
	old = svc_by_id(h, svc_id);
	if (old)
		svc_free(old, true);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->h = h;
	LIST_INIT(&s->conns);
	s->svc_id = svc_id;
	s->vip = sc->vip;
	if (!tsearch(&s->vip, &h->by_vip, vip_cmp)) {
		free(s);
		return NULL;
	}
	h->by_id[svc_id] = s;
	LIST_INSERT_HEAD(&h->svcs, s, all_link);
	/* Counters continue across agent restarts; held_now and open start
	 * over (written back only if a dead agent left them above 0). */
	m->hold_stats_get(m->ctx, svc_id, &s->stats);
	m->relay_stats_get(m->ctx, svc_id, &s->relay);
	snprintf(s->name, sizeof(s->name), "%s", sc->name);
	if (s->stats.held_now) {
		s->stats.held_now = 0;
		stats_publish(s);
	}
	if (s->relay.open) {
		s->relay.open = 0;
		relay_stats_publish(s);
	}
	s->wait_logged_at = -TIMEOUT_LOG_EVERY_S;
	return s;
}

int hold_sync(struct hold *h, const struct steer_config *cfg)
{
	uint64_t gen = ++h->gen;
	bool failed[STEER_HOLD_FAMILIES] = {false};
	struct hold_svc *s, *next;
	int ret = 0;

	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];
		uint32_t idx = steer_hold_index(sc->vip.family);

		if (sc->proto != IPPROTO_TCP)
			continue;
		s = svc_find(h, &sc->vip);
		if (!s) {
			struct steer_svc_key key;
			struct steer_svc_value val;
			int err = failed[idx] ? 0 : lsn_open(h, sc->vip.family);

			if (err) {
				char buf[ADDR_STRLEN];

				log_err(
				    "cannot open the hold listener for %s (service %s first): %s; "
				    "their misses fail with EHOSTUNREACH",
				    endpoint_format(&sc->vip, buf, sizeof(buf)), sc->name,
				    strerror(-err));
				failed[idx] = true;
				ret = -1;
			}
			svc_key_encode(&sc->vip, sc->proto, &key);
			if (h->maps->svc_get(h->maps->ctx, &key, &val))
				continue;
			s = svc_new(h, sc, val.svc_id);
			if (!s) {
				log_err("service %s: out of memory for its miss path", sc->name);
				ret = -1;
				continue;
			}
		}
		s->gen = gen;
		s->retry = sc->retry;
		s->max_queued = sc->max_queued;
		s->limited = false;
		for (int r = 0; r < sc->nreplicas; r++)
			s->limited = s->limited || replica_max_conns(sc, r) > 0;
		if (strcmp(s->name, sc->name))
			snprintf(s->name, sizeof(s->name), "%s", sc->name);
	}
	for (s = LIST_FIRST(&h->svcs); s; s = next) {
		next = LIST_NEXT(s, all_link);
		if (s->gen != gen)
			svc_free(s, true);
	}
	serve_waiters(h); /* connects of removed services held slots */
	/* A replica may have been added: held connections try again now. */
	LIST_FOREACH(s, &h->svcs, all_link)
	if (!LIST_EMPTY(&s->conns))
		hold_kick_id(h, s->svc_id);
	return ret;
}

void hold_kick_id(struct hold *h, uint32_t svc_id)
{
	struct hold_svc *s = svc_by_id(h, svc_id);
	struct held *c, *next;

	if (!s)
		return;
	for (c = LIST_FIRST(&s->conns); c; c = next) {
		next = LIST_NEXT(c, link); /* attempt() may serve and free c */
		if (c->ufd >= 0)
			continue; /* a connect is already on its way */
		ev_timer_stop(h->loop, &c->timer);
		attempt(c);
	}
}

void hold_slot_freed(struct hold *h, uint32_t svc_id)
{
	struct hold_svc *s = svc_by_id(h, svc_id);

	if (s && s->limited)
		hold_kick_id(h, svc_id);
}

void hold_kick(struct hold *h, const char *service)
{
	struct hold_svc *s;

	LIST_FOREACH(s, &h->svcs, all_link)
	if (!LIST_EMPTY(&s->conns) && !strcmp(s->name, service))
		hold_kick_id(h, s->svc_id);
}

void hold_free(struct hold *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++)
		lsn_close(&h->lsn[i]);
	/* Relays first, so each service's stats say none is open. */
	while (!LIST_EMPTY(&h->relays)) {
		struct served *sv = LIST_FIRST(&h->relays);

		relay_abort(sv->relay);
		served_end(sv, false);
	}
	while (!LIST_EMPTY(&h->svcs))
		svc_free(LIST_FIRST(&h->svcs), false);
	free(h->by_id);
	sock_diag_close(h->diag);
	if (h->gone_fd >= 0) {
		ev_io_stop(h->loop, &h->gone_io);
		close(h->gone_fd);
	}
	free(h);
}
