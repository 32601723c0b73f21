/*
 * weft/runtime.h — creating, driving and destroying a runtime.
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    weft_flavor flavor;
    unsigned workers;           /**< multi_thread only; 0 = number of CPUs */
    weft_io_backend io_backend;
    unsigned max_blocking;      /**< blocking pool limit; 0 = 512 */
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
 * (its join handle, if any, becomes ready with -ECANCELED), timers and
 * registrations are released, and all memory owned by the runtime is freed
 * (task memory is freed when its last join handle or waker is released).
 * Must not be called from inside the runtime. `rt` may be NULL.
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

/** The runtime whose task is running on this thread, or NULL. */
WEFT_API weft_runtime *weft_runtime_current(void);

/** Milliseconds on the runtime's monotonic clock (origin: its creation). Any thread. */
WEFT_API uint64_t weft_runtime_now_ms(const weft_runtime *rt);

/** Counters kept by every runtime (monotonic since creation). */
typedef struct weft_runtime_stats {
    uint64_t tasks_spawned;
    uint64_t tasks_completed; /**< completed or cancelled */
    uint64_t task_polls;      /**< polls of spawned tasks */
    uint64_t root_polls;      /**< polls of weft_block_on futures */
    uint64_t parks;           /**< times the runtime slept waiting for work */
    uint64_t remote_schedules; /**< tasks scheduled from outside the runtime thread */
    uint64_t timers_fired;
} weft_runtime_stats;

/** Copies the runtime's counters into `*out`. Any thread (counters may lag). */
WEFT_API void weft_runtime_stats_get(const weft_runtime *rt, weft_runtime_stats *out);

/** The message for a negative errno value returned by weft (as strerror). */
WEFT_API const char *weft_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_RUNTIME_H */
