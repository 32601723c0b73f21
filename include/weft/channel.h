/**
 * @file
 * weft/channel.h — channels for any fixed-size C type: oneshot, mpsc
 * (bounded and unbounded), broadcast and watch, after Tokio's.
 *
 * Common rules (see docs/sync.md):
 *
 *  - The element size is given at creation; a message is that many bytes,
 *    copied in by the sender and out by the receiver.
 *  - Messages that own memory: give the channel a destructor at creation
 *    (weft_channel_options.drop, see weft/value.h). A message sent into the
 *    channel is the channel's until a receiver takes it; the channel runs
 *    the destructor exactly once on every message nobody takes: unreceived
 *    when the last receiver goes (or the channel ends), a watch value that
 *    is replaced, a broadcast slot that is reused (whether or not every
 *    receiver read it) or left at the end, a oneshot value never received.
 *    A send that fails does not take the message: it is still the caller's.
 *    broadcast and watch give every receiver its own copy, made by
 *    weft_channel_options.clone (bytewise if NULL), and destroy their own.
 *    The destructor and the clone function may run while the channel's
 *    lock is held: keep them short, and never call into the same channel
 *    from them.
 *  - Each channel is one allocation made at creation, shared by its ends
 *    (reference counted). Bounded channels never allocate per message; the
 *    unbounded mpsc grows its ring by doubling (amortised, no allocation per
 *    message once it has reached its working size).
 *  - Ends: a `_create` gives the first ends, `_clone` / `_subscribe` more;
 *    each end is destroyed once with its `_destroy(&end)`, which sets your
 *    handle to NULL. Every function takes a NULL end: operations fail with
 *    -WEFT_ECLOSED, predicates answer "closed", destroying again does
 *    nothing. A copy of the pointer is not a new end: using an end through
 *    a copy after it was destroyed is a use-after-free, which weft cannot
 *    catch cheaply.
 *  - An end is used by one owner at a time but the channel may be shared by
 *    any number of threads and tasks: every function is safe to call from
 *    any thread. Futures must be polled by one task (or weft_wait_blocking)
 *    at a time, and the end they refer to must stay alive until they are
 *    ready or dropped.
 *  - Every waiting future spends the task's cooperative budget once per
 *    poll; a future that could complete but finds the budget spent returns
 *    WEFT_PENDING (after waking its task) without consuming or sending
 *    anything.
 *  - Errors: -WEFT_ECLOSED when the other side is gone, the channel was
 *    shut down or the end is NULL, -EAGAIN when a try_ operation would have
 *    to wait, -WEFT_ELAGGED when a broadcast receiver fell behind
 *    (weft/error.h), -ENOMEM, -EINVAL.
 *  - Cancel safety, per operation, is stated below. "Cancel-safe" means:
 *    dropping the future before it returned ready loses no message and
 *    leaves the channel as if the operation had never started.
 */
#ifndef WEFT_CHANNEL_H
#define WEFT_CHANNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "future.h"
#include "value.h"
#include "detail/wait_node.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup channels Channels: common rules and options
 * @{ */
/**
 * What a channel does with its messages. Every field is optional:
 * zero-initialise the struct (`weft_channel_options o = {0};`) and set what
 * you need; passing NULL for the options means all defaults (messages own
 * nothing, copies are bytewise). The channel copies the options at creation.
 */
typedef struct weft_channel_options {
    /** Destroys a message nobody took (see the rules above). NULL: nothing to destroy. */
    weft_drop_fn drop;
    /** broadcast and watch: makes the copy each receiver gets. NULL: bytewise. Ignored by oneshot and mpsc. */
    weft_clone_fn clone;
} weft_channel_options;

/** @} */

/* ======================================================================== */
/* oneshot: one value, one sender, one receiver                             */
/* ======================================================================== */

/** @defgroup oneshot oneshot: one value, one sender, one receiver
 * @{ */
typedef struct weft_oneshot_tx weft_oneshot_tx; /**< the sending end (opaque) */
typedef struct weft_oneshot_rx weft_oneshot_rx; /**< the receiving end (opaque) */

/**
 * Creates a oneshot channel for one value of `elem_size` bytes (>= 1),
 * with `opts` (NULL: defaults). Stores the ends in `*tx` and `*rx` and
 * returns 0, or -EINVAL, -ENOMEM. One allocation. Any thread.
 */
WEFT_API int weft_oneshot_create(size_t elem_size, const weft_channel_options *opts, weft_oneshot_tx **tx,
                                 weft_oneshot_rx **rx);

/**
 * Sends the value at `msg`: on 0 it was moved into the channel. Returns
 * -WEFT_ECLOSED if the receiver was destroyed or shut down, if a value was
 * already sent (a oneshot carries one), or if `tx` is NULL; the value was
 * then not taken and is still the caller's. The sender stays alive: destroy
 * it as usual. Never waits. Any thread.
 */
WEFT_API int weft_oneshot_send(weft_oneshot_tx *tx, const void *msg);

/**
 * Destroys the sender and sets `*tx` to NULL. If it sent nothing, the
 * receiver then gets -WEFT_ECLOSED. Does nothing if `tx` or `*tx` is NULL.
 * Any thread.
 */
WEFT_API void weft_oneshot_tx_destroy(weft_oneshot_tx **tx);

/** True if the receiver was destroyed or shut down (a send would fail), or `tx` is NULL. Any thread. */
WEFT_API bool weft_oneshot_tx_is_closed(weft_oneshot_tx *tx);

/**
 * Waits until the receiver is destroyed or shut down (Tokio's
 * Sender::closed), for a producer that wants to give up early. Ready (no
 * output) then, or at once if `tx` is NULL. Cancel-safe.
 */
typedef struct weft_oneshot_closed {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_oneshot_tx *tx; /**< @private */
} weft_oneshot_closed;

/** Initialises a closed() future of `tx`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_oneshot_closed_init(weft_oneshot_closed *f, weft_oneshot_tx *tx);

/**
 * The receive future: ready with `result` 0 and the value moved to `out`
 * (it is now the caller's), or -WEFT_ECLOSED if the sender was destroyed
 * without sending, the value was already received, or `rx` is NULL.
 * Cancel-safe: the value is only taken by the poll that returns ready.
 */
typedef struct weft_oneshot_recv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_oneshot_rx *rx; /**< @private */
    void *out; /**< @private */
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_oneshot_recv;

/** Initialises a receive on `rx` into `out` (elem_size bytes). Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_oneshot_recv_init(weft_oneshot_recv *f, weft_oneshot_rx *rx, void *out);

/**
 * Takes the value if it was sent: 0 (moved to `out`), -EAGAIN (not yet),
 * or -WEFT_ECLOSED (the sender is gone without sending, the value was
 * already taken, or `rx` is NULL). Never waits. Any thread.
 */
WEFT_API int weft_oneshot_try_recv(weft_oneshot_rx *rx, void *out);

/**
 * Shuts the receiving side down: a later send fails with -WEFT_ECLOSED, and
 * the sender's closed() completes. A value sent before can still be taken
 * with try_recv. The receiver must still be destroyed. Idempotent; does
 * nothing if `rx` is NULL. Any thread.
 */
WEFT_API void weft_oneshot_rx_shutdown(weft_oneshot_rx *rx);

/**
 * Destroys the receiver (shutting the channel down) and sets `*rx` to
 * NULL; a value sent but not received is destroyed. Does nothing if `rx`
 * or `*rx` is NULL. Any thread.
 */
WEFT_API void weft_oneshot_rx_destroy(weft_oneshot_rx **rx);

/** @} */

/* ======================================================================== */
/* mpsc: many senders, one receiver, FIFO                                   */
/* ======================================================================== */

/** @defgroup mpsc mpsc: many senders, one receiver
 * @{ */
typedef struct weft_mpsc_tx weft_mpsc_tx; /**< a sending end (opaque; clone for more senders) */
typedef struct weft_mpsc_rx weft_mpsc_rx; /**< the receiving end (opaque) */

/** The capacity that makes weft_mpsc_create's channel unbounded. */
#define WEFT_MPSC_UNBOUNDED SIZE_MAX

/**
 * Creates an mpsc channel of `elem_size`-byte messages (>= 1), with `opts`
 * (NULL: defaults), and stores its first sender and its receiver.
 *
 * Bounded (`capacity` >= 1): one allocation holds the ring of `capacity`
 * messages; sending never allocates, and waits for room.
 * Unbounded (`capacity` == WEFT_MPSC_UNBOUNDED): the ring starts small and
 * doubles when full (and shrinks back when drained after growing large),
 * so the cost per message is amortised O(1) with no allocation once it has
 * reached its working size; sending never waits.
 *
 * Returns 0, -EINVAL (a size or capacity of 0, or too large) or -ENOMEM.
 * Any thread.
 */
WEFT_API int weft_mpsc_create(size_t elem_size, size_t capacity, const weft_channel_options *opts,
                              weft_mpsc_tx **tx, weft_mpsc_rx **rx);

/** Returns another sender for the same channel (counted; destroy each), or NULL if `tx` is NULL. Any thread. */
WEFT_API weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx);

/**
 * Destroys a sender and sets `*tx` to NULL. When the last sender is gone
 * (and no reserved permit is outstanding) the receiver, once it has
 * drained every message, sees -WEFT_ECLOSED. Does nothing if `tx` or `*tx`
 * is NULL. Any thread.
 */
WEFT_API void weft_mpsc_tx_destroy(weft_mpsc_tx **tx);

/** True if the receiver was destroyed or shut down (every send would fail), or `tx` is NULL. Any thread. */
WEFT_API bool weft_mpsc_tx_is_closed(weft_mpsc_tx *tx);

/**
 * Sends without waiting. Returns 0 (the message was moved into the
 * channel), -EAGAIN (bounded and full, or other senders are waiting for
 * room: try_send never overtakes them), -WEFT_ECLOSED (the receiver was
 * destroyed or shut down, or `tx` is NULL), or -ENOMEM (unbounded and the
 * ring could not grow). On error the message was not taken: it is still
 * the caller's. Any thread. On an unbounded channel this is the send.
 */
WEFT_API int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *msg);

/**
 * The send future: waits for room (senders are served in FIFO order), then
 * moves the message at `msg` (which must stay valid until the future is
 * ready or dropped) into the channel. Ready with `result` 0 (sent),
 * -WEFT_ECLOSED (the receiver is gone or shut down, or `tx` is NULL: not
 * sent) or -ENOMEM (unbounded channel that could not grow). Unless the
 * result is 0 the message is still the caller's.
 * Cancel-safe: the message is copied only by the poll that returns ready,
 * so a dropped send never sent it (the caller still owns it); a slot that
 * had been reserved for it is passed to the next waiting sender.
 */
typedef struct weft_mpsc_send {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_mpsc_tx *tx; /**< @private */
    const void *msg; /**< @private */
    weft_wait_node node; /**< @private */
    int result; /**< output: 0, -WEFT_ECLOSED or -ENOMEM */
} weft_mpsc_send;

/** Initialises a send of the message at `msg` on `tx`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_mpsc_send_init(weft_mpsc_send *f, weft_mpsc_tx *tx, const void *msg);

/**
 * A reserved slot (Tokio's Permit): the holder may send exactly one
 * message with weft_mpsc_permit_send, which never waits, or give the slot
 * back with weft_mpsc_permit_destroy; either empties the permit. A permit
 * keeps the channel open for the receiver (it counts like a sender). It
 * lives in your memory; an empty permit (`{0}`, or one that was used) may
 * be destroyed again, which does nothing.
 */
typedef struct weft_mpsc_permit {
    struct weft_mpsc *chan; /**< @private NULL when empty */
} weft_mpsc_permit;

/**
 * The reserve future: ready with `result` 0 and `permit` holding a slot,
 * or -WEFT_ECLOSED (the receiver is gone or shut down, or `tx` is NULL;
 * `permit` is empty). On an unbounded channel it is ready at once.
 * Cancel-safe: a slot reserved for it but not yet taken by a ready poll is
 * passed to the next waiting sender.
 */
typedef struct weft_mpsc_reserve {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_mpsc_tx *tx; /**< @private */
    weft_wait_node node; /**< @private */
    weft_mpsc_permit permit; /**< output */
    int result;              /**< output: 0 or -WEFT_ECLOSED */
} weft_mpsc_reserve;

/** Initialises a reserve on `tx`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_mpsc_reserve_init(weft_mpsc_reserve *f, weft_mpsc_tx *tx);

/**
 * Reserves a slot without waiting: 0 (`*permit` holds it), -EAGAIN or
 * -WEFT_ECLOSED (`*permit` is empty). Any thread.
 */
WEFT_API int weft_mpsc_try_reserve(weft_mpsc_tx *tx, weft_mpsc_permit *permit);

/**
 * Sends the message at `msg` into the reserved slot and empties the
 * permit. Never waits, never fails for lack of room. Returns 0 (moved into
 * the channel), or -WEFT_ECLOSED if the receiver was destroyed or the
 * permit is empty, or -ENOMEM (unbounded ring that could not grow); then
 * the message is still the caller's (and the slot is given back). Any
 * thread.
 */
WEFT_API int weft_mpsc_permit_send(weft_mpsc_permit *permit, const void *msg);

/**
 * Gives the reserved slot back (to the next waiting sender) and empties the
 * permit. Does nothing if the permit is empty. Any thread.
 */
WEFT_API void weft_mpsc_permit_destroy(weft_mpsc_permit *permit);

/**
 * The receive future: ready with `result` 0 and the oldest message moved
 * to `out` (it is now the caller's), or -WEFT_ECLOSED once every sender
 * (and permit) is gone and every message was received, or after
 * weft_mpsc_rx_shutdown once drained, or if `rx` is NULL.
 * Cancel-safe: a message is removed only by the poll that returns ready.
 */
typedef struct weft_mpsc_recv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_mpsc_rx *rx; /**< @private */
    void *out; /**< @private */
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_mpsc_recv;

/** Initialises a receive on `rx` into `out` (elem_size bytes). Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_mpsc_recv_init(weft_mpsc_recv *f, weft_mpsc_rx *rx, void *out);

/**
 * Receives without waiting: 0 (moved to `out`), -EAGAIN (empty, senders
 * remain) or -WEFT_ECLOSED (empty and closed, or `rx` is NULL). Any thread.
 */
WEFT_API int weft_mpsc_try_recv(weft_mpsc_rx *rx, void *out);

/**
 * Shuts the channel down from the receiving side: sends and reserves fail
 * with -WEFT_ECLOSED from now on (waiting ones complete with it), while the
 * messages already in the channel, and those sent through permits reserved
 * before, can still be received. The receiver must still be destroyed.
 * Idempotent; does nothing if `rx` is NULL. Any thread.
 */
WEFT_API void weft_mpsc_rx_shutdown(weft_mpsc_rx *rx);

/**
 * Destroys the receiver (shutting the channel down) and sets `*rx` to
 * NULL; the messages still in the channel are destroyed, and later sends,
 * permit sends included, fail. Does nothing if `rx` or `*rx` is NULL. Any
 * thread.
 */
WEFT_API void weft_mpsc_rx_destroy(weft_mpsc_rx **rx);

/** Messages in the channel right now (0 if `rx` is NULL). Any thread; may be stale. */
WEFT_API size_t weft_mpsc_len(weft_mpsc_rx *rx);

/** @} */

/* ======================================================================== */
/* broadcast: many senders, many receivers, each receiver sees every message */
/* ======================================================================== */

/** @defgroup broadcast broadcast: every receiver sees every message
 * @{ */
typedef struct weft_broadcast_tx weft_broadcast_tx; /**< a sending end (opaque) */
typedef struct weft_broadcast_rx weft_broadcast_rx; /**< a receiving end (opaque) */

/**
 * Creates a broadcast channel keeping the last `capacity` messages
 * (rounded up to a power of two, >= 1) of `elem_size` bytes, with `opts`
 * (NULL: defaults). A receiver sees every message sent after it
 * subscribed, each as its own copy (opts->clone); a receiver more than
 * `capacity` messages behind loses the oldest ones and is told how many
 * (WEFT_ELAGGED). Senders never wait. `rx` may be NULL (no first
 * receiver). One allocation for the channel, one per receiver. Returns 0,
 * -EINVAL or -ENOMEM. Any thread.
 */
WEFT_API int weft_broadcast_create(size_t elem_size, size_t capacity, const weft_channel_options *opts,
                                   weft_broadcast_tx **tx, weft_broadcast_rx **rx);

/** Returns another sender for the same channel (destroy each), or NULL if `tx` is NULL. Any thread. */
WEFT_API weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx);

/**
 * Destroys a sender and sets `*tx` to NULL; after the last one, receivers
 * drain what remains, then get -WEFT_ECLOSED. Does nothing if `tx` or
 * `*tx` is NULL. Any thread.
 */
WEFT_API void weft_broadcast_tx_destroy(weft_broadcast_tx **tx);

/**
 * Moves the message at `msg` into the channel for every current receiver,
 * destroying the oldest retained message if the ring is full. Never waits.
 * Returns the number of receivers (> 0), or -WEFT_ECLOSED if there are none
 * or `tx` is NULL (the message was not taken: it is still the caller's).
 * Any thread.
 */
WEFT_API long weft_broadcast_send(weft_broadcast_tx *tx, const void *msg);

/** A new receiver that sees the messages sent from now on. NULL on -ENOMEM or if `tx` is NULL. Any thread. */
WEFT_API weft_broadcast_rx *weft_broadcast_subscribe(weft_broadcast_tx *tx);

/**
 * A new receiver at the same position as `rx` (it will see what `rx` has
 * not received yet; weft_broadcast_subscribe starts at the newest instead).
 * NULL on -ENOMEM or if `rx` is NULL. Any thread.
 */
WEFT_API weft_broadcast_rx *weft_broadcast_rx_clone(weft_broadcast_rx *rx);

/**
 * Destroys a receiver and sets `*rx` to NULL. When the last receiver goes,
 * the retained messages are destroyed (nobody can receive them any more).
 * Does nothing if `rx` or `*rx` is NULL. Any thread.
 */
WEFT_API void weft_broadcast_rx_destroy(weft_broadcast_rx **rx);

/** Messages `rx` has not received yet (including ones it lagged past); 0 if `rx` is NULL. Any thread. */
WEFT_API uint64_t weft_broadcast_rx_pending(weft_broadcast_rx *rx);

/**
 * The receive future: ready with `result`
 *   0                a copy of the next message is in `out` (the caller's);
 *   -WEFT_ELAGGED    the receiver fell behind: `missed` messages were
 *                    overwritten before it read them; it now stands at the
 *                    oldest retained message (the next receive gets it);
 *   -WEFT_ECLOSED    every sender is gone and the receiver has drained, or
 *                    `rx` is NULL.
 * Cancel-safe: the receiver's position advances only in the poll that
 * returns ready.
 */
typedef struct weft_broadcast_recv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_broadcast_rx *rx; /**< @private */
    void *out; /**< @private */
    weft_wait_node node; /**< @private */
    int result;      /**< output */
    uint64_t missed; /**< output when result == -WEFT_ELAGGED */
} weft_broadcast_recv;

/** Initialises a receive on `rx` into `out`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_broadcast_recv_init(weft_broadcast_recv *f, weft_broadcast_rx *rx, void *out);

/**
 * Receives without waiting: 0 (a copy in `out`), -EAGAIN (nothing new),
 * -WEFT_ELAGGED (with `*missed` set if `missed` is not NULL),
 * -WEFT_ECLOSED. Any thread.
 */
WEFT_API int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed);

/** @} */

/* ======================================================================== */
/* watch: one sender, many receivers, the latest value                       */
/* ======================================================================== */

/** @defgroup watch watch: the latest value
 * @{ */
typedef struct weft_watch_tx weft_watch_tx; /**< the sending end (opaque) */
typedef struct weft_watch_rx weft_watch_rx; /**< a receiving end (opaque) */

/**
 * Creates a watch channel holding one value of `elem_size` bytes, with
 * `opts` (NULL: defaults). The value `initial` is moved into the channel
 * (if NULL the value is all zero bytes, which a destructor must accept).
 * Receivers read copies of the latest value (opts->clone) and can wait
 * until it changes. Returns 0, -EINVAL or -ENOMEM (`initial` is then still
 * the caller's). One allocation for the channel, one per receiver. Any
 * thread.
 */
WEFT_API int weft_watch_create(size_t elem_size, const void *initial, const weft_channel_options *opts,
                               weft_watch_tx **tx, weft_watch_rx **rx);

/**
 * Moves `value` into the channel, destroying the value it replaces, and
 * wakes every changed() waiter. Returns 0, or -WEFT_ECLOSED if no receiver
 * remains (as in Tokio) or `tx` is NULL: then `value` was not taken. Never
 * waits. Any thread.
 */
WEFT_API int weft_watch_send(weft_watch_tx *tx, const void *value);

/**
 * Moves `value` into the channel even if no receiver remains, and wakes
 * every changed() waiter. The value it replaces is moved to `old` (the
 * caller's), or destroyed if `old` is NULL. Returns 0, or -WEFT_ECLOSED if
 * `tx` is NULL (nothing taken). Any thread.
 */
WEFT_API int weft_watch_send_replace(weft_watch_tx *tx, const void *value, void *old);

/**
 * Modifies the value in place: calls `fn(value, arg)` under the channel's
 * lock (keep it short; it must not call into this channel; it destroys
 * whatever it replaces inside the value), then wakes every waiter if `fn`
 * returned true. Returns 0, or -WEFT_ECLOSED if `tx` is NULL (`fn` is not
 * called). Any thread.
 */
WEFT_API int weft_watch_send_modify(weft_watch_tx *tx, bool (*fn)(void *value, void *arg), void *arg);

/** Puts a copy of the current value in `out` (the caller's). 0, or -WEFT_ECLOSED if `tx` is NULL. Any thread. */
WEFT_API int weft_watch_tx_borrow(weft_watch_tx *tx, void *out);

/** A new receiver; the current value counts as seen. NULL on -ENOMEM or if `tx` is NULL. Any thread. */
WEFT_API weft_watch_rx *weft_watch_subscribe(weft_watch_tx *tx);

/** Number of receivers (0 if `tx` is NULL). Any thread. */
WEFT_API size_t weft_watch_receiver_count(weft_watch_tx *tx);

/**
 * Destroys the sender and sets `*tx` to NULL: waiting and later changed()
 * futures complete with -WEFT_ECLOSED; receivers can still borrow the last
 * value. Does nothing if `tx` or `*tx` is NULL. Any thread.
 */
WEFT_API void weft_watch_tx_destroy(weft_watch_tx **tx);

/** Puts a copy of the current value in `out` without marking it seen. 0, or -WEFT_ECLOSED if `rx` is NULL. Any thread. */
WEFT_API int weft_watch_borrow(weft_watch_rx *rx, void *out);

/** Puts a copy of the current value in `out` and marks it seen. 0, or -WEFT_ECLOSED if `rx` is NULL. Any thread. */
WEFT_API int weft_watch_borrow_and_update(weft_watch_rx *rx, void *out);

/**
 * 1 if a value was sent since `rx` last marked one seen, 0 if not,
 * -WEFT_ECLOSED if the sender is gone (and nothing new) or `rx` is NULL.
 * Any thread.
 */
WEFT_API int weft_watch_has_changed(weft_watch_rx *rx);

/** A new receiver with the same seen version as `rx`. NULL on -ENOMEM or if `rx` is NULL. Any thread. */
WEFT_API weft_watch_rx *weft_watch_rx_clone(weft_watch_rx *rx);

/**
 * Destroys a receiver and sets `*rx` to NULL. Does nothing if `rx` or
 * `*rx` is NULL. Any thread.
 */
WEFT_API void weft_watch_rx_destroy(weft_watch_rx **rx);

/**
 * The changed future: ready with `result` 0 when the value changed since
 * `rx` last marked it seen (it then marks it seen; read it with
 * weft_watch_borrow), or -WEFT_ECLOSED if the sender is gone with nothing
 * new, or `rx` is NULL. Several values sent meanwhile count as one change.
 * Cancel-safe: marking seen happens only in the poll that returns ready.
 */
typedef struct weft_watch_changed {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_watch_rx *rx; /**< @private */
    weft_wait_node node; /**< @private */
    int result; /**< output: 0 or -WEFT_ECLOSED */
} weft_watch_changed;

/** Initialises a changed() future of `rx`. Does no work. Returns `&f->base`. Any thread; poll it from one task at a time. */
WEFT_API weft_future *weft_watch_changed_init(weft_watch_changed *f, weft_watch_rx *rx);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CHANNEL_H */
