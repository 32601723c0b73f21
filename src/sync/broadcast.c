/*
 * broadcast: a ring of the last `cap` messages (cap a power of two) with a
 * running sequence number `tail`; message s lives in slot s & mask while
 * tail - cap <= s < tail. Each receiver keeps the sequence number of the
 * next message it wants; if that fell out of the ring it has lagged.
 * Receivers copy messages out, so sending never waits for anyone. Waiting
 * receivers are re-armed (bulk release to IDLE) by every send and by the
 * last sender's drop; they then look at the ring again.
 */
#include "sync/chan.h"

typedef struct weft_broadcast {
    weft_spinlock lock;
    uint32_t refs; /* atomic: one per sender and per receiver */
    size_t senders, receivers;
    uint64_t tail;
    size_t mask, elem;
    weft_link waiting; /* pending recv futures */
    _Alignas(CHAN_ALIGN) unsigned char ring[];
} weft_broadcast;

struct weft_broadcast_rx {
    weft_broadcast *chan;
    uint64_t next; /* under chan->lock */
};

#define BC(p) ((weft_broadcast *)(void *)(p))

static void bc_unref(weft_broadcast *c) {
    if (chan_unref(&c->refs)) free(c);
}

int weft_broadcast_create(size_t elem_size, size_t capacity, weft_broadcast_tx **tx,
                          weft_broadcast_rx **rx) {
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
    c->tail = 0;
    c->mask = cap - 1;
    c->elem = elem_size;
    weft__list_init(&c->waiting);
    *tx = (weft_broadcast_tx *)c;
    if (rx) {
        *rx = weft_broadcast_subscribe(*tx);
        if (!*rx) {
            free(c);
            return -ENOMEM;
        }
    }
    return 0;
}

weft_broadcast_tx *weft_broadcast_tx_clone(weft_broadcast_tx *tx) {
    weft_broadcast *c = BC(tx);
    chan_ref(&c->refs);
    spin_lock(&c->lock);
    c->senders++;
    spin_unlock(&c->lock);
    return tx;
}

void weft_broadcast_tx_drop(weft_broadcast_tx *tx) {
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
    weft_broadcast *c = BC(tx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    if (c->receivers == 0) {
        spin_unlock(&c->lock);
        return -WEFT_ECLOSED;
    }
    copy_elem(c->ring + (c->tail & c->mask) * c->elem, msg, c->elem);
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

weft_broadcast_rx *weft_broadcast_subscribe(weft_broadcast_tx *tx) { return new_rx(BC(tx), NULL); }

weft_broadcast_rx *weft_broadcast_rx_clone(weft_broadcast_rx *rx) { return new_rx(rx->chan, rx); }

void weft_broadcast_rx_drop(weft_broadcast_rx *rx) {
    weft_broadcast *c = rx->chan;
    spin_lock(&c->lock);
    c->receivers--;
    spin_unlock(&c->lock);
    free(rx);
    bc_unref(c);
}

uint64_t weft_broadcast_rx_pending(weft_broadcast_rx *rx) {
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
        copy_elem(out, c->ring + (rx->next & c->mask) * c->elem, c->elem);
        rx->next++;
        return 0;
    }
    return c->senders == 0 ? -WEFT_ECLOSED : -EAGAIN;
}

int weft_broadcast_try_recv(weft_broadcast_rx *rx, void *out, uint64_t *missed) {
    weft_broadcast *c = rx->chan;
    spin_lock(&c->lock);
    int rc = recv_locked(c, rx, out, missed);
    spin_unlock(&c->lock);
    return rc;
}

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_broadcast_recv *r = (weft_broadcast_recv *)f;
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
    node_cancel(&r->rx->chan->lock, &r->node);
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
