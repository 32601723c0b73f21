/*
 * One connection: a coroutine that reads requests, runs the handler for
 * each, and writes the responses, in order.
 *
 *  - Buffers: a read buffer that grows up to max_head_bytes (+ room for
 *    body bytes), parsed in place (the request's strings point into it and
 *    are NUL-terminated there); an output buffer that every response byte
 *    goes through.
 *  - Pipelining: requests already in the read buffer are answered one
 *    after the other into the output buffer, which is written when no
 *    complete request is left (or WEFT__HTTP_FLUSH_AT bytes wait): 16
 *    pipelined requests cost one read and one write.
 *  - Timeouts: idle (waiting for a request's first byte: close quietly),
 *    header (first byte to complete head: 408), body (a body read waits
 *    too long: the read fails, 408 if nothing was answered), write (the
 *    client does not take the response: close).
 *  - Shutdown: an idle connection wakes up and closes; a busy one answers
 *    its request with Connection: close and then closes.
 *  - Closing after an error or Connection: close: the write side is shut
 *    first and what the client still sends is read and thrown away for a
 *    moment (a lingering close), so the client reads the response instead
 *    of a reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"

#define READ_MIN 4096
#define BODY_ROOM 4096
#define LINGER_MS 1000
#define LINGER_MAX (64 * 1024)

/* ---- waiting for request bytes ------------------------------------------------ */

/* Reads into rbuf[rend..rcap) with a deadline; an idle wait also ends
 * (with -ESHUTDOWN) when the server shuts down. */
static weft_poll wait_poll(weft_future *f, weft_context *cx) {
    __typeof__(((weft__http_conn *)0)->wait) *w = (void *)f;
    weft__http_conn *c = w->c;
    ssize_t n;
    if (weft_stream_poll_read(c->s, cx, c->rbuf + c->rend, c->rcap - c->rend, &n) == WEFT_READY) {
        if (w->armed) {
            weft_future_drop(&w->sleep.base);
            if (w->idle) weft_future_drop(&w->note.base);
            w->armed = false;
        }
        w->result = n;
        return WEFT_READY;
    }
    if (!w->armed) {
        w->armed = true;
        weft_sleep_until_init(&w->sleep, w->deadline);
        if (w->idle) weft_notify_notified_init(&w->note, &c->srv->notify);
    }
    bool stop = false;
    if (w->idle) {
        /* The flag is read after the notified future was made: a shutdown
         * that set it earlier is seen here, a later one wakes the future. */
        stop = atomic_load(&c->srv->closing) || weft_future_poll(&w->note.base, cx) == WEFT_READY;
        if (stop) {
            weft_future_drop(&w->note.base);
            weft_future_drop(&w->sleep.base);
            w->armed = false;
            w->result = -ESHUTDOWN;
            return WEFT_READY;
        }
    }
    if (weft_future_poll(&w->sleep.base, cx) == WEFT_READY) {
        if (w->idle) weft_future_drop(&w->note.base);
        w->armed = false;
        w->result = -ETIMEDOUT;
        return WEFT_READY;
    }
    return WEFT_PENDING;
}

static void wait_drop(weft_future *f) {
    __typeof__(((weft__http_conn *)0)->wait) *w = (void *)f;
    if (w->armed) {
        weft_future_drop(&w->sleep.base);
        if (w->idle) weft_future_drop(&w->note.base);
        w->armed = false;
    }
}

static const weft_future_vtable wait_vtable = {wait_poll, wait_drop, "weft_http_conn_read"};

static weft_future *wait_init(weft__http_conn *c, bool idle, uint64_t deadline) {
    weft_future_init(&c->wait.base, &wait_vtable);
    c->wait.c = c;
    c->wait.idle = idle;
    c->wait.armed = false;
    c->wait.deadline = deadline;
    c->wait.result = 0;
    return &c->wait.base;
}

/* ---- running the handler ------------------------------------------------------- */

/* Polls the handler; while it waits, writes out what earlier pipelined
 * responses left in the output buffer (so they do not wait for it). */
static weft_poll run_poll(weft_future *f, weft_context *cx) {
    __typeof__(((weft__http_conn *)0)->run) *r = (void *)f;
    weft__http_conn *c = r->c;
    if (weft_future_poll(c->hfut, cx) == WEFT_READY) return WEFT_READY;
    if (weft__http_out_pending(c) && !c->write_error) {
        int res;
        (void)weft__http_out_poll_flush(c, cx, &res);
    }
    return WEFT_PENDING;
}

static void run_drop(weft_future *f) {
    __typeof__(((weft__http_conn *)0)->run) *r = (void *)f;
    weft_future_drop(r->c->hfut);
}

static const weft_future_vtable run_vtable = {run_poll, run_drop, "weft_http_handler"};

static weft_future *run_init(weft__http_conn *c) {
    weft_future_init(&c->run.base, &run_vtable);
    c->run.c = c;
    return &c->run.base;
}

static void *fiber_tramp(void *arg) {
    weft__http_conn *c = arg;
    c->srv->opts.handler.fiber(&c->req, &c->res);
    return NULL;
}

/* ---- writing ------------------------------------------------------------------- */

static weft_poll flush_fn(void *state, weft_context *cx) {
    weft__http_conn *c = state;
    return weft__http_out_poll_flush(c, cx, &c->flush_result);
}

/* The flush future, under the write timeout. */
static weft_future *flush_init(weft__http_conn *c) {
    c->flush_result = -ETIMEDOUT;
    return weft_timeout_init(&c->to, weft_poll_fn_init(&c->op.pf, flush_fn, c, NULL),
                             c->srv->opts.write_timeout_ms);
}

static weft_poll file_poll(weft_future *f, weft_context *cx) {
    __typeof__(((weft__http_conn *)0)->file) *ff = (void *)f;
    weft__http_conn *c = ff->c;
    while (ff->left > 0) {
        ssize_t n;
        uint64_t before = c->res.file_off;
        if (weft__http_send_file(c, cx, c->res.fd, &c->res.file_off, ff->left, &n) == WEFT_PENDING)
            return WEFT_PENDING;
        if (n < 0) {
            ff->result = (int)n;
            return WEFT_READY;
        }
        ff->left -= c->res.file_off - before;
    }
    ff->result = 0;
    return WEFT_READY;
}

static const weft_future_vtable file_vtable = {file_poll, NULL, "weft_http_send_file"};

static weft_future *file_init(weft__http_conn *c) {
    weft_future_init(&c->file.base, &file_vtable);
    c->file.c = c;
    c->file.left = c->res.file_len;
    c->file.result = 0;
    return weft_timeout_init(&c->to, &c->file.base, c->srv->opts.write_timeout_ms);
}

/* ---- the request ---------------------------------------------------------------- */

/* Parses a head from the read buffer: 1 complete, 0 more bytes needed, or
 * a parse error. On success the request is set up (strings terminated). */
static int take_head(weft__http_conn *c) {
    weft_http_server *srv = c->srv;
    size_t avail = c->rend - c->rpos;
    if (avail == 0) return 0;
    int r = weft_http_parse_request(&c->head, c->rbuf + c->rpos, avail, c->hdrs,
                                    srv->opts.max_headers, srv->opts.max_head_bytes);
    if (r == -EAGAIN) return 0;
    if (r < 0) return r;
    /* Room after the head for body reads (the head stays where it is while
     * the handler runs); growing moves the buffer, so parse again. */
    if (c->head.body != WEFT_HTTP_BODY_NONE && c->rcap - (c->rpos + (size_t)r) < BODY_ROOM) {
        char *p = realloc(c->rbuf, c->rpos + (size_t)r + BODY_ROOM * 2);
        if (!p) return -ENOMEM;
        c->rbuf = p;
        c->rcap = c->rpos + (size_t)r + BODY_ROOM * 2;
        r = weft_http_parse_request(&c->head, c->rbuf + c->rpos, avail, c->hdrs,
                                    srv->opts.max_headers, srv->opts.max_head_bytes);
    }
    c->head_len = (size_t)r;
    c->rpos += (size_t)r;
    c->body_base = c->rpos;
    /* NUL-terminate the strings in place: the byte after each is a space,
     * a colon, whitespace or CR, all of them parsed already. */
    weft_http_head *h = &c->head;
    ((char *)h->method)[h->method_len] = 0;
    char *t = (char *)h->target;
    t[h->target_len] = 0;
    char *q = memchr(t, '?', h->target_len);
    c->req.path = t;
    if (q) {
        *q = 0;
        c->req.query = q + 1;
    } else {
        c->req.query = t + h->target_len;
    }
    for (size_t i = 0; i < h->num_headers; i++) {
        ((char *)h->headers[i].name)[h->headers[i].name_len] = 0;
        ((char *)h->headers[i].value)[h->headers[i].value_len] = 0;
    }
    c->req.method = h->method;
    c->req.version = h->version;
    c->req.content_length = h->chunked ? -1 : h->content_length;
    c->req.head = h;
    c->req.body = &c->body;
    c->req.user = srv->opts.handler.user;
    c->req.conn = c;
    c->keep_alive = h->keep_alive;
    c->res_streaming = false;
    weft__http_response_reset(&c->res, c);
    c->res.head_only = h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0;
    weft__http_body_start(c);
    return 1;
}

/* Makes room to read more of a head: moves a partial request to the
 * start of the buffer, grows it up to the limit. */
static int read_room(weft__http_conn *c) {
    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rend - c->rpos);
        c->rend -= c->rpos;
        c->rpos = 0;
    }
    if (c->rend < c->rcap) return 0;
    size_t limit = c->srv->opts.max_head_bytes + BODY_ROOM;
    if (c->rcap >= limit) return -EMSGSIZE;
    size_t cap = c->rcap * 2 < limit ? c->rcap * 2 : limit;
    char *p = realloc(c->rbuf, cap);
    if (!p) return -ENOMEM;
    c->rbuf = p;
    c->rcap = cap;
    return 0;
}

static int conn_setup(weft__http_conn *c) {
    weft_http_server *srv = c->srv;
    c->rbuf = malloc(READ_MIN);
    c->hdrs = malloc(srv->opts.max_headers * sizeof *c->hdrs);
    if (!c->rbuf || !c->hdrs) return -ENOMEM;
    c->rcap = READ_MIN;
    if (srv->opts.handler.init) {
        c->hmem = malloc(srv->opts.handler.size ? srv->opts.handler.size : 1);
        if (!c->hmem) return -ENOMEM;
    }
    c->body.vt = &weft__http_body_vtable;
    if (srv->opts.streams) {
        weft_stream *s = NULL;
        weft_tcp_stream tcp = c->tcp;
        c->tcp.io.reg = NULL; /* the factory owns it now */
        int r = srv->opts.streams->open(srv->opts.streams->arg, &tcp, &s);
        if (r < 0 || !s) return r < 0 ? r : -EINVAL;
        c->s = s;
        c->wrapped = true;
    } else {
        weft_tcp_stream_set_nodelay(&c->tcp, true);
        c->s = &c->tcp.stream;
        c->is_tcp = true;
    }
    c->req.version = 1;
    return 0;
}

static void conn_cleanup(weft__http_conn *c) {
    weft_http_server *srv = c->srv;
    weft__http_body_end(c);
    weft__http_response_release(&c->res);
    if (c->wrapped) srv->opts.streams->close(srv->opts.streams->arg, c->s);
    weft_tcp_stream_close(&c->tcp);
    free(c->rbuf);
    free(c->obuf);
    free(c->hdrs);
    free(c->hmem);
    c->rbuf = c->obuf = NULL;
    c->hdrs = NULL;
    c->hmem = NULL;
    atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    weft__http_server_unref(srv);
}

/* The status to answer a request that failed before the handler ran, or 0. */
static int precheck(weft__http_conn *c) {
    if (c->head.expect_unknown) return 417;
    if (c->head.body == WEFT_HTTP_BODY_LENGTH &&
        (uint64_t)c->head.content_length > c->srv->opts.max_body_bytes)
        return 413;
    return 0;
}

WEFT_ASYNC(weft__http_conn, conn_cleanup) {
    WEFT_BEGIN();
    if (conn_setup(self) != 0) WEFT_RETURN();
    for (;;) {
        /* ---- a complete head ---- */
        for (;;) {
            self->status_err = take_head(self);
            if (self->status_err == 1) break;
            if (self->status_err < 0) goto answer_error;
            if (weft__http_out_pending(self)) {
                WEFT_AWAIT(flush_init(self));
                if (self->flush_result) goto done;
            }
            if (atomic_load_explicit(&self->srv->closing, memory_order_relaxed) &&
                self->rpos == self->rend)
                goto done;
            self->status_err = read_room(self);
            if (self->status_err < 0) goto answer_error;
            if (self->rpos == self->rend) {
                /* idle: waiting for the next request's first byte (a new
                 * connection gets the header timeout for its first) */
                WEFT_AWAIT(wait_init(self, true,
                                     weft_clock_ms() + (self->served ? self->srv->opts.idle_timeout_ms
                                                                     : self->srv->opts.header_timeout_ms)));
                if (self->wait.result > 0)
                    self->head_deadline = weft_clock_ms() + self->srv->opts.header_timeout_ms;
            } else {
                WEFT_AWAIT(wait_init(self, false, self->head_deadline));
            }
            if (self->wait.result == -ETIMEDOUT && self->rend > self->rpos) {
                atomic_fetch_add_explicit(&self->srv->timeouts, 1, memory_order_relaxed);
                self->status_err = -ETIMEDOUT;
                goto answer_error;
            }
            if (self->wait.result <= 0) {
                if (self->wait.result == -ETIMEDOUT)
                    atomic_fetch_add_explicit(&self->srv->timeouts, 1, memory_order_relaxed);
                goto done;
            }
            self->rend += (size_t)self->wait.result;
        }

        /* ---- the handler ---- */
        if ((self->status_err = precheck(self)) != 0) {
            weft__http_response_error(self, self->status_err);
            goto close;
        }
        if (self->srv->opts.handler.fn) {
            self->srv->opts.handler.fn(&self->req, &self->res);
        } else {
            if (self->srv->opts.handler.init) {
                self->hfut = self->srv->opts.handler.init(self->hmem, &self->req, &self->res);
            } else {
                weft_fiber_options fo = {.stack_size = self->srv->opts.handler.fiber_stack};
                self->hfut = weft_fiber_init(&self->fiber, fiber_tramp, self, &fo);
            }
            if (!self->hfut) { /* an init that could not make its future */
                weft__http_response_error(self, 500);
                goto close;
            }
            WEFT_AWAIT(run_init(self));
            if (self->srv->opts.handler.fiber && self->fiber.output.error && !self->res.started) {
                weft__http_response_error(self, 503); /* no stack for the fiber: it never ran */
                goto close;
            }
        }
        if (self->write_error) goto done;

        /* ---- the response ---- */
        if (self->body_error && !self->res.started) {
            weft__http_response_error(self, weft_http_error_status(self->body_error));
            goto close;
        }
        if (self->res.src == SRC_STREAM || self->res.src == SRC_FILE ||
            (self->res.src == SRC_REF && self->res.ref_len > WEFT__HTTP_FLUSH_AT)) {
            if (!self->res.started && weft__http_response_start(&self->res)) goto done;
            if (self->res.head_only) goto response_done;
            if (self->res.src == SRC_REF) {
                WEFT_AWAIT(flush_init(self));
                if (self->flush_result) goto done;
                WEFT_AWAIT(weft_timeout_init(&self->to,
                                             weft_write_all_init(&self->op.wa, self->s, self->res.ref,
                                                                 self->res.ref_len),
                                             self->srv->opts.write_timeout_ms));
                if (self->to.result || self->op.wa.result) goto done;
                self->unflushed = self->wrapped;
            } else if (self->res.src == SRC_FILE) {
                WEFT_AWAIT(flush_init(self));
                if (self->flush_result) goto done;
                WEFT_AWAIT(file_init(self));
                if (self->to.result || self->file.result) goto done;
                self->unflushed = self->wrapped;
            } else {
                /* A stream body: through the writer's framing, in scratch-sized pieces. */
                self->sent = 0;
                for (;;) {
                    if (self->res.stream_len >= 0 && self->sent >= (uint64_t)self->res.stream_len) break;
                    WEFT_AWAIT(weft_read_init(&self->op.r, self->res.stream, self->scratch,
                                              sizeof self->scratch));
                    if (self->op.r.result < 0) goto done;
                    if (self->op.r.result == 0) {
                        if (self->res.stream_len >= 0) goto done; /* shorter than announced */
                        break;
                    }
                    self->sent += (uint64_t)self->op.r.result;
                    if (self->res.chunked) {
                        char frame[24];
                        int fl = snprintf(frame, sizeof frame, "%zx\r\n", (size_t)self->op.r.result);
                        if (weft__http_out_append(self, frame, (size_t)fl)) goto done;
                    }
                    if (weft__http_out_append(self, self->scratch, (size_t)self->op.r.result)) goto done;
                    if (self->res.chunked && weft__http_out_append(self, "\r\n", 2)) goto done;
                    WEFT_AWAIT(flush_init(self));
                    if (self->flush_result) goto done;
                }
                if (self->res.chunked && weft__http_out_append(self, "0\r\n\r\n", 5)) goto done;
            }
        } else {
            if (self->res.started && !self->res.chunked && !self->res.head_only &&
                self->res.content_length >= 0 && self->res.written < (uint64_t)self->res.content_length)
                self->must_close = true; /* the handler wrote less than it announced */
            if (weft__http_response_finish_mem(&self->res)) goto done;
        }
    response_done:
        weft__http_response_done(&self->res);
        self->served++;
        atomic_fetch_add_explicit(&self->srv->requests, 1, memory_order_relaxed);
        if (self->res.close || self->must_close) goto close;

        /* ---- what the handler left of the request body ---- */
        if (!self->body_done && !self->body_error) {
            if (self->head.expect_continue && !self->continue_queued) goto close;
            if (self->body_kind == WEFT_HTTP_BODY_LENGTH && self->body_left > WEFT__HTTP_DRAIN_MAX)
                goto close;
            if (weft__http_out_pending(self)) {
                WEFT_AWAIT(flush_init(self));
                if (self->flush_result) goto done;
            }
            self->drained = 0;
            while (!self->body_done) {
                WEFT_AWAIT(weft_read_init(&self->op.r, &self->body, self->scratch, sizeof self->scratch));
                if (self->op.r.result <= 0) break;
                self->drained += (size_t)self->op.r.result;
                if (self->drained > WEFT__HTTP_DRAIN_MAX) goto close;
            }
            if (self->body_error) goto close;
        }
        if (self->body_error) goto close;
        weft__http_body_end(self);
        /* Bytes of the next request may already be here: its head is due
         * within the header timeout from now. */
        self->head_deadline = weft_clock_ms() + self->srv->opts.header_timeout_ms;
        if (self->olen - self->ooff >= WEFT__HTTP_FLUSH_AT) {
            WEFT_AWAIT(flush_init(self));
            if (self->flush_result) goto done;
        }
    }

answer_error:
    if (self->status_err == -ENOMEM) goto done;
    if (weft__http_response_error(self, weft_http_error_status(self->status_err))) goto done;
close:
    WEFT_AWAIT(flush_init(self));
    if (self->flush_result) goto done;
    /* A lingering close: shut the write side, then read and drop what the
     * client still sends for a moment, so it reads our response and not a
     * reset caused by unread data. */
    WEFT_AWAIT(weft_shutdown_init(&self->op.fl, self->s));
    self->drained = 0;
    self->linger_deadline = weft_clock_ms() + LINGER_MS;
    while (self->drained < LINGER_MAX) {
        self->rpos = self->rend = 0;
        WEFT_AWAIT(wait_init(self, false, self->linger_deadline));
        if (self->wait.result <= 0) break;
        self->drained += (size_t)self->wait.result;
    }
done:
    WEFT_END();
}

weft_future *weft__http_conn_init(weft__http_conn *c, weft_http_server *srv, weft_tcp_stream tcp) {
    memset(c, 0, sizeof *c);
    weft__http_conn_start(c);
    c->srv = srv;
    c->tcp = tcp;
    return &c->base;
}
