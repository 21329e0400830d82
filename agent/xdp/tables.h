/*
 * The Maglev tables of the XDP path, kept in step with each service's
 * routable replicas.
 *
 * A table belongs to a slot bank and is written with it, before the flip
 * (xdp_table_stage(), which reconcile calls for every bank it stages). When
 * only the routable set changes (a replica goes up or down, the datapath
 * ejects one), xdp_tables_sync() copies the active bank to the idle one
 * with a new table and flips it: the socket hooks see the same replicas,
 * and the XDP program a whole old table or a whole new one.
 *
 * Without the XDP maps (STEER_XDP_IFACES empty), both do nothing.
 */
#ifndef STEER_XDP_TABLES_H
#define STEER_XDP_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "maps/map_ops.h"
#include "bpf/steer_abi.h"

/* Build the Maglev table of bank `bank` of the service (key, svc_id) over
 * the first count slots of that bank whose replicas are routable now.
 * Returns 0 (also when the XDP maps are absent) or a negative errno. */
int xdp_table_stage(const struct map_ops *ops, const struct steer_svc_key *key, uint32_t svc_id,
		    uint32_t bank, uint32_t count, uint32_t maglev_size);

/* Rebuild, through the idle bank and a flip, every table whose routable
 * set changed. Returns how many services were flipped, or a negative
 * errno with err set. */
int xdp_tables_sync(const struct map_ops *ops, uint32_t maglev_size, char *err, size_t errlen);

#endif
