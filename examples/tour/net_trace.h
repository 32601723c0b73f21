/* Tour chapter: tracing a socket read, poll by poll. */
#ifndef WEFT_TOUR_NET_TRACE_H
#define WEFT_TOUR_NET_TRACE_H

#include <stdio.h>

#include "weft.h"

/*
 * Runs, on `rt` (a runtime not currently running anything), a read that has
 * to wait for data, and narrates it on `out`, two lines per step, from the
 * runtime's own counters (weft_runtime_stats_get: task_polls, parks) and the
 * read future's poll count: first poll -> EAGAIN -> waker registered ->
 * Pending; data arrives; the reactor wakes the task; second poll -> Ready.
 * Returns 0 if the read was polled exactly twice (once before the data, once after),
 * 1 if it was not, or a negative errno if the sockets could not be set up.
 */
int tour_read_trace(weft_runtime *rt, FILE *out);

#endif
