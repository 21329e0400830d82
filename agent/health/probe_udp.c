/* UDP payload check: one datagram (spec.payload) on a connected socket;
 * the first datagram back is the verdict: good if it starts with
 * spec.reply_prefix (any datagram when there is none). An ICMP error ends
 * it as refused; silence as a timeout. For protocols steer does not speak,
 * such as a game server's ping or a QUIC version negotiation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "health/probe_impl.h"
#include "bpf/steer_abi.h"

#define UDP_QUOTE_MAX 16 /* reply bytes quoted in a bad response's detail */

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static int udp_start(struct probe *p)
{
	struct probe_udp *u = &p->udp;

	u->payload = malloc(p->spec.payload_len + p->spec.reply_prefix_len);
	if (!u->payload)
		return -1;
	memcpy(u->payload, p->spec.payload, p->spec.payload_len);
	if (p->spec.reply_prefix_len)
		memcpy(u->payload + p->spec.payload_len, p->spec.reply_prefix,
		       p->spec.reply_prefix_len);
	u->payload_len = p->spec.payload_len;
	u->prefix_len = p->spec.reply_prefix_len;
	if (probe_open_udp(p) < 0)
		return -1;
	if (!p->decided)
		probe_wait(p, EV_WRITE);
	return 0;
}

static void udp_send(struct probe *p)
{
	struct probe_udp *u = &p->udp;
	ssize_t n = send(p->fd, u->payload, u->payload_len, MSG_NOSIGNAL);

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "send", errno);
		return;
	}
	u->payload_len = 0; /* sent: now the reply */
	probe_wait(p, EV_READ);
}

static void udp_recv(struct probe *p)
{
	struct probe_udp *u = &p->udp;
	const uint8_t *prefix = u->payload + p->spec.payload_len;
	uint8_t buf[PROBE_PAYLOAD_MAX];
	char quoted[UDP_QUOTE_MAX * 4 + 1];
	ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_TRUNC);
	size_t have;

	if (n < 0) {
		if (!would_block(errno))
			probe_decide_errno(p, "recv", errno);
		return;
	}
	have = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf);
	if (have >= u->prefix_len && memcmp(buf, prefix, u->prefix_len) == 0) {
		probe_decide(p, STEER_CHECK_OK, "a reply of %zd bytes", n);
		return;
	}
	probe_quote(buf, have < UDP_QUOTE_MAX ? have : UDP_QUOTE_MAX, quoted, sizeof(quoted));
	probe_decide(p, STEER_CHECK_BAD_RESPONSE,
		     "a reply of %zd bytes not starting as expected: "
		     "\"%s\"",
		     n, quoted);
}

static void udp_on_io(struct probe *p, int revents)
{
	(void)revents;
	if (p->udp.payload_len)
		udp_send(p);
	else
		udp_recv(p);
}

static void udp_free(struct probe *p)
{
	free(p->udp.payload);
	p->udp.payload = NULL;
}

const struct probe_ops probe_udp_ops = {
    .name = "udp",
    .start = udp_start,
    .on_io = udp_on_io,
    .free = udp_free,
};
