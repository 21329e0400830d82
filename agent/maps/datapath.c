#include "maps/datapath.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps/kfeatures.h"
#include "maps/map_sizes.h"
#include "xdp/vip_routes.h"
#include "xdp/xdp_path.h"
#include "lib/log.h"
#include "steer.skel.h"
#include "steer_xdp.skel.h"
#include "bpf/steer_abi.h"

#define LINK_PREFIX "link_"

/*
 * Every pin steer creates is named after a program (its link) or a map of the
 * skeleton, so `down` and the upgrade's prune walk the skeleton's own lists
 * and remove exactly these and nothing else. Opening the skeleton only
 * parses the embedded object; nothing reaches the kernel.
 */
static struct steer_bpf *open_for_names(void)
{
	struct steer_bpf *skel = steer_bpf__open();

	if (!skel)
		log_err("cannot open the BPF object to list its pins: %s", strerror(errno));
	return skel;
}

/* A map of ours that is pinned by name (not .rodata and the like). */
static bool is_pinned_map(const struct bpf_map *map)
{
	return !bpf_map__is_internal(map);
}

/* The last lines libbpf printed while loading: on failure they carry the
 * verifier's verdict, which the agent shows instead of a bare errno. */
#define LOAD_LOG_LINES 12
static char load_log[LOAD_LOG_LINES][256];
static unsigned int load_log_next;
static libbpf_print_fn_t load_log_forward;

static int capture_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	va_list copy;
	char *line = load_log[load_log_next++ % LOAD_LOG_LINES];
	size_t n;

	va_copy(copy, args);
	vsnprintf(line, sizeof(load_log[0]), fmt, copy);
	va_end(copy);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	/* The whole log is for debugging; the tail is shown on failure. */
	return load_log_forward && level == LIBBPF_DEBUG ? load_log_forward(level, fmt, args) : 0;
}

static void report_load_failure(void)
{
	char missing[512];
	unsigned int first = load_log_next > LOAD_LOG_LINES ? load_log_next - LOAD_LOG_LINES : 0;

	log_err("the kernel refused the datapath; libbpf's and the verifier's last lines:");
	for (unsigned int i = first; i < load_log_next; i++)
		if (load_log[i % LOAD_LOG_LINES][0])
			log_err("  %s", load_log[i % LOAD_LOG_LINES]);
	if (kfeatures_missing(missing, sizeof(missing)))
		log_err("this kernel lacks: %s", missing);
}

/*
 * steer_revnat_v1 is only read now (by sockets steered before an upgrade),
 * so it is adopted at the size it was pinned with (libbpf reuses a pin only
 * if the sizes match) and, on a node that never had it, made as small as
 * an LRU of per-CPU lists can be: one entry per CPU.
 */
int datapath_size_legacy_revnat(struct bpf_map *map, const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, cpus;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
	fd = access(path, F_OK) == 0 ? bpf_obj_get(path) : -1;
	if (fd >= 0) {
		int ret = bpf_obj_get_info_by_fd(fd, &info, &len);

		close(fd);
		return ret ? 0 : bpf_map__set_max_entries(map, info.max_entries);
	}
	cpus = libbpf_num_possible_cpus();
	return bpf_map__set_max_entries(map, cpus > 0 ? (__u32)cpus : 1);
}

int datapath_load(struct datapath *dp, const char *pin_dir, uint32_t eject_after_failures,
		  char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int ret;

	memset(dp, 0, sizeof(*dp));
	dp->skel = steer_bpf__open_opts(&opts);
	if (!dp->skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	dp->skel->rodata->eject_after_failures = eject_after_failures;
	ret = datapath_size_legacy_revnat(dp->skel->maps.steer_revnat_v1, pin_dir);
	if (!ret)
		ret = map_sizes_apply(dp->skel->obj, pin_dir, 1, &dp->legacy_slot_stride);
	if (ret) {
		snprintf(err, errlen, "cannot size the maps: %s", strerror(-ret));
		steer_bpf__destroy(dp->skel);
		dp->skel = NULL;
		return -1;
	}
	load_log_next = 0;
	load_log_forward = libbpf_set_print(capture_libbpf);
	ret = steer_bpf__load(dp->skel);
	libbpf_set_print(load_log_forward);
	if (ret) {
		report_load_failure();
		snprintf(err, errlen,
			 "cannot load the BPF datapath: %s (the reason is logged above; a pinned "
			 "map with another layout also fails here: `steer down` removes it)",
			 strerror(-ret));
		steer_bpf__destroy(dp->skel);
		dp->skel = NULL;
		return -1;
	}
	return 0;
}

static unsigned long long cgroup_id_of_fd(int fd)
{
	struct stat st;

	/* On cgroup v2 the directory's inode number is the cgroup id. */
	return fstat(fd, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static unsigned long long link_cgroup_id(const struct bpf_link *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return 0;
	return info.cgroup.cgroup_id;
}

/* Attach prog to the cgroup and pin the link at path (replacing any pin). */
static int attach_new(struct bpf_program *prog, int cgroup_fd, const char *path, char *err,
		      size_t errlen)
{
	struct bpf_link *link = bpf_program__attach_cgroup(prog, cgroup_fd);
	int ret;

	if (!link) {
		snprintf(err, errlen, "cannot attach %s: %s", bpf_program__name(prog),
			 strerror(errno));
		return -1;
	}
	/* An old pin (other cgroup) goes only after the new link is live. */
	if (unlink(path) && errno != ENOENT)
		log_warn("cannot remove old link pin %s: %s", path, strerror(errno));
	ret = bpf_link__pin(link, path);
	if (ret) {
		snprintf(err, errlen, "cannot pin link %s: %s", path, strerror(-ret));
		bpf_link__destroy(link);
		return -1;
	}
	bpf_link__destroy(link); /* closes our fd; the pin keeps it attached */
	return 0;
}

/*
 * A tracepoint link cannot be updated in place: attach the new program
 * first, then replace the pin, which releases the old link. For a moment
 * both run; an ejection seen twice is still one ejection.
 */
static int attach_tracepoint(struct bpf_program *prog, const char *pin_dir, char *err,
			     size_t errlen)
{
	struct bpf_link *link = bpf_program__attach(prog);
	char path[PATH_MAX];
	int ret;

	if (!link) {
		snprintf(err, errlen, "cannot attach %s to %s: %s", bpf_program__name(prog),
			 bpf_program__section_name(prog), strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" LINK_PREFIX "%s", pin_dir, bpf_program__name(prog));
	if (unlink(path) && errno != ENOENT)
		log_warn("cannot remove old link pin %s: %s", path, strerror(errno));
	ret = bpf_link__pin(link, path);
	if (ret)
		snprintf(err, errlen, "cannot pin link %s: %s", path, strerror(-ret));
	bpf_link__destroy(link);
	return ret ? -1 : 0;
}

static bool is_iterator(const struct bpf_program *prog)
{
	return bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
	       bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER;
}

int datapath_attach(struct datapath *dp, int cgroup_fd, const char *pin_dir, char *err,
		    size_t errlen)
{
	unsigned long long want_cg = cgroup_id_of_fd(cgroup_fd);
	struct bpf_program *prog;
	char path[PATH_MAX];

	bpf_object__for_each_program(prog, dp->skel->obj)
	{
		struct bpf_link *link;

		if (is_iterator(prog))
			continue; /* run by datapath_sweep(), attached to nothing */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACEPOINT ||
		    bpf_program__type(prog) == BPF_PROG_TYPE_TRACING) {
			if (attach_tracepoint(prog, pin_dir, err, errlen))
				return -1;
			continue;
		}

		snprintf(path, sizeof(path), "%s/" LINK_PREFIX "%s", pin_dir,
			 bpf_program__name(prog));
		/* access() first: libbpf warns about every failed open. */
		link = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
		if (link && link_cgroup_id(link) == want_cg) {
			int ret = bpf_link__update_program(link, prog);

			bpf_link__destroy(link);
			if (ret) {
				snprintf(err, errlen, "cannot update pinned link %s: %s", path,
					 strerror(-ret));
				return -1;
			}
			dp->adopted++;
			continue;
		}
		if (link) {
			log_warn("%s is attached to another cgroup (id %llu); moving it to id %llu",
				 path, link_cgroup_id(link), want_cg);
			bpf_link__destroy(link);
		}
		if (attach_new(prog, cgroup_fd, path, err, errlen))
			return -1;
		dp->attached++;
	}
	return 0;
}

/* Is name one of this version's maps, e.g. "steer_svc_v1"? */
static bool is_current_map(const struct bpf_object *obj, const char *name)
{
	const struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		if (is_pinned_map(map) && !strcmp(name, bpf_map__name(map)))
			return true;
	}
	return false;
}

/* "steer_<x>_v<N>": a map pin of some steer version. */
static bool is_versioned_map_pin(const char *name)
{
	const char *v = strrchr(name, '_');

	return !strncmp(name, "steer_", 6) && v && v[1] == 'v' && v[2] >= '0' && v[2] <= '9' &&
	       strspn(v + 2, "0123456789") == strlen(v + 2);
}

int datapath_prune_old_maps(const char *pin_dir)
{
	struct steer_bpf *skel = open_for_names();
	/* The XDP path's maps are current too, loaded or not. */
	struct steer_xdp_bpf *xdp = skel ? steer_xdp_bpf__open() : NULL;
	DIR *d = xdp ? opendir(pin_dir) : NULL;
	struct dirent *e;
	int removed = 0;

	if (!d) {
		steer_xdp_bpf__destroy(xdp);
		steer_bpf__destroy(skel);
		return -1;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (!is_versioned_map_pin(e->d_name) || is_current_map(skel->obj, e->d_name) ||
		    is_current_map(xdp->obj, e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		if (unlink(path) == 0) {
			log_info("removed %s: a map of an older layout, no longer used", path);
			removed++;
		}
	}
	closedir(d);
	steer_xdp_bpf__destroy(xdp);
	steer_bpf__destroy(skel);
	return removed;
}

/* Run one iterator to its end: its program does the work as it visits. */
static int run_iterator(struct bpf_program *prog, struct bpf_link **link)
{
	char buf[256];
	ssize_t n;
	int fd, ret = 0;

	if (!*link) {
		*link = bpf_program__attach_iter(prog, NULL);
		if (!*link) {
			ret = -errno;
			*link = NULL;
			return ret;
		}
	}
	fd = bpf_iter_create(bpf_link__fd(*link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int datapath_sweep(struct datapath *dp, bool tcp, char *err, size_t errlen)
{
	int ret = run_iterator(dp->skel->progs.sock_sweep_udp, &dp->sweep_udp);

	if (ret) {
		snprintf(err, errlen, "cannot sweep UDP sockets: %s", strerror(-ret));
		return -1;
	}
	ret = tcp ? run_iterator(dp->skel->progs.sock_sweep_tcp, &dp->sweep_tcp) : 0;
	if (ret) {
		snprintf(err, errlen, "cannot sweep TCP sockets: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

void datapath_close(struct datapath *dp)
{
	bpf_link__destroy(dp->sweep_udp); /* NULL-safe */
	bpf_link__destroy(dp->sweep_tcp);
	dp->sweep_udp = dp->sweep_tcp = NULL;
	steer_bpf__destroy(dp->skel); /* NULL-safe; pins stay */
	dp->skel = NULL;
}

int datapath_is_pinned(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, STEER_MAP_SERVICES);
	return access(path, F_OK) == 0;
}

int datapath_down(const char *pin_dir, char *err, size_t errlen)
{
	struct steer_bpf *skel = open_for_names();
	struct bpf_program *prog;
	const struct bpf_map *map;
	char path[PATH_MAX];
	int removed = 0;

	if (!skel) {
		snprintf(err, errlen, "cannot list the pins to remove: %s", strerror(errno));
		return -1;
	}
	removed += xdp_path_down(pin_dir);
	if (vip_routes_sync(NULL, 0, err, errlen) < 0)
		log_warn("%s", err);
	bpf_object__for_each_program(prog, skel->obj)
	{
		int fd;

		snprintf(path, sizeof(path), "%s/" LINK_PREFIX "%s", pin_dir,
			 bpf_program__name(prog));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		/* Detach explicitly: another holder of the link fd must not keep the
		 * hook alive after `down`. */
		/* Perf-event links (the tracepoint) have no detach: unpinning
		 * the last reference releases them. */
		if (bpf_link_detach(fd) && errno != EOPNOTSUPP && errno != EINVAL)
			log_warn("cannot detach %s: %s", path, strerror(errno));
		close(fd);
		if (unlink(path) == 0)
			removed++;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		if (!is_pinned_map(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		if (unlink(path) == 0)
			removed++;
		else if (errno != ENOENT)
			log_warn("cannot remove %s: %s", path, strerror(errno));
	}
	steer_bpf__destroy(skel);
	/* Maps of an older version that no agent of this one has pruned. */
	if (access(pin_dir, F_OK) == 0) {
		int old = datapath_prune_old_maps(pin_dir);

		removed += old > 0 ? old : 0;
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		snprintf(err, errlen, "removed %d pins, but %s is not empty: %s", removed, pin_dir,
			 strerror(errno));
		return -1;
	}
	return removed;
}
