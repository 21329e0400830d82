/* steer-echo: the demo and test replica. Every '\n'-terminated line on a TCP
 * connection and every UDP datagram is answered with "NAME\n", so a client can
 * tell which replica a steered connect reached.
 *
 * Usage: steer-echo --name NAME --listen ADDR:PORT [--tcp-only|--udp-only]
 * Prints "listening ADDR:PORT" once all sockets are bound; exits 0 on
 * SIGTERM/SIGINT, 2 on bad arguments, 1 when a socket cannot be set up.
 *
 * A connection whose first line starts with "GET " is an HTTP health check:
 * it gets one HTTP response with the current health status, then is closed.
 * The tests switch that status with signals: SIGUSR1 answers 500, SIGUSR2
 * stops answering checks at all (a hung replica), SIGHUP answers 200 again.
 *
 * One thread, one level-triggered epoll loop. Signals arrive on a signalfd in
 * the same loop, so shutdown never races with a half-handled event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint_text.h"

#define NAME_MAX_LEN   63   /* client tables key on the name; keep it a short token */
#define LINE_MAX_LEN   4096 /* per-connection buffer; a longer line closes the connection */
#define LISTEN_BACKLOG 4096
#define MAX_EVENTS     256
#define UDP_BURST      64 /* datagrams per wakeup, so TCP clients are not starved */

enum kind { K_SIGNAL, K_LISTENER, K_UDP, K_CONN };

/* Every epoll registration points at one of these; kind says how to serve it. */
struct watch {
	enum kind kind;
	int fd;
};

struct conn {
	struct watch w;		 /* must be first: epoll hands back &conn->w */
	bool http;		 /* an HTTP health check: answered once, or never if mute */
	size_t len;		 /* bytes of an unfinished line in buf */
	unsigned long long owed; /* reply bytes not yet written */
	char buf[LINE_MAX_LEN];
};

static char replies[LINE_MAX_LEN]; /* "NAME\n" repeated, to answer many lines per send() */
static size_t reply_len, replies_len;
static int epfd = -1;
static int http_status = 200; /* 0: accept checks but never answer */

static void usage(const char *why)
{
	fprintf(stderr,
		"steer-echo: %s\n"
		"usage: steer-echo --name NAME --listen ADDR:PORT [--tcp-only|--udp-only]\n"
		"  ADDR:PORT is A.B.C.D:PORT or [V6]:PORT, PORT 1..65535; NAME is 1..%d\n"
		"  printable ASCII characters, no spaces\n",
		why, NAME_MAX_LEN);
	exit(2);
}

/* The client prints "reply NAME COUNT", so a name must be one printable token. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f)
			return false;
	return n >= 1 && n <= NAME_MAX_LEN;
}

static void watch_fd(struct watch *w, unsigned int events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (epoll_ctl(epfd, op, w->fd, &ev) < 0) {
		perror("steer-echo: epoll_ctl");
		exit(1);
	}
}

/* Bind a non-blocking socket of the given type; exit 1 naming the address on failure. */
static int open_socket(int type, const struct sockaddr_storage *ss, socklen_t sslen,
		       const char *text)
{
	int one = 1;
	int fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("steer-echo: socket");
		exit(1);
	}
	/* TCP only: restarts must not wait out TIME_WAIT. On UDP it would let a
	 * second replica bind the same port silently instead of failing. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:P" must not also claim 0.0.0.0:P, where another replica may listen. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)) {
		fprintf(stderr, "steer-echo: %s %s: %s\n", type == SOCK_STREAM ? "tcp" : "udp",
			text, strerror(errno));
		exit(1);
	}
	return fd;
}

static void conn_close(struct conn *c)
{
	close(c->w.fd); /* also removes it from the epoll set */
	free(c);
}

/* Write owed replies. While some are still owed, wait for EPOLLOUT and stop
 * reading, so a client that never reads cannot make us buffer without bound.
 * All replies are equal, so the owed byte count alone says where to resume. */
static int conn_flush(struct conn *c)
{
	while (c->owed > 0) {
		size_t at = (reply_len - c->owed % reply_len) % reply_len;
		size_t len = replies_len - at < c->owed ? replies_len - at : c->owed;
		ssize_t n = send(c->w.fd, replies + at, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch_fd(&c->w, EPOLLOUT, EPOLL_CTL_MOD);
			return 0;
		}
		if (n < 0)
			return -1;
		c->owed -= n;
	}
	return 0;
}

/* Answer a health check once its request is complete; a mute replica keeps
 * the connection open and says nothing, as a hung process would. */
static int http_answer(struct conn *c)
{
	char resp[256];
	int n;

	if (c->len == sizeof(c->buf))
		return -1;
	if (!memmem(c->buf, c->len, "\r\n\r\n", 4) || http_status == 0) {
		c->len = 0; /* keep reading, bounded */
		return 0;
	}
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
		     http_status, http_status == 200 ? "OK" : "Internal Server Error", reply_len,
		     (int)reply_len, replies);
	send(c->w.fd, resp, (size_t)n, MSG_NOSIGNAL);
	return -1; /* answered: close */
}

/* Read what is there, owe one reply per complete line, keep the unfinished tail. */
static int conn_read(struct conn *c)
{
	ssize_t n = recv(c->w.fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	char *start = c->buf, *nl;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1; /* peer closed or reset */
	c->len += n;
	if (!c->http && c->owed == 0 && c->len >= 4 && !memcmp(c->buf, "GET ", 4))
		c->http = true;
	if (c->http)
		return http_answer(c);
	while ((nl = memchr(start, '\n', c->len - (start - c->buf)))) {
		c->owed += reply_len;
		start = nl + 1;
	}
	c->len -= start - c->buf;
	memmove(c->buf, start, c->len);
	if (c->len == sizeof(c->buf))
		return -1; /* a line longer than the buffer: refuse it */
	return conn_flush(c);
}

static void on_conn(struct conn *c, unsigned int events)
{
	int err;

	if (events & EPOLLOUT) {
		err = conn_flush(c);
		if (!err && c->owed == 0)
			watch_fd(&c->w, EPOLLIN, EPOLL_CTL_MOD);
	} else {
		err = conn_read(c);
	}
	if (err)
		conn_close(c);
}

/* Accept until the backlog is empty. At the fd limit, drop the oldest pending
 * connection via a spare fd: otherwise level-triggered epoll would spin. */
static void on_listener(int lfd)
{
	static int spare = -2;

	if (spare == -2)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare >= 0) {
			close(spare);
			fd = accept(lfd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			fprintf(stderr,
				"steer-echo: out of file descriptors, dropped a connection\n");
			continue;
		}
		if (fd < 0)
			return; /* EAGAIN, or a transient error such as ECONNABORTED */
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->w = (struct watch){.kind = K_CONN, .fd = fd};
		watch_fd(&c->w, EPOLLIN, EPOLL_CTL_ADD);
	}
}

/* Reply to the sender's address. On a wildcard bind the kernel picks the reply's
 * source; bind the replica's own address when that must match what was asked. */
static void on_udp(int ufd)
{
	static char dgram[65536];

	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);

		if (recvfrom(ufd, dgram, sizeof(dgram), 0, (struct sockaddr *)&from, &fromlen) < 0)
			return;
		sendto(ufd, replies, reply_len, MSG_NOSIGNAL, (struct sockaddr *)&from, fromlen);
	}
}

/* Returns true for the signals that end the process. */
static bool on_signal(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			http_status = 500;
		else if (si.ssi_signo == SIGUSR2)
			http_status = 0;
		else if (si.ssi_signo == SIGHUP)
			http_status = 200;
		else
			return true;
	}
	return false;
}

/* Thousands of test connections exceed the usual soft limit of 1024 fds. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const char *name = NULL, *listen_text = NULL;
	bool tcp = true, udp = true;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct watch sig_w = {K_SIGNAL, -1}, tcp_w = {K_LISTENER, -1}, udp_w = {K_UDP, -1};
	sigset_t mask;
	char why[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_text = argv[++i];
		else if (!strcmp(argv[i], "--tcp-only"))
			udp = false;
		else if (!strcmp(argv[i], "--udp-only"))
			tcp = false;
		else {
			snprintf(why, sizeof(why), "unknown or incomplete argument '%s'", argv[i]);
			usage(why);
		}
	}
	if (!name || !listen_text)
		usage("--name and --listen are required");
	if (!tcp && !udp)
		usage("--tcp-only and --udp-only exclude each other");
	if (!name_ok(name)) {
		snprintf(why, sizeof(why),
			 "--name '%s' is not 1..%d printable ASCII characters, no spaces", name,
			 NAME_MAX_LEN);
		usage(why);
	}
	if (endpoint_text_parse(listen_text, &ss, &sslen) < 0) {
		snprintf(why, sizeof(why), "--listen '%s' is not A.B.C.D:PORT or [V6]:PORT",
			 listen_text);
		usage(why);
	}
	reply_len = strlen(name) + 1;
	for (replies_len = 0; replies_len + reply_len <= sizeof(replies);
	     replies_len += reply_len) {
		memcpy(replies + replies_len, name, reply_len - 1);
		replies[replies_len + reply_len - 1] = '\n';
	}
	raise_fd_limit();

	/* Block the signals before anything else so none is lost before the loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	sig_w.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || sig_w.fd < 0) {
		perror("steer-echo: epoll/signalfd");
		return 1;
	}
	watch_fd(&sig_w, EPOLLIN, EPOLL_CTL_ADD);
	if (tcp) {
		tcp_w.fd = open_socket(SOCK_STREAM, &ss, sslen, listen_text);
		watch_fd(&tcp_w, EPOLLIN, EPOLL_CTL_ADD);
	}
	if (udp) {
		udp_w.fd = open_socket(SOCK_DGRAM, &ss, sslen, listen_text);
		watch_fd(&udp_w, EPOLLIN, EPOLL_CTL_ADD);
	}
	printf("listening %s\n", listen_text);
	fflush(stdout);

	for (;;) {
		struct epoll_event evs[MAX_EVENTS];
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR) {
			perror("steer-echo: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			switch (w->kind) {
			case K_SIGNAL:
				if (on_signal(w->fd))
					return 0; /* SIGTERM or SIGINT: the kernel closes the rest
						   */
				break;
			case K_LISTENER:
				on_listener(w->fd);
				break;
			case K_UDP:
				on_udp(w->fd);
				break;
			case K_CONN:
				/* An error or hangup shows up as a failed read or write. */
				on_conn((struct conn *)w, evs[i].events);
				break;
			}
		}
	}
}
