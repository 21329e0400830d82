/* steer-client: connect to a service address again and again and count which
 * replica answered (steer-echo replies with its name) and why attempts failed.
 * The output is meant for test scripts: one "reply NAME COUNT" per name, one
 * "error REASON COUNT" per reason, then "ok N fail N". Exit 0 if nothing
 * failed, 1 otherwise, 2 on bad usage.
 *
 * Every attempt uses a fresh socket, because steering happens at connect() (or
 * at the first sendto() of an unconnected UDP socket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "endpoint_text.h"

#define KEY_LEN	    64	   /* a reply name or failure reason, with its NUL */
#define TABLE_MAX   64	   /* distinct names / reasons; the rest count as "other" */
#define RUN_CAP_MS  600000 /* no run lasts longer, whatever stops it normally */
#define OTHER	    "other"
#define ADDR_STRLEN 64 /* "[v6]:65535" and a NUL */

struct tally {
	char key[KEY_LEN];
	unsigned long n;
};

struct table {
	struct tally e[TABLE_MAX];
	int used;
};

struct opts {
	bool udp;			/* mode: udp, else tcp */
	struct sockaddr_storage target; /* where to connect / send */
	struct sockaddr_storage expect; /* who must answer; the target by default */
	socklen_t target_len;
	unsigned long count; /* attempts; only a limit if count_limits */
	bool count_limits;
	unsigned long duration_ms; /* 0: no duration limit */
	const char *until_file;	   /* stop once this path exists */
	unsigned long interval_us; /* pause between attempts */
	unsigned long timeout_ms;  /* for connect and for the reply */
	bool connected;		   /* udp: connect() instead of sendto() */
	bool quiet;		   /* no per-failure lines on stderr */
	bool stream;		   /* tcp on one long-lived connection */
	bool resolver;		   /* udp on one long-lived socket, as a stub resolver */
	bool connect_poll;	   /* call connect() again until connected (EALREADY) */
	bool late_peer_check;	   /* stream: check the peer after the run, not before */
	const char *dns;	   /* udp, resolver: send a DNS query for this A name */
};

static struct table replies, errors;
/* What each attempt sends: "hello\n", or with --dns one DNS query. */
static unsigned char request[300] = "hello\n";
static size_t request_len = 6;
static unsigned long n_ok, n_fail;
static long long t0_ms;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reasons read "connect:ECONNREFUSED", not a number, for the errors tests expect. */
static const char *errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} known[] = {{ECONNREFUSED, "ECONNREFUSED"},
		     {EHOSTUNREACH, "EHOSTUNREACH"},
		     {ENETUNREACH, "ENETUNREACH"},
		     {ETIMEDOUT, "ETIMEDOUT"},
		     {ECONNRESET, "ECONNRESET"},
		     {EPERM, "EPERM"},
		     {EACCES, "EACCES"},
		     {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
		     {EINVAL, "EINVAL"},
		     {EAFNOSUPPORT, "EAFNOSUPPORT"},
		     {EPIPE, "EPIPE"},
		     {ECONNABORTED, "ECONNABORTED"},
		     {EDESTADDRREQ, "EDESTADDRREQ"}};
	static char num[16];

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].err == err)
			return known[i].name;
	snprintf(num, sizeof(num), "%d", err);
	return num;
}

static void usage(const char *why)
{
	fprintf(
	    stderr,
	    "steer-client: %s\n"
	    "usage: steer-client tcp ADDR:PORT [--count N] [--duration-ms D] [--until-file PATH]\n"
	    "                    [--interval-us U] [--timeout-ms T] [--expect-peer ADDR:PORT] "
	    "[--quiet]\n"
	    "       steer-client udp ADDR:PORT [--connected] [same options as tcp]\n"
	    "       steer-client stream ADDR:PORT [same options as tcp] [--late-peer-check]: one\n"
	    "                    connection, one request/reply per attempt on it; stops at the\n"
	    "                    first failure; --late-peer-check checks the peer at the end only\n"
	    "       steer-client resolver ADDR:PORT [--connected] [same options as tcp]: one UDP\n"
	    "                    socket for every query, as a stub resolver keeps; a connected "
	    "one\n"
	    "                    is closed and connected again after a socket error; prints\n"
	    "                    \"switch FROM TO MS\" (CLOCK_REALTIME ms) when the replica "
	    "changes\n"
	    "  udp, resolver: --dns NAME sends a DNS query for NAME (type A) instead of\n"
	    "                    \"hello\", and a reply's name is its first A record\n"
	    "                    (\"rcode:N\" without one)\n"
	    "  tcp, stream: --connect-poll calls connect() again until connected (EALREADY)\n"
	    "  ADDR:PORT is A.B.C.D:PORT or [V6]:PORT, PORT 1..65535; N >= 1, D and T in\n"
	    "  1..%d, U in 0..60000000\n",
	    why, RUN_CAP_MS);
	exit(2);
}

/* Compare family, address and port only: sockaddrs also carry flow info etc. */
static bool same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

static unsigned long parse_num(const char *opt, const char *text, unsigned long min,
			       unsigned long max)
{
	char *end, why[256];
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > max) {
		snprintf(why, sizeof(why), "%s '%s' is not a number in %lu..%lu", opt, text, min,
			 max);
		usage(why);
	}
	return v;
}

/* Count key in t; once the table is full, new keys are counted as "other". */
static void tally(struct table *t, const char *key)
{
	for (int i = 0; i < t->used; i++) {
		if (!strcmp(t->e[i].key, key)) {
			t->e[i].n++;
			return;
		}
	}
	if (t->used < TABLE_MAX - 1 || (t->used < TABLE_MAX && !strcmp(key, OTHER))) {
		snprintf(t->e[t->used].key, KEY_LEN, "%s", key);
		t->e[t->used++].n = 1;
		return;
	}
	tally(t, OTHER);
}

static int tally_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tally *)a)->key, ((const struct tally *)b)->key);
}

/* Sorted, so a test can compare the output with a fixed expectation. */
static void print_table(const char *what, struct table *t)
{
	qsort(t->e, t->used, sizeof(t->e[0]), tally_cmp);
	for (int i = 0; i < t->used; i++)
		printf("%s %s %lu\n", what, t->e[i].key, t->e[i].n);
}

static void record_failure(const char *reason, unsigned long attempt, bool quiet)
{
	n_fail++;
	tally(&errors, reason);
	if (!quiet)
		fprintf(stderr, "steer-client: %lld ms: attempt %lu: %s\n", now_ms() - t0_ms,
			attempt, reason);
}

/* Every failed step fills why (KEY_LEN bytes) with its reason and returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, KEY_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

/* Wait for events on fd until deadline; 1 ready, 0 timed out, -1 with errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do {
		long long left = deadline - now_ms();

		n = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* Non-blocking connect bounded by timeout; the socket stays non-blocking. */
static int connect_within(int fd, const struct opts *o, char *why)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (connect(fd, (const struct sockaddr *)&o->target, o->target_len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return fail(why, "connect:%s", errno_name(errno));
	if (o->connect_poll) {
		/* The old way to wait: connect() again until EISCONN. The kernel
		 * must not steer the socket twice. */
		long long deadline = now_ms() + (long long)o->timeout_ms;
		struct timespec pause = {0, 100000};

		while (connect(fd, (const struct sockaddr *)&o->target, o->target_len) < 0) {
			if (errno == EISCONN)
				return 0;
			if (errno != EALREADY && errno != EINPROGRESS)
				return fail(why, "connect:%s", errno_name(errno));
			if (now_ms() > deadline)
				return fail(why, "connect:timeout");
			nanosleep(&pause, NULL);
		}
		return 0;
	}
	switch (wait_fd(fd, POLLOUT, now_ms() + (long long)o->timeout_ms)) {
	case 0:
		return fail(why, "connect:timeout");
	case -1:
		return fail(why, "poll:%s", errno_name(errno));
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return fail(why, "getsockopt:%s", errno_name(errno));
	return err ? fail(why, "connect:%s", errno_name(err)) : 0;
}

/* The peer the socket reports must be the one we expect: for a steered VIP,
 * the getpeername hook has to hide the replica's real address. */
static int check_peer(int fd, const struct opts *o, char *why)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char text[ADDR_STRLEN];

	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return fail(why, "getpeername:%s", errno_name(errno));
	if (same_endpoint(&peer, &o->expect))
		return 0;
	endpoint_text_format(&peer, text, sizeof(text));
	return fail(why, "peer=%s", text);
}

/* Wait for the reply: for TCP up to the first '\n' (it may arrive in pieces),
 * for UDP one datagram. Unconnected UDP also checks who sent it. The name is
 * the reply without '\n', one token so the summary stays parseable. */
/* The DNS query for name (A, RD, id from the clock) into request[]. */
static int dns_request(const char *name)
{
	size_t o = 12;
	const char *p = name;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(request, 0, 12);
	request[0] = (unsigned char)(ts.tv_nsec >> 8);
	request[1] = (unsigned char)ts.tv_nsec;
	request[2] = 0x01; /* RD */
	request[5] = 1;	   /* one question */
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > 63 || o + n + 6 > sizeof(request))
			return -1;
		request[o++] = (unsigned char)n;
		memcpy(request + o, p, n);
		o += n;
		p += n + (p[n] == '.');
	}
	request[o++] = 0;
	request[o++] = 0;
	request[o++] = 1; /* A */
	request[o++] = 0;
	request[o++] = 1; /* IN */
	request_len = o;
	return 0;
}

/* Skip a name at msg[*pos]; false if it runs out. */
static bool dns_skip_name(const unsigned char *msg, size_t len, size_t *pos)
{
	while (*pos < len) {
		unsigned char c = msg[*pos];

		if ((c & 0xc0) == 0xc0) {
			*pos += 2;
			return *pos <= len;
		}
		*pos += 1u + c;
		if (c == 0)
			return *pos <= len;
	}
	return false;
}

/* The reply's name: its first A record, or "rcode:N". 0, 1 (another id:
 * not ours) or -1 with why. */
static int dns_reply_name(const unsigned char *msg, size_t len, char *name, char *why)
{
	size_t pos = request_len; /* the question is ours, of the same length */
	unsigned an;

	if (len < 12)
		return fail(why, "dns:short");
	if (msg[0] != request[0] || msg[1] != request[1] || !(msg[2] & 0x80))
		return 1;
	an = (unsigned)msg[6] << 8 | msg[7];
	for (unsigned i = 0; i < an; i++) {
		unsigned type, rdlen;

		if (!dns_skip_name(msg, len, &pos) || pos + 10 > len)
			return fail(why, "dns:malformed");
		type = (unsigned)msg[pos] << 8 | msg[pos + 1];
		rdlen = (unsigned)msg[pos + 8] << 8 | msg[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			return fail(why, "dns:malformed");
		if (type == 1 && rdlen == 4) {
			snprintf(name, KEY_LEN, "%u.%u.%u.%u", msg[pos], msg[pos + 1], msg[pos + 2],
				 msg[pos + 3]);
			return 0;
		}
		pos += rdlen;
	}
	snprintf(name, KEY_LEN, "rcode:%u", (unsigned)(msg[3] & 0x0f));
	return 0;
}

/* A DNS reply on a UDP socket: datagrams with another id are skipped. */
static int recv_dns(int fd, const struct opts *o, char *name, char *why)
{
	long long deadline = now_ms() + (long long)o->timeout_ms;

	for (;;) {
		unsigned char msg[1500];
		int ready = wait_fd(fd, POLLIN, deadline), r;
		ssize_t n;

		if (ready == 0)
			return fail(why, "recv:timeout");
		n = ready > 0 ? recv(fd, msg, sizeof(msg), 0) : -1;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fail(why, "recv:%s", errno_name(errno));
		if (n < 0)
			continue;
		r = dns_reply_name(msg, (size_t)n, name, why);
		if (r <= 0)
			return r;
	}
}

static int recv_reply(int fd, const struct opts *o, char *name, char *why)
{
	long long deadline = now_ms() + (long long)o->timeout_ms;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	char buf[KEY_LEN + 1] = "", text[ADDR_STRLEN], *nl = NULL;
	size_t len = 0;
	bool done = false;

	if (o->dns)
		return recv_dns(fd, o, name, why);
	while (!done) {
		int ready = wait_fd(fd, POLLIN, deadline);
		ssize_t n = ready > 0 ? recvfrom(fd, buf + len, sizeof(buf) - len, 0,
						 (struct sockaddr *)&from, &fromlen)
				      : -1;

		if (ready == 0)
			return fail(why, "recv:timeout");
		if (n == 0 && !o->udp)
			return fail(why, "recv:EOF");
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fail(why, "recv:%s", errno_name(errno));
		len += n > 0 ? n : 0;
		nl = memchr(buf, '\n', len);
		done = (n >= 0 && o->udp) || nl || len == sizeof(buf);
	}
	if (o->udp && !o->connected && !same_endpoint(&from, &o->expect)) {
		endpoint_text_format(&from, text, sizeof(text));
		return fail(why, "peer=%s", text);
	}
	len = nl ? (size_t)(nl - buf) : len;
	if (len == 0 || len >= KEY_LEN)
		return fail(why, "recv:%s", len ? "overlong" : "empty");
	for (size_t i = 0; i < len; i++)
		name[i] = (unsigned char)buf[i] <= ' ' || buf[i] == 0x7f ? '?' : buf[i];
	name[len] = '\0';
	return 0;
}

/* One attempt on a fresh socket: 0 with the replica's name, or -1 with why. */
static int attempt(const struct opts *o, char *name, char *why)
{
	const unsigned char *hello = request;
	const ssize_t hello_len = (ssize_t)request_len;
	int fd = socket(o->target.ss_family,
			(o->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ssize_t n;
	int ret;

	if (fd < 0)
		return fail(why, "socket:%s", errno_name(errno));
	if (o->udp && !o->connected) {
		n = sendto(fd, hello, hello_len, 0, (const struct sockaddr *)&o->target,
			   o->target_len);
		ret = n == hello_len ? 0 : fail(why, "sendto:%s", errno_name(errno));
	} else {
		ret = connect_within(fd, o, why);
		if (!ret)
			ret = check_peer(fd, o, why);
		if (!ret && (n = send(fd, hello, hello_len, MSG_NOSIGNAL)) != hello_len)
			ret = fail(why, "send:%s", n < 0 ? errno_name(errno) : "short");
	}
	if (!ret)
		ret = recv_reply(fd, o, name, why);
	close(fd);
	return ret;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	char why[256];
	socklen_t len;

	if (argc < 3 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp") &&
			 strcmp(argv[1], "stream") && strcmp(argv[1], "resolver")))
		usage("the first argument must be tcp, udp, stream or resolver, the second "
		      "ADDR:PORT");
	o->resolver = !strcmp(argv[1], "resolver");
	o->udp = !strcmp(argv[1], "udp") || o->resolver;
	o->stream = !strcmp(argv[1], "stream");
	o->count = 1;
	o->timeout_ms = 2000;
	if (endpoint_text_parse(argv[2], &o->target, &o->target_len) < 0) {
		snprintf(why, sizeof(why), "target '%s' is not A.B.C.D:PORT or [V6]:PORT", argv[2]);
		usage(why);
	}
	o->expect = o->target;
	for (int i = 3; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--quiet")) {
			o->quiet = true;
			continue;
		}
		if (!strcmp(opt, "--connect-poll") || !strcmp(opt, "--late-peer-check")) {
			if (o->udp)
				usage(
				    "--connect-poll and --late-peer-check are for tcp and stream");
			if (opt[2] == 'c')
				o->connect_poll = true;
			else
				o->late_peer_check = true;
			continue;
		}
		if (!strcmp(opt, "--connected")) {
			if (!o->udp)
				usage("--connected is only accepted in udp mode");
			o->connected = true;
			continue;
		}
		if (!val) {
			snprintf(why, sizeof(why), "'%s' is not an option, or lacks its value",
				 opt);
			usage(why);
		}
		i++; /* every other option takes a value */
		if (!strcmp(opt, "--count")) {
			o->count = parse_num(opt, val, 1, 1000000000);
			o->count_limits = true;
		} else if (!strcmp(opt, "--duration-ms")) {
			o->duration_ms = parse_num(opt, val, 1, RUN_CAP_MS);
		} else if (!strcmp(opt, "--interval-us")) {
			o->interval_us = parse_num(opt, val, 0, 60000000);
		} else if (!strcmp(opt, "--timeout-ms")) {
			o->timeout_ms = parse_num(opt, val, 1, RUN_CAP_MS);
		} else if (!strcmp(opt, "--until-file")) {
			o->until_file = val;
		} else if (!strcmp(opt, "--dns")) {
			if (!o->udp || dns_request(val) < 0)
				usage(
				    "--dns NAME: udp or resolver mode, labels of 1-63 characters");
			o->dns = val;
		} else if (!strcmp(opt, "--expect-peer")) {
			if (endpoint_text_parse(val, &o->expect, &len) < 0) {
				snprintf(why, sizeof(why),
					 "--expect-peer '%s' is not A.B.C.D:PORT or [V6]:PORT",
					 val);
				usage(why);
			}
		} else {
			snprintf(why, sizeof(why), "unknown option '%s'", opt);
			usage(why);
		}
	}
	/* --duration-ms and --until-file replace the default count of 1. */
	if (!o->duration_ms && !o->until_file)
		o->count_limits = true;
}

/* Whether to stop after `done` attempts. A run that hits the safety cap while
 * waiting for --until-file is itself a failure: the test never signalled. */
static bool run_is_over(const struct opts *o, unsigned long done)
{
	long long elapsed = now_ms() - t0_ms;

	if (o->count_limits && done >= o->count)
		return true;
	if (o->duration_ms && elapsed >= (long long)o->duration_ms)
		return true;
	if (o->until_file && access(o->until_file, F_OK) == 0)
		return true;
	if (o->until_file && elapsed >= RUN_CAP_MS) {
		record_failure("until-file:timeout", done, o->quiet);
		return true;
	}
	return false;
}

/* One request/reply on an established connection. */
static int exchange(int fd, const struct opts *o, char *name, char *why)
{
	static const char hello[] = "hello\n";
	ssize_t n = send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL);

	if (n != (ssize_t)sizeof(hello) - 1)
		return fail(why, "send:%s", n < 0 ? errno_name(errno) : "short");
	return recv_reply(fd, o, name, why);
}

/* stream mode: every attempt reuses one connection; the first failure ends
 * the run, since the connection is gone. */
static int run_stream(const struct opts *o)
{
	char name[KEY_LEN], why[KEY_LEN];
	unsigned long done = 0;
	int fd = socket(o->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fail(why, "socket:%s", errno_name(errno));
		record_failure(why, 1, o->quiet);
		return 1;
	}
	if (connect_within(fd, o, why) || (!o->late_peer_check && check_peer(fd, o, why))) {
		record_failure(why, 1, o->quiet);
		close(fd);
		return 1;
	}
	for (;;) {
		struct timespec pause = {o->interval_us / 1000000,
					 (o->interval_us % 1000000) * 1000};

		done++;
		if (exchange(fd, o, name, why)) {
			record_failure(why, done, o->quiet);
			break;
		}
		n_ok++;
		tally(&replies, name);
		if (run_is_over(o, done))
			break;
		if (o->interval_us)
			nanosleep(&pause, NULL);
	}
	if (o->late_peer_check && check_peer(fd, o, why))
		record_failure(why, done, o->quiet);
	close(fd);
	return 0;
}

static long long realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A socket for resolver mode: connected to the target if o->connected. */
static int resolver_socket(const struct opts *o, char *why)
{
	int fd = socket(o->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(why, "socket:%s", errno_name(errno));
	if (o->connected && connect(fd, (const struct sockaddr *)&o->target, o->target_len) < 0) {
		fail(why, "connect:%s", errno_name(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* resolver mode: every query on the same socket, as a stub resolver does. A
 * reply that did not come (timeout) keeps the socket; a socket error (the
 * socket was aborted, or ICMP said the port is closed) replaces a connected
 * one, which a new connect() steers again. */
static void run_resolver(const struct opts *o)
{
	const unsigned char *hello = request;
	const ssize_t hello_len = (ssize_t)request_len;
	char last[KEY_LEN] = "", name[KEY_LEN], why[KEY_LEN];
	unsigned long done = 0, reconnects = 0;
	int fd = -1;

	for (;;) {
		struct timespec pause = {o->interval_us / 1000000,
					 (o->interval_us % 1000000) * 1000};
		ssize_t n;
		int ret;

		done++;
		if (fd < 0 && (fd = resolver_socket(o, why)) < 0) {
			ret = -1;
		} else {
			n = o->connected
				? send(fd, hello, hello_len, 0)
				: sendto(fd, hello, hello_len, 0,
					 (const struct sockaddr *)&o->target, o->target_len);
			ret = n == hello_len ? 0 : fail(why, "send:%s", errno_name(errno));
			if (!ret)
				ret = recv_reply(fd, o, name, why);
		}
		if (ret == 0) {
			n_ok++;
			tally(&replies, name);
			if (last[0] && strcmp(last, name))
				printf("switch %s %s %lld\n", last, name, realtime_ms());
			snprintf(last, sizeof(last), "%s", name);
		} else {
			record_failure(why, done, o->quiet);
			if (fd >= 0 && o->connected && !strstr(why, "timeout")) {
				close(fd);
				fd = -1;
				reconnects++;
			}
		}
		if (run_is_over(o, done))
			break;
		if (o->interval_us)
			nanosleep(&pause, NULL);
	}
	if (fd >= 0)
		close(fd);
	printf("reconnects %lu\n", reconnects);
}

/* tcp and udp modes: a fresh socket per attempt. */
static void run_attempts(const struct opts *o)
{
	unsigned long done = 0;

	for (;;) {
		char name[KEY_LEN], why[KEY_LEN];
		struct timespec pause = {o->interval_us / 1000000,
					 (o->interval_us % 1000000) * 1000};

		done++;
		if (attempt(o, name, why) == 0) {
			n_ok++;
			tally(&replies, name);
		} else {
			record_failure(why, done, o->quiet);
		}
		if (run_is_over(o, done))
			break;
		if (o->interval_us)
			nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {0};

	parse_args(argc, argv, &o);
	t0_ms = now_ms();
	if (o.stream)
		run_stream(&o);
	else if (o.resolver)
		run_resolver(&o);
	else
		run_attempts(&o);
	print_table("reply", &replies);
	print_table("error", &errors);
	printf("ok %lu fail %lu\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
