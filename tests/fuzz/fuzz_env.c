/* libFuzzer target: the STEER_* environment (env_load()).
 *
 * The input is split at NUL and newline bytes into "K=V" strings, which
 * become the envp env_load() reads; unknown STEER_* names are warned about
 * into a memory stream. A loaded environment must keep the rule between
 * variables (health timeout <= interval) and print without harm. Each string
 * is also read as a decimal: decimal_format() promises text that
 * env_parse_decimal() reads back as the same value. */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/env.h"
#include "lib/decimal.h"

#define MAX_VARS 64

static void check_decimal(const char *text)
{
	double v, back;
	char buf[64];

	if (env_parse_decimal(text, -DBL_MAX, DBL_MAX, &v) < 0)
		return;
	decimal_format(v, buf, sizeof(buf));
	if (env_parse_decimal(buf, -DBL_MAX, DBL_MAX, &back) < 0 || back != v)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), **envp = calloc(MAX_VARS + 1, sizeof(char *));
	char *warnings = NULL, err[512], *s, *end;
	struct steer_env *env = malloc(sizeof(*env));
	size_t nvars = 0, wlen = 0;
	FILE *warn = NULL;

	if (!text || !envp || !env)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	/* Every NUL- or newline-terminated piece is one envp string; empty ones too. */
	for (s = text, end = text + size; s <= end && nvars < MAX_VARS; s += strlen(s) + 1) {
		char *nl = strchr(s, '\n');

		if (nl)
			*nl = '\0';
		envp[nvars++] = s;
	}
	for (size_t i = 0; i < nvars; i++) {
		const char *eq = strchr(envp[i], '=');

		check_decimal(eq ? eq + 1 : envp[i]);
	}

	warn = open_memstream(&warnings, &wlen);
	if (!warn)
		goto out;
	if (env_load(env, envp, warn, err, sizeof(err)) == 0) {
		if (env->health_timeout_ms > env->health_interval_ms)
			__builtin_trap();
		env_print_effective(env, warn);
	} else if (strnlen(err, sizeof(err)) == 0) {
		__builtin_trap(); /* a refusal always says why */
	}
	fclose(warn);
out:
	free(warnings);
	free(env);
	free(envp);
	free(text);
	return 0;
}
