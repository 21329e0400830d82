/*
 * Unit tests for agent/replica/: the arguments of `steer replica-setup`,
 * the plan it prints (and --apply works through) for IPv4 and IPv6 VIPs,
 * the sysctl names and their records, and the tunnel-module lookup against
 * a fake root directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/steer_abi.h"
#include "replica/replica_kmod.h"
#include "replica/replica_plan.h"
#include "replica/replica_sysctl.h"

#define MAX_ARGS 8

/* Parse a blank-separated argument line. */
static int parse(const char *line, struct replica_opts *o, char *err, size_t errlen)
{
	char buf[512], *argv[MAX_ARGS], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < MAX_ARGS;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return replica_opts_parse(argc, argv, o, err, errlen);
}

static void test_vip_alone_prints_the_plan_with_the_default_pin_dir(void **state)
{
	struct replica_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse("--vip 198.18.100.1", &o, err, sizeof(err)), 0);
	assert_int_equal(o.action, REPLICA_PLAN);
	assert_int_equal(o.vip.family, STEER_FAMILY_V4);
	assert_int_equal(o.vip.addr[0], htonl(0xc6126401));
	assert_int_equal(o.vip.port, 0);
	assert_string_equal(o.iface, "");
	assert_string_equal(o.pin_dir, REPLICA_PIN_DIR);
}

static void test_every_option_in_both_spellings(void **state)
{
	struct replica_opts o;
	char err[256];

	(void)state;
	assert_int_equal(
	    parse("--apply --vip=fd00:100::1 --iface eth0.100 --pin-dir /sys/fs/bpf/r/", &o, err,
		  sizeof(err)),
	    0);
	assert_int_equal(o.action, REPLICA_APPLY);
	assert_int_equal(o.vip.family, STEER_FAMILY_V6);
	assert_int_equal(o.vip.addr[0], htonl(0xfd000100));
	assert_int_equal(o.vip.addr[3], htonl(1));
	assert_string_equal(o.iface, "eth0.100");
	assert_string_equal(o.pin_dir, "/sys/fs/bpf/r"); /* trailing '/' dropped */
	assert_int_equal(parse("--vip 198.18.100.1 --remove --iface=veth1", &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.action, REPLICA_REMOVE);
	assert_string_equal(o.iface, "veth1");
}

/* Each refused argument line, and what its message must say. */
static const struct {
	const char *args, *says;
} refused[] = {
    {"--vip 1.2.3", "--vip '1.2.3': not an IPv4 or IPv6 address (accepted: "},
    {"--vip 198.18.100.1:80", "--vip '198.18.100.1:80': not an IPv4 or IPv6 address"},
    {"--vip [fd00::1]:80", "--vip '[fd00::1]:80': not an IPv4 or IPv6 address"},
    {"--vip 198.18.100.0/24", "--vip '198.18.100.0/24': not an IPv4 or IPv6 address"},
    {"--vip web.example", "--vip 'web.example': not an IPv4 or IPv6 address"},
    {"--vip 0.0.0.0", "--vip '0.0.0.0': the unspecified address"},
    {"--vip 127.0.0.2", "--vip '127.0.0.2': a loopback address"},
    {"--vip 239.1.1.1", "--vip '239.1.1.1': a multicast address"},
    {"--vip 255.255.255.255", "--vip '255.255.255.255': the broadcast address"},
    {"--vip ::", "--vip '::': the unspecified address"},
    {"--vip ::1", "--vip '::1': the loopback address"},
    {"--vip ff02::1", "--vip 'ff02::1': a multicast address"},
    {"--vip fe80::1", "--vip 'fe80::1': a link-local address"},
    {"--vip ::ffff:198.18.100.1", "an IPv4-mapped address (give the IPv4 address)"},
    {"--vip 198.18.100.1 --iface a/b", "--iface 'a/b': not an interface name (accepted: 1-15"},
    {"--vip 198.18.100.1 --iface a:1", "--iface 'a:1': not an interface name"},
    {"--vip 198.18.100.1 --iface 0123456789abcdef", "--iface '0123456789abcdef': not an"},
    {"--vip 198.18.100.1 --iface ..", "--iface '..': not an interface name"},
    {"--vip 198.18.100.1 --iface=", "--iface '': not an interface name"},
    {"--vip 198.18.100.1 --pin-dir relative", "--pin-dir 'relative': not an absolute path"},
    {"--vip 198.18.100.1 --pin-dir /", "--pin-dir '/': not an absolute path"},
    {"--vip 198.18.100.1 --pin-dir /sys/fs/bpf/a.b", "'a.b' has a '.', which bpffs refuses"},
    {"--vip 198.18.100.1 --iface", "--iface: missing its value"},
    {"--vip", "--vip: missing its value"},
    {"--iface eth0", "missing --vip VIP"},
    {"", "missing --vip VIP"},
    {"--vip 198.18.100.1 --vip 198.18.100.2", "--vip given twice"},
    {"--vip 198.18.100.1 --apply --remove", "--apply and --remove exclude each other"},
    {"--vip 198.18.100.1 --force", "unknown argument '--force' (accepted: --vip VIP"},
    {"--vip 198.18.100.1 extra", "unknown argument 'extra'"},
    {"--vipx 198.18.100.1", "unknown argument '--vipx'"},
};

static void test_bad_arguments_are_named_in_the_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct replica_opts o;
		char err[512] = "";

		if (parse(refused[i].args, &o, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", refused[i].args);
		if (!strstr(err, refused[i].says))
			fail_msg("'%s': error '%s' does not say '%s'", refused[i].args, err,
				 refused[i].says);
	}
}

static void test_a_long_pin_dir_is_refused(void **state)
{
	char line[REPLICA_PIN_DIR_MAX + 64], err[512];
	struct replica_opts o;
	int at;

	(void)state;
	at = snprintf(line, sizeof(line), "--vip 198.18.100.1 --pin-dir /sys/fs/bpf/");
	memset(line + at, 'd', REPLICA_PIN_DIR_MAX);
	line[at + REPLICA_PIN_DIR_MAX] = '\0';
	assert_int_equal(parse(line, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an absolute path to a directory"));
}

/* The plan as text. */
static void plan_text(const char *args, const char *iface, enum kmod_state tunnel, char *out,
		      size_t len)
{
	struct replica_opts o;
	struct replica_plan plan;
	char err[256];
	FILE *f = fmemopen(out, len, "w");

	assert_non_null(f);
	assert_int_equal(parse(args, &o, err, sizeof(err)), 0);
	replica_plan_build(&o, iface, tunnel, &plan);
	replica_plan_print(&plan, f);
	fclose(f);
}

static void test_ipv4_plan(void **state)
{
	char text[4096];

	(void)state;
	plan_text("--vip 198.18.100.1", "eth0", KMOD_ABSENT, text, sizeof(text));
	assert_string_equal(
	    text,
	    "# steer replica-setup --apply for VIP 198.18.100.1, tunnelled to this host on eth0:\n"
	    "sysctl -w net.ipv4.conf.all.arp_ignore=1  # answer ARP only for addresses of the "
	    "interface asked: not the VIP\n"
	    "sysctl -w net.ipv4.conf.all.arp_announce=2  # never announce the VIP as an ARP "
	    "source\n"
	    "sysctl -w net.ipv4.conf.eth0.rp_filter=0  # the unwrapped packet comes from the "
	    "client, wherever it is\n"
	    "sysctl -w net.ipv4.conf.all.rp_filter=2  # or 0: the stricter of all and the "
	    "interface applies\n"
	    "# attach steer's decap XDP program to eth0 (pinned in /sys/fs/bpf/steer-replica), "
	    "198.18.100.1 in its map steer_decap_vips_v1\n"
	    "ip addr add 198.18.100.1/32 dev lo\n"
	    "# kernel-tunnel alternative to the decap program (this kernel: ipip absent): ip link "
	    "add steer-ipip type ipip external && ip link set steer-ipip up\n");
}

static void test_ipv6_plan_has_no_sysctl(void **state)
{
	char text[4096];

	(void)state;
	plan_text("--vip fd00:100::1 --pin-dir /sys/fs/bpf/r6", "ens3", KMOD_LOADED, text,
		  sizeof(text));
	assert_string_equal(
	    text, "# steer replica-setup --apply for VIP fd00:100::1, tunnelled to this host on "
		  "ens3:\n"
		  "# (IPv6 needs no sysctl: neighbour discovery answers only for the addresses of "
		  "the interface asked, and IPv6 has no rp_filter)\n"
		  "# attach steer's decap XDP program to ens3 (pinned in /sys/fs/bpf/r6), "
		  "fd00:100::1 in its map steer_decap_vips_v1\n"
		  "ip addr add fd00:100::1/128 dev lo\n"
		  "# kernel-tunnel alternative to the decap program (this kernel: ip6_tunnel "
		  "loaded): ip link add steer-ip6tnl type ip6tnl external && ip link set "
		  "steer-ip6tnl up\n");
}

static void test_plan_steps_carry_what_apply_writes(void **state)
{
	struct replica_opts o;
	struct replica_plan plan;
	char err[256];
	int sysctls = 0, decap = 0, addr = 0;

	(void)state;
	assert_int_equal(parse("--vip 198.18.100.1", &o, err, sizeof(err)), 0);
	replica_plan_build(&o, "eth0.100", KMOD_AVAILABLE, &plan);
	for (int i = 0; i < plan.n; i++) {
		const struct replica_step *s = &plan.steps[i];

		sysctls += s->kind == STEP_SYSCTL;
		decap += s->kind == STEP_DECAP;
		addr += s->kind == STEP_ADDR;
		if (s->kind == STEP_SYSCTL && strstr(s->sysctl, "eth0")) {
			/* sysctl(8) writes the dot of a VLAN interface as '/' */
			assert_string_equal(s->sysctl, "net.ipv4.conf.eth0/100.rp_filter");
			assert_int_equal(s->want, 0);
			assert_int_equal(s->also_ok, -1);
		}
		if (s->kind == STEP_SYSCTL && !strcmp(s->sysctl, "net.ipv4.conf.all.rp_filter")) {
			assert_int_equal(s->want, 2);
			assert_int_equal(s->also_ok, 0);
		}
		if (s->kind == STEP_SYSCTL && !strcmp(s->sysctl, "net.ipv4.conf.all.arp_ignore")) {
			assert_int_equal(s->want, 1);
			assert_int_equal(s->also_ok, 2);
		}
	}
	assert_int_equal(sysctls, 4);
	assert_int_equal(decap, 1);
	assert_int_equal(addr, 1);
	assert_non_null(strstr(plan.steps[plan.n - 1].line, "ipip installed, not loaded"));
}

static void test_sysctl_path_turns_dots_into_slashes_and_back(void **state)
{
	char path[256];

	(void)state;
	replica_sysctl_path("net.ipv4.conf.all.arp_ignore", path, sizeof(path));
	assert_string_equal(path, "/proc/sys/net/ipv4/conf/all/arp_ignore");
	replica_sysctl_path("net.ipv4.conf.eth0/100.rp_filter", path, sizeof(path));
	assert_string_equal(path, "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
}

static void test_sysctl_record_names_have_no_dot(void **state)
{
	char name[256];

	(void)state;
	sysctl_record_name("net.ipv4.conf.all.arp_ignore", name, sizeof(name));
	assert_string_equal(name, "sysctl_was@net@ipv4@conf@all@arp_ignore");
	sysctl_record_name("net.ipv4.conf.eth0/100.rp_filter", name, sizeof(name));
	assert_string_equal(name, "sysctl_was@net@ipv4@conf@eth0:100@rp_filter");
}

/* Records in a plain temporary directory behave as they do on bpffs. */
static void test_sysctl_record_keeps_the_first_value(void **state)
{
	char dir[] = "/tmp/steer-test-replica-XXXXXX", path[512], target[128];
	char err[256];
	ssize_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_false(sysctl_recorded(dir, "net.ipv4.conf.all.arp_ignore"));
	assert_int_equal(sysctl_record(dir, "net.ipv4.conf.all.arp_ignore", 0, err, sizeof(err)),
			 0);
	assert_int_equal(sysctl_record(dir, "net.ipv4.conf.all.arp_ignore", 1, err, sizeof(err)),
			 0);
	assert_true(sysctl_recorded(dir, "net.ipv4.conf.all.arp_ignore"));
	snprintf(path, sizeof(path), "%s/sysctl_was@net@ipv4@conf@all@arp_ignore", dir);
	n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "net.ipv4.conf.all.arp_ignore=0");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[512], sub[512];
	FILE *f;

	for (const char *p = rel; (p = strchr(p, '/')); p++) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(p - rel), rel);
		mkdir(sub, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_kmod_state_from_sysfs_proc_and_module_lists(void **state)
{
	char root[] = "/tmp/steer-test-kmod-XXXXXX", cmd[600];

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(kmod_state(root, "6.1.0", "ipip"), KMOD_ABSENT);
	write_file(root, "lib/modules/6.1.0/modules.dep",
		   "kernel/net/ipv4/ip_tunnel.ko.xz:\n"
		   "kernel/net/ipv4/ipip.ko.xz: kernel/net/ipv4/ip_tunnel.ko.xz\n");
	assert_int_equal(kmod_state(root, "6.1.0", "ipip"), KMOD_AVAILABLE);
	assert_int_equal(kmod_state(root, "6.1.0", "ip6_tunnel"), KMOD_ABSENT);
	assert_int_equal(kmod_state(root, "6.1.0", "ip"), KMOD_ABSENT); /* not a prefix match */
	write_file(root, "lib/modules/6.1.0/modules.builtin", "kernel/net/ipv6/ip6_tunnel.ko\n");
	assert_int_equal(kmod_state(root, "6.1.0", "ip6_tunnel"), KMOD_LOADED);
	assert_int_equal(kmod_state(root, "6.2.0", "ip6_tunnel"), KMOD_ABSENT); /* other kernel */
	write_file(root, "proc/modules", "ipip_x 16384 0 - Live 0x0\nipip 16384 0 - Live 0x0\n");
	assert_int_equal(kmod_state(root, "6.2.0", "ipip"), KMOD_LOADED);
	write_file(root, "sys/module/sit/refcnt", "0\n");
	assert_int_equal(kmod_state(root, "6.2.0", "sit"), KMOD_LOADED);
	assert_string_equal(kmod_tunnel_name(STEER_FAMILY_V4), "ipip");
	assert_string_equal(kmod_tunnel_name(STEER_FAMILY_V6), "ip6_tunnel");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vip_alone_prints_the_plan_with_the_default_pin_dir),
	    cmocka_unit_test(test_every_option_in_both_spellings),
	    cmocka_unit_test(test_bad_arguments_are_named_in_the_error),
	    cmocka_unit_test(test_a_long_pin_dir_is_refused),
	    cmocka_unit_test(test_ipv4_plan),
	    cmocka_unit_test(test_ipv6_plan_has_no_sysctl),
	    cmocka_unit_test(test_plan_steps_carry_what_apply_writes),
	    cmocka_unit_test(test_sysctl_path_turns_dots_into_slashes_and_back),
	    cmocka_unit_test(test_sysctl_record_names_have_no_dot),
	    cmocka_unit_test(test_sysctl_record_keeps_the_first_value),
	    cmocka_unit_test(test_kmod_state_from_sysfs_proc_and_module_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
