/* What each kind of STEER_* variable accepts and how its value is shown:
 * one parse and one show function per enum env_kind, which env_var_parse()
 * and env_var_show() pick for a row of env_vars[]. A parse function writes
 * the row's field only when it accepts the value. */
#include <string.h>

#include "config/config.h"
#include "config/env.h"
#include "lib/decimal.h"
#include "lib/addr.h"
#include "lib/log.h"

/* An absolute path without ".." components that fits a field of size bytes. */
static bool path_is_acceptable(const char *value, size_t size)
{
	const char *p = value;

	if (value[0] != '/' || strlen(value) >= size)
		return false;
	while ((p = strstr(p, "..")) != NULL) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
		p += 2;
	}
	return true;
}

static bool parse_path(const struct env_var *v, const char *value, void *field)
{
	if (!(v->may_be_empty && value[0] == '\0') && !path_is_acceptable(value, v->size))
		return false;
	strcpy(field, value);
	return true;
}

/* An absolute path that fits sockaddr_un.sun_path (108 bytes with the NUL). */
static bool parse_socket(const struct env_var *v, const char *value, void *field)
{
	if (value[0] != '/' || strlen(value) >= v->size)
		return false;
	strcpy(field, value);
	return true;
}

static bool parse_uint(const struct env_var *v, const char *value, void *field)
{
	long long n;

	if (env_parse_int(value, (long long)v->lo, (long long)v->hi, &n) < 0)
		return false;
	*(uint32_t *)field = (uint32_t)n;
	return true;
}

static bool parse_decimal(const struct env_var *v, const char *value, void *field)
{
	return env_parse_decimal(value, v->lo, v->hi, field) == 0;
}

static bool parse_log_level(const struct env_var *v, const char *value, void *field)
{
	int level = log_level_parse(value);

	(void)v;
	if (level < 0)
		return false;
	*(int *)field = level;
	return true;
}

static bool parse_addr(const struct env_var *v, const char *value, void *field)
{
	struct endpoint ep;
	char why[128];

	if (!strcmp(value, "off")) {
		*(char *)field = '\0';
		return true;
	}
	if (endpoint_parse(value, &ep, why, sizeof(why)) || strlen(value) >= v->size)
		return false;
	strcpy(field, value);
	return true;
}

static bool parse_flag(const struct env_var *v, const char *value, void *field)
{
	if (!strcmp(value, v->words[0]))
		*(bool *)field = false;
	else if (!strcmp(value, v->words[1]))
		*(bool *)field = true;
	else
		return false;
	return true;
}

/* A group name as useradd accepts it. */
static bool parse_group(const struct env_var *v, const char *value, void *field)
{
	size_t n = strlen(value);

	if (n >= v->size ||
	    (n && strspn(value, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789_.-") != n) ||
	    value[0] == '-')
		return false;
	strcpy(field, value);
	return true;
}

/* A zone, as a replica's zone= takes it; "" for none. */
static bool parse_zone(const struct env_var *v, const char *value, void *field)
{
	size_t n = strlen(value);

	if (n >= v->size || (n && !zone_name_valid(value, n)))
		return false;
	strcpy(field, value);
	return true;
}

static const char *show_text(const struct env_var *v, const void *field, char *buf, size_t len)
{
	const char *text = field;

	(void)buf;
	(void)len;
	return text[0] || !v->empty_shown ? text : v->empty_shown;
}

static const char *show_uint(const struct env_var *v, const void *field, char *buf, size_t len)
{
	(void)v;
	snprintf(buf, len, "%u", (unsigned)*(const uint32_t *)field);
	return buf;
}

static const char *show_decimal(const struct env_var *v, const void *field, char *buf, size_t len)
{
	(void)v;
	decimal_format(*(const double *)field, buf, len);
	return buf;
}

static const char *show_log_level(const struct env_var *v, const void *field, char *buf, size_t len)
{
	(void)v;
	(void)buf;
	(void)len;
	return log_level_name(*(const int *)field);
}

static const char *show_flag(const struct env_var *v, const void *field, char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return v->words[*(const bool *)field];
}

static const struct {
	bool (*parse)(const struct env_var *v, const char *value, void *field);
	const char *(*show)(const struct env_var *v, const void *field, char *buf, size_t len);
} kinds[] = {
    [ENV_KIND_PATH] = {parse_path, show_text},
    [ENV_KIND_SOCKET] = {parse_socket, show_text},
    [ENV_KIND_UINT] = {parse_uint, show_uint},
    [ENV_KIND_DECIMAL] = {parse_decimal, show_decimal},
    [ENV_KIND_LOG_LEVEL] = {parse_log_level, show_log_level},
    [ENV_KIND_ADDR] = {parse_addr, show_text},
    [ENV_KIND_FLAG] = {parse_flag, show_flag},
    [ENV_KIND_GROUP] = {parse_group, show_text},
    [ENV_KIND_ZONE] = {parse_zone, show_text},
};

_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == ENV_KIND_COUNT, "a kind without functions");

int env_var_parse(const struct env_var *v, const char *value, struct steer_env *env, char *err,
		  size_t errlen)
{
	if (kinds[v->kind].parse(v, value, (char *)env + v->offset))
		return 0;
	/* The one message for a rejected value: names the variable, quotes
	 * the value and repeats what the table says is accepted. */
	snprintf(err, errlen, "%s='%s': expected %s", v->name, value, v->accepted);
	return -1;
}

const char *env_var_show(const struct env_var *v, const struct steer_env *env, char *buf,
			 size_t len)
{
	return kinds[v->kind].show(v, (const char *)env + v->offset, buf, len);
}
