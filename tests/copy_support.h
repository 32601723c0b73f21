/* Helpers for the copy, sendfile and framing tests: a connected TCP pair,
 * and peers that write and read checkable byte patterns. */
#ifndef WEFT_TEST_COPY_SUPPORT_H
#define WEFT_TEST_COPY_SUPPORT_H

#include "net_support.h"

/* ---- a connected TCP pair ------------------------------------------------------------ */

typedef struct tcp_pair {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l;
    weft_tcp_accept acc;
    weft_tcp_connect con;
    weft_join j;
    weft_future *kids[2];
    weft_sockaddr addr;
    weft_tcp_stream *a, *b; /* outputs: the connecting and the accepted end */
    int result;
} tcp_pair;

WEFT_ASYNC(tcp_pair, NULL) {
    WEFT_BEGIN();
    self->result = weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 16);
    if (self->result) WEFT_RETURN();
    assert_int_equal(weft_sockaddr_ip(&self->addr, "127.0.0.1", weft_tcp_listener_port(&self->l)), 0);
    WEFT_AWAIT(WEFT_JOIN(&self->j, self->kids, weft_tcp_connect_addr_init(&self->con, &self->addr),
                         weft_tcp_accept_init(&self->acc, &self->l)));
    weft_tcp_listener_close(&self->l);
    self->result = self->con.result ? self->con.result : self->acc.result;
    if (self->result) {
        weft_tcp_stream_close(&self->con.stream);
        weft_tcp_stream_close(&self->acc.stream);
        WEFT_RETURN();
    }
    *self->a = self->con.stream;
    *self->b = self->acc.stream;
    WEFT_END();
}

static inline __attribute__((unused)) weft_future *tcp_pair_init(tcp_pair *p, weft_tcp_stream *a,
                                                                 weft_tcp_stream *b) {
    tcp_pair_start(p);
    p->a = a;
    p->b = b;
    p->result = 0;
    return &p->base;
}

/* ---- peers: write a pattern, read and check one ----------------------------------------- */

enum { PEER_WRITE_FIRST = 0, PEER_READ_FIRST = 1, PEER_WRITE_ONLY = 2, PEER_READ_ONLY = 3 };

/*
 * Writes `n_out` bytes of pattern(id_out, .) then shuts its write side
 * down, and reads until EOF checking every byte against pattern(id_in, .),
 * in the order `order` says. `got` counts the bytes read, `bad` the first
 * mismatch (+1), `result` the first error.
 */
typedef struct peer_report {
    uint64_t got, sent, bad;
    int result;
    bool finished;
} peer_report;

typedef struct peer {
    WEFT_CORO_FIELDS;
    peer_report *rep; /* filled in when the peer ends (or is dropped) */
    weft_stream *s;
    int order;
    uint32_t id_in, id_out;
    uint64_t n_out, sent, got, bad;
    uint64_t in_base; /* the pattern offset of the first byte read */
    size_t chunk;
    int step;
    union {
        weft_read rd;
        weft_write_all wa;
        weft_flush fl;
    } op;
    int result;
    unsigned char buf[16384];
} peer;

static void peer_cleanup(struct peer *self);
WEFT_ASYNC(peer, peer_cleanup) {
    WEFT_BEGIN();
    if (!self->chunk || self->chunk > sizeof self->buf) self->chunk = sizeof self->buf;
    for (self->step = 0; self->step < 2; self->step++) {
        bool writing = (self->order == PEER_WRITE_FIRST) == (self->step == 0);
        if (self->order == PEER_WRITE_ONLY) writing = true;
        if (self->order == PEER_READ_ONLY) writing = false;
        if (self->order >= PEER_WRITE_ONLY && self->step == 1) break;
        if (writing) {
            while (self->sent < self->n_out) {
                {
                    size_t k = self->n_out - self->sent < self->chunk ? (size_t)(self->n_out - self->sent)
                                                                    : self->chunk;
                    for (size_t i = 0; i < k; i++) self->buf[i] = pattern(self->id_out, self->sent + i);
                    WEFT_AWAIT(weft_write_all_init(&self->op.wa, self->s, self->buf, k));
                }
                self->sent += self->op.wa.done;
                if (self->op.wa.result) {
                    if (!self->result) self->result = self->op.wa.result;
                    WEFT_RETURN();
                }
            }
            WEFT_AWAIT(weft_shutdown_init(&self->op.fl, self->s));
            if (self->op.fl.result && !self->result) self->result = self->op.fl.result;
        } else {
            for (;;) {
                WEFT_AWAIT(weft_read_init(&self->op.rd, self->s, self->buf, self->chunk));
                if (self->op.rd.result < 0) {
                    if (!self->result) self->result = (int)self->op.rd.result;
                    WEFT_RETURN();
                }
                if (self->op.rd.result == 0) break;
                for (ssize_t i = 0; i < self->op.rd.result; i++)
                    if (self->buf[i] != pattern(self->id_in, self->in_base + self->got + (uint64_t)i) && !self->bad)
                        self->bad = self->got + (uint64_t)i + 1;
                self->got += (uint64_t)self->op.rd.result;
            }
        }
    }
    WEFT_END();
}

static void peer_cleanup(peer *self) {
    if (self->rep) *self->rep = (peer_report){self->got, self->sent, self->bad, self->result, true};
}

static inline __attribute__((unused)) void peer_setup(peer *p, peer_report *rep, weft_stream *s,
                                                      int order, uint32_t id_in, uint32_t id_out,
                                                      uint64_t n_out) {
    memset(p, 0, sizeof *p);
    memset(rep, 0, sizeof *rep);
    p->rep = rep;
    peer_start(p);
    p->s = s;
    p->order = order;
    p->id_in = id_in;
    p->id_out = id_out;
    p->n_out = n_out;
}

#endif
