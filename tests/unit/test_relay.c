/* Unit tests for agent/relay.c: a chain client <-> [a | relay | b] <-> server
 * of real TCP connections on 127.0.0.1 and ::1 (ephemeral ports; each pair
 * is a connect() and an accept()), the relay on a libev loop in the test's
 * thread. Peers that move megabytes run in threads with blocking I/O (and
 * send/receive timeouts, so they end whatever the relay does); the streams
 * are a pattern seeded per direction, checked at every received byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "miss/relay.h"

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define WATCHDOG_S     120.0 /* no run of the loop may take longer (valgrind included) */
#define PEER_TIMEOUT_S 120   /* a blocked peer gives up after this */
#define KIB	       1024u
#define MIB	       (1024u * 1024u)
#define ANY	       UINT64_MAX

/* ---- what a test opened, undone by teardown() even when it fails ---- */

static int fds[64];
static int nfds;

static int keep_fd(int fd)
{
	assert_true(fd >= 0);
	for (int i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return fds[i] = fd;
	assert_true(nfds < (int)ARRAY_SIZE(fds));
	fds[nfds++] = fd;
	return fd;
}

/* The fd is closed by someone else now (the relay, a peer thread). */
static void forget_fd(int fd)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i] == fd)
			fds[i] = -1;
}

static void close_kept(int fd)
{
	forget_fd(fd);
	close(fd);
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

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the byte streams ---- */

/* Byte off of the stream seeded seed: a shifted, lost or doubled chunk
 * does not match. */
static uint8_t pattern_at(uint8_t seed, uint64_t off)
{
	return (uint8_t)(((off ^ ((uint64_t)seed << 40)) * 0x9e3779b97f4a7c15ull) >> 56);
}

static void pattern_fill(uint8_t *buf, size_t len, uint8_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_at(seed, off + i);
}

/* ---- peers: a script of blocking socket calls, in a thread ---- */

enum op {
	OP_END = 0,
	OP_SEND,	     /* len bytes of the peer's stream (chunk bytes a send, every ms) */
	OP_SEND_UNTIL_ERROR, /* the stream until send fails (at most len bytes) */
	OP_SHUT_WR,
	OP_RECV, /* until EOF or an error, checking the other stream */
	OP_CLOSE,
	OP_RESET, /* close with SO_LINGER 0: an RST */
	OP_SLEEP, /* ms */
};

struct step {
	enum op op;
	uint64_t len;
	size_t chunk; /* OP_SEND: bytes a send() (0: 64 KiB) */
	unsigned ms;  /* OP_SEND: pause between sends; OP_SLEEP */
};

struct peer {
	int fd;
	const struct step *steps;
	uint8_t seed_out, seed_in;
	size_t chunk;	   /* recv size; 64 KiB if 0 */
	unsigned delay_ms; /* sleep before each recv */
	/* results */
	uint64_t sent, received;
	int64_t mismatch_at; /* first received byte off the pattern, or -1 */
	int send_err, recv_err;
	bool eof, closed;
	pthread_t thread;
};

static struct peer *running[8];
static int nrunning;

static void peer_send(struct peer *p, const struct step *s)
{
	uint8_t buf[64 * KIB];
	uint64_t end = p->sent + s->len;
	size_t chunk = s->chunk && s->chunk < sizeof(buf) ? s->chunk : sizeof(buf);

	while (p->sent < end) {
		size_t n = end - p->sent < chunk ? (size_t)(end - p->sent) : chunk;
		ssize_t w;

		if (s->ms && p->sent > 0)
			sleep_ms(s->ms);
		pattern_fill(buf, n, p->seed_out, p->sent);
		w = send(p->fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			p->send_err = errno;
			return;
		}
		p->sent += (uint64_t)w;
	}
	if (s->op == OP_SEND_UNTIL_ERROR)
		p->send_err = -1; /* never failed: the test will say so */
}

static void peer_recv(struct peer *p)
{
	uint8_t buf[64 * KIB], want[64 * KIB];
	size_t chunk = p->chunk ? p->chunk : sizeof(buf);

	for (;;) {
		ssize_t n;

		if (p->delay_ms)
			sleep_ms(p->delay_ms);
		n = recv(p->fd, buf, chunk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			p->recv_err = errno;
			return;
		}
		if (n == 0) {
			p->eof = true;
			return;
		}
		pattern_fill(want, (size_t)n, p->seed_in, p->received);
		if (p->mismatch_at < 0 && memcmp(buf, want, (size_t)n) != 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != want[i]) {
					p->mismatch_at = (int64_t)(p->received + (uint64_t)i);
					break;
				}
		}
		p->received += (uint64_t)n;
	}
}

static void *peer_run(void *arg)
{
	struct peer *p = arg;
	struct linger lin = {1, 0};

	for (const struct step *s = p->steps; s->op != OP_END; s++) {
		switch (s->op) {
		case OP_SEND:
		case OP_SEND_UNTIL_ERROR:
			peer_send(p, s);
			break;
		case OP_SLEEP:
			sleep_ms(s->ms);
			break;
		case OP_SHUT_WR:
			shutdown(p->fd, SHUT_WR);
			break;
		case OP_RECV:
			peer_recv(p);
			break;
		case OP_RESET:
			setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
			/* fall through */
		case OP_CLOSE:
			close(p->fd);
			p->closed = true;
			return NULL;
		case OP_END:
			break;
		}
	}
	return NULL;
}

static void peer_start(struct peer *p)
{
	p->mismatch_at = -1;
	assert_true(nrunning < (int)ARRAY_SIZE(running));
	assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
	running[nrunning++] = p;
}

/* Wait for every peer; a peer that closed its socket gave it up. */
static void peers_join(void)
{
	for (int i = 0; i < nrunning; i++) {
		pthread_join(running[i]->thread, NULL);
		if (running[i]->closed)
			forget_fd(running[i]->fd);
	}
	nrunning = 0;
}

static struct ev_loop *test_loop;

static int teardown(void **state)
{
	(void)state;
	/* A failed test may leave peers blocked: wake them. */
	for (int i = 0; i < nrunning; i++)
		if (!running[i]->closed)
			shutdown(running[i]->fd, SHUT_RDWR);
	peers_join();
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	nfds = 0;
	if (test_loop)
		ev_loop_destroy(test_loop);
	test_loop = NULL;
	return 0;
}

static struct ev_loop *new_loop(void)
{
	test_loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(test_loop);
	return test_loop;
}

/* ---- connected TCP pairs on loopback ---- */

/* A listener on 127.0.0.1 or ::1, port 0; skips the test without ::1. */
static int listen_loopback(int family, int rcvbuf, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 && family == AF_INET6) {
		print_message("IPv6 sockets unavailable (%s)\n", strerror(errno));
		skip();
	}
	keep_fd(fd);
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)ss, *len) < 0) {
		int err = errno;

		if (family == AF_INET6) {
			print_message("::1 unavailable (%s)\n", strerror(err));
			skip();
		}
		fail_msg("bind 127.0.0.1:0: %s", strerror(err));
	}
	/* Set before listen(): the accepted socket inherits it and sizes its
	 * window from it. */
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	assert_int_equal(listen(fd, 1), 0);
	*len = sizeof(*ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
	return fd;
}

/* A connected pair: *out from connect(), *in from accept(). The accepted
 * end gets rcvbuf (0: the default). */
static void tcp_pair(int family, int rcvbuf, int *out, int *in)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd = listen_loopback(family, rcvbuf, &ss, &len);

	*out = keep_fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
	assert_int_equal(connect(*out, (struct sockaddr *)&ss, len), 0);
	*in = keep_fd(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	close_kept(lfd);
}

struct world {
	int client, a; /* client connected to a */
	int b, server; /* b connected to server */
};

static void set_timeouts(int fd)
{
	struct timeval tv = {PEER_TIMEOUT_S, 0};

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

static void make_world(int family, struct world *w)
{
	tcp_pair(family, 0, &w->client, &w->a);
	tcp_pair(family, 0, &w->b, &w->server);
	set_timeouts(w->client);
	set_timeouts(w->server);
}

/* ---- the relay under test ---- */

struct outcome {
	int a, b; /* the relay's sockets, to see they are closed */
	int calls;
	bool called_inside_start;
	bool fds_were_open;
	uint64_t a_to_b, b_to_a;
	int err;
};

static bool inside_start;
static int total_calls; /* over all outcomes */

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

static void on_done(void *arg, uint64_t a_to_b, uint64_t b_to_a, int err)
{
	struct outcome *o = arg;

	o->calls++;
	total_calls++;
	o->called_inside_start |= inside_start;
	o->fds_were_open |= fd_is_open(o->a) || fd_is_open(o->b);
	o->a_to_b = a_to_b;
	o->b_to_a = b_to_a;
	o->err = err;
}

/* Hand a and b to a relay: from here on they are its to close. */
static struct relay *start(struct ev_loop *loop, const struct world *w, struct outcome *o)
{
	struct relay *r;

	memset(o, 0, sizeof(*o));
	o->a = w->a;
	o->b = w->b;
	inside_start = true;
	r = relay_start(loop, w->a, w->b, on_done, o);
	inside_start = false;
	assert_non_null(r);
	forget_fd(w->a);
	forget_fd(w->b);
	assert_int_equal(o->calls, 0);
	return r;
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

static void assert_done_once(const struct outcome *o, int err)
{
	if (o->calls != 1)
		fail_msg("done called %d times, want 1", o->calls);
	assert_false(o->called_inside_start);
	if (o->fds_were_open)
		fail_msg("done called while a (%d) or b (%d) was still open", o->a, o->b);
	if (o->err != err)
		fail_msg("done err %d (%s), want %d (%s)", o->err, strerror(o->err), err,
			 strerror(err));
}

static void assert_count(const char *what, uint64_t got, uint64_t want)
{
	if (want != ANY && got != want)
		fail_msg("%s: %llu bytes, want %llu", what, (unsigned long long)got,
			 (unsigned long long)want);
}

/* ---- the table: scripted peers at both ends, what done() and they see ---- */

enum peer_end {
	READS_NOTHING,
	READS_TO_EOF,	/* every byte of the other stream, then EOF */
	READS_TO_RESET, /* an intact prefix of the other stream, then ECONNRESET */
};

struct exchange {
	const char *name;
	struct step client[2][5]; /* one or two threads on the client socket */
	struct step server[2][5];
	int err;		 /* done's */
	uint64_t a_to_b, b_to_a; /* done's counts; ANY when a reset cut them short */
	enum peer_end client_end, server_end;
	bool client_send_fails; /* with EPIPE or ECONNRESET: the relay reset it */
};

static const struct exchange exchanges[] = {
    {
	.name = "10mib_each_way_at_once_arrive_byte_exact",
	.client = {{{.op = OP_SEND, .len = 10 * MIB}, {.op = OP_SHUT_WR}}, {{.op = OP_RECV}}},
	.server = {{{.op = OP_SEND, .len = 10 * MIB}, {.op = OP_SHUT_WR}}, {{.op = OP_RECV}}},
	.a_to_b = 10 * MIB,
	.b_to_a = 10 * MIB,
	.client_end = READS_TO_EOF,
	.server_end = READS_TO_EOF,
    },
    {
	.name = "half_close_from_a_lets_b_send_until_it_closes",
	.client = {{{.op = OP_SEND, .len = 100 * KIB},
		    {.op = OP_SHUT_WR},
		    {.op = OP_RECV},
		    {.op = OP_CLOSE}}},
	.server = {{{.op = OP_RECV}, {.op = OP_SEND, .len = 2 * MIB}, {.op = OP_CLOSE}}},
	.a_to_b = 100 * KIB,
	.b_to_a = 2 * MIB,
	.client_end = READS_TO_EOF,
	.server_end = READS_TO_EOF,
    },
    {
	.name = "half_close_from_b_lets_a_send_until_it_closes",
	.client = {{{.op = OP_RECV}, {.op = OP_SEND, .len = 2 * MIB}, {.op = OP_CLOSE}}},
	.server = {{{.op = OP_SEND, .len = 100 * KIB},
		    {.op = OP_SHUT_WR},
		    {.op = OP_RECV},
		    {.op = OP_CLOSE}}},
	.a_to_b = 2 * MIB,
	.b_to_a = 100 * KIB,
	.client_end = READS_TO_EOF,
	.server_end = READS_TO_EOF,
    },
    {
	.name = "reset_from_a_resets_b",
	.client = {{{.op = OP_SEND, .len = 256 * KIB}, {.op = OP_RESET}}},
	.server = {{{.op = OP_RECV}}},
	.err = ECONNRESET,
	.a_to_b = ANY,
	.b_to_a = 0,
	.server_end = READS_TO_RESET,
    },
    {
	.name = "reset_from_b_resets_a",
	.client = {{{.op = OP_RECV}}},
	.server = {{{.op = OP_SEND, .len = 256 * KIB}, {.op = OP_RESET}}},
	.err = ECONNRESET,
	.a_to_b = 0,
	.b_to_a = ANY,
	.client_end = READS_TO_RESET,
    },
    {
	.name = "write_to_a_closed_server_resets_the_client",
	.client = {{{.op = OP_SEND_UNTIL_ERROR, .len = 1024 * MIB}}},
	.server = {{{.op = OP_CLOSE}}},
	.err = ECONNRESET,
	.a_to_b = ANY,
	.b_to_a = 0,
	.client_send_fails = true,
    },
};

#define NEXCHANGES ARRAY_SIZE(exchanges)

/* What one end saw, summed over its threads. */
struct end_view {
	uint64_t received;
	int64_t mismatch_at;
	int recv_err, send_err;
	bool eof;
};

static struct end_view view_of(const struct peer p[2])
{
	struct end_view v = {.mismatch_at = -1};

	for (int i = 0; i < 2; i++) {
		v.received += p[i].received;
		if (p[i].mismatch_at >= 0)
			v.mismatch_at = p[i].mismatch_at;
		if (p[i].recv_err)
			v.recv_err = p[i].recv_err;
		if (p[i].send_err)
			v.send_err = p[i].send_err;
		v.eof |= p[i].eof;
	}
	return v;
}

static void check_end(const char *who, const struct end_view *v, enum peer_end end,
		      uint64_t relayed)
{
	if (v->mismatch_at >= 0)
		fail_msg("%s: byte %lld is not the one sent", who, (long long)v->mismatch_at);
	switch (end) {
	case READS_NOTHING:
		break;
	case READS_TO_EOF:
		if (!v->eof || v->recv_err)
			fail_msg("%s: read ended with %s, want EOF", who,
				 v->recv_err ? strerror(v->recv_err) : "nothing");
		assert_count(who, v->received, relayed);
		break;
	case READS_TO_RESET:
		if (v->recv_err != ECONNRESET)
			fail_msg("%s: read ended with %s, want ECONNRESET", who,
				 v->eof ? "EOF" : strerror(v->recv_err));
		if (v->received > relayed)
			fail_msg("%s: read %llu bytes, more than the %llu relayed", who,
				 (unsigned long long)v->received, (unsigned long long)relayed);
		break;
	}
}

static void run_exchange(const struct exchange *x, int family)
{
	struct peer client[2] = {{0}}, server[2] = {{0}};
	int before = count_fds();
	struct ev_loop *loop = new_loop();
	struct end_view cv, sv;
	struct outcome o;
	struct world w;

	make_world(family, &w);
	start(loop, &w, &o);
	for (int i = 0; i < 2; i++) {
		client[i] = (struct peer){.fd = w.client,
					  .steps = x->client[i],
					  .seed_out = 0xa1,
					  .seed_in = 0xb2,
					  .mismatch_at = -1};
		server[i] = (struct peer){.fd = w.server,
					  .steps = x->server[i],
					  .seed_out = 0xb2,
					  .seed_in = 0xa1,
					  .mismatch_at = -1};
	}
	for (int i = 0; i < 2; i++) {
		if (x->client[i][0].op != OP_END)
			peer_start(&client[i]);
		if (x->server[i][0].op != OP_END)
			peer_start(&server[i]);
	}
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	peers_join();
	run_for_ms(loop, 10); /* a second done() would come now */

	assert_done_once(&o, x->err);
	assert_count("done a_to_b", o.a_to_b, x->a_to_b);
	assert_count("done b_to_a", o.b_to_a, x->b_to_a);
	if (x->a_to_b != ANY)
		assert_count("client sent", client[0].sent + client[1].sent, x->a_to_b);
	if (x->b_to_a != ANY)
		assert_count("server sent", server[0].sent + server[1].sent, x->b_to_a);
	cv = view_of(client);
	sv = view_of(server);
	check_end("client", &cv, x->client_end, o.b_to_a);
	check_end("server", &sv, x->server_end, o.a_to_b);
	if (x->client_send_fails && cv.send_err != EPIPE && cv.send_err != ECONNRESET)
		fail_msg("client: send ended with %d, want EPIPE or ECONNRESET", cv.send_err);
	if (!x->client_send_fails && cv.send_err)
		fail_msg("client: send failed: %s", strerror(cv.send_err));
	if (sv.send_err)
		fail_msg("server: send failed: %s", strerror(sv.send_err));

	teardown(NULL);
	assert_int_equal(count_fds(), before);
}

static void test_exchange_v4(void **state)
{
	run_exchange(*state, AF_INET);
}

static void test_exchange_v6(void **state)
{
	run_exchange(*state, AF_INET6);
}

/* ---- the rest ---- */

static void test_relay_slow_reader_gets_every_byte_and_the_loop_does_not_spin(void **state)
{
	/* The server reads 1 KiB every 2 ms through small socket buffers:
	 * the a->b pipe fills, the relay must park the client side and wake
	 * only when b can take more. */
	static const struct step client_steps[] = {
	    {.op = OP_SEND, .len = 1 * MIB},
	    {.op = OP_SHUT_WR},
	    {.op = OP_RECV},
	    {.op = OP_END},
	};
	static const struct step server_steps[] = {
	    {.op = OP_RECV}, {.op = OP_CLOSE}, {.op = OP_END}};
	struct peer client = {.steps = client_steps, .seed_out = 0xa1, .seed_in = 0xb2};
	struct peer server = {.steps = server_steps,
			      .seed_out = 0xb2,
			      .seed_in = 0xa1,
			      .chunk = 1 * KIB,
			      .delay_ms = 2};
	struct ev_loop *loop = new_loop();
	int small = 8 * KIB;
	struct timespec cpu0, cpu1, t0, t1;
	unsigned iterations;
	double cpu_s, wall_s;
	struct outcome o;
	struct world w;

	(void)state;
	tcp_pair(AF_INET, 0, &w.client, &w.a);
	tcp_pair(AF_INET, small, &w.b, &w.server);
	assert_int_equal(setsockopt(w.b, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	set_timeouts(w.client);
	set_timeouts(w.server);
	client.fd = w.client;
	server.fd = w.server;

	start(loop, &w, &o);
	iterations = ev_iteration(loop);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	peer_start(&client);
	peer_start(&server);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	iterations = ev_iteration(loop) - iterations;
	peers_join();

	cpu_s = (double)(cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
	wall_s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("  1 MiB to a slow reader: %.2f s, %u loop iterations, %.3f s CPU\n", wall_s,
		      iterations, cpu_s);
	assert_done_once(&o, 0);
	assert_count("done a_to_b", o.a_to_b, 1 * MIB);
	assert_count("done b_to_a", o.b_to_a, 0);
	assert_true(server.eof);
	assert_int_equal(server.mismatch_at, -1);
	assert_count("server received", server.received, 1 * MIB);
	assert_true(client.eof);
	/* One wakeup per window update at most: the server reads 1024 times,
	 * and a spinning relay would turn many thousand times a second. */
	if (iterations > 3000)
		fail_msg("%u loop iterations for 1 MiB: the relay spins", iterations);
}

static void test_relay_pipe_out_of_slots_parks_the_reader_without_spinning(void **state)
{
	/* A pipe holds a bounded number of buffers, one per splice at least:
	 * 100-byte segments spliced one by one fill it long before its byte
	 * count does. The server does not read for a while, so b is full and
	 * the pipe must park a until b takes more. */
	static const struct step client_steps[] = {
	    {.op = OP_SEND, .len = 64 * KIB},
	    {.op = OP_SEND, .len = 40000, .chunk = 100, .ms = 1},
	    {.op = OP_SHUT_WR},
	    {.op = OP_RECV},
	    {.op = OP_END},
	};
	static const struct step server_steps[] = {
	    {.op = OP_SLEEP, .ms = 1500},
	    {.op = OP_RECV},
	    {.op = OP_CLOSE},
	    {.op = OP_END},
	};
	struct peer client = {.steps = client_steps, .seed_out = 0xa1, .seed_in = 0xb2};
	struct peer server = {.steps = server_steps, .seed_out = 0xb2, .seed_in = 0xa1};
	struct ev_loop *loop = new_loop();
	int small = 8 * KIB, one = 1;
	unsigned iterations;
	struct outcome o;
	struct world w;

	(void)state;
	tcp_pair(AF_INET, 0, &w.client, &w.a);
	tcp_pair(AF_INET, small, &w.b, &w.server);
	assert_int_equal(setsockopt(w.b, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(w.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	set_timeouts(w.client);
	set_timeouts(w.server);
	client.fd = w.client;
	server.fd = w.server;

	start(loop, &w, &o);
	iterations = ev_iteration(loop);
	peer_start(&client);
	peer_start(&server);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	iterations = ev_iteration(loop) - iterations;
	peers_join();

	print_message("  64 KiB + 400 x 100 bytes: %u loop iterations\n", iterations);
	assert_done_once(&o, 0);
	assert_count("done a_to_b", o.a_to_b, 64 * KIB + 40000);
	assert_true(server.eof);
	assert_int_equal(server.mismatch_at, -1);
	assert_count("server received", server.received, 64 * KIB + 40000);
	/* About one wakeup per segment: a reader left armed on a full pipe
	 * would turn the loop without pause for the 1.5 s the server sleeps. */
	if (iterations > 2000)
		fail_msg("%u loop iterations for 400 segments: the relay spins", iterations);
}

static void test_relay_urgent_data_is_carried_in_order_without_spinning(void **state)
{
	/* splice() stops at an urgent mark and never crosses it; with a FIN
	 * behind it, it even reads as EOF. */
	struct ev_loop *loop = new_loop();
	unsigned iterations;
	struct outcome o;
	struct world w;
	char buf[16] = {0};
	ssize_t n;

	(void)state;
	make_world(AF_INET, &w);
	start(loop, &w, &o);
	iterations = ev_iteration(loop);
	assert_int_equal(send(w.client, "ab", 2, 0), 2);
	run_for_ms(loop, 20);
	assert_int_equal(send(w.client, "!", 1, MSG_OOB), 1);
	run_for_ms(loop, 20);
	assert_int_equal(send(w.client, "cd", 2, 0), 2);
	assert_int_equal(shutdown(w.client, SHUT_WR), 0);
	assert_int_equal(shutdown(w.server, SHUT_WR), 0);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	iterations = ev_iteration(loop) - iterations;

	assert_done_once(&o, 0);
	assert_count("done a_to_b", o.a_to_b, 5);
	assert_count("done b_to_a", o.b_to_a, 0);
	n = recv(w.server, buf, sizeof(buf) - 1, MSG_WAITALL);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "ab!cd");
	print_message("  %u loop iterations\n", iterations);
	if (iterations > 30)
		fail_msg("%u loop iterations for 5 bytes: the relay spins", iterations);
}

static void test_relay_abort_resets_both_sides_and_never_calls_done(void **state)
{
	int before = count_fds();
	struct ev_loop *loop = new_loop();
	struct pollfd pfd;
	unsigned idle;
	struct relay *r;
	struct outcome o;
	struct world w;
	char buf[8];

	(void)state;
	make_world(AF_INET, &w);
	r = start(loop, &w, &o);
	assert_int_equal(send(w.client, "hello", 5, 0), 5);
	pfd = (struct pollfd){.fd = w.server, .events = POLLIN};
	for (int i = 0; i < 200 && poll(&pfd, 1, 0) == 0; i++)
		run_for_ms(loop, 10);
	assert_int_equal(recv(w.server, buf, sizeof(buf), MSG_DONTWAIT), 5);

	/* Both sides idle: no watcher may fire. */
	idle = ev_iteration(loop);
	run_for_ms(loop, 200);
	idle = ev_iteration(loop) - idle;
	if (idle > 2)
		fail_msg("%u loop iterations on an idle relay", idle);

	relay_abort(r);
	relay_abort(NULL);
	run_for_ms(loop, 50);
	assert_int_equal(o.calls, 0);
	assert_false(fd_is_open(w.a) || fd_is_open(w.b));
	assert_int_equal(recv(w.client, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(recv(w.server, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(ev_pending_count(loop), 0);

	teardown(NULL);
	assert_int_equal(count_fds(), before);
}

/* relay_last_active(): the start, then each byte moved either way; an idle
 * relay leaves it where it was. */
static void test_relay_last_active_moves_with_bytes_either_way(void **state)
{
	struct ev_loop *loop = new_loop();
	int sockets[2];
	ev_tstamp t0;
	struct relay *r;
	struct outcome o;
	struct world w;
	char buf[8];

	(void)state;
	make_world(AF_INET, &w);
	ev_now_update(loop);
	r = start(loop, &w, &o);
	t0 = relay_last_active(r);
	assert_true(t0 == ev_now(loop));
	run_for_ms(loop, 50);
	assert_true(relay_last_active(r) == t0); /* idle */
	sockets[0] = w.client;
	sockets[1] = w.server;
	for (int i = 0; i < 2; i++) {
		struct pollfd pfd = {.fd = sockets[1 - i], .events = POLLIN};
		ev_tstamp before;

		run_for_ms(loop, 20);
		before = relay_last_active(r);
		assert_int_equal(send(sockets[i], "b", 1, 0), 1);
		for (int n = 0; n < 200 && poll(&pfd, 1, 0) == 0; n++)
			run_for_ms(loop, 5);
		assert_int_equal(recv(sockets[1 - i], buf, sizeof(buf), MSG_DONTWAIT), 1);
		if (!(relay_last_active(r) >= before + 0.015))
			fail_msg("direction %d: last active %.6f, before the byte %.6f", i,
				 relay_last_active(r), before);
	}
	relay_abort(r);
}

static void test_relay_done_comes_from_the_loop_when_both_sides_closed_before_start(void **state)
{
	struct ev_loop *loop = new_loop();
	struct outcome o;
	struct world w;
	char buf[8];

	(void)state;
	make_world(AF_INET, &w);
	assert_int_equal(send(w.client, "up", 2, 0), 2);
	assert_int_equal(send(w.server, "down", 4, 0), 4);
	assert_int_equal(shutdown(w.client, SHUT_WR), 0);
	assert_int_equal(shutdown(w.server, SHUT_WR), 0);
	sleep_ms(20); /* the FINs are in a's and b's queues */
	start(loop, &w, &o);
	run_until(loop, &o.calls, 1, WATCHDOG_S);

	assert_done_once(&o, 0);
	assert_count("done a_to_b", o.a_to_b, 2);
	assert_count("done b_to_a", o.b_to_a, 4);
	assert_int_equal(recv(w.server, buf, sizeof(buf), MSG_WAITALL), 2);
	assert_memory_equal(buf, "up", 2);
	assert_int_equal(recv(w.client, buf, sizeof(buf), MSG_WAITALL), 4);
	assert_memory_equal(buf, "down", 4);
}

static void test_relay_out_of_fds_returns_null_and_keeps_the_sockets(void **state)
{
	/* Room for no pipe, then for one pipe but not the second. */
	struct ev_loop *loop = new_loop();
	struct outcome o = {0};
	struct rlimit old, low;
	struct world w;
	int lowest_free, before;

	(void)state;
	make_world(AF_INET, &w);
	lowest_free = dup(0);
	assert_true(lowest_free >= 0);
	close(lowest_free);
	before = count_fds();
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	for (int room = 0; room <= 2; room += 2) {
		struct relay *r;
		int err;

		low = old;
		low.rlim_cur = (rlim_t)(lowest_free + room);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
		errno = 0;
		r = relay_start(loop, w.a, w.b, on_done, &o);
		err = errno;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

		assert_null(r);
		assert_int_equal(err, EMFILE);
		assert_int_equal(count_fds(), before);
		assert_true(fd_is_open(w.a) && fd_is_open(w.b));
	}
	run_for_ms(loop, 10);
	assert_int_equal(o.calls, 0);

	/* still whole: a relay can take them now */
	start(loop, &w, &o);
	assert_int_equal(shutdown(w.client, SHUT_WR), 0);
	assert_int_equal(shutdown(w.server, SHUT_WR), 0);
	run_until(loop, &o.calls, 1, WATCHDOG_S);
	assert_done_once(&o, 0);
}

static void test_relay_bad_arguments_are_refused_without_taking_the_fds(void **state)
{
	struct ev_loop *loop = new_loop();
	struct outcome o = {0};
	struct world w;
	int closed;

	(void)state;
	make_world(AF_INET, &w);
	closed = dup(w.a);
	assert_true(closed >= 0);
	close(closed);

	errno = 0;
	assert_null(relay_start(loop, -1, w.b, on_done, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(relay_start(loop, w.a, w.a, on_done, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(relay_start(loop, w.a, w.b, NULL, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(relay_start(NULL, w.a, w.b, on_done, &o));
	assert_int_equal(errno, EINVAL);
	assert_null(relay_start(loop, w.a, closed, on_done, &o));
	assert_int_equal(errno, EBADF);
	run_for_ms(loop, 10);
	assert_int_equal(o.calls, 0);
	assert_true(fd_is_open(w.a) && fd_is_open(w.b));
}

static void test_relay_leaves_no_fd_behind_after_30_relays(void **state)
{
	/* Ten each: clean close both ways, reset from the client, aborted. */
	int before = count_fds();
	struct ev_loop *loop = new_loop();
	struct outcome o[30];
	struct relay *r[30];
	struct linger lin = {1, 0};
	int finished = 0;

	(void)state;
	for (int round = 0; round < 3; round++) {
		struct world w[10];

		total_calls = 0;
		for (int i = 0; i < 10; i++) {
			make_world(AF_INET, &w[i]);
			r[round * 10 + i] = start(loop, &w[i], &o[round * 10 + i]);
			assert_int_equal(send(w[i].client, "x", 1, 0), 1);
			assert_int_equal(send(w[i].server, "y", 1, 0), 1);
		}
		for (int i = 0; i < 10; i++) {
			switch (round) {
			case 0:
				shutdown(w[i].client, SHUT_WR);
				shutdown(w[i].server, SHUT_WR);
				break;
			case 1:
				setsockopt(w[i].client, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
				close_kept(w[i].client);
				break;
			case 2:
				relay_abort(r[round * 10 + i]);
				break;
			}
		}
		if (round < 2)
			run_until(loop, &total_calls, 10, WATCHDOG_S);
		run_for_ms(loop, 20);
		for (int i = 0; i < 10; i++) {
			const struct outcome *oi = &o[round * 10 + i];

			finished += oi->calls;
			if (round == 0)
				assert_done_once(oi, 0);
			else if (round == 1)
				assert_done_once(oi, ECONNRESET);
			else
				assert_int_equal(oi->calls, 0);
			close_kept(w[i].server);
			if (round != 1)
				close_kept(w[i].client);
		}
	}
	assert_int_equal(finished, 20);
	teardown(NULL);
	assert_int_equal(count_fds(), before);
}

int main(int argc, char **argv)
{
	static char names[2 * NEXCHANGES][96];
	struct CMUnitTest tests[2 * NEXCHANGES + 9];
	size_t n = 0;

	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* one test (or a glob) by name */
	/* splice() into a reset socket raises SIGPIPE; the agent ignores it. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < NEXCHANGES; i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			snprintf(names[n], sizeof(names[n]), "tcp%d_%s", v6 ? 6 : 4,
				 exchanges[i].name);
			tests[n] =
			    (struct CMUnitTest){names[n], v6 ? test_exchange_v6 : test_exchange_v4,
						NULL, teardown, (void *)&exchanges[i]};
			n++;
		}
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_slow_reader_gets_every_byte_and_the_loop_does_not_spin, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_pipe_out_of_slots_parks_the_reader_without_spinning, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_urgent_data_is_carried_in_order_without_spinning, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_abort_resets_both_sides_and_never_calls_done, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_last_active_moves_with_bytes_either_way, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_done_comes_from_the_loop_when_both_sides_closed_before_start, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_out_of_fds_returns_null_and_keeps_the_sockets, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_bad_arguments_are_refused_without_taking_the_fds, teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_teardown(
	    test_relay_leaves_no_fd_behind_after_30_relays, teardown);

	return _cmocka_run_group_tests("relay", tests, n, NULL, NULL);
}
