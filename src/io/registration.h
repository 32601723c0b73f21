/*
 * A registration: one descriptor watched by a driver, modelled on Tokio's
 * ScheduledIo.
 *
 * The state word (one atomic 64-bit value) holds
 *   bits  0..4   readiness (WEFT_IO_READABLE, _WRITABLE, _READ_CLOSED,
 *                _WRITE_CLOSED, _ERROR), set by the driver, cleared by tasks
 *   bit   8/9    some task waits to read / to write (in that direction's
 *                slot or in the waiter list)
 *   bit   10     the driver shut down
 *   bit   11     the owner closed the registration (or gave its fd back)
 *   bits 32..63  the tick: incremented by every event the driver delivers
 * so that a task can clear readiness "only if nothing arrived since I
 * looked" with one compare-and-swap, and the driver learns whether anybody
 * waits in the same atomic operation that publishes the readiness.
 *
 * Who waits where (behind the registration's spinlock, whose critical
 * sections are link updates and waker clones/takes):
 *  - a byte stream's poll_read / poll_write: one waker slot per direction
 *    (reader, writer). A stream has one reader and one writer at a time.
 *  - every future with a struct of its own (accept, datagram send/recv,
 *    connect, async_fd readiness): a weft_io_waiter node embedded in the
 *    future, linked into `waiters`. Any number of them may wait at once.
 * Readiness wakes the slot and every waiter of that direction.
 *
 * Lifetime: the object that owns the registration (a stream, a socket)
 * deregisters it once; the driver then stops watching the descriptor, the
 * descriptor is closed (unless given back), and the memory is freed at the
 * driver's next turn, when no event already collected can still name it.
 * Each registration holds a reference on its runtime, so the driver
 * outlives it.
 */
#ifndef WEFT_IO_REGISTRATION_H
#define WEFT_IO_REGISTRATION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "io/driver.h"
#include "util/list.h"
#include "util/spinlock.h"
#include "weft/io.h"

#define REG_READY_MASK 0x1fu
#define REG_WAIT_READ (1u << 8)
#define REG_WAIT_WRITE (1u << 9)
#define REG_SHUTDOWN (1u << 10)
#define REG_CLOSED (1u << 11)
#define REG_TICK_SHIFT 32
#define REG_TICK_ONE ((uint64_t)1 << REG_TICK_SHIFT)

/* Readiness that lets a reader / writer try its operation. */
#define READ_READY (WEFT_IO_READABLE | WEFT_IO_READ_CLOSED | WEFT_IO_ERROR)
#define WRITE_READY (WEFT_IO_WRITABLE | WEFT_IO_WRITE_CLOSED | WEFT_IO_ERROR)
/* Readiness that is never cleared once seen. */
#define CLOSED_BITS (WEFT_IO_READ_CLOSED | WEFT_IO_WRITE_CLOSED)

/* weft_io_waiter.state */
enum {
    IOW_IDLE = 0,   /* in no list */
    IOW_QUEUED = 1, /* in reg->waiters, counted in reg->nwait[] */
    IOW_WAKING = 2, /* in a waking thread's private list, about to be woken */
};

typedef struct weft_io_reg {
    _Atomic uint64_t state;
    weft_spinlock lock;      /* the slots, the waiter list and its counts */
    _Atomic uint32_t users;  /* handles sharing it (split halves) */
    weft_waker reader, writer;
    weft_link waiters;       /* weft_io_waiter nodes, oldest first */
    uint32_t nwait[2];       /* queued nodes per direction (read, write) */
    weft_driver *driver;
    weft_runtime *rt;
    weft_link node;          /* in the driver's live, pending or cache list */
    int fd;
    int poll_index;   /* poll backend: index in its table, -1 if none */
    bool listed;      /* in the driver's live list */
    bool close_fd;    /* deregistration closes fd */
} weft_io_reg;

#define reg_of_node(l) weft__container_of(l, weft_io_reg, node)

/* Registers `fd` with `rt` (NULL: the current runtime) with initial
 * readiness `initial` (WEFT_IO_* bits; READABLE|WRITABLE means "try the
 * operation first"). On success the registration owns fd. -EINVAL (no
 * runtime), -ENOMEM, -ESHUTDOWN, or the backend's error. Any thread. */
int weft__io_register(weft_runtime *rt, int fd, uint32_t initial, weft_io_reg **out);

/* Marks `r` closed and wakes every slot and node waiting on it; from then
 * on poll_ready answers -EBADF and nobody queues. Any thread. */
void weft__io_close_waiters(weft_io_reg *r);

/* Marks `r` closed, wakes everybody waiting on it (their next poll sees the
 * empty handle, or -EBADF), stops watching, closes the fd (unless
 * close_fd was cleared) and hands the memory to the driver to free at its
 * next turn. Any thread; once. */
void weft__io_deregister(weft_io_reg *r);

/* Handles: shared use counts for split halves. */
static inline void weft__io_share(weft_io_reg *r) {
    atomic_fetch_add_explicit(&r->users, 1, memory_order_relaxed);
}
/* Drops one user; deregisters on the last. */
void weft__io_unshare(weft_io_reg *r);

/* Takes and wakes the waker in the `dir` slot (a split half closed, so a
 * stream operation pending on it returns -EBADF at its next poll). */
void weft__io_wake_slot(weft_io_reg *r, int dir);

/*
 * Is `r` ready for `dir` (WEFT_INTEREST_READ / _WRITE)? If so, returns
 * WEFT_READY with the readiness and tick in *ev and *err = 0; or with
 * *err = -ESHUTDOWN (the driver shut down) or -EBADF (the registration
 * was closed). If not, stores the task's waker — in `w` (linked into the
 * waiter list) or, when `w` is NULL, in the direction's slot — and returns
 * WEFT_PENDING: the next event for that direction wakes it. A READY return
 * always leaves `w` unlinked. Any thread.
 */
weft_poll weft__io_poll_ready(weft_io_reg *r, weft_context *cx, int dir, weft_io_waiter *w,
                              weft_io_ready *ev, int *err);

/* Prepares a future's wait node (no work; the future may still be copied). */
static inline void weft__io_waiter_init(weft_io_waiter *w) {
    w->link.prev = w->link.next = NULL;
    w->waker = WEFT_WAKER_NONE;
    w->reg = NULL;
    w->state = IOW_IDLE;
    w->dir = 0;
}

/* The drop of a waiting future: leaves the list if linked and releases the
 * waker. Cheap (no lock) when the node is idle. Any thread. */
void weft__io_waiter_cancel(weft_io_waiter *w);

/* Clears the bits ev->ready if the tick is still ev->tick. */
void weft__io_clear_ready(weft_io_reg *r, const weft_io_ready *ev);

/* Driver side: ORs `bits` into the readiness, advances the tick, and wakes
 * the waiters of the directions that became ready. Driver thread. */
void weft__io_set_ready(weft_io_reg *r, uint32_t bits);

/* Driver shutdown: marks `r` shut down and moves up to `room` of its
 * waiters' wakers into `out` (unlinking their nodes). Returns how many it
 * moved; call again while it fills `out`. Driver's reg_lock held. */
size_t weft__io_take_for_shutdown(weft_io_reg *r, weft_waker *out, size_t room);

/* Reads the current state word (tests, poll backend). */
static inline uint64_t weft__io_state(weft_io_reg *r) {
    return atomic_load_explicit(&r->state, memory_order_seq_cst);
}

/*
 * The leaf operations every stream uses: try the system call, and wait (in
 * the direction's slot) only when it says EAGAIN. Each spends one unit of
 * the cooperative budget (refunded when it returns pending). *res gets
 * bytes or -errno; -EBADF when `r` is NULL (a closed handle).
 * `sock`: the fd is a socket (writes use send/sendmsg with MSG_NOSIGNAL).
 * A short read/write on a byte stream means the kernel buffer is
 * drained/full, so readiness is cleared without another system call.
 */
weft_poll weft__io_read(weft_io_reg *r, weft_context *cx, void *buf, size_t len, ssize_t *res);
weft_poll weft__io_readv(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                         ssize_t *res);
weft_poll weft__io_write(weft_io_reg *r, weft_context *cx, const void *buf, size_t len, bool sock,
                         ssize_t *res);
weft_poll weft__io_writev(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                          bool sock, ssize_t *res);

/* Waits (in the node `w`) for `dir` readiness, then runs op(r->fd, arg)
 * which returns >= 0 or -errno; -EAGAIN clears the readiness and waits
 * again. The general form for futures (accept, recvmsg, sendmsg). -EBADF
 * when `r` is NULL. */
typedef ssize_t (*weft_io_op)(int fd, void *arg);
weft_poll weft__io_op(weft_io_reg *r, weft_context *cx, int dir, weft_io_waiter *w, weft_io_op op,
                      void *arg, ssize_t *res);

#endif
