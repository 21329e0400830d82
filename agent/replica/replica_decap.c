#include "replica/replica_decap.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/bpf_links.h"
#include "bpf/steer_abi.h"
#include "steer_decap.skel.h"

/* bpffs refuses names with a '.', which interface names may have, and
 * they may not have a ':'. */
static void link_pin_path(char *path, size_t len, const char *dir, const char *ifname)
{
	size_t at = (size_t)snprintf(path, len, "%s/" DECAP_LINK_PREFIX, dir);

	for (size_t i = 0; ifname[i] && at + 1 < len; i++)
		path[at++] = ifname[i] == '.' ? ':' : ifname[i];
	path[at < len ? at : len - 1] = '\0';
}

static struct steer_decap_vip vip_key(const struct endpoint *vip)
{
	struct steer_decap_vip key;

	memset(&key, 0, sizeof(key));
	key.family = vip->family;
	memcpy(key.addr, vip->addr, sizeof(key.addr));
	return key;
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* Is program id the same code as the one of fd? The tag is a hash of the
 * instructions with map references blanked, so two loads of one build
 * have the same. */
static bool same_program(__u32 id, int fd)
{
	struct bpf_prog_info a, b;
	int other = bpf_prog_get_fd_by_id(id);
	bool same;

	if (other < 0)
		return false;
	same = !prog_info(other, &a) && !prog_info(fd, &b) && a.type == b.type &&
	       !memcmp(a.tag, b.tag, sizeof(a.tag));
	close(other);
	return same;
}

/* Detach the link pinned at path, whoever else holds it, and unpin it. */
/* The link pinned for ifname, kept if it is an XDP link on ifindex (its
 * program replaced if it is another build's); else a new one. */
static int attach(struct steer_decap_bpf *skel, const char *path, const char *ifname,
		  unsigned ifindex, struct decap_report *r, char *err, size_t errlen)
{
	int prog = bpf_program__fd(skel->progs.decap_xdp);
	struct bpf_link_info info;
	struct bpf_prog_info pinfo;
	__u32 len = sizeof(info);
	int fd = access(path, F_OK) == 0 ? bpf_obj_get(path) : -1;

	memset(&info, 0, sizeof(info));
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
	    info.xdp.ifindex == ifindex) {
		r->prog_id = info.prog_id;
		if (!same_program(info.prog_id, prog)) {
			if (bpf_link_update(fd, prog, NULL)) {
				snprintf(err, errlen, "cannot update the program of %s: %s", path,
					 strerror(errno));
				close(fd);
				return -1;
			}
			r->updated = true;
			r->prog_id = prog_info(prog, &pinfo) ? 0 : pinfo.id;
		}
		close(fd);
		return 0;
	}
	if (fd >= 0) {
		close(fd);
		links_unpin(path); /* of an interface gone, or of another kind */
	}
	fd = links_xdp_create(prog, ifindex, 0, "the decap program", ifname, NULL, err, errlen);
	if (fd < 0 || links_pin_new(fd, path, err, errlen))
		return -1;
	r->attached = true;
	r->prog_id = prog_info(prog, &pinfo) ? 0 : pinfo.id;
	return 0;
}

static int add_vip(struct steer_decap_bpf *skel, const struct endpoint *vip, struct decap_report *r,
		   char *err, size_t errlen)
{
	struct steer_decap_vip key = vip_key(vip);
	struct bpf_map *map = skel->maps.steer_decap_vips_v1;
	__u8 one = 1, have;

	if (!bpf_map__lookup_elem(map, &key, sizeof(key), &have, sizeof(have), 0))
		return 0;
	if (bpf_map__update_elem(map, &key, sizeof(key), &one, sizeof(one), BPF_NOEXIST) &&
	    errno != EEXIST) {
		snprintf(err, errlen, "cannot add the VIP to " STEER_MAP_DECAP_VIPS ": %s%s",
			 strerror(errno),
			 errno == E2BIG ? " (the map is full: STEER_DECAP_VIPS VIPs at most)" : "");
		return -1;
	}
	r->vip_added = true;
	return 0;
}

int decap_apply(const char *pin_dir, const char *ifname, const struct endpoint *vip,
		struct decap_report *r, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	unsigned ifindex = if_nametoindex(ifname);
	struct steer_decap_bpf *skel;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!ifindex) {
		snprintf(err, errlen, "unknown interface '%s' in this network namespace", ifname);
		return -1;
	}
	link_pin_path(r->link_pin, sizeof(r->link_pin), pin_dir, ifname);
	skel = steer_decap_bpf__open_opts(&opts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the decap program: %s", strerror(errno));
		return -1;
	}
	ret = steer_decap_bpf__load(skel);
	if (ret) {
		snprintf(err, errlen,
			 "cannot load the decap program: %s (a map pinned in %s with another "
			 "layout also fails here)",
			 strerror(-ret), pin_dir);
		steer_decap_bpf__destroy(skel);
		return -1;
	}
	ret = attach(skel, r->link_pin, ifname, ifindex, r, err, errlen);
	if (!ret)
		ret = add_vip(skel, vip, r, err, errlen);
	steer_decap_bpf__destroy(skel); /* the pins keep maps and link */
	return ret;
}

int decap_remove_vip(const char *pin_dir, const struct endpoint *vip, bool *removed, int *left,
		     char *err, size_t errlen)
{
	struct steer_decap_vip key = vip_key(vip), k, next;
	char path[PATH_MAX];
	int fd, n = 0;

	*removed = false;
	*left = 0;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, STEER_MAP_DECAP_VIPS);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!bpf_map_delete_elem(fd, &key))
		*removed = true;
	else if (errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the VIP from %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	for (int ret = bpf_map_get_next_key(fd, NULL, &next); !ret && n <= STEER_DECAP_VIPS;
	     ret = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	close(fd);
	*left = n;
	return 0;
}

int decap_down(const char *pin_dir, void (*on_link)(const char *iface, void *), void *arg)
{
	const char *maps[] = {STEER_MAP_DECAP_VIPS, STEER_MAP_DECAP_STATS};
	DIR *d = opendir(pin_dir);
	char path[PATH_MAX];
	struct dirent *e;
	int removed = 0;

	while (d && (e = readdir(d))) {
		char name[IF_NAMESIZE + 1];
		size_t i = 0;

		if (strncmp(e->d_name, DECAP_LINK_PREFIX, strlen(DECAP_LINK_PREFIX)))
			continue;
		for (const char *p = e->d_name + strlen(DECAP_LINK_PREFIX);
		     *p && i + 1 < sizeof(name); p++)
			name[i++] = *p == ':' ? '.' : *p;
		name[i] = '\0';
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		if (links_unpin(path)) {
			removed++;
			if (on_link)
				on_link(name, arg);
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, maps[i]);
		removed += unlink(path) == 0;
	}
	return removed;
}
