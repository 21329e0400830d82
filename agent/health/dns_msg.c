/* A DNS query (RFC 1035 4.1) and the reply check of a health probe. The
 * reply is untrusted input: every read is bounds-checked against len, name
 * pointers may only point backwards (so a chain ends), and nothing is
 * copied out of the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "health/dns_msg.h"

#define DNS_LABEL_MAX  63
#define DNS_CLASS_IN   1
#define DNS_FLAG_QR    0x80 /* in byte 2 */
#define DNS_FLAG_TC    0x02 /* in byte 2 */
#define DNS_FLAG_RD    0x01 /* in byte 2 */
#define DNS_OPCODE(b2) (((b2) >> 3) & 0x0f)
#define DNS_RCODE(b3)  ((b3)&0x0f)
#define DNS_NXDOMAIN   3
#define DNS_RR_FIXED   10  /* type, class, ttl, rdlength */
#define DNS_PTR_HOPS   128 /* pointers followed in one name, at most */

static const struct {
	const char *name;
	uint16_t type;
} dns_types[] = {
    {"A", 1},	 {"NS", 2},    {"CNAME", 5}, {"SOA", 6},   {"PTR", 12},	 {"MX", 15},
    {"TXT", 16}, {"AAAA", 28}, {"SRV", 33},  {"CAA", 257}, {"ANY", 255},
};

static bool is_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

size_t dns_name_to_wire(const char *name, uint8_t *wire, size_t cap)
{
	size_t len = strlen(name), o = 0;
	const char *p = name;

	if (len == 0 || len > DNS_NAME_TEXT_MAX)
		return 0;
	if (strcmp(name, ".") == 0) {
		if (cap < 1)
			return 0;
		wire[0] = 0;
		return 1;
	}
	while (*p) {
		size_t n = 0;

		while (p[n] && p[n] != '.') {
			if (!is_label_char((unsigned char)p[n]))
				return 0;
			n++;
		}
		if (n == 0 || n > DNS_LABEL_MAX || o + 1 + n + 1 > cap ||
		    o + 1 + n + 1 > DNS_NAME_WIRE_MAX)
			return 0; /* empty label ("a..b", ".a"), too long, no room */
		wire[o++] = (uint8_t)n;
		memcpy(wire + o, p, n);
		o += n;
		p += n;
		if (*p == '.')
			p++;
	}
	wire[o++] = 0;
	return o;
}

bool dns_name_valid(const char *name)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];

	return dns_name_to_wire(name, wire, sizeof(wire)) > 0;
}

int dns_type_parse(const char *text, uint16_t *type)
{
	const char *digits = text;
	char *end;
	unsigned long v;

	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++) {
		if (strcasecmp(text, dns_types[i].name) == 0) {
			*type = dns_types[i].type;
			return 0;
		}
	}
	if (strncasecmp(text, "TYPE", 4) == 0)
		digits = text + 4;
	if (*digits < '0' || *digits > '9' || (digits[0] == '0' && digits[1]))
		return -1; /* no sign, no blank, no leading zero */
	v = strtoul(digits, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	*type = (uint16_t)v;
	return 0;
}

const char *dns_type_name(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	snprintf(buf, len, "TYPE%u", (unsigned)type);
	return buf;
}

uint16_t dns_default_type(const char *name)
{
	return strcmp(name, ".") == 0 ? DNS_TYPE_NS : DNS_TYPE_A;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

size_t dns_query_encode(const char *name, uint16_t type, uint16_t id, uint8_t *out, size_t cap)
{
	size_t n;

	if (cap < DNS_HEADER_LEN + 1 + 4)
		return 0;
	n = dns_name_to_wire(name, out + DNS_HEADER_LEN, cap - DNS_HEADER_LEN - 4);
	if (n == 0)
		return 0;
	memset(out, 0, DNS_HEADER_LEN);
	put16(out, id);
	out[2] = DNS_FLAG_RD; /* a resolver recurses, as for its clients */
	put16(out + 4, 1);    /* QDCOUNT */
	put16(out + DNS_HEADER_LEN + n, type);
	put16(out + DNS_HEADER_LEN + n + 2, DNS_CLASS_IN);
	return DNS_HEADER_LEN + n + 4;
}

const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "RCODE%u", (unsigned)rcode);
	return buf;
}

/* Skip the name at *pos: labels ending in a zero byte or a pointer. 0 with
 * *pos after it, 1 if the message ends inside it, -1 if it is malformed
 * (a reserved label type, a pointer that does not point backwards, longer
 * than DNS_NAME_WIRE_MAX once expanded). */
static int skip_name(const uint8_t *msg, size_t len, size_t *pos)
{
	size_t p = *pos, wire = 0, after = 0;
	int hops = 0;

	for (;;) {
		uint8_t c;

		if (p >= len)
			return 1;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (p + 1 >= len)
				return 1;
			target = (size_t)(c & 0x3f) << 8 | msg[p + 1];
			if (target >= p || ++hops > DNS_PTR_HOPS)
				return -1;
			if (!after)
				after = p + 2;
			p = target;
			continue;
		}
		if (c & 0xc0)
			return -1; /* 0x40, 0x80: not in use */
		wire += 1u + c;
		if (wire > DNS_NAME_WIRE_MAX)
			return -1;
		if (c == 0) {
			*pos = after ? after : p + 1;
			return 0;
		}
		if (p + 1 + c > len)
			return 1;
		p += 1u + c;
	}
}

static enum dns_reply_result verdict(struct dns_reply_info *info, enum dns_reply_result r,
				     const char *reason)
{
	info->reason = reason;
	return r;
}

enum dns_reply_result dns_reply_check(const uint8_t *msg, size_t len, bool cut,
				      const uint8_t *query, size_t qlen,
				      struct dns_reply_info *info)
{
	struct dns_reply_info scratch;
	size_t qsection = qlen - DNS_HEADER_LEN, pos;
	uint32_t records;
	bool partial;

	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	if (qlen <= DNS_HEADER_LEN + 4)
		return verdict(info, DNS_REPLY_MALFORMED, "no question to compare with");
	if (len < DNS_HEADER_LEN)
		return verdict(info, DNS_REPLY_MALFORMED, "shorter than a DNS header");
	if (get16(msg) != get16(query))
		return verdict(info, DNS_REPLY_NOT_OURS, "another query id");
	if (!(msg[2] & DNS_FLAG_QR))
		return verdict(info, DNS_REPLY_NOT_OURS, "a query, not a response");
	if (DNS_OPCODE(msg[2]) != 0)
		return verdict(info, DNS_REPLY_MALFORMED, "opcode is not QUERY");
	info->rcode = DNS_RCODE(msg[3]);
	info->ancount = get16(msg + 6);
	info->truncated = cut || (msg[2] & DNS_FLAG_TC);
	partial = info->truncated;
	if (get16(msg + 4) == 0 && info->rcode != 0 && info->rcode != DNS_NXDOMAIN)
		return verdict(info, DNS_REPLY_BAD_RCODE, NULL); /* FORMERR and the like */
	if (get16(msg + 4) != 1)
		return verdict(info, DNS_REPLY_MALFORMED, "not exactly one question");
	if (len < DNS_HEADER_LEN + qsection)
		return verdict(info, DNS_REPLY_MALFORMED, "ends within the question");
	for (size_t i = 0; i < qsection; i++) {
		uint8_t a = msg[DNS_HEADER_LEN + i], b = query[DNS_HEADER_LEN + i];

		/* Length bytes are below 64, so folding case leaves them be. */
		if (a >= 'A' && a <= 'Z')
			a = (uint8_t)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (uint8_t)(b - 'A' + 'a');
		if (a != b)
			return verdict(info, DNS_REPLY_MALFORMED, "answers another question");
	}
	pos = DNS_HEADER_LEN + qsection;
	records = (uint32_t)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
	for (uint32_t r = 0; r < records; r++) {
		int s = skip_name(msg, len, &pos);

		if (s < 0)
			return verdict(info, DNS_REPLY_MALFORMED, "a record has a malformed name");
		if (s > 0 || pos + DNS_RR_FIXED > len ||
		    pos + DNS_RR_FIXED + get16(msg + pos + 8) > len) {
			if (partial)
				break; /* the rest was cut off, as TC says */
			return verdict(info, DNS_REPLY_MALFORMED,
				       "a record runs past the end of the message");
		}
		pos += DNS_RR_FIXED + get16(msg + pos + 8);
	}
	if (info->rcode != 0 && info->rcode != DNS_NXDOMAIN)
		return verdict(info, DNS_REPLY_BAD_RCODE, NULL);
	return verdict(info, DNS_REPLY_GOOD, NULL);
}
