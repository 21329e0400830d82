/* libFuzzer target: the INI topology file (config_parse_string()).
 *
 * Whatever the input, parsing must be memory-safe and leak-free. A file that
 * parses is then taken through what `steer run` and check-config do with it:
 * config_apply_env() with the default environment, config_validate() and
 * config_print() / config_print_retry_schedules(). config_print() promises
 * that its output parses back to the same values and `set` flags, so that is
 * checked too: the printed file must parse, and print the same text.
 *
 * Inputs with a NUL byte or near the 4 KiB read buffer are also written to a
 * memfd and read with config_load(), whose reader must refuse the NUL and
 * otherwise agree with config_parse_string(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "config/config.h"
#include "config/env.h"

/* The text of cfg as config_print() writes it (malloc'd), or NULL. */
static char *print_config(const struct steer_config *cfg, int schedules)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	config_print(cfg, out);
	if (schedules)
		config_print_retry_schedules(cfg, out);
	fclose(out);
	return text;
}

/* config_load() of data as a file: must fail on a NUL, else return want. */
static void check_load(const uint8_t *data, size_t size, int want, struct steer_config *cfg)
{
	static int fd = -1;
	char path[64], err[1024];
	int ret;

	if (fd < 0 && (fd = memfd_create("fuzz.ini", 0)) < 0)
		return;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = config_load(path, cfg, err, sizeof(err));
	if (memchr(data, '\0', size) ? ret == 0 || !strstr(err, "NUL byte") : ret != want)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Two configs (the input's, the printed one's) on the heap; the text
	 * exactly sized, so ASan sees any read past its NUL. */
	struct steer_config *cfg = calloc(2, sizeof(*cfg));
	char *text = malloc(size + 1), *printed = NULL, *reprinted = NULL;
	char *const empty_envp[] = {NULL};
	struct steer_env env;
	char err[1024];
	int parsed;

	if (!cfg || !text)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';

	parsed = config_parse_string(text, "fuzz.ini", &cfg[0], err, sizeof(err));
	if (memchr(data, '\0', size) || (size >= 4000 && size <= 4200))
		check_load(data, size, parsed, &cfg[1]);
	if (parsed < 0) {
		if (strnlen(err, sizeof(err)) == 0)
			__builtin_trap(); /* a refusal always says why */
		goto out;
	}

	/* The printed file parses back to a config that prints the same. */
	printed = print_config(&cfg[0], 0);
	if (!printed)
		goto out;
	if (config_parse_string(printed, "printed.ini", &cfg[1], err, sizeof(err)) < 0)
		__builtin_trap();
	reprinted = print_config(&cfg[1], 0);
	if (reprinted && strcmp(printed, reprinted) != 0)
		__builtin_trap();

	if (env_load(&env, empty_envp, NULL, err, sizeof(err)) < 0)
		__builtin_trap(); /* the defaults are always valid */
	config_apply_env(&cfg[0], &env, err, sizeof(err));
	config_validate(&cfg[0], "fuzz.ini", err, sizeof(err));
	free(printed);
	printed = print_config(&cfg[0], 1);
out:
	free(reprinted);
	free(printed);
	free(text);
	if (cfg) {
		config_clear(&cfg[0]);
		config_clear(&cfg[1]);
	}
	free(cfg);
	return 0;
}
