/*
 * The signal registry: per signal, the number of listeners, weft's handler
 * (installed while there is one), the action it replaced, a delivery
 * counter and the futures waiting for the next delivery.
 *
 * Delivery, step by step:
 *  1. The kernel runs weft's handler on some thread that does not block
 *     the signal. The handler sets the signal's bit in one atomic mask,
 *     writes the service thread's eventfd, then calls the action it
 *     replaced if that was a handler (async-signal-safe: an atomic OR and
 *     a write(2); errno is saved and restored).
 *  2. The service thread (service.c) reads the eventfd, exchanges the mask
 *     with 0 and, for each signal in it, advances the signal's counter and
 *     wakes every future waiting on it (weft__signal_dispatch).
 *  3. A woken future compares the counter with the value it saw last: a
 *     difference is one completed recv however many deliveries it covers
 *     (the coalescing of Tokio's signal streams).
 *
 * Waiting uses the wait nodes of src/sync (waitq.h): one spinlock and one
 * list per signal; a dispatch re-arms every node (bulk release to IDLE),
 * exactly as a watch channel's send does.
 */
#ifndef WEFT_SIGNAL_SIGNAL_H
#define WEFT_SIGNAL_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "weft/context.h"
#include "weft/detail/wait_node.h"
#include "weft/poll.h"

/* Node flag: the node belongs to a weft_signal_recv future (listener
 * destruction closes those of its listener). */
#define WEFT__SIG_NODE_RECV 1u

/* 0 if `signum` can be listened for, else -EINVAL. */
int weft__signal_check(int signum);

/* Adds a listener of `signum` (the first installs weft's handler; starts
 * the service thread). 0, -EINVAL, or -errno. Any thread. */
int weft__signal_acquire(int signum);
/* Removes a listener (the last puts the previous action back). */
void weft__signal_release(int signum);

/* The number of deliveries of `signum` dispatched so far. */
uint64_t weft__signal_count(int signum);

/*
 * Ready if deliveries of `signum` were dispatched since *seen (then *seen
 * is brought up to date), or if `node` was closed (*closed = true, by
 * weft__signal_close_listener); otherwise parks `node` on the signal with
 * the task's waker. node->need records the signal it is parked on.
 */
weft_poll weft__signal_poll(int signum, uint64_t *seen, weft_wait_node *node,
                            weft_context *cx, bool *closed);
/* Takes `node` off whatever signal list holds it and drops its waker. */
void weft__signal_cancel(weft_wait_node *node);
/* Wakes every future waiting on `signum` (they poll again and decide). */
void weft__signal_wake_all(int signum);
/* Closes every recv node of `signum` whose future's listener is `owner`. */
void weft__signal_close_listener(int signum, const void *owner);

/* Service thread: dispatches every recorded delivery. */
void weft__signal_dispatch(void);
/* fork() child: recorded deliveries wait for a new service thread. */
void weft__signal_after_fork(void);

#endif
