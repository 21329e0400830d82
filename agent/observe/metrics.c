/* The Prometheus endpoint (see metrics.h).
 *
 * Two halves: metrics_render() turns a snapshot into text and does no I/O;
 * the rest reads the pinned maps into a snapshot (the walk `steer status`
 * does: services -> active slot bank -> replicas) and serves it over HTTP
 * from libmicrohttpd's thread. That thread never touches the agent's memory:
 * each scrape opens the pinned maps, reads them and closes them again. */
#include "observe/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "lib/hist.h"
#include "maps/keys.h"
#include "maps/mapops.h"

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_TIMEOUT_S	10
#define CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"

/* ---- rendering (pure) ---- */

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
	FAM_REPLICA_FAILED,  /* per replica */
	FAM_REPLICA_STATE,   /* per replica and state */
	FAM_EJECTIONS,	     /* per service and reason */
};

struct family {
	const char *name, *type, *help;
	enum family_kind kind;
	bool tcp_only; /* the miss path and failed connects exist for TCP only */
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
    {"steer_replica_failed_connects_total", "counter",
     "Connects to this replica that failed (TCP services).", FAM_REPLICA_FAILED, true, 0},
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
     "Missed connections refused at once because STEER_HOLD_MAX were held.", FAM_SVC_U64, true,
     SVC_OFF(hold.refused_full)},
    {"steer_retry_attempts_total", "counter", "Connect attempts made for held connections.",
     FAM_SVC_U64, true, SVC_OFF(hold.attempts_total)},
    {"steer_hold_duration_seconds", "histogram",
     "Time from arrival to relaying of held connections that were served." APPROX_SUM, FAM_SVC_HIST,
     true, SVC_OFF(hold.hold_us)},
    {"steer_first_attempt_seconds", "histogram",
     "Time from arrival to the first connect attempt of held connections." APPROX_SUM, FAM_SVC_HIST,
     true, SVC_OFF(hold.first_attempt_us)},
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
	return f->kind == FAM_REPLICA_STEERED || f->kind == FAM_REPLICA_FAILED ||
	       f->kind == FAM_REPLICA_STATE;
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
		for (int r = 0; r < svc->nreplicas && r < STEER_MAX_SLOTS; r++)
			out_replica(b, f, svc, &svc->replicas[r]);
		break;
	}
}

int metrics_render(const struct metrics_snapshot *s, char **out, size_t *len)
{
	struct outbuf b = {};
	struct labels l = {.extra_key = "version", .extra_value = s->version ? s->version : ""};

	out_family(&b, "steer_build_info", "gauge", "Build of the running steer agent; always 1.");
	out_u64(&b, "steer_build_info", &l, 1);
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

/* ---- collecting a snapshot from the pinned maps ---- */

static void load_replica(const struct map_fds *fds, uint8_t proto, uint32_t id,
			 const struct steer_replica *r, struct metrics_replica *out)
{
	struct steer_backend_key bk;
	struct steer_backend be = {};
	struct endpoint ep;

	replica_decode(r, &ep);
	endpoint_format(&ep, out->addr, sizeof(out->addr));
	out->state = r->state;
	map_percpu_sum(fds->replica_stats, id, &out->steered, 1);
	if (proto == IPPROTO_TCP) {
		backend_key_encode(&ep, IPPROTO_TCP, &bk);
		if (bpf_map_lookup_elem(fds->backends, &bk, &be) == 0)
			out->failed_connects = be.failed_connects;
	}
}

/* One service and the replicas of its active slot bank. */
static int load_service(const struct map_fds *fds, const struct steer_svc_key *key,
			struct metrics_service *svc)
{
	struct steer_svc_name name = {};
	struct steer_svc_value val;
	struct endpoint vip;
	uint64_t counters[3];

	if (bpf_map_lookup_elem(fds->svc, key, &val))
		return -errno;
	if (val.svc_id >= STEER_MAX_SERVICES || val.count > STEER_MAX_SLOTS ||
	    val.bank >= STEER_SLOT_BANKS)
		return -EUCLEAN;
	svc_key_decode(key, &vip, &svc->proto);
	/* The config accepts no '#' in a name, so this fallback is unique. */
	if (bpf_map_lookup_elem(fds->names, &val.svc_id, &name) == 0 && name.name[0])
		memcpy(svc->name, name.name, sizeof(svc->name) - 1);
	else
		snprintf(svc->name, sizeof(svc->name), "#%u", val.svc_id);
	if (map_percpu_sum(fds->svc_stats, val.svc_id, counters, 3) == 0) {
		svc->stats.steered = counters[0];
		svc->stats.misses = counters[1];
		svc->stats.errors = counters[2];
	}
	bpf_map_lookup_elem(fds->hold_stats, &val.svc_id, &svc->hold);
	bpf_map_lookup_elem(fds->check_stats, &val.svc_id, &svc->checks);
	for (uint32_t i = 0; i < val.count; i++) {
		uint32_t idx = steer_slot_index(val.svc_id, val.bank, i);
		struct steer_replica r;
		struct steer_slot slot;

		if (bpf_map_lookup_elem(fds->slots, &idx, &slot) ||
		    bpf_map_lookup_elem(fds->replicas, &slot.replica_id, &r))
			continue;
		load_replica(fds, svc->proto, slot.replica_id, &r, &svc->replicas[svc->nreplicas]);
		svc->nreplicas++;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct metrics_service *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Read every service under pin_dir into s (services calloc'd: free them). */
static int collect(const char *pin_dir, struct metrics_snapshot *s)
{
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	int ret;

	s->nservices = 0;
	s->services = calloc(STEER_MAX_SERVICES, sizeof(*s->services));
	if (!s->services)
		return -ENOMEM;
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret)
		return ret;
	while (s->nservices < STEER_MAX_SERVICES &&
	       bpf_map_get_next_key(fds.svc, prevp, &key) == 0) {
		struct metrics_service *svc = &s->services[s->nservices];

		prev = key;
		prevp = &prev;
		if (load_service(&fds, &key, svc) == 0)
			s->nservices++;
		else
			memset(svc, 0, sizeof(*svc)); /* removed meanwhile */
	}
	map_fds_close(&fds);
	qsort(s->services, (size_t)s->nservices, sizeof(*s->services), by_name);
	return 0;
}

/* ---- HTTP ---- */

struct metrics {
	struct MHD_Daemon *daemon;
	char pin_dir[PATH_MAX];
};

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result scrape(struct metrics *m, struct MHD_Connection *conn)
{
	struct metrics_snapshot s = {.version = STEER_VERSION};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char msg[PATH_MAX + 128], *text = NULL;
	size_t len = 0;
	int err;

	err = collect(m->pin_dir, &s);
	if (err)
		snprintf(msg, sizeof(msg), "cannot read the maps pinned under %s: %s\n", m->pin_dir,
			 strerror(-err));
	else if ((err = metrics_render(&s, &text, &len)))
		snprintf(msg, sizeof(msg), "cannot render the metrics (limit %u bytes): %s\n",
			 METRICS_MAX_BYTES, strerror(-err));
	free(s.services);
	if (err)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, NULL);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* GET (and HEAD, which every HTTP server must take where it takes GET)
 * /metrics; 404 for any other path, 405 for other methods. A request body
 * is never read: the answer goes out on the first call. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: steer serves /metrics\n",
				  NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: use GET\n", "GET, HEAD");
	return scrape(cls, conn);
}

/* A listening TCP socket bound to ep only (IPv6: v6 only). Returns the fd or
 * a negative errno. */
static int listen_on(const struct endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	sslen = endpoint_to_sockaddr(ep, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

struct metrics *metrics_start(const char *addr, const char *pin_dir, char *err, size_t errlen)
{
	struct metrics *m;
	struct endpoint ep;
	char why[256];
	int fd;

	if (endpoint_parse(addr, &ep, why, sizeof(why))) {
		snprintf(err, errlen, "STEER_METRICS_ADDR='%s': %s", addr, why);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics on %s: out of memory", addr);
		return NULL;
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	fd = listen_on(&ep);
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot serve metrics on %s: %s (set STEER_METRICS_ADDR to a free local "
			 "ADDR:PORT, or to off)",
			 addr, strerror(-fd));
		free(m);
		return NULL;
	}
	/* The thread inherits the caller's signal mask: the agent blocks the
	 * signals its event loop reads from a signalfd before calling us. */
	m->daemon = MHD_start_daemon(
	    MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL, NULL, on_request,
	    m, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)METRICS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, errlen,
			 "cannot serve metrics on %s: libmicrohttpd failed to start (set "
			 "STEER_METRICS_ADDR=off to run without metrics)",
			 addr);
		/* MHD closes a listen socket it was given only once it started. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon); /* joins the thread and closes the socket */
	free(m);
}
