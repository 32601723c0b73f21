/* Tour chapter: a Mutex held across an await. */
#ifndef WEFT_TOUR_MUTEX_H
#define WEFT_TOUR_MUTEX_H

#include <stdio.h>

#include "weft.h"

/*
 * Runs the chapter on `rt` (a runtime not inside block_on), narrating to
 * `out`: why a blocking mutex held across an await deadlocks a runtime
 * thread, then the same code with weft's Mutex: the lock is held across a
 * weft_sleep, other tasks keep running, and the lock is handed over in the
 * order it was asked for. Returns 0, or -1 if what it measured contradicts
 * the narration (order not FIFO, a neighbour starved, barging).
 */
int tour_mutex(weft_runtime *rt, FILE *out);

#endif
