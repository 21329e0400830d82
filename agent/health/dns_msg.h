/* One DNS query and the check of its reply, as `health = dns NAME [TYPE]`
 * sends and reads them (RFC 1035 section 4): the name and type rules the
 * config shares, the query encoder and the reply parser. Pure: no I/O. */
#ifndef STEER_DNS_MSG_H
#define STEER_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_TEXT_MAX 254 /* characters of a name, its final dot included */
#define DNS_NAME_WIRE_MAX 255 /* RFC 1035 2.3.4 */
#define DNS_HEADER_LEN	  12  /* id, flags, four counts */
#define DNS_QUERY_MAX	  (DNS_HEADER_LEN + DNS_NAME_WIRE_MAX + 4)
#define DNS_TYPE_A	  1
#define DNS_TYPE_NS	  2
#define DNS_NAME_ACCEPTED "'.' or dot-separated labels of 1-63 of A-Z a-z 0-9 - _, 253 at most"
#define DNS_TYPE_ACCEPTED "A|AAAA|NS|SOA|CNAME|PTR|MX|TXT|SRV|CAA|ANY|TYPE1-65535|1-65535"

/* Is name a query name we send: "." (the root) or labels of LDH and '_'
 * characters, 1-63 each, with or without the final dot? No escapes. */
bool dns_name_valid(const char *name);

/* name (valid) in wire form into wire[0..cap): its length, or 0 if it
 * does not fit or is not valid. */
size_t dns_name_to_wire(const char *name, uint8_t *wire, size_t cap);

/* A type mnemonic of DNS_TYPE_ACCEPTED (case-insensitive), "TYPEnnn"
 * (RFC 3597) or a number: 0 and *type set, or -1. */
int dns_type_parse(const char *text, uint16_t *type);

/* The mnemonic of type, or "TYPEnnn" written into buf. */
const char *dns_type_name(uint16_t type, char *buf, size_t len);

/* The default TYPE of `health = dns NAME`: NS for the root, else A. */
uint16_t dns_default_type(const char *name);

/* One standard query (RD set, class IN, no EDNS) for name and type with
 * this id into out[0..cap): its length, or 0 if name is not valid or out is
 * too small (DNS_QUERY_MAX always suffices). */
size_t dns_query_encode(const char *name, uint16_t type, uint16_t id, uint8_t *out, size_t cap);

enum dns_reply_result {
	DNS_REPLY_GOOD = 0,  /* NOERROR or NXDOMAIN to our question */
	DNS_REPLY_NOT_OURS,  /* another id, or not a response: keep waiting (UDP) */
	DNS_REPLY_BAD_RCODE, /* a well-formed reply with another RCODE */
	DNS_REPLY_MALFORMED, /* not a well-formed reply to our question */
};

struct dns_reply_info {
	uint8_t rcode;	    /* header RCODE (0..15), once the header was read */
	uint16_t ancount;   /* answer records */
	bool truncated;	    /* TC set, or the caller had only part of the message */
	const char *reason; /* DNS_REPLY_MALFORMED, NOT_OURS: what is wrong, static */
};

/*
 * Check msg[0..len) as the reply to query[0..qlen) (as dns_query_encode()
 * made it): same id, QR set, opcode QUERY, the same question (name compared
 * without case), and every record of the answer, authority and additional
 * sections inside the message (names: labels or pointers to earlier bytes,
 * at most DNS_NAME_WIRE_MAX long). A reply with TC set, or cut
 * (the caller read only part of a longer TCP message: cut true), may end
 * anywhere after the question. info may be NULL.
 */
enum dns_reply_result dns_reply_check(const uint8_t *msg, size_t len, bool cut,
				      const uint8_t *query, size_t qlen,
				      struct dns_reply_info *info);

/* "NOERROR", "SERVFAIL", ..., or "RCODE15". */
const char *dns_rcode_name(uint8_t rcode, char *buf, size_t len);

#endif
