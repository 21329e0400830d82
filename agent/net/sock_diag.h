/*
 * Which socket is at the other end of a local TCP connection: an exact
 * NETLINK_SOCK_DIAG lookup (libmnl) by 4-tuple, as `ss` makes, answering
 * the socket's cookie, the key of its steer_socks_v1 record. Lookups see
 * the network namespace of the thread that opened the handle.
 */
#ifndef STEER_SOCK_DIAG_H
#define STEER_SOCK_DIAG_H

#include <stdint.h>
#include <sys/socket.h>

struct sock_diag;

/* A netlink socket kept for lookups (one fd). NULL with errno set. */
struct sock_diag *sock_diag_open(void);

/*
 * The cookie of the TCP socket of this namespace whose own address is
 * local and whose peer is remote (both AF_INET, or both AF_INET6). Returns
 * 0, -ENOENT when no such socket is open, or another negative errno.
 */
int sock_diag_cookie(struct sock_diag *d, const struct sockaddr_storage *local,
		     const struct sockaddr_storage *remote, uint64_t *cookie);

/* NULL-safe. */
void sock_diag_close(struct sock_diag *d);

#endif
