/* The health checker: one record per replica in the maps, active checks on
 * the event loop, the rise/fall state machine, and the one place that turns
 * a state change into a map write and a log line. */
#ifndef STEER_CHECKER_H
#define STEER_CHECKER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "config/config.h"
#include "maps/map_ops.h"

struct checker;

/* Every map read and write goes through maps, which must outlive c. */
struct checker *checker_new(struct ev_loop *loop, const struct map_ops *maps);
void checker_free(struct checker *c); /* NULL-safe */

/* After every reconcile: adopt the replicas the maps now hold for cfg, keep
 * the records of replicas that stayed, start checks for new ones (at once
 * for a replica never seen healthy), stop those of removed ones. */
int checker_sync(struct checker *c, const struct steer_config *cfg);

/* Where checker_sync() learns a service's members: fn (0, -ENOENT, or
 * -EAGAIN to read the maps instead), e.g. reconcile_members(), which knows
 * them without a map read per service. Without one, the maps. */
struct svc_members;
typedef int (*checker_members_fn)(void *arg, const struct steer_svc_key *key,
				  struct svc_members *out);
void checker_members_from(struct checker *c, checker_members_fn fn, void *arg);

/* Every interval_ms, compare the maps with the agent's view of up to 2048
 * replicas, the next ones in id order (all of them each interval on a
 * node with fewer), and repair what differs: an ejection the agent was never told of (its
 * ring-buffer record was lost) takes the replica down until its checks pass;
 * a replica state other than the agent's is rewritten. Each repair is
 * logged. */
void checker_start_audit(struct checker *c, uint32_t interval_ms);

/* The datapath ejected an endpoint (ring buffer record). */
void checker_on_event(struct checker *c, const struct steer_event *ev);

/* Operator drain / undrain. Returns 0, or -1 with err naming what is wrong. */
int checker_set_draining(struct checker *c, const char *service, const struct endpoint *ep,
			 bool drain, char *err, size_t errlen);

/* Called whenever a replica of service becomes routable (UP and not
 * draining): the miss path tries its held connections at once; and
 * (routable false) whenever one stops being routable or draining: the
 * sockets connected to it are swept. */
typedef void (*checker_change_fn)(void *arg, const char *service, bool routable);
void checker_on_change(struct checker *c, checker_change_fn fn, void *arg);

/* Has every replica completed at least one check (or needs none)? */
bool checker_first_round_done(const struct checker *c);

#endif
