/*
 * shutdown_signal.h — how the examples learn that they should stop: the
 * only place that knows how SIGINT and SIGTERM arrive. Everything else in
 * an example's shutdown (stop accepting, cancel a token, close a tracker,
 * wait out a grace period) is ordinary weft code that does not care.
 *
 * Today the signals are blocked and read from a signalfd registered with
 * the reactor. When weft has a signal API of its own, the body of
 * shutdown_signal_init is the one thing to change.
 *
 *     int sfd = shutdown_signals_block();        // in main, before any thread starts
 *     weft_async_fd_adopt(&sig, rt, sfd);
 *     ... WEFT_AWAIT(shutdown_signal_init(&self->sig, &sig));   // ready on SIGINT/SIGTERM
 */
#ifndef WEFT_EXAMPLES_SHUTDOWN_SIGNAL_H
#define WEFT_EXAMPLES_SHUTDOWN_SIGNAL_H

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "weft.h"

/*
 * Blocks SIGINT and SIGTERM in the calling thread (threads started later
 * inherit the mask, so call it first thing in main) and returns a
 * descriptor that reads them (signalfd), or -errno.
 */
static inline int shutdown_signals_block(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (err) return -err;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* The future: ready with `signo` (SIGINT or SIGTERM) when one arrives, or
 * with `result` < 0 if waiting failed. Each await takes one signal, so a
 * second Ctrl-C is a second await. */
typedef struct shutdown_signal {
    WEFT_CORO_FIELDS;
    weft_async_fd *sfd;
    weft_async_fd_ready r;
    int signo;
    int result;
} shutdown_signal;

WEFT_ASYNC(shutdown_signal, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_async_fd_ready_init(&self->r, self->sfd, WEFT_INTEREST_READ));
        if (self->r.result < 0) {
            self->result = self->r.result;
            WEFT_RETURN();
        }
        struct signalfd_siginfo si;
        ssize_t n = read(weft_async_fd_fd(self->sfd), &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            self->signo = (int)si.ssi_signo;
            WEFT_RETURN();
        }
        if (n < 0 && errno == EAGAIN) {
            weft_async_fd_clear_ready(self->sfd, &self->r.ready);
        } else if (n < 0 && errno != EINTR) {
            self->result = -errno;
            WEFT_RETURN();
        }
    }
    WEFT_END();
}

/* Initialises a wait for the next SIGINT or SIGTERM read from `sfd` (the
 * descriptor of shutdown_signals_block, adopted). Returns `&f->base`. */
static inline weft_future *shutdown_signal_init(shutdown_signal *f, weft_async_fd *sfd) {
    shutdown_signal_start(f);
    f->sfd = sfd;
    f->signo = 0;
    f->result = 0;
    return &f->base;
}

#endif
