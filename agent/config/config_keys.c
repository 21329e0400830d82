/* The keys of a [service NAME] section: one row each in config_keys[], with
 * the handler that checks a value and stores it in the service. A handler
 * sees one KEY = VALUE at a time; rules that need the whole section or file
 * (a vip present, http only on tcp) are config_validate_lines()'s. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/env.h"
#include "health/dns_msg.h"

static int key_vip(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_protocol(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_replica(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_health(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_uint(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_expect(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_decimal(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_policy(struct parse_ctx *ctx, const struct key_def *def, const char *value);

#define HEALTH_KEY(name, field, lo, hi, var)                                                       \
	{                                                                                          \
		name, key_uint, false, lo, hi, offsetof(struct svc_config, health.field),          \
		    offsetof(struct svc_config, health.set.field), var                             \
	}
/* handle: key_uint for a uint32_t field of struct backoff_params, key_decimal
 * for a double. The ranges are backoff_validate()'s. */
#define RETRY_KEY(name, handle, field, lo, hi, var)                                                \
	{                                                                                          \
		name, handle, false, lo, hi, offsetof(struct svc_config, retry.field),             \
		    offsetof(struct svc_config, retry_set.field), var                              \
	}

/* max_conns, max_queued: plain numbers of the service, no STEER_* default. */
#define LIMIT_KEY(name, field, lo, hi)                                                             \
	{                                                                                          \
		name, key_uint, false, lo, hi, offsetof(struct svc_config, field),                 \
		    offsetof(struct svc_config, limits_set.field), NULL                            \
	}

/* tests/integration/test_install.sh reads the key names from these lines to
 * check that steer(8) describes each: keep one row per line as it is. */
const struct key_def config_keys[] = {
    {"vip", key_vip, false, 0, 0, 0, 0, NULL},
    {"protocol", key_protocol, false, 0, 0, 0, 0, NULL},
    {"replica", key_replica, true, 0, 0, 0, 0, NULL},
    {"health", key_health, false, 0, 0, 0, 0, NULL},
    {"policy", key_policy, false, 0, 0, 0, 0, NULL},
    LIMIT_KEY("max_conns", max_conns, 0, MAX_CONNS_MAX),
    LIMIT_KEY("max_queued", max_queued, 1, MAX_QUEUED_MAX),
    HEALTH_KEY("health_interval_ms", interval_ms, 10, 3600000, "STEER_HEALTH_INTERVAL_MS"),
    HEALTH_KEY("health_timeout_ms", timeout_ms, 1, 600000, "STEER_HEALTH_TIMEOUT_MS"),
    HEALTH_KEY("health_rise", rise, 1, 100, "STEER_HEALTH_RISE"),
    HEALTH_KEY("health_fall", fall, 1, 100, "STEER_HEALTH_FALL"),
    {"health_expect", key_expect, false, 0, 0, 0, 0, NULL},
    RETRY_KEY("retry_initial_backoff_ms", key_uint, initial_ms, 0, 3600000,
	      "STEER_RETRY_INITIAL_BACKOFF_MS"),
    RETRY_KEY("retry_backoff_multiplier", key_decimal, multiplier, 1, 1000000,
	      "STEER_RETRY_BACKOFF_MULTIPLIER"),
    RETRY_KEY("retry_max_backoff_ms", key_uint, max_ms, 1, 3600000, "STEER_RETRY_MAX_BACKOFF_MS"),
    RETRY_KEY("retry_jitter", key_decimal, jitter, 0, 1, "STEER_RETRY_JITTER"),
    RETRY_KEY("retry_timeout_ms", key_uint, timeout_ms, 1, 86400000, "STEER_RETRY_TIMEOUT_MS"),
};

_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) == CONFIG_NKEYS,
	       "config_keys[] and CONFIG_NKEYS differ");

bool config_health_path_ok(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len >= HEALTH_PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (path[i] <= ' ' || path[i] >= 0x7f)
			return false;
	return true;
}

enum svc_policy svc_policy_effective(const struct svc_config *svc)
{
	if (svc->policy != SVC_POLICY_DEFAULT)
		return (enum svc_policy)svc->policy;
	return svc->proto == IPPROTO_UDP ? SVC_POLICY_RANDOM : SVC_POLICY_P2C;
}

const char *svc_policy_name(enum svc_policy p)
{
	return p == SVC_POLICY_P2C ? "p2c" : p == SVC_POLICY_RANDOM ? "random" : "default";
}

/* policy = p2c | random. Whether p2c suits the protocol is
 * config_validate_lines()'s question: `protocol` may come later. */
static int key_policy(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	(void)def;
	if (strcmp(value, "p2c") == 0)
		ctx->svc->policy = SVC_POLICY_P2C;
	else if (strcmp(value, "random") == 0)
		ctx->svc->policy = SVC_POLICY_RANDOM;
	else
		return config_fail(ctx, ctx->lineno,
				   "bad policy '%s' (accepted: " POLICY_ACCEPTED ")", value);
	ctx->lines.svc[svc_index(ctx->cfg, ctx->svc)].policy = ctx->lineno;
	return 0;
}

static int key_vip(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char msg[512];

	(void)def;
	if (endpoint_parse(value, &ctx->svc->vip, msg, sizeof(msg)) < 0)
		return config_fail(ctx, ctx->lineno, "vip: %s", msg);
	ctx->lines.svc[svc_index(ctx->cfg, ctx->svc)].vip = ctx->lineno;
	return 0;
}

static int key_protocol(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	(void)def;
	if (strcmp(value, "tcp") == 0)
		ctx->svc->proto = IPPROTO_TCP;
	else if (strcmp(value, "udp") == 0)
		ctx->svc->proto = IPPROTO_UDP;
	else
		return config_fail(ctx, ctx->lineno, "bad protocol '%s' (accepted: tcp|udp)",
				   value);
	return 0;
}

uint32_t replica_max_conns(const struct svc_config *svc, int r)
{
	return svc->ropts[r].max_conns_set ? svc->ropts[r].max_conns : svc->max_conns;
}

/* One NAME=VALUE option of a replica line into o; 0, or -1 with msg set. */
static int replica_option(const char *opt, size_t len, struct replica_opts *o, char *msg,
			  size_t msglen)
{
	char text[64];
	long long v;

	if (len >= sizeof(text)) {
		snprintf(msg, msglen, "option '%.*s...' is too long", 20, opt);
		return -1;
	}
	memcpy(text, opt, len);
	text[len] = '\0';
	if (strncmp(text, "weight=", 7) == 0) {
		if (env_parse_int(text + 7, 1, WEIGHT_MAX, &v) < 0)
			goto bad;
		o->weight = (uint16_t)v;
	} else if (strncmp(text, "max_conns=", 10) == 0) {
		if (env_parse_int(text + 10, 0, MAX_CONNS_MAX, &v) < 0)
			goto bad;
		o->max_conns = (uint32_t)v;
		o->max_conns_set = true;
	} else if (strncmp(text, "zone=", 5) == 0) {
		if (!zone_name_valid(text + 5, strlen(text + 5))) {
			snprintf(msg, msglen, "bad zone '%s' (accepted: " ZONE_ACCEPTED ")",
				 text + 5);
			return -1;
		}
		strcpy(o->zone, text + 5);
	} else {
		snprintf(msg, msglen, "unknown option '%s' (accepted: " REPLICA_ACCEPTED ")", text);
		return -1;
	}
	return 0;
bad:
	snprintf(msg, msglen, "bad option '%s' (accepted: " REPLICA_ACCEPTED ")", text);
	return -1;
}

/* "ADDR:PORT [weight=N] [max_conns=N] [zone=Z]", blanks between. */
int config_parse_replica(const char *value, struct endpoint *ep, struct replica_opts *o, char *msg,
			 size_t msglen)
{
	const char *p = value, *end;
	size_t len = strcspn(p, " \t");
	char *addr = strndup(p, len);
	int ret;

	memset(o, 0, sizeof(*o));
	o->weight = 1;
	if (!addr) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	ret = endpoint_parse(addr, ep, msg, msglen);
	free(addr);
	if (ret < 0)
		return -1;
	for (p += len; *p; p = end) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		end = p + strcspn(p, " \t");
		if (replica_option(p, (size_t)(end - p), o, msg, msglen) < 0)
			return -1;
	}
	return 0;
}

static int key_replica(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	struct svc_config *svc = ctx->svc;
	struct svc_lines *lines = &ctx->lines.svc[svc_index(ctx->cfg, svc)];
	char msg[512], buf[ADDR_STRLEN];
	struct replica_opts opts;
	struct endpoint ep;

	(void)def;
	if (config_parse_replica(value, &ep, &opts, msg, sizeof(msg)) < 0)
		return config_fail(ctx, ctx->lineno, "replica: %s", msg);
	for (int i = 0; i < svc->nreplicas; i++)
		if (endpoint_equal(&svc->replicas[i], &ep))
			return config_fail(
			    ctx, ctx->lineno,
			    "duplicate replica %s in service '%s' (first at line %d)",
			    endpoint_format(&ep, buf, sizeof(buf)), svc->name, lines->replica[i]);
	if ((uint32_t)svc->nreplicas >= steer_limits.replicas_per_service)
		return config_fail(ctx, ctx->lineno,
				   "service '%s' has more than %u replicas (limit "
				   "STEER_MAX_REPLICAS_PER_SERVICE=%u)",
				   svc->name, steer_limits.replicas_per_service,
				   steer_limits.replicas_per_service);
	if (config_lines_reserve(lines, svc->nreplicas) || svc_push_replica(svc, &ep, &opts))
		return config_fail(ctx, ctx->lineno, "out of memory at service '%s'", svc->name);
	lines->replica[svc->nreplicas - 1] = ctx->lineno;
	return 0;
}

/* "HEX" into out[0..HEALTH_PAYLOAD_MAX): its length in bytes, or 0 if it
 * is not an even number of hex digits or is too long. */
static size_t hex_parse(const char *text, size_t len, uint8_t *out)
{
	if (len == 0 || len % 2 || len / 2 > HEALTH_PAYLOAD_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)text[i]))
			return 0;
	for (size_t i = 0; i < len / 2; i++) {
		char byte[3] = {text[2 * i], text[2 * i + 1], '\0'};

		out[i] = (uint8_t)strtoul(byte, NULL, 16);
	}
	return len / 2;
}

/* The blank-separated words of value after its first (the kind), at most
 * max of them: their count, or -1 if there are more. */
static int health_words(const char *value, const char **w, size_t *wlen, int max)
{
	const char *p = value + strcspn(value, " \t");
	int n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			return n;
		if (n == max)
			return -1;
		w[n] = p;
		wlen[n] = strcspn(p, " \t");
		p += wlen[n++];
	}
}

/* health = dns NAME [TYPE]. */
static int health_dns(struct parse_ctx *ctx, struct health_config *h, const char *value)
{
	const char *w[2];
	size_t wl[2];
	char name[HEALTH_DNS_NAME_MAX], type[16];
	int n = health_words(value, w, wl, 2);

	if (n < 1)
		return config_fail(ctx, ctx->lineno,
				   "bad health '%s' (accepted: " HEALTH_ACCEPTED ")", value);
	if (wl[0] >= sizeof(name) ||
	    (snprintf(name, sizeof(name), "%.*s", (int)wl[0], w[0]), !dns_name_valid(name)))
		return config_fail(ctx, ctx->lineno,
				   "bad health dns name '%.*s' (accepted: " DNS_NAME_ACCEPTED ")",
				   (int)wl[0], w[0]);
	h->dns_type = dns_default_type(name);
	if (n == 2 &&
	    (wl[1] >= sizeof(type) || (snprintf(type, sizeof(type), "%.*s", (int)wl[1], w[1]),
				       dns_type_parse(type, &h->dns_type) < 0)))
		return config_fail(ctx, ctx->lineno,
				   "bad health dns type '%.*s' (accepted: " DNS_TYPE_ACCEPTED ")",
				   (int)wl[1], w[1]);
	strcpy(h->dns_name, name);
	h->kind = HEALTH_KIND_DNS;
	return 0;
}

/* health = udp HEX-PAYLOAD [expect HEX-PREFIX]. */
static int health_udp(struct parse_ctx *ctx, struct health_config *h, const char *value)
{
	const char *w[3];
	size_t wl[3], len;
	int n = health_words(value, w, wl, 3);

	if (n < 1)
		return config_fail(ctx, ctx->lineno,
				   "bad health '%s' (accepted: " HEALTH_ACCEPTED ")", value);
	len = hex_parse(w[0], wl[0], h->payload);
	if (!len)
		return config_fail(ctx, ctx->lineno,
				   "bad health udp payload '%.*s' (accepted: " HEX_ACCEPTED ")",
				   (int)wl[0], w[0]);
	h->payload_len = (uint8_t)len;
	h->reply_prefix_len = 0;
	if (n == 1) {
		h->kind = HEALTH_KIND_UDP;
		return 0;
	}
	if (n != 3 || wl[1] != 6 || strncmp(w[1], "expect", 6) != 0)
		return config_fail(ctx, ctx->lineno,
				   "bad health udp option '%s' (accepted: udp HEX [expect HEX])",
				   w[1]);
	len = hex_parse(w[2], wl[2], h->reply_prefix);
	if (!len)
		return config_fail(ctx, ctx->lineno,
				   "bad health udp expect '%.*s' (accepted: " HEX_ACCEPTED ")",
				   (int)wl[2], w[2]);
	h->reply_prefix_len = (uint8_t)len;
	h->kind = HEALTH_KIND_UDP;
	return 0;
}

/* Is value the kind word alone, or the kind word and a blank? */
static bool health_is(const char *value, const char *kind)
{
	size_t n = strlen(kind);

	return strncmp(value, kind, n) == 0 &&
	       (value[n] == '\0' || isblank((unsigned char)value[n]));
}

/* health = tcp | http PATH | dns NAME [TYPE] | udp HEX [expect HEX] | none.
 * Whether the kind suits the protocol is config_validate_lines()'s
 * question: `protocol` may come later in the section. */
static int key_health(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	struct health_config *h = &ctx->svc->health;
	const char *path;

	(void)def;
	if (strcmp(value, "tcp") == 0) {
		h->kind = HEALTH_KIND_TCP;
	} else if (strcmp(value, "none") == 0) {
		h->kind = HEALTH_KIND_NONE;
	} else if (health_is(value, "http")) {
		for (path = value + 4; isblank((unsigned char)*path); path++)
			;
		if (!config_health_path_ok(path))
			return config_fail(ctx, ctx->lineno,
					   "bad health path '%s' (accepted: " PATH_ACCEPTED ")",
					   path);
		h->kind = HEALTH_KIND_HTTP;
		strcpy(h->path, path);
	} else if (health_is(value, "dns")) {
		if (health_dns(ctx, h, value) < 0)
			return -1;
	} else if (health_is(value, "udp")) {
		if (health_udp(ctx, h, value) < 0)
			return -1;
	} else {
		return config_fail(ctx, ctx->lineno,
				   "bad health '%s' (accepted: " HEALTH_ACCEPTED ")", value);
	}
	h->set.kind = true;
	ctx->lines.svc[svc_index(ctx->cfg, ctx->svc)].health = ctx->lineno;
	return 0;
}

static int key_uint(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char *svc = (char *)ctx->svc, range[64];
	long long v;

	if (env_parse_int(value, def->lo, def->hi, &v) < 0)
		return config_fail(ctx, ctx->lineno, "bad %s '%s' (accepted: %s)", def->key, value,
				   config_key_range(def, range, sizeof(range)));
	*(uint32_t *)(svc + def->value_off) = (uint32_t)v;
	*(bool *)(svc + def->set_off) = true;
	return 0;
}

static int key_decimal(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char *svc = (char *)ctx->svc, range[64];
	double v;

	if (env_parse_decimal(value, def->lo, def->hi, &v) < 0)
		return config_fail(ctx, ctx->lineno, "bad %s '%s' (accepted: %s)", def->key, value,
				   config_key_range(def, range, sizeof(range)));
	memcpy(svc + def->value_off, &v, sizeof(v));
	*(bool *)(svc + def->set_off) = true;
	return 0;
}

/* health_expect = NNN or LO-HI. */
static int key_expect(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	struct health_config *h = &ctx->svc->health;
	const char *dash = strchr(value, '-');
	char lo_text[16];
	long long lo, hi;

	if (!dash) {
		if (env_parse_int(value, 100, 599, &lo) < 0)
			goto bad;
		hi = lo;
	} else {
		if ((size_t)(dash - value) >= sizeof(lo_text))
			goto bad;
		memcpy(lo_text, value, (size_t)(dash - value));
		lo_text[dash - value] = '\0';
		if (env_parse_int(lo_text, 100, 599, &lo) < 0 ||
		    env_parse_int(dash + 1, lo, 599, &hi) < 0)
			goto bad;
	}
	h->expect_lo = (uint16_t)lo;
	h->expect_hi = (uint16_t)hi;
	h->set.expect = true;
	return 0;
bad:
	return config_fail(ctx, ctx->lineno, "bad %s '%s' (accepted: " EXPECT_ACCEPTED ")",
			   def->key, value);
}

bool config_key_is_uint(const struct key_def *def)
{
	return def->handle == key_uint;
}

bool config_key_is_decimal(const struct key_def *def)
{
	return def->handle == key_decimal;
}

bool config_key_is_retry(const struct key_def *def)
{
	return (config_key_is_uint(def) || config_key_is_decimal(def)) &&
	       def->value_off >= offsetof(struct svc_config, retry) &&
	       def->value_off < offsetof(struct svc_config, retry) + sizeof(struct backoff_params);
}

uint32_t config_key_uint(const struct svc_config *svc, const struct key_def *def)
{
	uint32_t v;

	memcpy(&v, (const char *)svc + def->value_off, sizeof(v));
	return v;
}

double config_key_decimal(const struct svc_config *svc, const struct key_def *def)
{
	double v;

	memcpy(&v, (const char *)svc + def->value_off, sizeof(v));
	return v;
}

bool config_key_is_set(const struct svc_config *svc, const struct key_def *def)
{
	return *((const bool *)((const char *)svc + def->set_off));
}

const char *config_key_range(const struct key_def *def, char *buf, size_t len)
{
	snprintf(buf, len, "%s%u-%u", config_key_is_decimal(def) ? "a decimal " : "",
		 (unsigned)def->lo, (unsigned)def->hi);
	return buf;
}

void config_retry_message_names_keys(const struct svc_config *svc, bool from_env, char *msg,
				     size_t len)
{
	for (size_t k = 0; k < CONFIG_NKEYS; k++) {
		const struct key_def *def = &config_keys[k];
		char from[128] = "";

		if (!config_key_is_retry(def))
			continue;
		if (from_env && !config_key_is_set(svc, def))
			snprintf(from, sizeof(from), " (from %s)", def->var);
		env_note_value(msg, len, def->var, def->key, from);
	}
}
