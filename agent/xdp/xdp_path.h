/*
 * Load, attach, adopt and remove the XDP path (bpf/steer_xdp.bpf.c): the
 * XDP program and the reply-rewriting tc program on every interface of
 * STEER_XDP_IFACES, and the miss path's sk_lookup program on this network
 * namespace. Like the socket hooks, each is attached through a bpf_link
 * pinned in the pin directory, which a restarted or upgraded agent updates
 * in place (the interface never goes without a program), and which
 * `steer down` detaches.
 *
 * Pins: link_xdp_steer@IFACE, link_tc_reply_unnat@IFACE, link_hold_lookup
 * (a '.' of IFACE pinned as ':', as bpffs refuses dots).
 */
#ifndef STEER_XDP_PATH_H
#define STEER_XDP_PATH_H

#include <stddef.h>

struct steer_xdp_bpf;

struct xdp_path {
	struct steer_xdp_bpf *skel;
	int adopted, attached, removed; /* links, this run */
};

/* Open and load the XDP object, sharing the maps pinned under pin_dir
 * (the socket datapath is loaded first and has pinned them). */
int xdp_path_load(struct xdp_path *xp, const char *pin_dir, char *err, size_t errlen);

/* Attach to every interface of ifaces (comma-separated) in mode ("auto",
 * "native" or "generic"), and sk_lookup to this netns; links of
 * interfaces no longer listed are detached. */
int xdp_path_attach(struct xdp_path *xp, const char *pin_dir, const char *ifaces, const char *mode,
		    char *err, size_t errlen);

void xdp_path_close(struct xdp_path *xp);

/* Detach and unpin every link of the XDP path, keeping its maps (the
 * agent runs without STEER_XDP_IFACES). Returns how many. */
int xdp_path_detach_links(const char *pin_dir);

/* Detach and unpin every link of the XDP path under pin_dir (whatever
 * interfaces they are on), then unpin its own maps. Returns the number of
 * pins removed. */
int xdp_path_down(const char *pin_dir);

/* One attachment, for status: what is attached where, and how. */
struct xdp_attachment {
	char iface[16];
	unsigned int ifindex;
	const char *hook; /* "xdp", "tcx egress", "sk_lookup" */
	const char *mode; /* "native", "generic", "" */
	unsigned int prog_id;
	int defunct; /* the interface is gone */
};

/* The attachments pinned under pin_dir, at most max. Returns how many. */
int xdp_path_list(const char *pin_dir, struct xdp_attachment *out, int max);

#endif
