/* LISTEN/NOTIFY: waiting for the next notification, holding the turn. */
#include <errno.h>

#include "pq_internal.h"

static void release(weft_pq_notify *f) {
    if (f->ready_active) weft_future_drop(&f->ready.base);
    f->ready_active = false;
    f->locked = false;
    weft_mutex_unlock(&f->conn->turn);
}

static weft_poll notify_poll(weft_future *base, weft_context *cx) {
    weft_pq_notify *f = (weft_pq_notify *)base;
    weft_pq *c = f->conn;
    if (!c) {
        f->result = -EINVAL;
        return WEFT_READY;
    }
    if (!f->locked) {
        if (weft_future_poll(&f->lock.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        f->locked = true;
    }
    int r;
    for (;;) {
        if (c->broken || PQstatus(c->pg) == CONNECTION_BAD) {
            c->broken = true;
            r = -ECONNRESET;
            break;
        }
        PGnotify *n = PQnotifies(c->pg);
        if (n) {
            f->notify = n;
            r = 0;
            break;
        }
        if (!PQconsumeInput(c->pg)) {
            c->broken = true;
            r = -ECONNRESET;
            break;
        }
        if ((n = PQnotifies(c->pg))) {
            f->notify = n;
            r = 0;
            break;
        }
        r = weft__pq_io_wait(c, &f->ready, &f->ready_active, &f->ready_seen, cx, POLLIN);
        if (r == 0) return WEFT_PENDING;
        if (r < 0) break;
    }
    f->result = r;
    release(f);
    return WEFT_READY;
}

static void notify_drop(weft_future *base) {
    weft_pq_notify *f = (weft_pq_notify *)base;
    if (!f->conn) return;
    if (f->locked) release(f);
    else weft_future_drop(&f->lock.base);
}

static const weft_future_vtable notify_vtable = {notify_poll, notify_drop, "weft_pq_notify"};

weft_future *weft_pq_notify_init(weft_pq_notify *f, weft_pq *c) {
    weft_future_init(&f->base, &notify_vtable);
    f->conn = c;
    f->locked = false;
    if (c) weft_mutex_lock_init(&f->lock, &c->turn);
    f->ready_active = false;
    f->ready_seen = false;
    f->notify = NULL;
    f->result = 0;
    return &f->base;
}

int weft_fiber_pq_notify(weft_pq *c, PGnotify **notify) {
    if (notify) *notify = NULL;
    weft_pq_notify f;
    int err = weft_await(weft_pq_notify_init(&f, c));
    if (err < 0) return err;
    if (notify) *notify = f.notify;
    else if (f.notify) PQfreemem(f.notify);
    return f.result;
}
