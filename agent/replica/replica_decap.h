/*
 * The replica's decap program (bpf/steer_decap.bpf.c) in the pin
 * directory: its maps pinned by name, one XDP link per interface pinned as
 * link_decap@IFACE (a '.' of IFACE as ':', which bpffs takes). A run loads
 * the program, and an interface that has the same program already keeps
 * its link untouched; one with another build's gets it in place
 * (bpf_link_update), so the interface is never without a program.
 */
#ifndef STEER_REPLICA_DECAP_H
#define STEER_REPLICA_DECAP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/addr.h"

#define DECAP_LINK_PREFIX "link_decap@"

struct decap_report {
	unsigned prog_id; /* of the program now attached */
	bool attached;	  /* a new link was made and pinned */
	bool updated;	  /* the pinned link got this build's program */
	bool vip_added;	  /* the VIP was not in the map */
	char link_pin[256];
};

/* Load, attach to ifname and add vip to steer_decap_vips_v1. Returns 0,
 * or -1 with err set. */
int decap_apply(const char *pin_dir, const char *ifname, const struct endpoint *vip,
		struct decap_report *r, char *err, size_t errlen);

/* Take vip out of the pinned map. *removed: it was there; *left: the VIPs
 * that remain. Returns 0, -ENOENT if no map is pinned there, or -1 with
 * err set. */
int decap_remove_vip(const char *pin_dir, const struct endpoint *vip, bool *removed, int *left,
		     char *err, size_t errlen);

/* Detach and unpin every link of the decap program, calling on_link(iface,
 * arg) for each, then unpin its maps. Returns how many pins went. */
int decap_down(const char *pin_dir, void (*on_link)(const char *iface, void *), void *arg);

#endif
