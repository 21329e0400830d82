/* bench-load: a closed-loop TCP load generator for steer-echo style replicas
 * (every '\n'-terminated line is answered with one line).
 *
 * Usage: bench-load crr|rr ADDR:PORT [--concurrency N] [--duration-ms D |
 *        --requests R] [--warmup-ms W] [--connect-timeout-ms T]
 *   crr  each worker loops: socket, connect, send "x\n", read one line, close.
 *        A sample runs from the connect() call to the complete reply. The
 *        request goes out right after connect() (over loopback the handshake
 *        is done by then); if the socket is still connecting, on writability.
 *   rr   each worker opens one connection, then loops: send "x\n", read one
 *        line. A sample runs from the send() to the complete reply. A failed
 *        connection is closed and opened again at once.
 * A sample ends when the epoll_wait() that reported the reply returned, so
 * the generator's own work on the other events of a batch is not counted as
 * latency (with N = 1024 a batch can take milliseconds).
 *
 * N workers (1..1024, default 1) are multiplexed on one thread by one
 * edge-triggered epoll loop; nothing forks, so a benchmark can move the
 * process into a cgroup before exec. The run first warms up for W ms (default
 * 0; nothing is counted), then measures for D ms (default 5000) or until R
 * replies were counted; warm-up plus measurement never exceeds 600 s.
 * T (default 1000 ms) bounds the connect and, separately, each wait for a
 * reply. Errors are counted by reason; the worker moves on (crr) or reconnects
 * (rr), so errors never end the run.
 *
 * Output, one line on stdout (everything describes the measured window):
 *   mode=crr conc=16 secs=5.000 ok=12345 errors=0 conns_per_s=2469.0
 *   reqs_per_s=2469.0 p50_us=310.2 p90_us=450.1 p99_us=900.3 max_us=2100.0
 *   mean_us=330.5
 * conns_per_s counts connections: completed ones for crr (= ok), for rr the
 * ones open when the window starts plus those opened in it. Percentiles are
 * histogram bucket midpoints within 1/32 = 3.1% (bench/loadhist.h); max and mean are
 * exact. On stderr: "errors: refused=.. reset=.. timeout=.. eof=..
 * unreach=.. addrnotavail=.. other=..".
 * Exit 0 when it ran (errors or not), 2 on bad usage, 1 if not one request
 * succeeded (warm-up included) or the loop itself failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/endpoint_text.h"

#include "bench/loadhist.h"

#define MAX_CONC	    1024
#define MAX_RUN_MS	    600000ull /* the hard cap on warm-up plus measurement */
#define MAX_EVENTS	    MAX_CONC  /* one epoll_wait can return every worker */
#define NSEC_PER_MS	    1000000ull
#define DEFAULT_DURATION_MS 5000ull
#define DEFAULT_TIMEOUT_MS  1000ull
#define NONE		    (-1) /* end of an index-linked list */

static const char request[] = "x\n";
#define REQUEST_LEN (sizeof(request) - 1)

enum mode { CRR, RR };

/* Why a connection attempt or a request failed; one counter each. */
enum reason { E_REFUSED, E_RESET, E_TIMEOUT, E_EOF, E_UNREACH, E_ADDRNOTAVAIL, E_OTHER, E_NR };
static const char *const reason_names[E_NR] = {
    "refused", "reset", "timeout", "eof", "unreach", "addrnotavail", "other",
};

enum wstate {
	W_IDLE,	      /* no socket; on the pending list to start again */
	W_CONNECTING, /* connect() in progress, waiting for writability */
	W_SENDING,    /* request not fully written yet (crr: maybe still connecting) */
	W_WAITING,    /* request sent, reading until '\n' */
};

struct worker {
	int fd;
	uint32_t gen; /* bumped per socket; epoll data carries it, so an event for
		       * an older socket of this worker is never misapplied */
	enum wstate state;
	uint32_t sent;	   /* request bytes written */
	uint64_t start;	   /* sample start, CLOCK_MONOTONIC ns */
	uint64_t deadline; /* when the current phase times out */
	int prev, next;	   /* timer list: linked while CONNECTING/SENDING/WAITING */
	int pend_next;	   /* pending list: linked while IDLE */
};

#define MAX_TARGETS 16

struct opts {
	enum mode mode;
	/* Targets, taken in turn by each new connection: several give a
	 * client-side round robin, the baseline with no balancer at all. */
	struct sockaddr_storage addr[MAX_TARGETS];
	socklen_t addrlen[MAX_TARGETS];
	unsigned int ntargets;
	unsigned int conc;
	uint64_t duration_ms; /* 0 with --requests */
	uint64_t requests;    /* 0 with --duration-ms */
	uint64_t warmup_ms;
	uint64_t timeout_ms;
};

static struct opts o;
static struct worker workers[MAX_CONC];
static struct loadhist hist;
static int epfd = -1;
/* The timer list: every phase lasts at most the same T and starts at a
 * monotonic time, so appending keeps it sorted by deadline, the head expires
 * first, and link/unlink are O(1) without a heap. */
static int timer_head = NONE, timer_tail = NONE;
static int pending = NONE; /* workers to (re)start after this batch */
static bool measuring;
static uint64_t ok, ok_total, opened, errors[E_NR];
static int first_other_errno;
static char scratch[4096]; /* replies are only scanned for '\n', never kept */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(const char *why)
{
	fprintf(stderr,
		"bench-load: %s\n"
		"usage: bench-load crr|rr ADDR:PORT[,ADDR:PORT...] [--concurrency N] "
		"[--duration-ms D | "
		"--requests R]\n"
		"                  [--warmup-ms W] [--connect-timeout-ms T]\n"
		"  ADDR:PORT is A.B.C.D:PORT or [V6]:PORT, PORT 1..65535\n"
		"  N 1..%d (default 1); D 1..%llu ms (default %llu); R 1..10^12;\n"
		"  W 0..%llu ms (default 0), W + D at most %llu; T 1..60000 ms (default %llu)\n",
		why, MAX_CONC, MAX_RUN_MS, DEFAULT_DURATION_MS, MAX_RUN_MS - 1, MAX_RUN_MS,
		DEFAULT_TIMEOUT_MS);
	exit(2);
}

/* A decimal integer lo..hi, digits only; exits 2 naming the option otherwise. */
static uint64_t parse_num(const char *opt, const char *text, uint64_t lo, uint64_t hi)
{
	char why[256];
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (!text[0] || strspn(text, "0123456789") != strlen(text) || *end || errno || v < lo ||
	    v > hi) {
		snprintf(why, sizeof(why), "%s '%s' is not an integer %llu..%llu", opt, text,
			 (unsigned long long)lo, (unsigned long long)hi);
		usage(why);
	}
	return v;
}

static bool is_option(const char *arg)
{
	static const char *const names[] = {"--concurrency", "--duration-ms", "--requests",
					    "--warmup-ms", "--connect-timeout-ms"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i]))
			return true;
	return false;
}

static void parse_args(int argc, char **argv)
{
	char why[256];
	bool have_duration = false;

	if (argc < 3)
		usage("a mode (crr or rr) and ADDR:PORT are required");
	if (!strcmp(argv[1], "crr"))
		o.mode = CRR;
	else if (!strcmp(argv[1], "rr"))
		o.mode = RR;
	else {
		snprintf(why, sizeof(why), "mode '%s' is not crr or rr", argv[1]);
		usage(why);
	}
	{
		char list[1024], *save = NULL;

		snprintf(list, sizeof(list), "%s", argv[2]);
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (o.ntargets == MAX_TARGETS ||
			    endpoint_text_parse(t, &o.addr[o.ntargets], &o.addrlen[o.ntargets]) <
				0) {
				snprintf(why, sizeof(why),
					 "address '%s' is not A.B.C.D:PORT or [V6]:PORT (at most "
					 "%d, comma-separated)",
					 t, MAX_TARGETS);
				usage(why);
			}
			o.ntargets++;
		}
		if (!o.ntargets)
			usage("no address given");
	}
	o.conc = 1;
	o.duration_ms = DEFAULT_DURATION_MS;
	o.timeout_ms = DEFAULT_TIMEOUT_MS;
	for (int i = 3; i < argc; i++) {
		const char *opt = argv[i], *val;

		if (i + 1 >= argc) {
			snprintf(why, sizeof(why),
				 is_option(opt) ? "'%s' is missing its value"
						: "unknown argument '%s'",
				 opt);
			usage(why);
		}
		val = argv[++i];
		if (!strcmp(opt, "--concurrency")) {
			o.conc = (unsigned int)parse_num(opt, val, 1, MAX_CONC);
		} else if (!strcmp(opt, "--duration-ms")) {
			o.duration_ms = parse_num(opt, val, 1, MAX_RUN_MS);
			have_duration = true;
		} else if (!strcmp(opt, "--requests")) {
			o.requests = parse_num(opt, val, 1, 1000000000000ull);
		} else if (!strcmp(opt, "--warmup-ms")) {
			o.warmup_ms = parse_num(opt, val, 0, MAX_RUN_MS - 1);
		} else if (!strcmp(opt, "--connect-timeout-ms")) {
			o.timeout_ms = parse_num(opt, val, 1, 60000);
		} else {
			snprintf(why, sizeof(why), "unknown argument '%s'", opt);
			usage(why);
		}
	}
	if (have_duration && o.requests)
		usage("--duration-ms and --requests exclude each other");
	if (o.requests)
		o.duration_ms = 0;
	else if (o.warmup_ms + o.duration_ms > MAX_RUN_MS) {
		snprintf(why, sizeof(why),
			 "--warmup-ms %llu plus --duration-ms %llu is over the %llu ms cap",
			 (unsigned long long)o.warmup_ms, (unsigned long long)o.duration_ms,
			 MAX_RUN_MS);
		usage(why);
	}
}

static void timer_unlink(int i)
{
	struct worker *w = &workers[i];

	if (w->prev != NONE)
		workers[w->prev].next = w->next;
	else if (timer_head == i)
		timer_head = w->next;
	else
		return; /* not linked */
	if (w->next != NONE)
		workers[w->next].prev = w->prev;
	else
		timer_tail = w->prev;
	w->prev = w->next = NONE;
}

/* Start a phase of worker i at time t: it times out at t + T. */
static void timer_arm(int i, uint64_t t)
{
	struct worker *w = &workers[i];

	timer_unlink(i);
	w->deadline = t + o.timeout_ms * NSEC_PER_MS;
	w->prev = timer_tail;
	if (timer_tail != NONE)
		workers[timer_tail].next = i;
	else
		timer_head = i;
	timer_tail = i;
}

static enum reason classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return E_REFUSED;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return E_RESET;
	case ETIMEDOUT:
		return E_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return E_UNREACH;
	case EADDRNOTAVAIL:
		return E_ADDRNOTAVAIL;
	default:
		if (!first_other_errno)
			first_other_errno = err;
		return E_OTHER;
	}
}

/* Count the failure, drop the socket; the worker starts again after this
 * batch, so a server that refuses at once cannot recurse us into the ground. */
static void worker_fail(int i, enum reason r)
{
	struct worker *w = &workers[i];

	if (measuring)
		errors[r]++;
	timer_unlink(i);
	if (w->fd >= 0)
		close(w->fd); /* also leaves the epoll set */
	w->fd = -1;
	w->state = W_IDLE;
	w->pend_next = pending;
	pending = i;
}

static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err ? err : ECONNRESET; /* an error event without an error: a reset */
}

/* Write what is left of the request, started at time t; sending and then
 * waiting for the reply may take at most T from t. A socket still
 * connecting, or a full send buffer (never, for 2 bytes, but cheap to get
 * right), leaves it SENDING until the next writability edge. */
static void worker_send(int i, uint64_t t)
{
	struct worker *w = &workers[i];
	ssize_t n;

	timer_arm(i, t);
	for (;;) {
		n = send(w->fd, request + w->sent, REQUEST_LEN - w->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			w->state = W_SENDING;
			return;
		}
		if (n < 0) {
			worker_fail(i, classify(errno));
			return;
		}
		w->sent += (uint32_t)n;
		if (w->sent == REQUEST_LEN)
			break;
	}
	w->state = W_WAITING;
}

/* The connection is up: count it (rr), then send the first request. In crr
 * the sample started at connect(); in rr it starts now. */
static void worker_connected(int i)
{
	struct worker *w = &workers[i];
	uint64_t t;

	if (o.mode == RR) {
		int one = 1;

		if (measuring)
			opened++;
		setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	t = now_ns();
	if (o.mode == RR)
		w->start = t;
	w->sent = 0;
	worker_send(i, t);
}

/* Open a socket and start connecting. Failures that show at once (no fds,
 * no ports, a synchronous refusal) count and put the worker back on the
 * pending list for the next batch. */
static void worker_start(int i)
{
	struct worker *w = &workers[i];
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	static unsigned int next_target;
	unsigned int t;
	int rc;

	t = next_target++ % o.ntargets;
	w->fd = socket(o.addr[t].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0) {
		worker_fail(i, classify(errno));
		return;
	}
	w->gen++;
	w->start = now_ns();
	rc = connect(w->fd, (struct sockaddr *)&o.addr[t], o.addrlen[t]);
	if (rc < 0 && errno != EINPROGRESS) {
		worker_fail(i, classify(errno));
		return;
	}
	/* Registered after connect(): an unconnected socket polls as hung up.
	 * One registration per socket, edge-triggered, so the loop never needs
	 * EPOLL_CTL_MOD; each state ignores the edges it does not wait for. */
	ev.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)i;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		worker_fail(i, classify(errno));
		return;
	}
	if (rc == 0) {
		worker_connected(i);
		return;
	}
	w->state = W_CONNECTING;
	/* crr sends at once: over loopback (and veth) the handshake has
	 * completed by the time connect() returns, which saves an epoll round
	 * per connection. If it has not, send() says EAGAIN and the worker
	 * waits in W_SENDING for the writability edge (the same single
	 * registration), under the connect timeout. rr connects rarely and
	 * counts connections, so it waits for the edge. */
	if (o.mode == CRR) {
		w->sent = 0;
		worker_send(i, w->start); /* also arms the timer */
		return;
	}
	timer_arm(i, w->start);
}

/* A whole reply line arrived at time t: record the sample, start the next. */
static void worker_done(int i, uint64_t t)
{
	struct worker *w = &workers[i];

	ok_total++;
	if (measuring) {
		loadhist_record(&hist, t > w->start ? t - w->start : 0);
		ok++;
	}
	if (o.mode == CRR) {
		timer_unlink(i);
		close(w->fd);
		w->fd = -1;
		worker_start(i);
		return;
	}
	w->start = now_ns();
	w->sent = 0;
	worker_send(i, w->start);
}

/* Read until '\n' or until the socket is drained (edge-triggered). */
static void worker_read(int i, uint64_t t)
{
	struct worker *w = &workers[i];

	for (;;) {
		ssize_t n = recv(w->fd, scratch, sizeof(scratch), 0);

		if (n > 0 && memchr(scratch, '\n', (size_t)n)) {
			worker_done(i, t);
			return;
		}
		if (n > 0)
			continue; /* part of a line: keep reading */
		if (n == 0) {
			worker_fail(i, E_EOF);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			worker_fail(i, classify(errno));
		return;
	}
}

/* One epoll event for worker i; t is when the batch was returned, which is
 * when the reply is known to have arrived. Using it as the sample's end
 * keeps the generator's own work on earlier events of the batch out of the
 * latency. */
static void worker_event(int i, uint32_t events, uint64_t t)
{
	struct worker *w = &workers[i];
	bool err = events & (EPOLLERR | EPOLLHUP);

	switch (w->state) {
	case W_CONNECTING:
		if (err)
			worker_fail(i, classify(sock_error(w->fd)));
		else if (events & EPOLLOUT)
			worker_connected(i);
		break;
	case W_SENDING:
		if (err)
			worker_fail(i, classify(sock_error(w->fd)));
		else if (events & EPOLLOUT)
			worker_send(i, now_ns());
		break;
	case W_WAITING:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
			worker_read(i, t);
		break;
	case W_IDLE:
		break;
	}
}

/* Milliseconds for epoll_wait until the earliest of the next timeout, the
 * end of warm-up and the end of the run; rounded up so we never spin. */
static int wait_ms(uint64_t now, uint64_t warm_end, uint64_t end)
{
	uint64_t until = end;

	if (pending != NONE)
		return 0;
	if (!measuring && warm_end < until)
		until = warm_end;
	if (timer_head != NONE && workers[timer_head].deadline < until)
		until = workers[timer_head].deadline;
	if (until <= now)
		return 0;
	return (int)((until - now + NSEC_PER_MS - 1) / NSEC_PER_MS);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Warm-up is over at t: from here on everything counts. In rr the
 * connections already open count as the window's connections. */
static void start_measuring(void)
{
	measuring = true;
	if (o.mode == RR)
		for (unsigned int i = 0; i < o.conc; i++)
			if (workers[i].state == W_SENDING || workers[i].state == W_WAITING)
				opened++;
}

int main(int argc, char **argv)
{
	static struct epoll_event evs[MAX_EVENTS];
	uint64_t t0, warm_end, end, stop, errs = 0;
	double secs;
	bool done = false;

	parse_args(argc, argv);
	raise_fd_limit();
	loadhist_init(&hist);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("bench-load: epoll_create1");
		return 1;
	}
	t0 = now_ns();
	warm_end = t0 + o.warmup_ms * NSEC_PER_MS;
	end = o.requests ? t0 + MAX_RUN_MS * NSEC_PER_MS : warm_end + o.duration_ms * NSEC_PER_MS;
	stop = end;
	if (o.warmup_ms == 0)
		start_measuring();
	for (unsigned int i = 0; i < o.conc; i++) {
		workers[i] = (struct worker){.fd = -1, .prev = NONE, .next = NONE};
		worker_start((int)i);
	}

	while (!done) {
		int n = epoll_wait(epfd, evs, MAX_EVENTS, wait_ms(now_ns(), warm_end, end));
		uint64_t t = now_ns();
		int p;

		if (n < 0 && errno != EINTR) {
			perror("bench-load: epoll_wait");
			return 1;
		}
		if (t >= end)
			break; /* this batch is past the window: none of it counts */
		if (!measuring && t >= warm_end)
			start_measuring();
		for (int k = 0; k < n; k++) {
			int i = (int)(uint32_t)evs[k].data.u64;

			if ((uint32_t)(evs[k].data.u64 >> 32) != workers[i].gen)
				continue; /* for a socket this worker already closed */
			worker_event(i, evs[k].events, t);
			if (o.requests && ok >= o.requests) {
				stop = t;
				done = true;
				break;
			}
		}
		while (!done && timer_head != NONE && workers[timer_head].deadline <= t)
			worker_fail(timer_head, E_TIMEOUT);
		/* Restart the failed ones; those that fail again at once wait for
		 * the next batch, whose epoll_wait then does not block. */
		p = pending;
		pending = NONE;
		while (!done && p != NONE) {
			int next = workers[p].pend_next;

			worker_start(p);
			p = next;
		}
	}

	secs = (double)(stop - (t0 + o.warmup_ms * NSEC_PER_MS)) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	for (int r = 0; r < E_NR; r++)
		errs += errors[r];
	printf("mode=%s conc=%u secs=%.3f ok=%llu errors=%llu conns_per_s=%.1f reqs_per_s=%.1f "
	       "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
	       o.mode == CRR ? "crr" : "rr", o.conc, secs, (unsigned long long)ok,
	       (unsigned long long)errs, (double)(o.mode == CRR ? ok : opened) / secs,
	       (double)ok / secs, loadhist_quantile(&hist, 0.50) / 1e3,
	       loadhist_quantile(&hist, 0.90) / 1e3, loadhist_quantile(&hist, 0.99) / 1e3,
	       hist.count ? hist.max / 1e3 : 0.0, loadhist_mean(&hist) / 1e3);
	fflush(stdout);
	fprintf(stderr, "errors:");
	for (int r = 0; r < E_NR; r++)
		fprintf(stderr, " %s=%llu", reason_names[r], (unsigned long long)errors[r]);
	fprintf(stderr, "\n");
	if (errors[E_OTHER])
		fprintf(stderr, "bench-load: first other error: %s\n", strerror(first_other_errno));
	if (ok_total == 0) {
		fprintf(stderr, "bench-load: no request succeeded against %s\n", argv[2]);
		return 1;
	}
	return 0;
}
