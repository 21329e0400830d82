/*
 * steer's XDP object for the benchmarks of the XDP path (bench/xdp-cost.c,
 * bench/xdp-disrupt.c, run by bench/xdp.sh): bpf/steer_xdp.bpf.c loaded
 * from its skeleton with no pin at all, so nothing outlives the process and
 * nothing can meet a running agent's maps; the maps the XDP program reads,
 * written the way the agent writes them; and BPF_PROG_TEST_RUN. Nothing is
 * attached anywhere: the programs only run under test runs, whose
 * ingress_ifindex names an interface of the netns the script built (the
 * encapsulation's route lookup needs one).
 *
 * Header-only, like bench/loadhist.h: every bench/NAME.c is one tool.
 * Errors print what failed and return -1.
 */
#ifndef STEER_BENCH_XDP_WORLD_H
#define STEER_BENCH_XDP_WORLD_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/steer_abi.h"
#include "steer_xdp.skel.h"

struct xw {
	struct steer_xdp_bpf *skel;
	int prog; /* xdp_steer */
	int svc, replicas, backends, xdp_banks, maglev, flows, rnat, stats;
	int inner[STEER_MAX_SERVICES * STEER_SLOT_BANKS]; /* Maglev tables we linked; 0: none */
	int ifindex;					  /* the test runs' ingress interface */
	int ncpus;					  /* possible CPUs: per-CPU values */
	int cpu;					  /* the one CPU every run is on */
};

static inline void xw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void xw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench-xdp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* libbpf's warnings and errors only (its debug output is the verifier's). */
static inline int xw_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static inline void xw_close(struct xw *w)
{
	for (size_t i = 0; i < sizeof(w->inner) / sizeof(w->inner[0]); i++)
		if (w->inner[i] > 0)
			close(w->inner[i]);
	steer_xdp_bpf__destroy(w->skel);
	memset(w, 0, sizeof(*w));
}

/* Loads the object. flow_entries, if not 0, sizes the flow table (what
 * building with -DSTEER_XDP_FLOWS=N does). The process stays on the CPU it
 * runs on: the flow table is per CPU, and a test run runs on the caller's
 * CPU, so every packet of a benchmark sees the same CPU's entries. */
static inline int xw_open(struct xw *w, const char *iface, uint32_t flow_entries)
{
	struct bpf_map *map;
	cpu_set_t set;
	int err;

	memset(w, 0, sizeof(*w));
	libbpf_set_print(xw_libbpf_log);
	w->ifindex = (int)if_nametoindex(iface);
	if (!w->ifindex) {
		xw_err("--iface %s: no such interface in this netns", iface);
		return -1;
	}
	w->cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (w->cpu < 0 || sched_setaffinity(0, sizeof(set), &set)) {
		xw_err("cannot stay on CPU %d: %s", w->cpu, strerror(errno));
		return -1;
	}
	w->skel = steer_xdp_bpf__open();
	if (!w->skel) {
		xw_err("cannot open the XDP object: %s", strerror(errno));
		return -1;
	}
	/* No pins: the maps live as long as this process. */
	bpf_object__for_each_map(map, w->skel->obj)
	{
		if (bpf_map__set_pin_path(map, NULL)) {
			xw_err("cannot unpin map %s", bpf_map__name(map));
			return -1;
		}
	}
	w->ncpus = libbpf_num_possible_cpus();
	if (w->ncpus <= 0 || w->cpu >= w->ncpus) {
		xw_err("%d possible CPUs, running on CPU %d", w->ncpus, w->cpu);
		return -1;
	}
	w->skel->rodata->nr_cpus = (__u32)w->ncpus;
	if (flow_entries &&
	    bpf_map__set_max_entries(w->skel->maps.steer_xdp_flows_v1, flow_entries)) {
		xw_err("cannot size the flow table to %u entries", flow_entries);
		return -1;
	}
	err = steer_xdp_bpf__load(w->skel);
	if (err) {
		xw_err("cannot load the XDP object: %s", strerror(-err));
		return -1;
	}
	w->prog = bpf_program__fd(w->skel->progs.xdp_steer);
	w->svc = bpf_map__fd(w->skel->maps.steer_svc_v1);
	w->replicas = bpf_map__fd(w->skel->maps.steer_replicas_v1);
	w->backends = bpf_map__fd(w->skel->maps.steer_backends_v1);
	w->xdp_banks = bpf_map__fd(w->skel->maps.steer_xdp_banks_v1);
	w->maglev = bpf_map__fd(w->skel->maps.steer_maglev_v1);
	w->flows = bpf_map__fd(w->skel->maps.steer_xdp_flows_v1);
	w->rnat = bpf_map__fd(w->skel->maps.steer_xdp_rnat_v1);
	w->stats = bpf_map__fd(w->skel->maps.steer_xdp_stats_v1);
	return 0;
}

/* Text to map form (IPv4 in addr[0], the rest zero); family is 4 or 6. */
static inline int xw_addr(int family, const char *text, __be32 addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, text, addr) != 1) {
		xw_err("'%s' is not an IPv%d address", text, family);
		return -1;
	}
	return 0;
}

static inline uint8_t xw_family(int family)
{
	return family == 6 ? STEER_FAMILY_V6 : STEER_FAMILY_V4;
}

/* A TCP service: VIP:port -> (svc_id, count, bank). */
static inline int xw_put_service(struct xw *w, int family, const char *vip, uint16_t port,
				 uint32_t svc_id, uint16_t count, uint8_t bank)
{
	struct steer_svc_key k = {};
	struct steer_svc_value v = {.svc_id = svc_id, .count = count, .bank = bank};

	if (xw_addr(family, vip, k.addr))
		return -1;
	k.port = htons(port);
	k.family = xw_family(family);
	k.proto = IPPROTO_TCP;
	if (bpf_map_update_elem(w->svc, &k, &v, BPF_ANY)) {
		xw_err("cannot write service %s:%u: %s", vip, port, strerror(errno));
		return -1;
	}
	return 0;
}

static inline void xw_backend_key(const struct steer_replica *r, struct steer_backend_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, r->addr, sizeof(k->addr));
	k->port = r->port;
	k->family = r->family;
	k->proto = IPPROTO_TCP;
}

/* An UP TCP replica, with the backend entry (not ejected) the agent keeps
 * for every TCP endpoint, so the datapath reads it as it would on a node. */
static inline int xw_put_replica(struct xw *w, uint32_t id, uint32_t svc_id, int family,
				 const char *addr, uint16_t port)
{
	struct steer_replica r = {};
	struct steer_backend_key bk;
	struct steer_backend b = {};

	if (xw_addr(family, addr, r.addr))
		return -1;
	r.port = htons(port);
	r.family = xw_family(family);
	r.state = STEER_REPLICA_UP;
	r.svc_id = svc_id;
	xw_backend_key(&r, &bk);
	if (bpf_map_update_elem(w->replicas, &id, &r, BPF_ANY) ||
	    bpf_map_update_elem(w->backends, &bk, &b, BPF_ANY)) {
		xw_err("cannot write replica %u (%s): %s", id, addr, strerror(errno));
		return -1;
	}
	return 0;
}

/* What the agent does last when a replica leaves (agent/maps/reconcile.c,
 * settle()): its id zeroed, its backend entry deleted. */
static inline int xw_retire_replica(struct xw *w, uint32_t id)
{
	struct steer_replica r, zero = {};
	struct steer_backend_key bk;

	if (bpf_map_lookup_elem(w->replicas, &id, &r)) {
		xw_err("cannot read replica %u: %s", id, strerror(errno));
		return -1;
	}
	xw_backend_key(&r, &bk);
	if (bpf_map_update_elem(w->replicas, &id, &zero, BPF_ANY) ||
	    (bpf_map_delete_elem(w->backends, &bk) && errno != ENOENT)) {
		xw_err("cannot retire replica %u: %s", id, strerror(errno));
		return -1;
	}
	return 0;
}

/* The Maglev table of bank (svc_id, bank): a new array of m entries, as the
 * agent creates them, filled, linked into steer_maglev_v1, and its size in
 * steer_xdp_banks_v1. */
static inline int xw_put_table(struct xw *w, uint32_t svc_id, uint32_t bank, const uint32_t *table,
			       uint32_t m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__u32 idx = steer_bank_index(svc_id, bank), count = m;
	struct steer_xdp_bank xb = {.maglev_size = m, .signature = 1};
	__u32 *keys = malloc(m * sizeof(*keys));
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_mglv", sizeof(__u32), sizeof(__u32), m,
				&opts);
	int ret = -1;

	if (!keys || fd < 0) {
		xw_err("cannot create a Maglev table of %u entries: %s", m, strerror(errno));
		goto out;
	}
	for (__u32 i = 0; i < m; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, table, &count, NULL) ||
	    bpf_map_update_elem(w->maglev, &idx, &fd, BPF_ANY) ||
	    bpf_map_update_elem(w->xdp_banks, &idx, &xb, BPF_ANY)) {
		xw_err("cannot write the Maglev table of bank %u: %s", idx, strerror(errno));
		goto out;
	}
	if (w->inner[idx] > 0)
		close(w->inner[idx]);
	w->inner[idx] = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(keys);
	return ret;
}

/* One BPF_PROG_TEST_RUN of prog on frame (len bytes), repeat times, as if
 * it arrived on the world's interface. out (out_cap bytes) gets the last
 * run's packet, *out_len its length; *duration is the kernel's average
 * per run in ns. */
static inline int xw_run(const struct xw *w, int prog, const void *frame, size_t len, void *out,
			 uint32_t out_cap, uint32_t *out_len, uint32_t repeat, uint32_t *verdict,
			 uint32_t *duration)
{
	struct xdp_md ctx = {
	    .data = 0, .data_end = (__u32)len, .ingress_ifindex = (__u32)w->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = out_cap, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog, &opts)) {
		xw_err("test run failed: %s", strerror(errno));
		return -1;
	}
	if (out_len)
		*out_len = opts.data_size_out;
	if (verdict)
		*verdict = opts.retval;
	if (duration)
		*duration = opts.duration;
	return 0;
}

/* steer_xdp_stats_v1 summed over CPUs. */
static inline int xw_stats(const struct xw *w, struct steer_xdp_stats *sum)
{
	size_t stride = (sizeof(*sum) + 7) & ~(size_t)7;
	unsigned char *v = calloc((size_t)w->ncpus, stride);
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (!v || bpf_map_lookup_elem(w->stats, &zero, v)) {
		xw_err("cannot read %s: %s", STEER_MAP_XDP_STATS, strerror(errno));
		free(v);
		return -1;
	}
	for (int c = 0; c < w->ncpus; c++) {
		const __u64 *src = (const __u64 *)(v + (size_t)c * stride);
		__u64 *dst = (__u64 *)sum;

		for (size_t i = 0; i < sizeof(*sum) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
	free(v);
	return 0;
}

/* Every key of a hash map deleted; returns how many there were, or -1.
 * The keys are collected first: a walk restarts from the first bucket
 * after each delete, which over a large map is quadratic. */
static inline long xw_clear(int fd, const char *what)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	unsigned char *keys = NULL, *prev = NULL;
	long n = 0, cap = 0, ret = -1;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		xw_err("cannot read %s: %s", what, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			unsigned char *k;

			cap = cap ? 2 * cap : 4096;
			k = realloc(keys, (size_t)cap * info.key_size);
			if (!k) {
				xw_err("out of memory");
				goto out;
			}
			keys = k;
			prev = n ? keys + (size_t)(n - 1) * info.key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, keys + (size_t)n * info.key_size))
			break;
		prev = keys + (size_t)n * info.key_size;
		n++;
	}
	for (long i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, keys + (size_t)i * info.key_size) && errno != ENOENT) {
			xw_err("cannot empty %s: %s", what, strerror(errno));
			goto out;
		}
	}
	ret = n;
out:
	free(keys);
	return ret;
}

/* Keys in a hash map now. */
static inline long xw_count(int fd)
{
	unsigned char key[64], next[64];
	long n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

#endif /* STEER_BENCH_XDP_WORLD_H */
