/* The topology file: INI sections [service NAME] with vip, protocol and
 * repeated replica keys, parsed with libinih. */
#ifndef STEER_CONFIG_H
#define STEER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "../bpf/steer_abi.h"

#define SVC_NAME_MAX 64

struct svc_config {
	char name[SVC_NAME_MAX]; /* from [service NAME] */
	int line;		 /* line of the section header, for messages */
	struct endpoint vip;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	int nreplicas;
	struct endpoint replicas[STEER_MAX_SLOTS];
};

struct steer_config {
	int nservices;
	struct svc_config services[STEER_MAX_SERVICES];
};

/* Parse and validate a config file. Returns 0, or -1 with err in the form
 * "FILE:LINE: what is wrong: 'bad value' (accepted: ...)". Nothing is applied
 * anywhere: the caller gets a complete, valid config or none. */
int config_load(const char *path, struct steer_config *cfg, char *err, size_t errlen);

/* Same, from a string; name is used in messages in place of the file name. */
int config_parse_string(const char *text, const char *name, struct steer_config *cfg, char *err,
			size_t errlen);

/* Print the effective config (what check-config shows). */
void config_print(const struct steer_config *cfg, FILE *out);

#endif
