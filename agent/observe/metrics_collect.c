/* A metrics snapshot from the pinned maps: the walk `steer status` does,
 * services -> active slot bank -> replicas, with per-CPU counters summed. */
#include "observe/metrics_collect.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "lib/addr.h"
#include "maps/keys.h"
#include "maps/map_fds.h"
#include "maps/svc_walk.h"

static void load_replica(const struct map_ops *ops, uint8_t proto, const struct svc_member *m,
			 struct metrics_replica *out)
{
	struct steer_replica_stats rs = {};
	struct steer_backend_key bk;
	struct steer_backend be = {};
	struct endpoint ep;

	replica_decode(&m->r, &ep);
	endpoint_format(&ep, out->addr, sizeof(out->addr));
	out->state = m->r.state;
	if (ops->replica_stats_sum(ops->ctx, m->id, &rs) == 0)
		out->steered = rs.steered;
	if (proto == IPPROTO_TCP)
		ops->replica_active_get(ops->ctx, m->id, &out->active);
	/* UDP: the ICMP errors of connected sockets, while the service has
	 * checks (no entry otherwise). */
	backend_key_encode(&ep, proto, &bk);
	if (ops->backend_get(ops->ctx, &bk, &be) == 0)
		out->failed_connects = be.failed_connects;
}

/* One service and the replicas of its active slot bank. */
static int load_service(const struct map_ops *ops, const struct steer_svc_key *key,
			struct metrics_service *svc)
{
	struct steer_svc_name name = {};
	/* 1024 members: too big for the stack of a walk of every service. */
	struct svc_members *set = malloc(sizeof(*set));
	struct endpoint vip;
	int ret = set ? svc_read_members(ops, key, set) : -ENOMEM;

	if (!ret && !(svc->replicas = calloc(set->n ? set->n : 1, sizeof(*svc->replicas))))
		ret = -ENOMEM;
	if (ret) {
		free(set);
		return ret;
	}
	svc_key_decode(key, &vip, &svc->proto);
	/* The config accepts no '#' in a name, so this fallback is unique. */
	if (ops->name_get(ops->ctx, set->val.svc_id, &name) == 0 && name.name[0])
		memcpy(svc->name, name.name, sizeof(svc->name) - 1);
	else
		snprintf(svc->name, sizeof(svc->name), "#%u", set->val.svc_id);
	ops->svc_stats_sum(ops->ctx, set->val.svc_id, &svc->stats);
	ops->hold_stats_get(ops->ctx, set->val.svc_id, &svc->hold);
	ops->relay_stats_get(ops->ctx, set->val.svc_id, &svc->relay);
	ops->check_stats_get(ops->ctx, set->val.svc_id, &svc->checks);
	ops->lb_stats_sum(ops->ctx, set->val.svc_id, &svc->lb);
	svc->hold.refused_full += svc->lb.refused_full; /* refused by the hook: max_queued */
	for (uint32_t i = 0; i < set->n; i++)
		load_replica(ops, svc->proto, &set->m[i], &svc->replicas[svc->nreplicas++]);
	free(set);
	return 0;
}

void metrics_snapshot_free(struct metrics_snapshot *s)
{
	for (int i = 0; s->services && i < s->nservices; i++)
		free(s->services[i].replicas);
	free(s->services);
	s->services = NULL;
	s->nservices = 0;
}

static int by_name(const void *a, const void *b)
{
	const struct metrics_service *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int metrics_collect(const char *pin_dir, struct metrics_snapshot *s)
{
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	struct map_ops ops;
	int ret, cap;

	s->nservices = 0;
	cap = 64;
	s->services = calloc((size_t)cap, sizeof(*s->services));
	if (!s->services)
		return -ENOMEM;
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret)
		return ret;
	map_ops_init(&ops, &fds);
	while (ops.svc_next(ops.ctx, prevp, &key) == 0) {
		struct metrics_service *svc;

		prev = key;
		prevp = &prev;
		if ((unsigned int)s->nservices >= METRICS_MAX_SERVICES) {
			map_fds_close(&fds);
			return -EFBIG;
		}
		if (s->nservices == cap) {
			struct metrics_service *more =
			    realloc(s->services, 2 * (size_t)cap * sizeof(*more));

			if (!more)
				break; /* out of memory: the services read so far */
			s->services = more;
			cap *= 2;
		}
		svc = &s->services[s->nservices];
		memset(svc, 0, sizeof(*svc));
		if (load_service(&ops, &key, svc) == 0)
			s->nservices++;
		else
			memset(svc, 0, sizeof(*svc)); /* removed meanwhile */
	}
	ops.sock_stats_sum(ops.ctx, &s->socks);
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++)
		if (ops.hold_get(ops.ctx, i, &s->hold[i]))
			memset(&s->hold[i], 0, sizeof(s->hold[i]));
	ops.registry_get(ops.ctx, &s->registry);
	s->xdp = ops.xdp_stats_sum(ops.ctx, &s->xdp_stats) != -EOPNOTSUPP;
	map_fds_close(&fds);
	qsort(s->services, (size_t)s->nservices, sizeof(*s->services), by_name);
	return 0;
}
