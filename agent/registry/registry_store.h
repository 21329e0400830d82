/*
 * The registry's last-known set: every steer key under the prefix, decoded
 * (registry_decode.h), and the config built from it and the config file.
 * Pure apart from its log lines: the watcher (registry.c) feeds it what a
 * range or a watch returned, and reconcile consumes what it builds, so a
 * unit test can replay recorded changes.
 *
 * One bad key never costs the others: a value that does not decode, or that
 * the config's own rules refuse, is logged once (per key and revision)
 * naming the key and the bad value; the key keeps its last good value if it
 * had one, and is left out otherwise.
 */
#ifndef STEER_REGISTRY_STORE_H
#define STEER_REGISTRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct steer_config;
struct steer_env;
struct registry_store;

struct registry_counts {
	int services; /* registry services in the last build */
	int replicas; /* their replicas */
	int skipped;  /* keys left out of it (bad, or clashing with the file) */
};

/* A store of the keys under prefix (copied). NULL when out of memory. */
struct registry_store *registry_store_new(const char *prefix);
void registry_store_free(struct registry_store *s); /* NULL-safe */

/* A key written (a range's pair or a watch's PUT event) or deleted. Keys
 * that are not steer's are ignored. Returns true when the key's effect on
 * the built config may have changed. */
bool registry_store_put(struct registry_store *s, const char *key, size_t klen, const char *value,
			size_t vlen, int64_t mod_revision);
bool registry_store_delete(struct registry_store *s, const char *key, size_t klen);

/* A full listing replaces the store: begin, registry_store_put() for each
 * pair, end; keys the listing did not hold are deleted. end returns true
 * when anything changed. */
void registry_store_list_begin(struct registry_store *s);
bool registry_store_list_end(struct registry_store *s);

/* The config of file_text (the config file's text, already valid alone,
 * named file_name in messages; NULL: no file) with the registry's services
 * and replicas after it, env applied. Keys refused are logged and left out
 * (or keep their last applied value). Returns 0 with *out complete and
 * valid, or -1 with err set when no config can be built (out of memory, or
 * a conflict no single key explains): then the caller keeps what runs. */
int registry_store_build(struct registry_store *s, const char *file_text, const char *file_name,
			 const struct steer_env *env, struct steer_config *out, char *err,
			 size_t errlen);

/* The last build was applied: its values become each key's last good one. */
void registry_store_applied(struct registry_store *s);

void registry_store_counts(const struct registry_store *s, struct registry_counts *c);

#endif
