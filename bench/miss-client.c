/* bench-miss-client: one timed connection for the miss-path bench. Connects
 * to ADDR:PORT, prints when the connect returned, sends one line and waits for
 * the one-line reply (steer-echo answers its name), then prints the
 * connect-to-reply time as the client sees it.
 *
 * Usage: bench-miss-client A.B.C.D:PORT [--timeout-ms T]   (T 1..600000, default 10000)
 * Output: "connected t0_ns=NS connect_us=US"  (NS: CLOCK_MONOTONIC before connect())
 *         "reply NAME reply_us=US"             (US: from before connect() to the reply)
 * Exit 0 on a reply, 1 on a failure (named on stderr), 2 on bad usage. */
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

#define REPLY_MAX 128

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(const char *why)
{
	fprintf(stderr,
		"bench-miss-client: %s\n"
		"usage: bench-miss-client A.B.C.D:PORT [--timeout-ms T]  (T 1..600000)\n",
		why);
	exit(2);
}

static int parse_target(const char *text, struct sockaddr_in *sin)
{
	const char *colon = strrchr(text, ':');
	char host[INET_ADDRSTRLEN] = "";
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {0};
	long timeout_ms = 10000;
	char buf[REPLY_MAX + 1] = "";
	size_t len = 0;
	long long t0, t1, deadline;
	int fd;

	if (argc != 2 && argc != 4)
		usage("expected a target and optionally --timeout-ms T");
	if (parse_target(argv[1], &sin))
		usage("the target is not A.B.C.D:PORT");
	if (argc == 4) {
		char *end;

		errno = 0;
		timeout_ms = strtol(argv[3], &end, 10);
		if (strcmp(argv[2], "--timeout-ms") || errno || *end || timeout_ms < 1 ||
		    timeout_ms > 600000)
			usage("bad --timeout-ms");
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("bench-miss-client: socket");
		return 1;
	}
	t0 = mono_ns();
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		fprintf(stderr, "bench-miss-client: connect %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t1 = mono_ns();
	printf("connected t0_ns=%lld connect_us=%lld\n", t0, (t1 - t0) / 1000);
	fflush(stdout);
	if (send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5) {
		fprintf(stderr, "bench-miss-client: send: %s\n", strerror(errno));
		return 1;
	}
	deadline = t0 + timeout_ms * 1000000LL;
	while (!memchr(buf, '\n', len)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left_ms = (deadline - mono_ns()) / 1000000;
		ssize_t n;

		if (left_ms <= 0 || poll(&p, 1, (int)left_ms) == 0) {
			fprintf(stderr, "bench-miss-client: no reply within %ld ms\n", timeout_ms);
			return 1;
		}
		n = recv(fd, buf + len, REPLY_MAX - len, 0);
		if (n <= 0) {
			fprintf(stderr, "bench-miss-client: recv: %s\n",
				n ? strerror(errno) : "connection closed before the reply");
			return 1;
		}
		len += (size_t)n;
		if (len == REPLY_MAX)
			break;
	}
	t1 = mono_ns();
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("reply %s reply_us=%lld\n", buf, (t1 - t0) / 1000);
	close(fd);
	return 0;
}
