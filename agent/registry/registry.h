/*
 * The agent's side of the registry: list every key under the prefix, then
 * watch from the revision listed, the informer's loop. Changes go into a
 * registry_store; the owner is told when what it builds may differ.
 *
 * When etcd cannot be reached the store is left as it is (the last known
 * set) and the watcher tries the members in turn on the backoff schedule of
 * backoff.h (attempt 1 at once). A reconnect lists again and diffs; so does
 * a watch whose revision was compacted.
 */
#ifndef STEER_REGISTRY_H
#define STEER_REGISTRY_H

#include <stdint.h>

#include <ev.h>

#include "bpf/steer_abi.h"
#include "miss/backoff.h"
#include "registry/etcd_client.h"
#include "registry/registry_store.h"

/* As steer_registry_v1 stores it (enum steer_registry_conn). */
enum registry_conn {
	REGISTRY_NONE = STEER_REGISTRY_NONE,
	REGISTRY_CONNECTING = STEER_REGISTRY_CONNECTING, /* not listed yet since the start */
	REGISTRY_CONNECTED = STEER_REGISTRY_CONNECTED,	 /* listed and watching */
	REGISTRY_STALE = STEER_REGISTRY_STALE,		 /* lost: the last known set is kept */
};

struct registry_params {
	const char *members; /* "HOST:PORT[,...]" (etcd_members_parse()) */
	struct etcd_tls tls; /* all NULL: plain HTTP */
	const char *prefix;  /* e.g. "/steer/" */
	struct backoff_params backoff;
	uint32_t timeout_ms; /* each request; a watch's connect */
};

struct registry_state {
	enum registry_conn conn;
	uint64_t since_ns; /* CLOCK_REALTIME of the last change of conn */
	int64_t revision;  /* the store holds etcd's keys as of this revision */
	uint32_t attempts; /* failed attempts since the last success */
	char member[64];   /* the member listed or watched last */
	char error[160];   /* why the last attempt failed, "" if none */
};

/* The store changed in a way that may change the config built from it
 * (after a listing, the first one included, or watch events). */
typedef void (*registry_changed_fn)(void *arg);

struct registry;

/* Start listing (attempt 1 at once) on loop; store is the caller's and
 * outlives the watcher. Returns NULL with err set. */
struct registry *registry_start(struct ev_loop *loop, const struct registry_params *p,
				struct registry_store *store, registry_changed_fn changed,
				void *arg, char *err, size_t errlen);
void registry_stop(struct registry *r); /* NULL-safe */

void registry_state_get(const struct registry *r, struct registry_state *st);

/* The STEER_REGISTRY_*_FILE variables as TLS settings, each file checked
 * readable now (the agent and `steer register` check before they start, so
 * a typo is an error naming the variable, not a retry loop). Returns 0, or
 * -1 with err set. */
struct steer_env;
int registry_tls_from_env(const struct steer_env *env, struct etcd_tls *tls, char *err,
			  size_t errlen);

/* Has a listing succeeded since the start? */
bool registry_listed(const struct registry *r);

#endif
