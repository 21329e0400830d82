/*
 * The registry's keys and values (issue 14), decoded without I/O so unit
 * tests feed it recorded payloads.
 *
 *   PREFIX services/NAME            {"vip": "10.96.0.10:80", "protocol": "tcp", ...}
 *   PREFIX replicas/NAME/ADDR:PORT  {"weight": 1, "zone": "a"}, or {}
 *
 * A service's value holds the keys of a [service NAME] section; a replica's
 * the options of a `replica =` line. Both are turned into the config
 * file's own text, so the file's parser and validation apply to them
 * unchanged. Each key stands alone: a bad one is refused with a message
 * naming it and its bad value, and the others are not affected.
 */
#ifndef STEER_REGISTRY_DECODE_H
#define STEER_REGISTRY_DECODE_H

#include <stddef.h>

enum registry_key_kind {
	REGISTRY_KEY_OTHER = 0, /* under the prefix, not steer's: ignored */
	REGISTRY_KEY_SERVICE,
	REGISTRY_KEY_REPLICA,
	REGISTRY_KEY_BAD, /* steer's, but malformed: msg says why */
};

#define REGISTRY_NAME_MAX  64	/* a service name and its NUL */
#define REGISTRY_ADDR_MAX  64	/* "[v6]:65535" and a NUL */
#define REGISTRY_LINES_MAX 4096 /* a service's section text */

/* What key (keylen bytes, not NUL-terminated) under prefix stands for:
 * the service name, and for a replica its ADDR:PORT as written. */
enum registry_key_kind registry_key_parse(const char *prefix, const char *key, size_t keylen,
					  char name[REGISTRY_NAME_MAX],
					  char addr[REGISTRY_ADDR_MAX], char *msg, size_t msglen);

/* A service's JSON value -> its section text ("[service NAME]\nKEY = VALUE\n...").
 * Returns 0, or -1 with msg naming the member and its bad value. */
int registry_service_text(const char *name, const char *json, size_t len, char *out, size_t outlen,
			  char *msg, size_t msglen);

/* A replica's JSON value -> its line ("replica = ADDR:PORT weight=N zone=Z\n").
 * Returns 0, or -1 with msg naming the member and its bad value. */
int registry_replica_text(const char *addr, const char *json, size_t len, char *out, size_t outlen,
			  char *msg, size_t msglen);

#endif
