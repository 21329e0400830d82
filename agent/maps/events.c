#include "maps/events.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

#include "lib/log.h"

struct events {
	struct ev_loop *loop;
	struct ring_buffer *rb;
	events_fn fn;
	void *arg;
	ev_io io;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct events *e = ctx;

	if (size < sizeof(struct steer_event)) {
		log_warn("short ejection event (%zu bytes); ignored", size);
		return 0;
	}
	e->fn(e->arg, data);
	return 0;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct events *e = w->data;
	int n;

	(void)loop;
	(void)revents;
	n = ring_buffer__consume(e->rb);
	if (n < 0)
		log_warn("reading ejection events: %s", strerror(-n));
}

struct events *events_open(struct ev_loop *loop, int ringbuf_fd, events_fn fn, void *arg)
{
	struct events *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	e->fn = fn;
	e->arg = arg;
	e->rb = ring_buffer__new(ringbuf_fd, on_record, e, NULL);
	if (!e->rb) {
		int err = errno;

		free(e);
		errno = err;
		return NULL;
	}
	ev_io_init(&e->io, on_readable, ring_buffer__epoll_fd(e->rb), EV_READ);
	e->io.data = e;
	ev_io_start(loop, &e->io);
	ring_buffer__consume(e->rb); /* what piled up while no agent ran */
	return e;
}

void events_close(struct events *e)
{
	if (!e)
		return;
	ev_io_stop(e->loop, &e->io);
	ring_buffer__free(e->rb);
	free(e);
}
