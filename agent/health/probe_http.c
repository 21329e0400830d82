/* HTTP check: connect, send one GET with "Connection: close", read until
 * the status line is complete and compare the status with the accepted
 * range. Headers and body are not read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "health/probe_impl.h"
#include "bpf/steer_abi.h"

#define HTTP_REQUEST_FMT                                                                           \
	"GET %s HTTP/1.1\r\n"                                                                      \
	"Host: %s\r\n"                                                                             \
	"User-Agent: steer-health\r\n"                                                             \
	"Connection: close\r\n"                                                                    \
	"\r\n"

static int http_start(struct probe *p)
{
	struct probe_http *h = &p->http;
	char host[ADDR_STRLEN];
	int len;

	endpoint_format(&p->spec.target, host, sizeof(host));
	len = snprintf(NULL, 0, HTTP_REQUEST_FMT, p->spec.path, host);
	if (len < 0)
		return -1;
	h->request = malloc((size_t)len + 1);
	if (!h->request)
		return -1;
	snprintf(h->request, (size_t)len + 1, HTTP_REQUEST_FMT, p->spec.path, host);
	h->request_len = (size_t)len;
	http_parser_init(&h->parser);
	return probe_connect(p);
}

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static void http_send(struct probe *p)
{
	struct probe_http *h = &p->http;
	ssize_t n = send(p->fd, h->request + h->sent, h->request_len - h->sent, MSG_NOSIGNAL);

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "send", errno);
		return;
	}
	h->sent += (size_t)n;
	if (h->sent == h->request_len)
		probe_wait(p, EV_READ);
}

static void http_verdict(struct probe *p, enum http_parse_result r, int status)
{
	struct probe_http *h = &p->http;

	if (r == HTTP_PARSE_BAD) {
		char quoted[PROBE_HTTP_HEAD_MAX * 4 + 1];

		probe_quote(h->head, h->head_len, quoted, sizeof(quoted));
		probe_decide(p, STEER_CHECK_BAD_RESPONSE, "not an HTTP/1.x status line: \"%s\"",
			     quoted);
	} else if (status >= p->spec.expect_lo && status <= p->spec.expect_hi) {
		probe_decide(p, STEER_CHECK_OK, "HTTP %d", status);
	} else {
		probe_decide(p, STEER_CHECK_BAD_STATUS, "HTTP %d", status);
	}
}

static void http_recv(struct probe *p)
{
	struct probe_http *h = &p->http;
	char buf[HTTP_STATUS_LINE_MAX];
	enum http_parse_result r;
	int status = 0;
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "recv", errno);
		return;
	}
	if (n == 0) {
		char quoted[PROBE_HTTP_HEAD_MAX * 4 + 1];

		if (h->head_len == 0) {
			probe_decide(p, STEER_CHECK_BAD_RESPONSE,
				     "connection closed without a reply");
			return;
		}
		probe_quote(h->head, h->head_len, quoted, sizeof(quoted));
		probe_decide(p, STEER_CHECK_BAD_RESPONSE,
			     "connection closed within the status line: \"%s\"", quoted);
		return;
	}
	if (h->head_len < sizeof(h->head)) {
		size_t take = sizeof(h->head) - h->head_len;

		if (take > (size_t)n)
			take = (size_t)n;
		memcpy(h->head + h->head_len, buf, take);
		h->head_len += take;
	}
	r = http_parser_feed(&h->parser, buf, (size_t)n, &status);
	if (r != HTTP_PARSE_MORE)
		http_verdict(p, r, status);
}

static void http_on_io(struct probe *p, int revents)
{
	(void)revents;
	if (!p->connected) {
		if (!probe_connected(p))
			return;
		/* writable now: send at once */
	}
	if (p->http.sent < p->http.request_len)
		http_send(p);
	else
		http_recv(p);
}

static void http_free(struct probe *p)
{
	free(p->http.request);
	p->http.request = NULL;
}

const struct probe_ops probe_http_ops = {
    .name = "http",
    .start = http_start,
    .on_io = http_on_io,
    .free = http_free,
};
