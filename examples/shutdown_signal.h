/*
 * shutdown_signal.h — how the echo examples learn that they should stop:
 * the only place that knows how SIGINT and SIGTERM arrive. Everything else
 * in an example's shutdown (stop accepting, cancel a token, close a
 * tracker, wait out a grace period) is ordinary weft code that does not
 * care.
 *
 * The signals come through weft's signal API (weft/signal.h): one listener
 * each for SIGINT and SIGTERM, made first thing in main; from then on the
 * two signals no longer terminate the process, and none is missed.
 *
 *     shutdown_signals sigs;
 *     shutdown_signals_listen(&sigs);            // in main, before serving
 *     ... WEFT_AWAIT(shutdown_signal_init(&self->sig, &sigs));   // ready on SIGINT/SIGTERM
 *     shutdown_signals_destroy(&sigs);           // after the runtime is gone
 */
#ifndef WEFT_EXAMPLES_SHUTDOWN_SIGNAL_H
#define WEFT_EXAMPLES_SHUTDOWN_SIGNAL_H

#include <signal.h>

#include "weft.h"

/* The listeners, one per signal. */
typedef struct shutdown_signals {
    weft_signal intr, term;
} shutdown_signals;

/* Starts listening for SIGINT and SIGTERM. Returns 0, or -errno (then
 * nothing listens). */
static inline int shutdown_signals_listen(shutdown_signals *s) {
    int err = weft_signal_init(&s->intr, SIGINT);
    if (!err && (err = weft_signal_init(&s->term, SIGTERM)) != 0) weft_signal_destroy(&s->intr);
    return err;
}

/* Stops listening: the signals' previous actions are back. No
 * shutdown_signal future may be waiting. */
static inline void shutdown_signals_destroy(shutdown_signals *s) {
    weft_signal_destroy(&s->intr);
    weft_signal_destroy(&s->term);
}

/* The future: ready with `signo` (SIGINT or SIGTERM) when one arrives, or
 * with `result` < 0 if waiting failed. Each await takes one delivery, so a
 * second Ctrl-C is a second await. Cancel-safe (a dropped wait consumes
 * no delivery). */
typedef struct shutdown_signal {
    WEFT_CORO_FIELDS;
    shutdown_signals *sigs;
    weft_signal_recv intr, term;
    weft_select sel;
    weft_future *kids[2];
    int signo;
    int result;
} shutdown_signal;

WEFT_ASYNC(shutdown_signal, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(WEFT_SELECT(&self->sel, self->kids, WEFT_SELECT_DROP_LOSERS,
                           weft_signal_recv_init(&self->intr, &self->sigs->intr),
                           weft_signal_recv_init(&self->term, &self->sigs->term)));
    self->result = self->sel.winner == 0 ? self->intr.result : self->term.result;
    if (self->result == 0) self->signo = self->sel.winner == 0 ? SIGINT : SIGTERM;
    WEFT_END();
}

/* Initialises a wait for the next SIGINT or SIGTERM heard by `sigs`.
 * Returns `&f->base`. */
static inline weft_future *shutdown_signal_init(shutdown_signal *f, shutdown_signals *sigs) {
    shutdown_signal_start(f);
    f->sigs = sigs;
    f->signo = 0;
    f->result = 0;
    return &f->base;
}

#endif
