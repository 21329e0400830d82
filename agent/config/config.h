/* The topology file: INI sections [service NAME] with vip, protocol and
 * repeated replica keys, parsed with libinih. */
#ifndef STEER_CONFIG_H
#define STEER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/addr.h"
#include "miss/backoff.h"
#include "bpf/steer_abi.h"
#include "config/limits.h"

#define SVC_NAME_MAX	  64
#define SVC_NAME_ACCEPTED "1-63 characters of A-Z a-z 0-9 _ . -"

/* Is name[0..len) a service name: 1 to SVC_NAME_MAX - 1 of A-Z a-z 0-9 _ . -
 * in any locale? The one rule for config sections and control commands. */
bool svc_name_valid(const char *name, size_t len);

#define ZONE_NAME_MAX  32
#define ZONE_ACCEPTED  "1-31 characters of A-Z a-z 0-9 _ . -"
#define WEIGHT_MAX     100
#define MAX_CONNS_MAX  1000000
#define MAX_QUEUED_MAX 1000000

/* Is name[0..len) a zone name (zone=, STEER_ZONE)? The rule of service
 * names, at most ZONE_NAME_MAX - 1 characters. */
bool zone_name_valid(const char *name, size_t len);

/* The options of one `replica = ADDR:PORT [weight=N] [max_conns=N] [zone=Z]`. */
struct replica_opts {
	uint16_t weight;	  /* 1..WEIGHT_MAX; 1 when not given */
	bool max_conns_set;	  /* max_conns= given: overrides the service's */
	uint32_t max_conns;	  /* 0 = no limit */
	char zone[ZONE_NAME_MAX]; /* "" = none */
};

enum health_kind {
	HEALTH_KIND_NONE = 0, /* no periodic checks: replicas are UP at once */
	HEALTH_KIND_TCP,      /* a non-blocking connect */
	HEALTH_KIND_HTTP,     /* HTTP/1.1 GET path, status in [expect_lo, expect_hi] */
	HEALTH_KIND_DNS,      /* one DNS query over the service's protocol */
	HEALTH_KIND_UDP,      /* one datagram; any reply, or one that starts with expect */
};

#define HEALTH_PATH_MAX	    256
#define HEALTH_DNS_NAME_MAX 256 /* a name as written, its NUL included */
/* Bytes of `health = udp HEX [expect HEX]`: what one config line can hold. */
#define HEALTH_PAYLOAD_MAX 92

/* Health keys of a service. A key not in the file takes the STEER_HEALTH_*
 * default (config_apply_env()); `set` records which were in the file. */
struct health_config {
	enum health_kind kind;	    /* default: tcp for TCP, dns . for UDP on port 53, else none */
	char path[HEALTH_PATH_MAX]; /* http: request path, starts with '/' */
	char dns_name[HEALTH_DNS_NAME_MAX]; /* dns: the query name, "." for the root */
	uint16_t dns_type;	  /* dns: the query type; NS for ".", else A, unless set */
	uint8_t payload_len;	  /* udp: bytes of payload, 1..HEALTH_PAYLOAD_MAX */
	uint8_t reply_prefix_len; /* udp: bytes of reply_prefix, 0 = any reply */
	uint8_t payload[HEALTH_PAYLOAD_MAX];	  /* udp: the datagram sent */
	uint8_t reply_prefix[HEALTH_PAYLOAD_MAX]; /* udp: what a good reply starts with */
	uint32_t interval_ms;			  /* health_interval_ms */
	uint32_t timeout_ms;			  /* health_timeout_ms, <= interval_ms */
	uint32_t rise;				  /* health_rise */
	uint32_t fall;				  /* health_fall */
	uint16_t expect_lo, expect_hi;		  /* health_expect, default 200-399 */
	struct {
		bool kind, interval_ms, timeout_ms, rise, fall, expect;
	} set;
};

struct svc_config {
	char name[SVC_NAME_MAX]; /* from [service NAME] */
	int line;		 /* line of the section header, for messages */
	struct endpoint vip;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	int nreplicas;
	int replicas_cap;	    /* room in replicas[] and ropts[] (svc_reserve()) */
	struct endpoint *replicas;  /* heap; NULL while replicas_cap is 0 */
	struct replica_opts *ropts; /* of replicas[i], kept in step */
	struct health_config health;
	uint8_t policy;	     /* enum svc_policy: `policy`, or SVC_POLICY_DEFAULT */
	uint32_t max_conns;  /* `max_conns`: each replica's limit, 0 = none (the default) */
	uint32_t max_queued; /* `max_queued`: held connections at most, 0 = no bound */
	struct {
		bool max_conns, max_queued;
	} limits_set;
	/* The miss path's retry_* keys; like health, an unset value takes the
	 * STEER_RETRY_* default in config_apply_env(). Used by TCP services. */
	struct backoff_params retry;
	struct {
		bool initial_ms, multiplier, max_ms, jitter, timeout_ms;
	} retry_set;
	bool retry_filled; /* config_apply_env() has filled the unset retry values */
};

/* How a connect picks among routable replicas (`policy`). */
enum svc_policy {
	SVC_POLICY_DEFAULT = 0, /* not set: p2c for TCP; UDP always hashes its socket */
	SVC_POLICY_P2C = 1,	/* two distinct random candidates, fewer active wins */
	SVC_POLICY_RANDOM = 2,	/* one uniform random pick (TCP), the socket's hash (UDP) */
};

/* The policy a service runs: the set one, or its protocol's default. */
enum svc_policy svc_policy_effective(const struct svc_config *svc);
const char *svc_policy_name(enum svc_policy p); /* "p2c", "random" */

/* The limit of replica r of svc: its own max_conns= or the service's. */
uint32_t replica_max_conns(const struct svc_config *svc, int r);

struct steer_config {
	/* From the environment (config_apply_env()): where this node is. */
	char node_zone[ZONE_NAME_MAX]; /* STEER_ZONE, "" = none */
	bool prefer_local;	       /* STEER_PREFER_LOCAL */
	uint32_t maglev_size;	       /* STEER_MAGLEV_SIZE; 0: STEER_MAGLEV_SIZE of steer_abi.h */
	int nservices;
	int services_cap;	     /* room in services[] (config_add_service()) */
	struct svc_config *services; /* heap; NULL while services_cap is 0 */
};

/*
 * A config owns its arrays: make one with config_new() (or zero one and
 * treat it the same), copy it with config_copy(), never with memcpy, and
 * release it with config_free(). Sizes follow what the file holds; the
 * limits (config/limits.h) are checked by the parser and config_validate().
 */
struct steer_config *config_new(void);
void config_free(struct steer_config *cfg);  /* NULL-safe */
void config_clear(struct steer_config *cfg); /* back to empty, arrays released */
int config_copy(struct steer_config *dst, const struct steer_config *src); /* 0 or -ENOMEM */

/* A new zeroed service at the end of cfg->services, or NULL (no memory).
 * Pointers into cfg->services are invalid after it. */
struct svc_config *config_add_service(struct steer_config *cfg);

/* Room for n replicas in svc: 0 or -ENOMEM. */
int svc_reserve(struct svc_config *svc, int n);

/* Append replica ep with opts to svc: 0 or -ENOMEM. */
int svc_push_replica(struct svc_config *svc, const struct endpoint *ep,
		     const struct replica_opts *opts);

/* Parse and validate a config file. Returns 0, or -1 with err in the form
 * "FILE:LINE: what is wrong: 'bad value' (accepted: ...)". Nothing is applied
 * anywhere: the caller gets a complete, valid config or none. */
int config_load(const char *path, struct steer_config *cfg, char *err, size_t errlen);

/* The file's text (malloc'd), as config_load() reads it: NULL with err set
 * when it cannot be read, is too large or holds a NUL byte. */
char *config_read_text(const char *path, char *err, size_t errlen);

/* Same, from a string; name is used in messages in place of the file name. */
int config_parse_string(const char *text, const char *name, struct steer_config *cfg, char *err,
			size_t errlen);

/* Fill every health and retry value the file did not set from the
 * environment's STEER_HEALTH_* and STEER_RETRY_* defaults, then check
 * cross-field rules (health timeout <= interval; backoff_validate()).
 * Returns 0, or -1 with err naming the service, the values (and the variable
 * of each that came from the environment) and the rule. */
struct steer_env;
int config_apply_env(struct steer_config *cfg, const struct steer_env *env, char *err,
		     size_t errlen);

/* Whole-config checks (duplicate VIPs, replica equal to a VIP, families,
 * limits, ranges of the health and retry values that are set, initial <= max
 * when both are), as config_load() runs them; name prefixes messages. */
int config_validate(const struct steer_config *cfg, const char *name, char *err, size_t errlen);

/* Runtime edits for the control socket: cfg is changed only if the result
 * is valid. Return 0, or -1 with err naming the service/replica and why. */
int config_add_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
		       char *err, size_t errlen);
int config_remove_replica(struct steer_config *cfg, const char *service, const struct endpoint *ep,
			  char *err, size_t errlen);

/* The service named name, or NULL. */
struct svc_config *config_find_service(struct steer_config *cfg, const char *name);

/* Print the effective config (what check-config shows). */
void config_print(const struct steer_config *cfg, FILE *out);

/* For each TCP service, a comment line with its first 8 retry waits:
 * "# service web: retry waits 0, 25, 50, 100, 200, 400, 500, 500 ms
 * (timeout 30000 ms, jitter 0.2)". Meant for after config_apply_env(). */
void config_print_retry_schedules(const struct steer_config *cfg, FILE *out);

#endif
