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
	struct svc_members set;
	int ret = svc_read_members(ops, &sv->key, &set);

	if (ret)
		return ret;
	sv->val = set.val;
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
	for (uint32_t i = 0; i < set.n; i++) {
		struct replica_view *rv = &sv->replicas[sv->nreplicas++];
		struct steer_replica_stats rs = {};

		rv->id = set.m[i].id;
		rv->r = set.m[i].r;
		ops->slot_attrs_get(ops->ctx, steer_slot_index(sv->val.svc_id, sv->val.bank, i),
				    &rv->attrs);
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
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct svc_view *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int status_collect(const char *pin_dir, struct status_snapshot *s, char *err, size_t errlen)
{
	struct svc_view *views = calloc(STEER_MAX_SERVICES, sizeof(*views));
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
	while (n < STEER_MAX_SERVICES && ops.svc_next(ops.ctx, prevp, &key) == 0) {
		prev = key;
		prevp = &prev;
		views[n].key = key;
		if (load_service(&ops, &views[n]) == 0)
			n++;
		else
			memset(&views[n], 0, sizeof(views[n]));
	}
	ops.sock_stats_sum(ops.ctx, &s->socks);
	ops.registry_get(ops.ctx, &s->registry);
	s->xdp = ops.xdp_stats_sum(ops.ctx, &s->xdp_stats) != -EOPNOTSUPP;
	s->nattach = s->xdp ? xdp_path_list(pin_dir, s->attach, STATUS_MAX_ATTACH) : 0;
	map_fds_close(&fds);
	qsort(views, (size_t)n, sizeof(*views), by_name);
	s->nservices = n;
	s->services = views;
	return 0;
}
