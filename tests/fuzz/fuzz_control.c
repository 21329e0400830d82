/* libFuzzer target: control-socket command lines (control_parse()) and the
 * runtime edits they drive (config_add_replica(), config_remove_replica()).
 *
 * The input is a sequence of lines, each with its newline (the server hands
 * control_parse() one such line). Any line must parse or be refused without
 * harm. A line that parses must survive a round trip: control_format() gives
 * a line that parses again to an equal command. An add or remove is then
 * applied to a small two-service config, as the agent does; whatever the
 * sequence, that config must stay valid (config_validate()), since an edit
 * that would make it invalid is refused and changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "control/control.h"

static const char base_config[] = "[service web]\n"
				  "vip = 10.96.0.1:80\n"
				  "replica = 10.0.0.1:8080\n"
				  "replica = 10.0.0.2:8080\n"
				  "[service api.v2]\n"
				  "protocol = udp\n"
				  "vip = [fd00::1]:443\n"
				  "replica = [fd00::7]:8443\n";

static struct steer_config base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	if (config_parse_string(base_config, "base.ini", &base, err, sizeof(err)) < 0)
		__builtin_trap();
	return 0;
}

/* Parse one line; check the round trip; apply it to cfg. */
static void one_line(const char *line, struct steer_config *cfg)
{
	char buf[CONTROL_LINE_MAX + 1], err[CONTROL_LINE_MAX + 256];
	struct control_cmd cmd, again;
	int ret;

	if (control_parse(line, &cmd, err, sizeof(err)) < 0) {
		if (strnlen(err, sizeof(err)) == 0)
			__builtin_trap(); /* a refusal always says why */
		return;
	}
	control_format(&cmd, buf, sizeof(buf));
	memset(&again, 0xa5, sizeof(again));
	if (control_parse(buf, &again, err, sizeof(err)) < 0)
		__builtin_trap();
	if (again.verb != cmd.verb || strcmp(again.service, cmd.service) != 0 ||
	    !endpoint_equal(&again.replica, &cmd.replica))
		__builtin_trap();

	if (cmd.verb == CONTROL_ADD)
		ret = config_add_replica(cfg, cmd.service, &cmd.replica, err, sizeof(err));
	else if (cmd.verb == CONTROL_REMOVE)
		ret = config_remove_replica(cfg, cmd.service, &cmd.replica, err, sizeof(err));
	else
		return; /* drain and undrain do not touch the config */
	if (ret < 0 && strnlen(err, sizeof(err)) == 0)
		__builtin_trap();
	if (config_validate(cfg, "runtime", err, sizeof(err)) < 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct steer_config *cfg = config_new();
	const uint8_t *p = data, *end = data + size;

	if (!cfg || config_copy(cfg, &base)) {
		config_free(cfg);
		return 0;
	}
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* Exactly sized, so ASan sees any read past the NUL. */
		char *line = malloc(len + 1);

		if (!line)
			break;
		memcpy(line, p, len);
		line[len] = '\0';
		one_line(line, cfg);
		free(line);
		p += len;
	}
	config_free(cfg);
	return 0;
}
