#include "registry/etcd_members.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/env.h"

/* A DNS name as resolvers take it: labels of letters, digits and '-', not
 * starting or ending with '-', joined by '.'. */
static bool host_name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label)))
			return false;
		if (++label > 63)
			return false;
	}
	return s[len - 1] != '-' && s[len - 1] != '.';
}

/* One member m[0..len): NULL when good, else what is wrong. */
static const char *member_problem(const char *m, size_t len)
{
	char host[ETCD_MEMBER_MAX], probe[sizeof(struct in6_addr)];
	const char *colon;
	size_t hlen;
	long long port;
	char digits[8];

	if (!len)
		return "empty member";
	if (len >= ETCD_MEMBER_MAX)
		return "too long (at most 63 characters)";
	if (m[0] == '[') {
		const char *close = memchr(m, ']', len);

		if (!close || close + 1 >= m + len || close[1] != ':')
			return "an IPv6 address is written [ADDR]:PORT";
		hlen = (size_t)(close - m - 1);
		memcpy(host, m + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, probe) != 1)
			return "not an IPv6 address inside [ ]";
		colon = close + 1;
	} else {
		colon = memrchr(m, ':', len);
		if (!colon)
			return "no :PORT";
		hlen = (size_t)(colon - m);
		if (memchr(m, ':', hlen))
			return "an IPv6 address is written [ADDR]:PORT";
		if (!host_name_valid(m, hlen))
			return "not an IPv4 address or a host name";
	}
	len -= (size_t)(colon + 1 - m);
	if (!len || len >= sizeof(digits))
		return "the port must be 1-65535";
	memcpy(digits, colon + 1, len);
	digits[len] = '\0';
	if (env_parse_int(digits, 1, 65535, &port) < 0)
		return "the port must be 1-65535";
	return NULL;
}

int etcd_members_parse(const char *text, char out[][ETCD_MEMBER_MAX], int max, char *err,
		       size_t errlen)
{
	const char *p = text;
	int n = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *why = member_problem(p, len);

		if (why) {
			snprintf(err, errlen, "member %d '%.*s': %s", n + 1,
				 (int)(len > 80 ? 80 : len), p, why);
			return -1;
		}
		if (n == max || n == ETCD_MEMBERS_MAX) {
			snprintf(err, errlen, "more than %d members", n);
			return -1;
		}
		if (out)
			snprintf(out[n], ETCD_MEMBER_MAX, "%.*s", (int)len, p);
		n++;
		if (!comma)
			return n;
		p = comma + 1;
	}
}
