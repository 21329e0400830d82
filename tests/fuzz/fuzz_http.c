/* libFuzzer target: HTTP status lines of health-check responses
 * (http_parser_feed()).
 *
 * The first two bytes choose two split points; the rest is the response,
 * fed in three reads. The parser promises that a split read changes
 * nothing, so the result (and status) must equal those of one read and of
 * byte-by-byte reads. DONE implies 100 <= status <= 599; once DONE or BAD,
 * more bytes change nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/http_parse.h"

struct outcome {
	enum http_parse_result result;
	int status;
};

/* Feed data[0, n) cut at a and b (a <= b <= n). */
static struct outcome feed_split(const char *data, size_t n, size_t a, size_t b)
{
	struct http_status_parser p;
	struct outcome o = {HTTP_PARSE_MORE, -1};

	http_parser_init(&p);
	http_parser_feed(&p, data, a, &o.status);
	http_parser_feed(&p, data + a, b - a, &o.status);
	o.result = http_parser_feed(&p, data + b, n - b, &o.status);
	return o;
}

static struct outcome feed_bytes(const char *data, size_t n)
{
	struct http_status_parser p;
	struct outcome o = {HTTP_PARSE_MORE, -1};

	http_parser_init(&p);
	for (size_t i = 0; i < n; i++)
		o.result = http_parser_feed(&p, data + i, 1, &o.status);
	if (n == 0)
		o.result = http_parser_feed(&p, data, 0, &o.status);
	return o;
}

static void check(struct outcome o)
{
	if (o.result == HTTP_PARSE_DONE && (o.status < 100 || o.status > 599))
		__builtin_trap();
	if (o.result != HTTP_PARSE_DONE && o.status != -1)
		__builtin_trap(); /* *status is written only on DONE */
	if (o.result != HTTP_PARSE_MORE && o.result != HTTP_PARSE_DONE &&
	    o.result != HTTP_PARSE_BAD)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split, bytes;
	size_t n, a, b, t;
	char *body;

	if (size < 2)
		return 0;
	n = size - 2;
	/* A copy of exactly n bytes, so ASan sees any read past the end. */
	body = malloc(n ? n : 1);
	if (!body)
		return 0;
	memcpy(body, data + 2, n);
	a = n ? data[0] % (n + 1) : 0;
	b = n ? data[1] % (n + 1) : 0;
	if (a > b) {
		t = a;
		a = b;
		b = t;
	}

	whole = feed_split(body, n, 0, 0);
	split = feed_split(body, n, a, b);
	bytes = feed_bytes(body, n);
	check(whole);
	check(split);
	check(bytes);
	if (whole.result != split.result || whole.status != split.status ||
	    whole.result != bytes.result || whole.status != bytes.status)
		__builtin_trap();

	/* Finished: more bytes (the same again) change nothing. */
	if (whole.result != HTTP_PARSE_MORE) {
		struct http_status_parser p;
		int status = -1;

		http_parser_init(&p);
		http_parser_feed(&p, body, n, &status);
		if (http_parser_feed(&p, body, n, &status) != whole.result ||
		    status != whole.status)
			__builtin_trap();
	}
	free(body);
	return 0;
}
