/* A metrics snapshot from the pinned maps: the walk `steer status` does,
 * services -> active slot bank -> replicas, with per-CPU counters summed. */
#include "observe/metrics_collect.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/addr.h"
#include "maps/keys.h"
#include "maps/mapops.h"

static void load_replica(const struct map_fds *fds, uint8_t proto, uint32_t id,
			 const struct steer_replica *r, struct metrics_replica *out)
{
	struct steer_backend_key bk;
	struct steer_backend be = {};
	struct endpoint ep;

	replica_decode(r, &ep);
	endpoint_format(&ep, out->addr, sizeof(out->addr));
	out->state = r->state;
	map_percpu_sum(fds->replica_stats, id, &out->steered, 1);
	if (proto == IPPROTO_TCP) {
		backend_key_encode(&ep, IPPROTO_TCP, &bk);
		if (bpf_map_lookup_elem(fds->backends, &bk, &be) == 0)
			out->failed_connects = be.failed_connects;
	}
}

/* One service and the replicas of its active slot bank. */
static int load_service(const struct map_fds *fds, const struct steer_svc_key *key,
			struct metrics_service *svc)
{
	struct steer_svc_name name = {};
	struct steer_svc_value val;
	struct endpoint vip;
	uint64_t counters[3];

	if (bpf_map_lookup_elem(fds->svc, key, &val))
		return -errno;
	if (val.svc_id >= STEER_MAX_SERVICES || val.count > STEER_MAX_SLOTS ||
	    val.bank >= STEER_SLOT_BANKS)
		return -EUCLEAN;
	svc_key_decode(key, &vip, &svc->proto);
	/* The config accepts no '#' in a name, so this fallback is unique. */
	if (bpf_map_lookup_elem(fds->names, &val.svc_id, &name) == 0 && name.name[0])
		memcpy(svc->name, name.name, sizeof(svc->name) - 1);
	else
		snprintf(svc->name, sizeof(svc->name), "#%u", val.svc_id);
	if (map_percpu_sum(fds->svc_stats, val.svc_id, counters, 3) == 0) {
		svc->stats.steered = counters[0];
		svc->stats.misses = counters[1];
		svc->stats.errors = counters[2];
	}
	bpf_map_lookup_elem(fds->hold_stats, &val.svc_id, &svc->hold);
	bpf_map_lookup_elem(fds->check_stats, &val.svc_id, &svc->checks);
	for (uint32_t i = 0; i < val.count; i++) {
		uint32_t idx = steer_slot_index(val.svc_id, val.bank, i);
		struct steer_replica r;
		struct steer_slot slot;

		if (bpf_map_lookup_elem(fds->slots, &idx, &slot) ||
		    bpf_map_lookup_elem(fds->replicas, &slot.replica_id, &r))
			continue;
		load_replica(fds, svc->proto, slot.replica_id, &r, &svc->replicas[svc->nreplicas]);
		svc->nreplicas++;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct metrics_service *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int metrics_collect(const char *pin_dir, struct metrics_snapshot *s)
{
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	int ret;

	s->nservices = 0;
	s->services = calloc(STEER_MAX_SERVICES, sizeof(*s->services));
	if (!s->services)
		return -ENOMEM;
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret)
		return ret;
	while (s->nservices < STEER_MAX_SERVICES &&
	       bpf_map_get_next_key(fds.svc, prevp, &key) == 0) {
		struct metrics_service *svc = &s->services[s->nservices];

		prev = key;
		prevp = &prev;
		if (load_service(&fds, &key, svc) == 0)
			s->nservices++;
		else
			memset(svc, 0, sizeof(*svc)); /* removed meanwhile */
	}
	map_fds_close(&fds);
	qsort(s->services, (size_t)s->nservices, sizeof(*s->services), by_name);
	return 0;
}
