#include "maps/svc_walk.h"

#include <errno.h>
#include <string.h>

#include "maps/keys.h"

/* Ids past the maps' sizes fail their lookups; the count bounds loops. */
static bool svc_value_in_range(const struct steer_svc_value *v)
{
	return v->count <= STEER_MAX_SLOTS && v->bank < STEER_SLOT_BANKS;
}

int svc_bank_base(const struct map_ops *ops, const struct steer_svc_value *v, uint32_t *base)
{
	struct steer_slot_range r;
	int ret = ops->range_get(ops->ctx, steer_bank_index(v->svc_id, v->bank), &r);

	if (ret)
		return ret;
	if (v->count > r.cap)
		return -EUCLEAN;
	*base = r.base;
	return 0;
}

int svc_read_members(const struct map_ops *ops, const struct steer_svc_key *key,
		     struct svc_members *out)
{
	uint32_t base = 0;
	int ret;

	out->n = out->unreadable = 0;
	ret = ops->svc_get(ops->ctx, key, &out->val);
	if (ret)
		return ret;
	if (!svc_value_in_range(&out->val) ||
	    (out->val.count && svc_bank_base(ops, &out->val, &base)))
		return -EUCLEAN;
	for (uint32_t i = 0; i < out->val.count; i++) {
		uint32_t idx = base + i;
		struct svc_member *m = &out->m[out->n];
		struct steer_slot slot;

		if (ops->slot_get(ops->ctx, idx, &slot) ||
		    ops->replica_get(ops->ctx, slot.replica_id, &m->r)) {
			out->unreadable++;
			continue;
		}
		m->id = slot.replica_id;
		out->n++;
	}
	return 0;
}

/* Ejected by the datapath since the agent last saw it healthy? A replica
 * without a backend entry (UDP, or never ejected) is not. */
static bool member_is_ejected(const struct map_ops *ops, const struct endpoint *ep, uint8_t proto)
{
	struct steer_backend_key key;
	struct steer_backend b;

	backend_key_encode(ep, proto, &key);
	return ops->backend_get(ops->ctx, &key, &b) == 0 && b.ejected_ns;
}

/* Can replica id (of slot idx) take one more connection under max_conns?
 * The kernel's count of its steered connections and the agent's relays. */
static bool member_has_room(const struct map_ops *ops, uint32_t idx, uint32_t id)
{
	struct steer_slot_attrs a;
	uint64_t active = 0, relayed = 0;

	if (ops->slot_attrs_get(ops->ctx, idx, &a) || !a.max_conns)
		return true;
	ops->replica_active_get(ops->ctx, id, &active);
	ops->relayed_get(ops->ctx, id, &relayed);
	return active + relayed < a.max_conns;
}

/* The tiers of the bank as the hook reads them: one of [0, count) when the
 * service has no tiers, weights or limits, or its bank has no entry. */
static void bank_tiers(const struct map_ops *ops, const struct steer_svc_value *val,
		       uint32_t end[STEER_TIERS])
{
	struct steer_bank b = {};

	if (val->flags & (STEER_SVC_F_WEIGHTED | STEER_SVC_F_LIMITED | STEER_SVC_F_TIERS))
		ops->bank_get(ops->ctx, steer_bank_index(val->svc_id, val->bank), &b);
	if (!b.tier_end[STEER_TIER_ANY])
		b.tier_end[STEER_TIER_ANY] = val->count; /* no entry: one tier, [0, count) */
	for (int t = 0; t < STEER_TIERS; t++)
		end[t] = b.tier_end[t] < val->count ? b.tier_end[t] : val->count;
}

/* The hook's passes (this node, this zone, any), each in the order of
 * steer_pick_slot() within its tier, skipping replicas at max_conns. Weights
 * are left to the hook: a held connection is one among many. */
int svc_pick_routable(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t hint,
		      struct endpoint *ep, uint32_t *replica_id)
{
	struct steer_svc_value val;
	uint32_t end[STEER_TIERS], lo = 0, base = 0;
	int ret = ops->svc_get(ops->ctx, key, &val);

	if (ret)
		return ret == -ENOENT ? -EHOSTUNREACH : ret;
	if (!svc_value_in_range(&val) || (val.count && svc_bank_base(ops, &val, &base)))
		return -EUCLEAN;
	bank_tiers(ops, &val, end);
	for (int t = 0; t<STEER_TIERS; lo = end[t]> lo ? end[t] : lo, t++) {
		uint32_t n = end[t] > lo ? end[t] - lo : 0;

		for (uint32_t i = 0; i < steer_pick_steps(n); i++) {
			uint32_t idx = base + lo + steer_pick_slot(hint, n, i);
			struct steer_replica r;
			struct steer_slot slot;
			struct endpoint cand;

			if (ops->slot_get(ops->ctx, idx, &slot) ||
			    ops->replica_get(ops->ctx, slot.replica_id, &r))
				return -EUCLEAN;
			if (!steer_replica_may_take(&r, key->family))
				continue;
			replica_decode(&r, &cand);
			if (member_is_ejected(ops, &cand, key->proto))
				continue;
			if ((val.flags & STEER_SVC_F_LIMITED) &&
			    !member_has_room(ops, idx, slot.replica_id))
				continue;
			*ep = cand;
			*replica_id = slot.replica_id;
			return 0;
		}
	}
	return -EHOSTUNREACH;
}
