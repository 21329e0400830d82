/* Prometheus text format 0.0.4 from a snapshot (see metrics.h): a pure
 * function, no I/O, for the unit tests. */
#include "observe/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "lib/hist.h"
#include "observe/xdp_counters.h"

struct outbuf {
	char *p;
	size_t len, cap;
	int err; /* first failure: -ENOMEM or -EFBIG; later writes do nothing */
};

/* Room for n more bytes and a NUL. */
static bool out_reserve(struct outbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 16384;
	char *p;

	if (b->err)
		return false;
	if (n >= METRICS_MAX_BYTES - b->len) {
		b->err = -EFBIG;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > METRICS_MAX_BYTES)
		cap = METRICS_MAX_BYTES;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void out_write(struct outbuf *b, const char *s, size_t n)
{
	if (!out_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void out_str(struct outbuf *b, const char *s)
{
	out_write(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct outbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		out_write(b, small, (size_t)n);
		return;
	}
	if (!out_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A label value as the text format wants it: \ " and newline escaped. The
 * config accepts only ASCII names, so the page is valid UTF-8 as well. */
static void out_label_value(struct outbuf *b, const char *s)
{
	out_str(b, "\"");
	for (; *s; s++) {
		if (*s == '\\')
			out_str(b, "\\\\");
		else if (*s == '"')
			out_str(b, "\\\"");
		else if (*s == '\n')
			out_str(b, "\\n");
		else
			out_write(b, s, 1);
	}
	out_str(b, "\"");
}

/* Microseconds as decimal seconds, exactly: 1 -> 0.000001, 1500000 -> 1.5. */
static char *format_seconds(uint64_t us, char *buf, size_t len)
{
	int n;

	if (us % 1000000 == 0) {
		snprintf(buf, len, "%llu", (unsigned long long)(us / 1000000));
		return buf;
	}
	n = snprintf(buf, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
		     (unsigned long long)(us % 1000000));
	while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
	return buf;
}

static void out_family(struct outbuf *b, const char *name, const char *type, const char *help)
{
	out_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels of one series; NULL members are left out. extra_key/extra_value
 * come last (state=, reason=, le=). */
struct labels {
	const char *service;
	const char *replica;
	const char *extra_key;
	const char *extra_value;
};

/* name{labels} without the value; suffix is appended to name ("_bucket"). */
static void out_series(struct outbuf *b, const char *name, const char *suffix,
		       const struct labels *l)
{
	const char *keys[] = {"service", "replica", l->extra_key};
	const char *vals[] = {l->service, l->replica, l->extra_value};
	bool first = true;

	out_str(b, name);
	out_str(b, suffix);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i] || !vals[i])
			continue;
		out_str(b, first ? "{" : ",");
		out_str(b, keys[i]);
		out_str(b, "=");
		out_label_value(b, vals[i]);
		first = false;
	}
	if (!first)
		out_str(b, "}");
	out_str(b, " ");
}

static void out_u64(struct outbuf *b, const char *name, const struct labels *l, uint64_t v)
{
	out_series(b, name, "", l);
	out_printf(b, "%llu\n", (unsigned long long)v);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* A steer_hist as a Prometheus histogram: cumulative buckets from bucket 0 up
 * to the last non-empty one (so the set of le values only grows as samples
 * come), then +Inf, _sum and _count. Buckets with the same upper bound (1 and
 * 2, see hist.h) make one le. The last bucket is open-ended: its samples are
 * in +Inf only, and count in _sum at its lower bound. */
static void out_hist(struct outbuf *b, const char *name, const char *service,
		     const struct steer_hist *h)
{
	const uint32_t open = STEER_HIST_BUCKETS - 1;
	struct labels l = {.service = service, .extra_key = "le"};
	uint64_t cum = 0, sum_us = 0, total = hist_count(h);
	uint32_t last = 0, lim;
	char le[32];

	for (uint32_t i = 0; i < STEER_HIST_BUCKETS; i++)
		if (h->count[i])
			last = i;
	lim = last < open ? last : open - 1;
	for (uint32_t i = 0; total && i <= lim; i++) {
		uint64_t up = hist_bucket_upper_us(i);

		cum = add_sat(cum, h->count[i]);
		sum_us = add_sat(sum_us, mul_sat(h->count[i], up));
		if (i < lim && hist_bucket_upper_us(i + 1) == up)
			continue;
		l.extra_value = format_seconds(up, le, sizeof(le));
		out_series(b, name, "_bucket", &l);
		out_printf(b, "%llu\n", (unsigned long long)cum);
	}
	if (h->count[open])
		sum_us =
		    add_sat(sum_us, mul_sat(h->count[open], hist_bucket_upper_us(open - 1) + 1));
	l.extra_value = "+Inf";
	out_series(b, name, "_bucket", &l);
	out_printf(b, "%llu\n", (unsigned long long)total);
	l.extra_key = NULL;
	out_series(b, name, "_sum", &l);
	out_str(b, format_seconds(sum_us, le, sizeof(le)));
	out_str(b, "\n");
	out_series(b, name, "_count", &l);
	out_printf(b, "%llu\n", (unsigned long long)total);
}

enum family_kind {
	FAM_SVC_U64,	     /* a uint64_t of struct metrics_service at off */
	FAM_SVC_HIST,	     /* a struct steer_hist of struct metrics_service at off */
	FAM_REPLICA_STEERED, /* per replica */
	FAM_REPLICA_ACTIVE,  /* per replica */
	FAM_REPLICA_FAILED,  /* per replica */
	FAM_REPLICA_STATE,   /* per replica and state */
	FAM_EJECTIONS,	     /* per service and reason */
};

struct family {
	const char *name, *type, *help;
	enum family_kind kind;
	bool tcp_only; /* the miss path and active connections exist for TCP only */
	size_t off;
};

#define SVC_OFF(field) offsetof(struct metrics_service, field)
#define APPROX_SUM     " _sum is approximate: each sample counts at its bucket's upper bound."

static const struct family families[] = {
    {"steer_connections_steered_total", "counter",
     "Connects and datagrams the datapath rewrote to a replica.", FAM_SVC_U64, false,
     SVC_OFF(stats.steered)},
    {"steer_misses_total", "counter", "Connects and datagrams that found no routable replica.",
     FAM_SVC_U64, false, SVC_OFF(stats.misses)},
    {"steer_datapath_errors_total", "counter",
     "Connects and datagrams refused because a map lookup failed (fail closed).", FAM_SVC_U64,
     false, SVC_OFF(stats.errors)},
    {"steer_replica_connections_steered_total", "counter",
     "Connects and datagrams the datapath sent to this replica.", FAM_REPLICA_STEERED, false, 0},
    {"steer_replica_active_connections", "gauge",
     "TCP connections steered to this replica and not closed yet.", FAM_REPLICA_ACTIVE, true, 0},
    {"steer_replica_failed_connects_total", "counter",
     "Connects to this replica that failed (TCP), or ICMP errors that sockets steer connected "
     "to it got (UDP services with checks).",
     FAM_REPLICA_FAILED, false, 0},
    {"steer_replica_state", "gauge",
     "1 for the replica's current state (up, down, draining, unknown), 0 for the others.",
     FAM_REPLICA_STATE, false, 0},
    {"steer_held_connections", "gauge",
     "Connections held right now, waiting for a routable replica (TCP services).", FAM_SVC_U64,
     true, SVC_OFF(hold.held_now)},
    {"steer_hold_served_total", "counter", "Held connections then relayed to a replica.",
     FAM_SVC_U64, true, SVC_OFF(hold.served)},
    {"steer_hold_timeouts_total", "counter",
     "Held connections reset when the service's retry timeout ran out.", FAM_SVC_U64, true,
     SVC_OFF(hold.timeouts)},
    {"steer_hold_refused_full_total", "counter",
     "Missed connections refused at once because STEER_HOLD_MAX, or the service's max_queued, "
     "were held.",
     FAM_SVC_U64, true, SVC_OFF(hold.refused_full)},
    {"steer_pass_local_total", "counter",
     "Connects steered to a replica on this node (the first pass of a pick).", FAM_SVC_U64, false,
     SVC_OFF(lb.pass[STEER_TIER_LOCAL])},
    {"steer_pass_zone_total", "counter",
     "Connects steered to a replica in STEER_ZONE (the second pass of a pick).", FAM_SVC_U64, false,
     SVC_OFF(lb.pass[STEER_TIER_ZONE])},
    {"steer_pass_any_total", "counter",
     "Connects steered to any other replica (the last pass of a pick).", FAM_SVC_U64, false,
     SVC_OFF(lb.pass[STEER_TIER_ANY])},
    {"steer_hold_abandoned_total", "counter",
     "Held connections that their client closed or reset before a replica took them.", FAM_SVC_U64,
     true, SVC_OFF(hold.abandoned)},
    {"steer_retry_attempts_total", "counter", "Connect attempts made for held connections.",
     FAM_SVC_U64, true, SVC_OFF(hold.attempts_total)},
    {"steer_hold_duration_seconds", "histogram",
     "Time from arrival to relaying of held connections that were served." APPROX_SUM, FAM_SVC_HIST,
     true, SVC_OFF(hold.hold_us)},
    {"steer_first_attempt_seconds", "histogram",
     "Time from arrival to the first connect attempt of held connections." APPROX_SUM, FAM_SVC_HIST,
     true, SVC_OFF(hold.first_attempt_us)},
    {"steer_relays_open", "gauge",
     "Held-then-served connections the agent relays right now (TCP services).", FAM_SVC_U64, true,
     SVC_OFF(relay.open)},
    {"steer_relays_total", "counter", "Relays of held-then-served connections started.",
     FAM_SVC_U64, true, SVC_OFF(relay.started)},
    {"steer_relay_slot_waits_total", "counter",
     "Held connections with a routable replica that waited for a relay slot because "
     "STEER_RELAY_MAX relays were open.",
     FAM_SVC_U64, true, SVC_OFF(relay.slot_waits)},
    {"steer_relays_refused_total", "counter",
     "Held connections reset at their retry timeout while waiting for a relay slot "
     "(STEER_RELAY_MAX); also in steer_hold_timeouts_total.",
     FAM_SVC_U64, true, SVC_OFF(relay.refused_full)},
    {"steer_relays_idle_closed_total", "counter",
     "Relays reset on both sides after STEER_RELAY_IDLE_MS without a byte moved.", FAM_SVC_U64,
     true, SVC_OFF(relay.idle_closed)},
    {"steer_relay_failures_total", "counter",
     "Served connections reset because no relay could start (out of fds or memory).", FAM_SVC_U64,
     true, SVC_OFF(relay.failed)},
    {"steer_health_checks_total", "counter", "Active health checks completed.", FAM_SVC_U64, false,
     SVC_OFF(checks.checks)},
    {"steer_health_check_failures_total", "counter", "Active health checks that failed.",
     FAM_SVC_U64, false, SVC_OFF(checks.check_failures)},
    {"steer_health_check_duration_seconds", "histogram",
     "Duration of active health checks." APPROX_SUM, FAM_SVC_HIST, false,
     SVC_OFF(checks.duration_us)},
    {"steer_ejections_total", "counter",
     "Replicas taken out of selection, by reason (listener_closed, connect_failed, "
     "check_failed).",
     FAM_EJECTIONS, false, 0},
};

static const struct {
	uint8_t state;
	const char *name;
} replica_states[] = {
    {STEER_REPLICA_UP, "up"},
    {STEER_REPLICA_DOWN, "down"},
    {STEER_REPLICA_DRAINING, "draining"},
    {STEER_REPLICA_UNKNOWN, "unknown"},
};

static const struct {
	uint8_t reason;
	const char *name;
} eject_reasons[] = {
    {STEER_EJECT_LISTENER_CLOSED, "listener_closed"},
    {STEER_EJECT_CONNECT_FAILED, "connect_failed"},
    {STEER_EJECT_CHECK_FAILED, "check_failed"},
};

static bool family_applies(const struct family *f, const struct metrics_service *svc)
{
	return !f->tcp_only || svc->proto == IPPROTO_TCP;
}

static bool is_replica_family(const struct family *f)
{
	return f->kind == FAM_REPLICA_STEERED || f->kind == FAM_REPLICA_ACTIVE ||
	       f->kind == FAM_REPLICA_FAILED || f->kind == FAM_REPLICA_STATE;
}

/* Has the family at least one series in s? */
static bool family_has_series(const struct family *f, const struct metrics_snapshot *s)
{
	for (int i = 0; i < s->nservices; i++)
		if (family_applies(f, &s->services[i]) &&
		    (!is_replica_family(f) || s->services[i].nreplicas > 0))
			return true;
	return false;
}

static void out_replica(struct outbuf *b, const struct family *f, const struct metrics_service *svc,
			const struct metrics_replica *r)
{
	struct labels l = {.service = svc->name, .replica = r->addr};

	switch (f->kind) {
	case FAM_REPLICA_ACTIVE:
		out_u64(b, f->name, &l, r->active);
		break;
	case FAM_REPLICA_STEERED:
		out_u64(b, f->name, &l, r->steered);
		break;
	case FAM_REPLICA_FAILED:
		out_u64(b, f->name, &l, r->failed_connects);
		break;
	case FAM_REPLICA_STATE:
		l.extra_key = "state";
		for (size_t k = 0; k < sizeof(replica_states) / sizeof(replica_states[0]); k++) {
			l.extra_value = replica_states[k].name;
			out_u64(b, f->name, &l, r->state == replica_states[k].state);
		}
		break;
	default:
		break;
	}
}

static void out_service(struct outbuf *b, const struct family *f, const struct metrics_service *svc)
{
	const char *base = (const char *)svc;
	struct labels l = {.service = svc->name};

	switch (f->kind) {
	case FAM_SVC_U64: {
		uint64_t v;

		memcpy(&v, base + f->off, sizeof(v));
		out_u64(b, f->name, &l, v);
		break;
	}
	case FAM_SVC_HIST:
		out_hist(b, f->name, svc->name, (const struct steer_hist *)(base + f->off));
		break;
	case FAM_EJECTIONS:
		l.extra_key = "reason";
		for (size_t k = 0; k < sizeof(eject_reasons) / sizeof(eject_reasons[0]); k++) {
			l.extra_value = eject_reasons[k].name;
			out_u64(b, f->name, &l, svc->checks.ejections[eject_reasons[k].reason]);
		}
		break;
	default:
		for (int r = 0; r < svc->nreplicas; r++)
			out_replica(b, f, svc, &svc->replicas[r]);
		break;
	}
}

/* The registry watch: its state as one series per state (1 for the current
 * one), since when, the revisions seen and applied, and the keys applied. */
static void out_registry(struct outbuf *b, const struct steer_registry_status *r)
{
	static const char *const states[] = {"connecting", "connected", "stale"};
	static const char *const kinds[] = {"services", "replicas", "skipped"};
	const uint32_t counts[] = {r->services, r->replicas, r->skipped};
	struct labels l = {.extra_key = "state"};

	out_family(b, "steer_registry_state", "gauge",
		   "The etcd registry watch: 1 for its state (connecting before the first "
		   "listing, connected, stale while etcd cannot be reached), 0 for the others.");
	for (uint32_t i = 0; i < 3; i++) {
		l.extra_value = states[i];
		out_u64(b, "steer_registry_state", &l, r->conn == i + STEER_REGISTRY_CONNECTING);
	}
	l = (struct labels){0};
	out_family(b, "steer_registry_state_since_seconds", "gauge",
		   "Unix time at which the registry watch entered its state.");
	out_u64(b, "steer_registry_state_since_seconds", &l, r->since_ns / 1000000000ull);
	out_family(b, "steer_registry_revision", "gauge", "The etcd revision the agent has seen.");
	out_u64(b, "steer_registry_revision", &l, r->revision > 0 ? (uint64_t)r->revision : 0);
	out_family(b, "steer_registry_applied_revision", "gauge",
		   "The etcd revision of the config in the maps.");
	out_u64(b, "steer_registry_applied_revision", &l,
		r->applied_revision > 0 ? (uint64_t)r->applied_revision : 0);
	out_family(b, "steer_registry_keys", "gauge",
		   "Registry keys in the applied config: services, replicas, and keys skipped "
		   "(bad, or clashing with the config file).");
	l.extra_key = "kind";
	for (size_t i = 0; i < 3; i++) {
		l.extra_value = kinds[i];
		out_u64(b, "steer_registry_keys", &l, counts[i]);
	}
}

/* The hold listeners, both families summed; only once an agent made one. */
static void out_hold_listeners(struct outbuf *b, const struct steer_hold *hold)
{
	static const char *const origins[] = {"local", "remote", "untrusted"};
	struct labels l = {.extra_key = "origin"};

	out_family(b, "steer_hold_listener_connections_total", "counter",
		   "Connections the hold listeners accepted, by origin: local (a miss of this "
		   "node's connect hook), remote (a miss given over by sk_lookup) or untrusted "
		   "(no steered miss: reset at once, never relayed).");
	for (size_t i = 0; i < 3; i++) {
		uint64_t n = 0;

		for (uint32_t f = 0; f < STEER_HOLD_FAMILIES; f++)
			n += i == 0 ? hold[f].local : i == 1 ? hold[f].remote : hold[f].untrusted;
		l.extra_value = origins[i];
		out_u64(b, "steer_hold_listener_connections_total", &l, n);
	}
}

int metrics_render(const struct metrics_snapshot *s, char **out, size_t *len)
{
	struct outbuf b = {};
	struct labels l = {.extra_key = "version", .extra_value = s->version ? s->version : ""};

	out_family(&b, "steer_build_info", "gauge", "Build of the running steer agent; always 1.");
	out_u64(&b, "steer_build_info", &l, 1);
	l = (struct labels){0};
	out_family(&b, "steer_sockets_open", "gauge",
		   "Sockets steered to a replica or the hold path and not closed yet.");
	out_u64(&b, "steer_sockets_open", &l,
		s->socks.tracked > s->socks.released ? s->socks.tracked - s->socks.released : 0);
	out_family(&b, "steer_sockets_aborted_total", "counter",
		   "Connected sockets aborted because their replica left (connected UDP; TCP "
		   "with STEER_SOCK_DESTROY_TCP=on).");
	out_u64(&b, "steer_sockets_aborted_total", &l, s->socks.destroyed);
	if (s->hold[0].family || s->hold[1].family)
		out_hold_listeners(&b, s->hold);
	if (s->xdp) {
		out_family(
		    &b, "steer_xdp_packets_total", "counter",
		    "Packets the XDP path (and its tc reply rewrite) handled, by what it did.");
		l.extra_key = "result";
		for (size_t i = 0; i < xdp_ncounters; i++) {
			l.extra_value = xdp_counters[i].name;
			out_u64(&b, "steer_xdp_packets_total", &l,
				xdp_counter_value(&s->xdp_stats, i));
		}
		l = (struct labels){0};
	}
	if (s->registry.conn != STEER_REGISTRY_NONE)
		out_registry(&b, &s->registry);
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		if (!family_has_series(&families[f], s))
			continue;
		out_family(&b, families[f].name, families[f].type, families[f].help);
		for (int i = 0; i < s->nservices; i++)
			if (family_applies(&families[f], &s->services[i]))
				out_service(&b, &families[f], &s->services[i]);
	}
	if (b.err) {
		free(b.p);
		*out = NULL;
		*len = 0;
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
