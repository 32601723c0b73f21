/*
 * broadcast: a ring of the last `cap` messages (cap a power of two) with a
 * running sequence number `tail`; message s lives in slot s & mask while
 * tail - cap <= s < tail. Each receiver keeps the sequence number of the
 * next message it wants; if that fell out of the ring it has lagged.
 * Receivers copy messages out (the clone function), so sending never waits
 * for anyone. Waiting receivers are re-armed (bulk release to IDLE) by
 * every send and by the last sender's destroy; they then look at the ring
 * again.
 *
 * Messages that own memory: the ring holds the channel's own copies. A
 * slot holds a live message while its sequence number is >= `live` (and
 * in the ring); the message is destroyed when a send reuses the slot, when
 * the last receiver goes (nobody can read the ring any more: `live` moves
 * to `tail`), or when the channel ends. All under the lock: a slot may be
 * reused by the next send as soon as the lock is released.
 */
#include "sync/chan.h"

typedef struct weft_broadcast {
    weft_spinlock lock;
    uint32_t refs; /* atomic: one per sender and per receiver */
    size_t senders, receivers;
    uint64_t tail;
    uint64_t live; /* the oldest sequence number whose slot may hold a live message */
    size_t mask;
    chan_value v;
    weft_link waiting; /* pending recv futures */
    _Alignas(CHAN_ALIGN) unsigned char ring[];
} weft_broadcast;

struct weft_broadcast_rx {
    weft_broadcast *chan;
    uint64_t next; /* under chan->lock */
};

#define BC(p) ((weft_broadcast *)(void *)(p))

static inline unsigned char *slot(weft_broadcast *c, uint64_t seq) {
    return c->ring + (size_t)(seq & c->mask) * c->v.elem;
}

/* Destroys the live messages with sequence numbers below `upto` (lock held,
 * or the last reference). */
static void drop_live_below(weft_broadcast *c, uint64_t upto) {
    uint64_t cap = (uint64_t)c->mask + 1;
    uint64_t from = c->live;
    if (c->tail > cap && from < c->tail - cap) from = c->tail - cap;
    if (c->v.drop)
        for (uint64_t s = from; s < upto; s++) c->v.drop(slot(c, s));
    if (upto > c->live) c->live = upto;
}

static void bc_unref(weft_broadcast *c) {
    if (!chan_unref(&c->refs)) return;
    drop_live_below(c, c->tail);
    free(c);
}

int weft_broadcast_create(size_t elem_size, size_t capacity, const weft_channel_options *opts,
                          weft_broadcast_tx **tx, weft_broadcast_rx **rx) {
    if (elem_size == 0 || capacity == 0 || capacity > (SIZE_MAX >> 2)) return -EINVAL;
    size_t cap = 1;
    while (cap < capacity) cap <<= 1;
    if (cap > (SIZE_MAX / 2) / elem_size) return -EINVAL;
    weft_broadcast *c = malloc(sizeof *c + cap * elem_size);
    if (!c) return -ENOMEM;
    spin_init(&c->lock);
    c->refs = 1;
    c->senders = 1;
    c->receivers = 0;
    c->tail = c->live = 0;
    c->mask = cap - 1;
    chan_value_init(&c->v, elem_size, opts);
    weft__list_init(&c->waiting);
    *tx = (weft_broadcast_tx *)c;
    if (rx) {
        *rx = weft_broadcast_subscribe(*tx);
        if (!*rx) {
            free(c);
            *tx = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx) {
    if (!tx) return NULL;
    weft_broadcast *c = BC(tx);
    chan_ref(&c->refs);
    spin_lock(&c->lock);
    c->senders++;
    spin_unlock(&c->lock);
    return tx;
}

void weft_broadcast_tx_destroy(weft_broadcast_tx **txp) {
    weft_broadcast_tx *tx = CHAN_TAKE_END(txp);
    if (!tx) return;
    weft_broadcast *c = BC(tx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    if (--c->senders == 0) weft__wait_release_all(&c->lock, &c->waiting, WN_IDLE, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    bc_unref(c);
}

long weft_broadcast_send(weft_broadcast_tx *tx, const void *msg) {
    if (!tx) return -WEFT_ECLOSED;
    weft_broadcast *c = BC(tx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    if (c->receivers == 0) {
        spin_unlock(&c->lock);
        return -WEFT_ECLOSED;
    }
    uint64_t cap = (uint64_t)c->mask + 1;
    if (c->tail >= cap && c->tail - cap >= c->live) chan_drop(&c->v, slot(c, c->tail)); /* reused */
    weft__copy_value(slot(c, c->tail), msg, c->v.elem);
    c->tail++;
    long n = (long)c->receivers;
    weft__wait_release_all(&c->lock, &c->waiting, WN_IDLE, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    return n;
}

static weft_broadcast_rx *new_rx(weft_broadcast *c, const weft_broadcast_rx *from) {
    weft_broadcast_rx *rx = malloc(sizeof *rx);
    if (!rx) return NULL;
    chan_ref(&c->refs);
    rx->chan = c;
    spin_lock(&c->lock);
    c->receivers++;
    rx->next = from ? from->next : c->tail;
    spin_unlock(&c->lock);
    return rx;
}

weft_broadcast_rx *weft_broadcast_subscribe(weft_broadcast_tx *tx) { return tx ? new_rx(BC(tx), NULL) : NULL; }

weft_broadcast_rx *weft_broadcast_rx_clone(weft_broadcast_rx *rx) { return rx ? new_rx(rx->chan, rx) : NULL; }

/* Debug builds: true if a queued receive future belongs to `rx` (a walk of
 * the wait list, too costly for every build). Lock held. */
static bool rx_has_waiter_locked(weft_broadcast *c, const weft_broadcast_rx *rx) {
    weft__list_for_each_safe(l, next, &c->waiting) {
        (void)next;
        if (weft__container_of(node_of(l), weft_broadcast_recv, node)->rx == rx) return true;
    }
    return false;
}

void weft_broadcast_rx_destroy(weft_broadcast_rx **rxp) {
    weft_broadcast_rx *rx = CHAN_TAKE_END(rxp);
    if (!rx) return;
    weft_broadcast *c = rx->chan;
    spin_lock(&c->lock);
    if (WEFT_CHECKS && rx_has_waiter_locked(c, rx)) {
        spin_unlock(&c->lock);
        weft__sync_misuse("weft_broadcast_rx_destroy of a receiver whose receive future is still pending");
    }
    if (--c->receivers == 0) drop_live_below(c, c->tail); /* nobody can read them any more */
    spin_unlock(&c->lock);
    free(rx);
    bc_unref(c);
}

uint64_t weft_broadcast_rx_pending(weft_broadcast_rx *rx) {
    if (!rx) return 0;
    weft_broadcast *c = rx->chan;
    spin_lock(&c->lock);
    uint64_t n = c->tail - rx->next;
    spin_unlock(&c->lock);
    return n;
}

/* Receives for `rx` (lock held): 0, -EAGAIN, -WEFT_ELAGGED, -WEFT_ECLOSED. */
static int recv_locked(weft_broadcast *c, weft_broadcast_rx *rx, void *out, uint64_t *missed) {
    if (rx->next < c->tail) {
        uint64_t cap = (uint64_t)c->mask + 1;
        if (c->tail - rx->next > cap) {
            uint64_t oldest = c->tail - cap;
            if (missed) *missed = oldest - rx->next;
            rx->next = oldest;
            return -WEFT_ELAGGED;
        }
        chan_clone(&c->v, out, slot(c, rx->next));
        rx->next++;
        return 0;
    }
    return c->senders == 0 ? -WEFT_ECLOSED : -EAGAIN;
}

int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed) {
    if (!rx) return -WEFT_ECLOSED;
    weft_broadcast *c = rx->chan;
    spin_lock(&c->lock);
    int rc = recv_locked(c, rx, out, missed);
    spin_unlock(&c->lock);
    return rc;
}

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_broadcast_recv *r = (weft_broadcast_recv *)f;
    if (!r->rx) {
        r->result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_broadcast *c = r->rx->chan;
    weft_wait_node *node = &r->node;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&c->lock);
    uint32_t st = node_state_locked(node);
    int rc = recv_locked(c, r->rx, r->out, &r->missed);
    if (rc != -EAGAIN) {
        if (st == WN_QUEUED) weft__list_remove(&node->link);
        node_set(node, WN_IDLE);
        spin_unlock(&c->lock);
        waker_release(weft_waker_take(&node->waker));
        r->result = rc;
        return WEFT_READY;
    }
    old = node_park_locked(&c->waiting, node, cx);
    spin_unlock(&c->lock);
    waker_release(old);
    return WEFT_PENDING;
}

static void recv_drop(weft_future *f) {
    weft_broadcast_recv *r = (weft_broadcast_recv *)f;
    if (r->rx) node_cancel(&r->rx->chan->lock, &r->node);
}

static const weft_future_vtable recv_vtable = {recv_poll, recv_drop, "weft_broadcast_recv"};

weft_future *weft_broadcast_recv_init(weft_broadcast_recv *f, weft_broadcast_rx *rx, void *out) {
    weft_future_init(&f->base, &recv_vtable);
    f->rx = rx;
    f->out = out;
    f->result = 0;
    f->missed = 0;
    node_init(&f->node);
    return &f->base;
}
