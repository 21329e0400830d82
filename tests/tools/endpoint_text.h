/* "A.B.C.D:PORT" / "[V6]:PORT" <-> sockaddr, for the standalone test and
 * bench tools (the agent's own parser lives in agent/addr.c; the tools stay
 * single files without the agent's objects). */
#ifndef STEER_ENDPOINT_TEXT_H
#define STEER_ENDPOINT_TEXT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parse the agent's endpoint syntax. Returns 0, or -1 for anything else. */
static inline int endpoint_text_parse(const char *text, struct sockaddr_storage *ss,
				      socklen_t *sslen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(text, ':');
	size_t hlen = colon ? (size_t)(colon - text) : 0;
	char host[INET6_ADDRSTRLEN + 2] = "";
	unsigned long port = 0;

	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
		port = strtoul(colon + 1, NULL, 10); /* ULONG_MAX on overflow */
	if (hlen >= sizeof(host) || port < 1 || port > 65535)
		return -1;
	memcpy(host, text, hlen);
	memset(ss, 0, sizeof(*ss));
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sslen = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
}

/* Format as endpoint_text_parse() accepts it. */
static inline void endpoint_text_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	int v6 = ss->ss_family == AF_INET6;
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ss->ss_family, v6 ? (const void *)&s6->sin6_addr : (const void *)&s4->sin_addr,
		  host, sizeof(host));
	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
		 ntohs(v6 ? s6->sin6_port : s4->sin_port));
}

#endif
