/**
 * @file
 * weft/signal.h — Unix signals as futures: a listener for any catchable
 * signal, with any number of listeners per signal, in any runtime (Tokio's
 * tokio::signal::unix), and ctrl_c.
 *
 *     weft_signal term;
 *     weft_signal_init(&term, SIGTERM);          // from now on SIGTERM is weft's
 *     ...
 *     WEFT_AWAIT(weft_signal_recv_init(&self->recv, &term));   // one delivery
 *     ...
 *     weft_signal_destroy(&term);                // the last listener gone:
 *                                                // SIGTERM's previous action is back
 *
 * Semantics:
 *
 *  - A listener sees every delivery of its signal made after it started
 *    listening (weft_signal_init), and possibly one made just before.
 *    Deliveries that arrive while nobody polls the listener coalesce: a
 *    recv completes once for any number of deliveries since the previous
 *    recv completed (the kernel coalesces pending signals the same way).
 *  - Every listener of a signal sees every delivery, whatever runtime
 *    polls it (current_thread or multi_thread; several runtimes in one
 *    process each listen).
 *  - weft owns the delivery: it installs its own handler (sigaction) for
 *    a signal while at least one listener exists, and puts the previous
 *    action back when the last listener is destroyed. Users never touch
 *    signal masks. The handler records the delivery and wakes a thread of
 *    weft's own, which wakes the listeners' tasks.
 *  - A handler the application had installed before the first listener
 *    keeps running: weft's handler calls it after recording the delivery.
 *    An action the application installs after that replaces weft's
 *    handler, and weft sees no delivery until it is put back. The default
 *    action (SIGINT's and SIGTERM's: terminate) does not happen while
 *    weft listens. docs/process.md says exactly what happens in each case,
 *    and with threads the application creates.
 *  - A signal is delivered to a thread that does not block it. weft's own
 *    threads (multi_thread workers, the blocking pool, weft's signal
 *    thread) block every signal, so raise() called on a multi_thread
 *    worker stays pending on that worker: send a signal to the process
 *    with kill(getpid(), sig) instead.
 *
 * Signals that cannot be caught or waited for are refused with -EINVAL:
 * SIGKILL and SIGSTOP, the signals of a faulting instruction (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL: the handler's return would run the instruction
 * again), the signals the C library keeps for itself (32 and 33 with
 * glibc, below SIGRTMIN), and numbers out of range.
 */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "detail/wait_node.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup signal Signals
 * @{ */

/**
 * A listener for one signal (Tokio's tokio::signal::unix::Signal). It
 * lives in your memory; zero-initialised, it is empty. One task at a time
 * polls its recv future.
 */
typedef struct weft_signal {
    int signum;    /**< @private the signal; 0 when empty */
    uint64_t seen; /**< @private the deliveries seen so far */
} weft_signal;

/**
 * Starts listening for `signum`: from now on its deliveries wake `s`'s
 * recv futures. The first listener of a signal installs weft's handler for
 * it (see the top of this file). Returns 0; -EINVAL for a signal that
 * cannot be caught (then `s` is empty); -ENOMEM, -EAGAIN (weft's signal
 * thread could not start) or -errno of sigaction. Any thread.
 */
WEFT_API int weft_signal_init(weft_signal *s, int signum);

/**
 * Stops listening: `s` becomes empty (its recv futures then complete with
 * -EBADF; one still pending is woken and does so). The last listener of a
 * signal puts back the action the signal had before weft's handler, unless
 * the application replaced weft's handler meanwhile (then its action
 * stays). Destroying an empty listener does nothing. Any thread, but not
 * while another thread polls or drops a recv future of `s`.
 */
WEFT_API void weft_signal_destroy(weft_signal *s);

/** The signal `s` listens for, or -EBADF if it is empty. Any thread. */
WEFT_API int weft_signal_signum(const weft_signal *s);

/**
 * The next delivery of a listener's signal. Output `result`: 0 when the
 * signal was delivered (once for any number of deliveries since the
 * previous recv of this listener completed), -EBADF if the listener is
 * empty or was destroyed while waiting, -EINVAL if it is NULL.
 * Cancel-safe: a dropped recv consumes nothing; the next recv sees the
 * delivery. Polled by one task at a time per listener, on any runtime.
 */
typedef struct weft_signal_recv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_signal *sig; /**< @private */
    weft_wait_node node; /**< @private */
    int result; /**< output: 0, -EBADF or -EINVAL */
} weft_signal_recv;

/** Initialises a recv on `s` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_signal_recv_init(weft_signal_recv *f, weft_signal *s);

/**
 * Ctrl-C: completes at the first SIGINT delivered after its first poll
 * (Tokio's tokio::signal::ctrl_c). The future listens for SIGINT from its
 * first poll until it completes or is dropped, so while it waits, Ctrl-C
 * does not terminate the process; afterwards SIGINT's previous action is
 * back (unless other listeners remain). Output `result`: 0, or an error
 * of weft_signal_init. Cancel-safe (dropping it stops listening). Polled
 * on a runtime thread.
 */
typedef struct weft_ctrl_c {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_signal sig; /**< @private */
    weft_signal_recv recv; /**< @private */
    int result; /**< output: 0 or -errno */
} weft_ctrl_c;

/** Initialises a ctrl_c future (no work: it listens from its first
 *  poll). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_ctrl_c_init(weft_ctrl_c *f);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup signal_fiber Signals from fibers
 * Blocking-style calls for fibers (weft/fiber.h): each is weft_await over
 * the future of the same name, so it suspends the fiber, never the thread.
 * Each returns what the future's `result` says, or -ECANCELED (the fiber
 * was cancelled: the future was dropped, with the cancel-safety it
 * documents: a dropped recv consumes no delivery, a dropped ctrl_c stops
 * listening) or -EPERM (not called from a fiber). Fiber only.
 * @{ */

/** Waits for the next delivery of the listener's signal (weft_signal_recv):
 *  0, -EBADF (`s` empty or destroyed meanwhile) or -EINVAL (`s` NULL). */
WEFT_API int weft_fiber_signal_recv(weft_signal *s);

/** Waits for Ctrl-C, the first SIGINT delivered after the call
 *  (weft_ctrl_c): 0, or an error of weft_signal_init. While it waits,
 *  SIGINT does not terminate the process. */
WEFT_API int weft_fiber_ctrl_c(void);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_SIGNAL_H */
