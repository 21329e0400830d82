/*
 * The control socket's client (control_request): a blocking connect bounded
 * by SO_SNDTIMEO, then non-blocking I/O against one deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "control/control.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (CLOCK_MONOTONIC ms). 0, or -1 with
 * errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		long long left = deadline - now_ms();
		int rc;

		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Connect with the time left to deadline: a blocking unix connect() waits for
 * room in the listener's backlog at most SO_SNDTIMEO, then fails EAGAIN. */
static int connect_until(int fd, const struct sockaddr_un *sun, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct timeval tv;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			return -1;
		if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* Read up to the first newline into buf (size CONTROL_LINE_MAX + 1), cut it
 * there. Returns the line length, or -1 with errno. */
static ssize_t read_line(int fd, char *buf, long long deadline, int write_errno)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + got, CONTROL_LINE_MAX - got, MSG_DONTWAIT);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		if (n <= 0) { /* EOF, or ECONNRESET once the data queued is read */
			buf[got] = '\0';
			if (got == 0)
				errno = write_errno ? write_errno : n == 0 ? ECONNRESET : errno;
			else
				errno = EPROTO; /* a reply without its newline */
			return -1;
		}
		nl = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
		if (nl) {
			*nl = '\0';
			return nl - buf;
		}
		if (got == CONTROL_LINE_MAX) {
			buf[got] = '\0';
			errno = EPROTO;
			return -1;
		}
	}
}

int control_request(const char *path, const char *line, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[CONTROL_LINE_MAX + 1] = "";
	long long deadline;
	int fd, saved, ret = -1, write_errno = 0;
	ssize_t n;

	if (reply && len)
		reply[0] = '\0';
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (strchr(line, '\n')) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (timeout_ms <= 0)
		timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect_until(fd, &sun, deadline) < 0)
		goto out;
	/* The agent may answer and close before taking the whole line (a line
	 * too long): the write fails EPIPE, but its reply is still to read. */
	if (send_all(fd, line, strlen(line), deadline) < 0 || send_all(fd, "\n", 1, deadline) < 0) {
		if (errno != EPIPE && errno != ECONNRESET)
			goto out;
		write_errno = errno;
	}
	n = read_line(fd, buf, deadline, write_errno);
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (reply && len)
		snprintf(reply, len, "%s", buf);
	if (n < 0)
		goto out;
	if (strncmp(buf, "ok", 2) == 0 && (buf[2] == '\0' || buf[2] == ' ')) {
		ret = 0;
	} else if (strncmp(buf, "error:", 6) == 0) {
		ret = 1;
	} else {
		errno = EPROTO;
		goto out;
	}
out:
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}
