#include "maps/map_fds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps/slot_space.h"

static int neg_errno(int ret)
{
	return ret < 0 ? -errno : 0;
}

static struct map_fds *F(void *ctx)
{
	return ctx;
}

/*
 * Most ops are one syscall on one map. These generate them, so each op is
 * one line below: a hash map keyed by a struct, and an array indexed by id.
 */
#define HASH_MAP_OPS(op, fd, key_t, value_t)                                                       \
	static int op##_next(void *ctx, const key_t *prev, key_t *next)                            \
	{                                                                                          \
		return neg_errno(bpf_map_get_next_key(F(ctx)->fd, prev, next));                    \
	}                                                                                          \
	static int op##_get(void *ctx, const key_t *key, value_t *val)                             \
	{                                                                                          \
		return neg_errno(bpf_map_lookup_elem(F(ctx)->fd, key, val));                       \
	}                                                                                          \
	static int op##_put(void *ctx, const key_t *key, const value_t *val)                       \
	{                                                                                          \
		return neg_errno(bpf_map_update_elem(F(ctx)->fd, key, val, BPF_ANY));              \
	}                                                                                          \
	static int op##_del(void *ctx, const key_t *key)                                           \
	{                                                                                          \
		return neg_errno(bpf_map_delete_elem(F(ctx)->fd, key));                            \
	}
#define ARRAY_MAP_GET(op, fd, value_t)                                                             \
	static int op##_get(void *ctx, uint32_t id, value_t *val)                                  \
	{                                                                                          \
		return neg_errno(bpf_map_lookup_elem(F(ctx)->fd, &id, val));                       \
	}
#define ARRAY_MAP_PUT(op, fd, value_t)                                                             \
	static int op##_put(void *ctx, uint32_t id, const value_t *val)                            \
	{                                                                                          \
		return neg_errno(bpf_map_update_elem(F(ctx)->fd, &id, val, BPF_ANY));              \
	}
#define ARRAY_MAP_OPS(op, fd, value_t) ARRAY_MAP_GET(op, fd, value_t) ARRAY_MAP_PUT(op, fd, value_t)

HASH_MAP_OPS(svc, svc, struct steer_svc_key, struct steer_svc_value)
HASH_MAP_OPS(backend, backends, struct steer_backend_key, struct steer_backend)
ARRAY_MAP_OPS(slot, slots, struct steer_slot)
ARRAY_MAP_PUT(range, slot_ranges, struct steer_slot_range)

static int range_get(void *ctx, uint32_t idx, struct steer_slot_range *r)
{
	if (F(ctx)->slot_ranges < 0) {
		*r = slot_space_fixed(STEER_LEGACY_SLOT_STRIDE, idx / STEER_SLOT_BANKS,
				      idx % STEER_SLOT_BANKS);
		return 0;
	}
	return neg_errno(bpf_map_lookup_elem(F(ctx)->slot_ranges, &idx, r));
}
ARRAY_MAP_OPS(replica, replicas, struct steer_replica)
ARRAY_MAP_OPS(name, names, struct steer_svc_name)
ARRAY_MAP_OPS(status, replica_status, struct steer_replica_status)

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * The per-service stats hashes (steer_*_stats_v2): an entry only for a
 * service with a non-zero counter. A missing entry, or a map missing from
 * a reader's pin dir (an older agent's), reads as zero with -ENOENT; a
 * zero value deletes the entry, so an idle service costs no memory.
 */
static int stats_get(int fd, uint32_t id, void *val, size_t size)
{
	int ret = fd < 0 ? -ENOENT : neg_errno(bpf_map_lookup_elem(fd, &id, val));

	if (ret)
		memset(val, 0, size);
	return ret;
}

static int stats_put(int fd, uint32_t id, const void *val, size_t size)
{
	int ret;

	if (!all_zero(val, size))
		return neg_errno(bpf_map_update_elem(fd, &id, val, BPF_ANY));
	ret = neg_errno(bpf_map_delete_elem(fd, &id));
	return ret == -ENOENT ? 0 : ret;
}

#define STATS_MAP_OPS(op, fd, value_t)                                                             \
	static int op##_get(void *ctx, uint32_t id, value_t *val)                                  \
	{                                                                                          \
		return stats_get(F(ctx)->fd, id, val, sizeof(*val));                               \
	}                                                                                          \
	static int op##_put(void *ctx, uint32_t id, const value_t *val)                            \
	{                                                                                          \
		return stats_put(F(ctx)->fd, id, val, sizeof(*val));                               \
	}

STATS_MAP_OPS(check_stats, check_stats, struct steer_check_stats)
STATS_MAP_OPS(hold_stats, hold_stats, struct steer_hold_stats)
STATS_MAP_OPS(relay_stats, relay_stats, struct steer_relay_stats)

/* steer_hold_v2 and steer_hold_socks_v2 replaced the per-service maps of
 * older agents: a reader of such a pin dir finds neither. */
static int hold_get(void *ctx, uint32_t idx, struct steer_hold *h)
{
	if (F(ctx)->hold < 0)
		return -ENOENT;
	return neg_errno(bpf_map_lookup_elem(F(ctx)->hold, &idx, h));
}

ARRAY_MAP_PUT(hold, hold, struct steer_hold)

static int hold_sock_put(void *ctx, uint32_t idx, int listen_fd)
{
	uint64_t fd = (uint64_t)listen_fd; /* a SOCKMAP takes the socket's fd */

	return neg_errno(bpf_map_update_elem(F(ctx)->hold_socks, &idx, &fd, BPF_ANY));
}

static int hold_sock_del(void *ctx, uint32_t idx)
{
	int ret = neg_errno(bpf_map_delete_elem(F(ctx)->hold_socks, &idx));

	return ret == -ENOENT ? 0 : ret;
}

static int sock_get(void *ctx, uint64_t cookie, struct steer_sock *rec)
{
	if (F(ctx)->socks < 0)
		return -ENOENT;
	return neg_errno(bpf_map_lookup_elem(F(ctx)->socks, &cookie, rec));
}

bool endpoint_is_local(const struct endpoint *ep)
{
	struct ifaddrs *ifs, *i;
	bool local = false;

	if (ep->family == STEER_FAMILY_V4 && (ntohl(ep->addr[0]) >> 24) == 127)
		return true;
	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !local; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ep->family)
			continue;
		if (ep->family == STEER_FAMILY_V4)
			local = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == ep->addr[0];
		else
			local =
			    !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ep->addr, 16);
	}
	freeifaddrs(ifs);
	return local;
}

/* The host's addresses, read again once they are older than this: a
 * reconcile asks for every replica of every service, and a getifaddrs()
 * (a netlink dump of every interface) for each cost most of an apply with
 * 10,000 replicas. An address added within that time is seen at the next
 * apply after it. */
#define LOCAL_ADDRS_TTL_NS 100000000ull
#define LOCAL_ADDRS_MAX	   1024

static struct {
	uint64_t read_ns; /* CLOCK_MONOTONIC; 0: never */
	int n;
	bool complete; /* all of the host's fit; else fall back to getifaddrs() */
	struct {
		uint8_t family;
		uint32_t addr[4];
	} a[LOCAL_ADDRS_MAX];
} local_addrs;

static void local_addrs_read(void)
{
	struct ifaddrs *ifs, *i;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	local_addrs.n = 0;
	local_addrs.complete = false;
	local_addrs.read_ns = 0;
	if (getifaddrs(&ifs))
		return;
	local_addrs.complete = true;
	for (i = ifs; i; i = i->ifa_next) {
		int family = i->ifa_addr ? i->ifa_addr->sa_family : 0;

		if (family != AF_INET && family != AF_INET6)
			continue;
		if (local_addrs.n == LOCAL_ADDRS_MAX) {
			local_addrs.complete = false;
			break;
		}
		local_addrs.a[local_addrs.n].family =
		    family == AF_INET ? STEER_FAMILY_V4 : STEER_FAMILY_V6;
		memset(local_addrs.a[local_addrs.n].addr, 0, 16);
		if (family == AF_INET)
			local_addrs.a[local_addrs.n].addr[0] =
			    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		else
			memcpy(local_addrs.a[local_addrs.n].addr,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		local_addrs.n++;
	}
	freeifaddrs(ifs);
	local_addrs.read_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_local(void *ctx, const struct endpoint *ep)
{
	struct timespec ts;
	uint64_t now;

	(void)ctx;
	if (ep->family == STEER_FAMILY_V4 && (ntohl(ep->addr[0]) >> 24) == 127)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (!local_addrs.read_ns || now - local_addrs.read_ns > LOCAL_ADDRS_TTL_NS)
		local_addrs_read();
	if (!local_addrs.complete)
		return endpoint_is_local(ep);
	for (int i = 0; i < local_addrs.n; i++)
		if (local_addrs.a[i].family == ep->family &&
		    !memcmp(local_addrs.a[i].addr, ep->addr,
			    ep->family == STEER_FAMILY_V4 ? 4 : 16))
			return true;
	return false;
}

/* Per-CPU values are written for every possible CPU at once. */
static int percpu_zero(int fd, uint32_t key, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (value_size + 7) & ~(size_t)7;
	void *zero;
	int ret;

	if (ncpu < 0)
		return ncpu;
	zero = calloc((size_t)ncpu, stride);
	if (!zero)
		return -ENOMEM;
	ret = neg_errno(bpf_map_update_elem(fd, &key, zero, BPF_ANY));
	free(zero);
	return ret;
}

static int svc_stats_reset(void *ctx, uint32_t svc_id)
{
	static const struct steer_check_stats no_checks;
	static const struct steer_hold_stats no_holds;
	static const struct steer_relay_stats no_relays;
	int ret = percpu_zero(F(ctx)->svc_stats, svc_id, sizeof(struct steer_svc_stats));

	if (!ret && F(ctx)->lb_stats >= 0)
		ret = percpu_zero(F(ctx)->lb_stats, svc_id, sizeof(struct steer_svc_lb_stats));
	if (!ret)
		ret = check_stats_put(ctx, svc_id, &no_checks);
	if (!ret)
		ret = hold_stats_put(ctx, svc_id, &no_holds);
	if (!ret)
		ret = relay_stats_put(ctx, svc_id, &no_relays);
	return ret;
}

static int replica_stats_reset(void *ctx, uint32_t id)
{
	static const struct steer_replica_active zero;
	static const struct steer_replica_relayed no_relays;
	int ret = percpu_zero(F(ctx)->replica_stats, id, sizeof(struct steer_replica_stats));

	if (!ret && F(ctx)->replica_active >= 0)
		ret = neg_errno(bpf_map_update_elem(F(ctx)->replica_active, &id, &zero, BPF_ANY));
	if (!ret && F(ctx)->relayed >= 0)
		ret = neg_errno(bpf_map_update_elem(F(ctx)->relayed, &id, &no_relays, BPF_ANY));
	return ret;
}

/* Added with weights and max_conns: absent from an older agent's pin dir
 * (a reader then sees "one tier, equal weights, no limits"). */
#define OPTIONAL_ARRAY_GET(op, fd, value_t)                                                        \
	static int op##_get(void *ctx, uint32_t id, value_t *val)                                  \
	{                                                                                          \
		if (F(ctx)->fd < 0)                                                                \
			return -ENOENT;                                                            \
		return neg_errno(bpf_map_lookup_elem(F(ctx)->fd, &id, val));                       \
	}
OPTIONAL_ARRAY_GET(slot_attrs, slot_attrs, struct steer_slot_attrs)
ARRAY_MAP_PUT(slot_attrs, slot_attrs, struct steer_slot_attrs)
OPTIONAL_ARRAY_GET(bank, banks, struct steer_bank)
ARRAY_MAP_PUT(bank, banks, struct steer_bank)

static int relayed_get(void *ctx, uint32_t id, uint64_t *relayed)
{
	struct steer_replica_relayed v = {};
	int ret = 0;

	if (F(ctx)->relayed >= 0)
		ret = neg_errno(bpf_map_lookup_elem(F(ctx)->relayed, &id, &v));
	*relayed = v.relayed;
	return ret;
}

static int relayed_put(void *ctx, uint32_t id, uint64_t relayed)
{
	struct steer_replica_relayed v = {.relayed = relayed};

	return neg_errno(bpf_map_update_elem(F(ctx)->relayed, &id, &v, BPF_ANY));
}

/* Added with steer_socks_v1: absent from an older agent's pin dir. */
static int replica_active_get(void *ctx, uint32_t id, uint64_t *active)
{
	struct steer_replica_active a = {};
	int ret;

	*active = 0;
	if (F(ctx)->replica_active < 0)
		return 0;
	ret = neg_errno(bpf_map_lookup_elem(F(ctx)->replica_active, &id, &a));
	if (!ret && a.active > 0)
		*active = (uint64_t)a.active;
	return ret;
}

/*
 * The kernel waits for an RCU grace period after every update of a
 * map-of-maps, so that userspace knows no program still sees the old inner
 * map. Datapath programs run under RCU, so that same wait tells us no
 * connect() can still hold a pointer into an old slot bank.
 */
static int wait_for_readers(void *ctx)
{
	struct map_fds *fds = F(ctx);
	uint32_t key = 0;

	return neg_errno(
	    bpf_map_update_elem(fds->readers_barrier, &key, &fds->barrier_inner, BPF_ANY));
}

static int create_barrier(struct map_fds *fds)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	fds->barrier_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "steer_rcu_in", 4, 4, 1, NULL);
	if (fds->barrier_inner < 0)
		return -errno;
	opts.inner_map_fd = fds->barrier_inner;
	fds->readers_barrier =
	    bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "steer_rcu_wait", 4, 4, 1, &opts);
	return fds->readers_barrier < 0 ? -errno : 0;
}

/* Sum a per-CPU value made of nfields u64 counters over all possible CPUs. */
static int percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t nfields)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (nfields * sizeof(uint64_t) + 7) & ~(size_t)7;
	unsigned char *buf;

	if (ncpu < 0)
		return ncpu;
	buf = calloc((size_t)ncpu, stride);
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, buf)) {
		free(buf);
		return -errno;
	}
	memset(sum, 0, nfields * sizeof(uint64_t));
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < nfields; f++) {
			uint64_t v;

			memcpy(&v, buf + (size_t)c * stride + f * sizeof(uint64_t), sizeof(v));
			sum[f] += v;
		}
	free(buf);
	return 0;
}

static int svc_stats_sum(void *ctx, uint32_t svc_id, struct steer_svc_stats *sum)
{
	uint64_t v[3];
	int ret = percpu_sum(F(ctx)->svc_stats, svc_id, v, 3);

	_Static_assert(sizeof(*sum) == sizeof(v), "steer_svc_stats is 3 counters");
	if (!ret)
		memcpy(sum, v, sizeof(v));
	return ret;
}

static int replica_stats_sum(void *ctx, uint32_t id, struct steer_replica_stats *sum)
{
	uint64_t v;
	int ret = percpu_sum(F(ctx)->replica_stats, id, &v, 1);

	_Static_assert(sizeof(*sum) == sizeof(v), "steer_replica_stats is 1 counter");
	if (!ret)
		sum->steered = v;
	return ret;
}

/* Added with steer_socks_v1: absent from an older agent's pin dir. */
static int sock_stats_sum(void *ctx, struct steer_sock_stats *sum)
{
	uint64_t v[3];
	int ret;

	_Static_assert(sizeof(*sum) == sizeof(v), "steer_sock_stats is 3 counters");
	if (F(ctx)->sock_stats < 0) {
		memset(sum, 0, sizeof(*sum));
		return 0;
	}
	ret = percpu_sum(F(ctx)->sock_stats, 0, v, 3);
	if (!ret)
		memcpy(sum, v, sizeof(v));
	return ret;
}

static int lb_stats_sum(void *ctx, uint32_t svc_id, struct steer_svc_lb_stats *sum)
{
	uint64_t v[STEER_TIERS + 1];
	int ret;

	_Static_assert(sizeof(*sum) == sizeof(v), "steer_svc_lb_stats is 4 counters");
	memset(sum, 0, sizeof(*sum));
	if (F(ctx)->lb_stats < 0)
		return 0;
	ret = percpu_sum(F(ctx)->lb_stats, svc_id, v, STEER_TIERS + 1);
	if (!ret)
		memcpy(sum, v, sizeof(v));
	return ret;
}

static int xdp_bank_get(void *ctx, uint32_t idx, struct steer_xdp_bank *b)
{
	memset(b, 0, sizeof(*b));
	if (F(ctx)->xdp_banks < 0)
		return -EOPNOTSUPP;
	return neg_errno(bpf_map_lookup_elem(F(ctx)->xdp_banks, &idx, b));
}

/* A new inner map per table, written through mmap() before it is
 * published: the bank is idle, and a map the XDP program may still hold
 * from an earlier generation is never written. An array map lays its
 * elements out 8 bytes apart, whatever their size. */
#define ARRAY_ELEM_STRIDE 8

static int maglev_table_create(const uint32_t *table, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = (size_t)size * ARRAY_ELEM_STRIDE;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "steer_maglev", sizeof(uint32_t),
				sizeof(uint32_t), size, &opts);
	char *mem;

	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return err;
	}
	for (uint32_t i = 0; i < size; i++)
		memcpy(mem + (size_t)i * ARRAY_ELEM_STRIDE, &table[i], sizeof(table[i]));
	munmap(mem, len);
	return fd;
}

static int maglev_put(void *ctx, uint32_t idx, const uint32_t *table,
		      const struct steer_xdp_bank *b)
{
	int ret, fd;

	if (F(ctx)->maglev < 0 || F(ctx)->xdp_banks < 0)
		return -EOPNOTSUPP;
	if (!table || !b->maglev_size) {
		ret = neg_errno(bpf_map_delete_elem(F(ctx)->maglev, &idx));
		if (ret && ret != -ENOENT)
			return ret;
		return neg_errno(bpf_map_update_elem(F(ctx)->xdp_banks, &idx, b, BPF_ANY));
	}
	/* The table, then its size: both belong to the idle bank, which no
	 * reader holds (readers were waited for after its last flip). */
	fd = maglev_table_create(table, b->maglev_size);
	if (fd < 0)
		return fd;
	ret = neg_errno(bpf_map_update_elem(F(ctx)->maglev, &idx, &fd, BPF_ANY));
	close(fd);
	if (ret)
		return ret;
	return neg_errno(bpf_map_update_elem(F(ctx)->xdp_banks, &idx, b, BPF_ANY));
}

static int registry_get(void *ctx, struct steer_registry_status *st)
{
	uint32_t zero = 0;

	memset(st, 0, sizeof(*st));
	if (F(ctx)->registry < 0)
		return -ENOENT;
	return neg_errno(bpf_map_lookup_elem(F(ctx)->registry, &zero, st));
}

static int registry_put(void *ctx, const struct steer_registry_status *st)
{
	uint32_t zero = 0;

	return neg_errno(bpf_map_update_elem(F(ctx)->registry, &zero, st, BPF_ANY));
}

static int xdp_stats_sum(void *ctx, struct steer_xdp_stats *sum)
{
	uint64_t v[sizeof(*sum) / sizeof(uint64_t)];
	int ret;

	memset(sum, 0, sizeof(*sum));
	if (F(ctx)->xdp_stats < 0)
		return -EOPNOTSUPP;
	ret = percpu_sum(F(ctx)->xdp_stats, 0, v, sizeof(v) / sizeof(v[0]));
	if (!ret)
		memcpy(sum, v, sizeof(v));
	return ret;
}

/* Every pinned map the agent opens, and where its fd goes. A map added
 * after an agent release that readers may find missing is `optional`;
 * the XDP path's maps exist only where it is loaded (`xdp`). */
static const struct {
	const char *name;
	size_t fd_offset;
	bool optional, xdp;
} pinned_maps[] = {
    {STEER_MAP_SERVICES, offsetof(struct map_fds, svc), false, false},
    {STEER_MAP_SLOTS, offsetof(struct map_fds, slots), false, false},
    {STEER_MAP_REPLICAS, offsetof(struct map_fds, replicas), false, false},
    {STEER_MAP_SVC_STATS, offsetof(struct map_fds, svc_stats), false, false},
    {STEER_MAP_REPLICA_STATS, offsetof(struct map_fds, replica_stats), false, false},
    {STEER_MAP_SVC_NAMES, offsetof(struct map_fds, names), false, false},
    {STEER_MAP_BACKENDS, offsetof(struct map_fds, backends), false, false},
    {STEER_MAP_REPLICA_STATUS, offsetof(struct map_fds, replica_status), false, false},
    {STEER_MAP_EVENTS, offsetof(struct map_fds, events), false, false},
    {STEER_MAP_HOLD_STATS, offsetof(struct map_fds, hold_stats), true, false},
    {STEER_MAP_CHECK_STATS, offsetof(struct map_fds, check_stats), true, false},
    {STEER_MAP_RELAY_STATS, offsetof(struct map_fds, relay_stats), true, false},
    {STEER_MAP_SOCK_STATS, offsetof(struct map_fds, sock_stats), true, false},
    {STEER_MAP_REPLICA_ACTIVE, offsetof(struct map_fds, replica_active), true, false},
    {STEER_MAP_SLOT_ATTRS, offsetof(struct map_fds, slot_attrs), true, false},
    {STEER_MAP_BANKS, offsetof(struct map_fds, banks), true, false},
    {STEER_MAP_REPLICA_RELAYED, offsetof(struct map_fds, relayed), true, false},
    {STEER_MAP_LB_STATS, offsetof(struct map_fds, lb_stats), true, false},
    {STEER_MAP_REGISTRY, offsetof(struct map_fds, registry), true, false},
    {STEER_MAP_SLOT_RANGES, offsetof(struct map_fds, slot_ranges), true, false},
    {STEER_MAP_SOCKS, offsetof(struct map_fds, socks), true, false},
    {STEER_MAP_HOLD, offsetof(struct map_fds, hold), true, false},
    {STEER_MAP_HOLD_SOCKS, offsetof(struct map_fds, hold_socks), true, false},
    {STEER_MAP_MAGLEV, offsetof(struct map_fds, maglev), true, true},
    {STEER_MAP_XDP_BANKS, offsetof(struct map_fds, xdp_banks), true, true},
    {STEER_MAP_XDP_STATS, offsetof(struct map_fds, xdp_stats), true, true},
};

#define NPINNED (sizeof(pinned_maps) / sizeof(pinned_maps[0]))

/* What a reader of an older agent's pin dir opens where these are missing:
 * the same values under the same u32 keys, in an array of every id. */
static const struct {
	size_t fd_offset;
	const char *name;
} v1_maps[] = {
    {offsetof(struct map_fds, hold_stats), STEER_MAP_HOLD_STATS_V1},
    {offsetof(struct map_fds, check_stats), STEER_MAP_CHECK_STATS_V1},
    {offsetof(struct map_fds, relay_stats), STEER_MAP_RELAY_STATS_V1},
};

static const char *v1_name(size_t fd_offset)
{
	for (size_t i = 0; i < sizeof(v1_maps) / sizeof(v1_maps[0]); i++)
		if (v1_maps[i].fd_offset == fd_offset)
			return v1_maps[i].name;
	return NULL;
}

static int *pinned_fd(struct map_fds *fds, size_t i)
{
	return (int *)((char *)fds + pinned_maps[i].fd_offset);
}

void map_fds_init(struct map_fds *fds)
{
	for (size_t i = 0; i < NPINNED; i++)
		*pinned_fd(fds, i) = -1;
	fds->readers_barrier = fds->barrier_inner = -1;
}

int map_fds_open_pinned(struct map_fds *fds, const char *pin_dir, int for_writing)
{
	char path[PATH_MAX];
	int ret;

	map_fds_init(fds);
	for (size_t i = 0; i < NPINNED; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned_maps[i].name);
		*pinned_fd(fds, i) = bpf_obj_get(path);
		if (*pinned_fd(fds, i) < 0 && errno == ENOENT && !for_writing &&
		    v1_name(pinned_maps[i].fd_offset)) {
			snprintf(path, sizeof(path), "%s/%s", pin_dir,
				 v1_name(pinned_maps[i].fd_offset));
			*pinned_fd(fds, i) = bpf_obj_get(path);
		}
		if (*pinned_fd(fds, i) < 0 && errno == ENOENT && pinned_maps[i].optional &&
		    (!for_writing || pinned_maps[i].xdp))
			continue;
		if (*pinned_fd(fds, i) < 0) {
			ret = -errno;
			map_fds_close(fds);
			return ret;
		}
	}
	ret = for_writing ? create_barrier(fds) : 0;
	if (ret)
		map_fds_close(fds);
	return ret;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void map_fds_close(struct map_fds *fds)
{
	for (size_t i = 0; i < NPINNED; i++)
		close_fd(pinned_fd(fds, i));
	close_fd(&fds->readers_barrier);
	close_fd(&fds->barrier_inner);
}

void map_ops_init(struct map_ops *ops, struct map_fds *fds)
{
	*ops = MAP_OPS_NAMED(fds);
}
