/* libFuzzer target: registry keys and values as any etcd writer could put
 * them (registry_store_put(), registry_store_delete()) and the config built
 * from them (registry_store_build()).
 *
 * The input is a sequence of lines: "KEY\tVALUE" puts, "-KEY" deletes, and
 * an empty line builds. Whatever was written, a build without a file must
 * succeed, leaving out what is bad, and give a valid config: one writer's
 * bad keys must never stop the others' from being applied. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/env.h"
#include "lib/log.h"
#include "registry/registry_store.h"

static struct steer_env env;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *const envp[] = {NULL};
	char err[256];

	(void)argc;
	(void)argv;
	if (env_load(&env, envp, NULL, err, sizeof(err)) < 0)
		__builtin_trap();
	log_set_level(LOG_ERROR); /* the bad keys' warnings are expected */
	return 0;
}

static void build(struct registry_store *s, struct steer_config *cfg)
{
	char err[1024];

	if (registry_store_build(s, NULL, "none", &env, cfg, err, sizeof(err)) < 0)
		__builtin_trap();
	if (config_validate(cfg, "built", err, sizeof(err)) < 0)
		__builtin_trap();
	registry_store_applied(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_store *s = registry_store_new("/steer/");
	struct steer_config *cfg = config_new();
	const char *p = (const char *)data, *end = p + size;
	int64_t rev = 0;

	if (!s || !cfg)
		goto out;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *tab = memchr(p, '\t', len);

		if (len == 0)
			build(s, cfg);
		else if (p[0] == '-')
			registry_store_delete(s, p + 1, len - 1);
		else if (tab)
			registry_store_put(s, p, (size_t)(tab - p), tab + 1,
					   len - (size_t)(tab - p) - 1, ++rev);
		p += len + (nl != NULL);
	}
	build(s, cfg);
out:
	config_free(cfg);
	registry_store_free(s);
	return 0;
}
