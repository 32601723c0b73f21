/**
 * @file
 * weft/time.h — sleep, sleep_until, interval and timeout, driven by the
 * runtime's hierarchical timing wheel (1 ms resolution, O(1) insert and
 * cancel). A timer never fires early; it fires in the first runtime turn at
 * or after its deadline. No allocation per timer: the wheel entry lives in
 * the future.
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include "detail/timer.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup time Time: sleep, interval and timeout
 * @{ */


/** Monotonic milliseconds (CLOCK_MONOTONIC), the clock weft's deadlines use. */
WEFT_API uint64_t weft_clock_ms(void);

/**
 * Sleeps until a deadline. Output: none (ready when the deadline passed).
 * Dropping it removes it from the wheel. Must be polled inside a runtime
 * (a poll without one is a misuse). Cancel-safe.
 */
typedef struct weft_sleep {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    uint64_t deadline;  /**< weft_clock_ms() value at which it completes */
    weft_timer_entry entry; /**< @private */
} weft_sleep;

/** Initialises a sleep of `ms` milliseconds from now. Returns `&s->base`. Any thread. */
WEFT_API weft_future *weft_sleep_init(weft_sleep *s, uint64_t ms);

/** Initialises a sleep until `deadline_ms` (a weft_clock_ms() value). Returns `&s->base`. */
WEFT_API weft_future *weft_sleep_until_init(weft_sleep *s, uint64_t deadline_ms);

/**
 * Moves the deadline of a sleep (pending or not yet polled) to `deadline_ms`,
 * re-arming it if it already fired. O(1). Runtime thread only.
 */
WEFT_API void weft_sleep_reset(weft_sleep *s, uint64_t deadline_ms);

/** What an interval does when ticks were missed (the task ran late). */
typedef enum weft_missed_tick {
    /** Fire the missed ticks at once, one per poll, then keep the original
     *  schedule (Tokio's default: total tick count is preserved). */
    WEFT_MISSED_BURST = 0,
    /** Skip the missed ticks; the next tick is the next multiple of the
     *  period on the original schedule. */
    WEFT_MISSED_SKIP = 1,
    /** Fire once now, then schedule the following tick one period after now. */
    WEFT_MISSED_DELAY = 2,
} weft_missed_tick;

/**
 * An interval: each call to weft_interval_tick returns a future that
 * completes at the next tick. The first tick completes immediately.
 * Create with weft_interval_init, await weft_interval_tick(&iv) repeatedly.
 */
typedef struct weft_interval {
    weft_sleep sleep;      /**< @private the future returned by weft_interval_tick */
    uint64_t period; /**< @private */
    uint64_t next;         /**< @private deadline of the next tick */
    uint64_t ticks;        /**< ticks delivered so far */
    weft_missed_tick policy; /**< @private */
    uint64_t last_tick;    /**< deadline of the last delivered tick (its scheduled time) */
} weft_interval;

/** Initialises an interval of `period_ms` (>= 1) with `policy`. Returns 0 or -EINVAL. */
WEFT_API int weft_interval_init(weft_interval *iv, uint64_t period_ms, weft_missed_tick policy);

/**
 * Returns the future for the next tick (it lives inside `iv`; await it,
 * then call again). Ready when the tick's time has come; `iv->ticks` counts
 * delivered ticks. Dropping the returned future cancels that tick only.
 */
WEFT_API weft_future *weft_interval_tick(weft_interval *iv);

/** Ends an interval: drops a pending tick. Idempotent. Runtime thread (or after the runtime is gone). */
WEFT_API void weft_interval_destroy(weft_interval *iv);

/**
 * Runs `inner` with a time limit. Ready with `result` 0 if `inner` completed
 * first (its output is valid), or -ETIMEDOUT if the limit passed first, in
 * which case `inner` has been dropped. Dropping the timeout drops `inner`.
 */
typedef struct weft_timeout {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_future *inner; /**< @private */
    weft_sleep sleep; /**< @private */
    int result; /**< output: 0 or -ETIMEDOUT */
} weft_timeout;

/** Initialises `t` to run `inner` for at most `ms` milliseconds. Returns `&t->base`. */
WEFT_API weft_future *weft_timeout_init(weft_timeout *t, weft_future *inner, uint64_t ms);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_TIME_H */
