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
 * between steps 1 and 3) are found by the first snapshot of an agent, or the
 * next one after a failed call, and retired in step 6.
 * Before step 1, every TCP replica endpoint, and every UDP one of a checked service, gets
 * its steer_backends_v1 entry
 * (never ejected, `local` set), and after step 6 entries no replica uses any
 * more are deleted. New replicas start UNKNOWN (no traffic until checks pass)
 * or UP for a service without checks; a kept replica keeps its state.
 * Nothing changes for a service whose replica list is unchanged, so a restart
 * that re-reads the same config writes nothing the datapath reads.
 *
 * All map access goes through the map layer (maps/map_ops.h), so unit tests
 * can fake the maps.
 */
#ifndef STEER_RECONCILE_H
#define STEER_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "maps/map_ops.h"
#include "bpf/steer_abi.h"

struct snapshot;

/* State the caller keeps between calls. Replica ids are handed out
 * round-robin from next_replica, so a retired id is not reused soon and a
 * replica id in status or bpftool output does not silently change owner. */
struct reconcile_state {
	bool seeded;	       /* next_replica is valid; else seeded from the maps */
	uint32_t next_replica; /* next id to try */
	bool failed;	       /* the last call failed: look for orphans again */
	/* Nonzero while the pinned slots keep an older steer's fixed layout
	 * (datapath.legacy_slot_stride): until its programs are replaced,
	 * every bank is written in its fixed place (maps/slot_space.h). */
	uint32_t legacy_stride;
	/* What the maps hold, as the last successful call left them: the next
	 * call reads back only what it changes (a service whose replicas and
	 * attributes are the same costs no map access). NULL: read the maps. */
	struct snapshot *kept;
};

/* Drop the kept view: the next reconcile() reads the maps (they were
 * changed by something else). Also what frees it. */
void reconcile_state_forget(struct reconcile_state *st);

/* The members of service key as the last call wrote them (their replica
 * values as written then: a state set since by the checker is not in
 * them), without reading the maps: 0, -ENOENT for no such service, or
 * -EAGAIN when no view is kept (read the maps: svc_read_members()). */
struct svc_members;
int reconcile_members(const struct reconcile_state *st, const struct steer_svc_key *key,
		      struct svc_members *out);

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
