/* What the config_*.c files share and nothing outside agent/config/ uses:
 * the key table, where things were in the file, the message helpers and the
 * rules that parsing, validation and runtime edits all apply. */
#ifndef STEER_CONFIG_INTERNAL_H
#define STEER_CONFIG_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define ADDR_ACCEPTED "A.B.C.D:PORT or [IPV6]:PORT"
#define LINE_ACCEPTED                                                                              \
	"[service NAME], KEY = VALUE, a blank line, or a comment starting with ';' or '#'"
#define HEALTH_ACCEPTED	    "tcp|http PATH|dns NAME [TYPE]|udp HEX [expect HEX]|none"
#define HEALTH_UDP_ACCEPTED "dns NAME [TYPE]|udp HEX [expect HEX]|tcp|none"
#define HEALTH_TCP_ACCEPTED "tcp|http PATH|dns NAME [TYPE]|none"
#define HEX_ACCEPTED	    "1-92 bytes as pairs of hex digits, e.g. 0a1b"
#define PATH_ACCEPTED	    "'/' then at most 254 visible ASCII characters, no blanks"
#define EXPECT_ACCEPTED	    "a status code 100-599, or LO-HI with 100 <= LO <= HI <= 599"
#define POLICY_ACCEPTED	    "p2c|random"
#define REPLICA_ACCEPTED    "ADDR:PORT [weight=1-100] [max_conns=0-1000000] [zone=NAME]"
#define EXPECT_DEFAULT_LO   200
#define EXPECT_DEFAULT_HI   399

/* The rows of config_keys[] (config_keys.c asserts the count). */
#define CONFIG_NKEYS 17

struct parse_ctx;

/* A replica line's value: the endpoint and its options (defaults filled).
 * Returns 0, or -1 with msg naming the bad part and what is accepted. */
int config_parse_replica(const char *value, struct endpoint *ep, struct replica_opts *o, char *msg,
			 size_t msglen);

/* One row per key a [service NAME] section may hold. */
struct key_def {
	const char *key;
	int (*handle)(struct parse_ctx *ctx, const struct key_def *def, const char *value);
	bool repeatable;
	/* Numeric rows only (config_key_is_uint(), config_key_is_decimal()):
	 * the accepted range, where the value goes in struct svc_config, where
	 * its `set` flag is, and the STEER_* variable an unset value comes from. */
	uint32_t lo, hi;
	size_t value_off, set_off;
	const char *var;
};

extern const struct key_def config_keys[CONFIG_NKEYS];

/* Where things are in the file, for messages. */
struct svc_lines {
	int vip;
	int health;	   /* the `health` key, 0 if absent */
	int policy;	   /* the `policy` key, 0 if absent */
	int retry_initial; /* retry_initial_backoff_ms, 0 if absent */
	int *replica;	   /* of each replica, in step with svc_config.replicas */
	int replica_cap;
};

/* One entry per service, grown with the config (config_lines_of()). */
struct config_lines {
	struct svc_lines *svc;
	int cap;
};

/* The lines of service i, made room for: NULL when out of memory. */
struct svc_lines *config_lines_of(struct config_lines *lines, int i);

/* Room for the line of replica r in l: 0 or -1 (no memory). */
int config_lines_reserve(struct svc_lines *l, int r);

void config_lines_free(struct config_lines *lines);

/* The parser's state, shared by the line reader (config_parse.c) and the key
 * handlers (config_keys.c). */
struct parse_ctx {
	const char *name;	    /* file name used in messages */
	const char *text;	    /* the whole input, NUL-terminated */
	const char *pos;	    /* start of the next line to read */
	int lineno;		    /* line last handed to inih */
	struct steer_config *cfg;   /* being filled */
	struct svc_config *svc;	    /* current section; NULL before the first */
	int key_line[CONFIG_NKEYS]; /* first line of each key in the current section */
	struct config_lines lines;
	char *err;
	size_t errlen;
	int err_line; /* line of the first error; 0 while there is none */
};

/* Write "NAME:LINE: message" to err, or "NAME: message" when line is 0 (not
 * known: a replica added at runtime, a config built in memory). Returns -1. */
__attribute__((format(printf, 5, 6))) int config_report(char *err, size_t errlen, const char *name,
							int line, const char *fmt, ...);

/* Record "NAME:LINE: message" in ctx unless an error is already recorded.
 * Returns -1. */
__attribute__((format(printf, 3, 4))) int config_fail(struct parse_ctx *ctx, int line,
						      const char *fmt, ...);

/* Which kind of value a config_keys[] row holds. */
bool config_key_is_uint(const struct key_def *def);    /* a uint32_t */
bool config_key_is_decimal(const struct key_def *def); /* a double */
bool config_key_is_retry(const struct key_def *def);   /* a number in svc->retry */

/* The value and the `set` flag of a numeric row in svc. */
uint32_t config_key_uint(const struct svc_config *svc, const struct key_def *def);
double config_key_decimal(const struct svc_config *svc, const struct key_def *def);
bool config_key_is_set(const struct svc_config *svc, const struct key_def *def);

/* "10-3600000" or "a decimal 0-1": what a numeric row accepts. */
const char *config_key_range(const struct key_def *def, char *buf, size_t len);

/* backoff_validate()'s message in msg, with the keys' names in place of the
 * variables', and " (from STEER_...)" after each value that did not come
 * from the file (from_env: there is such a value, it was filled). */
void config_retry_message_names_keys(const struct svc_config *svc, bool from_env, char *msg,
				     size_t len);

/* A health check path we can put on an HTTP/1.1 request line as it is. */
bool config_health_path_ok(const char *path);

/* The health defaults that do not come from the environment. */
void config_fill_static_defaults(struct svc_config *svc);

/* Why ep cannot be replica number ri of service si (ri == nreplicas: a new
 * one), written to msg; or 0 if it can. The service has a vip. lines is NULL
 * when the file's lines are not known. */
int config_replica_problem(const struct steer_config *cfg, int si, int ri,
			   const struct endpoint *ep, const struct config_lines *lines, char *msg,
			   size_t len);

/* Checks that need the whole config, in order of the services. lines is
 * NULL for a config that did not come from parsing: messages then give a
 * service's section line (0 when built in memory, then left out). */
int config_validate_lines(const struct steer_config *cfg, const struct config_lines *lines,
			  const char *name, char *err, size_t errlen);

static inline int svc_index(const struct steer_config *cfg, const struct svc_config *svc)
{
	return (int)(svc - cfg->services);
}

static inline const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

#endif
