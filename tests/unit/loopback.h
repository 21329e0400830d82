/* Real sockets and a real loop for unit tests: loopback listeners that play
 * replicas, and running a libev loop until a condition holds. */
#ifndef STEER_TEST_LOOPBACK_H
#define STEER_TEST_LOOPBACK_H

#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "lib/addr.h"

/* CLOCK_MONOTONIC in seconds. */
double test_now_s(void);

/* A listening socket on 127.0.0.1:port (0: any free port), non-blocking;
 * *ep gets its address. Fails the test when it cannot. */
int test_listen_loopback(uint16_t port, struct endpoint *ep);

/* A socket of type (SOCK_STREAM, SOCK_DGRAM) bound to 127.0.0.1 or ::1
 * (family AF_INET or AF_INET6) on an ephemeral port; *ep gets its address.
 * Skips the test where IPv6 is unavailable, fails it on other errors. The
 * caller closes it. */
int test_bind_loopback(int family, int type, struct endpoint *ep);

/* What a test started, to end at its teardown: fds to close (at most 32)
 * and child processes to kill (at most 8). test_keep_fd() returns fd. */
int test_keep_fd(int fd);
void test_keep_child(pid_t pid);

/* A cmocka teardown: kill and reap the kept children, close the kept fds. */
int test_release(void **state);

/* A repeating timer that only wakes the loop, so that a caller running
 * ev_run(EVRUN_ONCE) in a loop sees its deadline while nothing happens. */
void test_wake_start(struct ev_loop *loop, ev_timer *t);

#endif
