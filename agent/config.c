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
 * validate()'s. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define ADDR_ACCEPTED	 "A.B.C.D:PORT or [IPV6]:PORT"
#define NAME_ACCEPTED	 "1-63 characters of A-Z a-z 0-9 _ . -"
#define LINE_ACCEPTED                                                                              \
	"[service NAME], KEY = VALUE, a blank line, or a comment starting with ';' or '#'"

struct parse_ctx;

/* One row per key a [service NAME] section may hold. */
struct key_def {
	const char *key;
	int (*handle)(struct parse_ctx *ctx, const char *value);
	bool repeatable;
};

static int key_vip(struct parse_ctx *ctx, const char *value);
static int key_protocol(struct parse_ctx *ctx, const char *value);
static int key_replica(struct parse_ctx *ctx, const char *value);

static const struct key_def keys[] = {
    {"vip", key_vip, false},
    {"protocol", key_protocol, false},
    {"replica", key_replica, true},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_ctx {
	const char *name;	  /* file name used in messages */
	const char *text;	  /* the whole input, NUL-terminated */
	const char *pos;	  /* start of the next line to read */
	int lineno;		  /* line last handed to inih */
	struct steer_config *cfg; /* being filled */
	struct svc_config *svc;	  /* current section; NULL before the first */
	int key_line[NKEYS];	  /* first line of each key in the current section */
	int vip_line[STEER_MAX_SERVICES];
	int replica_line[STEER_MAX_SERVICES][STEER_MAX_SLOTS];
	char *err;
	size_t errlen;
	int err_line; /* line of the first error; 0 while there is none */
};

/* Record "NAME:LINE: message" unless an error is already recorded. */
__attribute__((format(printf, 3, 4))) static int fail(struct parse_ctx *ctx, int line,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->err_line)
		return -1;
	ctx->err_line = line;
	n = snprintf(ctx->err, ctx->errlen, "%s:%d: ", ctx->name, line);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static int svc_index(const struct parse_ctx *ctx, const struct svc_config *svc)
{
	return (int)(svc - ctx->cfg->services);
}

static int key_vip(struct parse_ctx *ctx, const char *value)
{
	char msg[512];

	if (endpoint_parse(value, &ctx->svc->vip, msg, sizeof(msg)) < 0)
		return fail(ctx, ctx->lineno, "vip: %s", msg);
	ctx->vip_line[svc_index(ctx, ctx->svc)] = ctx->lineno;
	return 0;
}

static int key_protocol(struct parse_ctx *ctx, const char *value)
{
	if (strcmp(value, "tcp") == 0)
		ctx->svc->proto = IPPROTO_TCP;
	else if (strcmp(value, "udp") == 0)
		ctx->svc->proto = IPPROTO_UDP;
	else
		return fail(ctx, ctx->lineno, "bad protocol '%s' (accepted: tcp|udp)", value);
	return 0;
}

static int key_replica(struct parse_ctx *ctx, const char *value)
{
	struct svc_config *svc = ctx->svc;
	int *lines = ctx->replica_line[svc_index(ctx, svc)];
	char msg[512], buf[ADDR_STRLEN];
	struct endpoint ep;

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

/* inih's handler: returns nonzero on success. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *ctx = user;
	char accepted[128] = "";
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
	return keys[k].handle(ctx, value) == 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
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
	for (int i = 0; i < name_len; i++)
		if (!is_name_char(name[i]))
			name_len = -1;
	if (name_len < 1 || name_len >= SVC_NAME_MAX)
		return fail(ctx, ctx->lineno,
			    "bad service name '%.*s' (accepted: " NAME_ACCEPTED ")",
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

/* Checks that need the whole file, in file order of the services. */
static void validate(struct parse_ctx *ctx)
{
	const struct steer_config *cfg = ctx->cfg;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	for (int i = 0; i < cfg->nservices && !ctx->err_line; i++) {
		const struct svc_config *svc = &cfg->services[i];

		if (svc->vip.family == STEER_FAMILY_NONE) {
			fail(ctx, svc->line,
			     "service '%s' has no vip (accepted: vip = " ADDR_ACCEPTED ")",
			     svc->name);
			return;
		}
		for (int j = 0; j < i; j++) {
			const struct svc_config *o = &cfg->services[j];

			if (o->proto == svc->proto && endpoint_equal(&o->vip, &svc->vip)) {
				fail(ctx, ctx->vip_line[i],
				     "service '%s' has the same vip %s (%s) as service '%s' (line "
				     "%d)",
				     svc->name, endpoint_format(&svc->vip, a, sizeof(a)),
				     proto_name(svc->proto), o->name, ctx->vip_line[j]);
				return;
			}
		}
		for (int r = 0; r < svc->nreplicas; r++) {
			const struct endpoint *rep = &svc->replicas[r];
			int line = ctx->replica_line[i][r];

			if (rep->family != svc->vip.family) {
				fail(ctx, line,
				     "replica %s of service '%s' is %s but its vip %s is %s "
				     "(accepted: "
				     "replicas of the vip's family)",
				     endpoint_format(rep, a, sizeof(a)), svc->name,
				     rep->family == STEER_FAMILY_V4 ? "IPv4" : "IPv6",
				     endpoint_format(&svc->vip, b, sizeof(b)),
				     svc->vip.family == STEER_FAMILY_V4 ? "IPv4" : "IPv6");
				return;
			}
			for (int j = 0; j < cfg->nservices; j++) {
				if (!endpoint_equal(rep, &cfg->services[j].vip))
					continue;
				fail(ctx, line,
				     "replica %s of service '%s' is the vip of service '%s' (line "
				     "%d; "
				     "accepted: an address that is no service's vip)",
				     endpoint_format(rep, a, sizeof(a)), svc->name,
				     cfg->services[j].name, ctx->vip_line[j]);
				return;
			}
		}
	}
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
	if (!ctx->err_line)
		validate(ctx);

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

void config_print(const struct steer_config *cfg, FILE *out)
{
	char buf[ADDR_STRLEN];

	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *svc = &cfg->services[i];

		fprintf(out, "%s[service %s]\n", i ? "\n" : "", svc->name);
		fprintf(out, "vip = %s\n", endpoint_format(&svc->vip, buf, sizeof(buf)));
		fprintf(out, "protocol = %s\n", proto_name(svc->proto));
		for (int r = 0; r < svc->nreplicas; r++)
			fprintf(out, "replica = %s\n",
				endpoint_format(&svc->replicas[r], buf, sizeof(buf)));
	}
}
