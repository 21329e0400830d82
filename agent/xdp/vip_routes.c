#include "xdp/vip_routes.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "bpf/steer_abi.h"
#include "net/rtnl.h"

/* Routes of ours found by a dump: at most one per service. */
#define FOUND_MAX 1024

struct found {
	size_t n;
	struct endpoint ep[FOUND_MAX];
};

static size_t addr_len(const struct endpoint *ep)
{
	return ep->family == STEER_FAMILY_V4 ? 4 : 16;
}

static bool same_addr(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, addr_len(a));
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct found *f = data;
	const struct nlattr *attr;

	if (rtm->rtm_protocol != RTNL_STEER_PROTO || rtm->rtm_type != RTN_LOCAL ||
	    f->n == FOUND_MAX)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm))
	{
		struct endpoint *ep = &f->ep[f->n];

		if (mnl_attr_get_type(attr) != RTA_DST)
			continue;
		memset(ep, 0, sizeof(*ep));
		ep->family = rtm->rtm_family == AF_INET ? STEER_FAMILY_V4 : STEER_FAMILY_V6;
		if (mnl_attr_get_payload_len(attr) != addr_len(ep))
			continue;
		memcpy(ep->addr, mnl_attr_get_payload(attr), addr_len(ep));
		f->n++;
	}
	return MNL_CB_OK;
}

/* steer's routes in table local, both families. */
static int dump_ours(struct mnl_socket *nl, struct found *f)
{
	static const unsigned char families[] = {AF_INET, AF_INET6};

	f->n = 0;
	for (size_t i = 0; i < sizeof(families); i++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		unsigned int seq = (unsigned int)time(NULL) + 1 + (unsigned int)i;
		unsigned int portid = mnl_socket_get_portid(nl);
		struct rtmsg *rtm;
		ssize_t len;
		int ret = MNL_CB_OK;

		nlh->nlmsg_type = RTM_GETROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = seq;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = families[i];
		rtm->rtm_table = RT_TABLE_LOCAL;
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			return -errno;
		while (ret > MNL_CB_STOP) {
			len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			if (len < 0)
				return -errno;
			ret = mnl_cb_run(buf, (size_t)len, seq, portid, on_route, f);
		}
		if (ret < 0)
			return -errno;
	}
	return 0;
}

static bool listed(const struct endpoint *vips, size_t n, const struct endpoint *ep)
{
	for (size_t i = 0; i < n; i++)
		if (same_addr(&vips[i], ep))
			return true;
	return false;
}

int vip_routes_sync(const struct endpoint *vips, size_t n, char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct found *f = calloc(1, sizeof(*f));
	int changes = 0, ret = 0;

	if (!nl || !f || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "cannot open a netlink socket for the VIP routes: %s",
			 f ? strerror(errno) : "out of memory");
		ret = -1;
		goto out;
	}
	ret = dump_ours(nl, f);
	if (ret) {
		snprintf(err, errlen, "cannot list the local routes: %s", strerror(-ret));
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < f->n && !ret; i++) {
		if (listed(vips, n, &f->ep[i]))
			continue;
		ret = rtnl_local_route(false, &f->ep[i], err, errlen);
		changes++;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		if (listed(f->ep, f->n, &vips[i]) || listed(vips, i, &vips[i]))
			continue;
		ret = rtnl_local_route(true, &vips[i], err, errlen);
		changes++;
	}
	ret = ret ? -1 : changes;
out:
	if (nl)
		mnl_socket_close(nl);
	free(f);
	return ret;
}
