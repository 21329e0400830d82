/* DNS check: one query for spec.dns_name and spec.dns_type over the
 * service's protocol, with a random id. Over UDP a connected socket sends
 * the query once and reads datagrams until one is the reply (others, with
 * another id, are skipped); an ICMP error ends it as refused. Over TCP the
 * query and the reply carry their 2-byte length (RFC 1035 4.2.2). The reply
 * is judged by dns_reply_check(): NOERROR or NXDOMAIN to our question is
 * good. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "health/probe_impl.h"
#include "bpf/steer_abi.h"

static bool over_tcp(const struct probe *p)
{
	return p->spec.proto == IPPROTO_TCP;
}

/* The query (without the TCP length). */
static const uint8_t *query_of(const struct probe *p, size_t *len)
{
	size_t skip = over_tcp(p) ? 2 : 0;

	*len = p->dns.query_len - skip;
	return p->dns.query + skip;
}

static uint16_t random_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)random();
	return id;
}

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Judge msg[0..len) as the reply; false if it is not ours (keep reading). */
static bool dns_judge(struct probe *p, const uint8_t *msg, size_t len, bool cut)
{
	struct dns_reply_info info;
	const uint8_t *q;
	size_t qlen;
	char rcode[16];
	enum dns_reply_result r;

	q = query_of(p, &qlen);
	r = dns_reply_check(msg, len, cut, q, qlen, &info);
	switch (r) {
	case DNS_REPLY_GOOD:
		probe_decide(p, STEER_CHECK_OK, "DNS %s, %u answers%s",
			     dns_rcode_name(info.rcode, rcode, sizeof(rcode)),
			     (unsigned)info.ancount, info.truncated ? ", truncated" : "");
		return true;
	case DNS_REPLY_BAD_RCODE:
		probe_decide(p, STEER_CHECK_BAD_STATUS, "DNS %s",
			     dns_rcode_name(info.rcode, rcode, sizeof(rcode)));
		return true;
	case DNS_REPLY_MALFORMED:
		probe_decide(p, STEER_CHECK_BAD_RESPONSE, "not a DNS reply to the query: %s",
			     info.reason);
		return true;
	case DNS_REPLY_NOT_OURS:
		break;
	}
	if (over_tcp(p)) {
		/* One stream, one query: anything else on it is wrong. */
		probe_decide(p, STEER_CHECK_BAD_RESPONSE, "not a DNS reply to the query: %s",
			     info.reason);
		return true;
	}
	return false;
}

static void dns_send(struct probe *p)
{
	struct probe_dns *d = &p->dns;
	ssize_t n = send(p->fd, d->query + d->sent, d->query_len - d->sent, MSG_NOSIGNAL);

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "send", errno);
		return;
	}
	d->sent += (size_t)n;
	if (d->sent == d->query_len)
		probe_wait(p, EV_READ);
}

static void dns_recv_udp(struct probe *p)
{
	uint8_t buf[PROBE_DNS_REPLY_MAX];

	for (;;) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0) {
			if (!would_block(errno))
				probe_decide_errno(p, "recv", errno);
			return;
		}
		/* MSG_TRUNC: n is the datagram's length, which may be more. */
		if (dns_judge(p, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf),
			      (size_t)n > sizeof(buf)))
			return;
	}
}

static void dns_recv_tcp(struct probe *p)
{
	struct probe_dns *d = &p->dns;
	size_t cap = PROBE_DNS_REPLY_MAX + 2, want;
	ssize_t n = recv(p->fd, d->reply + d->got, cap - d->got, 0);

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "recv", errno);
		return;
	}
	if (n == 0) {
		probe_decide(p, STEER_CHECK_BAD_RESPONSE,
			     d->got ? "connection closed within the reply"
				    : "connection closed without a reply");
		return;
	}
	d->got += (size_t)n;
	if (d->got < 2)
		return;
	want = (size_t)d->reply[0] << 8 | d->reply[1];
	if (d->got - 2 >= want)
		dns_judge(p, d->reply + 2, want, false);
	else if (d->got == cap)
		dns_judge(p, d->reply + 2, d->got - 2, true); /* longer than we read */
}

static int dns_start(struct probe *p)
{
	struct probe_dns *d = &p->dns;
	size_t skip = over_tcp(p) ? 2 : 0;
	size_t n = dns_query_encode(p->spec.dns_name, p->spec.dns_type, random_id(),
				    d->query + skip, sizeof(d->query) - skip);

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	d->query[0] = (uint8_t)(n >> 8);
	d->query[1] = (uint8_t)n;
	d->query_len = n + skip;
	if (!over_tcp(p)) {
		if (probe_open_udp(p) < 0)
			return -1;
		if (!p->decided)
			probe_wait(p, EV_WRITE); /* sent from the loop, as over TCP */
		return 0;
	}
	d->reply = malloc(PROBE_DNS_REPLY_MAX + 2);
	if (!d->reply)
		return -1;
	return probe_connect(p);
}

static void dns_on_io(struct probe *p, int revents)
{
	(void)revents;
	if (!p->connected) {
		if (!probe_connected(p))
			return;
		/* writable now: send at once */
	}
	if (p->dns.sent < p->dns.query_len)
		dns_send(p);
	else if (over_tcp(p))
		dns_recv_tcp(p);
	else
		dns_recv_udp(p);
}

static void dns_free(struct probe *p)
{
	free(p->dns.reply);
	p->dns.reply = NULL;
}

const struct probe_ops probe_dns_ops = {
    .name = "dns",
    .start = dns_start,
    .on_io = dns_on_io,
    .free = dns_free,
};
