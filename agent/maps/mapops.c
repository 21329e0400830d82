#include "maps/mapops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int neg_errno(int ret)
{
	return ret < 0 ? -errno : 0;
}

static struct map_fds *F(void *ctx)
{
	return ctx;
}

static int svc_next(void *ctx, const struct steer_svc_key *prev, struct steer_svc_key *next)
{
	return neg_errno(bpf_map_get_next_key(F(ctx)->svc, prev, next));
}

static int svc_get(void *ctx, const struct steer_svc_key *key, struct steer_svc_value *val)
{
	return neg_errno(bpf_map_lookup_elem(F(ctx)->svc, key, val));
}

static int svc_put(void *ctx, const struct steer_svc_key *key, const struct steer_svc_value *val)
{
	return neg_errno(bpf_map_update_elem(F(ctx)->svc, key, val, BPF_ANY));
}

static int svc_del(void *ctx, const struct steer_svc_key *key)
{
	return neg_errno(bpf_map_delete_elem(F(ctx)->svc, key));
}

static int slot_get(void *ctx, uint32_t idx, struct steer_slot *slot)
{
	return neg_errno(bpf_map_lookup_elem(F(ctx)->slots, &idx, slot));
}

static int slot_put(void *ctx, uint32_t idx, const struct steer_slot *slot)
{
	return neg_errno(bpf_map_update_elem(F(ctx)->slots, &idx, slot, BPF_ANY));
}

static int replica_get(void *ctx, uint32_t id, struct steer_replica *r)
{
	return neg_errno(bpf_map_lookup_elem(F(ctx)->replicas, &id, r));
}

static int replica_put(void *ctx, uint32_t id, const struct steer_replica *r)
{
	return neg_errno(bpf_map_update_elem(F(ctx)->replicas, &id, r, BPF_ANY));
}

static int name_put(void *ctx, uint32_t svc_id, const struct steer_svc_name *name)
{
	return neg_errno(bpf_map_update_elem(F(ctx)->names, &svc_id, name, BPF_ANY));
}

static int backend_next(void *ctx, const struct steer_backend_key *prev,
			struct steer_backend_key *next)
{
	return neg_errno(bpf_map_get_next_key(F(ctx)->backends, prev, next));
}

static int backend_get(void *ctx, const struct steer_backend_key *key, struct steer_backend *b)
{
	return neg_errno(bpf_map_lookup_elem(F(ctx)->backends, key, b));
}

static int backend_put(void *ctx, const struct steer_backend_key *key,
		       const struct steer_backend *b)
{
	return neg_errno(bpf_map_update_elem(F(ctx)->backends, key, b, BPF_ANY));
}

static int backend_del(void *ctx, const struct steer_backend_key *key)
{
	return neg_errno(bpf_map_delete_elem(F(ctx)->backends, key));
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

static bool is_local(void *ctx, const struct endpoint *ep)
{
	(void)ctx;
	return endpoint_is_local(ep);
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
	return percpu_zero(F(ctx)->svc_stats, svc_id, sizeof(struct steer_svc_stats));
}

static int replica_stats_reset(void *ctx, uint32_t id)
{
	return percpu_zero(F(ctx)->replica_stats, id, sizeof(struct steer_replica_stats));
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

int map_percpu_sum(int fd, uint32_t key, uint64_t *sum, size_t nfields)
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

void map_fds_init(struct map_fds *fds)
{
	fds->svc = fds->slots = fds->replicas = fds->svc_stats = fds->replica_stats = -1;
	fds->names = fds->readers_barrier = fds->barrier_inner = -1;
	fds->backends = fds->replica_status = fds->events = -1;
	fds->hold = fds->hold_stats = fds->check_stats = -1;
}

int map_fds_open_pinned(struct map_fds *fds, const char *pin_dir, int for_writing)
{
	const struct {
		const char *name;
		int *fd;
	} maps[] = {
	    {STEER_MAP_SERVICES, &fds->svc},
	    {STEER_MAP_SLOTS, &fds->slots},
	    {STEER_MAP_REPLICAS, &fds->replicas},
	    {STEER_MAP_SVC_STATS, &fds->svc_stats},
	    {STEER_MAP_REPLICA_STATS, &fds->replica_stats},
	    {STEER_MAP_SVC_NAMES, &fds->names},
	    {STEER_MAP_BACKENDS, &fds->backends},
	    {STEER_MAP_REPLICA_STATUS, &fds->replica_status},
	    {STEER_MAP_EVENTS, &fds->events},
	    {STEER_MAP_HOLD, &fds->hold},
	    {STEER_MAP_HOLD_STATS, &fds->hold_stats},
	    {STEER_MAP_CHECK_STATS, &fds->check_stats},
	};
	char path[PATH_MAX];
	int ret;

	map_fds_init(fds);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, maps[i].name);
		*maps[i].fd = bpf_obj_get(path);
		if (*maps[i].fd < 0) {
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

void map_fds_close(struct map_fds *fds)
{
	int *all[] = {
	    &fds->svc,		 &fds->slots,	       &fds->replicas,	      &fds->svc_stats,
	    &fds->replica_stats, &fds->names,	       &fds->readers_barrier, &fds->barrier_inner,
	    &fds->backends,	 &fds->replica_status, &fds->events,	      &fds->hold,
	    &fds->hold_stats,	 &fds->check_stats};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

void map_ops_init(struct map_ops *ops, struct map_fds *fds)
{
	*ops = (struct map_ops){
	    .ctx = fds,
	    .svc_next = svc_next,
	    .svc_get = svc_get,
	    .svc_put = svc_put,
	    .svc_del = svc_del,
	    .slot_get = slot_get,
	    .slot_put = slot_put,
	    .replica_get = replica_get,
	    .replica_put = replica_put,
	    .name_put = name_put,
	    .svc_stats_reset = svc_stats_reset,
	    .replica_stats_reset = replica_stats_reset,
	    .wait_for_readers = wait_for_readers,
	    .backend_next = backend_next,
	    .backend_get = backend_get,
	    .backend_put = backend_put,
	    .backend_del = backend_del,
	    .is_local = is_local,
	};
}
