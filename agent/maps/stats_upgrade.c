#include "maps/stats_upgrade.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lib/log.h"
#include "bpf/steer_abi.h"

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int stats_copy_v1(int v1_fd, int v2_fd, uint32_t value_size, size_t restart_off)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	unsigned char *val;
	int copied = 0, ret = 0;

	if (bpf_obj_get_info_by_fd(v1_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
	    info.value_size != value_size ||
	    (restart_off != STATS_KEEP_ALL && restart_off + sizeof(__u64) > value_size))
		return -EINVAL;
	val = malloc(value_size);
	if (!val)
		return -ENOMEM;
	for (__u32 id = 0; id < info.max_entries; id++) {
		if (bpf_map_lookup_elem(v1_fd, &id, val)) {
			ret = -errno;
			break;
		}
		if (restart_off != STATS_KEEP_ALL)
			memset(val + restart_off, 0, sizeof(__u64));
		if (all_zero(val, value_size))
			continue;
		if (bpf_map_update_elem(v2_fd, &id, val, BPF_NOEXIST) == 0) {
			copied++;
		} else if (errno != EEXIST) {
			ret = -errno;
			break;
		}
	}
	free(val);
	return ret ? ret : copied;
}

int stats_upgrade_from_v1(const char *pin_dir, const struct map_fds *fds)
{
	const struct {
		const char *v1, *v2;
		int v2_fd;
		uint32_t value_size;
		size_t restart_off;
	} maps[] = {
	    {STEER_MAP_HOLD_STATS_V1, STEER_MAP_HOLD_STATS, fds->hold_stats,
	     sizeof(struct steer_hold_stats), offsetof(struct steer_hold_stats, held_now)},
	    {STEER_MAP_RELAY_STATS_V1, STEER_MAP_RELAY_STATS, fds->relay_stats,
	     sizeof(struct steer_relay_stats), offsetof(struct steer_relay_stats, open)},
	    {STEER_MAP_CHECK_STATS_V1, STEER_MAP_CHECK_STATS, fds->check_stats,
	     sizeof(struct steer_check_stats), STATS_KEEP_ALL},
	};
	int total = 0, first_err = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		char path[PATH_MAX];
		int fd, n;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, maps[i].v1);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT) {
				log_warn("cannot open %s to carry its counters over: %s", path,
					 strerror(errno));
				first_err = first_err ? first_err : -errno;
			}
			continue;
		}
		n = stats_copy_v1(fd, maps[i].v2_fd, maps[i].value_size, maps[i].restart_off);
		close(fd);
		if (n == -EINVAL) {
			log_warn("%s is not an array of %u-byte values: its counters are not "
				 "carried over",
				 path, maps[i].value_size);
		} else if (n < 0) {
			log_warn("cannot carry %s over into %s: %s", path, maps[i].v2,
				 strerror(-n));
			first_err = first_err ? first_err : n;
		} else {
			log_info("carried the counters of %d service%s over from %s into %s", n,
				 n == 1 ? "" : "s", path, maps[i].v2);
			total += n;
		}
	}
	return first_err ? first_err : total;
}
