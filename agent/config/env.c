/* Reading the STEER_* environment: every row of env_vars[] (env_vars.c)
 * from its default, then from envp, then the rules between variables;
 * warnings for unknown STEER_* names; and the printed table. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "miss/backoff.h"
#include "config/env.h"

#define ENV_PREFIX "STEER_"

/* The row of the variable that sets field of struct steer_env. */
#define VAR_OF(field) var_of(offsetof(struct steer_env, field))

static const struct env_var *var_of(size_t offset)
{
	for (size_t i = 0; i < env_vars_count; i++)
		if (env_vars[i].offset == offset)
			return &env_vars[i];
	abort(); /* a VAR_OF() field without a row: every env_load() gets here */
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

/* The health timeout fits in the interval. Says which one was left at its
 * default: setting only the interval below 250 ms trips over the default
 * timeout. */
static int health_problem(const struct steer_env *env, char *const *envp, char *err, size_t errlen)
{
	const struct env_var *timeout = VAR_OF(health_timeout_ms);
	const struct env_var *interval = VAR_OF(health_interval_ms);

	if (env->health_timeout_ms <= env->health_interval_ms)
		return 0;
	snprintf(err, errlen, "%s=%u%s is more than %s=%u%s (accepted: timeout <= interval)",
		 timeout->name, (unsigned)env->health_timeout_ms,
		 envp_find(envp, timeout->name) ? "" : " (default)", interval->name,
		 (unsigned)env->health_interval_ms,
		 envp_find(envp, interval->name) ? "" : " (default)");
	return -1;
}

/* The rules between the retry variables, as backoff_validate() states
 * them, with " (default)" after each value that was not set. */
static int retry_problem(const struct steer_env *env, char *const *envp, char *err, size_t errlen)
{
	const struct env_var *retry_vars[] = {
	    VAR_OF(retry_initial_backoff_ms), VAR_OF(retry_backoff_multiplier),
	    VAR_OF(retry_max_backoff_ms),     VAR_OF(retry_jitter),
	    VAR_OF(retry_timeout_ms),
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
		const char *name = retry_vars[i]->name;

		if (!envp_find(envp, name))
			env_note_value(err, errlen, name, NULL, " (default)");
	}
	return -1;
}

/* The same rules between the STEER_REGISTRY_* backoff variables. */
static int registry_problem(const struct steer_env *env, char *const *envp, char *err,
			    size_t errlen)
{
	const struct env_var *vars[] = {
	    VAR_OF(registry_initial_backoff_ms),
	    VAR_OF(registry_backoff_multiplier),
	    VAR_OF(registry_max_backoff_ms),
	    VAR_OF(registry_jitter),
	};
	static const char *const retry_names[] = {
	    "STEER_RETRY_INITIAL_BACKOFF_MS", "STEER_RETRY_BACKOFF_MULTIPLIER",
	    "STEER_RETRY_MAX_BACKOFF_MS", "STEER_RETRY_JITTER"};
	const struct backoff_params p = env_registry_backoff(env);

	if (backoff_validate(&p, err, errlen) == 0)
		return 0;
	/* backoff_validate() names the miss path's variables; say ours. */
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		env_note_value(err, errlen, retry_names[i], vars[i]->name,
			       envp_find(envp, vars[i]->name) ? "" : " (default)");
	return -1;
}

/* A client certificate goes with its key, over TLS. */
static int registry_tls_problem(const struct steer_env *env, char *err, size_t errlen)
{
	bool ca = env->registry_ca_file[0], cert = env->registry_cert_file[0],
	     key = env->registry_key_file[0];

	if (cert != key) {
		snprintf(err, errlen,
			 "%s is %s but %s is %s (accepted: both set, for a client certificate, or "
			 "neither)",
			 cert ? "STEER_REGISTRY_CERT_FILE" : "STEER_REGISTRY_KEY_FILE", "set",
			 cert ? "STEER_REGISTRY_KEY_FILE" : "STEER_REGISTRY_CERT_FILE", "empty");
		return -1;
	}
	if (cert && !ca) {
		snprintf(err, errlen,
			 "STEER_REGISTRY_CERT_FILE is set but STEER_REGISTRY_CA_FILE is empty "
			 "(accepted: a client certificate over TLS, which needs the CA)");
		return -1;
	}
	return 0;
}

struct backoff_params env_registry_backoff(const struct steer_env *env)
{
	return (struct backoff_params){
	    .initial_ms = env->registry_initial_backoff_ms,
	    .multiplier = env->registry_backoff_multiplier,
	    .max_ms = env->registry_max_backoff_ms,
	    .jitter = env->registry_jitter,
	    /* Unused: the registry is retried for as long as the agent runs. */
	    .timeout_ms = 86400000,
	};
}

/* A warning for each STEER_* name in envp that is no variable of ours. */
static void warn_unknown(char *const *envp, FILE *warn)
{
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
}

int env_load(struct steer_env *env, char *const *envp, FILE *warn, char *err, size_t errlen)
{
	memset(env, 0, sizeof(*env));
	for (size_t i = 0; i < env_vars_count; i++)
		if (env_var_parse(&env_vars[i], env_vars[i].def, env, err, errlen) < 0)
			return -1; /* a bad default: a bug in the table */

	for (size_t i = 0; i < env_vars_count; i++) {
		const char *value = envp_find(envp, env_vars[i].name);

		if (value && env_var_parse(&env_vars[i], value, env, err, errlen) < 0)
			return -1;
	}
	if (health_problem(env, envp, err, errlen) < 0 ||
	    retry_problem(env, envp, err, errlen) < 0 ||
	    registry_problem(env, envp, err, errlen) < 0 ||
	    registry_tls_problem(env, err, errlen) < 0)
		return -1;
	warn_unknown(envp, warn);
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
			env_var_show(&env_vars[i], env, buf, sizeof(buf)));
}
