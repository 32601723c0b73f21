/*
 * A hiredis async context attached to a weft runtime: the event hooks
 * (hiredis's adapter interface), the driver task that alone calls
 * hiredis's read and write handlers, and the connection's end.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_internal.h"

/* ---- replies handed to the caller ------------------------------------------
 * hiredis 0.14 frees every reply with reader->fn->freeObject right after
 * the reply callback returns. A command's reply is handed to its caller
 * instead: the callback marks it taken (on this thread) and the reader's
 * freeObject, which is hiredis's freeReplyObject for every other object,
 * skips exactly that one. Nothing else runs between the two calls. */
static _Thread_local void *reply_taken;
static redisReplyObjectFunctions reply_fns;
static pthread_once_t reply_fns_once = PTHREAD_ONCE_INIT;
static redisReplyObjectFunctions *reply_fns_default;

static void free_reply_unless_taken(void *obj) {
    if (obj && obj == reply_taken) {
        reply_taken = NULL;
        return;
    }
    freeReplyObject(obj);
}

void weft__redis_take_reply(void *reply) { reply_taken = reply; }

static void reply_fns_init(void) {
    reply_fns = *reply_fns_default;
    reply_fns.freeObject = free_reply_unless_taken;
}

/* ---- errors --------------------------------------------------------------- */

int weft__redis_map_error(int type, const char *errstr) {
    switch (type) {
    case 0: return 0;
    case REDIS_ERR_EOF: return -ECONNRESET;
    case REDIS_ERR_PROTOCOL: return -EPROTO;
    case REDIS_ERR_OOM: return -ENOMEM;
    case REDIS_ERR_IO: {
        /* hiredis keeps only strerror's text ("[prefix: ]text"): find the
         * errno whose text it is. */
        const char *text = errstr ? strrchr(errstr, ':') : NULL;
        text = text ? text + 2 : errstr;
        if (text)
            for (int e = 1; e < 134; e++)
                if (strcmp(strerror(e), text) == 0) return -e;
        return -EIO;
    }
    default: return -EIO;
    }
}

/* Records the context's failure (under the lock), once. */
static void record_failure(weft_redis *c, int err, const char *text) {
    if (c->error) return;
    c->error = err;
    snprintf(c->errstr, sizeof c->errstr, "%s", text ? text : "");
}

/* ---- the reply callback ----------------------------------------------------- */

void weft__redis_context_ended(weft_redis *c, const redisAsyncContext *ac) {
    if (!c->error)
        record_failure(c, weft__redis_map_error(ac->c.err, ac->c.errstr),
                       ac->c.err ? ac->c.errstr : "");
}

void weft__redis_on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    weft_redis *c = ac->data;
    struct weft__redis_op *op = privdata;
    if (op->dropped) { /* nobody wants it: hiredis frees the reply */
        free(op);
        return;
    }
    if (reply) {
        op->reply = reply;
        op->result = 0;
        weft__redis_take_reply(reply);
    } else {
        /* The context ends (failure, close, runtime gone) before the reply. */
        weft__redis_context_ended(c, ac);
        op->result = c->error ? c->error : -ENOTCONN;
    }
    op->done = true;
    weft_waker_wake(weft_waker_take(&op->waker));
}

/* ---- hiredis's event hooks (called with the lock held) ------------------------ */

static void wake_driver(weft_redis *c) {
    if (!c->in_driver) weft_waker_wake_by_ref(&c->driver);
}
static void hook_add_read(void *p) {
    weft_redis *c = p;
    if (!c->want_read) {
        c->want_read = true;
        wake_driver(c);
    }
}
static void hook_del_read(void *p) { ((weft_redis *)p)->want_read = false; }
static void hook_add_write(void *p) {
    weft_redis *c = p;
    if (!c->want_write) {
        c->want_write = true;
        wake_driver(c);
    }
}
static void hook_del_write(void *p) { ((weft_redis *)p)->want_write = false; }

/* hiredis is freeing the context (and will close the descriptor): leave
 * the reactor first, keeping the descriptor open for hiredis to close. */
static void hook_cleanup(void *p) {
    weft_redis *c = p;
    if (c->rd_active) weft_future_drop(&c->rd.base);
    if (c->wr_active) weft_future_drop(&c->wr.base);
    c->rd_active = c->wr_active = c->rd_seen = c->wr_seen = false;
    (void)weft_async_fd_into_fd(&c->afd);
    c->ac = NULL;
    c->state = WEFT__REDIS_CLOSED;
    c->want_read = c->want_write = false;
    weft_waker_wake(weft_waker_take(&c->state_waiter));
}

static void on_connect(const redisAsyncContext *ac, int status) {
    weft_redis *c = ac->data;
    if (status == REDIS_OK) {
        c->state = WEFT__REDIS_CONNECTED;
        weft_waker_wake(weft_waker_take(&c->state_waiter));
    } else {
        record_failure(c, weft__redis_map_error(ac->c.err, ac->c.errstr), ac->c.errstr);
    }
}

/* ---- the driver task --------------------------------------------------------- */

typedef struct driver_task {
    weft_future base;
    weft_redis *c;
} driver_task;

/* Polls the readiness wait of one direction; true once readiness was seen. */
static bool ready_for(weft_redis *c, weft_context *cx, bool write) {
    bool *seen = write ? &c->wr_seen : &c->rd_seen;
    if (*seen) return true;
    bool *active = write ? &c->wr_active : &c->rd_active;
    weft_async_fd_ready *f = write ? &c->wr : &c->rd;
    if (!*active) {
        weft_async_fd_ready_init(f, &c->afd, write ? WEFT_INTEREST_WRITE : WEFT_INTEREST_READ);
        *active = true;
    }
    if (weft_future_poll(&f->base, cx) == WEFT_PENDING) return false;
    *active = false;
    if (f->result < 0) {
        /* The runtime is going away (-ESHUTDOWN): the driver ends. */
        record_failure(c, f->result, strerror(-f->result));
        return false;
    }
    *seen = true;
    if (write) c->wr_obs = f->ready;
    else c->rd_obs = f->ready;
    return true;
}

static void not_ready(weft_redis *c, bool write) {
    if (write) {
        weft_async_fd_clear_ready(&c->afd, &c->wr_obs);
        c->wr_seen = false;
    } else {
        weft_async_fd_clear_ready(&c->afd, &c->rd_obs);
        c->rd_seen = false;
    }
}

/* Frees hiredis's context: every command still waiting completes with the
 * connection's error (which the caller has set). */
static void free_context(weft_redis *c) {
    if (c->ac) redisAsyncFree(c->ac); /* runs the callbacks, then hook_cleanup */
}

/* Moves bytes until hiredis wants nothing more, or every direction it
 * wants waits for readiness (a readiness future is then pending, its
 * waker registered: that is what wakes the driver again). */
static void drive(weft_redis *c, weft_context *cx) {
    for (int n = 0; c->ac && !c->error; n++) {
        if (n == 64) { /* let other tasks run; come back at once */
            weft_waker_wake_by_ref(&cx->waker);
            return;
        }
        if (c->state == WEFT__REDIS_CONNECTING) {
            if (!ready_for(c, cx, true)) return;
            /* Readiness may be spurious (it starts as "maybe writable"),
             * and hiredis would take a socket still connecting for a
             * connected one: ask the socket itself. */
            struct pollfd p = {.fd = c->ac->c.fd, .events = POLLOUT};
            if (poll(&p, 1, 0) == 0) not_ready(c, true);
            else redisAsyncHandleWrite(c->ac); /* completes the connect, then writes */
            continue;
        }
        bool moved = false;
        if (c->want_write && ready_for(c, cx, true)) {
            errno = 0;
            redisAsyncHandleWrite(c->ac);
            /* hiredis does not say whether write(2) said EAGAIN; errno
             * does (nothing that runs after it in the handler sets it). */
            if (c->ac && c->want_write && errno == EAGAIN) not_ready(c, true);
            moved = true;
        }
        if (c->ac && c->want_read && ready_for(c, cx, false)) {
            errno = 0;
            redisAsyncHandleRead(c->ac);
            if (c->ac && errno == EAGAIN) not_ready(c, false);
            moved = true;
        }
        if (!moved) return;
    }
}

static weft_poll driver_poll(weft_future *f, weft_context *cx) {
    weft_redis *c = ((driver_task *)f)->c;
    pthread_mutex_lock(&c->lock);
    c->in_driver = true;
    weft_waker_store(&c->driver, &cx->waker);
    if (c->ac && c->close_requested) {
        record_failure(c, -EBADF, "closed");
        free_context(c);
    }
    if (c->ac && c->disconnect_requested && !c->disconnect_sent) {
        c->disconnect_sent = true;
        redisAsyncDisconnect(c->ac); /* frees at once if nothing is pending */
    }
    if (!c->attaching) drive(c, cx);
    if (c->ac && c->error) free_context(c); /* the runtime is going away */
    c->in_driver = false;
    bool done = c->ac == NULL && !c->attaching;
    if (done) weft_waker_drop(weft_waker_take(&c->driver));
    pthread_mutex_unlock(&c->lock);
    if (!done) return WEFT_PENDING;
    weft__redis_unref(c);
    return WEFT_READY;
}

/* The driver task is dropped when its runtime is destroyed (or the task
 * aborted): the context goes with it, and every command waiting completes
 * with -ESHUTDOWN. */
static void driver_drop(weft_future *f) {
    weft_redis *c = ((driver_task *)f)->c;
    pthread_mutex_lock(&c->lock);
    c->in_driver = true;
    record_failure(c, c->close_requested ? -EBADF : -ESHUTDOWN,
                   c->close_requested ? "closed" : "runtime destroyed");
    free_context(c);
    c->state = WEFT__REDIS_CLOSED;
    c->attaching = false;
    weft_waker_drop(weft_waker_take(&c->driver));
    weft_waker_wake(weft_waker_take(&c->state_waiter));
    pthread_mutex_unlock(&c->lock);
    weft__redis_unref(c);
}

static const weft_future_vtable driver_vtable = {driver_poll, driver_drop, "weft_redis driver"};

/* ---- the handle ------------------------------------------------------------- */

void weft__redis_unref(weft_redis *c) {
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int weft_redis_attach(weft_redis **out, weft_runtime *rt, redisAsyncContext *ac) {
    if (!out || !rt || !ac) return -EINVAL;
    *out = NULL;
    if (ac->err) return -EIO;
    if (ac->ev.data || ac->onConnect || ac->c.fd < 0 || !ac->c.reader) return -EINVAL;
    if (ac->c.reader->fn->freeObject != freeReplyObject) return -EINVAL;
    if (!reply_fns_default) reply_fns_default = ac->c.reader->fn;
    pthread_once(&reply_fns_once, reply_fns_init);
    if (ac->c.reader->fn != reply_fns_default && ac->c.reader->fn != &reply_fns) return -EINVAL;

    weft_redis *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    atomic_init(&c->refs, 2); /* the handle and the driver */
    c->attaching = true;
    int err = weft_async_fd_adopt(&c->afd, rt, ac->c.fd);
    if (err < 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return err;
    }
    /* Spawned before the context is handed over, so that a failed spawn
     * (whose drop runs the driver's drop) leaves `ac` untouched; the
     * driver waits while `attaching` is set. */
    driver_task d = {WEFT_FUTURE_INIT(&driver_vtable), c};
    weft_join_handle h = weft_spawn_raw(rt, &d, sizeof d, 0, 0, NULL);
    if (h.state == WEFT_JOIN_FAILED) {
        (void)weft_async_fd_into_fd(&c->afd);
        weft__redis_unref(c); /* the driver's drop released its own */
        return h.result;
    }
    weft_join_handle_detach(&h);
    pthread_mutex_lock(&c->lock);
    c->ac = ac;
    ac->data = c;
    ac->c.reader->fn = &reply_fns;
    ac->ev.data = c;
    ac->ev.addRead = hook_add_read;
    ac->ev.delRead = hook_del_read;
    ac->ev.addWrite = hook_add_write;
    ac->ev.delWrite = hook_del_write;
    ac->ev.cleanup = hook_cleanup;
    c->attaching = false;
    redisAsyncSetConnectCallback(ac, on_connect); /* asks for writability */
    weft_waker_wake_by_ref(&c->driver);
    pthread_mutex_unlock(&c->lock);
    *out = c;
    return 0;
}

void weft_redis_close(weft_redis *c) {
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->close_requested = true;
    weft_waker_wake_by_ref(&c->driver);
    pthread_mutex_unlock(&c->lock);
    weft__redis_unref(c);
}

bool weft_redis_is_connected(weft_redis *c) {
    if (!c) return false;
    pthread_mutex_lock(&c->lock);
    bool on = c->ac && c->state == WEFT__REDIS_CONNECTED && !c->disconnect_requested;
    pthread_mutex_unlock(&c->lock);
    return on;
}

int weft_redis_errstr(weft_redis *c, char *buf, size_t cap) {
    if (!c) return -EINVAL;
    pthread_mutex_lock(&c->lock);
    if (buf && cap) snprintf(buf, cap, "%s", c->errstr);
    int err = c->error;
    pthread_mutex_unlock(&c->lock);
    return err;
}
