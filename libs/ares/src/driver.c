/*
 * The driver task: c-ares' sockets on the reactor, its timeouts on the
 * runtime's timers (see ares_internal.h).
 *
 * Readiness is edge-triggered: an event is reported once, and a socket that
 * still holds data after a read is not reported again. c-ares drains a UDP
 * socket until EAGAIN, but stops early on a datagram from an unexpected
 * address, and reads a TCP socket once per call. So after ares_process_fd
 * the driver asks the kernel (poll with no timeout) whether the socket
 * still has what c-ares waits for, and clears the readiness it saw only if
 * not (with the registration's tick: an event that came meanwhile keeps
 * it). A round that served a socket is followed by another, which polls
 * every readiness future again: a socket left ready is served again, and
 * the others' futures are pending with the driver's waker when it returns.
 * Nothing can be left unread with no event to come, and nothing spins:
 * each round consumes data or is the last, and after a bounded number of
 * rounds the task yields to the others.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "ares_internal.h"

/* Rounds of serving in one poll before the driver yields. */
#define ROUNDS 16
/* Sockets served per round. */
#define BATCH 32

typedef struct ares_driver {
    weft_future base;
    weft__ares *res;
    weft_sleep sleep; /* until c-ares' next timeout */
    bool sleep_armed; /* initialised, not completed or dropped */
} ares_driver;

static void disarm(weft_async_fd_ready *f, bool *armed) {
    if (*armed) weft_future_drop(&f->base);
    *armed = false;
}

static void sock_free(weft__ares_sock *s) {
    disarm(&s->rd, &s->rd_armed);
    disarm(&s->wr, &s->wr_armed);
    /* c-ares closes the descriptor itself: give it back, open. */
    if (s->watched) weft_async_fd_into_fd(&s->afd);
    free(s);
}

static weft__ares_sock *sock_by_id(weft__ares *res, uint64_t id) {
    for (weft__ares_sock *s = res->socks; s; s = s->next)
        if (s->id == id) return s;
    return NULL;
}

void weft__ares_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
    weft__ares *res = data;
    weft__ares_sock **at = &res->socks, *s;
    while ((s = *at) && s->fd != fd) at = &s->next;
    if (!readable && !writable) { /* c-ares is about to close it */
        if (s) {
            *at = s->next;
            sock_free(s);
        }
        return;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        /* Without memory or a registration the socket is not watched: its
         * queries end by their timeouts, which the driver still serves. */
        if (!s) return;
        s->fd = fd;
        s->id = ++res->next_sock_id;
        s->watched = weft_async_fd_adopt(&s->afd, res->rt, fd) == 0;
        s->next = res->socks;
        res->socks = s;
    }
    if (!readable) disarm(&s->rd, &s->rd_armed);
    if (!writable) disarm(&s->wr, &s->wr_armed);
    s->want_read = readable;
    s->want_write = writable;
    weft__ares_driver_wake(res);
}

void weft__ares_socks_clear(weft__ares *res) {
    while (res->socks) {
        weft__ares_sock *s = res->socks;
        res->socks = s->next;
        sock_free(s);
    }
}

void weft__ares_driver_wake(weft__ares *res) { weft_waker_wake_by_ref(&res->driver); }

/* Polls one direction's readiness future. True when it is ready, with
 * what it saw in *seen. */
static bool wait_ready(weft__ares_sock *s, weft_async_fd_ready *f, bool *armed, weft_interest in,
                       weft_context *cx, weft_io_ready *seen) {
    if (!*armed) {
        weft_async_fd_ready_init(f, &s->afd, in);
        *armed = true;
    }
    if (weft_future_poll(&f->base, cx) == WEFT_PENDING) return false;
    *armed = false;
    if (f->result < 0) {
        /* The runtime is going away (-ESHUTDOWN): stop watching it until
         * c-ares says something new about it. */
        s->want_read = s->want_write = false;
        disarm(&s->rd, &s->rd_armed);
        disarm(&s->wr, &s->wr_armed);
        return false;
    }
    *seen = f->ready;
    return true;
}

/* Serves the sockets that are ready. True if it should go round again. */
static bool serve_sockets(weft__ares *res, weft_context *cx) {
    struct {
        uint64_t id;
        int fd;
        bool r, w;
        weft_io_ready rs, ws;
    } ready[BATCH];
    size_t n = 0;
    bool again = false;
    /* Polling futures does not call into c-ares: the list holds still. */
    for (weft__ares_sock *s = res->socks; s; s = s->next) {
        if (!s->watched) continue;
        if (n == BATCH) {
            again = true;
            break;
        }
        weft_io_ready rs = {0, 0}, ws = {0, 0};
        bool r = s->want_read && wait_ready(s, &s->rd, &s->rd_armed, WEFT_INTEREST_READ, cx, &rs);
        bool w = s->want_write && wait_ready(s, &s->wr, &s->wr_armed, WEFT_INTEREST_WRITE, cx, &ws);
        if (r || w) {
            ready[n].id = s->id;
            ready[n].fd = s->fd;
            ready[n].r = r;
            ready[n].w = w;
            ready[n].rs = rs;
            ready[n].ws = ws;
            n++;
        }
    }
    if (n == 0) return again;
    /* c-ares may close and open sockets (the callback above) meanwhile,
     * reusing descriptors: find them again by id afterwards. */
    for (size_t i = 0; i < n; i++)
        ares_process_fd(res->channel, ready[i].r ? ready[i].fd : ARES_SOCKET_BAD,
                        ready[i].w ? ready[i].fd : ARES_SOCKET_BAD);
    for (size_t i = 0; i < n; i++) {
        weft__ares_sock *s = sock_by_id(res, ready[i].id);
        if (!s) continue;
        struct pollfd p = {s->fd, POLLIN | POLLOUT, 0};
        if (poll(&p, 1, 0) < 0) p.revents = 0;
        if (ready[i].r && !(p.revents & POLLIN)) weft_async_fd_clear_ready(&s->afd, &ready[i].rs);
        if (ready[i].w && !(p.revents & POLLOUT)) weft_async_fd_clear_ready(&s->afd, &ready[i].ws);
    }
    /* Once more: what is still ready is served again, and every future is
     * polled again, so that the driver waits on each of them. */
    return true;
}

/* Keeps the sleep at c-ares' next timeout; serves the timeouts that are
 * due. True if it served some. */
static bool serve_timer(ares_driver *d, weft_context *cx) {
    weft__ares *res = d->res;
    struct timeval tv;
    if (!ares_timeout(res->channel, NULL, &tv)) { /* no query in flight */
        if (d->sleep_armed) weft_future_drop(&d->sleep.base);
        d->sleep_armed = false;
        return false;
    }
    /* ares_timeout rounds down to whole milliseconds: one more, so the
     * sleep does not end just before the timeout (and come straight back). */
    uint64_t deadline = weft_clock_ms() + (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000 + 1;
    if (!d->sleep_armed) {
        weft_sleep_until_init(&d->sleep, deadline);
        d->sleep_armed = true;
    } else if (deadline < d->sleep.deadline) {
        weft_sleep_reset(&d->sleep, deadline);
    }
    /* A later deadline leaves the sleep as it is: it ends early once and is
     * set again. Moving it later at every poll would push back a sleep that
     * has just ended, again and again, and the timeout would never be
     * served. */
    if (weft_future_poll(&d->sleep.base, cx) == WEFT_PENDING) return false;
    d->sleep_armed = false;
    ares_process_fd(res->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    return true;
}

/* The driver is gone (dropped, or ended after a shutdown): its futures go
 * with it; the sockets stay with the channel. */
static void driver_stop(ares_driver *d) {
    weft__ares *res = d->res;
    pthread_mutex_lock(&res->lock);
    res->driver_running = false;
    weft_waker w = weft_waker_take(&res->driver);
    for (weft__ares_sock *s = res->socks; s; s = s->next) {
        disarm(&s->rd, &s->rd_armed);
        disarm(&s->wr, &s->wr_armed);
    }
    pthread_mutex_unlock(&res->lock);
    weft_waker_drop(w);
    if (d->sleep_armed) weft_future_drop(&d->sleep.base);
    d->sleep_armed = false;
}

static weft_poll driver_poll(weft_future *f, weft_context *cx) {
    ares_driver *d = (ares_driver *)f;
    weft__ares *res = d->res;
    pthread_mutex_lock(&res->lock);
    if (!res->channel) { /* shut down */
        pthread_mutex_unlock(&res->lock);
        driver_stop(d);
        return WEFT_READY;
    }
    weft_waker old = weft_waker_replace(&res->driver, &cx->waker);
    for (int round = 0;; round++) {
        if (round == ROUNDS) {
            weft_waker_wake_by_ref(&cx->waker); /* more to do: after the others */
            break;
        }
        bool again = serve_sockets(res, cx);
        if (serve_timer(d, cx)) again = true;
        if (!again) break;
    }
    pthread_mutex_unlock(&res->lock);
    weft_waker_drop(old);
    return WEFT_PENDING;
}

static void driver_drop(weft_future *f) { driver_stop((ares_driver *)f); }

static const weft_future_vtable driver_vtable = {driver_poll, driver_drop, "weft_ares_driver"};

int weft__ares_driver_ensure(weft__ares *res) {
    if (res->driver_running) return 0;
    ares_driver d;
    memset(&d, 0, sizeof d);
    weft_future_init(&d.base, &driver_vtable);
    d.res = res;
    d.sleep_armed = false;
    weft_join_handle h = weft_spawn_raw(res->rt, &d, sizeof d, 0, 0, NULL);
    if (h.state == WEFT_JOIN_FAILED) return h.result;
    weft_join_handle_detach(&h);
    res->driver_running = true;
    return 0;
}
