#include "loopback.h"

#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "bpf/steer_abi.h"

double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int test_listen_loopback(uint16_t port, struct endpoint *ep)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sin);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A test that closes and reopens a port must get it back at once. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*ep = (struct endpoint){.family = STEER_FAMILY_V4, .port = ntohs(sin.sin_port)};
	ep->addr[0] = sin.sin_addr.s_addr;
	return fd;
}

int test_bind_loopback(int family, int type, struct endpoint *ep)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0 && family == AF_INET6) {
		print_message("IPv6 sockets unavailable (%s)\n", strerror(errno));
		skip();
	}
	assert_true(fd >= 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;

		close(fd);
		if (family == AF_INET6) {
			print_message("::1 unavailable (%s)\n", strerror(err));
			skip();
		}
		fail_msg("bind 127.0.0.1:0: %s", strerror(err));
	}
	len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	memset(ep, 0, sizeof(*ep));
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		ep->family = STEER_FAMILY_V4;
		ep->addr[0] = sin->sin_addr.s_addr;
		ep->port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

		ep->family = STEER_FAMILY_V6;
		memcpy(ep->addr, &sin6->sin6_addr, sizeof(ep->addr));
		ep->port = ntohs(sin6->sin6_port);
	}
	assert_int_not_equal(ep->port, 0);
	return fd;
}

static int kept_fds[32], nkept_fds;
static pid_t kept_children[8];
static int nkept_children;

int test_keep_fd(int fd)
{
	assert_true(fd >= 0);
	assert_true(nkept_fds < (int)(sizeof(kept_fds) / sizeof(kept_fds[0])));
	kept_fds[nkept_fds++] = fd;
	return fd;
}

void test_keep_child(pid_t pid)
{
	assert_true(nkept_children < (int)(sizeof(kept_children) / sizeof(kept_children[0])));
	kept_children[nkept_children++] = pid;
}

int test_release(void **state)
{
	(void)state;
	for (int i = 0; i < nkept_children; i++) {
		kill(kept_children[i], SIGKILL);
		waitpid(kept_children[i], NULL, 0);
	}
	nkept_children = 0;
	for (int i = 0; i < nkept_fds; i++)
		close(kept_fds[i]);
	nkept_fds = 0;
	return 0;
}

static void on_wake(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

void test_wake_start(struct ev_loop *loop, ev_timer *t)
{
	ev_timer_init(t, on_wake, 0.02, 0.02);
	ev_timer_start(loop, t);
}
