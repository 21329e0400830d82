/*
 * The local routes of the XDP path's miss path: `ip route add local VIP dev
 * lo` for every VIP of a TCP service, so a VIP's packet the XDP program
 * passes to the stack (no routable replica) is taken by this host, where the
 * sk_lookup program gives it to the hold listener.
 *
 * steer's routes carry their own protocol number (RTNL_STEER_PROTO of
 * net/rtnl.h, shown by `ip route show table local proto 83`), so a sync
 * removes only routes it added, never an operator's route to the same
 * address.
 */
#ifndef STEER_VIP_ROUTES_H
#define STEER_VIP_ROUTES_H

#include <stddef.h>

#include "lib/addr.h"

/* Make steer's local routes exactly vips[0..n) (addresses only; ports are
 * ignored). n == 0 removes them all. Returns the number of routes added
 * plus removed, or -1 with err set. */
int vip_routes_sync(const struct endpoint *vips, size_t n, char *err, size_t errlen);

#endif
