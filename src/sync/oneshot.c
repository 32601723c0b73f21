/* oneshot: one allocation holding the state and the value slot. The value
 * is written by the sender before it publishes `has_value` under the lock,
 * and read by the receiver after seeing it under the lock.
 *
 * The value is the channel's from a successful send until the receiver
 * takes it (`taken`); if it never does, the receiver's destroy runs the
 * destructor (outside the lock: with `taken` set nobody else touches the
 * slot, and the receiver's reference keeps the channel alive). */
#include "sync/chan.h"

typedef struct weft_oneshot {
    weft_spinlock lock;
    uint32_t refs; /* atomic: one per end */
    uint8_t tx_alive, rx_open, has_value, taken;
    weft_waker rx_waker; /* the pending recv */
    weft_waker tx_waker; /* the pending closed() */
    chan_value v;
    _Alignas(CHAN_ALIGN) unsigned char value[];
} weft_oneshot;

#define OS(p) ((weft_oneshot *)(void *)(p))

static void oneshot_unref(weft_oneshot *o) {
    if (!chan_unref(&o->refs)) return;
    if (o->has_value && !o->taken) chan_drop(&o->v, o->value); /* not reached: the receiver's destroy did it */
    weft_waker_drop(o->rx_waker);
    weft_waker_drop(o->tx_waker);
    free(o);
}

int weft_oneshot_create(size_t elem_size, const weft_channel_options *opts, weft_oneshot_tx **tx,
                        weft_oneshot_rx **rx) {
    if (elem_size == 0 || elem_size > SIZE_MAX / 2) return -EINVAL;
    weft_oneshot *o = malloc(sizeof *o + chan_align(elem_size));
    if (!o) return -ENOMEM;
    spin_init(&o->lock);
    o->refs = 2;
    o->tx_alive = o->rx_open = 1;
    o->has_value = o->taken = 0;
    o->rx_waker = o->tx_waker = WEFT_WAKER_NONE;
    chan_value_init(&o->v, elem_size, opts);
    *tx = (weft_oneshot_tx *)o;
    *rx = (weft_oneshot_rx *)o;
    return 0;
}

int weft_oneshot_send(weft_oneshot_tx *tx, const void *msg) {
    if (!tx) return -WEFT_ECLOSED;
    weft_oneshot *o = OS(tx);
    weft_waker w = WEFT_WAKER_NONE;
    int rc = 0;
    spin_lock(&o->lock);
    if (o->rx_open && !o->has_value) {
        weft__copy_value(o->value, msg, o->v.elem);
        __atomic_store_n(&o->has_value, 1, __ATOMIC_RELAXED);
        w = weft_waker_take(&o->rx_waker);
    } else {
        rc = -WEFT_ECLOSED;
    }
    spin_unlock(&o->lock);
    weft_waker_wake(w);
    return rc;
}

void weft_oneshot_tx_destroy(weft_oneshot_tx **txp) {
    weft_oneshot_tx *tx = CHAN_TAKE_END(txp);
    if (!tx) return;
    weft_oneshot *o = OS(tx);
    /* After a send (only this end writes has_value) there is nobody to
     * wake: the send woke the receiver, and the sender's closed() future
     * is gone (it must not outlive the sender). */
    if (__atomic_load_n(&o->has_value, __ATOMIC_RELAXED)) {
        oneshot_unref(o);
        return;
    }
    spin_lock(&o->lock);
    if (o->tx_waker.vtable) {
        spin_unlock(&o->lock);
        weft__sync_misuse("weft_oneshot_tx_destroy of a sender whose closed() future is still pending");
    }
    o->tx_alive = 0;
    weft_waker w = weft_waker_take(&o->rx_waker);
    spin_unlock(&o->lock);
    weft_waker_wake(w);
    oneshot_unref(o);
}

bool weft_oneshot_tx_is_closed(weft_oneshot_tx *tx) {
    if (!tx) return true;
    weft_oneshot *o = OS(tx);
    spin_lock(&o->lock);
    bool closed = !o->rx_open;
    spin_unlock(&o->lock);
    return closed;
}

/* Takes the value (lock held): 0, -EAGAIN, -WEFT_ECLOSED. */
static int take_locked(weft_oneshot *o, void *out) {
    if (o->has_value && !o->taken) {
        weft__copy_value(out, o->value, o->v.elem);
        o->taken = 1;
        return 0;
    }
    if (o->taken || !o->tx_alive) return -WEFT_ECLOSED;
    return -EAGAIN;
}

int weft_oneshot_try_recv(weft_oneshot_rx *rx, void *out) {
    if (!rx) return -WEFT_ECLOSED;
    weft_oneshot *o = OS(rx);
    spin_lock(&o->lock);
    int rc = take_locked(o, out);
    spin_unlock(&o->lock);
    return rc;
}

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_oneshot_recv *r = (weft_oneshot_recv *)f;
    if (!r->rx) {
        r->result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_oneshot *o = OS(r->rx);
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&o->lock);
    int rc = take_locked(o, r->out);
    if (rc != -EAGAIN) {
        old = weft_waker_take(&o->rx_waker);
        spin_unlock(&o->lock);
        weft_waker_drop(old);
        r->result = rc;
        return WEFT_READY;
    }
    old = weft_waker_replace(&o->rx_waker, &cx->waker);
    spin_unlock(&o->lock);
    weft_waker_drop(old);
    return WEFT_PENDING;
}

static void recv_drop(weft_future *f) {
    weft_oneshot_rx *rx = ((weft_oneshot_recv *)f)->rx;
    if (!rx) return;
    weft_oneshot *o = OS(rx);
    spin_lock(&o->lock);
    weft_waker w = weft_waker_take(&o->rx_waker);
    spin_unlock(&o->lock);
    weft_waker_drop(w);
}

static const weft_future_vtable recv_vtable = {recv_poll, recv_drop, "weft_oneshot_recv"};

weft_future *weft_oneshot_recv_init(weft_oneshot_recv *f, weft_oneshot_rx *rx, void *out) {
    weft_future_init(&f->base, &recv_vtable);
    f->rx = rx;
    f->out = out;
    f->result = 0;
    return &f->base;
}

void weft_oneshot_rx_shutdown(weft_oneshot_rx *rx) {
    if (!rx) return;
    weft_oneshot *o = OS(rx);
    spin_lock(&o->lock);
    o->rx_open = 0;
    weft_waker tw = weft_waker_take(&o->tx_waker);
    spin_unlock(&o->lock);
    weft_waker_wake(tw);
}

void weft_oneshot_rx_destroy(weft_oneshot_rx **rxp) {
    weft_oneshot_rx *rx = CHAN_TAKE_END(rxp);
    if (!rx) return;
    weft_oneshot *o = OS(rx);
    spin_lock(&o->lock);
    if (o->rx_waker.vtable) {
        spin_unlock(&o->lock);
        weft__sync_misuse("weft_oneshot_rx_destroy of a receiver whose receive future is still pending");
    }
    o->rx_open = 0;
    bool unreceived = o->has_value && !o->taken;
    o->taken = 1; /* nobody will take it now: ours to destroy */
    weft_waker tw = weft_waker_take(&o->tx_waker);
    spin_unlock(&o->lock);
    weft_waker_wake(tw);
    if (unreceived) chan_drop(&o->v, o->value);
    oneshot_unref(o);
}

static weft_poll closed_poll(weft_future *f, weft_context *cx) {
    weft_oneshot_tx *tx = ((weft_oneshot_closed *)f)->tx;
    if (!tx) return WEFT_READY;
    weft_oneshot *o = OS(tx);
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&o->lock);
    if (!o->rx_open) {
        old = weft_waker_take(&o->tx_waker);
        spin_unlock(&o->lock);
        weft_waker_drop(old);
        return WEFT_READY;
    }
    old = weft_waker_replace(&o->tx_waker, &cx->waker);
    spin_unlock(&o->lock);
    weft_waker_drop(old);
    return WEFT_PENDING;
}

static void closed_drop(weft_future *f) {
    weft_oneshot_tx *tx = ((weft_oneshot_closed *)f)->tx;
    if (!tx) return;
    weft_oneshot *o = OS(tx);
    spin_lock(&o->lock);
    weft_waker w = weft_waker_take(&o->tx_waker);
    spin_unlock(&o->lock);
    weft_waker_drop(w);
}

static const weft_future_vtable closed_vtable = {closed_poll, closed_drop, "weft_oneshot_closed"};

weft_future *weft_oneshot_closed_init(weft_oneshot_closed *f, weft_oneshot_tx *tx) {
    weft_future_init(&f->base, &closed_vtable);
    f->tx = tx;
    return &f->base;
}
