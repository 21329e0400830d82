/* `steer register`'s arguments and the key and value it keeps in etcd
 * (pure, for the unit tests). */
#ifndef STEER_REGISTER_OPTS_H
#define STEER_REGISTER_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define REGISTER_TTL_MS_DEFAULT 5000
#define REGISTER_TTL_MS_MIN	1000
#define REGISTER_TTL_MS_MAX	3600000

struct register_opts {
	char service[SVC_NAME_MAX];
	struct endpoint replica;
	uint32_t ttl_ms; /* --ttl-ms, default REGISTER_TTL_MS_DEFAULT */
	uint32_t weight; /* --weight, 0: not given */
	char zone[ZONE_NAME_MAX];
};

/* Parse argv (after "register"). Returns 0, or -1 with err naming the bad
 * argument, its value and what is accepted. */
int register_opts_parse(int argc, char **argv, struct register_opts *o, char *err, size_t errlen);

/* etcd counts leases in whole seconds: ttl_ms rounded up. */
int64_t register_ttl_s(const struct register_opts *o);

/* The key (PREFIX replicas/SERVICE/ADDR:PORT) and its JSON value, as the
 * agents decode them (registry_decode.h). Return 0, or -1 if they do not
 * fit. */
int register_key(const struct register_opts *o, const char *prefix, char *key, size_t len);
int register_value(const struct register_opts *o, char *value, size_t len);

#endif
