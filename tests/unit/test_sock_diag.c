/*
 * Unit tests for agent/net/sock_diag.c against the kernel: real loopback
 * connections, whose cookies (SO_COOKIE) the exact lookup must return.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "net/sock_diag.h"

struct pair {
	int lfd, cfd, afd;		    /* listener, client, accepted */
	struct sockaddr_storage here, peer; /* the accepted socket's ends */
};

/* A client of family cfam connects to a listener on lo (127.0.0.1, or
 * [::1] for lfam AF_INET6); a dual-stack client (cfam AF_INET6, lfam
 * AF_INET) reaches the IPv4 listener as ::ffff:127.0.0.1. */
static void pair_open(struct pair *p, int lfam, int cfam)
{
	struct sockaddr_storage ls = {};
	socklen_t len = sizeof(ls);

	p->lfd = socket(lfam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	if (lfam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ls;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ls;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&ls, len), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	len = sizeof(ls);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&ls, &len), 0);
	p->cfd = socket(cfam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->cfd >= 0);
	if (cfam != lfam) {
		struct sockaddr_in6 m = {.sin6_family = AF_INET6,
					 .sin6_port = ((struct sockaddr_in *)&ls)->sin_port};

		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &((struct sockaddr_in *)&ls)->sin_addr, 4);
		assert_int_equal(connect(p->cfd, (struct sockaddr *)&m, sizeof(m)), 0);
	} else {
		assert_int_equal(connect(p->cfd, (struct sockaddr *)&ls, len), 0);
	}
	len = sizeof(p->peer);
	p->afd = accept4(p->lfd, (struct sockaddr *)&p->peer, &len, SOCK_CLOEXEC);
	assert_true(p->afd >= 0);
	len = sizeof(p->here);
	assert_int_equal(getsockname(p->afd, (struct sockaddr *)&p->here, &len), 0);
}

static void pair_close(struct pair *p)
{
	close(p->afd);
	close(p->cfd);
	close(p->lfd);
}

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len), 0);
	return c;
}

/* From the accepted socket's two ends, the client's socket is the one
 * whose own end is our peer. */
static void check_finds_the_client(int lfam, int cfam)
{
	struct sock_diag *d = sock_diag_open();
	struct pair p;
	uint64_t cookie = 0;

	assert_non_null(d);
	pair_open(&p, lfam, cfam);
	assert_int_equal(sock_diag_cookie(d, &p.peer, &p.here, &cookie), 0);
	assert_true(cookie == cookie_of(p.cfd));
	/* ... and the other way round, the accepted socket. */
	assert_int_equal(sock_diag_cookie(d, &p.here, &p.peer, &cookie), 0);
	assert_true(cookie == cookie_of(p.afd));
	pair_close(&p);
	sock_diag_close(d);
}

static void test_sock_diag_finds_an_ipv4_client(void **state)
{
	(void)state;
	check_finds_the_client(AF_INET, AF_INET);
}

static void test_sock_diag_finds_an_ipv6_client(void **state)
{
	(void)state;
	check_finds_the_client(AF_INET6, AF_INET6);
}

/* An AF_INET6 socket connected to ::ffff:127.0.0.1, as Java and Python
 * dual-stack sockets connect: the IPv4 lookup of its 4-tuple finds it. */
static void test_sock_diag_finds_a_dual_stack_client_by_its_ipv4_tuple(void **state)
{
	(void)state;
	check_finds_the_client(AF_INET, AF_INET6);
}

static void test_sock_diag_answers_enoent_once_the_client_is_gone(void **state)
{
	struct sock_diag *d = sock_diag_open();
	struct pair p;
	uint64_t cookie = 0;

	(void)state;
	assert_non_null(d);
	pair_open(&p, AF_INET, AF_INET);
	close(p.lfd);
	close(p.afd);
	close(p.cfd); /* the client closes last: no TIME_WAIT entry on its side */
	assert_int_equal(sock_diag_cookie(d, &p.peer, &p.here, &cookie), -ENOENT);
	sock_diag_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sock_diag_finds_an_ipv4_client),
	    cmocka_unit_test(test_sock_diag_finds_an_ipv6_client),
	    cmocka_unit_test(test_sock_diag_finds_a_dual_stack_client_by_its_ipv4_tuple),
	    cmocka_unit_test(test_sock_diag_answers_enoent_once_the_client_is_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
