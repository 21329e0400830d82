/*
 * Whether the running kernel has a module (ipip, ip6_tunnel), for the
 * plan's comment on the kernel's own tunnel as the alternative to steer's
 * decap program. Looks under a root directory so tests use a fake one.
 */
#ifndef STEER_REPLICA_KMOD_H
#define STEER_REPLICA_KMOD_H

enum kmod_state {
	KMOD_ABSENT,	/* neither loaded, built in nor installed */
	KMOD_LOADED,	/* loaded or built in: ready */
	KMOD_AVAILABLE, /* installed for this kernel, not loaded (modprobe) */
};

/* The module name of the tunnel of a family (STEER_FAMILY_V4 or _V6). */
const char *kmod_tunnel_name(int family);

/* name's state in root ("" for the running system): /sys/module/NAME,
 * /proc/modules, then modules.builtin and modules.dep of
 * /lib/modules/RELEASE. */
enum kmod_state kmod_state(const char *root, const char *release, const char *name);

/* "loaded", "available (modprobe NAME)", "absent". */
const char *kmod_state_name(enum kmod_state s);

#endif
