#include "mem_maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "maps/keys.h"

#define M(ctx) ((struct mem_maps *)(ctx))

static void logw(struct mem_maps *m, enum mem_write_kind kind, uint32_t id, uint8_t state,
		 uint64_t ejected_ns)
{
	if (m->nlog < MEM_LOG_MAX)
		m->log[m->nlog++] = (struct mem_write){kind, id, state, ejected_ns};
}

static int svc_index(const struct mem_maps *m, const struct steer_svc_key *key)
{
	for (int i = 0; i < m->nsvc; i++)
		if (!memcmp(&m->svc_key[i], key, sizeof(*key)))
			return i;
	return -1;
}

static int backend_index(const struct mem_maps *m, const struct steer_backend_key *key)
{
	for (int i = 0; i < m->nbackends; i++)
		if (!memcmp(&m->backend_key[i], key, sizeof(*key)))
			return i;
	return -1;
}

static int svc_next(void *ctx, const struct steer_svc_key *prev, struct steer_svc_key *next)
{
	int i = prev ? svc_index(M(ctx), prev) + 1 : 0;

	if (i >= M(ctx)->nsvc)
		return -ENOENT;
	*next = M(ctx)->svc_key[i];
	return 0;
}

static int svc_get(void *ctx, const struct steer_svc_key *key, struct steer_svc_value *val)
{
	int i = svc_index(M(ctx), key);

	if (i < 0)
		return -ENOENT;
	*val = M(ctx)->svc_val[i];
	return 0;
}

static int svc_put(void *ctx, const struct steer_svc_key *key, const struct steer_svc_value *val)
{
	struct mem_maps *m = M(ctx);
	int i = svc_index(m, key);

	if (i < 0) {
		if (m->nsvc == STEER_MAX_SERVICES)
			return -E2BIG;
		i = m->nsvc++;
		m->svc_key[i] = *key;
	}
	m->svc_val[i] = *val;
	logw(m, MEM_SVC_PUT, val->svc_id, 0, 0);
	return 0;
}

static int svc_del(void *ctx, const struct steer_svc_key *key)
{
	struct mem_maps *m = M(ctx);
	int i = svc_index(m, key);

	if (i < 0)
		return -ENOENT;
	m->nsvc--;
	memmove(&m->svc_key[i], &m->svc_key[i + 1], (size_t)(m->nsvc - i) * sizeof(m->svc_key[0]));
	memmove(&m->svc_val[i], &m->svc_val[i + 1], (size_t)(m->nsvc - i) * sizeof(m->svc_val[0]));
	logw(m, MEM_OTHER, 0, 0, 0);
	return 0;
}

/* Array maps: an index past the end is -ENOENT, as the kernel says. */
#define ARRAY_GET(field, idx, out)                                                                 \
	do {                                                                                       \
		if ((idx) >= sizeof(M(ctx)->field) / sizeof(M(ctx)->field[0]))                     \
			return -ENOENT;                                                            \
		*(out) = M(ctx)->field[idx];                                                       \
		return 0;                                                                          \
	} while (0)
#define ARRAY_PUT(field, idx, in, kind)                                                            \
	do {                                                                                       \
		if ((idx) >= sizeof(M(ctx)->field) / sizeof(M(ctx)->field[0]))                     \
			return -E2BIG;                                                             \
		M(ctx)->field[idx] = *(in);                                                        \
		logw(M(ctx), kind, idx, 0, 0);                                                     \
		return 0;                                                                          \
	} while (0)

static int range_get(void *ctx, uint32_t idx, struct steer_slot_range *r)
{
	ARRAY_GET(ranges, idx, r);
}

static int range_put(void *ctx, uint32_t idx, const struct steer_slot_range *r)
{
	ARRAY_PUT(ranges, idx, r, MEM_OTHER);
}

static int slot_get(void *ctx, uint32_t idx, struct steer_slot *s)
{
	ARRAY_GET(slots, idx, s);
}

static int slot_put(void *ctx, uint32_t idx, const struct steer_slot *s)
{
	ARRAY_PUT(slots, idx, s, MEM_SLOT_PUT);
}

static int replica_get(void *ctx, uint32_t id, struct steer_replica *r)
{
	ARRAY_GET(replicas, id, r);
}

static int replica_put(void *ctx, uint32_t id, const struct steer_replica *r)
{
	if (id >= STEER_MAX_REPLICAS)
		return -E2BIG;
	M(ctx)->replicas[id] = *r;
	logw(M(ctx), MEM_REPLICA_PUT, id, r->state, 0);
	return 0;
}

static int name_get(void *ctx, uint32_t id, struct steer_svc_name *n)
{
	ARRAY_GET(names, id, n);
}

static int name_put(void *ctx, uint32_t id, const struct steer_svc_name *n)
{
	ARRAY_PUT(names, id, n, MEM_OTHER);
}

static int svc_stats_sum(void *ctx, uint32_t id, struct steer_svc_stats *s)
{
	ARRAY_GET(svc_stats, id, s);
}

static int replica_stats_sum(void *ctx, uint32_t id, struct steer_replica_stats *s)
{
	ARRAY_GET(replica_stats, id, s);
}

static int sock_stats_sum(void *ctx, struct steer_sock_stats *s)
{
	*s = M(ctx)->sock_stats;
	return 0;
}

static int svc_stats_reset(void *ctx, uint32_t id)
{
	static const struct steer_svc_stats zero;

	if (id < STEER_MAX_SERVICES) {
		memset(&M(ctx)->lb_stats[id], 0, sizeof(M(ctx)->lb_stats[id]));
		memset(&M(ctx)->check_stats[id], 0, sizeof(M(ctx)->check_stats[id]));
		memset(&M(ctx)->hold_stats[id], 0, sizeof(M(ctx)->hold_stats[id]));
		memset(&M(ctx)->relay_stats[id], 0, sizeof(M(ctx)->relay_stats[id]));
	}
	ARRAY_PUT(svc_stats, id, &zero, MEM_OTHER);
}

static int replica_stats_reset(void *ctx, uint32_t id)
{
	static const struct steer_replica_stats zero;

	if (id < STEER_MAX_REPLICAS) {
		M(ctx)->replica_active[id].active = 0;
		M(ctx)->relayed[id] = 0;
	}
	ARRAY_PUT(replica_stats, id, &zero, MEM_OTHER);
}

static int replica_active_get(void *ctx, uint32_t id, uint64_t *active)
{
	if (id >= STEER_MAX_REPLICAS)
		return -ENOENT;
	*active =
	    M(ctx)->replica_active[id].active > 0 ? (uint64_t)M(ctx)->replica_active[id].active : 0;
	return 0;
}

static int slot_attrs_get(void *ctx, uint32_t idx, struct steer_slot_attrs *a)
{
	ARRAY_GET(slot_attrs, idx, a);
}

static int slot_attrs_put(void *ctx, uint32_t idx, const struct steer_slot_attrs *a)
{
	ARRAY_PUT(slot_attrs, idx, a, MEM_OTHER);
}

static int bank_get(void *ctx, uint32_t idx, struct steer_bank *b)
{
	ARRAY_GET(banks, idx, b);
}

static int bank_put(void *ctx, uint32_t idx, const struct steer_bank *b)
{
	ARRAY_PUT(banks, idx, b, MEM_OTHER);
}

static int relayed_get(void *ctx, uint32_t id, uint64_t *relayed)
{
	ARRAY_GET(relayed, id, relayed);
}

static int relayed_put(void *ctx, uint32_t id, uint64_t relayed)
{
	ARRAY_PUT(relayed, id, &relayed, MEM_OTHER);
}

static int lb_stats_sum(void *ctx, uint32_t id, struct steer_svc_lb_stats *sum)
{
	ARRAY_GET(lb_stats, id, sum);
}

static int xdp_bank_get(void *ctx, uint32_t idx, struct steer_xdp_bank *b)
{
	if (!M(ctx)->xdp)
		return -EOPNOTSUPP;
	ARRAY_GET(xdp_banks, idx, b);
}

static int maglev_put(void *ctx, uint32_t idx, const uint32_t *table,
		      const struct steer_xdp_bank *b)
{
	struct mem_maps *m = M(ctx);

	if (!m->xdp)
		return -EOPNOTSUPP;
	if (idx >= STEER_MAX_SERVICES * STEER_SLOT_BANKS)
		return -E2BIG;
	free(m->maglev[idx]);
	m->maglev[idx] = NULL;
	if (table && b->maglev_size) {
		m->maglev[idx] = malloc(b->maglev_size * sizeof(*table));
		if (!m->maglev[idx])
			return -ENOMEM;
		memcpy(m->maglev[idx], table, b->maglev_size * sizeof(*table));
	}
	m->maglev_writes++;
	ARRAY_PUT(xdp_banks, idx, b, MEM_OTHER);
}

static int xdp_stats_sum(void *ctx, struct steer_xdp_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	return M(ctx)->xdp ? 0 : -EOPNOTSUPP;
}

static int registry_get(void *ctx, struct steer_registry_status *st)
{
	*st = M(ctx)->registry;
	return 0;
}

static int registry_put(void *ctx, const struct steer_registry_status *st)
{
	M(ctx)->registry = *st;
	return 0;
}

static int wait_for_readers(void *ctx)
{
	logw(M(ctx), MEM_OTHER, 0, 0, 0);
	return 0;
}

static int backend_next(void *ctx, const struct steer_backend_key *prev,
			struct steer_backend_key *next)
{
	int i = prev ? backend_index(M(ctx), prev) + 1 : 0;

	if (i >= M(ctx)->nbackends)
		return -ENOENT;
	*next = M(ctx)->backend_key[i];
	return 0;
}

static int backend_get(void *ctx, const struct steer_backend_key *key, struct steer_backend *b)
{
	int i = backend_index(M(ctx), key);

	if (i < 0)
		return -ENOENT;
	*b = M(ctx)->backend[i];
	return 0;
}

static int backend_put(void *ctx, const struct steer_backend_key *key,
		       const struct steer_backend *b)
{
	struct mem_maps *m = M(ctx);
	int i = backend_index(m, key);

	if (i < 0) {
		if (m->nbackends == MEM_BACKENDS)
			return -E2BIG;
		i = m->nbackends++;
		m->backend_key[i] = *key;
	}
	m->backend[i] = *b;
	logw(m, MEM_BACKEND_PUT, 0, 0, b->ejected_ns);
	return 0;
}

static int backend_del(void *ctx, const struct steer_backend_key *key)
{
	struct mem_maps *m = M(ctx);
	int i = backend_index(m, key);

	if (i < 0)
		return -ENOENT;
	m->nbackends--;
	m->backend_key[i] = m->backend_key[m->nbackends];
	m->backend[i] = m->backend[m->nbackends];
	logw(m, MEM_OTHER, 0, 0, 0);
	return 0;
}

static int status_get(void *ctx, uint32_t id, struct steer_replica_status *st)
{
	ARRAY_GET(status, id, st);
}

static int status_put(void *ctx, uint32_t id, const struct steer_replica_status *st)
{
	ARRAY_PUT(status, id, st, MEM_STATUS_PUT);
}

/*
 * The per-service stats hashes, as the map layer over the kernel has them:
 * a service has an entry only while its value is non-zero (a zero put
 * deletes it), and one without answers -ENOENT with zeros. The arrays
 * below hold zeros for ids without an entry, so tests read them directly.
 */
static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

#define STATS_GET(field, idx, out)                                                                 \
	do {                                                                                       \
		memset((out), 0, sizeof(*(out)));                                                  \
		if ((idx) >= STEER_MAX_SERVICES ||                                                 \
		    is_zero(&M(ctx)->field[idx], sizeof(M(ctx)->field[idx])))                      \
			return -ENOENT;                                                            \
		*(out) = M(ctx)->field[idx];                                                       \
		return 0;                                                                          \
	} while (0)

static int check_stats_get(void *ctx, uint32_t id, struct steer_check_stats *s)
{
	STATS_GET(check_stats, id, s);
}

static int check_stats_put(void *ctx, uint32_t id, const struct steer_check_stats *s)
{
	ARRAY_PUT(check_stats, id, s, MEM_CHECK_STATS_PUT);
}

static int hold_stats_get(void *ctx, uint32_t id, struct steer_hold_stats *s)
{
	STATS_GET(hold_stats, id, s);
}

static int hold_stats_put(void *ctx, uint32_t id, const struct steer_hold_stats *s)
{
	ARRAY_PUT(hold_stats, id, s, MEM_HOLD_STATS_PUT);
}

static int relay_stats_get(void *ctx, uint32_t id, struct steer_relay_stats *s)
{
	STATS_GET(relay_stats, id, s);
}

static int relay_stats_put(void *ctx, uint32_t id, const struct steer_relay_stats *s)
{
	ARRAY_PUT(relay_stats, id, s, MEM_RELAY_STATS_PUT);
}

static int hold_get(void *ctx, uint32_t id, struct steer_hold *h)
{
	ARRAY_GET(hold, id, h);
}

static int hold_put(void *ctx, uint32_t id, const struct steer_hold *h)
{
	ARRAY_PUT(hold, id, h, MEM_HOLD_PUT);
}

static int hold_sock_put(void *ctx, uint32_t id, int fd)
{
	if (id >= STEER_HOLD_FAMILIES || fd < 0)
		return -EINVAL;
	M(ctx)->hold_sock[id] = fd + 1;
	logw(M(ctx), MEM_HOLD_SOCK, id, 0, 0);
	return 0;
}

static int hold_sock_del(void *ctx, uint32_t id)
{
	if (id >= STEER_HOLD_FAMILIES)
		return -EINVAL;
	M(ctx)->hold_sock[id] = 0;
	logw(M(ctx), MEM_HOLD_SOCK, id, 0, 0);
	return 0;
}

static int sock_get(void *ctx, uint64_t cookie, struct steer_sock *rec)
{
	for (int i = 0; i < M(ctx)->nsocks; i++) {
		if (M(ctx)->sock_cookie[i] == cookie) {
			*rec = M(ctx)->socks[i];
			return 0;
		}
	}
	return -ENOENT;
}

void mem_maps_sock_put(struct mem_maps *m, uint64_t cookie, const struct steer_sock *rec)
{
	int i;

	for (i = 0; i < m->nsocks && m->sock_cookie[i] != cookie; i++)
		;
	if (i == MEM_SOCKS)
		return;
	m->sock_cookie[i] = cookie;
	m->socks[i] = *rec;
	if (i == m->nsocks)
		m->nsocks++;
}

static bool is_local(void *ctx, const struct endpoint *ep)
{
	(void)ep;
	return M(ctx)->local;
}

struct mem_maps *mem_maps_new(void)
{
	return calloc(1, sizeof(struct mem_maps));
}

void mem_maps_free(struct mem_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < STEER_MAX_SERVICES * STEER_SLOT_BANKS; i++)
		free(m->maglev[i]);
	free(m);
}

struct map_ops mem_maps_ops(struct mem_maps *m)
{
	return MAP_OPS_NAMED(m);
}

void mem_maps_add_service(struct mem_maps *m, uint32_t svc_id, const struct endpoint *vip,
			  uint8_t proto, const struct endpoint *replicas, uint32_t n,
			  uint32_t first_id, uint8_t state)
{
	struct steer_svc_key key;
	int i;

	svc_key_encode(vip, proto, &key);
	i = m->nsvc++;
	m->svc_key[i] = key;
	m->svc_val[i] = (struct steer_svc_value){.svc_id = svc_id, .count = (uint16_t)n};
	m->ranges[steer_bank_index(svc_id, 0)] = mem_maps_range(svc_id, 0);
	for (uint32_t r = 0; r < n; r++) {
		replica_encode(&replicas[r], svc_id, state, &m->replicas[first_id + r]);
		m->slots[mem_maps_range(svc_id, 0).base + r].replica_id = first_id + r;
		if (proto == IPPROTO_TCP) {
			int b = m->nbackends++;

			backend_key_encode(&replicas[r], IPPROTO_TCP, &m->backend_key[b]);
			m->backend[b] = (struct steer_backend){.local = m->local};
		}
	}
}

struct steer_backend *mem_maps_backend(struct mem_maps *m, const struct endpoint *ep)
{
	struct steer_backend_key key;
	int i;

	backend_key_encode(ep, IPPROTO_TCP, &key);
	i = backend_index(m, &key);
	return i < 0 ? NULL : &m->backend[i];
}

int mem_maps_find_write(const struct mem_maps *m, int from, enum mem_write_kind kind, uint8_t state)
{
	for (int i = from; i < m->nlog; i++)
		if (m->log[i].kind == kind &&
		    (kind != MEM_REPLICA_PUT || state == 0xff || m->log[i].state == state))
			return i;
	return -1;
}
