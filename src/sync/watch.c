/*
 * watch: one value slot with a version number. Each receiver remembers the
 * version it saw last; changed() waits until the version moves. Every send
 * re-arms the waiting changed() futures (bulk release to IDLE); they then
 * compare versions again.
 *
 * Messages that own memory: the slot holds the channel's own value from
 * creation to the end; receivers get clones (under the lock, since a send
 * may destroy the value as soon as it is released). A send destroys the
 * value it replaces; the last reference destroys the one left.
 */
#include "sync/chan.h"

typedef struct weft_watch {
    weft_spinlock lock;
    uint32_t refs; /* atomic: the sender and each receiver */
    uint8_t tx_alive;
    size_t receivers;
    uint64_t version;
    chan_value v;
    weft_link waiting;
    _Alignas(CHAN_ALIGN) unsigned char value[];
} weft_watch;

struct weft_watch_rx {
    weft_watch *chan;
    uint64_t seen; /* under chan->lock */
};

#define WT(p) ((weft_watch *)(void *)(p))

static void watch_unref(weft_watch *c) {
    if (!chan_unref(&c->refs)) return;
    chan_drop(&c->v, c->value);
    free(c);
}

static weft_watch_rx *new_rx(weft_watch *c, const weft_watch_rx *from) {
    weft_watch_rx *rx = malloc(sizeof *rx);
    if (!rx) return NULL;
    chan_ref(&c->refs);
    rx->chan = c;
    spin_lock(&c->lock);
    c->receivers++;
    rx->seen = from ? from->seen : c->version;
    spin_unlock(&c->lock);
    return rx;
}

int weft_watch_create(size_t elem_size, const void *initial, const weft_channel_options *opts,
                      weft_watch_tx **tx, weft_watch_rx **rx) {
    if (elem_size == 0 || elem_size > SIZE_MAX / 2) return -EINVAL;
    weft_watch *c = malloc(sizeof *c + chan_align(elem_size));
    if (!c) return -ENOMEM;
    spin_init(&c->lock);
    c->refs = 1;
    c->tx_alive = 1;
    c->receivers = 0;
    c->version = 0;
    chan_value_init(&c->v, elem_size, opts);
    weft__list_init(&c->waiting);
    if (initial) memcpy(c->value, initial, elem_size);
    else memset(c->value, 0, elem_size);
    *tx = (weft_watch_tx *)c;
    if (rx) {
        *rx = new_rx(c, NULL);
        if (!*rx) {
            free(c);
            *tx = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

/* Publishes a new version and re-arms the waiters (lock held, released). */
static void publish_and_unlock(weft_watch *c) {
    wake_batch wb;
    wb_init(&wb);
    c->version++;
    weft__wait_release_all(&c->lock, &c->waiting, WN_IDLE, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
}

int weft_watch_send(weft_watch_tx *tx, const void *value) {
    if (!tx) return -WEFT_ECLOSED;
    weft_watch *c = WT(tx);
    spin_lock(&c->lock);
    if (c->receivers == 0) {
        spin_unlock(&c->lock);
        return -WEFT_ECLOSED;
    }
    chan_drop(&c->v, c->value);
    weft__copy_value(c->value, value, c->v.elem);
    publish_and_unlock(c);
    return 0;
}

int weft_watch_send_replace(weft_watch_tx *tx, const void *value, void *old) {
    if (!tx) return -WEFT_ECLOSED;
    weft_watch *c = WT(tx);
    spin_lock(&c->lock);
    if (old) weft__copy_value(old, c->value, c->v.elem); /* moved out: the caller's */
    else chan_drop(&c->v, c->value);
    weft__copy_value(c->value, value, c->v.elem);
    publish_and_unlock(c);
    return 0;
}

int weft_watch_send_modify(weft_watch_tx *tx, bool (*fn)(void *value, void *arg), void *arg) {
    if (!tx) return -WEFT_ECLOSED;
    weft_watch *c = WT(tx);
    spin_lock(&c->lock);
    if (fn(c->value, arg)) publish_and_unlock(c);
    else spin_unlock(&c->lock);
    return 0;
}

/* Puts a clone of the value in `out` (and marks it seen for `rx`, if given). */
static int borrow(weft_watch *c, void *out, weft_watch_rx *rx) {
    spin_lock(&c->lock);
    chan_clone(&c->v, out, c->value);
    if (rx) rx->seen = c->version;
    spin_unlock(&c->lock);
    return 0;
}

int weft_watch_tx_borrow(weft_watch_tx *tx, void *out) { return tx ? borrow(WT(tx), out, NULL) : -WEFT_ECLOSED; }

weft_watch_rx *weft_watch_subscribe(weft_watch_tx *tx) { return tx ? new_rx(WT(tx), NULL) : NULL; }

size_t weft_watch_receiver_count(weft_watch_tx *tx) {
    if (!tx) return 0;
    weft_watch *c = WT(tx);
    spin_lock(&c->lock);
    size_t n = c->receivers;
    spin_unlock(&c->lock);
    return n;
}

void weft_watch_tx_destroy(weft_watch_tx **txp) {
    weft_watch_tx *tx = CHAN_TAKE_END(txp);
    if (!tx) return;
    weft_watch *c = WT(tx);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&c->lock);
    c->tx_alive = 0;
    weft__wait_release_all(&c->lock, &c->waiting, WN_IDLE, &wb);
    spin_unlock(&c->lock);
    wb_wake(&wb);
    watch_unref(c);
}

int weft_watch_borrow(weft_watch_rx *rx, void *out) { return rx ? borrow(rx->chan, out, NULL) : -WEFT_ECLOSED; }

int weft_watch_borrow_and_update(weft_watch_rx *rx, void *out) {
    return rx ? borrow(rx->chan, out, rx) : -WEFT_ECLOSED;
}

int weft_watch_has_changed(weft_watch_rx *rx) {
    if (!rx) return -WEFT_ECLOSED;
    weft_watch *c = rx->chan;
    spin_lock(&c->lock);
    int rc = rx->seen != c->version ? 1 : c->tx_alive ? 0 : -WEFT_ECLOSED;
    spin_unlock(&c->lock);
    return rc;
}

weft_watch_rx *weft_watch_rx_clone(weft_watch_rx *rx) { return rx ? new_rx(rx->chan, rx) : NULL; }

/* Debug builds: true if a queued changed() future belongs to `rx` (a walk
 * of the wait list, too costly for every build). Lock held. */
static bool rx_has_waiter_locked(weft_watch *c, const weft_watch_rx *rx) {
    weft__list_for_each_safe(l, next, &c->waiting) {
        (void)next;
        if (weft__container_of(node_of(l), weft_watch_changed, node)->rx == rx) return true;
    }
    return false;
}

void weft_watch_rx_destroy(weft_watch_rx **rxp) {
    weft_watch_rx *rx = CHAN_TAKE_END(rxp);
    if (!rx) return;
    weft_watch *c = rx->chan;
    spin_lock(&c->lock);
    if (WEFT_CHECKS && rx_has_waiter_locked(c, rx)) {
        spin_unlock(&c->lock);
        weft__sync_misuse("weft_watch_rx_destroy of a receiver whose changed() future is still pending");
    }
    c->receivers--;
    spin_unlock(&c->lock);
    free(rx);
    watch_unref(c);
}

static weft_poll changed_poll(weft_future *f, weft_context *cx) {
    weft_watch_changed *w = (weft_watch_changed *)f;
    if (!w->rx) {
        w->result = -WEFT_ECLOSED;
        return WEFT_READY;
    }
    weft_watch *c = w->rx->chan;
    weft_wait_node *node = &w->node;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&c->lock);
    uint32_t st = node_state_locked(node);
    if (w->rx->seen != c->version || !c->tx_alive) {
        int rc = 0;
        if (w->rx->seen != c->version) w->rx->seen = c->version;
        else rc = -WEFT_ECLOSED;
        if (st == WN_QUEUED) weft__list_remove(&node->link);
        node_set(node, WN_IDLE);
        spin_unlock(&c->lock);
        waker_release(weft_waker_take(&node->waker));
        w->result = rc;
        return WEFT_READY;
    }
    old = node_park_locked(&c->waiting, node, cx);
    spin_unlock(&c->lock);
    waker_release(old);
    return WEFT_PENDING;
}

static void changed_drop(weft_future *f) {
    weft_watch_changed *w = (weft_watch_changed *)f;
    if (w->rx) node_cancel(&w->rx->chan->lock, &w->node);
}

static const weft_future_vtable changed_vtable = {changed_poll, changed_drop, "weft_watch_changed"};

weft_future *weft_watch_changed_init(weft_watch_changed *f, weft_watch_rx *rx) {
    weft_future_init(&f->base, &changed_vtable);
    f->rx = rx;
    f->result = 0;
    node_init(&f->node);
    return &f->base;
}
