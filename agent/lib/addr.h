/* Parsing and printing of ADDR:PORT endpoints ("1.2.3.4:80", "[::1]:80"). */
#ifndef STEER_ADDR_H
#define STEER_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/socket.h>

#define ADDR_STRLEN 64 /* fits "[ffff:...:ffff]:65535" and a NUL */

struct endpoint {
	uint8_t family; /* STEER_FAMILY_V4 or STEER_FAMILY_V6 */
	__be32 addr[4]; /* network order; IPv4 uses addr[0], rest zero */
	uint16_t port;	/* host order, 1..65535 */
};

/* Parse "A.B.C.D:PORT" or "[V6]:PORT". Returns 0, or -1 with a message in err
 * that names the bad text and the accepted form. */
int endpoint_parse(const char *text, struct endpoint *out, char *err, size_t errlen);

/* Format as endpoint_parse() accepts it. Returns buf. */
char *endpoint_format(const struct endpoint *ep, char *buf, size_t len);

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);

/* The sockaddr_in / sockaddr_in6 of ep, for bind() and connect(). Returns its
 * length. */
socklen_t endpoint_to_sockaddr(const struct endpoint *ep, struct sockaddr_storage *ss);

/* The endpoint of an AF_INET or AF_INET6 address. Returns 0, or -1 for
 * another family. */
int endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *ep);

#endif
