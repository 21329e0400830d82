/* steer-tunnel-syn: what steer's node agent sends a remote replica, for the
 * replica-setup test. Sends a TCP SYN from CLIENT:PORT to VIP:PORT inside
 * IPv4-in-IPv4 (or IPv6-in-IPv6) to REPLICA through a raw socket of
 * protocol 4 (41), the kernel adding the outer header, then waits for the
 * replica's SYN-ACK, which comes straight back from VIP:PORT (DSR).
 *
 * Usage: steer-tunnel-syn [--expect-none] REPLICA CLIENT:PORT VIP:PORT [TIMEOUT_MS]
 * Prints "syn-ack from VIP:PORT" and exits 0 when it comes; exits 1 if none
 * comes within TIMEOUT_MS (default 2000). --expect-none: exits 0 if none
 * comes, 1 if one does. Exit 2 on bad usage. Run as root in the client's
 * network namespace; CLIENT must be an address of it, so the SYN-ACK
 * reaches it (its kernel then resets the half-open connection). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "endpoint_text.h"

#define ISN 0x5eed0001u

static uint32_t sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* A SYN with an MSS option, its checksum over the pseudo-header of the
 * inner addresses. */
static void tcp_syn(struct tcphdr *th, uint16_t sport, uint16_t dport, const void *src,
		    const void *dst, size_t alen)
{
	uint8_t *opt = (uint8_t *)(th + 1);
	uint32_t sum;

	memset(th, 0, sizeof(*th) + 4);
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(ISN);
	th->doff = 6;
	th->syn = 1;
	th->window = htons(64240);
	opt[0] = 2; /* MSS 1400 */
	opt[1] = 4;
	opt[2] = 1400 >> 8;
	opt[3] = 1400 & 0xff;
	sum = sum16(src, alen, 0);
	sum = sum16(dst, alen, sum);
	sum += IPPROTO_TCP + (uint32_t)(sizeof(*th) + 4);
	th->check = fold(sum16(th, sizeof(*th) + 4, sum));
}

/* The inner packet: an IP header and the SYN. Returns its length. */
static size_t inner_packet(uint8_t *buf, const struct sockaddr_storage *client,
			   const struct sockaddr_storage *vip)
{
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *c = (const void *)client, *v = (const void *)vip;
		struct iphdr *ip = (struct iphdr *)buf;

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + sizeof(struct tcphdr) + 4);
		ip->id = htons(0x1234);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->saddr = c->sin_addr.s_addr;
		ip->daddr = v->sin_addr.s_addr;
		ip->check = fold(sum16(ip, sizeof(*ip), 0));
		tcp_syn((struct tcphdr *)(ip + 1), c->sin_port, v->sin_port, &ip->saddr, &ip->daddr,
			4);
		return ntohs(ip->tot_len);
	} else {
		const struct sockaddr_in6 *c = (const void *)client, *v = (const void *)vip;
		struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;

		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(sizeof(struct tcphdr) + 4);
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = 64;
		ip6->ip6_src = c->sin6_addr;
		ip6->ip6_dst = v->sin6_addr;
		tcp_syn((struct tcphdr *)(ip6 + 1), c->sin6_port, v->sin6_port, &ip6->ip6_src,
			&ip6->ip6_dst, 16);
		return sizeof(*ip6) + ntohs(ip6->ip6_plen);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the TCP segment th (from src) the SYN-ACK of our SYN? */
static bool is_syn_ack(const struct tcphdr *th, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *vip, const void *src)
{
	bool v4 = vip->ss_family == AF_INET;
	const void *want = v4 ? (const void *)&((const struct sockaddr_in *)vip)->sin_addr
			      : (const void *)&((const struct sockaddr_in6 *)vip)->sin6_addr;
	uint16_t vport = v4 ? ((const struct sockaddr_in *)vip)->sin_port
			    : ((const struct sockaddr_in6 *)vip)->sin6_port;
	uint16_t cport = v4 ? ((const struct sockaddr_in *)client)->sin_port
			    : ((const struct sockaddr_in6 *)client)->sin6_port;

	return !memcmp(src, want, v4 ? 4 : 16) && th->source == vport && th->dest == cport &&
	       th->syn && th->ack && ntohl(th->ack_seq) == ISN + 1;
}

/* Wait for the SYN-ACK on a raw TCP socket (IPv4 ones see the IP header,
 * IPv6 ones only the segment, the source in the address). */
static bool wait_syn_ack(int fd, const struct sockaddr_storage *client,
			 const struct sockaddr_storage *vip, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	uint8_t buf[2048];

	for (long left; (left = deadline - now_ms()) > 0;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n <= 0)
			continue;
		if (vip->ss_family == AF_INET) {
			const struct iphdr *ip = (const void *)buf;
			size_t hlen = ip->ihl * 4u;

			if ((size_t)n >= hlen + sizeof(struct tcphdr) &&
			    is_syn_ack((const void *)(buf + hlen), client, vip, &ip->saddr))
				return true;
		} else if ((size_t)n >= sizeof(struct tcphdr) &&
			   is_syn_ack((const void *)buf, client, vip,
				      &((struct sockaddr_in6 *)&from)->sin6_addr)) {
			return true;
		}
	}
	return false;
}

static int usage(void)
{
	fprintf(stderr, "usage: steer-tunnel-syn [--expect-none] REPLICA CLIENT:PORT VIP:PORT "
			"[TIMEOUT_MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage replica, client, vip;
	socklen_t rlen, clen, vlen;
	bool expect_none = argc > 1 && !strcmp(argv[1], "--expect-none");
	char **a = argv + 1 + expect_none, text[INET6_ADDRSTRLEN + 8], rtext[INET6_ADDRSTRLEN + 8];
	int n = argc - 1 - expect_none, af, tx, rx;
	long timeout_ms = n == 4 ? strtol(a[3], NULL, 10) : 2000;
	uint8_t pkt[128];
	size_t len;
	bool got;

	if (n < 3 || n > 4 || timeout_ms <= 0)
		return usage();
	/* REPLICA has no port: parse it with a dummy one. */
	snprintf(rtext, sizeof(rtext), strchr(a[0], ':') ? "[%s]:1" : "%s:1", a[0]);
	if (endpoint_text_parse(rtext, &replica, &rlen) ||
	    endpoint_text_parse(a[1], &client, &clen) || endpoint_text_parse(a[2], &vip, &vlen) ||
	    client.ss_family != vip.ss_family || replica.ss_family != vip.ss_family) {
		fprintf(stderr, "steer-tunnel-syn: bad or mixed-family addresses '%s' '%s' '%s'\n",
			a[0], a[1], a[2]);
		return usage();
	}
	af = vip.ss_family;
	((struct sockaddr_in *)&replica)->sin_port = 0; /* raw sockets take no port */
	tx = socket(af, SOCK_RAW, af == AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6);
	rx = socket(af, SOCK_RAW, IPPROTO_TCP);
	if (tx < 0 || rx < 0) {
		fprintf(stderr, "steer-tunnel-syn: raw socket: %s\n", strerror(errno));
		return 1;
	}
	len = inner_packet(pkt, &client, &vip);
	if (sendto(tx, pkt, len, 0, (struct sockaddr *)&replica, rlen) != (ssize_t)len) {
		fprintf(stderr, "steer-tunnel-syn: send to %s: %s\n", a[0], strerror(errno));
		return 1;
	}
	got = wait_syn_ack(rx, &client, &vip, timeout_ms);
	endpoint_text_format(&vip, text, sizeof(text));
	if (got)
		printf("syn-ack from %s\n", text);
	else
		printf("no syn-ack from %s within %ld ms\n", text, timeout_ms);
	close(tx);
	close(rx);
	return got != expect_none ? 0 : 1;
}
