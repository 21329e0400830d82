/* Incremental parser for the status line of an HTTP/1.x response, as a
 * health check reads it: copes with split reads, garbage and oversized
 * input. Pure: no I/O. */
#ifndef STEER_HTTP_PARSE_H
#define STEER_HTTP_PARSE_H

#include <stddef.h>

#define HTTP_STATUS_LINE_MAX 512 /* longer than this without CRLF: garbage */

enum http_parse_result {
	HTTP_PARSE_MORE = 0, /* need more bytes */
	HTTP_PARSE_DONE,     /* status line complete; *status is set */
	HTTP_PARSE_BAD,	     /* not an HTTP/1.x status line */
};

struct http_status_parser {
	char line[HTTP_STATUS_LINE_MAX];
	size_t len;
	enum http_parse_result result;
	int status;
};

void http_parser_init(struct http_status_parser *p);

/* Feed bytes as they arrive. Once DONE or BAD, further bytes are ignored and
 * the same result is returned. A clean EOF before DONE is the caller's BAD. */
enum http_parse_result http_parser_feed(struct http_status_parser *p, const char *data, size_t n,
					int *status);

#endif
