/*
 * The control socket's server: a non-blocking unix stream socket driven by
 * the agent's libev loop, one command line per connection, one reply line.
 *
 * Every accepted client gets a fixed buffer, a read watcher and one timer
 * that bounds its whole life, so a client that is slow, silent, too chatty or
 * does not read its reply costs at most CONTROL_CLIENTS_MAX buffers and never
 * blocks the loop. Replies that are refusals before a client has any state
 * ("too many clients", "permission denied") are sent once with MSG_DONTWAIT
 * and the connection is closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include "control/control.h"
#include "control/control_path.h"
#include "lib/log.h"

#define ACCEPT_BATCH	   32  /* accepts per loop wakeup, so a flood cannot starve the loop */
#define ACCEPT_PAUSE_S	   0.1 /* after EMFILE & co, try accept() again this much later */
#define APPLY_REPLY_MAX	   1024
#define SUN_PATH_MAX	   sizeof(((struct sockaddr_un *)0)->sun_path)
#define REPLY_PREFIX_ERROR "error: "
#define MSG_TIMEOUT	   "error: timeout"
#define MSG_TOO_LONG	   "error: line longer than 4096 bytes"
#define MSG_TOO_MANY	   "error: too many clients"
#define MSG_NOT_ROOT	   "error: permission denied (root only)"
#define MSG_NUL_BYTE	   "error: line contains a NUL byte"
#define MSG_NO_NEWLINE	   "error: incomplete line (connection closed before a newline)"

_Static_assert(CONTROL_LINE_MAX == 4096, "MSG_TOO_LONG spells out CONTROL_LINE_MAX");

/* Process-wide; read when a client is accepted. */
static int client_timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;

void control_set_client_timeout_ms(int ms)
{
	client_timeout_ms = ms > 0 ? ms : CONTROL_CLIENT_TIMEOUT_MS;
}

struct control_client {
	struct control_server *srv;
	LIST_ENTRY(control_client) link; /* in the server's clients */
	int fd;
	bool writing;	 /* the reply is in buf, waiting for the socket */
	size_t len, off; /* bytes in buf; reply bytes already sent */
	ev_io io;
	ev_timer timer; /* the reading phase, then the writing phase */
	char buf[CONTROL_LINE_MAX + 1];
};

struct control_server {
	struct ev_loop *loop;
	struct control_handler handler;
	int fd;
	ev_io accept_io;
	ev_timer accept_pause; /* accept() hit a resource limit: retry later */
	bool paused;
	dev_t dev; /* the socket file we bound, so control_close() */
	ino_t ino; /* removes that and not a successor's */
	LIST_HEAD(client_list, control_client) clients;
	int nclients;
	char path[SUN_PATH_MAX];
	bool group_set; /* STEER_CONTROL_GROUP: this group is admitted too */
	gid_t group;
};

static void client_free(struct control_client *c)
{
	struct control_server *srv = c->srv;

	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->timer);
	close(c->fd);
	LIST_REMOVE(c, link);
	srv->nclients--;
	free(c);
}

/* One non-blocking attempt, for refusals to clients that get no state. */
static void send_once(int fd, const char *msg)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s\n", msg);

	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control: reply '%s' not sent: %s", msg, strerror(errno));
}

/* Send what is left of the reply; the client is freed once it is all out, or
 * on an error. Returns with the client waiting for EV_WRITE otherwise. */
static void client_flush(struct control_client *c)
{
	while (c->off < c->len) {
		ssize_t n =
		    send(c->fd, c->buf + c->off, c->len - c->off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			log_debug("control: client went away before its reply: %s",
				  strerror(errno));
			client_free(c);
			return;
		}
		c->off += (size_t)n;
	}
	client_free(c);
}

/* Queue one reply line (text cut to fit, its newlines made spaces, one added)
 * and close the connection once it is sent. The timer now bounds the writing
 * phase. */
static void client_reply(struct control_client *c, const char *text)
{
	struct control_server *srv = c->srv;
	size_t n = strlen(text);

	if (n > sizeof(c->buf) - 2)
		n = sizeof(c->buf) - 2; /* CONTROL_LINE_MAX - 1 bytes and '\n' */
	memcpy(c->buf, text, n);
	for (size_t i = 0; i < n; i++) /* one line, whatever a handler wrote */
		if (c->buf[i] == '\n')
			c->buf[i] = ' ';
	c->buf[n++] = '\n';
	c->len = n;
	c->off = 0;
	c->writing = true;

	ev_io_stop(srv->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->timer);
	ev_timer_set(&c->timer, client_timeout_ms / 1000.0, 0.);
	ev_timer_start(srv->loop, &c->timer);
	client_flush(c);
}

/* A complete line (newline and a '\r' before it already cut) is in buf. */
static void client_line(struct control_client *c, size_t line_len)
{
	struct control_server *srv = c->srv;
	char msg[CONTROL_LINE_MAX], reply[APPLY_REPLY_MAX] = "";
	char text[sizeof(REPLY_PREFIX_ERROR) + CONTROL_LINE_MAX]; /* cut by client_reply() */
	struct control_cmd cmd;
	int rc;

	if (memchr(c->buf, '\0', line_len)) {
		client_reply(c, MSG_NUL_BYTE);
		return;
	}
	if (control_parse(c->buf, &cmd, msg, sizeof(msg)) < 0) {
		log_debug("control: refused a command: %s", msg);
		snprintf(text, sizeof(text), REPLY_PREFIX_ERROR "%s", msg);
		client_reply(c, text);
		return;
	}

	/* The handler logs what it changed; this only traces the exchange. */
	rc = srv->handler.apply(srv->handler.arg, &cmd, reply, sizeof(reply));
	reply[sizeof(reply) - 1] = '\0';
	control_format(&cmd, msg, sizeof(msg));
	if (rc == 0) {
		log_debug("control: %s: ok%s%s", msg, reply[0] ? " " : "", reply);
		snprintf(text, sizeof(text), "ok%s%s", reply[0] ? " " : "", reply);
	} else {
		if (!reply[0])
			snprintf(reply, sizeof(reply), "command failed");
		log_debug("control: %s: error: %s", msg, reply);
		snprintf(text, sizeof(text), REPLY_PREFIX_ERROR "%s", reply);
	}
	client_reply(c, text);
}

static void client_read(struct control_client *c)
{
	for (;;) {
		size_t room = sizeof(c->buf) - c->len;
		ssize_t n;
		char *nl;

		if (room == 0) { /* CONTROL_LINE_MAX + 1 bytes and no newline */
			log_debug("control: refused a line longer than %d bytes", CONTROL_LINE_MAX);
			client_reply(c, MSG_TOO_LONG);
			return;
		}
		n = recv(c->fd, c->buf + c->len, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			log_debug("control: client read: %s", strerror(errno));
			client_free(c);
			return;
		}
		if (n == 0) {
			/* A connection that said nothing is a probe (another
			 * agent checking for a live socket): no reply. A cut
			 * line is not applied: "...:80" cut to "...:8" is valid. */
			if (c->len == 0)
				client_free(c);
			else
				client_reply(c, MSG_NO_NEWLINE);
			return;
		}
		nl = memchr(c->buf + c->len, '\n', (size_t)n);
		c->len += (size_t)n;
		if (nl) {
			size_t line_len = (size_t)(nl - c->buf);

			*nl = '\0';
			if (line_len > 0 && c->buf[line_len - 1] == '\r')
				c->buf[--line_len] = '\0';
			client_line(c, line_len);
			return;
		}
	}
}

static void on_client_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;

	(void)loop;
	(void)revents;
	if (c->writing)
		client_flush(c);
	else
		client_read(c);
}

static void on_client_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_client *c = w->data;

	(void)loop;
	(void)revents;
	if (c->writing) {
		log_debug("control: dropped a client that did not read its reply");
		client_free(c);
		return;
	}
	log_debug("control: client sent no complete line within %d ms", client_timeout_ms);
	send_once(c->fd, MSG_TIMEOUT);
	client_free(c);
}

/* Root, or a member of the admitted group (primary or supplementary, as the
 * kernel recorded them when the peer connected). */
static bool peer_admitted(const struct control_server *srv, int fd, const struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	if (!srv->group_set)
		return false;
	if (cred->gid == srv->group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == srv->group)
			return true;
	return false;
}

int control_admit_group(struct control_server *srv, gid_t gid, char *err, size_t errlen)
{
	if (chown(srv->path, 0, gid) < 0 || chmod(srv->path, 0660) < 0) {
		snprintf(err, errlen, "control socket %s: admitting group %u: %s", srv->path,
			 (unsigned)gid, strerror(errno));
		return -1;
	}
	srv->group_set = true;
	srv->group = gid;
	return 0;
}

static void client_new(struct control_server *srv, int fd)
{
	struct control_client *c;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		log_warn("control: SO_PEERCRED: %s; client refused", strerror(errno));
		send_once(fd, MSG_NOT_ROOT);
		close(fd);
		return;
	}
	if (!peer_admitted(srv, fd, &cred)) {
		log_warn("control: refused pid %d uid %u (accepted: uid 0%s)", (int)cred.pid,
			 (unsigned)cred.uid,
			 srv->group_set ? " or the STEER_CONTROL_GROUP group" : "");
		send_once(fd, MSG_NOT_ROOT);
		close(fd);
		return;
	}
	if (srv->nclients >= CONTROL_CLIENTS_MAX) {
		log_warn("control: refused pid %d: %d clients already connected", (int)cred.pid,
			 srv->nclients);
		send_once(fd, MSG_TOO_MANY);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warn("control: out of memory for a client");
		send_once(fd, "error: out of memory");
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	ev_io_init(&c->io, on_client_io, fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->timer, on_client_timer, client_timeout_ms / 1000.0, 0.);
	c->timer.data = c;
	ev_io_start(srv->loop, &c->io);
	ev_timer_start(srv->loop, &c->timer);
	LIST_INSERT_HEAD(&srv->clients, c, link);
	srv->nclients++;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_server *srv = w->data;

	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			srv->paused = false;
			client_new(srv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays
		 * queued and the socket stays readable, so stop watching it for
		 * a moment instead of spinning. */
		if (!srv->paused)
			log_warn("control: accept on %s: %s; retrying every %.0f ms", srv->path,
				 strerror(errno), ACCEPT_PAUSE_S * 1000);
		srv->paused = true;
		ev_io_stop(loop, &srv->accept_io);
		/* Set again each time: a one-shot libev timer that has fired
		 * keeps a spent expiry, and would fire at once if merely started. */
		ev_timer_set(&srv->accept_pause, ACCEPT_PAUSE_S, 0.);
		ev_timer_start(loop, &srv->accept_pause);
		return;
	}
}

static void on_accept_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_server *srv = w->data;

	(void)revents;
	ev_io_start(loop, &srv->accept_io);
}

struct control_server *control_listen(struct ev_loop *loop, const char *path,
				      const struct control_handler *handler, char *err,
				      size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct control_server *srv = NULL;
	bool bound = false;
	struct stat st;
	mode_t old_umask;
	int fd = -1, rc;

	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path '%s' (accepted: 1-%zu bytes)",
			 path ? path : "", sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (!handler || !handler->apply) {
		snprintf(err, errlen, "control socket %s: no handler", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "control socket %s: out of memory", path);
		return NULL;
	}
	LIST_INIT(&srv->clients);
	if (control_path_prepare(path, &sun, err, errlen) < 0)
		goto cleanup;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket %s: socket: %s", path, strerror(errno));
		goto cleanup;
	}
	/* Born 0700 so nobody else can connect in the window before chmod. */
	old_umask = umask(077);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc < 0) {
		snprintf(err, errlen, "control socket %s: bind: %s", path, strerror(errno));
		goto cleanup;
	}
	bound = true;
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0) {
		snprintf(err, errlen, "control socket %s: chmod 0600: %s", path, strerror(errno));
		goto cleanup;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "control socket %s: listen: %s", path, strerror(errno));
		goto cleanup;
	}

	srv->loop = loop;
	srv->handler = *handler;
	srv->fd = fd;
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	memcpy(srv->path, path, strlen(path) + 1);
	ev_io_init(&srv->accept_io, on_accept, fd, EV_READ);
	srv->accept_io.data = srv;
	ev_timer_init(&srv->accept_pause, on_accept_pause, ACCEPT_PAUSE_S, 0.);
	srv->accept_pause.data = srv;
	ev_io_start(loop, &srv->accept_io);
	log_debug("control: listening on %s", path);
	return srv;

cleanup:
	if (bound)
		unlink(path);
	if (fd >= 0)
		close(fd);
	free(srv);
	return NULL;
}

void control_close(struct control_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (!LIST_EMPTY(&srv->clients))
		client_free(LIST_FIRST(&srv->clients));
	ev_io_stop(srv->loop, &srv->accept_io);
	ev_timer_stop(srv->loop, &srv->accept_pause);
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	close(srv->fd);
	free(srv);
}
