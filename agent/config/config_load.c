/* config_load(): the file read whole, then parsed as a string. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define CONFIG_MAX_BYTES (16u << 20)

char *config_read_text(const char *path, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *grown;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		grown = realloc(buf, cap);
		if (!grown) {
			snprintf(err, errlen, "cannot read %s: out of memory", path);
			goto fail;
		}
		buf = grown;
		len += fread(buf + len, 1, cap - 1 - len, f);
		if (len < cap - 1)
			break;
		if (cap >= CONFIG_MAX_BYTES) {
			snprintf(err, errlen, "cannot read %s: too large (accepted: under %u MiB)",
				 path, CONFIG_MAX_BYTES >> 20);
			goto fail;
		}
		cap *= 2;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		int line = 1;

		for (const char *p = buf; *p; p++)
			line += *p == '\n';
		snprintf(err, errlen, "%s:%d: NUL byte (accepted: text)", path, line);
		goto fail;
	}
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

int config_load(const char *path, struct steer_config *cfg, char *err, size_t errlen)
{
	char *text = config_read_text(path, err, errlen);
	int ret;

	if (!text)
		return -1;
	ret = config_parse_string(text, path, cfg, err, errlen);
	free(text);
	return ret;
}
