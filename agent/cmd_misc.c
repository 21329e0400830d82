/* The short subcommands: down, status, check-config. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "status.h"

#define ERRLEN 512

int cmd_down(const struct steer_env *env)
{
	char err[ERRLEN];
	int removed = datapath_down(env->bpffs, err, sizeof(err));

	if (removed < 0) {
		log_err("%s", err);
		return 1;
	}
	log_info("down: detached and removed %d pins under %s", removed, env->bpffs);
	return 0;
}

int cmd_status(const struct steer_env *env, bool json)
{
	char err[ERRLEN];

	if (status_print(env->bpffs, json, stdout, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	return 0;
}

int cmd_check_config(const struct steer_env *env, const char *config_path)
{
	struct steer_config *cfg = calloc(1, sizeof(*cfg));
	char err[ERRLEN];

	if (!cfg) {
		log_err("out of memory");
		return 1;
	}
	if (config_load(config_path, cfg, err, sizeof(err))) {
		log_err("%s", err);
		free(cfg);
		return EXIT_INVALID;
	}
	printf("# environment\n");
	env_print_effective(env, stdout);
	printf("\n# %s\n", config_path);
	config_print(cfg, stdout);
	free(cfg);
	return 0;
}
