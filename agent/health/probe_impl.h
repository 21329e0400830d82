/* Private to agent/probe*.c: the probe object, the per-type operations
 * table and the helpers the types share (connect, wait, decide). */
#ifndef STEER_PROBE_IMPL_H
#define STEER_PROBE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "health/dns_msg.h"
#include "health/http_parse.h"
#include "health/probe.h"

#define PROBE_DETAIL_MAX    128 /* detail text handed to done() */
#define PROBE_HTTP_HEAD_MAX 24	/* reply bytes quoted when it is not HTTP */

/* One check type, in the manner of keepalived's checkers. */
struct probe_ops {
	const char *name;
	/* Begin the check: 0 once under way (a verdict may already be given
	 * through probe_decide()), or -1 with errno set for a resource error;
	 * the core then releases the probe and done() is never called. */
	int (*start)(struct probe *p);
	/* The socket is ready for what probe_wait() asked for. Return right
	 * after probe_decide(): the probe may be gone. */
	void (*on_io)(struct probe *p, int revents);
	/* Release what start() allocated; the core closes the socket. */
	void (*free)(struct probe *p);
};

extern const struct probe_ops probe_tcp_ops;
extern const struct probe_ops probe_http_ops;
extern const struct probe_ops probe_dns_ops;
extern const struct probe_ops probe_udp_ops;

#define PROBE_DNS_REPLY_MAX 4096 /* bytes of a reply read; the rest counts as cut */

struct probe_http {
	char *request; /* the whole GET, built by start() */
	size_t request_len;
	size_t sent; /* bytes of request written so far */
	struct http_status_parser parser;
	char head[PROBE_HTTP_HEAD_MAX]; /* first reply bytes, for the detail */
	size_t head_len;
};

struct probe_dns {
	uint8_t query[2 + DNS_QUERY_MAX]; /* over TCP: after its 2-byte length */
	size_t query_len;		  /* bytes to send, the length included */
	size_t sent;
	uint8_t *reply; /* TCP: PROBE_DNS_REPLY_MAX + 2 bytes, the length first */
	size_t got;
};

struct probe_udp {
	uint8_t *payload; /* payload, then reply_prefix, in one allocation */
	size_t payload_len;
	size_t prefix_len;
};

struct probe {
	struct ev_loop *loop;
	const struct probe_ops *ops;
	struct probe_spec spec; /* spec.path is only valid inside start() */
	probe_done_fn done;
	void *arg;
	int fd; /* -1 when closed */
	bool connected;
	bool tcp; /* a TCP socket: closed with a reset once connected */
	/* Inside probe_start() or the timeout's last look at the socket: a
	 * verdict is recorded, delivered when that returns. */
	bool holding;
	bool decided; /* result, latency_us and detail hold the verdict */
	ev_io io;
	ev_timer timer;	    /* the whole timeout; zero delay delivers a verdict */
	struct timespec t0; /* CLOCK_MONOTONIC at probe_start() */
	uint8_t result;	    /* enum steer_check_result */
	uint32_t latency_us;
	char detail[PROBE_DETAIL_MAX];
	struct probe_http http; /* PROBE_HTTP only */
	struct probe_dns dns;	/* PROBE_DNS only */
	struct probe_udp udp;	/* PROBE_UDP only */
};

/* Open a non-blocking socket to spec.target and connect; the probe then
 * waits until it is writable. Returns 0 (under way, or decided when the
 * connect failed at once) or -1 with errno for a resource error. */
int probe_connect(struct probe *p);

/* Open a non-blocking UDP socket connected to spec.target (the kernel
 * then delivers only the target's datagrams, and its ICMP errors). Returns
 * 0 (ready, or decided when the socket call failed) or -1 with errno for a
 * resource error. */
int probe_open_udp(struct probe *p);

/* Bytes a person can read: printable ASCII as is, the rest C-escaped. */
void probe_quote(const void *in, size_t n, char *out, size_t outlen);

/* On the first writable event: true if the connect succeeded, else the
 * verdict is given (REFUSED, TIMEOUT or ERROR) and the probe may be gone. */
bool probe_connected(struct probe *p);

/* Wait for EV_READ or EV_WRITE on the socket. */
void probe_wait(struct probe *p, int events);

/* Give the verdict: closes the socket (with a reset once connected) and,
 * unless the verdict is held (inside probe_start(): the loop's next
 * iteration delivers it), calls done() and frees p. */
__attribute__((format(printf, 3, 4))) void probe_decide(struct probe *p, uint8_t result,
							const char *fmt, ...);

/* The verdict for a failed socket call: REFUSED for a refused or reset
 * connection, TIMEOUT for ETIMEDOUT, else ERROR; detail "op: strerror". */
void probe_decide_errno(struct probe *p, const char *op, int err);

#endif
