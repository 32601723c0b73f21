/* Connecting: PQconnectStart on the blocking pool (it may look names up),
 * then PQconnectPoll driven by readiness; closing; readiness waits. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq_internal.h"

/* ---- errors ------------------------------------------------------------------ */

int weft__pq_map_error(const char *msg) {
    static const int known[] = {ECONNREFUSED, ETIMEDOUT,   EHOSTUNREACH, ENETUNREACH,
                                ENOENT,       EACCES,      ECONNRESET,   EPIPE,
                                EADDRNOTAVAIL, ENOMEM};
    if (msg)
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strstr(msg, strerror(known[i]))) return -known[i];
    return -EIO;
}

/* ---- readiness ------------------------------------------------------------- */

/* The socket's readiness right now (a poll of the descriptor itself: the
 * reactor's readiness may be stale, and libpq does not say whether its
 * last read met EAGAIN). */
static bool level(weft_pq *c, short events) {
    struct pollfd p = {.fd = weft_async_fd_fd(&c->afd), .events = events};
    return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

int weft__pq_io_wait(weft_pq *c, weft_async_fd_ready *rf, bool *active, bool *seen,
                     weft_context *cx, short events) {
    for (;;) {
        if (*active) {
            if (weft_future_poll(&rf->base, cx) == WEFT_PENDING) return 0;
            *active = false;
            if (rf->result < 0) return rf->result;
            *seen = true; /* trusted: libpq's next call finds out */
            return 1;
        }
        if (level(c, events)) return 1;
        /* Nothing there: the readiness seen last (if any) is used up.
         * Clear it (unless an event came since) and wait for the next. */
        if (*seen) weft_async_fd_clear_ready(&c->afd, &rf->ready);
        *seen = false;
        weft_async_fd_ready_init(rf, &c->afd,
                                 (events & POLLOUT) ? WEFT_INTEREST_WRITE : WEFT_INTEREST_READ);
        *active = true;
    }
}

int weft__pq_track_socket(weft_pq *c) {
    int fd = PQsocket(c->pg);
    if (fd < 0) return -EBADF;
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    if (weft_async_fd_fd(&c->afd) >= 0 && st.st_ino == c->sock_ino) return 0;
    weft_async_fd_close(&c->afd); /* the socket changed (libpq tries the next address) */
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return -errno;
    int err = weft_async_fd_adopt(&c->afd, c->rt, dup);
    if (err < 0) {
        close(dup);
        return err;
    }
    c->sock_ino = st.st_ino;
    return 0;
}

/* ---- PQconnectStart on the blocking pool ---------------------------------------
 * The request is shared by the pool thread and the connect future; whoever
 * finishes with it last frees it (a dropped connect abandons it, and the
 * pool thread then closes the connection it made). */
enum { START_RUNNING, START_DONE, START_ABANDONED };

struct weft__pq_start {
    pthread_mutex_t lock;
    int state;
    PGconn *pg;
    char conninfo[];
};

static void start_finish(struct weft__pq_start *s, PGconn *pg) {
    pthread_mutex_lock(&s->lock);
    bool abandoned = s->state == START_ABANDONED;
    s->pg = pg;
    s->state = START_DONE;
    pthread_mutex_unlock(&s->lock);
    if (abandoned) {
        if (pg) PQfinish(pg);
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
}

static void *start_run(void *arg) {
    struct weft__pq_start *s = arg;
    start_finish(s, PQconnectStart(s->conninfo));
    return NULL;
}
static void start_never_ran(void *arg) { start_finish(arg, NULL); }

/* The future lets go of the request: frees it if the pool is done with it. */
static void start_release(struct weft__pq_start *s) {
    pthread_mutex_lock(&s->lock);
    bool done = s->state == START_DONE;
    s->state = START_ABANDONED;
    pthread_mutex_unlock(&s->lock);
    if (done) {
        if (s->pg) PQfinish(s->pg);
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
}

/* ---- the connect future ------------------------------------------------------- */

enum { C_START, C_JOB, C_POLL, C_WAIT_READ, C_WAIT_WRITE };

static void conn_free(weft_pq *c) {
    if (c->cancel_live) weft_join_handle_detach(&c->cancel_job);
    weft_async_fd_close(&c->afd);
    if (c->pg) PQfinish(c->pg);
    weft_mutex_destroy(&c->turn);
    weft_runtime_unref(c->rt);
    free(c);
}

static int connect_fail(weft_pq_connect *f, int err, const char *msg) {
    snprintf(f->errmsg, sizeof f->errmsg, "%s", msg ? msg : strerror(-err));
    size_t n = strlen(f->errmsg);
    while (n && f->errmsg[n - 1] == '\n') f->errmsg[--n] = 0;
    f->result = err;
    f->conn = NULL;
    return err;
}

static weft_poll connect_poll(weft_future *base, weft_context *cx) {
    weft_pq_connect *f = (weft_pq_connect *)base;
    switch (f->stage) {
    case C_START: {
        if (!f->conninfo || !cx->runtime) {
            connect_fail(f, -EINVAL, "no connection string or no runtime");
            return WEFT_READY;
        }
        size_t n = strlen(f->conninfo);
        struct weft__pq_start *s = malloc(sizeof *s + n + 1);
        if (!s) {
            connect_fail(f, -ENOMEM, NULL);
            return WEFT_READY;
        }
        pthread_mutex_init(&s->lock, NULL);
        s->state = START_RUNNING;
        s->pg = NULL;
        memcpy(s->conninfo, f->conninfo, n + 1);
        f->start = s;
        f->job = weft_spawn_blocking(cx->runtime, start_run, s, start_never_ran);
        f->stage = C_JOB;
    }
        /* fall through */
    case C_JOB: {
        if (weft_future_poll(&f->job.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        struct weft__pq_start *s = f->start;
        f->start = NULL;
        int jr = f->job.result;
        PGconn *pg = NULL;
        pthread_mutex_lock(&s->lock);
        if (s->state == START_DONE) {
            pg = s->pg;
            s->pg = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        start_release(s);
        if (jr < 0 || !pg) {
            if (pg) PQfinish(pg);
            connect_fail(f, jr < 0 ? jr : -ENOMEM, NULL);
            return WEFT_READY;
        }
        weft_pq *c = calloc(1, sizeof *c);
        if (!c) {
            PQfinish(pg);
            connect_fail(f, -ENOMEM, NULL);
            return WEFT_READY;
        }
        c->pg = pg;
        c->rt = weft_runtime_ref(cx->runtime);
        weft_mutex_init(&c->turn);
        f->pending = c;
        f->stage = C_POLL;
        if (PQstatus(pg) == CONNECTION_BAD) {
            connect_fail(f, weft__pq_map_error(PQerrorMessage(pg)), PQerrorMessage(pg));
            conn_free(c);
            f->pending = NULL;
            return WEFT_READY;
        }
        if (PQsetnonblocking(pg, 1) != 0) {
            connect_fail(f, -EIO, PQerrorMessage(pg));
            conn_free(c);
            f->pending = NULL;
            return WEFT_READY;
        }
    }
        /* fall through */
    case C_POLL:
    case C_WAIT_READ:
    case C_WAIT_WRITE: {
        weft_pq *c = f->pending;
        for (;;) {
            if (f->stage != C_POLL) { /* PQconnectPoll asked for readiness */
                int w = weft__pq_io_wait(c, &f->ready, &f->ready_active, &f->ready_seen, cx,
                                         f->stage == C_WAIT_WRITE ? POLLOUT : POLLIN);
                if (w == 0) return WEFT_PENDING;
                if (w < 0) {
                    connect_fail(f, w, NULL);
                    break;
                }
                f->stage = C_POLL;
            }
            PostgresPollingStatusType st = PQconnectPoll(c->pg);
            if (st == PGRES_POLLING_FAILED) {
                connect_fail(f, weft__pq_map_error(PQerrorMessage(c->pg)), PQerrorMessage(c->pg));
                break;
            }
            ino_t before = c->sock_ino;
            int err = weft__pq_track_socket(c); /* the socket may have changed */
            if (c->sock_ino != before) f->ready_seen = false;
            if (err < 0) {
                connect_fail(f, err, NULL);
                break;
            }
            if (st == PGRES_POLLING_OK) {
                f->conn = c;
                f->pending = NULL;
                f->result = 0;
                return WEFT_READY;
            }
            f->stage = st == PGRES_POLLING_WRITING ? C_WAIT_WRITE : C_WAIT_READ;
        }
        conn_free(c);
        f->pending = NULL;
        return WEFT_READY;
    }
    }
    return WEFT_READY;
}

static void connect_drop(weft_future *base) {
    weft_pq_connect *f = (weft_pq_connect *)base;
    if (f->stage == C_JOB && f->start) {
        weft_future_drop(&f->job.base); /* detaches: the pool thread finishes alone */
        start_release(f->start);
        f->start = NULL;
    }
    if (f->ready_active) weft_future_drop(&f->ready.base);
    f->ready_active = false;
    if (f->pending) conn_free(f->pending);
    f->pending = NULL;
}

static const weft_future_vtable connect_vtable = {connect_poll, connect_drop, "weft_pq_connect"};

weft_future *weft_pq_connect_init(weft_pq_connect *f, const char *conninfo) {
    weft_future_init(&f->base, &connect_vtable);
    f->conninfo = conninfo;
    f->stage = C_START;
    f->start = NULL;
    f->pending = NULL;
    f->ready_active = false;
    f->ready_seen = false;
    f->conn = NULL;
    f->result = 0;
    f->errmsg[0] = 0;
    return &f->base;
}

/* ---- the handle ------------------------------------------------------------- */

void weft_pq_close(weft_pq *c) {
    if (c) conn_free(c);
}

PGconn *weft_pq_pgconn(weft_pq *c) { return c ? c->pg : NULL; }

int weft_pq_errmsg(weft_pq *c, char *buf, size_t cap) {
    if (!c) return -EINVAL;
    bool bad = c->broken || PQstatus(c->pg) == CONNECTION_BAD;
    if (buf && cap) {
        snprintf(buf, cap, "%s", bad ? PQerrorMessage(c->pg) : "");
        size_t n = strlen(buf);
        while (n && buf[n - 1] == '\n') buf[--n] = 0;
    }
    return bad ? -ECONNRESET : 0;
}
