/* GET /metrics over libmicrohttpd (see metrics.h). The server's thread
 * never touches the agent's memory: each scrape opens the pinned maps,
 * reads them into a snapshot, closes them and renders the snapshot. */
#include "observe/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "observe/metrics_collect.h"

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_TIMEOUT_S	10
#define CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct MHD_Daemon *daemon;
	char pin_dir[PATH_MAX];
};

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result scrape(struct metrics *m, struct MHD_Connection *conn)
{
	struct metrics_snapshot s = {.version = STEER_VERSION};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char msg[PATH_MAX + 128], *text = NULL;
	size_t len = 0;
	int err;

	err = metrics_collect(m->pin_dir, &s);
	if (err == -EFBIG)
		snprintf(msg, sizeof(msg),
			 "more than %u services: past the metrics page's bound (use steer status "
			 "--json)\n",
			 METRICS_MAX_SERVICES);
	else if (err)
		snprintf(msg, sizeof(msg), "cannot read the maps pinned under %s: %s\n", m->pin_dir,
			 strerror(-err));
	else if ((err = metrics_render(&s, &text, &len)))
		snprintf(msg, sizeof(msg), "cannot render the metrics (limit %u bytes): %s\n",
			 METRICS_MAX_BYTES, strerror(-err));
	metrics_snapshot_free(&s);
	if (err)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, NULL);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* GET (and HEAD, which every HTTP server must take where it takes GET)
 * /metrics; 404 for any other path, 405 for other methods. A request body
 * is never read: the answer goes out on the first call. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: steer serves /metrics\n",
				  NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: use GET\n", "GET, HEAD");
	return scrape(cls, conn);
}

/* A listening TCP socket bound to ep only (IPv6: v6 only). Returns the fd or
 * a negative errno. */
static int listen_on(const struct endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	sslen = endpoint_to_sockaddr(ep, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

struct metrics *metrics_start(const char *addr, const char *pin_dir, char *err, size_t errlen)
{
	struct metrics *m;
	struct endpoint ep;
	char why[256];
	int fd;

	if (endpoint_parse(addr, &ep, why, sizeof(why))) {
		snprintf(err, errlen, "STEER_METRICS_ADDR='%s': %s", addr, why);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics on %s: out of memory", addr);
		return NULL;
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	fd = listen_on(&ep);
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot serve metrics on %s: %s (set STEER_METRICS_ADDR to a free local "
			 "ADDR:PORT, or to off)",
			 addr, strerror(-fd));
		free(m);
		return NULL;
	}
	/* The thread inherits the caller's signal mask: the agent blocks the
	 * signals its event loop reads from a signalfd before calling us. */
	m->daemon = MHD_start_daemon(
	    MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL, NULL, on_request,
	    m, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)METRICS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)METRICS_TIMEOUT_S, MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, errlen,
			 "cannot serve metrics on %s: libmicrohttpd failed to start (set "
			 "STEER_METRICS_ADDR=off to run without metrics)",
			 addr);
		/* MHD closes a listen socket it was given only once it started. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon); /* joins the thread and closes the socket */
	free(m);
}
