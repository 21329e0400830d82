#include "replica/replica_plan.h"

#include "config/env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "bpf/steer_abi.h"

#define VIP_ACCEPTED                                                                               \
	"an IPv4 or IPv6 unicast address without a port or prefix, such as 198.18.100.1 or "       \
	"fd00:100::1"
#define IFNAME_RULE "1-15 characters, no '/', ':' or blank, not '.' or '..'"
#define ARGS_ACCEPTED                                                                              \
	"--vip VIP, --iface IFACE, --pin-dir DIR, --apply, --remove; see `steer replica-setup "    \
	"--help`"

static int not_a_vip(const char *text, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "--vip '%s': %s (accepted: " VIP_ACCEPTED ")", text, why);
	return -1;
}

int replica_vip_parse(const char *text, struct endpoint *vip, char *err, size_t errlen)
{
	struct endpoint ep = {0};
	struct in6_addr a6;
	uint32_t a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		uint32_t h = ntohl(a4);

		if (h == 0)
			return not_a_vip(text, "the unspecified address", err, errlen);
		if (h >> 24 == 127)
			return not_a_vip(text, "a loopback address", err, errlen);
		if (h >> 28 == 0xe)
			return not_a_vip(text, "a multicast address", err, errlen);
		if (h == 0xffffffffu)
			return not_a_vip(text, "the broadcast address", err, errlen);
		ep.family = STEER_FAMILY_V4;
		ep.addr[0] = a4;
	} else if (inet_pton(AF_INET6, text, &a6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&a6))
			return not_a_vip(text, "the unspecified address", err, errlen);
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return not_a_vip(text, "the loopback address", err, errlen);
		if (IN6_IS_ADDR_MULTICAST(&a6))
			return not_a_vip(text, "a multicast address", err, errlen);
		if (IN6_IS_ADDR_LINKLOCAL(&a6))
			return not_a_vip(text, "a link-local address", err, errlen);
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return not_a_vip(text, "an IPv4-mapped address (give the IPv4 address)",
					 err, errlen);
		ep.family = STEER_FAMILY_V6;
		memcpy(ep.addr, &a6, sizeof(a6));
	} else {
		return not_a_vip(text, "not an IPv4 or IPv6 address", err, errlen);
	}
	*vip = ep;
	return 0;
}

/* The kernel's rule (dev_valid_name()), as STEER_XDP_IFACES applies it. */
bool replica_ifname_valid(const char *name)
{
	return env_iface_name_valid(name, strlen(name));
}

static int parse_pin_dir(const char *text, struct replica_opts *o, char *err, size_t errlen)
{
	size_t len = strlen(text);
	const char *last;

	while (len > 1 && text[len - 1] == '/')
		len--;
	if (text[0] != '/' || len < 2 || len >= sizeof(o->pin_dir)) {
		snprintf(err, errlen,
			 "--pin-dir '%s': not an absolute path to a directory (accepted: a "
			 "directory on a bpf filesystem, such as " REPLICA_PIN_DIR ")",
			 text);
		return -1;
	}
	memcpy(o->pin_dir, text, len);
	o->pin_dir[len] = '\0';
	last = strrchr(o->pin_dir, '/') + 1;
	if (strchr(last, '.')) {
		snprintf(err, errlen,
			 "--pin-dir '%s': '%s' has a '.', which bpffs refuses in names (accepted: "
			 "a directory on a bpf filesystem, such as " REPLICA_PIN_DIR ")",
			 text, last);
		return -1;
	}
	return 0;
}

/* argv[*i] is --name or --name=VALUE: the value, from the next argument
 * in the first case. NULL if argv[*i] is another argument; *missing if it
 * is this one without a value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

int replica_opts_parse(int argc, char **argv, struct replica_opts *o, char *err, size_t errlen)
{
	bool have_vip = false, apply = false, remove = false;

	memset(o, 0, sizeof(*o));
	snprintf(o->pin_dir, sizeof(o->pin_dir), "%s", REPLICA_PIN_DIR);
	for (int i = 0; i < argc; i++) {
		bool missing = false;
		const char *v;

		if ((v = opt_value(argc, argv, &i, "--vip", &missing))) {
			if (have_vip) {
				snprintf(err, errlen,
					 "--vip given twice (accepted: one VIP a run)");
				return -1;
			}
			if (replica_vip_parse(v, &o->vip, err, errlen))
				return -1;
			have_vip = true;
		} else if ((v = opt_value(argc, argv, &i, "--iface", &missing))) {
			if (!replica_ifname_valid(v)) {
				snprintf(
				    err, errlen,
				    "--iface '%s': not an interface name (accepted: " IFNAME_RULE
				    ")",
				    v);
				return -1;
			}
			snprintf(o->iface, sizeof(o->iface), "%s", v);
		} else if ((v = opt_value(argc, argv, &i, "--pin-dir", &missing))) {
			if (parse_pin_dir(v, o, err, errlen))
				return -1;
		} else if (missing) {
			snprintf(err, errlen, "%s: missing its value (accepted: " ARGS_ACCEPTED ")",
				 argv[i]);
			return -1;
		} else if (!strcmp(argv[i], "--apply")) {
			apply = true;
		} else if (!strcmp(argv[i], "--remove")) {
			remove = true;
		} else {
			snprintf(err, errlen, "unknown argument '%s' (accepted: " ARGS_ACCEPTED ")",
				 argv[i]);
			return -1;
		}
	}
	if (!have_vip) {
		snprintf(err, errlen, "missing --vip VIP (accepted: " VIP_ACCEPTED ")");
		return -1;
	}
	if (apply && remove) {
		snprintf(err, errlen, "--apply and --remove exclude each other (accepted: one)");
		return -1;
	}
	o->action = apply ? REPLICA_APPLY : remove ? REPLICA_REMOVE : REPLICA_PLAN;
	return 0;
}

char *replica_vip_text(const struct endpoint *vip, bool prefix, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN] = "?";
	bool v6 = vip->family == STEER_FAMILY_V6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, vip->addr, text, sizeof(text));
	if (prefix)
		snprintf(buf, len, "%s/%d", text, v6 ? 128 : 32);
	else
		snprintf(buf, len, "%s", text);
	return buf;
}

void replica_sysctl_path(const char *dotted, char *path, size_t len)
{
	size_t at = (size_t)snprintf(path, len, "/proc/sys/");

	for (size_t i = 0; dotted[i] && at + 1 < len; i++)
		path[at++] = dotted[i] == '.' ? '/' : dotted[i] == '/' ? '.' : dotted[i];
	path[at < len ? at : len - 1] = '\0';
}

static struct replica_step *add_step(struct replica_plan *plan, enum replica_step_kind kind)
{
	struct replica_step *s = &plan->steps[plan->n++];

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->also_ok = -1;
	return s;
}

/* A sysctl of interface iface ("all" or a name, whose dots sysctl(8)
 * writes as '/'), its line with a comment saying why. */
static void add_sysctl(struct replica_plan *plan, const char *iface, const char *leaf, int want,
		       int also_ok, const char *why)
{
	struct replica_step *s = add_step(plan, STEP_SYSCTL);
	char name[REPLICA_SYSCTL_LEN];
	size_t at = (size_t)snprintf(name, sizeof(name), "net.ipv4.conf.");

	for (size_t i = 0; iface[i] && at + 1 < sizeof(name); i++)
		name[at++] = iface[i] == '.' ? '/' : iface[i];
	snprintf(name + at, sizeof(name) - at, ".%s", leaf);
	memcpy(s->sysctl, name, sizeof(name));
	s->want = want;
	s->also_ok = also_ok;
	snprintf(s->line, sizeof(s->line), "sysctl -w %s=%d  # %s", name, want, why);
}

void replica_plan_build(const struct replica_opts *o, const char *iface, enum kmod_state tunnel,
			struct replica_plan *plan)
{
	bool v6 = o->vip.family == STEER_FAMILY_V6;
	const char *kmod = kmod_tunnel_name(o->vip.family);
	char vip[INET6_ADDRSTRLEN + 8], vip_prefix[INET6_ADDRSTRLEN + 8];
	struct replica_step *s;

	replica_vip_text(&o->vip, false, vip, sizeof(vip));
	replica_vip_text(&o->vip, true, vip_prefix, sizeof(vip_prefix));
	plan->n = 0;
	s = add_step(plan, STEP_NOTE);
	snprintf(s->line, sizeof(s->line),
		 "# steer replica-setup --apply for VIP %s, tunnelled to this host on %s:", vip,
		 iface);
	if (v6) {
		s = add_step(plan, STEP_NOTE);
		snprintf(s->line, sizeof(s->line),
			 "# (IPv6 needs no sysctl: neighbour discovery answers only for the "
			 "addresses of the interface asked, and IPv6 has no rp_filter)");
	} else {
		add_sysctl(plan, "all", "arp_ignore", 1, 2,
			   "answer ARP only for addresses of the interface asked: not the VIP");
		add_sysctl(plan, "all", "arp_announce", 2, -1,
			   "never announce the VIP as an ARP source");
		add_sysctl(plan, iface, "rp_filter", 0, -1,
			   "the unwrapped packet comes from the client, wherever it is");
		add_sysctl(plan, "all", "rp_filter", 2, 0,
			   "or 0: the stricter of all and the interface applies");
	}
	s = add_step(plan, STEP_DECAP);
	snprintf(s->line, sizeof(s->line),
		 "# attach steer's decap XDP program to %s (pinned in %s), %s in its map "
		 "steer_decap_vips_v1",
		 iface, o->pin_dir, vip);
	s = add_step(plan, STEP_ADDR);
	snprintf(s->line, sizeof(s->line), "ip addr add %s dev lo", vip_prefix);
	s = add_step(plan, STEP_NOTE);
	snprintf(s->line, sizeof(s->line),
		 "# kernel-tunnel alternative to the decap program (this kernel: %s %s): ip link "
		 "add steer-%s type %s external && ip link set steer-%s up",
		 kmod, kmod_state_name(tunnel), v6 ? "ip6tnl" : "ipip", v6 ? "ip6tnl" : "ipip",
		 v6 ? "ip6tnl" : "ipip");
}

void replica_plan_print(const struct replica_plan *plan, FILE *out)
{
	for (int i = 0; i < plan->n; i++)
		fprintf(out, "%s\n", plan->steps[i].line);
}

void replica_usage(FILE *out)
{
	fprintf(out,
		"Usage: steer replica-setup --vip VIP [--iface IFACE] [--pin-dir DIR]\n"
		"                           [--apply | --remove]\n"
		"\n"
		"Prepare this host as a replica of the XDP path: steer's node agent sends it\n"
		"the VIP's packets in IPv4-in-IPv4 or IPv6-in-IPv6, and the replica answers\n"
		"the clients directly.\n"
		"\n"
		"  --vip VIP      the VIP, an IPv4 or IPv6 address without a port\n"
		"  --iface IFACE  where the tunnelled packets arrive (default: the interface of\n"
		"                 the default route of the VIP's family)\n"
		"  --pin-dir DIR  where the decap program's link and maps are pinned (default\n"
		"                 " REPLICA_PIN_DIR ")\n"
		"  (neither)      print the plan: one shell line per step\n"
		"  --apply        do it: the VIP on lo, the sysctls (IPv4: arp_ignore=1,\n"
		"                 arp_announce=2, rp_filter 0 on IFACE and 0 or 2 for all), the\n"
		"                 decap XDP program on IFACE and the VIP in its map; a second\n"
		"                 run changes nothing, another VIP joins the same program\n"
		"  --remove       undo it for VIP: out of the map, off lo; with the last VIP,\n"
		"                 the program is detached, the pins and DIR removed and the\n"
		"                 sysctls restored to the values recorded in DIR before the\n"
		"                 first change\n"
		"\n"
		"Exit status: 0 success, 1 runtime failure, 2 invalid arguments.\n");
}
