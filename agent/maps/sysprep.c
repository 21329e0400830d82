#include "maps/sysprep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <libmount/libmount.h>
#include <linux/magic.h>

static int fs_type_is(const char *path, unsigned long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (unsigned long)st.f_type == magic;
}

int sysprep_is_bpffs(const char *path)
{
	return fs_type_is(path, BPF_FS_MAGIC);
}

/* mkdir -p, each new component with mode. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int sysprep_pin_dir(const char *pin_dir, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	char *slash;

	if (!sysprep_is_bpffs(STEER_BPFFS_MOUNT)) {
		if (mkdir_p(STEER_BPFFS_MOUNT, 0755) ||
		    mount("bpf", STEER_BPFFS_MOUNT, "bpf", 0, "mode=0700")) {
			snprintf(err, errlen, "cannot mount bpffs at %s: %s", STEER_BPFFS_MOUNT,
				 strerror(errno));
			return -1;
		}
	}
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!sysprep_is_bpffs(parent)) {
		snprintf(err, errlen,
			 "STEER_BPFFS='%s': %s is not on a bpf filesystem (accepted: a path "
			 "under %s or another bpffs mount)",
			 pin_dir, parent, STEER_BPFFS_MOUNT);
		return -1;
	}
	/* Only root may read or change the pins, even if an older run (or
	 * someone else) left the directory more open. */
	if ((mkdir(pin_dir, 0700) && errno != EEXIST) || chmod(pin_dir, 0700)) {
		snprintf(err, errlen, "cannot create pin directory %s with mode 0700: %s", pin_dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* The first cgroup2 mount, in the kernel's order, whose mount point fits out
 * wins. libmount unescapes the mount point (\040 is a space, \134 a
 * backslash) and takes the fstype from after the " - " separator, so neither
 * a cgroup v1 mount ("cgroup") nor a tmpfs whose source is "cgroup2" ever
 * matches; lines it cannot parse are skipped. */
int mountinfo_find_cgroup2(const char *mountinfo, char *out, size_t len)
{
	struct libmnt_table *table = mnt_new_table();
	struct libmnt_iter *iter = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int ret;

	if (!table || !iter) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = mnt_table_parse_file(table, mountinfo);
	if (ret < 0)
		goto cleanup;
	ret = -ENOENT;
	while (mnt_table_next_fs(table, iter, &fs) == 0) {
		const char *fstype = mnt_fs_get_fstype(fs), *target = mnt_fs_get_target(fs);

		if (!fstype || strcmp(fstype, "cgroup2") != 0 || !target)
			continue;
		if (snprintf(out, len, "%s", target) < (int)len) {
			ret = 0;
			break;
		}
	}
cleanup:
	mnt_free_iter(iter);
	mnt_unref_table(table);
	return ret;
}

int sysprep_cgroup2_root(char *out, size_t len, char *err, size_t errlen)
{
	int ret = mountinfo_find_cgroup2("/proc/self/mountinfo", out, len);

	if (ret == 0)
		return 0;
	if (mkdir_p(STEER_CGROUP2_MOUNT, 0755) ||
	    mount("cgroup2", STEER_CGROUP2_MOUNT, "cgroup2", 0, NULL)) {
		snprintf(err, errlen,
			 "no cgroup v2 hierarchy is mounted and mounting one at %s failed: %s",
			 STEER_CGROUP2_MOUNT, strerror(errno));
		return -1;
	}
	snprintf(out, len, "%s", STEER_CGROUP2_MOUNT);
	return 0;
}

int sysprep_open_cgroup(const char *path, char *resolved, size_t len, char *err, size_t errlen)
{
	int fd;

	if (!path || !*path) {
		if (sysprep_cgroup2_root(resolved, len, err, errlen))
			return -1;
	} else {
		snprintf(resolved, len, "%s", path);
	}
	if (!fs_type_is(resolved, CGROUP2_SUPER_MAGIC)) {
		snprintf(err, errlen,
			 "STEER_CGROUP='%s': not a directory of a cgroup v2 filesystem (accepted: "
			 "an existing cgroup v2 directory, or empty for the v2 root)",
			 resolved);
		return -1;
	}
	fd = open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "cannot open cgroup %s: %s", resolved, strerror(errno));
	return fd;
}

int sysprep_check_btf(char *err, size_t errlen)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return 0;
	snprintf(err, errlen, "kernel BTF (/sys/kernel/btf/vmlinux) is missing: %s",
		 strerror(errno));
	return -1;
}

int sysprep_tracefs(char *err, size_t errlen)
{
	/* libbpf looks in debugfs's tracing directory, else in tracefs's. */
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		snprintf(err, errlen, "cannot mount tracefs at /sys/kernel/tracing: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}
