/*
 * The server: options, listeners (one accept task each), the set of
 * connection tasks, graceful shutdown.
 *
 * Connection tasks live in a JoinSet (the server's task tracker): its
 * length is the number of connections, join_next waits for them to end,
 * abort_all cancels them. Idle connections wait on the server's notify as
 * well as on their socket, so a shutdown wakes them at once. These three
 * (track, wake the idle, cancel the rest) are the small internal
 * equivalents of a task tracker and a cancellation token; the functions
 * below are the only places that use them.
 *
 * Lifetime: the creator, every accept task and every connection task hold
 * a reference; the memory goes with the last one, so a connection that is
 * still being cancelled on a worker never touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

void weft__http_server_ref(weft_http_server *srv) { atomic_fetch_add(&srv->refs, 1); }

void weft__http_server_unref(weft_http_server *srv) {
    if (atomic_fetch_sub(&srv->refs, 1) != 1) return;
    weft_notify_destroy(&srv->notify);
    pthread_mutex_destroy(&srv->lock);
    free(srv->server_field);
    weft_runtime_unref(srv->rt);
    free(srv);
}

WEFT_API int weft_http_server_create(weft_http_server **out, weft_runtime *rt,
                                     const weft_http_server_options *opts) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (!opts) return -EINVAL;
    if (!rt) rt = weft_runtime_current();
    if (!rt) return -EINVAL;
    const weft_http_handler *h = &opts->handler;
    int kinds = (h->fn != NULL) + (h->init != NULL) + (h->fiber != NULL);
    if (kinds != 1) return -EINVAL;
    if (opts->streams && (!opts->streams->open || !opts->streams->close)) return -EINVAL;
    weft_http_server *srv = calloc(1, sizeof *srv);
    if (!srv) return -ENOMEM;
    srv->opts = *opts;
    weft_http_server_options *o = &srv->opts;
    if (!o->max_head_bytes) o->max_head_bytes = 16 * 1024;
    if (o->max_head_bytes < 256) o->max_head_bytes = 256;
    if (!o->max_headers) o->max_headers = 64;
    if (!o->max_body_bytes) o->max_body_bytes = 8u << 20;
    if (!o->header_timeout_ms) o->header_timeout_ms = 10000;
    if (!o->body_timeout_ms) o->body_timeout_ms = 30000;
    if (!o->idle_timeout_ms) o->idle_timeout_ms = 60000;
    if (!o->write_timeout_ms) o->write_timeout_ms = 30000;
    const char *name = o->server_name ? o->server_name : "weft";
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            free(srv);
            return -EINVAL;
        }
    size_t nl = strlen(name);
    srv->server_field = malloc(nl + 11);
    if (!srv->server_field) {
        free(srv);
        return -ENOMEM;
    }
    if (nl) {
        memcpy(srv->server_field, "Server: ", 8);
        memcpy(srv->server_field + 8, name, nl);
        memcpy(srv->server_field + 8 + nl, "\r\n", 3);
        srv->server_field_len = nl + 10;
    } else {
        srv->server_field[0] = 0;
    }
    o->server_name = NULL;
    int r = weft_join_set_create(&srv->conns, rt, sizeof(int), NULL);
    if (r) {
        free(srv->server_field);
        free(srv);
        return r;
    }
    srv->rt = weft_runtime_ref(rt);
    atomic_init(&srv->refs, 1);
    weft_notify_init(&srv->notify);
    pthread_mutex_init(&srv->lock, NULL);
    *out = srv;
    return 0;
}

/* ---- accepting -------------------------------------------------------------------- */

typedef struct acceptor {
    WEFT_CORO_FIELDS;
    weft_http_server *srv;
    weft_tcp_listener l;
    weft_tcp_accept acc;
    weft__http_conn conn;
    int out;
} acceptor;

static void acceptor_cleanup(acceptor *self) {
    weft_tcp_listener_close(&self->l);
    weft__http_server_unref(self->srv);
}

WEFT_ASYNC(acceptor, acceptor_cleanup) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, &self->l));
        if (atomic_load(&self->srv->closing)) {
            weft_tcp_stream_close(&self->acc.stream);
            break;
        }
        if (self->acc.result == -EBADF || self->acc.result == -ESHUTDOWN) break;
        if (self->acc.result < 0) continue; /* descriptors ran out: accept backs off */
        weft_http_server *srv = self->srv;
        weft__http_server_ref(srv);
        atomic_fetch_add_explicit(&srv->accepted, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
        weft__http_conn_init(&self->conn, srv, self->acc.stream);
        /* Under the lock, so that a destroy (which sets `closing` under it)
         * never races a spawn into the set it is destroying. */
        pthread_mutex_lock(&srv->lock);
        if (atomic_load(&srv->closing)) {
            pthread_mutex_unlock(&srv->lock);
            weft_future_drop(&self->conn.base); /* closes the stream, lets go of the reference */
            break;
        }
        int64_t id = WEFT_JOIN_SET_SPAWN(srv->conns, &self->conn, out);
        pthread_mutex_unlock(&srv->lock);
        if (id < 0) continue; /* the future was dropped, with the same effect */
        /* Collect the tasks that ended, so the set holds live ones only. */
        while (1) {
            int r = weft_join_set_try_join_next(srv->conns, NULL, NULL);
            if (r != 0 && r != -ECANCELED) break;
        }
    }
    WEFT_END();
}

static int start_acceptor(weft_http_server *srv, weft_tcp_listener *l) {
    pthread_mutex_lock(&srv->lock);
    int r = 0;
    if (atomic_load(&srv->closing)) r = -ESHUTDOWN;
    else if (srv->nlisteners == WEFT__HTTP_MAX_LISTENERS) r = -ENOSPC;
    if (r) {
        pthread_mutex_unlock(&srv->lock);
        return r;
    }
    acceptor a;
    acceptor_start(&a);
    a.srv = srv;
    a.l = *l;
    l->io.reg = NULL;
    a.out = 0;
    weft__http_server_ref(srv);
    srv->ports[srv->nlisteners] = weft_tcp_listener_port(&a.l);
    weft_join_handle h = WEFT_SPAWN(srv->rt, &a, out, NULL);
    if (h.state == WEFT_JOIN_FAILED) r = h.result;
    else srv->acceptors[srv->nlisteners++] = h;
    pthread_mutex_unlock(&srv->lock);
    return r;
}

WEFT_API int weft_http_server_serve(weft_http_server *srv, weft_tcp_listener *l) {
    if (!srv || !l) return -EINVAL;
    if (weft_tcp_listener_fd(l) < 0) return -EBADF;
    return start_acceptor(srv, l);
}

WEFT_API int weft_http_server_listen(weft_http_server *srv, const char *addr, int backlog) {
    if (!srv || !addr) return -EINVAL;
    if (atomic_load(&srv->closing)) return -ESHUTDOWN;
    weft_tcp_listener l = {0};
    int r = weft_tcp_listener_bind(&l, srv->rt, addr, backlog > 0 ? backlog : 1024);
    if (r) return r;
    r = start_acceptor(srv, &l);
    if (r) weft_tcp_listener_close(&l);
    return r;
}

WEFT_API uint16_t weft_http_server_port(const weft_http_server *srv) {
    if (!srv) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&srv->lock);
    uint16_t p = srv->nlisteners ? srv->ports[0] : 0;
    pthread_mutex_unlock((pthread_mutex_t *)&srv->lock);
    return p;
}

WEFT_API void weft_http_server_stats_get(const weft_http_server *srv, weft_http_server_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!srv) return;
    out->accepted = atomic_load(&srv->accepted);
    out->active = atomic_load(&srv->active);
    out->requests = atomic_load(&srv->requests);
    out->rejected = atomic_load(&srv->rejected);
    out->timeouts = atomic_load(&srv->timeouts);
}

/* ---- shutting down ---------------------------------------------------------------- */

/* Stops accepting and wakes the idle connections (the "cancellation
 * token"). Returns the accept tasks' handles to wait for. */
static int begin_shutdown(weft_http_server *srv, weft_join_handle *hs) {
    pthread_mutex_lock(&srv->lock);
    atomic_store(&srv->closing, true);
    int n = srv->nlisteners;
    for (int i = 0; i < n; i++) {
        hs[i] = srv->acceptors[i];
        weft_join_handle_abort(&hs[i]);
    }
    srv->nlisteners = 0;
    pthread_mutex_unlock(&srv->lock);
    weft_notify_waiters(&srv->notify);
    return n;
}

enum { SD_START, SD_ACCEPTORS, SD_DRAIN, SD_CANCEL, SD_DONE };

/* The future keeps the accept handles in the server (they are joined one
 * by one here); connections are waited for through the JoinSet. */
typedef struct sd_state {
    weft_join_handle acc[WEFT__HTTP_MAX_LISTENERS];
    int nacc, i;
    weft_join_set_next next;
    bool next_live;
} sd_state;

static weft_poll shutdown_poll(weft_future *f, weft_context *cx) {
    weft_http_server_shutdown *s = (weft_http_server_shutdown *)f;
    weft_http_server *srv = s->srv;
    sd_state *st = (sd_state *)s->kids[0];
    if (!srv) {
        s->result = -EINVAL;
        return WEFT_READY;
    }
    if (s->state == SD_START) {
        st = calloc(1, sizeof *st);
        if (!st) {
            s->result = -ENOMEM;
            return WEFT_READY;
        }
        s->kids[0] = (weft_future *)st;
        st->nacc = begin_shutdown(srv, st->acc);
        weft_sleep_init(&s->grace, s->grace_ms);
        s->state = SD_ACCEPTORS;
    }
    if (s->state == SD_ACCEPTORS) {
        /* The listeners close when their accept tasks end. */
        while (st->i < st->nacc) {
            if (weft_future_poll(&st->acc[st->i].base, cx) == WEFT_PENDING) return WEFT_PENDING;
            st->i++;
        }
        s->state = SD_DRAIN;
    }
    for (;;) {
        if (!st->next_live) {
            weft_join_set_join_next_init(&st->next, srv->conns, NULL);
            st->next_live = true;
        }
        if (weft_future_poll(&st->next.base, cx) == WEFT_READY) {
            st->next_live = false;
            if (st->next.result == -WEFT_EEMPTY) break;
            continue;
        }
        if (s->state == SD_DRAIN && weft_future_poll(&s->grace.base, cx) == WEFT_READY) {
            /* Grace is over: cancel what remains (the handler futures are
             * dropped, the connections closed). */
            s->state = SD_CANCEL;
            s->result = 1;
            weft_join_set_abort_all(srv->conns);
            continue;
        }
        return WEFT_PENDING;
    }
    if (s->state == SD_DRAIN) weft_future_drop(&s->grace.base);
    s->state = SD_DONE;
    free(st);
    s->kids[0] = NULL;
    return WEFT_READY;
}

static void shutdown_drop(weft_future *f) {
    weft_http_server_shutdown *s = (weft_http_server_shutdown *)f;
    sd_state *st = (sd_state *)s->kids[0];
    if (!st) return;
    for (int i = st->i; i < st->nacc; i++) weft_future_drop(&st->acc[i].base);
    if (st->next_live) weft_future_drop(&st->next.base);
    if (s->state == SD_ACCEPTORS || s->state == SD_DRAIN) weft_future_drop(&s->grace.base);
    free(st);
    s->kids[0] = NULL;
}

static const weft_future_vtable shutdown_vtable = {shutdown_poll, shutdown_drop,
                                                   "weft_http_server_shutdown"};

WEFT_API weft_future *weft_http_server_shutdown_init(weft_http_server_shutdown *f,
                                                     weft_http_server *srv, uint64_t grace_ms) {
    weft_future_init(&f->base, &shutdown_vtable);
    f->srv = srv;
    f->grace_ms = grace_ms;
    f->state = SD_START;
    f->kids[0] = f->kids[1] = NULL;
    f->result = 0;
    return &f->base;
}

WEFT_API void weft_http_server_destroy(weft_http_server *srv) {
    if (!srv) return;
    weft_join_handle hs[WEFT__HTTP_MAX_LISTENERS];
    int n = begin_shutdown(srv, hs);
    for (int i = 0; i < n; i++) weft_join_handle_detach(&hs[i]);
    weft_join_set_destroy(srv->conns); /* aborts the connections still open */
    srv->conns = NULL;
    weft__http_server_unref(srv);
}
