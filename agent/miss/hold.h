/*
 * The miss path. A TCP connect that finds no routable replica is sent by the
 * datapath to the agent's hold listener of its family, one for every
 * service (127.0.0.1 and [::1], ephemeral ports: the socket itself in
 * steer_hold_socks_v2, its address in steer_hold_v2). An accepted
 * connection is held for the service of the VIP the datapath kept for it:
 * a local client's socket record in steer_socks_v1 (found by the client's
 * cookie), or for a remote client's, handed over by sk_lookup, the
 * connection's own local address. A connection that is neither (any other
 * process connecting to the listener) is reset at once and counted, never
 * relayed. Each held connection is retried at
 * once, then with backoff, until a replica accepts it or its time is up;
 * then it is relayed (splice, no copies) or reset. Bytes the client sends
 * meanwhile wait in the kernel. At most STEER_RELAY_MAX relays run at once:
 * past that, a connection whose replica is there stays held, in a queue,
 * until a relay ends or its retry timeout. A relay that moves no byte for
 * STEER_RELAY_IDLE_MS is reset on both sides. Counters per service go to
 * steer_hold_stats_v2 and steer_relay_stats_v2.
 */
#ifndef STEER_HOLD_H
#define STEER_HOLD_H

#include <stdint.h>

#include <ev.h>

#include "config/config.h"
#include "maps/map_ops.h"

struct hold;

/* The bounds, across services. */
struct hold_limits {
	uint32_t hold_max;	/* STEER_HOLD_MAX: connections held at once */
	uint32_t relay_max;	/* STEER_RELAY_MAX: relays (and connects that will be) at once */
	uint32_t relay_idle_ms; /* STEER_RELAY_IDLE_MS: reset a relay idle this long; 0 = never */
};

/* Every map read and write goes through maps, which must outlive h. */
struct hold *hold_new(struct ev_loop *loop, const struct map_ops *maps,
		      const struct hold_limits *lim);

/* After every reconcile: the listener of each family a TCP service has
 * (opened once, published in the maps), the services' retry schedules;
 * removed services' held connections are reset, their hold and relay
 * counters zeroed (their relays carry on); held connections are tried
 * again at once, as a replica may have been added. Costs map syscalls only
 * for services added or removed since the last sync. */
int hold_sync(struct hold *h, const struct steer_config *cfg);

/* A replica of the service became routable: try its held connections now,
 * instead of waiting out their backoff. */
void hold_kick(struct hold *h, const char *service);

/* The same, for the service of id svc_id. */
void hold_kick_id(struct hold *h, uint32_t svc_id);

/* The datapath saw a connection of service svc_id close while connections
 * were held for it (STEER_EVENT_SLOT_FREE): with max_conns, one may fit
 * now, so try them at once. Without max_conns a close frees nothing. */
void hold_slot_freed(struct hold *h, uint32_t svc_id);

/* Unpublish every listener first (misses fail fast with EHOSTUNREACH while
 * no agent runs), then reset held connections and the relays of served ones
 * still open, and free. NULL-safe. */
void hold_free(struct hold *h);

#endif
