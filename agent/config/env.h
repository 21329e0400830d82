/* STEER_* environment variables: one table of name, default, range and
 * meaning, which the parser, `steer --help`, check-config and the README share. */
#ifndef STEER_ENV_H
#define STEER_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "miss/backoff.h"

#define ENV_IFNAMSIZ	   16		/* IFNAMSIZ: an interface name and its NUL */
#define ENV_XDP_IFACES_MAX 16		/* names in STEER_XDP_IFACES */
#define ENV_REGISTRY_MAX   (5 + 8 * 64) /* "etcd:" and ETCD_MEMBERS_MAX members */
#define ENV_PREFIX_MAX	   128		/* STEER_REGISTRY_PREFIX and its NUL */

struct steer_env {
	char bpffs[PATH_MAX];  /* STEER_BPFFS: pin directory */
	char cgroup[PATH_MAX]; /* STEER_CGROUP: cgroup v2 dir to attach to; "" = the v2 root */
	int log_level;	       /* STEER_LOG_LEVEL: enum log_level */
	uint32_t health_interval_ms;	 /* STEER_HEALTH_INTERVAL_MS, default 500 */
	uint32_t health_timeout_ms;	 /* STEER_HEALTH_TIMEOUT_MS, default 250 */
	uint32_t health_rise;		 /* STEER_HEALTH_RISE, default 2 */
	uint32_t health_fall;		 /* STEER_HEALTH_FALL, default 2 */
	uint32_t passive_eject_failures; /* STEER_PASSIVE_EJECT_FAILURES, default 3; 0 = off */
	char zone[32];			 /* STEER_ZONE: this node's zone, "" = none */
	bool prefer_local;	  /* STEER_PREFER_LOCAL: replicas on this node first, default 1 */
	bool sock_destroy_tcp;	  /* STEER_SOCK_DESTROY_TCP: sweep TCP to removed replicas too */
	char control_socket[108]; /* STEER_CONTROL_SOCKET, default /run/steer/steer.sock */
	/* The miss path: defaults of a service's retry_* keys (see backoff.h) */
	uint32_t retry_initial_backoff_ms; /* STEER_RETRY_INITIAL_BACKOFF_MS, default 25 */
	double retry_backoff_multiplier;   /* STEER_RETRY_BACKOFF_MULTIPLIER, default 2 */
	uint32_t retry_max_backoff_ms;	   /* STEER_RETRY_MAX_BACKOFF_MS, default 500 */
	double retry_jitter;		   /* STEER_RETRY_JITTER, default 0.2 */
	uint32_t retry_timeout_ms;	   /* STEER_RETRY_TIMEOUT_MS, default 30000 */
	uint32_t hold_max;  /* STEER_HOLD_MAX: connections held at once, default 4096 */
	uint32_t relay_max; /* STEER_RELAY_MAX: relays at once, default 4096 */
	uint32_t
	    relay_idle_ms; /* STEER_RELAY_IDLE_MS: reset an idle relay, default 600000; 0 = never */
	/* Capacity of the maps (config/limits.h), default steer_abi.h's. */
	uint32_t max_services;		   /* STEER_MAX_SERVICES */
	uint32_t max_replicas_per_service; /* STEER_MAX_REPLICAS_PER_SERVICE */
	uint32_t max_replicas;		   /* STEER_MAX_REPLICAS */
	char metrics_addr[64];		   /* STEER_METRICS_ADDR: ADDR:PORT, "" = off */
	bool log_json;			   /* STEER_LOG_FORMAT: json instead of text */
	char control_group[64]; /* STEER_CONTROL_GROUP: also admitted to the control socket */
	/* The XDP path. STEER_XDP_IFACES: interface names joined by ',', as
	 * given (env_ifaces_next() walks them); "" = no XDP. */
	char xdp_ifaces[ENV_XDP_IFACES_MAX * ENV_IFNAMSIZ];
	char xdp_mode[8];     /* STEER_XDP_MODE: "auto", "native" or "generic" */
	uint32_t maglev_size; /* STEER_MAGLEV_SIZE: a prime, default STEER_MAGLEV_SIZE */
	/* The registry. STEER_REGISTRY: "etcd:MEMBERS" as given, "" = none;
	 * env_registry_members() points at MEMBERS. */
	char registry[ENV_REGISTRY_MAX];
	char registry_prefix[ENV_PREFIX_MAX]; /* STEER_REGISTRY_PREFIX, default /steer/ */
	uint32_t registry_initial_backoff_ms; /* STEER_REGISTRY_INITIAL_BACKOFF_MS, default 100 */
	double registry_backoff_multiplier;   /* STEER_REGISTRY_BACKOFF_MULTIPLIER, default 2 */
	uint32_t registry_max_backoff_ms;     /* STEER_REGISTRY_MAX_BACKOFF_MS, default 5000 */
	double registry_jitter;		      /* STEER_REGISTRY_JITTER, default 0.2 */
	uint32_t registry_timeout_ms;	      /* STEER_REGISTRY_TIMEOUT_MS, default 2000 */
	/* TLS to etcd: "" = plain HTTP (STEER_REGISTRY_CA_FILE) or no client
	 * certificate (STEER_REGISTRY_CERT_FILE, STEER_REGISTRY_KEY_FILE). */
	char registry_ca_file[PATH_MAX];
	char registry_cert_file[PATH_MAX];
	char registry_key_file[PATH_MAX];
};

/* How a variable's value is read and shown (env_kinds.c). */
enum env_kind {
	ENV_KIND_PATH,	      /* char[]: absolute, no ".." component ("" too if may_be_empty) */
	ENV_KIND_SOCKET,      /* char[]: absolute, fits the field (sockaddr_un.sun_path) */
	ENV_KIND_UINT,	      /* uint32_t: decimal digits in [lo, hi] */
	ENV_KIND_DECIMAL,     /* double: env_parse_decimal() in [lo, hi] */
	ENV_KIND_LOG_LEVEL,   /* int: a name log_level_parse() knows */
	ENV_KIND_ADDR,	      /* char[]: ADDR:PORT, or "off" for "" */
	ENV_KIND_FLAG,	      /* bool: words[0] for false, words[1] for true */
	ENV_KIND_GROUP,	      /* char[]: a group name as useradd accepts it, or "" */
	ENV_KIND_ZONE,	      /* char[]: a zone name (config.h ZONE_ACCEPTED), or "" */
	ENV_KIND_IFACES,      /* char[]: "" or interface names joined by ',' (env_ifaces_next()) */
	ENV_KIND_CHOICE,      /* char[]: one of words[], as given */
	ENV_KIND_MAGLEV_SIZE, /* uint32_t: a size maglev_size_valid() accepts */
	ENV_KIND_REGISTRY,    /* char[]: "" or etcd:MEMBERS (etcd_members_parse()) */
	ENV_KIND_KEY_PREFIX,  /* char[]: '/' then visible ASCII, no blanks */
	ENV_KIND_COUNT,
};

/* One row of env_vars[] (env_vars.c): everything about one variable. */
struct env_var {
	const char *name;     /* e.g. "STEER_BPFFS" */
	const char *def;      /* default as text ("" = see meaning) */
	const char *accepted; /* accepted values, for messages and docs */
	const char *meaning;  /* one line for --help and the README */
	enum env_kind kind;
	double lo, hi;		 /* ENV_KIND_UINT, ENV_KIND_DECIMAL: the range */
	bool may_be_empty;	 /* ENV_KIND_PATH: "" is accepted too */
	const char *words[4];	 /* ENV_KIND_FLAG: the values for false and true;
				  * ENV_KIND_CHOICE: the values, then NULL */
	const char *empty_shown; /* text kinds: what env_print_effective() shows for "" */
	size_t offset, size;	 /* the field of struct steer_env the value goes to */
};

extern const struct env_var env_vars[];
extern const size_t env_vars_count;

/* Fill env from defaults then from envp (a NULL-terminated "K=V" array, e.g.
 * environ). Unknown STEER_* names are reported on warn with the closest known
 * name. Returns 0, or -1 with err naming the variable, the bad value and what
 * is accepted. */
int env_load(struct steer_env *env, char *const *envp, FILE *warn, char *err, size_t errlen);

/* The closest known variable name to name (for "did you mean"), or NULL. */
const char *env_closest(const char *name);

/* Print the table (name, default, accepted, meaning) for --help. */
void env_print_table(FILE *out);

/* Print the effective settings, one "NAME=value" line each. */
void env_print_effective(const struct steer_env *env, FILE *out);

/* Parse value as variable v into its field of env. Returns 0, or -1 with
 * err naming the variable, quoting the value and saying what is accepted. */
int env_var_parse(const struct env_var *v, const char *value, struct steer_env *env, char *err,
		  size_t errlen);

/* The value of v in env as env_print_effective() shows it; numbers are
 * formatted into buf. */
const char *env_var_show(const struct env_var *v, const struct steer_env *env, char *buf,
			 size_t len);

/* The next interface name of a STEER_XDP_IFACES value that env_load()
 * accepted, from *pos (start with the value itself): copies it into name,
 * moves *pos past it and its ',' and returns true; false after the last
 * one. Empty names are skipped and longer ones cut to ENV_IFNAMSIZ - 1, so
 * even an unchecked value only yields names that fit.
 *	const char *pos = env->xdp_ifaces;
 *	char name[ENV_IFNAMSIZ];
 *	while (env_ifaces_next(&pos, name))
 *		attach_to(name); */
bool env_ifaces_next(const char **pos, char name[ENV_IFNAMSIZ]);

/* The members of a STEER_REGISTRY value ("HOST:PORT,..."), or NULL for none. */
const char *env_registry_members(const struct steer_env *env);

/* The STEER_REGISTRY_* backoff as the backoff module takes it. */
struct backoff_params env_registry_backoff(const struct steer_env *env);

/* Is name[0..len) a name the kernel gives an interface (dev_valid_name())?
 * Its isspace() is Latin-1's, so a no-break space (0xa0) is a blank too. */
bool env_iface_name_valid(const char *name, size_t len);

/* Parse a decimal integer in [lo, hi]: optional '-', digits, nothing else (no
 * blanks, no '+', no hex). Returns 0, or -1 leaving *out unchanged. */
int env_parse_int(const char *text, long long lo, long long hi, long long *out);

/* Parse a finite decimal number ("0.5", "1e3") in [lo, hi]; no blanks, inf,
 * nan or hex; "-0" reads as 0. Returns 0, or -1 leaving *out unchanged. */
int env_parse_decimal(const char *text, double lo, double hi, double *out);

/* Edit msg (of size len), a message that quotes a value as NAME=VALUE, as
 * backoff_validate() writes them: the first NAME=VALUE becomes
 * RENAME=VALUE (rename NULL: NAME stays) followed by note. VALUE ends at a
 * blank, ':' or the end. Nothing changes if NAME= is not in msg; a result
 * longer than len is cut. */
void env_note_value(char *msg, size_t len, const char *name, const char *rename, const char *note);

#endif
