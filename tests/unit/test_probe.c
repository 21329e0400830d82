/* Unit tests for agent/probe*.c: tcp and http checks against real servers
 * on 127.0.0.1 and ::1 (ephemeral ports), driven by a real libev loop.
 * Servers are the kernel's backlog (nobody accepts), a bound port that does
 * not listen (refused), or a fork()ed child that plays a scripted reply;
 * children die with the test (teardown, PDEATHSIG, alarm). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "health/probe.h"
#include "loopback.h"
#include "bpf/steer_abi.h"

#define WATCHDOG_S 10.0 /* no run of the loop in this file may take longer */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- sockets on loopback ---- */

/* A TCP socket bound to 127.0.0.1 or ::1 on an ephemeral port, written to
 * ep. Skips the test when the family is not available on this host. */
static int bind_loopback(int family, struct endpoint *ep)
{
	int fd = test_bind_loopback(family, SOCK_STREAM, ep);

	test_keep_fd(fd);
	return fd;
}

static int listen_loopback(int family, int backlog, struct endpoint *ep)
{
	int fd = bind_loopback(family, ep);

	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

/* A non-blocking client connect to ep, for filling a backlog. */
static int connect_nonblock(const struct endpoint *ep)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd;

	if (ep->family == STEER_FAMILY_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = ep->addr[0];
		sin->sin_port = htons(ep->port);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ep->addr, sizeof(ep->addr));
		sin6->sin6_port = htons(ep->port);
		len = sizeof(*sin6);
	}
	fd = test_keep_fd(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	assert_true(connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS);
	return fd;
}

/* ---- scripted servers (fork()ed children) ---- */

struct step {
	unsigned delay_ms; /* before sending data */
	const char *data;
};

struct script {
	bool read_request; /* read up to the blank line first (else the close resets) */
	bool reset;	   /* then close with RST instead of replying */
	const char *want;  /* if set, the exact request; anything else gets 400 */
	struct step steps[4];
};

static void child_read_request(int c, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len + 1 < size && !strstr(buf, "\r\n\r\n")) {
		ssize_t n = recv(c, buf + len, size - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
}

static void child_send(int c, const char *data)
{
	size_t len = strlen(data), off = 0;

	while (off < len) {
		ssize_t n = send(c, data + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

static void child_serve(int lfd, const struct script *s)
{
	struct timeval tv = {3, 0};
	char req[2048];
	int one = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(30); /* ends by itself whatever the parent does */
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (s->read_request)
			child_read_request(c, req, sizeof(req));
		if (s->reset) {
			struct linger lin = {1, 0};

			setsockopt(c, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
		} else if (s->want && strcmp(req, s->want) != 0) {
			child_send(c, "HTTP/1.1 400 Bad Request\r\n\r\n");
		} else {
			for (const struct step *st = s->steps; st->data; st++) {
				sleep_ms(st->delay_ms);
				child_send(c, st->data);
			}
		}
		close(c);
	}
}

/* A child serving s on the listener lfd. */
static void serve_on(int lfd, const struct script *s)
{
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_serve(lfd, s);
		_exit(0);
	}
	test_keep_child(pid);
}

/* A child serving s on a new listener; its address goes to ep. */
static void start_server(int family, const struct script *s, struct endpoint *ep)
{
	serve_on(listen_loopback(family, 128, ep), s);
}

/* ---- driving the loop ---- */

struct outcome {
	int calls;
	bool called_inside_start;
	uint8_t result;
	uint32_t latency_us;
	char detail[160];
};

static bool inside_start;
static int total_calls; /* over all outcomes */

static void on_done(void *arg, uint8_t result, uint32_t latency_us, const char *detail)
{
	struct outcome *o = arg;

	o->calls++;
	total_calls++;
	o->called_inside_start |= inside_start;
	o->result = result;
	o->latency_us = latency_us;
	snprintf(o->detail, sizeof(o->detail), "%s", detail);
}

static struct probe *start(struct ev_loop *loop, const struct probe_spec *spec, struct outcome *o)
{
	struct probe *p;

	inside_start = true;
	p = probe_start(loop, spec, on_done, o);
	inside_start = false;
	return p;
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	*(bool *)w->data = true;
}

/* Run the loop until *count reaches want or max_s seconds pass. */
static void run_until(struct ev_loop *loop, const int *count, int want, double max_s)
{
	bool expired = false;
	ev_timer dog;

	ev_timer_init(&dog, watchdog_cb, max_s, 0.);
	dog.data = &expired;
	ev_timer_start(loop, &dog);
	while (*count < want && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &dog);
}

static void run_for_ms(struct ev_loop *loop, unsigned ms)
{
	static const int never;

	run_until(loop, &never, 1, ms / 1000.);
}

/* ---- the table: one check against one kind of server ---- */

enum server_kind {
	SRV_SCRIPT,	  /* a child plays the script */
	SRV_BACKLOG,	  /* listening; the kernel completes handshakes, nobody accepts */
	SRV_FULL_BACKLOG, /* listening with a full accept queue: SYNs are dropped */
	SRV_CLOSED,	  /* bound, not listening: connects are refused */
};

struct check_case {
	const char *name; /* after "tcp4_", "http6_"... */
	enum probe_kind kind;
	enum server_kind server;
	struct script script;
	uint16_t lo, hi;     /* 0, 0: 200-299 */
	uint32_t timeout_ms; /* 0: 2000 */
	uint8_t result;
	const char *detail; /* exact */
};

/* A child that reads the request, then sends what steps say. */
#define REPLYING(...) .server = SRV_SCRIPT, .script = {.read_request = true, .steps = {__VA_ARGS__}}

static const struct check_case cases[] = {
    /* tcp */
    {.name = "connect_to_listener_is_ok",
     .kind = PROBE_TCP,
     .server = SRV_BACKLOG,
     .result = STEER_CHECK_OK,
     .detail = "connected"},
    {.name = "connect_to_closed_port_is_refused",
     .kind = PROBE_TCP,
     .server = SRV_CLOSED,
     .result = STEER_CHECK_REFUSED,
     .detail = "connect: Connection refused"},
    {.name = "syn_to_full_backlog_times_out",
     .kind = PROBE_TCP,
     .server = SRV_FULL_BACKLOG,
     .timeout_ms = 200,
     .result = STEER_CHECK_TIMEOUT,
     .detail = "connect: no answer within 200 ms"},
    /* http */
    {.name = "200_is_ok",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}),
     .result = STEER_CHECK_OK,
     .detail = "HTTP 200"},
    {.name = "request_is_get_path_host_user_agent_close",
     .kind = PROBE_HTTP,
     .server = SRV_SCRIPT,
     .script = {.read_request = true,
		.want = "(run_case builds it around the port)",
		.steps = {{0, "HTTP/1.1 204 No Content\r\n\r\n"}}},
     .result = STEER_CHECK_OK,
     .detail = "HTTP 204"},
    {.name = "http10_reply_with_lf_only_is_ok",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.0 200\n\n"}),
     .result = STEER_CHECK_OK,
     .detail = "HTTP 200"},
    {.name = "status_inside_custom_range_is_ok",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n"}),
     .lo = 200,
     .hi = 399,
     .result = STEER_CHECK_OK,
     .detail = "HTTP 302"},
    {.name = "500_is_bad_status",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.1 500 Internal Server Error\r\n\r\n"}),
     .result = STEER_CHECK_BAD_STATUS,
     .detail = "HTTP 500"},
    {.name = "status_above_range_is_bad_status",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.1 204 No Content\r\n\r\n"}),
     .lo = 200,
     .hi = 200,
     .result = STEER_CHECK_BAD_STATUS,
     .detail = "HTTP 204"},
    {.name = "garbage_is_bad_response",
     .kind = PROBE_HTTP,
     REPLYING({0, "SSH-2.0-OpenSSH_9.2\r\n"}),
     .result = STEER_CHECK_BAD_RESPONSE,
     .detail = "not an HTTP/1.x status line: \"SSH-2.0-OpenSSH_9.2\\r\\n\""},
    {.name = "binary_is_bad_response",
     .kind = PROBE_HTTP,
     REPLYING({0, "\x16\x03\x01\x02"}),
     .result = STEER_CHECK_BAD_RESPONSE,
     .detail = "not an HTTP/1.x status line: \"\\x16\\x03\\x01\\x02\""},
    {.name = "close_without_reply_is_bad_response",
     .kind = PROBE_HTTP,
     REPLYING({0, NULL}),
     .result = STEER_CHECK_BAD_RESPONSE,
     .detail = "connection closed without a reply"},
    {.name = "close_within_status_line_is_bad_response",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1.1 20"}),
     .result = STEER_CHECK_BAD_RESPONSE,
     .detail = "connection closed within the status line: \"HTTP/1.1 20\""},
    {.name = "reset_after_request_is_refused",
     .kind = PROBE_HTTP,
     .server = SRV_SCRIPT,
     .script = {.read_request = true, .reset = true},
     .result = STEER_CHECK_REFUSED,
     .detail = "recv: Connection reset by peer"},
    {.name = "status_line_in_three_pieces_is_ok",
     .kind = PROBE_HTTP,
     REPLYING({0, "HTTP/1."}, {50, "1 2"}, {50, "00 OK\r\n\r\n"}),
     .result = STEER_CHECK_OK,
     .detail = "HTTP 200"},
    {.name = "silent_server_times_out",
     .kind = PROBE_HTTP,
     .server = SRV_BACKLOG,
     .timeout_ms = 200,
     .result = STEER_CHECK_TIMEOUT,
     .detail = "no reply within 200 ms"},
    {.name = "status_after_five_times_the_timeout_times_out",
     .kind = PROBE_HTTP,
     REPLYING({1000, "HTTP/1.1 200 OK\r\n\r\n"}),
     .timeout_ms = 200,
     .result = STEER_CHECK_TIMEOUT,
     .detail = "no reply within 200 ms"},
    {.name = "connect_to_closed_port_is_refused",
     .kind = PROBE_HTTP,
     .server = SRV_CLOSED,
     .result = STEER_CHECK_REFUSED,
     .detail = "connect: Connection refused"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Fill the accept queue of a backlog-0 listener until a connect stays
 * pending; skip if the kernel never drops a SYN. */
static void fill_backlog(const struct endpoint *ep)
{
	for (int i = 0; i < 8; i++) {
		struct pollfd pfd = {connect_nonblock(ep), POLLOUT, 0};

		if (poll(&pfd, 1, 100) == 0)
			return; /* this SYN was dropped: the queue is full */
	}
	print_message("the accept queue never filled up\n");
	skip();
}

static void run_case(const struct check_case *c, int family)
{
	char host[ADDR_STRLEN], want[512];
	struct probe_spec spec = {0};
	struct outcome o = {0};
	struct script script = c->script;
	struct ev_loop *loop;
	int fd;

	spec.kind = c->kind;
	spec.timeout_ms = c->timeout_ms ? c->timeout_ms : 2000;
	spec.path = "/healthz?from=steer";
	spec.expect_lo = c->lo ? c->lo : 200;
	spec.expect_hi = c->hi ? c->hi : 299;

	switch (c->server) {
	case SRV_SCRIPT:
		/* the port is only known once bound: build the wanted request
		 * around a listener the child then inherits */
		fd = listen_loopback(family, 128, &spec.target);
		if (script.want) {
			snprintf(want, sizeof(want),
				 "GET /healthz?from=steer HTTP/1.1\r\nHost: %s\r\n"
				 "User-Agent: steer-health\r\nConnection: close\r\n\r\n",
				 endpoint_format(&spec.target, host, sizeof(host)));
			script.want = want;
		}
		serve_on(fd, &script);
		break;
	case SRV_BACKLOG:
		listen_loopback(family, 16, &spec.target);
		break;
	case SRV_FULL_BACKLOG:
		listen_loopback(family, 0, &spec.target);
		fill_backlog(&spec.target);
		break;
	case SRV_CLOSED:
		bind_loopback(family, &spec.target);
		break;
	}

	loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	assert_non_null(start(loop, &spec, &o));
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	run_for_ms(loop, 10); /* a second call would show here */
	ev_loop_destroy(loop);

	assert_int_equal(o.calls, 1);
	assert_false(o.called_inside_start);
	if (o.result != c->result)
		fail_msg("result %u (%s), want %u", o.result, o.detail, c->result);
	if (strcmp(o.detail, c->detail) != 0)
		fail_msg("detail '%s', want '%s'", o.detail, c->detail);
	if (c->result == STEER_CHECK_TIMEOUT) {
		assert_in_range(o.latency_us, spec.timeout_ms * 1000 - 1000,
				spec.timeout_ms * 1000 + 900000);
	} else {
		assert_true(o.latency_us < spec.timeout_ms * 1000);
	}
}

static void test_check_case_v4(void **state)
{
	run_case(*state, AF_INET);
}

static void test_check_case_v6(void **state)
{
	run_case(*state, AF_INET6);
}

/* ---- the rest ---- */

static void test_probe_connect_failing_at_once_is_reported_from_the_loop(void **state)
{
	/* TCP to a multicast address fails inside connect() (ENETUNREACH)
	 * without a packet leaving the host */
	struct probe_spec spec = {.kind = PROBE_TCP, .timeout_ms = 1000};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = {0};

	(void)state;
	spec.target.family = STEER_FAMILY_V4;
	spec.target.addr[0] = htonl(0xe0000001); /* 224.0.0.1 */
	spec.target.port = 80;
	assert_non_null(start(loop, &spec, &o));
	assert_int_equal(o.calls, 0);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	ev_loop_destroy(loop);

	assert_int_equal(o.calls, 1);
	assert_false(o.called_inside_start);
	assert_int_equal(o.result, STEER_CHECK_ERROR);
	assert_string_equal(o.detail, "connect: Network is unreachable");
}

static void test_probe_cancel_in_flight_never_calls_done(void **state)
{
	struct probe_spec spec = {.kind = PROBE_HTTP, .timeout_ms = 100, .path = "/"};
	struct probe_spec failing = {.kind = PROBE_TCP, .timeout_ms = 100};
	struct outcome o = {0};
	struct ev_loop *loop;
	struct probe *p;

	(void)state;
	spec.expect_lo = 200;
	spec.expect_hi = 299;
	listen_loopback(AF_INET, 16, &spec.target);
	failing.target.family = STEER_FAMILY_V4;
	failing.target.addr[0] = htonl(0xe0000001);
	failing.target.port = 80;
	loop = ev_loop_new(EVFLAG_AUTO);

	/* connected, request sent, waiting for the reply */
	p = start(loop, &spec, &o);
	assert_non_null(p);
	run_for_ms(loop, 30);
	probe_cancel(p);
	/* cancelled before the loop ever ran */
	probe_cancel(start(loop, &spec, &o));
	/* cancelled while its verdict waits for the loop */
	p = start(loop, &failing, &o);
	assert_non_null(p);
	probe_cancel(p);
	probe_cancel(NULL);

	run_for_ms(loop, 300); /* three times the timeout */
	assert_int_equal(ev_pending_count(loop), 0);
	ev_loop_destroy(loop);
	assert_int_equal(o.calls, 0);
}

struct chain {
	struct ev_loop *loop;
	struct probe_spec spec;
	int calls;
	int ok;
};

static void chain_done(void *arg, uint8_t result, uint32_t latency_us, const char *detail)
{
	struct chain *ch = arg;

	(void)latency_us;
	(void)detail;
	ch->calls++;
	ch->ok += result == STEER_CHECK_OK;
	if (ch->calls < 5)
		assert_non_null(probe_start(ch->loop, &ch->spec, chain_done, ch));
}

static void test_probe_done_may_start_the_next_probe(void **state)
{
	struct chain ch = {0};

	(void)state;
	ch.spec.kind = PROBE_TCP;
	ch.spec.timeout_ms = 2000;
	listen_loopback(AF_INET, 16, &ch.spec.target);
	ch.loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(probe_start(ch.loop, &ch.spec, chain_done, &ch));
	run_until(ch.loop, &ch.calls, 5, WATCHDOG_S);
	ev_loop_destroy(ch.loop);
	assert_int_equal(ch.calls, 5);
	assert_int_equal(ch.ok, 5);
}

/* The loop was busy past the timeout (blocked here): the connect had
 * completed in time, so the check passes; libev runs the due timer before
 * the socket's callback, and the probe looks at the socket first. */
static void test_probe_reply_in_time_passes_when_the_loop_is_late(void **state)
{
	struct probe_spec spec = {.kind = PROBE_TCP, .timeout_ms = 20};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = {0};

	(void)state;
	test_keep_fd(listen_loopback(AF_INET, 16, &spec.target));
	assert_non_null(start(loop, &spec, &o));
	sleep_ms(3 * spec.timeout_ms);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	ev_loop_destroy(loop);

	assert_int_equal(o.calls, 1);
	if (o.result != STEER_CHECK_OK)
		fail_msg("result %u (%s), want ok", o.result, o.detail);
	assert_true(o.latency_us >= 3 * spec.timeout_ms * 1000);
}

/* A passed TCP check closes with a reset: the replica's side reads
 * ECONNRESET, not an end of file, and keeps no TIME_WAIT. */
static void test_probe_tcp_check_closes_with_a_reset(void **state)
{
	struct probe_spec spec = {.kind = PROBE_TCP, .timeout_ms = 1000};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = {0};
	int lfd, c;
	char b;

	(void)state;
	lfd = test_keep_fd(listen_loopback(AF_INET, 16, &spec.target));
	assert_non_null(start(loop, &spec, &o));
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	ev_loop_destroy(loop);
	assert_int_equal(o.result, STEER_CHECK_OK);

	c = test_keep_fd(accept(lfd, NULL, NULL));
	errno = 0;
	if (recv(c, &b, 1, 0) != -1 || errno != ECONNRESET)
		fail_msg("the replica's recv: errno %d (%s), want ECONNRESET", errno,
			 strerror(errno));
}

static void test_probe_invalid_spec_is_einval(void **state)
{
	static const struct {
		enum probe_kind kind;
		uint8_t family;
		uint16_t port;
		uint32_t timeout_ms;
		const char *path;
		uint16_t lo, hi;
	} bad[] = {
	    {0, STEER_FAMILY_V4, 80, 100, "/", 200, 299},
	    {3, STEER_FAMILY_V4, 80, 100, "/", 200, 299},
	    {PROBE_TCP, 0, 80, 100, NULL, 0, 0},
	    {PROBE_TCP, 1, 80, 100, NULL, 0, 0},
	    {PROBE_TCP, STEER_FAMILY_V4, 0, 100, NULL, 0, 0},
	    {PROBE_TCP, STEER_FAMILY_V6, 80, 0, NULL, 0, 0},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, NULL, 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "", 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "healthz", 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "/a b", 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "/a\r\nX-Evil: 1", 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "/\x7f", 200, 299},
	    {PROBE_HTTP, STEER_FAMILY_V4, 80, 100, "/", 300, 299},
	};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct probe_spec spec;
	struct outcome o = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&spec, 0, sizeof(spec));
		spec.kind = bad[i].kind;
		spec.target.family = bad[i].family;
		spec.target.addr[0] = htonl(INADDR_LOOPBACK);
		spec.target.port = bad[i].port;
		spec.timeout_ms = bad[i].timeout_ms;
		spec.path = bad[i].path;
		spec.expect_lo = bad[i].lo;
		spec.expect_hi = bad[i].hi;
		errno = 0;
		if (start(loop, &spec, &o) != NULL)
			fail_msg("bad spec %zu accepted", i);
		assert_int_equal(errno, EINVAL);
	}
	spec.kind = PROBE_TCP;
	spec.target.family = STEER_FAMILY_V4;
	spec.target.port = 80;
	spec.timeout_ms = 100;
	errno = 0;
	assert_null(probe_start(loop, NULL, on_done, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(probe_start(loop, &spec, NULL, &o));
	assert_int_equal(errno, EINVAL);
	run_for_ms(loop, 10);
	ev_loop_destroy(loop);
	assert_int_equal(o.calls, 0);
}

static void test_probe_out_of_fds_returns_null_with_emfile(void **state)
{
	struct probe_spec spec = {.kind = PROBE_TCP, .timeout_ms = 100};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = {0};
	struct rlimit old, low;
	int lowest_free = dup(0);

	(void)state;
	listen_loopback(AF_INET, 16, &spec.target);
	assert_true(lowest_free >= 0);
	close(lowest_free);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest_free; /* no new descriptor fits */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	errno = 0;
	struct probe *p = start(loop, &spec, &o);
	int err = errno;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	assert_null(p);
	assert_int_equal(err, EMFILE);
	run_for_ms(loop, 10);
	ev_loop_destroy(loop);
	assert_int_equal(o.calls, 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_probe_leaves_no_fd_behind_after_100_probes(void **state)
{
	static const struct script http_ok = {.read_request = true,
					      .steps = {{0, "HTTP/1.1 200 OK\r\n\r\n"}}};
	static const struct script accept_close = {0}; /* accept, close */
	struct probe_spec tcp = {.kind = PROBE_TCP, .timeout_ms = 5000};
	struct probe_spec http = {.kind = PROBE_HTTP, .timeout_ms = 5000, .path = "/"};
	struct probe_spec refused = {.kind = PROBE_TCP, .timeout_ms = 5000};
	struct probe_spec silent = {.kind = PROBE_HTTP, .timeout_ms = 50, .path = "/"};
	struct probe_spec unreachable = {.kind = PROBE_TCP, .timeout_ms = 5000};
	struct probe_spec *specs[] = {&tcp, &http, &refused, &silent, &unreachable};
	static const uint8_t want[] = {STEER_CHECK_OK, STEER_CHECK_OK, STEER_CHECK_REFUSED,
				       STEER_CHECK_TIMEOUT, STEER_CHECK_ERROR};
	struct outcome o[100];
	struct ev_loop *loop;
	int before, done = 0, cancelled = 0;

	(void)state;
	http.expect_lo = silent.expect_lo = 200;
	http.expect_hi = silent.expect_hi = 299;
	start_server(AF_INET, &accept_close, &tcp.target);
	start_server(AF_INET6, &http_ok, &http.target);
	bind_loopback(AF_INET, &refused.target);
	listen_loopback(AF_INET, 64, &silent.target);
	unreachable.target.family = STEER_FAMILY_V4;
	unreachable.target.addr[0] = htonl(0xe0000001);
	unreachable.target.port = 80;
	loop = ev_loop_new(EVFLAG_AUTO);
	before = count_fds();

	memset(o, 0, sizeof(o));
	for (int i = 0; i < 100; i++) {
		struct probe *p = start(loop, specs[i % 5], &o[i]);

		assert_non_null(p);
		if (i % 7 == 3) { /* every seventh: cancel at once */
			probe_cancel(p);
			cancelled++;
		}
	}
	total_calls = 0;
	run_until(loop, &total_calls, 100 - cancelled, WATCHDOG_S);
	run_for_ms(loop, 10);
	for (int i = 0; i < 100; i++) {
		done += o[i].calls;
		assert_false(o[i].called_inside_start);
		if (i % 7 == 3) {
			assert_int_equal(o[i].calls, 0);
			continue;
		}
		assert_int_equal(o[i].calls, 1);
		if (o[i].result != want[i % 5])
			fail_msg("probe %d: result %u (%s), want %u", i, o[i].result, o[i].detail,
				 want[i % 5]);
	}
	assert_int_equal(done, 100 - cancelled);
	assert_int_equal(count_fds(), before);
	ev_loop_destroy(loop);
}

int main(void)
{
	static char names[2 * NCASES][96];
	struct CMUnitTest tests[2 * NCASES + 8];
	size_t n = 0;

	for (size_t i = 0; i < NCASES; i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			snprintf(names[n], sizeof(names[n]), "%s%d_%s",
				 cases[i].kind == PROBE_TCP ? "tcp" : "http", v6 ? 6 : 4,
				 cases[i].name);
			tests[n] = (struct CMUnitTest){names[n],
						       v6 ? test_check_case_v6 : test_check_case_v4,
						       NULL, test_release, (void *)&cases[i]};
			n++;
		}
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_connect_failing_at_once_is_reported_from_the_loop, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_cancel_in_flight_never_calls_done, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_done_may_start_the_next_probe, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_reply_in_time_passes_when_the_loop_is_late, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_tcp_check_closes_with_a_reset, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(test_probe_invalid_spec_is_einval,
								  test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_out_of_fds_returns_null_with_emfile, test_release);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_leaves_no_fd_behind_after_100_probes, test_release);

	return _cmocka_run_group_tests("probe", tests, n, NULL, NULL);
}
