/* `steer status` output (see status_render.h): pure functions of a snapshot. */
#include "observe/status_render.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include <jansson.h>

#include "health/health.h"
#include "observe/xdp_counters.h"
#include "lib/addr.h"
#include "lib/hist.h"
#include "maps/keys.h"

static const char *check_result_name(uint8_t r)
{
	static const char *const names[] = {"none",	  "ok",		  "refused", "timeout",
					    "bad-status", "bad-response", "error"};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static const char *eject_reason_name(uint8_t r)
{
	static const char *const names[] = {"none", "listener-closed", "connect-failed",
					    "check-failed"};

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ISO 8601 UTC of a CLOCK_REALTIME ns value, "-" for none. */
static const char *iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* Attempts per served connection, as a decimal. */
static double attempts_per_served(const struct steer_hold_stats *h)
{
	return h->served ? (double)h->attempts_served / (double)h->served : 0.0;
}

/* The pass of a pick a tier's replicas serve: this node, this zone, any. */
static const char *tier_name(uint8_t tier)
{
	return tier == STEER_TIER_LOCAL ? "local" : tier == STEER_TIER_ZONE ? "zone" : "any";
}

static void print_hold_text(const struct steer_hold_stats *h, FILE *out)
{
	fprintf(out,
		"  hold: now=%llu held=%llu served=%llu timeouts=%llu refused_full=%llu "
		"abandoned=%llu attempts/served=%.2f hold_p50=%lluus hold_p99=%lluus "
		"first_attempt_p50=%lluus "
		"first_attempt_p99=%lluus\n",
		(unsigned long long)h->held_now, (unsigned long long)h->held_total,
		(unsigned long long)h->served, (unsigned long long)h->timeouts,
		(unsigned long long)h->refused_full, (unsigned long long)h->abandoned,
		attempts_per_served(h), (unsigned long long)hist_percentile_us(&h->hold_us, 50),
		(unsigned long long)hist_percentile_us(&h->hold_us, 99),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 50),
		(unsigned long long)hist_percentile_us(&h->first_attempt_us, 99));
}

/* "127.0.0.1:PORT" or "[::1]:PORT" of a hold listener's record. */
static const char *hold_listener_addr(const struct steer_hold *h, char *buf, size_t len)
{
	struct endpoint ep = {.family = h->family, .port = ntohs(h->port)};

	memcpy(ep.addr, h->addr, sizeof(ep.addr));
	return endpoint_format(&ep, buf, len);
}

/* Has an agent ever opened the listener? */
static bool hold_listener_used(const struct steer_hold *h)
{
	return h->port || h->local || h->remote || h->untrusted;
}

/* The miss path's listeners, one line each: where (or "closed" once no
 * agent holds it) and what reached it. A family never used is left out. */
static void print_hold_listeners_text(const struct steer_hold *hold, FILE *out)
{
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++) {
		const struct steer_hold *h = &hold[i];
		char addr[ADDR_STRLEN];

		if (!hold_listener_used(h))
			continue;
		fprintf(out, "hold listener %s %s local=%llu remote=%llu untrusted=%llu\n",
			i ? "ipv6" : "ipv4",
			h->port ? hold_listener_addr(h, addr, sizeof(addr)) : "closed",
			(unsigned long long)h->local, (unsigned long long)h->remote,
			(unsigned long long)h->untrusted);
	}
}

/* Sockets with a record in steer_socks_v1 now: steered, not yet closed. */
static uint64_t sockets_open(const struct steer_sock_stats *st)
{
	return st->tracked > st->released ? st->tracked - st->released : 0;
}

static void print_relay_text(const struct steer_relay_stats *r, FILE *out)
{
	fprintf(out,
		"  relays: open=%llu started=%llu slot_waits=%llu refused_full=%llu "
		"idle_closed=%llu failed=%llu\n",
		(unsigned long long)r->open, (unsigned long long)r->started,
		(unsigned long long)r->slot_waits, (unsigned long long)r->refused_full,
		(unsigned long long)r->idle_closed, (unsigned long long)r->failed);
}

static const char *registry_conn_name(uint32_t conn)
{
	switch (conn) {
	case STEER_REGISTRY_CONNECTING:
		return "connecting";
	case STEER_REGISTRY_CONNECTED:
		return "connected";
	case STEER_REGISTRY_STALE:
		return "stale";
	default:
		return "none";
	}
}

/* "registry etcd member=... connected since=T revision=R applied=R2 at=T ..." */
static void print_registry_text(const struct steer_registry_status *r, FILE *out)
{
	char since[32], at[32];

	fprintf(out,
		"registry etcd member=%.64s %s since=%s revision=%lld applied_revision=%lld "
		"applied_at=%s services=%u replicas=%u skipped=%u attempts=%u%s%.160s%s\n",
		r->member, registry_conn_name(r->conn), iso_time(r->since_ns, since, sizeof(since)),
		(long long)r->revision, (long long)r->applied_revision,
		iso_time(r->applied_ns, at, sizeof(at)), r->services, r->replicas, r->skipped,
		r->attempts, r->error[0] ? " error=\"" : "", r->error, r->error[0] ? "\"" : "");
}

static void print_xdp_text(const struct status_snapshot *s, FILE *out)
{
	for (int i = 0; i < s->nattach; i++) {
		const struct xdp_attachment *a = &s->attach[i];

		fprintf(out, "xdp link %s iface=%s%s%s prog_id=%u%s\n", a->hook,
			a->defunct ? "(gone)" : a->iface, a->mode[0] ? " mode=" : "", a->mode,
			a->prog_id, a->defunct ? " defunct" : "");
	}
	fprintf(out, "xdp packets");
	for (size_t i = 0; i < xdp_ncounters; i++)
		fprintf(out, " %s=%llu", xdp_counters[i].name,
			(unsigned long long)xdp_counter_value(&s->xdp_stats, i));
	fputc('\n', out);
}

void status_render_text(const struct status_snapshot *s, FILE *out)
{
	const struct svc_view *sv = s->services;
	int n = s->nservices;
	char buf[ADDR_STRLEN];

	if (n == 0)
		fprintf(out, "no services\n");
	for (int i = 0; i < n; i++) {
		struct endpoint vip;
		uint8_t proto;

		svc_key_decode(&sv[i].key, &vip, &proto);
		fprintf(out,
			"service %s %s/%s id=%u replicas=%d steered=%llu misses=%llu errors=%llu\n",
			sv[i].name[0] ? sv[i].name : "?", endpoint_format(&vip, buf, sizeof(buf)),
			proto_name(proto), sv[i].val.svc_id, sv[i].nreplicas,
			(unsigned long long)sv[i].stats.steered,
			(unsigned long long)sv[i].stats.misses,
			(unsigned long long)sv[i].stats.errors);
		fprintf(out, "  passes: local=%llu zone=%llu any=%llu\n",
			(unsigned long long)sv[i].lb.pass[STEER_TIER_LOCAL],
			(unsigned long long)sv[i].lb.pass[STEER_TIER_ZONE],
			(unsigned long long)sv[i].lb.pass[STEER_TIER_ANY]);
		if (proto == IPPROTO_TCP) {
			print_hold_text(&sv[i].hold, out);
			print_relay_text(&sv[i].relay, out);
		}
		for (int r = 0; r < sv[i].nreplicas; r++) {
			const struct replica_view *rv = &sv[i].replicas[r];
			struct endpoint ep;
			char since[32];

			replica_decode(&rv->r, &ep);
			fprintf(out,
				"  replica %s id=%u state=%s since=%s check=%s/%uus fails=%u "
				"steered=%llu active=%llu failed_connects=%llu ejected=%s "
				"weight=%u max_conns=%u tier=%s\n",
				endpoint_format(&ep, buf, sizeof(buf)), rv->id,
				health_state_name(rv->r.state),
				iso_time(rv->st.since_ns, since, sizeof(since)),
				check_result_name(rv->st.last_result), rv->st.last_latency_us,
				rv->st.consecutive_failures, (unsigned long long)rv->steered,
				(unsigned long long)rv->active,
				(unsigned long long)rv->b.failed_connects,
				rv->b.ejected_ns ? eject_reason_name(rv->b.reason) : "no",
				rv->attrs.weight ? rv->attrs.weight : 1, rv->attrs.max_conns,
				tier_name(rv->tier));
		}
	}
	fprintf(out, "sockets open=%llu steered=%llu closed=%llu aborted=%llu\n",
		(unsigned long long)sockets_open(&s->socks), (unsigned long long)s->socks.tracked,
		(unsigned long long)s->socks.released, (unsigned long long)s->socks.destroyed);
	print_hold_listeners_text(s->hold, out);
	if (s->xdp)
		print_xdp_text(s, out);
	if (s->registry.conn != STEER_REGISTRY_NONE)
		print_registry_text(&s->registry, out);
}

/* ---- JSON, through jansson ---- */

/* An object or array filled item by item, in the order they are shown. Any
 * failed allocation marks the build failed, so it is checked once, at
 * build_done(). */
struct json_build {
	json_t *v;
	bool failed;
};

/* json_object_set_new() and json_array_append_new() release the item when
 * they fail, also when the item or the container is NULL, so a failed
 * allocation anywhere leaks nothing. */
static void put(struct json_build *b, const char *key, json_t *item)
{
	if (json_object_set_new(b->v, key, item))
		b->failed = true;
}

static void append(struct json_build *b, json_t *item)
{
	if (json_array_append_new(b->v, item))
		b->failed = true;
}

static json_t *build_done(struct json_build *b)
{
	if (!b->failed)
		return b->v;
	json_decref(b->v);
	return NULL;
}

/* jansson's integers are signed; a counter past INT64_MAX (which counting
 * does not reach) shows as INT64_MAX rather than as a negative number. */
static json_t *u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* The value the text line prints with %.2f, as a JSON number. jansson
 * writes a real in as few digits as JSON_REAL_PRECISION allows, so 1.50
 * comes out as 1.5 and 0.00 as 0.0: the same number. */
static json_t *two_decimals(double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.2f", v);
	return json_real(strtod(buf, NULL));
}

/* Names are checked by the config parser, but the maps may hold anything.
 * jansson escapes quotes, backslashes and control characters; it takes only
 * UTF-8, so a name that is not gets U+FFFD for each byte outside ASCII. */
static json_t *name_json(const char *name)
{
	char buf[STEER_SVC_NAME_LEN * 3];
	json_t *j = json_string(name);
	size_t n = 0;

	if (j)
		return j;
	for (; *name && n + 3 < sizeof(buf); name++) {
		if ((unsigned char)*name < 0x80) {
			buf[n++] = *name;
		} else {
			memcpy(buf + n, "\xef\xbf\xbd", 3);
			n += 3;
		}
	}
	buf[n] = '\0';
	return json_string(buf);
}

static json_t *percentiles_json(const struct steer_hist *h)
{
	struct json_build b = {json_object(), false};

	put(&b, "p50", u64(hist_percentile_us(h, 50)));
	put(&b, "p90", u64(hist_percentile_us(h, 90)));
	put(&b, "p99", u64(hist_percentile_us(h, 99)));
	return build_done(&b);
}

static json_t *hold_json(const struct steer_hold_stats *h)
{
	struct json_build b = {json_object(), false};

	put(&b, "held_now", u64(h->held_now));
	put(&b, "held_total", u64(h->held_total));
	put(&b, "served", u64(h->served));
	put(&b, "timeouts", u64(h->timeouts));
	put(&b, "refused_full", u64(h->refused_full));
	put(&b, "abandoned", u64(h->abandoned));
	put(&b, "attempts_total", u64(h->attempts_total));
	put(&b, "attempts_per_served", two_decimals(attempts_per_served(h)));
	put(&b, "hold_us", percentiles_json(&h->hold_us));
	put(&b, "first_attempt_us", percentiles_json(&h->first_attempt_us));
	return build_done(&b);
}

static json_t *relay_json(const struct steer_relay_stats *r)
{
	struct json_build b = {json_object(), false};

	put(&b, "open", u64(r->open));
	put(&b, "started", u64(r->started));
	put(&b, "slot_waits", u64(r->slot_waits));
	put(&b, "refused_full", u64(r->refused_full));
	put(&b, "idle_closed", u64(r->idle_closed));
	put(&b, "failed", u64(r->failed));
	return build_done(&b);
}

static json_t *replica_json(const struct replica_view *rv)
{
	struct json_build b = {json_object(), false};
	char addr[ADDR_STRLEN], since[32], checked[32];
	struct endpoint ep;

	replica_decode(&rv->r, &ep);
	put(&b, "address", json_string(endpoint_format(&ep, addr, sizeof(addr))));
	put(&b, "id", json_integer(rv->id));
	put(&b, "state", json_string(health_state_name(rv->r.state)));
	put(&b, "steered", u64(rv->steered));
	put(&b, "active", u64(rv->active));
	put(&b, "since", json_string(iso_time(rv->st.since_ns, since, sizeof(since))));
	put(&b, "last_check",
	    json_string(iso_time(rv->st.last_check_ns, checked, sizeof(checked))));
	put(&b, "last_result", json_string(check_result_name(rv->st.last_result)));
	put(&b, "last_latency_us", json_integer(rv->st.last_latency_us));
	put(&b, "consecutive_failures", json_integer(rv->st.consecutive_failures));
	put(&b, "failed_connects", u64(rv->b.failed_connects));
	put(&b, "ejected", json_boolean(rv->b.ejected_ns));
	/* The datapath's reason while it holds the replica out, else the
	 * agent's record of the last ejection. */
	put(&b, "eject_reason",
	    json_string(eject_reason_name(rv->b.ejected_ns ? rv->b.reason : rv->st.eject_reason)));
	put(&b, "ejected_ns", u64(rv->b.ejected_ns));
	put(&b, "weight", json_integer(rv->attrs.weight ? rv->attrs.weight : 1));
	put(&b, "max_conns", json_integer(rv->attrs.max_conns));
	put(&b, "tier", json_string(tier_name(rv->tier)));
	return build_done(&b);
}

static json_t *service_json(const struct svc_view *sv)
{
	struct json_build b = {json_object(), false}, replicas = {json_array(), false};
	char vip_text[ADDR_STRLEN];
	struct endpoint vip;
	uint8_t proto;

	svc_key_decode(&sv->key, &vip, &proto);
	put(&b, "name", name_json(sv->name));
	put(&b, "vip", json_string(endpoint_format(&vip, vip_text, sizeof(vip_text))));
	put(&b, "protocol", json_string(proto_name(proto)));
	put(&b, "id", json_integer(sv->val.svc_id));
	put(&b, "steered", u64(sv->stats.steered));
	put(&b, "misses", u64(sv->stats.misses));
	put(&b, "errors", u64(sv->stats.errors));
	for (int r = 0; r < sv->nreplicas; r++)
		append(&replicas, replica_json(&sv->replicas[r]));
	put(&b, "replicas", build_done(&replicas));
	{
		struct json_build p = {json_object(), false};

		put(&p, "local", u64(sv->lb.pass[STEER_TIER_LOCAL]));
		put(&p, "zone", u64(sv->lb.pass[STEER_TIER_ZONE]));
		put(&p, "any", u64(sv->lb.pass[STEER_TIER_ANY]));
		put(&b, "passes", build_done(&p));
	}
	if (proto == IPPROTO_TCP) {
		put(&b, "hold", hold_json(&sv->hold));
		put(&b, "relays", relay_json(&sv->relay));
	}
	return build_done(&b);
}

static json_t *hold_listener_json(const struct steer_hold *h, uint32_t idx)
{
	struct json_build b = {json_object(), false};
	char addr[ADDR_STRLEN];

	put(&b, "family", json_string(idx ? "ipv6" : "ipv4"));
	put(&b, "address",
	    h->port ? json_string(hold_listener_addr(h, addr, sizeof(addr))) : json_null());
	put(&b, "local", u64(h->local));
	put(&b, "remote", u64(h->remote));
	put(&b, "untrusted", u64(h->untrusted));
	return build_done(&b);
}

static json_t *sockets_json(const struct steer_sock_stats *st)
{
	struct json_build b = {json_object(), false};

	put(&b, "open", u64(sockets_open(st)));
	put(&b, "steered", u64(st->tracked));
	put(&b, "closed", u64(st->released));
	put(&b, "aborted", u64(st->destroyed));
	return build_done(&b);
}

static json_t *xdp_json(const struct status_snapshot *s)
{
	struct json_build b = {json_object(), false}, links = {json_array(), false},
			  packets = {json_object(), false};

	for (int i = 0; i < s->nattach; i++) {
		const struct xdp_attachment *a = &s->attach[i];
		struct json_build l = {json_object(), false};

		put(&l, "hook", json_string(a->hook));
		put(&l, "iface", a->defunct ? json_null() : json_string(a->iface));
		put(&l, "ifindex", u64(a->ifindex));
		put(&l, "mode", json_string(a->mode));
		put(&l, "prog_id", u64(a->prog_id));
		append(&links, build_done(&l));
	}
	for (size_t i = 0; i < xdp_ncounters; i++)
		put(&packets, xdp_counters[i].name, u64(xdp_counter_value(&s->xdp_stats, i)));
	put(&b, "attached", build_done(&links));
	put(&b, "packets", build_done(&packets));
	return build_done(&b);
}

static json_t *registry_json(const struct steer_registry_status *r)
{
	struct json_build b = {json_object(), false};
	char since[32], at[32];

	put(&b, "member", json_stringn(r->member, strnlen(r->member, sizeof(r->member))));
	put(&b, "state", json_string(registry_conn_name(r->conn)));
	put(&b, "since", json_string(iso_time(r->since_ns, since, sizeof(since))));
	put(&b, "revision", json_integer(r->revision));
	put(&b, "applied_revision", json_integer(r->applied_revision));
	put(&b, "applied_at", json_string(iso_time(r->applied_ns, at, sizeof(at))));
	put(&b, "services", u64(r->services));
	put(&b, "replicas", u64(r->replicas));
	put(&b, "skipped", u64(r->skipped));
	put(&b, "attempts", u64(r->attempts));
	put(&b, "error", json_stringn(r->error, strnlen(r->error, sizeof(r->error))));
	return build_done(&b);
}

int status_render_json(const struct status_snapshot *s, FILE *out)
{
	struct json_build root = {json_object(), false}, services = {json_array(), false},
			  listeners = {json_array(), false};
	json_t *doc;
	char *text;

	for (int i = 0; i < s->nservices; i++)
		append(&services, service_json(&s->services[i]));
	put(&root, "services", build_done(&services));
	put(&root, "sockets", sockets_json(&s->socks));
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++)
		if (hold_listener_used(&s->hold[i]))
			append(&listeners, hold_listener_json(&s->hold[i], i));
	if (json_array_size(listeners.v))
		put(&root, "hold_listeners", build_done(&listeners));
	else
		json_decref(listeners.v);
	if (s->xdp)
		put(&root, "xdp", xdp_json(s));
	if (s->registry.conn != STEER_REGISTRY_NONE)
		put(&root, "registry", registry_json(&s->registry));
	doc = build_done(&root);
	/* Compact, keys in insertion order: the shape scripts grep today. The
	 * one real, attempts_per_served, has two decimals, which 15 digits
	 * write exactly. Dumped to memory first, so a failure writes nothing. */
	text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(15))
		   : NULL;
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	fputs(text, out);
	fputc('\n', out);
	free(text);
	return 0;
}
