/* Kernel prerequisites: bpffs, a cgroup v2 hierarchy, BTF. Mounts what is
 * missing instead of failing. */
#ifndef STEER_SYSPREP_H
#define STEER_SYSPREP_H

#include <stddef.h>

#define STEER_BPFFS_MOUNT   "/sys/fs/bpf"
#define STEER_CGROUP2_MOUNT "/run/steer/cgroup2"

/* Mount bpffs at /sys/fs/bpf if nothing is there, check that pin_dir's parent
 * is on a bpf filesystem, and create pin_dir (mode 0700). */
int sysprep_pin_dir(const char *pin_dir, char *err, size_t errlen);

/* Is path on a bpf filesystem? */
int sysprep_is_bpffs(const char *path);

/* The mount point of a cgroup v2 hierarchy, from mountinfo, or a fresh mount
 * at STEER_CGROUP2_MOUNT when there is none. */
int sysprep_cgroup2_root(char *out, size_t len, char *err, size_t errlen);

/* Find a cgroup v2 mount point in a mountinfo file (no side effects).
 * Returns 0 and fills out, -ENOENT if there is none, another negative errno
 * if the file cannot be read. */
int mountinfo_find_cgroup2(const char *mountinfo, char *out, size_t len);

/* Open the cgroup v2 directory to attach to: path, or the root if path is
 * empty. Returns an O_RDONLY fd or -1 with err set. */
int sysprep_open_cgroup(const char *path, char *resolved, size_t len, char *err, size_t errlen);

/* Make tracepoints attachable: mount tracefs at /sys/kernel/tracing if no
 * tracing directory is reachable. Returns 0, or -1 with err set. */
int sysprep_tracefs(char *err, size_t errlen);

/* 0 if the kernel exposes BTF, else -1 with err set (a warning, not fatal:
 * the datapath uses UAPI types only). */
int sysprep_check_btf(char *err, size_t errlen);

#endif
