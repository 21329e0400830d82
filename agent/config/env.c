/* STEER_* environment variables. To add one: a field in struct steer_env, an
 * ENV_* index, a row in env_vars[], a parse function (usually a one-line call
 * of path_is_acceptable/parse_uint/parse_decimal) and a case in env_value().
 * Rules between variables are checked at the end of env_load(). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "miss/backoff.h"
#include "lib/addr.h"
#include "config/env.h"
#include "lib/log.h"

#define ENV_PREFIX "STEER_"

enum env_index {
	ENV_BPFFS,
	ENV_CGROUP,
	ENV_LOG_LEVEL,
	ENV_HEALTH_INTERVAL_MS,
	ENV_HEALTH_TIMEOUT_MS,
	ENV_HEALTH_RISE,
	ENV_HEALTH_FALL,
	ENV_PASSIVE_EJECT_FAILURES,
	ENV_CONTROL_SOCKET,
	ENV_RETRY_INITIAL_BACKOFF_MS,
	ENV_RETRY_BACKOFF_MULTIPLIER,
	ENV_RETRY_MAX_BACKOFF_MS,
	ENV_RETRY_JITTER,
	ENV_RETRY_TIMEOUT_MS,
	ENV_HOLD_MAX,
	ENV_METRICS_ADDR,
	ENV_LOG_FORMAT,
	ENV_CONTROL_GROUP,
	ENV_COUNT,
};

static int parse_bpffs(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_cgroup(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_log_level(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_health_interval_ms(const char *value, struct steer_env *env, char *err,
				    size_t errlen);
static int parse_health_timeout_ms(const char *value, struct steer_env *env, char *err,
				   size_t errlen);
static int parse_health_rise(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_health_fall(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_passive_eject_failures(const char *value, struct steer_env *env, char *err,
					size_t errlen);
static int parse_control_socket(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_retry_initial_backoff_ms(const char *value, struct steer_env *env, char *err,
					  size_t errlen);
static int parse_retry_backoff_multiplier(const char *value, struct steer_env *env, char *err,
					  size_t errlen);
static int parse_retry_max_backoff_ms(const char *value, struct steer_env *env, char *err,
				      size_t errlen);
static int parse_retry_jitter(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_retry_timeout_ms(const char *value, struct steer_env *env, char *err,
				  size_t errlen);
static int parse_hold_max(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_metrics_addr(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_log_format(const char *value, struct steer_env *env, char *err, size_t errlen);
static int parse_control_group(const char *value, struct steer_env *env, char *err, size_t errlen);

const struct env_var env_vars[] = {
    [ENV_BPFFS] = {"STEER_BPFFS", "/sys/fs/bpf/steer",
		   "absolute path on a bpf filesystem, no '..', max PATH_MAX-1 chars",
		   "pin directory for maps and links", parse_bpffs},
    [ENV_CGROUP] = {"STEER_CGROUP", "",
		    "empty, or absolute path of a cgroup v2 dir, no '..', max PATH_MAX-1 chars",
		    "cgroup whose processes are steered (empty: the cgroup v2 root)", parse_cgroup},
    [ENV_LOG_LEVEL] = {"STEER_LOG_LEVEL", "info", "error|warn|info|debug",
		       "least severe messages logged", parse_log_level},
    [ENV_HEALTH_INTERVAL_MS] = {"STEER_HEALTH_INTERVAL_MS", "500", "10-3600000",
				"default interval between active checks", parse_health_interval_ms},
    [ENV_HEALTH_TIMEOUT_MS] = {"STEER_HEALTH_TIMEOUT_MS", "250",
			       "1-600000, at most STEER_HEALTH_INTERVAL_MS",
			       "default check timeout", parse_health_timeout_ms},
    [ENV_HEALTH_RISE] = {"STEER_HEALTH_RISE", "2", "1-100",
			 "good checks in a row to mark a replica up", parse_health_rise},
    [ENV_HEALTH_FALL] = {"STEER_HEALTH_FALL", "2", "1-100",
			 "failed checks in a row to mark it down", parse_health_fall},
    [ENV_PASSIVE_EJECT_FAILURES] = {"STEER_PASSIVE_EJECT_FAILURES", "1", "0-1000",
				    "failed connects in a row after which the datapath ejects a "
				    "replica (0 = never)",
				    parse_passive_eject_failures},
    [ENV_CONTROL_SOCKET] = {"STEER_CONTROL_SOCKET", "/run/steer/steer.sock",
			    "absolute path, at most 107 bytes", "the control socket",
			    parse_control_socket},
    [ENV_RETRY_INITIAL_BACKOFF_MS] = {"STEER_RETRY_INITIAL_BACKOFF_MS", "25",
				      "0-3600000, at most STEER_RETRY_MAX_BACKOFF_MS",
				      "wait before the second attempt of a held connection",
				      parse_retry_initial_backoff_ms},
    [ENV_RETRY_BACKOFF_MULTIPLIER] = {"STEER_RETRY_BACKOFF_MULTIPLIER", "2", "a decimal 1-1000000",
				      "growth of each next wait", parse_retry_backoff_multiplier},
    [ENV_RETRY_MAX_BACKOFF_MS] = {"STEER_RETRY_MAX_BACKOFF_MS", "500", "1-3600000",
				  "cap on any wait", parse_retry_max_backoff_ms},
    [ENV_RETRY_JITTER] = {"STEER_RETRY_JITTER", "0.2", "a decimal 0-1",
			  "fraction of each wait, uniform +/-", parse_retry_jitter},
    [ENV_RETRY_TIMEOUT_MS] = {"STEER_RETRY_TIMEOUT_MS", "30000", "1-86400000",
			      "a held connection is reset this long after it arrived",
			      parse_retry_timeout_ms},
    [ENV_HOLD_MAX] = {"STEER_HOLD_MAX", "4096", "1-1000000",
		      "connections held at once; past it a new miss is refused at once and "
		      "counted",
		      parse_hold_max},
    [ENV_METRICS_ADDR] = {"STEER_METRICS_ADDR", "127.0.0.1:9477", "ADDR:PORT or off",
			  "Prometheus metrics endpoint (HTTP, /metrics); off disables it",
			  parse_metrics_addr},
    [ENV_LOG_FORMAT] = {"STEER_LOG_FORMAT", "text", "text|json", "log line format on stderr",
			parse_log_format},
    [ENV_CONTROL_GROUP] = {"STEER_CONTROL_GROUP", "", "empty, or a group name",
			   "a group whose members may use the control socket besides root",
			   parse_control_group},
};

const size_t env_vars_count = sizeof(env_vars) / sizeof(env_vars[0]);

_Static_assert(sizeof(env_vars) / sizeof(env_vars[0]) == ENV_COUNT, "env_vars[] and ENV_* differ");

/* The one message for a rejected value: names the variable, quotes the value
 * and repeats what the table says is accepted. */
static int bad_value(enum env_index i, const char *value, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s='%s': expected %s", env_vars[i].name, value,
		 env_vars[i].accepted);
	return -1;
}

int env_parse_int(const char *text, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)text[0]) &&
	    !(text[0] == '-' && isdigit((unsigned char)text[1])))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int env_parse_decimal(const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;

	/* strtod also takes "inf", "nan", hex floats and leading blanks; a
	 * decimal number is only made of these characters. */
	if (text[0] == '\0' || text[strspn(text, "0123456789.eE+-")] != '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end != '\0' || !isfinite(v) || !(v >= lo && v <= hi))
		return -1;
	*out = v == 0 ? 0 : v; /* "-0" would print as "-0" */
	return 0;
}

void env_format_decimal(double v, char *buf, size_t len)
{
	if (!isfinite(v)) {
		snprintf(buf, len, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void env_note_value(char *msg, size_t len, const char *name, const char *rename, const char *note)
{
	size_t nlen = strlen(name);
	const char *p, *value, *end;
	char *out;

	/* NAME= as a whole word: not the tail of a longer name */
	for (p = strstr(msg, name); p; p = strstr(p + 1, name))
		if (p[nlen] == '=' &&
		    (p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')))
			break;
	if (!p || !(out = malloc(len)))
		return;
	value = p + nlen;
	end = value + strcspn(value, " \t:");
	snprintf(out, len, "%.*s%s%.*s%s%s", (int)(p - msg), msg, rename ? rename : name,
		 (int)(end - value), value, note, end);
	memcpy(msg, out, strlen(out) + 1);
	free(out);
}

/* An absolute path without ".." components that fits dst[PATH_MAX]. */
static bool path_is_acceptable(const char *value)
{
	const char *p = value;

	if (value[0] != '/' || strlen(value) >= PATH_MAX)
		return false;
	while ((p = strstr(p, "..")) != NULL) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
		p += 2;
	}
	return true;
}

static int parse_bpffs(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	if (!path_is_acceptable(value))
		return bad_value(ENV_BPFFS, value, err, errlen);
	strcpy(env->bpffs, value);
	return 0;
}

static int parse_cgroup(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	if (value[0] != '\0' && !path_is_acceptable(value))
		return bad_value(ENV_CGROUP, value, err, errlen);
	strcpy(env->cgroup, value);
	return 0;
}

static int parse_log_level(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	int level = log_level_parse(value);

	if (level < 0)
		return bad_value(ENV_LOG_LEVEL, value, err, errlen);
	env->log_level = level;
	return 0;
}

/* An integer variable: decimal digits only, in [lo, hi]. */
static int parse_uint(enum env_index i, const char *value, uint32_t lo, uint32_t hi, uint32_t *dst,
		      char *err, size_t errlen)
{
	long long v;

	if (env_parse_int(value, lo, hi, &v) < 0)
		return bad_value(i, value, err, errlen);
	*dst = (uint32_t)v;
	return 0;
}

static int parse_health_interval_ms(const char *value, struct steer_env *env, char *err,
				    size_t errlen)
{
	return parse_uint(ENV_HEALTH_INTERVAL_MS, value, 10, 3600000, &env->health_interval_ms, err,
			  errlen);
}

/* The range only: that the timeout fits in the interval is checked once
 * both are known, at the end of env_load(). */
static int parse_health_timeout_ms(const char *value, struct steer_env *env, char *err,
				   size_t errlen)
{
	return parse_uint(ENV_HEALTH_TIMEOUT_MS, value, 1, 600000, &env->health_timeout_ms, err,
			  errlen);
}

static int parse_health_rise(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	return parse_uint(ENV_HEALTH_RISE, value, 1, 100, &env->health_rise, err, errlen);
}

static int parse_health_fall(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	return parse_uint(ENV_HEALTH_FALL, value, 1, 100, &env->health_fall, err, errlen);
}

static int parse_passive_eject_failures(const char *value, struct steer_env *env, char *err,
					size_t errlen)
{
	return parse_uint(ENV_PASSIVE_EJECT_FAILURES, value, 0, 1000, &env->passive_eject_failures,
			  err, errlen);
}

/* A decimal variable: see env_parse_decimal(), in [lo, hi]. */
static int parse_decimal(enum env_index i, const char *value, double lo, double hi, double *dst,
			 char *err, size_t errlen)
{
	if (env_parse_decimal(value, lo, hi, dst) < 0)
		return bad_value(i, value, err, errlen);
	return 0;
}

/* The ranges of the retry variables are those of backoff_validate(), which
 * env_load() runs at the end for the rule between them (initial <= max). */
static int parse_retry_initial_backoff_ms(const char *value, struct steer_env *env, char *err,
					  size_t errlen)
{
	return parse_uint(ENV_RETRY_INITIAL_BACKOFF_MS, value, 0, 3600000,
			  &env->retry_initial_backoff_ms, err, errlen);
}

static int parse_retry_backoff_multiplier(const char *value, struct steer_env *env, char *err,
					  size_t errlen)
{
	return parse_decimal(ENV_RETRY_BACKOFF_MULTIPLIER, value, 1, 1000000,
			     &env->retry_backoff_multiplier, err, errlen);
}

static int parse_retry_max_backoff_ms(const char *value, struct steer_env *env, char *err,
				      size_t errlen)
{
	return parse_uint(ENV_RETRY_MAX_BACKOFF_MS, value, 1, 3600000, &env->retry_max_backoff_ms,
			  err, errlen);
}

static int parse_retry_jitter(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	return parse_decimal(ENV_RETRY_JITTER, value, 0, 1, &env->retry_jitter, err, errlen);
}

static int parse_retry_timeout_ms(const char *value, struct steer_env *env, char *err,
				  size_t errlen)
{
	return parse_uint(ENV_RETRY_TIMEOUT_MS, value, 1, 86400000, &env->retry_timeout_ms, err,
			  errlen);
}

static int parse_hold_max(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	return parse_uint(ENV_HOLD_MAX, value, 1, 1000000, &env->hold_max, err, errlen);
}

static int parse_metrics_addr(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	struct endpoint ep;
	char why[128];

	if (!strcmp(value, "off")) {
		env->metrics_addr[0] = '\0';
		return 0;
	}
	if (endpoint_parse(value, &ep, why, sizeof(why)) ||
	    strlen(value) >= sizeof(env->metrics_addr))
		return bad_value(ENV_METRICS_ADDR, value, err, errlen);
	strcpy(env->metrics_addr, value);
	return 0;
}

static int parse_log_format(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	if (!strcmp(value, "text"))
		env->log_json = false;
	else if (!strcmp(value, "json"))
		env->log_json = true;
	else
		return bad_value(ENV_LOG_FORMAT, value, err, errlen);
	return 0;
}

/* A group name as useradd accepts it; resolved when the agent starts. */
static int parse_control_group(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n >= sizeof(env->control_group) ||
	    (n && strspn(value, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789_.-") != n) ||
	    value[0] == '-')
		return bad_value(ENV_CONTROL_GROUP, value, err, errlen);
	strcpy(env->control_group, value);
	return 0;
}

/* An absolute path that fits sockaddr_un.sun_path (108 bytes with the NUL). */
static int parse_control_socket(const char *value, struct steer_env *env, char *err, size_t errlen)
{
	if (value[0] != '/' || strlen(value) >= sizeof(env->control_socket))
		return bad_value(ENV_CONTROL_SOCKET, value, err, errlen);
	strcpy(env->control_socket, value);
	return 0;
}

/* The effective value of variable i, as NAME=value shows it; numbers are
 * formatted into buf. */
static const char *env_value(enum env_index i, const struct steer_env *env, char *buf, size_t len)
{
	switch (i) {
	case ENV_BPFFS:
		return env->bpffs;
	case ENV_CGROUP:
		return env->cgroup[0] ? env->cgroup : "(cgroup v2 root)";
	case ENV_LOG_LEVEL:
		return log_level_name(env->log_level);
	case ENV_HEALTH_INTERVAL_MS:
		snprintf(buf, len, "%u", (unsigned)env->health_interval_ms);
		return buf;
	case ENV_HEALTH_TIMEOUT_MS:
		snprintf(buf, len, "%u", (unsigned)env->health_timeout_ms);
		return buf;
	case ENV_HEALTH_RISE:
		snprintf(buf, len, "%u", (unsigned)env->health_rise);
		return buf;
	case ENV_HEALTH_FALL:
		snprintf(buf, len, "%u", (unsigned)env->health_fall);
		return buf;
	case ENV_PASSIVE_EJECT_FAILURES:
		snprintf(buf, len, "%u", (unsigned)env->passive_eject_failures);
		return buf;
	case ENV_CONTROL_SOCKET:
		return env->control_socket;
	case ENV_RETRY_INITIAL_BACKOFF_MS:
		snprintf(buf, len, "%u", (unsigned)env->retry_initial_backoff_ms);
		return buf;
	case ENV_RETRY_BACKOFF_MULTIPLIER:
		env_format_decimal(env->retry_backoff_multiplier, buf, len);
		return buf;
	case ENV_RETRY_MAX_BACKOFF_MS:
		snprintf(buf, len, "%u", (unsigned)env->retry_max_backoff_ms);
		return buf;
	case ENV_RETRY_JITTER:
		env_format_decimal(env->retry_jitter, buf, len);
		return buf;
	case ENV_RETRY_TIMEOUT_MS:
		snprintf(buf, len, "%u", (unsigned)env->retry_timeout_ms);
		return buf;
	case ENV_HOLD_MAX:
		snprintf(buf, len, "%u", (unsigned)env->hold_max);
		return buf;
	case ENV_METRICS_ADDR:
		return env->metrics_addr[0] ? env->metrics_addr : "off";
	case ENV_LOG_FORMAT:
		return env->log_json ? "json" : "text";
	case ENV_CONTROL_GROUP:
		return env->control_group[0] ? env->control_group : "(root only)";
	case ENV_COUNT:
		break;
	}
	return "?";
}

/* The value of the first "name=" entry in envp (as getenv() picks), or NULL. */
static const char *envp_find(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static const struct env_var *env_find(const char *name, size_t len)
{
	for (size_t i = 0; i < env_vars_count; i++)
		if (strlen(env_vars[i].name) == len && strncmp(env_vars[i].name, name, len) == 0)
			return &env_vars[i];
	return NULL;
}

/* The rules between the retry variables, as backoff_validate() states
 * them, with " (default)" after each value that was not set. */
static int retry_problem(const struct steer_env *env, char *const *envp, char *err, size_t errlen)
{
	static const enum env_index retry_vars[] = {
	    ENV_RETRY_INITIAL_BACKOFF_MS, ENV_RETRY_BACKOFF_MULTIPLIER,
	    ENV_RETRY_MAX_BACKOFF_MS,	  ENV_RETRY_JITTER,
	    ENV_RETRY_TIMEOUT_MS,
	};
	const struct backoff_params p = {
	    .initial_ms = env->retry_initial_backoff_ms,
	    .multiplier = env->retry_backoff_multiplier,
	    .max_ms = env->retry_max_backoff_ms,
	    .jitter = env->retry_jitter,
	    .timeout_ms = env->retry_timeout_ms,
	};

	if (backoff_validate(&p, err, errlen) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(retry_vars) / sizeof(retry_vars[0]); i++) {
		const char *name = env_vars[retry_vars[i]].name;

		if (!envp_find(envp, name))
			env_note_value(err, errlen, name, NULL, " (default)");
	}
	return -1;
}

int env_load(struct steer_env *env, char *const *envp, FILE *warn, char *err, size_t errlen)
{
	memset(env, 0, sizeof(*env));
	for (size_t i = 0; i < env_vars_count; i++)
		if (env_vars[i].parse(env_vars[i].def, env, err, errlen) < 0)
			return -1; /* a bad default: a bug in the table */

	for (size_t i = 0; i < env_vars_count; i++) {
		const char *value = envp_find(envp, env_vars[i].name);

		if (value && env_vars[i].parse(value, env, err, errlen) < 0)
			return -1;
	}
	if (env->health_timeout_ms > env->health_interval_ms) {
		/* Say which one was left at its default: setting only the
		 * interval below 250 ms trips over the default timeout. */
		bool timeout_set = envp_find(envp, env_vars[ENV_HEALTH_TIMEOUT_MS].name) != NULL;
		bool interval_set = envp_find(envp, env_vars[ENV_HEALTH_INTERVAL_MS].name) != NULL;

		snprintf(err, errlen,
			 "%s=%u%s is more than %s=%u%s (accepted: timeout <= interval)",
			 env_vars[ENV_HEALTH_TIMEOUT_MS].name, (unsigned)env->health_timeout_ms,
			 timeout_set ? "" : " (default)", env_vars[ENV_HEALTH_INTERVAL_MS].name,
			 (unsigned)env->health_interval_ms, interval_set ? "" : " (default)");
		return -1;
	}
	if (retry_problem(env, envp, err, errlen) < 0)
		return -1;

	for (; envp && *envp && warn; envp++) {
		const char *eq = strchr(*envp, '=');
		size_t len = eq ? (size_t)(eq - *envp) : strlen(*envp);
		char name[128];
		const char *near;

		if (strncmp(*envp, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 || env_find(*envp, len))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)len, *envp);
		near = env_closest(name);
		if (near)
			fprintf(warn, "steer: warn: unknown variable %s; did you mean %s?\n", name,
				near);
		else
			fprintf(warn,
				"steer: warn: unknown variable %s (steer --help lists the known "
				"ones)\n",
				name);
	}
	return 0;
}

/* Edit distance between a and b (b is a table name, so short). */
static size_t levenshtein(const char *a, const char *b)
{
	size_t row[64], blen = strlen(b);

	if (blen >= sizeof(row) / sizeof(row[0]))
		return (size_t)-1;
	for (size_t j = 0; j <= blen; j++)
		row[j] = j;
	for (size_t i = 1; a[i - 1]; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen];
}

const char *env_closest(const char *name)
{
	size_t len = strlen(name), limit = len / 3 > 3 ? len / 3 : 3;
	size_t best = (size_t)-1;
	const char *closest = NULL;

	for (size_t i = 0; i < env_vars_count; i++) {
		size_t d = levenshtein(name, env_vars[i].name);

		if (d < best) {
			best = d;
			closest = env_vars[i].name;
		}
	}
	return best <= limit ? closest : NULL;
}

static const char *def_text(const struct env_var *v)
{
	return v->def[0] ? v->def : "(empty)";
}

void env_print_table(FILE *out)
{
	int wname = (int)strlen("NAME"), wdef = (int)strlen("DEFAULT");
	int wacc = (int)strlen("ACCEPTED");

	for (size_t i = 0; i < env_vars_count; i++) {
		const struct env_var *v = &env_vars[i];

		if ((int)strlen(v->name) > wname)
			wname = (int)strlen(v->name);
		if ((int)strlen(def_text(v)) > wdef)
			wdef = (int)strlen(def_text(v));
		if ((int)strlen(v->accepted) > wacc)
			wacc = (int)strlen(v->accepted);
	}
	fprintf(out, "%-*s  %-*s  %-*s  %s\n", wname, "NAME", wdef, "DEFAULT", wacc, "ACCEPTED",
		"MEANING");
	for (size_t i = 0; i < env_vars_count; i++) {
		const struct env_var *v = &env_vars[i];

		fprintf(out, "%-*s  %-*s  %-*s  %s\n", wname, v->name, wdef, def_text(v), wacc,
			v->accepted, v->meaning);
	}
}

void env_print_effective(const struct steer_env *env, FILE *out)
{
	char buf[32];

	for (size_t i = 0; i < env_vars_count; i++)
		fprintf(out, "%s=%s\n", env_vars[i].name,
			env_value((enum env_index)i, env, buf, sizeof(buf)));
}
