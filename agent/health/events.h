/* Reads the datapath's ejection events (a BPF ring buffer) on the event
 * loop and hands them to the health checker. */
#ifndef STEER_EVENTS_H
#define STEER_EVENTS_H

#include <ev.h>

#include "health/checker.h"

struct events;

/* Returns NULL with errno set. */
struct events *events_open(struct ev_loop *loop, int ringbuf_fd, struct checker *checker);
void events_close(struct events *e); /* NULL-safe */

#endif
