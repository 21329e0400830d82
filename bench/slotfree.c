/* bench-slotfree: how soon a held connection is served once a slot frees.
 * For a service whose one replica has max_conns=1 (and a long retry
 * backoff, so that only the datapath's STEER_EVENT_SLOT_FREE can serve it
 * in time), each round: connection A takes the slot (one request and its
 * reply); connection B is held (the miss path), its request waiting in the
 * kernel; after SETTLE ms (the agent has made B's first attempt and is
 * waiting out its backoff) A is closed, and the time from that close() to
 * B's reply is one sample.
 *
 * Usage: bench-slotfree A.B.C.D:PORT [--rounds N] [--settle-ms S]
 *        (N 1..10000, default 50; S 1..10000, default 20)
 * Output: one line "rounds=N p50_us=.. p90_us=.. p99_us=.. max_us=.." (exact
 * order statistics of the N samples). Exit 0, 1 on a failed round (named on
 * stderr), 2 on bad usage. Bounded: each wait for a reply is at most 10 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(const char *why)
{
	fprintf(
	    stderr,
	    "bench-slotfree: %s\n"
	    "usage: bench-slotfree A.B.C.D:PORT [--rounds N] [--settle-ms S]  (N, S 1..10000)\n",
	    why);
	exit(2);
}

static long number(const char *text, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 10000)
		usage(what);
	return v;
}

/* A connection to sin with "x\n" sent on it; -1 on failure. */
static int open_and_send(const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) ||
	    send(fd, "x\n", 2, MSG_NOSIGNAL) != 2) {
		perror("bench-slotfree: connect/send");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Wait for the first byte of a reply on fd; 0, or -1 (EOF, error, 10 s). */
static int wait_reply(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, WAIT_MS) != 1 || recv(fd, &c, 1, 0) != 1)
		return -1;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	long rounds = 50, settle_ms = 20;
	const char *colon;
	char host[INET_ADDRSTRLEN] = "";
	long long *us;

	if (argc < 2 || !(colon = strrchr(argv[1], ':')) ||
	    (size_t)(colon - argv[1]) >= sizeof(host))
		usage("the first argument must be A.B.C.D:PORT");
	memcpy(host, argv[1], (size_t)(colon - argv[1]));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		usage("the first argument must be A.B.C.D:PORT");
	sin.sin_port = htons((uint16_t)number(colon + 1, "bad port"));
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage("an option without its value");
		if (!strcmp(argv[i], "--rounds"))
			rounds = number(argv[i + 1], "bad --rounds");
		else if (!strcmp(argv[i], "--settle-ms"))
			settle_ms = number(argv[i + 1], "bad --settle-ms");
		else
			usage("unknown option");
	}
	us = calloc((size_t)rounds, sizeof(*us));
	if (!us)
		return 1;
	for (long r = 0; r < rounds; r++) {
		struct timespec settle = {settle_ms / 1000, (settle_ms % 1000) * 1000000L};
		int a = open_and_send(&sin), b;
		long long t0;

		if (a < 0 || wait_reply(a)) {
			fprintf(stderr, "bench-slotfree: round %ld: A got no reply\n", r);
			return 1;
		}
		b = open_and_send(&sin);
		if (b < 0)
			return 1;
		nanosleep(&settle, NULL);
		t0 = mono_ns();
		close(a);
		if (wait_reply(b)) {
			fprintf(stderr, "bench-slotfree: round %ld: held B got no reply\n", r);
			return 1;
		}
		us[r] = (mono_ns() - t0) / 1000;
		close(b);
		/* B's relay held the slot: let the agent see it end before A
		 * takes the slot again, or A would be held in its turn. */
		nanosleep(&settle, NULL);
	}
	qsort(us, (size_t)rounds, sizeof(*us), cmp);
	printf("rounds=%ld p50_us=%lld p90_us=%lld p99_us=%lld max_us=%lld\n", rounds,
	       us[(rounds - 1) / 2], us[(rounds * 9 - 1) / 10], us[(rounds * 99 - 1) / 100],
	       us[rounds - 1]);
	free(us);
	return 0;
}
