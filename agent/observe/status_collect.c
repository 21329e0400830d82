/* The walk `steer status` does over the pinned maps: services -> active slot
 * bank -> replicas, plus the per-service and per-replica counters. */
#include "observe/status_collect.h"

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

static int load_service(const struct map_fds *fds, struct svc_view *sv)
{
	struct steer_svc_name name = {};
	uint64_t counters[3];

	if (bpf_map_lookup_elem(fds->svc, &sv->key, &sv->val))
		return -errno;
	if (sv->val.svc_id >= STEER_MAX_SERVICES || sv->val.count > STEER_MAX_SLOTS ||
	    sv->val.bank >= STEER_SLOT_BANKS)
		return -EUCLEAN;
	if (bpf_map_lookup_elem(fds->names, &sv->val.svc_id, &name) == 0)
		memcpy(sv->name, name.name, sizeof(sv->name) - 1);
	bpf_map_lookup_elem(fds->hold_stats, &sv->val.svc_id, &sv->hold);
	if (map_percpu_sum(fds->svc_stats, sv->val.svc_id, counters, 3) == 0) {
		sv->stats.steered = counters[0];
		sv->stats.misses = counters[1];
		sv->stats.errors = counters[2];
	}
	for (uint32_t i = 0; i < sv->val.count; i++) {
		uint32_t idx = steer_slot_index(sv->val.svc_id, sv->val.bank, i);
		struct replica_view *rv = &sv->replicas[sv->nreplicas];
		struct steer_slot slot;

		if (bpf_map_lookup_elem(fds->slots, &idx, &slot) ||
		    bpf_map_lookup_elem(fds->replicas, &slot.replica_id, &rv->r))
			continue;
		rv->id = slot.replica_id;
		map_percpu_sum(fds->replica_stats, rv->id, &rv->steered, 1);
		bpf_map_lookup_elem(fds->replica_status, &rv->id, &rv->st);
		{
			struct steer_backend_key bk;
			struct endpoint ep;

			replica_decode(&rv->r, &ep);
			backend_key_encode(&ep, IPPROTO_TCP, &bk);
			if (sv->key.proto == IPPROTO_TCP)
				bpf_map_lookup_elem(fds->backends, &bk, &rv->b);
		}
		sv->nreplicas++;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct svc_view *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int status_collect(const char *pin_dir, struct status_snapshot *s, char *err, size_t errlen)
{
	struct svc_view *views = calloc(STEER_MAX_SERVICES, sizeof(*views));
	struct steer_svc_key key, prev;
	const struct steer_svc_key *prevp = NULL;
	struct map_fds fds;
	int n = 0, ret;

	if (!views) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ret = map_fds_open_pinned(&fds, pin_dir, 0);
	if (ret) {
		snprintf(err, errlen,
			 "no steer datapath pinned under %s (%s); is STEER_BPFFS right?", pin_dir,
			 strerror(-ret));
		free(views);
		return -1;
	}
	while (n < STEER_MAX_SERVICES && bpf_map_get_next_key(fds.svc, prevp, &key) == 0) {
		prev = key;
		prevp = &prev;
		views[n].key = key;
		if (load_service(&fds, &views[n]) == 0)
			n++;
		else
			memset(&views[n], 0, sizeof(views[n]));
	}
	map_fds_close(&fds);
	qsort(views, (size_t)n, sizeof(*views), by_name);
	s->nservices = n;
	s->services = views;
	return 0;
}
