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
 * slot is reserved, and either every sender is gone or it closed the
 * channel itself.
 *
 * Unbounded: `cap` grows by doubling (the allocation is made outside the
 * lock, then swapped in); reserved slots do not limit anything there.
 */
#include "sync/chan.h"

#define UNBOUNDED_INITIAL 16
#define UNBOUNDED_SHRINK 4096 /* a drained ring larger than this is freed */

typedef struct weft_mpsc {
    weft_spinlock lock;
    uint32_t refs;     /* atomic: senders + receiver + permits */
    uint8_t bounded;
    uint8_t rx_closed; /* receiver closed or dropped: sends fail */
    uint8_t rx_alive;
    size_t senders;
    size_t elem, cap, head, len, reserved;
    unsigned char *buf;
    weft_link waiting; /* senders waiting for room (weft_wait_node) */
    weft_waker rx_waker;
    _Alignas(CHAN_ALIGN) unsigned char ring[]; /* bounded: the ring itself */
} weft_mpsc;

#define CH(p) ((weft_mpsc *)(void *)(p))

static void mpsc_unref(weft_mpsc *c) {
    if (!chan_unref(&c->refs)) return;
    weft_waker_drop(c->rx_waker);
    if (!c->bounded) free(c->buf);
    free(c);
}

static int create(size_t elem, size_t cap, bool bounded, weft_mpsc_tx **tx, weft_mpsc_rx **rx) {
    if (elem == 0 || (bounded && cap == 0)) return -EINVAL;
    size_t ring = 0;
    if (bounded) {
        if (cap > (SIZE_MAX / 2) / elem) return -EINVAL;
        ring = cap * elem;
    }
    weft_mpsc *c = malloc(sizeof *c + ring);
    if (!c) return -ENOMEM;
    spin_init(&c->lock);
    c->refs = 2;
    c->bounded = bounded;
    c->rx_closed = 0;
    c->rx_alive = 1;
    c->senders = 1;
    c->elem = elem;
    c->cap = cap;
    c->head = c->len = c->reserved = 0;
    c->buf = bounded ? c->ring : NULL;
    wl_init(&c->waiting);
    c->rx_waker = WEFT_WAKER_NONE;
    *tx = (weft_mpsc_tx *)c;
    *rx = (weft_mpsc_rx *)c;
    return 0;
}

int weft_mpsc_bounded(size_t elem_size, size_t capacity, weft_mpsc_tx **tx, weft_mpsc_rx **rx) {
    return create(elem_size, capacity, true, tx, rx);
}

int weft_mpsc_unbounded(size_t elem_size, weft_mpsc_tx **tx, weft_mpsc_rx **rx) {
    if (elem_size > SIZE_MAX / 4 / UNBOUNDED_INITIAL) return -EINVAL;
    return create(elem_size, 0, false, tx, rx);
}

/* ---- ring (lock held) ------------------------------------------------------ */

static inline size_t ring_free(const weft_mpsc *c) { return c->cap - c->len - c->reserved; }

static inline void ring_push(weft_mpsc *c, const void *msg) {
    size_t i = c->head + c->len;
    if (i >= c->cap) i -= c->cap;
    copy_elem(c->buf + i * c->elem, msg, c->elem);
    __atomic_store_n(&c->len, c->len + 1, __ATOMIC_RELAXED);
}

static inline void ring_pop(weft_mpsc *c, void *out) {
    copy_elem(out, c->buf + c->head * c->elem, c->elem);
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
    if (c->bounded && !wl_empty(&c->waiting) && ring_free(c) > 0) {
        weft_wait_node *n = wl_front(&c->waiting);
        wl_unlink(n);
        c->reserved++;
        node_complete(n, WN_DONE, wb);
    }
}

/* Makes room in an unbounded ring: called with the lock held and
 * len == cap; returns with the lock held, the ring grown (true) or not
 * (false: out of memory). Allocates with the lock released. */
static bool grow_locked(weft_mpsc *c) {
    while (c->len == c->cap) {
        size_t old_cap = c->cap;
        size_t new_cap = old_cap ? old_cap * 2 : UNBOUNDED_INITIAL;
        spin_unlock(&c->lock);
        unsigned char *nb = (new_cap <= SIZE_MAX / c->elem) ? malloc(new_cap * c->elem) : NULL;
        spin_lock(&c->lock);
        if (!nb) return false;
        if (c->cap != old_cap || c->len != c->cap) { /* someone else grew it meanwhile */
            spin_unlock(&c->lock);
            free(nb);
            spin_lock(&c->lock);
            continue;
        }
        size_t first = c->cap - c->head; /* elements from head to the end */
        if (first > c->len) first = c->len;
        if (c->len) {
            memcpy(nb, c->buf + c->head * c->elem, first * c->elem);
            memcpy(nb + first * c->elem, c->buf, (c->len - first) * c->elem);
        }
        unsigned char *old = c->buf;
        c->buf = nb;
        c->cap = new_cap;
        c->head = 0;
        spin_unlock(&c->lock);
        free(old);
        spin_lock(&c->lock);
    }
    return true;
}

/* Pushes a message (lock held; there is room or the ring is unbounded).
 * Returns 0 or -ENOMEM; takes the receiver's waker into *wake. */
static inline int push_locked(weft_mpsc *c, const void *msg, weft_waker *wake) {
    if (!c->bounded && c->len == c->cap) {
        if (!grow_locked(c)) return -ENOMEM;
        /* The lock was released while growing: the receiver may be gone. */
        if (c->rx_closed) return -WEFT_ECLOSED;
    }
    ring_push(c, msg);
    *wake = weft_waker_take(&c->rx_waker);
    return 0;
}

/* ---- senders ----------------------------------------------------------------- */

weft_mpsc_tx *weft_mpsc_tx_clone(weft_mpsc_tx *tx) {
    weft_mpsc *c = CH(tx);
    chan_ref(&c->refs);
    spin_lock(&c->lock);
    c->senders++;
    spin_unlock(&c->lock);
    return tx;
}

void weft_mpsc_tx_drop(weft_mpsc_tx *tx) {
    weft_mpsc *c = CH(tx);
    weft_waker w = WEFT_WAKER_NONE;
    spin_lock(&c->lock);
    if (--c->senders == 0 && rx_done(c)) w = weft_waker_take(&c->rx_waker);
    spin_unlock(&c->lock);
    weft_waker_wake(w);
    mpsc_unref(c);
}

bool weft_mpsc_tx_is_closed(weft_mpsc_tx *tx) {
    return __atomic_load_n(&CH(tx)->rx_closed, __ATOMIC_ACQUIRE) != 0;
}

int weft_mpsc_try_send(weft_mpsc_tx *tx, const void *msg) {
    weft_mpsc *c = CH(tx);
    weft_waker w = WEFT_WAKER_NONE;
    int rc;
    spin_lock(&c->lock);
    if (c->rx_closed) rc = -WEFT_ECLOSED;
    else if (c->bounded && (ring_free(c) == 0 || !wl_empty(&c->waiting))) rc = -EAGAIN;
    else rc = push_locked(c, msg, &w);
    spin_unlock(&c->lock);
    weft_waker_wake(w);
    return rc;
}

/* One poll of a send (msg != NULL) or a reserve (msg == NULL) through
 * `node`. Ready with *result 0, -WEFT_ECLOSED or -ENOMEM. */
static weft_poll send_or_reserve(weft_mpsc *c, weft_wait_node *node, const void *msg,
                                 weft_context *cx, int *result) {
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
        if (c->bounded && (ring_free(c) == 0 || !wl_empty(&c->waiting))) {
            node->need = 1;
            node->waker = weft_waker_clone(&cx->waker);
            wl_push_back(&c->waiting, node);
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
        wl_unlink(node);
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
    weft_mpsc *c = CH(tx);
    int rc = 0;
    permit->chan = NULL;
    spin_lock(&c->lock);
    if (c->rx_closed) rc = -WEFT_ECLOSED;
    else if (c->bounded && (ring_free(c) == 0 || !wl_empty(&c->waiting))) rc = -EAGAIN;
    else c->reserved++;
    spin_unlock(&c->lock);
    if (rc == 0) {
        chan_ref(&c->refs);
        permit->chan = c;
    }
    return rc;
}

/* Ends a permit: sends `msg` (if not NULL) or frees the slot. */
static int permit_finish(weft_mpsc_permit *permit, const void *msg) {
    weft_mpsc *c = permit->chan;
    if (!c) {
        fprintf(stderr, "weft: misuse: mpsc permit used twice (or never reserved)\n");
        abort();
    }
    permit->chan = NULL;
    wake_batch wb;
    wb_init(&wb);
    int rc = 0;
    spin_lock(&c->lock);
    /* The slot stays reserved while an unbounded ring grows (the lock is
     * dropped meanwhile), so the receiver cannot see the channel closed
     * with this message still to come; it may be dropped meanwhile, hence
     * rx_alive again after the growth. */
    if (msg && c->rx_alive && (c->bounded || c->len < c->cap || grow_locked(c)) && c->rx_alive) {
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
void weft_mpsc_permit_release(weft_mpsc_permit *permit) { (void)permit_finish(permit, NULL); }

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
    weft_mpsc *c = CH(((weft_mpsc_recv *)f)->rx);
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

void weft_mpsc_rx_close(weft_mpsc_rx *rx) {
    weft_mpsc *c = CH(rx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    __atomic_store_n(&c->rx_closed, 1, __ATOMIC_RELEASE);
    weft__wait_release_all(&c->lock, &c->waiting, WN_CLOSED, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
}

void weft_mpsc_rx_drop(weft_mpsc_rx *rx) {
    weft_mpsc *c = CH(rx);
    weft_mpsc_rx_close(rx);
    spin_lock(&c->lock);
    c->rx_alive = 0;
    __atomic_store_n(&c->len, 0, __ATOMIC_RELAXED); /* discard what is left */
    c->head = 0;
    weft_waker w = weft_waker_take(&c->rx_waker);
    spin_unlock(&c->lock);
    weft_waker_drop(w);
    mpsc_unref(c);
}

size_t weft_mpsc_len(weft_mpsc_rx *rx) { return __atomic_load_n(&CH(rx)->len, __ATOMIC_RELAXED); }
