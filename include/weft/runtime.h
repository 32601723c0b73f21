/**
 * @file
 * weft/runtime.h — creating, driving and destroying a runtime.
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include "error.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup runtime Runtimes
 * @{ */

/** A runtime: the scheduler, the I/O driver and the timers that run tasks (opaque). */
typedef struct weft_runtime weft_runtime;

/** Which scheduler runs the tasks. */
typedef enum weft_flavor {
    WEFT_CURRENT_THREAD = 0, /**< tasks run on the thread inside weft_block_on */
    WEFT_MULTI_THREAD = 1,   /**< tasks run on a pool of worker threads */
} weft_flavor;

/** Which I/O backend the driver uses. */
typedef enum weft_io_backend {
    WEFT_IO_DEFAULT = 0, /**< $WEFT_IO_BACKEND ("epoll", "poll"), else epoll */
    WEFT_IO_EPOLL = 1,   /**< Linux epoll, edge-triggered */
    WEFT_IO_POLL = 2,    /**< poll(2): the portable fallback */
} weft_io_backend;

/** Options for weft_runtime_create. Zero-initialised means defaults. */
typedef struct weft_runtime_options {
    weft_flavor flavor;         /**< which scheduler (default: current_thread) */
    unsigned workers;           /**< multi_thread only; 0 = number of CPUs */
    weft_io_backend io_backend; /**< which I/O backend (default: $WEFT_IO_BACKEND, else epoll) */
    unsigned max_blocking;      /**< blocking pool limit; 0 = 512 */
    /** Stack bytes of this runtime's fibers (weft/fiber.h) when a spawn
     *  does not say; 0 = 256 KiB (1 MiB in sanitizer builds of weft).
     *  16 KiB to 1 GiB, rounded up to whole pages. */
    size_t fiber_stack_size;
} weft_runtime_options;

/**
 * Creates a runtime. `opts` may be NULL (a current_thread runtime with the
 * default backend). Stores it in `*out` and returns 0, or returns -ENOMEM,
 * -EINVAL (bad options), -EMFILE (no descriptor for the driver).
 * Any thread.
 */
WEFT_API int weft_runtime_create(weft_runtime **out, const weft_runtime_options *opts);

/**
 * Destroys `rt`: every task that has not completed is dropped exactly once
 * (its join handle, if any, becomes ready with -ECANCELED), a thread inside
 * weft_block_on on it returns -ESHUTDOWN, timers and registrations are
 * released, and the creator's reference is dropped. A blocking call still
 * queued is cancelled (its `arg_drop` runs); one already running is waited
 * for. Every thread weft started for `rt` (workers, blocking-pool threads)
 * is joined before it returns. The memory, and the descriptor that wakes
 * the runtime, go with the last reference: tasks and their wakers, join
 * handles, abort handles, I/O handles, timers still registered and
 * weft_runtime_ref all hold one, so dropping any of them afterwards is
 * safe, and a spawn through a held reference fails with -ESHUTDOWN. Must not
 * be called from inside the runtime, nor from one of its blocking-pool
 * threads (a misuse: it would wait for itself). `rt` may be NULL.
 */
WEFT_API void weft_runtime_destroy(weft_runtime *rt);

/**
 * Runs `fut` to completion on the calling thread, running the runtime's
 * tasks meanwhile (current_thread: this thread runs them all). Returns 0
 * when `fut` is ready (its output is then valid), -EDEADLK if called from
 * inside a runtime (a task cannot block), -EBUSY if another thread is inside
 * weft_block_on of the same current_thread runtime, -ESHUTDOWN if `rt` is
 * being destroyed. `fut` is polled in place; it must not move meanwhile.
 */
WEFT_API int weft_block_on(weft_runtime *rt, weft_future *fut);

/**
 * Like weft_runtime_destroy, but waits at most `timeout_ms` for threads of
 * the blocking pool that are still running a function (those cannot be
 * interrupted). Those still running at the limit are detached and left
 * behind: each finishes its function (its result is discarded), starts no
 * other blocking call, and exits on its own; the last of them frees the runtime's
 * remaining memory. Every other thread weft started is joined. Every task
 * is still dropped exactly once. Returns 0, or -ETIMEDOUT if blocking
 * threads were left behind. Not from inside the runtime, nor from one of
 * its blocking-pool threads.
 */
WEFT_API int weft_runtime_destroy_timeout(weft_runtime *rt, uint64_t timeout_ms);

/**
 * Creates a runtime with `opts` (NULL: multi_thread with one worker per
 * CPU), runs `main_future` to completion on it, and destroys it: the
 * seeds' #[tokio::main] in one call. Returns 0, or the -errno of creating
 * the runtime or of weft_block_on. Not from inside a runtime.
 */
WEFT_API int weft_main(weft_future *main_future, const weft_runtime_options *opts);

/**
 * Defines `int main(int argc, char **argv)` that runs the coroutine type
 * `T` on a multi_thread runtime. `T` has the members `int argc; char
 * **argv; int exit_code;` (set by main before the first poll; exit_code
 * starts at 0 and is main's return value):
 *
 *     typedef struct app { WEFT_CORO_FIELDS; int argc; char **argv; int exit_code; ... } app;
 *     WEFT_ASYNC(app, NULL) { WEFT_BEGIN(); ... WEFT_END(); }
 *     WEFT_MAIN(app)
 */
#define WEFT_MAIN(T)                                                                    \
    int main(int argc, char **argv) {                                                   \
        static T weft__main_future;                                                     \
        T##_start(&weft__main_future);                                                  \
        weft__main_future.argc = argc;                                                  \
        weft__main_future.argv = argv;                                                  \
        weft__main_future.exit_code = 0;                                                \
        int weft__rc = weft_main(&weft__main_future.base, NULL);                        \
        if (weft__rc != 0) return weft__main_failed(weft__rc);                          \
        return weft__main_future.exit_code;                                             \
    }

/* Reports why weft_main failed (on stderr); returns 1. */
WEFT_API int weft__main_failed(int err);

/**
 * Takes a reference to `rt` and returns it. A thread that is not part of
 * the runtime and may use it while another thread destroys it (a producer
 * spawning tasks, say) holds one: its calls then fail with -ESHUTDOWN
 * instead of touching freed memory. Any thread; the caller must already
 * hold a reference (the creator's, or another).
 */
WEFT_API weft_runtime *weft_runtime_ref(weft_runtime *rt);

/** Drops a reference taken with weft_runtime_ref. Any thread. */
WEFT_API void weft_runtime_unref(weft_runtime *rt);

/** The runtime whose task is running on this thread, or NULL. */
WEFT_API weft_runtime *weft_runtime_current(void);

/** Milliseconds on the runtime's monotonic clock (origin: its creation). Any thread. */
WEFT_API uint64_t weft_runtime_now_ms(const weft_runtime *rt);

/** Counters kept by every runtime (monotonic since creation). */
typedef struct weft_runtime_stats {
    uint64_t tasks_spawned;   /**< tasks spawned */
    uint64_t tasks_completed; /**< completed or cancelled */
    uint64_t task_polls;      /**< polls of spawned tasks */
    uint64_t root_polls;      /**< polls of weft_block_on futures */
    uint64_t parks;           /**< times the runtime slept waiting for work */
    uint64_t remote_schedules; /**< tasks scheduled from outside the runtime thread */
    uint64_t timers_fired;    /**< timers whose deadline passed */
} weft_runtime_stats;

/** Copies the runtime's counters into `*out`. Any thread (counters may lag). */
WEFT_API void weft_runtime_stats_get(const weft_runtime *rt, weft_runtime_stats *out);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_RUNTIME_H */
