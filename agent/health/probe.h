/* Active health checks on the agent's event loop (libev): non-blocking
 * sockets, no thread per replica. One small table of operations per check
 * type (tcp, http, dns, udp), in the manner of keepalived's checkers. */
#ifndef STEER_PROBE_H
#define STEER_PROBE_H

#include <stdint.h>

#include <ev.h>

#include "lib/addr.h"

enum probe_kind {
	PROBE_TCP = 1,	/* a non-blocking connect */
	PROBE_HTTP = 2, /* HTTP/1.1 GET path; status must be in [expect_lo, expect_hi] */
	PROBE_DNS = 3,	/* one query over UDP or TCP; NOERROR or NXDOMAIN to it */
	PROBE_UDP = 4,	/* one datagram; any reply, or one starting with reply_prefix */
};

#define PROBE_PAYLOAD_MAX 512 /* PROBE_UDP: bytes of payload and of reply_prefix */

struct probe_spec {
	enum probe_kind kind;
	struct endpoint target;
	uint32_t timeout_ms; /* whole check, connect to verdict */
	const char *path;    /* PROBE_HTTP: request path, e.g. "/healthz" */
	uint16_t expect_lo;  /* PROBE_HTTP: accepted status range */
	uint16_t expect_hi;
	uint8_t proto;	      /* PROBE_DNS: IPPROTO_UDP or IPPROTO_TCP */
	const char *dns_name; /* PROBE_DNS: the query name, as dns_name_valid() takes */
	uint16_t dns_type;    /* PROBE_DNS: the query type */
	/* PROBE_UDP: the datagram (1..PROBE_PAYLOAD_MAX bytes) and the prefix a
	 * good reply starts with (0 bytes: any reply is good). */
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *reply_prefix;
	size_t reply_prefix_len;
};

/* Called exactly once per started probe (never from inside probe_start),
 * unless the probe is cancelled. result is an enum steer_check_result;
 * detail is a short human text ("HTTP 500", "connect: Connection refused").
 * The spec's pointers need only be valid during probe_start(). */
typedef void (*probe_done_fn)(void *arg, uint8_t result, uint32_t latency_us, const char *detail);

struct probe;

/* Start one check. Returns NULL with errno set on a resource error (EMFILE,
 * ENOBUFS, ENOMEM...): the caller reschedules; done is not called. */
struct probe *probe_start(struct ev_loop *loop, const struct probe_spec *spec, probe_done_fn done,
			  void *arg);

/* Stop a check in flight and free it; done is not called. */
void probe_cancel(struct probe *p);

#endif
