/* steer's subcommands. Each returns the process exit status: 0 success,
 * 1 runtime failure, 2 invalid input (config, environment, arguments). */
#ifndef STEER_COMMANDS_H
#define STEER_COMMANDS_H

#include <stdbool.h>

#include "config/env.h"

#define EXIT_INVALID 2

int cmd_run(const struct steer_env *env, const char *config_path);
int cmd_down(const struct steer_env *env);
int cmd_status(const struct steer_env *env, bool json);
int cmd_check_config(const struct steer_env *env, const char *config_path);
int cmd_replica(const struct steer_env *env, const char *verb, const char *service,
		const char *addr);
int cmd_replica_setup(const struct steer_env *env, int argc, char **argv);
int cmd_register(const struct steer_env *env, int argc, char **argv);

#endif
