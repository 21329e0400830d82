/*
 * etcd v3's JSON gateway, as bodies to send and replies to read (pure: no
 * I/O). Keys and values travel base64-encoded; revisions, lease ids and
 * TTLs are 64-bit numbers that the gateway writes as JSON strings.
 *
 *   POST /v3/kv/range        {"key": K, "range_end": E}
 *   POST /v3/kv/put          {"key": K, "value": V, "lease": "ID"}
 *   POST /v3/watch           {"create_request": {"key": K, "range_end": E,
 *                             "start_revision": "R"}}, then one JSON
 *                             message per line, for as long as it is open
 *   POST /v3/lease/grant     {"TTL": "S"}
 *   POST /v3/lease/keepalive {"ID": "ID"}
 *   POST /v3/lease/revoke    {"ID": "ID"}
 */
#ifndef STEER_ETCD_JSON_H
#define STEER_ETCD_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Bodies: each returns a malloc'd NUL-terminated JSON text, or NULL when out
 * of memory. key, value and prefix are bytes (klen, vlen), not C strings. */

/* Every key that starts with prefix (range_end: prefix with its last byte
 * incremented, as etcdctl --prefix does; an empty prefix is every key). */
char *etcd_body_range_prefix(const char *prefix, size_t plen);
/* The watch of every key under prefix, from revision start_rev on (0: from
 * now), with progress_notify set (a quiet watch gets a PROGRESS now and then). */
char *etcd_body_watch_prefix(const char *prefix, size_t plen, int64_t start_rev);
/* lease 0: none. */
char *etcd_body_put(const char *key, size_t klen, const char *value, size_t vlen, int64_t lease);
char *etcd_body_lease_grant(int64_t ttl_s);
/* keepalive and revoke: {"ID": "id"}. */
char *etcd_body_lease_id(int64_t id);

/* One key-value pair as etcd returned it, decoded from base64. The bytes are
 * NUL-terminated for convenience but may hold NULs: use the lengths. */
struct etcd_kv {
	const char *key;
	size_t klen;
	const char *value; /* "" for a DELETE event */
	size_t vlen;
	int64_t mod_revision;
};

/* Called once per pair; a non-zero return stops the walk and is returned. */
typedef int (*etcd_kv_fn)(void *arg, const struct etcd_kv *kv);

/* A range reply: each pair to fn, in etcd's order (sorted by key), and
 * the store's revision in *revision. Returns 0, what fn returned, or -1 with
 * msg saying what is wrong with the reply (not JSON, an etcd error). The
 * whole reply is checked first: on -1, fn has seen no pair. */
int etcd_parse_range(const char *body, size_t len, etcd_kv_fn fn, void *arg, int64_t *revision,
		     char *msg, size_t msglen);

enum etcd_watch_kind {
	ETCD_WATCH_CREATED = 1, /* the watch is open; no events */
	ETCD_WATCH_EVENTS,	/* events, each to fn (a DELETE with is_delete set) */
	ETCD_WATCH_PROGRESS,	/* no events (or an empty list), a newer revision */
	ETCD_WATCH_COMPACTED,	/* canceled: start_rev was compacted; list again */
	ETCD_WATCH_CANCELED,	/* canceled for another reason (msg says which); also a
				 * create refused (created and canceled both set) */
};

struct etcd_watch_event {
	struct etcd_kv kv;
	int is_delete;
};

typedef int (*etcd_event_fn)(void *arg, const struct etcd_watch_event *ev);

/* One message of the watch stream ({"result": {...}} or {"error": {...}}):
 * its kind in *kind, the header's revision in *revision (the store's
 * revision once these events are applied; 0 in a compaction's cancel,
 * whose header etcd sends without one), and for ETCD_WATCH_COMPACTED
 * the compact revision in *compact_revision. Returns 0, what fn returned,
 * or -1 with msg set (not JSON, an error message: the stream is lost).
 * As for a range, fn sees every event of the message or none. */
int etcd_parse_watch(const char *body, size_t len, etcd_event_fn fn, void *arg,
		     enum etcd_watch_kind *kind, int64_t *revision, int64_t *compact_revision,
		     char *msg, size_t msglen);

/* A lease grant reply: the lease id and the TTL (s) etcd granted. Returns 0
 * or -1 with msg set. */
int etcd_parse_lease_grant(const char *body, size_t len, int64_t *id, int64_t *ttl_s, char *msg,
			   size_t msglen);

/* A keepalive reply: the TTL (s) left, 0 when the lease is gone (expired or
 * revoked: etcd then answers without a TTL). Returns 0 or -1 with msg set. */
int etcd_parse_keepalive(const char *body, size_t len, int64_t *ttl_s, char *msg, size_t msglen);

/* Any other reply (put, revoke): 0 when it is a success (has a "header"),
 * -1 with msg set to etcd's error ("etcdserver: requested lease not found")
 * or to what is wrong with it. */
int etcd_parse_ok(const char *body, size_t len, char *msg, size_t msglen);

#endif
