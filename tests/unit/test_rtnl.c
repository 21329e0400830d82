/*
 * Unit tests for agent/net/rtnl.c: the requests it builds, read back
 * attribute by attribute, and which kernel answers count as "already
 * done". Then, as root, the calls themselves in a fresh network namespace
 * of a child process (unshare), which vanishes with it: add twice, remove
 * twice, and the default route's interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "bpf/steer_abi.h"
#include "net/rtnl.h"

static struct endpoint ep(const char *text)
{
	struct endpoint e = {0};

	if (inet_pton(AF_INET, text, e.addr) == 1) {
		e.family = STEER_FAMILY_V4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, e.addr), 1);
		e.family = STEER_FAMILY_V6;
	}
	return e;
}

struct attrs {
	const struct nlattr *tb[64];
};

static int keep_attr(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;

	if (mnl_attr_get_type(attr) < 64)
		a->tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void assert_attr_bytes(const struct nlattr *attr, const void *want, size_t len)
{
	assert_non_null(attr);
	assert_int_equal(mnl_attr_get_payload_len(attr), len);
	assert_memory_equal(mnl_attr_get_payload(attr), want, len);
}

static void test_local_route_add_is_ip_route_add_local(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct endpoint vip = ep("198.18.100.1");
	struct nlmsghdr *nlh = rtnl_local_route_msg(buf, true, &vip, 1, 77);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct attrs a = {0};

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(nlh->nlmsg_seq, 77);
	assert_true(nlh->nlmsg_len <= RTNL_MSG_MAX);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 32);
	assert_int_equal(rtm->rtm_table, RT_TABLE_LOCAL);
	assert_int_equal(rtm->rtm_protocol, RTNL_STEER_PROTO);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_HOST);
	assert_int_equal(rtm->rtm_type, RTN_LOCAL);
	assert_true(mnl_attr_parse(nlh, sizeof(*rtm), keep_attr, &a) >= 0);
	assert_attr_bytes(a.tb[RTA_DST], vip.addr, 4);
	assert_int_equal(mnl_attr_get_u32(a.tb[RTA_TABLE]), RT_TABLE_LOCAL);
	assert_int_equal(mnl_attr_get_u32(a.tb[RTA_OIF]), 1);
}

static void test_local_route_del_of_ipv6_is_a_128(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct endpoint vip = ep("fd00:100::1");
	struct nlmsghdr *nlh = rtnl_local_route_msg(buf, false, &vip, 1, 78);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct attrs a = {0};

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_DELROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 128);
	/* only steer's own route: the kernel's of a configured address stays */
	assert_int_equal(rtm->rtm_protocol, RTNL_STEER_PROTO);
	assert_true(mnl_attr_parse(nlh, sizeof(*rtm), keep_attr, &a) >= 0);
	assert_attr_bytes(a.tb[RTA_DST], vip.addr, 16);
}

static void test_addr_msgs_carry_local_and_address(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct endpoint v4 = ep("198.18.100.1"), v6 = ep("fd00:100::1");
	struct nlmsghdr *nlh = rtnl_addr_msg(buf, true, 7, &v4, 32, 5);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs a = {0};

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 32);
	assert_int_equal(ifa->ifa_index, 7);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	assert_true(mnl_attr_parse(nlh, sizeof(*ifa), keep_attr, &a) >= 0);
	assert_attr_bytes(a.tb[IFA_LOCAL], v4.addr, 4);
	assert_attr_bytes(a.tb[IFA_ADDRESS], v4.addr, 4);

	nlh = rtnl_addr_msg(buf, false, 1, &v6, 64, 6);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_DELADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 64);
	memset(&a, 0, sizeof(a));
	assert_true(mnl_attr_parse(nlh, sizeof(*ifa), keep_attr, &a) >= 0);
	assert_attr_bytes(a.tb[IFA_LOCAL], v6.addr, 16);
}

static void test_prefix_longer_than_the_family_is_refused(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct endpoint v4 = ep("198.18.100.1"), v6 = ep("fd00:100::1");

	(void)state;
	assert_null(rtnl_addr_msg(buf, true, 1, &v4, 33, 1));
	assert_null(rtnl_addr_msg(buf, true, 1, &v6, 129, 1));
	assert_non_null(rtnl_addr_msg(buf, true, 1, &v6, 128, 1));
}

static void test_already_done_answers(void **state)
{
	(void)state;
	assert_true(rtnl_already_route(true, EEXIST));
	assert_true(rtnl_already_route(false, ESRCH));
	assert_false(rtnl_already_route(true, ESRCH));
	assert_false(rtnl_already_route(false, EEXIST));
	assert_false(rtnl_already_route(true, EPERM));
	assert_true(rtnl_already_addr(true, EEXIST));
	assert_true(rtnl_already_addr(false, EADDRNOTAVAIL));
	assert_false(rtnl_already_addr(false, ESRCH));
	assert_false(rtnl_already_addr(true, ENODEV));
}

/* --- In a network namespace of our own (root only). Each check returns
 * NULL or what went wrong; the child writes it to the parent. */

static char why[512];

static const char *shell_says(const char *cmd, const char *want, bool present)
{
	char out[4096] = "";
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return "popen failed";
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	if ((strstr(out, want) != NULL) == present)
		return NULL;
	snprintf(why, sizeof(why), "`%s` %s '%s': %s", cmd, present ? "lacks" : "still shows", want,
		 out);
	return why;
}

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return ret;
}

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			snprintf(why, sizeof(why), "line %d: %s (%s)", __LINE__, #expr, err);      \
			return why;                                                                \
		}                                                                                  \
	} while (0)
#define CHECK_SHELL(cmd, want, present)                                                            \
	do {                                                                                       \
		const char *w__ = shell_says(cmd, want, present);                                  \
		if (w__)                                                                           \
			return w__;                                                                \
	} while (0)

static const char *in_netns(void)
{
	struct endpoint v4 = ep("198.18.100.1"), v6 = ep("fd00:100::1");
	char err[256] = "", ifname[IF_NAMESIZE];
	bool changed;

	CHECK(lo_up() == 0);
	for (int i = 0; i < 2; i++) { /* the second time: already there */
		CHECK(rtnl_local_route(true, &v4, err, sizeof(err)) == 0);
		CHECK(rtnl_local_route(true, &v6, err, sizeof(err)) == 0);
	}
	CHECK_SHELL("ip -4 route show table local", "local 198.18.100.1 dev lo proto 83 scope host",
		    true);
	CHECK_SHELL("ip -6 route show table local", "local fd00:100::1 dev lo proto 83", true);
	for (int i = 0; i < 2; i++) { /* the second time: already gone */
		CHECK(rtnl_local_route(false, &v4, err, sizeof(err)) == 0);
		CHECK(rtnl_local_route(false, &v6, err, sizeof(err)) == 0);
	}
	CHECK_SHELL("ip -4 route show table local", "198.18.100.1", false);
	CHECK_SHELL("ip -6 route show table local", "fd00:100::1", false);

	CHECK(rtnl_addr_change(true, "lo", &v4, 32, &changed, err, sizeof(err)) == 0 && changed);
	CHECK(rtnl_addr_change(true, "lo", &v4, 32, &changed, err, sizeof(err)) == 0 && !changed);
	CHECK(rtnl_addr(true, "lo", &v6, 128, err, sizeof(err)) == 0);
	CHECK(rtnl_addr(true, "lo", &v6, 128, err, sizeof(err)) == 0);
	CHECK_SHELL("ip addr show dev lo", "inet 198.18.100.1/32 scope global lo", true);
	CHECK_SHELL("ip addr show dev lo", "inet6 fd00:100::1/128 scope global", true);
	/* an address's own local route is not steer's: it stays */
	CHECK(rtnl_local_route(false, &v4, err, sizeof(err)) == 0);
	CHECK_SHELL("ip -4 route show table local", "local 198.18.100.1 dev lo proto kernel", true);
	CHECK(rtnl_addr_change(false, "lo", &v4, 32, &changed, err, sizeof(err)) == 0 && changed);
	CHECK(rtnl_addr_change(false, "lo", &v4, 32, &changed, err, sizeof(err)) == 0 && !changed);
	CHECK(rtnl_addr(false, "lo", &v6, 128, err, sizeof(err)) == 0);
	CHECK(rtnl_addr(false, "lo", &v6, 128, err, sizeof(err)) == 0);
	CHECK_SHELL("ip addr show dev lo", "198.18.100.1", false);
	CHECK_SHELL("ip addr show dev lo", "fd00:100::1", false);

	CHECK(rtnl_addr(true, "nope0", &v4, 32, err, sizeof(err)) == -1 &&
	      strstr(err, "unknown interface 'nope0'"));
	CHECK(rtnl_addr(true, "lo", &v4, 33, err, sizeof(err)) == -1 &&
	      strstr(err, "bad prefix length 33"));

	CHECK(rtnl_default_route_iface(STEER_FAMILY_V4, ifname, err, sizeof(err)) == -ENOENT);
	CHECK(system("ip link add rtnltest0 type veth peer name rtnltest1 && "
		     "ip link set rtnltest0 up && ip link set rtnltest1 up && "
		     "ip addr add 198.18.0.1/24 dev rtnltest0 && "
		     "ip addr add fd00:18::1/64 dev rtnltest1 nodad && "
		     "ip route add default via 198.18.0.2 dev rtnltest0 metric 20 && "
		     "ip route add default dev lo metric 10 table 100 && "
		     "ip -6 route add default via fd00:18::2 dev rtnltest1") == 0);
	CHECK(rtnl_default_route_iface(STEER_FAMILY_V4, ifname, err, sizeof(err)) == 0 &&
	      !strcmp(ifname, "rtnltest0"));
	CHECK(rtnl_default_route_iface(STEER_FAMILY_V6, ifname, err, sizeof(err)) == 0 &&
	      !strcmp(ifname, "rtnltest1"));
	return NULL;
}

static void test_calls_in_a_network_namespace_of_our_own(void **state)
{
	int fds[2], status;
	char msg[sizeof(why)] = "";
	pid_t pid;
	ssize_t n;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: not root\n");
		skip();
	}
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *w = unshare(CLONE_NEWNET) ? "unshare(CLONE_NEWNET) failed" : in_netns();

		close(fds[0]);
		if (w && write(fds[1], w, strlen(w)) < 0)
			_exit(2);
		_exit(w ? 1 : 0);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (n > 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		msg[n > 0 ? n : 0] = '\0';
		fail_msg("in the network namespace: %s", msg[0] ? msg : "the child died");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_route_add_is_ip_route_add_local),
	    cmocka_unit_test(test_local_route_del_of_ipv6_is_a_128),
	    cmocka_unit_test(test_addr_msgs_carry_local_and_address),
	    cmocka_unit_test(test_prefix_longer_than_the_family_is_refused),
	    cmocka_unit_test(test_already_done_answers),
	    cmocka_unit_test(test_calls_in_a_network_namespace_of_our_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
