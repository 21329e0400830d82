/* steer: an eBPF socket-level routing agent. Dispatches the subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "env.h"
#include "log.h"

#ifndef STEER_VERSION
#define STEER_VERSION "unknown"
#endif

extern char **environ;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: steer COMMAND [ARGS]\n"
		"\n"
		"Steer connections to a service address (VIP:port) to one of its replicas,\n"
		"in the kernel, at connect() time.\n"
		"\n"
		"Commands:\n"
		"  run --config FILE     load or adopt the pinned datapath, apply FILE, stay in\n"
		"                        the foreground (SIGHUP reloads FILE; SIGTERM/SIGINT exit\n"
		"                        and leave the datapath working)\n"
		"  down                  detach the programs and remove every pin\n"
		"  status [--json]       services, replicas and counters from the pinned maps\n"
		"  check-config FILE     validate FILE and the environment, print the effective\n"
		"                        settings; exit 0 if valid, 2 if not\n"
		"  replica add|remove|drain|undrain SERVICE ADDR:PORT\n"
		"                        change a running agent's replicas through its control\n"
		"                        socket; drain stops new connections to a replica while\n"
		"                        established ones carry on\n"
		"  version               print the version\n"
		"  help, --help          this text\n"
		"\n"
		"Exit status: 0 success, 1 runtime failure, 2 invalid config/env/arguments.\n"
		"\n"
		"Environment:\n");
	env_print_table(out);
}

static int need_arg(int argc, char **argv, int i, const char *what)
{
	if (i < argc)
		return 0;
	fprintf(stderr, "steer: %s: missing %s (see `steer --help`)\n", argv[1], what);
	return -1;
}

int main(int argc, char **argv)
{
	struct steer_env env;
	char err[512];
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_INVALID;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("steer %s\n", STEER_VERSION);
		return 0;
	}

	if (env_load(&env, environ, stderr, err, sizeof(err))) {
		fprintf(stderr, "steer: error: %s\n", err);
		return EXIT_INVALID;
	}
	log_set_level(env.log_level);
	log_route_libbpf();

	if (!strcmp(cmd, "run")) {
		if (argc == 4 && !strcmp(argv[2], "--config"))
			return cmd_run(&env, argv[3]);
		fprintf(stderr, "steer: run: usage: steer run --config FILE\n");
		return EXIT_INVALID;
	}
	if (!strcmp(cmd, "down") && argc == 2)
		return cmd_down(&env);
	if (!strcmp(cmd, "status") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json"))))
		return cmd_status(&env, argc == 3);
	if (!strcmp(cmd, "check-config")) {
		if (need_arg(argc, argv, 2, "FILE"))
			return EXIT_INVALID;
		return cmd_check_config(&env, argv[2]);
	}
	if (!strcmp(cmd, "replica")) {
		if (argc == 5)
			return cmd_replica(&env, argv[2], argv[3], argv[4]);
		fprintf(stderr, "steer: replica: usage: steer replica add|remove|drain|undrain "
				"SERVICE ADDR:PORT\n");
		return EXIT_INVALID;
	}
	fprintf(stderr, "steer: unknown command or arguments: '%s' (see `steer --help`)\n", cmd);
	return EXIT_INVALID;
}
