/*
 * mpsc: a ring of elements under one spinlock, a FIFO of senders waiting
 * for room, and the receiver's waker slot.
 *
 * Room (bounded): free = cap - len - reserved. `reserved` counts slots
 * handed to permits and to waiting senders that have not used them yet.
 * A slot freed by the receiver goes to the oldest waiting sender (it is
 * reserved for it and the sender is woken), so while senders wait `free`
 * stays 0 and try_send cannot overtake them. A waiting sender dropped after
 * its slot was reserved gives the slot to the next one.
 *
 * Closing: the receiver sees -WEFT_ECLOSED when the ring is empty and no
 * slot is reserved, and either every sender is gone or it shut the
 * channel itself.
 *
 * Unbounded: `cap` grows by doubling (the allocation is made outside the
 * lock, then swapped in); reserved slots do not limit anything there, but
 * a sender keeps one reserved while it grows the ring (the lock is dropped
 * meanwhile), so the receiver cannot see the channel closed with that
 * message still to come.
 *
 * Messages that own memory: a message is the channel's from the push until
 * the receiver pops it. The receiver's destroy detaches what is left (no
 * push can follow: every push checks rx_alive under the lock, after any
 * growth) and destroys it outside the lock.
 */
#include "sync/chan.h"

#define UNBOUNDED_INITIAL 16
#define UNBOUNDED_SHRINK 4096 /* a drained ring larger than this is freed */

typedef struct weft_mpsc {
    weft_spinlock lock;
    uint32_t refs;     /* atomic: senders + receiver + permits */
    uint8_t bounded;
    uint8_t rx_closed; /* receiver shut down or destroyed: sends fail */
    uint8_t rx_alive;  /* receiver not destroyed: permits may still send */
    size_t senders;
    chan_value v;
    size_t cap, head, len, reserved;
    unsigned char *buf;
    weft_link waiting; /* senders waiting for room (weft_wait_node) */
    weft_waker rx_waker;
    _Alignas(CHAN_ALIGN) unsigned char ring[]; /* bounded: the ring itself */
} weft_mpsc;

#define CH(p) ((weft_mpsc *)(void *)(p))

static void mpsc_unref(weft_mpsc *c) {
    if (!chan_unref(&c->refs)) return;
    chan_drop_ring(&c->v, c->buf, c->cap, c->head, c->len); /* none: the receiver's destroy took them */
    weft_waker_drop(c->rx_waker);
    if (!c->bounded) free(c->buf);
    free(c);
}

int weft_mpsc_create(size_t elem, size_t capacity, const weft_channel_options *opts, weft_mpsc_tx **tx,
                     weft_mpsc_rx **rx) {
    bool bounded = capacity != WEFT_MPSC_UNBOUNDED;
    size_t cap = bounded ? capacity : 0;
    if (elem == 0 || (bounded && cap == 0)) return -EINVAL;
    size_t ring = 0;
    if (bounded) {
        if (cap > (SIZE_MAX / 2) / elem) return -EINVAL;
        ring = cap * elem;
    } else if (elem > SIZE_MAX / 4 / UNBOUNDED_INITIAL) {
        return -EINVAL;
    }
    weft_mpsc *c = malloc(sizeof *c + ring);
    if (!c) return -ENOMEM;
    spin_init(&c->lock);
    c->refs = 2;
    c->bounded = bounded;
    c->rx_closed = 0;
    c->rx_alive = 1;
    c->senders = 1;
    chan_value_init(&c->v, elem, opts);
    c->cap = cap;
    c->head = c->len = c->reserved = 0;
    c->buf = bounded ? c->ring : NULL;
    weft__list_init(&c->waiting);
    c->rx_waker = WEFT_WAKER_NONE;
    *tx = (weft_mpsc_tx *)c;
    *rx = (weft_mpsc_rx *)c;
    return 0;
}

/* ---- ring (lock held) ------------------------------------------------------ */

static inline size_t ring_free(const weft_mpsc *c) { return c->cap - c->len - c->reserved; }

static inline void ring_push(weft_mpsc *c, const void *msg) {
    size_t i = c->head + c->len;
    if (i >= c->cap) i -= c->cap;
    weft__copy_value(c->buf + i * c->v.elem, msg, c->v.elem);
    __atomic_store_n(&c->len, c->len + 1, __ATOMIC_RELAXED);
}

static inline void ring_pop(weft_mpsc *c, void *out) {
    weft__copy_value(out, c->buf + c->head * c->v.elem, c->v.elem);
    size_t h = c->head + 1;
    c->head = h == c->cap ? 0 : h;
    __atomic_store_n(&c->len, c->len - 1, __ATOMIC_RELAXED);
}

/* Closed for the receiver: nothing left and nothing can come. */
static inline bool rx_done(const weft_mpsc *c) {
    return c->len == 0 && c->reserved == 0 && (c->senders == 0 || c->rx_closed);
}

/* Gives a free slot to the oldest waiting sender (lock held; `wb` has room
 * for one: callers free one slot at a time). Bounded only. */
static inline void grant_locked(weft_mpsc *c, wake_batch *wb) {
    if (c->bounded && !weft__list_empty(&c->waiting) && ring_free(c) > 0) {
        weft_wait_node *n = node_of(c->waiting.next);
        weft__list_remove(&n->link);
        c->reserved++;
        node_complete(n, WN_DONE, wb);
    }
}

/* Makes room in an unbounded ring: called with the lock held and
 * len == cap; returns with the lock held, the ring grown (true) or not
 * (false: out of memory, or the receiver was destroyed meanwhile).
 * Allocates with the lock released. */
static bool grow_locked(weft_mpsc *c) {
    while (c->len == c->cap && c->rx_alive) {
        size_t old_cap = c->cap;
        size_t new_cap = old_cap ? old_cap * 2 : UNBOUNDED_INITIAL;
        size_t elem = c->v.elem;
        spin_unlock(&c->lock);
        unsigned char *nb = (new_cap <= SIZE_MAX / elem) ? malloc(new_cap * elem) : NULL;
        spin_lock(&c->lock);
        if (!nb) return false;
        if (!c->rx_alive) {
            spin_unlock(&c->lock);
            free(nb);
            spin_lock(&c->lock);
            return false;
        }
        if (c->cap != old_cap || c->len != c->cap) { /* someone else grew it meanwhile */
            spin_unlock(&c->lock);
            free(nb);
            spin_lock(&c->lock);
            continue;
        }
        size_t first = c->cap - c->head; /* elements from head to the end */
        if (first > c->len) first = c->len;
        if (c->len) {
            memcpy(nb, c->buf + c->head * elem, first * elem);
            memcpy(nb + first * elem, c->buf, (c->len - first) * elem);
        }
        unsigned char *old = c->buf;
        c->buf = nb;
        c->cap = new_cap;
        c->head = 0;
        spin_unlock(&c->lock);
        free(old);
        spin_lock(&c->lock);
    }
    return c->rx_alive;
}

/* Pushes a message (lock held; the receiver is alive; there is room or the
 * ring is unbounded). Returns 0, or -ENOMEM / -WEFT_ECLOSED (the receiver
 * was destroyed while the ring grew): then the message was not taken.
 * Takes the receiver's waker into *wake when it must be woken. */
static inline int push_locked(weft_mpsc *c, const void *msg, weft_waker *wake) {
    if (!c->bounded && c->len == c->cap) {
        c->reserved++; /* our message is coming: the receiver must not see "closed" */
        bool grown = grow_locked(c);
        c->reserved--;
        if (!grown) {
            if (rx_done(c)) *wake = weft_waker_take(&c->rx_waker);
            return c->rx_alive ? -ENOMEM : -WEFT_ECLOSED;
        }
    }
    ring_push(c, msg);
    *wake = weft_waker_take(&c->rx_waker);
    return 0;
}

/* ---- senders ----------------------------------------------------------------- */

weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx) {
    if (!tx) return NULL;
    weft_mpsc *c = CH(tx);
    chan_ref(&c->refs);
    spin_lock(&c->lock);
    c->senders++;
    spin_unlock(&c->lock);
    return tx;
}

void weft_mpsc_tx_destroy(weft_mpsc_tx **txp) {
    weft_mpsc_tx *tx = CHAN_TAKE_END(txp);
    if (!tx) return;
    weft_mpsc *c = CH(tx);
    weft_waker w = WEFT_WAKER_NONE;
    spin_lock(&c->lock);
    if (--c->senders == 0 && rx_done(c)) w = weft_waker_take(&c->rx_waker);
    spin_unlock(&c->lock);
    weft_waker_wake(w);
    mpsc_unref(c);
}

bool weft_mpsc_tx_is_closed(weft_mpsc_tx *tx) {
    return !tx || __atomic_load_n(&CH(tx)->rx_closed, __ATOMIC_ACQUIRE) != 0;
}

int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *msg) {
    if (!tx) return -WEFT_ECLOSED;
    weft_mpsc *c = CH(tx);
    weft_waker w = WEFT_WAKER_NONE;
    int rc;
    spin_lock(&c->lock);
    if (c->rx_closed) rc = -WEFT_ECLOSED;
    else if (c->bounded && (ring_free(c) == 0 || !weft__list_empty(&c->waiting))) rc = -EAGAIN;
    else rc = push_locked(c, msg, &w);
    spin_unlock(&c->lock);
    weft_waker_wake(w);
    return rc;
}

/* One poll of a send (msg != NULL) or a reserve (msg == NULL) through
 * `node`. Ready with *result 0, -WEFT_ECLOSED or -ENOMEM. */
static weft_poll send_or_reserve(weft_mpsc *c, weft_wait_node *node, const void *msg,
                                 weft_context *cx, int *result) {
    if (!c) { /* a NULL sender */
        *result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    if (node_load(node) == WN_CLOSED) {
        *result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_waker w = WEFT_WAKER_NONE;
    int rc = 0;
    spin_lock(&c->lock);
    uint32_t st = node_state_locked(node);
    switch (st) {
    case WN_IDLE:
        if (c->rx_closed) {
            rc = -WEFT_ECLOSED;
            break;
        }
        if (c->bounded && (ring_free(c) == 0 || !weft__list_empty(&c->waiting))) {
            node->need = 1;
            node->waker = weft_waker_clone(&cx->waker);
            weft__list_push_back(&c->waiting, &node->link);
            node_set(node, WN_QUEUED);
            spin_unlock(&c->lock);
            return WEFT_PENDING;
        }
        if (msg) rc = push_locked(c, msg, &w);
        else c->reserved++;
        break;
    case WN_QUEUED:
        w = node_store_waker(node, cx);
        spin_unlock(&c->lock);
        weft_waker_drop(w);
        return WEFT_PENDING;
    case WN_DONE: /* a slot was reserved for us */
        node_set(node, WN_IDLE);
        if (!msg) break; /* a reserve: the slot becomes the permit */
        c->reserved--;
        if (c->rx_alive) {
            ring_push(c, msg);
            w = weft_waker_take(&c->rx_waker);
        } else {
            rc = -WEFT_ECLOSED;
        }
        break;
    default: /* WN_CLOSED, settled from the receiver's close */
        rc = -WEFT_ECLOSED;
        break;
    }
    spin_unlock(&c->lock);
    weft_waker_wake(w);
    waker_release(weft_waker_take(&node->waker));
    *result = rc;
    return WEFT_READY;
}

static void send_drop_node(weft_mpsc *c, weft_wait_node *node) {
    if (!c) return;
    uint32_t st = node_load(node);
    if (st == WN_IDLE || st == WN_CLOSED) {
        waker_release(weft_waker_take(&node->waker));
        return;
    }
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    st = node_state_locked(node);
    if (st == WN_QUEUED) {
        weft__list_remove(&node->link);
    } else if (st == WN_DONE) { /* pass the reserved slot on */
        c->reserved--;
        grant_locked(c, &wb);
        if (rx_done(c)) wb_push(&wb, weft_waker_take(&c->rx_waker));
    }
    node_set(node, WN_IDLE);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    waker_release(weft_waker_take(&node->waker));
}

static weft_poll send_poll(weft_future *f, weft_context *cx) {
    weft_mpsc_send *s = (weft_mpsc_send *)f;
    return send_or_reserve(CH(s->tx), &s->node, s->msg, cx, &s->result);
}

static void send_drop(weft_future *f) {
    weft_mpsc_send *s = (weft_mpsc_send *)f;
    send_drop_node(CH(s->tx), &s->node);
}

static const weft_future_vtable send_vtable = {send_poll, send_drop, "weft_mpsc_send"};

weft_future *weft_mpsc_send_init(weft_mpsc_send *f, weft_mpsc_tx *tx, const void *msg) {
    weft_future_init(&f->base, &send_vtable);
    f->tx = tx;
    f->msg = msg;
    f->result = 0;
    node_init(&f->node);
    return &f->base;
}

static weft_poll reserve_poll(weft_future *f, weft_context *cx) {
    weft_mpsc_reserve *r = (weft_mpsc_reserve *)f;
    weft_mpsc *c = CH(r->tx);
    weft_poll p = send_or_reserve(c, &r->node, NULL, cx, &r->result);
    if (p == WEFT_READY && r->result == 0) {
        chan_ref(&c->refs);
        r->permit.chan = c;
    }
    return p;
}

static void reserve_drop(weft_future *f) {
    weft_mpsc_reserve *r = (weft_mpsc_reserve *)f;
    send_drop_node(CH(r->tx), &r->node);
}

static const weft_future_vtable reserve_vtable = {reserve_poll, reserve_drop, "weft_mpsc_reserve"};

weft_future *weft_mpsc_reserve_init(weft_mpsc_reserve *f, weft_mpsc_tx *tx) {
    weft_future_init(&f->base, &reserve_vtable);
    f->tx = tx;
    f->permit.chan = NULL;
    f->result = 0;
    node_init(&f->node);
    return &f->base;
}

int weft_mpsc_try_reserve(weft_mpsc_tx *tx, weft_mpsc_permit *permit) {
    permit->chan = NULL;
    if (!tx) return -WEFT_ECLOSED;
    weft_mpsc *c = CH(tx);
    int rc = 0;
    spin_lock(&c->lock);
    if (c->rx_closed) rc = -WEFT_ECLOSED;
    else if (c->bounded && (ring_free(c) == 0 || !weft__list_empty(&c->waiting))) rc = -EAGAIN;
    else c->reserved++;
    spin_unlock(&c->lock);
    if (rc == 0) {
        chan_ref(&c->refs);
        permit->chan = c;
    }
    return rc;
}

/* Ends a permit: sends `msg` (if not NULL) or gives the slot back. An
 * empty permit sends nothing (-WEFT_ECLOSED) and gives nothing back. */
static int permit_finish(weft_mpsc_permit *permit, const void *msg) {
    weft_mpsc *c = permit ? permit->chan : NULL;
    if (!c) return -WEFT_ECLOSED;
    permit->chan = NULL;
    wake_batch wb;
    wb_init(&wb);
    int rc = 0;
    spin_lock(&c->lock);
    /* The slot stays reserved while an unbounded ring grows (the lock is
     * dropped meanwhile), so the receiver cannot see the channel closed
     * with this message still to come. */
    if (msg && c->rx_alive && (c->bounded || c->len < c->cap || grow_locked(c))) {
        ring_push(c, msg);
        wb_push(&wb, weft_waker_take(&c->rx_waker));
        c->reserved--;
    } else {
        if (msg) rc = c->rx_alive ? -ENOMEM : -WEFT_ECLOSED;
        c->reserved--;
        grant_locked(c, &wb);
        if (rx_done(c)) wb_push(&wb, weft_waker_take(&c->rx_waker));
    }
    spin_unlock(&c->lock);
    wb_wake(&wb);
    mpsc_unref(c);
    return rc;
}

int weft_mpsc_permit_send(weft_mpsc_permit *permit, const void *msg) { return permit_finish(permit, msg); }
void weft_mpsc_permit_destroy(weft_mpsc_permit *permit) { (void)permit_finish(permit, NULL); }

/* ---- receiver ------------------------------------------------------------------ */

/* Takes the oldest message (lock held): 0, -EAGAIN or -WEFT_ECLOSED.
 * Hands the freed slot to a waiting sender (its waker goes to `wb`), and
 * detaches a large drained unbounded ring into *drop_buf. */
static inline int recv_locked(weft_mpsc *c, void *out, wake_batch *wb, unsigned char **drop_buf) {
    if (c->len > 0) {
        ring_pop(c, out);
        grant_locked(c, wb);
        if (!c->bounded && c->len == 0 && c->cap > UNBOUNDED_SHRINK) {
            *drop_buf = c->buf;
            c->buf = NULL;
            c->cap = c->head = 0;
        }
        return 0;
    }
    return rx_done(c) ? -WEFT_ECLOSED : -EAGAIN;
}

int weft_mpsc_try_recv(weft_mpsc_rx *rx, void *out) {
    if (!rx) return -WEFT_ECLOSED;
    weft_mpsc *c = CH(rx);
    wake_batch wb;
    wb_init(&wb);
    unsigned char *drop_buf = NULL;
    spin_lock(&c->lock);
    int rc = recv_locked(c, out, &wb, &drop_buf);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    free(drop_buf);
    return rc;
}

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_mpsc_recv *r = (weft_mpsc_recv *)f;
    if (!r->rx) {
        r->result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_mpsc *c = CH(r->rx);
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    wake_batch wb;
    wb_init(&wb);
    unsigned char *drop_buf = NULL;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&c->lock);
    int rc = recv_locked(c, r->out, &wb, &drop_buf);
    if (rc == -EAGAIN) {
        old = weft_waker_replace(&c->rx_waker, &cx->waker);
        spin_unlock(&c->lock);
        weft_waker_drop(old);
        return WEFT_PENDING;
    }
    old = weft_waker_take(&c->rx_waker); /* a ready future keeps no registration */
    spin_unlock(&c->lock);
    wb_wake(&wb);
    weft_waker_drop(old);
    free(drop_buf);
    r->result = rc;
    return WEFT_READY;
}

static void recv_drop(weft_future *f) {
    weft_mpsc_rx *rx = ((weft_mpsc_recv *)f)->rx;
    if (!rx) return;
    weft_mpsc *c = CH(rx);
    spin_lock(&c->lock);
    weft_waker w = weft_waker_take(&c->rx_waker);
    spin_unlock(&c->lock);
    weft_waker_drop(w);
}

static const weft_future_vtable recv_vtable = {recv_poll, recv_drop, "weft_mpsc_recv"};

weft_future *weft_mpsc_recv_init(weft_mpsc_recv *f, weft_mpsc_rx *rx, void *out) {
    weft_future_init(&f->base, &recv_vtable);
    f->rx = rx;
    f->out = out;
    f->result = 0;
    return &f->base;
}

/* Shuts the channel down (lock held; may unlock and relock to wake the
 * waiting senders, whose wakers go to `wb`). */
static void shutdown_locked(weft_mpsc *c, wake_batch *wb) {
    __atomic_store_n(&c->rx_closed, 1, __ATOMIC_RELEASE);
    weft__wait_release_all(&c->lock, &c->waiting, WN_CLOSED, wb);
}

void weft_mpsc_rx_shutdown(weft_mpsc_rx *rx) {
    if (!rx) return;
    weft_mpsc *c = CH(rx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    shutdown_locked(c, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
}

void weft_mpsc_rx_destroy(weft_mpsc_rx **rxp) {
    weft_mpsc_rx *rx = CHAN_TAKE_END(rxp);
    if (!rx) return;
    weft_mpsc *c = CH(rx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    if (c->rx_waker.vtable) {
        spin_unlock(&c->lock);
        weft__sync_misuse("weft_mpsc_rx_destroy of a receiver whose receive future is still pending");
    }
    c->rx_alive = 0; /* from now on no push: what is left is ours */
    unsigned char *ring = c->buf, *own = NULL;
    size_t cap = c->cap, head = c->head, left = c->len;
    __atomic_store_n(&c->len, 0, __ATOMIC_RELAXED);
    c->head = 0;
    if (!c->bounded) { /* detach the ring itself */
        own = c->buf;
        c->buf = NULL;
        c->cap = 0;
    }
    shutdown_locked(c, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    chan_drop_ring(&c->v, ring, cap, head, left);
    free(own);
    mpsc_unref(c);
}

size_t weft_mpsc_len(weft_mpsc_rx *rx) { return rx ? __atomic_load_n(&CH(rx)->len, __ATOMIC_RELAXED) : 0; }
