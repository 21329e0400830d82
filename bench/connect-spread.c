/* bench-connect-spread: COUNT TCP connects spread over the service addresses
 * listed in FILE, for the connect hook's cost per run (bench/node-scale.sh
 * reads the hook's run_time_ns and run_cnt around it). Each attempt opens a
 * socket, connects (non-blocking, waited for at most 1 s), and closes with
 * SO_LINGER 0 (a reset: no TIME_WAIT pile-up over thousands of connects).
 * The addresses are visited in a random order (seeded), cycling through FILE
 * until COUNT connects were made, so every one is hit about COUNT / lines
 * times and no two consecutive connects hit the same one.
 *
 * Usage: bench-connect-spread FILE COUNT [--seed S]
 *   FILE   one A.B.C.D:PORT or [V6]:PORT per line (at most 1,048,576 lines)
 *   COUNT  1..10,000,000 connects
 * Output, one line: "ok N fail N addrs N connect_ns_mean X" (X: the wall
 * time of socket() + connect() as the process sees it, hook included).
 * Failures by reason on stderr. Exit 0 if none failed, 1 otherwise, 2 on bad
 * usage or an unreadable FILE. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/endpoint_text.h"

#define MAX_ADDRS	(1 << 20)
#define MAX_COUNT	10000000L
#define CONNECT_WAIT_MS 1000
#define LINE_MAX_LEN	128
#define NSEC_PER_SEC	1000000000LL
#define REASONS		4 /* refused, timeout, unreachable, other */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Reads FILE into a new array; the count in *n. NULL (message printed) on
 * an unreadable file, a bad line or too many lines. */
static struct target *read_targets(const char *path, size_t *n)
{
	char line[LINE_MAX_LEN];
	struct target *t = NULL;
	size_t cap = 0, lineno = 0;
	FILE *f = fopen(path, "r");

	*n = 0;
	if (!f) {
		fprintf(stderr, "bench-connect-spread: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		if (*n == MAX_ADDRS) {
			fprintf(stderr, "bench-connect-spread: %s: more than %d addresses\n", path,
				MAX_ADDRS);
			goto fail;
		}
		if (*n == cap) {
			struct target *bigger;

			cap = cap ? cap * 2 : 1024;
			bigger = realloc(t, cap * sizeof(*t));
			if (!bigger) {
				fprintf(stderr, "bench-connect-spread: out of memory\n");
				goto fail;
			}
			t = bigger;
		}
		if (endpoint_text_parse(line, &t[*n].ss, &t[*n].len)) {
			fprintf(stderr,
				"bench-connect-spread: %s:%zu: bad address '%s' (accepted: "
				"A.B.C.D:PORT or [V6]:PORT)\n",
				path, lineno, line);
			goto fail;
		}
		(*n)++;
	}
	fclose(f);
	if (*n == 0) {
		fprintf(stderr, "bench-connect-spread: %s: no address\n", path);
		free(t);
		return NULL;
	}
	return t;
fail:
	fclose(f);
	free(t);
	return NULL;
}

/* One attempt: -1 when connected, else the index of the reason. Adds the time of
 * socket() + connect() (up to EINPROGRESS or the result) to *ns. */
static int connect_once(const struct target *t, long long *ns)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	long long t0 = mono_ns();
	int fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret, err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd p;

	if (fd < 0)
		return 3;
	ret = connect(fd, (const struct sockaddr *)&t->ss, t->len);
	*ns += mono_ns() - t0;
	if (ret < 0 && errno == EINPROGRESS) {
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		ret = poll(&p, 1, CONNECT_WAIT_MS);
		if (ret == 0)
			err = ETIMEDOUT;
		else if (ret < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			err = errno;
	} else if (ret < 0) {
		err = errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	switch (err) {
	case 0:
		return -1;
	case ECONNREFUSED:
		return 0;
	case ETIMEDOUT:
		return 1;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return 2;
	default:
		return 3;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-connect-spread FILE COUNT [--seed S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const names[REASONS] = {"refused", "timeout", "unreachable", "other"};
	unsigned long fails[REASONS] = {0};
	unsigned long ok = 0, failed = 0;
	unsigned int seed = 1;
	long long ns = 0;
	size_t n, *order;
	struct target *t;
	char *end;
	long count;

	if (argc != 3 && argc != 5)
		usage();
	count = strtol(argv[2], &end, 10);
	if (*end || count < 1 || count > MAX_COUNT)
		usage();
	if (argc == 5) {
		unsigned long s;

		if (strcmp(argv[3], "--seed"))
			usage();
		s = strtoul(argv[4], &end, 10);
		if (*end || s > 0xffffffffUL)
			usage();
		seed = (unsigned int)s;
	}
	t = read_targets(argv[1], &n);
	if (!t)
		return 2;
	order = malloc(n * sizeof(*order));
	if (!order) {
		fprintf(stderr, "bench-connect-spread: out of memory\n");
		return 2;
	}
	srandom(seed);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (long done = 0; done < count;) {
		/* A fresh Fisher-Yates permutation per pass over the addresses. */
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)random() % (i + 1), x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		for (size_t i = 0; i < n && done < count; i++, done++) {
			int r = connect_once(&t[order[i]], &ns);

			if (r < 0) {
				ok++;
			} else {
				fails[r]++;
				failed++;
			}
		}
	}
	printf("ok %lu fail %lu addrs %zu connect_ns_mean %.0f\n", ok, failed, n,
	       (double)ns / (double)count);
	for (int i = 0; i < REASONS; i++)
		if (fails[i])
			fprintf(stderr, "error %s %lu\n", names[i], fails[i]);
	free(order);
	free(t);
	return failed ? 1 : 0;
}
