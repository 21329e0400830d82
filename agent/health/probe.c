/* The probe core: validates a spec, picks the type's operations, owns the
 * socket, the io watcher and the one timer that bounds the whole check, and
 * hands exactly one verdict to done() from the event loop. The types
 * (probe_tcp.c, probe_http.c, probe_dns.c, probe_udp.c) only say what to do
 * when the socket is ready. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health/probe_impl.h"
#include "bpf/steer_abi.h"

static const struct probe_ops *const probe_types[] = {
    [PROBE_TCP] = &probe_tcp_ops,
    [PROBE_HTTP] = &probe_http_ops,
    [PROBE_DNS] = &probe_dns_ops,
    [PROBE_UDP] = &probe_udp_ops,
};

static const struct probe_ops *probe_ops_of(enum probe_kind kind)
{
	if ((unsigned)kind >= sizeof(probe_types) / sizeof(probe_types[0]))
		return NULL;
	return probe_types[kind];
}

/* A request path goes verbatim into the request line: "/" then visible
 * ASCII only, so it can neither split the line nor add a header. */
static bool http_path_is_valid(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	return true;
}

static bool spec_is_valid(const struct probe_spec *s)
{
	const struct endpoint *t = &s->target;

	if (t->family != STEER_FAMILY_V4 && t->family != STEER_FAMILY_V6)
		return false;
	if (t->port == 0 || s->timeout_ms == 0)
		return false;
	if (s->kind == PROBE_HTTP)
		return http_path_is_valid(s->path) && s->expect_lo <= s->expect_hi;
	if (s->kind == PROBE_DNS)
		return (s->proto == IPPROTO_UDP || s->proto == IPPROTO_TCP) && s->dns_name &&
		       dns_name_valid(s->dns_name) && s->dns_type != 0;
	if (s->kind == PROBE_UDP)
		return s->payload && s->payload_len > 0 && s->payload_len <= PROBE_PAYLOAD_MAX &&
		       s->reply_prefix_len <= PROBE_PAYLOAD_MAX &&
		       (s->reply_prefix || !s->reply_prefix_len);
	return true;
}

/* Out of descriptors or memory: the host's trouble, not the replica's. */
static bool is_resource_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static uint32_t elapsed_us(const struct timespec *t0)
{
	struct timespec now;
	int64_t us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
	if (us < 0)
		return 0;
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/*
 * A connected check socket is closed with a reset (SO_LINGER 0), as
 * HAProxy's checks do: no FIN exchange and no TIME_WAIT on either side, so
 * a check costs two packets fewer and 20,000 checks a second do not keep
 * tens of thousands of TIME_WAIT sockets. The replica's side of the
 * connection ends at once: a read there returns ECONNRESET (or the
 * connection is gone from the accept queue before it is accepted).
 */
static void probe_close(struct probe *p)
{
	static const struct linger reset = {.l_onoff = 1, .l_linger = 0};

	ev_io_stop(p->loop, &p->io);
	if (p->fd >= 0) {
		if (p->connected && p->tcp)
			setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(p->fd);
		p->fd = -1;
	}
}

static void probe_release(struct probe *p)
{
	probe_close(p);
	ev_timer_stop(p->loop, &p->timer);
	if (p->ops->free)
		p->ops->free(p);
	free(p);
}

/* Free the probe first, then call done(): done() may start or cancel
 * other probes, or break the loop. */
static void probe_deliver(struct probe *p)
{
	probe_done_fn done = p->done;
	void *arg = p->arg;
	uint8_t result = p->result;
	uint32_t latency_us = p->latency_us;
	char detail[PROBE_DETAIL_MAX];

	memcpy(detail, p->detail, sizeof(detail));
	probe_release(p);
	done(arg, result, latency_us, detail);
}

void probe_decide(struct probe *p, uint8_t result, const char *fmt, ...)
{
	va_list ap;

	if (p->decided)
		return;
	p->decided = true;
	p->result = result;
	p->latency_us = elapsed_us(&p->t0);
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	probe_close(p);
	if (!p->holding)
		probe_deliver(p);
}

void probe_decide_errno(struct probe *p, const char *op, int err)
{
	uint8_t result = STEER_CHECK_ERROR;

	if (err == ECONNREFUSED || err == ECONNRESET || err == EPIPE)
		result = STEER_CHECK_REFUSED;
	else if (err == ETIMEDOUT)
		result = STEER_CHECK_TIMEOUT;
	probe_decide(p, result, "%s: %s", op, strerror(err));
}

static void probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;

	(void)loop;
	p->ops->on_io(p, revents);
}

/* The events the socket waits for that it has now (0 if none). */
static int probe_ready(const struct probe *p)
{
	int want = p->io.events & (EV_READ | EV_WRITE);
	struct pollfd pfd = {
	    .fd = p->fd,
	    .events = (short)((want & EV_READ ? POLLIN : 0) | (want & EV_WRITE ? POLLOUT : 0)),
	};

	if (p->fd < 0 || !ev_is_active(&p->io) || poll(&pfd, 1, 0) != 1)
		return 0;
	if (pfd.revents & (POLLERR | POLLHUP))
		return want;
	return (pfd.revents & POLLIN ? EV_READ : 0) | (pfd.revents & POLLOUT ? EV_WRITE : 0);
}

/*
 * The timeout, or the zero-delay delivery of a verdict given in start.
 *
 * Before a timeout is declared, one last look at the socket: libev runs
 * the timers that fell due in a loop iteration before the I/O callbacks of
 * that iteration, so a busy loop (thousands of checks, a long callback)
 * would otherwise fail a check whose reply had arrived in time but was not
 * read yet. Whatever the socket has is handled first, the verdict held
 * until it returns (the probe cannot vanish under it).
 */
static void probe_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = w->data;
	int ready;

	(void)loop;
	(void)revents;
	if (!p->decided && (ready = probe_ready(p))) {
		p->holding = true;
		p->ops->on_io(p, ready);
		p->holding = false;
	}
	if (p->decided)
		probe_deliver(p);
	else if (p->connected)
		probe_decide(p, STEER_CHECK_TIMEOUT, "no reply within %u ms", p->spec.timeout_ms);
	else
		probe_decide(p, STEER_CHECK_TIMEOUT, "connect: no answer within %u ms",
			     p->spec.timeout_ms);
}

void probe_wait(struct probe *p, int events)
{
	ev_io_stop(p->loop, &p->io);
	ev_io_set(&p->io, p->fd, events);
	ev_io_start(p->loop, &p->io);
}

int probe_connect(struct probe *p)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(&p->spec.target, &ss);

	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	p->tcp = true;
	if (p->fd < 0) {
		if (is_resource_error(errno))
			return -1;
		probe_decide_errno(p, "socket", errno);
		return 0;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS &&
	    errno != EINTR) {
		if (is_resource_error(errno))
			return -1;
		probe_decide_errno(p, "connect", errno);
		return 0;
	}
	/* Connected at once (loopback may) or under way: both end writable. */
	probe_wait(p, EV_WRITE);
	return 0;
}

int probe_open_udp(struct probe *p)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(&p->spec.target, &ss);

	p->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (p->fd < 0) {
		if (is_resource_error(errno))
			return -1;
		probe_decide_errno(p, "socket", errno);
		return 0;
	}
	if (connect(p->fd, (struct sockaddr *)&ss, len) < 0) {
		if (is_resource_error(errno))
			return -1;
		probe_decide_errno(p, "connect", errno);
		return 0;
	}
	p->connected = true; /* nothing to wait for: the timeout is the reply's */
	return 0;
}

void probe_quote(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *b = in;
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 <= outlen; i++) {
		unsigned char c = b[i];

		if (c == '\r' || c == '\n')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", c == '\r' ? 'r' : 'n');
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

bool probe_connected(struct probe *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		probe_decide_errno(p, "connect", err);
		return false;
	}
	p->connected = true;
	return true;
}

struct probe *probe_start(struct ev_loop *loop, const struct probe_spec *spec, probe_done_fn done,
			  void *arg)
{
	const struct probe_ops *ops = spec ? probe_ops_of(spec->kind) : NULL;
	struct probe *p;

	if (!loop || !ops || !done || !spec_is_valid(spec)) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	p->ops = ops;
	p->spec = *spec;
	p->done = done;
	p->arg = arg;
	p->fd = -1;
	ev_init(&p->io, probe_io_cb);
	p->io.data = p;
	ev_init(&p->timer, probe_timer_cb);
	p->timer.data = p;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);

	p->holding = true;
	if (ops->start(p) < 0) {
		int err = errno;

		probe_release(p);
		errno = err;
		return NULL;
	}
	p->holding = false;
	/* The caller's; start() has copied what it needs. */
	p->spec.path = NULL;
	p->spec.dns_name = NULL;
	p->spec.payload = p->spec.reply_prefix = NULL;

	if (p->decided) {
		ev_timer_set(&p->timer, 0., 0.);
	} else {
		/* ev_now() may be stale after a long callback: the timeout
		 * counts from now, as the latency does. */
		ev_now_update(loop);
		ev_timer_set(&p->timer, spec->timeout_ms / 1000., 0.);
	}
	ev_timer_start(loop, &p->timer);
	return p;
}

void probe_cancel(struct probe *p)
{
	if (p)
		probe_release(p);
}
