/* libFuzzer target: DNS replies to a health check's query
 * (dns_reply_check()).
 *
 * The first byte chooses the question (bit 0: "." NS, else "Example.COM"
 * A), whether the message is cut (bit 1) and a cut point (the rest of the
 * byte); the rest is the reply, whose first two bytes are also the query
 * id, so the id matches and the parser goes past the header. Invariants:
 * the result is one of the enum; GOOD means RCODE NOERROR or NXDOMAIN and
 * a whole question; a GOOD reply stays GOOD when cut anywhere after the
 * question (the caller read only part of it) and, unless it was cut or
 * truncated, when bytes follow it;
 * NOT_OURS only for another id or a query. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/dns_msg.h"

static enum dns_reply_result check_copy(const uint8_t *data, size_t n, bool cut, const uint8_t *q,
					size_t qlen, struct dns_reply_info *info)
{
	/* A copy of exactly n bytes, so ASan sees any read past the end. */
	uint8_t *msg = malloc(n ? n : 1);
	enum dns_reply_result r;

	if (!msg)
		abort();
	memcpy(msg, data, n);
	r = dns_reply_check(msg, n, cut, q, qlen, info);
	free(msg);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t q[DNS_QUERY_MAX];
	struct dns_reply_info info;
	enum dns_reply_result r;
	const uint8_t *msg;
	size_t qlen, n;
	bool root, cut;

	if (size < 3)
		return 0;
	root = data[0] & 1;
	cut = data[0] & 2;
	msg = data + 1;
	n = size - 1;
	qlen = dns_query_encode(root ? "." : "Example.COM", root ? DNS_TYPE_NS : DNS_TYPE_A,
				(uint16_t)(msg[0] << 8 | msg[1]), q, sizeof(q));
	if (!qlen)
		__builtin_trap();

	r = check_copy(msg, n, cut, q, qlen, &info);
	if (r != DNS_REPLY_GOOD && r != DNS_REPLY_NOT_OURS && r != DNS_REPLY_BAD_RCODE &&
	    r != DNS_REPLY_MALFORMED)
		__builtin_trap();
	if ((r == DNS_REPLY_MALFORMED || r == DNS_REPLY_NOT_OURS) && !info.reason)
		__builtin_trap();
	if (r == DNS_REPLY_NOT_OURS && n >= 3 && (msg[2] & 0x80))
		__builtin_trap(); /* the id matches by construction: only a query is not ours */
	if (r != DNS_REPLY_GOOD)
		return 0;
	if ((info.rcode != 0 && info.rcode != 3) || n < qlen)
		__builtin_trap();
	/* Cut anywhere after the question: still good. */
	{
		size_t at = qlen + (n > qlen ? (size_t)(data[0] >> 2) % (n - qlen + 1) : 0);

		if (check_copy(msg, at, true, q, qlen, NULL) != DNS_REPLY_GOOD)
			__builtin_trap();
	}
	/* Bytes after a whole message change nothing. */
	if (!info.truncated) {
		uint8_t *longer = malloc(n + 7);

		if (!longer)
			abort();
		memcpy(longer, msg, n);
		memset(longer + n, 0xc0, 7);
		if (dns_reply_check(longer, n + 7, false, q, qlen, NULL) != DNS_REPLY_GOOD)
			__builtin_trap();
		free(longer);
	}
	return 0;
}
