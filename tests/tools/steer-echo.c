/* steer-echo: the demo and test replica. Every '\n'-terminated line on a TCP
 * connection and every UDP datagram is answered with "NAME\n", so a client can
 * tell which replica a steered connect reached.
 *
 * Usage: steer-echo --name NAME --listen ADDR:PORT [--tcp-only|--udp-only]
 *                   [--delay-us N]
 * Prints "listening ADDR:PORT" once all sockets are bound; exits 0 on
 * SIGTERM/SIGINT, 2 on bad arguments, 1 when a socket cannot be set up.
 *
 * --delay-us N (0..10,000,000, default 0) sends each reply N µs after its
 * request line (or datagram) was read: a replica with slow handlers, for the
 * load-aware routing benchmark. Nothing blocks: the replies owed later wait
 * in one queue, in the order their requests arrived, which with one N for
 * all is also the order they fall due; a timerfd in the epoll loop fires for
 * the head. So a slow replica is slow per request but serves any number of
 * connections at once. A connection with DUE_PER_CONN_MAX reads still
 * waiting is not read until one is answered, and the UDP socket not while
 * UDP_DUE_MAX replies wait, which bounds the memory. A client that sends its
 * lines and shuts down its side still gets every reply before the close.
 * HTTP health checks (below) are answered at once, delay or not.
 *
 * A connection whose first line starts with "GET " is an HTTP health check:
 * it gets one HTTP response with the current health status, then is closed.
 * The tests switch that status with signals: SIGUSR1 answers 500, SIGUSR2
 * stops answering checks at all (a hung replica), SIGHUP answers 200 again.
 *
 * One thread, one level-triggered epoll loop. Signals arrive on a signalfd in
 * the same loop, so shutdown never races with a half-handled event. Without
 * --delay-us (or with 0) every reply is written as soon as its line is read.
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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "endpoint_text.h"

#define NAME_MAX_LEN   63   /* client tables key on the name; keep it a short token */
#define LINE_MAX_LEN   4096 /* per-connection buffer; a longer line closes the connection */
#define LISTEN_BACKLOG 4096
#define MAX_EVENTS     256
#define UDP_BURST      64 /* datagrams per wakeup, so TCP clients are not starved */

/* --delay-us: its bound, and how many replies may wait at once. */
#define DELAY_US_MAX	 10000000ull /* 10 s */
#define DUE_PER_CONN_MAX 64	     /* reads of one connection */
#define UDP_DUE_MAX	 4096	     /* UDP replies */

enum kind { K_SIGNAL, K_LISTENER, K_UDP, K_CONN, K_TIMER };

/* Every epoll registration points at one of these; kind says how to serve it. */
struct watch {
	enum kind kind;
	int fd;
};

struct conn {
	struct watch w;		 /* must be first: epoll hands back &conn->w; fd -1 once
				  * closed while replies were still due */
	bool http;		 /* an HTTP health check: answered once, or never if mute */
	bool eof;		 /* --delay-us: the peer sent its last line; close when
				  * its replies are out */
	unsigned int events;	 /* what epoll waits for on it now */
	unsigned int queued;	 /* --delay-us: dues that point at it */
	size_t len;		 /* bytes of an unfinished line in buf */
	unsigned long long owed; /* reply bytes not yet written */
	char buf[LINE_MAX_LEN];
};

/* A reply owed later (--delay-us), in the queue until at. */
struct due {
	struct due *next;
	unsigned long long at; /* CLOCK_MONOTONIC ns: its request's arrival + the delay */
	struct conn *c;	       /* the TCP connection, or NULL for a UDP reply */
	unsigned int lines;    /* TCP: replies owed, one per line of one read */
	socklen_t fromlen;     /* UDP: whom to answer */
	struct sockaddr_storage from;
};

static char replies[LINE_MAX_LEN]; /* "NAME\n" repeated, to answer many lines per send() */
static size_t reply_len, replies_len;
static int epfd = -1;
static int http_status = 200; /* 0: accept checks but never answer */

static unsigned long long delay_ns; /* --delay-us in ns; 0: reply at once */
/* The replies owed later, oldest first. Every due is its request's arrival
 * plus the same delay_ns, so appending keeps the queue sorted by due time. */
static struct due *due_head, *due_tail;
static struct watch timer_w = {K_TIMER, -1}, udp_w = {K_UDP, -1};
static unsigned int udp_queued; /* UDP dues in the queue */

static void usage(const char *why)
{
	fprintf(stderr,
		"steer-echo: %s\n"
		"usage: steer-echo --name NAME --listen ADDR:PORT [--tcp-only|--udp-only]\n"
		"                  [--delay-us N]\n"
		"  ADDR:PORT is A.B.C.D:PORT or [V6]:PORT, PORT 1..65535; NAME is 1..%d\n"
		"  printable ASCII characters, no spaces; N is 0..%llu, the microseconds\n"
		"  each reply waits after its request arrived (default 0)\n",
		why, NAME_MAX_LEN, DELAY_US_MAX);
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

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
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

/* Close c and free it, or, while dues still point at it, leave that to the
 * last of them (due_send). */
static void conn_close(struct conn *c)
{
	close(c->w.fd); /* also removes it from the epoll set */
	c->w.fd = -1;
	if (c->queued == 0)
		free(c);
}

/* Have epoll wait for events on c, unless it waits for them already. */
static void conn_watch(struct conn *c, unsigned int events)
{
	if (events == c->events)
		return;
	c->events = events;
	watch_fd(&c->w, events, EPOLL_CTL_MOD);
}

/* What c waits for: to write what it owes, else to read more lines, unless
 * the delay queue holds enough of its reads or its peer sent its last line. */
static unsigned int conn_events(const struct conn *c)
{
	if (c->owed > 0)
		return EPOLLOUT;
	if (c->eof || c->queued >= DUE_PER_CONN_MAX)
		return 0;
	return EPOLLIN;
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
			conn_watch(c, EPOLLOUT);
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

/* Arm the timer to fire at `at` (CLOCK_MONOTONIC ns). */
static void timer_arm(unsigned long long at)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000000ull),
					      .tv_nsec = (long)(at % 1000000000ull)}};

	if (timerfd_settime(timer_w.fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		perror("steer-echo: timerfd_settime");
		exit(1);
	}
}

/* Append a due for delay_ns from now; the timer is armed for the head, so
 * only a due that becomes the head arms it. NULL when out of memory. */
static struct due *due_push(void)
{
	struct due *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->at = now_ns() + delay_ns;
	if (due_tail) {
		due_tail->next = d;
	} else {
		due_head = d;
		timer_arm(d->at);
	}
	due_tail = d;
	return d;
}

/* Send one due reply (or replies), and free what it was the last hold on. */
static void due_send(struct due *d)
{
	struct conn *c = d->c;

	if (!c) {
		sendto(udp_w.fd, replies, reply_len, MSG_NOSIGNAL, (struct sockaddr *)&d->from,
		       d->fromlen);
		if (udp_queued-- == UDP_DUE_MAX)
			watch_fd(&udp_w, EPOLLIN, EPOLL_CTL_MOD); /* room again: read on */
		return;
	}
	c->queued--;
	if (c->w.fd < 0) { /* closed while this was due */
		if (c->queued == 0)
			free(c);
		return;
	}
	c->owed += (unsigned long long)d->lines * reply_len;
	if (conn_flush(c) < 0 || (c->eof && c->queued == 0 && c->owed == 0)) {
		conn_close(c);
		return;
	}
	conn_watch(c, conn_events(c));
}

/* The timer fired: send every reply that is due, arm it for the next. The
 * loop runs this after the other events of the batch, so a connection
 * closed here has no event left in the batch to point at it. */
static void on_timer(void)
{
	unsigned long long expirations, now;

	while (read(timer_w.fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
		;
	now = now_ns();
	while (due_head && due_head->at <= now) {
		struct due *d = due_head;

		due_head = d->next;
		if (!due_head)
			due_tail = NULL;
		due_send(d);
		free(d);
	}
	if (due_head)
		timer_arm(due_head->at);
}

/* Read what is there, owe one reply per complete line (at once, or queued
 * for --delay-us), keep the unfinished tail. */
static int conn_read(struct conn *c)
{
	ssize_t n = recv(c->w.fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	char *start = c->buf, *nl;
	unsigned int lines = 0;
	struct due *d;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n == 0 && c->queued > 0) {
		/* Done sending but still owed replies: they go out, then it closes. */
		c->eof = true;
		conn_watch(c, conn_events(c));
		return 0;
	}
	if (n <= 0)
		return -1; /* peer closed or reset */
	c->len += n;
	if (!c->http && c->owed == 0 && c->len >= 4 && !memcmp(c->buf, "GET ", 4))
		c->http = true;
	if (c->http)
		return http_answer(c);
	while ((nl = memchr(start, '\n', c->len - (start - c->buf)))) {
		lines++;
		start = nl + 1;
	}
	c->len -= start - c->buf;
	memmove(c->buf, start, c->len);
	if (c->len == sizeof(c->buf))
		return -1; /* a line longer than the buffer: refuse it */
	if (!delay_ns) {
		c->owed += (unsigned long long)lines * reply_len;
		return conn_flush(c);
	}
	if (lines == 0)
		return 0;
	d = due_push();
	if (!d)
		return -1;
	d->c = c;
	d->lines = lines;
	c->queued++;
	conn_watch(c, conn_events(c));
	return 0;
}

static void on_conn(struct conn *c, unsigned int events)
{
	int err;

	if (!c->events) {
		/* Waiting for nothing (its replies are due later): only a hangup
		 * or an error wakes it, and then they cannot reach the peer. */
		err = -1;
	} else if (events & EPOLLOUT) {
		err = conn_flush(c);
		if (!err && c->owed == 0) {
			if (c->eof && c->queued == 0)
				err = -1; /* its last reply is out */
			else
				conn_watch(c, conn_events(c));
		}
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
		c->events = EPOLLIN;
		watch_fd(&c->w, EPOLLIN, EPOLL_CTL_ADD);
	}
}

/* Reply to the sender's address, at once or --delay-us later. On a wildcard
 * bind the kernel picks the reply's source; bind the replica's own address
 * when that must match what was asked. */
static void on_udp(int ufd)
{
	static char dgram[65536];

	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		struct due *d;

		if (recvfrom(ufd, dgram, sizeof(dgram), 0, (struct sockaddr *)&from, &fromlen) < 0)
			return;
		if (!delay_ns) {
			sendto(ufd, replies, reply_len, MSG_NOSIGNAL, (struct sockaddr *)&from,
			       fromlen);
			continue;
		}
		d = due_push();
		if (!d)
			continue; /* out of memory: dropped, as a full socket buffer would */
		d->from = from;
		d->fromlen = fromlen;
		if (++udp_queued == UDP_DUE_MAX) {
			watch_fd(&udp_w, 0, EPOLL_CTL_MOD); /* full: the socket buffer waits */
			return;
		}
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
	const char *name = NULL, *listen_text = NULL, *delay_text = NULL;
	bool tcp = true, udp = true;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct watch sig_w = {K_SIGNAL, -1}, tcp_w = {K_LISTENER, -1};
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
		else if (!strcmp(argv[i], "--delay-us") && i + 1 < argc)
			delay_text = argv[++i];
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
	if (delay_text) {
		char *end;
		unsigned long long us;

		errno = 0;
		us = strtoull(delay_text, &end, 10);
		if (!delay_text[0] || strspn(delay_text, "0123456789") != strlen(delay_text) ||
		    *end || errno || us > DELAY_US_MAX) {
			snprintf(why, sizeof(why), "--delay-us '%s' is not an integer 0..%llu",
				 delay_text, DELAY_US_MAX);
			usage(why);
		}
		delay_ns = us * 1000ull;
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
	if (delay_ns) {
		timer_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (timer_w.fd < 0) {
			perror("steer-echo: timerfd_create");
			return 1;
		}
		watch_fd(&timer_w, EPOLLIN, EPOLL_CTL_ADD);
	}
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
		bool due = false;

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
			case K_TIMER:
				due = true; /* after the rest of the batch: see on_timer() */
				break;
			}
		}
		if (due)
			on_timer();
	}
}
