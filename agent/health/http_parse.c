/* Status line of an HTTP/1.x response (RFC 9112 section 4):
 *
 *	"HTTP/1." DIGIT SP 3DIGIT [ SP reason ] [ CR ] LF
 *
 * Each byte is checked as it arrives, so garbage is BAD at its first wrong
 * byte and a split read at any boundary changes nothing. The status is
 * 100..599. The reason may be empty or absent ("HTTP/1.1 200\r\n" is common)
 * and holds SP, HTAB, visible ASCII or obs-text (0x80-0xff): no NUL or other
 * control byte. A CR is accepted only right before the LF. The line, CR
 * included, must end within HTTP_STATUS_LINE_MAX bytes. Whatever follows the
 * LF (headers, body) is not looked at. */
#include <string.h>

#include "health/http_parse.h"

#define HTTP_VERSION_PREFIX "HTTP/1."
#define HTTP_PREFIX_LEN	    (sizeof(HTTP_VERSION_PREFIX) - 1)
#define HTTP_MINOR_POS	    HTTP_PREFIX_LEN	  /* "HTTP/1.x": x */
#define HTTP_SP_POS	    (HTTP_MINOR_POS + 1)  /* SP after the version */
#define HTTP_STATUS_POS	    (HTTP_SP_POS + 1)	  /* first of 3 status digits */
#define HTTP_AFTER_STATUS   (HTTP_STATUS_POS + 3) /* SP, CR or LF */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A byte allowed in the reason phrase. */
static int is_reason_byte(unsigned char c)
{
	return c == '\t' || c == ' ' || (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* Is c acceptable as the byte at position pos of the line, given the
 * bytes before it? The LF is handled by the caller. */
static int byte_fits(const struct http_status_parser *p, unsigned char c)
{
	size_t pos = p->len;

	if (pos > 0 && p->line[pos - 1] == '\r')
		return 0; /* CR only right before LF */
	if (pos < HTTP_PREFIX_LEN)
		return c == (unsigned char)HTTP_VERSION_PREFIX[pos];
	if (pos == HTTP_MINOR_POS)
		return is_digit(c);
	if (pos == HTTP_SP_POS)
		return c == ' ';
	if (pos == HTTP_STATUS_POS)
		return c >= '1' && c <= '5';
	if (pos < HTTP_AFTER_STATUS)
		return is_digit(c);
	if (pos == HTTP_AFTER_STATUS)
		return c == ' ' || c == '\r';
	return c == '\r' || is_reason_byte(c);
}

static int status_of(const struct http_status_parser *p)
{
	const char *d = p->line + HTTP_STATUS_POS;

	return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

void http_parser_init(struct http_status_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->result = HTTP_PARSE_MORE;
}

enum http_parse_result http_parser_feed(struct http_status_parser *p, const char *data, size_t n,
					int *status)
{
	for (size_t i = 0; i < n && p->result == HTTP_PARSE_MORE; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			if (p->len < HTTP_AFTER_STATUS) {
				p->result = HTTP_PARSE_BAD; /* line ends before the status */
			} else {
				p->status = status_of(p);
				p->result = HTTP_PARSE_DONE;
			}
		} else if (p->len == sizeof(p->line) || !byte_fits(p, c)) {
			p->result = HTTP_PARSE_BAD;
		} else {
			p->line[p->len++] = (char)c;
		}
	}
	if (p->result == HTTP_PARSE_DONE && status)
		*status = p->status;
	return p->result;
}
