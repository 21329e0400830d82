/*
 * The few route and address changes steer makes, through rtnetlink
 * (libmnl): what `ip route add local VIP dev lo` and `ip addr add` do, in
 * the network namespace of the calling thread. Each is idempotent: adding
 * what is there and removing what is not both succeed.
 *
 * The message builders are pure (no socket), so unit tests read back what
 * would be sent.
 */
#ifndef STEER_RTNL_H
#define STEER_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <net/if.h>

#include "lib/addr.h"

/* Bytes a request of this module takes (a header and a few attributes). */
#define RTNL_MSG_MAX 256

/* The protocol of steer's routes, `proto 83` in `ip route` ('S'), by
 * which agent/xdp/vip_routes.c tells its routes from anybody else's. */
#define RTNL_STEER_PROTO 83

/*
 * `ip route add local VIP/32 dev lo table local` (/128 for IPv6):
 * RTN_LOCAL, scope host, protocol RTNL_STEER_PROTO, so the stack takes
 * packets for VIP as its own without holding the address. Removal deletes
 * only a route of that protocol: an operator's route, or the kernel's own
 * local route of a configured address, stays. vip->port is ignored.
 * Returns 0, or -1 with err set.
 */
int rtnl_local_route(bool add, const struct endpoint *vip, char *err, size_t errlen);

/* `ip addr add|del ADDR/PREFIXLEN dev IFNAME`. Returns 0, or -1 with err set
 * (naming the interface if there is none of that name). */
int rtnl_addr(bool add, const char *ifname, const struct endpoint *addr, unsigned prefixlen,
	      char *err, size_t errlen);

/* rtnl_addr(), and *changed says whether the address was added (or
 * removed) now rather than there (or absent) already. */
int rtnl_addr_change(bool add, const char *ifname, const struct endpoint *addr, unsigned prefixlen,
		     bool *changed, char *err, size_t errlen);

/*
 * The interface of the default route of family (STEER_FAMILY_V4 or _V6) in
 * the main table, the one of the lowest metric if there are several.
 * Returns 0 with ifname set, -ENOENT if there is no default route, or -1
 * with err set.
 */
int rtnl_default_route_iface(uint8_t family, char ifname[IF_NAMESIZE], char *err, size_t errlen);

/* The requests, built into buf (RTNL_MSG_MAX bytes). Returns the message,
 * or NULL if prefixlen is too long for the family. */
struct nlmsghdr *rtnl_local_route_msg(void *buf, bool add, const struct endpoint *vip,
				      unsigned lo_ifindex, uint32_t seq);
struct nlmsghdr *rtnl_addr_msg(void *buf, bool add, unsigned ifindex, const struct endpoint *addr,
			       unsigned prefixlen, uint32_t seq);

/* Does the kernel's error (a positive errno) to such a request mean it was
 * already done: the route or address there for an add, absent for a
 * removal? */
bool rtnl_already_route(bool add, int error);
bool rtnl_already_addr(bool add, int error);

#endif
