/*
 * Tour chapter: what happens, poll by poll, when a task reads a socket.
 *
 * A reader task reads from the accepted end of a loopback connection before
 * anything was sent. The root future (the block_on future, which is not a
 * task, so it does not count in task_polls) watches the reader through a
 * small log the reader's poll function keeps, sends the data, and narrates.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "net_trace.h"

/* What the reader saw at each of its polls. `polls` and `last` are read by
 * the root while the reader may run on another thread (multi_thread). */
typedef struct trace_log {
    _Atomic uint32_t polls;    /* polls of the read future so far */
    _Atomic int last;          /* what the last poll returned (weft_poll) */
    uint64_t task_polls_at[4]; /* the runtime's task_polls during each poll */
    ssize_t result;
    char data[16];
} trace_log;

/* The reader task: a hand-written future around weft_read, so that each
 * poll can be logged. */
typedef struct reader {
    weft_future base;
    weft_tcp_stream s;
    weft_read rd;
    char buf[16];
    trace_log *log;
} reader;

static weft_poll reader_poll(weft_future *f, weft_context *cx) {
    reader *r = (reader *)f;
    weft_runtime_stats st;
    weft_runtime_stats_get(cx->runtime, &st);
    /* The read future points into this struct, so it is set up here, after
     * spawn moved the struct into the task, not before. */
    if (r->rd.base.state == WEFT_FUTURE_FRESH)
        weft_read_init(&r->rd, &r->s.stream, r->buf, sizeof r->buf - 1);
    weft_poll p = weft_future_poll(&r->rd.base, cx);
    trace_log *log = r->log;
    if (r->rd.polls <= 4) log->task_polls_at[r->rd.polls - 1] = st.task_polls;
    if (p == WEFT_READY) {
        log->result = r->rd.result;
        if (r->rd.result > 0) memcpy(log->data, r->buf, (size_t)r->rd.result);
        weft_tcp_stream_close(&r->s);
    }
    atomic_store(&log->last, (int)p);
    atomic_store(&log->polls, r->rd.polls);
    return p;
}

static void reader_drop(weft_future *f) {
    reader *r = (reader *)f;
    if (r->rd.base.vtable) weft_future_drop(&r->rd.base);
    weft_tcp_stream_close(&r->s);
}

static const weft_future_vtable reader_vtable = {reader_poll, reader_drop, "tour_reader"};

typedef struct trace {
    WEFT_CORO_FIELDS;
    FILE *out;
    int result;
    weft_tcp_listener l;
    weft_sockaddr addr;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_tcp_stream client;
    reader rdr;
    trace_log log;
    weft_join_handle h;
    weft_yield_now y;
    weft_sleep sl;
    weft_write_all w;
    weft_runtime_stats s0, s1, s2;
    int i;
} trace;

static void step(FILE *out, int n, const char *what, const char *detail) {
    fprintf(out, "  %d. %s\n     %s\n", n, what, detail);
}

WEFT_ASYNC(trace, NULL) {
    WEFT_BEGIN();
    self->result = weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8);
    if (self->result) WEFT_RETURN();
    weft_tcp_listener_local_addr(&self->l, &self->addr);
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->addr));
    if ((self->result = self->c.result)) {
        weft_tcp_listener_close(&self->l);
        WEFT_RETURN();
    }
    self->client = self->c.stream;
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    weft_tcp_listener_close(&self->l);
    if ((self->result = self->a.result)) {
        weft_tcp_stream_close(&self->client);
        WEFT_RETURN();
    }

    /* The reader task: `stream.read(&mut buf).await`. */
    weft_runtime_stats_get(cx->runtime, &self->s0);
    weft_future_init(&self->rdr.base, &reader_vtable);
    self->rdr.s = self->a.stream;
    self->rdr.log = &self->log;
    weft_future_init(&self->rdr.rd.base, NULL); /* set up at the first poll */
    self->h = WEFT_SPAWN(cx->runtime, &self->rdr, log, NULL);
    /* Wait (bounded) for the first poll: on multi_thread a worker runs it. */
    for (self->i = 0; self->i < 2000 && atomic_load(&self->log.polls) == 0; self->i++) {
        if (self->i < 100) WEFT_AWAIT(weft_yield_now_init(&self->y));
        else WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    }
    {
        char d[160];
        snprintf(d, sizeof d,
                 "read(2) -> EAGAIN (WouldBlock); the socket's registration stores the task's "
                 "waker; read polled %u time(s) -> %s",
                 atomic_load(&self->log.polls),
                 atomic_load(&self->log.last) == WEFT_PENDING ? "Pending" : "Ready");
        step(self->out, 1, "the executor polls the read future for the first time", d);
    }
    /* Let the runtime do other things for a while: the reader is not polled. */
    for (self->i = 0; self->i < 10; self->i++) WEFT_AWAIT(weft_yield_now_init(&self->y));
    WEFT_AWAIT(weft_sleep_init(&self->sl, 20));
    weft_runtime_stats_get(cx->runtime, &self->s1);
    {
        char d[160];
        snprintf(d, sizeof d,
                 "20 ms and 10 executor turns later the reader has still been polled %llu "
                 "time(s): nobody checks it while it waits",
                 (unsigned long long)(self->s1.task_polls - self->s0.task_polls));
        step(self->out, 2, "the task is parked; the CPU is free for other tasks", d);
    }
    /* Network data arrives. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->client.stream, "hello", 5));
    step(self->out, 3, "network data arrives: the peer writes \"hello\"",
         "the OS marks the socket readable; the reactor will see it in epoll_wait (or poll)");
    WEFT_AWAIT(&self->h.base);
    /* On multi_thread a worker counts a poll just after it returns. */
    for (self->i = 0; self->i < 1000; self->i++) {
        weft_runtime_stats_get(cx->runtime, &self->s2);
        if (self->s2.task_polls - self->s0.task_polls >= 2) break;
        WEFT_AWAIT(weft_sleep_init(&self->sl, 1));
    }
    {
        char d[200];
        snprintf(d, sizeof d,
                 "the runtime slept %llu time(s) meanwhile; the readable event woke the task's "
                 "waker, which queued the task",
                 (unsigned long long)(self->s2.parks - self->s1.parks));
        step(self->out, 4, "the reactor calls waker.wake()", d);
        snprintf(d, sizeof d, "read(2) -> %zd bytes \"%s\"; read polled %u times, task polled %llu times",
                 self->log.result, self->log.data, atomic_load(&self->log.polls),
                 (unsigned long long)(self->s2.task_polls - self->s0.task_polls));
        step(self->out, 5, "the executor polls the read future again -> Ready", d);
    }
    fprintf(self->out, "  only 2 polls: the first, and the one after the event. No busy checking.\n");
    self->result = (atomic_load(&self->log.polls) == 2 && self->s2.task_polls - self->s0.task_polls == 2 &&
                    self->log.result == 5)
                       ? 0
                       : 1;
    weft_tcp_stream_close(&self->client);
    WEFT_END();
}

int tour_read_trace(weft_runtime *rt, FILE *out) {
    trace t;
    memset(&t, 0, sizeof t);
    trace_start(&t);
    t.out = out;
    fprintf(out, "\n== 8. tracing a socket read: WEFT_AWAIT(weft_read_init(...)) ==\n");
    int err = weft_block_on(rt, &t.base);
    if (err) return err;
    if (t.result < 0) fprintf(out, "  could not set up the sockets: %s\n", weft_strerror(t.result));
    return t.result;
}
