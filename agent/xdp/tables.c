#include "xdp/tables.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/keys.h"
#include "xdp/maglev.h"

/* A bank's replicas as the XDP path sees them. */
struct xdp_members {
	uint32_t n;
	struct endpoint ep[STEER_MAX_SLOTS];
	struct maglev_backend b[STEER_MAX_SLOTS];
};

static uint32_t table_size(uint32_t maglev_size)
{
	return maglev_size ? maglev_size : STEER_MAGLEV_SIZE;
}

/* A packet from another host cannot be NATed to a loopback address (the
 * stack drops it as a martian), so such a replica is left out of the
 * table: its service's remote flows miss and the agent relays them. */
static bool is_loopback(const struct endpoint *ep)
{
	static const uint32_t v6_lo[4] = {0, 0, 0, 0x01000000}; /* ::1, network order */

	if (ep->family == STEER_FAMILY_V4)
		return (ntohl(ep->addr[0]) >> 24) == 127;
	return memcmp(ep->addr, v6_lo, sizeof(v6_lo)) == 0;
}

/* UP, not ejected by the datapath, and reachable from another host;
 * *local: on this node (NAT) rather than remote (IPIP). */
static bool member_routable(const struct map_ops *ops, const struct steer_replica *r,
			    const struct endpoint *ep, uint8_t proto, bool *local)
{
	struct steer_backend_key bk;
	struct steer_backend b;

	if (r->state != STEER_REPLICA_UP || is_loopback(ep))
		return false;
	if (proto == IPPROTO_TCP) {
		backend_key_encode(ep, proto, &bk);
		if (ops->backend_get(ops->ctx, &bk, &b) == 0) {
			*local = b.local;
			return !b.ejected_ns;
		}
	}
	*local = ops->is_local(ops->ctx, ep);
	return true;
}

/* The routable replicas of the first count slots of a bank. */
static int read_members(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t svc_id,
			uint32_t bank, uint32_t count, struct xdp_members *m)
{
	struct steer_slot_range rg = {0, 0};

	m->n = 0;
	if (count) {
		int ret = ops->range_get(ops->ctx, steer_bank_index(svc_id, bank), &rg);

		if (ret)
			return ret;
		if (count > rg.cap)
			return -EUCLEAN;
	}
	for (uint32_t i = 0; i < count && i < STEER_MAX_SLOTS; i++) {
		uint32_t idx = rg.base + i;
		struct steer_slot_attrs a = {};
		struct steer_replica r;
		struct steer_slot slot;
		bool local = false;
		int ret = ops->slot_get(ops->ctx, idx, &slot);

		if (!ret)
			ret = ops->replica_get(ops->ctx, slot.replica_id, &r);
		if (ret)
			return ret;
		memset(&m->ep[m->n], 0, sizeof(m->ep[m->n])); /* hashed whole, padding too */
		replica_decode(&r, &m->ep[m->n]);
		if (r.family != key->family ||
		    !member_routable(ops, &r, &m->ep[m->n], key->proto, &local))
			continue;
		ops->slot_attrs_get(ops->ctx, idx, &a); /* absent: weight 1 */
		m->b[m->n].ep = &m->ep[m->n];
		m->b[m->n].value = slot.replica_id | (local ? STEER_MAGLEV_F_LOCAL : 0);
		m->b[m->n].weight = a.weight ? a.weight : 1;
		m->n++;
	}
	return 0;
}

/* FNV-1a over what the table is built from: equal sets, equal tables. */
static uint32_t members_signature(const struct xdp_members *m, uint32_t size)
{
	uint32_t h = 2166136261u;

#define MIX(v)                                                                                     \
	do {                                                                                       \
		const unsigned char *p__ = (const unsigned char *)&(v);                            \
		for (size_t k__ = 0; k__ < sizeof(v); k__++)                                       \
			h = (h ^ p__[k__]) * 16777619u;                                            \
	} while (0)
	MIX(size);
	for (uint32_t i = 0; i < m->n; i++) {
		MIX(m->ep[i]);
		MIX(m->b[i].value);
		MIX(m->b[i].weight);
	}
#undef MIX
	return h ? h : 1; /* 0 is what a bank never built holds */
}

static int write_table(const struct map_ops *ops, uint32_t bank_idx, const struct xdp_members *m,
		       uint32_t size)
{
	struct steer_xdp_bank xb = {.signature = members_signature(m, size)};
	uint32_t *table;
	int ret;

	if (!m->n)
		return ops->maglev_put(ops->ctx, bank_idx, NULL, &xb);
	table = malloc(size * sizeof(*table));
	if (!table)
		return -ENOMEM;
	ret = maglev_build(m->b, m->n, size, table);
	xb.maglev_size = size;
	if (!ret)
		ret = ops->maglev_put(ops->ctx, bank_idx, table, &xb);
	free(table);
	return ret;
}

int xdp_table_stage(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t svc_id,
		    uint32_t bank, uint32_t count, uint32_t maglev_size)
{
	struct xdp_members *m;
	struct steer_xdp_bank old;
	int ret = ops->xdp_bank_get(ops->ctx, steer_bank_index(svc_id, bank), &old);

	if (ret == -EOPNOTSUPP)
		return 0; /* no XDP path on this node */
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	ret = read_members(ops, key, svc_id, bank, count, m);
	if (!ret)
		ret = write_table(ops, steer_bank_index(svc_id, bank), m, table_size(maglev_size));
	free(m);
	return ret;
}

/* Does the active bank's table still match the routable set? */
static int table_is_current(const struct map_ops *ops, const struct steer_svc_key *key,
			    const struct steer_svc_value *v, uint32_t size, struct xdp_members *m)
{
	struct steer_xdp_bank xb;
	int ret = ops->xdp_bank_get(ops->ctx, steer_bank_index(v->svc_id, v->bank), &xb);

	if (ret)
		return ret;
	ret = read_members(ops, key, v->svc_id, v->bank, v->count, m);
	if (ret)
		return ret;
	return xb.signature == members_signature(m, size) && xb.maglev_size == (m->n ? size : 0);
}

/* The idle bank gets the active bank's slots (the same range, which
 * neither bank writes again: reconcile writes a bank into a fresh range)
 * and tiers. */
static int copy_bank(const struct map_ops *ops, const struct steer_svc_value *v, uint32_t to)
{
	struct steer_slot_range rg = {0, 0};
	struct steer_bank b = {};
	int ret = ops->range_get(ops->ctx, steer_bank_index(v->svc_id, v->bank), &rg);

	if (!ret)
		ret = ops->range_put(ops->ctx, steer_bank_index(v->svc_id, to), &rg);
	if (ret)
		return ret;
	ops->bank_get(ops->ctx, steer_bank_index(v->svc_id, v->bank), &b);
	return ops->bank_put(ops->ctx, steer_bank_index(v->svc_id, to), &b);
}

static int resync_service(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t size,
			  struct xdp_members *m)
{
	struct steer_svc_value v, next;
	uint32_t idle;
	int ret = ops->svc_get(ops->ctx, key, &v);

	if (ret)
		return ret;
	if (v.count > STEER_MAX_SLOTS || v.bank >= STEER_SLOT_BANKS)
		return -EUCLEAN;
	ret = table_is_current(ops, key, &v, size, m);
	if (ret)
		return ret < 0 ? ret : 0;
	idle = !v.bank;
	ret = copy_bank(ops, &v, idle);
	if (!ret)
		ret = write_table(ops, steer_bank_index(v.svc_id, idle), m, size);
	if (ret)
		return ret;
	next = v;
	next.bank = (uint8_t)idle;
	ret = ops->svc_put(ops->ctx, key, &next);
	return ret ? ret : 1;
}

int xdp_tables_sync(const struct map_ops *ops, uint32_t maglev_size, char *err, size_t errlen)
{
	struct steer_svc_key key, prev;
	struct steer_xdp_bank probe;
	struct xdp_members *m;
	uint32_t size = table_size(maglev_size);
	int flipped = 0, ret;
	bool first = true;

	if (ops->xdp_bank_get(ops->ctx, 0, &probe) == -EOPNOTSUPP)
		return 0;
	m = malloc(sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while ((ret = ops->svc_next(ops->ctx, first ? NULL : &prev, &key)) == 0) {
		int r = resync_service(ops, &key, size, m);

		first = false;
		prev = key;
		if (r < 0 && r != -ENOENT) {
			struct endpoint vip;
			uint8_t proto;
			char text[64];

			svc_key_decode(&key, &vip, &proto);
			snprintf(err, errlen, "cannot rebuild the Maglev table of %s/%s: %s",
				 endpoint_format(&vip, text, sizeof(text)), proto_name(proto),
				 strerror(-r));
			ret = r;
			break;
		}
		flipped += r > 0;
	}
	free(m);
	if (ret == -ENOENT)
		ret = 0; /* past the last service */
	/* Flipped banks may be in use: wait for readers before anything
	 * rewrites what is now idle, also after an error. */
	if (flipped) {
		int w = ops->wait_for_readers(ops->ctx);

		if (w && !ret) {
			snprintf(err, errlen, "cannot wait for datapath readers: %s", strerror(-w));
			ret = w;
		}
	}
	return ret ? ret : flipped;
}
