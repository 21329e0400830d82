/* The walk `steer status` does over the pinned maps: services -> active slot
 * bank -> replicas, plus the per-service and per-replica counters. */
#include "observe/status_collect.h"

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

static int load_service(const struct map_ops *ops, struct svc_view *sv)
{
	struct steer_svc_name name = {};
	struct steer_bank bank = {};
	/* 1024 members: too big for the stack of a walk of every service. */
	struct svc_members *set = malloc(sizeof(*set));
	uint32_t base = 0;
	int ret = set ? svc_read_members(ops, &sv->key, set) : -ENOMEM;

	if (!ret && !(sv->replicas = calloc(set->n ? set->n : 1, sizeof(*sv->replicas))))
		ret = -ENOMEM;
	if (ret) {
		free(set);
		return ret;
	}
	sv->val = set->val;
	if (ops->name_get(ops->ctx, sv->val.svc_id, &name) == 0)
		memcpy(sv->name, name.name, sizeof(sv->name) - 1);
	ops->hold_stats_get(ops->ctx, sv->val.svc_id, &sv->hold);
	ops->relay_stats_get(ops->ctx, sv->val.svc_id, &sv->relay);
	ops->svc_stats_sum(ops->ctx, sv->val.svc_id, &sv->stats);
	ops->lb_stats_sum(ops->ctx, sv->val.svc_id, &sv->lb);
	/* The hook refuses past max_queued before the agent sees the connection;
	 * the operator sees one count. */
	sv->hold.refused_full += sv->lb.refused_full;
	ops->bank_get(ops->ctx, steer_bank_index(sv->val.svc_id, sv->val.bank), &bank);
	if (set->n)
		svc_bank_base(ops, &sv->val, &base);
	for (uint32_t i = 0; i < set->n; i++) {
		struct replica_view *rv = &sv->replicas[sv->nreplicas++];
		struct steer_replica_stats rs = {};

		rv->id = set->m[i].id;
		rv->r = set->m[i].r;
		ops->slot_attrs_get(ops->ctx, base + i, &rv->attrs);
		rv->tier = STEER_TIER_ANY;
		for (int t = STEER_TIERS - 1; t >= 0; t--)
			if (i < bank.tier_end[t])
				rv->tier = (uint8_t)t;
		ops->replica_stats_sum(ops->ctx, rv->id, &rs);
		rv->steered = rs.steered;
		ops->replica_active_get(ops->ctx, rv->id, &rv->active);
		ops->status_get(ops->ctx, rv->id, &rv->st);
		{
			/* TCP replicas, and UDP ones of services with checks,
			 * have an entry (ejection, failed connects or ICMP
			 * errors). */
			struct steer_backend_key bk;
			struct endpoint ep;

			replica_decode(&rv->r, &ep);
			backend_key_encode(&ep, sv->key.proto, &bk);
			ops->backend_get(ops->ctx, &bk, &rv->b);
		}
	}
	free(set);
	return 0;
}

void status_snapshot_free(struct status_snapshot *s)
{
	for (int i = 0; i < s->nservices; i++)
		free(s->services[i].replicas);
	free(s->services);
	s->services = NULL;
	s->nservices = 0;
}

static int by_name(const void *a, const void *b)
{
	const struct svc_view *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int status_collect(const char *pin_dir, struct status_snapshot *s, char *err, size_t errlen)
{
	int cap = 64;
	struct svc_view *views = calloc((size_t)cap, sizeof(*views));
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	struct map_ops ops;
	int n = 0, ret;

	if (!views) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret) {
		snprintf(err, errlen,
			 "no steer datapath pinned under %s (%s); is STEER_BPFFS right?", pin_dir,
			 strerror(-ret));
		free(views);
		return -1;
	}
	map_ops_init(&ops, &fds);
	while (ops.svc_next(ops.ctx, prevp, &key) == 0) {
		prev = key;
		prevp = &prev;
		if (n == cap) {
			struct svc_view *v = realloc(views, 2 * (size_t)cap * sizeof(*views));

			if (!v)
				break; /* out of memory: the services read so far */
			views = v;
			cap *= 2;
		}
		memset(&views[n], 0, sizeof(views[n]));
		views[n].key = key;
		if (load_service(&ops, &views[n]) == 0)
			n++;
		else
			memset(&views[n], 0, sizeof(views[n]));
	}
	ops.sock_stats_sum(ops.ctx, &s->socks);
	for (uint32_t i = 0; i < STEER_HOLD_FAMILIES; i++)
		if (ops.hold_get(ops.ctx, i, &s->hold[i]))
			memset(&s->hold[i], 0, sizeof(s->hold[i]));
	ops.registry_get(ops.ctx, &s->registry);
	s->xdp = ops.xdp_stats_sum(ops.ctx, &s->xdp_stats) != -EOPNOTSUPP;
	s->nattach = s->xdp ? xdp_path_list(pin_dir, s->attach, STATUS_MAX_ATTACH) : 0;
	map_fds_close(&fds);
	qsort(views, (size_t)n, sizeof(*views), by_name);
	s->nservices = n;
	s->services = views;
	return 0;
}
