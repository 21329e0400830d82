/*
 * An etcd client on a libev loop: HTTP requests to etcd's v3 JSON gateway
 * (etcd_json.h) made with libcurl's multi interface, so a slow or dead
 * member never blocks the loop (health checks, the control socket and the
 * datapath's events keep running while etcd is away).
 *
 * The client knows the members given to it and talks to one at a time; a
 * caller that sees a transport failure moves it to the next with
 * etcd_client_next_member(). Nothing here retries: the caller owns the
 * backoff.
 */
#ifndef STEER_ETCD_CLIENT_H
#define STEER_ETCD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "registry/etcd_members.h"

#define ETCD_REPLY_MAX (64u << 20) /* a longer reply fails with ETCD_ERR_TOO_BIG */
#define ETCD_LINE_MAX  (64u << 20) /* likewise one message of a stream */

enum etcd_err {
	ETCD_OK = 0,
	ETCD_ERR_TRANSPORT, /* no connection, reset, timeout: try another member */
	ETCD_ERR_HTTP,	    /* an HTTP status other than 200; body holds etcd's error */
	ETCD_ERR_TOO_BIG,   /* the reply or a stream message passed its limit */
	ETCD_ERR_NOMEM,
	ETCD_ERR_CLOSED, /* a stream the member ended (it goes down, or left) */
};

struct etcd_client;
struct etcd_request;

/* etcd_members_parse() (etcd_members.h) says which member lists are accepted. */

/* A client of members (as etcd_members_parse() accepts) on loop; each
 * request gives up after timeout_ms (a stream: connect_timeout_ms to
 * connect, then never, but TCP keepalive notices a member that vanished).
 * Returns NULL with err set. */
struct etcd_client *etcd_client_new(struct ev_loop *loop, const char *members, uint32_t timeout_ms,
				    char *err, size_t errlen);
/* TLS to the members: with ca_file, requests go over https and the member's
 * certificate must be signed by that CA and name the address used; with
 * cert_file and key_file as well, the client shows that certificate (etcd's
 * --client-cert-auth). NULL or "" members: not used. */
struct etcd_tls {
	const char *ca_file, *cert_file, *key_file;
};

/* Use tls for the requests started from now on (the paths are copied).
 * Returns 0, or -1 with err set (out of memory, a cert without its key). */
int etcd_client_set_tls(struct etcd_client *c, const struct etcd_tls *tls, char *err,
			size_t errlen);

/* Cancels every request in flight without calling their callbacks. NULL-safe;
 * may be called from a callback (the client then goes when it returns). */
void etcd_client_free(struct etcd_client *c);

/* The member requests go to now ("HOST:PORT"), and a move to the next one
 * (round robin) for the requests started after it. */
const char *etcd_client_member(const struct etcd_client *c);
void etcd_client_next_member(struct etcd_client *c);

/* Called once when a request ends: err ETCD_OK with http 200 and the body
 * (NUL-terminated), or an error with msg (the member and curl's message,
 * "HTTP 503" or what ended it: "127.0.0.1:2379: Connection refused") and
 * what body came. The request is freed after the callback returns. */
typedef void (*etcd_done_fn)(void *arg, enum etcd_err err, long http, const char *body, size_t len,
			     const char *msg);

/* POST body (a NUL-terminated JSON text, copied) to path ("/v3/kv/range")
 * on the current member. Returns the request (for etcd_request_cancel()),
 * or NULL when it could not even be started (out of memory). */
struct etcd_request *etcd_post(struct etcd_client *c, const char *path, const char *body,
			       etcd_done_fn done, void *arg);

/* A stream (/v3/watch): each complete line of the reply (one JSON message,
 * without its newline, NUL-terminated) goes to on_line as it arrives; a
 * non-zero return ends the stream (done is then not called). done is called
 * once when the stream ends by itself, with ETCD_ERR_CLOSED (after on_line
 * got the last message, which etcd may end without a newline: the stream's
 * {"error": ...} when the member shuts down), or with an error. A reply
 * other than HTTP 200 goes to done whole (ETCD_ERR_HTTP), not to on_line. */
typedef int (*etcd_line_fn)(void *arg, const char *line, size_t len);
struct etcd_request *etcd_stream(struct etcd_client *c, const char *path, const char *body,
				 etcd_line_fn on_line, etcd_done_fn done, void *arg);

/* End a request or stream now, without calling its callbacks. NULL-safe;
 * must not be called on a request whose done is running. */
void etcd_request_cancel(struct etcd_request *r);

#endif
