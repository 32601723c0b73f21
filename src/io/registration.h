/*
 * A registration: one descriptor watched by a driver, modelled on Tokio's
 * ScheduledIo.
 *
 * The state word (one atomic 64-bit value) holds
 *   bits  0..4   readiness (WEFT_IO_READABLE, _WRITABLE, _READ_CLOSED,
 *                _WRITE_CLOSED, _ERROR), set by the driver, cleared by tasks
 *   bit   8/9    a task waits to read / to write (its waker is in the slot)
 *   bit   10     the driver shut down
 *   bits 32..63  the tick: incremented by every event the driver delivers
 * so that a task can clear readiness "only if nothing arrived since I
 * looked" with one compare-and-swap, and the driver learns whom to wake in
 * the same atomic operation that publishes the readiness.
 *
 * The two waker slots (reader, writer) sit behind a tiny spin lock: the
 * critical sections are a waker clone or take.
 *
 * Lifetime: the object that owns the registration (a stream, a socket)
 * deregisters it once; the driver then stops watching the descriptor, the
 * descriptor is closed, and the memory is freed at the driver's next turn,
 * when no event already collected can still name it. Each registration
 * holds a reference on its runtime, so the driver outlives it.
 */
#ifndef WEFT_IO_REGISTRATION_H
#define WEFT_IO_REGISTRATION_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "io/driver.h"
#include "weft/io.h"

#define REG_READY_MASK 0x1fu
#define REG_WAIT_READ (1u << 8)
#define REG_WAIT_WRITE (1u << 9)
#define REG_SHUTDOWN (1u << 10)
#define REG_TICK_SHIFT 32
#define REG_TICK_ONE ((uint64_t)1 << REG_TICK_SHIFT)

/* Readiness that lets a reader / writer try its operation. */
#define READ_READY (WEFT_IO_READABLE | WEFT_IO_READ_CLOSED | WEFT_IO_ERROR)
#define WRITE_READY (WEFT_IO_WRITABLE | WEFT_IO_WRITE_CLOSED | WEFT_IO_ERROR)
/* Readiness that is never cleared once seen. */
#define CLOSED_BITS (WEFT_IO_READ_CLOSED | WEFT_IO_WRITE_CLOSED)

typedef struct weft_io_reg {
    _Atomic uint64_t state;
    _Atomic uint32_t lock;    /* spin lock for the waker slots */
    _Atomic uint32_t users;   /* handles sharing it (split halves) */
    weft_waker reader, writer;
    weft_driver *driver;
    weft_runtime *rt;
    struct weft_io_reg *prev, *next; /* live list, pending list, cache */
    int fd;
    int poll_index;   /* poll backend: index in its table, -1 if none */
    bool listed;      /* in the driver's live list */
    bool close_fd;    /* deregistration closes fd */
} weft_io_reg;

/* The waker-slot spin lock. */
static inline void weft__reg_lock(weft_io_reg *r) {
    for (;;) {
        if (!atomic_exchange_explicit(&r->lock, 1, memory_order_acquire)) return;
        unsigned spins = 0;
        while (atomic_load_explicit(&r->lock, memory_order_relaxed)) {
            if (++spins > 100) {
                sched_yield();
                spins = 0;
            } else {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            }
        }
    }
}
static inline void weft__reg_unlock(weft_io_reg *r) {
    atomic_store_explicit(&r->lock, 0, memory_order_release);
}

/* Registers `fd` with `rt` (NULL: the current runtime) with initial
 * readiness `initial` (WEFT_IO_* bits; READABLE|WRITABLE means "try the
 * operation first"). On success the registration owns fd. -EINVAL (no
 * runtime), -ENOMEM, -ESHUTDOWN, or the backend's error. Any thread. */
int weft__io_register(weft_runtime *rt, int fd, uint32_t initial, weft_io_reg **out);

/* Stops watching, closes the fd (unless released), and hands the memory to
 * the driver to free at its next turn. Any thread; once. */
void weft__io_deregister(weft_io_reg *r);

/* Handles: shared use counts for split halves. */
static inline void weft__io_share(weft_io_reg *r) {
    atomic_fetch_add_explicit(&r->users, 1, memory_order_relaxed);
}
/* Drops one user; deregisters on the last. */
void weft__io_unshare(weft_io_reg *r);

/*
 * Is `r` ready for `dir` (WEFT_INTEREST_READ / _WRITE)? If so, returns
 * WEFT_READY with the readiness and tick in *ev (ev->ready == 0 and
 * *shutdown set when only the driver's shutdown made it "ready"). If not,
 * stores the task's waker in the direction's slot and returns WEFT_PENDING:
 * the next event for that direction wakes it. Any thread.
 */
weft_poll weft__io_poll_ready(weft_io_reg *r, weft_context *cx, int dir, weft_io_ready *ev,
                              bool *shutdown);

/* Empties the `dir` waker slot (a pending operation was dropped). */
void weft__io_forget(weft_io_reg *r, int dir);

/* Clears the bits ev->ready if the tick is still ev->tick. */
void weft__io_clear_ready(weft_io_reg *r, const weft_io_ready *ev);

/* Driver side: ORs `bits` into the readiness, advances the tick, and wakes
 * the waiters of the directions that became ready. Driver thread. */
void weft__io_set_ready(weft_io_reg *r, uint32_t bits);

/* Reads the current readiness bits (tests, poll backend). */
static inline uint64_t weft__io_state(weft_io_reg *r) {
    return atomic_load_explicit(&r->state, memory_order_seq_cst);
}

/*
 * The leaf operations every stream and socket uses: try the system call,
 * and wait only when it says EAGAIN. Each spends one unit of the cooperative
 * budget (refunded when it returns pending). *res gets bytes or -errno.
 * `sock`: the fd is a socket (writes use send/sendmsg with MSG_NOSIGNAL).
 * `stream`: a byte stream, so a short read/write means the kernel buffer
 * is drained/full and readiness is cleared without another system call.
 */
weft_poll weft__io_read(weft_io_reg *r, weft_context *cx, void *buf, size_t len, ssize_t *res);
weft_poll weft__io_readv(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                         ssize_t *res);
weft_poll weft__io_write(weft_io_reg *r, weft_context *cx, const void *buf, size_t len, bool sock,
                         ssize_t *res);
weft_poll weft__io_writev(weft_io_reg *r, weft_context *cx, const struct iovec *iov, int iovcnt,
                          bool sock, ssize_t *res);

/* Waits for `dir` readiness, then runs op(r->fd, arg) which returns >= 0 or
 * -errno; -EAGAIN clears the readiness and waits again. The general form of
 * the above (accept, recvmsg, sendmsg, connect completion). */
typedef ssize_t (*weft_io_op)(int fd, void *arg);
weft_poll weft__io_op(weft_io_reg *r, weft_context *cx, int dir, weft_io_op op, void *arg,
                      ssize_t *res);

#endif
