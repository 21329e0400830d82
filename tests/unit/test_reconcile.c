/*
 * Unit tests for agent/reconcile.c against a fake of the pinned maps.
 *
 * The fake keeps every map in memory, logs every write in order, can fail the
 * Nth write with -EIO, and plays a concurrent reader after every write it
 * accepts:
 *  - the reader invariant: each service in the service map has a complete
 *    active bank; every slot 0..count-1 points to an ACTIVE replica of that
 *    service, of the VIP's family, whose endpoint is in the old or the new
 *    config of that service (never zeroed, never foreign);
 *  - the grace model: a bank a service left (flip or delete), and the
 *    replicas it pointed to, may still be held by a reader until
 *    wait_for_readers(); live banks are held always. A write into anything
 *    held is a violation, even if the end state would be right.
 * Violations are recorded (the reader cannot longjmp out of reconcile()) and
 * asserted after each apply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "config/config.h"
#include "maps/reconcile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- the fake */

enum op_kind {
	OP_SVC_PUT,
	OP_SVC_DEL,
	OP_SLOT_PUT,
	OP_REPLICA_PUT,
	OP_NAME_PUT,
	OP_SVC_STATS_RESET,
	OP_REPLICA_STATS_RESET,
	OP_WAIT,
	OP_ATTRS_PUT,
	OP_BANK_PUT,
	OP_RANGE_PUT,
	OP_KINDS,
};

static const char *const op_names[OP_KINDS] = {
    "svc_put",
    "svc_del",
    "slot_put",
    "replica_put",
    "name_put",
    "svc_stats_reset",
    "replica_stats_reset",
    "wait_for_readers",
    "slot_attrs_put",
    "bank_put",
    "range_put",
};

/* One accepted write. */
struct op {
	enum op_kind kind;
	uint32_t id; /* slot index, replica id or svc id */
	struct steer_svc_key key;
	struct steer_svc_value val;
	struct steer_slot slot;
	struct steer_replica rep;
};

/* What the pinned maps hold. The service hash is an array kept in insertion
 * order, which is the order svc_next() walks. */
struct fake_maps {
	int nsvc;
	struct steer_svc_key svc_key[STEER_MAX_SERVICES];
	struct steer_svc_value svc_val[STEER_MAX_SERVICES];
	struct steer_slot slots[STEER_MAX_SLOT_ENTRIES];
	struct steer_replica replicas[STEER_MAX_REPLICAS];
	struct steer_svc_name names[STEER_MAX_SERVICES];
	struct steer_slot_attrs attrs[STEER_MAX_SLOT_ENTRIES];
	struct steer_bank banks[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
	struct steer_slot_range ranges[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
};

#define MAX_ALLOWED 3

/* steer_backends_v1: not read by the reader checks, so writes to it are kept
 * apart from the datapath writes the tests count. */
struct fake_backends {
	int n;
	struct steer_backend_key key[STEER_MAX_REPLICAS];
	struct steer_backend val[STEER_MAX_REPLICAS];
	int puts, dels;
};

struct fake {
	struct fake_maps m;
	struct fake_backends b;
	/* per-CPU counters, modelled by how often they were zeroed */
	int svc_stats_resets[STEER_MAX_SERVICES];
	int replica_stats_resets[STEER_MAX_REPLICAS];

	/* this apply: every write attempted (wait_for_readers included) */
	int writes;
	int reads; /* map reads of any kind */
	int calls[OP_KINDS];
	int fail_at; /* the fail_at-th write of this apply fails with -EIO; 0: none */
	struct op *log;
	int nlog, caplog;

	/* the reader: configs whose endpoints a service may point to */
	const struct steer_config *allowed[MAX_ALLOWED];
	bool held_slot[STEER_MAX_SLOT_ENTRIES];
	bool held_range[STEER_MAX_SERVICES * STEER_SLOT_BANKS];
	bool held_replica[STEER_MAX_REPLICAS];
	int violations;
	char violation[512];
};

__attribute__((format(printf, 2, 3))) static void violate(struct fake *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->violations++)
		return;
	n = snprintf(f->violation, sizeof(f->violation), "after write #%d: ", f->writes);
	va_start(ap, fmt);
	vsnprintf(f->violation + n, sizeof(f->violation) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int fake_svc_index(const struct fake *f, const struct steer_svc_key *key)
{
	for (int i = 0; i < f->m.nsvc; i++)
		if (!memcmp(&f->m.svc_key[i], key, sizeof(*key)))
			return i;
	return -1;
}

static bool svc_config_has_key(const struct svc_config *sc, const struct steer_svc_key *key)
{
	return sc->vip.family == key->family && sc->proto == key->proto &&
	       htons(sc->vip.port) == key->port &&
	       !memcmp(sc->vip.addr, key->addr, sizeof(key->addr));
}

static bool replica_is_endpoint(const struct steer_replica *r, const struct endpoint *ep)
{
	return r->family == ep->family && r->port == htons(ep->port) &&
	       !memcmp(r->addr, ep->addr, sizeof(r->addr));
}

/* Is r one of the endpoints the service with key has in an allowed config? */
static bool replica_allowed(const struct fake *f, const struct steer_svc_key *key,
			    const struct steer_replica *r, bool *known)
{
	*known = false;
	for (int c = 0; c < MAX_ALLOWED; c++) {
		const struct steer_config *cfg = f->allowed[c];

		for (int i = 0; cfg && i < cfg->nservices; i++) {
			const struct svc_config *sc = &cfg->services[i];

			if (!svc_config_has_key(sc, key))
				continue;
			*known = true;
			for (int k = 0; k < sc->nreplicas; k++)
				if (replica_is_endpoint(r, &sc->replicas[k]))
					return true;
		}
	}
	return false;
}

/* Where slot s of bank (svc_id, bank) is: the bank's range, as the hook
 * reads it. */
static uint32_t fake_slot_index(const struct fake *f, uint32_t svc_id, uint32_t bank, uint32_t s)
{
	uint32_t b = steer_bank_index(svc_id, bank);

	return b < ARRAY_SIZE(f->m.ranges) ? f->m.ranges[b].base + s : UINT32_MAX;
}

/* A connect() arriving right now: what would it see? */
static void reader_check(struct fake *f)
{
	for (int i = 0; i < f->m.nsvc; i++) {
		const struct steer_svc_key *key = &f->m.svc_key[i];
		const struct steer_svc_value *v = &f->m.svc_val[i];

		if (v->svc_id >= STEER_MAX_SERVICES || v->count > STEER_MAX_SLOTS ||
		    v->bank >= STEER_SLOT_BANKS) {
			violate(f, "service #%d value out of range (id %u count %u bank %u)", i,
				v->svc_id, v->count, v->bank);
			return;
		}
		if (v->count && f->m.ranges[steer_bank_index(v->svc_id, v->bank)].cap < v->count) {
			violate(f, "svc id %u bank %u: %u slots in a range of %u", v->svc_id,
				v->bank, v->count,
				f->m.ranges[steer_bank_index(v->svc_id, v->bank)].cap);
			return;
		}
		for (uint32_t s = 0; s < v->count; s++) {
			uint32_t rid =
			    f->m.slots[fake_slot_index(f, v->svc_id, v->bank, s)].replica_id;
			const struct steer_replica *r;
			bool known;

			if (rid >= STEER_MAX_REPLICAS) {
				violate(f, "svc id %u slot %u: replica id %u out of range",
					v->svc_id, s, rid);
				return;
			}
			r = &f->m.replicas[rid];
			if (r->state == STEER_REPLICA_UNUSED || r->family != key->family ||
			    r->svc_id != v->svc_id) {
				violate(f,
					"svc id %u bank %u slot %u -> replica %u: state %u family "
					"%u svc_id %u (want a live state, family %u, svc_id %u)",
					v->svc_id, v->bank, s, rid, r->state, r->family, r->svc_id,
					key->family, v->svc_id);
				return;
			}
			if (!replica_allowed(f, key, r, &known)) {
				violate(f, "svc id %u slot %u -> replica %u: %s", v->svc_id, s, rid,
					known ? "endpoint in neither the old nor the new config"
					      : "service in neither the old nor the new config");
				return;
			}
		}
	}
}

/* Is slot idx in the live part of an active bank? */
static bool slot_is_live(const struct fake *f, uint32_t idx)
{
	for (int i = 0; i < f->m.nsvc; i++) {
		const struct steer_svc_value *v = &f->m.svc_val[i];
		uint32_t first = fake_slot_index(f, v->svc_id, v->bank, 0);

		if (idx >= first && idx < first + v->count)
			return true;
	}
	return false;
}

static bool replica_is_live(const struct fake *f, uint32_t id)
{
	for (int i = 0; i < f->m.nsvc; i++) {
		const struct steer_svc_value *v = &f->m.svc_val[i];

		for (uint32_t s = 0; s < v->count && v->count <= STEER_MAX_SLOTS; s++)
			if (f->m.slots[fake_slot_index(f, v->svc_id, v->bank, s)].replica_id == id)
				return true;
	}
	return false;
}

/* A service leaves bank (svc_id, bank): readers may hold it until the next
 * wait_for_readers(). */
static void hold_bank(struct fake *f, const struct steer_svc_value *v)
{
	if (v->svc_id >= STEER_MAX_SERVICES || v->count > STEER_MAX_SLOTS ||
	    v->bank >= STEER_SLOT_BANKS)
		return;
	for (uint32_t s = 0; s < v->count; s++) {
		uint32_t idx = fake_slot_index(f, v->svc_id, v->bank, s);
		uint32_t rid = f->m.slots[idx].replica_id;

		f->held_slot[idx] = true;
		if (rid < STEER_MAX_REPLICAS)
			f->held_replica[rid] = true;
	}
	f->held_range[steer_bank_index(v->svc_id, v->bank)] = true;
}

/* Readers that started before now have all finished (time passed). */
static void fake_drain_readers(struct fake *f)
{
	memset(f->held_slot, 0, sizeof(f->held_slot));
	memset(f->held_range, 0, sizeof(f->held_range));
	memset(f->held_replica, 0, sizeof(f->held_replica));
}

static int fake_write(struct fake *f, enum op_kind kind)
{
	f->calls[kind]++;
	f->writes++;
	return f->fail_at && f->writes == f->fail_at ? -EIO : 0;
}

static void fake_log(struct fake *f, const struct op *op)
{
	if (f->nlog == f->caplog) {
		int cap = f->caplog ? 2 * f->caplog : 1024;
		struct op *log = realloc(f->log, (size_t)cap * sizeof(*log));

		if (!log) {
			violate(f, "test: out of memory for the op log");
			return;
		}
		f->log = log;
		f->caplog = cap;
	}
	f->log[f->nlog++] = *op;
}

#define F(ctx) ((struct fake *)(ctx))

static int fake_svc_next(void *ctx, const struct steer_svc_key *prev, struct steer_svc_key *next)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	struct fake *f = F(ctx);
	int i = 0;

	if (prev) {
		i = fake_svc_index(f, prev);
		i = i < 0 ? 0 : i + 1; /* like the kernel: unknown prev restarts the walk */
	}
	if (i >= f->m.nsvc)
		return -ENOENT;
	*next = f->m.svc_key[i];
	return 0;
}

static int fake_svc_get(void *ctx, const struct steer_svc_key *key, struct steer_svc_value *val)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	struct fake *f = F(ctx);
	int i = fake_svc_index(f, key);

	if (i < 0)
		return -ENOENT;
	*val = f->m.svc_val[i];
	return 0;
}

static int fake_svc_put(void *ctx, const struct steer_svc_key *key,
			const struct steer_svc_value *val)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_SVC_PUT, .key = *key, .val = *val};
	int ret = fake_write(f, OP_SVC_PUT), i;

	if (ret)
		return ret;
	i = fake_svc_index(f, key);
	if (i < 0) {
		if (f->m.nsvc == STEER_MAX_SERVICES)
			return -E2BIG;
		i = f->m.nsvc++;
		f->m.svc_key[i] = *key;
	} else if (memcmp(&f->m.svc_val[i], val, sizeof(*val))) {
		hold_bank(f, &f->m.svc_val[i]);
	}
	f->m.svc_val[i] = *val;
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

static int fake_svc_del(void *ctx, const struct steer_svc_key *key)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_SVC_DEL, .key = *key};
	int ret = fake_write(f, OP_SVC_DEL), i;

	if (ret)
		return ret;
	i = fake_svc_index(f, key);
	if (i < 0)
		return -ENOENT;
	hold_bank(f, &f->m.svc_val[i]);
	op.val = f->m.svc_val[i];
	f->m.nsvc--;
	memmove(&f->m.svc_key[i], &f->m.svc_key[i + 1],
		(size_t)(f->m.nsvc - i) * sizeof(f->m.svc_key[0]));
	memmove(&f->m.svc_val[i], &f->m.svc_val[i + 1],
		(size_t)(f->m.nsvc - i) * sizeof(f->m.svc_val[0]));
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

static int fake_slot_get(void *ctx, uint32_t idx, struct steer_slot *slot)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	if (idx >= STEER_MAX_SLOT_ENTRIES)
		return -ENOENT;
	*slot = F(ctx)->m.slots[idx];
	return 0;
}

static int fake_slot_put(void *ctx, uint32_t idx, const struct steer_slot *slot)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_SLOT_PUT, .id = idx, .slot = *slot};
	int ret = fake_write(f, OP_SLOT_PUT);

	if (ret)
		return ret;
	if (idx >= STEER_MAX_SLOT_ENTRIES) {
		violate(f, "slot_put(%u) past the end of the slot map", idx);
		return -E2BIG;
	}
	if (f->m.slots[idx].replica_id != slot->replica_id &&
	    (slot_is_live(f, idx) || f->held_slot[idx]))
		violate(f, "slot_put(%u) rewrites a slot %s (replica %u -> %u)", idx,
			slot_is_live(f, idx) ? "of a live bank"
					     : "of a bank readers may still hold (no "
					       "wait_for_readers since its service left it)",
			f->m.slots[idx].replica_id, slot->replica_id);
	f->m.slots[idx] = *slot;
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

/* A slot's attributes follow the slot's rule: never rewritten while a
 * reader may see them. */
static int fake_slot_attrs_put(void *ctx, uint32_t idx, const struct steer_slot_attrs *a)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_ATTRS_PUT, .id = idx};
	int ret = fake_write(f, OP_ATTRS_PUT);

	if (ret)
		return ret;
	if (idx >= STEER_MAX_SLOT_ENTRIES) {
		violate(f, "slot_attrs_put(%u) past the end of the map", idx);
		return -E2BIG;
	}
	if (memcmp(&f->m.attrs[idx], a, sizeof(*a)) && (slot_is_live(f, idx) || f->held_slot[idx]))
		violate(f, "slot_attrs_put(%u) rewrites the attributes of a slot readers may see",
			idx);
	f->m.attrs[idx] = *a;
	fake_log(f, &op);
	return 0;
}

static int fake_slot_attrs_get(void *ctx, uint32_t idx, struct steer_slot_attrs *a)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	if (idx >= STEER_MAX_SLOT_ENTRIES)
		return -ENOENT;
	*a = F(ctx)->m.attrs[idx];
	return 0;
}

static int fake_bank_put(void *ctx, uint32_t idx, const struct steer_bank *b)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_BANK_PUT, .id = idx};
	int ret = fake_write(f, OP_BANK_PUT);

	if (ret)
		return ret;
	if (idx >= STEER_MAX_SERVICES * STEER_SLOT_BANKS) {
		violate(f, "bank_put(%u) past the end of the map", idx);
		return -E2BIG;
	}
	for (int i = 0; i < f->m.nsvc; i++)
		if (steer_bank_index(f->m.svc_val[i].svc_id, f->m.svc_val[i].bank) == idx &&
		    memcmp(&f->m.banks[idx], b, sizeof(*b)))
			violate(f, "bank_put(%u) rewrites a live bank", idx);
	f->m.banks[idx] = *b;
	fake_log(f, &op);
	return 0;
}

/* A bank's range entry follows its slots' rule. */
static int fake_range_put(void *ctx, uint32_t idx, const struct steer_slot_range *r)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_RANGE_PUT, .id = idx};
	int ret = fake_write(f, OP_RANGE_PUT);

	if (ret)
		return ret;
	if (idx >= ARRAY_SIZE(f->m.ranges)) {
		violate(f, "range_put(%u) past the end of the map", idx);
		return -E2BIG;
	}
	for (int i = 0; i < f->m.nsvc; i++)
		if (steer_bank_index(f->m.svc_val[i].svc_id, f->m.svc_val[i].bank) == idx &&
		    memcmp(&f->m.ranges[idx], r, sizeof(*r)))
			violate(f, "range_put(%u) moves the slots of a live bank", idx);
	if (f->held_range[idx] && memcmp(&f->m.ranges[idx], r, sizeof(*r)))
		violate(f, "range_put(%u) moves the slots of a bank readers may still hold", idx);
	f->m.ranges[idx] = *r;
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

static int fake_range_get(void *ctx, uint32_t idx, struct steer_slot_range *r)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	if (idx >= ARRAY_SIZE(F(ctx)->m.ranges))
		return -ENOENT;
	*r = F(ctx)->m.ranges[idx];
	return 0;
}

static int fake_bank_get(void *ctx, uint32_t idx, struct steer_bank *b)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	if (idx >= STEER_MAX_SERVICES * STEER_SLOT_BANKS)
		return -ENOENT;
	*b = F(ctx)->m.banks[idx];
	return 0;
}

static int fake_replica_get(void *ctx, uint32_t id, struct steer_replica *r)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	if (id >= STEER_MAX_REPLICAS)
		return -ENOENT;
	*r = F(ctx)->m.replicas[id];
	return 0;
}

static int fake_replica_put(void *ctx, uint32_t id, const struct steer_replica *r)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_REPLICA_PUT, .id = id, .rep = *r};
	int ret = fake_write(f, OP_REPLICA_PUT);

	if (ret)
		return ret;
	if (id >= STEER_MAX_REPLICAS) {
		violate(f, "replica_put(%u) past the end of the replica map", id);
		return -E2BIG;
	}
	if (memcmp(&f->m.replicas[id], r, sizeof(*r)) &&
	    (replica_is_live(f, id) || f->held_replica[id]))
		violate(f, "replica_put(%u) rewrites a replica %s", id,
			replica_is_live(f, id) ? "a live bank points to"
					       : "readers may still hold (no wait_for_readers "
						 "since a bank pointing to it was left)");
	f->m.replicas[id] = *r;
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

static int fake_name_put(void *ctx, uint32_t svc_id, const struct steer_svc_name *name)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_NAME_PUT, .id = svc_id};
	int ret = fake_write(f, OP_NAME_PUT);

	if (ret)
		return ret;
	if (svc_id >= STEER_MAX_SERVICES) {
		violate(f, "name_put(%u) past the end of the name map", svc_id);
		return -E2BIG;
	}
	f->m.names[svc_id] = *name;
	fake_log(f, &op);
	reader_check(f);
	return 0;
}

static int fake_svc_stats_reset(void *ctx, uint32_t svc_id)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_SVC_STATS_RESET, .id = svc_id};
	int ret = fake_write(f, OP_SVC_STATS_RESET);

	if (ret)
		return ret;
	if (svc_id >= STEER_MAX_SERVICES) {
		violate(f, "svc_stats_reset(%u) out of range", svc_id);
		return -E2BIG;
	}
	f->svc_stats_resets[svc_id]++;
	fake_log(f, &op);
	return 0;
}

static int fake_replica_stats_reset(void *ctx, uint32_t id)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_REPLICA_STATS_RESET, .id = id};
	int ret = fake_write(f, OP_REPLICA_STATS_RESET);

	if (ret)
		return ret;
	if (id >= STEER_MAX_REPLICAS) {
		violate(f, "replica_stats_reset(%u) out of range", id);
		return -E2BIG;
	}
	f->replica_stats_resets[id]++;
	fake_log(f, &op);
	return 0;
}

static int fake_wait_for_readers(void *ctx)
{
	struct fake *f = F(ctx);
	struct op op = {.kind = OP_WAIT};
	int ret = fake_write(f, OP_WAIT);

	if (ret)
		return ret;
	fake_drain_readers(f);
	fake_log(f, &op);
	return 0;
}

static int fake_backend_index(const struct fake *f, const struct steer_backend_key *key)
{
	for (int i = 0; i < f->b.n; i++)
		if (!memcmp(&f->b.key[i], key, sizeof(*key)))
			return i;
	return -1;
}

static int fake_backend_next(void *ctx, const struct steer_backend_key *prev,
			     struct steer_backend_key *next)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	struct fake *f = ctx;
	int i = prev ? fake_backend_index(f, prev) + 1 : 0;

	if (i >= f->b.n)
		return -ENOENT;
	*next = f->b.key[i];
	return 0;
}

static int fake_backend_get(void *ctx, const struct steer_backend_key *key, struct steer_backend *b)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	struct fake *f = ctx;
	int i = fake_backend_index(f, key);

	if (i < 0)
		return -ENOENT;
	*b = f->b.val[i];
	return 0;
}

static int fake_backend_put(void *ctx, const struct steer_backend_key *key,
			    const struct steer_backend *b)
{
	struct fake *f = ctx;
	int i = fake_backend_index(f, key);

	if (i < 0) {
		if (f->b.n >= STEER_MAX_REPLICAS)
			return -E2BIG;
		i = f->b.n++;
		f->b.key[i] = *key;
	}
	f->b.val[i] = *b;
	f->b.puts++;
	return 0;
}

static int fake_backend_del(void *ctx, const struct steer_backend_key *key)
{
	struct fake *f = ctx;
	int i = fake_backend_index(f, key);

	if (i < 0)
		return -ENOENT;
	f->b.key[i] = f->b.key[f->b.n - 1];
	f->b.val[i] = f->b.val[f->b.n - 1];
	f->b.n--;
	f->b.dels++;
	return 0;
}

static bool fake_is_local(void *ctx, const struct endpoint *ep)
{
	(void)ctx;
	return ep->family == STEER_FAMILY_V4 && (ntohl(ep->addr[0]) >> 24) == 127;
}

static int fake_xdp_bank_get(void *ctx, uint32_t idx, struct steer_xdp_bank *b)
{
	F(ctx)->reads++; /* every map read, for the kept-snapshot test */
	(void)ctx;
	(void)idx;
	(void)b;
	return -EOPNOTSUPP; /* no XDP path */
}

static struct map_ops fake_ops(struct fake *f)
{
	return (struct map_ops){
	    .ctx = f,
	    .svc_next = fake_svc_next,
	    .svc_get = fake_svc_get,
	    .svc_put = fake_svc_put,
	    .svc_del = fake_svc_del,
	    .range_get = fake_range_get,
	    .range_put = fake_range_put,
	    .slot_get = fake_slot_get,
	    .slot_put = fake_slot_put,
	    .replica_get = fake_replica_get,
	    .replica_put = fake_replica_put,
	    .name_put = fake_name_put,
	    .svc_stats_reset = fake_svc_stats_reset,
	    .replica_stats_reset = fake_replica_stats_reset,
	    .wait_for_readers = fake_wait_for_readers,
	    .backend_next = fake_backend_next,
	    .backend_get = fake_backend_get,
	    .backend_put = fake_backend_put,
	    .backend_del = fake_backend_del,
	    .is_local = fake_is_local,
	    .slot_attrs_get = fake_slot_attrs_get,
	    .slot_attrs_put = fake_slot_attrs_put,
	    .bank_get = fake_bank_get,
	    .bank_put = fake_bank_put,
	    .xdp_bank_get = fake_xdp_bank_get,
	};
}

/* ------------------------------------------------------------- the world */

/* struct steer_config is ~400 KiB: all of them on the heap. */
struct world {
	struct fake *f;
	struct map_ops ops;
	struct steer_config *applied; /* what the maps hold: the reader's "old" */
	struct steer_config *cfg[4];  /* scratch */
	struct reconcile_result res;
	struct reconcile_state rs;
	char err[1024];
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	w->f = calloc(1, sizeof(*w->f));
	w->applied = config_new();
	for (size_t i = 0; i < ARRAY_SIZE(w->cfg); i++)
		w->cfg[i] = config_new();
	/* The limits the tests' numbers are written for. */
	steer_limits_set(&(struct steer_limits){
	    .services = 256, .replicas_per_service = 64, .replicas = 4096, .slots = 256 * 2 * 64});
	w->ops = fake_ops(w->f);
	*state = w;
	for (size_t i = 0; i < ARRAY_SIZE(w->cfg); i++)
		if (!w->cfg[i])
			return -1;
	return w->f && w->applied ? 0 : -1;
}

static int teardown(void **state)
{
	struct world *w = *state;

	if (w->f)
		free(w->f->log);
	reconcile_state_forget(&w->rs);
	free(w->f);
	config_free(w->applied);
	for (size_t i = 0; i < ARRAY_SIZE(w->cfg); i++)
		config_free(w->cfg[i]);
	free(w);
	return 0;
}

/* Reconcile to cfg, failing the fail_at-th write (0: none). The reader may
 * see the previously applied config, cfg, or also (may be NULL). */
static int apply_ex(struct world *w, const struct steer_config *cfg, int fail_at,
		    const struct steer_config *also)
{
	struct fake *f = w->f;
	int ret;

	f->writes = 0;
	f->reads = 0;
	f->nlog = 0;
	memset(f->calls, 0, sizeof(f->calls));
	f->fail_at = fail_at;
	f->allowed[0] = w->applied;
	f->allowed[1] = cfg;
	f->allowed[2] = also;
	w->err[0] = '\0';
	ret = reconcile(&w->ops, &w->rs, cfg, &w->res, w->err, sizeof(w->err));
	f->fail_at = 0;
	if (ret == 0 && cfg != w->applied)
		assert_int_equal(config_copy(w->applied, cfg), 0);
	return ret;
}

static int apply(struct world *w, const struct steer_config *cfg)
{
	return apply_ex(w, cfg, 0, NULL);
}

static void assert_no_violation(const struct fake *f)
{
	if (f->violations)
		fail_msg("%d reader violation(s); first: %s", f->violations, f->violation);
}

/* Apply and expect success, no reader violation. */
static void apply_ok(struct world *w, const struct steer_config *cfg)
{
	int ret = apply(w, cfg);

	if (ret)
		fail_msg("reconcile: expected 0, got %d (%s)", ret, w->err);
	assert_no_violation(w->f);
}

static struct endpoint ep(const char *text)
{
	struct endpoint e;
	char err[256];

	if (endpoint_parse(text, &e, err, sizeof(err)))
		fail_msg("test endpoint '%s': %s", text, err);
	return e;
}

static void parse(struct steer_config *cfg, const char *text)
{
	char err[512];

	if (config_parse_string(text, "t.ini", cfg, err, sizeof(err)))
		fail_msg("test config: %s", err);
}

static struct svc_config *cfg_add_svc(struct steer_config *c, const char *name,
				      const struct endpoint *vip, uint8_t proto)
{
	struct svc_config *s;

	assert_true((uint32_t)c->nservices < steer_limits.services);
	s = config_add_service(c);
	assert_non_null(s);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->vip = *vip;
	s->proto = proto;
	return s;
}

static void cfg_add_rep(struct svc_config *s, struct endpoint e)
{
	assert_int_equal(svc_push_replica(s, &e, &(struct replica_opts){0}), 0);
}

static struct steer_svc_key key_of(const char *vip, uint8_t proto)
{
	struct steer_svc_key key;
	struct endpoint e = ep(vip);

	memset(&key, 0, sizeof(key));
	memcpy(key.addr, e.addr, sizeof(key.addr));
	key.port = htons(e.port);
	key.family = e.family;
	key.proto = proto;
	return key;
}

/* The service value in the fake for vip/proto; fails the test if absent. */
static struct steer_svc_value svc_of(const struct fake *f, const char *vip, uint8_t proto)
{
	struct steer_svc_key key = key_of(vip, proto);
	int i = fake_svc_index(f, &key);

	if (i < 0)
		fail_msg("service %s/%u not in the service map", vip, proto);
	return f->m.svc_val[i];
}

static bool svc_present(const struct fake *f, const char *vip, uint8_t proto)
{
	struct steer_svc_key key = key_of(vip, proto);

	return fake_svc_index(f, &key) >= 0;
}

static uint32_t slot_replica(const struct fake *f, const struct steer_svc_value *v, uint32_t s)
{
	return f->m.slots[fake_slot_index(f, v->svc_id, v->bank, s)].replica_id;
}

/* Replica id that service vip/proto's live bank holds for endpoint rep. */
static uint32_t replica_id_of(const struct fake *f, const char *vip, uint8_t proto, const char *rep)
{
	struct steer_svc_value v = svc_of(f, vip, proto);
	struct endpoint e = ep(rep);

	for (uint32_t s = 0; s < v.count; s++) {
		uint32_t id = slot_replica(f, &v, s);

		if (replica_is_endpoint(&f->m.replicas[id], &e))
			return id;
	}
	fail_msg("service %s has no replica %s", vip, rep);
	return UINT32_MAX;
}

static bool replica_is_zero(const struct fake *f, uint32_t id)
{
	const struct steer_replica zero = {0};

	return !memcmp(&f->m.replicas[id], &zero, sizeof(zero));
}

/* The maps hold exactly cfg: one entry per service, each live bank in config
 * order pointing to ACTIVE replicas of its own, names written, ids distinct. */
static void assert_maps_hold(const struct fake *f, const struct steer_config *cfg)
{
	static bool svc_seen[STEER_MAX_SERVICES], rep_seen[STEER_MAX_REPLICAS];
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	memset(svc_seen, 0, sizeof(svc_seen));
	memset(rep_seen, 0, sizeof(rep_seen));
	if (f->m.nsvc != cfg->nservices)
		fail_msg("service map holds %d services, config has %d", f->m.nsvc, cfg->nservices);
	for (int i = 0; i < cfg->nservices; i++) {
		const struct svc_config *sc = &cfg->services[i];
		struct steer_svc_key key;
		const struct steer_svc_value *v;
		int at;

		memset(&key, 0, sizeof(key));
		memcpy(key.addr, sc->vip.addr, sizeof(key.addr));
		key.port = htons(sc->vip.port);
		key.family = sc->vip.family;
		key.proto = sc->proto;
		at = fake_svc_index(f, &key);
		if (at < 0)
			fail_msg("service '%s' missing from the service map", sc->name);
		v = &f->m.svc_val[at];
		if (svc_seen[v->svc_id])
			fail_msg("service '%s': svc id %u used twice", sc->name, v->svc_id);
		svc_seen[v->svc_id] = true;
		if (v->count != sc->nreplicas)
			fail_msg("service '%s': count %u, config has %d replicas", sc->name,
				 v->count, sc->nreplicas);
		assert_int_equal(v->flags, 0);
		assert_string_equal(f->m.names[v->svc_id].name, sc->name);
		for (int r = 0; r < sc->nreplicas; r++) {
			uint32_t id = slot_replica(f, v, (uint32_t)r);
			const struct steer_replica *rep = &f->m.replicas[id];
			struct endpoint have = {.family = rep->family, .port = ntohs(rep->port)};

			memcpy(have.addr, rep->addr, sizeof(have.addr));
			if (!replica_is_endpoint(rep, &sc->replicas[r]))
				fail_msg("service '%s' slot %d: replica %u is %s, want %s",
					 sc->name, r, id, endpoint_format(&have, a, sizeof(a)),
					 endpoint_format(&sc->replicas[r], b, sizeof(b)));
			assert_int_not_equal(rep->state, STEER_REPLICA_UNUSED);
			assert_int_equal(rep->svc_id, v->svc_id);
			if (rep_seen[id])
				fail_msg("service '%s' slot %d: replica id %u used twice", sc->name,
					 r, id);
			rep_seen[id] = true;
		}
	}
}

/* ACTIVE replicas no live bank points to. */
static int count_orphans(const struct fake *f)
{
	int n = 0;

	for (uint32_t id = 0; id < STEER_MAX_REPLICAS; id++)
		n += f->m.replicas[id].state != STEER_REPLICA_UNUSED && !replica_is_live(f, id);
	return n;
}

/* Index of the first logged op of kind (and id, unless any) at or after from;
 * -1 if none. */
static int log_find(const struct fake *f, int from, enum op_kind kind, bool any, uint32_t id)
{
	for (int i = from < 0 ? 0 : from; i < f->nlog; i++)
		if (f->log[i].kind == kind && (any || f->log[i].id == id))
			return i;
	return -1;
}

static int log_find_svc_put(const struct fake *f, const struct steer_svc_key *key)
{
	for (int i = 0; i < f->nlog; i++)
		if (f->log[i].kind == OP_SVC_PUT && !memcmp(&f->log[i].key, key, sizeof(*key)))
			return i;
	return -1;
}

/* Writes the datapath reads: everything except names and counters. */
static int datapath_writes(const struct fake *f)
{
	return f->calls[OP_SVC_PUT] + f->calls[OP_SVC_DEL] + f->calls[OP_SLOT_PUT] +
	       f->calls[OP_REPLICA_PUT] + f->calls[OP_WAIT] + f->calls[OP_ATTRS_PUT] +
	       f->calls[OP_BANK_PUT];
}

static void print_calls(const struct fake *f)
{
	for (int k = 0; k < OP_KINDS; k++)
		if (f->calls[k])
			print_message("    %s x%d\n", op_names[k], f->calls[k]);
}

/* --------------------------------------------------------------- configs */

static const char cfg_three[] = "[service web]\n"
				"vip = 10.96.0.1:80\n"
				"replica = 10.0.0.1:8080\n"
				"replica = 10.0.0.2:8080\n"
				"replica = 10.0.0.3:8080\n"
				"[service dns6]\n"
				"protocol = udp\n"
				"vip = [fd00::53]:53\n"
				"health = none\n" /* port 53 would be checked with dns . */
				"replica = [fd00::1]:5353\n"
				"replica = [fd00::2]:5353\n"
				"[service empty]\n"
				"protocol = udp\n"
				"vip = 10.96.0.1:80\n";

/* ----------------------------------------------------------------- tests */

static void
test_reconcile_first_apply_adds_services_in_bank_0_with_active_replicas_and_names(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_svc_value web, dns, empty;

	parse(w->cfg[0], cfg_three);
	apply_ok(w, w->cfg[0]);
	assert_maps_hold(f, w->cfg[0]);

	assert_int_equal(w->res.added, 3);
	assert_int_equal(w->res.changed, 0);
	assert_int_equal(w->res.removed, 0);
	assert_int_equal(w->res.unchanged, 0);
	assert_int_equal(w->res.replicas_added, 5);
	assert_int_equal(w->res.replicas_retired, 0);

	web = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
	dns = svc_of(f, "[fd00::53]:53", IPPROTO_UDP);
	empty = svc_of(f, "10.96.0.1:80", IPPROTO_UDP);
	assert_int_equal(web.bank, 0);
	assert_int_equal(dns.bank, 0);
	assert_int_equal(empty.bank, 0);
	assert_int_equal(web.count, 3);
	assert_int_equal(dns.count, 2);
	assert_int_equal(empty.count, 0);
	for (uint32_t s = 0; s < web.count; s++) {
		const struct steer_replica *r = &f->m.replicas[slot_replica(f, &web, s)];

		/* a TCP service is checked: never seen healthy, no traffic yet */
		assert_int_equal(r->state, STEER_REPLICA_UNKNOWN);
		assert_int_equal(r->svc_id, web.svc_id);
		assert_int_equal(r->family, STEER_FAMILY_V4);
	}
	for (uint32_t s = 0; s < dns.count; s++) {
		const struct steer_replica *r = &f->m.replicas[slot_replica(f, &dns, s)];

		assert_int_equal(r->state, STEER_REPLICA_UP);
		assert_int_equal(r->svc_id, dns.svc_id);
		assert_int_equal(r->family, STEER_FAMILY_V6);
	}
	assert_string_equal(f->m.names[web.svc_id].name, "web");
	assert_string_equal(f->m.names[dns.svc_id].name, "dns6");
	assert_string_equal(f->m.names[empty.svc_id].name, "empty");
	assert_int_equal(count_orphans(f), 0);
}

static const char *const unchanged_cases[] = {
    cfg_three,
    "",
    "[service one]\nvip = 10.96.0.9:80\nreplica = 10.0.0.1:80\n",
    "[service v6]\nvip = [fd00::1]:443\nreplica = [fd00::2]:443\nreplica = [fd00::3]:443\n"
    "[service none]\nvip = [fd00::1]:444\n",
};

static void test_reconcile_same_config_again_writes_nothing_the_datapath_reads(void **state)
{
	struct world *w = *state;
	struct fake_maps *before = malloc(sizeof(*before));

	assert_non_null(before);
	for (size_t i = 0; i < ARRAY_SIZE(unchanged_cases); i++) {
		memset(&w->f->m, 0, sizeof(w->f->m));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		memset(&w->f->b, 0, sizeof(w->f->b));
		config_clear(w->applied);
		parse(w->cfg[0], unchanged_cases[i]);
		apply_ok(w, w->cfg[0]);
		memcpy(before, &w->f->m, sizeof(*before));

		/* parsed again, as a restart or SIGHUP would */
		parse(w->cfg[1], unchanged_cases[i]);
		apply_ok(w, w->cfg[1]);
		if (datapath_writes(w->f) || w->f->calls[OP_SVC_STATS_RESET] ||
		    w->f->calls[OP_REPLICA_STATS_RESET]) {
			print_message("case %zu wrote:\n", i);
			print_calls(w->f);
			fail_msg("case %zu: re-applying the same config wrote to the maps", i);
		}
		assert_memory_equal(before, &w->f->m, sizeof(*before));
		assert_int_equal(w->res.unchanged, w->cfg[0]->nservices);
		assert_int_equal(w->res.added, 0);
		assert_int_equal(w->res.changed, 0);
		assert_int_equal(w->res.removed, 0);
		assert_int_equal(w->res.replicas_added, 0);
		assert_int_equal(w->res.replicas_retired, 0);
	}
	free(before);
}

#define MAXR 6

/* Replica lists of service "web" before and after; "other" stays as is. */
static const struct {
	const char *what;
	const char *before[MAXR], *after[MAXR];
} change_cases[] = {
    {"one replaced",
     {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"},
     {"10.0.0.1:80", "10.0.0.3:80", "10.0.0.4:80"}},
    {"one removed", {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, {"10.0.0.1:80", "10.0.0.3:80"}},
    {"one added", {"10.0.0.1:80", "10.0.0.2:80"}, {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.5:80"}},
    {"reordered", {"10.0.0.1:80", "10.0.0.2:80"}, {"10.0.0.2:80", "10.0.0.1:80"}},
    {"port changed", {"10.0.0.1:80"}, {"10.0.0.1:81"}},
    {"all replaced", {"10.0.0.1:80", "10.0.0.2:80"}, {"10.0.0.7:80", "10.0.0.8:80"}},
    {"emptied", {"10.0.0.1:80", "10.0.0.2:80"}, {NULL}},
    {"filled", {NULL}, {"10.0.0.1:80", "10.0.0.2:80"}},
};

static void build_change_cfg(struct steer_config *c, const char *const reps[MAXR])
{
	struct endpoint web = ep("10.96.0.1:80"), other = ep("10.96.0.2:80");
	struct svc_config *s;

	config_clear(c);
	s = cfg_add_svc(c, "other", &other, IPPROTO_TCP);
	cfg_add_rep(s, ep("10.0.1.1:80"));
	s = cfg_add_svc(c, "web", &web, IPPROTO_TCP);
	for (int r = 0; r < MAXR && reps[r]; r++)
		cfg_add_rep(s, ep(reps[r]));
}

static bool in_list(const char *const list[MAXR], const char *s)
{
	for (int r = 0; r < MAXR && list[r]; r++)
		if (!strcmp(list[r], s))
			return true;
	return false;
}

static void test_reconcile_changed_replicas_fill_other_bank_flip_then_wait_then_retire(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_svc_key web_key = key_of("10.96.0.1:80", IPPROTO_TCP);

	for (size_t c = 0; c < ARRAY_SIZE(change_cases); c++) {
		const char *const *before = change_cases[c].before;
		const char *const *after = change_cases[c].after;
		uint32_t old_id[MAXR], new_id[MAXR], other_id;
		struct steer_svc_value old, now;
		int p_put, p_wait, nbefore = 0, nafter = 0, retired = 0, added = 0;

		print_message("  case: %s\n", change_cases[c].what);
		memset(&f->m, 0, sizeof(f->m));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		config_clear(w->applied);
		build_change_cfg(w->cfg[0], before);
		build_change_cfg(w->cfg[1], after);
		apply_ok(w, w->cfg[0]);
		old = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
		other_id = replica_id_of(f, "10.96.0.2:80", IPPROTO_TCP, "10.0.1.1:80");
		for (; nbefore < MAXR && before[nbefore]; nbefore++)
			old_id[nbefore] =
			    replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, before[nbefore]);

		apply_ok(w, w->cfg[1]);
		assert_maps_hold(f, w->cfg[1]);
		now = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
		assert_int_equal(now.svc_id, old.svc_id);
		assert_int_equal(now.bank, !old.bank);
		assert_int_equal(w->res.changed, 1);
		assert_int_equal(w->res.unchanged, 1);
		assert_int_equal(replica_id_of(f, "10.96.0.2:80", IPPROTO_TCP, "10.0.1.1:80"),
				 other_id);

		/* kept replicas keep their ids; new ones get ids not in the old set */
		for (; nafter < MAXR && after[nafter]; nafter++) {
			new_id[nafter] =
			    replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, after[nafter]);
			for (int b = 0; b < nbefore; b++) {
				if (!strcmp(before[b], after[nafter]))
					assert_int_equal(new_id[nafter], old_id[b]);
				else
					assert_int_not_equal(new_id[nafter], old_id[b]);
			}
		}

		/* the new bank is complete, and new replicas written, before the flip */
		p_put = log_find_svc_put(f, &web_key);
		assert_true(p_put >= 0);
		assert_int_equal(f->calls[OP_SVC_PUT], 1);
		for (int r = 0; r < nafter; r++) {
			uint32_t idx = fake_slot_index(f, now.svc_id, now.bank, (uint32_t)r);
			int p_slot = -1;

			for (int i = 0; i < f->nlog; i++)
				if (f->log[i].kind == OP_SLOT_PUT && f->log[i].id == idx)
					p_slot = i;
			if (p_slot < 0 || p_slot > p_put ||
			    f->log[p_slot].slot.replica_id != new_id[r])
				fail_msg("%s: slot %d not written with replica %u before the flip "
					 "(slot_put at %d, svc_put at %d)",
					 change_cases[c].what, r, new_id[r], p_slot, p_put);
			if (!in_list(before, after[r])) {
				int p_rep = log_find(f, 0, OP_REPLICA_PUT, false, new_id[r]);

				assert_true(p_rep >= 0 && p_rep < p_put);
				assert_int_not_equal(f->log[p_rep].rep.state, STEER_REPLICA_UNUSED);
				added++;
			}
		}
		assert_int_equal(w->res.replicas_added, added);

		/* removed replicas are zeroed only after the flip and the wait */
		p_wait = log_find(f, 0, OP_WAIT, true, 0);
		for (int b = 0; b < nbefore; b++) {
			int p_zero;

			if (in_list(after, before[b])) {
				assert_int_equal(log_find(f, 0, OP_REPLICA_PUT, false, old_id[b]),
						 -1);
				continue;
			}
			retired++;
			p_zero = log_find(f, 0, OP_REPLICA_PUT, false, old_id[b]);
			if (p_wait < 0 || p_wait < p_put || p_zero < p_wait)
				fail_msg("%s: replica %u zeroed at op %d; flip at %d, wait at %d",
					 change_cases[c].what, old_id[b], p_zero, p_put, p_wait);
			assert_true(replica_is_zero(f, old_id[b]));
			assert_int_equal(f->m.replicas[old_id[b]].state, STEER_REPLICA_UNUSED);
		}
		assert_int_equal(w->res.replicas_retired, retired);
		assert_int_equal(f->calls[OP_WAIT], 1);
		assert_int_equal(count_orphans(f), 0);
	}
}

/* ---- the invariant under random config sequences ---- */

static uint32_t rng_state;

static uint32_t rng(void)
{
	/* xorshift32: reproducible from the seed, whatever libc's rand() is */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const struct {
	const char *name, *vip;
	uint8_t proto;
} svc_pool[] = {
    {"web4", "10.96.0.1:80", IPPROTO_TCP},  {"dns4", "10.96.0.1:80", IPPROTO_UDP},
    {"web6", "[fd00::1]:80", IPPROTO_TCP},  {"api4", "10.96.0.2:443", IPPROTO_TCP},
    {"dns6", "[fd00::53]:53", IPPROTO_UDP},
};

#define POOL 12

/* Replica j of the pool of family v6 (endpoints shared by services on purpose). */
static struct endpoint pool_replica(bool v6, int j)
{
	char text[64];

	if (v6)
		snprintf(text, sizeof(text), "[fd00:1::%d]:%d", 1 + j % 6, 8080 + j / 6);
	else
		snprintf(text, sizeof(text), "10.0.0.%d:%d", 1 + j % 6, 8080 + j / 6);
	return ep(text);
}

static void random_config(struct steer_config *c, const struct steer_config *prev)
{
	int order[ARRAY_SIZE(svc_pool)];
	uint32_t roll = rng() % 8;

	if (roll == 0) { /* the same again */
		assert_int_equal(config_copy(c, prev), 0);
		return;
	}
	config_clear(c);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		order[i] = (int)i;
	for (size_t i = ARRAY_SIZE(order) - 1; i > 0; i--) {
		size_t j = rng() % (i + 1);
		int t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		struct endpoint vip = ep(svc_pool[order[i]].vip);
		bool v6 = vip.family == STEER_FAMILY_V6;
		int pick[POOL], n = (int)(rng() % 9);
		struct svc_config *s;

		if (rng() % 4 == 0)
			continue; /* service absent this time */
		s = cfg_add_svc(c, svc_pool[order[i]].name, &vip, svc_pool[order[i]].proto);
		for (int j = 0; j < POOL; j++)
			pick[j] = j;
		for (int j = 0; j < n; j++) { /* n distinct, random order */
			int k = j + (int)(rng() % (uint32_t)(POOL - j)), t = pick[j];

			pick[j] = pick[k];
			pick[k] = t;
			cfg_add_rep(s, pool_replica(v6, pick[j]));
		}
	}
}

static void
test_reconcile_reader_invariant_holds_after_every_write_over_200_random_configs(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_config *cfg = w->cfg[0];
	int flips = 0, retired = 0, removed = 0, same = 0;

	rng_state = 0x5eed1234;
	for (int step = 0; step < 200; step++) {
		int ret;

		random_config(cfg, w->applied);
		ret = apply(w, cfg);
		if (ret)
			fail_msg("step %d: reconcile returned %d (%s)", step, ret, w->err);
		if (f->violations)
			fail_msg("step %d: %s", step, f->violation);
		assert_maps_hold(f, cfg);
		if (count_orphans(f))
			fail_msg("step %d: %d ACTIVE replicas no service points to", step,
				 count_orphans(f));
		if (w->res.unchanged == cfg->nservices && !w->res.removed) {
			same++;
			if (datapath_writes(f))
				fail_msg("step %d: nothing changed but %d datapath writes", step,
					 datapath_writes(f));
		}
		flips += w->res.changed + w->res.added;
		retired += w->res.replicas_retired;
		removed += w->res.removed;
	}
	/* the sequence exercised what it is meant to */
	assert_true(flips > 200);
	assert_true(retired > 100);
	assert_true(removed > 20);
	assert_true(same > 10);
}

/* The same, with a write failing now and then (retried once readers drained):
 * every state a reader can see stays a complete bank. */
static void test_reconcile_reader_invariant_holds_with_random_failed_writes(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_config *cfg = w->cfg[0];
	int failed = 0;

	rng_state = 0xfa11ed;
	for (int step = 0; step < 200; step++) {
		int fail_at = rng() % 2 ? 1 + (int)(rng() % 40) : 0, ret;

		random_config(cfg, w->applied);
		ret = apply_ex(w, cfg, fail_at, NULL);
		if (f->violations)
			fail_msg("step %d (write %d fails): %s", step, fail_at, f->violation);
		if (ret) {
			if (ret != -EIO || !w->err[0])
				fail_msg("step %d: expected -EIO with a message, got %d '%s'", step,
					 ret, w->err);
			failed++;
			fake_drain_readers(f);
			ret = apply(w, cfg);
			if (ret || f->violations)
				fail_msg("step %d: retry returned %d (%s); %s", step, ret, w->err,
					 f->violation);
		}
		assert_maps_hold(f, cfg);
	}
	assert_true(failed > 30);
}

static void test_reconcile_removed_service_is_deleted_and_its_replicas_retired(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_svc_key web_key = key_of("10.96.0.1:80", IPPROTO_TCP);
	uint32_t web_svc, web_r1, web_r2, api_r;
	int p_del, p_wait;

	parse(w->cfg[0], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.0.3:80\n");
	/* web goes; db, new, comes in the same reconcile */
	parse(w->cfg[1], "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.0.3:80\n"
			 "[service db]\nvip = 10.96.0.3:5432\nreplica = 10.0.0.4:5432\n");
	apply_ok(w, w->cfg[0]);
	web_svc = svc_of(f, "10.96.0.1:80", IPPROTO_TCP).svc_id;
	web_r1 = replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.1:80");
	web_r2 = replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.2:80");
	api_r = replica_id_of(f, "10.96.0.2:80", IPPROTO_TCP, "10.0.0.3:80");

	apply_ok(w, w->cfg[1]);
	assert_maps_hold(f, w->cfg[1]);
	assert_false(svc_present(f, "10.96.0.1:80", IPPROTO_TCP));
	assert_int_equal(w->res.removed, 1);
	assert_int_equal(w->res.added, 1);
	assert_int_equal(w->res.unchanged, 1);
	assert_int_equal(w->res.replicas_retired, 2);
	assert_true(replica_is_zero(f, web_r1));
	assert_true(replica_is_zero(f, web_r2));
	assert_int_equal(replica_id_of(f, "10.96.0.2:80", IPPROTO_TCP, "10.0.0.3:80"), api_r);
	/* readers may still hold web's bank: its id must not go to db yet */
	assert_int_not_equal(svc_of(f, "10.96.0.3:5432", IPPROTO_TCP).svc_id, web_svc);

	p_del = -1;
	for (int i = 0; i < f->nlog; i++)
		if (f->log[i].kind == OP_SVC_DEL &&
		    !memcmp(&f->log[i].key, &web_key, sizeof(web_key)))
			p_del = i;
	p_wait = log_find(f, 0, OP_WAIT, true, 0);
	assert_true(p_del >= 0);
	assert_true(p_wait > p_del);
	assert_true(log_find(f, 0, OP_REPLICA_PUT, false, web_r1) > p_wait);
	assert_true(log_find(f, 0, OP_REPLICA_PUT, false, web_r2) > p_wait);
	assert_int_equal(count_orphans(f), 0);
}

/* Within one reconcile, the id of a replica leaving is still held by readers
 * of the old bank, so a replica joining must get another one. */
static void test_reconcile_replaced_replica_gets_a_fresh_id(void **state)
{
	static const struct {
		const char *before, *after, *gone, *joined;
	} cases[] = {
	    {"replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\nreplica = 10.0.0.3:80\n",
	     "replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\nreplica = 10.0.0.4:80\n", "10.0.0.3:80",
	     "10.0.0.4:80"},
	    {"replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n",
	     "replica = 10.0.0.9:80\nreplica = 10.0.0.2:80\n", "10.0.0.1:80", "10.0.0.9:80"},
	};
	struct world *w = *state;

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		char text[512];
		uint32_t gone, joined;

		memset(&w->f->m, 0, sizeof(w->f->m));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		memset(&w->f->b, 0, sizeof(w->f->b));
		config_clear(w->applied);
		snprintf(text, sizeof(text), "[service web]\nvip = 10.96.0.1:80\n%s",
			 cases[c].before);
		parse(w->cfg[0], text);
		snprintf(text, sizeof(text), "[service web]\nvip = 10.96.0.1:80\n%s",
			 cases[c].after);
		parse(w->cfg[1], text);
		apply_ok(w, w->cfg[0]);
		gone = replica_id_of(w->f, "10.96.0.1:80", IPPROTO_TCP, cases[c].gone);
		apply_ok(w, w->cfg[1]);
		joined = replica_id_of(w->f, "10.96.0.1:80", IPPROTO_TCP, cases[c].joined);
		assert_int_not_equal(joined, gone);
	}
}

/* reconcile.c keeps a round-robin cursor so that "ids are not reused soon"
 * (struct snapshot), but rebuilds it from the highest live id on every call.
 * A replica retired by one reconcile and a replica added by the next must not
 * share an id: anything keyed by replica id (status, bpftool dumps, a stats
 * scraper) would see one replica's counter drop to zero and carry on as
 * another endpoint. */
static void test_reconcile_retired_replica_id_is_not_reused_by_the_next_reconcile(void **state)
{
	static const struct {
		const char *what, *a, *b, *c; /* configs applied in turn */
		const char *gone_vip, *gone, *joined_vip, *joined;
	} cases[] = {
	    {"replica removed, then another added",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\nreplica = "
	     "10.0.0.2:80\nreplica = 10.0.0.3:80\n",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\nreplica = "
	     "10.0.0.2:80\nreplica = 10.0.0.4:80\n",
	     "10.96.0.1:80", "10.0.0.3:80", "10.96.0.1:80", "10.0.0.4:80"},
	    {"service removed, then another added",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\n"
	     "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.0.2:80\n",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\n",
	     "[service web]\nvip = 10.96.0.1:80\nreplica = 10.0.0.1:80\n"
	     "[service db]\nvip = 10.96.0.3:80\nreplica = 10.0.0.3:80\n",
	     "10.96.0.2:80", "10.0.0.2:80", "10.96.0.3:80", "10.0.0.3:80"},
	};
	struct world *w = *state;
	int bad = 0;

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		uint32_t gone, joined;

		memset(&w->f->m, 0, sizeof(w->f->m));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		memset(&w->f->b, 0, sizeof(w->f->b));
		config_clear(w->applied);
		parse(w->cfg[0], cases[c].a);
		parse(w->cfg[1], cases[c].b);
		parse(w->cfg[2], cases[c].c);
		apply_ok(w, w->cfg[0]);
		gone = replica_id_of(w->f, cases[c].gone_vip, IPPROTO_TCP, cases[c].gone);
		apply_ok(w, w->cfg[1]);
		assert_true(replica_is_zero(w->f, gone));
		apply_ok(w, w->cfg[2]);
		joined = replica_id_of(w->f, cases[c].joined_vip, IPPROTO_TCP, cases[c].joined);
		if (joined == gone) {
			print_error("%s: %s got id %u, retired from %s by the previous reconcile\n",
				    cases[c].what, cases[c].joined, joined, cases[c].gone);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Services s in [first, first + n), each with nrep replicas from set. */
static void cfg_grid(struct steer_config *c, int first, int n, int nrep, int set)
{
	for (int i = first; i < first + n; i++) {
		struct endpoint vip;
		struct svc_config *s;
		char name[32];

		memset(&vip, 0, sizeof(vip));
		vip.family = STEER_FAMILY_V4;
		vip.addr[0] = htonl(0x0a600000u | (uint32_t)i); /* 10.96.x.y */
		vip.port = 80;
		snprintf(name, sizeof(name), "s%d", i);
		s = cfg_add_svc(c, name, &vip, IPPROTO_TCP);
		for (int r = 0; r < nrep; r++) {
			struct endpoint rep_ep, *e = &rep_ep;

			memset(e, 0, sizeof(*e));
			e->family = STEER_FAMILY_V4;
			e->addr[0] = htonl(0x0a000000u | (uint32_t)set << 16 | (uint32_t)i << 8 |
					   (uint32_t)r);
			e->port = 8080;
			cfg_add_rep(s, rep_ep);
		}
	}
}

static void
test_reconcile_refuses_config_needing_more_replica_ids_than_free_before_any_write(void **state)
{
	/* The maps hold services s0.. with replicas from set 1 (the last one
	 * held_last replicas); the config keeps the first keep_svcs of them, then
	 * has new_svcs services s(keep_svcs).. with new_reps replicas from set 2,
	 * then one more with extra_reps (if any). Replicas leaving keep their ids
	 * until the reconcile is over, so they do not count as free. */
	static const struct {
		const char *what;
		int held_svcs, held_last, keep_svcs, new_svcs, new_reps, extra_reps;
		int expect;
	} cases[] = {
	    {"empty maps, 65 x 64 replicas", 0, 0, 0, 65, 64, 0, -ENOSPC},
	    {"empty maps, 64 x 64 + 1 replicas", 0, 0, 0, 64, 64, 1, -ENOSPC},
	    {"empty maps, exactly STEER_MAX_REPLICAS", 0, 0, 0, 64, 64, 0, 0},
	    {"4000 held (96 free), 97 new", 63, 32, 62, 1, 64, 33, -ENOSPC},
	    {"4000 held (96 free), 96 new", 63, 32, 62, 1, 64, 32, 0},
	    {"4032 held (64 free), 64 replaced", 63, 64, 62, 1, 64, 0, 0},
	    {"4032 held (64 free), 64 replaced + 1", 63, 64, 62, 1, 64, 1, -ENOSPC},
	};
	struct world *w = *state;
	struct fake_maps *before = malloc(sizeof(*before));

	assert_non_null(before);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct steer_config *held = w->cfg[0], *want = w->cfg[1];
		int n, ret;

		print_message("  case: %s\n", cases[c].what);
		memset(&w->f->m, 0, sizeof(w->f->m));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		memset(&w->f->b, 0, sizeof(w->f->b));
		config_clear(w->applied);
		config_clear(held);
		config_clear(want);
		n = cases[c].held_svcs;
		cfg_grid(held, 0, n > 0 ? n - 1 : 0, 64, 1);
		cfg_grid(held, n - 1, n > 0, cases[c].held_last, 1);
		apply_ok(w, held);
		memcpy(before, &w->f->m, sizeof(*before));

		n = cases[c].keep_svcs + cases[c].new_svcs;
		cfg_grid(want, 0, cases[c].keep_svcs, 64, 1);
		cfg_grid(want, cases[c].keep_svcs, cases[c].new_svcs, cases[c].new_reps, 2);
		cfg_grid(want, n, cases[c].extra_reps > 0, cases[c].extra_reps, 2);
		ret = apply(w, want);
		assert_no_violation(w->f);
		if (ret != cases[c].expect)
			fail_msg("%s: expected %d, got %d (%s)", cases[c].what, cases[c].expect,
				 ret, w->err);
		if (ret == 0) {
			assert_maps_hold(w->f, want);
			continue;
		}
		if (!strstr(w->err, "STEER_MAX_REPLICAS"))
			fail_msg("%s: error does not name STEER_MAX_REPLICAS: '%s'", cases[c].what,
				 w->err);
		if (w->f->writes) {
			print_calls(w->f);
			fail_msg("%s: %d writes before refusing", cases[c].what, w->f->writes);
		}
		assert_memory_equal(before, &w->f->m, sizeof(*before));
	}
	free(before);
}

/* A replica value as the ABI defines it, written without agent/keys.c. */
static struct steer_replica active_replica(const char *text, uint32_t svc_id)
{
	struct endpoint e = ep(text);
	struct steer_replica r;

	memset(&r, 0, sizeof(r));
	memcpy(r.addr, e.addr, sizeof(r.addr));
	r.port = htons(e.port);
	r.family = e.family;
	r.state = STEER_REPLICA_UP;
	r.svc_id = svc_id;
	return r;
}

/* What an earlier agent left pinned: web (svc id 7, bank 1 live) and dns
 * (svc id 3, bank 0), with replica ids no fresh start would pick. */
static void populate_pinned(struct fake *f)
{
	struct steer_svc_value web = {.svc_id = 7, .count = 2, .bank = 1};
	struct steer_svc_value dns = {.svc_id = 3, .count = 1, .bank = 0};

	memset(&f->m, 0, sizeof(f->m));
	/* each bank its own range, as an earlier agent would have left them */
	for (uint32_t b = 0; b < STEER_SLOT_BANKS; b++) {
		f->m.ranges[steer_bank_index(7, b)] =
		    (struct steer_slot_range){.base = 64 * (1 + b), .cap = 2};
		f->m.ranges[steer_bank_index(3, b)] =
		    (struct steer_slot_range){.base = 64 * (3 + b), .cap = 1};
	}
	f->m.svc_key[0] = key_of("10.96.0.1:80", IPPROTO_TCP);
	f->m.svc_val[0] = web;
	f->m.svc_key[1] = key_of("10.96.0.53:53", IPPROTO_UDP);
	f->m.svc_val[1] = dns;
	f->m.nsvc = 2;
	/* stale ids in the idle bank: must be ignored */
	f->m.slots[fake_slot_index(f, 7, 0, 0)].replica_id = 9;
	f->m.slots[fake_slot_index(f, 7, 1, 0)].replica_id = 100;
	f->m.slots[fake_slot_index(f, 7, 1, 1)].replica_id = 205;
	f->m.slots[fake_slot_index(f, 3, 0, 0)].replica_id = 42;
	f->m.replicas[100] = active_replica("10.0.0.1:8080", 7);
	f->m.replicas[205] = active_replica("10.0.0.2:8080", 7);
	f->m.replicas[42] = active_replica("10.0.0.53:5353", 3);
	snprintf(f->m.names[7].name, sizeof(f->m.names[7].name), "web");
	snprintf(f->m.names[3].name, sizeof(f->m.names[3].name), "dns");
}

static const char pinned_cfg[] = "[service web]\nvip = 10.96.0.1:80\n"
				 "replica = 10.0.0.1:8080\nreplica = 10.0.0.2:8080\n"
				 "[service dns]\nprotocol = udp\nvip = 10.96.0.53:53\n"
				 "replica = 10.0.0.53:5353\n";

static void test_reconcile_adopts_pinned_maps_after_restart(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_svc_value web, dns;
	uint32_t joined;

	populate_pinned(f);
	reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
	parse(w->cfg[0], pinned_cfg);
	parse(w->applied, pinned_cfg); /* what the earlier agent applied */

	/* a fresh agent with the same config: nothing to do */
	apply_ok(w, w->cfg[0]);
	if (datapath_writes(f)) {
		print_calls(f);
		fail_msg("adopting matching pinned maps wrote to them");
	}
	assert_int_equal(w->res.unchanged, 2);
	assert_int_equal(svc_of(f, "10.96.0.1:80", IPPROTO_TCP).svc_id, 7);
	assert_int_equal(svc_of(f, "10.96.0.53:53", IPPROTO_UDP).svc_id, 3);

	/* then a change: ids and banks carry on from what was pinned */
	parse(w->cfg[1], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:8080\nreplica = 10.0.0.2:8080\n"
			 "replica = 10.0.0.3:8080\n"
			 "[service dns]\nprotocol = udp\nvip = 10.96.0.53:53\n"
			 "replica = 10.0.0.53:5353\n"
			 "[service new]\nvip = 10.96.0.9:80\nreplica = 10.0.0.9:80\n");
	apply_ok(w, w->cfg[1]);
	assert_maps_hold(f, w->cfg[1]);
	web = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
	dns = svc_of(f, "10.96.0.53:53", IPPROTO_UDP);
	assert_int_equal(web.svc_id, 7);
	assert_int_equal(web.bank, 0);
	assert_int_equal(dns.svc_id, 3);
	assert_int_equal(dns.bank, 0);
	assert_int_equal(replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.1:8080"), 100);
	assert_int_equal(replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.2:8080"), 205);
	assert_int_equal(replica_id_of(f, "10.96.0.53:53", IPPROTO_UDP, "10.0.0.53:5353"), 42);
	joined = replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.3:8080");
	assert_true(joined != 100 && joined != 205 && joined != 42);
	assert_int_not_equal(svc_of(f, "10.96.0.9:80", IPPROTO_TCP).svc_id, 7);
	assert_int_not_equal(svc_of(f, "10.96.0.9:80", IPPROTO_TCP).svc_id, 3);
	assert_int_equal(w->res.changed, 1);
	assert_int_equal(w->res.added, 1);
	assert_int_equal(w->res.unchanged, 1);

	/* and a restart after that one adopts the maps it left */
	apply_ok(w, w->cfg[1]);
	assert_int_equal(datapath_writes(f), 0);
	assert_int_equal(w->res.unchanged, 3);
}

static void test_reconcile_refuses_corrupt_pinned_service_without_writing(void **state)
{
	static const struct {
		const char *what;
		struct steer_svc_value val; /* of web */
		uint32_t slot0;		    /* replica id in web's slot 0 */
	} cases[] = {
	    {"count > STEER_MAX_SLOTS",
	     {.svc_id = 7, .count = STEER_MAX_SLOTS + 1, .bank = 1},
	     100},
	    {"count = 0xffff", {.svc_id = 7, .count = 0xffff, .bank = 1}, 100},
	    {"bank 2", {.svc_id = 7, .count = 2, .bank = 2}, 100},
	    {"svc id = STEER_MAX_SERVICES",
	     {.svc_id = STEER_MAX_SERVICES, .count = 2, .bank = 1},
	     100},
	    {"slot points past STEER_MAX_REPLICAS",
	     {.svc_id = 7, .count = 2, .bank = 1},
	     STEER_MAX_REPLICAS},
	};
	struct world *w = *state;
	struct fake_maps *before = malloc(sizeof(*before));

	assert_non_null(before);
	parse(w->cfg[0], pinned_cfg);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		int ret;

		populate_pinned(w->f);
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		w->f->m.svc_val[0] = cases[c].val;
		w->f->m.slots[fake_slot_index(w->f, 7, 1, 0)].replica_id = cases[c].slot0;
		memcpy(before, &w->f->m, sizeof(*before));
		parse(w->applied, pinned_cfg);

		ret = apply(w, w->cfg[0]);
		if (ret >= 0 || !w->err[0])
			fail_msg("%s: expected a negative errno and a message, got %d '%s'",
				 cases[c].what, ret, w->err);
		if (w->f->writes) {
			print_calls(w->f);
			fail_msg("%s: %d writes before refusing", cases[c].what, w->f->writes);
		}
		assert_memory_equal(before, &w->f->m, sizeof(*before));
	}
	free(before);
}

/* cfg_fail_* : a change touching every path (change, add, remove, keep). */
static const char cfg_fail_before[] = "[service web]\nvip = 10.96.0.1:80\n"
				      "replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n"
				      "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.0.3:80\n"
				      "[service gone]\nvip = 10.96.0.3:80\nreplica = 10.0.0.4:80\n"
				      "[service same]\nvip = 10.96.0.4:80\nreplica = 10.0.0.5:80\n";
static const char cfg_fail_after[] = "[service web]\nvip = 10.96.0.1:80\n"
				     "replica = 10.0.0.2:80\nreplica = 10.0.0.6:80\n"
				     "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.0.7:80\n"
				     "[service same]\nvip = 10.96.0.4:80\nreplica = 10.0.0.5:80\n"
				     "[service new]\nvip = 10.96.0.5:80\nreplica = 10.0.0.8:80\n";

static void test_reconcile_failed_write_returns_error_and_leaves_complete_banks(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct fake_maps *start = malloc(sizeof(*start));
	struct steer_config *applied = config_new();
	int total;

	assert_non_null(start);
	assert_non_null(applied);
	parse(w->cfg[0], cfg_fail_before);
	parse(w->cfg[1], cfg_fail_after);
	apply_ok(w, w->cfg[0]);
	memcpy(start, &f->m, sizeof(*start));
	assert_int_equal(config_copy(applied, w->applied), 0);

	/* how many writes a clean run makes */
	apply_ok(w, w->cfg[1]);
	total = f->writes;
	assert_true(total > 10);

	for (int n = 1; n <= total; n++) {
		int ret;

		memcpy(&f->m, start, sizeof(*start));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		assert_int_equal(config_copy(w->applied, applied), 0);
		fake_drain_readers(f);
		ret = apply_ex(w, w->cfg[1], n, NULL);
		if (ret != -EIO || !strstr(w->err, strerror(EIO)))
			fail_msg("write %d of %d fails: expected -EIO and a message saying so, "
				 "got %d '%s'",
				 n, total, ret, w->err);
		if (f->violations)
			fail_msg("write %d of %d fails: %s", n, total, f->violation);
		reader_check(f); /* the state it stopped in */
		assert_no_violation(f);

		/* once readers of that state are gone, applying again converges */
		fake_drain_readers(f);
		ret = apply(w, w->cfg[1]);
		if (ret || f->violations)
			fail_msg("write %d of %d failed; the retry returned %d (%s); %s", n, total,
				 ret, w->err, f->violation);
		assert_maps_hold(f, w->cfg[1]);
	}
	free(start);
	config_free(applied);
}

/* Apply cfg with the second svc_put failing (every write before it succeeds):
 * the first service flipped, the second not. */
static void apply_failing_second_flip(struct world *w, const struct steer_config *cfg)
{
	struct fake_maps *start = malloc(sizeof(*start));
	struct fake *f = w->f;

	assert_non_null(start);
	memcpy(start, &f->m, sizeof(*start));
	for (int n = 1; n < 1000; n++) {
		int ret = apply_ex(w, cfg, n, NULL);

		if (ret == -EIO && f->calls[OP_SVC_PUT] == 2) {
			free(start);
			return;
		}
		memcpy(&f->m, start, sizeof(*start));
		reconcile_state_forget(&w->rs); /* the maps changed behind the agent */
		fake_drain_readers(f);
	}
	free(start);
	fail_msg("no write makes the second svc_put fail");
}

/* After a reconcile fails half-way through its flips, readers may still hold
 * a bank it left, and the replicas that bank points to: the next reconcile,
 * which has no way to know, must not write into either. */
static void test_reconcile_after_a_failed_flip_next_reconcile_spares_what_readers_hold(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	int ret;

	/* a: web a1,a2 + api b1 -> b: web a1,a3 (flips first) + api b2 (fails) */
	parse(w->cfg[0], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.1.1:80\n");
	parse(w->cfg[1], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.3:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.1.2:80\n");
	/* c: the next SIGHUP changes web again */
	parse(w->cfg[2], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.4:80\n"
			 "replica = 10.0.0.5:80\nreplica = 10.0.0.6:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.1.2:80\n");
	apply_ok(w, w->cfg[0]);

	apply_failing_second_flip(w, w->cfg[1]);
	assert_no_violation(f);
	assert_int_equal(svc_of(f, "10.96.0.1:80", IPPROTO_TCP).bank, 1); /* web flipped */
	assert_int_equal(svc_of(f, "10.96.0.2:80", IPPROTO_TCP).bank, 0); /* api did not */

	/* the next reconcile, no drain in between; web's a2 and api's old
	 * endpoints are both fine for the reader */
	ret = apply_ex(w, w->cfg[2], 0, w->cfg[1]);
	assert_no_violation(f);
	assert_int_equal(ret, 0);
}

/* The replica a failed reconcile left behind (web's a2, off every bank) is
 * retired by the next successful one, as reconcile.h step 6 promises. */
static void test_reconcile_after_a_failed_flip_retry_retires_replicas_left_behind(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	uint32_t a2;

	parse(w->cfg[0], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.2:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.1.1:80\n");
	parse(w->cfg[1], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:80\nreplica = 10.0.0.3:80\n"
			 "[service api]\nvip = 10.96.0.2:80\nreplica = 10.0.1.2:80\n");
	apply_ok(w, w->cfg[0]);
	a2 = replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.2:80");

	apply_failing_second_flip(w, w->cfg[1]);
	assert_no_violation(f);
	assert_int_equal(svc_of(f, "10.96.0.1:80", IPPROTO_TCP).bank, 1);

	fake_drain_readers(f);
	apply_ok(w, w->cfg[1]);
	assert_maps_hold(f, w->cfg[1]);
	if (!replica_is_zero(f, a2))
		fail_msg("replica id %u (10.0.0.2:80) left every bank but is still state %u; "
			 "%d ACTIVE replica(s) no service points to",
			 a2, f->m.replicas[a2].state, count_orphans(f));
	assert_int_equal(count_orphans(f), 0);
}

static void test_reconcile_resets_stats_of_fresh_svc_and_replica_ids(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct steer_svc_key web_key = key_of("10.96.0.1:80", IPPROTO_TCP);
	struct steer_svc_value web, dns;
	uint32_t r3;

	parse(w->cfg[0], cfg_three);
	apply_ok(w, w->cfg[0]);
	web = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
	dns = svc_of(f, "[fd00::53]:53", IPPROTO_UDP);
	assert_int_equal(f->svc_stats_resets[web.svc_id], 1);
	assert_int_equal(f->svc_stats_resets[dns.svc_id], 1);
	assert_int_equal(f->svc_stats_resets[svc_of(f, "10.96.0.1:80", IPPROTO_UDP).svc_id], 1);
	assert_int_equal(f->calls[OP_SVC_STATS_RESET], 3);
	assert_int_equal(f->calls[OP_REPLICA_STATS_RESET], 5);
	for (uint32_t s = 0; s < web.count; s++)
		assert_int_equal(f->replica_stats_resets[slot_replica(f, &web, s)], 1);
	for (uint32_t s = 0; s < dns.count; s++)
		assert_int_equal(f->replica_stats_resets[slot_replica(f, &dns, s)], 1);
	/* each reset happens before anything can route to the id */
	for (int i = 0; i < f->nlog; i++) {
		if (f->log[i].kind == OP_REPLICA_STATS_RESET) {
			int p_put = log_find(f, i, OP_REPLICA_PUT, false, f->log[i].id);

			assert_true(p_put > i);
			assert_int_equal(log_find(f, 0, OP_REPLICA_PUT, false, f->log[i].id),
					 p_put);
		}
	}
	assert_true(log_find(f, 0, OP_SVC_STATS_RESET, false, web.svc_id) <
		    log_find_svc_put(f, &web_key));

	/* a change: only the new replica's counters are reset */
	parse(w->cfg[1], "[service web]\nvip = 10.96.0.1:80\n"
			 "replica = 10.0.0.1:8080\nreplica = 10.0.0.2:8080\n"
			 "replica = 10.0.0.3:8080\nreplica = 10.0.0.4:8080\n"
			 "[service dns6]\nprotocol = udp\nvip = [fd00::53]:53\n"
			 "replica = [fd00::1]:5353\nreplica = [fd00::2]:5353\n"
			 "[service empty]\nprotocol = udp\nvip = 10.96.0.1:80\n");
	apply_ok(w, w->cfg[1]);
	r3 = replica_id_of(f, "10.96.0.1:80", IPPROTO_TCP, "10.0.0.4:8080");
	assert_int_equal(f->calls[OP_SVC_STATS_RESET], 0);
	assert_int_equal(f->calls[OP_REPLICA_STATS_RESET], 1);
	assert_int_equal(f->replica_stats_resets[r3], 1);
	web = svc_of(f, "10.96.0.1:80", IPPROTO_TCP);
	for (uint32_t s = 0; s < web.count; s++)
		assert_int_equal(f->replica_stats_resets[slot_replica(f, &web, s)], 1);
}

/* After an apply, the agent knows what the maps hold: applying a change to
 * one service of many reads and writes that service only, not every one;
 * forgetting what it knows (the maps changed behind it) reads them all. */
static void test_reconcile_kept_view_reads_only_the_changed_service(void **state)
{
	struct world *w = *state;
	struct fake *f = w->f;
	struct endpoint vip, rep;
	int reads_all;

	config_clear(w->cfg[0]);
	for (int i = 0; i < 100; i++) {
		char name[16], text[32];
		struct svc_config *s;

		snprintf(name, sizeof(name), "s%d", i);
		snprintf(text, sizeof(text), "10.96.1.%d:80", i);
		vip = ep(text);
		s = cfg_add_svc(w->cfg[0], name, &vip, IPPROTO_TCP);
		snprintf(text, sizeof(text), "10.0.1.%d:80", i);
		cfg_add_rep(s, ep(text));
	}
	apply_ok(w, w->cfg[0]);
	assert_int_equal(w->res.added, 100);

	/* the same again: nothing read, nothing written */
	apply_ok(w, w->cfg[0]);
	assert_int_equal(w->res.unchanged, 100);
	assert_int_equal(f->reads, 0);
	assert_int_equal(datapath_writes(f), 0);

	/* one service gains a replica: a handful of reads, one flip */
	assert_int_equal(config_copy(w->cfg[1], w->cfg[0]), 0);
	rep = ep("10.0.2.1:80");
	cfg_add_rep(&w->cfg[1]->services[42], rep);
	apply_ok(w, w->cfg[1]);
	assert_int_equal(w->res.changed, 1);
	assert_int_equal(w->res.unchanged, 99);
	assert_int_equal(f->calls[OP_SVC_PUT], 1);
	if (f->reads > 5)
		fail_msg("changing 1 service of 100 read the maps %d times", f->reads);
	assert_maps_hold(f, w->cfg[1]);

	/* a service removed: no reads but its own backend check */
	assert_int_equal(config_copy(w->cfg[2], w->cfg[1]), 0);
	config_clear(w->cfg[3]);
	for (int i = 0; i < w->cfg[2]->nservices; i++)
		if (i != 7) {
			struct svc_config *s = config_add_service(w->cfg[3]);

			assert_non_null(s);
			*s = w->cfg[2]->services[i];
			s->replicas = NULL;
			s->ropts = NULL;
			s->replicas_cap = 0;
			s->nreplicas = 0;
			for (int r = 0; r < w->cfg[2]->services[i].nreplicas; r++)
				cfg_add_rep(s, w->cfg[2]->services[i].replicas[r]);
		}
	apply_ok(w, w->cfg[3]);
	assert_int_equal(w->res.removed, 1);
	assert_int_equal(f->reads, 0);
	assert_maps_hold(f, w->cfg[3]);

	/* forgotten: the next apply reads every service back */
	reconcile_state_forget(&w->rs);
	apply_ok(w, w->cfg[3]);
	reads_all = f->reads;
	assert_int_equal(w->res.unchanged, 99);
	assert_true(reads_all > 99 * 3);
	assert_int_equal(datapath_writes(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_reconcile_first_apply_adds_services_in_bank_0_with_active_replicas_and_names,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_same_config_again_writes_nothing_the_datapath_reads, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_changed_replicas_fill_other_bank_flip_then_wait_then_retire, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_reader_invariant_holds_after_every_write_over_200_random_configs,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_reader_invariant_holds_with_random_failed_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_removed_service_is_deleted_and_its_replicas_retired, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_reconcile_replaced_replica_gets_a_fresh_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_retired_replica_id_is_not_reused_by_the_next_reconcile, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_refuses_config_needing_more_replica_ids_than_free_before_any_write,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconcile_adopts_pinned_maps_after_restart, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_refuses_corrupt_pinned_service_without_writing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_failed_write_returns_error_and_leaves_complete_banks, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_after_a_failed_flip_next_reconcile_spares_what_readers_hold, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_after_a_failed_flip_retry_retires_replicas_left_behind, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_reconcile_resets_stats_of_fresh_svc_and_replica_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconcile_kept_view_reads_only_the_changed_service,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
