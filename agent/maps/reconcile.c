#include "maps/reconcile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "maps/keys.h"
#include "xdp/tables.h"
#include "maps/slot_space.h"
#include "maps/svc_walk.h"

/* One service as found in the maps. */
struct live_svc {
	struct steer_svc_key key;
	struct steer_svc_value val;
	struct steer_slot_range range; /* of its active bank */
	uint32_t *ids;		       /* val.count of each, malloc'd */
	struct steer_replica *reps;
	/* What this agent wrote (kept snapshots only): its name in
	 * steer_svc_names_v1 and a hash of its bank's attributes and tiers,
	 * so an unchanged service costs no map read. */
	char name[SVC_NAME_MAX];
	uint64_t sig;
	bool known;    /* name and sig are this agent's; else read the maps */
	bool wanted;   /* still in the config */
	bool replaced; /* its value was flipped or deleted: old bank retirable */
};

/* What the maps hold now, and which ids are taken. Sized by the limits
 * the maps were made with (config/limits.h), not by the ceilings. */
struct snapshot {
	int nsvc, cap;
	struct live_svc *svc;
	struct live_svc **by_key; /* the services sorted by key, for bsearch */
	uint32_t nsvc_ids, nreplica_ids;
	bool *svc_id_used;
	uint32_t svc_id_floor; /* no free service id below it */
	bool *replica_used;
	bool *replica_kept;
	int norphans; /* ACTIVE replicas no live bank points at */
	uint32_t *orphans;
	uint32_t next_replica;	     /* round-robin cursor: ids are not reused soon */
	struct slot_space space;     /* the live banks' ranges taken */
	char why[160];		     /* what a stage refused, beyond its errno */
	struct svc_members *members; /* scratch for reading one service */
	bool fresh;		     /* read from the maps by this call, not kept */
	/* Backend keys of the replicas settle() retired: their entries go
	 * unless another replica has the endpoint. */
	struct steer_backend_key *gone;
	uint32_t ngone, gone_cap;
};

static struct snapshot *snapshot_new(uint32_t stride)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->nsvc_ids = steer_limits.services;
	s->nreplica_ids = steer_limits.replicas;
	s->svc_id_used = calloc(s->nsvc_ids, sizeof(bool));
	s->replica_used = calloc(s->nreplica_ids, sizeof(bool));
	s->replica_kept = calloc(s->nreplica_ids, sizeof(bool));
	s->orphans = calloc(s->nreplica_ids, sizeof(uint32_t));
	s->members = malloc(sizeof(*s->members));
	if (!s->svc_id_used || !s->replica_used || !s->replica_kept || !s->orphans || !s->members ||
	    slot_space_init(&s->space, steer_limits.slots, stride)) {
		free(s->svc_id_used);
		free(s->replica_used);
		free(s->replica_kept);
		free(s->orphans);
		free(s->members);
		free(s);
		return NULL;
	}
	return s;
}

static void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nsvc; i++) {
		free(s->svc[i].ids);
		free(s->svc[i].reps);
	}
	free(s->svc);
	free(s->by_key);
	free(s->svc_id_used);
	free(s->replica_used);
	free(s->replica_kept);
	free(s->orphans);
	free(s->members);
	free(s->gone);
	slot_space_fini(&s->space);
	free(s);
}

void reconcile_state_forget(struct reconcile_state *st)
{
	snapshot_free(st->kept);
	st->kept = NULL;
}

/* A service value waiting for the flip. */
struct flip {
	struct steer_svc_key key;
	struct steer_svc_value val;
	struct live_svc *was; /* what it replaces, NULL for a new service */
	/* The new bank, for the kept snapshot once the flip is done. */
	struct steer_slot_range range;
	uint32_t *ids; /* val.count, malloc'd */
	struct steer_replica *reps;
	const char *name;
	uint64_t sig;
};

/* Replicas ACTIVE in the map but in no live bank: left by a crash or a failed
 * rewrite. They are retired after the next wait for readers. */
static int snapshot_find_orphans(const struct map_ops *ops, struct snapshot *s)
{
	for (uint32_t id = 0; id < s->nreplica_ids; id++) {
		struct steer_replica r;
		int ret;

		if (s->replica_used[id])
			continue;
		ret = ops->replica_get(ops->ctx, id, &r);
		if (ret)
			return ret;
		if (r.state == STEER_REPLICA_UNUSED)
			continue;
		s->replica_used[id] = true; /* not reusable before the wait */
		s->orphans[s->norphans++] = id;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct live_svc *x = *(struct live_svc *const *)a, *y = *(struct live_svc *const *)b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* In the fixed layout of an older steer (stride), the ranges map is new:
 * each live service's banks get their fixed places in it before anything
 * reads them through it. */
static int seed_fixed_ranges(const struct map_ops *ops, const struct snapshot *s,
			     const struct steer_svc_key *key)
{
	struct steer_svc_value v;
	int ret = ops->svc_get(ops->ctx, key, &v);

	for (uint32_t b = 0; !ret && b < STEER_SLOT_BANKS; b++) {
		struct steer_slot_range r = slot_space_fixed(s->space.stride, v.svc_id, b);

		ret = ops->range_put(ops->ctx, steer_bank_index(v.svc_id, b), &r);
	}
	return ret;
}

/* ls, just read: keep its members and take what it holds. */
static int snapshot_keep(const struct map_ops *ops, struct snapshot *s, struct live_svc *ls,
			 uint32_t *highest, char *err, size_t errlen)
{
	const struct svc_members *set = s->members;

	ls->val = set->val;
	if (ls->val.svc_id >= s->nsvc_ids) {
		snprintf(err, errlen, "pinned service map holds a corrupt entry (id %u)",
			 ls->val.svc_id);
		return -EUCLEAN;
	}
	if (ls->val.count &&
	    ops->range_get(ops->ctx, steer_bank_index(ls->val.svc_id, ls->val.bank), &ls->range)) {
		snprintf(err, errlen, "cannot read the slot range of service id %u",
			 ls->val.svc_id);
		return -EUCLEAN;
	}
	if (slot_space_take(&s->space, &ls->range)) {
		snprintf(err, errlen,
			 "the slot range of service id %u (%u at %u) overlaps another's or is "
			 "outside " STEER_MAP_SLOTS,
			 ls->val.svc_id, ls->range.cap, ls->range.base);
		return -EUCLEAN;
	}
	ls->ids = malloc((set->n ? set->n : 1) * sizeof(*ls->ids));
	ls->reps = malloc((set->n ? set->n : 1) * sizeof(*ls->reps));
	if (!ls->ids || !ls->reps) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->svc_id_used[ls->val.svc_id] = true;
	for (uint32_t i = 0; i < set->n; i++) {
		if (set->m[i].id >= s->nreplica_ids) {
			snprintf(err, errlen, "service id %u points at replica id %u, past %u",
				 ls->val.svc_id, set->m[i].id, s->nreplica_ids);
			return -EUCLEAN;
		}
		ls->ids[i] = set->m[i].id;
		ls->reps[i] = set->m[i].r;
		s->replica_used[set->m[i].id] = true;
		if (set->m[i].id >= *highest)
			*highest = set->m[i].id + 1;
	}
	return 0;
}

static int snapshot_read(const struct map_ops *ops, struct snapshot *s, char *err, size_t errlen)
{
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	uint32_t highest = 0;
	int ret;

	while ((ret = ops->svc_next(ops->ctx, prevp, &key)) == 0) {
		struct svc_members *set = s->members;
		struct live_svc *ls;
		int rr;

		prev = key;
		prevp = &prev;
		if (s->nsvc == s->cap) {
			int cap = s->cap ? 2 * s->cap : 64;
			struct live_svc *more = realloc(s->svc, (size_t)cap * sizeof(*more));

			if (!more) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			s->svc = more;
			s->cap = cap;
		}
		rr = s->space.stride ? seed_fixed_ranges(ops, s, &key) : 0;
		if (!rr)
			rr = svc_read_members(ops, &key, set);
		if (rr == -ENOENT)
			continue; /* deleted under us */
		if (rr == -EUCLEAN) {
			snprintf(err, errlen, "pinned service map holds a corrupt entry (id %u)",
				 set->val.svc_id);
			return -EUCLEAN;
		}
		if (rr) {
			snprintf(err, errlen, "cannot read the service map: %s", strerror(-rr));
			return rr;
		}
		if (set->unreadable) {
			snprintf(err, errlen, "cannot read %u of the %u slots of service id %u",
				 set->unreadable, set->val.count, set->val.svc_id);
			return -EUCLEAN;
		}
		ls = &s->svc[s->nsvc];
		memset(ls, 0, sizeof(*ls));
		ls->key = key;
		s->nsvc++;
		rr = snapshot_keep(ops, s, ls, &highest, err, errlen);
		if (rr)
			return rr;
	}
	if (ret != -ENOENT && ret != 0) {
		snprintf(err, errlen, "cannot walk the service map: %s", strerror(-ret));
		return ret;
	}
	s->by_key = malloc((size_t)(s->nsvc ? s->nsvc : 1) * sizeof(*s->by_key));
	if (!s->by_key) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < s->nsvc; i++)
		s->by_key[i] = &s->svc[i];
	qsort(s->by_key, (size_t)s->nsvc, sizeof(*s->by_key), key_cmp);
	s->next_replica = highest % s->nreplica_ids;
	return 0;
}

static struct live_svc *snapshot_find(struct snapshot *s, const struct steer_svc_key *key)
{
	struct live_svc probe = {.key = *key}, *pp = &probe, **hit;

	hit = bsearch(&pp, s->by_key, (size_t)s->nsvc, sizeof(*s->by_key), key_cmp);
	return hit ? *hit : NULL;
}

/* The lowest free id: ids taken in one reconcile only grow, so a floor
 * makes every search start where the last ended. */
static int alloc_svc_id(struct snapshot *s, uint32_t *id)
{
	for (uint32_t i = s->svc_id_floor; i < s->nsvc_ids; i++) {
		if (!s->svc_id_used[i]) {
			s->svc_id_used[i] = true;
			s->svc_id_floor = i + 1;
			*id = i;
			return 0;
		}
	}
	s->svc_id_floor = s->nsvc_ids;
	return -ENOSPC;
}

static int alloc_replica_id(struct snapshot *s, uint32_t *id)
{
	for (uint32_t n = 0; n < s->nreplica_ids; n++) {
		uint32_t i = (s->next_replica + n) % s->nreplica_ids;

		if (!s->replica_used[i]) {
			s->replica_used[i] = true;
			s->next_replica = (i + 1) % s->nreplica_ids;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Index in ls of the replica at ep, or -1. */
static int live_find_replica(const struct live_svc *ls, const struct endpoint *ep)
{
	if (!ls)
		return -1;
	for (uint32_t i = 0; i < ls->val.count; i++)
		if (replica_matches(&ls->reps[i], ep))
			return (int)i;
	return -1;
}

/* Refuse a config that cannot fit before writing anything. */
static int check_capacity(struct snapshot *s, const struct steer_config *cfg, char *err,
			  size_t errlen)
{
	int free_svc = 0, free_rep = 0, need_svc = 0, need_rep = 0;

	for (uint32_t i = 0; i < s->nsvc_ids; i++)
		free_svc += !s->svc_id_used[i];
	for (uint32_t i = 0; i < s->nreplica_ids; i++)
		free_rep += !s->replica_used[i];
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];
		struct steer_svc_key key;
		struct live_svc *ls;

		if ((uint32_t)sc->nreplicas > steer_limits.replicas_per_service) {
			snprintf(err, errlen,
				 "service '%s' has %d replicas; limit "
				 "STEER_MAX_REPLICAS_PER_SERVICE=%u",
				 sc->name, sc->nreplicas, steer_limits.replicas_per_service);
			return -ENOSPC;
		}

		svc_key_encode(&sc->vip, sc->proto, &key);
		ls = snapshot_find(s, &key);
		need_svc += !ls;
		for (int r = 0; r < sc->nreplicas; r++)
			need_rep += live_find_replica(ls, &sc->replicas[r]) < 0;
	}
	if (need_svc > free_svc || need_rep > free_rep) {
		snprintf(err, errlen,
			 "config needs %d new service ids (%d free) and %d new replica ids "
			 "(%d free); limits STEER_MAX_SERVICES=%u STEER_MAX_REPLICAS=%u",
			 need_svc, free_svc, need_rep, free_rep, s->nsvc_ids, s->nreplica_ids);
		return -ENOSPC;
	}
	return 0;
}

/* How a service's replicas go into a bank: slot i holds replica order[i],
 * tiers in pick order (this node, this zone, any), the config's order
 * within a tier; the attributes of each slot and the bank's tier bounds. */
struct bank_layout {
	int order[STEER_MAX_SLOTS];
	struct steer_slot_attrs attrs[STEER_MAX_SLOTS];
	struct steer_bank bank;
	uint8_t flags; /* STEER_SVC_F_* */
};

static enum steer_tier replica_tier(const struct map_ops *ops, const struct steer_config *cfg,
				    const struct svc_config *sc, int r)
{
	if (cfg->prefer_local && ops->is_local(ops->ctx, &sc->replicas[r]))
		return STEER_TIER_LOCAL;
	if (cfg->node_zone[0] && strcmp(sc->ropts[r].zone, cfg->node_zone) == 0)
		return STEER_TIER_ZONE;
	return STEER_TIER_ANY;
}

static void bank_layout(const struct map_ops *ops, const struct steer_config *cfg,
			const struct svc_config *sc, struct bank_layout *l)
{
	enum steer_tier tier[STEER_MAX_SLOTS];
	uint32_t n = 0;

	memset(l, 0, sizeof(*l));
	if (sc->proto == IPPROTO_TCP && svc_policy_effective(sc) == SVC_POLICY_RANDOM)
		l->flags |= STEER_SVC_F_RANDOM;
	for (int r = 0; r < sc->nreplicas; r++)
		tier[r] = replica_tier(ops, cfg, sc, r);
	for (int t = 0; t < STEER_TIERS; t++) {
		uint32_t sum = 0;

		for (int r = 0; r < sc->nreplicas; r++) {
			uint16_t w = sc->ropts[r].weight ? sc->ropts[r].weight : 1;
			uint32_t limit = sc->proto == IPPROTO_TCP ? replica_max_conns(sc, r) : 0;

			if (tier[r] != (enum steer_tier)t)
				continue;
			sum += w;
			l->order[n] = r;
			l->attrs[n].weight = w;
			l->attrs[n].weight_end = sum;
			l->attrs[n].max_conns = limit;
			if (w != 1)
				l->flags |= STEER_SVC_F_WEIGHTED;
			if (limit)
				l->flags |= STEER_SVC_F_LIMITED;
			/* The pass that served a connect is counted only when the
			 * bank is read: any tier but "any" makes it read. */
			if (t != STEER_TIER_ANY)
				l->flags |= STEER_SVC_F_TIERS;
			n++;
		}
		l->bank.tier_end[t] = (uint16_t)n;
		l->bank.weight_total[t] = sum;
	}
	l->bank.max_queued = sc->proto == IPPROTO_TCP ? sc->max_queued : 0;
}

/* Does the live bank of ls already hold l's attributes and bounds? The
 * datapath reads them only with one of the flags below (max_queued aside,
 * read on a miss), so without those a bank an older agent wrote, with
 * none of them, matches too: an upgrade need not flip every service. */
static bool bank_matches(const struct map_ops *ops, const struct live_svc *ls,
			 const struct bank_layout *l)
{
	bool read = l->flags & (STEER_SVC_F_WEIGHTED | STEER_SVC_F_LIMITED | STEER_SVC_F_TIERS);
	struct steer_bank b = {};

	if (ops->bank_get(ops->ctx, steer_bank_index(ls->val.svc_id, ls->val.bank), &b) && read)
		return false;
	if (!read)
		return b.max_queued == l->bank.max_queued;
	if (memcmp(&b, &l->bank, sizeof(b)))
		return false;
	for (uint32_t i = 0; i < ls->val.count; i++) {
		struct steer_slot_attrs a;

		if (ops->slot_attrs_get(ops->ctx, ls->range.base + i, &a) ||
		    memcmp(&a, &l->attrs[i], sizeof(a)))
			return false;
	}
	return true;
}

/* FNV-1a over what a bank holds besides its members: the slots'
 * attributes, the tiers and the flags. */
static uint64_t layout_sig(const struct bank_layout *l, uint32_t n)
{
	const unsigned char *parts[3] = {(const unsigned char *)l->attrs,
					 (const unsigned char *)&l->bank, &l->flags};
	size_t lens[3] = {n * sizeof(l->attrs[0]), sizeof(l->bank), sizeof(l->flags)};
	uint64_t h = 1469598103934665603ull;

	for (int p = 0; p < 3; p++)
		for (size_t i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 1099511628211ull;
	return h;
}

/* Does a replica of sc have a steer_backends_v1 entry? TCP replicas for
 * connect failures, UDP replicas of checked services for the ICMP errors
 * of connected sockets (an unchecked one would never come back). */
static bool has_backend(const struct svc_config *sc)
{
	return sc->proto == IPPROTO_TCP ||
	       (sc->proto == IPPROTO_UDP && sc->health.kind != HEALTH_KIND_NONE);
}

/* Before a replica can be UP: its endpoint's steer_backends_v1 entry. */
static int backend_ensure(const struct map_ops *ops, const struct endpoint *ep, uint8_t proto)
{
	struct steer_backend_key key;
	struct steer_backend b;

	backend_key_encode(ep, proto, &key);
	if (ops->backend_get(ops->ctx, &key, &b) == 0)
		return 0;
	memset(&b, 0, sizeof(b));
	b.local = ops->is_local(ops->ctx, ep);
	return ops->backend_put(ops->ctx, &key, &b);
}

/* Steps 1-2 for one service: new replicas, then its idle bank (slots in
 * the order of its layout, their attributes, the bank's tiers). Fills fl
 * and returns 1 if the service needs a flip, 0 if it is unchanged. A
 * service of a kept snapshot that is unchanged costs no map access. */
static int stage_service(const struct map_ops *ops, struct snapshot *s,
			 const struct steer_config *cfg, const struct svc_config *sc,
			 struct flip *fl, struct reconcile_result *res)
{
	struct steer_svc_key key;
	struct live_svc *ls;
	struct steer_slot_range range;
	struct bank_layout l;
	uint32_t ids[STEER_MAX_SLOTS], svc_id;
	struct steer_replica reps[STEER_MAX_SLOTS]; /* as last written */
	uint64_t sig;
	bool same;
	int ret;

	svc_key_encode(&sc->vip, sc->proto, &key);
	ls = snapshot_find(s, &key);
	if (ls) {
		ls->wanted = true;
		svc_id = ls->val.svc_id;
	} else {
		ret = alloc_svc_id(s, &svc_id);
		if (ret)
			return ret;
		ret = ops->svc_stats_reset(ops->ctx, svc_id);
		if (ret)
			return ret;
	}

	bank_layout(ops, cfg, sc, &l);
	sig = layout_sig(&l, (uint32_t)sc->nreplicas);
	same = ls && ls->val.count == (uint32_t)sc->nreplicas && ls->val.flags == l.flags;
	for (int i = 0; i < sc->nreplicas; i++) {
		int r = l.order[i], at = live_find_replica(ls, &sc->replicas[r]);
		struct steer_replica rep;

		same = same && at == i;
		if (at >= 0) {
			ids[i] = ls->ids[at];
			reps[i] = ls->reps[at];
			s->replica_kept[ids[i]] = true;
			continue;
		}
		ret = alloc_replica_id(s, &ids[i]);
		/* A fresh snapshot ensured every entry before the first stage. */
		if (!ret && !s->fresh && has_backend(sc))
			ret = backend_ensure(ops, &sc->replicas[r], sc->proto);
		if (!ret)
			ret = ops->replica_stats_reset(ops->ctx, ids[i]);
		replica_encode(&sc->replicas[r], svc_id,
			       sc->health.kind == HEALTH_KIND_NONE ? STEER_REPLICA_UP
								   : STEER_REPLICA_UNKNOWN,
			       &rep);
		if (!ret)
			ret = ops->replica_put(ops->ctx, ids[i], &rep);
		if (ret)
			return ret;
		reps[i] = rep;
		s->replica_kept[ids[i]] = true;
		res->replicas_added++;
	}

	if (!ls || !ls->known || strcmp(ls->name, sc->name)) {
		struct steer_svc_name name = {};

		snprintf(name.name, sizeof(name.name), "%s", sc->name);
		ret = ops->name_put(ops->ctx, svc_id, &name);
		if (ret)
			return ret;
		if (ls)
			snprintf(ls->name, sizeof(ls->name), "%s", sc->name);
	}
	if (same && (ls->known ? ls->sig == sig : bank_matches(ops, ls, &l))) {
		ls->sig = sig;
		ls->known = true;
		res->unchanged++;
		return 0;
	}
	/* The XDP path flips banks too: the idle one is the one not live now. */
	if (ls && !s->fresh) {
		struct steer_svc_value now;

		ret = ops->svc_get(ops->ctx, &key, &now);
		if (ret || now.svc_id != svc_id || now.count != ls->val.count) {
			snprintf(s->why, sizeof(s->why),
				 "its service map entry changed under the agent (svc id %u)",
				 svc_id);
			return ret ? ret : -EUCLEAN;
		}
		ls->val.bank = now.bank;
	}

	memset(fl, 0, sizeof(*fl));
	fl->key = key;
	fl->val.svc_id = svc_id;
	fl->val.count = (uint16_t)sc->nreplicas;
	fl->val.bank = ls ? (uint8_t)!ls->val.bank : 0;
	fl->val.flags = l.flags;
	fl->was = ls;
	fl->name = sc->name;
	fl->sig = sig;
	fl->ids = malloc((size_t)(sc->nreplicas ? sc->nreplicas : 1) * sizeof(*fl->ids));
	fl->reps = malloc((size_t)(sc->nreplicas ? sc->nreplicas : 1) * sizeof(*fl->reps));
	if (!fl->ids || !fl->reps)
		return -ENOMEM;
	memcpy(fl->ids, ids, (size_t)sc->nreplicas * sizeof(*ids));
	memcpy(fl->reps, reps, (size_t)sc->nreplicas * sizeof(*reps));
	/* A fresh range: the old bank's may still be read until the wait. */
	ret = slot_space_alloc(&s->space, svc_id, fl->val.bank, (uint32_t)sc->nreplicas, &range);
	if (ret) {
		snprintf(s->why, sizeof(s->why),
			 "no free range of %d slots in " STEER_MAP_SLOTS " (%u entries, %u in use)",
			 sc->nreplicas, s->space.size, s->space.used);
		return ret;
	}
	fl->range = range;
	for (int i = 0; i < sc->nreplicas; i++) {
		struct steer_slot slot = {.replica_id = ids[i]};
		uint32_t idx = range.base + (uint32_t)i;

		ret = ops->slot_put(ops->ctx, idx, &slot);
		if (!ret)
			ret = ops->slot_attrs_put(ops->ctx, idx, &l.attrs[i]);
		if (ret)
			return ret;
	}
	ret = ops->range_put(ops->ctx, steer_bank_index(svc_id, fl->val.bank), &range);
	if (!ret)
		ret = ops->bank_put(ops->ctx, steer_bank_index(svc_id, fl->val.bank), &l.bank);
	if (!ret)
		ret = xdp_table_stage(ops, &key, svc_id, fl->val.bank, fl->val.count,
				      cfg->maglev_size);
	if (ret)
		return ret;
	if (ls)
		res->changed++;
	else
		res->added++;
	return 1;
}

static int backend_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct steer_backend_key));
}

/* Every TCP replica's backend key, sorted for bsearch (*n of them), or
 * NULL when out of memory. One pass, so that pruning costs n log n and not
 * a walk of the config per entry. */
static struct steer_backend_key *cfg_backends(const struct steer_config *cfg, size_t *n)
{
	struct steer_backend_key *keys;
	size_t total = 0;

	for (int i = 0; i < cfg->nservices; i++)
		if (has_backend(&cfg->services[i]))
			total += (size_t)cfg->services[i].nreplicas;
	keys = malloc((total ? total : 1) * sizeof(*keys));
	if (!keys)
		return NULL;
	*n = 0;
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];

		for (int r = 0; has_backend(sc) && r < sc->nreplicas; r++)
			backend_key_encode(&sc->replicas[r], sc->proto, &keys[(*n)++]);
	}
	qsort(keys, *n, sizeof(*keys), backend_key_cmp);
	return keys;
}

/* Before any replica can be UP: an entry per endpoint of has_backend(), for
 * the datapath to mark ejected. Existing entries keep their ejection and
 * counters. */
static int backends_ensure(const struct map_ops *ops, const struct steer_config *cfg, char *err,
			   size_t errlen)
{
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];

		if (!has_backend(sc))
			continue;
		for (int r = 0; r < sc->nreplicas; r++) {
			struct steer_backend_key key;
			struct steer_backend b;
			int ret;

			backend_key_encode(&sc->replicas[r], sc->proto, &key);
			if (ops->backend_get(ops->ctx, &key, &b) == 0)
				continue;
			memset(&b, 0, sizeof(b));
			b.local = ops->is_local(ops->ctx, &sc->replicas[r]);
			ret = ops->backend_put(ops->ctx, &key, &b);
			if (ret) {
				snprintf(err, errlen,
					 "cannot write the backend entry of a replica of '%s': %s",
					 sc->name, strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

/* After settle: entries no configured TCP replica uses any more. */
static int backends_prune(const struct map_ops *ops, const struct steer_config *cfg)
{
	struct steer_backend_key key, prev, gone[64];
	const struct steer_backend_key *prevp = NULL;
	size_t nkeys = 0;
	struct steer_backend_key *keys = cfg_backends(cfg, &nkeys);
	int ngone = 0, ret = 0;

	if (!keys)
		return -ENOMEM;
	/* Deleting while walking restarts a hash walk; collect, then delete. */
	do {
		ngone = 0;
		prevp = NULL;
		while (ngone < 64 && ops->backend_next(ops->ctx, prevp, &key) == 0) {
			prev = key;
			prevp = &prev;
			if (!bsearch(&key, keys, nkeys, sizeof(*keys), backend_key_cmp))
				gone[ngone++] = key;
		}
		for (int i = 0; i < ngone; i++) {
			ret = ops->backend_del(ops->ctx, &gone[i]);
			if (ret && ret != -ENOENT)
				goto out;
		}
		ret = 0;
	} while (ngone == 64);
out:
	free(keys);
	return ret;
}

/* Remember the backend key of a retired replica (out of memory: its
 * entry stays until the next agent's first reconcile prunes it). */
static void note_gone(struct snapshot *s, const struct steer_replica *r, uint8_t proto)
{
	struct endpoint ep;

	if (s->ngone == s->gone_cap) {
		uint32_t cap = s->gone_cap ? 2 * s->gone_cap : 64;
		struct steer_backend_key *g = realloc(s->gone, cap * sizeof(*g));

		if (!g)
			return;
		s->gone = g;
		s->gone_cap = cap;
	}
	replica_decode(r, &ep);
	backend_key_encode(&ep, proto, &s->gone[s->ngone++]);
}

/* A kept snapshot's prune: the backend entries of the endpoints retired
 * now that no replica of cfg has, instead of a walk of the whole map. */
static int backends_forget(const struct map_ops *ops, const struct snapshot *s,
			   const struct steer_config *cfg)
{
	size_t nkeys = 0;
	struct steer_backend_key *keys;
	int ret = 0;

	if (!s->ngone)
		return 0;
	keys = cfg_backends(cfg, &nkeys);
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->ngone && !ret; i++) {
		if (bsearch(&s->gone[i], keys, nkeys, sizeof(*keys), backend_key_cmp))
			continue;
		ret = ops->backend_del(ops->ctx, &s->gone[i]);
		if (ret == -ENOENT)
			ret = 0;
	}
	free(keys);
	return ret;
}

/* Steps 5-6: wait until no reader holds an old bank, then zero the replicas
 * that left every set. Returns 0 or the first error (with err set). */
static int settle(const struct map_ops *ops, struct snapshot *s, struct reconcile_result *res,
		  char *err, size_t errlen)
{
	const struct steer_replica zero = {};
	int ret = ops->wait_for_readers(ops->ctx);

	if (ret) {
		snprintf(err, errlen, "cannot wait for datapath readers: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < s->nsvc; i++) {
		/* A service whose switch did not happen still reads its old bank. */
		if (!s->svc[i].replaced)
			continue;
		for (uint32_t r = 0; r < s->svc[i].val.count; r++) {
			uint32_t id = s->svc[i].ids[r];

			if (s->replica_kept[id])
				continue;
			s->replica_kept[id] = true; /* retire once */
			note_gone(s, &s->svc[i].reps[r], s->svc[i].key.proto);
			ret = ops->replica_put(ops->ctx, id, &zero);
			if (ret) {
				snprintf(err, errlen, "cannot retire replica id %u: %s", id,
					 strerror(-ret));
				return ret;
			}
			res->replicas_retired++;
		}
	}
	for (int i = 0; i < s->norphans; i++) {
		ret = ops->replica_put(ops->ctx, s->orphans[i], &zero);
		if (ret) {
			snprintf(err, errlen, "cannot retire replica id %u: %s", s->orphans[i],
				 strerror(-ret));
			return ret;
		}
		res->replicas_retired++;
	}
	return 0;
}

/* Steps 3-4. Returns 0 or an error with err set; *touched says whether any
 * service value was replaced or deleted (so readers may hold old banks). */
static int commit(const struct map_ops *ops, struct snapshot *s, const struct flip *flips,
		  int nflips, struct reconcile_result *res, bool *touched, char *err, size_t errlen)
{
	int ret;

	for (int i = 0; i < nflips; i++) {
		ret = ops->svc_put(ops->ctx, &flips[i].key, &flips[i].val);
		if (ret) {
			snprintf(err, errlen, "cannot switch service id %u: %s",
				 flips[i].val.svc_id, strerror(-ret));
			return ret;
		}
		if (flips[i].was)
			flips[i].was->replaced = true;
		*touched = true;
	}
	for (int i = 0; i < s->nsvc; i++) {
		if (s->svc[i].wanted)
			continue;
		ret = ops->svc_del(ops->ctx, &s->svc[i].key);
		if (ret && ret != -ENOENT) {
			snprintf(err, errlen, "cannot remove service id %u: %s",
				 s->svc[i].val.svc_id, strerror(-ret));
			return ret;
		}
		s->svc[i].replaced = true;
		*touched = true;
		res->removed++;
	}
	return 0;
}

/* The applied change, into the kept snapshot: what the maps hold now,
 * so the next call reads none of it back. Old ranges and retired ids are
 * free again: the wait for readers is behind. */
static int snapshot_advance(struct snapshot *s, struct flip *flips, int nflips)
{
	int kept = 0, nsvc = s->nsvc;
	bool moved = false;

	for (int i = 0; i < nsvc; i++) {
		struct live_svc *ls = &s->svc[i];

		if (!ls->replaced)
			continue;
		for (uint32_t r = 0; r < ls->val.count; r++)
			s->replica_used[ls->ids[r]] = false;
		slot_space_free(&s->space, &ls->range);
	}
	for (int i = 0; i < s->norphans; i++)
		s->replica_used[s->orphans[i]] = false;
	s->norphans = 0;
	for (int i = 0; i < nflips; i++) {
		struct live_svc *ls = flips[i].was;

		for (uint32_t r = 0; r < flips[i].val.count; r++)
			s->replica_used[flips[i].ids[r]] = true;
		if (!ls) {
			if (s->nsvc == s->cap) {
				int cap = s->cap ? 2 * s->cap : 64;
				struct live_svc *more =
				    realloc(s->svc, (size_t)cap * sizeof(*more));

				if (!more)
					return -ENOMEM;
				/* flips[].was of later flips point into the old array */
				for (int j = i + 1; j < nflips; j++)
					if (flips[j].was)
						flips[j].was = more + (flips[j].was - s->svc);
				s->svc = more;
				s->cap = cap;
			}
			ls = &s->svc[s->nsvc++];
			memset(ls, 0, sizeof(*ls));
			ls->key = flips[i].key;
			ls->wanted = true;
			moved = true;
		}
		free(ls->ids);
		free(ls->reps);
		ls->val = flips[i].val;
		ls->range = flips[i].range;
		ls->ids = flips[i].ids;
		ls->reps = flips[i].reps;
		flips[i].ids = NULL;
		flips[i].reps = NULL;
		snprintf(ls->name, sizeof(ls->name), "%s", flips[i].name);
		ls->sig = flips[i].sig;
		ls->known = true;
		ls->replaced = false;
	}
	/* Deleted services leave the array. */
	for (int i = 0; i < s->nsvc; i++) {
		struct live_svc *ls = &s->svc[i];

		if (!ls->wanted) {
			s->svc_id_used[ls->val.svc_id] = false;
			if (!ls->replaced)
				slot_space_free(&s->space, &ls->range);
			free(ls->ids);
			free(ls->reps);
			moved = true;
			continue;
		}
		s->svc[kept++] = *ls;
	}
	s->nsvc = kept;
	if (moved || nflips) {
		struct live_svc **by_key =
		    realloc(s->by_key, (size_t)(s->nsvc ? s->nsvc : 1) * sizeof(*by_key));

		if (!by_key)
			return -ENOMEM;
		s->by_key = by_key;
		for (int i = 0; i < s->nsvc; i++)
			s->by_key[i] = &s->svc[i];
		qsort(s->by_key, (size_t)s->nsvc, sizeof(*s->by_key), key_cmp);
	}
	return 0;
}

/* A kept snapshot, ready for another call: nothing wanted or replaced yet. */
static void snapshot_reuse(struct snapshot *s)
{
	for (int i = 0; i < s->nsvc; i++)
		s->svc[i].wanted = s->svc[i].replaced = false;
	memset(s->replica_kept, 0, s->nreplica_ids * sizeof(*s->replica_kept));
	s->svc_id_floor = 0;
	s->norphans = 0;
	s->ngone = 0;
	s->why[0] = '\0';
	s->fresh = false;
}

int reconcile(const struct map_ops *ops, struct reconcile_state *st, const struct steer_config *cfg,
	      struct reconcile_result *res, char *err, size_t errlen)
{
	struct snapshot *s = st->kept;
	struct flip *flips = calloc((size_t)cfg->nservices + 1, sizeof(*flips));
	bool touched = false;
	int nflips = 0, ret;

	memset(res, 0, sizeof(*res));
	st->kept = NULL;
	/* A snapshot of another layout, or of other limits, is read anew. */
	if (s && (s->space.stride != st->legacy_stride || s->nsvc_ids != steer_limits.services ||
		  s->nreplica_ids != steer_limits.replicas)) {
		snapshot_free(s);
		s = NULL;
	}
	if (s) {
		snapshot_reuse(s);
	} else {
		s = snapshot_new(st->legacy_stride);
		if (s)
			s->fresh = true;
	}
	if (!s || !flips) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = s->fresh ? snapshot_read(ops, s, err, errlen) : 0;
	/* Orphans come from a crash or a failed rewrite: looked for once per
	 * agent and after a failure, not at every change (a read of every
	 * replica id, 262,144 of them by default). */
	if (!ret && s->fresh && (!st->seeded || st->failed)) {
		ret = snapshot_find_orphans(ops, s);
		if (ret)
			snprintf(err, errlen, "cannot read the replica map: %s", strerror(-ret));
	}
	if (ret)
		goto out;
	if (st->seeded && s->fresh)
		s->next_replica = st->next_replica % s->nreplica_ids;
	ret = check_capacity(s, cfg, err, errlen);
	if (ret)
		goto out;
	ret = s->fresh ? backends_ensure(ops, cfg, err, errlen) : 0;
	if (ret)
		goto out;

	for (int i = 0; i < cfg->nservices; i++) {
		ret = stage_service(ops, s, cfg, &cfg->services[i], &flips[nflips], res);
		if (ret < 0) {
			snprintf(err, errlen, "service '%s': cannot stage replicas: %s",
				 cfg->services[i].name, s->why[0] ? s->why : strerror(-ret));
			nflips++; /* its arrays are freed below */
			goto out;
		}
		nflips += ret;
	}

	ret = commit(ops, s, flips, nflips, res, &touched, err, errlen);
	if (ret) {
		/* Readers may hold what we just replaced: settle anyway, but
		 * report the first error. */
		char ignored[256];

		if (touched)
			settle(ops, s, res, ignored, sizeof(ignored));
		goto out;
	}
	if (touched || s->norphans)
		ret = settle(ops, s, res, err, errlen);
	if (ret == 0) {
		ret = s->fresh ? backends_prune(ops, cfg) : backends_forget(ops, s, cfg);
		if (ret)
			snprintf(err, errlen, "cannot remove unused backend entries: %s",
				 strerror(-ret));
	}
	if (ret == 0 && snapshot_advance(s, flips, nflips)) {
		/* Applied; only the memory of it is lost: read the maps next time. */
		snapshot_free(s);
		s = NULL;
	}
out:
	if (s) {
		st->seeded = true;
		st->next_replica = s->next_replica;
	}
	st->failed = ret != 0;
	for (int i = 0; flips && i < nflips; i++) {
		free(flips[i].ids);
		free(flips[i].reps);
	}
	free(flips);
	if (ret == 0 && s)
		st->kept = s; /* what the maps hold, for the next call */
	else
		snapshot_free(s);
	return ret;
}

int reconcile_members(const struct reconcile_state *st, const struct steer_svc_key *key,
		      struct svc_members *out)
{
	struct live_svc *ls;

	if (!st->kept)
		return -EAGAIN;
	ls = snapshot_find(st->kept, key);
	if (!ls)
		return -ENOENT;
	out->val = ls->val;
	out->n = ls->val.count;
	out->unreadable = 0;
	for (uint32_t i = 0; i < out->n; i++) {
		out->m[i].id = ls->ids[i];
		out->m[i].r = ls->reps[i];
	}
	return 0;
}
