/* Zero-copy relay of one held-then-served connection: splice(2) through a
 * pipe per direction, on the agent's event loop. */
#ifndef STEER_RELAY_H
#define STEER_RELAY_H

#include <stdint.h>

#include <ev.h>

struct relay;

/* Called once, when both directions are finished and every fd is closed.
 * err is 0 after a clean close both ways, else the errno that ended it
 * (ECONNRESET when a side reset and the reset was passed on). */
typedef void (*relay_done_fn)(void *arg, uint64_t bytes_a_to_b, uint64_t bytes_b_to_a, int err);

/*
 * Relay between the connected TCP sockets a and b (non-blocking or not; the
 * relay makes them non-blocking). Takes ownership of both on success.
 * Half-close is carried: EOF from one side becomes shutdown(SHUT_WR) on the
 * other once its pipe is drained. A reset on one side resets the other
 * (SO_LINGER 0). Memory per relay is bounded by the two pipes.
 * Returns NULL with errno set (EMFILE, ENFILE, ENOMEM) without taking the fds.
 */
struct relay *relay_start(struct ev_loop *loop, int a, int b, relay_done_fn done, void *arg);

/* ev_now() of the loop when the relay last moved a byte in either direction
 * (read into or written out of a pipe), or when it started. An idle timeout
 * compares it with ev_now() when its timer fires, so the relay itself keeps
 * no timer and touches none per byte. */
ev_tstamp relay_last_active(const struct relay *r);

/* Reset both sides, free everything; done is not called. */
void relay_abort(struct relay *r);

#endif
