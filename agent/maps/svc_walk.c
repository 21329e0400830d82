#include "maps/svc_walk.h"

#include <errno.h>
#include <string.h>

#include "maps/keys.h"

static bool svc_value_in_range(const struct steer_svc_value *v)
{
	return v->svc_id < STEER_MAX_SERVICES && v->count <= STEER_MAX_SLOTS &&
	       v->bank < STEER_SLOT_BANKS;
}

int svc_read_members(const struct map_ops *ops, const struct steer_svc_key *key,
		     struct svc_members *out)
{
	int ret;

	out->n = out->unreadable = 0;
	ret = ops->svc_get(ops->ctx, key, &out->val);
	if (ret)
		return ret;
	if (!svc_value_in_range(&out->val))
		return -EUCLEAN;
	for (uint32_t i = 0; i < out->val.count; i++) {
		uint32_t idx = steer_slot_index(out->val.svc_id, out->val.bank, i);
		struct svc_member *m = &out->m[out->n];
		struct steer_slot slot;

		if (ops->slot_get(ops->ctx, idx, &slot) || slot.replica_id >= STEER_MAX_REPLICAS ||
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

int svc_pick_routable(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t hint,
		      struct endpoint *ep, uint32_t *replica_id)
{
	struct steer_svc_value val;
	int ret = ops->svc_get(ops->ctx, key, &val);

	if (ret)
		return ret == -ENOENT ? -EHOSTUNREACH : ret;
	if (!svc_value_in_range(&val))
		return -EUCLEAN;
	for (uint32_t i = 0; i < steer_pick_steps(val.count); i++) {
		uint32_t idx =
		    steer_slot_index(val.svc_id, val.bank, steer_pick_slot(hint, val.count, i));
		struct steer_replica r;
		struct steer_slot slot;
		struct endpoint cand;

		if (ops->slot_get(ops->ctx, idx, &slot) || slot.replica_id >= STEER_MAX_REPLICAS ||
		    ops->replica_get(ops->ctx, slot.replica_id, &r))
			return -EUCLEAN;
		if (!steer_replica_may_take(&r, key->family))
			continue;
		replica_decode(&r, &cand);
		if (member_is_ejected(ops, &cand, key->proto))
			continue;
		*ep = cand;
		*replica_id = slot.replica_id;
		return 0;
	}
	return -EHOSTUNREACH;
}
