/*
 * Bring the pinned maps in line with a config without a transient miss.
 *
 * The generation scheme (see also bpf/lb.h):
 *  1. new replicas get fresh ids, and are written before anything points at them;
 *  2. each changed service's slots go into its idle bank, which no reader uses;
 *  3. each service value (bank, count) is replaced in one hash update: a
 *     concurrent connect sees the whole old replica set or the whole new one;
 *  4. services gone from the config are deleted (their VIP is plain again);
 *  5. wait_for_readers(): after it, no datapath run can hold an old bank;
 *  6. only then are replicas that left every set zeroed and their ids freed,
 *     and the old banks become the idle ones for the next rewrite.
 * If a write fails after the first flip, steps 5 and 6 still run (best
 * effort) before the error is returned, so the next rewrite never writes into
 * a bank a reader may hold. Replicas left ACTIVE but unreferenced (a crash
 * between steps 1 and 3) are found by the next snapshot and retired in step 6.
 * Before step 1, every TCP replica endpoint gets its steer_backends_v1 entry
 * (never ejected, `local` set), and after step 6 entries no replica uses any
 * more are deleted. New replicas start UNKNOWN (no traffic until checks pass)
 * or UP for a service without checks; a kept replica keeps its state.
 * Nothing changes for a service whose replica list is unchanged, so a restart
 * that re-reads the same config writes nothing the datapath reads.
 *
 * All map access goes through struct map_ops so unit tests can fake the maps.
 */
#ifndef STEER_RECONCILE_H
#define STEER_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "bpf/steer_abi.h"

struct map_ops {
	void *ctx;
	/* First key when prev is NULL; -ENOENT after the last. */
	int (*svc_next)(void *ctx, const struct steer_svc_key *prev, struct steer_svc_key *next);
	int (*svc_get)(void *ctx, const struct steer_svc_key *key, struct steer_svc_value *val);
	int (*svc_put)(void *ctx, const struct steer_svc_key *key,
		       const struct steer_svc_value *val);
	int (*svc_del)(void *ctx, const struct steer_svc_key *key);
	int (*slot_get)(void *ctx, uint32_t idx, struct steer_slot *slot);
	int (*slot_put)(void *ctx, uint32_t idx, const struct steer_slot *slot);
	int (*replica_get)(void *ctx, uint32_t id, struct steer_replica *r);
	int (*replica_put)(void *ctx, uint32_t id, const struct steer_replica *r);
	int (*name_put)(void *ctx, uint32_t svc_id, const struct steer_svc_name *name);
	/* Zero the per-CPU counters of a service id / replica id being reused. */
	int (*svc_stats_reset)(void *ctx, uint32_t svc_id);
	int (*replica_stats_reset)(void *ctx, uint32_t replica_id);
	/* Return once no running datapath program can still see old values. */
	int (*wait_for_readers)(void *ctx);
	/* Passive-ejection entries, one per TCP replica endpoint. */
	int (*backend_next)(void *ctx, const struct steer_backend_key *prev,
			    struct steer_backend_key *next);
	int (*backend_get)(void *ctx, const struct steer_backend_key *key, struct steer_backend *b);
	int (*backend_put)(void *ctx, const struct steer_backend_key *key,
			   const struct steer_backend *b);
	int (*backend_del)(void *ctx, const struct steer_backend_key *key);
	/* Is ep's address on this host (for wildcard-listener ejection)? */
	bool (*is_local)(void *ctx, const struct endpoint *ep);
};

/* State the caller keeps between calls. Replica ids are handed out
 * round-robin from next_replica, so a retired id is not reused soon and a
 * replica id in status or bpftool output does not silently change owner. */
struct reconcile_state {
	bool seeded;	       /* next_replica is valid; else seeded from the maps */
	uint32_t next_replica; /* next id to try */
};

struct reconcile_result {
	int added, changed, removed, unchanged; /* services */
	int replicas_added, replicas_retired;
};

/* Apply cfg to the maps behind ops. Returns 0, or a negative errno with err
 * set. A config that does not fit (ids exhausted) is refused before any
 * write. */
int reconcile(const struct map_ops *ops, struct reconcile_state *st, const struct steer_config *cfg,
	      struct reconcile_result *res, char *err, size_t errlen);

#endif
