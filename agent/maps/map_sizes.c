#include "maps/map_sizes.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config/limits.h"
#include "lib/log.h"
#include "bpf/steer_abi.h"

/* What a map's size follows. */
enum size_kind {
	BY_SERVICE, /* indexed or keyed by service id (or key) */
	BY_BANK,    /* by steer_bank_index(): two per service */
	BY_REPLICA, /* by replica id, or one entry per replica endpoint */
	BY_SLOT,    /* steer_slots_v1 and what is indexed like it */
};

static const struct {
	const char *name;
	enum size_kind kind;
} sized_maps[] = {
    {STEER_MAP_SERVICES, BY_SERVICE},
    {STEER_MAP_SVC_STATS, BY_SERVICE},
    {STEER_MAP_SVC_NAMES, BY_SERVICE},
    {STEER_MAP_HOLD_STATS, BY_SERVICE},
    {STEER_MAP_RELAY_STATS, BY_SERVICE},
    {STEER_MAP_CHECK_STATS, BY_SERVICE},
    {STEER_MAP_LB_STATS, BY_SERVICE},
    {STEER_MAP_BANKS, BY_BANK},
    {STEER_MAP_SLOT_RANGES, BY_BANK},
    {STEER_MAP_XDP_BANKS, BY_BANK},
    {STEER_MAP_MAGLEV, BY_BANK},
    {STEER_MAP_REPLICAS, BY_REPLICA},
    {STEER_MAP_REPLICA_STATS, BY_REPLICA},
    {STEER_MAP_REPLICA_ACTIVE, BY_REPLICA},
    {STEER_MAP_REPLICA_STATUS, BY_REPLICA},
    {STEER_MAP_REPLICA_RELAYED, BY_REPLICA},
    {STEER_MAP_BACKENDS, BY_REPLICA},
    {STEER_MAP_SLOTS, BY_SLOT},
    {STEER_MAP_SLOT_ATTRS, BY_SLOT},
};

#define NSIZED (sizeof(sized_maps) / sizeof(sized_maps[0]))

static int kind_of(const char *name)
{
	for (size_t i = 0; i < NSIZED; i++)
		if (!strcmp(sized_maps[i].name, name))
			return (int)sized_maps[i].kind;
	return -1;
}

/* max_entries of the map pinned as name under pin_dir, or 0 if none. */
static uint32_t pinned_size(const char *pin_dir, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	if (access(path, F_OK))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* Does the connect hook pinned under pin_dir (link_sock4_connect) read the
 * pinned slot ranges map? A program of a version before ranges reads the
 * slots at their fixed places; none pinned, none runs. */
static bool attached_hook_reads_ranges(const char *pin_dir, bool *attached)
{
	struct bpf_map_info minfo = {};
	struct bpf_link_info linfo = {};
	struct bpf_prog_info pinfo = {};
	__u32 ids[64], mlen = sizeof(minfo), llen = sizeof(linfo), plen = sizeof(pinfo);
	char path[PATH_MAX];
	int mfd, lfd, pfd = -1;
	bool reads = false;

	*attached = false;
	snprintf(path, sizeof(path), "%s/link_sock4_connect", pin_dir);
	if (access(path, F_OK))
		return false;
	lfd = bpf_obj_get(path);
	if (lfd < 0)
		return false;
	*attached = true;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, STEER_MAP_SLOT_RANGES);
	mfd = access(path, F_OK) ? -1 : bpf_obj_get(path);
	if (mfd >= 0 && !bpf_obj_get_info_by_fd(mfd, &minfo, &mlen) &&
	    !bpf_obj_get_info_by_fd(lfd, &linfo, &llen) &&
	    (pfd = bpf_prog_get_fd_by_id(linfo.prog_id)) >= 0) {
		pinfo.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
		pinfo.map_ids = (__u64)(unsigned long)ids;
		if (!bpf_obj_get_info_by_fd(pfd, &pinfo, &plen))
			for (__u32 i = 0; i < pinfo.nr_map_ids && i < 64; i++)
				reads = reads || ids[i] == minfo.id;
	}
	if (pfd >= 0)
		close(pfd);
	if (mfd >= 0)
		close(mfd);
	close(lfd);
	return reads;
}

static uint32_t size_for(enum size_kind kind, const struct steer_limits *l)
{
	switch (kind) {
	case BY_SERVICE:
		return l->services;
	case BY_BANK:
		return l->services * STEER_SLOT_BANKS;
	case BY_REPLICA:
		return l->replicas;
	case BY_SLOT:
		return l->slots;
	}
	return 0;
}

static void lower(uint32_t *limit, uint32_t pinned, const char *map, const char *var)
{
	if (pinned >= *limit)
		return;
	log_warn("%s is pinned with room for %u: %s is %u for this run, not %u (`steer down` "
		 "and a start make the maps at the size asked for)",
		 map, pinned, var, pinned, *limit);
	*limit = pinned;
}

int map_sizes_apply(struct bpf_object *obj, const char *pin_dir, int adopt, uint32_t *legacy_stride)
{
	struct steer_limits l = steer_limits;
	struct bpf_map *map;
	bool slots_pinned = false, attached = false;

	if (adopt) {
		l.slots = 0;
		bpf_object__for_each_map(map, obj)
		{
			int kind = kind_of(bpf_map__name(map));
			uint32_t got = kind < 0 ? 0 : pinned_size(pin_dir, bpf_map__name(map));

			if (!got)
				continue;
			if (!strcmp(bpf_map__name(map), STEER_MAP_SLOTS))
				slots_pinned = true;
			switch (kind) {
			case BY_SERVICE:
				lower(&l.services, got, bpf_map__name(map), "STEER_MAX_SERVICES");
				break;
			case BY_BANK:
				lower(&l.services, got / STEER_SLOT_BANKS, bpf_map__name(map),
				      "STEER_MAX_SERVICES");
				break;
			case BY_REPLICA:
				lower(&l.replicas, got, bpf_map__name(map), "STEER_MAX_REPLICAS");
				break;
			case BY_SLOT:
				if (!l.slots || got < l.slots)
					l.slots = got;
				break;
			}
		}
		/* Also after an agent that made the ranges map died before it
		 * replaced the programs: they still read the fixed places. */
		*legacy_stride =
		    slots_pinned && !attached_hook_reads_ranges(pin_dir, &attached) && attached
			? STEER_LEGACY_SLOT_STRIDE
			: 0;
		if (*legacy_stride && l.replicas_per_service > *legacy_stride) {
			log_warn("%s holds the slot layout of an older steer: at most %u replicas "
				 "per service until the agent is started again",
				 STEER_MAP_SLOTS, *legacy_stride);
			l.replicas_per_service = *legacy_stride;
		}
		if (!l.slots)
			l.slots = steer_limits_slot_entries(&l);
		steer_limits_set(&l);
	}
	bpf_object__for_each_map(map, obj)
	{
		int kind = kind_of(bpf_map__name(map));
		uint32_t want, got;
		int ret;

		if (kind < 0)
			continue;
		got = pinned_size(pin_dir, bpf_map__name(map));
		want = got ? got : size_for((enum size_kind)kind, &steer_limits);
		ret = bpf_map__set_max_entries(map, want);
		if (ret)
			return ret;
	}
	return 0;
}
