/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sweep: connected sockets whose replica has left are aborted, so that
 * their application sees an error and connects again (and is steered to a
 * replica that is there). A connected UDP socket would otherwise keep
 * sending to a dead or removed replica for as long as it lives: the
 * connect hook runs once per connect(), never per datagram.
 *
 * The agent runs the iterators (iter/udp, and iter/tcp when
 * STEER_SOCK_DESTROY_TCP is on) each time a replica leaves the routable
 * set; each visits every socket of the agent's network namespace and
 * aborts, with bpf_sock_destroy(), only those whose steer_socks_v1 record
 * names a replica that is gone:
 *  - UDP: the replica is down, ejected or removed (draining is not gone:
 *    established flows carry on);
 *  - TCP: the replica was removed (its id is free or names another
 *    endpoint); an established connection to a replica that merely fails
 *    its checks may still work, and is left alone.
 * Unconnected UDP sockets are never touched: they are steered per datagram
 * and already go elsewhere; aborting them would change their source port.
 */
#ifndef STEER_SWEEP_H
#define STEER_SWEEP_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "bpf/steer_abi.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/kernel.h"
#include "bpf/sock/peer.h"

/* Has the replica s was connected to left its service (removed_only), or
 * left the routable set? */
static __always_inline bool sock_replica_gone(const struct steer_sock *s, __u8 proto,
					      bool removed_only)
{
	struct steer_backend_key key = {};
	const struct steer_backend *b;
	const struct steer_replica *r = sock_conn_replica(s);

	if (!r || r->state == STEER_REPLICA_UNUSED)
		return true; /* removed: its id is free, or reused for another */
	if (removed_only || r->state == STEER_REPLICA_DRAINING)
		return false;
	if (r->state != STEER_REPLICA_UP)
		return true;
	addr_copy(key.addr, r->addr);
	key.port = r->port;
	key.family = r->family;
	key.proto = proto;
	b = bpf_map_lookup_elem(&steer_backends_v1, &key);
	return b && b->ejected_ns;
}

static __always_inline void sock_destroyed(void)
{
	struct steer_sock_stats *st = sock_stats();

	if (st)
		st->destroyed++;
}

#endif /* STEER_SWEEP_H */
