/* Pinned bpf_links, as steer's XDP path and replica-setup keep them: the
 * pin is what keeps a link attached, so creating one means pinning it, and
 * removing one means detaching it (whoever else holds an fd) and unpinning. */
#ifndef STEER_BPF_LINKS_H
#define STEER_BPF_LINKS_H

#include <stddef.h>
#include <stdint.h>

/* Detach the link pinned at path and remove the pin. Returns 1 if a pin
 * was removed, 0 if there was none. */
int links_unpin(const char *path);

/* Pin the new link fd at path and close fd; on failure detach it first.
 * Returns 0, or -1 with err set. */
int links_pin_new(int fd, const char *path, char *err, size_t errlen);

/* A new XDP link of prog_fd on ifindex (flags: XDP_FLAGS_*; 0 = the
 * kernel's choice). Returns its fd, or -1 with err naming what, ifname
 * and mode, and another XDP program already there. */
int links_xdp_create(int prog_fd, unsigned int ifindex, uint32_t flags, const char *what,
		     const char *ifname, const char *mode, char *err, size_t errlen);

#endif
