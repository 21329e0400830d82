#include "net/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "bpf/steer_abi.h"

static int af_of(uint8_t family)
{
	return family == STEER_FAMILY_V6 ? AF_INET6 : AF_INET;
}

static unsigned addr_bits(uint8_t family)
{
	return family == STEER_FAMILY_V6 ? 128 : 32;
}

static size_t addr_len(uint8_t family)
{
	return family == STEER_FAMILY_V6 ? 16 : 4;
}

static void addr_text(const struct endpoint *ep, char *buf, size_t len)
{
	if (!inet_ntop(af_of(ep->family), ep->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

struct nlmsghdr *rtnl_local_route_msg(void *buf, bool add, const struct endpoint *vip,
				      unsigned lo_ifindex, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)af_of(vip->family);
	rtm->rtm_dst_len = (uint8_t)addr_bits(vip->family);
	rtm->rtm_table = RT_TABLE_LOCAL;
	rtm->rtm_protocol = RTNL_STEER_PROTO;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put(nlh, RTA_DST, addr_len(vip->family), vip->addr);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_LOCAL);
	mnl_attr_put_u32(nlh, RTA_OIF, lo_ifindex);
	return nlh;
}

struct nlmsghdr *rtnl_addr_msg(void *buf, bool add, unsigned ifindex, const struct endpoint *addr,
			       unsigned prefixlen, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (prefixlen > addr_bits(addr->family))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)af_of(addr->family);
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE; /* as `ip addr add` gives any non-127/8 address */
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(addr->family), addr->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(addr->family), addr->addr);
	return nlh;
}

bool rtnl_already_route(bool add, int error)
{
	return add ? error == EEXIST : error == ESRCH;
}

bool rtnl_already_addr(bool add, int error)
{
	return add ? error == EEXIST : error == EADDRNOTAVAIL;
}

/* Send nlh and read the answers until the ack (or the end of a dump),
 * handing data messages to cb. Returns 0, or a positive errno: the
 * kernel's answer, or what failed on the socket. */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	unsigned portid;
	ssize_t n;
	int ret = -1, error = 0;

	if (!nl)
		return errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		error = errno;
		goto cleanup;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		error = errno;
		goto cleanup;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (n < 0 || ret < 0)
		error = errno ? errno : EPROTO;
cleanup:
	mnl_socket_close(nl);
	return error;
}

static uint32_t next_seq(void)
{
	static uint32_t seq;

	if (!seq)
		seq = (uint32_t)time(NULL);
	return ++seq;
}

int rtnl_local_route(bool add, const struct endpoint *vip, char *err, size_t errlen)
{
	char buf[RTNL_MSG_MAX], text[INET6_ADDRSTRLEN];
	unsigned lo = if_nametoindex("lo");
	int error;

	addr_text(vip, text, sizeof(text));
	if (!lo) {
		snprintf(err, errlen, "cannot %s the local route of %s: no interface 'lo' here",
			 add ? "add" : "remove", text);
		return -1;
	}
	error = talk(rtnl_local_route_msg(buf, add, vip, lo, next_seq()), NULL, NULL);
	if (error && !rtnl_already_route(add, error)) {
		snprintf(err, errlen, "cannot %s the local route %s/%u dev lo: %s",
			 add ? "add" : "remove", text, addr_bits(vip->family), strerror(error));
		return -1;
	}
	return 0;
}

int rtnl_addr_change(bool add, const char *ifname, const struct endpoint *addr, unsigned prefixlen,
		     bool *changed, char *err, size_t errlen)
{
	char buf[RTNL_MSG_MAX], text[INET6_ADDRSTRLEN];
	unsigned ifindex = if_nametoindex(ifname);
	struct nlmsghdr *nlh;
	int error;

	*changed = false;
	addr_text(addr, text, sizeof(text));
	if (!ifindex) {
		snprintf(err, errlen, "cannot %s %s: unknown interface '%s'",
			 add ? "add the address" : "remove the address", text, ifname);
		return -1;
	}
	nlh = rtnl_addr_msg(buf, add, ifindex, addr, prefixlen, next_seq());
	if (!nlh) {
		snprintf(err, errlen, "bad prefix length %u for %s (accepted: 0-%u)", prefixlen,
			 text, addr_bits(addr->family));
		return -1;
	}
	error = talk(nlh, NULL, NULL);
	if (error && !rtnl_already_addr(add, error)) {
		snprintf(err, errlen, "cannot %s %s/%u %s %s: %s", add ? "add" : "remove", text,
			 prefixlen, add ? "to" : "from", ifname, strerror(error));
		return -1;
	}
	*changed = !error;
	return 0;
}

int rtnl_addr(bool add, const char *ifname, const struct endpoint *addr, unsigned prefixlen,
	      char *err, size_t errlen)
{
	bool changed;

	return rtnl_addr_change(add, ifname, addr, prefixlen, &changed, err, errlen);
}

/* The best default route of a dump so far. */
struct default_route {
	unsigned ifindex;
	uint32_t metric;
};

struct route_attrs {
	const struct nlattr *tb[RTA_MAX + 1];
};

static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
		return MNL_CB_OK; /* newer than this build: not one we read */
	if ((type == RTA_OIF || type == RTA_PRIORITY || type == RTA_TABLE) &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/* A multipath route: the interface of its first next hop. */
static unsigned first_nexthop_ifindex(const struct nlattr *mp)
{
	const struct rtnexthop *nh = mnl_attr_get_payload(mp);
	uint16_t len = mnl_attr_get_payload_len(mp);

	return len >= sizeof(*nh) && RTNH_OK(nh, len) ? (unsigned)nh->rtnh_ifindex : 0;
}

static int default_route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct default_route *best = data;
	struct route_attrs a = {0};
	uint32_t table = rtm->rtm_table, metric = 0;
	unsigned ifindex = 0;

	if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &a) < 0)
		return MNL_CB_OK;
	if (a.tb[RTA_TABLE])
		table = mnl_attr_get_u32(a.tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	if (a.tb[RTA_PRIORITY])
		metric = mnl_attr_get_u32(a.tb[RTA_PRIORITY]);
	if (a.tb[RTA_OIF])
		ifindex = mnl_attr_get_u32(a.tb[RTA_OIF]);
	else if (a.tb[RTA_MULTIPATH])
		ifindex = first_nexthop_ifindex(a.tb[RTA_MULTIPATH]);
	if (ifindex && (!best->ifindex || metric < best->metric)) {
		best->ifindex = ifindex;
		best->metric = metric;
	}
	return MNL_CB_OK;
}

int rtnl_default_route_iface(uint8_t family, char ifname[IF_NAMESIZE], char *err, size_t errlen)
{
	char buf[RTNL_MSG_MAX];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct default_route best = {0};
	struct rtmsg *rtm;
	int error;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = next_seq();
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)af_of(family);
	error = talk(nlh, default_route_cb, &best);
	if (error) {
		snprintf(err, errlen, "cannot read the routes: %s", strerror(error));
		return -1;
	}
	if (!best.ifindex)
		return -ENOENT;
	if (!if_indextoname(best.ifindex, ifname)) {
		snprintf(err, errlen, "the default route's interface (index %u) has no name: %s",
			 best.ifindex, strerror(errno));
		return -1;
	}
	return 0;
}
