/* What `steer status` shows, as plain structs: status_collect() fills them
 * from the pinned maps and status_render_*() print them, so rendering is a
 * pure function that unit tests feed with a snapshot built by hand. */
#ifndef STEER_STATUS_VIEW_H
#define STEER_STATUS_VIEW_H

#include <stdint.h>

#include "bpf/steer_abi.h"
#include "xdp/xdp_path.h"

#define STATUS_MAX_ATTACH 40 /* XDP path links shown */

struct replica_view {
	uint32_t id;			/* key of steer_replicas_v1 */
	struct steer_replica r;		/* address, port and health state */
	uint64_t steered;		/* steer_replica_stats_v1, summed over CPUs */
	uint64_t active;		/* steer_replica_active_v1: TCP connections open */
	struct steer_replica_status st; /* the agent's record of its checks */
	struct steer_backend b;		/* steer_backends_v1; zero for UDP replicas */
	struct steer_slot_attrs attrs;	/* weight, max_conns (zero before the map existed) */
	uint8_t tier;			/* enum steer_tier of its slot */
};

struct svc_view {
	struct steer_svc_key key;      /* VIP and protocol */
	struct steer_svc_value val;    /* svc_id and active slot bank */
	char name[STEER_SVC_NAME_LEN]; /* "" when none is pinned */
	struct steer_svc_stats stats;  /* summed over CPUs */
	struct steer_hold_stats hold;  /* the miss path; shown for TCP only */
	struct steer_relay_stats
	    relay;		       /* its relays; TCP only, zero before an agent made the map */
	struct steer_svc_lb_stats lb;  /* connects by pass, misses refused in the hook */
	int nreplicas;		       /* replicas in the active slot bank */
	struct replica_view *replicas; /* nreplicas of them, malloc'd */
};

struct status_snapshot {
	struct steer_sock_stats socks; /* steer_sock_stats_v1, summed over CPUs */
	/* steer_hold_v2 by steer_hold_index(): the miss path's listeners;
	 * zero before an agent made the map. */
	struct steer_hold hold[STEER_HOLD_FAMILIES];
	/* The XDP path, shown only where its maps are pinned (xdp). */
	int xdp;
	struct steer_xdp_stats xdp_stats; /* summed over CPUs */
	int nattach;
	struct xdp_attachment attach[STATUS_MAX_ATTACH];
	/* The registry watch, shown where the map holds one (conn set). */
	struct steer_registry_status registry;
	int nservices;
	struct svc_view *services; /* shown in this order, malloc'd */
};

/* Release what status_collect() allocated in s. */
void status_snapshot_free(struct status_snapshot *s);

#endif
