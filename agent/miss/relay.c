/* The relay: two connected TCP sockets, a pipe per direction, splice(2)
 * socket -> pipe -> socket so the bytes never cross into userspace.
 *
 * Each direction counts the bytes sitting in its pipe. A side is read only
 * while its pipe has room; a side is watched for write only while the pipe
 * towards it holds bytes. So every active watcher can make progress and the
 * loop never spins: a full pipe parks the reader until the writer drains.
 *
 * A pipe can be "full" before its byte count says so: TCP splices pages
 * into pipe slots, and a slot may carry far less than a page. So EAGAIN on
 * a readable socket while the pipe holds bytes means "full" too, until the
 * next drain frees room.
 *
 * Urgent data: the kernel's splice stops in front of an urgent mark and
 * does not step over it (tcp_read_sock), neither with SO_OOBINLINE. The
 * sockets get SO_OOBINLINE, and a socket that is readable but splices
 * nothing is read once with recv() into a small buffer that goes into the
 * (then empty) pipe: the urgent byte travels in order as an ordinary byte
 * and splice resumes behind it. This copy happens only at an urgent mark or
 * on a spurious wakeup, never for a normal stream.
 *
 * splice() into a socket raises SIGPIPE when the peer has gone (there is no
 * MSG_NOSIGNAL for it): the process must ignore SIGPIPE, as the agent does
 * in cmd_run.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miss/relay.h"

#define RELAY_PIPE_SIZE	   (256 * 1024) /* asked for; the kernel may grant less */
#define RELAY_PIPE_DEFAULT (64 * 1024)	/* assumed when F_GETPIPE_SZ fails */
#define RELAY_COPY_MAX	   1024		/* <= PIPE_BUF: one write into an empty pipe takes it all */
#define SPLICE_FLAGS	   (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

enum { SIDE_A = 0, SIDE_B = 1 };

/* One direction: bytes read from socket `from` wait in the pipe until they
 * are written to the other socket. */
struct relay_dir {
	int from;	/* SIDE_A or SIDE_B: the socket read */
	int pipe[2];	/* [0] read end, [1] write end; -1 once closed */
	size_t cap;	/* pipe capacity in bytes (F_GETPIPE_SZ) */
	size_t in_pipe; /* bytes in the pipe now */
	uint64_t bytes; /* bytes written to the destination socket */
	bool parked;	/* the pipe took nothing although the socket was readable */
	bool eof;	/* the source sent FIN */
	bool shut;	/* shutdown(SHUT_WR) done on the destination */
};

struct relay {
	struct ev_loop *loop;
	int fd[2];		 /* the sockets, SIDE_A and SIDE_B */
	ev_io rd[2];		 /* fd[i] readable: fill dir[i] */
	ev_io wr[2];		 /* fd[i] writable: drain dir[1 - i] */
	struct relay_dir dir[2]; /* dir[i] carries fd[i] -> fd[1 - i] */
	relay_done_fn done;
	void *arg;
	ev_tstamp last_active; /* ev_now() when a byte last moved, or the start */
};

static int dir_to(const struct relay_dir *d)
{
	return 1 - d->from;
}

static bool dir_can_fill(const struct relay_dir *d)
{
	return !d->eof && !d->parked && d->in_pipe < d->cap;
}

static void reset_close(int fd)
{
	struct linger lin = {.l_onoff = 1, .l_linger = 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(fd);
}

static void close_pipe(struct relay_dir *d)
{
	for (int i = 0; i < 2; i++) {
		if (d->pipe[i] >= 0)
			close(d->pipe[i]);
		d->pipe[i] = -1;
	}
}

static int open_pipe(struct relay_dir *d)
{
	int size;

	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		d->pipe[0] = d->pipe[1] = -1;
		return -1;
	}
	/* A bigger pipe means fewer wakeups; over the user's pipe quota the
	 * kernel refuses (EPERM) and the default size serves as well. */
	(void)fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	size = fcntl(d->pipe[1], F_GETPIPE_SZ);
	d->cap = size > 0 ? (size_t)size : RELAY_PIPE_DEFAULT;
	return 0;
}

static void set_active(struct ev_loop *loop, ev_io *w, bool want)
{
	if (want && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!want && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* Stop everything and close the pipes; the sockets are the caller's. */
static void relay_release(struct relay *r)
{
	for (int i = 0; i < 2; i++) {
		ev_io_stop(r->loop, &r->rd[i]);
		ev_io_stop(r->loop, &r->wr[i]);
		close_pipe(&r->dir[i]);
	}
}

/* The end: close every fd (resetting the sockets in reset_mask, bit i for
 * fd[i]), free, then call done(): it may start or abort other relays. */
static void relay_finish(struct relay *r, int err, unsigned reset_mask)
{
	relay_done_fn done = r->done;
	void *arg = r->arg;
	uint64_t a_to_b = r->dir[SIDE_A].bytes, b_to_a = r->dir[SIDE_B].bytes;

	relay_release(r);
	for (int i = 0; i < 2; i++) {
		if (reset_mask & (1u << i))
			reset_close(r->fd[i]);
		else
			close(r->fd[i]);
	}
	free(r);
	done(arg, a_to_b, b_to_a, err);
}

/* A side failed with err. A reset (or EPIPE, a write after one) has already
 * ended that side: pass the reset on to the other. Anything else: reset
 * both, there is no clean way to go on. */
static void relay_fail(struct relay *r, int side, int err)
{
	if (err == ECONNRESET || err == EPIPE)
		relay_finish(r, ECONNRESET, 1u << (1 - side));
	else
		relay_finish(r, err, 3u);
}

/* The socket was readable yet splice moved nothing: EOF, an urgent mark
 * that splice will not cross, or a spurious wakeup. */
static int dir_fill_stalled(struct relay *r, struct relay_dir *d)
{
	int fd = r->fd[d->from];
	char buf[RELAY_COPY_MAX];
	ssize_t n, w;

	if (d->in_pipe > 0) {
		/* Tell EOF from an urgent mark; copy only into an empty pipe. */
		n = recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			d->eof = true;
		else if (n > 0)
			d->parked = true;
		else if (errno != EAGAIN && errno != EINTR)
			return errno;
		return 0;
	}
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0) {
		d->eof = true;
		return 0;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : errno;
	/* An empty pipe takes up to PIPE_BUF bytes whole; a short write
	 * cannot happen. */
	w = write(d->pipe[1], buf, (size_t)n);
	if (w != n)
		return w < 0 ? errno : EIO;
	d->in_pipe += (size_t)n;
	r->last_active = ev_now(r->loop);
	return 0;
}

/* Socket -> pipe, as much as the pipe has room for. */
static int dir_fill(struct relay *r, struct relay_dir *d)
{
	ssize_t n =
	    splice(r->fd[d->from], NULL, d->pipe[1], NULL, d->cap - d->in_pipe, SPLICE_FLAGS);

	if (n > 0) {
		d->in_pipe += (size_t)n;
		r->last_active = ev_now(r->loop);
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0 && errno != EAGAIN)
		return errno;
	if (n < 0 && d->in_pipe > 0) {
		/* Out of pipe slots (or urgent data): wait for a drain. */
		d->parked = true;
		return 0;
	}
	return dir_fill_stalled(r, d);
}

/* Pipe -> socket, then pass the EOF on once the pipe is empty. Returns an
 * errno of the destination socket. */
static int dir_drain(struct relay *r, struct relay_dir *d)
{
	int fd = r->fd[dir_to(d)];

	if (d->in_pipe > 0) {
		ssize_t n = splice(d->pipe[0], NULL, fd, NULL, d->in_pipe, SPLICE_FLAGS);

		if (n > 0) {
			d->in_pipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			d->parked = false;
			r->last_active = ev_now(r->loop);
		} else if (n == 0) {
			return EIO; /* the pipe holds fewer bytes than counted */
		} else if (errno != EAGAIN && errno != EINTR) {
			return errno;
		}
	}
	if (d->eof && d->in_pipe == 0 && !d->shut) {
		/* ENOTCONN: the destination was reset meanwhile. */
		if (shutdown(fd, SHUT_WR) < 0)
			return errno == ENOTCONN ? ECONNRESET : errno;
		d->shut = true;
	}
	return 0;
}

/* After an event: finish when both EOFs are delivered, else arm exactly the
 * watchers that can make progress. */
static void relay_settle(struct relay *r)
{
	if (r->dir[SIDE_A].shut && r->dir[SIDE_B].shut) {
		relay_finish(r, 0, 0);
		return;
	}
	for (int i = 0; i < 2; i++) {
		set_active(r->loop, &r->rd[i], dir_can_fill(&r->dir[i]));
		set_active(r->loop, &r->wr[i], r->dir[1 - i].in_pipe > 0);
	}
}

static void relay_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay *r = w->data;
	int side = w == &r->rd[SIDE_B] ? SIDE_B : SIDE_A;
	struct relay_dir *d = &r->dir[side];
	bool was_empty = d->in_pipe == 0;
	int err;

	(void)loop;
	(void)revents;
	err = dir_fill(r, d);
	if (err) {
		relay_fail(r, side, err);
		return;
	}
	/* Into an empty pipe: write at once what came in, rather than a loop
	 * iteration later (or pass an EOF on). A pipe that held bytes has its
	 * write watcher armed already: the destination had no room. */
	err = was_empty || d->in_pipe == 0 ? dir_drain(r, d) : 0;
	if (err) {
		relay_fail(r, dir_to(d), err);
		return;
	}
	relay_settle(r);
}

static void relay_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct relay *r = w->data;
	int side = w == &r->wr[SIDE_B] ? SIDE_B : SIDE_A;
	int err;

	(void)loop;
	(void)revents;
	err = dir_drain(r, &r->dir[1 - side]);
	if (err) {
		relay_fail(r, side, err);
		return;
	}
	relay_settle(r);
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	return (flags & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

struct relay *relay_start(struct ev_loop *loop, int a, int b, relay_done_fn done, void *arg)
{
	struct relay *r;
	int one = 1, err;

	if (!loop || !done || a < 0 || b < 0 || a == b) {
		errno = EINVAL;
		return NULL;
	}
	/* Fail on a bad descriptor before anything is created. */
	if (fcntl(a, F_GETFL) < 0 || fcntl(b, F_GETFL) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->loop = loop;
	r->fd[SIDE_A] = a;
	r->fd[SIDE_B] = b;
	r->done = done;
	r->arg = arg;
	r->last_active = ev_now(loop);
	for (int i = 0; i < 2; i++) {
		r->dir[i].from = i;
		r->dir[i].pipe[0] = r->dir[i].pipe[1] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (open_pipe(&r->dir[i]) < 0)
			goto fail;
	}
	if (set_nonblock(a) < 0 || set_nonblock(b) < 0)
		goto fail;
	for (int i = 0; i < 2; i++) {
		(void)setsockopt(r->fd[i], SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
		ev_io_init(&r->rd[i], relay_read_cb, r->fd[i], EV_READ);
		r->rd[i].data = r;
		ev_io_init(&r->wr[i], relay_write_cb, r->fd[i], EV_WRITE);
		r->wr[i].data = r;
	}
	/* No I/O here: done() can only come from the loop. */
	relay_settle(r);
	return r;

fail:
	err = errno;
	close_pipe(&r->dir[SIDE_A]);
	close_pipe(&r->dir[SIDE_B]);
	free(r);
	errno = err;
	return NULL;
}

ev_tstamp relay_last_active(const struct relay *r)
{
	return r->last_active;
}

void relay_abort(struct relay *r)
{
	if (!r)
		return;
	relay_release(r);
	reset_close(r->fd[SIDE_A]);
	reset_close(r->fd[SIDE_B]);
	free(r);
}
