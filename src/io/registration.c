/*
 * The readiness protocol of a registration (see registration.h) and the
 * leaf operations built on it. This is the hot path of every socket: one
 * atomic load when readiness is already known, then the system call.
 *
 * Why nothing is lost:
 *  - A task that finds no readiness stores its waker and sets its waiter
 *    bit with one atomic OR that also returns the readiness. The driver
 *    publishes readiness and clears the waiter bits it will serve with one
 *    compare-and-swap. Both act on the same word, so either the task sees
 *    the readiness (and does not wait) or the driver sees the waiter bit
 *    (and wakes it, after taking the waker under the slot lock, which the
 *    task released only after storing it).
 *  - A task clears readiness after EAGAIN only if the tick is the one it
 *    saw before the system call: an event delivered in between advanced the
 *    tick, and the clear is skipped.
 */
#include "io/registration.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

static inline uint64_t dir_mask(int dir) { return dir == WEFT_INTEREST_READ ? READ_READY : WRITE_READY; }

static void wake_waiters(weft_io_reg *r, uint64_t which) {
    weft_waker rd = WEFT_WAKER_NONE, wr = WEFT_WAKER_NONE;
    weft__reg_lock(r);
    if (which & REG_WAIT_READ) rd = weft_waker_take(&r->reader);
    if (which & REG_WAIT_WRITE) wr = weft_waker_take(&r->writer);
    weft__reg_unlock(r);
    weft_waker_wake(rd);
    weft_waker_wake(wr);
}

void weft__io_set_ready(weft_io_reg *r, uint32_t bits) {
    uint64_t cur = atomic_load_explicit(&r->state, memory_order_relaxed), next, wake;
    do {
        wake = 0;
        if (bits & READ_READY) wake |= cur & REG_WAIT_READ;
        if (bits & WRITE_READY) wake |= cur & REG_WAIT_WRITE;
        next = ((cur | (bits & REG_READY_MASK)) & ~wake) + REG_TICK_ONE;
    } while (!atomic_compare_exchange_weak_explicit(&r->state, &cur, next, memory_order_seq_cst,
                                                    memory_order_relaxed));
    if (wake) wake_waiters(r, wake);
}

weft_poll weft__io_poll_ready(weft_io_reg *r, weft_context *cx, int dir, weft_io_ready *ev,
                              bool *shutdown) {
    uint64_t mask = dir_mask(dir);
    uint64_t w = atomic_load_explicit(&r->state, memory_order_acquire);
    if (WEFT_UNLIKELY(!(w & (mask | REG_SHUTDOWN)))) {
        uint64_t bit = dir == WEFT_INTEREST_READ ? REG_WAIT_READ : REG_WAIT_WRITE;
        weft_waker *slot = dir == WEFT_INTEREST_READ ? &r->reader : &r->writer;
        weft_waker old = WEFT_WAKER_NONE;
        weft__reg_lock(r);
        w = atomic_fetch_or_explicit(&r->state, bit, memory_order_seq_cst);
        if (!(w & (mask | REG_SHUTDOWN))) {
            /* The driver, if it sees the bit from now on, takes the slot
             * under the lock we hold, so it gets this waker. */
            old = weft_waker_replace(slot, &cx->waker);
            weft__reg_unlock(r);
            weft_waker_drop(old);
            if (r->driver->backend->interest) r->driver->backend->interest(r->driver, r);
            return WEFT_PENDING;
        }
        /* Readiness arrived meanwhile: do not wait (and leave no waker). */
        atomic_fetch_and_explicit(&r->state, ~bit, memory_order_relaxed);
        weft__reg_unlock(r);
    }
    ev->ready = (uint32_t)(w & mask);
    ev->tick = (uint32_t)(w >> REG_TICK_SHIFT);
    *shutdown = ev->ready == 0;
    return WEFT_READY;
}

void weft__io_forget(weft_io_reg *r, int dir) {
    uint64_t bit = dir == WEFT_INTEREST_READ ? REG_WAIT_READ : REG_WAIT_WRITE;
    weft__reg_lock(r);
    weft_waker w = weft_waker_take(dir == WEFT_INTEREST_READ ? &r->reader : &r->writer);
    atomic_fetch_and_explicit(&r->state, ~bit, memory_order_relaxed);
    weft__reg_unlock(r);
    weft_waker_drop(w);
}

void weft__io_clear_ready(weft_io_reg *r, const weft_io_ready *ev) {
    uint64_t cur = atomic_load_explicit(&r->state, memory_order_relaxed);
    for (;;) {
        if ((uint32_t)(cur >> REG_TICK_SHIFT) != ev->tick) return; /* an event came since */
        uint64_t next = cur & ~(uint64_t)ev->ready;
        if (next == cur) return;
        if (atomic_compare_exchange_weak_explicit(&r->state, &cur, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return;
    }
}

/* After a short read or write on a byte stream the kernel buffer is empty
 * (full): clear that one bit, keeping the closed/error bits. */
static inline void clear_partial(weft_io_reg *r, const weft_io_ready *ev, uint32_t bit) {
    weft_io_ready c = {ev->ready & bit, ev->tick};
    if (c.ready) weft__io_clear_ready(r, &c);
}

/*
 * The shape of every leaf: spend budget; loop { wait for readiness; try the
 * call; on EAGAIN clear (with the tick) and loop }. Clearing on EAGAIN
 * clears every bit seen, the closed ones too: a descriptor that says
 * EAGAIN is not closed, so such a bit was stale (a socket registered before
 * it connected reports a hang-up), and keeping it would spin.
 */
#define LEAF(r, cx, dir, res, call, on_done)                                   \
    do {                                                                       \
        if (!weft_coop_spend(cx)) return WEFT_PENDING;                         \
        for (;;) {                                                             \
            weft_io_ready ev;                                                  \
            bool sd;                                                           \
            if (weft__io_poll_ready((r), (cx), (dir), &ev, &sd) == WEFT_PENDING) { \
                (cx)->budget++;                                                \
                return WEFT_PENDING;                                           \
            }                                                                  \
            if (WEFT_UNLIKELY(sd)) {                                           \
                *(res) = -ESHUTDOWN;                                           \
                return WEFT_READY;                                             \
            }                                                                  \
            ssize_t n_ = (call);                                               \
            if (n_ >= 0) {                                                     \
                on_done;                                                       \
                *(res) = n_;                                                   \
                return WEFT_READY;                                             \
            }                                                                  \
            int e_ = errno;                                                    \
            if (e_ == EAGAIN || e_ == EWOULDBLOCK) {                           \
                weft__io_clear_ready((r), &ev);                                \
                continue;                                                      \
            }                                                                  \
            if (e_ == EINTR) continue;                                         \
            *(res) = -e_;                                                      \
            return WEFT_READY;                                                 \
        }                                                                      \
    } while (0)

weft_poll weft__io_read(weft_io_reg *r, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    if (WEFT_UNLIKELY(len == 0)) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_READ, res, read(r->fd, buf, len),
         if (n_ > 0 && (size_t)n_ < len) clear_partial(r, &ev, WEFT_IO_READABLE));
}

static size_t iov_total(const struct iovec *iov, int iovcnt) {
    size_t t = 0;
    for (int i = 0; i < iovcnt; i++) t += iov[i].iov_len;
    return t;
}

weft_poll weft__io_readv(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                         ssize_t *res) {
    if (iovcnt > IOV_MAX) iovcnt = IOV_MAX;
    size_t total = iov_total(iov, iovcnt);
    if (total == 0) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_READ, res, readv(r->fd, iov, iovcnt),
         if (n_ > 0 && (size_t)n_ < total) clear_partial(r, &ev, WEFT_IO_READABLE));
}

weft_poll weft__io_write(weft_io_reg *r, weft_context *cx, const void *buf, size_t len, bool sock,
                         ssize_t *res) {
    if (WEFT_UNLIKELY(len == 0)) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_WRITE, res,
         sock ? send(r->fd, buf, len, MSG_NOSIGNAL) : write(r->fd, buf, len),
         if ((size_t)n_ < len) clear_partial(r, &ev, WEFT_IO_WRITABLE));
}

static ssize_t do_writev(int fd, const struct iovec *iov, int iovcnt, bool sock) {
    if (!sock) return writev(fd, iov, iovcnt);
    struct msghdr m = {0};
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

weft_poll weft__io_writev(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                          bool sock, ssize_t *res) {
    if (iovcnt > IOV_MAX) iovcnt = IOV_MAX;
    size_t total = iov_total(iov, iovcnt);
    if (total == 0) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_WRITE, res, do_writev(r->fd, iov, iovcnt, sock),
         if ((size_t)n_ < total) clear_partial(r, &ev, WEFT_IO_WRITABLE));
}

/* op returns >= 0 or -errno; adapt it to the LEAF shape (errno). */
static inline ssize_t run_op(weft_io_op op, int fd, void *arg) {
    ssize_t n = op(fd, arg);
    if (n < 0) {
        errno = (int)-n;
        return -1;
    }
    return n;
}

weft_poll weft__io_op(weft_io_reg *r, weft_context *cx, int dir, weft_io_op op, void *arg,
                      ssize_t *res) {
    LEAF(r, cx, dir, res, run_op(op, r->fd, arg), (void)0);
}
