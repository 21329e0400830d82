/* The short subcommands: down, status, check-config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/commands.h"
#include "config/config.h"
#include "control/control.h"
#include "maps/datapath.h"
#include "lib/log.h"
#include "observe/status.h"

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
	struct steer_config *cfg = config_new();
	char err[ERRLEN];

	if (!cfg) {
		log_err("out of memory");
		return 1;
	}
	if (config_load(config_path, cfg, err, sizeof(err)) ||
	    config_apply_env(cfg, env, err, sizeof(err))) {
		log_err("%s", err);
		config_free(cfg);
		return EXIT_INVALID;
	}
	printf("# environment\n");
	env_print_effective(env, stdout);
	printf("\n# %s\n", config_path);
	config_print(cfg, stdout);
	printf("\n");
	config_print_retry_schedules(cfg, stdout);
	config_free(cfg);
	return 0;
}

int cmd_replica(const struct steer_env *env, const char *verb, const char *service,
		const char *addr)
{
	char line[CONTROL_LINE_MAX], reply[CONTROL_LINE_MAX], err[ERRLEN];
	struct control_cmd cmd;
	int ret;

	snprintf(line, sizeof(line), "replica %s %s %s", verb, service, addr);
	/* Refuse bad input here, with the same message the agent would give. */
	if (control_parse(line, &cmd, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_INVALID;
	}
	ret = control_request(env->control_socket, line, reply, sizeof(reply), 10000);
	if (ret < 0) {
		log_err("cannot reach the agent on %s: %s (is `steer run` running? "
			"STEER_CONTROL_SOCKET)",
			env->control_socket, strerror(errno));
		return 1;
	}
	printf("%s\n", reply);
	return ret == 0 ? 0 : 1;
}
