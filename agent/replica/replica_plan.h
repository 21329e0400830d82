/*
 * `steer replica-setup`: what a replica host of the XDP path needs, as a
 * plan of steps. Pure: the arguments are parsed and the plan built without
 * I/O (the interface of the default route and the kernel's tunnel modules
 * are looked up by the caller), so unit tests check both, and the printed
 * plan is the list --apply works through.
 */
#ifndef STEER_REPLICA_PLAN_H
#define STEER_REPLICA_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>

#include "lib/addr.h"
#include "replica/replica_kmod.h"

#define REPLICA_PIN_DIR	    "/sys/fs/bpf/steer-replica"
#define REPLICA_PIN_DIR_MAX 160 /* room for the pin names under it */

enum replica_action {
	REPLICA_PLAN,	/* print the plan */
	REPLICA_APPLY,	/* --apply */
	REPLICA_REMOVE, /* --remove */
};

struct replica_opts {
	struct endpoint vip;	 /* port 0 */
	char iface[IF_NAMESIZE]; /* "": the interface of the default route */
	char pin_dir[REPLICA_PIN_DIR_MAX];
	enum replica_action action;
};

/* Parse the arguments after "replica-setup" ("--opt VALUE" or
 * "--opt=VALUE"). Returns 0, or -1 with err naming the bad argument or
 * value and what is accepted. */
int replica_opts_parse(int argc, char **argv, struct replica_opts *o, char *err, size_t errlen);

/* A VIP: an IPv4 or IPv6 unicast address, without a port. */
int replica_vip_parse(const char *text, struct endpoint *vip, char *err, size_t errlen);

/* An interface name as the kernel takes it. */
bool replica_ifname_valid(const char *name);

enum replica_step_kind {
	STEP_ADDR,   /* the VIP on lo */
	STEP_SYSCTL, /* one sysctl */
	STEP_DECAP,  /* the decap program on the interface, the VIP in its map */
	STEP_NOTE,   /* a comment: nothing to do */
};

#define REPLICA_SYSCTL_LEN 80
#define REPLICA_LINE_LEN   512
#define REPLICA_STEPS_MAX  12

struct replica_step {
	enum replica_step_kind kind;
	char sysctl[REPLICA_SYSCTL_LEN]; /* STEP_SYSCTL: the dotted name */
	int want;			 /* STEP_SYSCTL: the value written */
	int also_ok;			 /* STEP_SYSCTL: a value left as it is; -1: none */
	char line[REPLICA_LINE_LEN];	 /* as printed: a shell line or a comment */
};

struct replica_plan {
	struct replica_step steps[REPLICA_STEPS_MAX];
	int n;
};

/* The plan for o's VIP, its tunnelled packets arriving on iface; tunnel:
 * whether this kernel has the tunnel module of the VIP's family (for the
 * comment on the kernel's own tunnel as the alternative). */
void replica_plan_build(const struct replica_opts *o, const char *iface, enum kmod_state tunnel,
			struct replica_plan *plan);

void replica_plan_print(const struct replica_plan *plan, FILE *out);

/* The file under /proc/sys of a dotted sysctl name: dots are the
 * separators, a '/' stands for a dot inside a name ("eth0/100" is
 * interface eth0.100), as sysctl(8) writes them. */
void replica_sysctl_path(const char *dotted, char *path, size_t len);

/* The VIP as text, without a port, and with its prefix length ("/32",
 * "/128") when prefix is true. */
char *replica_vip_text(const struct endpoint *vip, bool prefix, char *buf, size_t len);

/* `steer replica-setup --help`. */
void replica_usage(FILE *out);

#endif
