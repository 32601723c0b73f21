/* A child handle: its id, signals, the reap, closing it, and the wait
 * future (pidfd readiness, or SIGCHLD deliveries). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/handle.h"
#include "process/process.h"
#include "signal/signal.h"
#include "sync/waitq.h"

static inline bool is_reaped(const struct weft__child *c) {
    return atomic_load_explicit(&c->reaped, memory_order_acquire);
}

int weft__child_try_reap(struct weft__child *c) {
    if (is_reaped(c)) return 1;
    bool release = false;
    spin_lock(&c->lock);
    if (!is_reaped(c)) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r;
        do r = waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG);
        while (r < 0 && errno == EINTR);
        bool done = true;
        if (r < 0) {
            c->error = -errno; /* ECHILD: somebody else reaped it */
        } else if (si.si_pid == 0) {
            done = false; /* still running */
        } else if (si.si_code == CLD_EXITED) {
            c->status = (weft_exit_status){si.si_status, 0, false};
        } else {
            c->status = (weft_exit_status){-1, si.si_status, si.si_code == CLD_DUMPED};
        }
        if (done) {
            release = c->sigchld_held;
            c->sigchld_held = false;
            atomic_store_explicit(&c->reaped, true, memory_order_release);
        }
    }
    spin_unlock(&c->lock);
    if (release) weft__signal_release(SIGCHLD);
    return is_reaped(c);
}

void weft__child_free(struct weft__child *c) {
    if (c->reg.reg) weft__handle_close(&c->reg);
    else if (c->pidfd >= 0) close(c->pidfd);
    free(c);
}

pid_t weft_child_pid(const weft_child *c) {
    if (!c) return -EINVAL;
    if (!c->core) return -EBADF;
    return is_reaped(c->core) ? -ESRCH : c->core->pid;
}

int weft_child_kill(weft_child *c, int sig) {
    if (!c) return -EINVAL;
    if (!c->core) return -EBADF;
    if (sig < 0 || sig >= NSIG) return -EINVAL;
    struct weft__child *k = c->core;
    int err;
    spin_lock(&k->lock);
    if (is_reaped(k)) err = -ESRCH;
    else if (k->pidfd >= 0) err = weft__pidfd_send_signal(k->pidfd, sig);
    else err = kill(k->pid, sig) < 0 ? -errno : 0; /* unreaped: the id is still its own */
    spin_unlock(&k->lock);
    return err;
}

/* The outcome of a reaped child: 0 and *st, or its error. */
static int outcome(const struct weft__child *k, weft_exit_status *st) {
    if (k->error) return k->error;
    if (st) *st = k->status;
    return 0;
}

int weft_child_try_wait(weft_child *c, weft_exit_status *status) {
    if (!c) return -EINVAL;
    if (!c->core) return -EBADF;
    if (!weft__child_try_reap(c->core)) return 0;
    int err = outcome(c->core, status);
    return err ? err : 1;
}

void weft_child_close(weft_child *c) {
    if (!c) return;
    weft_child_pipe_close(&c->in);
    weft_child_pipe_close(&c->out);
    weft_child_pipe_close(&c->err);
    struct weft__child *k = c->core;
    if (!k) return;
    c->core = NULL;
    if (k->kill_on_drop && !weft__child_try_reap(k)) {
        spin_lock(&k->lock);
        if (!is_reaped(k)) {
            if (k->pidfd >= 0) weft__pidfd_send_signal(k->pidfd, SIGKILL);
            else kill(k->pid, SIGKILL);
        }
        spin_unlock(&k->lock);
    }
    if (weft__child_try_reap(k)) {
        weft__child_free(k);
        return;
    }
    /* Futures parked on SIGCHLD for this handle poll again and see it empty
     * (those parked on the pidfd are woken when it leaves the reactor). */
    if (k->pidfd < 0) weft__signal_wake_all(SIGCHLD);
    weft__child_orphan(k);
}

/* ---- wait --------------------------------------------------------------- */

static ssize_t reap_op(int fd, void *arg) {
    (void)fd;
    return weft__child_try_reap(arg) ? 0 : -EAGAIN;
}

static weft_poll wait_ready(weft_child_wait *w, int result) {
    w->result = result ? result : outcome(w->child->core, &w->status);
    return WEFT_READY;
}

static weft_poll wait_poll(weft_future *f, weft_context *cx) {
    weft_child_wait *w = (weft_child_wait *)f;
    if (!w->child) {
        w->result = -EINVAL;
        return WEFT_READY;
    }
    struct weft__child *k = w->child->core;
    if (!k) {
        weft__io_waiter_cancel(&w->wait);
        weft__signal_cancel(&w->node);
        w->result = -EBADF;
        return WEFT_READY;
    }
    if (is_reaped(k)) {
        weft__io_waiter_cancel(&w->wait);
        weft__signal_cancel(&w->node);
        return wait_ready(w, 0);
    }
    if (k->pidfd >= 0) {
        ssize_t res;
        if (weft__io_op(k->reg.reg, cx, WEFT_INTEREST_READ, &w->wait, reap_op, k, &res) == WEFT_PENDING)
            return WEFT_PENDING;
        return wait_ready(w, (int)res);
    }
    /* SIGCHLD: look at the delivery count before trying, so that an exit
     * after the try is a delivery this future has not seen. */
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    if (!w->armed) {
        w->seen = weft__signal_count(SIGCHLD);
        w->armed = true;
    }
    for (;;) {
        if (weft__child_try_reap(k)) {
            weft__signal_cancel(&w->node);
            return wait_ready(w, 0);
        }
        bool closed;
        if (weft__signal_poll(SIGCHLD, &w->seen, &w->node, cx, &closed) == WEFT_PENDING) {
            cx->budget++;
            return WEFT_PENDING;
        }
    }
}

static void wait_drop(weft_future *f) {
    weft_child_wait *w = (weft_child_wait *)f;
    weft__io_waiter_cancel(&w->wait);
    weft__signal_cancel(&w->node);
}

static const weft_future_vtable wait_vtable = {wait_poll, wait_drop, "weft_child_wait"};

weft_future *weft_child_wait_init(weft_child_wait *f, weft_child *c) {
    weft_future_init(&f->base, &wait_vtable);
    f->child = c;
    weft__io_waiter_init(&f->wait);
    node_init(&f->node);
    f->seen = 0;
    f->armed = false;
    f->status = (weft_exit_status){-1, 0, false};
    f->result = 0;
    return &f->base;
}
