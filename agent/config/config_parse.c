/* The topology file, parsed with libinih.
 *
 * libinih splits "KEY = VALUE" and finds lines that are neither that nor a
 * section header. The text still reaches it through read_line() and
 * ini_parse_stream(), not ini_parse_string(), because of what Debian's
 * libinih 55 cannot do for us:
 *   - line numbers: the handler gets none (the library is built with
 *     INI_HANDLER_LINENO 0; defining it here would change only our side of
 *     the call), so read_line() counts lines and every message says FILE:LINE;
 *   - section headers: libinih cuts "service NAME" at 49 bytes (a name may
 *     have 63) and says nothing of a section without keys, so
 *     read_line() handles "[...]" itself (section_begin()) and hands libinih
 *     a blank line in its place;
 *   - comments and indents: libinih strips inline "; ..." but not "# ...",
 *     and takes an indented line as the continuation of the previous value
 *     (its multi-line mode); read_line() drops comments (';' or '#' at the
 *     start of a line or after a blank) and leading blanks first;
 *   - long lines: libinih would read one longer than its buffer as two;
 *     read_line() refuses it, naming the limit;
 *   - the first error stops the parse, where libinih would go on.
 * (Debian's libinih exports ini_allow_multiline and the like, but they are
 * process-wide and fix neither the line numbers nor the headers.)
 *
 * on_key() checks each key with its config_keys[] row; config_validate_lines()
 * then checks what needs the whole file, service by service. Only the first
 * error is reported: line errors in file order, then the whole-file ones. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config/config_internal.h"

/* inih's handler: returns nonzero on success. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *ctx = user;
	char accepted[512] = "";
	size_t k;

	(void)section; /* always "": read_line() keeps section headers from inih */
	if (!ctx->svc)
		return config_fail(ctx, ctx->lineno,
				   "key '%s' before the first section (accepted: keys inside a "
				   "[service NAME] section)",
				   key) == 0;
	for (k = 0; k < CONFIG_NKEYS; k++)
		if (strcmp(key, config_keys[k].key) == 0)
			break;
	if (k == CONFIG_NKEYS) {
		for (size_t i = 0; i < CONFIG_NKEYS; i++)
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
				 "%s%s", i ? ", " : "", config_keys[i].key);
		return config_fail(ctx, ctx->lineno,
				   "unknown key '%s' in service '%s' (accepted: %s)", key,
				   ctx->svc->name, accepted) == 0;
	}
	if (ctx->key_line[k] && !config_keys[k].repeatable)
		return config_fail(
			   ctx, ctx->lineno,
			   "duplicate key '%s' in service '%s' (first at line %d; accepted: "
			   "once per service)",
			   key, ctx->svc->name, ctx->key_line[k]) == 0;
	if (!ctx->key_line[k])
		ctx->key_line[k] = ctx->lineno;
	if (config_keys[k].value_off == offsetof(struct svc_config, retry.initial_ms))
		ctx->lines.svc[svc_index(ctx->cfg, ctx->svc)].retry_initial = ctx->lineno;
	return config_keys[k].handle(ctx, &config_keys[k], value) == 0;
}

/* A "[...]" line (len > 0, text[0] == '['): start a new service. */
static int section_begin(struct parse_ctx *ctx, const char *text, int len)
{
	struct steer_config *cfg = ctx->cfg;
	const char *in = text + 1, *end = text + len - 1, *name;
	struct svc_config *svc;
	int name_len;

	if (len < 2 || *end != ']')
		return config_fail(ctx, ctx->lineno,
				   "bad section header '%.*s' (accepted: [service NAME])", len,
				   text);
	while (in < end && isspace((unsigned char)*in))
		in++;
	while (end > in && isspace((unsigned char)end[-1]))
		end--;
	if (end - in < 7 || strncmp(in, "service", 7) != 0 ||
	    (end - in > 7 && !isspace((unsigned char)in[7])))
		return config_fail(ctx, ctx->lineno,
				   "unknown section '%.*s' (accepted: [service NAME])", len, text);
	for (name = in + 7; isspace((unsigned char)*name); name++)
		;
	name_len = (int)(end - name);
	if (!svc_name_valid(name, (size_t)name_len))
		return config_fail(ctx, ctx->lineno,
				   "bad service name '%.*s' (accepted: " SVC_NAME_ACCEPTED ")",
				   (int)(end - name), name);
	/* Duplicate names are found after the last line (config_validate()),
	 * through a sorted index: a walk of every earlier section here would
	 * cost n^2 / 2 comparisons, seconds at 65,536 services. */
	if ((uint32_t)cfg->nservices >= steer_limits.services)
		return config_fail(
		    ctx, ctx->lineno,
		    "more than %u services (limit STEER_MAX_SERVICES=%u) at service '%.*s'",
		    steer_limits.services, steer_limits.services, name_len, name);

	svc = config_add_service(cfg);
	if (!svc || !config_lines_of(&ctx->lines, cfg->nservices - 1))
		return config_fail(ctx, ctx->lineno, "out of memory at service '%.*s'", name_len,
				   name);
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
		config_fail(
		    ctx, ctx->lineno,
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

int config_parse_string(const char *text, const char *name, struct steer_config *cfg, char *err,
			size_t errlen)
{
	struct parse_ctx *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	config_clear(cfg);
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
		config_fail(ctx, ret, "syntax error: '%.*s' (accepted: " LINE_ACCEPTED ")",
			    (int)(b - a), a);
	} else if (ret < 0 && !ctx->err_line) {
		config_fail(ctx, ctx->lineno, "inih failed with %d", ret);
	}
	if (!ctx->err_line) {
		/* Every section is complete: `protocol` decides the default kind. */
		for (int i = 0; i < cfg->nservices; i++)
			config_fill_static_defaults(&cfg->services[i]);
		if (config_validate_lines(cfg, &ctx->lines, name, err, errlen) < 0)
			ctx->err_line = -1;
	}

	ret = ctx->err_line ? -1 : 0;
	config_lines_free(&ctx->lines);
	free(ctx);
	return ret;
}
