/*
 * weft's service thread: one thread per process, started on first need,
 * that does the work no runtime can be relied on to do, because it must
 * happen whichever runtimes exist (or none):
 *
 *  - it turns signal deliveries into wake-ups: weft's signal handler
 *    records the signal in a bit mask and writes an eventfd; the thread
 *    reads it and wakes every listener of every recorded signal
 *    (signal/registry.c);
 *  - it reaps children whose handle was closed before they exited
 *    (process/orphan.c): their pidfds are watched here.
 *
 * The thread blocks every signal (weft__thread_start) and lives as long as
 * the process, with two descriptors (an epoll instance and the eventfd),
 * all close-on-exec. A child created by fork() starts without it and
 * starts its own on first need.
 */
#ifndef WEFT_SIGNAL_SERVICE_H
#define WEFT_SIGNAL_SERVICE_H

#include <stdatomic.h>
#include <stdint.h>

/* A descriptor the service thread watches for readability (level
 * triggered). `ready` runs on the service thread, may call
 * weft__service_del on its own watch and free it. */
typedef struct weft__service_watch weft__service_watch;
struct weft__service_watch {
    void (*ready)(weft__service_watch *w);
    int fd;
};

/* The eventfd weft's signal handler writes to, or -1 while the service
 * thread is not running. Read by the handler (async-signal-safe). */
extern _Atomic int weft__service_wake_fd;

/* Starts the service thread if it is not running. 0, or -errno (-ENOMEM,
 * -EMFILE, -EAGAIN: nothing started). Any thread. */
int weft__service_start(void);

/* Watches w->fd; w->ready runs on the service thread while it is
 * readable. Starts the service if needed. 0 or -errno. Any thread. */
int weft__service_add(weft__service_watch *w);

/* Stops watching w->fd (before it is closed). Service thread only. */
void weft__service_del(weft__service_watch *w);

#endif
