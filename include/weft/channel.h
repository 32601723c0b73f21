/*
 * weft/channel.h — channels for any fixed-size C type: oneshot, mpsc
 * (bounded and unbounded), broadcast and watch, after Tokio's.
 *
 * Common rules (see docs/sync.md):
 *
 *  - The element size is given at creation; a message is that many bytes,
 *    copied in by the sender and out by the receiver (memcpy). Channels do
 *    not know what a message owns: if it holds pointers, drain the channel
 *    (try_recv until it fails) before dropping the last receiver.
 *  - Each channel is one allocation made at creation, shared by its ends
 *    (reference counted). Bounded channels never allocate per message; the
 *    unbounded mpsc grows its ring by doubling (amortised, no allocation per
 *    message once it has reached its working size).
 *  - An end (tx/rx handle) is used by one owner at a time but the channel
 *    may be shared by any number of threads and tasks: every function is
 *    safe to call from any thread. Futures must be polled by one task (or
 *    weft_wait_blocking) at a time, and the handle they refer to must stay
 *    alive until they are ready or dropped.
 *  - Every waiting future spends the task's cooperative budget once per
 *    poll; a future that could complete but finds the budget spent returns
 *    WEFT_PENDING (after waking its task) without consuming or sending
 *    anything.
 *  - Errors: -WEFT_ECLOSED when the other side is gone, -EAGAIN when a
 *    try_ operation would have to wait, -WEFT_ELAGGED when a broadcast
 *    receiver fell behind (weft/error.h), -ENOMEM, -EINVAL.
 *  - Cancel safety, per operation, is stated below. "Cancel-safe" means:
 *    dropping the future before it returned ready loses no message and
 *    leaves the channel as if the operation had never started.
 */
#ifndef WEFT_CHANNEL_H
#define WEFT_CHANNEL_H

#include <errno.h>

#include "future.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* oneshot: one value, one sender, one receiver                             */
/* ======================================================================== */

typedef struct weft_oneshot_tx weft_oneshot_tx; /**< the sending end (opaque) */
typedef struct weft_oneshot_rx weft_oneshot_rx; /**< the receiving end (opaque) */

/**
 * Creates a oneshot channel for one value of `elem_size` bytes (>= 1).
 * Stores the ends in `*tx` and `*rx` and returns 0, or -EINVAL, -ENOMEM.
 * One allocation. Any thread.
 */
WEFT_API int weft_oneshot_create(size_t elem_size, weft_oneshot_tx **tx, weft_oneshot_rx **rx);

/**
 * Sends the value at `msg` and releases the sender (in every case: do not
 * use `tx` afterwards). Returns 0, or -WEFT_ECLOSED if the receiver was
 * dropped or closed (the value was not taken; it is still the caller's).
 * Never waits. Any thread.
 */
WEFT_API int weft_oneshot_send(weft_oneshot_tx *tx, const void *msg);

/** Releases the sender without sending: the receiver then gets -WEFT_ECLOSED. Any thread. */
WEFT_API void weft_oneshot_tx_drop(weft_oneshot_tx *tx);

/** True if the receiver was dropped or closed (a send would fail). Any thread. */
WEFT_API bool weft_oneshot_tx_is_closed(weft_oneshot_tx *tx);

/**
 * Waits until the receiver is dropped or closed (Tokio's Sender::closed), for
 * a producer that wants to give up early. Ready (no output) then.
 * Cancel-safe.
 */
typedef struct weft_oneshot_closed {
    weft_future base;
    weft_oneshot_tx *tx;
} weft_oneshot_closed;

/** Initialises a closed() future of `tx`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_oneshot_closed_init(weft_oneshot_closed *f, weft_oneshot_tx *tx);

/**
 * The receive future: ready with `result` 0 and the value copied to `out`,
 * or -WEFT_ECLOSED if the sender was dropped without sending (or the value
 * was already received). Cancel-safe: the value is only taken by the poll
 * that returns ready.
 */
typedef struct weft_oneshot_recv {
    weft_future base;
    weft_oneshot_rx *rx;
    void *out;
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_oneshot_recv;

/** Initialises a receive on `rx` into `out` (elem_size bytes). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_oneshot_recv_init(weft_oneshot_recv *f, weft_oneshot_rx *rx, void *out);

/**
 * Takes the value if it was sent: 0 (copied to `out`), -EAGAIN (not yet),
 * or -WEFT_ECLOSED (the sender is gone without sending, or the value was
 * already taken). Never waits. Any thread.
 */
WEFT_API int weft_oneshot_try_recv(weft_oneshot_rx *rx, void *out);

/**
 * Closes the receiving side: a later send fails with -WEFT_ECLOSED, and the
 * sender's closed() completes. A value sent before can still be taken with
 * try_recv. Any thread.
 */
WEFT_API void weft_oneshot_rx_close(weft_oneshot_rx *rx);

/** Releases the receiver (closing it). Any thread. */
WEFT_API void weft_oneshot_rx_drop(weft_oneshot_rx *rx);

/* ======================================================================== */
/* mpsc: many senders, one receiver, FIFO                                   */
/* ======================================================================== */

typedef struct weft_mpsc_tx weft_mpsc_tx; /**< a sending end (opaque; clone for more senders) */
typedef struct weft_mpsc_rx weft_mpsc_rx; /**< the receiving end (opaque) */

/**
 * Creates a bounded mpsc channel of `capacity` (>= 1) messages of
 * `elem_size` (>= 1) bytes: one allocation holds the ring; sending never
 * allocates. Returns 0, -EINVAL or -ENOMEM. Any thread.
 */
WEFT_API int weft_mpsc_bounded(size_t elem_size, size_t capacity, weft_mpsc_tx **tx, weft_mpsc_rx **rx);

/**
 * Creates an unbounded mpsc channel of `elem_size`-byte messages. Its ring
 * starts small and doubles when full (and shrinks back when drained after
 * growing large), so the cost per message is amortised O(1) with no
 * allocation once it has reached its working size. Returns 0, -EINVAL or
 * -ENOMEM. Any thread.
 */
WEFT_API int weft_mpsc_unbounded(size_t elem_size, weft_mpsc_tx **tx, weft_mpsc_rx **rx);

/** Returns another sender for the same channel (counted). Any thread. */
WEFT_API weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx);

/**
 * Releases a sender. When the last sender is gone (and no reserved permit
 * is outstanding) the receiver, once it has drained every message, sees
 * -WEFT_ECLOSED. Any thread.
 */
WEFT_API void weft_mpsc_tx_drop(weft_mpsc_tx *tx);

/** True if the receiver was dropped or closed (every send would fail). Any thread. */
WEFT_API bool weft_mpsc_tx_is_closed(weft_mpsc_tx *tx);

/**
 * Sends without waiting. Returns 0 (the message was copied in),
 * -EAGAIN (bounded and full, or other senders are waiting for room:
 * try_send never overtakes them), -WEFT_ECLOSED (the receiver is gone), or
 * -ENOMEM (unbounded and the ring could not grow). On error the message
 * was not taken. Any thread. On an unbounded channel this is the send.
 */
WEFT_API int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *msg);

/**
 * The send future: waits for room (senders are served in FIFO order), then
 * copies the message at `msg` (which must stay valid until the future is
 * ready or dropped) into the channel. Ready with `result` 0 (sent),
 * -WEFT_ECLOSED (the receiver is gone; not sent) or -ENOMEM (unbounded
 * channel that could not grow).
 * Cancel-safe: the message is copied only by the poll that returns ready,
 * so a dropped send never sent it (the caller still has it); a slot that
 * had been reserved for it is passed to the next waiting sender.
 */
typedef struct weft_mpsc_send {
    weft_future base;
    weft_mpsc_tx *tx;
    const void *msg;
    weft_wait_node node;
    int result; /**< output: 0, -WEFT_ECLOSED or -ENOMEM */
} weft_mpsc_send;

/** Initialises a send of the message at `msg` on `tx`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_mpsc_send_init(weft_mpsc_send *f, weft_mpsc_tx *tx, const void *msg);

/**
 * A reserved slot in a bounded channel (Tokio's Permit): the holder may send
 * exactly one message with weft_mpsc_permit_send, which never waits, or
 * give the slot back with weft_mpsc_permit_release. A permit keeps the
 * channel open for the receiver (it counts like a sender).
 */
typedef struct weft_mpsc_permit {
    struct weft_mpsc *chan; /* NULL once used */
} weft_mpsc_permit;

/**
 * The reserve future: ready with `result` 0 and `permit` holding a slot,
 * or -WEFT_ECLOSED (the receiver is gone; `permit` is empty). On an
 * unbounded channel it is ready at once.
 * Cancel-safe: a slot reserved for it but not yet taken by a ready poll is
 * passed to the next waiting sender.
 */
typedef struct weft_mpsc_reserve {
    weft_future base;
    weft_mpsc_tx *tx;
    weft_wait_node node;
    weft_mpsc_permit permit; /**< output */
    int result;              /**< output: 0 or -WEFT_ECLOSED */
} weft_mpsc_reserve;

/** Initialises a reserve on `tx`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_mpsc_reserve_init(weft_mpsc_reserve *f, weft_mpsc_tx *tx);

/** Reserves a slot without waiting: 0 (`*permit` holds it), -EAGAIN or -WEFT_ECLOSED. Any thread. */
WEFT_API int weft_mpsc_try_reserve(weft_mpsc_tx *tx, weft_mpsc_permit *permit);

/**
 * Sends the message at `msg` into the reserved slot and consumes the
 * permit. Never waits, never fails for lack of room. Returns 0, or
 * -WEFT_ECLOSED if the receiver is gone (the message is discarded). Any
 * thread.
 */
WEFT_API int weft_mpsc_permit_send(weft_mpsc_permit *permit, const void *msg);

/** Gives the reserved slot back (to the next waiting sender). Any thread. */
WEFT_API void weft_mpsc_permit_release(weft_mpsc_permit *permit);

/**
 * The receive future: ready with `result` 0 and the oldest message copied
 * to `out`, or -WEFT_ECLOSED once every sender (and permit) is gone and
 * every message was received, or after weft_mpsc_rx_close once drained.
 * Cancel-safe: a message is removed only by the poll that returns ready.
 */
typedef struct weft_mpsc_recv {
    weft_future base;
    weft_mpsc_rx *rx;
    void *out;
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_mpsc_recv;

/** Initialises a receive on `rx` into `out` (elem_size bytes). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_mpsc_recv_init(weft_mpsc_recv *f, weft_mpsc_rx *rx, void *out);

/**
 * Receives without waiting: 0 (copied to `out`), -EAGAIN (empty, senders
 * remain) or -WEFT_ECLOSED (empty and closed). Any thread.
 */
WEFT_API int weft_mpsc_try_recv(weft_mpsc_rx *rx, void *out);

/**
 * Closes the channel from the receiving side: sends and reserves fail with
 * -WEFT_ECLOSED from now on (waiting ones complete with it), while the
 * messages already in the channel, and those sent through permits reserved
 * before, can still be received. Any thread.
 */
WEFT_API void weft_mpsc_rx_close(weft_mpsc_rx *rx);

/** Closes and releases the receiver; messages still in the channel are discarded. Any thread. */
WEFT_API void weft_mpsc_rx_drop(weft_mpsc_rx *rx);

/** Messages in the channel right now. Any thread; may be stale. */
WEFT_API size_t weft_mpsc_len(weft_mpsc_rx *rx);

/* ======================================================================== */
/* broadcast: many senders, many receivers, each receiver sees every message */
/* ======================================================================== */

typedef struct weft_broadcast_tx weft_broadcast_tx; /**< a sending end (opaque) */
typedef struct weft_broadcast_rx weft_broadcast_rx; /**< a receiving end (opaque) */

/**
 * Creates a broadcast channel keeping the last `capacity` messages
 * (rounded up to a power of two, >= 1) of `elem_size` bytes. A receiver
 * sees every message sent after it subscribed; a receiver more than
 * `capacity` messages behind loses the oldest ones and is told how many
 * (WEFT_ELAGGED). Senders never wait. `rx` may be NULL (no first receiver).
 * One allocation for the channel, one per receiver. Returns 0, -EINVAL or
 * -ENOMEM. Any thread.
 */
WEFT_API int weft_broadcast_create(size_t elem_size, size_t capacity, weft_broadcast_tx **tx,
                                   weft_broadcast_rx **rx);

/** Returns another sender for the same channel. Any thread. */
WEFT_API weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx);

/** Releases a sender; after the last one, receivers drain what remains, then get -WEFT_ECLOSED. Any thread. */
WEFT_API void weft_broadcast_tx_drop(weft_broadcast_tx *tx);

/**
 * Sends a copy of the message at `msg` to every current receiver,
 * overwriting the oldest retained message if the ring is full. Never waits.
 * Returns the number of receivers (> 0), or -WEFT_ECLOSED if there are none
 * (the message is not stored). Any thread.
 */
WEFT_API long weft_broadcast_send(weft_broadcast_tx *tx, const void *msg);

/** A new receiver that sees the messages sent from now on. NULL on -ENOMEM. Any thread. */
WEFT_API weft_broadcast_rx *weft_broadcast_subscribe(weft_broadcast_tx *tx);

/**
 * A new receiver at the same position as `rx` (it will see what `rx` has
 * not received yet; weft_broadcast_subscribe starts at the newest instead).
 * NULL on -ENOMEM. Any thread.
 */
WEFT_API weft_broadcast_rx *weft_broadcast_rx_clone(weft_broadcast_rx *rx);

/** Releases a receiver. Any thread. */
WEFT_API void weft_broadcast_rx_drop(weft_broadcast_rx *rx);

/** Messages `rx` has not received yet (including ones it lagged past). Any thread. */
WEFT_API uint64_t weft_broadcast_rx_pending(weft_broadcast_rx *rx);

/**
 * The receive future: ready with `result`
 *   0                the next message was copied to `out`;
 *   -WEFT_ELAGGED    the receiver fell behind: `missed` messages were
 *                    overwritten before it read them; it now stands at the
 *                    oldest retained message (the next receive gets it);
 *   -WEFT_ECLOSED    every sender is gone and the receiver has drained.
 * Cancel-safe: the receiver's position advances only in the poll that
 * returns ready.
 */
typedef struct weft_broadcast_recv {
    weft_future base;
    weft_broadcast_rx *rx;
    void *out;
    weft_wait_node node;
    int result;      /**< output */
    uint64_t missed; /**< output when result == -WEFT_ELAGGED */
} weft_broadcast_recv;

/** Initialises a receive on `rx` into `out`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_broadcast_recv_init(weft_broadcast_recv *f, weft_broadcast_rx *rx, void *out);

/**
 * Receives without waiting: 0, -EAGAIN (nothing new), -WEFT_ELAGGED (with
 * `*missed` set if `missed` is not NULL), -WEFT_ECLOSED. Any thread.
 */
WEFT_API int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed);

/* ======================================================================== */
/* watch: one sender, many receivers, the latest value                       */
/* ======================================================================== */

typedef struct weft_watch_tx weft_watch_tx; /**< the sending end (opaque) */
typedef struct weft_watch_rx weft_watch_rx; /**< a receiving end (opaque) */

/**
 * Creates a watch channel holding one value of `elem_size` bytes,
 * initially a copy of `initial` (zeros if NULL). Receivers read the latest
 * value and can wait until it changes. Returns 0, -EINVAL or -ENOMEM. One
 * allocation for the channel, one per receiver. Any thread.
 */
WEFT_API int weft_watch_create(size_t elem_size, const void *initial, weft_watch_tx **tx,
                               weft_watch_rx **rx);

/**
 * Replaces the value with a copy of `value` and wakes every changed()
 * waiter. Returns 0, or -WEFT_ECLOSED if no receiver remains (the value is
 * then not stored, as in Tokio). Never waits. Any thread.
 */
WEFT_API int weft_watch_send(weft_watch_tx *tx, const void *value);

/**
 * Stores `value` even if no receiver remains, copying the previous value
 * to `old` (if not NULL). Wakes every changed() waiter. Any thread.
 */
WEFT_API void weft_watch_send_replace(weft_watch_tx *tx, const void *value, void *old);

/**
 * Modifies the value in place: calls `fn(value, arg)` under the channel's
 * lock (keep it short; it must not call into this channel), then wakes
 * every waiter if `fn` returned true. Any thread.
 */
WEFT_API void weft_watch_send_modify(weft_watch_tx *tx, bool (*fn)(void *value, void *arg), void *arg);

/** Copies the current value to `out`. Any thread. */
WEFT_API void weft_watch_tx_borrow(weft_watch_tx *tx, void *out);

/** A new receiver; the current value counts as seen. NULL on -ENOMEM. Any thread. */
WEFT_API weft_watch_rx *weft_watch_subscribe(weft_watch_tx *tx);

/** Number of receivers. Any thread. */
WEFT_API size_t weft_watch_receiver_count(weft_watch_tx *tx);

/** Releases the sender: waiting and later changed() futures complete with -WEFT_ECLOSED. Any thread. */
WEFT_API void weft_watch_tx_drop(weft_watch_tx *tx);

/** Copies the current value to `out` without marking it seen. Any thread. */
WEFT_API void weft_watch_borrow(weft_watch_rx *rx, void *out);

/** Copies the current value to `out` and marks it seen. Any thread. */
WEFT_API void weft_watch_borrow_and_update(weft_watch_rx *rx, void *out);

/**
 * 1 if a value was sent since `rx` last marked one seen, 0 if not,
 * -WEFT_ECLOSED if the sender is gone (and nothing new). Any thread.
 */
WEFT_API int weft_watch_has_changed(weft_watch_rx *rx);

/** A new receiver with the same seen version as `rx`. NULL on -ENOMEM. Any thread. */
WEFT_API weft_watch_rx *weft_watch_rx_clone(weft_watch_rx *rx);

/** Releases a receiver. Any thread. */
WEFT_API void weft_watch_rx_drop(weft_watch_rx *rx);

/**
 * The changed future: ready with `result` 0 when the value changed since
 * `rx` last marked it seen (it then marks it seen; read it with
 * weft_watch_borrow), or -WEFT_ECLOSED if the sender is gone with nothing
 * new. Several values sent meanwhile count as one change.
 * Cancel-safe: marking seen happens only in the poll that returns ready.
 */
typedef struct weft_watch_changed {
    weft_future base;
    weft_watch_rx *rx;
    weft_wait_node node;
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_watch_changed;

/** Initialises a changed() future of `rx`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_watch_changed_init(weft_watch_changed *f, weft_watch_rx *rx);

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CHANNEL_H */
