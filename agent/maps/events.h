/* Reads the datapath's events (the steer_events_v1 ring buffer) on the event
 * loop and hands each record to a callback: core/ wires it to the health
 * checker. */
#ifndef STEER_EVENTS_H
#define STEER_EVENTS_H

#include <ev.h>

#include "bpf/steer_abi.h"

struct events;

typedef void (*events_fn)(void *arg, const struct steer_event *ev);

/* Records that piled up while no agent ran are handed over at once. Returns
 * NULL with errno set. */
struct events *events_open(struct ev_loop *loop, int ringbuf_fd, events_fn fn, void *arg);
void events_close(struct events *e); /* NULL-safe */

#endif
