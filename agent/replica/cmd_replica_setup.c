/*
 * `steer replica-setup`: print, apply or remove the plan of a replica host
 * of the XDP path (agent/replica/replica_plan.h). --apply works through the
 * plan's steps in order, each idempotent, and prints one line a step;
 * --remove undoes them for one VIP, and everything with the last VIP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf/steer_abi.h"
#include "core/commands.h"
#include "maps/sysprep.h"
#include "net/rtnl.h"
#include "replica/replica_decap.h"
#include "replica/replica_plan.h"
#include "replica/replica_sysctl.h"

#define EXIT_RUNTIME 1

static int fail(int status, const char *err)
{
	fprintf(stderr, "steer: replica-setup: %s\n", err);
	return status;
}

/* The interface the tunnelled packets arrive on: --iface, which must
 * exist here, else that of the default route of the VIP's family. */
static int resolve_iface(const struct replica_opts *o, char iface[IF_NAMESIZE], char *err,
			 size_t errlen)
{
	int ret;

	if (o->iface[0]) {
		if (!if_nametoindex(o->iface)) {
			snprintf(err, errlen,
				 "--iface '%s': unknown interface '%s' in this network namespace "
				 "(accepted: an interface that `ip link` lists)",
				 o->iface, o->iface);
			return EXIT_INVALID;
		}
		snprintf(iface, IF_NAMESIZE, "%s", o->iface);
		return 0;
	}
	ret = rtnl_default_route_iface(o->vip.family, iface, err, errlen);
	if (ret == -ENOENT) {
		snprintf(err, errlen,
			 "no default %s route in this network namespace to take the interface "
			 "from: pass --iface IFACE, the interface the tunnelled packets arrive on",
			 o->vip.family == STEER_FAMILY_V6 ? "IPv6" : "IPv4");
		return EXIT_INVALID;
	}
	return ret ? EXIT_RUNTIME : 0;
}

static enum kmod_state tunnel_module(int family)
{
	struct utsname u;

	if (uname(&u))
		return KMOD_ABSENT;
	return kmod_state("", u.release, kmod_tunnel_name(family));
}

/* bpffs at /sys/fs/bpf (mounted if missing), DIR's parent on a bpffs, DIR
 * made. Returns 0 or an exit status with err set. */
static int prepare_pin_dir(const char pin_dir[REPLICA_PIN_DIR_MAX], char *err, size_t errlen)
{
	char parent[REPLICA_PIN_DIR_MAX];

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	dirname(parent);
	if (strcmp(parent, STEER_BPFFS_MOUNT) && !sysprep_is_bpffs(parent)) {
		snprintf(err, errlen,
			 "--pin-dir '%s': %s is not a directory on a bpf filesystem (accepted: a "
			 "directory under " STEER_BPFFS_MOUNT " or another bpffs mount)",
			 pin_dir, parent);
		return EXIT_INVALID;
	}
	return sysprep_pin_dir(pin_dir, err, errlen) ? EXIT_RUNTIME : 0;
}

static int apply_sysctl(const struct replica_opts *o, const struct replica_step *s, int *changes,
			char *err, size_t errlen)
{
	int cur, ret = sysctl_read(s->sysctl, &cur);

	if (ret) {
		snprintf(err, errlen, "cannot read sysctl %s: %s", s->sysctl, strerror(-ret));
		return -1;
	}
	if (cur == s->want || cur == s->also_ok) {
		printf("sysctl %s=%d: unchanged\n", s->sysctl, cur);
		return 0;
	}
	if (sysctl_record(o->pin_dir, s->sysctl, cur, err, errlen))
		return -1;
	ret = sysctl_write(s->sysctl, s->want);
	if (ret) {
		snprintf(err, errlen, "cannot set sysctl %s=%d: %s", s->sysctl, s->want,
			 strerror(-ret));
		return -1;
	}
	printf("sysctl %s=%d (was %d; the last --remove restores it)\n", s->sysctl, s->want, cur);
	(*changes)++;
	return 0;
}

static int apply_decap(const struct replica_opts *o, const char *iface, const char *vip,
		       int *changes, char *err, size_t errlen)
{
	struct decap_report r;

	if (decap_apply(o->pin_dir, iface, &o->vip, &r, err, errlen))
		return -1;
	if (r.attached)
		printf("xdp: decap program attached to %s (prog id %u), link pinned at %s\n", iface,
		       r.prog_id, r.link_pin);
	else if (r.updated)
		printf("xdp: decap program on %s updated in place to this build's (prog id %u)\n",
		       iface, r.prog_id);
	else
		printf("xdp: decap program on %s: unchanged (prog id %u)\n", iface, r.prog_id);
	if (r.vip_added)
		printf("map: %s added to " STEER_MAP_DECAP_VIPS "\n", vip);
	else
		printf("map: %s in " STEER_MAP_DECAP_VIPS ": unchanged\n", vip);
	*changes += r.attached + r.updated + r.vip_added;
	return 0;
}

static int apply_addr(const struct replica_opts *o, int *changes, char *err, size_t errlen)
{
	char vip[INET6_ADDRSTRLEN + 8];
	bool v6 = o->vip.family == STEER_FAMILY_V6, changed;

	replica_vip_text(&o->vip, true, vip, sizeof(vip));
	if (rtnl_addr_change(true, "lo", &o->vip, v6 ? 128 : 32, &changed, err, errlen))
		return -1;
	printf(changed ? "addr: %s added to lo\n" : "addr: %s on lo: unchanged\n", vip);
	*changes += changed;
	return 0;
}

static int apply(const struct replica_opts *o, const struct replica_plan *plan, const char *iface)
{
	char err[512], vip[INET6_ADDRSTRLEN + 8];
	int changes = 0, ret = prepare_pin_dir(o->pin_dir, err, sizeof(err));

	if (ret)
		return fail(ret, err);
	replica_vip_text(&o->vip, false, vip, sizeof(vip));
	for (int i = 0; i < plan->n; i++) {
		const struct replica_step *s = &plan->steps[i];

		if (s->kind == STEP_SYSCTL)
			ret = apply_sysctl(o, s, &changes, err, sizeof(err));
		else if (s->kind == STEP_DECAP)
			ret = apply_decap(o, iface, vip, &changes, err, sizeof(err));
		else if (s->kind == STEP_ADDR)
			ret = apply_addr(o, &changes, err, sizeof(err));
		if (ret)
			return fail(EXIT_RUNTIME, err);
	}
	if (changes)
		printf("replica-setup: %s ready on %s (%d changes)\n", vip, iface, changes);
	else
		printf("replica-setup: %s ready on %s (nothing changed)\n", vip, iface);
	return 0;
}

static void print_detached(const char *iface, void *arg)
{
	int *changes = arg;

	printf("xdp: decap program detached from %s, link unpinned\n", iface);
	(*changes)++;
}

static void print_restored(const char *name, int value, void *arg)
{
	int *changes = arg;

	printf("sysctl %s=%d (restored)\n", name, value);
	(*changes)++;
}

/* With the last VIP: the links, the maps, the sysctls, the directory. */
static int remove_all(const struct replica_opts *o, int *changes, char *err, size_t errlen)
{
	int ret;

	if (decap_down(o->pin_dir, print_detached, changes) > 0)
		printf("pins: decap program's links and maps unpinned from %s\n", o->pin_dir);
	ret = sysctl_restore_all(o->pin_dir, print_restored, changes, err, errlen);
	if (ret < 0)
		return -1;
	if (rmdir(o->pin_dir) == 0) {
		printf("pins: removed %s\n", o->pin_dir);
		(*changes)++;
	} else if (errno != ENOENT) {
		fprintf(stderr, "steer: replica-setup: warning: %s left in place: %s\n", o->pin_dir,
			strerror(errno));
	}
	return 0;
}

static int remove_vip(const struct replica_opts *o)
{
	char err[512], vip[INET6_ADDRSTRLEN + 8], vip_prefix[INET6_ADDRSTRLEN + 8];
	bool v6 = o->vip.family == STEER_FAMILY_V6, removed, changed;
	int changes = 0, left = 0, ret;

	replica_vip_text(&o->vip, false, vip, sizeof(vip));
	replica_vip_text(&o->vip, true, vip_prefix, sizeof(vip_prefix));
	ret = decap_remove_vip(o->pin_dir, &o->vip, &removed, &left, err, sizeof(err));
	if (ret == -ENOENT)
		printf("map: no " STEER_MAP_DECAP_VIPS " pinned in %s\n", o->pin_dir);
	else if (ret)
		return fail(EXIT_RUNTIME, err);
	else if (removed)
		printf("map: %s removed from " STEER_MAP_DECAP_VIPS " (%d VIP%s left)\n", vip, left,
		       left == 1 ? "" : "s");
	else
		printf("map: %s was not in " STEER_MAP_DECAP_VIPS " (%d VIP%s left)\n", vip, left,
		       left == 1 ? "" : "s");
	changes += removed;
	if (rtnl_addr_change(false, "lo", &o->vip, v6 ? 128 : 32, &changed, err, sizeof(err)))
		return fail(EXIT_RUNTIME, err);
	printf(changed ? "addr: %s removed from lo\n" : "addr: %s was not on lo\n", vip_prefix);
	changes += changed;
	if (left == 0) {
		if (remove_all(o, &changes, err, sizeof(err)))
			return fail(EXIT_RUNTIME, err);
	} else {
		printf("xdp: the decap program stays for the other VIP%s\n", left == 1 ? "" : "s");
	}
	if (changes)
		printf("replica-setup: %s removed (%d changes)\n", vip, changes);
	else
		printf("replica-setup: %s removed (nothing changed)\n", vip);
	return 0;
}

int cmd_replica_setup(const struct steer_env *env, int argc, char **argv)
{
	struct replica_opts o;
	struct replica_plan plan;
	char err[512], iface[IF_NAMESIZE];
	int ret;

	(void)env;
	if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		replica_usage(stdout);
		return 0;
	}
	if (replica_opts_parse(argc, argv, &o, err, sizeof(err)))
		return fail(EXIT_INVALID, err);
	if (o.action == REPLICA_REMOVE)
		return remove_vip(&o);
	ret = resolve_iface(&o, iface, err, sizeof(err));
	if (ret)
		return fail(ret, err);
	replica_plan_build(&o, iface, tunnel_module(o.vip.family), &plan);
	if (o.action == REPLICA_PLAN) {
		replica_plan_print(&plan, stdout);
		return 0;
	}
	return apply(&o, &plan, iface);
}
