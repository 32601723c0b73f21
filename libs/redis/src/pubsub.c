/*
 * Subscriptions: hiredis keeps one callback per channel (or pattern),
 * all pointing at the subscription, and calls it for every reply the
 * server pushes for that channel, then once more with NULL when the
 * context ends. The subscription counts those references (`hiredis`) and
 * is freed when hiredis and its handle have both let go. Everything here
 * is guarded by the connection's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis_internal.h"

typedef struct sub_msg {
    struct sub_msg *next;
    redisReply *reply;
} sub_msg;

struct weft_redis_sub {
    weft_redis *conn;
    int hiredis;     /* channels hiredis holds a callback for */
    bool handle;     /* the user's handle is open */
    bool ended;      /* the connection ended: no more messages */
    bool pattern;
    int n;
    char **names;
    sub_msg *head, *tail;
    weft_waker reader;
};

static void sub_free_msgs(weft_redis_sub *s) {
    while (s->head) {
        sub_msg *m = s->head;
        s->head = m->next;
        freeReplyObject(m->reply);
        free(m);
    }
    s->tail = NULL;
}

/* Frees `s` if nobody holds it (lock held); the connection reference is
 * dropped by the caller after unlocking. Returns true if freed. */
static bool sub_maybe_free(weft_redis_sub *s) {
    if (s->hiredis > 0 || s->handle) return false;
    sub_free_msgs(s);
    for (int i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    weft_waker_drop(weft_waker_take(&s->reader));
    free(s);
    return true;
}

static void on_push(redisAsyncContext *ac, void *r, void *privdata) {
    weft_redis_sub *s = privdata;
    redisReply *reply = r;
    if (!reply) { /* the context ends: hiredis lets go of one channel */
        s->ended = true;
        s->hiredis--;
        weft__redis_context_ended(s->conn, ac);
    } else {
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
            reply->element[0]->type == REDIS_REPLY_STRING &&
            strcasecmp(reply->element[0]->str + s->pattern, "unsubscribe") == 0)
            s->hiredis--; /* hiredis removed that channel's callback before calling */
        if (s->handle) {
            sub_msg *m = malloc(sizeof *m);
            if (m) {
                m->next = NULL;
                m->reply = reply;
                weft__redis_take_reply(reply);
                if (s->tail) s->tail->next = m;
                else s->head = m;
                s->tail = m;
            }
        }
    }
    weft_waker_wake(weft_waker_take(&s->reader));
    weft_redis *c = s->conn;
    /* Never the connection's last reference: its driver, which runs
     * this callback, holds one. */
    if (sub_maybe_free(s)) weft__redis_unref(c);
}

int weft_redis_subscribe(weft_redis_sub **out, weft_redis *c, int n, const char **channels,
                         bool pattern) {
    if (!out || !c || n <= 0 || !channels) return -EINVAL;
    *out = NULL;
    weft_redis_sub *s = calloc(1, sizeof *s);
    const char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!s || !argv || !(s->names = calloc((size_t)n, sizeof *s->names))) {
        free(s ? s->names : NULL);
        free(s);
        free(argv);
        return -ENOMEM;
    }
    s->n = n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i && channels[i]; j++)
            if (channels[j] && strcmp(channels[i], channels[j]) == 0) {
                /* hiredis keeps one callback per name: a repeated one
                 * would be counted twice. */
                free(s->names);
                free(s);
                free(argv);
                return -EINVAL;
            }
    for (int i = 0; i < n; i++)
        if (!channels[i] || !(s->names[i] = strdup(channels[i]))) {
            for (int j = 0; j <= i && j < n; j++) free(s->names[j]);
            free(s->names);
            free(s);
            free(argv);
            return channels[i] ? -ENOMEM : -EINVAL;
        }
    s->conn = c;
    s->pattern = pattern;
    s->handle = true;
    argv[0] = pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
    for (int i = 0; i < n; i++) argv[i + 1] = s->names[i];
    pthread_mutex_lock(&c->lock);
    int err = c->close_requested ? -EBADF
              : !c->ac ? (c->error ? c->error : -ENOTCONN)
              : c->disconnect_requested ? -ENOTCONN : 0;
    if (!err) {
        if (redisAsyncCommandArgv(c->ac, on_push, s, n + 1, argv, NULL) == REDIS_OK)
            s->hiredis = n;
        else
            err = -EINVAL;
    }
    if (!err) atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&c->lock);
    free(argv);
    if (err) {
        s->handle = false;
        sub_maybe_free(s);
        return err;
    }
    *out = s;
    return 0;
}

void weft_redis_sub_close(weft_redis_sub *s) {
    if (!s) return;
    weft_redis *c = s->conn;
    pthread_mutex_lock(&c->lock);
    s->handle = false;
    sub_free_msgs(s);
    if (c->ac && s->hiredis > 0 && !c->close_requested) {
        const char **argv = calloc((size_t)s->n + 1, sizeof *argv);
        if (argv) {
            argv[0] = s->pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
            for (int i = 0; i < s->n; i++) argv[i + 1] = s->names[i];
            redisAsyncCommandArgv(c->ac, NULL, NULL, s->n + 1, argv, NULL);
            free(argv);
        }
    }
    bool freed = sub_maybe_free(s);
    pthread_mutex_unlock(&c->lock);
    if (freed) weft__redis_unref(c);
}

static weft_poll next_poll(weft_future *base, weft_context *cx) {
    weft_redis_sub_next *f = (weft_redis_sub_next *)base;
    weft_redis_sub *s = f->sub;
    if (!s) {
        f->result = -EINVAL;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_redis *c = s->conn;
    pthread_mutex_lock(&c->lock);
    sub_msg *m = s->head;
    if (m) {
        s->head = m->next;
        if (!s->head) s->tail = NULL;
    }
    bool ended = s->ended || (!c->ac && !c->attaching);
    int err = c->error ? c->error : -ENOTCONN;
    if (!m && !ended) weft_waker_store(&s->reader, &cx->waker);
    pthread_mutex_unlock(&c->lock);
    if (m) {
        f->reply = m->reply;
        f->result = 0;
        free(m);
        return WEFT_READY;
    }
    if (!ended) return WEFT_PENDING;
    f->result = err;
    return WEFT_READY;
}

static const weft_future_vtable next_vtable = {next_poll, NULL, "weft_redis_sub_next"};

weft_future *weft_redis_sub_next_init(weft_redis_sub_next *f, weft_redis_sub *s) {
    weft_future_init(&f->base, &next_vtable);
    f->sub = s;
    f->reply = NULL;
    f->result = 0;
    return &f->base;
}

int weft_fiber_redis_sub_next(weft_redis_sub *s, redisReply **reply) {
    if (reply) *reply = NULL;
    weft_redis_sub_next f;
    int err = weft_await(weft_redis_sub_next_init(&f, s));
    if (err < 0) return err;
    if (reply) *reply = f.reply;
    else if (f.reply) freeReplyObject(f.reply);
    return f.result;
}
