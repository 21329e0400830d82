#include "maps/kfeatures.h"

#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

struct feature {
	const char *name;
	enum bpf_prog_type prog; /* program type, or the type a helper is used from */
	enum bpf_map_type map;	 /* 0: not a map feature */
	enum bpf_func_id helper; /* 0: not a helper feature */
};

/* Everything bpf/steer.bpf.c relies on. */
static const struct feature features[] = {
    {"cgroup sock_addr programs", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, 0, 0},
    {"tracepoint programs", BPF_PROG_TYPE_TRACEPOINT, 0, 0},
    {"LRU hash maps", 0, BPF_MAP_TYPE_LRU_HASH, 0},
    {"per-CPU arrays", 0, BPF_MAP_TYPE_PERCPU_ARRAY, 0},
    {"ring buffers", 0, BPF_MAP_TYPE_RINGBUF, 0},
    {"array of maps (agent's reader barrier)", 0, BPF_MAP_TYPE_ARRAY_OF_MAPS, 0},
    {"bpf_set_retval in cgroup programs", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, 0, BPF_FUNC_set_retval},
    {"bpf_get_socket_cookie in cgroup programs", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, 0,
     BPF_FUNC_get_socket_cookie},
    {"bpf_for_each_map_elem in tracepoints", BPF_PROG_TYPE_TRACEPOINT, 0,
     BPF_FUNC_for_each_map_elem},
    {"bpf_ringbuf_reserve in tracepoints", BPF_PROG_TYPE_TRACEPOINT, 0, BPF_FUNC_ringbuf_reserve},
};

static int supported(const struct feature *f)
{
	if (f->helper)
		return libbpf_probe_bpf_helper(f->prog, f->helper, NULL);
	if (f->map)
		return libbpf_probe_bpf_map_type(f->map, NULL);
	return libbpf_probe_bpf_prog_type(f->prog, NULL);
}

int kfeatures_missing(char *buf, size_t len)
{
	size_t at = 0;
	int missing = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (supported(&features[i]) == 1)
			continue;
		missing++;
		if (at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
					       features[i].name);
	}
	return missing;
}
