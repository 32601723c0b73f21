/*
 * The poll(2) backend: the portable fallback that proves the driver
 * interface. A pipe carries wakeups.
 *
 * poll is level-triggered, so the backend watches only what some task is
 * waiting for: a registration is in the pollfd set for the directions whose
 * waiter bit is set (POLLIN for a reader, POLLOUT for a writer). Delivering
 * an event clears those waiter bits (weft__io_set_ready), so the descriptor
 * leaves the set until a task waits on it again: edge semantics, emulated,
 * and nothing spins on a descriptor that stays readable while nobody reads.
 *
 * The set is rebuilt, under reg_lock, at each wait. A task that starts
 * waiting while the driver sits in poll() on another thread writes to the
 * pipe so that the set is rebuilt with it (`waiting` tells it to).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/driver.h"
#include "io/registration.h"

/* How soon a wait that could not grow its set looks again. */
#define RETRY_MS 10

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

typedef struct poll_impl {
    /* The registry, under reg_lock. */
    weft_io_reg **regs;
    size_t n, cap;
    /* The set of one wait (driver thread; filled under reg_lock). */
    struct pollfd *fds;
    weft_io_reg **owners;
    size_t fds_cap;
    _Atomic int waiting; /* the driver is in (or entering) poll() */
} poll_impl;

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -errno;
    return 0;
}

static bool grow_set(poll_impl *p, size_t want);

static int poll_init(weft_driver *d) {
    poll_impl *p = calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    atomic_init(&p->waiting, 0);
    /* The set always has room for the wakeup pipe: a wait that could not
     * allocate it would sleep deaf to unparks. */
    if (!grow_set(p, 1)) {
        free(p->fds);
        free(p);
        return -ENOMEM;
    }
    if (pipe(d->wake_fd) < 0) {
        int err = -errno;
        free(p->fds);
        free(p->owners);
        free(p);
        return err;
    }
    int err = set_flags(d->wake_fd[0]);
    if (!err) err = set_flags(d->wake_fd[1]);
    if (err) {
        close(d->wake_fd[0]);
        close(d->wake_fd[1]);
        d->wake_fd[0] = d->wake_fd[1] = -1;
        free(p->fds);
        free(p->owners);
        free(p);
        return err;
    }
    d->impl = p;
    return 0;
}

static void poll_shutdown(weft_driver *d) {
    poll_impl *p = d->impl;
    p->n = 0;
}

static void poll_free_wakeup(weft_driver *d) {
    poll_impl *p = d->impl;
    for (int i = 0; i < 2; i++) {
        if (d->wake_fd[i] >= 0) close(d->wake_fd[i]);
        d->wake_fd[i] = -1;
    }
    if (p) {
        free(p->regs);
        free(p->fds);
        free(p->owners);
        free(p);
    }
    d->impl = NULL;
}

static bool grow_set(poll_impl *p, size_t want) {
    if (want <= p->fds_cap) return true;
    size_t cap = p->fds_cap ? p->fds_cap : 64;
    while (cap < want) cap *= 2;
    struct pollfd *fds = realloc(p->fds, cap * sizeof *fds);
    if (!fds) return false;
    p->fds = fds;
    weft_io_reg **owners = realloc(p->owners, cap * sizeof *owners);
    if (!owners) return false;
    p->owners = owners;
    p->fds_cap = cap;
    return true;
}

static inline uint32_t to_ready(short e) {
    uint32_t b = 0;
    if (e & (POLLIN | POLLPRI)) b |= WEFT_IO_READABLE;
    if (e & POLLOUT) b |= WEFT_IO_WRITABLE;
    if (e & POLLRDHUP) b |= WEFT_IO_READ_CLOSED;
    if (e & POLLHUP) b |= WEFT_IO_READ_CLOSED | WEFT_IO_WRITE_CLOSED;
    if (e & (POLLERR | POLLNVAL)) b |= WEFT_IO_ERROR;
    return b;
}

static int poll_wait(weft_driver *d, int timeout_ms) {
    poll_impl *p = d->impl;
    pthread_mutex_lock(&d->reg_lock);
    size_t n = 0;
    if (grow_set(p, 1)) {
        p->fds[n] = (struct pollfd){.fd = d->wake_fd[0], .events = POLLIN};
        p->owners[n++] = NULL;
    }
    /* Announce the wait before reading the waiter bits: a task that sets its
     * bit after we read it sees `waiting` and writes to the pipe. */
    atomic_store_explicit(&p->waiting, 1, memory_order_seq_cst);
    /* Out of memory, the registrations that do not fit are looked at again
     * soon instead of never. */
    if (!grow_set(p, p->n + 1) && (timeout_ms < 0 || timeout_ms > RETRY_MS)) timeout_ms = RETRY_MS;
    for (size_t i = 0; i < p->n && n < p->fds_cap; i++) {
        weft_io_reg *r = p->regs[i];
        uint64_t w = weft__io_state(r);
        short events = 0;
        if ((w & REG_WAIT_READ) && !(w & READ_READY)) events |= POLLIN | POLLRDHUP;
        if ((w & REG_WAIT_WRITE) && !(w & WRITE_READY)) events |= POLLOUT;
        if (!events) continue;
        p->fds[n] = (struct pollfd){.fd = r->fd, .events = events};
        p->owners[n++] = r;
    }
    pthread_mutex_unlock(&d->reg_lock);

    int got = poll(p->fds, (nfds_t)n, timeout_ms);
    atomic_store_explicit(&p->waiting, 0, memory_order_relaxed);
    if (got < 0) return errno == EINTR ? 0 : -errno;
    /* Registrations in the set that were deregistered meanwhile are still
     * allocated (freed at the next turn), so dispatching to them is safe. */
    for (size_t i = 0; i < n && got > 0; i++) {
        short re = p->fds[i].revents;
        if (!re) continue;
        got--;
        if (!p->owners[i]) {
            char buf[64];
            while (read(d->wake_fd[0], buf, sizeof buf) > 0) {
            }
            continue;
        }
        weft__io_set_ready(p->owners[i], to_ready(re));
    }
    return 0;
}

static void poll_wakeup(weft_driver *d) {
    char c = 1;
    ssize_t r = write(d->wake_fd[1], &c, 1);
    (void)r; /* EAGAIN: the pipe is full, a wake is pending anyway */
}

static int poll_add(weft_driver *d, weft_io_reg *r) {
    poll_impl *p = d->impl;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        weft_io_reg **regs = realloc(p->regs, cap * sizeof *regs);
        if (!regs) return -ENOMEM;
        p->regs = regs;
        p->cap = cap;
    }
    r->poll_index = (int)p->n;
    p->regs[p->n++] = r;
    return 0;
}

static void poll_del(weft_driver *d, weft_io_reg *r) {
    poll_impl *p = d->impl;
    size_t i = (size_t)r->poll_index;
    if (r->poll_index < 0 || i >= p->n || p->regs[i] != r) return;
    p->regs[i] = p->regs[--p->n];
    p->regs[i]->poll_index = (int)i;
    r->poll_index = -1;
}

/* A task began waiting on `r`: if the driver is (about to be) blocked in
 * poll() without it, interrupt it so that the set is rebuilt. */
static void poll_interest(weft_driver *d, weft_io_reg *r) {
    (void)r;
    poll_impl *p = d->impl;
    if (p && atomic_load_explicit(&p->waiting, memory_order_seq_cst)) poll_wakeup(d);
}

const weft_driver_backend weft__poll_backend = {
    .name = "poll",
    .init = poll_init,
    .shutdown = poll_shutdown,
    .free_wakeup = poll_free_wakeup,
    .wait = poll_wait,
    .wakeup = poll_wakeup,
    .add = poll_add,
    .del = poll_del,
    .interest = poll_interest,
};
