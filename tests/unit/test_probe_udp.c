/* Unit tests for agent/health/probe_dns.c and probe_udp.c: dns checks over
 * UDP and TCP and udp payload checks against fork()ed servers on 127.0.0.1
 * and ::1 that play one scripted reply, a closed port (the kernel's ICMP
 * port unreachable) and a silent one, on a real libev loop. Children die
 * with the test (teardown, PDEATHSIG, alarm). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "health/probe.h"
#include "loopback.h"
#include "bpf/steer_abi.h"

#define WATCHDOG_S 10.0

/* A socket of type bound to 127.0.0.1 or ::1 on an ephemeral port. */
static int bind_loopback(int family, int type, struct endpoint *ep)
{
	return test_keep_fd(test_bind_loopback(family, type, ep));
}

enum reply {
	R_SILENT,	/* reads, never answers */
	R_DNS_RCODE,	/* the query back as a response with rcode */
	R_DNS_OTHER_ID, /* first a response with another id, then R_DNS_RCODE */
	R_DNS_OTHER_Q,	/* a response to another question */
	R_FIXED,	/* fixed bytes, whatever came */
};

struct server {
	enum reply reply;
	uint8_t rcode;
	const char *fixed;
	size_t fixed_len;
};

/* The response to query q[0..n) that s plays into out; its length. */
static size_t build_reply(const struct server *s, const uint8_t *q, size_t n, uint8_t *out)
{
	if (s->reply == R_FIXED) {
		memcpy(out, s->fixed, s->fixed_len);
		return s->fixed_len;
	}
	memcpy(out, q, n);
	out[2] = 0x81;
	out[3] = (uint8_t)(0x80 | s->rcode);
	if (s->reply == R_DNS_OTHER_Q)
		out[13] ^= 0x01; /* the first letter of the name */
	return n;
}

static void child_udp(int fd, const struct server *s)
{
	uint8_t q[1500], out[1500];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		size_t len;

		if (n <= 0)
			continue;
		if (s->reply == R_SILENT)
			continue;
		len = build_reply(s, q, (size_t)n, out);
		if (s->reply == R_DNS_OTHER_ID) {
			out[1] ^= 0xff;
			sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
			out[1] ^= 0xff;
		}
		sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
	}
}

static void child_tcp(int lfd, const struct server *s)
{
	uint8_t q[1500], out[1502];

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		ssize_t n, got = 0;
		size_t len;

		if (c < 0)
			continue;
		while (got < 2 || got < 2 + (q[0] << 8 | q[1])) {
			n = recv(c, q + got, sizeof(q) - (size_t)got, 0);
			if (n <= 0)
				break;
			got += n;
		}
		if (s->reply != R_SILENT && got > 2) {
			len = build_reply(s, q + 2, (size_t)got - 2, out + 2);
			out[0] = (uint8_t)(len >> 8);
			out[1] = (uint8_t)len;
			/* In two pieces: the length, then the message. */
			send(c, out, 1, MSG_NOSIGNAL);
			usleep(20000);
			send(c, out + 1, len + 1, MSG_NOSIGNAL);
		}
		usleep(s->reply == R_SILENT ? 1000000 : 200000);
		close(c);
	}
}

/* A child playing s on a new socket of type; its address goes to ep. */
static void start_server(int family, int type, const struct server *s, struct endpoint *ep)
{
	int fd = bind_loopback(family, type, ep);
	pid_t pid;

	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 8), 0); /* before a connect can come */
	pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		if (type == SOCK_DGRAM)
			child_udp(fd, s);
		else
			child_tcp(fd, s);
		_exit(0);
	}
	test_keep_child(pid);
}

struct outcome {
	int calls;
	uint8_t result;
	uint32_t latency_us;
	char detail[160];
};

static void on_done(void *arg, uint8_t result, uint32_t latency_us, const char *detail)
{
	struct outcome *o = arg;

	o->calls++;
	o->result = result;
	o->latency_us = latency_us;
	snprintf(o->detail, sizeof(o->detail), "%s", detail);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	*(bool *)w->data = true;
}

static struct outcome run_probe(const struct probe_spec *spec)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = {0};
	bool expired = false;
	ev_timer dog;

	assert_non_null(loop);
	assert_non_null(probe_start(loop, spec, on_done, &o));
	ev_timer_init(&dog, watchdog_cb, WATCHDOG_S, 0.);
	dog.data = &expired;
	ev_timer_start(loop, &dog);
	while (!o.calls && !expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &dog);
	ev_loop_destroy(loop);
	assert_int_equal(o.calls, 1);
	return o;
}

struct dns_case {
	const char *name;
	uint8_t proto;
	struct server server;
	bool closed; /* no server: a port bound and closed again */
	const char *qname;
	uint16_t qtype;
	uint8_t result;
	const char *detail;
};

static const struct dns_case dns_cases[] = {
    {"udp_noerror_is_ok",
     IPPROTO_UDP,
     {R_DNS_RCODE, 0, NULL, 0},
     false,
     ".",
     2,
     STEER_CHECK_OK,
     "DNS NOERROR, 0 answers"},
    {"udp_nxdomain_is_ok",
     IPPROTO_UDP,
     {R_DNS_RCODE, 3, NULL, 0},
     false,
     "nope.test",
     1,
     STEER_CHECK_OK,
     "DNS NXDOMAIN, 0 answers"},
    {"udp_servfail_is_bad_status",
     IPPROTO_UDP,
     {R_DNS_RCODE, 2, NULL, 0},
     false,
     "a.test",
     1,
     STEER_CHECK_BAD_STATUS,
     "DNS SERVFAIL"},
    {"udp_refused_is_bad_status",
     IPPROTO_UDP,
     {R_DNS_RCODE, 5, NULL, 0},
     false,
     ".",
     2,
     STEER_CHECK_BAD_STATUS,
     "DNS REFUSED"},
    {"udp_another_id_first_is_skipped",
     IPPROTO_UDP,
     {R_DNS_OTHER_ID, 0, NULL, 0},
     false,
     "a.test",
     1,
     STEER_CHECK_OK,
     "DNS NOERROR, 0 answers"},
    {"udp_another_question_is_bad_response",
     IPPROTO_UDP,
     {R_DNS_OTHER_Q, 0, NULL, 0},
     false,
     "a.test",
     1,
     STEER_CHECK_BAD_RESPONSE,
     "not a DNS reply to the query: answers another question"},
    {"udp_silence_times_out",
     IPPROTO_UDP,
     {R_SILENT, 0, NULL, 0},
     false,
     ".",
     2,
     STEER_CHECK_TIMEOUT,
     "no reply within 200 ms"},
    {"udp_closed_port_is_refused",
     IPPROTO_UDP,
     {R_SILENT, 0, NULL, 0},
     true,
     ".",
     2,
     STEER_CHECK_REFUSED,
     "recv: Connection refused"},
    {"tcp_noerror_in_two_pieces_is_ok",
     IPPROTO_TCP,
     {R_DNS_RCODE, 0, NULL, 0},
     false,
     "Example.COM",
     28,
     STEER_CHECK_OK,
     "DNS NOERROR, 0 answers"},
    {"tcp_servfail_is_bad_status",
     IPPROTO_TCP,
     {R_DNS_RCODE, 2, NULL, 0},
     false,
     ".",
     2,
     STEER_CHECK_BAD_STATUS,
     "DNS SERVFAIL"},
    {"tcp_silence_times_out",
     IPPROTO_TCP,
     {R_SILENT, 0, NULL, 0},
     false,
     ".",
     2,
     STEER_CHECK_TIMEOUT,
     "no reply within 200 ms"},
    {"tcp_closed_port_is_refused",
     IPPROTO_TCP,
     {R_SILENT, 0, NULL, 0},
     true,
     ".",
     2,
     STEER_CHECK_REFUSED,
     "connect: Connection refused"},
    {"udp_garbage_is_bad_response",
     IPPROTO_UDP,
     {R_FIXED, 0, "hello\n", 6},
     false,
     ".",
     2,
     STEER_CHECK_BAD_RESPONSE,
     "not a DNS reply to the query: shorter than a DNS header"},
};

static void run_dns_case(const struct dns_case *c, int family)
{
	struct probe_spec spec = {.kind = PROBE_DNS,
				  .timeout_ms = 200,
				  .proto = c->proto,
				  .dns_name = c->qname,
				  .dns_type = c->qtype};
	int type = c->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	struct outcome o;

	if (c->closed) {
		close(test_bind_loopback(family, type, &spec.target)); /* a closed port */
	} else {
		start_server(family, type, &c->server, &spec.target);
	}
	o = run_probe(&spec);
	if (o.result != c->result || strcmp(o.detail, c->detail))
		fail_msg("%s: result %u '%s', want %u '%s'", c->name, o.result, o.detail, c->result,
			 c->detail);
}

static void test_dns_case_v4(void **state)
{
	run_dns_case(*state, AF_INET);
}

static void test_dns_case_v6(void **state)
{
	run_dns_case(*state, AF_INET6);
}

struct udp_case {
	const char *name;
	struct server server;
	bool closed;
	const char *prefix;
	size_t prefix_len;
	uint8_t result;
	const char *detail;
};

static const struct udp_case udp_cases[] = {
    {"any_reply_is_ok",
     {R_FIXED, 0, "r1\n", 3},
     false,
     NULL,
     0,
     STEER_CHECK_OK,
     "a reply of 3 bytes"},
    {"empty_reply_is_ok",
     {R_FIXED, 0, "", 0},
     false,
     NULL,
     0,
     STEER_CHECK_OK,
     "a reply of 0 bytes"},
    {"reply_with_prefix_is_ok",
     {R_FIXED, 0, "\xff\xffpong", 6},
     false,
     "\xff\xff",
     2,
     STEER_CHECK_OK,
     "a reply of 6 bytes"},
    {"reply_without_prefix_is_bad_response",
     {R_FIXED, 0, "\x01pong", 5},
     false,
     "\xff",
     1,
     STEER_CHECK_BAD_RESPONSE,
     "a reply of 5 bytes not starting as expected: \"\\x01pong\""},
    {"reply_shorter_than_prefix_is_bad_response",
     {R_FIXED, 0, "p", 1},
     false,
     "pong",
     4,
     STEER_CHECK_BAD_RESPONSE,
     "a reply of 1 bytes not starting as expected: \"p\""},
    {"silence_times_out",
     {R_SILENT, 0, NULL, 0},
     false,
     NULL,
     0,
     STEER_CHECK_TIMEOUT,
     "no reply within 200 ms"},
    {"closed_port_is_refused",
     {R_SILENT, 0, NULL, 0},
     true,
     NULL,
     0,
     STEER_CHECK_REFUSED,
     "recv: Connection refused"},
};

static void run_udp_case(const struct udp_case *c, int family)
{
	struct probe_spec spec = {.kind = PROBE_UDP,
				  .timeout_ms = 200,
				  .payload = (const uint8_t *)"ping",
				  .payload_len = 4,
				  .reply_prefix = (const uint8_t *)c->prefix,
				  .reply_prefix_len = c->prefix_len};
	struct outcome o;

	if (c->closed) {
		close(test_bind_loopback(family, SOCK_DGRAM, &spec.target)); /* a closed port */
	} else {
		start_server(family, SOCK_DGRAM, &c->server, &spec.target);
	}
	o = run_probe(&spec);
	if (o.result != c->result || strcmp(o.detail, c->detail))
		fail_msg("%s: result %u '%s', want %u '%s'", c->name, o.result, o.detail, c->result,
			 c->detail);
}

static void test_udp_case_v4(void **state)
{
	run_udp_case(*state, AF_INET);
}

static void test_udp_case_v6(void **state)
{
	run_udp_case(*state, AF_INET6);
}

static void test_probe_dns_and_udp_invalid_specs_are_einval(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct probe_spec dns = {.kind = PROBE_DNS,
				 .timeout_ms = 100,
				 .target = {.family = STEER_FAMILY_V4, .port = 53},
				 .proto = IPPROTO_UDP,
				 .dns_name = "a..b",
				 .dns_type = 1};
	struct probe_spec udp = {.kind = PROBE_UDP,
				 .timeout_ms = 100,
				 .target = {.family = STEER_FAMILY_V4, .port = 53}};
	struct outcome o = {0};

	(void)state;
	assert_null(probe_start(loop, &dns, on_done, &o));
	assert_int_equal(errno, EINVAL);
	dns.dns_name = "a.b";
	dns.dns_type = 0;
	assert_null(probe_start(loop, &dns, on_done, &o));
	dns.dns_type = 1;
	dns.proto = 0;
	assert_null(probe_start(loop, &dns, on_done, &o));
	assert_null(probe_start(loop, &udp, on_done, &o)); /* no payload */
	udp.payload = (const uint8_t *)"x";
	udp.payload_len = PROBE_PAYLOAD_MAX + 1;
	assert_null(probe_start(loop, &udp, on_done, &o));
	assert_int_equal(errno, EINVAL);
	ev_loop_destroy(loop);
}

#define NDNS (sizeof(dns_cases) / sizeof(dns_cases[0]))
#define NUDP (sizeof(udp_cases) / sizeof(udp_cases[0]))

int main(void)
{
	static char names[2 * (NDNS + NUDP)][96];
	struct CMUnitTest tests[2 * (NDNS + NUDP) + 1];
	size_t n = 0;

	for (size_t i = 0; i < NDNS; i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			snprintf(names[n], sizeof(names[n]), "dns%d_%s", v6 ? 6 : 4,
				 dns_cases[i].name);
			tests[n] =
			    (struct CMUnitTest){names[n], v6 ? test_dns_case_v6 : test_dns_case_v4,
						NULL, test_release, (void *)&dns_cases[i]};
			n++;
		}
	}
	for (size_t i = 0; i < NUDP; i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			snprintf(names[n], sizeof(names[n]), "udp%d_%s", v6 ? 6 : 4,
				 udp_cases[i].name);
			tests[n] =
			    (struct CMUnitTest){names[n], v6 ? test_udp_case_v6 : test_udp_case_v4,
						NULL, test_release, (void *)&udp_cases[i]};
			n++;
		}
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_probe_dns_and_udp_invalid_specs_are_einval, test_release);
	return _cmocka_run_group_tests("probe_udp", tests, n, NULL, NULL);
}
