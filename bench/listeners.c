/* bench-listeners: N TCP listeners on 127.0.0.1, consecutive ports from
 * BASE, that accept and close every connection: the cheapest replicas a
 * health-check benchmark can probe. Prints "listening N" when all are bound;
 * runs until SIGTERM/SIGINT or for at most 600 s.
 * Usage: bench-listeners BASE N */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_on(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 128)) {
		fprintf(stderr, "bench-listeners: port %d: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct rlimit rl = {MAX_LISTENERS + 64, MAX_LISTENERS + 64};
	struct sigaction sa = {.sa_handler = on_signal};
	int base, n, ep;

	if (argc != 3 || (base = atoi(argv[1])) < 1 || (n = atoi(argv[2])) < 1 ||
	    n > MAX_LISTENERS || base + n > 65536) {
		fprintf(stderr, "usage: bench-listeners BASE N (N <= %d, BASE+N <= 65536)\n",
			MAX_LISTENERS);
		return 2;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm(600); /* bounded even if nobody stops us */
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN};

		ev.data.fd = listen_on(base + i);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	printf("listening %d\n", n);
	fflush(stdout);
	while (!stop) {
		struct epoll_event evs[64];
		int k = epoll_wait(ep, evs, 64, 1000);

		for (int i = 0; i < k; i++) {
			int c;

			while ((c = accept4(evs[i].data.fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(c);
		}
	}
	return 0;
}
