/*
 * A waker that wakes a plain thread: a parker (util/parker.h) with a
 * reference count, so that clones of the waker kept by futures may outlive
 * the thread's wait (weft_block_on on multi_thread, weft_wait_blocking).
 */
#ifndef WEFT_UTIL_THREAD_WAKER_H
#define WEFT_UTIL_THREAD_WAKER_H

#include "util/parker.h"
#include "weft/waker.h"

typedef struct weft_thread_waker {
    _Atomic unsigned refs;
    weft_parker parker;
} weft_thread_waker;

/* A new thread waker with one reference (the caller's), or NULL when out
 * of memory. Any thread. */
weft_thread_waker *weft__thread_waker_new(void);

/* A waker for it, borrowing the caller's reference (valid until the
 * caller's release; clones take references of their own). */
weft_waker weft__thread_waker_get(weft_thread_waker *tw);

/* Sleeps until the waker is woken (at once if it was woken since the last
 * park), consuming the wake. The owning thread only. */
void weft__thread_waker_park(weft_thread_waker *tw);

/* Drops the caller's reference; the last one frees it. Any thread. */
void weft__thread_waker_release(weft_thread_waker *tw);

#endif
