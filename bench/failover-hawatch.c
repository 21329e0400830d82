/* bench-failover-hawatch: poll HAProxy's stats socket ("show stat") every
 * INTERVAL_MS until server BACKEND/SERVER has the status STATE exactly ("UP",
 * "DOWN"; transitional states such as "UP 1/3" do not match), then print the
 * CLOCK_MONOTONIC ns at which that answer was read and the number of polls.
 * The time is an upper bound of the change, late by at most one interval plus
 * one poll.
 *
 * Usage: bench-failover-hawatch SOCKET BACKEND SERVER STATE TIMEOUT_MS [INTERVAL_MS]
 * Prints "NS POLLS". Exit 0 when seen, 1 on timeout (prints the last status on
 * stderr), 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (256 * 1024) /* "show stat" of a few proxies is a few KiB */
#define FIELD_MAX 64

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char reply[REPLY_MAX + 1];

/* One "show stat" exchange; the socket closes after the answer. Returns its
 * length, or -1 (errno set). */
static ssize_t show_stat(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	static const char cmd[] = "show stat\n";
	ssize_t len = 0, n;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    write(fd, cmd, sizeof(cmd) - 1) != (ssize_t)sizeof(cmd) - 1) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	while (len < REPLY_MAX && (n = read(fd, reply + len, REPLY_MAX - len)) > 0)
		len += n;
	close(fd);
	reply[len] = '\0';
	return len;
}

/* Copy CSV field number idx (from 0) of line into out. */
static void csv_field(const char *line, int idx, char *out)
{
	const char *end;
	size_t n;

	for (int i = 0; i < idx && line; i++) {
		line = strpbrk(line, ",\n");
		line = line && *line == ',' ? line + 1 : NULL;
	}
	out[0] = '\0';
	if (!line)
		return;
	end = line + strcspn(line, ",\n");
	n = (size_t)(end - line) < FIELD_MAX - 1 ? (size_t)(end - line) : FIELD_MAX - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

/* The status of BACKEND/SERVER in the reply, into status; 0, or -1 if absent. */
static int server_status(const char *backend, const char *server, char *status)
{
	char px[FIELD_MAX], sv[FIELD_MAX], name[FIELD_MAX];
	int col = -1;

	/* The header names the columns: "# pxname,svname,...,status,...". */
	if (strncmp(reply, "# ", 2) != 0)
		return -1;
	for (int i = 0; i < 200 && col < 0; i++) {
		csv_field(reply + 2, i, name);
		if (strcmp(name, "status") == 0)
			col = i;
		else if (!name[0] && i > 2)
			break;
	}
	if (col < 0)
		return -1;
	for (const char *line = strchr(reply, '\n'); line && line[1]; line = strchr(line, '\n')) {
		line++;
		csv_field(line, 0, px);
		csv_field(line, 1, sv);
		if (strcmp(px, backend) == 0 && strcmp(sv, server) == 0) {
			csv_field(line, col, status);
			return 0;
		}
	}
	return -1;
}

static long parse_ms(const char *text, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 600000) {
		fprintf(stderr, "bench-failover-hawatch: bad %s '%s' (accepted: 1-600000)\n", what,
			text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	char status[FIELD_MAX] = "none";
	long timeout_ms, interval_ms = 5;
	long long start, deadline;
	unsigned long polls = 0;
	struct timespec next;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: bench-failover-hawatch SOCKET BACKEND SERVER STATE "
				"TIMEOUT_MS [INTERVAL_MS]\n");
		return 2;
	}
	timeout_ms = parse_ms(argv[5], "TIMEOUT_MS");
	if (argc == 7)
		interval_ms = parse_ms(argv[6], "INTERVAL_MS");
	start = mono_ns();
	deadline = start + timeout_ms * 1000000LL;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		long long now;

		polls++;
		if (show_stat(argv[1]) < 0) {
			snprintf(status, sizeof(status), "socket: %s", strerror(errno));
		} else if (server_status(argv[2], argv[3], status) == 0 &&
			   strcmp(status, argv[4]) == 0) {
			printf("%lld %lu\n", mono_ns(), polls);
			return 0;
		}
		now = mono_ns();
		if (now >= deadline)
			break;
		next.tv_nsec += interval_ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	fprintf(stderr, "bench-failover-hawatch: %s/%s not %s after %ld ms (last status: %s)\n",
		argv[2], argv[3], argv[4], timeout_ms, status);
	return 1;
}
