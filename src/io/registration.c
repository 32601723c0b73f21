/*
 * The readiness protocol of a registration (see registration.h) and the
 * leaf operations built on it. This is the hot path of every socket: one
 * atomic load when readiness is already known, then the system call.
 *
 * Why no wake-up is lost. A waiter is either a direction's slot (a stream's
 * reader or writer) or a node in the waiter list (a future's); both are
 * guarded by the registration's spinlock, and the direction's waiter bit
 * in the state word says "somebody may be queued".
 *
 *  - To wait, a task takes the lock, sets its direction's waiter bit with
 *    an atomic OR that also returns the readiness, and queues itself (slot
 *    or node) only if that readiness still says "not ready", before it
 *    releases the lock.
 *  - The driver publishes readiness, advances the tick and clears the
 *    waiter bits of the directions that became ready in one
 *    compare-and-swap on the same word; if a bit was set it then takes the
 *    lock and wakes the slot and every queued node of that direction.
 *  - Both sides act on one word, so the OR and the CAS are ordered: if the
 *    OR came first, the driver saw the bit and, taking the lock the task
 *    held while queueing, finds the task queued; if the CAS came first,
 *    the OR returns the readiness and the task does not wait. A task that
 *    queues after the CAS (the readiness was consumed and cleared in
 *    between) set the bit again itself, so the next event wakes it.
 *  - The bit is cleared by a task only under the lock and only when no
 *    slot and no node of that direction is queued, so no queued waiter is
 *    ever left without its bit (apart from the moment between the driver's
 *    CAS and its wake, when the driver itself is committed to wake them).
 *  - A task clears readiness after EAGAIN only if the tick is the one it
 *    saw before the system call: an event delivered in between advanced
 *    the tick, and the clear is skipped.
 *  - Close and driver shutdown set their bit (REG_CLOSED, REG_SHUTDOWN)
 *    before they take the lock to wake every slot and node; a task that
 *    takes the lock after them finds the bit in its OR's result and does
 *    not queue, so nobody sleeps on a closed registration.
 *
 * Waking every node of a direction is bounded: the driver moves exactly
 * the nodes queued when it takes the lock to a private list, then wakes
 * them in batches outside the lock. A node queued while it wakes was
 * queued after the event (it set its own bit) and waits for the next one.
 * A node's owner may settle it at any time under the lock (drop, or a new
 * poll): it unlinks it from whichever list holds it and keeps its waker.
 * The waking side's last touch of a node is the store of IOW_IDLE, after
 * it took the waker; an owner that reads IOW_IDLE without the lock may
 * reuse or free the node at once.
 */
#include "io/registration.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

static inline uint64_t dir_mask(int dir) { return dir == WEFT_INTEREST_READ ? READ_READY : WRITE_READY; }
static inline uint64_t dir_bit(int dir) { return dir == WEFT_INTEREST_READ ? REG_WAIT_READ : REG_WAIT_WRITE; }
static inline int dir_index(int dir) { return dir == WEFT_INTEREST_READ ? 0 : 1; }
static inline weft_waker *dir_slot(weft_io_reg *r, int dir) {
    return dir == WEFT_INTEREST_READ ? &r->reader : &r->writer;
}

#define waiter_of(l) weft__container_of(l, weft_io_waiter, link)

static inline uint32_t waiter_state(const weft_io_waiter *w) {
    return __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
}
static inline void waiter_set(weft_io_waiter *w, uint32_t s) {
    __atomic_store_n(&w->state, s, __ATOMIC_RELEASE);
}

/* ---- wakers woken after the lock is released ------------------------------ */

#define WAKE_BATCH 32

typedef struct wake_batch {
    unsigned n;
    weft_waker w[WAKE_BATCH];
} wake_batch;

static inline void wb_push(wake_batch *b, weft_waker w) {
    if (w.vtable) b->w[b->n++] = w;
}
static inline void wb_wake(wake_batch *b) {
    for (unsigned i = 0; i < b->n; i++) weft_waker_wake(b->w[i]);
    b->n = 0;
}

/* Under the lock: the last node of `dir` left; clear the bit if the slot
 * is empty too (nobody else needs the event). */
static inline void clear_bit_if_unused(weft_io_reg *r, int dir) {
    if (r->nwait[dir_index(dir)] == 0 && weft_waker_is_none(dir_slot(r, dir)))
        atomic_fetch_and_explicit(&r->state, ~dir_bit(dir), memory_order_release);
}

/* Under the lock: takes `w` out of whichever list holds it (the waiter
 * list, or a waking thread's private list) and returns its waker for the
 * caller to drop after unlocking. */
static weft_waker settle_locked(weft_io_reg *r, weft_io_waiter *w) {
    uint32_t s = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
    if (s != IOW_IDLE) {
        weft__list_remove(&w->link);
        if (s == IOW_QUEUED) r->nwait[dir_index((int)w->dir)]--;
        waiter_set(w, IOW_IDLE);
    }
    return weft_waker_take(&w->waker);
}

/* Under the lock: queues `w` for `dir` with the waker of `cx` (refreshing
 * the waker if it is queued already). Returns the waker it replaced. */
static weft_waker park_locked(weft_io_reg *r, weft_io_waiter *w, int dir, const weft_context *cx) {
    uint32_t s = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
    if (s == IOW_QUEUED && (int)w->dir == dir) return weft_waker_replace(&w->waker, &cx->waker);
    /* Idle, or being woken (take it back from the waking thread's list).
     * A node is only ever linked to the registration it is polled with. */
    weft_waker old = settle_locked(r, w);
    w->waker = weft_waker_clone(&cx->waker);
    w->reg = r;
    w->dir = (uint32_t)dir;
    weft__list_push_back(&r->waiters, &w->link);
    r->nwait[dir_index(dir)]++;
    waiter_set(w, IOW_QUEUED);
    return old;
}

/* ---- the driver side ---------------------------------------------------------- */

/* Wakes the slots and every queued node of the directions in `which`. */
static void wake_waiters(weft_io_reg *r, uint64_t which) {
    wake_batch wb = {0};
    weft_link mine;
    weft__list_init(&mine);
    spin_lock(&r->lock);
    if (which & REG_WAIT_READ) wb_push(&wb, weft_waker_take(&r->reader));
    if (which & REG_WAIT_WRITE) wb_push(&wb, weft_waker_take(&r->writer));
    weft__list_for_each_safe(l, tmp, &r->waiters) {
        weft_io_waiter *w = waiter_of(l);
        if (!(which & dir_bit((int)w->dir))) continue;
        weft__list_remove(l);
        r->nwait[dir_index((int)w->dir)]--;
        weft__list_push_back(&mine, l);
        waiter_set(w, IOW_WAKING);
    }
    for (;;) {
        weft_link *l;
        while (wb.n < WAKE_BATCH && (l = weft__list_pop_front(&mine))) {
            weft_io_waiter *w = waiter_of(l);
            wb_push(&wb, weft_waker_take(&w->waker));
            waiter_set(w, IOW_IDLE); /* last touch */
        }
        bool more = !weft__list_empty(&mine);
        spin_unlock(&r->lock);
        wb_wake(&wb);
        if (!more) return;
        spin_lock(&r->lock); /* owners may have settled nodes of `mine` meanwhile */
    }
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

/* Moves up to `room` wakers (slots, then nodes) into `out`. Lock held. */
static size_t take_all_locked(weft_io_reg *r, weft_waker *out, size_t room) {
    size_t n = 0;
    weft_waker *slots[2] = {&r->reader, &r->writer};
    for (int i = 0; i < 2 && n < room; i++)
        if (!weft_waker_is_none(slots[i])) out[n++] = weft_waker_take(slots[i]);
    weft_link *l;
    while (n < room && (l = weft__list_pop_front(&r->waiters))) {
        weft_io_waiter *w = waiter_of(l);
        r->nwait[dir_index((int)w->dir)]--;
        weft_waker k = weft_waker_take(&w->waker);
        if (k.vtable) out[n++] = k;
        waiter_set(w, IOW_IDLE);
    }
    return n;
}

size_t weft__io_take_for_shutdown(weft_io_reg *r, weft_waker *out, size_t room) {
    /* From here on no task queues itself: poll_ready sees the bit. */
    atomic_fetch_or_explicit(&r->state, REG_SHUTDOWN, memory_order_seq_cst);
    spin_lock(&r->lock);
    size_t n = take_all_locked(r, out, room);
    spin_unlock(&r->lock);
    return n;
}

void weft__io_close_waiters(weft_io_reg *r) {
    atomic_fetch_or_explicit(&r->state, REG_CLOSED, memory_order_seq_cst);
    weft_waker batch[WAKE_BATCH];
    for (;;) {
        spin_lock(&r->lock);
        size_t n = take_all_locked(r, batch, WAKE_BATCH);
        spin_unlock(&r->lock);
        for (size_t i = 0; i < n; i++) weft_waker_wake(batch[i]);
        if (n < WAKE_BATCH) return;
    }
}

void weft__io_wake_slot(weft_io_reg *r, int dir) {
    spin_lock(&r->lock);
    weft_waker w = weft_waker_take(dir_slot(r, dir));
    clear_bit_if_unused(r, dir);
    spin_unlock(&r->lock);
    weft_waker_wake(w);
}

/* ---- the task side ------------------------------------------------------------ */

weft_poll weft__io_poll_ready(weft_io_reg *r, weft_context *cx, int dir, weft_io_waiter *node,
                              weft_io_ready *ev, int *err) {
    uint64_t mask = dir_mask(dir);
    uint64_t w = atomic_load_explicit(&r->state, memory_order_acquire);
    if (WEFT_UNLIKELY(!(w & (mask | REG_SHUTDOWN | REG_CLOSED)))) {
        uint64_t bit = dir_bit(dir);
        weft_waker old;
        spin_lock(&r->lock);
        w = atomic_fetch_or_explicit(&r->state, bit, memory_order_seq_cst);
        if (!(w & (mask | REG_SHUTDOWN | REG_CLOSED))) {
            /* The driver, if it sees the bit from now on, takes the lock we
             * hold before it wakes anybody, so it finds us queued. */
            old = node ? park_locked(r, node, dir, cx) : weft_waker_replace(dir_slot(r, dir), &cx->waker);
            spin_unlock(&r->lock);
            weft_waker_drop(old);
            if (r->driver->backend->interest) r->driver->backend->interest(r->driver, r);
            return WEFT_PENDING;
        }
        /* Readiness arrived meanwhile: do not wait, and leave no waker. */
        old = node ? settle_locked(r, node) : WEFT_WAKER_NONE;
        clear_bit_if_unused(r, dir);
        spin_unlock(&r->lock);
        weft_waker_drop(old);
    } else if (node && WEFT_UNLIKELY(waiter_state(node) != IOW_IDLE)) {
        /* Ready, but still queued from an earlier pending poll. */
        weft_io_reg *q = node->reg;
        spin_lock(&q->lock);
        weft_waker old = settle_locked(q, node);
        clear_bit_if_unused(q, (int)node->dir);
        spin_unlock(&q->lock);
        weft_waker_drop(old);
    }
    if (WEFT_UNLIKELY(w & REG_CLOSED)) {
        *err = -EBADF;
    } else if (WEFT_UNLIKELY(!(w & mask))) {
        *err = -ESHUTDOWN;
    } else {
        *err = 0;
    }
    ev->ready = (uint32_t)(w & mask);
    ev->tick = (uint32_t)(w >> REG_TICK_SHIFT);
    return WEFT_READY;
}

void weft__io_waiter_cancel(weft_io_waiter *node) {
    if (waiter_state(node) != IOW_IDLE) {
        weft_io_reg *r = node->reg;
        spin_lock(&r->lock);
        weft_waker old = settle_locked(r, node);
        clear_bit_if_unused(r, (int)node->dir);
        spin_unlock(&r->lock);
        weft_waker_drop(old);
        return;
    }
    weft_waker_drop(weft_waker_take(&node->waker));
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
 * The shape of every leaf: refuse a closed handle; spend budget; loop {
 * wait for readiness; try the call; on EAGAIN clear (with the tick) and
 * loop }. Clearing on EAGAIN clears every bit seen, the closed ones too: a
 * descriptor that says EAGAIN is not closed, so such a bit was stale (a
 * socket registered before it connected reports a hang-up), and keeping
 * it would spin.
 */
#define LEAF(r, cx, dir, node, res, call, on_done)                             \
    do {                                                                       \
        if (WEFT_UNLIKELY(!(r))) {                                             \
            *(res) = -EBADF;                                                   \
            return WEFT_READY;                                                 \
        }                                                                      \
        if (!weft_coop_spend(cx)) return WEFT_PENDING;                         \
        for (;;) {                                                             \
            weft_io_ready ev;                                                  \
            int err_;                                                          \
            if (weft__io_poll_ready((r), (cx), (dir), (node), &ev, &err_) == WEFT_PENDING) { \
                (cx)->budget++;                                                \
                return WEFT_PENDING;                                           \
            }                                                                  \
            if (WEFT_UNLIKELY(err_)) {                                         \
                *(res) = err_;                                                 \
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
    if (WEFT_UNLIKELY(len == 0 && r)) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_READ, NULL, res, read(r->fd, buf, len),
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
    if (total == 0 && r) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_READ, NULL, res, readv(r->fd, iov, iovcnt),
         if (n_ > 0 && (size_t)n_ < total) clear_partial(r, &ev, WEFT_IO_READABLE));
}

weft_poll weft__io_write(weft_io_reg *r, weft_context *cx, const void *buf, size_t len, bool sock,
                         ssize_t *res) {
    if (WEFT_UNLIKELY(len == 0 && r)) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_WRITE, NULL, res,
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
    if (total == 0 && r) {
        *res = 0;
        return WEFT_READY;
    }
    LEAF(r, cx, WEFT_INTEREST_WRITE, NULL, res, do_writev(r->fd, iov, iovcnt, sock),
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

weft_poll weft__io_op(weft_io_reg *r, weft_context *cx, int dir, weft_io_waiter *w, weft_io_op op,
                      void *arg, ssize_t *res) {
    LEAF(r, cx, dir, w, res, run_op(op, r->fd, arg), (void)0);
}
