/* The topology file, parsed with libinih.
 *
 * inih's handler gets no line number here (INI_HANDLER_LINENO is 0 in the
 * Debian build) and is not called for section headers, so the text is fed to
 * ini_parse_stream() through read_line(), which:
 *   - counts lines, so every message can say FILE:LINE;
 *   - handles "[...]" headers itself (inih would cut long ones at 50 bytes and
 *     would not tell us about a section without keys) and hands inih a blank
 *     line in their place;
 *   - drops comments (';' or '#' at the start of a line or after a blank) and
 *     leading blanks, so an indented line is never taken as a continuation of
 *     the previous value (inih's multi-line mode).
 * inih splits "KEY = VALUE" and reports lines it cannot parse; on_key() checks
 * each key; validate() then checks what needs the whole file, service by
 * service. Only the first error is reported: line errors in file order, then
 * validate()'s.
 *
 * validate() also runs on configs built in memory (config_validate()), where
 * it knows only each service's section line; and the runtime edits
 * (config_add_replica()) share its replica rules through replica_problem(),
 * so a rule and its message exist once. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config/config.h"
#include "config/env.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define ADDR_ACCEPTED	 "A.B.C.D:PORT or [IPV6]:PORT"
#define LINE_ACCEPTED                                                                              \
	"[service NAME], KEY = VALUE, a blank line, or a comment starting with ';' or '#'"
#define HEALTH_ACCEPTED	  "tcp|http PATH|none"
#define PATH_ACCEPTED	  "'/' then at most 254 visible ASCII characters, no blanks"
#define EXPECT_ACCEPTED	  "a status code 100-599, or LO-HI with 100 <= LO <= HI <= 599"
#define EXPECT_DEFAULT_LO 200
#define EXPECT_DEFAULT_HI 399

struct parse_ctx;

/* One row per key a [service NAME] section may hold. */
struct key_def {
	const char *key;
	int (*handle)(struct parse_ctx *ctx, const struct key_def *def, const char *value);
	bool repeatable;
	/* key_uint() (uint32_t) and key_decimal() (double) rows only: the
	 * accepted range, where the value goes in struct svc_config, where its
	 * `set` flag is, and the STEER_* variable an unset value comes from. */
	uint32_t lo, hi;
	size_t value_off, set_off;
	const char *var;
};

static int key_vip(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_protocol(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_replica(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_health(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_uint(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_expect(struct parse_ctx *ctx, const struct key_def *def, const char *value);
static int key_decimal(struct parse_ctx *ctx, const struct key_def *def, const char *value);

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

static const struct key_def keys[] = {
    {"vip", key_vip, false, 0, 0, 0, 0, NULL},
    {"protocol", key_protocol, false, 0, 0, 0, 0, NULL},
    {"replica", key_replica, true, 0, 0, 0, 0, NULL},
    {"health", key_health, false, 0, 0, 0, 0, NULL},
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

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Where things are in the file, for messages. */
struct config_lines {
	int vip[STEER_MAX_SERVICES];
	int health[STEER_MAX_SERVICES];	       /* the `health` key, 0 if absent */
	int retry_initial[STEER_MAX_SERVICES]; /* retry_initial_backoff_ms, 0 if absent */
	int replica[STEER_MAX_SERVICES][STEER_MAX_SLOTS];
};

struct parse_ctx {
	const char *name;	  /* file name used in messages */
	const char *text;	  /* the whole input, NUL-terminated */
	const char *pos;	  /* start of the next line to read */
	int lineno;		  /* line last handed to inih */
	struct steer_config *cfg; /* being filled */
	struct svc_config *svc;	  /* current section; NULL before the first */
	int key_line[NKEYS];	  /* first line of each key in the current section */
	struct config_lines lines;
	char *err;
	size_t errlen;
	int err_line; /* line of the first error; 0 while there is none */
};

/* Write "NAME:LINE: message" to err, or "NAME: message" when line is 0 (not
 * known: a replica added at runtime, a config built in memory). */
__attribute__((format(printf, 5, 0))) static void
vreport(char *err, size_t errlen, const char *name, int line, const char *fmt, va_list ap)
{
	int n = line ? snprintf(err, errlen, "%s:%d: ", name, line)
		     : snprintf(err, errlen, "%s: ", name);

	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 5, 6))) static int report(char *err, size_t errlen, const char *name,
							int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err, errlen, name, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Record "NAME:LINE: message" unless an error is already recorded. */
__attribute__((format(printf, 3, 4))) static int fail(struct parse_ctx *ctx, int line,
						      const char *fmt, ...)
{
	va_list ap;

	if (ctx->err_line)
		return -1;
	ctx->err_line = line ? line : -1; /* nonzero: there is an error */
	va_start(ap, fmt);
	vreport(ctx->err, ctx->errlen, ctx->name, line, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static const char *family_name(uint8_t family)
{
	return family == STEER_FAMILY_V4 ? "IPv4" : family == STEER_FAMILY_V6 ? "IPv6" : "unset";
}

static const char *health_kind_name(enum health_kind kind)
{
	switch (kind) {
	case HEALTH_KIND_NONE:
		return "none";
	case HEALTH_KIND_TCP:
		return "tcp";
	case HEALTH_KIND_HTTP:
		return "http";
	}
	return "?";
}

/* A health check path we can put on an HTTP/1.1 request line as it is. */
static bool health_path_ok(const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len >= HEALTH_PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (path[i] <= ' ' || path[i] >= 0x7f)
			return false;
	return true;
}

/* The kind a service gets without a `health` key. */
static enum health_kind default_health_kind(uint8_t proto)
{
	return proto == IPPROTO_UDP ? HEALTH_KIND_NONE : HEALTH_KIND_TCP;
}

/* The health defaults that do not come from the environment. */
static void fill_static_defaults(struct svc_config *svc)
{
	struct health_config *h = &svc->health;

	if (!h->set.kind)
		h->kind = default_health_kind(svc->proto);
	if (!h->set.expect) {
		h->expect_lo = EXPECT_DEFAULT_LO;
		h->expect_hi = EXPECT_DEFAULT_HI;
	}
}

static int svc_index(const struct steer_config *cfg, const struct svc_config *svc)
{
	return (int)(svc - cfg->services);
}

static int key_vip(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char msg[512];

	(void)def;
	if (endpoint_parse(value, &ctx->svc->vip, msg, sizeof(msg)) < 0)
		return fail(ctx, ctx->lineno, "vip: %s", msg);
	ctx->lines.vip[svc_index(ctx->cfg, ctx->svc)] = ctx->lineno;
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
		return fail(ctx, ctx->lineno, "bad protocol '%s' (accepted: tcp|udp)", value);
	return 0;
}

static int key_replica(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	struct svc_config *svc = ctx->svc;
	int *lines = ctx->lines.replica[svc_index(ctx->cfg, svc)];
	char msg[512], buf[ADDR_STRLEN];
	struct endpoint ep;

	(void)def;
	if (endpoint_parse(value, &ep, msg, sizeof(msg)) < 0)
		return fail(ctx, ctx->lineno, "replica: %s", msg);
	for (int i = 0; i < svc->nreplicas; i++)
		if (endpoint_equal(&svc->replicas[i], &ep))
			return fail(ctx, ctx->lineno,
				    "duplicate replica %s in service '%s' (first at line %d)",
				    endpoint_format(&ep, buf, sizeof(buf)), svc->name, lines[i]);
	if (svc->nreplicas == STEER_MAX_SLOTS)
		return fail(ctx, ctx->lineno,
			    "service '%s' has more than %d replicas (limit STEER_MAX_SLOTS=%d)",
			    svc->name, STEER_MAX_SLOTS, STEER_MAX_SLOTS);
	lines[svc->nreplicas] = ctx->lineno;
	svc->replicas[svc->nreplicas++] = ep;
	return 0;
}

/* health = tcp | http PATH | none. Whether http suits the protocol is
 * validate()'s question: `protocol` may come later in the section. */
static int key_health(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	struct health_config *h = &ctx->svc->health;
	const char *path;

	(void)def;
	if (strcmp(value, "tcp") == 0) {
		h->kind = HEALTH_KIND_TCP;
	} else if (strcmp(value, "none") == 0) {
		h->kind = HEALTH_KIND_NONE;
	} else if (strncmp(value, "http", 4) == 0 &&
		   (value[4] == '\0' || isblank((unsigned char)value[4]))) {
		for (path = value + 4; isblank((unsigned char)*path); path++)
			;
		if (!health_path_ok(path))
			return fail(ctx, ctx->lineno,
				    "bad health path '%s' (accepted: " PATH_ACCEPTED ")", path);
		h->kind = HEALTH_KIND_HTTP;
		strcpy(h->path, path);
	} else {
		return fail(ctx, ctx->lineno, "bad health '%s' (accepted: " HEALTH_ACCEPTED ")",
			    value);
	}
	h->set.kind = true;
	ctx->lines.health[svc_index(ctx->cfg, ctx->svc)] = ctx->lineno;
	return 0;
}

/* The value and the `set` flag of a key_uint() or key_decimal() row in svc. */
static uint32_t uint_value(const struct svc_config *svc, const struct key_def *def)
{
	uint32_t v;

	memcpy(&v, (const char *)svc + def->value_off, sizeof(v));
	return v;
}

static double decimal_value(const struct svc_config *svc, const struct key_def *def)
{
	double v;

	memcpy(&v, (const char *)svc + def->value_off, sizeof(v));
	return v;
}

static bool key_is_set(const struct svc_config *svc, const struct key_def *def)
{
	return *((const bool *)((const char *)svc + def->set_off));
}

/* A key_uint() or key_decimal() row whose value is in svc->retry. */
static bool is_retry_key(const struct key_def *def)
{
	return (def->handle == key_uint || def->handle == key_decimal) &&
	       def->value_off >= offsetof(struct svc_config, retry) &&
	       def->value_off < offsetof(struct svc_config, retry) + sizeof(struct backoff_params);
}

/* "10-3600000" or "a decimal 0-1": what a numeric row accepts. */
static const char *range_text(const struct key_def *def, char *buf, size_t len)
{
	snprintf(buf, len, "%s%u-%u", def->handle == key_decimal ? "a decimal " : "",
		 (unsigned)def->lo, (unsigned)def->hi);
	return buf;
}

static int key_uint(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char *svc = (char *)ctx->svc, range[64];
	long long v;

	if (env_parse_int(value, def->lo, def->hi, &v) < 0)
		return fail(ctx, ctx->lineno, "bad %s '%s' (accepted: %s)", def->key, value,
			    range_text(def, range, sizeof(range)));
	*(uint32_t *)(svc + def->value_off) = (uint32_t)v;
	*(bool *)(svc + def->set_off) = true;
	return 0;
}

static int key_decimal(struct parse_ctx *ctx, const struct key_def *def, const char *value)
{
	char *svc = (char *)ctx->svc, range[64];
	double v;

	if (env_parse_decimal(value, def->lo, def->hi, &v) < 0)
		return fail(ctx, ctx->lineno, "bad %s '%s' (accepted: %s)", def->key, value,
			    range_text(def, range, sizeof(range)));
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
	return fail(ctx, ctx->lineno, "bad %s '%s' (accepted: " EXPECT_ACCEPTED ")", def->key,
		    value);
}

/* inih's handler: returns nonzero on success. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *ctx = user;
	char accepted[512] = "";
	size_t k;

	(void)section; /* always "": read_line() keeps section headers from inih */
	if (!ctx->svc)
		return fail(ctx, ctx->lineno,
			    "key '%s' before the first section (accepted: keys inside a "
			    "[service NAME] section)",
			    key) == 0;
	for (k = 0; k < NKEYS; k++)
		if (strcmp(key, keys[k].key) == 0)
			break;
	if (k == NKEYS) {
		for (size_t i = 0; i < NKEYS; i++)
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
				 "%s%s", i ? ", " : "", keys[i].key);
		return fail(ctx, ctx->lineno, "unknown key '%s' in service '%s' (accepted: %s)",
			    key, ctx->svc->name, accepted) == 0;
	}
	if (ctx->key_line[k] && !keys[k].repeatable)
		return fail(ctx, ctx->lineno,
			    "duplicate key '%s' in service '%s' (first at line %d; accepted: "
			    "once per service)",
			    key, ctx->svc->name, ctx->key_line[k]) == 0;
	if (!ctx->key_line[k])
		ctx->key_line[k] = ctx->lineno;
	if (keys[k].value_off == offsetof(struct svc_config, retry.initial_ms))
		ctx->lines.retry_initial[svc_index(ctx->cfg, ctx->svc)] = ctx->lineno;
	return keys[k].handle(ctx, &keys[k], value) == 0;
}

/* A "[...]" line (len > 0, text[0] == '['): start a new service. */
static int section_begin(struct parse_ctx *ctx, const char *text, int len)
{
	struct steer_config *cfg = ctx->cfg;
	const char *in = text + 1, *end = text + len - 1, *name;
	struct svc_config *svc;
	int name_len;

	if (len < 2 || *end != ']')
		return fail(ctx, ctx->lineno,
			    "bad section header '%.*s' (accepted: [service NAME])", len, text);
	while (in < end && isspace((unsigned char)*in))
		in++;
	while (end > in && isspace((unsigned char)end[-1]))
		end--;
	if (end - in < 7 || strncmp(in, "service", 7) != 0 ||
	    (end - in > 7 && !isspace((unsigned char)in[7])))
		return fail(ctx, ctx->lineno, "unknown section '%.*s' (accepted: [service NAME])",
			    len, text);
	for (name = in + 7; isspace((unsigned char)*name); name++)
		;
	name_len = (int)(end - name);
	if (!svc_name_valid(name, (size_t)name_len))
		return fail(ctx, ctx->lineno,
			    "bad service name '%.*s' (accepted: " SVC_NAME_ACCEPTED ")",
			    (int)(end - name), name);
	for (int i = 0; i < cfg->nservices; i++)
		if ((int)strlen(cfg->services[i].name) == name_len &&
		    strncmp(cfg->services[i].name, name, (size_t)name_len) == 0)
			return fail(ctx, ctx->lineno, "duplicate service '%.*s' (first at line %d)",
				    name_len, name, cfg->services[i].line);
	if (cfg->nservices == STEER_MAX_SERVICES)
		return fail(ctx, ctx->lineno,
			    "more than %d services (limit STEER_MAX_SERVICES=%d) at service '%.*s'",
			    STEER_MAX_SERVICES, STEER_MAX_SERVICES, name_len, name);

	svc = &cfg->services[cfg->nservices++];
	memcpy(svc->name, name, (size_t)name_len);
	svc->name[name_len] = '\0';
	svc->line = ctx->lineno;
	svc->proto = IPPROTO_TCP;
	ctx->svc = svc;
	memset(ctx->key_line, 0, sizeof(ctx->key_line));
	return 0;
}

/* The part of line [s, e) that matters: without a UTF-8 BOM on line 1,
 * surrounding blanks and comments. */
static void clean_line(const char *s, const char *e, int lineno, const char **a, const char **b)
{
	const char *p;

	if (lineno == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (s < e && isspace((unsigned char)*s))
		s++;
	for (p = s; p < e; p++)
		if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1])))
			break;
	while (p > s && isspace((unsigned char)p[-1]))
		p--;
	*a = s;
	*b = p;
}

/* Start and end of line lineno (1-based) of text. */
static void find_line(const char *text, int lineno, const char **s, const char **e)
{
	for (int i = 1; i < lineno && strchr(text, '\n'); i++)
		text = strchr(text, '\n') + 1;
	*s = text;
	*e = strchr(text, '\n') ? strchr(text, '\n') : text + strlen(text);
}

/* inih's reader (fgets-like): one cleaned line per call, NULL at the end or
 * once an error is recorded. */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse_ctx *ctx = stream;
	const char *s = ctx->pos, *e, *a, *b;
	int len;

	if (ctx->err_line || *s == '\0' || size < 3)
		return NULL;
	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	ctx->pos = *e ? e + 1 : e;
	ctx->lineno++;

	clean_line(s, e, ctx->lineno, &a, &b);
	len = (int)(b - a);
	if (len > size - 3) {
		fail(ctx, ctx->lineno,
		     "line of %d characters (accepted: at most %d, not counting comments and "
		     "surrounding blanks)",
		     len, size - 3);
		return NULL;
	}
	if (len > 0 && *a == '[') {
		if (section_begin(ctx, a, len) < 0)
			return NULL;
		len = 0;
	}
	memcpy(buf, a, (size_t)len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return buf;
}

/* Line of service i's vip, or its section's line when the file's lines are
 * not known (a config built in memory or edited at runtime). */
static int vip_line(const struct steer_config *cfg, const struct config_lines *lines, int i)
{
	return lines ? lines->vip[i] : cfg->services[i].line;
}

/* Why ep cannot be replica number ri of service si (ri == nreplicas: a new
 * one), written to msg; or 0 if it can. The service has a vip. */
static int replica_problem(const struct steer_config *cfg, int si, int ri,
			   const struct endpoint *ep, const struct config_lines *lines, char *msg,
			   size_t len)
{
	const struct svc_config *svc = &cfg->services[si];
	char a[ADDR_STRLEN], b[ADDR_STRLEN], at[32] = "";

	endpoint_format(ep, a, sizeof(a));
	for (int r = 0; r < ri; r++) {
		if (!endpoint_equal(&svc->replicas[r], ep))
			continue;
		if (lines)
			snprintf(at, sizeof(at), " (first at line %d)", lines->replica[si][r]);
		snprintf(msg, len, "duplicate replica %s in service '%s'%s", a, svc->name, at);
		return -1;
	}
	if (ep->family != svc->vip.family) {
		snprintf(msg, len,
			 "replica %s of service '%s' is %s but its vip %s is %s (accepted: "
			 "replicas of the vip's family)",
			 a, svc->name, family_name(ep->family),
			 endpoint_format(&svc->vip, b, sizeof(b)), family_name(svc->vip.family));
		return -1;
	}
	for (int j = 0; j < cfg->nservices; j++) {
		int line = vip_line(cfg, lines, j);

		if (!endpoint_equal(ep, &cfg->services[j].vip))
			continue;
		if (line)
			snprintf(at, sizeof(at), "line %d; ", line);
		snprintf(msg, len,
			 "replica %s of service '%s' is the vip of service '%s' (%saccepted: an "
			 "address that is no service's vip)",
			 a, svc->name, cfg->services[j].name, at);
		return -1;
	}
	return 0;
}

/* Health keys of service i that no key handler has vetted: those of a
 * config built in memory, and http on a udp service. */
static int health_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	const struct health_config *h = &svc->health;
	int line = lines && lines->health[i] ? lines->health[i] : svc->line;

	if (h->kind == HEALTH_KIND_HTTP && svc->proto == IPPROTO_UDP)
		return report(err, errlen, name, line,
			      "service '%s' has health = http but protocol udp (accepted for "
			      "udp: tcp|none)",
			      svc->name);
	if (h->kind != HEALTH_KIND_NONE && h->kind != HEALTH_KIND_TCP &&
	    h->kind != HEALTH_KIND_HTTP)
		return report(err, errlen, name, line,
			      "service '%s' has health kind %d (accepted: " HEALTH_ACCEPTED ")",
			      svc->name, (int)h->kind);
	if (h->kind == HEALTH_KIND_HTTP &&
	    (strnlen(h->path, HEALTH_PATH_MAX) == HEALTH_PATH_MAX || !health_path_ok(h->path)))
		return report(err, errlen, name, line,
			      "service '%s' has a bad health path '%.*s' (accepted: " PATH_ACCEPTED
			      ")",
			      svc->name, HEALTH_PATH_MAX - 1, h->path);
	if (h->set.expect &&
	    (h->expect_lo < 100 || h->expect_hi > 599 || h->expect_lo > h->expect_hi))
		return report(err, errlen, name, svc->line,
			      "service '%s' has health_expect=%u-%u (accepted: " EXPECT_ACCEPTED
			      ")",
			      svc->name, h->expect_lo, h->expect_hi);
	return 0;
}

/* The numeric keys (health_*, retry_*) that service i sets, each in its
 * range: only a config built in memory can have them out of it. */
static int range_problem(const struct steer_config *cfg, int i, const char *name, char *err,
			 size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	char value[64], range[64];

	for (size_t k = 0; k < NKEYS; k++) {
		const struct key_def *def = &keys[k];

		if (def->handle == key_uint && key_is_set(svc, def)) {
			uint32_t v = uint_value(svc, def);

			if (v >= def->lo && v <= def->hi)
				continue;
			snprintf(value, sizeof(value), "%u", (unsigned)v);
		} else if (def->handle == key_decimal && key_is_set(svc, def)) {
			double v = decimal_value(svc, def);

			if (v >= def->lo && v <= def->hi) /* false for NaN */
				continue;
			env_format_decimal(v, value, sizeof(value));
		} else {
			continue;
		}
		return report(err, errlen, name, svc->line, "service '%s' has %s=%s (accepted: %s)",
			      svc->name, def->key, value, range_text(def, range, sizeof(range)));
	}
	return 0;
}

/* backoff_validate()'s message in msg, with the keys' names in place of the
 * variables', and " (from STEER_...)" after each value that did not come
 * from the file (from_env: there is such a value, it was filled). */
static void retry_message_names_keys(const struct svc_config *svc, bool from_env, char *msg,
				     size_t len)
{
	for (size_t k = 0; k < NKEYS; k++) {
		const struct key_def *def = &keys[k];
		char from[128] = "";

		if (!is_retry_key(def))
			continue;
		if (from_env && !key_is_set(svc, def))
			snprintf(from, sizeof(from), " (from %s)", def->var);
		env_note_value(msg, len, def->var, def->key, from);
	}
}

/* The rules between the retry values of service i (initial <= max), as
 * backoff_validate() states them. Before config_apply_env() the values not
 * set are still to come from the environment (it checks them then): here
 * they stand in as values no rule refuses. */
static int retry_problem(const struct steer_config *cfg, int i, const struct config_lines *lines,
			 const char *name, char *err, size_t errlen)
{
	const struct svc_config *svc = &cfg->services[i];
	struct backoff_params p = svc->retry;
	int line = lines && lines->retry_initial[i] ? lines->retry_initial[i] : svc->line;
	char msg[512];

	if (!svc->retry_filled) {
		if (!svc->retry_set.initial_ms)
			p.initial_ms = 0;
		if (!svc->retry_set.multiplier)
			p.multiplier = 1;
		if (!svc->retry_set.max_ms)
			p.max_ms = 3600000; /* the largest: no set initial is above it */
		if (!svc->retry_set.jitter)
			p.jitter = 0;
		if (!svc->retry_set.timeout_ms)
			p.timeout_ms = 86400000;
	}
	if (backoff_validate(&p, msg, sizeof(msg)) == 0)
		return 0;
	retry_message_names_keys(svc, svc->retry_filled, msg, sizeof(msg));
	return report(err, errlen, name, line, "service '%s': %s", svc->name, msg);
}

/* Checks that need the whole config, in order of the services. lines is
 * NULL for a config that did not come from parsing: messages then give a
 * service's section line (0 when built in memory, then left out). */
static int validate(const struct steer_config *cfg, const struct config_lines *lines,
		    const char *name, char *err, size_t errlen)
{
	char a[ADDR_STRLEN], msg[512];

	if (cfg->nservices < 0 || cfg->nservices > STEER_MAX_SERVICES)
		return report(err, errlen, name, 0, "%d services (limit STEER_MAX_SERVICES=%d)",
			      cfg->nservices, STEER_MAX_SERVICES);
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];

		/* What the parser rules out line by line; only an in-memory
		 * config can get here with these wrong. */
		if (!svc_name_valid(svc->name, strnlen(svc->name, SVC_NAME_MAX)))
			return report(err, errlen, name, svc->line,
				      "bad service name '%.*s' (accepted: " SVC_NAME_ACCEPTED ")",
				      SVC_NAME_MAX - 1, svc->name);
		for (int j = 0; j < i; j++) {
			char at[32] = "";

			if (strcmp(cfg->services[j].name, svc->name) != 0)
				continue;
			if (cfg->services[j].line)
				snprintf(at, sizeof(at), " (first at line %d)",
					 cfg->services[j].line);
			return report(err, errlen, name, svc->line, "duplicate service '%s'%s",
				      svc->name, at);
		}
		if (svc->proto != IPPROTO_TCP && svc->proto != IPPROTO_UDP)
			return report(err, errlen, name, svc->line,
				      "service '%s' has protocol %u (accepted: tcp|udp)", svc->name,
				      svc->proto);
		if (svc->nreplicas < 0)
			return report(err, errlen, name, svc->line,
				      "service '%s' has %d replicas (accepted: 0-%d)", svc->name,
				      svc->nreplicas, STEER_MAX_SLOTS);
		if (svc->nreplicas > STEER_MAX_SLOTS)
			return report(err, errlen, name, svc->line,
				      "service '%s' has more than %d replicas (limit "
				      "STEER_MAX_SLOTS=%d)",
				      svc->name, STEER_MAX_SLOTS, STEER_MAX_SLOTS);

		if (svc->vip.family == STEER_FAMILY_NONE)
			return report(err, errlen, name, svc->line,
				      "service '%s' has no vip (accepted: vip = " ADDR_ACCEPTED ")",
				      svc->name);
		for (int j = 0; j < i; j++) {
			const struct svc_config *o = &cfg->services[j];
			char at[32] = "";

			if (o->proto != svc->proto || !endpoint_equal(&o->vip, &svc->vip))
				continue;
			if (vip_line(cfg, lines, j))
				snprintf(at, sizeof(at), " (line %d)", vip_line(cfg, lines, j));
			return report(err, errlen, name, vip_line(cfg, lines, i),
				      "service '%s' has the same vip %s (%s) as service '%s'%s",
				      svc->name, endpoint_format(&svc->vip, a, sizeof(a)),
				      proto_name(svc->proto), o->name, at);
		}
		if (health_problem(cfg, i, lines, name, err, errlen) < 0 ||
		    range_problem(cfg, i, name, err, errlen) < 0 ||
		    retry_problem(cfg, i, lines, name, err, errlen) < 0)
			return -1;
		for (int r = 0; r < svc->nreplicas; r++)
			if (replica_problem(cfg, i, r, &svc->replicas[r], lines, msg, sizeof(msg)) <
			    0)
				return report(err, errlen, name, lines ? lines->replica[i][r] : 0,
					      "%s", msg);
	}
	return 0;
}

int config_validate(const struct steer_config *cfg, const char *name, char *err, size_t errlen)
{
	return validate(cfg, NULL, name, err, errlen);
}

int config_parse_string(const char *text, const char *name, struct steer_config *cfg, char *err,
			size_t errlen)
{
	struct parse_ctx *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memset(cfg, 0, sizeof(*cfg));
	ctx->name = name;
	ctx->text = text;
	ctx->pos = text;
	ctx->cfg = cfg;
	ctx->err = err;
	ctx->errlen = errlen;

	ret = ini_parse_stream(read_line, ctx, on_key, ctx);
	if (ret > 0 && (!ctx->err_line || ret < ctx->err_line)) {
		/* A line inih could not parse (no '=' or ':'), before any error of ours. */
		const char *s, *e, *a, *b;

		find_line(text, ret, &s, &e);
		clean_line(s, e, ret, &a, &b);
		ctx->err_line = 0;
		fail(ctx, ret, "syntax error: '%.*s' (accepted: " LINE_ACCEPTED ")", (int)(b - a),
		     a);
	} else if (ret < 0 && !ctx->err_line) {
		fail(ctx, ctx->lineno, "inih failed with %d", ret);
	}
	if (!ctx->err_line) {
		/* Every section is complete: `protocol` decides the default kind. */
		for (int i = 0; i < cfg->nservices; i++)
			fill_static_defaults(&cfg->services[i]);
		if (validate(cfg, &ctx->lines, name, err, errlen) < 0)
			ctx->err_line = -1;
	}

	ret = ctx->err_line ? -1 : 0;
	free(ctx);
	return ret;
}

/* The whole file as a string, or NULL with err set. */
static char *read_file(const char *path, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *grown;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		grown = realloc(buf, cap);
		if (!grown) {
			snprintf(err, errlen, "cannot read %s: out of memory", path);
			goto fail;
		}
		buf = grown;
		len += fread(buf + len, 1, cap - 1 - len, f);
		if (len < cap - 1)
			break;
		if (cap >= CONFIG_MAX_BYTES) {
			snprintf(err, errlen, "cannot read %s: too large (accepted: under %u MiB)",
				 path, CONFIG_MAX_BYTES >> 20);
			goto fail;
		}
		cap *= 2;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		int line = 1;

		for (const char *p = buf; *p; p++)
			line += *p == '\n';
		snprintf(err, errlen, "%s:%d: NUL byte (accepted: text)", path, line);
		goto fail;
	}
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

int config_load(const char *path, struct steer_config *cfg, char *err, size_t errlen)
{
	char *text = read_file(path, err, errlen);
	int ret;

	if (!text)
		return -1;
	ret = config_parse_string(text, path, cfg, err, errlen);
	free(text);
	return ret;
}

/* One health value for config_apply_env(): the file's, or the environment's
 * default. from gets " (from VAR)" for a message when it is the latter. */
static void fill_from_env(uint32_t *value, bool set, uint32_t env_value, const char *var,
			  char *from, size_t len)
{
	if (set) {
		from[0] = '\0';
	} else {
		*value = env_value;
		snprintf(from, len, " (from %s)", var);
	}
}

/* The retry half of config_apply_env() for one service. */
static int apply_retry_env(struct svc_config *svc, const struct steer_env *env, char *err,
			   size_t errlen)
{
	struct backoff_params *r = &svc->retry;
	char msg[512];

	if (!svc->retry_set.initial_ms)
		r->initial_ms = env->retry_initial_backoff_ms;
	if (!svc->retry_set.multiplier)
		r->multiplier = env->retry_backoff_multiplier;
	if (!svc->retry_set.max_ms)
		r->max_ms = env->retry_max_backoff_ms;
	if (!svc->retry_set.jitter)
		r->jitter = env->retry_jitter;
	if (!svc->retry_set.timeout_ms)
		r->timeout_ms = env->retry_timeout_ms;
	svc->retry_filled = true;
	/* Checked for UDP services too, as the health values are. */
	if (backoff_validate(r, msg, sizeof(msg)) == 0)
		return 0;
	retry_message_names_keys(svc, true, msg, sizeof(msg));
	snprintf(err, errlen, "service '%s': %s", svc->name, msg);
	return -1;
}

int config_apply_env(struct steer_config *cfg, const struct steer_env *env, char *err,
		     size_t errlen)
{
	for (int i = 0; i < cfg->nservices; i++) {
		struct svc_config *svc = &cfg->services[i];
		struct health_config *h = &svc->health;
		char from_interval[64], from_timeout[64], from_rise[64], from_fall[64];

		fill_static_defaults(svc);
		fill_from_env(&h->interval_ms, h->set.interval_ms, env->health_interval_ms,
			      "STEER_HEALTH_INTERVAL_MS", from_interval, sizeof(from_interval));
		fill_from_env(&h->timeout_ms, h->set.timeout_ms, env->health_timeout_ms,
			      "STEER_HEALTH_TIMEOUT_MS", from_timeout, sizeof(from_timeout));
		fill_from_env(&h->rise, h->set.rise, env->health_rise, "STEER_HEALTH_RISE",
			      from_rise, sizeof(from_rise));
		fill_from_env(&h->fall, h->set.fall, env->health_fall, "STEER_HEALTH_FALL",
			      from_fall, sizeof(from_fall));
		/* Checked whatever the kind: a value that cannot work is an error
		 * even while it is unused. */
		if (h->timeout_ms > h->interval_ms) {
			snprintf(err, errlen,
				 "service '%s': health_timeout_ms=%u%s is more than "
				 "health_interval_ms=%u%s (accepted: timeout <= interval)",
				 svc->name, (unsigned)h->timeout_ms, from_timeout,
				 (unsigned)h->interval_ms, from_interval);
			return -1;
		}
		if (apply_retry_env(svc, env, err, errlen) < 0)
			return -1;
	}
	return 0;
}

struct svc_config *config_find_service(struct steer_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nservices; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

int config_add_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
		       char *err, size_t errlen)
{
	struct svc_config *svc = config_find_service(cfg, service);

	if (!svc) {
		snprintf(err, errlen, "unknown service '%s'", service);
		return -1;
	}
	/* Same rules and messages as a replica line in the file; cfg is not
	 * touched until all of them pass. */
	if (replica_problem(cfg, svc_index(cfg, svc), svc->nreplicas, ep, NULL, err, errlen) < 0)
		return -1;
	if (svc->nreplicas >= STEER_MAX_SLOTS) {
		snprintf(err, errlen,
			 "service '%s' has more than %d replicas (limit STEER_MAX_SLOTS=%d)",
			 svc->name, STEER_MAX_SLOTS, STEER_MAX_SLOTS);
		return -1;
	}
	svc->replicas[svc->nreplicas++] = *ep;
	return 0;
}

int config_remove_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
			  char *err, size_t errlen)
{
	struct svc_config *svc = config_find_service(cfg, service);
	char buf[ADDR_STRLEN];

	if (!svc) {
		snprintf(err, errlen, "unknown service '%s'", service);
		return -1;
	}
	for (int r = 0; r < svc->nreplicas; r++) {
		if (!endpoint_equal(&svc->replicas[r], ep))
			continue;
		/* Keep the others in order: slots follow the config's order. */
		memmove(&svc->replicas[r], &svc->replicas[r + 1],
			(size_t)(svc->nreplicas - r - 1) * sizeof(svc->replicas[0]));
		svc->nreplicas--;
		memset(&svc->replicas[svc->nreplicas], 0, sizeof(svc->replicas[0]));
		return 0;
	}
	snprintf(err, errlen, "service '%s' has no replica %s", svc->name,
		 endpoint_format(ep, buf, sizeof(buf)));
	return -1;
}

/* Print one numeric health key: as a key if the file set it; as a comment
 * naming where it came from if config_apply_env() filled it (0: not filled
 * yet, so nothing to show). Parsing the output back therefore gives the same
 * values and the same `set` flags. */
static void print_uint(FILE *out, const char *key, uint32_t value, bool set, const char *var)
{
	if (set)
		fprintf(out, "%s = %u\n", key, (unsigned)value);
	else if (value)
		fprintf(out, "; %s = %u (default: %s)\n", key, (unsigned)value, var);
}

/* The retry keys, as print_uint() shows the health ones: set keys always,
 * the environment's defaults (once filled) for TCP services only, the ones
 * that have a miss path. */
static void print_retry(const struct svc_config *svc, FILE *out)
{
	bool show_defaults = svc->retry_filled && svc->proto == IPPROTO_TCP;

	for (size_t k = 0; k < NKEYS; k++) {
		const struct key_def *def = &keys[k];
		char value[64];
		bool set;

		if (!is_retry_key(def))
			continue;
		set = key_is_set(svc, def);
		if (!set && !show_defaults)
			continue;
		if (def->handle == key_decimal)
			env_format_decimal(decimal_value(svc, def), value, sizeof(value));
		else
			snprintf(value, sizeof(value), "%u", (unsigned)uint_value(svc, def));
		if (set)
			fprintf(out, "%s = %s\n", def->key, value);
		else
			fprintf(out, "; %s = %s (default: %s)\n", def->key, value, def->var);
	}
}

static void print_health(const struct svc_config *svc, FILE *out)
{
	const struct health_config *h = &svc->health;
	bool checked = h->kind != HEALTH_KIND_NONE;
	char expect[16];

	if (h->set.kind)
		fprintf(out, "health = %s%s%s\n", health_kind_name(h->kind),
			h->kind == HEALTH_KIND_HTTP ? " " : "",
			h->kind == HEALTH_KIND_HTTP ? h->path : "");
	else
		fprintf(out, "; health = %s (default for %s)\n", health_kind_name(h->kind),
			proto_name(svc->proto));
	/* Defaults that do not apply to the kind are left out; set keys never. */
	if (h->set.interval_ms || checked)
		print_uint(out, "health_interval_ms", h->interval_ms, h->set.interval_ms,
			   "STEER_HEALTH_INTERVAL_MS");
	if (h->set.timeout_ms || checked)
		print_uint(out, "health_timeout_ms", h->timeout_ms, h->set.timeout_ms,
			   "STEER_HEALTH_TIMEOUT_MS");
	if (h->set.rise || checked)
		print_uint(out, "health_rise", h->rise, h->set.rise, "STEER_HEALTH_RISE");
	if (h->set.fall || checked)
		print_uint(out, "health_fall", h->fall, h->set.fall, "STEER_HEALTH_FALL");
	if (h->expect_lo == h->expect_hi)
		snprintf(expect, sizeof(expect), "%u", h->expect_lo);
	else
		snprintf(expect, sizeof(expect), "%u-%u", h->expect_lo, h->expect_hi);
	if (h->set.expect)
		fprintf(out, "health_expect = %s\n", expect);
	else if (h->kind == HEALTH_KIND_HTTP)
		fprintf(out, "; health_expect = %s (default)\n", expect);
}

void config_print(const struct steer_config *cfg, FILE *out)
{
	char buf[ADDR_STRLEN];

	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];

		fprintf(out, "%s[service %s]\n", i ? "\n" : "", svc->name);
		fprintf(out, "vip = %s\n", endpoint_format(&svc->vip, buf, sizeof(buf)));
		fprintf(out, "protocol = %s\n", proto_name(svc->proto));
		print_health(svc, out);
		print_retry(svc, out);
		for (int r = 0; r < svc->nreplicas; r++)
			fprintf(out, "replica = %s\n",
				endpoint_format(&svc->replicas[r], buf, sizeof(buf)));
	}
}

void config_print_retry_schedules(const struct steer_config *cfg, FILE *out)
{
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];
		char waits[256], jitter[64];

		if (svc->proto != IPPROTO_TCP)
			continue;
		backoff_format_schedule(&svc->retry, 8, waits, sizeof(waits));
		env_format_decimal(svc->retry.jitter, jitter, sizeof(jitter));
		fprintf(out, "# service %s: retry waits %s (timeout %u ms, jitter %s)\n", svc->name,
			waits, (unsigned)svc->retry.timeout_ms, jitter);
	}
}
