/* The Prometheus endpoint (STEER_METRICS_ADDR): GET /metrics in the text
 * format 0.0.4, served by libmicrohttpd from its own thread.
 *
 * Every scrape opens the pinned maps itself, reads them into a struct
 * metrics_snapshot (per-CPU counters summed), renders it and closes them, so
 * the scrape thread shares no memory with the agent's event loop. Rendering
 * is a pure function of the snapshot, for the unit tests. */
#ifndef STEER_METRICS_H
#define STEER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

/* A rendered page larger than this fails the scrape instead of growing on.
 * The most the maps can hold (STEER_MAX_SERVICES services with full
 * histograms, STEER_MAX_REPLICAS replicas, the longest names) renders to
 * about 12 MB (test_metrics_largest_map_contents_fit). */
#ifndef METRICS_MAX_BYTES
#define METRICS_MAX_BYTES (32u << 20)
#endif

/* Services a page is rendered for at most: with more, even empty
 * histograms pass METRICS_MAX_BYTES, so a scrape fails at once, before
 * reading every service back (tens of MB and seconds at 65,536). */
#ifndef METRICS_MAX_SERVICES
#define METRICS_MAX_SERVICES 4096u
#endif

struct metrics_replica {
	char addr[ADDR_STRLEN];	  /* ADDR:PORT, as endpoint_format() writes it */
	uint8_t state;		  /* enum steer_replica_state */
	uint64_t steered;	  /* steer_replica_stats_v1, summed over CPUs */
	uint64_t active;	  /* steer_replica_active_v1; TCP services only */
	uint64_t failed_connects; /* steer_backends_v1; TCP services only */
};

struct metrics_service {
	char name[STEER_SVC_NAME_LEN];	  /* label service="..." */
	uint8_t proto;			  /* IPPROTO_TCP or IPPROTO_UDP */
	struct steer_svc_stats stats;	  /* summed over CPUs */
	struct steer_hold_stats hold;	  /* the miss path; rendered for TCP only */
	struct steer_relay_stats relay;	  /* its relays; TCP only */
	struct steer_check_stats checks;  /* active checks and ejections */
	struct steer_svc_lb_stats lb;	  /* connects by pass; refused_full is added to hold's */
	int nreplicas;			  /* replicas in the active slot bank */
	struct metrics_replica *replicas; /* nreplicas of them, malloc'd */
};

struct metrics_snapshot {
	const char *version;			     /* label of steer_build_info */
	struct steer_sock_stats socks;		     /* steer_sock_stats_v1, summed over CPUs */
	struct steer_hold hold[STEER_HOLD_FAMILIES]; /* steer_hold_v2: the hold listeners */
	int xdp;			  /* the XDP path's maps are pinned: xdp_stats is read */
	struct steer_xdp_stats xdp_stats; /* steer_xdp_stats_v1, summed over CPUs */
	struct steer_registry_status registry; /* conn STEER_REGISTRY_NONE: not rendered */
	int nservices;
	struct metrics_service *services; /* rendered in this order, malloc'd */
};

/* Release what metrics_collect() allocated in s. */
void metrics_snapshot_free(struct metrics_snapshot *s);

struct metrics;

/* Listen on addr ("A.B.C.D:PORT" or "[V6]:PORT", that address only) and
 * serve the maps pinned under pin_dir. Returns NULL with err set when the
 * address is bad or cannot be bound (in use, not local). */
struct metrics *metrics_start(const char *addr, const char *pin_dir, char *err, size_t errlen);

/* Stop serving (waits for a scrape in progress) and free m. NULL-safe. */
void metrics_stop(struct metrics *m);

/* Render s in the Prometheus text format 0.0.4 into a malloc'd buffer
 * (*out, *len; NUL-terminated, len excludes the NUL). Families without a series are left out;
 * steer_build_info is always there. Returns 0, -ENOMEM, or -EFBIG past
 * METRICS_MAX_BYTES; on failure *out is NULL. */
int metrics_render(const struct metrics_snapshot *s, char **out, size_t *len);

#endif
