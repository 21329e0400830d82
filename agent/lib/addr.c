/* ADDR:PORT endpoints: "A.B.C.D:PORT" and "[IPV6]:PORT", nothing else (no
 * host names, no bare IPv6, no zone ids, no whitespace). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "bpf/steer_abi.h"

#define ADDR_ACCEPTED "A.B.C.D:PORT or [IPV6]:PORT"

static int bad_address(const char *text, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad address '%s' (accepted: " ADDR_ACCEPTED ")", text);
	return -1;
}

/* Decimal 1..65535: digits only, no sign, no whitespace. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int endpoint_parse(const char *text, struct endpoint *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	struct endpoint ep = {0};
	const char *host_start, *host_end, *port;
	size_t host_len;
	int af;

	if (text[0] == '[') {
		af = AF_INET6;
		ep.family = STEER_FAMILY_V6;
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (!host_end || host_end[1] != ':')
			return bad_address(text, err, errlen);
		port = host_end + 2;
	} else {
		af = AF_INET;
		ep.family = STEER_FAMILY_V4;
		host_start = text;
		host_end = strchr(text, ':');
		if (!host_end)
			return bad_address(text, err, errlen);
		port = host_end + 1;
	}

	host_len = (size_t)(host_end - host_start);
	if (host_len == 0 || host_len >= sizeof(host))
		return bad_address(text, err, errlen);
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	if (inet_pton(af, host, ep.addr) != 1)
		return bad_address(text, err, errlen);

	if (parse_port(port, &ep.port) < 0) {
		snprintf(err, errlen, "bad port '%s' in '%s' (accepted: 1-65535)", port, text);
		return -1;
	}
	*out = ep;
	return 0;
}

char *endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ep->family == STEER_FAMILY_V4 && inet_ntop(AF_INET, ep->addr, host, sizeof(host)))
		snprintf(buf, len, "%s:%u", host, (unsigned)ep->port);
	else if (ep->family == STEER_FAMILY_V6 && inet_ntop(AF_INET6, ep->addr, host, sizeof(host)))
		snprintf(buf, len, "[%s]:%u", host, (unsigned)ep->port);
	else
		snprintf(buf, len, "(family %u)", (unsigned)ep->family);
	return buf;
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

socklen_t endpoint_to_sockaddr(const struct endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == STEER_FAMILY_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		sin->sin_addr.s_addr = ep->addr[0];
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(ep->port);
	memcpy(&sin6->sin6_addr, ep->addr, 16);
	return sizeof(*sin6);
}

int endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		ep->family = STEER_FAMILY_V4;
		ep->addr[0] = sin->sin_addr.s_addr;
		ep->port = ntohs(sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		ep->family = STEER_FAMILY_V6;
		memcpy(ep->addr, &sin6->sin6_addr, 16);
		ep->port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}
