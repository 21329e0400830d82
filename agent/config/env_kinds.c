/* What each kind of STEER_* variable accepts and how its value is shown:
 * one parse and one show function per enum env_kind, which env_var_parse()
 * and env_var_show() pick for a row of env_vars[]. A parse function writes
 * the row's field only when it accepts the value. */
#include <net/if.h>
#include <string.h>

#include "config/config.h"
#include "config/env.h"
#include "registry/etcd_members.h"
#include "lib/decimal.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "xdp/maglev.h"

_Static_assert(ENV_IFNAMSIZ == IF_NAMESIZE, "ENV_IFNAMSIZ is the kernel's IFNAMSIZ");
_Static_assert(sizeof(((struct steer_env *)0)->xdp_ifaces) >=
		   ENV_XDP_IFACES_MAX * (ENV_IFNAMSIZ - 1) + ENV_XDP_IFACES_MAX,
	       "xdp_ifaces holds the longest list ifaces_problem() lets through");

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

#define IFNAME_RULE "1-15 characters, no '/', ':' or blank, not '.' or '..'"

bool env_iface_name_valid(const char *name, size_t len)
{
	if (len == 0 || len >= ENV_IFNAMSIZ || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0)
			return false;
	}
	return true;
}

/* Why list is no STEER_XDP_IFACES value, written into why; NULL when it is
 * one: each name valid, at most ENV_XDP_IFACES_MAX of them, none twice. */
static const char *ifaces_problem(const char *list, char *why, size_t len)
{
	const char *names[ENV_XDP_IFACES_MAX];
	size_t lens[ENV_XDP_IFACES_MAX], count = 0;

	if (list[0] == '\0')
		return NULL;
	for (const char *p = list;; p++) {
		size_t n = strcspn(p, ",");

		if (n == 0) {
			snprintf(why, len, "name %zu is empty", count + 1);
			return why;
		}
		if (!env_iface_name_valid(p, n)) {
			snprintf(why, len, "'%.*s' is not an interface name (%s)", (int)n, p,
				 IFNAME_RULE);
			return why;
		}
		if (count == ENV_XDP_IFACES_MAX) {
			snprintf(why, len, "more than %d names", ENV_XDP_IFACES_MAX);
			return why;
		}
		for (size_t i = 0; i < count; i++)
			if (lens[i] == n && !memcmp(names[i], p, n)) {
				snprintf(why, len, "'%.*s' is named twice", (int)n, p);
				return why;
			}
		names[count] = p;
		lens[count++] = n;
		p += n;
		if (*p == '\0')
			return NULL;
	}
}

static bool parse_ifaces(const struct env_var *v, const char *value, void *field)
{
	char why[128];

	if (ifaces_problem(value, why, sizeof(why)) || strlen(value) >= v->size)
		return false;
	strcpy(field, value);
	return true;
}

static void explain_ifaces(const struct env_var *v, const char *value, char *why, size_t len)
{
	(void)v;
	ifaces_problem(value, why, len);
}

bool env_ifaces_next(const char **pos, char name[ENV_IFNAMSIZ])
{
	const char *p = *pos;
	size_t n;

	while (*p == ',')
		p++;
	if (*p == '\0') {
		*pos = p;
		return false;
	}
	n = strcspn(p, ",");
	snprintf(name, ENV_IFNAMSIZ, "%.*s", (int)n, p);
	*pos = p + n + (p[n] == ',');
	return true;
}

/* One of words[] (NULL-terminated), kept as text. */
static bool parse_choice(const struct env_var *v, const char *value, void *field)
{
	for (size_t i = 0; i < sizeof(v->words) / sizeof(v->words[0]) && v->words[i]; i++)
		if (!strcmp(value, v->words[i]) && strlen(value) < v->size) {
			strcpy(field, value);
			return true;
		}
	return false;
}

static bool parse_maglev_size(const struct env_var *v, const char *value, void *field)
{
	long long n;

	(void)v;
	if (env_parse_int(value, 0, UINT32_MAX, &n) < 0 || !maglev_size_valid((uint32_t)n))
		return false;
	*(uint32_t *)field = (uint32_t)n;
	return true;
}

#define REGISTRY_SCHEME "etcd:"

static bool parse_registry(const struct env_var *v, const char *value, void *field)
{
	char err[8];
	size_t n = strlen(value);

	if (n >= v->size || (n && (strncmp(value, REGISTRY_SCHEME, strlen(REGISTRY_SCHEME)) ||
				   etcd_members_parse(value + strlen(REGISTRY_SCHEME), NULL,
						      ETCD_MEMBERS_MAX, err, sizeof(err)) < 0)))
		return false;
	strcpy(field, value);
	return true;
}

static void explain_registry(const struct env_var *v, const char *value, char *why, size_t len)
{
	(void)v;
	if (strncmp(value, REGISTRY_SCHEME, strlen(REGISTRY_SCHEME)))
		snprintf(why, len, "it must start with '" REGISTRY_SCHEME "'");
	else
		etcd_members_parse(value + strlen(REGISTRY_SCHEME), NULL, ETCD_MEMBERS_MAX, why,
				   len);
}

const char *env_registry_members(const struct steer_env *env)
{
	return env->registry[0] ? env->registry + strlen(REGISTRY_SCHEME) : NULL;
}

static bool parse_key_prefix(const struct env_var *v, const char *value, void *field)
{
	size_t n = strlen(value);

	if (!n || n >= v->size || value[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (value[i] <= 0x20 || value[i] > 0x7e)
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

/* explain: what is wrong with a value that parse refused, for kinds whose
 * `accepted` text alone would leave the reader searching (NULL: none). */
static const struct {
	bool (*parse)(const struct env_var *v, const char *value, void *field);
	const char *(*show)(const struct env_var *v, const void *field, char *buf, size_t len);
	void (*explain)(const struct env_var *v, const char *value, char *why, size_t len);
} kinds[] = {
    [ENV_KIND_PATH] = {parse_path, show_text, NULL},
    [ENV_KIND_SOCKET] = {parse_socket, show_text, NULL},
    [ENV_KIND_UINT] = {parse_uint, show_uint, NULL},
    [ENV_KIND_DECIMAL] = {parse_decimal, show_decimal, NULL},
    [ENV_KIND_LOG_LEVEL] = {parse_log_level, show_log_level, NULL},
    [ENV_KIND_ADDR] = {parse_addr, show_text, NULL},
    [ENV_KIND_FLAG] = {parse_flag, show_flag, NULL},
    [ENV_KIND_GROUP] = {parse_group, show_text, NULL},
    [ENV_KIND_ZONE] = {parse_zone, show_text, NULL},
    [ENV_KIND_IFACES] = {parse_ifaces, show_text, explain_ifaces},
    [ENV_KIND_CHOICE] = {parse_choice, show_text, NULL},
    [ENV_KIND_MAGLEV_SIZE] = {parse_maglev_size, show_uint, NULL},
    [ENV_KIND_REGISTRY] = {parse_registry, show_text, explain_registry},
    [ENV_KIND_KEY_PREFIX] = {parse_key_prefix, show_text, NULL},
};

_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == ENV_KIND_COUNT, "a kind without functions");

int env_var_parse(const struct env_var *v, const char *value, struct steer_env *env, char *err,
		  size_t errlen)
{
	char why[160] = "";

	if (kinds[v->kind].parse(v, value, (char *)env + v->offset))
		return 0;
	/* The one message for a rejected value: names the variable, quotes
	 * the value, says what is wrong in it where the kind can, and
	 * repeats what the table says is accepted. */
	if (kinds[v->kind].explain)
		kinds[v->kind].explain(v, value, why, sizeof(why));
	snprintf(err, errlen, "%s='%s': %s%sexpected %s", v->name, value, why, why[0] ? "; " : "",
		 v->accepted);
	return -1;
}

const char *env_var_show(const struct env_var *v, const struct steer_env *env, char *buf,
			 size_t len)
{
	return kinds[v->kind].show(v, (const char *)env + v->offset, buf, len);
}
