/*
 * weft/fiber.h — fibers: straight-line async code on a stack of its own,
 * running as a task of the runtime next to futures and coroutines.
 *
 *     static void *serve(void *arg) {
 *         weft_tcp_stream *s = arg;
 *         char buf[4096];
 *         ssize_t n;
 *         while ((n = weft_fiber_read(&s->stream, buf, sizeof buf)) > 0)
 *             if (weft_fiber_write_all(&s->stream, buf, (size_t)n) < 0) break;
 *         weft_tcp_stream_close(s);
 *         free(s);
 *         return NULL;
 *     }
 *     ...
 *     weft_join_handle h = weft_fiber_spawn(rt, serve, s, NULL);
 *
 * A fiber is a task whose poll resumes its stack: its join handle is an
 * ordinary weft_join_handle (output, abort, detach, JoinSets, select and
 * timeouts over it). Inside a fiber, weft_await(future) suspends the fiber
 * — never the thread — until any weft future is ready: sleeps, reads,
 * accepts, locks, channel operations, join handles, select, timeout.
 * Locals live on the fiber's stack across awaits; nothing moves into a
 * struct.
 *
 * Cancellation: aborting the task (or destroying the runtime) makes the
 * pending weft_await return -ECANCELED, and every later one at once, so
 * the fiber unwinds through its own error paths and releases what it
 * holds; the task ends when fn returns. A cancelled fiber must return.
 *
 * Threads: a fiber runs on the thread that started it, always (on a
 * multi_thread runtime its task stays on one worker once it has started):
 * C compilers keep the address of errno and of thread-locals in registers
 * across calls, which a fiber moved to another thread would then read
 * wrongly. See docs/fibers.md.
 */
#ifndef WEFT_FIBER_H
#define WEFT_FIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "detail/fiber.h"
#include "future.h"
#include "io.h"
#include "join_set.h"
#include "net.h"
#include "sync.h"
#include "channel.h"
#include "runtime.h"
#include "task.h"
#include "tracker.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup fiber Fibers
 * @{ */

/** The body of a fiber: runs on the fiber's stack; what it returns is the fiber's output value. */
typedef void *(*weft_fiber_fn)(void *arg);

/**
 * The output of a fiber (of its future, and of its task: what a join
 * handle or a JoinSet copies out).
 */
typedef struct weft_fiber_output {
    void *value; /**< what fn returned; NULL if fn did not run */
    int error;   /**< 0: fn ran; -ENOMEM: no stack could be mapped, fn did not run (arg went to arg_drop) */
} weft_fiber_output;

/** Options for a fiber. Zero-initialised (or a NULL pointer) means defaults. */
typedef struct weft_fiber_options {
    /**
     * Bytes of stack (rounded up to whole pages; at least 16 KiB, at most
     * 1 GiB). 0: the runtime's weft_runtime_options.fiber_stack_size, whose
     * default is 256 KiB (1 MiB in sanitizer builds of weft). Only the
     * pages the fiber touches are resident.
     */
    size_t stack_size;
    /**
     * Destroys an output that nobody takes, called with a pointer to the
     * weft_fiber_output: a finished fiber whose handle was detached or
     * joined without `out`, and a fiber that returned after it was
     * cancelled. May be NULL.
     */
    weft_drop_fn out_drop;
    /**
     * Called with `arg` if fn never runs: the spawn failed, the task was
     * aborted (or its runtime destroyed) before the fiber started, or no
     * stack could be mapped for it. Once fn runs, arg is fn's. May be NULL.
     */
    weft_drop_fn arg_drop;
} weft_fiber_options;

/**
 * The future that runs a fiber. weft_fiber_spawn makes one and spawns it;
 * initialise one yourself to run a fiber as the root future of
 * weft_block_on, or as the child of a combinator. It takes its stack from
 * the pool at its first poll (a fiber that has not started holds none)
 * and is ready when fn returned (or could not start: `output.error`).
 * Dropping it before then cancels the fiber and resumes it until fn
 * returns (see the top of this file); dropping it before its first poll
 * only calls arg_drop.
 */
typedef struct weft_fiber {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_fiber_ctl ctl;        /**< @private */
    weft_fiber_output output;  /**< output */
} weft_fiber;

/**
 * Initialises a fiber future that will run fn(arg). `opts` may be NULL.
 * Does no work. Returns `&f->base`; a fiber whose options are out of range
 * (stack_size over 1 GiB) or whose fn is NULL is ready at its first poll
 * with output.error -EINVAL. Any thread.
 */
WEFT_API weft_future *weft_fiber_init(weft_fiber *f, weft_fiber_fn fn, void *arg,
                                      const weft_fiber_options *opts);

/**
 * Spawns fn(arg) as a fiber task on `rt` and returns its join handle, an
 * ordinary weft_join_handle whose output is a weft_fiber_output (set the
 * handle's `out` to one to receive it, or use weft_fiber_join). The fiber
 * takes its stack from the pool when it starts. If the spawn fails the
 * handle is ready with -EINVAL (fn or rt NULL, stack_size over 1 GiB),
 * -ESHUTDOWN (the runtime is being destroyed) or -ENOMEM, fn never runs
 * and arg_drop is called. `opts` may be NULL. Any thread (a thread outside
 * the runtime must hold a reference to it, see weft_runtime_ref).
 */
WEFT_API weft_join_handle weft_fiber_spawn(weft_runtime *rt, weft_fiber_fn fn, void *arg,
                                           const weft_fiber_options *opts);

/**
 * Spawns fn(arg) as a fiber task into the JoinSet `js` (whose out_size
 * must be at least sizeof(weft_fiber_output)): join_next reports it like
 * any task, its output being a weft_fiber_output. Returns the task's id
 * (> 0), or -ENOMEM, -EINVAL, -ESHUTDOWN as weft_fiber_spawn (fn does not
 * run; arg_drop is called). The set's out_drop destroys outputs the set
 * discards; opts->out_drop those of fibers that returned after they were
 * cancelled. Any thread.
 */
WEFT_API int64_t weft_join_set_spawn_fiber(weft_join_set *js, weft_fiber_fn fn, void *arg,
                                           const weft_fiber_options *opts);

/**
 * Spawns fn(arg) as a fiber task on `rt` through the task tracker `t`
 * (weft/tracker.h): the fiber counts in the tracker until fn returns (or,
 * if it never runs, until its task is dropped), so a graceful shutdown can
 * close the tracker and wait for every fiber it spawned. Otherwise exactly
 * weft_fiber_spawn: the same handle, output, options and errors (-EINVAL
 * also for a NULL `t`; a failed spawn is not counted, arg_drop is called).
 * Any thread (a thread outside the runtime must hold a reference to it).
 */
WEFT_API weft_join_handle weft_task_tracker_spawn_fiber(weft_task_tracker *t, weft_runtime *rt,
                                                        weft_fiber_fn fn, void *arg,
                                                        const weft_fiber_options *opts);

/**
 * Awaits `f` from inside a fiber: polls it with the fiber task's context
 * and, while it is pending, suspends the fiber (never the thread) until it
 * is ready. Returns:
 *   0           f is ready; its output is valid (f holds nothing else, as
 *               every completed future);
 *   -ECANCELED  the fiber's task was aborted or its runtime is being
 *               destroyed: f has been dropped (as by weft_future_drop).
 *               Every later await returns -ECANCELED at once: unwind and
 *               return from the fiber.
 *   -EPERM      not called from a fiber: f has been dropped, nothing ran.
 *   -EINVAL     f is NULL.
 * `f` usually lives on the fiber's stack; it must not move while awaited.
 * Fiber only. Debug builds of weft stop with a message when a cancelled
 * fiber keeps awaiting (10,000 awaits after cancellation); release builds
 * print it once.
 */
WEFT_API int weft_await(weft_future *f);

/** True if the caller runs on a fiber. Any thread. */
WEFT_API bool weft_in_fiber(void);

/** True if the calling fiber has been cancelled (its awaits return -ECANCELED). False outside fibers. */
WEFT_API bool weft_fiber_is_cancelled(void);

/** Lets the runtime's other tasks run, then resumes. 0, -ECANCELED or -EPERM as weft_await. Fiber only. */
WEFT_API int weft_fiber_yield(void);

/* ---- blocking-style calls ----------------------------------------------------
 * Each is weft_await over the future of the same name: it suspends the
 * fiber, never the thread. Each returns what the future's `result` says,
 * or -ECANCELED (the fiber was cancelled; the operation was dropped, with
 * the cancel-safety the future documents) or -EPERM (not in a fiber).
 * Fiber only.
 */

/** Sleeps `ms` milliseconds (weft_sleep). Returns 0. */
WEFT_API int weft_fiber_sleep(uint64_t ms);

/** Sleeps until `deadline_ms` on weft_clock_ms() (weft_sleep_until). Returns 0. */
WEFT_API int weft_fiber_sleep_until(uint64_t deadline_ms);

/**
 * Waits for the fiber task of `h` and consumes the handle, as awaiting it
 * does: returns 0 with the value fn returned stored in `*value`,
 * -ECANCELED if the task was aborted, the spawn's error if it failed, or
 * -ENOMEM if the fiber could not start (no stack). With `value` NULL the
 * output is discarded (out_drop destroys it) and a fiber that could not
 * start returns 0 too. If the
 * calling fiber is cancelled meanwhile, returns -ECANCELED and `h` is
 * detached (the task runs on): abort it first if it must stop
 * (weft_fiber_is_cancelled tells the two -ECANCELED apart).
 */
WEFT_API int weft_fiber_join(weft_join_handle *h, void **value);

/**
 * Waits for the task of `h` — any task, whatever its output — and
 * consumes the handle: returns 0 with the output copied to `out` (may be
 * NULL; out_size bytes of the task's output), -ECANCELED or the spawn's
 * error; -ECANCELED also if the calling fiber is cancelled (as
 * weft_fiber_join).
 */
WEFT_API int weft_fiber_join_task(weft_join_handle *h, void *out);

/** Reads at most `len` bytes (weft_read): bytes read (> 0), 0 at end of stream, or -errno. */
WEFT_API ssize_t weft_fiber_read(weft_stream *s, void *buf, size_t len);

/**
 * Reads exactly `len` bytes (weft_read_exact): 0, -ENODATA if the stream
 * ended first, or -errno. `*done` (may be NULL) receives the bytes stored
 * in `buf`, also on failure.
 */
WEFT_API int weft_fiber_read_exact(weft_stream *s, void *buf, size_t len, size_t *done);

/**
 * Reads a line through the buffered reader `b` (weft_read_line): stores at
 * most cap-1 bytes and a NUL in `out`; returns what weft_read_line's
 * `result` says: the bytes stored (the newline included, the NUL not), 0
 * at end of stream, or -errno. A line longer than cap-1 bytes (or than the
 * reader's buffer) comes in pieces: only the last ends with '\n'.
 */
WEFT_API ssize_t weft_fiber_read_line(weft_bufreader *b, char *out, size_t cap);

/** Writes all `len` bytes (weft_write_all): 0 or -errno. `*done` (may be NULL) counts bytes written. */
WEFT_API int weft_fiber_write_all(weft_stream *s, const void *buf, size_t len, size_t *done);

/** Writes at most `len` bytes (weft_write): bytes written (> 0 when len > 0), or -errno. */
WEFT_API ssize_t weft_fiber_write(weft_stream *s, const void *buf, size_t len);

/** Flushes the stream's buffered bytes to the OS (weft_flush): 0 or -errno. */
WEFT_API int weft_fiber_flush(weft_stream *s);

/**
 * Flushes, then closes the write direction of `s` (weft_shutdown_init):
 * the peer reads end of stream (a child's stdin pipe: the child reads end
 * of file); reading still works. 0 or -errno.
 */
WEFT_API int weft_fiber_shutdown(weft_stream *s);

/**
 * Copies `r` to `w` until `r` ends, then flushes `w` (weft_copy, through
 * an 8 KiB buffer it allocates and frees): 0 or -errno. `*total` (may be
 * NULL) receives the bytes written to `w`, also on failure or
 * cancellation (then the bytes read but not written, at most 8 KiB, are
 * lost, as when the future is dropped).
 */
WEFT_API int weft_fiber_copy(weft_stream *r, weft_stream *w, uint64_t *total);

/**
 * Copies `a` to `b` and `b` to `a` until both directions ended, passing
 * half-closes through (weft_copy_bidirectional, with `opts`, may be NULL):
 * 0, the first error of either side, -ETIMEDOUT after the idle timeout,
 * -ENOMEM or -EINVAL. `*a_to_b` and `*b_to_a` (either may be NULL) receive
 * the bytes written to `b` and to `a`, also on failure or cancellation
 * (what was read and not yet written is then lost, as when the future is
 * dropped). The streams stay the caller's.
 */
WEFT_API int weft_fiber_copy_bidirectional(weft_stream *a, weft_stream *b,
                                           const weft_copy_bidirectional_options *opts,
                                           uint64_t *a_to_b, uint64_t *b_to_a);

/**
 * Sends `count` bytes (or WEFT_SENDFILE_TO_END) of `fd` from `offset` to
 * `s`, by sendfile(2) where the kernel allows (weft_sendfile): 0,
 * -ENODATA (the file ended first), -ESPIPE, the stream's error, ... `*done`
 * (may be NULL) receives the bytes the stream accepted, also on failure or
 * cancellation: to go on, send again from offset + done.
 */
WEFT_API int weft_fiber_sendfile(weft_stream *s, int fd, int64_t offset, uint64_t count,
                                 uint64_t *done);

/** Accepts a connection on `l` (weft_tcp_accept): 0 and `*out`, or -errno. */
WEFT_API int weft_fiber_accept(weft_tcp_listener *l, weft_tcp_stream *out);

/** Connects to "host:port" (weft_tcp_connect): 0 and `*out`, or -errno. */
WEFT_API int weft_fiber_connect(weft_tcp_stream *out, const char *addr);

/**
 * Resolves "host:port" through the runtime's resolver (weft_resolve; see
 * weft/resolver.h: getaddrinfo on the blocking pool by default, c-ares
 * with weft-ares) into at most `cap` addresses at `out`: the number of
 * addresses (>= 1), or -EINVAL, -WEFT_ENOTFOUND, -WEFT_ENOADDRESS,
 * -WEFT_ENOSERVICE, -WEFT_ERESOLVER_AGAIN, -WEFT_ERESOLVER_FAIL,
 * -ETIMEDOUT, -ENOMEM, -ENOSPC. A cancelled fiber's lookup is abandoned
 * (the resolver's cancel runs; `out` is not written).
 */
WEFT_API int weft_fiber_resolve(const char *text, weft_sockaddr *out, size_t cap);

/* Blocking-style calls: locks, signals, channels, JoinSets. Each awaits the
 * future of the same name (see weft/sync.h, weft/channel.h,
 * weft/join_set.h) and returns what it reports, or -ECANCELED if the
 * fiber was cancelled meanwhile (then it holds nothing: no lock, no
 * permit, no message). Fiber only (-EPERM elsewhere). */

/** Locks `m` (unlock it with weft_mutex_unlock). 0 or -ECANCELED. */
WEFT_API int weft_fiber_mutex_lock(weft_mutex *m);
/** Takes a read lock of `rw` (weft_rwlock_read_unlock). 0 or -ECANCELED. */
WEFT_API int weft_fiber_rwlock_read(weft_rwlock *rw);
/** Takes the write lock of `rw` (weft_rwlock_write_unlock). 0 or -ECANCELED. */
WEFT_API int weft_fiber_rwlock_write(weft_rwlock *rw);
/** Acquires `n` permits of `s` (give them back with weft_semaphore_add_permits). 0, -WEFT_ECLOSED, -EINVAL or -ECANCELED. */
WEFT_API int weft_fiber_semaphore_acquire(weft_semaphore *s, size_t n);
/** Waits for a notification of `n`. 0 or -ECANCELED. */
WEFT_API int weft_fiber_notified(weft_notify *n);
/** Waits at `b`; `*is_leader` (may be NULL) tells the one leader of the round. 0 or -ECANCELED. */
WEFT_API int weft_fiber_barrier_wait(weft_barrier *b, bool *is_leader);
/** Receives the oneshot value into `out`. 0, -WEFT_ECLOSED or -ECANCELED. */
WEFT_API int weft_fiber_oneshot_recv(weft_oneshot_rx *rx, void *out);
/** Sends the message at `msg`, waiting for room. 0, -WEFT_ECLOSED (not taken: still yours) or -ECANCELED (not sent). */
WEFT_API int weft_fiber_mpsc_send(weft_mpsc_tx *tx, const void *msg);
/** Receives the next message into `out`. 0, -WEFT_ECLOSED or -ECANCELED. */
WEFT_API int weft_fiber_mpsc_recv(weft_mpsc_rx *rx, void *out);
/** Receives the next broadcast message into `out` (a copy of your own). 0, -WEFT_ELAGGED (with `*missed`, may be NULL), -WEFT_ECLOSED or -ECANCELED. */
WEFT_API int weft_fiber_broadcast_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed);
/** Waits until the watched value changed (read it with weft_watch_borrow). 0, -WEFT_ECLOSED or -ECANCELED. */
WEFT_API int weft_fiber_watch_changed(weft_watch_rx *rx);
/** Takes the next finished task of `js` (output to `out`, its id to `*id`; either may be NULL). 0, -ECANCELED (that task was aborted, or this fiber was), -WEFT_EEMPTY. */
WEFT_API int weft_fiber_join_set_next(weft_join_set *js, void *out, uint64_t *id);


/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FIBER_H */
