/* steer-bulk: move N bytes each way over one TCP connection at the same
 * time, and check every byte. Each side sends a pattern derived from its
 * role, shuts down its write side when done (a half-close the other side
 * must see as EOF), and reads until EOF, checking the peer's pattern.
 *
 * Usage: steer-bulk serve ADDR:PORT BYTES   (one connection, then exit)
 *        steer-bulk connect ADDR:PORT BYTES
 * Prints "sent N received N ok" and exits 0 when both directions are exact;
 * else prints what went wrong and exits 1. Bad usage exits 2. Bounded: 120 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint_text.h"

#define CHUNK 65536

/* Byte i of the stream a role sends: cheap, position-dependent, and
 * different per direction, so a swapped or shifted byte is caught. */
static uint8_t pattern(bool server, uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13) ^ (server ? 0x5a : 0xa5);
}

static int transfer(int fd, bool server, uint64_t n)
{
	static uint8_t out[CHUNK], in[CHUNK];
	uint64_t sent = 0, got = 0;
	bool wr_done = false, eof = false;

	while (!wr_done || !eof) {
		struct pollfd p = {.fd = fd,
				   .events = (short)((eof ? 0 : POLLIN) | (wr_done ? 0 : POLLOUT))};

		if (poll(&p, 1, 30000) <= 0) {
			fprintf(stderr, "steer-bulk: stalled (sent %llu, received %llu)\n",
				(unsigned long long)sent, (unsigned long long)got);
			return 1;
		}
		if (!wr_done && (p.revents & POLLOUT)) {
			size_t len = n - sent < CHUNK ? (size_t)(n - sent) : CHUNK;
			ssize_t w;

			for (size_t i = 0; i < len; i++)
				out[i] = pattern(server, sent + i);
			w = send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				perror("steer-bulk: send");
				return 1;
			}
			if (w > 0)
				sent += (uint64_t)w;
			if (sent == n) {
				shutdown(fd, SHUT_WR);
				wr_done = true;
			}
		}
		if (!eof && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = recv(fd, in, sizeof(in), MSG_DONTWAIT);

			if (r < 0 && errno != EAGAIN) {
				perror("steer-bulk: recv");
				return 1;
			}
			if (r == 0)
				eof = true;
			for (ssize_t i = 0; i < r; i++) {
				if (in[i] != pattern(!server, got + (uint64_t)i)) {
					fprintf(stderr, "steer-bulk: byte %llu differs\n",
						(unsigned long long)(got + (uint64_t)i));
					return 1;
				}
			}
			if (r > 0)
				got += (uint64_t)r;
		}
	}
	printf("sent %llu received %llu %s\n", (unsigned long long)sent, (unsigned long long)got,
	       got == n ? "ok" : "short");
	return got == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool server;
	uint64_t n;
	int fd, one = 1;

	if (argc != 4 || (strcmp(argv[1], "serve") && strcmp(argv[1], "connect")) ||
	    endpoint_text_parse(argv[2], &ss, &len) || (n = strtoull(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: steer-bulk serve|connect ADDR:PORT BYTES\n");
		return 2;
	}
	alarm(120);
	server = !strcmp(argv[1], "serve");
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server) {
		int lfd = fd;

		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 16)) {
			perror("steer-bulk: listen");
			return 1;
		}
		printf("listening %s\n", argv[2]);
		fflush(stdout);
		fd = accept(lfd, NULL, NULL);
		close(lfd);
	} else if (connect(fd, (struct sockaddr *)&ss, len)) {
		perror("steer-bulk: connect");
		return 1;
	}
	if (fd < 0) {
		perror("steer-bulk: accept");
		return 1;
	}
	return transfer(fd, server, n);
}
