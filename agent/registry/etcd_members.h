/* The members of STEER_REGISTRY's etcd:HOST:PORT[,HOST:PORT...] (pure: the
 * environment's parser and the etcd client share it). */
#ifndef STEER_ETCD_MEMBERS_H
#define STEER_ETCD_MEMBERS_H

#include <stddef.h>

#define ETCD_MEMBERS_MAX 8
#define ETCD_MEMBER_MAX	 64 /* "HOST:PORT" or "[V6]:PORT" and a NUL */
#define ETCD_MEMBERS_ACCEPTED                                                                      \
	"HOST:PORT[,HOST:PORT...] (at most 8; HOST an IPv4 address, [IPv6] or a host name; "       \
	"PORT 1-65535)"

/* Parse "HOST:PORT[,HOST:PORT...]": at most ETCD_MEMBERS_MAX, each an IPv4
 * address, a bracketed IPv6 address or a host name, and a port in 1-65535.
 * Returns the number of members (copied into out unless it is NULL), or -1
 * with err naming the bad member and what is wrong with it. */
int etcd_members_parse(const char *text, char out[][ETCD_MEMBER_MAX], int max, char *err,
		       size_t errlen);

#endif
