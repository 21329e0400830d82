/* bench-udp-kill: DNS queries through a UDP VIP, one replica killed
 * meanwhile; how long queries still went to it.
 *
 * Usage: bench-udp-kill VIP:PORT NAME MODE RUN_MS KILL_AT_MS INTERVAL_US
 *                       ANSWER=PID...
 *   MODE socket: a fresh connected socket per query (as dig, or a resolver
 *        library that connects per lookup); resolver: one connected socket
 *        for every query, kept through refusals and timeouts and connected
 *        again only once the socket itself is aborted (ECONNABORTED, or
 *        disconnected): a resolver that keeps its socket, which only the
 *        sweep moves.
 * Queries for NAME (type A) go out every INTERVAL_US without waiting for
 * the ones before (many clients, or a resolver with queries in flight);
 * each has QUERY_TIMEOUT_MS for its reply, whose first A record (ANSWER)
 * says which replica sent it. KILL_AT_MS into the run one replica gets SIGKILL: in
 * socket mode the first ANSWER=PID given, in resolver mode the one that
 * sent the last reply (the one the socket is on). Every other replica
 * answers, so a query that fails (ICMP port unreachable, the sweep's
 * abort, no reply) is one the dead replica got. Prints one line:
 *   kill_to_last_query_us N failed_after_kill N queries N ok N killed ANSWER
 *   timed_out N
 * (timed_out: failed queries that got no error either, the ones sent while
 * the killed process was still exiting, its socket still open).
 * N of the first: CLOCK_MONOTONIC from just before the kill to the send of
 * the last failed query (0 if none failed). Exit 0, 1 on a setup error, 2 on
 * bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUERY_TIMEOUT_MS 50
#define MAX_PENDING	 4096 /* queries in flight */
#define MAX_REPLICAS	 16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_target(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t n;

	if (!colon || (n = (size_t)(colon - text)) >= sizeof(host) || n == 0)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ? 0 : -1;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	*len = sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* A query for name, type A, with id: its length, 0 if name does not fit. */
static size_t build_query(const char *name, uint16_t id, unsigned char *q, size_t cap)
{
	size_t o = 12;

	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01;
	q[5] = 1;
	while (*name) {
		size_t n = strcspn(name, ".");

		if (n == 0 || n > 63 || o + n + 6 > cap)
			return 0;
		q[o++] = (unsigned char)n;
		memcpy(q + o, name, n);
		o += n;
		name += n + (name[n] == '.');
	}
	q[o++] = 0;
	q[o++] = 0;
	q[o++] = 1;
	q[o++] = 0;
	q[o++] = 1;
	return o;
}

static int open_connected(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool socket_gone(int err)
{
	return err == ECONNABORTED || err == EDESTADDRREQ || err == ENOTCONN || err == EPIPE;
}

/* The first A record of reply m[0..n) (its question as long as ours) into
 * out, "?" if none. */
static void first_a(const unsigned char *m, size_t n, size_t qlen, char *out, size_t outlen)
{
	size_t pos = qlen;

	snprintf(out, outlen, "?");
	if (n < 12 || !(m[6] | m[7]))
		return;
	while (pos < n && m[pos] && (m[pos] & 0xc0) != 0xc0)
		pos += 1u + m[pos];
	pos += pos < n && (m[pos] & 0xc0) == 0xc0 ? 2 : 1;
	if (pos + 14 <= n && m[pos] == 0 && m[pos + 1] == 1 && m[pos + 9] == 4)
		snprintf(out, outlen, "%u.%u.%u.%u", m[pos + 10], m[pos + 11], m[pos + 12],
			 m[pos + 13]);
}

/* A query in flight: its socket (socket mode: its own; resolver: the
 * shared one at the time), id and send time. */
struct pending {
	int fd;
	uint16_t id;
	uint64_t sent;
	bool used;
};

static struct {
	struct pending p[MAX_PENDING];
	unsigned long queries, ok, failed_after, timed_out;
	uint64_t t_kill, last_fail;
	bool killed, per_socket;
	char last[32]; /* the last reply's A record */
	int shared;    /* resolver mode: the socket, -1 when gone */
} st = {.shared = -1};

/* Query i is over (ok, or failed with an error or a timeout). */
static void finish(int i, bool ok, bool timeout)
{
	struct pending *q = &st.p[i];

	if (ok) {
		st.ok++;
	} else if (st.killed && q->sent >= st.t_kill) {
		st.failed_after++;
		st.timed_out += timeout;
		if (q->sent > st.last_fail)
			st.last_fail = q->sent;
	}
	if (st.per_socket)
		close(q->fd);
	q->used = false;
}

/* A datagram or an error on fd. */
static void on_readable(int fd, size_t qlen)
{
	unsigned char buf[1500];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint16_t id;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			bool gone = socket_gone(errno);
			int oldest = -1;

			/* One error for the socket: in socket mode its one
			 * query; on the shared one the oldest in flight (the
			 * rest end as timeouts, or now if the socket is gone). */
			for (int i = 0; i < MAX_PENDING; i++)
				if (st.p[i].used && st.p[i].fd == fd &&
				    (oldest < 0 || st.p[i].sent < st.p[oldest].sent))
					oldest = i;
			if (gone && !st.per_socket) {
				for (int i = 0; i < MAX_PENDING; i++)
					if (st.p[i].used && st.p[i].fd == fd)
						finish(i, false, false);
				close(fd);
				st.shared = -1;
			} else if (oldest >= 0) {
				finish(oldest, false, false);
			}
			return;
		}
		if (n < 12 || !(buf[2] & 0x80))
			continue;
		id = (uint16_t)(buf[0] << 8 | buf[1]);
		for (int i = 0; i < MAX_PENDING; i++) {
			if (!st.p[i].used || st.p[i].fd != fd || st.p[i].id != id)
				continue;
			first_a(buf, (size_t)n, qlen, st.last, sizeof(st.last));
			finish(i, (buf[3] & 0x0f) == 0, false);
			break;
		}
		if (st.per_socket)
			return; /* its fd is closed now */
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned char q[300];
	uint64_t t0, run_ns, kill_at_ns, next_send, interval_ns;
	char answers[MAX_REPLICAS][32], killed_answer[32] = "";
	pid_t pids[MAX_REPLICAS];
	static struct pollfd pfd[MAX_PENDING];
	static int pidx[MAX_PENDING];
	uint16_t seq = (uint16_t)getpid();
	int nrep = 0;
	size_t qlen;

	if (argc < 8 || argc - 7 > MAX_REPLICAS || parse_target(argv[1], &ss, &sslen) < 0 ||
	    (strcmp(argv[3], "socket") && strcmp(argv[3], "resolver"))) {
		fprintf(stderr, "usage: bench-udp-kill VIP:PORT NAME socket|resolver RUN_MS "
				"KILL_AT_MS INTERVAL_US ANSWER=PID...\n");
		return 2;
	}
	for (int i = 7; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(answers[0]) ||
		    atol(eq + 1) <= 1) {
			fprintf(stderr, "bench-udp-kill: bad ANSWER=PID '%s'\n", argv[i]);
			return 2;
		}
		snprintf(answers[nrep], sizeof(answers[nrep]), "%.*s", (int)(eq - argv[i]),
			 argv[i]);
		pids[nrep++] = (pid_t)atol(eq + 1);
	}
	st.per_socket = !strcmp(argv[3], "socket");
	run_ns = strtoull(argv[4], NULL, 10) * 1000000ull;
	kill_at_ns = strtoull(argv[5], NULL, 10) * 1000000ull;
	interval_ns = strtoull(argv[6], NULL, 10) * 1000ull;
	qlen = build_query(argv[2], 0, q, sizeof(q));
	if (!qlen || kill_at_ns >= run_ns || interval_ns == 0) {
		fprintf(stderr, "bench-udp-kill: bad NAME, times or interval\n");
		return 2;
	}
	t0 = next_send = now_ns();
	for (;;) {
		uint64_t now = now_ns(), wake;
		struct timespec tmo;
		int n = 0;
		bool sending = now - t0 < run_ns, any = false;

		if (!st.killed && now - t0 >= kill_at_ns) {
			int v = 0;

			for (int i = 0; !st.per_socket && i < nrep; i++)
				if (!strcmp(answers[i], st.last))
					v = i;
			snprintf(killed_answer, sizeof(killed_answer), "%s", answers[v]);
			st.t_kill = now_ns();
			if (kill(pids[v], SIGKILL) < 0) {
				perror("bench-udp-kill: kill");
				return 1;
			}
			st.killed = true;
		}
		/* Timeouts. */
		for (int i = 0; i < MAX_PENDING; i++) {
			if (!st.p[i].used)
				continue;
			any = true;
			if (now - st.p[i].sent >= QUERY_TIMEOUT_MS * 1000000ull)
				finish(i, false, true);
		}
		if (!sending && !any)
			break;
		/* Send what is due. */
		while (sending && now >= next_send) {
			int slot = -1, fd;

			next_send += interval_ns;
			for (int i = 0; i < MAX_PENDING && slot < 0; i++)
				if (!st.p[i].used)
					slot = i;
			if (slot < 0)
				break; /* all in flight: skip this one */
			if (st.per_socket) {
				fd = open_connected(&ss, sslen);
			} else {
				if (st.shared < 0)
					st.shared = open_connected(&ss, sslen);
				fd = st.shared;
			}
			if (fd < 0) {
				perror("bench-udp-kill: socket");
				return 1;
			}
			seq++;
			q[0] = (unsigned char)(seq >> 8);
			q[1] = (unsigned char)seq;
			st.p[slot] =
			    (struct pending){.fd = fd, .id = seq, .sent = now_ns(), .used = true};
			st.queries++;
			if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
				bool gone = socket_gone(errno);

				finish(slot, false, false);
				if (gone && !st.per_socket) {
					close(st.shared);
					st.shared = -1;
				}
			}
		}
		/* Wait for replies until the next send or timeout. */
		if (st.per_socket) {
			for (int i = 0; i < MAX_PENDING; i++)
				if (st.p[i].used) {
					pfd[n] =
					    (struct pollfd){.fd = st.p[i].fd, .events = POLLIN};
					pidx[n++] = i;
				}
		} else if (st.shared >= 0) {
			pfd[n++] = (struct pollfd){.fd = st.shared, .events = POLLIN};
		}
		now = now_ns();
		wake = sending ? next_send : now + 1000000;
		tmo.tv_sec = 0;
		tmo.tv_nsec = wake > now ? (long)(wake - now) : 0;
		if (ppoll(pfd, (nfds_t)n, &tmo, NULL) > 0) {
			for (int i = 0; i < n; i++) {
				if (!pfd[i].revents)
					continue;
				if (st.per_socket && !st.p[pidx[i]].used)
					continue;
				on_readable(pfd[i].fd, qlen);
			}
		}
	}
	if (st.shared >= 0)
		close(st.shared);
	printf("kill_to_last_query_us %llu failed_after_kill %lu queries %lu ok %lu killed %s "
	       "timed_out %lu\n",
	       st.last_fail ? (unsigned long long)((st.last_fail - st.t_kill) / 1000) : 0ull,
	       st.failed_after, st.queries, st.ok, killed_answer, st.timed_out);
	return 0;
}
