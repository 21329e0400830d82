/*
 * The control protocol, without I/O: "replica VERB SERVICE ADDR:PORT" lines
 * parsed into a struct control_cmd, and formatted back as the same line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control/control.h"

#define CMD_ACCEPTED  "replica add|remove|drain|undrain SERVICE ADDR:PORT"
#define CMD_EXPECTED  "expected: replica VERB SERVICE ADDR:PORT"
#define VERB_ACCEPTED "add, remove, drain, undrain"

static const char *const verb_names[] = {
    [CONTROL_ADD] = "add",
    [CONTROL_REMOVE] = "remove",
    [CONTROL_DRAIN] = "drain",
    [CONTROL_UNDRAIN] = "undrain",
};

#define NVERBS ((int)(sizeof(verb_names) / sizeof(verb_names[0])))

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int control_parse(const char *line, struct control_cmd *cmd, char *err, size_t errlen)
{
	char buf[CONTROL_LINE_MAX + 1], addr_err[CONTROL_LINE_MAX];
	char *words[5]; /* one more than a command has, to notice extra words */
	struct control_cmd out = {0};
	size_t len = strlen(line);
	int nwords = 0, verb = 0;
	char *p;

	if (len > 0 && line[len - 1] == '\n') {
		len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
	}
	if (len > CONTROL_LINE_MAX) {
		snprintf(err, errlen, "line longer than %d bytes", CONTROL_LINE_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';

	for (p = buf; *p && nwords < (int)(sizeof(words) / sizeof(words[0]));) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		words[nwords++] = p;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}

	if (nwords == 0)
		goto expected;
	if (strcmp(words[0], "replica") != 0) {
		snprintf(err, errlen, "unknown command '%s' (accepted: " CMD_ACCEPTED ")",
			 words[0]);
		return -1;
	}
	if (nwords < 2)
		goto expected;
	for (int v = 1; v < NVERBS; v++)
		if (verb_names[v] && strcmp(words[1], verb_names[v]) == 0)
			verb = v;
	if (!verb) {
		snprintf(err, errlen, "unknown verb '%s' (accepted: " VERB_ACCEPTED ")", words[1]);
		return -1;
	}
	if (nwords != 4)
		goto expected;
	if (!svc_name_valid(words[2], strlen(words[2]))) {
		snprintf(err, errlen, "bad service name '%s' (accepted: " SVC_NAME_ACCEPTED ")",
			 words[2]);
		return -1;
	}
	if (endpoint_parse(words[3], &out.replica, addr_err, sizeof(addr_err)) < 0) {
		snprintf(err, errlen, "%s", addr_err);
		return -1;
	}
	out.verb = (enum control_verb)verb;
	snprintf(out.service, sizeof(out.service), "%s", words[2]);
	*cmd = out;
	return 0;

expected:
	snprintf(err, errlen, CMD_EXPECTED);
	return -1;
}

void control_format(const struct control_cmd *cmd, char *buf, size_t len)
{
	const char *verb = "?"; /* an unknown verb formats as a line parse refuses */
	char addr[ADDR_STRLEN];

	if ((int)cmd->verb > 0 && (int)cmd->verb < NVERBS && verb_names[cmd->verb])
		verb = verb_names[cmd->verb];
	snprintf(buf, len, "replica %s %s %s", verb, cmd->service,
		 endpoint_format(&cmd->replica, addr, sizeof(addr)));
}
