#include "xdp/xdp_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "config/env.h"
#include "lib/bpf_links.h"
#include "lib/log.h"
#include "maps/datapath.h"
#include "maps/map_sizes.h"
#include "steer_xdp.skel.h"

/* Newer than the UAPI headers of Debian 12 (Linux 6.6 and later). */
#ifndef BPF_TCX_EGRESS
#define BPF_TCX_EGRESS 47
#endif
#define LINK_TYPE_TCX 11

#define PIN_XDP	   "link_xdp_steer@"
#define PIN_TC	   "link_tc_reply_unnat@"
#define PIN_LOOKUP "link_hold_lookup"

/* bpffs refuses names with a '.', which interface names may have; they
 * may not have a ':', so '.' is pinned as ':'. */
static void pin_path(char *path, size_t len, const char *dir, const char *prefix,
		     const char *ifname)
{
	size_t at = (size_t)snprintf(path, len, "%s/%s", dir, prefix);

	for (size_t i = 0; ifname[i] && at + 1 < len; i++)
		path[at++] = ifname[i] == '.' ? ':' : ifname[i];
	path[at < len ? at : len - 1] = '\0';
}

/* The interface name a pin name (after its prefix) stands for. */
static void pin_ifname(const char *pin, char *name, size_t len)
{
	size_t i = 0;

	for (; pin[i] && i + 1 < len; i++)
		name[i] = pin[i] == ':' ? '.' : pin[i];
	name[i] = '\0';
}

int xdp_path_load(struct xdp_path *xp, const char *pin_dir, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	uint32_t legacy;
	int ret;

	memset(xp, 0, sizeof(*xp));
	xp->skel = steer_xdp_bpf__open_opts(&opts);
	if (!xp->skel) {
		snprintf(err, errlen, "cannot open the XDP object: %s", strerror(errno));
		return -1;
	}
	ret = libbpf_num_possible_cpus();
	xp->skel->rodata->nr_cpus = ret > 0 ? (__u32)ret : 1;
	ret = datapath_size_legacy_revnat(xp->skel->maps.steer_revnat_v1, pin_dir);
	if (!ret)
		ret = map_sizes_apply(xp->skel->obj, pin_dir, 0, &legacy);
	if (!ret)
		ret = steer_xdp_bpf__load(xp->skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the XDP path: %s (a pinned map of another layout also "
			 "fails here: `steer down` removes it)",
			 strerror(-ret));
		steer_xdp_bpf__destroy(xp->skel);
		xp->skel = NULL;
		return -1;
	}
	return 0;
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static __u32 mode_flags(const char *mode)
{
	if (!strcmp(mode, "native"))
		return XDP_FLAGS_DRV_MODE;
	if (!strcmp(mode, "generic"))
		return XDP_FLAGS_SKB_MODE;
	return 0;
}

static const char *attach_mode_name(__u8 m)
{
	switch (m) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	default:
		return "";
	}
}

/* Is ifindex's XDP program attached the way mode asks? */
static bool mode_is(unsigned int ifindex, const char *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (!strcmp(mode, "auto"))
		return true;
	if (bpf_xdp_query((int)ifindex, 0, &q))
		return false;
	return !strcmp(attach_mode_name(q.attach_mode), mode);
}

/* Update the link pinned at path to prog if it is of type on ifindex
 * (and ok says so); else detach it. Returns 1 if adopted. */
static int adopt(struct xdp_path *xp, const char *path, struct bpf_program *prog, __u32 type,
		 unsigned int ifindex, bool ok, char *err, size_t errlen)
{
	struct bpf_link_info info;
	int fd, ret;

	if (access(path, F_OK))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return unlink(path), 0;
	ret = link_info(fd, &info);
	if (ret || info.type != type || info.xdp.ifindex != ifindex || !ok) {
		close(fd);
		links_unpin(path);
		return 0;
	}
	ret = bpf_link_update(fd, bpf_program__fd(prog), NULL);
	close(fd);
	if (ret) {
		snprintf(err, errlen, "cannot update pinned link %s: %s", path, strerror(errno));
		return -1;
	}
	xp->adopted++;
	return 1;
}

static int pin_new(struct xdp_path *xp, int fd, const char *path, char *err, size_t errlen)
{
	if (links_pin_new(fd, path, err, errlen))
		return -1;
	xp->attached++;
	return 0;
}

static int attach_iface(struct xdp_path *xp, const char *pin_dir, const char *name,
			const char *mode, char *err, size_t errlen)
{
	unsigned int ifindex = if_nametoindex(name);
	struct bpf_program *xdp = xp->skel->progs.xdp_steer;
	struct bpf_program *tc = xp->skel->progs.tc_reply_unnat;
	char path[PATH_MAX];
	int ret, fd;

	if (!ifindex) {
		snprintf(err, errlen,
			 "STEER_XDP_IFACES: no interface '%s' in this network namespace", name);
		return -1;
	}
	pin_path(path, sizeof(path), pin_dir, PIN_XDP, name);
	ret = adopt(xp, path, xdp, BPF_LINK_TYPE_XDP, ifindex, mode_is(ifindex, mode), err, errlen);
	if (ret < 0)
		return -1;
	if (!ret) {
		fd = links_xdp_create(bpf_program__fd(xdp), ifindex, mode_flags(mode), "XDP", name,
				      mode, err, errlen);
		if (fd < 0)
			return -1;
		if (pin_new(xp, fd, path, err, errlen))
			return -1;
	}
	pin_path(path, sizeof(path), pin_dir, PIN_TC, name);
	ret = adopt(xp, path, tc, LINK_TYPE_TCX, ifindex, true, err, errlen);
	if (ret < 0)
		return -1;
	if (!ret) {
		fd = bpf_link_create(bpf_program__fd(tc), (int)ifindex, BPF_TCX_EGRESS, NULL);
		if (fd < 0) {
			snprintf(err, errlen,
				 "cannot attach the reply rewrite to %s (tcx egress): %s", name,
				 strerror(errno));
			return -1;
		}
		if (pin_new(xp, fd, path, err, errlen))
			return -1;
	}
	return 0;
}

static unsigned long long netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static int attach_lookup(struct xdp_path *xp, const char *pin_dir, char *err, size_t errlen)
{
	struct bpf_program *prog = xp->skel->progs.hold_lookup;
	struct bpf_link_info info;
	char path[PATH_MAX];
	struct bpf_link *link;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/" PIN_LOOKUP, pin_dir);
	fd = access(path, F_OK) == 0 ? bpf_obj_get(path) : -1;
	if (fd >= 0) {
		if (link_info(fd, &info) == 0 && info.type == BPF_LINK_TYPE_NETNS &&
		    info.netns.netns_ino == netns_ino()) {
			ret = bpf_link_update(fd, bpf_program__fd(prog), NULL);
			close(fd);
			if (ret) {
				snprintf(err, errlen, "cannot update pinned link %s: %s", path,
					 strerror(errno));
				return -1;
			}
			xp->adopted++;
			return 0;
		}
		close(fd);
		links_unpin(path);
	}
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open /proc/self/ns/net: %s", strerror(errno));
		return -1;
	}
	link = bpf_program__attach_netns(prog, fd);
	close(fd);
	if (!link) {
		snprintf(err, errlen, "cannot attach sk_lookup to this network namespace: %s",
			 strerror(errno));
		return -1;
	}
	ret = bpf_link__pin(link, path);
	if (ret)
		snprintf(err, errlen, "cannot pin link %s: %s", path, strerror(-ret));
	else
		xp->attached++;
	bpf_link__destroy(link);
	return ret ? -1 : 0;
}

/* Is name one of the comma-separated ifaces? */
static bool listed(const char *ifaces, const char *name)
{
	const char *pos = ifaces;
	char one[ENV_IFNAMSIZ];

	while (env_ifaces_next(&pos, one))
		if (!strcmp(one, name))
			return true;
	return false;
}

/* Links of interfaces no longer listed (all of them with ifaces NULL). */
static int unpin_unlisted(const char *pin_dir, const char *ifaces)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	int removed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const char *pin = NULL;
		char path[PATH_MAX], name[IF_NAMESIZE + 1];

		if (!strncmp(e->d_name, PIN_XDP, strlen(PIN_XDP)))
			pin = e->d_name + strlen(PIN_XDP);
		else if (!strncmp(e->d_name, PIN_TC, strlen(PIN_TC)))
			pin = e->d_name + strlen(PIN_TC);
		if (!pin)
			continue;
		pin_ifname(pin, name, sizeof(name));
		if (ifaces && listed(ifaces, name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		removed += links_unpin(path);
	}
	closedir(d);
	return removed;
}

int xdp_path_attach(struct xdp_path *xp, const char *pin_dir, const char *ifaces, const char *mode,
		    char *err, size_t errlen)
{
	const char *pos = ifaces;
	char name[ENV_IFNAMSIZ];

	while (env_ifaces_next(&pos, name))
		if (attach_iface(xp, pin_dir, name, mode, err, errlen))
			return -1;
	xp->removed = unpin_unlisted(pin_dir, ifaces);
	return attach_lookup(xp, pin_dir, err, errlen);
}

void xdp_path_close(struct xdp_path *xp)
{
	steer_xdp_bpf__destroy(xp->skel); /* NULL-safe; pins stay */
	xp->skel = NULL;
}

int xdp_path_detach_links(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" PIN_LOOKUP, pin_dir);
	return unpin_unlisted(pin_dir, NULL) + links_unpin(path);
}

int xdp_path_down(const char *pin_dir)
{
	struct steer_xdp_bpf *skel = steer_xdp_bpf__open();
	const struct bpf_map *map;
	char path[PATH_MAX];
	int removed = xdp_path_detach_links(pin_dir);

	if (!skel)
		return removed;
	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(map));
		if (unlink(path) == 0)
			removed++;
	}
	steer_xdp_bpf__destroy(skel);
	return removed;
}

static int list_one(const char *path, const char *hook, const char *pin_iface,
		    struct xdp_attachment *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_link_info info;
	char here[IF_NAMESIZE];
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (link_info(fd, &info)) {
		close(fd);
		return 0;
	}
	close(fd);
	memset(a, 0, sizeof(*a));
	a->hook = hook;
	a->mode = "";
	a->prog_id = info.prog_id;
	if (info.type == BPF_LINK_TYPE_NETNS) {
		snprintf(a->iface, sizeof(a->iface), "netns");
		return 1;
	}
	/* The pin's name, not if_indextoname(): status may run in another
	 * network namespace than the agent. */
	pin_ifname(pin_iface, a->iface, sizeof(a->iface));
	a->ifindex = info.xdp.ifindex;
	a->defunct = !a->ifindex;
	/* The mode only where the index names the same interface here. */
	if (info.type == BPF_LINK_TYPE_XDP && !a->defunct && if_indextoname(a->ifindex, here) &&
	    !strcmp(here, a->iface) && !bpf_xdp_query((int)a->ifindex, 0, &q))
		a->mode = attach_mode_name(q.attach_mode);
	return 1;
}

int xdp_path_list(const char *pin_dir, struct xdp_attachment *out, int max)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		const char *hook = NULL, *iface = "";
		char path[PATH_MAX];

		if (!strncmp(e->d_name, PIN_XDP, strlen(PIN_XDP))) {
			hook = "xdp";
			iface = e->d_name + strlen(PIN_XDP);
		} else if (!strncmp(e->d_name, PIN_TC, strlen(PIN_TC))) {
			hook = "tcx egress";
			iface = e->d_name + strlen(PIN_TC);
		} else if (!strcmp(e->d_name, PIN_LOOKUP)) {
			hook = "sk_lookup";
		}
		if (!hook)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		n += list_one(path, hook, iface, &out[n]);
	}
	closedir(d);
	return n;
}
